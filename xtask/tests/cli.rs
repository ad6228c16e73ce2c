//! End-to-end tests of the `cargo xtask` binary: release on fresh clones,
//! the Python ecosystem's own tools on what it produced, and bad input.
//!
//! Tests that need Python find the interpreter through `KILN_TEST_PYTHON`
//! (`cargo xtask ci` sets it to a venv with the hash-pinned tools of
//! xtask/python/requirements.txt). Without it they print why they skip,
//! unless `KILN_REQUIRE_PYTHON=1`, which turns the skip into a failure.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;

use common::{root, xtask};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sh(dir: &Path, script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "`{script}` failed");
}

fn run_python(python: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(python)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh clone of this repository's HEAD (what CI sees).
fn clone_into(parent: &Path, name: &str, umask: &str) -> PathBuf {
    let dest = parent.join(name);
    let script = format!(
        "umask {umask} && git clone --quiet --no-hardlinks {} {}",
        root().display(),
        dest.display()
    );
    sh(parent, &script);
    dest
}

fn artifacts(dist: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<_> = fs::read_dir(dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".whl")
                || n.ends_with(".tar.gz")
                || n == "SHA256SUMS"
                || n.ends_with(".distinfo")
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), fs::read(dist.join(&n)).unwrap()))
        .collect()
}

#[test]
fn two_fresh_clones_release_identical_bytes_and_python_accepts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let a = clone_into(tmp.path(), "first", "022");
    let deeper = tmp.path().join("somewhere/much/deeper");
    fs::create_dir_all(&deeper).unwrap();
    let b = clone_into(&deeper, "second-clone", "077");
    // Every mtime in the second clone moves.
    sh(
        &b,
        "find . -path ./.git -prune -o -exec touch -h -d '2011-11-11 11:11:11' {} +",
    );

    let out_a = xtask(&a, &["release", "--json"]);
    assert!(
        out_a.status.success(),
        "release failed:\n{}",
        stderr(&out_a)
    );
    let out_b = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 077 && exec {} release",
            env!("CARGO_BIN_EXE_xtask")
        ))
        .current_dir(&b)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("TZ", "America/St_Johns")
        .output()
        .unwrap();
    assert!(
        out_b.status.success(),
        "release under umask 077 failed:\n{}",
        stderr(&out_b)
    );
    let summary = stderr(&out_b);
    assert!(
        summary.contains("reproduced"),
        "no summary table:\n{summary}"
    );

    let (dist_a, dist_b) = (a.join("dist"), b.join("dist"));
    let (files_a, files_b) = (artifacts(&dist_a), artifacts(&dist_b));
    assert!(
        files_a.iter().any(|(n, _)| n.ends_with(".whl"))
            && files_a.iter().any(|(n, _)| n.ends_with(".tar.gz"))
    );
    assert_eq!(files_a, files_b, "two clones released different bytes");

    // The JSON report describes what is on disk.
    let report = common::report(&out_a);
    let listed = report["projects"][0]["artifacts"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for artifact in listed {
        assert_eq!(artifact["reproduced"], true);
        let bytes = fs::read(dist_a.join(artifact["filename"].as_str().unwrap())).unwrap();
        assert_eq!(artifact["size"].as_u64().unwrap(), bytes.len() as u64);
    }
    // The committed record is what this release produced (release leaves it untouched).
    let record =
        fs::read_to_string(root().join("release/records/kiln-sums/0.1.0.distinfo")).unwrap();
    let written = fs::read_to_string(a.join("release/records/kiln-sums/0.1.0.distinfo")).unwrap();
    assert_eq!(
        record, written,
        "the committed record differs from a fresh clone's release"
    );
    sh(&dist_a, "sha256sum -c --quiet SHA256SUMS");

    let Some(python) = common::python("the Python-side checks") else {
        return;
    };
    let sdist = dist_a.join("kiln_sums-0.1.0.tar.gz");
    let wheel = dist_a.join("kiln_sums-0.1.0-py3-none-any.whl");
    let (sdist_s, wheel_s) = (sdist.to_str().unwrap(), wheel.to_str().unwrap());
    run_python(
        &python,
        &["-m", "twine", "check", "--strict", sdist_s, wheel_s],
        tmp.path(),
    );
    run_python(
        &python,
        &["-m", "check_wheel_contents", wheel_s],
        tmp.path(),
    );
    // packaging's own parser, with validation, on METADATA and PKG-INFO;
    // tarfile's `data` filter on the sdist.
    let check = r#"
import sys, tarfile, zipfile, tempfile
from packaging.metadata import Metadata
sdist, wheel = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    meta = [n for n in z.namelist() if n.endswith('.dist-info/METADATA')]
    m = Metadata.from_email(z.read(meta[0]).decode(), validate=True)
    assert str(m.name) == 'kiln-sums' and str(m.version) == '0.1.0', (m.name, m.version)
    assert z.testzip() is None
with tarfile.open(sdist) as t:
    p = Metadata.from_email(t.extractfile('kiln_sums-0.1.0/PKG-INFO').read().decode(), validate=True)
    assert str(p.version) == '0.1.0'
    with tempfile.TemporaryDirectory() as d:
        t.extractall(d, filter='data')
print('ok')
"#;
    assert_eq!(
        run_python(&python, &["-c", check, sdist_s, wheel_s], tmp.path()).trim(),
        "ok"
    );
    // pip installs the wheel; the package imports, runs, and passes its own tests.
    let target = tmp.path().join("site");
    run_python(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            target.to_str().unwrap(),
            wheel_s,
        ],
        tmp.path(),
    );
    let tests = a.join("examples/kiln-sums/tests");
    let out = Command::new(&python)
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            tests.to_str().unwrap(),
            "-v",
        ])
        .env("PYTHONPATH", &target)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kiln-sums' own tests failed on the installed wheel:\n{}",
        stderr(&out)
    );
    let run = Command::new(&python)
        .args([
            "-m",
            "kiln_sums",
            "check",
            dist_a.join("SHA256SUMS").to_str().unwrap(),
        ])
        .env("PYTHONPATH", &target)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("kiln_sums-0.1.0-py3-none-any.whl: OK"));
}

