//! Backend mode on real releases: the sdist of every project of the
//! real-world corpus (kiln-corpus's pinned releases, downloaded on first
//! use into `target/kiln-corpus/`) is unpacked, locked and built twice -- the second time from
//! another path, with files created in reverse order, other mtimes and
//! under umask 077 -- and the bytes must be identical. For the pure-Python
//! projects the wheel must hold the same members with the same bytes as
//! the wheel the project published, except `.dist-info/WHEEL` and
//! `.dist-info/RECORD`; METADATA is compared field by field, and only the
//! fields a different backend version explains may differ (they are
//! printed). With `KILN_TEST_PYTHON`, `twine check --strict` and a pip
//! install + import of what kiln built.
//!
//! Network: `lock` resolves with pip and `build` downloads the locked
//! wheels from PyPI (once: the hash-keyed cache under `target/kiln-cache`
//! serves later runs), and the corpus files are downloaded once into theirs.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

use kiln_archive::{Limits, ZipKind, read_zip};
use kiln_corpus::{Cache, Kind, Manifest};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// METADATA fields whose rendering depends on the backend's version rather
/// than on the project: kiln pins the backend through the lock, which may
/// hold a newer release than the one the project published with.
const BACKEND_VERSION_FIELDS: &[&str] = &["Metadata-Version", "Dynamic", "License-File"];

/// The corpus cache: `target/kiln-corpus/` of the workspace, or
/// `$KILN_CORPUS_CACHE`; `$SSL_CERT_FILE` names the CA bundle when a proxy
/// intercepts TLS.
fn corpus_cache() -> Cache {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kiln-corpus");
    Cache::with_settings(target, |name| std::env::var_os(name).map(PathBuf::from))
}

/// The path of `project`'s file of `kind`, downloaded on first use and
/// checked against the committed manifest's sha256.
fn corpus_file(project: &str, kind: Kind) -> PathBuf {
    let manifest = Manifest::committed().unwrap();
    corpus_cache()
        .path(manifest.get(project, kind).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)))
}

