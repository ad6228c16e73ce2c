//! The client's update workflow (TUF 1.0 section 5) over a fetch callback:
//! trust a root, walk the root chain, then timestamp, snapshot and targets,
//! and resolve a target through the delegations (the hashed bins) before
//! downloading it. Every download is bounded: metadata by a fixed cap or
//! the length signed for it, a target by its signed length (the endless
//! data attack stops there). "Now" is the caller's.

use crate::metadata::{
    self, Key, RoleKeys, Root, Signed, Snapshot, TargetFile, Targets, Timestamp,
};
use crate::{TufError, time};
use std::collections::BTreeMap;

/// The most bytes a root version may have.
pub const ROOT_MAX: u64 = 512 * 1024;
/// The most bytes `timestamp.json` may have.
pub const TIMESTAMP_MAX: u64 = 16 * 1024;
/// The most bytes a snapshot may have, whatever its timestamp says.
pub const SNAPSHOT_MAX: u64 = 64 * 1024 * 1024;
/// The most bytes a targets role's metadata may have.
pub const TARGETS_MAX: u64 = 16 * 1024 * 1024;
/// The most root versions one refresh walks, and delegations one lookup visits.
pub const MAX_ROOT_ROTATIONS: u64 = 32;
const MAX_DELEGATIONS: usize = 32;

/// Fetch `path` (relative to the repository: `metadata/…` or a target) of
/// at most `max` bytes: the bytes, `None` when it is not there, or an
/// error (more than `max` bytes is [`TufError::TooLarge`]).
pub type Fetch<'a> = dyn FnMut(&str, u64) -> Result<Option<Vec<u8>>, TufError> + 'a;

/// What a client trusts, and the files to keep for its next run.
#[derive(Debug, Clone)]
pub struct Client {
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: BTreeMap<String, Targets>,
    now: u64,
    files: BTreeMap<String, Vec<u8>>,
}

impl Client {
    /// A client trusting `root` (a root file it already trusts, from a
    /// file or its last run) at time `now`; `timestamp` and `snapshot`
    /// are the ones it trusted last (rollback protection), ignored if no
    /// longer signed by the root's keys.
    pub fn new(
        root: &[u8],
        timestamp: Option<&[u8]>,
        snapshot: Option<&[u8]>,
        now: u64,
    ) -> Result<Client, TufError> {
        let parsed: Root = metadata::read_unverified(root, "root")?;
        let root_role = role_keys(&parsed, "root")?;
        let parsed: Root = metadata::verify(root, "root", &parsed.keys, &root_role)?;
        let mut client = Client {
            root: parsed,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            now,
            files: BTreeMap::from([("root.json".to_string(), root.to_vec())]),
        };
        if let Some(bytes) = timestamp
            && let Ok(t) = client.verify_top::<Timestamp>(bytes, "timestamp")
        {
            client.timestamp = Some(t);
            client
                .files
                .insert("timestamp.json".to_string(), bytes.to_vec());
        }
        if let Some(bytes) = snapshot
            && let Ok(s) = client.verify_top::<Snapshot>(bytes, "snapshot")
        {
            client.snapshot = Some(s);
            client
                .files
                .insert("snapshot.json".to_string(), bytes.to_vec());
        }
        Ok(client)
    }

    /// A targets role as verified in this refresh, if it was loaded.
    pub fn role(&self, name: &str) -> Option<&Targets> {
        self.targets.get(name)
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The trusted metadata to keep for the next run: `root.json`,
    /// `timestamp.json`, `snapshot.json`.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    fn verify_top<T: Signed>(&self, bytes: &[u8], role: &str) -> Result<T, TufError> {
        metadata::verify(bytes, role, &self.root.keys, &role_keys(&self.root, role)?)
    }

    fn check_expiry(&self, role: &str, expires: &str) -> Result<(), TufError> {
        match time::parse(expires) {
            Some(t) if t > self.now => Ok(()),
            _ => Err(TufError::Expired {
                role: role.to_string(),
                expires: expires.to_string(),
            }),
        }
    }

    /// Refresh root, timestamp, snapshot and targets (section 5.3 to 5.6).
    pub fn refresh(&mut self, fetch: &mut Fetch<'_>) -> Result<(), TufError> {
        self.update_root(fetch)?;
        self.update_timestamp(fetch)?;
        self.update_snapshot(fetch)?;
        self.update_targets("targets", None, fetch)?;
        Ok(())
    }

