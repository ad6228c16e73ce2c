//! Keyless Sigstore signing for `release --keyless` and verification of its
//! bundles for `verify`, over `kiln-sigstore`. What stays here is the
//! environment: signing happens only in GitHub Actions, where the ambient
//! OIDC token (audience `sigstore`, which needs `permissions: id-token:
//! write`) is what `kiln-sigstore` signs with; this module checks for it
//! before any work and fetches it when asked.

use anyhow::{Result, bail};
pub use kiln_sigstore::{GITHUB_ACTIONS_ISSUER, IdentityPolicy, verify_bundle};
use kiln_sigstore::{IdentityToken, TokenError};
use std::path::{Path, PathBuf};

/// What `check_ambient_credentials` says is missing, and what to do.
const NEEDS_ID_TOKEN: &str = "the release workflow's job needs `permissions: id-token: write` \
     (with `contents: read`) so that GitHub Actions sets ACTIONS_ID_TOKEN_REQUEST_URL and \
     ACTIONS_ID_TOKEN_REQUEST_TOKEN; outside GitHub Actions, sign with an offline key instead \
     (--key PATH, or no flag for the development key)";

/// Outside GitHub Actions (no ACTIONS_ID_TOKEN_REQUEST_URL /
/// ACTIONS_ID_TOKEN_REQUEST_TOKEN, i.e. the workflow lacks
/// `permissions: id-token: write`), fail fast -- before any build work --
/// with a message saying exactly what is needed.
pub fn check_ambient_credentials() -> Result<()> {
    #[allow(clippy::disallowed_methods)] // xtask is the edge: the ambient CI identity.
    let var = |name: &str| std::env::var(name).ok();
    ambient_credentials(
        var("GITHUB_ACTIONS"),
        var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
}

/// `check_ambient_credentials` on values passed in (the test's seam).
fn ambient_credentials(
    github_actions: Option<String>,
    request_url: Option<String>,
    request_token: Option<String>,
) -> Result<()> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    if github_actions.as_deref() != Some("true") {
        bail!(
            "--keyless signs with the ambient GitHub Actions OIDC token, and this is not a \
             GitHub Actions run (GITHUB_ACTIONS is not `true`): {NEEDS_ID_TOKEN}"
        );
    }
    let missing: Vec<&str> = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token),
    ]
    .into_iter()
    .filter(|(_, v)| !set(v))
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        bail!(
            "--keyless cannot get a GitHub Actions OIDC token: {} unset; {NEEDS_ID_TOKEN}",
            missing.join(" and ")
        );
    }
    Ok(())
}

/// Sign each file with the ambient token: see [`kiln_sigstore::sign_files`].
pub fn sign_files(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    check_ambient_credentials()?;
    Ok(kiln_sigstore::sign_files(files, ambient_token)?)
}

/// Sign the provenance statement with the ambient token: see
/// [`kiln_sigstore::sign_statement`].
pub fn sign_statement(statement: &[u8], provenance: &Path) -> Result<String> {
    check_ambient_credentials()?;
    Ok(kiln_sigstore::sign_statement(
        statement,
        provenance,
        ambient_token,
    )?)
}

/// The DSSE envelope a bundle carries, as one `.intoto.jsonl` line.
pub fn envelope_line(bundle_json: &[u8]) -> Result<String> {
    Ok(kiln_sigstore::envelope_line(bundle_json)?)
}

/// The ambient GitHub Actions OIDC token, audience `sigstore` (read from
/// the environment and fetched by `sigstore-oidc`'s ambient detection).
async fn ambient_token() -> Result<IdentityToken, TokenError> {
    let found = IdentityToken::detect_ambient().await;
    let err = match found {
        Ok(Some(token)) => return Ok(token),
        Ok(None) => anyhow::anyhow!("no ambient OIDC token was found: {NEEDS_ID_TOKEN}"),
        Err(e) => anyhow::anyhow!("{e}").context(format!(
            "getting the GitHub Actions OIDC token failed; {NEEDS_ID_TOKEN}"
        )),
    };
    Err(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_github_actions_keyless_fails_fast_naming_id_token_write() {
        let some = |s: &str| Some(s.to_owned());
        for (gha, url, token) in [
            (None, None, None),
            (some("true"), None, None),
            (
                some("true"),
                some("https://example.invalid/token?x=1"),
                None,
            ),
            (some("true"), None, some("t")),
            (some("true"), some(""), some("")),
        ] {
            let err = ambient_credentials(gha, url, token).unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains("id-token: write"), "{msg}");
            assert!(msg.contains("--keyless"), "{msg}");
        }
        let msg = format!(
            "{:#}",
            ambient_credentials(some("true"), some("https://x.invalid/?a=1"), None).unwrap_err()
        );
        assert!(
            msg.starts_with(
                "--keyless cannot get a GitHub Actions OIDC token: \
                 ACTIONS_ID_TOKEN_REQUEST_TOKEN unset;"
            ),
            "{msg}"
        );
        ambient_credentials(some("true"), some("https://x.invalid/?a=1"), some("t")).unwrap();
    }
}
