//! `cargo xtask mirror`: gathers the inputs (dist directories and
//! wheelhouses read by `kiln-mirror` against their SHA256SUMS; upstream
//! wheels fetched by `kiln-fetch`, their sha256 checked against the
//! index's or the URL's before anything opens them), applies the shadow
//! rule, has `kiln-mirror` recompress, prove and publish, and reports.

use anyhow::{Context as _, Result, bail};
use kiln_mirror::{Entry, Mirror, MirrorError, Zopfli};
use kiln_report::{MirrorFile, MirrorOriginal, MirrorReport, MirrorSource};
use std::path::Path;

use crate::{Mismatch, flags, report};

mod upstream;

use upstream::{download_checked, from_index, url_file_name};

/// Wheels fetched from upstream are at most this large.
pub(super) const MAX_DOWNLOAD: u64 = kiln_mirror::MAX_FILE;

/// A proof failure becomes a `Mismatch` (exit 1); anything else is bad input.
pub(super) fn lift(e: MirrorError) -> anyhow::Error {
    if e.is_proof_failure() {
        anyhow::Error::new(Mismatch(e.to_string()))
    } else {
        e.into()
    }
}

/// `[mirror] zopfli-iterations` from pinned-toolchain.toml.
fn zopfli_pin(root: &Path) -> Result<Zopfli> {
    let iterations = crate::pins::Pins::load(root)?
        .zopfli_iterations
        .with_context(|| {
            format!(
                "{}: no [mirror] table: add `zopfli-iterations` (1 to 1000 passes)",
                crate::pins::PINS_TOML
            )
        })?;
    Ok(Zopfli { iterations })
}

pub(super) struct Run {
    mirror: Mirror,
    files: Vec<MirrorFile>,
    pub(super) shadowed: Vec<String>,
    pub(super) tag: String,
    zopfli: Zopfli,
}

impl Run {
    fn add(
        &mut self,
        entry: Entry,
        source: MirrorSource,
        original: Option<MirrorOriginal>,
    ) -> Result<()> {
        self.files.push(MirrorFile {
            filename: entry.filename.clone(),
            sha256: entry.sha256.clone(),
            size: entry.bytes.len() as u64,
            source,
            added: true,
            original,
        });
        self.mirror.add(entry).map_err(lift)
    }

    /// Recompresses `bytes` (already checked against `sha256` by the
    /// caller, and again here before parsing); `listed` is the original's
    /// entry on its upstream index, whose yanking and upload time it keeps.
    pub(super) fn recompress(
        &mut self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        listed: Option<&kiln_index::IndexFile>,
    ) -> Result<()> {
        let wheel =
            kiln_mirror::recompress(name, bytes, sha256, &self.tag, self.zopfli).map_err(lift)?;
        let original = MirrorOriginal {
            filename: wheel.original_filename.clone(),
            sha256: wheel.original_sha256.clone(),
            size: wheel.original_size,
        };
        let mut entry = Entry::recompressed(wheel).map_err(lift)?;
        if let Some(listed) = listed {
            upstream::keep_listing(&mut entry, listed);
        }
        self.add(entry, MirrorSource::Recompressed, Some(original))
    }
}

