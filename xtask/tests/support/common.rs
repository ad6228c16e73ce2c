//! What the end-to-end test files of xtask share: the checkout's root, the
//! binary run in a directory (no colour, no inherited SOURCE_DATE_EPOCH),
//! git with a test identity, and the hash-pinned Python of `cargo xtask ci`.
//! Each test file includes it with `#[path = "support/common.rs"] mod common;`.

#![allow(
    dead_code,
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::print_stderr
)] // Each test binary uses a part; tests spawn processes and read the environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The kiln checkout these tests were built from.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// `cargo xtask ARGS` in `dir`.
pub fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `git ARGS` in `dir`, which must succeed.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?} failed: {}", text(&out));
}

/// `git commit --quiet ARGS` in `dir` as a test identity.
pub fn commit(dir: &Path, args: &[&str]) {
    let identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"];
    git(dir, &[&identity[..], &["commit", "--quiet"], args].concat());
}

/// The interpreter of the hash-pinned test venv (`KILN_TEST_PYTHON`, which
/// `cargo xtask ci` sets). Without it the caller skips, saying `what` it
/// skips, unless `KILN_REQUIRE_PYTHON=1` turns the skip into a failure.
pub fn python(what: &str) -> Option<PathBuf> {
    match std::env::var_os("KILN_TEST_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("KILN_REQUIRE_PYTHON").is_some() => {
            panic!("KILN_REQUIRE_PYTHON is set but KILN_TEST_PYTHON is not")
        }
        None => {
            eprintln!(
                "skipping {what}: set KILN_TEST_PYTHON to the venv of xtask/python/requirements.txt (cargo xtask ci does)"
            );
            None
        }
    }
}

/// A `--json` run's stdout: exactly one JSON document, valid against the
/// published schema (docs/kiln-report.schema.json).
pub fn report(o: &Output) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("--json printed no one JSON document ({e}):\n{}", text(o)));
    let path = root().join("docs/kiln-report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if let Err(errors) = kiln_report::validate::validate(&schema, &value) {
        panic!(
            "--json output does not match {}:\n{}\n{value:#}",
            path.display(),
            errors.join("\n")
        );
    }
    value
}
