//! Sigstore for kiln, on the sigstore-rust crates (`sigstore-sign` and
//! `sigstore-verify`): keyless signing of a release's files and provenance
//! ([`sign`]), and offline verification of bundles against a trusted root
//! and an identity policy ([`verify`]).
//!
//! Signing takes its OIDC identity tokens from the caller (kiln's xtask
//! gets GitHub Actions' ambient token, audience `sigstore`): each token buys
//! a short-lived Fulcio certificate for an ephemeral key, each signature is
//! logged to Rekor and timestamped, and each file gets a Sigstore bundle
//! v0.3 beside it, named by [`bundle_path`]. The services are the
//! public-good instance's, from the signing config embedded in the crate (no
//! TUF fetch). Verification reads only the bundle, the artifact and the
//! trusted root. This crate never reads the environment.

pub mod sign;
pub mod verify;

pub use sign::{TokenError, sign_files, sign_statement};
pub use sigstore_sign::oidc::IdentityToken;
pub use verify::{
    Check, GITHUB_ACTIONS_ISSUER, IdentityPolicy, KeylessCheckFailed, VerifiedIdentity,
    verify_bundle,
};

use std::path::{Path, PathBuf};

/// What a Sigstore bundle's file name adds to its artifact's: the bundle of
/// `kiln_sums-1.0.tar.gz` is `kiln_sums-1.0.tar.gz.sigstore.json`, beside it.
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";

/// The file name of the bundle of the file named `file_name`.
pub fn bundle_name(file_name: &str) -> String {
    format!("{file_name}{BUNDLE_SUFFIX}")
}

/// The bundle of `file`: `<file>.sigstore.json`, beside it.
pub fn bundle_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(BUNDLE_SUFFIX);
    PathBuf::from(name)
}

/// A cause from another crate, kept as the error's source.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why signing or verifying failed, naming what was being worked on.
#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    /// A bundle failed a check: the artifact, the check and why.
    #[error(transparent)]
    Check(#[from] KeylessCheckFailed),
    /// The identity policy itself is malformed (before any bundle is read).
    #[error("{0}")]
    Policy(String),
    /// The caller's token source gave no token (its error, as it is).
    #[error(transparent)]
    Token(TokenError),
    #[error("starting the async runtime for Sigstore signing")]
    Runtime(#[source] std::io::Error),
    #[error("the embedded Sigstore public-good signing config")]
    SigningConfig(#[source] Cause),
    #[error("loading the embedded Sigstore trusted root")]
    EmbeddedRoot(#[source] Cause),
    #[error("reading {}", path.display())]
    ReadArtifact {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Fulcio, Rekor or the timestamp authority refused or failed.
    #[error("Sigstore signing of {what}")]
    Sign {
        what: String,
        #[source]
        source: Cause,
    },
    /// A bundle just made does not verify offline: nothing is written.
    #[error("a bundle just made does not verify against kiln's embedded trusted root")]
    SelfCheck(#[source] KeylessCheckFailed),
    #[error("serializing {what}")]
    Serialize {
        what: String,
        #[source]
        source: Cause,
    },
    #[error("writing the Sigstore bundle {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: kiln_fs::publish::PublishError,
    },
    /// A bundle's DSSE envelope could not be read.
    #[error("{what}")]
    Envelope {
        what: &'static str,
        #[source]
        source: Option<serde_json::Error>,
    },
}

/// The DSSE envelope a bundle carries, as one `.intoto.jsonl` line.
pub fn envelope_line(bundle_json: &[u8]) -> Result<String, SigstoreError> {
    let value: serde_json::Value =
        serde_json::from_slice(bundle_json).map_err(|e| SigstoreError::Envelope {
            what: "the Sigstore bundle is not JSON",
            source: Some(e),
        })?;
    let dsse = value.get("dsseEnvelope").ok_or(SigstoreError::Envelope {
        what: "the Sigstore bundle holds no dsseEnvelope",
        source: None,
    })?;
    let text =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let envelope = kiln_provenance::Envelope {
        payload: text(dsse.get("payload")),
        payload_type: text(dsse.get("payloadType")),
        signatures: dsse
            .get("signatures")
            .and_then(|s| s.as_array())
            .map(|list| {
                list.iter()
                    .map(|sig| kiln_provenance::Signature {
                        keyid: text(sig.get("keyid")),
                        sig: text(sig.get("sig")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(envelope.to_json_line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_add_the_suffix() {
        assert_eq!(bundle_name("a.whl"), "a.whl.sigstore.json");
        assert_eq!(
            bundle_path(Path::new("dist/kiln_sums-1.0.tar.gz")),
            Path::new("dist/kiln_sums-1.0.tar.gz.sigstore.json")
        );
    }

    #[test]
    fn an_envelope_line_needs_a_dsse_envelope() {
        let line = envelope_line(
            br#"{"dsseEnvelope": {"payload": "cA==", "payloadType": "t", "signatures": [{"keyid": "", "sig": "cw=="}]}}"#,
        )
        .unwrap();
        let envelope = kiln_provenance::Envelope::parse(line.trim_end()).unwrap();
        assert_eq!(envelope.payload, "cA==");
        assert_eq!(envelope.signatures.len(), 1);
        let err = envelope_line(b"{}").unwrap_err();
        assert_eq!(err.to_string(), "the Sigstore bundle holds no dsseEnvelope");
        let err = envelope_line(b"not json").unwrap_err();
        assert!(
            matches!(
                err,
                SigstoreError::Envelope {
                    source: Some(_),
                    ..
                }
            ),
            "{err}"
        );
    }
}
