//! Offline verification of a whole repository on disk: the client's
//! workflow from a trusted root over the files (every root version,
//! timestamp, snapshot, targets, `bins` and every bin), then every signed
//! target's length and sha256 against its file, and every file under the
//! directory signed.

use crate::TufError;
use crate::client::{Client, check_digests};
use crate::dir::{self, local_fetch};
use crate::metadata::TargetFile;
use crate::metadata::Targets;
use std::path::Path;

/// What a verified repository holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub root_version: u64,
    pub snapshot_version: u64,
    pub timestamp_version: u64,
    pub bins: usize,
    pub targets: usize,
}

/// Verifies the repository at `dir` from `trusted_root` at time `now`.
pub fn verify_tree(dir: &Path, trusted_root: &[u8], now: u64) -> Result<Verified, TufError> {
    let mut fetch = local_fetch(dir);
    let mut client = Client::new(trusted_root, None, None, now)?;
    client.refresh(&mut fetch)?;
    // Every bin, through the same delegation checks as a lookup: resolve
    // one path per bin would miss none, but walking `bins` is direct.
    let repo = dir::load(dir)?;
    let layout = repo.layout()?;
    let mut signed = std::collections::BTreeMap::new();
    let mut bins = 0;
    for i in 0..layout.count() {
        let name = layout.name(i);
        let bin: &Targets = &repo.bin[i as usize];
        // The client verifies the bin (signature by the key `bins`
        // delegates to, the version snapshot lists, expiry) when it looks
        // up any path of it; what it verified must be what is on disk.
        if let Some(path) = bin.targets.keys().next() {
            client.target(path, &mut fetch)?;
            if client.role(&name) != Some(bin) {
                return Err(TufError::Digest {
                    what: format!("metadata of {name}"),
                });
            }
        }
        for (path, file) in &bin.targets {
            if layout.index(path) != i {
                return Err(TufError::Delegation {
                    role: name.clone(),
                    path: path.clone(),
                });
            }
            check_on_disk(dir, path, file)?;
            signed.insert(path.clone(), ());
        }
        bins += 1;
    }
    for path in dir::scan(dir)?.keys() {
        if !signed.contains_key(path) {
            return Err(TufError::UnknownTarget { path: path.clone() });
        }
    }
    Ok(Verified {
        root_version: client.root().version,
        snapshot_version: repo.snapshot.0.version,
        timestamp_version: repo.timestamp.0.version,
        bins,
        targets: signed.len(),
    })
}

/// A target's file against its signed length and hashes, streamed (never
/// read whole); refused before reading if its size is not the signed one.
fn check_on_disk(dir: &Path, path: &str, file: &TargetFile) -> Result<(), TufError> {
    let full = dir.join(path);
    let kind = match std::fs::symlink_metadata(&full) {
        Ok(kind) => kind,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TufError::Missing {
                what: path.to_string(),
            });
        }
        Err(error) => return Err(TufError::Io { path: full, error }),
    };
    if !kind.is_file() {
        return Err(TufError::NotRegular {
            path: path.to_string(),
        });
    }
    if kind.len() != file.length {
        return Err(TufError::Digest {
            what: path.to_string(),
        });
    }
    let digests = kiln_digest::Digests::of_file(&full).map_err(|e| TufError::Io {
        path: full.clone(),
        error: std::io::Error::other(e.to_string()),
    })?;
    check_digests(
        path,
        kind.len(),
        &digests,
        Some(file.length),
        Some(&file.hashes),
    )
}