fn xtask(dir: &Path, umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A copy of `from` at `to`, files created in reverse order with other
/// mtimes and 0600/0700 modes.
fn perturbed_copy(from: &Path, to: &Path) {
    let mut entries: Vec<_> = walkdir::WalkDir::new(from)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .collect();
    entries.reverse();
    for (i, e) in entries.iter().enumerate() {
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else if e.file_type().is_file() {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(e.path(), &target).unwrap();
            let exec = e.metadata().unwrap().permissions().mode() & 0o111 != 0;
            let f = fs::File::options().write(true).open(&target).unwrap();
            f.set_times(fs::FileTimes::new().set_modified(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(1_111_111_111 + i as u64 * 61),
            ))
            .unwrap();
            fs::set_permissions(
                &target,
                fs::Permissions::from_mode(if exec { 0o700 } else { 0o600 }),
            )
            .unwrap();
        }
    }
}

fn members(name: &str, bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    read_zip(name, bytes, &Limits::default())
        .unwrap()
        .members
        .into_iter()
        .filter(|m| m.kind == ZipKind::File)
        .map(|m| (m.path, m.data))
        .collect()
}

/// METADATA as a multi-dict: each field's values in order, the body under
/// "(description)". Continuation lines are joined.
fn metadata_fields(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (headers, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut last: Option<String> = None;
    for line in headers.lines() {
        if line.starts_with([' ', '\t'])
            && let Some(key) = &last
        {
            let v = out.get_mut(key).unwrap().last_mut().unwrap();
            v.push('\n');
            v.push_str(line.trim());
        } else if let Some((k, v)) = line.split_once(':') {
            out.entry(k.trim().to_string())
                .or_default()
                .push(v.trim().to_string());
            last = Some(k.trim().to_string());
        }
    }
    if !body.trim().is_empty() {
        out.entry("(description)".into())
            .or_default()
            .push(body.trim_end().to_string());
    }
    out
}

fn run_corpus_project(project: &str, module: &str) {
    let sdist = corpus_file(project, Kind::Sdist);
    let stem = sdist
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".tar.gz")
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(t)
        .status()
        .unwrap();
    assert!(status.success());
    let a = t.join(&stem);
    let lock = t.join("x.lock.toml");
    let (a_s, lock_s) = (a.to_str().unwrap(), lock.to_str().unwrap());
    // Reproducing a published release means building it with the backend
    // version that made it: `lock --like` pins what the published wheel's
    // `Generator:` names, with no hand-written constraints.
    let published = corpus_file(project, Kind::Wheel);
    let published_name = published
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let o = xtask(
        t,
        "022",
        &[
            "lock",
            a_s,
            "--lock",
            lock_s,
            "--like",
            published.to_str().unwrap(),
        ],
    );
    ok(&o, "lock");

    let build = |dir: &Path, out: &Path, umask: &str| {
        let o = xtask(
            t,
            umask,
            &[
                "build",
                dir.to_str().unwrap(),
                "--mode",
                "backend",
                "--lock",
                lock_s,
                "--out",
                out.to_str().unwrap(),
                "--source-date-epoch",
                "1700000000",
                "--json",
            ],
        );
        ok(&o, "build");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        report["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["filename"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let started = std::time::Instant::now();
    let first = build(&a, &t.join("out1"), "022");
    let b = t.join("b/another/path").join(&stem);
    perturbed_copy(&a, &b);
    let second = build(&b, &t.join("out2"), "077");
    eprintln!("{stem}: two builds in {:?}", started.elapsed());
    assert_eq!(first, second);
    for f in &first {
        let x = fs::read(t.join("out1").join(f)).unwrap();
        let y = fs::read(t.join("out2").join(f)).unwrap();
        assert!(x == y, "{stem}: {f} differs between the two builds");
    }

    let wheel = first.iter().find(|f| f.ends_with(".whl")).unwrap();
    let ours = fs::read(t.join("out1").join(wheel)).unwrap();
    if wheel.ends_with("-none-any.whl") {
        assert_eq!(
            &published_name, wheel,
            "{stem}: kiln's wheel is named differently from the published one"
        );
        let published = fs::read(&published).unwrap();
        let ours_m = members(wheel, &ours);
        let theirs_m = members(wheel, &published);
        assert_eq!(
            ours_m.keys().collect::<Vec<_>>(),
            theirs_m.keys().collect::<Vec<_>>(),
            "{stem}: the wheel's members differ from the published wheel's"
        );
        for (path, data) in &ours_m {
            let file = path.rsplit('/').next().unwrap();
            let in_dist_info = path.split('/').next().unwrap().ends_with(".dist-info");
            if in_dist_info && (file == "WHEEL" || file == "RECORD") {
                continue;
            }
            if in_dist_info && file == "METADATA" {
                let ours_f = metadata_fields(&String::from_utf8_lossy(data));
                let theirs_f = metadata_fields(&String::from_utf8_lossy(&theirs_m[path]));
                let keys: std::collections::BTreeSet<_> =
                    ours_f.keys().chain(theirs_f.keys()).collect();
                for key in keys {
                    if ours_f.get(key) != theirs_f.get(key) {
                        eprintln!(
                            "{stem}: METADATA {key}: kiln {:?}, published {:?}",
                            ours_f.get(key),
                            theirs_f.get(key)
                        );
                        assert!(
                            BACKEND_VERSION_FIELDS.contains(&key.as_str()),
                            "{stem}: METADATA field {key} differs from the published wheel's"
                        );
                    }
                }
                continue;
            }
            assert!(
                data == &theirs_m[path],
                "{stem}: {path} differs from the published wheel's"
            );
        }
    } else {
        eprintln!("{stem}: {wheel} is a platform wheel; compared with itself only (built twice)");
    }

    if let Some(python) = std::env::var_os("KILN_TEST_PYTHON") {
        let files: Vec<PathBuf> = first.iter().map(|f| t.join("out1").join(f)).collect();
        let twine = |files: &[PathBuf]| {
            Command::new(&python)
                .args(["-m", "twine", "check", "--strict"])
                .args(files)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        };
        // --strict turns the project's own metadata warnings (certifi has no
        // long_description_content_type) into failures: what kiln built must
        // pass exactly when what the project published passes.
        let theirs = twine(std::slice::from_ref(&published));
        if theirs.status.success() {
            ok(&twine(&files), "twine check --strict");
        } else {
            eprintln!(
                "{stem}: the published wheel fails twine check --strict too (the project's metadata):\n{}",
                String::from_utf8_lossy(&theirs.stdout)
            );
            let o = Command::new(&python)
                .args(["-m", "twine", "check"])
                .args(&files)
                .output()
                .unwrap();
            ok(&o, "twine check");
        }
        let venv = t.join("venv");
        ok(
            &Command::new(&python)
                .args(["-m", "venv"])
                .arg(&venv)
                .output()
                .unwrap(),
            "venv",
        );
        let vpy = venv.join("bin/python");
        ok(
            &Command::new(&vpy)
                .args(["-m", "pip", "install", "-q", "--no-deps", "--no-index"])
                .arg(t.join("out1").join(wheel))
                .output()
                .unwrap(),
            "pip install",
        );
        ok(
            &Command::new(&vpy)
                .args(["-c", &format!("import {module}")])
                .current_dir(&venv)
                .output()
                .unwrap(),
            "import",
        );
    } else if std::env::var_os("KILN_REQUIRE_PYTHON").is_some() {
        panic!("KILN_REQUIRE_PYTHON is set but KILN_TEST_PYTHON is not");
    } else {
        eprintln!(
            "{stem}: skipping twine check and pip install: set KILN_TEST_PYTHON (cargo xtask ci does)"
        );
    }
}

macro_rules! corpus_tests {
    ($($test:ident: $project:literal imports $module:literal;)*) => {
        $(
            #[test]
            fn $test() {
                run_corpus_project($project, $module);
            }
        )*
    };
}

corpus_tests! {
    certifi: "certifi" imports "certifi";
    click: "click" imports "click";
    idna: "idna" imports "idna";
    markupsafe: "markupsafe" imports "markupsafe";
    packaging: "packaging" imports "packaging";
    rich: "rich" imports "rich";
    six: "six" imports "six";
    tuf: "tuf" imports "tuf";
}
