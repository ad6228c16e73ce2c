//! Hostile inputs: published. What `verify --against DIR` finds beside a
//! release: a provenance file or Sigstore bundle of 4 GiB (sparse), a FIFO
//! where a file should be, and `SHA256SUMS` or a `.distinfo` that state
//! other digests than the record. Each verify runs in this checkout against
//! its committed record (`--ref HEAD`), with the artifacts built as the
//! record says.

#![allow(clippy::unwrap_used)]

use super::common::root;
use super::harness::{self, MEMORY_KIB};
use std::path::Path;

const PROJECT: &str = "kiln-sums";
const VERSION: &str = "0.1.0";
const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";
const PROVENANCE: &str = "kiln-sums-0.1.0.intoto.jsonl";
const DISTINFO: &str = "kiln-sums-0.1.0.distinfo";
const GIB: u64 = 1 << 30;

fn verify_against(dir: &Path) -> harness::Outcome {
    harness::run(
        &root(),
        &[
            "verify",
            "--project",
            PROJECT,
            "--version",
            VERSION,
            "--ref",
            "HEAD",
            "--against",
            dir.to_str().unwrap(),
        ],
    )
}

/// A directory holding the artifacts built as the record says, and the
/// record's own `SHA256SUMS` and `.distinfo`, as `release` publishes them.
fn published() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let record = harness::build_example_as_recorded(dir.path());
    let sums: String = record
        .lines()
        .filter_map(|l| l.strip_prefix("SHA256 ("))
        .filter_map(|l| l.split_once(") = "))
        .map(|(file, sha)| format!("{sha}  {file}\n"))
        .collect();
    std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
    std::fs::write(dir.path().join(DISTINFO), record).unwrap();
    dir
}

/// A sparse file of `len` bytes: nothing is written, reading it would
/// still take `len` bytes of memory if read whole.
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

#[test]
fn huge_sparse_provenance_is_refused_before_reading() {
    let dir = published();
    sparse(&dir.path().join(PROVENANCE), 4 * GIB);
    let out = verify_against(dir.path());
    out.expect(1, "4294967296 bytes, more than the limit of 16777216 bytes")
        .under(MEMORY_KIB);
    assert!(out.stderr.contains(PROVENANCE), "{}", out.stderr);
}

#[test]
fn huge_sparse_sigstore_bundle_is_refused_before_reading() {
    let dir = published();
    sparse(
        &dir.path().join(format!("{PROVENANCE}.sigstore.json")),
        4 * GIB,
    );
    sparse(&dir.path().join(format!("{WHEEL}.sigstore.json")), 4 * GIB);
    let out = verify_against(dir.path());
    out.expect(1, "more than the limit of 16777216 bytes")
        .under(MEMORY_KIB);
    assert!(
        out.stderr.contains(&format!("{WHEEL}.sigstore.json")),
        "{}",
        out.stderr
    );
}

#[test]
fn huge_sparse_sha256sums_is_refused_before_reading() {
    let dir = published();
    sparse(&dir.path().join("SHA256SUMS"), 4 * GIB);
    let out = verify_against(dir.path());
    out.expect(1, "SHA256SUMS is 4294967296 bytes")
        .under(MEMORY_KIB);
}

#[test]
#[allow(clippy::disallowed_methods)] // std has no mkfifo: the tool makes the FIFO.
fn fifo_as_provenance_is_refused_not_waited_on() {
    let dir = published();
    let fifo = dir.path().join(PROVENANCE);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = verify_against(dir.path());
    out.expect(1, "is not a regular file").under(MEMORY_KIB);
    assert!(out.stderr.contains(PROVENANCE), "{}", out.stderr);
    // The same for an artifact: a FIFO where the wheel should be.
    std::fs::remove_file(dir.path().join(WHEEL)).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join(WHEEL))
        .status()
        .unwrap();
    assert!(made.success());
    let out = verify_against(dir.path());
    out.expect(1, &format!("{WHEEL} is not a regular file"))
        .under(MEMORY_KIB);
}

#[test]
fn tampered_sha256sums_beside_the_artifacts_fails_verify() {
    let dir = published();
    let sums_path = dir.path().join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).unwrap();
    let wheel_line = sums.lines().position(|l| l.ends_with(WHEEL)).unwrap() + 1;
    let tampered: String = sums
        .lines()
        .map(|l| {
            if l.ends_with(WHEEL) {
                format!("{}{}\n", "0".repeat(64), &l[64..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&sums_path, tampered).unwrap();
    let out = verify_against(dir.path());
    out.expect(
        1,
        &format!(
            "SHA256SUMS:{wheel_line}: {WHEEL} has sha256 {}; the record says",
            "0".repeat(64)
        ),
    )
    .under(MEMORY_KIB);
    // A line that does not parse is named too.
    std::fs::write(&sums_path, format!("{sums}not a sums line\n")).unwrap();
    let out = verify_against(dir.path());
    out.expect(1, "SHA256SUMS:3:");
}

#[test]
fn tampered_distinfo_beside_the_artifacts_fails_verify() {
    let dir = published();
    let path = dir.path().join(DISTINFO);
    let record = std::fs::read_to_string(&path).unwrap();
    let (line, original) = record
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with(&format!("SHA512 ({WHEEL}) = ")))
        .unwrap();
    let forged = format!("SHA512 ({WHEEL}) = {}", "a".repeat(128));
    std::fs::write(&path, record.replace(original, &forged)).unwrap();
    let out = verify_against(dir.path());
    out.expect(
        1,
        &format!(
            "{DISTINFO}:{}: SHA512 ({WHEEL}) says {}",
            line + 1,
            "a".repeat(128)
        ),
    )
    .under(MEMORY_KIB);
    // A record that does not parse is named, with its line.
    std::fs::write(&path, format!("{record}SIZE ({WHEEL}) = many\n")).unwrap();
    let out = verify_against(dir.path());
    out.expect(1, &format!("{DISTINFO}:"));
    assert!(out.stderr.contains("malformed value"), "{}", out.stderr);
}
