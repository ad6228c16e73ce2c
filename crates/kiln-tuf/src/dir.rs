//! A repository on disk: the target files are every regular file under the
//! directory except `metadata/` (and kiln's own `.kiln-*` temporary
//! entries), their paths relative to it; the metadata is in `metadata/`,
//! consistent snapshots (`N.root.json`, `N.snapshot.json`, `N.bin-….json`,
//! …) and `timestamp.json`, each written atomically, `timestamp.json`
//! last. Served as is, the directory is both the index and the TUF
//! repository.

use crate::metadata::{self, Root, Snapshot, TargetFile, Targets, Timestamp};
use crate::repo::{Files, Repository, check_path};
use crate::{TufError, client};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The metadata directory's name under the repository.
pub const METADATA: &str = "metadata";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TufError + '_ {
    move |error| TufError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Every target under `dir`, path to length and sha256, sorted. A symlink
/// or anything else that is not a regular file or a directory is refused.
pub fn scan(dir: &Path) -> Result<BTreeMap<String, TargetFile>, TufError> {
    let mut out = BTreeMap::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let metadata = e.depth() == 1 && name == METADATA;
            !(metadata || name.starts_with(".kiln-"))
        });
    for entry in walk {
        let entry = entry.map_err(|e| TufError::Io {
            path: e
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
            error: e.into(),
        })?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        let rel = relative(dir, entry.path())?;
        if !kind.is_file() {
            return Err(TufError::NotRegular { path: rel });
        }
        out.insert(rel.clone(), describe_file(dir, &rel)?);
    }
    Ok(out)
}

fn relative(dir: &Path, path: &Path) -> Result<String, TufError> {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let rel = parts
        .map(|p| p.join("/"))
        .ok_or_else(|| TufError::TargetPath {
            path: rel.to_string_lossy().into_owned(),
        })?;
    check_path(&rel)?;
    Ok(rel)
}

/// The length and sha256 of target `rel` under `dir`, read in one pass.
fn describe_file(dir: &Path, rel: &str) -> Result<TargetFile, TufError> {
    let path = dir.join(rel);
    let kind = std::fs::symlink_metadata(&path).map_err(io(&path))?;
    if !kind.is_file() {
        return Err(TufError::NotRegular {
            path: rel.to_string(),
        });
    }
    let digests = kiln_digest::Digests::of_file(&path).map_err(|e| TufError::Io {
        path: path.clone(),
        error: std::io::Error::other(e.to_string()),
    })?;
    Ok(TargetFile::new(kind.len(), digests.sha256_hex()))
}

/// What became of each of `paths` (relative to `dir`): its length and
/// hash if it is a file there, None if it is gone.
pub fn changes(
    dir: &Path,
    paths: &[String],
) -> Result<BTreeMap<String, Option<TargetFile>>, TufError> {
    let mut out = BTreeMap::new();
    for rel in paths {
        check_path(rel)?;
        if rel == METADATA || rel.starts_with(&format!("{METADATA}/")) {
            return Err(TufError::TargetPath { path: rel.clone() });
        }
        let file = match std::fs::symlink_metadata(dir.join(rel)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(describe_file(dir, rel)?),
        };
        out.insert(rel.clone(), file);
    }
    Ok(out)
}

/// Reads `metadata/<name>` of at most `max` bytes; None if absent.
pub fn read_metadata(dir: &Path, name: &str, max: u64) -> Result<Option<Vec<u8>>, TufError> {
    read_capped(&dir.join(METADATA).join(name), name, max)
}

/// Reads a file of at most `max` bytes ([`TufError::TooLarge`] past it);
/// None if absent. Only regular files are read.
pub fn read_capped(path: &Path, what: &str, max: u64) -> Result<Option<Vec<u8>>, TufError> {
    let file = match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        other => other.map_err(io(path))?,
    };
    let kind = file.metadata().map_err(io(path))?;
    if !kind.is_file() {
        return Err(TufError::NotRegular {
            path: what.to_string(),
        });
    }
    let too_large = || TufError::TooLarge {
        what: what.to_string(),
        limit: max,
    };
    if kind.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// A fetch callback serving the repository at `dir` from disk (offline
