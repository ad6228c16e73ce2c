//! Backend mode end to end, offline: a project whose PEP 517 backend lives
//! in its own tree (`backend-path`) and is deliberately nondeterministic
//! (wall-clock timestamps, random member order, umask-dependent modes) is
//! locked and built twice under different umask, mtimes, paths and creation
//! order; kiln's canonical bytes must not differ, `--faithful` must give
//! the backend's own bytes, and each kind of bad input must exit 2 naming
//! its cause. pip is pointed at an unreachable index, so any network use
//! fails the test.
//!
//! The interpreter is `python3.11` (the pin) from PATH, as backend mode
//! itself finds it.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BACKEND: &str = r#"
import base64, hashlib, io, os, random, tarfile, time, zipfile

NAME, VERSION = "demo", "1.0"
METADATA = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: a demo\n"


def _extra():
    if os.path.exists("extra_requires.txt"):
        return open("extra_requires.txt").read().split()
    return []


def get_requires_for_build_sdist(config_settings=None):
    return _extra()


def get_requires_for_build_wheel(config_settings=None):
    return _extra()


def _files():
    out = []
    for dirpath, dirnames, filenames in os.walk("."):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, f), "."))
    if _stable():
        out.sort()
    else:
        random.shuffle(out)
    return out


def _stable():
    # A project holding STABLE gets a deterministic backend (sorted,
    # SOURCE_DATE_EPOCH timestamps, no comment): what a well-behaved
    # third-party release looks like to `verify --faithful`.
    return os.path.exists("STABLE")


def _epoch():
    return int(os.environ["SOURCE_DATE_EPOCH"])


