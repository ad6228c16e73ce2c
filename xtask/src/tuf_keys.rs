//! The TUF key directory of a mirror (`root.pem`, `targets.pem`,
//! `snapshot.pem`, `timestamp.pem`, `bins.pem`: PKCS#8 PEM, mode 0600),
//! shared by the `tuf` command and by whatever else re-signs the mirror
//! (`mirror --tuf-keys KEYDIR` calls [`update_targets`]): reading the
//! keys, making the missing ones, keeping them out of the mirror, the
//! clock, and turning the library's refusals into a [`Mismatch`].

use crate::Mismatch;
use crate::sign::random_seed;
use anyhow::{Result, bail};
use kiln_provenance::PrivateKey;
use kiln_provenance::keyfile::{read_private_key, write_private_key};
use kiln_tuf::{Expiry, Keys, OnlineKeys, TufError};
use std::path::{Path, PathBuf};

/// The five keys of a key directory.
pub const KEY_FILES: [&str; 5] = ["root", "targets", "snapshot", "timestamp", "bins"];

pub fn key_path(keys: &Path, role: &str) -> PathBuf {
    keys.join(format!("{role}.pem"))
}

/// A library error, marked as a verification failure (exit 1) when it is one.
pub fn refusal(e: TufError) -> anyhow::Error {
    if e.is_refusal() {
        anyhow::Error::new(Mismatch(format!("TUF verification failed: {e}")))
    } else {
        anyhow::Error::new(e)
    }
}

/// `--now`, else the clock, in seconds since 1970.
pub fn now(flag: Option<u64>) -> u64 {
    flag.unwrap_or_else(crate::sign::now_seconds)
}

/// The key directory may not be inside the mirror: keys are never served.
pub fn check_outside(keys: &Path, dir: &Path) -> Result<()> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canon(keys).starts_with(canon(dir)) {
        bail!(
            "--keys {} is inside the mirror {}: keys must never be served; keep them elsewhere",
            keys.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Where each of the five keys is: `KEYDIR/ROLE.pem`, except the offline
/// root and targets keys when their own files are given (say, on a
/// removable disk), so that KEYDIR on the mirror's host holds only the
/// online keys.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    paths: [(String, PathBuf); 5],
}

impl KeyFiles {
    pub fn new(keys: &Path, root: Option<&Path>, targets: Option<&Path>) -> KeyFiles {
        let path = |role: &str| match (role, root, targets) {
            ("root", Some(p), _) | ("targets", _, Some(p)) => p.to_path_buf(),
            _ => key_path(keys, role),
        };
        KeyFiles {
            paths: KEY_FILES.map(|role| (role.to_string(), path(role))),
        }
    }

    /// The file of `role`'s key.
    pub fn path(&self, role: &str) -> PathBuf {
        self.paths
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| PathBuf::from(format!("{role}.pem")))
    }

    /// None of the key files may be inside the mirror.
    pub fn check_outside(&self, dir: &Path) -> Result<()> {
        for (_, path) in &self.paths {
            let parent = path.parent().unwrap_or(Path::new("."));
            check_outside(parent, dir)?;
        }
        Ok(())
    }

    /// Makes each missing key from the OS's randomness; the paths made.
    pub fn make_missing(&self) -> Result<Vec<PathBuf>> {
        let mut made = Vec::new();
        for (_, path) in &self.paths {
            if !path.exists() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                write_private_key(path, &PrivateKey::from_seed(random_seed()?))?;
                made.push(path.clone());
            }
        }
        Ok(made)
    }

    /// All five keys (init and rotation).
    pub fn read_all(&self) -> Result<Keys> {
        let read = |role: &str| read_private_key(&self.path(role));
        Ok(Keys {
            root: read("root")?,
            targets: read("targets")?,
            snapshot: read("snapshot")?,
            timestamp: read("timestamp")?,
            bins: read("bins")?,
        })
    }
}

/// The online keys: all that adding targets or a new timestamp needs.
#[derive(Debug)]
pub struct Online {
    snapshot: PrivateKey,
    timestamp: PrivateKey,
    bins: PrivateKey,
}

impl Online {
    pub fn read(keys: &Path) -> Result<Online> {
        let read = |role: &str| read_private_key(&key_path(keys, role));
        Ok(Online {
            snapshot: read("snapshot")?,
            timestamp: read("timestamp")?,
            bins: read("bins")?,
        })
    }

    pub fn keys(&self) -> OnlineKeys<'_> {
        OnlineKeys {
            snapshot: &self.snapshot,
            timestamp: &self.timestamp,
            bins: &self.bins,
        }
    }
}

/// The targets `paths` (relative to the mirror `dir`) were added, replaced
/// or removed: re-sign their bins, then snapshot and timestamp, with the
/// online keys of `keys`, as of `now`. Returns the metadata files written,
/// in order (`timestamp.json` last), and the versions now current.
pub fn update_targets(
    dir: &Path,
    keys: &Path,
    paths: &[String],
    now: u64,
) -> Result<kiln_tuf::Updated> {
    check_outside(keys, dir)?;
    let online = Online::read(keys)?;
    kiln_tuf::update(dir, paths, online.keys(), now, Expiry::default()).map_err(refusal)
}
