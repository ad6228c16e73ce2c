//! Offline verification of Sigstore bundles: a bundle, the artifact's bytes
//! and a trusted root (the public-good `trusted_root.json` embedded in
//! `sigstore-trust-root`, or one the caller passes) are all it reads; it
//! never touches the network. The identity policy comes from the caller
//! (kiln's `release.toml`), never from the bundle: the issuer must match
//! exactly, and the identity (the certificate's SAN, for GitHub the workflow
//! URI `https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0`)
//! either exactly or, when it ends in `*`, as a prefix that fixes the whole
//! workflow path and leaves only the git ref open (`...release.yml@refs/tags/*`).
//! A failure names the artifact and the check that failed ([`Check`]).

use crate::SigstoreError;
use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_verify::types::Bundle;
use sigstore_verify::{VerificationPolicy, Verifier};
use std::fs::File;
use std::path::Path;

/// The OIDC issuer of GitHub Actions' ambient tokens.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// An identity policy (kiln's comes from release.toml): the identity of
/// the workflow that must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy {
    /// The OIDC issuer, matched exactly, e.g. [`GITHUB_ACTIONS_ISSUER`].
    pub issuer: String,
    /// The certificate's SAN, e.g.
    /// `https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0`,
    /// matched exactly; or, ending in `*`, a prefix: the `*` is the only
    /// wildcard, it must be last, and the text before it must contain `@`
    /// (the repository and workflow file are fixed, only the ref is open:
    /// `...release.yml@refs/tags/*` or `...release.yml@refs/tags/v*`).
    pub identity: String,
}

/// The identity a bundle was verified to carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The certificate's SAN (for GitHub Actions, the workflow URI and ref).
    pub identity: String,
    /// The certificate's OIDC issuer.
    pub issuer: String,
}

/// Which check a keyless bundle failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The bundle is not a well-formed Sigstore bundle kiln can verify.
    Bundle,
    /// The trusted root is unreadable or unusable.
    TrustedRoot,
    /// The artifact's bytes are not the ones the bundle signs.
    ArtifactDigest,
    /// The artifact could not be read.
    ArtifactRead,
    /// The certificate's SAN is not the policy's identity.
    CertificateIdentity,
    /// The certificate's OIDC issuer is not the policy's issuer.
    Issuer,
    /// The certificate does not chain to the trusted root's Fulcio
    /// authorities, was not valid at the signing time, or lacks a valid SCT.
    Certificate,
    /// The signature does not verify with the certificate's key.
    Signature,
    /// The Rekor entry, inclusion proof, checkpoint or promise is wrong.
    TransparencyLog,
    /// An RFC 3161 timestamp is wrong, or no trusted signing time exists.
    Timestamp,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Bundle => "bundle format",
            Check::TrustedRoot => "trusted root",
            Check::ArtifactDigest => "artifact digest",
            Check::ArtifactRead => "artifact read",
            Check::CertificateIdentity => "certificate identity",
            Check::Issuer => "issuer",
            Check::Certificate => "certificate chain to the trusted root",
            Check::Signature => "signature",
            Check::TransparencyLog => "transparency log",
            Check::Timestamp => "timestamp",
        })
    }
}

/// A keyless bundle that failed verification: which check, and why. The
/// message names the artifact; callers turn it into their exit status.
#[derive(Debug, thiserror::Error)]
#[error("Sigstore bundle for {artifact}: {check} check failed: {detail}")]
pub struct KeylessCheckFailed {
    pub artifact: String,
    pub check: Check,
    pub detail: String,
}

