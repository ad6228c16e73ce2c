//! `cargo xtask bench --json`: timings of kiln and its peers, part by part.
//!
//! A part that did not run leaves its fields out: the native part's
//! `seed`, `kiln_threads`, `notes` and `inputs`; `backend`; `tools`.
//! Times are seconds (floating point); ratios are the peer's time over
//! kiln's, null where either is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Version;

/// The whole benchmark.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchReport {
    pub schema: Version,
    /// Timed runs per measurement (after one warm-up run).
    pub runs: usize,
    pub warmup_runs: usize,
    pub source_date_epoch: i64,
    /// The pinned versions of the peers' Python packages.
    pub versions: BTreeMap<String, String>,
    /// Native part: the generator's seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Native part: the threads kiln builds with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kiln_threads: Option<usize>,
    /// Native part: how each tool is run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<String>>,
    /// Native part: one entry per generated input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<BenchInput>>,
    /// Native part, unless quick: kiln alone on a generated project four
    /// times the large one, to show whether its peak memory grows with
    /// the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_probe: Option<BenchMemoryProbe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<BenchBackendPart>,
    /// The diff and normalize timings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<BenchOperation>>,
}

/// One metered kiln build of a generated project, for its peak memory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchMemoryProbe {
    pub name: String,
    pub py_files: usize,
    pub py_bytes: u64,
    pub seconds: f64,
    /// kiln's peak resident set, in KiB.
    pub peak_rss_kib: u64,
}

/// One input of the native part (generated, or a real project's sources).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchInput {
    pub name: String,
    pub py_files: usize,
    pub py_bytes: u64,
    pub results: Vec<BenchResult>,
    pub kiln_error: Option<String>,
    pub thread_check: Option<ThreadCheck>,
    /// kiln's compressor alone over the same files, on all of kiln's
    /// threads, files in memory (the fastest of the timed runs).
    pub compressor_limit_seconds: f64,
    /// kiln's median over that limit.
    pub kiln_over_limit: Option<f64>,
}

/// One tool on one native input.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchResult {
    pub tool: String,
    pub label: String,
    pub median_seconds: f64,
    pub min_seconds: f64,
    pub max_seconds: f64,
    pub times_seconds: Vec<f64>,
    pub ratio_to_kiln: Option<f64>,
    pub sdist: Option<BenchArtifact>,
    pub wheel: Option<BenchArtifact>,
    /// User + system time of the tool's process tree per timed run, and
    /// its median.
    pub cpu_times_seconds: Vec<f64>,
    pub cpu_median_seconds: Option<f64>,
    /// The peer's median CPU time over kiln's.
    pub cpu_ratio_to_kiln: Option<f64>,
    /// Peak memory: the largest resident set of the tool's process or of
    /// a descendant it waited for (not a sum), highest over the timed
    /// runs, in KiB; null where the platform does not say.
    pub peak_rss_kib: Option<u64>,
}

/// A file a tool built.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchArtifact {
    pub filename: String,
    pub size: u64,
    /// Hex.
    pub sha256: String,
}

/// kiln's artifacts built with many threads and with one: they must be
/// the same bytes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadCheck {
    pub threads: usize,
    pub artifacts: Vec<ThreadCheckArtifact>,
    pub single_thread_artifacts: Vec<ThreadCheckArtifact>,
    pub single_thread_seconds: f64,
    pub identical: bool,
}

/// A file of the thread check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadCheckArtifact {
    pub filename: String,
    /// Hex.
    pub sha256: String,
}

/// The backend part: measured, or skipped (no corpus).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BenchBackendPart {
    Measured(Box<BenchBackend>),
    Skipped {
        /// Why the part did not run.
        skipped: String,
    },
}

/// The backend part over the real-world corpus.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchBackend {
    pub corpus: PathBuf,
    pub pip_cache: PathBuf,
    pub uv_cache: PathBuf,
    pub notes: Vec<String>,
    pub projects: Vec<BenchProject>,
    pub targets: Vec<BenchTarget>,
}

/// One corpus project of the backend part.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchProject {
    pub name: String,
    pub version: String,
    pub sdist: PathBuf,
    pub build_backend: Option<String>,
    /// The lock as `name==version` lines.
    pub constraints: Option<Vec<String>>,
    pub lock_error: Option<String>,
    pub results: Vec<BenchProjectResult>,
}

/// One tool on one corpus project; times are null when it failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchProjectResult {
    pub tool: String,
    pub label: String,
    pub median_seconds: Option<f64>,
    pub min_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
    pub times_seconds: Vec<f64>,
    pub ratio_to_kiln: Option<f64>,
    pub error: Option<String>,
    pub artifacts: Vec<BenchArtifact>,
}

/// A peer against its speed target, over all projects.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchTarget {
    pub tool: String,
    pub label: String,
    pub ratio_at_least: f64,
    pub geometric_mean_ratio: Option<f64>,
    pub met: Option<bool>,
    pub projects_compared: usize,
    pub projects_meeting: usize,
}

/// One diff or normalize timing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchOperation {
    pub input: String,
    pub command: String,
    pub archive_bytes: u64,
    pub median_seconds: f64,
    pub min_seconds: f64,
    pub max_seconds: f64,
    pub kiln_build_seconds: f64,
    pub uv_build_seconds: f64,
    pub peak_rss_kib: Option<u64>,
}
