//! `cargo xtask diff A B`: the three-level answer of SPEC "Verification and
//! diffing" for two artifacts, or for two directories of them paired by file
//! name. The comparing is `kiln-diff`'s; this file pairs, prints and picks
//! the exit status (0 identical, 1 different, 2 unreadable). Unreadable
//! includes everything the bounded readers refuse (naming the entry: unsafe
//! paths and types, backslashes, bytes hidden in tar block padding, pax
//! records over their bounds, a compression ratio over the limit in some
//! window of the stream) and an archive that holds no file at all, which
//! `normalize` refuses with exit 2 too; two byte-identical files are
//! identical (exit 0) without being parsed.

use crate::flags::Diff;
use crate::{Mismatch, report};
use anyhow::{Result, bail};
use kiln_diff::{DiffOptions, DiffReport, Level, diff_files};
use kiln_names::ArtifactKind;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The artifacts directly in `dir`, sorted by name.
fn artifacts_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1).max_depth(1) {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_file() && ArtifactKind::from_file_name(&name).is_some() {
            names.insert(name);
        }
    }
    Ok(names)
}

/// One line of the result: a pair compared, or a file on one side only.
enum Outcome {
    Compared(Box<DiffReport>),
    OnlyIn { side: &'static str, name: String },
}

impl Diff {
    pub fn run(self) -> Result<()> {
        let options = DiffOptions {
            max_diff_lines: self.max_diff_lines,
            ..DiffOptions::default()
        };
        let mut outcomes = Vec::new();
        let pairs: Vec<(PathBuf, PathBuf)> = match (self.a.is_dir(), self.b.is_dir()) {
            (true, true) => {
                let a = artifacts_in(&self.a)?;
                let b = artifacts_in(&self.b)?;
                if a.is_empty() && b.is_empty() {
                    bail!(
                        "neither {} nor {} holds an sdist (.tar.gz) or a wheel (.whl)",
                        self.a.display(),
                        self.b.display()
                    );
                }
                for name in a.difference(&b) {
                    outcomes.push(Outcome::OnlyIn {
                        side: "A",
                        name: name.clone(),
                    });
                }
                for name in b.difference(&a) {
                    outcomes.push(Outcome::OnlyIn {
                        side: "B",
                        name: name.clone(),
                    });
                }
                a.intersection(&b)
                    .map(|n| (self.a.join(n), self.b.join(n)))
                    .collect()
            }
            (false, false) => {
                for p in [&self.a, &self.b] {
                    if !p.is_file() {
                        bail!("{}: no such file or directory", p.display());
                    }
                }
                vec![(self.a.clone(), self.b.clone())]
            }
            _ => bail!(
                "{} and {} must both be files or both be directories",
                self.a.display(),
                self.b.display()
            ),
        };
        for (a, b) in &pairs {
            let report = diff_files(
                a,
                b,
                &a.display().to_string(),
                &b.display().to_string(),
                &options,
            )?;
            outcomes.push(Outcome::Compared(Box::new(report)));
        }

        let identical = outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Compared(r) if r.level == Level::Identical));
        if self.json {
            let results = outcomes
                .iter()
                .map(|o| match o {
                    Outcome::Compared(r) => kiln_report::DiffResult::Pair { pair: r.clone() },
                    Outcome::OnlyIn { side, name } => kiln_report::DiffResult::OnlyIn {
                        only_in: side.to_string(),
                        file: name.clone(),
                    },
                })
                .collect();
            report::json(kiln_report::Report::Diff(kiln_report::DiffCommandReport {
                schema: kiln_report::Version,
                a: self.a.clone(),
                b: self.b.clone(),
                identical,
                results,
            }));
        } else {
            for o in &outcomes {
                match o {
                    Outcome::Compared(r) => report::eprint(&r.render()),
                    Outcome::OnlyIn { side, name } => {
                        let name = kiln_diff::escape::escape(name);
                        report::eprint(&format!("{name}: only in {side}\n"));
                    }
                }
            }
        }
        if identical {
            Ok(())
        } else {
            let different = outcomes
                .iter()
                .filter(|o| !matches!(o, Outcome::Compared(r) if r.level == Level::Identical))
                .count();
            Err(Mismatch(format!("{different} of {} differ", outcomes.len())).into())
        }
    }
}