#[test]
fn release_refuses_to_reroll_a_recorded_version() {
    let tmp = tempfile::tempdir().unwrap();
    let clone = clone_into(tmp.path(), "c", "022");
    let record = clone.join("release/records/kiln-sums/0.1.0.distinfo");
    let text = fs::read_to_string(&record).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("SHA256 (kiln_sums-0.1.0.tar.gz)"))
        .unwrap();
    let forged = format!("SHA256 (kiln_sums-0.1.0.tar.gz) = {}", "0".repeat(64));
    fs::write(&record, text.replace(line, &forged)).unwrap();
    let out = xtask(&clone, &["release"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&"0".repeat(64)) && err.contains(line.rsplit(' ').next().unwrap()),
        "{err}"
    );
    assert!(err.contains("re-roll"), "{err}");
    // Nothing was released.
    let dist = clone.join("dist");
    let leftovers: Vec<_> = fs::read_dir(&dist)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "dist is not empty: {leftovers:?}");
    assert_eq!(
        fs::read_to_string(&record).unwrap(),
        text.replace(line, &forged),
        "the record was rewritten"
    );
}

#[test]
fn help_and_usage_errors() {
    let root = root();
    for cmd in [
        &["--help"][..],
        &["release", "--help"],
        &["build", "--help"],
        &["ci", "--help"],
        &["bench", "--help"],
    ] {
        let out = xtask(&root, cmd);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
    }
    assert_eq!(
        xtask(&root, &["release", "--no-such-flag"]).status.code(),
        Some(2)
    );
    assert_eq!(xtask(&root, &["no-such-command"]).status.code(), Some(2));
    let out = xtask(&root, &["release", "--project", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such project"), "{}", stderr(&out));
}

#[test]
fn with_json_bad_input_is_one_json_error_object_and_exit_2() {
    let root = root();
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-project");
    let out = xtask(&root, &["build", missing.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = common::report(&out);
    assert_eq!(report["schema"], "kiln-report/1");
    assert_eq!(report["command"], "build");
    assert_eq!(report["error"]["kind"], "bad-input");
    assert_eq!(report["error"]["path"], missing.to_str().unwrap());
    let message = report["error"]["message"].as_str().unwrap();
    assert!(message.contains("no such project directory"), "{message}");
    // The human line is still on stderr.
    assert!(stderr(&out).contains("error: "), "{}", stderr(&out));

    // A flag clap refuses, too.
    let out = xtask(&root, &["build", ".", "--mode", "fast", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = common::report(&out);
    assert_eq!(report["command"], serde_json::Value::Null);
    assert_eq!(report["error"]["field"], "--mode <MODE>");

    // Without --json, nothing on stdout.
    let out = xtask(&root, &["build", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// A minimal valid uv_build project to break in one way per test.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("proj");
    fs::create_dir_all(p.join("src/proj")).unwrap();
    fs::write(
        p.join("pyproject.toml"),
        "[project]\nname = \"proj\"\nversion = \"1.0\"\n\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n",
    )
    .unwrap();
    fs::write(p.join("src/proj/__init__.py"), "x = 1\n").unwrap();
    p
}

/// Build must exit 2 naming `needle`, never panic, and write no artifact.
fn assert_bad_input(dir: &Path, project: &Path, needles: &[&str]) {
    let out_dir = dir.join("out");
    let out = xtask(
        dir,
        &[
            "build",
            project.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "expected exit 2:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "error does not mention {needle:?}:\n{err}"
        );
    }
    let written: Vec<_> = fs::read_dir(&out_dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        written.is_empty(),
        "partial output left behind: {written:?}"
    );
}

#[test]
fn a_valid_project_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    let out = xtask(
        tmp.path(),
        &[
            "build",
            p.to_str().unwrap(),
            "--out",
            "out",
            "--source-date-epoch",
            "1700000000",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = common::report(&out);
    assert_eq!(report["epoch"]["seconds"], 1_700_000_000);
    assert_eq!(report["epoch"]["source"], "flag");
    let names: Vec<_> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["proj-1.0.tar.gz", "proj-1.0-py3-none-any.whl"]);
    // Before 1980 is clamped, and said.
    let out = xtask(
        tmp.path(),
        &[
            "build",
            p.to_str().unwrap(),
            "--out",
            "out2",
            "--source-date-epoch",
            "5",
            "--json",
        ],
    );
    let report = common::report(&out);
    assert_eq!(report["epoch"]["seconds"], 315_532_800);
    assert_eq!(report["epoch"]["clamped"], true);
}

#[test]
fn bad_input_no_pyproject() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    fs::remove_file(p.join("pyproject.toml")).unwrap();
    assert_bad_input(tmp.path(), &p, &["pyproject.toml"]);
}

#[test]
fn bad_input_invalid_toml_gives_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    fs::write(
        p.join("pyproject.toml"),
        "[project]\nname = \"proj\"\nversion = 1.0.0\n",
    )
    .unwrap();
    assert_bad_input(tmp.path(), &p, &["pyproject.toml", "line 3"]);
}

fn edit_pyproject(p: &Path, from: &str, to: &str) {
    let path = p.join("pyproject.toml");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn bad_input_invalid_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    edit_pyproject(&p, "name = \"proj\"", "name = \"-proj!\"");
    assert_bad_input(tmp.path(), &p, &["pyproject.toml", "-proj!"]);
}

#[test]
fn bad_input_invalid_version() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    edit_pyproject(&p, "version = \"1.0\"", "version = \"one\"");
    assert_bad_input(tmp.path(), &p, &["pyproject.toml", "one", "PEP 440"]);
}

#[test]
fn bad_input_dynamic_field_points_to_backend_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    edit_pyproject(&p, "version = \"1.0\"", "dynamic = [\"version\"]");
    assert_bad_input(tmp.path(), &p, &["pyproject.toml", "dynamic", "backend"]);
}

#[test]
fn bad_input_missing_module_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    fs::rename(p.join("src/proj"), p.join("src/other")).unwrap();
    assert_bad_input(tmp.path(), &p, &["src/proj", "module-name"]);
}

#[test]
fn bad_input_symlink_leaving_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    fs::write(tmp.path().join("outside.py"), "secret = 1\n").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside.py"), p.join("src/proj/leak.py")).unwrap();
    assert_bad_input(tmp.path(), &p, &["leak.py"]);
}

#[test]
fn bad_input_unreadable_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    // A dangling symlink cannot be read by anyone, root included.
    std::os::unix::fs::symlink(
        p.join("src/proj/missing.py"),
        p.join("src/proj/dangling.py"),
    )
    .unwrap();
    assert_bad_input(tmp.path(), &p, &["dangling.py"]);
    fs::remove_file(p.join("src/proj/dangling.py")).unwrap();
    // Permission bits stop everyone but root.
    let locked = p.join("src/proj/locked.py");
    fs::write(&locked, "x = 2\n").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&locked).is_err() {
        assert_bad_input(tmp.path(), &p, &["locked.py"]);
    } else {
        eprintln!(
            "running as root: a 0000 file is still readable; the dangling symlink covered unreadable input"
        );
    }
}
