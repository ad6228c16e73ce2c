//! The mirror: a static, hash-pinned PyPI-compatible simple repository of
//! kiln's releases, rebuilt wheels (wheelhouses) and recompressed wheels,
//! which pip and uv install from over HTTP or `file://`.
//!
//! Codemap: `inputs` (a dist directory or wheelhouse, each file checked
//! against its `SHA256SUMS` before it is parsed), `recompress` (a wheel
//! deflated again by Zopfli, renamed with a build tag, `WHEEL`'s `Build:`
//! set, and proven through RECORD to be the publisher's content), `zip`
//! (the recompressed container), `metadata` (PEP 658 `.metadata` and
//! `Requires-Python`), `name` (wheel names and build tags), `tree` (the
//! layout, the pages as a function of the files, atomic replacement).
//!
//! No network and no clock: xtask fetches upstream files (checking their
//! index's sha256 as they stream) and hands bytes and stated digests in.
//! Errors say what they were working on; [`MirrorError::is_proof_failure`]
//! tells a failed proof (a digest or RECORD that disagrees: exit 1) from
//! bad input (exit 2).

mod inputs;
mod metadata;
mod name;
mod recompress;
mod tree;
mod zip;

pub use inputs::{Checked, MAX_FILE, read_regular, read_sums_dir};
pub use metadata::{requires_python, sdist_pkg_info, wheel_metadata};
pub use name::{WheelName, build_tag_key, check_build_tag, normalize, project_and_version};
pub use recompress::{Recompressed, recompress};
pub use tree::{Entry, Mirror, Published};
pub use zip::{MTIME, Zopfli};

use std::path::PathBuf;

/// Why the mirror refused.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    #[error("{file}: sha256 {actual}, but {expected} was stated for it: refusing it unopened")]
    Digest {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{file}: not a readable wheel")]
    Archive {
        file: String,
        #[source]
        source: kiln_archive::ArchiveError,
    },
    #[error("{file}: its RECORD lies about {member}: {problem}")]
    Record {
        file: String,
        member: String,
        problem: String,
    },
    #[error("{file}: {reason}")]
    Metadata { file: String, reason: String },
    #[error("{file}: not a distribution file name: {reason}")]
    FileName { file: String, reason: String },
    #[error("--build-tag {tag:?}: {reason}")]
    BuildTag { tag: String, reason: String },
    #[error("{file}: the recompressed wheel failed its proof at {member}: {reason}")]
    Proof {
        file: String,
        member: String,
        reason: String,
    },
    #[error(
        "{file} is in the mirror already with sha256 {existing}; refusing to replace it with other bytes ({new})"
    )]
    Conflict {
        file: String,
        existing: String,
        new: String,
    },
    #[error("could not write {file}: {reason}")]
    Write { file: String, reason: String },
}

impl MirrorError {
    /// A digest, RECORD or proof that disagrees (exit 1), rather than
    /// input that cannot be read (exit 2).
    pub fn is_proof_failure(&self) -> bool {
        matches!(
            self,
            MirrorError::Digest { .. }
                | MirrorError::Record { .. }
                | MirrorError::Proof { .. }
                | MirrorError::Conflict { .. }
        )
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    kiln_digest::hex(&kiln_digest::sha256(bytes))
}

/// The shadow rule: the upstream file (from `upstream`, the names its
/// index lists) that has exactly the name a recompressed wheel would
/// get, if any; the mirror then serves upstream's file and drops its own.
pub fn shadowing<'a>(ours: &str, upstream: &'a [String]) -> Option<&'a String> {
    upstream.iter().find(|name| *name == ours)
}