/// Verify a bundle offline against the Sigstore trusted root (`None`: the
/// public-good root embedded in `sigstore-trust-root`; never fetched), the
/// artifact's bytes and the identity policy. A failed check is a
/// [`KeylessCheckFailed`] naming the artifact and the check (artifact digest,
/// certificate identity, issuer, signature, transparency log, trusted root,
/// ...); a malformed policy is a plain error.
///
/// Bundles of media type v0.1 to v0.3 verify. kiln signs the artifact's
/// bytes (a message signature); a DSSE in-toto attestation bundle verifies
/// too, when the artifact's sha256 is one of its statement's subjects.
pub fn verify_bundle(
    bundle_json: &[u8],
    artifact: &Path,
    policy: &IdentityPolicy,
    trusted_root_json: Option<&[u8]>,
) -> Result<VerifiedIdentity, SigstoreError> {
    let matcher = Matcher::new(policy)?;
    let fail = |check, detail: String| SigstoreError::Check(failed(artifact, check, detail));

    let root = trusted_root(trusted_root_json).map_err(|d| fail(Check::TrustedRoot, d))?;
    let verifier = Verifier::new(&root).map_err(|e| fail(Check::TrustedRoot, e.to_string()))?;
    let bundle = std::str::from_utf8(bundle_json)
        .map_err(|e| e.to_string())
        .and_then(|json| Bundle::from_json(json).map_err(|e| e.to_string()))
        .map_err(|e| fail(Check::Bundle, format!("not a Sigstore bundle: {e}")))?;
    let reader = File::open(artifact).map_err(|e| fail(Check::ArtifactRead, e.to_string()))?;

    let sigstore_policy = match &matcher {
        Matcher::Exact(identity) => VerificationPolicy::new(identity.as_str(), &policy.issuer),
        Matcher::Prefix(_) => VerificationPolicy::any_identity().require_issuer(&policy.issuer),
    };
    let result = verifier
        .verify_reader(reader, &bundle, &sigstore_policy)
        .map_err(|e| {
            let check = classify(&e);
            let detail = match check {
                Check::Certificate | Check::TransparencyLog | Check::Timestamp => {
                    format!("{e} (checked against {})", root_label(trusted_root_json))
                }
                _ => e.to_string(),
            };
            fail(check, detail)
        })?;

    // The library checked all of these; a policy that skipped one would be
    // a bug here, so refuse rather than trust it.
    if !(result.certificate_verified() && result.sct_verified() && result.tlog_verified()) {
        return Err(fail(
            Check::Certificate,
            "certificate chain, SCT or transparency log was not verified".into(),
        ));
    }
    let identity = result
        .identity()
        .map(|san| san.as_str().to_owned())
        .ok_or_else(|| fail(Check::CertificateIdentity, "certificate has no SAN".into()))?;
    let issuer = result
        .issuer()
        .map(str::to_owned)
        .ok_or_else(|| fail(Check::Issuer, "certificate has no OIDC issuer".into()))?;
    if !matcher.matches(&identity) {
        return Err(fail(
            Check::CertificateIdentity,
            format!("identity mismatch: expected {matcher}, got {identity}"),
        ));
    }
    if issuer != policy.issuer {
        return Err(fail(
            Check::Issuer,
            format!("issuer mismatch: expected {}, got {issuer}", policy.issuer),
        ));
    }
    Ok(VerifiedIdentity { identity, issuer })
}

/// How the policy's identity is matched.
#[derive(Debug)]
enum Matcher {
    Exact(String),
    Prefix(String),
}

impl Matcher {
    fn new(policy: &IdentityPolicy) -> Result<Matcher, SigstoreError> {
        if policy.issuer.is_empty() {
            return Err(policy_error(
                "the keyless identity policy has an empty issuer".into(),
            ));
        }
        let identity = policy.identity.as_str();
        let Some(prefix) = identity.strip_suffix('*') else {
            if identity.is_empty() || identity.contains('*') {
                return Err(policy_error(format!(
                    "the keyless identity {identity:?}: `*` may only end a prefix"
                )));
            }
            return Ok(Matcher::Exact(identity.to_owned()));
        };
        if prefix.contains('*') || !prefix.contains('@') {
            return Err(policy_error(format!(
                "the keyless identity {identity:?}: a prefix must fix the whole workflow path and \
                 leave only the git ref open, like \
                 https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/*"
            )));
        }
        Ok(Matcher::Prefix(prefix.to_owned()))
    }

