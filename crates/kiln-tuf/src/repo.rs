//! The repository side: making and re-signing the metadata of a set of
//! targets, in memory. Every operation returns the files to write, in the
//! order to write them -- versioned files first, `timestamp.json` last, so
//! a client never sees a timestamp naming metadata not yet there -- and
//! their bytes are a function of the targets, the keys, the versions and
//! the times passed in.

use crate::bins::Bins;
use crate::metadata::{
    self, DelegatedRole, Delegations, Key, Meta, MetaFile, RoleKeys, Root, SPEC_VERSION, Snapshot,
    TargetFile, Targets, Timestamp,
};
use crate::{TufError, time};
use kiln_provenance::PrivateKey;
use std::collections::{BTreeMap, BTreeSet};

/// How long each role's metadata stays valid after it is signed, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub root: u64,
    pub targets: u64,
    pub bins: u64,
    pub snapshot: u64,
    pub timestamp: u64,
}

const DAY: u64 = 86_400;

impl Default for Expiry {
    /// Root, targets and the bins a year (offline or rarely changed);
    /// snapshot a week; timestamp a day (PEP 458's online roles).
    fn default() -> Self {
        Expiry {
            root: 365 * DAY,
            targets: 365 * DAY,
            bins: 365 * DAY,
            snapshot: 7 * DAY,
            timestamp: DAY,
        }
    }
}

/// The keys of the five roles.
#[derive(Debug)]
pub struct Keys {
    pub root: PrivateKey,
    pub targets: PrivateKey,
    pub snapshot: PrivateKey,
    pub timestamp: PrivateKey,
    pub bins: PrivateKey,
}

/// The keys an online operation (adding targets, a new timestamp) uses.
#[derive(Debug, Clone, Copy)]
pub struct OnlineKeys<'a> {
    pub snapshot: &'a PrivateKey,
    pub timestamp: &'a PrivateKey,
    pub bins: &'a PrivateKey,
}

impl Keys {
    pub fn online(&self) -> OnlineKeys<'_> {
        OnlineKeys {
            snapshot: &self.snapshot,
            timestamp: &self.timestamp,
            bins: &self.bins,
        }
    }
}

/// Files to write under `metadata/`, in order (timestamp last).
pub type Files = Vec<(String, Vec<u8>)>;

/// A repository's current metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub root: Root,
    pub targets: Targets,
    pub bins: Targets,
    pub bin: Vec<Targets>,
    pub snapshot: Snapshot,
    pub timestamp: Timestamp,
}

fn keyid(key: &PrivateKey) -> String {
    Key::ed25519(&key.public_key()).keyid()
}

fn one_key(key: &PrivateKey) -> (BTreeMap<String, Key>, RoleKeys) {
    let id = keyid(key);
    let keys = BTreeMap::from([(id.clone(), Key::ed25519(&key.public_key()))]);
    (
        keys,
        RoleKeys {
            keyids: vec![id],
            threshold: 1,
        },
    )
}

fn targets_role(version: u64, expires: u64) -> Targets {
    Targets {
        kind: "targets".to_string(),
        spec_version: SPEC_VERSION.to_string(),
        version,
        expires: time::format(expires),
        targets: BTreeMap::new(),
        delegations: None,
    }
}

fn meta(kind: &str, version: u64, expires: u64) -> Meta {
    Meta {
        kind: kind.to_string(),
        spec_version: SPEC_VERSION.to_string(),
        version,
        expires: time::format(expires),
        meta: BTreeMap::new(),
    }
}

fn root_of(keys: &Keys, version: u64, expires: u64) -> Root {
    let mut all = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for (name, key) in [
        ("root", &keys.root),
        ("targets", &keys.targets),
        ("snapshot", &keys.snapshot),
        ("timestamp", &keys.timestamp),
    ] {
        let (k, role) = one_key(key);
        all.extend(k);
        roles.insert(name.to_string(), role);
    }
    Root {
        kind: "root".to_string(),
        spec_version: SPEC_VERSION.to_string(),
        consistent_snapshot: true,
        version,
        expires: time::format(expires),
        keys: all,
        roles,
    }
}

