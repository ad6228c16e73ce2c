//! `rebuild`'s answer: the human table (inferences, artifacts, or one row
//! per release of a `--list` census with the totals), the JSON report, the
//! exit status (0 only if every published copy compared is byte-identical
//! and nothing failed), and a failed release's row. The statuses and
//! totals are kiln-report's, a failure's cause class kiln-pep517's.

use crate::{Mismatch, report};
use anyhow::Result;
use kiln_diff::Level;
use kiln_diff::escape::escape;
use kiln_report::{RebuildFailure, RebuildReport, RebuildTotals, RebuiltRelease, ReleaseStatus};

fn label(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::ByteIdentical => "byte-identical",
        ReleaseStatus::ContainerOnly => "same content, container differs",
        ReleaseStatus::ContentDiffers => "content differs",
        ReleaseStatus::NotCompared => "nothing published to compare",
        ReleaseStatus::Failed => "failed to build",
    }
}

fn level_label(level: Level) -> &'static str {
    match level {
        Level::Identical => "byte-identical",
        Level::SameContent => "same content, container differs",
        Level::DifferentContent => "content differs",
    }
}

/// Print (table or JSON) and decide the exit status.
pub fn finish(releases: Vec<RebuiltRelease>, json: bool, census: bool) -> Result<()> {
    let totals = RebuildTotals::of(&releases);
    let identical = totals.identical();
    if json {
        report::json(kiln_report::Report::Rebuild(RebuildReport {
            schema: kiln_report::Version,
            identical,
            releases: releases.clone(),
            totals: totals.clone(),
        }));
    } else if census {
        let rows: Vec<Vec<String>> = releases
            .iter()
            .map(|r| {
                let value = |i: &Option<kiln_report::Inference>| {
                    i.as_ref()
                        .map_or("-".into(), |i| escape(&i.value).into_owned())
                };
                vec![
                    escape(&r.source).into_owned(),
                    value(&r.backend),
                    value(&r.epoch),
                    if r.not_rebuilt.is_empty() {
                        label(r.status).to_string()
                    } else {
                        format!(
                            "{} ({} published copy(ies) not rebuilt here)",
                            label(r.status),
                            r.not_rebuilt.len()
                        )
                    },
                    r.failure
                        .as_ref()
                        .map_or(String::new(), |f| f.class.clone()),
                ]
            })
            .collect();
        report::eprint(&report::table(
            &["release", "backend", "epoch", "result", "cause"],
            &rows,
        ));
        let by_class: Vec<String> = totals
            .failed_by_class
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        report::eprint(&format!(
            "{} release(s): {} byte-identical, {} container only, {} content differs, {} not compared, {} failed to build{}\n",
            totals.releases,
            totals.byte_identical,
            totals.container_only,
            totals.content_differs,
            totals.not_compared,
            totals.failed,
            if by_class.is_empty() {
                String::new()
            } else {
                format!(" ({})", by_class.join(", "))
            }
        ));
    } else {
        let mut rows = Vec::new();
        for r in &releases {
            for a in &r.artifacts {
                if a.comparisons.is_empty() {
                    rows.push(vec![
                        escape(&a.filename).into_owned(),
                        "-".into(),
                        "not published".into(),
                    ]);
                }
                for c in &a.comparisons {
                    rows.push(vec![
                        escape(&a.filename).into_owned(),
                        escape(&c.published).into_owned(),
                        level_label(c.level).to_string(),
                    ]);
                    if let Some(diff) = &c.diff {
                        report::eprint(&diff.render());
                    }
                }
            }
            for p in &r.not_rebuilt {
                rows.push(vec![
                    "-".into(),
                    escape(p).into_owned(),
                    "not rebuilt here (another Python or platform)".into(),
                ]);
            }
        }
        report::eprint(&report::table(&["artifact", "published", "result"], &rows));
    }
    if identical {
        Ok(())
    } else {
        Err(Mismatch(format!(
            "{} of {} release(s) not byte-identical",
            totals.not_identical(),
            totals.releases
        ))
        .into())
    }
}

/// A release of a census that could not be rebuilt, with its cause class.
pub fn failed(source: &str, e: &anyhow::Error) -> RebuiltRelease {
    let class = e
        .chain()
        .find_map(|c| c.downcast_ref::<kiln_pep517::Pep517Error>()?.cause_class())
        .unwrap_or(if e.chain().any(|c| c.is::<Mismatch>()) {
            "not-reproducible"
        } else {
            "input"
        });
    RebuiltRelease {
        source: source.to_string(),
        status: ReleaseStatus::Failed,
        backend: None,
        epoch: None,
        lock: None,
        artifacts: vec![],
        not_rebuilt: vec![],
        failure: Some(RebuildFailure {
            class: class.to_string(),
            message: format!("{e:#}"),
        }),
    }
}