impl flags::Mirror {
    pub fn run(self) -> Result<()> {
        let root = crate::project_root()?;
        kiln_mirror::check_build_tag(&self.build_tag)
            .map_err(|reason| anyhow::anyhow!("--build-tag {:?}: {reason}", self.build_tag))?;
        if self.from.is_empty()
            && self.wheelhouses.is_empty()
            && self.recompress.is_empty()
            && self.recompress_from_index.is_none()
        {
            bail!(
                "nothing to mirror: give --from, --wheelhouse, --recompress or --recompress-from-index"
            );
        }
        if let Some(keys) = &self.tuf_keys {
            crate::tuf_keys::check_outside(keys, &self.out)?;
            if !self.out.join("metadata/1.root.json").is_file() {
                bail!(
                    "--tuf-keys: {} has no TUF metadata (metadata/1.root.json); run `cargo xtask tuf init {} --keys {}` first",
                    self.out.display(),
                    self.out.display(),
                    keys.display()
                );
            }
        }
        let mut run = Run {
            mirror: Mirror::new(&self.out),
            files: Vec::new(),
            shadowed: Vec::new(),
            tag: self.build_tag.clone(),
            zopfli: zopfli_pin(&root)?,
        };
        for (dirs, source) in [
            (&self.from, MirrorSource::Release),
            (&self.wheelhouses, MirrorSource::Wheelhouse),
        ] {
            for dir in dirs {
                for file in kiln_mirror::read_sums_dir(dir).map_err(lift)? {
                    let entry = Entry::distribution(&file.filename, file.bytes, &file.sha256)
                        .map_err(lift)?;
                    run.add(entry, source, None)?;
                }
            }
        }
        let downloads = tempfile::tempdir().context("could not create a temporary directory")?;
        for item in &self.recompress {
            if item.starts_with("http://") || item.starts_with("https://") {
                let name = url_file_name(item)?;
                let Some((_, sha256)) = item.split_once("#sha256=") else {
                    bail!(
                        "{item}: a URL to recompress must end in #sha256=<hex>, the digest it is checked against before it is opened"
                    );
                };
                let bytes = download_checked(item, downloads.path(), &name, sha256)?;
                run.recompress(&name, &bytes, sha256, None)?;
            } else {
                let path = Path::new(item);
                let bytes = kiln_mirror::read_regular(path, MAX_DOWNLOAD).map_err(lift)?;
                let name = url_file_name(item)?;
                let sha256 = kiln_mirror::sha256_hex(&bytes);
                run.recompress(&name, &bytes, &sha256, None)?;
            }
        }
        if let Some(index) = &self.recompress_from_index {
            for spec in &self.projects {
                from_index(&mut run, index, spec, downloads.path())?;
            }
        }
        let published = run.mirror.publish().map_err(lift)?;
        for file in &mut run.files {
            file.added = published.added.contains(&file.filename);
        }
        print_table(&run.files);
        if let Some(keys) = &self.tuf_keys {
            let changed = published.changed_paths(&self.out);
            let updated = crate::tuf_keys::update_targets(
                &self.out,
                keys,
                &changed,
                crate::tuf_keys::now(None),
            )?;
            report::eprint(&format!(
                "TUF: {} targets signed again; {} metadata files written\n",
                changed.len(),
                updated.written.len()
            ));
        }
        for name in &run.shadowed {
            report::warn(&format!(
                "{name}: upstream publishes a file of this name; serving upstream's, not the recompressed one"
            ));
        }
        report::eprint(&format!(
            "{}: {} projects, {} files; pages written: {}\n",
            self.out.display(),
            published.projects,
            published.files,
            published.pages_written.len()
        ));
        if self.json {
            report::json(kiln_report::Report::Mirror(MirrorReport {
                schema: kiln_report::Version,
                out: self.out.clone(),
                build_tag: self.build_tag.clone(),
                files: run.files,
                shadowed: run.shadowed,
                pages_written: published.pages_written,
                projects: published.projects,
                total_files: published.files,
            }));
        }
        Ok(())
    }
}

fn print_table(files: &[MirrorFile]) {
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            let (original, saved) = match &f.original {
                Some(o) => (
                    report::human_size(o.size),
                    format!(
                        "{:.1}%",
                        100.0 * (o.size as f64 - f.size as f64) / o.size.max(1) as f64
                    ),
                ),
                None => ("-".into(), "-".into()),
            };
            vec![
                f.filename.clone(),
                format!("{:?}", f.source).to_lowercase(),
                report::human_size(f.size),
                original,
                saved,
                if f.added {
                    "added".into()
                } else {
                    "unchanged".into()
                },
            ]
        })
        .collect();
    report::eprint(&report::table(
        &["file", "source", "size", "original", "saved", "state"],
        &rows,
    ));
}
