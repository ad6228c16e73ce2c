//! What a file that fails its distinfo is, next to the good copy: kiln's
//! diff engine (`kiln-diff`) reads both archives with its bounded,
//! streaming readers and the answer is one of
//!
//! - **re-rolled**: the same members with the same bytes; only the
//!   container differs (compression, gzip header, timestamps, member
//!   order, owners, …, each named);
//! - **content-changed**: members added, removed or changed, with the diff;
//! - **unreadable**: not an archive kiln reads (a tar.gz or a zip), or one
//!   its readers refuse, with the reason.

use kiln_diff::{ArchiveKind, DiffOptions, DiffReport, Level, diff_as};
use std::path::Path;

/// The kinds of answer, as reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    ReRolled,
    ContentChanged,
    Unreadable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::ReRolled => "re-rolled",
            Verdict::ContentChanged => "content-changed",
            Verdict::Unreadable => "unreadable",
        }
    }
}

/// The answer for one mismatching file.
#[derive(Debug, Clone)]
pub struct Classification {
    pub verdict: Verdict,
    /// Re-rolled: what differs in the container (`compression`,
    /// `timestamps`, …); content-changed: the container differences too.
    pub differs: Vec<String>,
    /// Unreadable: why.
    pub reason: Option<String>,
    /// The diff engine's whole report, when it could read both.
    pub diff: Option<Box<DiffReport>>,
}

/// How kiln reads a distfile of this name: a tar.gz (`.tar.gz`, `.tgz`)
/// as an sdist-like tree, a zip (`.zip`, `.whl`) as a wheel-like one.
pub fn archive_kind(name: &str) -> Option<ArchiveKind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(ArchiveKind::Sdist)
    } else if lower.ends_with(".zip") || lower.ends_with(".whl") {
        Some(ArchiveKind::Wheel)
    } else {
        None
    }
}

/// Compares `candidate` (named `candidate_name` in the report) with the
/// `good` copy of distfile `name`.
pub fn classify(
    name: &str,
    good: &Path,
    good_name: &str,
    candidate: &Path,
    candidate_name: &str,
    opts: &DiffOptions,
) -> Classification {
    let unreadable = |reason: String| Classification {
        verdict: Verdict::Unreadable,
        differs: Vec::new(),
        reason: Some(reason),
        diff: None,
    };
    let Some(kind) = archive_kind(name) else {
        return unreadable(format!(
            "{name}: kiln reads tar.gz (.tar.gz, .tgz) and zip (.zip) archives, not this kind, so the two files are compared by their digests only"
        ));
    };
    match diff_as(kind, good, candidate, good_name, candidate_name, opts) {
        Err(e) => {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                reason.push_str(": ");
                reason.push_str(&s.to_string());
                source = s.source();
            }
            unreadable(reason)
        }
        Ok(report) => {
            let differs: Vec<String> = report
                .container
                .iter()
                .map(|c| c.category.label().to_string())
                .collect();
            let verdict = match report.level {
                Level::DifferentContent => Verdict::ContentChanged,
                // Identical cannot be (the digests differ); say re-rolled
                // with nothing named rather than invent a change.
                Level::SameContent | Level::Identical => Verdict::ReRolled,
            };
            Classification {
                verdict,
                differs,
                reason: None,
                diff: Some(Box::new(report)),
            }
        }
    }
}
