//! The distfiles report's parts built from `kiln-distfiles`' answers, and
//! its human form (stderr; every untrusted string is cleaned by
//! `report::eprint`).

use kiln_distfiles::{Classification, Verdict, classify as classify_files};
use kiln_report::{
    ClassificationKind, DistfileClassification, DistfileMismatch, DistfileStatus, DistfilesReport,
    SiteResult,
};
use std::fmt::Write as _;
use std::path::Path;

/// Lines of unified diff shown per changed member.
const MAX_DIFF_LINES: usize = 60;

/// Nothing to compare with, and why.
pub fn not_compared(reason: &str) -> DistfileClassification {
    DistfileClassification {
        kind: ClassificationKind::NotCompared,
        differs: Vec::new(),
        reason: Some(reason.to_string()),
        compared_with: None,
        diff: None,
    }
}

/// `candidate` (as `candidate_name`) against the `good` copy of `name`.
pub fn classify(
    name: &str,
    good: &Path,
    candidate: &Path,
    candidate_name: &str,
) -> DistfileClassification {
    let opts = kiln_diff::DiffOptions {
        max_diff_lines: MAX_DIFF_LINES,
        ..kiln_diff::DiffOptions::default()
    };
    let good_name = good.display().to_string();
    let c: Classification =
        classify_files(name, good, &good_name, candidate, candidate_name, &opts);
    DistfileClassification {
        kind: match c.verdict {
            Verdict::ReRolled => ClassificationKind::ReRolled,
            Verdict::ContentChanged => ClassificationKind::ContentChanged,
            Verdict::Unreadable => ClassificationKind::Unreadable,
        },
        differs: c.differs,
        reason: c.reason,
        compared_with: Some(good_name),
        diff: c.diff,
    }
}

fn kind_label(kind: ClassificationKind) -> &'static str {
    match kind {
        ClassificationKind::ReRolled => "re-rolled",
        ClassificationKind::ContentChanged => "content-changed",
        ClassificationKind::Unreadable => "unreadable",
        ClassificationKind::NotCompared => "not-compared",
    }
}

/// A mismatch as text, indented under its line.
pub fn mismatch_text(out: &mut String, m: &DistfileMismatch) {
    let c = &m.classification;
    let _ = write!(out, "    {}", kind_label(c.kind));
    match c.kind {
        ClassificationKind::ReRolled => {
            let _ = writeln!(
                out,
                ": the same members with the same bytes; only the container differs: {}",
                if c.differs.is_empty() {
                    "nothing named".to_string()
                } else {
                    c.differs.join(", ")
                }
            );
        }
        ClassificationKind::ContentChanged => {
            let _ = writeln!(out, ": members added, removed or changed");
        }
        ClassificationKind::Unreadable | ClassificationKind::NotCompared => {
            let _ = writeln!(out, ": {}", c.reason.as_deref().unwrap_or(""));
        }
    }
    for d in &m.disagreements {
        let _ = writeln!(out, "      {d}");
    }
    if let Some(kept) = &m.kept_at {
        let _ = writeln!(out, "      kept apart at {kept}");
    }
    if c.kind == ClassificationKind::ContentChanged
        && let Some(diff) = &c.diff
    {
        for line in diff.render().lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
}

/// The whole report as text.
pub fn human(report: &DistfilesReport) -> String {
    let mut out = String::new();
    for f in &report.files {
        let status = match f.status {
            DistfileStatus::Cached => "cached",
            DistfileStatus::Fetched => "fetched",
            DistfileStatus::Failed => "FAILED",
            DistfileStatus::NotChecked => "not checked",
            DistfileStatus::Added => "added",
            DistfileStatus::Unchanged => "unchanged",
            DistfileStatus::Refused => "REFUSED (digests differ; --update replaces them)",
            DistfileStatus::Updated => "updated (digests differ)",
        };
        let _ = writeln!(out, "{}: {status}", f.name);
        if let Some(path) = &f.path {
            let _ = writeln!(out, "  {path}");
        }
        for s in &f.sites {
            match s.result {
                SiteResult::Good => {
                    let _ = writeln!(out, "  good      {}", s.url);
                }
                SiteResult::Skipped => {
                    let _ = writeln!(
                        out,
                        "  skipped   {} ({}): {}",
                        s.url,
                        s.skipped.as_deref().unwrap_or(""),
                        s.message.as_deref().unwrap_or("")
                    );
                }
                SiteResult::Mismatch => {
                    let _ = writeln!(out, "  MISMATCH  {}", s.url);
                    if let Some(m) = &s.mismatch {
                        mismatch_text(&mut out, m);
                    }
                }
            }
        }
        if let Some(m) = &f.mismatch {
            mismatch_text(&mut out, m);
        }
        if let Some(note) = &f.note {
            let _ = writeln!(out, "  {note}");
        }
    }
    out
}