def build_sdist(sdist_directory, config_settings=None):
    if os.path.exists("FAIL"):
        print("mybackend: deliberate failure for the test")
        raise SystemExit(3)
    base = NAME + "-" + VERSION
    name = base + ".tar.gz"
    if _stable():
        import gzip
        with open(os.path.join(sdist_directory, name), "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_epoch()) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for f in _files():
                info = tar.gettarinfo(f, arcname=base + "/" + f)
                info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = _epoch(), 0o644, 0, 0, "", ""
                with open(f, "rb") as fh:
                    tar.addfile(info, fh)
            data = METADATA.encode()
            info = tarfile.TarInfo(base + "/PKG-INFO")
            info.size, info.mtime, info.mode = len(data), _epoch(), 0o644
            tar.addfile(info, io.BytesIO(data))
        return name
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for f in _files():
            tar.add(f, arcname=base + "/" + f)
        data = METADATA.encode()
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size, info.mtime, info.mode = len(data), time.time(), 0o664
        tar.addfile(info, io.BytesIO(data))
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    di = NAME + "-" + VERSION + ".dist-info/"
    members = {"demo/__init__.py": open("demo/__init__.py", "rb").read()}
    members[di + "METADATA"] = METADATA.encode()
    members[di + "WHEEL"] = b"Wheel-Version: 1.0\nGenerator: mybackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    order = sorted(members)
    if not _stable():
        random.shuffle(order)
    record = ""
    for m in sorted(members):  # RECORD's bytes are content; its order is not the zip's
        digest = base64.urlsafe_b64encode(hashlib.sha256(members[m]).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (m, digest, len(members[m]))
    record += di + "RECORD,,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        now = time.gmtime(_epoch())[:6] if _stable() else time.localtime(time.time())[:6]
        for m in order + [di + "RECORD"]:
            data = members[m] if m in members else record.encode()
            z.writestr(zipfile.ZipInfo(m, date_time=now), data)
        if not _stable():
            z.comment = os.urandom(8).hex().encode()
    return name
"#;

fn python_ok() -> bool {
    let found = Command::new("python3.11").arg("--version").output();
    match found {
        Ok(o) if o.status.success() => true,
        _ if std::env::var_os("KILN_REQUIRE_PYTHON").is_some() => {
            panic!("KILN_REQUIRE_PYTHON is set but python3.11 is not on PATH")
        }
        _ => {
            eprintln!("skipping: backend mode needs python3.11 on PATH");
            false
        }
    }
}

/// One environment cache for all tests of this file (the env for an empty
/// lock is built once), kept away from the checkout's own cache.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-backend-test-cache")
}

fn xtask_in(dir: &Path, cache: &Path, umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .env("KILN_CACHE", cache)
        // Any attempt to reach an index fails: these tests are offline.
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_NO_INDEX", "1")
        .output()
        .unwrap()
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    xtask_in(dir, &cache(), "022", args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The demo project, files created in `order` (names relative to `dir`).
fn project(dir: &Path, reverse: bool) -> PathBuf {
    let mut files = [
        (
            "pyproject.toml",
            "[build-system]\nrequires = []\nbuild-backend = \"mybackend\"\nbackend-path = [\"_backend\"]\n\n[project]\nname = \"demo\"\nversion = \"1.0\"\n",
        ),
        ("_backend/mybackend.py", BACKEND),
        ("demo/__init__.py", "def hello():\n    return 'hi'\n"),
        ("demo/data.txt", "some data\n"),
        ("README.md", "# demo\n"),
    ];
    if reverse {
        files.reverse();
    }
    for (i, (name, text)) in files.iter().enumerate() {
        let path = dir.join(name);
        write(&path, text);
        let file = fs::File::options().write(true).open(&path).unwrap();
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(
                if reverse {
                    1_500_000_000
                } else {
                    1_000_000_000
                } + i as u64 * 977,
            );
        file.set_times(fs::FileTimes::new().set_modified(t))
            .unwrap();
        if reverse {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    dir.to_path_buf()
}

/// A clone of this repository with the demo project at examples/demo and
/// a backend-mode `[[project]]` for it in release.toml (fixed epoch, tag
/// `demo-v{version}`); uncommitted. Returns the clone and the project.
fn clone_with_demo(tmp: &Path) -> (PathBuf, PathBuf) {
    let clone = tmp.join("clone");
    common::git(
        tmp,
        &[
            "clone",
            "--quiet",
            common::root().to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let dir = clone.join("examples/demo");
    fs::create_dir_all(&dir).unwrap();
    project(&dir, false);
    let config = clone.join("release/release.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[project]]\nname = \"demo\"\npath = \"examples/demo\"\nmode = \"backend\"\nepoch = 1700000000\ntag = \"demo-v{version}\"\n",
    );
    fs::write(&config, text).unwrap();
    (clone, dir)
}

fn lock_of(tmp: &Path, dir: &Path) -> PathBuf {
    let lock = tmp.join("demo.lock.toml");
    let o = xtask(
        tmp,
        &[
            "lock",
            dir.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "lock failed:\n{}", stderr(&o));
    lock
}

fn build(dir: &Path, cache: &Path, umask: &str, lock: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "build",
        dir.to_str().unwrap(),
        "--mode",
        "backend",
        "--lock",
        lock.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--source-date-epoch",
        "1700000000",
    ];
    args.extend_from_slice(extra);
    xtask_in(dir, cache, umask, &args)
}

#[test]
fn an_in_tree_backend_builds_reproducibly_and_faithful_keeps_its_bytes() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = project(&tmp.path().join("a/demo"), false);
    let lock = lock_of(tmp.path(), &a);
    let text = fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("build-backend = \"mybackend\"") && !text.contains("[[package]]"),
        "{text}"
    );

    let out1 = tmp.path().join("out1");
    let o = build(&a, &cache(), "022", &lock, &out1, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = project(&tmp.path().join("elsewhere/much/deeper/demo"), true);
    let out2 = tmp.path().join("out2");
    let o = build(&b, &cache(), "077", &lock, &out2, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"] {
        let x = fs::read(out1.join(name)).unwrap();
        let y = fs::read(out2.join(name)).unwrap();
        assert!(x == y, "{name} differs between the two builds");
    }

    // --faithful: the backend's own (timestamped, shuffled) bytes.
    let out3 = tmp.path().join("out3");
    let o = build(&a, &cache(), "022", &lock, &out3, &["--faithful"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let faithful = fs::read(out3.join("demo-1.0-py3-none-any.whl")).unwrap();
    let canonical = fs::read(out1.join("demo-1.0-py3-none-any.whl")).unwrap();
    assert_ne!(faithful, canonical);
    assert!(faithful.ends_with(b"") && faithful.len() > 22);
    // The comment the backend wrote survives only in the faithful bytes.
    let tail = &faithful[faithful.len() - 16..];
    assert!(tail.iter().all(u8::is_ascii_hexdigit), "{tail:?}");
    // The user's tree is untouched: no build output landed in it.
    assert!(!a.join("build").exists() && !a.join("dist").exists());
}

#[test]
fn a_failing_backend_exits_2_with_its_output() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = project(&tmp.path().join("demo"), false);
    let lock = lock_of(tmp.path(), &a);
    write(&a.join("FAIL"), "");
    let o = build(&a, &cache(), "022", &lock, &tmp.path().join("out"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("deliberate failure for the test") && err.contains("build_sdist"),
        "{err}"
    );
    assert!(!tmp.path().join("out/demo-1.0.tar.gz").exists());
}

#[test]
fn a_wrong_hash_in_the_lock_exits_2_naming_the_package() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = project(&tmp.path().join("demo"), false);
    let cache = tmp.path().join("cache");
    let claimed = "0".repeat(64);
    let filename = "fakepkg-1.0-py3-none-any.whl";
    // The cached file is not what the lock says it is.
    write(
        &cache.join("wheels").join(&claimed).join(filename),
        "not the locked bytes",
    );
    let lock = tmp.path().join("bad.lock.toml");
    write(
        &lock,
        &format!(
            "version = 1\npython = \"3.11\"\nbuild-backend = \"mybackend\"\nbackend-path = [\"_backend\"]\nrequires = [\"fakepkg\"]\n\n\
             [[package]]\nname = \"fakepkg\"\nversion = \"1.0\"\nfilename = \"{filename}\"\nurl = \"https://example.invalid/{filename}\"\nsha256 = \"{claimed}\"\n"
        ),
    );
    let o = build(&a, &cache, "022", &lock, &tmp.path().join("out"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fakepkg") && err.contains("sha256 mismatch") && err.contains(&claimed),
        "{err}"
    );
    assert!(
        !cache.join("envs").read_dir().is_ok_and(
            |mut d| d.any(|e| { !e.unwrap().file_name().to_string_lossy().starts_with('.') })
        ),
        "no environment may be left behind"
    );
}

#[test]
fn a_requirement_missing_from_the_lock_says_to_run_lock() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = project(&tmp.path().join("demo"), false);
    let lock = lock_of(tmp.path(), &a);
    write(&a.join("extra_requires.txt"), "somepkg>=1\n");
    let o = build(&a, &cache(), "022", &lock, &tmp.path().join("out"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("somepkg>=1") && err.contains("cargo xtask lock"),
        "{err}"
    );
}

#[test]
fn a_directory_without_pyproject_or_setup_py_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("empty");
    fs::create_dir_all(&dir).unwrap();
    let lock = tmp.path().join("x.lock.toml");
    for args in [
        vec![
            "lock",
            dir.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ],
        vec![
            "build",
            dir.to_str().unwrap(),
            "--mode",
            "backend",
            "--lock",
            lock.to_str().unwrap(),
        ],
    ] {
        let o = xtask(tmp.path(), &args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("neither pyproject.toml nor setup.py"), "{err}");
    }
    assert!(!lock.exists());
}

#[test]
fn a_broken_build_system_table_exits_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join("x.lock.toml");
    for (toml, field) in [
        ("[build-system]\nrequires = \"setuptools\"\n", "requires"),
        ("[build-system]\nbuild-backend = \"x\"\n", "requires"),
        (
            "[build-system]\nrequires = []\nbuild-backend = 3\n",
            "build-backend",
        ),
        (
            "[build-system]\nrequires = [\"not a requirement!!\"]\n",
            "requires",
        ),
        (
            "[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"../x\"]\n",
            "backend-path",
        ),
        ("build-system = 1\n", "[build-system]"),
    ] {
        let dir = tmp.path().join("p");
        write(&dir.join("pyproject.toml"), toml);
        let o = xtask(
            tmp.path(),
            &[
                "lock",
                dir.to_str().unwrap(),
                "--lock",
                lock.to_str().unwrap(),
            ],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{toml}: {err}");
        assert!(
            err.contains("pyproject.toml") && err.contains(field),
            "{toml}: {err}"
        );
    }
    assert!(!lock.exists());
}

#[test]
fn release_of_a_backend_project_records_its_lock() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (clone, _) = clone_with_demo(tmp.path());

    // No lock yet: release says how to make one.
    let o = xtask(&clone, &["release", "--project", "demo"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cargo xtask lock --project demo"),
        "{}",
        stderr(&o)
    );

    let o = xtask(&clone, &["lock", "--project", "demo"]);
    assert!(o.status.success(), "lock failed:\n{}", stderr(&o));
    let lock = fs::read(clone.join("release/locks/demo.lock.toml")).unwrap();
    let o = xtask(&clone, &["release", "--project", "demo", "--json"]);
    assert!(o.status.success(), "release failed:\n{}", stderr(&o));
    let record = fs::read_to_string(clone.join("release/records/demo/1.0.distinfo")).unwrap();
    assert!(record.contains("MODE = backend\n"), "{record}");
    assert!(record.contains("EPOCH = 1700000000\n"), "{record}");
    let hex = kiln_digest::hex(&kiln_digest::sha256(&lock));
    assert!(record.contains(&format!("LOCK = {hex}\n")), "{record}");
    let report = common::report(&o);
    for artifact in report["projects"][0]["artifacts"].as_array().unwrap() {
        assert_eq!(artifact["reproduced"], true);
        assert!(
            clone
                .join("dist")
                .join(artifact["filename"].as_str().unwrap())
                .is_file()
        );
    }
}

/// A third party's release (a backend-mode project kiln did not release):
/// `verify --faithful` rebuilds it from the tag with its own backend and
/// requires the published bytes. A deterministic backend verifies; a
/// nondeterministic one fails, and the content comparison says that only the
/// container differs.
#[test]
fn verify_faithful_checks_a_third_party_release_byte_for_byte() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (clone, dir) = clone_with_demo(tmp.path());
    write(&dir.join("STABLE"), "");
    let o = xtask(&clone, &["lock", "--project", "demo"]);
    assert!(o.status.success(), "lock failed:\n{}", stderr(&o));
    common::git(&clone, &["add", "-A"]);
    common::commit(&clone, &["-m", "demo 1.0"]);
    common::git(&clone, &["tag", "demo-v1.0"]);

    // "Published" by the project's own CI: the backend's bytes.
    let faithful_build = |out: &Path| {
        let o = xtask(
            &clone,
            &[
                "build",
                dir.to_str().unwrap(),
                "--mode",
                "backend",
                "--faithful",
                "--source-date-epoch",
                "1700000000",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let published = tmp.path().join("published");
    faithful_build(&published);
    let verify = |against: &Path| {
        xtask(
            &clone,
            &[
                "verify",
                "--project",
                "demo",
                "--version",
                "1.0",
                "--faithful",
                "--against",
                against.to_str().unwrap(),
                "--json",
            ],
        )
    };
    let o = verify(&published);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = common::report(&o);
    assert_eq!(report["faithful"], true);
    assert_eq!(report["verified"], true);
    assert_eq!(report["checks"].as_array().unwrap().len(), 2, "{report:#}");

    // The same release from a nondeterministic build: bytes differ, the
    // content is the same, and verify says both.
    fs::remove_file(dir.join("STABLE")).unwrap();
    let shuffled = tmp.path().join("shuffled");
    faithful_build(&shuffled);
    let o = verify(&shuffled);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = common::report(&o);
    for check in report["checks"].as_array().unwrap() {
        assert_eq!(check["status"], "differs", "{check:#}");
    }
    let wheel = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["artifact"] == "demo-1.0-py3-none-any.whl")
        .unwrap();
    // The wheel differs in its container only (STABLE is not a wheel member).
    assert_eq!(wheel["diff"]["level"], "same-content", "{wheel:#}");
    let o = xtask(
        &clone,
        &[
            "verify",
            "--project",
            "demo",
            "--version",
            "1.0",
            "--faithful",
            "--against",
            shuffled.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert!(
        err.contains("bytes differ (faithful verification requires identical bytes)"),
        "{err}"
    );
    assert!(err.contains("content comparison"), "{err}");
}