impl Repository {
    /// Root v1 and everything else at version 1, over `targets` in
    /// `bins` hashed bins.
    pub fn init(
        targets: &BTreeMap<String, TargetFile>,
        bins: u32,
        keys: &Keys,
        now: u64,
        expiry: Expiry,
    ) -> Result<(Repository, Files), TufError> {
        let layout = Bins::new(bins)?;
        let root = root_of(keys, 1, now + expiry.root);
        let (bins_keys, bins_role) = one_key(&keys.bins);
        let mut top = targets_role(1, now + expiry.targets);
        top.delegations = Some(Delegations {
            keys: bins_keys.clone(),
            roles: vec![DelegatedRole {
                name: "bins".to_string(),
                keyids: bins_role.keyids.clone(),
                threshold: 1,
                terminating: true,
                paths: None,
                path_hash_prefixes: Some((0..16).map(|n| format!("{n:x}")).collect()),
            }],
        });
        let mut delegator = targets_role(1, now + expiry.bins);
        let mut bin: Vec<Targets> = Vec::with_capacity(bins as usize);
        let mut roles = Vec::with_capacity(bins as usize);
        for i in 0..bins {
            roles.push(DelegatedRole {
                name: layout.name(i),
                keyids: bins_role.keyids.clone(),
                threshold: 1,
                terminating: true,
                paths: None,
                path_hash_prefixes: Some(layout.prefixes(i)),
            });
            bin.push(targets_role(1, now + expiry.bins));
        }
        delegator.delegations = Some(Delegations {
            keys: bins_keys,
            roles,
        });
        for (path, file) in targets {
            check_path(path)?;
            bin[layout.index(path) as usize]
                .targets
                .insert(path.clone(), file.clone());
        }
        let mut repo = Repository {
            root,
            targets: top,
            bins: delegator,
            bin,
            snapshot: Snapshot(meta("snapshot", 0, 0)),
            timestamp: Timestamp(meta("timestamp", 0, 0)),
        };
        let mut files = vec![
            (
                "1.root.json".to_string(),
                metadata::sign(&repo.root, &[&keys.root], "root")?,
            ),
            (
                "1.targets.json".to_string(),
                metadata::sign(&repo.targets, &[&keys.targets], "targets")?,
            ),
            (
                "1.bins.json".to_string(),
                metadata::sign(&repo.bins, &[&keys.bins], "bins")?,
            ),
        ];
        for i in 0..bins {
            let name = layout.name(i);
            let bytes = metadata::sign(&repo.bin[i as usize], &[&keys.bins], &name)?;
            files.push((format!("1.{name}.json"), bytes));
        }
        repo.snapshot.0.meta = ["targets", "bins"]
            .into_iter()
            .map(str::to_string)
            .chain((0..bins).map(|i| layout.name(i)))
            .map(|role| (format!("{role}.json"), version_only(1)))
            .collect();
        files.extend(repo.snapshot_and_timestamp(keys.online(), now, expiry)?);
        Ok((repo, files))
    }

    /// The hashed-bins layout.
    pub fn layout(&self) -> Result<Bins, TufError> {
        Bins::new(self.bin.len() as u32)
    }

    /// Every target, path to file, across the bins.
    pub fn all_targets(&self) -> BTreeMap<String, TargetFile> {
        self.bin
            .iter()
            .flat_map(|b| b.targets.iter().map(|(p, f)| (p.clone(), f.clone())))
            .collect()
    }

    /// Targets added, changed (`Some`) or removed (`None`): only the bins
    /// they fall in are re-signed, then snapshot and timestamp.
    pub fn update(
        &mut self,
        changes: &BTreeMap<String, Option<TargetFile>>,
        keys: OnlineKeys<'_>,
        now: u64,
        expiry: Expiry,
    ) -> Result<Files, TufError> {
        let layout = self.layout()?;
        let mut touched = BTreeSet::new();
        for (path, file) in changes {
            check_path(path)?;
            let i = layout.index(path);
            if apply(&mut self.bin[i as usize], path, file.as_ref()) {
                touched.insert(i);
            }
        }
        let mut files = Vec::new();
        for i in touched {
            let name = layout.name(i);
            let bin = &mut self.bin[i as usize];
            files.push(sign_bin(bin, &name, keys.bins, now, expiry)?);
            self.snapshot
                .0
                .meta
                .insert(format!("{name}.json"), version_only(bin.version));
        }
        files.extend(self.snapshot_and_timestamp(keys, now, expiry)?);
        Ok(files)
    }

