//! TUF 1.0 for kiln's mirror: repository metadata (root, targets,
//! snapshot, timestamp) with PEP 458 hashed-bin delegations and consistent
//! snapshots, signed with ed25519 over canonical JSON; the repository's
//! operations (init, re-signing only the bins a change touches, a new
//! timestamp, key rotation by a new root; adding targets on disk reading
//! only the bins they touch); the client's update workflow
//! over a bounded fetch callback; and offline verification of a tree.
//!
//! No clock, no environment, no network: "now", expiry periods, keys and
//! the fetch are the caller's.

pub mod add;
pub mod bins;
pub mod canonical;
pub mod client;
pub mod dir;
pub mod metadata;
pub mod repo;
pub mod time;
pub mod verify;

pub use add::{Updated, update};
pub use bins::Bins;
pub use client::Client;
pub use metadata::TargetFile;
pub use repo::{Expiry, Files, Keys, OnlineKeys, Repository};
pub use verify::{Verified, verify_tree};

use std::path::PathBuf;

/// Why TUF metadata or a target was refused, or an operation failed. Each
/// names the role, metadata file or target path. [`TufError::is_refusal`]
/// tells a verification failure (the repository or the server is not to
/// be trusted) from bad input.
#[derive(Debug, thiserror::Error)]
pub enum TufError {
    #[error("{role}: {valid} valid signature(s) by its trusted keys, {threshold} needed")]
    Signatures {
        role: String,
        valid: usize,
        threshold: u32,
    },
    #[error("{role}: version {found} is older than the trusted version {trusted} (rollback)")]
    Rollback {
        role: String,
        trusted: u64,
        found: u64,
    },
    #[error("{role}: expired at {expires} (a frozen or stale repository)")]
    Expired { role: String, expires: String },
    #[error("{role}: version {found} where version {expected} was signed for (mix-and-match)")]
    WrongVersion {
        role: String,
        expected: u64,
        found: u64,
    },
    #[error("{what}: its length or hash is not the one signed for it")]
    Digest { what: String },
    #[error("{what}: more than {limit} bytes (endless data): stopped reading")]
    TooLarge { what: String, limit: u64 },
    #[error("{path}: not a target signed by the repository")]
    UnknownTarget { path: String },
    #[error("{role}: lists {path}, which its hash prefixes do not delegate to it")]
    Delegation { role: String, path: String },
    #[error("{role}: not listed where it must be (snapshot or timestamp)")]
    NotListed { role: String },
    #[error("{what} is missing")]
    Missing { what: String },
    #[error("{role}: not valid TUF metadata: {message}")]
    Malformed { role: String, message: String },
    #[error("{role}: could not be encoded as canonical JSON: {message}")]
    Encode { role: String, message: String },
    #[error("{role}: no such role in root")]
    Role { role: String },
    #[error("{count} bins: the bin count must be a power of two from 1 to 65536")]
    BinCount { count: u32 },
    #[error(
        "{path:?}: not a usable target path (relative, '/'-separated, no '.', '..' or empty part)"
    )]
    TargetPath { path: String },
    #[error("{path}: not a regular file (symlinks and special files are not targets)")]
    NotRegular { path: String },
    #[error("{what}: {message}")]
    Fetch { what: String, message: String },
    #[error(
        "metadata/{file} exists with other bytes: a versioned file is never rewritten (another writer, or metadata out of step)"
    )]
    Exists { file: String },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl TufError {
    /// Whether this is the repository or the server failing verification
    /// (exit 1), rather than bad input or an unreachable server (exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            TufError::Signatures { .. }
                | TufError::Rollback { .. }
                | TufError::Expired { .. }
                | TufError::WrongVersion { .. }
                | TufError::Digest { .. }
                | TufError::TooLarge { .. }
                | TufError::UnknownTarget { .. }
                | TufError::Delegation { .. }
                | TufError::NotListed { .. }
                | TufError::Missing { .. }
                | TufError::Malformed { .. }
        )
    }
}
