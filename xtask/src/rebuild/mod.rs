//! `cargo xtask rebuild SOURCE`: rebuild anyone's release with what its
//! publisher used and compare every published copy. The inference is
//! `kiln-infer`'s (backend from the published wheel's Generator, epoch from
//! the containers), the builds `kiln-pep517`'s, faithful (the backend's own
//! bytes): an sdist's wheel is built from that sdist as pip does; a project
//! directory (or a clean checkout of `--ref`) gives both. `published.rs`
//! finds the copies and compares them (digest first, then `kiln-diff`);
//! `census.rs` prints and totals. With `--list`, one failure is a row,
//! not the end.

mod census;
mod published;
mod source;

use crate::flags::Rebuild;
use crate::pins::Pins;
use crate::{Mismatch, engine, project_root};
use anyhow::{Context, Result, bail};
use kiln_archive::Limits;
use kiln_infer::{choose_epoch, infer_backend, sdist_times, wheel_times};
use kiln_names::Epoch;
use kiln_report::{Inference, RebuiltArtifact, RebuiltRelease};
use published::{Published, compare, gather};
use source::{Source, locate, read_capped};
use std::path::Path;

impl Rebuild {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let sources = match (&self.list, &self.source) {
            (Some(list), _) => kiln_verify::list::read_list(list)?,
            (None, Some(source)) => vec![source.clone()],
            (None, None) => bail!("give SOURCE or --list FILE"),
        };
        if let Some(c) = &self.constraints
            && !c.is_file()
        {
            bail!("--constraints {}: no such file", c.display());
        }
        kiln_infer::choose_epoch(self.epoch.as_deref(), None, None, None).context("--epoch")?;
        let mut releases = Vec::new();
        for source in &sources {
            match self.one(&root, &pins, source) {
                Ok(release) => releases.push(release),
                Err(e) if self.list.is_some() => {
                    crate::report::error(&format!("{source}: {e:#}"));
                    releases.push(census::failed(source, &e));
                }
                Err(e) => {
                    let not_reproducible = e.chain().any(|c| {
                        matches!(
                            c.downcast_ref::<kiln_pep517::Pep517Error>(),
                            Some(kiln_pep517::Pep517Error::NotReproducible { .. })
                        )
                    });
                    if not_reproducible {
                        return Err(Mismatch(format!("{e:#}")).into());
                    }
                    return Err(e);
                }
            }
        }
        census::finish(releases, self.json, self.list.is_some())
    }

    /// Rebuild one SOURCE; an error is this release's failure.
    fn one(&self, root: &Path, pins: &Pins, source: &str) -> Result<RebuiltRelease> {
        let tmp = tempfile::Builder::new().prefix("kiln-rebuild-").tempdir()?;
        let out = match &self.out {
            Some(out) => out.clone(),
            None => tmp.path().join("out"),
        };
        let settings = engine::pep517_settings(root, pins)?;
        let limits = Limits::default();
        let (source_kind, release) = locate(source, self.git_ref.as_deref(), tmp.path())?;
        let project = release.0.clone();
        let mut found = gather(&self.against, &self.index, &release, &project, tmp.path())?;
        let release = match release.1 {
            Some(version) => (release.0, version),
            None => {
                let names = found.iter().map(|p| p.filename.as_str());
                let version =
                    kiln_infer::published_version(names, &project, self.git_ref.as_deref())?;
                found.retain(|p| {
                    kiln_names::filename_release(&p.filename).is_some_and(|(_, v)| v == version)
                });
                (release.0, version)
            }
        };
        let stem = format!("{}-{}", release.0, release.1);

        // What the publisher used: the wheel names the backend; the
        // containers show the epoch.
        let wheel = kiln_infer::wheel_to_read(found.iter().map(|p| p.filename.as_str()))
            .and_then(|f| found.iter().find(|p| p.filename == f));
        let mut backend = None;
        let mut wtimes = None;
        if let Some(w) = wheel {
            let bytes = read_capped(&w.path)?;
            backend = infer_backend(&w.filename, &bytes, &limits)?;
            wtimes = Some(wheel_times(&w.filename, &bytes, &limits)?);
        }
        let sdist_path = match &source_kind {
            Source::Sdist { path, filename } => Some((filename.clone(), path.clone())),
            Source::Project(_) => found
                .iter()
                .find(|p| p.filename.ends_with(".tar.gz"))
                .map(|p| (p.filename.clone(), p.path.clone())),
        };
        let stimes = match &sdist_path {
            Some((name, path)) => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                Some(sdist_times(name, std::io::BufReader::new(file), &limits)?)
            }
            None => None,
        };
        let dist = backend.as_ref().map(|b| b.distribution.as_str());
        let chosen = choose_epoch(
            self.epoch.as_deref(),
            wtimes.as_ref(),
            stimes.as_ref(),
            dist,
        )?;
        let epoch = chosen.epoch();
        let epoch_report = Inference {
            value: epoch.map_or("unset".into(), |e| e.seconds().to_string()),
            how: chosen.how.to_string(),
            evidence: chosen.evidence,
        };
        let (constraints, backend_report) = match (&self.constraints, &backend) {
            (Some(c), _) => (
                Some(c.clone()),
                Some(Inference::given(&c.display().to_string(), "--constraints")),
            ),
            (None, Some(b)) => {
                let file = tmp.path().join("constraints.txt");
                std::fs::write(&file, format!("{}\n", b.constraint()))?;
                let evidence = format!("{}: Generator: {}", b.evidence, b.generator);
                (
                    Some(file),
                    Some(Inference::inferred(&b.constraint(), &evidence)),
                )
            }
            (None, None) => match published::as_of(&found, &source_kind)? {
                Some((lines, evidence)) => {
                    let file = tmp.path().join("constraints.txt");
                    std::fs::write(&file, format!("{}\n", lines.join("\n")))?;
                    (
                        Some(file),
                        Some(Inference::inferred(&lines.join(", "), &evidence)),
                    )
                }
                None => (None, None),
            },
        };
        for i in backend_report.iter().chain([&epoch_report]) {
            crate::report::step(&kiln_diff::escape::escape(&format!(
                "{stem}: {} {} ({})",
                i.how, i.value, i.evidence
            )));
        }

        let lock_path = out.join(format!("{stem}.lock.toml"));
        let (built, lock_text): (Vec<(String, Vec<u8>)>, String) = match &source_kind {
            Source::Sdist { filename, path } => {
                let bytes = read_capped(path)?;
                let lock = kiln_pep517::resolve_sdist_lock(
                    &settings,
                    filename,
                    &bytes,
                    constraints.as_deref(),
                )?;
                let request = kiln_pep517::SdistRequest {
                    sdist_name: filename,
                    sdist: &bytes,
                    lock: &lock,
                    lock_path: &lock_path,
                    source_date_epoch: epoch,
                };
                let wheel = kiln_pep517::build_wheel_from_sdist(&settings, &request)?;
                let built = vec![(filename.clone(), bytes), (wheel.wheel_name, wheel.wheel)];
                (built, lock.render())
            }
            Source::Project(dir) => {
                let bs = engine::build_system(dir)?;
                let lock = kiln_pep517::resolve_lock(
                    &settings,
                    dir,
                    &bs,
                    constraints.as_deref(),
                    Epoch::MIN,
                )?;
                let request = kiln_pep517::BuildRequest {
                    dir,
                    build_system: &bs,
                    lock: &lock,
                    lock_path: &lock_path,
                    epoch: epoch.unwrap_or(Epoch::MIN),
                    deflate: pins.deflate,
                    faithful: true,
                };
                let b = kiln_pep517::build_with_epoch(&settings, &request, epoch)?;
                let built = vec![(b.sdist_name, b.sdist), (b.wheel_name, b.wheel)];
                (built, lock.render())
            }
        };
        let mut artifacts = Vec::new();
        for (filename, _) in &built {
            published::fetch_named(&self.against, filename, tmp.path(), &mut found)?;
        }
        // Only a finished rebuild writes anything to --out.
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;
        kiln_fs::publish::write_atomic(&lock_path, lock_text.as_bytes())?;
        for (filename, bytes) in built {
            let path = out.join(&filename);
            kiln_fs::publish::write_atomic(&path, &bytes)?;
            let sha256 = kiln_digest::hex(&kiln_digest::sha256(&bytes));
            let comparisons = found
                .iter()
                .filter(|p| p.filename == filename)
                .map(|p: &Published| compare(p, &path, &sha256))
                .collect::<Result<Vec<_>>>()?;
            artifacts.push(RebuiltArtifact {
                filename,
                sha256,
                path: self.out.as_ref().map(|_| path),
                comparisons,
            });
        }
        let not_rebuilt = found
            .iter()
            .filter(|p| !artifacts.iter().any(|a| a.filename == p.filename))
            .map(|p| p.label.clone())
            .collect();
        let status = kiln_report::ReleaseStatus::of(&artifacts);
        Ok(RebuiltRelease {
            source: source.to_string(),
            status,
            backend: backend_report,
            epoch: Some(epoch_report),
            lock: self.out.as_ref().map(|_| lock_path),
            artifacts,
            not_rebuilt,
            failure: None,
        })
    }
}