    fn update_root(&mut self, fetch: &mut Fetch<'_>) -> Result<(), TufError> {
        let start = self.root.version;
        for next in start + 1..=start + MAX_ROOT_ROTATIONS {
            let name = format!("{next}.root.json");
            let Some(bytes) = fetch(&format!("metadata/{name}"), ROOT_MAX)? else {
                break;
            };
            let trusted = &self.root;
            let new: Root =
                metadata::verify(&bytes, &name, &trusted.keys, &role_keys(trusted, "root")?)?;
            let new: Root = metadata::verify(&bytes, &name, &new.keys, &role_keys(&new, "root")?)?;
            if new.version != next {
                return Err(TufError::WrongVersion {
                    role: name,
                    expected: next,
                    found: new.version,
                });
            }
            let rotated = |r: &str| trusted.roles.get(r) != new.roles.get(r);
            if rotated("timestamp") || rotated("snapshot") {
                // Fast-forward recovery: the old ones no longer bind.
                self.timestamp = None;
                self.snapshot = None;
                self.files.remove("timestamp.json");
                self.files.remove("snapshot.json");
            }
            self.root = new;
            self.files.insert("root.json".to_string(), bytes);
        }
        self.check_expiry("root", &self.root.expires.clone())
    }

    fn update_timestamp(&mut self, fetch: &mut Fetch<'_>) -> Result<(), TufError> {
        let bytes = fetch("metadata/timestamp.json", TIMESTAMP_MAX)?.ok_or(TufError::Missing {
            what: "metadata/timestamp.json".to_string(),
        })?;
        let new: Timestamp = self.verify_top(&bytes, "timestamp")?;
        let new_snapshot = snapshot_meta(&new)?.version;
        if let Some(old) = &self.timestamp {
            rollback("timestamp", old.0.version, new.0.version)?;
            rollback(
                "snapshot.json (in timestamp)",
                snapshot_meta(old)?.version,
                new_snapshot,
            )?;
        }
        self.check_expiry("timestamp", &new.0.expires)?;
        self.timestamp = Some(new);
        self.files.insert("timestamp.json".to_string(), bytes);
        Ok(())
    }

    fn update_snapshot(&mut self, fetch: &mut Fetch<'_>) -> Result<(), TufError> {
        let Some(timestamp) = &self.timestamp else {
            return Err(TufError::Missing {
                what: "a trusted timestamp".to_string(),
            });
        };
        let described = snapshot_meta(timestamp)?.clone();
        let name = format!("{}.snapshot.json", described.version);
        let max = described.length.unwrap_or(SNAPSHOT_MAX).min(SNAPSHOT_MAX);
        let bytes = fetch(&format!("metadata/{name}"), max)?.ok_or(TufError::Missing {
            what: format!("metadata/{name}"),
        })?;
        check_file(&name, &bytes, described.length, described.hashes.as_ref())?;
        let new: Snapshot = self.verify_top(&bytes, "snapshot")?;
        if new.0.version != described.version {
            return Err(TufError::WrongVersion {
                role: name,
                expected: described.version,
                found: new.0.version,
            });
        }
        if let Some(old) = &self.snapshot {
            for (file, meta) in &old.0.meta {
                let found = new.0.meta.get(file).map_or(0, |m| m.version);
                rollback(file, meta.version, found)?;
            }
        }
        self.check_expiry("snapshot", &new.0.expires)?;
        self.snapshot = Some(new);
        self.files.insert("snapshot.json".to_string(), bytes);
        self.targets.clear();
        Ok(())
    }

    /// Fetch and verify targets role `role` (delegated by `by`, or the
    /// top-level targets when `by` is None) at the version snapshot lists.
    fn update_targets(
        &mut self,
        role: &str,
        by: Option<(&BTreeMap<String, Key>, RoleKeys)>,
        fetch: &mut Fetch<'_>,
    ) -> Result<(), TufError> {
        if self.targets.contains_key(role) {
            return Ok(());
        }
        let snapshot = self.snapshot.as_ref().ok_or(TufError::Missing {
            what: "a trusted snapshot".to_string(),
        })?;
        let described = snapshot
            .0
            .meta
            .get(&format!("{role}.json"))
            .cloned()
            .ok_or(TufError::NotListed {
                role: role.to_string(),
            })?;
        let name = format!("{}.{role}.json", described.version);
        let max = described.length.unwrap_or(TARGETS_MAX).min(TARGETS_MAX);
        let bytes = fetch(&format!("metadata/{name}"), max)?.ok_or(TufError::Missing {
            what: format!("metadata/{name}"),
        })?;
        check_file(&name, &bytes, described.length, described.hashes.as_ref())?;
        let new: Targets = match by {
            None => self.verify_top(&bytes, "targets")?,
            Some((keys, trusted)) => metadata::verify(&bytes, role, keys, &trusted)?,
        };
        if new.version != described.version {
            return Err(TufError::WrongVersion {
                role: name,
                expected: described.version,
                found: new.version,
            });
        }
        self.check_expiry(role, &new.expires)?;
        self.targets.insert(role.to_string(), new);
        Ok(())
    }

