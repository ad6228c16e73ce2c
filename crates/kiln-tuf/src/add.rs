//! Adding targets to a repository on disk without reading all of it: the
//! timestamp, the snapshot it names, `bins` (for the layout) and only the
//! bins the changed paths fall in are read; those bins, the snapshot and
//! the timestamp are re-signed and written, timestamp last. The bytes are
//! those [`Repository::update`](crate::Repository::update) gives on the
//! whole repository (tested), at the cost of the bins touched rather than
//! of every bin.

use crate::bins::Bins;
use crate::dir::{changes, latest_root, lock, read_metadata, write};
use crate::metadata::{self, MetaFile, Snapshot, Targets, Timestamp};
use crate::repo::{Expiry, OnlineKeys, apply, sign_bin, sign_snapshot_and_timestamp, version_only};
use crate::{TufError, client};
use std::collections::BTreeMap;
use std::path::Path;

/// What an update wrote, and the versions now current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// Metadata files written, in order (`timestamp.json` last).
    pub written: Vec<String>,
    pub root_version: u64,
    pub snapshot_version: u64,
    pub timestamp_version: u64,
}

fn required(dir: &Path, name: &str, max: u64) -> Result<Vec<u8>, TufError> {
    read_metadata(dir, name, max)?.ok_or_else(|| TufError::Missing {
        what: format!("metadata/{name}"),
    })
}

fn listed(meta: &BTreeMap<String, MetaFile>, file: &str) -> Result<u64, TufError> {
    meta.get(file)
        .map(|m| m.version)
        .ok_or_else(|| TufError::NotListed {
            role: file.to_string(),
        })
}

/// "These targets changed": re-sign only the bins `paths` (relative to
/// `dir`: files added, replaced or removed) fall in, then snapshot and
/// timestamp, and write them, holding the repository's writer lock. What
/// `mirror --tuf-keys` calls after publishing files.
pub fn update(
    dir: &Path,
    paths: &[String],
    keys: OnlineKeys<'_>,
    now: u64,
    expiry: Expiry,
) -> Result<Updated, TufError> {
    let _lock = lock(dir)?;
    let changed = changes(dir, paths)?;
    let (root_version, _) = latest_root(dir)?;
    let timestamp = required(dir, "timestamp.json", client::TIMESTAMP_MAX)?;
    let mut timestamp: Timestamp = metadata::read_unverified(&timestamp, "timestamp")?;
    let v = listed(&timestamp.0.meta, "snapshot.json")?;
    let snapshot = required(dir, &format!("{v}.snapshot.json"), client::SNAPSHOT_MAX)?;
    let mut snapshot: Snapshot = metadata::read_unverified(&snapshot, "snapshot")?;
    let v = listed(&snapshot.0.meta, "bins.json")?;
    let bins = required(dir, &format!("{v}.bins.json"), client::TARGETS_MAX)?;
    let bins: Targets = metadata::read_unverified(&bins, "bins")?;
    let names: Vec<String> = bins
        .delegations
        .map(|d| d.roles.into_iter().map(|r| r.name).collect())
        .unwrap_or_default();
    let layout = Bins::new(u32::try_from(names.len()).unwrap_or(0))?;
    let mut touched: BTreeMap<u32, (Targets, bool)> = BTreeMap::new();
    for (path, file) in &changed {
        let i = layout.index(path);
        let entry = match touched.entry(i) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let name = layout.name(i);
                if names.get(i as usize) != Some(&name) {
                    return Err(TufError::Malformed {
                        role: "bins".to_string(),
                        message: format!("its delegation {i} is not {name}"),
                    });
                }
                let v = listed(&snapshot.0.meta, &format!("{name}.json"))?;
                let bytes = required(dir, &format!("{v}.{name}.json"), client::TARGETS_MAX)?;
                e.insert((metadata::read_unverified(&bytes, &name)?, false))
            }
        };
        entry.1 |= apply(&mut entry.0, path, file.as_ref());
    }
    let mut files = Vec::new();
    for (i, (mut bin, changed)) in touched {
        if changed {
            let name = layout.name(i);
            files.push(sign_bin(&mut bin, &name, keys.bins, now, expiry)?);
            snapshot
                .0
                .meta
                .insert(format!("{name}.json"), version_only(bin.version));
        }
    }
    files.extend(sign_snapshot_and_timestamp(
        &mut snapshot,
        &mut timestamp,
        keys,
        now,
        expiry,
    )?);
    write(dir, &files)?;
    Ok(Updated {
        written: files.into_iter().map(|(name, _)| name).collect(),
        root_version,
        snapshot_version: snapshot.0.version,
        timestamp_version: timestamp.0.version,
    })
}