/// verification runs the client's workflow over it).
pub fn local_fetch(dir: &Path) -> impl FnMut(&str, u64) -> Result<Option<Vec<u8>>, TufError> + '_ {
    move |path, max| {
        check_path(path)?;
        read_capped(&dir.join(path), path, max)
    }
}

/// The highest root version in `metadata/`, by trying 1, 2, … in turn.
pub fn latest_root(dir: &Path) -> Result<(u64, Vec<u8>), TufError> {
    let mut found = None;
    for v in 1.. {
        match read_metadata(dir, &format!("{v}.root.json"), client::ROOT_MAX)? {
            Some(bytes) => found = Some((v, bytes)),
            None => break,
        }
    }
    found.ok_or(TufError::Missing {
        what: format!("{}/1.root.json", dir.join(METADATA).display()),
    })
}

fn required(dir: &Path, name: &str, max: u64) -> Result<Vec<u8>, TufError> {
    read_metadata(dir, name, max)?.ok_or_else(|| TufError::Missing {
        what: dir.join(METADATA).join(name).display().to_string(),
    })
}

/// The repository's current metadata as its own files say (read back by
/// the repository that signed them: no signature is checked here; `verify`
/// does that).
pub fn load(dir: &Path) -> Result<Repository, TufError> {
    let (_, root) = latest_root(dir)?;
    let root: Root = metadata::read_unverified(&root, "root")?;
    let timestamp = required(dir, "timestamp.json", client::TIMESTAMP_MAX)?;
    let timestamp: Timestamp = metadata::read_unverified(&timestamp, "timestamp")?;
    let version = |meta: &BTreeMap<String, metadata::MetaFile>, file: &str| {
        meta.get(file)
            .map(|m| m.version)
            .ok_or_else(|| TufError::NotListed {
                role: file.to_string(),
            })
    };
    let v = version(&timestamp.0.meta, "snapshot.json")?;
    let snapshot = required(dir, &format!("{v}.snapshot.json"), client::SNAPSHOT_MAX)?;
    let snapshot: Snapshot = metadata::read_unverified(&snapshot, "snapshot")?;
    let role = |name: &str| -> Result<Targets, TufError> {
        let v = version(&snapshot.0.meta, &format!("{name}.json"))?;
        let bytes = required(dir, &format!("{v}.{name}.json"), client::TARGETS_MAX)?;
        metadata::read_unverified(&bytes, name)
    };
    let targets = role("targets")?;
    let bins = role("bins")?;
    let names: Vec<String> = bins
        .delegations
        .as_ref()
        .map(|d| d.roles.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    let bin = names.iter().map(|n| role(n)).collect::<Result<_, _>>()?;
    Ok(Repository {
        root,
        targets,
        bins,
        bin,
        snapshot,
        timestamp,
    })
}

/// The lock file every writer of a repository holds (`.kiln-` names are
/// never targets).
pub const LOCK: &str = ".kiln-tuf.lock";

/// Takes the repository's writer lock (an exclusive `flock` on
/// `DIR/.kiln-tuf.lock`, waiting for another writer to finish): two
/// writers that both read version N would both write N+1. Released when
/// the returned file is dropped.
pub fn lock(dir: &Path) -> Result<std::fs::File, TufError> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    file.lock().map_err(io(&path))?;
    Ok(file)
}

/// Writes `files` into `metadata/` in order, each atomically. A versioned
/// file (`N.role.json`) is never changed once written: one that exists
/// with other bytes is an error (another writer, or a version reused), and
/// nothing after it is written.
pub fn write(dir: &Path, files: &Files) -> Result<(), TufError> {
    let meta: PathBuf = dir.join(METADATA);
    std::fs::create_dir_all(&meta).map_err(io(&meta))?;
    for (name, bytes) in files {
        let path = meta.join(name);
        if name != "timestamp.json"
            && let Ok(existing) = std::fs::symlink_metadata(&path)
        {
            let same = existing.len() == bytes.len() as u64
                && read_capped(&path, name, existing.len())?.as_ref() == Some(bytes);
            if !same {
                return Err(TufError::Exists { file: name.clone() });
            }
        }
        kiln_fs::publish::write_atomic(&path, bytes).map_err(|e| TufError::Io {
            path: path.clone(),
            error: std::io::Error::other(e.to_string()),
        })?;
    }
    Ok(())
}
