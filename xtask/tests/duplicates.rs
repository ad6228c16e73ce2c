//! Building from a tree whose backend writes an sdist holding a member
//! twice (as hatchling does with `PKG-INFO` when it rebuilds an unpacked
//! sdist): kiln builds the wheel from that intermediate sdist, so a
//! duplicate with the same bytes is tolerated and reported (`--faithful`
//! keeps the backend's bytes; the canonical sdist holds the member once),
//! one with other bytes is refused (exit 2) naming it. Offline: the backend lives in the
//! project (`backend-path`), requires nothing, and pip is pointed at an
//! unreachable index.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BACKEND: &str = r#"
import base64, hashlib, io, os, tarfile, zipfile

META = b"Metadata-Version: 2.1\nName: dup\nVersion: 1.0\n"


def build_sdist(sdist_directory, config_settings=None):
    name = "dup-1.0.tar.gz"
    second = META + (b"X-Other: yes\n" if os.path.exists("DIFFER") else b"")
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path, data in [
            ("dup-1.0/PKG-INFO", META),
            ("dup-1.0/pyproject.toml", open("pyproject.toml", "rb").read()),
            ("dup-1.0/_backend/dupbackend.py", open("_backend/dupbackend.py", "rb").read()),
            ("dup-1.0/dup.py", b"X = 1\n"),
            ("dup-1.0/PKG-INFO", second),
        ]:
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "dup-1.0-py3-none-any.whl"
    members = [
        ("dup.py", open("dup.py", "rb").read()),
        ("dup-1.0.dist-info/METADATA", META),
        ("dup-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: dupbackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = ""
    for path, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    members.append(("dup-1.0.dist-info/RECORD", (record + "dup-1.0.dist-info/RECORD,,\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, data in members:
            z.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return name
"#;

fn python_ok() -> bool {
    match Command::new("python3.11").arg("--version").output() {
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

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .env(
            "KILN_CACHE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-duplicates-test-cache"),
        )
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_NO_INDEX", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn identical_duplicates_in_the_backends_own_sdist_are_tolerated_and_reported() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("dup");
    fs::create_dir_all(dir.join("_backend")).unwrap();
    fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"dupbackend\"\nbackend-path = [\"_backend\"]\n\n[project]\nname = \"dup\"\nversion = \"1.0\"\n",
    )
    .unwrap();
    fs::write(dir.join("_backend/dupbackend.py"), BACKEND).unwrap();
    fs::write(dir.join("dup.py"), "X = 1\n").unwrap();
    let lock = t.join("dup.lock.toml");
    let o = xtask(t, &["lock", "dup", "--lock", lock.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let build = |out: &str| {
        xtask(
            t,
            &[
                "build",
                "dup",
                "--mode",
                "backend",
                "--faithful",
                "--lock",
                lock.to_str().unwrap(),
                "--out",
                out,
            ],
        )
    };
    let o = build("out1");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("duplicate member(s) with identical bytes: dup-1.0/PKG-INFO"),
        "{}",
        text(&o)
    );
    assert!(t.join("out1/dup-1.0-py3-none-any.whl").is_file());

    // Canonical mode: the canonical sdist holds the member once.
    let o = xtask(
        t,
        &[
            "build",
            "dup",
            "--mode",
            "backend",
            "--lock",
            lock.to_str().unwrap(),
            "--out",
            "canonical",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let sdist = fs::read(t.join("canonical/dup-1.0.tar.gz")).unwrap();
    let archive = kiln_archive::read_tar_gz(
        "dup-1.0.tar.gz",
        sdist.as_slice(),
        &kiln_archive::Limits::default(),
    )
    .unwrap();
    let pkg_info: Vec<_> = archive
        .members
        .iter()
        .filter(|m| m.path.ends_with("PKG-INFO"))
        .collect();
    assert_eq!(pkg_info.len(), 1);
    assert!(archive.members.iter().any(|m| m.path == "dup-1.0/dup.py"));

    fs::write(dir.join("DIFFER"), "").unwrap();
    let o = build("out2");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("dup-1.0/PKG-INFO: a duplicate member with other bytes"),
        "{}",
        text(&o)
    );
    assert!(!t.join("out2").exists(), "nothing partial is written");
}
