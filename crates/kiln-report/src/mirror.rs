//! `cargo xtask mirror --json`: what the mirror now holds and what this run
//! changed: every file added or given again, where it came from, for a
//! recompressed wheel its original (name, sha256, size) and the bytes
//! saved, upstream files that shadowed a recompressed one, and the pages
//! rewritten.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Version;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MirrorReport {
    pub schema: Version,
    /// The mirror's root directory.
    pub out: PathBuf,
    /// The build tag recompressed wheels were given.
    pub build_tag: String,
    /// The files of this run's inputs, by name.
    pub files: Vec<MirrorFile>,
    /// Recompressed wheels not served because upstream publishes a file
    /// of the same name (the shadow rule): upstream's is served instead.
    pub shadowed: Vec<String>,
    /// Pages rewritten, relative to `out` (unchanged pages are left alone).
    pub pages_written: Vec<String>,
    /// Projects and distribution files the mirror now holds in all.
    pub projects: usize,
    pub total_files: usize,
}

/// Where a file of the mirror came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MirrorSource {
    /// A kiln release's dist directory (`--from`).
    Release,
    /// A wheelhouse (`--wheelhouse`).
    Wheelhouse,
    /// Recompressed from a publisher's wheel (`--recompress*`).
    Recompressed,
    /// An upstream file served as published (it shadowed a recompressed one).
    Upstream,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MirrorFile {
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    pub source: MirrorSource,
    /// False when the mirror held these very bytes already.
    pub added: bool,
    /// A recompressed wheel's original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<MirrorOriginal>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MirrorOriginal {
    pub filename: String,
    pub sha256: String,
    pub size: u64,
}
