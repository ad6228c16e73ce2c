//! `cargo xtask normalize FILE... --out DIR`: rewrite sdists and wheels made
//! by any tool into kiln's canonical container (`kiln-canon`, streaming:
//! memory is bounded by one member, not the archive). Each output is
//! written to a locked temporary file in DIR and renamed into place
//! (`kiln_fs::publish::AtomicFile`), so a failure leaves nothing
//! half-written, and what a killed run left in DIR is removed by the next
//! one; an input that cannot be read is named with
//! the entry at fault and nothing is written for it (exit 2). Nothing in an
//! input is dropped silently: bytes hidden in a tar member's block padding
//! are refused, not lost; an archive with no file is refused, as `diff`
//! refuses it. What real tools add around the content -- zeros after the
//! gzip stream or the tar end blocks, 65,535 zip members -- is accepted
//! within the bounds of `kiln_archive::Limits`.

use crate::flags::Normalize;
use crate::{epoch, pins::Pins, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_archive::Limits;
use kiln_canon::file::{Job, Normalized, normalize_files};
use kiln_digest::Digests;
use kiln_names::{ArtifactKind, Epoch};
use std::path::Path;

struct Done {
    input: String,
    output: String,
    before: Digests,
    after: Digests,
}

impl Normalize {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let seconds = match self.source_date_epoch {
            Some(n) => Some(n),
            None => epoch::from_environment()?,
        };
        let epoch = seconds.map_or(Epoch::MIN, Epoch::clamped);
        let limits = Limits::default();
        // Refuse up front what cannot work, before writing anything.
        let mut names = std::collections::BTreeSet::new();
        for file in &self.files {
            let name = file_name(file)?;
            if ArtifactKind::from_file_name(&name).is_none() {
                bail!(
                    "{}: not an sdist (.tar.gz) or a wheel (.whl): normalize only knows those",
                    file.display()
                );
            }
            if !names.insert(name.clone()) {
                bail!(
                    "{name} is given twice: both would be written to {}",
                    self.out.join(&name).display()
                );
            }
        }
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("failed to create {}", self.out.display()))?;
        kiln_fs::publish::clean_stale(&self.out)?;

        // Files are normalized concurrently (inflating one overlaps with
        // compressing another); each output is still written atomically,
        // and results are reported in the order given.
        let bar = report::progress(self.files.len() as u64, "normalizing");
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = (self.files.iter())
            .map(|file| {
                let name = file_name(file)?;
                let kind = ArtifactKind::from_file_name(&name).context("checked above")?;
                Ok((file.clone(), kind, self.out.join(&name)))
            })
            .collect::<Result<Vec<Job>>>()?;
        let results = normalize_files(&jobs, workers, epoch, pins.deflate, &limits, &|| bar.inc(1));
        bar.finish_and_clear();
        let mut done = Vec::new();
        for ((input, _, target), result) in jobs.iter().zip(results) {
            let Normalized { before, after } = result?;
            done.push(Done {
                input: input.display().to_string(),
                output: target.display().to_string(),
                before,
                after,
            });
        }

        if self.json {
            report::json(kiln_report::Report::Normalize(
                kiln_report::NormalizeReport {
                    schema: kiln_report::Version,
                    epoch: epoch.seconds(),
                    files: done
                        .iter()
                        .map(|n| kiln_report::NormalizedFile {
                            input: n.input.clone(),
                            output: n.output.clone(),
                            sha256_before: n.before.sha256_hex(),
                            sha256_after: n.after.sha256_hex(),
                            size_before: n.before.size,
                            size_after: n.after.size,
                            changed: n.before.sha256 != n.after.sha256,
                        })
                        .collect(),
                },
            ));
        } else {
            let rows: Vec<Vec<String>> = done
                .iter()
                .map(|n| {
                    vec![
                        n.output.clone(),
                        report::human_size(n.after.size),
                        n.after.sha256_hex(),
                        if n.before.sha256 == n.after.sha256 {
                            report::ok("already canonical")
                        } else {
                            "rewritten".to_string()
                        },
                    ]
                })
                .collect();
            report::eprint(&report::table(
                &["normalized", "size", "sha256", "container"],
                &rows,
            ));
        }
        Ok(())
    }
}

fn file_name(file: &Path) -> Result<String> {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{}: not a file name", file.display()))
}