    /// The signed length and hashes of target `path`, found by a pre-order
    /// walk of the delegations from the top-level targets (section 5.6.7).
    pub fn target(&mut self, path: &str, fetch: &mut Fetch<'_>) -> Result<TargetFile, TufError> {
        let hash = kiln_digest::hex(&kiln_digest::sha256(path.as_bytes()));
        let mut stack = vec!["targets".to_string()];
        let mut visited = 0;
        while let Some(role) = stack.pop() {
            visited += 1;
            if visited > MAX_DELEGATIONS {
                break;
            }
            let Some(current) = self.targets.get(&role) else {
                continue;
            };
            if let Some(file) = current.targets.get(path) {
                return Ok(file.clone());
            }
            let Some(delegations) = &current.delegations else {
                continue;
            };
            // The matching delegations (in order, up to a terminating one)
            // and the keys they name, without copying the whole list.
            let mut matched = Vec::new();
            for d in &delegations.roles {
                let matches = match (&d.path_hash_prefixes, &d.paths) {
                    (Some(prefixes), _) => prefixes.iter().any(|p| hash.starts_with(p.as_str())),
                    (None, Some(patterns)) => patterns.iter().any(|p| glob(p, path)),
                    (None, None) => false,
                };
                if matches {
                    let keys: BTreeMap<String, Key> = d
                        .keyids
                        .iter()
                        .filter_map(|id| Some((id.clone(), delegations.keys.get(id)?.clone())))
                        .collect();
                    let trusted = RoleKeys {
                        keyids: d.keyids.clone(),
                        threshold: d.threshold,
                    };
                    matched.push((d.name.clone(), keys, trusted));
                    if d.terminating {
                        break;
                    }
                }
            }
            let mut next = Vec::new();
            for (name, keys, trusted) in matched {
                self.update_targets(&name, Some((&keys, trusted)), fetch)?;
                next.push(name);
            }
            stack.extend(next.into_iter().rev());
        }
        Err(TufError::UnknownTarget {
            path: path.to_string(),
        })
    }

    /// Download target `path`: at most its signed length, then its length
    /// and every signed hash kiln knows checked.
    pub fn download(&mut self, path: &str, fetch: &mut Fetch<'_>) -> Result<Vec<u8>, TufError> {
        let file = self.target(path, fetch)?;
        let bytes = fetch(path, file.length)?.ok_or(TufError::Missing {
            what: path.to_string(),
        })?;
        check_file(path, &bytes, Some(file.length), Some(&file.hashes))?;
        Ok(bytes)
    }
}

fn role_keys(root: &Root, role: &str) -> Result<RoleKeys, TufError> {
    root.roles.get(role).cloned().ok_or(TufError::Role {
        role: role.to_string(),
    })
}

fn snapshot_meta(t: &Timestamp) -> Result<&metadata::MetaFile, TufError> {
    t.0.meta.get("snapshot.json").ok_or(TufError::NotListed {
        role: "snapshot".to_string(),
    })
}

fn rollback(role: &str, trusted: u64, found: u64) -> Result<(), TufError> {
    if found < trusted {
        return Err(TufError::Rollback {
            role: role.to_string(),
            trusted,
            found,
        });
    }
    Ok(())
}

/// The length and hashes signed for a file against its bytes; at least one
/// hash kiln computes (sha256 or sha512) must be there when any is.
pub fn check_file(
    what: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    let digests = kiln_digest::Digests::of_bytes(bytes);
    check_digests(what, bytes.len() as u64, &digests, length, hashes)
}

/// [`check_file`] for a file hashed as it was streamed (a large target
/// is never held in memory): its size and digests.
pub fn check_digests(
    what: &str,
    size: u64,
    digests: &kiln_digest::Digests,
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    let bad = || TufError::Digest {
        what: what.to_string(),
    };
    if length.is_some_and(|l| l != size) {
        return Err(bad());
    }
    if let Some(hashes) = hashes {
        let mut checked = 0;
        for (alg, expected) in hashes {
            let actual = match alg.as_str() {
                "sha256" => digests.sha256_hex(),
                "sha512" => digests.sha512_hex(),
                _ => continue,
            };
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(bad());
            }
            checked += 1;
        }
        if checked == 0 {
            return Err(bad());
        }
    }
    Ok(())
}

/// python-tuf's `paths` matching: as many `/`-separated parts as the
/// pattern, each matched by a shell glob (`*`, `?`).
fn glob(pattern: &str, path: &str) -> bool {
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| part(p.as_bytes(), t.as_bytes()))
}

fn part(p: &[u8], t: &[u8]) -> bool {
    // Iterative with one backtrack point: linear in practice, never exponential.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}