    fn matches(&self, identity: &str) -> bool {
        match self {
            Matcher::Exact(exact) => identity == exact,
            Matcher::Prefix(prefix) => identity.starts_with(prefix.as_str()),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(exact) => f.write_str(exact),
            Matcher::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// The trusted root: the caller's, or the embedded public-good one.
pub(crate) fn trusted_root(json: Option<&[u8]>) -> Result<TrustedRoot, String> {
    let json = match json {
        Some(bytes) => std::str::from_utf8(bytes).map_err(|e| e.to_string())?,
        None => SIGSTORE_PRODUCTION_TRUSTED_ROOT,
    };
    TrustedRoot::from_json(json).map_err(|e| format!("not a Sigstore trusted root: {e}"))
}

/// Which trusted root a failure was checked against, for its message.
fn root_label(json: Option<&[u8]>) -> &'static str {
    match json {
        Some(_) => "the trusted root passed in",
        None => "kiln's embedded Sigstore public-good trusted root (sigstore-trust-root 0.15.1)",
    }
}

pub(crate) fn failed(artifact: &Path, check: Check, detail: String) -> KeylessCheckFailed {
    KeylessCheckFailed {
        artifact: artifact.display().to_string(),
        check,
        detail,
    }
}

/// Which check a sigstore-verify error reports.
pub(crate) fn classify(err: &sigstore_verify::Error) -> Check {
    use sigstore_verify::Error as E;
    match err {
        E::IdentityMismatch { .. } => Check::CertificateIdentity,
        E::IssuerMismatch { .. } => Check::Issuer,
        E::SignatureInvalid(_) | E::Crypto(_) => Check::Signature,
        E::ArtifactMismatch(_) | E::UnsupportedArtifact(_) => Check::ArtifactDigest,
        E::ArtifactRead(_) => Check::ArtifactRead,
        E::Certificate(_) => Check::Certificate,
        E::TransparencyLog(_) => Check::TransparencyLog,
        E::Timestamp(_) => Check::Timestamp,
        E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => Check::TrustedRoot,
        E::InvalidBundle(_) | E::UnsupportedBundle(_) | E::Bundle(_) | E::Types(_) => Check::Bundle,
        _ => Check::Bundle,
    }
}

fn policy_error(message: String) -> SigstoreError {
    SigstoreError::Policy(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/sigstore")
            .join(name)
    }

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(data(name)).unwrap()
    }

    /// rfc8785 0.1.2's wheel, signed by its release workflow on GitHub
    /// Actions (a v0.2 bundle, message signature, Rekor v1).
    const WHEEL: &str = "rfc8785-0.1.2-py3-none-any.whl";
    const WHEEL_IDENTITY: &str =
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";

    /// A conda package attested by a GitHub Actions workflow (a v0.3 bundle,
    /// DSSE in-toto statement naming the package).
    const CONDA: &str = "signed-package-2.1.0-hb0f4dca_0.conda";
    const CONDA_IDENTITY: &str = "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main";

    fn policy(identity: &str, issuer: &str) -> IdentityPolicy {
        IdentityPolicy {
            issuer: issuer.into(),
            identity: identity.into(),
        }
    }

    fn verify(artifact: &Path, policy: &IdentityPolicy) -> Result<VerifiedIdentity, SigstoreError> {
        let name = artifact.file_name().unwrap().to_str().unwrap();
        let bundle = read(&format!("{name}.sigstore.json"));
        verify_bundle(&bundle, artifact, policy, Some(&read("trusted_root.json")))
    }

    /// The check a failure names, and its message.
    fn failure(result: Result<VerifiedIdentity, SigstoreError>) -> (Check, String) {
        let err = result.expect_err("verification should fail");
        let SigstoreError::Check(failed) = &err else {
            panic!("not a failed check: {err}");
        };
        (failed.check, err.to_string())
    }

    /// The artifact copied into a temporary directory with one byte flipped.
    fn tampered(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let mut bytes = read(name);
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn real_ci_bundle_verifies_offline_with_its_identity_and_issuer() {
        let got = verify(&data(WHEEL), &policy(WHEEL_IDENTITY, GITHUB_ACTIONS_ISSUER)).unwrap();
        assert_eq!(
            got,
            VerifiedIdentity {
                identity: WHEEL_IDENTITY.into(),
                issuer: GITHUB_ACTIONS_ISSUER.into(),
            }
        );
    }

    #[test]
    fn real_ci_v03_attestation_bundle_verifies_offline() {
        let got = verify(&data(CONDA), &policy(CONDA_IDENTITY, GITHUB_ACTIONS_ISSUER)).unwrap();
        assert_eq!(got.identity, CONDA_IDENTITY);
        assert_eq!(got.issuer, GITHUB_ACTIONS_ISSUER);
    }

    #[test]
    fn embedded_production_root_is_the_default() {
        let bundle = read(&format!("{WHEEL}.sigstore.json"));
        let policy = policy(WHEEL_IDENTITY, GITHUB_ACTIONS_ISSUER);
        let got = verify_bundle(&bundle, &data(WHEEL), &policy, None).unwrap();
        assert_eq!(got.identity, WHEEL_IDENTITY);
    }

    #[test]
    fn wrong_identity_fails_naming_the_certificate_identity() {
        let other = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.3";
        for artifact in [WHEEL, CONDA] {
            let (check, msg) = failure(verify(
                &data(artifact),
                &policy(other, GITHUB_ACTIONS_ISSUER),
            ));
            assert_eq!(check, Check::CertificateIdentity, "{msg}");
            assert!(msg.contains("certificate identity check failed"), "{msg}");
            assert!(msg.contains(other), "{msg}");
            assert!(msg.contains(artifact), "{msg}");
        }
    }

    #[test]
    fn wrong_issuer_fails_naming_the_issuer() {
        let (check, msg) = failure(verify(
            &data(WHEEL),
            &policy(WHEEL_IDENTITY, "https://accounts.google.com"),
        ));
        assert_eq!(check, Check::Issuer, "{msg}");
        assert!(msg.contains("issuer check failed"), "{msg}");
        assert!(msg.contains(GITHUB_ACTIONS_ISSUER), "{msg}");
    }

    #[test]
    fn one_flipped_byte_in_the_artifact_fails_naming_the_artifact_digest() {
        for (name, identity) in [(WHEEL, WHEEL_IDENTITY), (CONDA, CONDA_IDENTITY)] {
            let (_dir, path) = tampered(name);
            let (check, msg) = failure(verify(&path, &policy(identity, GITHUB_ACTIONS_ISSUER)));
            assert_eq!(check, Check::ArtifactDigest, "{msg}");
            assert!(msg.contains("artifact digest check failed"), "{msg}");
        }
    }

    #[test]
    fn another_sigstore_root_fails_naming_the_trusted_root() {
        let bundle = read(&format!("{WHEEL}.sigstore.json"));
        let policy = policy(WHEEL_IDENTITY, GITHUB_ACTIONS_ISSUER);

        // The staging root knows neither the log nor the certificate authority.
        let staging = read("trusted_root_staging.json");
        let (check, msg) = failure(verify_bundle(
            &bundle,
            &data(WHEEL),
            &policy,
            Some(&staging),
        ));
        assert!(
            matches!(check, Check::TransparencyLog | Check::Certificate),
            "{check:?}: {msg}"
        );
        assert!(msg.contains("the trusted root passed in"), "{msg}");

        // Production's logs with staging's Fulcio: only the chain fails.
        let mut root: serde_json::Value =
            serde_json::from_slice(&read("trusted_root.json")).unwrap();
        let staging: serde_json::Value = serde_json::from_slice(&staging).unwrap();
        root["certificateAuthorities"] = staging["certificateAuthorities"].clone();
        let root = serde_json::to_vec(&root).unwrap();
        let (check, msg) = failure(verify_bundle(&bundle, &data(WHEEL), &policy, Some(&root)));
        assert_eq!(check, Check::Certificate, "{msg}");
        assert!(
            msg.contains("certificate chain to the trusted root check failed"),
            "{msg}"
        );
    }

    #[test]
    fn unreadable_root_and_bundle_name_their_check() {
        let bundle = read(&format!("{WHEEL}.sigstore.json"));
        let policy = policy(WHEEL_IDENTITY, GITHUB_ACTIONS_ISSUER);
        let (check, msg) = failure(verify_bundle(&bundle, &data(WHEEL), &policy, Some(b"{}")));
        assert_eq!(check, Check::TrustedRoot, "{msg}");
        let (check, msg) = failure(verify_bundle(
            b"{\"mediaType\": 1}",
            &data(WHEEL),
            &policy,
            None,
        ));
        assert_eq!(check, Check::Bundle, "{msg}");
    }

    #[test]
    fn a_flipped_signature_fails_naming_the_signature() {
        let mut bundle: serde_json::Value =
            serde_json::from_slice(&read(&format!("{WHEEL}.sigstore.json"))).unwrap();
        let sig = bundle["messageSignature"]["signature"]
            .as_str()
            .unwrap()
            .to_owned();
        // Base64 of a DER ECDSA signature: change one character well inside it.
        let mut chars: Vec<char> = sig.chars().collect();
        chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
        bundle["messageSignature"]["signature"] = chars.into_iter().collect::<String>().into();
        let bytes = serde_json::to_vec(&bundle).unwrap();
        let policy = policy(WHEEL_IDENTITY, GITHUB_ACTIONS_ISSUER);
        let (check, msg) = failure(verify_bundle(&bytes, &data(WHEEL), &policy, None));
        assert_eq!(check, Check::Signature, "{msg}");
        assert!(msg.contains("signature check failed"), "{msg}");
    }

    #[test]
    fn identity_prefix_leaves_only_the_ref_open() {
        let prefix =
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/*";
        let got = verify(&data(WHEEL), &policy(prefix, GITHUB_ACTIONS_ISSUER)).unwrap();
        assert_eq!(got.identity, WHEEL_IDENTITY);

        let other =
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/heads/*";
        let (check, msg) = failure(verify(&data(WHEEL), &policy(other, GITHUB_ACTIONS_ISSUER)));
        assert_eq!(check, Check::CertificateIdentity, "{msg}");
        assert!(msg.contains(other), "{msg}");

        // A prefix that cuts into the repository or workflow path is refused
        // as a policy, before any bundle is read.
        for bad in [
            "https://github.com/trailofbits/rfc8785*",
            "https://github.com/trailofbits/*/release.yml@refs/tags/*",
            "*",
            "",
        ] {
            let err = verify(&data(WHEEL), &policy(bad, GITHUB_ACTIONS_ISSUER)).unwrap_err();
            assert!(matches!(err, SigstoreError::Policy(_)), "{bad}: {err}");
        }
    }
}
