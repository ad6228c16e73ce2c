//! Keyless signing: each file (the artifacts, or the provenance statement)
//! is signed with an ephemeral key whose Fulcio certificate an OIDC
//! identity token buys, logged to Rekor and timestamped, and its Sigstore
//! bundle v0.3 is written beside it ([`crate::bundle_path`]), atomically
//! and readable by all (`kiln_fs::publish::write_atomic`).
//!
//! The tokens come from the caller, asked for again when the last one has
//! expired: where they come from (GitHub Actions' ambient token, for kiln)
//! is the caller's business, so this crate reads no environment. The async
//! signing runs on a current-thread tokio runtime of its own.

use crate::verify::{classify, failed, trusted_root};
use crate::{Cause, SigstoreError, bundle_path, envelope_line};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::types::Bundle;
use sigstore_sign::{SigningContext, SigstoreInstance};
use sigstore_verify::{VerificationPolicy, Verifier};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Why the caller's token source gave no token; shown as it is.
pub type TokenError = Cause;

/// Sign each file (the artifacts and the provenance .intoto.jsonl) with
/// tokens from `tokens`: get a Fulcio certificate, log to Rekor, write
/// `<file>.sigstore.json` (Sigstore bundle v0.3) beside each, atomically.
/// Returns the bundle paths.
///
/// Every file is signed and its bundle checked offline against the embedded
/// trusted root (as verification will) before any bundle is written, so a
/// failure leaves no bundle behind.
pub fn sign_files(
    files: &[PathBuf],
    mut tokens: impl AsyncFnMut() -> Result<IdentityToken, TokenError>,
) -> Result<Vec<PathBuf>, SigstoreError> {
    let bundles = runtime()?.block_on(sign_all(files, &mut tokens))?;

    let root = trusted_root(None).map_err(|detail| SigstoreError::EmbeddedRoot(detail.into()))?;
    let verifier = Verifier::new(&root).map_err(|e| SigstoreError::EmbeddedRoot(e.into()))?;
    for (file, bundle) in files.iter().zip(&bundles) {
        let artifact = File::open(file).map_err(|source| SigstoreError::ReadArtifact {
            path: file.clone(),
            source,
        })?;
        verifier
            .verify_reader(artifact, bundle, &VerificationPolicy::any_identity())
            .map_err(|e| SigstoreError::SelfCheck(failed(file, classify(&e), e.to_string())))?;
    }

    let mut written = Vec::with_capacity(files.len());
    for (file, bundle) in files.iter().zip(&bundles) {
        let json = bundle.to_json().map_err(|e| SigstoreError::Serialize {
            what: format!("the Sigstore bundle of {}", file.display()),
            source: e.into(),
        })?;
        match write_bundle(&bundle_path(file), json.as_bytes()) {
            Ok(path) => written.push(path),
            Err(err) => {
                for path in &written {
                    let _ = std::fs::remove_file(path);
                }
                return Err(err);
            }
        }
    }
    Ok(written)
}

/// Sign the provenance statement keyless with one token from `tokens`: a
/// Sigstore bundle v0.3 holding the DSSE envelope (signed by a
/// Fulcio-certified ephemeral key, logged to Rekor) is written to
/// `<provenance>.sigstore.json`, and the envelope itself is returned as the
/// one line of `<project>-<version>.intoto.jsonl`.
pub fn sign_statement(
    statement: &[u8],
    provenance: &Path,
    mut tokens: impl AsyncFnMut() -> Result<IdentityToken, TokenError>,
) -> Result<String, SigstoreError> {
    let bundle = runtime()?.block_on(async {
        let context = signing_context()?;
        let token = tokens().await.map_err(SigstoreError::Token)?;
        context
            .signer(token)
            .sign_raw_statement(statement)
            .await
            .map_err(|e| SigstoreError::Sign {
                what: "the provenance".into(),
                source: e.into(),
            })
    })?;
    let json = bundle.to_json().map_err(|e| SigstoreError::Serialize {
        what: "the provenance's Sigstore bundle".into(),
        source: e.into(),
    })?;
    let line = envelope_line(json.as_bytes())?;
    write_bundle(&bundle_path(provenance), json.as_bytes())?;
    Ok(line)
}

fn runtime() -> Result<tokio::runtime::Runtime, SigstoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SigstoreError::Runtime)
}

fn signing_context() -> Result<SigningContext, SigstoreError> {
    SigningContext::from_embedded(SigstoreInstance::PublicGood)
        .map_err(|e| SigstoreError::SigningConfig(e.into()))
}

/// Sign the files in turn, each with its own ephemeral key and Fulcio
/// certificate, asking for a new token if the last one expired.
async fn sign_all(
    files: &[PathBuf],
    tokens: &mut impl AsyncFnMut() -> Result<IdentityToken, TokenError>,
) -> Result<Vec<Bundle>, SigstoreError> {
    let context = signing_context()?;
    let mut token = tokens().await.map_err(SigstoreError::Token)?;
    let mut bundles = Vec::with_capacity(files.len());
    for file in files {
        if token.is_expired() {
            token = tokens().await.map_err(SigstoreError::Token)?;
        }
        let reader = File::open(file).map_err(|source| SigstoreError::ReadArtifact {
            path: file.clone(),
            source,
        })?;
        let bundle = context
            .signer(token.clone())
            .sign_reader(reader)
            .await
            .map_err(|e| SigstoreError::Sign {
                what: file.display().to_string(),
                source: e.into(),
            })?;
        bundles.push(bundle);
    }
    Ok(bundles)
}

/// A bundle, written atomically beside its file, mode 0644 (a published
/// file, readable by all, as release's other outputs are).
fn write_bundle(path: &Path, bytes: &[u8]) -> Result<PathBuf, SigstoreError> {
    kiln_fs::publish::write_atomic(path, bytes).map_err(|source| SigstoreError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_written_atomically_and_readable_by_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.whl.sigstore.json");
        assert_eq!(write_bundle(&path, b"{}").unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o644);
        let mut names: Vec<_> = walkdir::WalkDir::new(dir.path())
            .min_depth(1)
            .into_iter()
            .map(|e| e.unwrap().file_name().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["a.whl.sigstore.json"],
            "no temporary file left behind"
        );
    }

    #[test]
    fn a_token_source_that_fails_stops_signing_before_any_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.whl");
        std::fs::write(&file, b"wheel").unwrap();
        let err = sign_files(std::slice::from_ref(&file), async || {
            Err("no token here".into())
        })
        .unwrap_err();
        assert!(matches!(err, SigstoreError::Token(_)), "{err}");
        assert_eq!(err.to_string(), "no token here");
        assert!(!bundle_path(&file).exists());
    }
}
