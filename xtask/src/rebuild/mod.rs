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

use crate::flags::Rebuild;
use crate::pins::Pins;
use crate::{Mismatch, engine, project_root};
use anyhow::{Context, Result, bail};
use kiln_archive::Limits;
use kiln_infer::{EpochValue, infer_backend, infer_epoch, sdist_times, wheel_times};
use kiln_names::Epoch;
use kiln_report::{Inference, RebuildFailure, RebuiltArtifact, RebuiltRelease, ReleaseStatus};
use published::{MAX_ARTIFACT, Published, compare, gather, name_version, published_version};
use std::path::{Path, PathBuf};

/// What to build: a published sdist, or a project directory.
enum Source {
    Sdist { filename: String, path: PathBuf },
    Project(PathBuf),
}

impl Rebuild {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let sources = match (&self.list, &self.source) {
            (Some(list), _) => census::read_list(list)?,
            (None, Some(source)) => vec![source.clone()],
            (None, None) => bail!("give SOURCE or --list FILE"),
        };
        if let Some(c) = &self.constraints
            && !c.is_file()
        {
            bail!("--constraints {}: no such file", c.display());
        }
        if let Some(n) = self.epoch.as_deref().filter(|n| *n != "unset") {
            n.parse::<i64>()
                .with_context(|| format!("--epoch {n:?}: expected seconds or `unset`"))?;
        }
        let mut releases = Vec::new();
        for source in &sources {
            match self.one(&root, &pins, source) {
                Ok(release) => releases.push(release),
                Err(e) if self.list.is_some() => {
                    crate::report::error(&format!("{source}: {e:#}"));
                    releases.push(failed(source, &e));
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
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;
        let settings = engine::pep517_settings(root, pins)?;
        let limits = Limits::default();
        let (source_kind, release) = locate(source, self.git_ref.as_deref(), tmp.path())?;
        let project = release.0.clone();
        let mut found = gather(&self.against, &self.index, &release, &project, tmp.path())?;
        let release = match release.1 {
            Some(version) => (release.0, version),
            None => {
                let version = published_version(&found, &project, self.git_ref.as_deref())?;
                found.retain(|p| name_version(&p.filename).is_some_and(|(_, v)| v == version));
                (release.0, version)
            }
        };
        let stem = format!("{}-{}", release.0, release.1);

        // What the publisher used: the wheel names the backend; the
        // containers show the epoch.
        let wheel = found
            .iter()
            .filter(|p| p.filename.ends_with(".whl"))
            .min_by_key(|p| !p.filename.ends_with("-none-any.whl"));
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
        let (epoch, epoch_report) = match self.epoch.as_deref() {
            Some("unset") => (None, given("unset", "--epoch unset")),
            Some(n) => {
                let n: i64 = n
                    .parse()
                    .with_context(|| format!("--epoch {n:?}: expected seconds or `unset`"))?;
                let e = Epoch::clamped(n);
                (Some(e), given(&e.seconds().to_string(), "--epoch"))
            }
            None => match infer_epoch(wtimes.as_ref(), stimes.as_ref(), dist) {
                Some(i) => match i.value {
                    EpochValue::Fixed(t) => (
                        Some(Epoch::clamped(i64::try_from(t).unwrap_or(i64::MAX))),
                        inferred(&t.to_string(), &i.evidence),
                    ),
                    EpochValue::Unset => (None, inferred("unset", &i.evidence)),
                },
                None => (
                    None,
                    Inference {
                        value: "unset".into(),
                        how: "default".into(),
                        evidence: "nothing published to infer from".into(),
                    },
                ),
            },
        };
        let (constraints, backend_report) = match (&self.constraints, &backend) {
            (Some(c), _) => (
                Some(c.clone()),
                Some(given(&c.display().to_string(), "--constraints")),
            ),
            (None, Some(b)) => {
                let file = tmp.path().join("constraints.txt");
                std::fs::write(&file, format!("{}\n", b.constraint()))?;
                let evidence = format!("{}: Generator: {}", b.evidence, b.generator);
                (Some(file), Some(inferred(&b.constraint(), &evidence)))
            }
            (None, None) => match as_of(&found, &source_kind)? {
                Some((lines, evidence)) => {
                    let file = tmp.path().join("constraints.txt");
                    std::fs::write(&file, format!("{}\n", lines.join("\n")))?;
                    (Some(file), Some(inferred(&lines.join(", "), &evidence)))
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
        let built: Vec<(String, Vec<u8>)> = match &source_kind {
            Source::Sdist { filename, path } => {
                let bytes = read_capped(path)?;
                let lock = kiln_pep517::resolve_sdist_lock(
                    &settings,
                    filename,
                    &bytes,
                    constraints.as_deref(),
                )?;
                kiln_fs::publish::write_atomic(&lock_path, lock.render().as_bytes())?;
                let request = kiln_pep517::SdistRequest {
                    sdist_name: filename,
                    sdist: &bytes,
                    lock: &lock,
                    lock_path: &lock_path,
                    source_date_epoch: epoch,
                };
                let wheel = kiln_pep517::build_wheel_from_sdist(&settings, &request)?;
                vec![(filename.clone(), bytes), (wheel.wheel_name, wheel.wheel)]
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
                kiln_fs::publish::write_atomic(&lock_path, lock.render().as_bytes())?;
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
                vec![(b.sdist_name, b.sdist), (b.wheel_name, b.wheel)]
            }
        };
        let mut artifacts = Vec::new();
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
        let status = census::status(&artifacts);
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

/// With no published wheel to name the backend: the build requirements
/// as of the earliest upload time an index states for the release's files
/// (PEP 700), each at most its newest release before it.
fn as_of(found: &[Published], source: &Source) -> Result<Option<(Vec<String>, String)>> {
    let Some((time, index)) = found.iter().filter_map(|p| p.uploaded.clone()).min() else {
        return Ok(None);
    };
    let requires = match source {
        Source::Sdist { filename, path } => {
            kiln_pep517::sdist_build_system(filename, &read_capped(path)?)?.requires
        }
        Source::Project(dir) => engine::build_system(dir)?.requires,
    };
    let date = format!("{}Z", time.get(..19).unwrap_or_default());
    let lines = crate::asof::exclude_newer(&requires, &index, &date)?;
    let evidence = format!(
        "no published wheel names the backend; the release was uploaded to {index} at {time}"
    );
    Ok(Some((lines, evidence)))
}

fn given(value: &str, flag: &str) -> Inference {
    Inference {
        value: value.to_string(),
        how: "given".into(),
        evidence: flag.to_string(),
    }
}

fn inferred(value: &str, evidence: &str) -> Inference {
    Inference {
        value: value.to_string(),
        how: "inferred".into(),
        evidence: evidence.to_string(),
    }
}

/// A file read whole, refused past [`MAX_ARTIFACT`] bytes.
fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() || meta.len() > MAX_ARTIFACT {
        bail!(
            "{}: not a regular file of at most {MAX_ARTIFACT} bytes",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// SOURCE as something to build, and the (normalized name, version) of
/// the release it is.
fn locate(
    source: &str,
    git_ref: Option<&str>,
    tmp: &Path,
) -> Result<(Source, (String, Option<String>))> {
    let sdist = |filename: String, path: PathBuf| -> Result<(Source, (String, Option<String>))> {
        let (name, version) = name_version(&filename).with_context(|| {
            format!("{source}: not an sdist name (<name>-<version>.tar.gz) nor a directory")
        })?;
        Ok((Source::Sdist { filename, path }, (name, Some(version))))
    };
    if source.starts_with("https://") || source.starts_with("http://") {
        let filename = source
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_string();
        if !filename.ends_with(".tar.gz") {
            bail!("{source}: a URL SOURCE must name an sdist (.tar.gz)");
        }
        let fetched = crate::fetch::download(source, tmp, &filename, MAX_ARTIFACT)?;
        return sdist(filename, fetched.path);
    }
    let path = PathBuf::from(source);
    let dir = match git_ref {
        Some(r) => {
            let path = path
                .canonicalize()
                .with_context(|| format!("{source}: no such repository"))?;
            let commit = kiln_git::Repo::at(&path)
                .commit(r)
                .with_context(|| format!("{source}: cannot resolve --ref {r}"))?;
            let checkout = tmp.join("checkout");
            kiln_git::clean_checkout(&path, &checkout, &commit)?;
            checkout
        }
        None if path.is_file() => {
            let filename = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return sdist(filename, path);
        }
        None if path.is_dir() => path,
        None => bail!("{source}: no such file or directory"),
    };
    let release = project_release(&dir)?;
    Ok((Source::Project(dir), release))
}

/// A project directory's name and, when static, version from its
/// pyproject.toml (PEP 621).
fn project_release(dir: &Path) -> Result<(String, Option<String>)> {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read it", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not TOML", path.display()))?;
    let project = table.get("project").and_then(|p| p.as_table());
    let field = |key: &str| project.and_then(|p| p.get(key)).and_then(|v| v.as_str());
    let Some(name) = field("name") else {
        bail!(
            "{}: rebuild needs the [project] name to find the published files (or give the sdist as SOURCE)",
            path.display()
        );
    };
    let (name, version) = name_version(&format!(
        "{name}-{}.tar.gz",
        field("version").unwrap_or("0")
    ))
    .with_context(|| format!("{}: [project] name", path.display()))?;
    Ok((name, field("version").map(|_| version)))
}

/// A release of a census that could not be rebuilt, with its cause class.
fn failed(source: &str, e: &anyhow::Error) -> RebuiltRelease {
    use kiln_pep517::Pep517Error as P;
    let class = e
        .chain()
        .find_map(|c| match c.downcast_ref::<P>()? {
            P::Resolve { .. }
            | P::NoHash { .. }
            | P::NotAWheel { .. }
            | P::Unsettled { .. }
            | P::Download { .. }
            | P::NotDownloaded { .. } => Some("lock"),
            P::NotReproducible { .. } => Some("not-reproducible"),
            P::HookFailed { .. }
            | P::Hook { .. }
            | P::NoFileName { .. }
            | P::NoOutput { .. }
            | P::BadFileName { .. }
            | P::Unsatisfied { .. } => Some("build"),
            _ => None,
        })
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
