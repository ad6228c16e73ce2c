//! Signing edges of `release`, `keygen` and `verify`: where keys come from
//! (a `--key` file, the development key, release/keys/), the OS randomness a
//! new key is made from, the wall-clock times and CI identity that go into
//! the provenance's run details, and the assembling of the in-toto SLSA
//! statement from what `release` knows. The formats themselves -- the
//! statement, DSSE, PEM keys -- are `kiln-provenance`'s.
//!
//! The development key lives in `target/kiln-dev-key/` (ignored by git,
//! directory 0700, private key 0600): created on first use when no key is
//! given, labelled as a development key in the provenance and the summary,
//! and trusted by `verify` on this machine only, with a warning.

use anyhow::{Context, Result, bail};
use kiln_fs::publish::AtomicFile;
use kiln_provenance::{PrivateKey, PublicKey};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
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
pub fn random_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("failed to read 32 random bytes from /dev/urandom for a new key")?;
    Ok(seed)
}

/// Write a private key as PKCS#8 PEM, mode 0600, refusing to overwrite.
/// The key is written to a temporary file in the same directory (created
/// 0600, `.kiln-tmp-*`, removed by the next run if this one is killed)
/// and linked into place, so nobody ever sees a partial key.
pub fn write_private_key(path: &Path, key: &PrivateKey) -> Result<()> {
    write_new(path, key.to_pkcs8_pem().as_bytes(), 0o600)
}

/// Write a public key (SPKI PEM), mode 0644, refusing to overwrite; as
/// the private key, never seen partial.
pub fn write_public_key(path: &Path, key: &PublicKey) -> Result<()> {
    write_new(path, key.to_spki_pem().as_bytes(), 0o644)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .with_context(|| format!("failed to write {}", path.display()))?;
    if !file.commit_new(mode)? {
        bail!(
            "{}: exists already: not overwriting a key; choose another path or remove it",
            path.display()
        );
    }
    Ok(())
}

/// Read a private key, refusing one that others can read. Errors never
/// contain the file's contents.
pub fn read_private_key(path: &Path) -> Result<PrivateKey> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("--key {}: cannot read the key file", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "--key {}: the private key is readable by others (mode {:o}): run `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--key {}: cannot read the key file", path.display()))?;
    PrivateKey::from_pkcs8_pem(&text).map_err(|e| {
        anyhow::anyhow!(
            "--key {}: not an ed25519 PKCS#8 PEM private key ({e}); make one with `cargo xtask keygen --out PATH`",
            path.display()
        )
    })
}

/// The development key of this checkout, created on first use.
pub fn development_key(root: &Path) -> Result<(PrivateKey, PathBuf, bool)> {
    let dir = root.join(DEV_KEY_DIR);
    let path = dir.join("key.pem");
    // What a run killed while writing the key left.
    kiln_fs::publish::clean_stale(&dir)?;
    if path.is_file() {
        let key = read_private_key(&path)?;
        // Killed between the two keys: the public half is made again.
        let public = dir.join("key.pub");
        if !public.exists() {
            write_public_key(&public, &key.public_key())?;
        }
        return Ok((key, path, false));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("failed to restrict {}", dir.display()))?;
    let key = PrivateKey::from_seed(random_seed()?);
    write_private_key(&path, &key)?;
    write_public_key(&dir.join("key.pub"), &key.public_key())?;
    Ok((key, path, true))
}

/// The development key's public half, if this checkout has one.
pub fn development_public_key(root: &Path) -> Option<PublicKey> {
    let text = std::fs::read_to_string(root.join(DEV_KEY_DIR).join("key.pub")).ok()?;
    PublicKey::from_spki_pem(&text).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn killed_release_dev_key_half_pair_and_temp_files_are_repaired() {
        let root = tempfile::tempdir().unwrap();
        let (key, path, created) = development_key(root.path()).unwrap();
        assert!(created);
        let dir = root.path().join(DEV_KEY_DIR);
        // A run killed after the private key, before the public one, and
        // one killed mid-write.
        std::fs::remove_file(dir.join("key.pub")).unwrap();
        std::fs::write(dir.join(".kiln-tmp-half"), "-----BEGIN").unwrap();
        let (again, again_path, created) = development_key(root.path()).unwrap();
        assert!(!created);
        assert_eq!(again_path, path);
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(
            development_public_key(root.path()).unwrap(),
            key.public_key()
        );
        #[allow(clippy::disallowed_methods)] // Sorted below.
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["key.pem", "key.pub"]);
    }

    #[test]
    fn private_keys_are_0600_and_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.pem");
        let key = PrivateKey::from_seed([7; 32]);
        write_private_key(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = write_private_key(&path, &PrivateKey::from_seed([8; 32]));
        assert!(again.is_err());
        let back = read_private_key(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
