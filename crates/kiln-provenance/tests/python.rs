//! Cross-check with securesystemslib: kiln signs a provenance statement,
//! `tests/check_dsse.py` verifies the envelope with securesystemslib's own
//! DSSE code and signs the same payload with kiln's private key, and kiln
//! verifies that. ed25519 being deterministic, both envelopes must be the
//! same bytes.
//!
//! The interpreter comes from `KILN_TEST_PYTHON` (`cargo xtask ci` points it
//! at a venv with the hash-pinned xtask/python/requirements.txt). Without it
//! the test says why it skips, unless `KILN_REQUIRE_PYTHON` is set, which
//! turns the skip into a failure.

// Tests read the environment and spawn the interpreter; they print the skip.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)]

use kiln_provenance::{
    BuildParameters, Envelope, IN_TOTO_PAYLOAD_TYPE, PrivateKey, ProvenanceInput, Signing,
    SigningKind, Subject, dsse, statement_json,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    match std::env::var_os("KILN_TEST_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("KILN_REQUIRE_PYTHON").is_some() => {
            panic!("KILN_REQUIRE_PYTHON is set but KILN_TEST_PYTHON is not")
        }
        None => {
            eprintln!(
                "skipping the securesystemslib cross-check: set KILN_TEST_PYTHON (cargo xtask ci does)"
            );
            None
        }
    }
}

fn statement(version: &str) -> Vec<u8> {
    statement_json(&ProvenanceInput {
        subjects: vec![Subject {
            name: format!("demo-{version}.tar.gz"),
            sha256: "1".repeat(64),
            sha512: "2".repeat(128),
        }],
        parameters: BuildParameters {
            project: "demo".into(),
            version: version.into(),
            source_repository: "https://example.com/demo".into(),
            source_ref: format!("refs/tags/v{version}"),
            mode: kiln_names::BuildMode::Native,
            epoch: 1_700_000_000,
            compression: BTreeMap::new(),
            pins: BTreeMap::new(),
            signing: Signing {
                kind: SigningKind::Key,
                keyid: None,
            },
        },
        source_commit: "3".repeat(40),
        dependencies: Vec::new(),
        builder_id: "local".into(),
        invocation_id: "1".into(),
        started_on: "2026-01-01T00:00:00Z".into(),
        finished_on: "2026-01-01T00:00:01Z".into(),
    })
}

#[test]
fn securesystemslib_verifies_kiln_envelopes_and_kiln_verifies_its() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::from_seed([42; 32]);
    let lines: String = ["1.0.0", "1.0.1"]
        .iter()
        .map(|v| dsse::sign(IN_TOTO_PAYLOAD_TYPE, &statement(v), &key).to_json_line())
        .collect();
    std::fs::write(dir.path().join("envelope.intoto.jsonl"), &lines).unwrap();
    std::fs::write(
        dir.path().join("key.pub.pem"),
        key.public_key().to_spki_pem(),
    )
    .unwrap();
    std::fs::write(dir.path().join("key.pem"), key.to_pkcs8_pem()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check_dsse.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "{} {} failed:\n{stdout}\n{}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );

    // securesystemslib's envelopes, signed with kiln's key as cryptography
    // loaded it from kiln's PEM.
    let theirs = std::fs::read_to_string(dir.path().join("python.intoto.jsonl")).unwrap();
    let envelopes = Envelope::parse_jsonl(&theirs).unwrap();
    assert_eq!(envelopes.len(), 2);
    for (envelope, version) in envelopes.iter().zip(["1.0.0", "1.0.1"]) {
        let verified = envelope.verify_in_toto(&[key.public_key()]).unwrap();
        assert_eq!(verified.payload, statement(version));
    }
    // Same PAE, same key, deterministic ed25519: the same bytes.
    assert_eq!(theirs, lines);
}
