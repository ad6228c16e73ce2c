//! The outcome of verify: the summary table and explanations for a reader,
//! or the `kiln-report` JSON with `--json`.

use super::{Check, Status};
use crate::flags::{Mode, Verify};
use crate::report;
use kiln_diff::Level;
use kiln_diff::escape::escape;
use kiln_names::Epoch;

impl Verify {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn summarize(
        &self,
        name: &str,
        version: &str,
        git_ref: &str,
        commit: &str,
        mode: Mode,
        epoch: Epoch,
        notes: &[String],
        checks: &[Check],
        ok: bool,
    ) {
        if self.json {
            use kiln_report::CheckStatus as S;
            let checks = checks
                .iter()
                .map(|c| {
                    let (status, sha256, diff, detail) = match &c.status {
                        Status::Match => (S::Match, None, None, None),
                        Status::Differs {
                            sha256: h,
                            explanation: x,
                        } => (S::Differs, Some(h.clone()), x.clone().ok(), x.clone().err()),
                        Status::Missing(d) => (S::Missing, None, None, Some(d.clone())),
                        Status::Failed(d) => (S::Error, None, None, Some(d.clone())),
                        Status::Disagrees(d) => (S::Disagrees, None, None, Some(d.clone())),
                    };
                    kiln_report::VerifyCheck {
                        source: c.source.clone(),
                        source_kind: kiln_report::SourceKind::named(c.source_kind),
                        artifact: c.artifact.clone(),
                        status,
                        sha256,
                        diff,
                        detail,
                    }
                })
                .collect();
            report::json(kiln_report::Report::Verify(kiln_report::VerifyReport {
                schema: kiln_report::Version,
                project: name.to_string(),
                version: version.to_string(),
                git_ref: git_ref.to_string(),
                commit: commit.to_string(),
                mode,
                faithful: self.faithful,
                epoch: epoch.seconds(),
                notes: notes.to_vec(),
                checks,
                verified: ok,
            }));
            return;
        }
        for note in notes {
            report::warn(note);
        }
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| {
                vec![
                    c.artifact.clone(),
                    c.source.clone(),
                    match c.status {
                        Status::Match => report::ok("match"),
                        _ => report::bad(c.status.word()),
                    },
                ]
            })
            .collect();
        report::eprint("\n");
        report::eprint(&report::table(&["artifact", "against", "result"], &rows));
        for c in checks {
            match &c.status {
                Status::Match => {}
                Status::Missing(d) | Status::Failed(d) | Status::Disagrees(d) => {
                    report::eprint(&heading(c, Some(d)));
                }
                Status::Differs { explanation, .. } => {
                    report::eprint(&heading(c, None));
                    match explanation {
                        Ok(r) => {
                            if self.faithful && r.level == Level::SameContent {
                                report::eprint(
                                    "bytes differ (faithful verification requires identical bytes); \
                                     content comparison: the same files, in another container\n",
                                );
                            }
                            report::eprint(&r.render());
                        }
                        Err(e) => report::eprint(&format!("{}\n", escape_lines(e))),
                    }
                }
            }
        }
        if ok {
            report::step(&format!(
                "verified {name} {version}: {git_ref} ({}) rebuilds to the recorded bytes{}",
                &commit[..commit.len().min(12)],
                if checks.iter().any(|c| c.source_kind != "rebuild") {
                    ", and every published copy matches"
                } else {
                    ""
                }
            ));
        }
    }
}

/// The line that introduces one check's explanation: `ARTIFACT from
/// SOURCE:`, then the detail when there is one. The artifact and the
/// source come from outside (a directory listing, a URL, an index page)
/// and are escaped whole; the detail is escaped line by line, keeping the
/// lines verify itself puts in it (one per disagreeing statement), so no
/// control character in any of them can forge or rewrite a line of the
/// report.
fn heading(c: &Check, detail: Option<&str>) -> String {
    let (artifact, source) = (escape(&c.artifact), escape(&c.source));
    match detail {
        Some(d) => format!("\n{artifact} from {source}: {}\n", escape_lines(d)),
        None => format!("\n{artifact} from {source}:\n"),
    }
}

/// Each line of `text` escaped, the lines joined as they were.
fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(artifact: &str, source: &str) -> Check {
        Check {
            source: source.into(),
            source_kind: "url",
            artifact: artifact.into(),
            status: Status::Match,
        }
    }

    #[test]
    fn plain_heading_is_unchanged() {
        let c = check("demo-1.0.tar.gz", "https://example.org/dist");
        assert_eq!(
            heading(&c, Some("demo-1.0.tar.gz: not found")),
            "\ndemo-1.0.tar.gz from https://example.org/dist: demo-1.0.tar.gz: not found\n"
        );
        assert_eq!(
            heading(&c, None),
            "\ndemo-1.0.tar.gz from https://example.org/dist:\n"
        );
    }

    #[test]
    fn a_newline_in_the_source_cannot_forge_a_line() {
        let c = check(
            "demo-1.0.tar.gz",
            "evil\ndemo-1.0.tar.gz from elsewhere: match",
        );
        let text = heading(&c, Some("x"));
        assert_eq!(
            text.lines().filter(|l| !l.is_empty()).count(),
            1,
            "{text:?}"
        );
        assert!(
            !text.contains("\ndemo-1.0.tar.gz from elsewhere"),
            "{text:?}"
        );
    }

    #[test]
    fn control_characters_in_the_detail_are_escaped_but_its_lines_kept() {
        let c = check("demo-1.0.tar.gz", "dir");
        let text = heading(&c, Some("first\x1b[2J\rsecond\nthird"));
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert_eq!(text.trim().lines().count(), 2, "{text:?}");
    }
}
