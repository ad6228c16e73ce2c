//! `cargo xtask tuf … --json`: what a TUF operation on a mirror did (the
//! metadata files written, in order, the versions now current) or what
//! the client verified and downloaded.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Version;

/// One `tuf` operation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TufReport {
    pub schema: Version,
    pub operation: TufOperation,
    /// The mirror directory, or the URL `fetch` read from.
    pub repository: String,
    /// Metadata files written under `metadata/`, in the order written
    /// (`timestamp.json` last); empty for `verify` and `fetch`.
    pub written: Vec<String>,
    /// The root version now current (trusted, for `fetch`).
    pub root_version: u64,
    /// The timestamp and snapshot versions, when the operation read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    /// `init` and `verify`: the hashed bins and the targets signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<u64>,
    /// `rotate`: the role whose key is new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotated: Option<String>,
    /// `fetch --target`: the target downloaded, checked against its signed
    /// length and sha256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloaded: Option<TufDownload>,
}

/// Which `tuf` subcommand ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TufOperation {
    Init,
    Add,
    Timestamp,
    Rotate,
    Verify,
    Fetch,
}

/// A target the client downloaded.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TufDownload {
    /// The target path, relative to the repository.
    pub target: String,
    pub length: u64,
    pub sha256: String,
    pub written_to: PathBuf,
}
