//! The release pipeline's decisions, apart from its orchestration: a
//! released version keeps its bytes (no re-roll), a dist directory may be
//! replaced only when it holds nothing a release does not write, a
//! backend-mode project needs its committed build lock, and what killed
//! runs left behind is removed; `reproduce` makes the second build's
//! perturbed copy and compares its artifacts with the first build's;
//! `record` makes a build's record and refuses an unreproducible build;
//! `pins` reads `pinned-toolchain.toml`, the pins every build is made under;
//! `config` reads `release/release.toml`, and `layout` spells the `release/`
//! directory's paths once. `cargo xtask release` gathers the inputs
//! (paths, the records it built) and prints the outcome.
//!
//! A library in kiln's sense: no clock, no environment, no processes, no
//! network. It reads and removes files under paths it is given.

pub mod config;
pub mod layout;
pub mod pins;
pub mod record;
pub mod reproduce;

use kiln_record::{ArtifactChange, Record, RecordError};
use std::path::{Path, PathBuf};

/// What went wrong, naming the file or directory it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not UTF-8", path.display())]
    NotUtf8 {
        path: PathBuf,
        source: std::string::FromUtf8Error,
    },
    #[error("{}: no build lock for backend-mode project {name:?}: run `cargo xtask lock --project {name}` and commit the lock", path.display())]
    NoLock { path: PathBuf, name: String },
    #[error(transparent)]
    Lock(#[from] kiln_lock::LockError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Publish(#[from] kiln_fs::publish::PublishError),
    #[error("failed to list {}", path.display())]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--out {}: not a directory; choose a directory for the release", path.display())]
    NotADirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "--out {}: holds {}, which no release writes; a release replaces the whole directory \
         (so that nobody ever sees half of one): move {} elsewhere or choose another --out",
        path.display(),
        foreign.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
        if foreign.len() == 1 { "it" } else { "them" }
    )]
    Foreign { path: PathBuf, foreign: Vec<String> },
    #[error("failed to walk {}", path.display())]
    Walk {
        path: PathBuf,
        source: walkdir::Error,
    },
    #[error("{action} {}", path.display())]
    Copy {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to remove {}", path.display())]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A backend-mode project's committed lock at `path`: its sha256 hex and
/// its contents. A missing lock says how to make one.
pub fn load_lock(path: &Path, name: &str) -> Result<(String, kiln_lock::Lock), ReleaseError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReleaseError::NoLock {
                path: path.to_path_buf(),
                name: name.to_string(),
            });
        }
        Err(source) => {
            return Err(ReleaseError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let sha256 = kiln_digest::hex(&kiln_digest::sha256(&bytes));
    let text = String::from_utf8(bytes).map_err(|source| ReleaseError::NotUtf8 {
        path: path.to_path_buf(),
        source,
    })?;
    let lock = kiln_lock::Lock::parse(&path.display().to_string(), &text)?;
    Ok((sha256, lock))
}

/// Refuse to re-roll: when a record already exists at `path` with other
/// artifact bytes than `new`, the message saying which (Ok(None) when there
/// is no record yet or the bytes are the same).
pub fn reroll(path: &Path, new: &Record) -> Result<Option<String>, ReleaseError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReleaseError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let old = Record::parse(&path.display().to_string(), &text)?;
    let changes = old.artifact_changes(new);
    if changes.is_empty() {
        return Ok(None);
    }
    let lines: Vec<String> = changes
        .iter()
        .map(|c| match c {
            ArtifactChange::Changed {
                artifact,
                old_sha256,
                new_sha256,
            } => format!("  {artifact}: recorded sha256 {old_sha256}, built sha256 {new_sha256}"),
            ArtifactChange::Added(a) => format!("  {a}: built now, not in the record"),
            ArtifactChange::Removed(a) => format!("  {a}: in the record, not built now"),
        })
        .collect();
    let epoch_note = if old.epoch != new.epoch {
        format!(
            "\nThe epoch differs too: recorded {}, used now {} (SOURCE_DATE_EPOCH or a newer commit to the project?).",
            old.epoch, new.epoch
        )
    } else {
        String::new()
    };
    Ok(Some(format!(
        "{} already records {} {} with other bytes; refusing to re-roll a released version:\n{}{epoch_note}\n\
         Release new bytes under a new version, or find out why the bytes changed.",
        path.display(),
        new.project,
        new.version,
        lines.join("\n")
    )))
}

/// A release replaces the whole dist directory: refuse one that holds
/// anything a release does not write (before any work, so nothing of the
/// user's is lost). A release writes `SHA256SUMS` and files ending in one
/// of `suffixes`; what killed runs left (`.kiln-*`) is fine: it goes.
pub fn check_replaceable(out: &Path, suffixes: &[&str]) -> Result<(), ReleaseError> {
    #[allow(clippy::disallowed_methods)] // Sorted below.
    let entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) if out.exists() && !out.is_dir() => {
            return Err(ReleaseError::NotADirectory {
                path: out.to_path_buf(),
                source,
            });
        }
        Err(source) => {
            return Err(ReleaseError::List {
                path: out.to_path_buf(),
                source,
            });
        }
    };
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReleaseError::List {
            path: out.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let output = name == "SHA256SUMS"
            || name == ".DS_Store"
            || suffixes.iter().any(|suffix| name.ends_with(suffix));
        if !(name.starts_with(".kiln-") || is_file && output) {
            foreign.push(name);
        }
    }
    foreign.sort();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(ReleaseError::Foreign {
        path: out.to_path_buf(),
        foreign,
    })
}

/// Removes what killed runs left in a records directory: kiln's locked
/// temporary files once their writer is gone, and the `.tmpXXXXXX` files
/// of releases made before those existed.
pub fn clean_records(dir: &Path) -> Result<(), ReleaseError> {
    kiln_fs::publish::clean_stale(dir)?;
    let list = |source| ReleaseError::List {
        path: dir.to_path_buf(),
        source,
    };
    #[allow(clippy::disallowed_methods)] // Order does not matter: each is removed.
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(list(e)),
    };
    for entry in entries {
        let entry = entry.map_err(list)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let legacy = name.len() == 10
            && name
                .strip_prefix(".tmp")
                .is_some_and(|r| r.bytes().all(|b| b.is_ascii_alphanumeric()));
        if legacy && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(entry.path()).map_err(|source| ReleaseError::Remove {
                path: entry.path(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
