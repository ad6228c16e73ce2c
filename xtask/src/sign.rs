//! Signing edges of `release`, `keygen` and `verify`: where keys come from
//! (a `--key` file, the development key, release/keys/), the OS randomness a
//! new key is made from, the wall-clock times and CI identity that go into
//! the provenance's run details, and the assembling of the in-toto SLSA
//! statement from what `release` knows. The formats themselves -- the
//! statement, DSSE, PEM keys and key files -- are `kiln-provenance`'s.
//!
//! The development key lives in `target/kiln-dev-key/` (ignored by git,
//! directory 0700, private key 0600): created on first use when no key is
//! given, labelled as a development key in the provenance and the summary,
//! and trusted by `verify` on this machine only, with a warning.

use anyhow::Result;
use kiln_provenance::{PrivateKey, PublicKey, keyfile};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the development key lives, relative to the checkout.
pub const DEV_KEY_DIR: &str = "target/kiln-dev-key";

/// How `release` signs.
#[derive(Debug)]
pub enum Signer {
    /// An offline key; `development` when it is the generated development key.
    Key {
        key: Box<PrivateKey>,
        development: bool,
        path: PathBuf,
    },
    /// Sigstore, from the ambient GitHub Actions OIDC token.
    Keyless,
    /// `--no-sign`.
    Unsigned,
}

impl Signer {
    pub fn label(&self) -> String {
        match self {
            Signer::Key {
                key,
                development,
                path,
            } => {
                let keyid = key.public_key().keyid();
                let kind = if *development {
                    "development key"
                } else {
                    "key"
                };
                format!("{kind} {} ({})", &keyid[..16], path.display())
            }
            Signer::Keyless => "keyless (Sigstore)".into(),
            Signer::Unsigned => "unsigned (--no-sign)".into(),
        }
    }
}

/// 32 bytes from the operating system's random source.
fn os_seed() -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed))?;
    Ok(seed)
}

/// A new key's seed, or an error saying it could not be had.
pub fn random_seed() -> Result<[u8; 32]> {
    Ok(os_seed().map_err(kiln_provenance::KeyFileError::Seed)?)
}

/// The development key of this checkout, created on first use.
pub fn development_key(root: &Path) -> Result<(PrivateKey, PathBuf, bool)> {
    Ok(keyfile::development_key(&root.join(DEV_KEY_DIR), os_seed)?)
}

/// The development key's public half, if this checkout has one.
pub fn development_public_key(root: &Path) -> Option<PublicKey> {
    keyfile::development_public_key(&root.join(DEV_KEY_DIR))
}

/// Now, in seconds since 1970: the provenance's run details only.
pub fn now_seconds() -> u64 {
    #[allow(clippy::disallowed_methods)] // Run details record wall time; artifacts never see it.
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The builder and the invocation, as the provenance's run details name
/// them: the GitHub workflow run in Actions, else this machine's `release`.
pub fn builder_and_invocation(seed: [u8; 32]) -> (String, String) {
    #[allow(clippy::disallowed_methods)] // The CI identity is what run details record.
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        var("GITHUB_ACTIONS"),
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        (Some(_), Some(server), Some(repo), Some(run)) => {
            let workflow = var("GITHUB_WORKFLOW_REF").unwrap_or_else(|| repo.clone());
            let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
            (
                format!("{server}/{workflow}"),
                format!("{server}/{repo}/actions/runs/{run}/attempts/{attempt}"),
            )
        }
        _ => (
            "https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md#local-builder"
                .to_string(),
            format!("local:{}", kiln_digest::hex(&seed[..16])),
        ),
    }
}

/// An offline-key signer: the key at `key`, or else this checkout's
/// development key (created on first use, with a warning that ends with
/// `instead`, what to use for real signatures).
pub fn key_signer(root: &Path, key: Option<&Path>, instead: &str) -> Result<Signer> {
    if let Some(path) = key {
        return Ok(Signer::Key {
            key: Box::new(keyfile::read_private_key(path)?),
            development: false,
            path: path.to_path_buf(),
        });
    }
    let (key, path, created) = development_key(root)?;
    if created {
        crate::report::warn(&format!(
            "no signing key given: created a development key at {} (its signatures verify on this machine only; use {instead})",
            path.display()
        ));
    }
    Ok(Signer::Key {
        key: Box::new(key),
        development: true,
        path,
    })
}
