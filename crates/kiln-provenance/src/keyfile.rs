//! Key files on disk: a private key as PKCS#8 PEM (mode 0600, refused when
//! others can read it), a public key as SPKI PEM (0644), never overwritten
//! and never seen partial (written beside the target and linked into
//! place), and a checkout's development key, created on first use and
//! repaired after a killed run. The seed of a new key is a parameter: the
//! caller reads the operating system's randomness.

use crate::{KeyError, PrivateKey, PublicKey};
use kiln_fs::publish::{AtomicFile, PublishError};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What went wrong with a key file, naming it; never its contents.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: exists already: not overwriting a key; choose another path or remove it", path.display())]
    Exists { path: PathBuf },
    #[error("--key {}: cannot read the key file", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--key {}: the private key is readable by others (mode {mode:o}): run `chmod 600 {}`", path.display(), path.display())]
    Readable { path: PathBuf, mode: u32 },
    #[error("--key {}: not an ed25519 PKCS#8 PEM private key ({source}); make one with `cargo xtask keygen --out PATH`", path.display())]
    NotAKey { path: PathBuf, source: KeyError },
    #[error("failed to create {}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to restrict {}", path.display())]
    Restrict {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read 32 random bytes from /dev/urandom for a new key")]
    Seed(#[source] std::io::Error),
}

/// Write a private key as PKCS#8 PEM, mode 0600, refusing to overwrite.
/// The key is written to a temporary file in the same directory (created
/// 0600, `.kiln-tmp-*`, removed by the next run if this one is killed)
/// and linked into place, so nobody ever sees a partial key.
pub fn write_private_key(path: &Path, key: &PrivateKey) -> Result<(), KeyFileError> {
    write_new(path, key.to_pkcs8_pem().as_bytes(), 0o600)
}

/// Write a public key (SPKI PEM), mode 0644, refusing to overwrite; as
/// the private key, never seen partial.
pub fn write_public_key(path: &Path, key: &PublicKey) -> Result<(), KeyFileError> {
    write_new(path, key.to_spki_pem().as_bytes(), 0o644)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|source| KeyFileError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    if !file.commit_new(mode)? {
        return Err(KeyFileError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Read a private key, refusing one that others can read. Errors never
/// contain the file's contents.
pub fn read_private_key(path: &Path) -> Result<PrivateKey, KeyFileError> {
    let read = |source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(read)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Readable {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    PrivateKey::from_pkcs8_pem(&text).map_err(|source| KeyFileError::NotAKey {
        path: path.to_path_buf(),
        source,
    })
}

/// The development key in `dir` (`key.pem`, `key.pub`; the directory
/// 0700), created from `new_seed()` on first use: (the key, its path,
/// whether it was created now).
pub fn development_key(
    dir: &Path,
    new_seed: impl FnOnce() -> std::io::Result<[u8; 32]>,
) -> Result<(PrivateKey, PathBuf, bool), KeyFileError> {
    let path = dir.join("key.pem");
    // What a run killed while writing the key left.
    kiln_fs::publish::clean_stale(dir)?;
    if path.is_file() {
        let key = read_private_key(&path)?;
        // Killed between the two keys: the public half is made again.
        let public = dir.join("key.pub");
        if !public.exists() {
            write_public_key(&public, &key.public_key())?;
        }
        return Ok((key, path, false));
    }
    std::fs::create_dir_all(dir).map_err(|source| KeyFileError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        KeyFileError::Restrict {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    let key = PrivateKey::from_seed(new_seed().map_err(KeyFileError::Seed)?);
    write_private_key(&path, &key)?;
    write_public_key(&dir.join("key.pub"), &key.public_key())?;
    Ok((key, path, true))
}

/// The development key's public half in `dir`, if there is one.
pub fn development_public_key(dir: &Path) -> Option<PublicKey> {
    let text = std::fs::read_to_string(dir.join("key.pub")).ok()?;
    PublicKey::from_spki_pem(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn killed_release_dev_key_half_pair_and_temp_files_are_repaired() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("dev-key");
        let (key, path, created) = development_key(&dir, || Ok([3; 32])).unwrap();
        assert!(created);
        // A run killed after the private key, before the public one, and
        // one killed mid-write.
        std::fs::remove_file(dir.join("key.pub")).unwrap();
        std::fs::write(dir.join(".kiln-tmp-half"), "-----BEGIN").unwrap();
        let (again, again_path, created) =
            development_key(&dir, || panic!("the key exists")).unwrap();
        assert!(!created);
        assert_eq!(again_path, path);
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(development_public_key(&dir).unwrap(), key.public_key());
        #[allow(clippy::disallowed_methods)] // Sorted below.
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["key.pem", "key.pub"]);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
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
        assert!(matches!(again, Err(KeyFileError::Exists { .. })));
        let back = read_private_key(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::write(tmp.path().join("bad.pem"), "not a key").unwrap();
        std::fs::set_permissions(
            tmp.path().join("bad.pem"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let err = read_private_key(&tmp.path().join("bad.pem")).unwrap_err();
        assert!(!err.to_string().contains("not a key"), "{err}");
    }
}