    /// A new timestamp; and a new snapshot too if the current one would
    /// expire before the new timestamp does, or if a bin (or `bins`)
    /// would expire within a snapshot's lifetime, which is then re-signed
    /// with the online bins key. Top-level targets and root are offline:
    /// they are re-signed by `rotate` or a new `init`, never here.
    pub fn refresh_timestamp(
        &mut self,
        keys: OnlineKeys<'_>,
        now: u64,
        expiry: Expiry,
    ) -> Result<Files, TufError> {
        let soon = |expires: &str| time::parse(expires).unwrap_or(0) < now + expiry.snapshot;
        let layout = self.layout()?;
        let mut files = Vec::new();
        let mut stale = Vec::new();
        if soon(&self.bins.expires) {
            stale.push(("bins".to_string(), &mut self.bins));
        }
        for (i, bin) in self.bin.iter_mut().enumerate() {
            if soon(&bin.expires) {
                stale.push((layout.name(i as u32), bin));
            }
        }
        let mut versions = Vec::new();
        for (name, role) in stale {
            role.version += 1;
            role.expires = time::format(now + expiry.bins);
            files.push((
                format!("{}.{name}.json", role.version),
                metadata::sign(role, &[keys.bins], &name)?,
            ));
            versions.push((format!("{name}.json"), version_only(role.version)));
        }
        let snapshot_expires = time::parse(&self.snapshot.0.expires).unwrap_or(0);
        if !files.is_empty() || snapshot_expires < now + expiry.timestamp {
            self.snapshot.0.meta.extend(versions);
            files.extend(self.snapshot_and_timestamp(keys, now, expiry)?);
            return Ok(files);
        }
        Ok(vec![self.timestamp_file(keys, now, expiry)?])
    }

    /// Root version N+1 with `role`'s key replaced by `new_key`, signed by
    /// the current root key and, when root's key is the one replaced, the
    /// new one as well (the client checks both thresholds). A new targets,
    /// snapshot or timestamp key re-signs its role, then snapshot and
    /// timestamp, so the repository is consistent under the new root. A
    /// new `bins` key needs no new root: targets delegates to it.
    pub fn rotate(
        &mut self,
        role: &str,
        new_key: &PrivateKey,
        keys: &Keys,
        now: u64,
        expiry: Expiry,
    ) -> Result<Files, TufError> {
        if role == "bins" {
            return self.rotate_bins(new_key, keys, now, expiry);
        }
        let Some(old) = self.root.roles.get(role).cloned() else {
            return Err(TufError::Role {
                role: role.to_string(),
            });
        };
        let (new_keys, new_role) = one_key(new_key);
        self.root.roles.insert(role.to_string(), new_role);
        let still_used: BTreeSet<String> = self
            .root
            .roles
            .values()
            .flat_map(|r| r.keyids.iter().cloned())
            .collect();
        for id in old.keyids {
            if !still_used.contains(&id) {
                self.root.keys.remove(&id);
            }
        }
        self.root.keys.extend(new_keys);
        self.root.version += 1;
        self.root.expires = time::format(now + expiry.root);
        let signers: Vec<&PrivateKey> = if role == "root" {
            vec![&keys.root, new_key]
        } else {
            vec![&keys.root]
        };
        let mut files = vec![(
            format!("{}.root.json", self.root.version),
            metadata::sign(&self.root, &signers, "root")?,
        )];
        let online = OnlineKeys {
            snapshot: if role == "snapshot" {
                new_key
            } else {
                &keys.snapshot
            },
            timestamp: if role == "timestamp" {
                new_key
            } else {
                &keys.timestamp
            },
            bins: &keys.bins,
        };
        match role {
            "targets" => {
                self.targets.version += 1;
                self.targets.expires = time::format(now + expiry.targets);
                files.push((
                    format!("{}.targets.json", self.targets.version),
                    metadata::sign(&self.targets, &[new_key], "targets")?,
                ));
                self.snapshot.0.meta.insert(
                    "targets.json".to_string(),
                    version_only(self.targets.version),
                );
                files.extend(self.snapshot_and_timestamp(online, now, expiry)?);
            }
            "snapshot" | "timestamp" => {
                files.extend(self.snapshot_and_timestamp(online, now, expiry)?)
            }
            _ => {}
        }
        Ok(files)
    }

