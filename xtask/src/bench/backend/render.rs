//! The backend part's output: the table on stderr, the `--json` values,
//! and the verdict of each peer's target over the corpus.

use super::{ProjectReport, Tool};
use crate::bench::{secs, stats};
use crate::report;
use std::time::Duration;

/// The geometric mean; `None` for no values or a non-positive one.
pub(super) fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|&v| v <= 0.0 || !v.is_finite()) {
        return None;
    }
    let mean_log = values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64;
    Some(mean_log.exp())
}

/// A peer's target over the corpus.
#[derive(Debug, PartialEq)]
pub(super) struct Verdict {
    /// Geometric mean of peer median / kiln median, over the projects both built.
    pub(super) geomean: Option<f64>,
    /// Projects compared, and those meeting the target on their own.
    pub(super) compared: usize,
    pub(super) meeting: usize,
}

impl Verdict {
    pub(super) fn met(&self, peer: Tool) -> Option<bool> {
        self.geomean.map(|g| g >= peer.target())
    }
}

pub(super) fn verdict(ratios: &[f64], peer: Tool) -> Verdict {
    Verdict {
        geomean: geomean(ratios),
        compared: ratios.len(),
        meeting: ratios.iter().filter(|&&r| r >= peer.target()).count(),
    }
}

fn ratios(reports: &[ProjectReport], peer: Tool) -> Vec<f64> {
    reports.iter().filter_map(|r| r.ratio(peer)).collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

pub(super) fn human(reports: &[ProjectReport], runs: usize) -> String {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for r in reports {
        let project = format!("{} {}", r.project.name, r.project.version);
        let backend = r
            .lock
            .as_ref()
            .map_or_else(String::new, |l| l.build_backend.clone());
        if let Some(e) = &r.lock_error {
            rows.push(vec![
                project.clone(),
                backend,
                "kiln lock".into(),
                report::bad("failed"),
                first_line(e).to_string(),
                String::new(),
            ]);
            errors.push(format!("{project}, kiln lock: {e}"));
            continue;
        }
        for (i, m) in r.results.iter().enumerate() {
            let (project, backend) = if i == 0 {
                (project.clone(), backend.clone())
            } else {
                (String::new(), String::new())
            };
            let row = match (&m.error, m.median()) {
                (Some(e), _) => {
                    errors.push(format!("{}, {}: {e}", r.project.name, m.tool.label()));
                    vec![
                        project,
                        backend,
                        m.tool.label().into(),
                        report::bad("failed"),
                        first_line(e).to_string(),
                        String::new(),
                    ]
                }
                (None, median) => {
                    let (median, min, max) = (
                        median.unwrap_or_default(),
                        stats(&m.times).1,
                        stats(&m.times).2,
                    );
                    let vs = if m.tool == Tool::Kiln {
                        "1.00x".to_string()
                    } else {
                        r.ratio(m.tool)
                            .map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x"))
                    };
                    vec![
                        project,
                        backend,
                        m.tool.label().into(),
                        secs(median),
                        format!("{}–{}", secs(min), secs(max)),
                        vs,
                    ]
                }
            };
            rows.push(row);
        }
    }
    let mut text = format!(
        "\nbackend mode on the corpus, warm caches ({runs} run{} after 1 warm-up; ratio = tool median / kiln median, >1 means kiln is faster)\n",
        if runs == 1 { "" } else { "s" }
    );
    text.push_str(&report::table(
        &[
            "project",
            "build-backend",
            "tool",
            "median",
            "min–max",
            "vs kiln",
        ],
        &rows,
    ));
    let mut summary = Vec::new();
    for peer in Tool::PEERS {
        let v = verdict(&ratios(reports, peer), peer);
        let verdict_text = match v.met(peer) {
            Some(true) => report::ok("met"),
            Some(false) => report::bad("not met"),
            None => "n/a (nothing compared)".to_string(),
        };
        summary.push(vec![
            peer.label().to_string(),
            v.geomean
                .map_or_else(|| "n/a".to_string(), |g| format!("{g:.2}x")),
            format!("≥ {:.0}x", peer.target()),
            verdict_text,
            format!("{}/{}", v.meeting, v.compared),
        ]);
    }
    text.push_str(&format!(
        "\ntargets over {} project(s) (geometric mean of the ratios; printed, not asserted):\n",
        reports.len()
    ));
    text.push_str(&report::table(
        &[
            "peer",
            "geomean",
            "target",
            "verdict",
            "projects meeting it",
        ],
        &summary,
    ));
    if !errors.is_empty() {
        text.push_str("\nerrors:\n");
        for e in errors {
            text.push_str(&format!("- {e}\n"));
        }
    }
    text
}

pub(super) fn project_report(r: &ProjectReport) -> kiln_report::BenchProject {
    let results = r
        .results
        .iter()
        .map(|m| {
            let (median, min, max) = stats(&m.times);
            let ok = m.median().is_some();
            kiln_report::BenchProjectResult {
                tool: m.tool.key().to_owned(),
                label: m.tool.label().to_owned(),
                median_seconds: ok.then_some(median.as_secs_f64()),
                min_seconds: ok.then_some(min.as_secs_f64()),
                max_seconds: ok.then_some(max.as_secs_f64()),
                times_seconds: m.times.iter().map(Duration::as_secs_f64).collect(),
                ratio_to_kiln: r.ratio(m.tool).filter(|_| m.tool != Tool::Kiln),
                error: m.error.clone(),
                artifacts: m.artifacts.clone(),
            }
        })
        .collect();
    kiln_report::BenchProject {
        name: r.project.name.clone(),
        version: r.project.version.clone(),
        sdist: r.project.sdist.clone(),
        build_backend: r.lock.as_ref().map(|l| l.build_backend.clone()),
        constraints: r.lock.as_ref().map(|l| l.pins()),
        lock_error: r.lock_error.clone(),
        results,
    }
}

pub(super) fn target_report(reports: &[ProjectReport], peer: Tool) -> kiln_report::BenchTarget {
    let v = verdict(&ratios(reports, peer), peer);
    kiln_report::BenchTarget {
        tool: peer.key().to_owned(),
        label: peer.label().to_owned(),
        ratio_at_least: peer.target(),
        geometric_mean_ratio: v.geomean,
        met: v.met(peer),
        projects_compared: v.compared,
        projects_meeting: v.meeting,
    }
}
