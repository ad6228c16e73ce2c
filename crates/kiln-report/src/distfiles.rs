//! `cargo xtask distfiles fetch|makesum --json`: per distfile, what
//! happened (cached, fetched, failed; added, unchanged, changed, updated),
//! every site tried with why it was skipped, and every file that failed its
//! distinfo classified next to the good copy: `re-rolled` (with what
//! differs), `content-changed` (with the diff engine's report) or
//! `unreadable`; `not-compared` when there was no good copy to compare with.

use kiln_diff::DiffReport;
use schemars::JsonSchema;
use serde::Serialize;

use crate::Version;

/// The whole run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistfilesReport {
    pub schema: Version,
    pub action: DistfilesAction,
    /// The distinfo read (fetch) or written (makesum; null when printed).
    pub distinfo: Option<String>,
    /// Its syntax: `kiln`, `openbsd`, `netbsd` or `freebsd`.
    pub format: String,
    /// The cache directory, when one was used.
    pub cache: Option<String>,
    /// Everything fetched and checked (fetch), or nothing refused (makesum).
    pub ok: bool,
    pub files: Vec<DistfileResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DistfilesAction {
    Fetch,
    Makesum,
}

/// One distfile.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistfileResult {
    pub name: String,
    pub status: DistfileStatus,
    /// Where the checked file is in the cache (fetch), or the file read
    /// (makesum).
    pub path: Option<String>,
    pub size: Option<u64>,
    /// Hex, of the checked (fetch) or read (makesum) file.
    pub sha256: Option<String>,
    /// Fetch: each site tried, in order.
    pub sites: Vec<SiteAttempt>,
    /// Makesum: the file's digests differ from its entry.
    pub mismatch: Option<DistfileMismatch>,
    /// Anything else to say (why it failed, why it was not fetched).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DistfileStatus {
    /// Already in the cache, checked again.
    Cached,
    /// Fetched from a site, checked, now in the cache.
    Fetched,
    /// No site gave a file that passed its distinfo.
    Failed,
    /// Not a distfile kiln can check (a patch entry: no size, or no digest
    /// kiln computes).
    NotChecked,
    /// Makesum: a new entry.
    Added,
    /// Makesum: the entry already states these digests.
    Unchanged,
    /// Makesum: the digests differ and the entry was kept (no `--update`).
    Refused,
    /// Makesum: the digests differ and the entry was replaced (`--update`).
    Updated,
}

/// One site tried for one distfile.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteAttempt {
    pub site: String,
    pub url: String,
    pub result: SiteResult,
    /// Skipped: `down`, `slow`, `http-error`, `truncated`, `html-page`,
    /// `too-large` or `bad-url`.
    pub skipped: Option<String>,
    /// Skipped: the message saying why.
    pub message: Option<String>,
    /// Mismatch: what the file is.
    pub mismatch: Option<DistfileMismatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SiteResult {
    /// Its file passed every digest and the size.
    Good,
    /// Nothing usable: down, slow, truncated, an HTML page, …
    Skipped,
    /// A complete file that fails the distinfo.
    Mismatch,
}

/// A file that fails its distinfo, explained.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DistfileMismatch {
    /// Hex, of the file that failed.
    pub sha256: String,
    pub size: u64,
    /// Each field that disagrees: `SHA256: expected …, got …`.
    pub disagreements: Vec<String>,
    /// Where it was kept apart (`rejected/` in the cache), if it was.
    pub kept_at: Option<String>,
    pub classification: DistfileClassification,
}

/// The diff engine's answer, next to the good copy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DistfileClassification {
    pub kind: ClassificationKind,
    /// The container differences (`compression`, `timestamps`, `member
    /// order`, `owners`, …): all that differs when re-rolled.
    pub differs: Vec<String>,
    /// Unreadable or not compared: why.
    pub reason: Option<String>,
    /// The good copy it was compared with.
    pub compared_with: Option<String>,
    /// The diff engine's report, when it could read both.
    pub diff: Option<Box<DiffReport>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClassificationKind {
    /// The same members with the same bytes; only the container differs.
    ReRolled,
    /// Members added, removed or changed.
    ContentChanged,
    /// Not an archive kiln reads, or one its readers refuse.
    Unreadable,
    /// No good copy to compare with.
    NotCompared,
}