    /// A new key for `bins` and every bin: targets re-signed (its
    /// delegation names the new key), then `bins` and every bin under the
    /// new key, snapshot and timestamp. Root is unchanged.
    fn rotate_bins(
        &mut self,
        new_key: &PrivateKey,
        keys: &Keys,
        now: u64,
        expiry: Expiry,
    ) -> Result<Files, TufError> {
        let (new_keys, new_role) = one_key(new_key);
        let mut files = Vec::new();
        for (role, signer, lifetime) in [
            ("targets", &keys.targets, expiry.targets),
            ("bins", new_key, expiry.bins),
        ] {
            let meta = if role == "targets" {
                &mut self.targets
            } else {
                &mut self.bins
            };
            if let Some(d) = meta.delegations.as_mut() {
                d.keys = new_keys.clone();
                for r in &mut d.roles {
                    r.keyids = new_role.keyids.clone();
                    r.threshold = 1;
                }
            }
            meta.version += 1;
            meta.expires = time::format(now + lifetime);
            files.push((
                format!("{}.{role}.json", meta.version),
                metadata::sign(meta, &[signer], role)?,
            ));
            self.snapshot
                .0
                .meta
                .insert(format!("{role}.json"), version_only(meta.version));
        }
        let layout = self.layout()?;
        for (i, bin) in self.bin.iter_mut().enumerate() {
            let name = layout.name(i as u32);
            bin.version += 1;
            bin.expires = time::format(now + expiry.bins);
            files.push((
                format!("{}.{name}.json", bin.version),
                metadata::sign(bin, &[new_key], &name)?,
            ));
            self.snapshot
                .0
                .meta
                .insert(format!("{name}.json"), version_only(bin.version));
        }
        let online = OnlineKeys {
            bins: new_key,
            ..keys.online()
        };
        files.extend(self.snapshot_and_timestamp(online, now, expiry)?);
        Ok(files)
    }

    fn snapshot_and_timestamp(
        &mut self,
        keys: OnlineKeys<'_>,
        now: u64,
        expiry: Expiry,
    ) -> Result<Files, TufError> {
        sign_snapshot_and_timestamp(&mut self.snapshot, &mut self.timestamp, keys, now, expiry)
    }

    fn timestamp_file(
        &mut self,
        keys: OnlineKeys<'_>,
        now: u64,
        expiry: Expiry,
    ) -> Result<(String, Vec<u8>), TufError> {
        sign_timestamp(&mut self.timestamp, keys, now, expiry)
    }
}

/// Sets (`Some`) or removes (`None`) target `path` in `bin`; whether that
/// changed it.
pub(crate) fn apply(bin: &mut Targets, path: &str, file: Option<&TargetFile>) -> bool {
    match file {
        Some(file) => bin.targets.insert(path.to_string(), file.clone()).as_ref() != Some(file),
        None => bin.targets.remove(path).is_some(),
    }
}

/// The next version of bin `name`, signed by the bins key.
pub(crate) fn sign_bin(
    bin: &mut Targets,
    name: &str,
    key: &PrivateKey,
    now: u64,
    expiry: Expiry,
) -> Result<(String, Vec<u8>), TufError> {
    bin.version += 1;
    bin.expires = time::format(now + expiry.bins);
    Ok((
        format!("{}.{name}.json", bin.version),
        metadata::sign(bin, &[key], name)?,
    ))
}

/// The next snapshot (as `snapshot.meta` now says) and the timestamp naming it.
pub(crate) fn sign_snapshot_and_timestamp(
    snapshot: &mut Snapshot,
    timestamp: &mut Timestamp,
    keys: OnlineKeys<'_>,
    now: u64,
    expiry: Expiry,
) -> Result<Files, TufError> {
    snapshot.0.version += 1;
    snapshot.0.expires = time::format(now + expiry.snapshot);
    let bytes = metadata::sign(snapshot, &[keys.snapshot], "snapshot")?;
    let described = TargetFile::of_bytes(&bytes);
    timestamp.0.meta = BTreeMap::from([(
        "snapshot.json".to_string(),
        MetaFile {
            version: snapshot.0.version,
            length: Some(described.length),
            hashes: Some(described.hashes),
        },
    )]);
    Ok(vec![
        (format!("{}.snapshot.json", snapshot.0.version), bytes),
        sign_timestamp(timestamp, keys, now, expiry)?,
    ])
}

fn sign_timestamp(
    timestamp: &mut Timestamp,
    keys: OnlineKeys<'_>,
    now: u64,
    expiry: Expiry,
) -> Result<(String, Vec<u8>), TufError> {
    timestamp.0.version += 1;
    timestamp.0.expires = time::format(now + expiry.timestamp);
    Ok((
        "timestamp.json".to_string(),
        metadata::sign(timestamp, &[keys.timestamp], "timestamp")?,
    ))
}

pub(crate) fn version_only(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
    }
}

/// A target path as TUF and a URL take it: relative, `/`-separated, no
/// empty, `.` or `..` segment, no backslash or control character.
pub fn check_path(path: &str) -> Result<(), TufError> {
    let bad = path.is_empty()
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || path.chars().any(|c| c == '\\' || c.is_control());
    if bad {
        return Err(TufError::TargetPath {
            path: path.to_string(),
        });
    }
    Ok(())
}
