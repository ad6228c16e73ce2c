//! `cargo xtask build PATH`: the engine `release` (and later `verify`)
//! drives, usable on any Python project directory.

use crate::flags::{Build, Mode};
use crate::{epoch, pins::Pins, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_digest::Digests;
use kiln_names::Epoch;
use kiln_native::{ArtifactKind, NativeOptions, NativeProject};
use std::path::{Path, PathBuf};

/// kiln's own version, written into WHEEL's `Generator:` line.
pub const GENERATOR: &str = concat!("kiln ", env!("CARGO_PKG_VERSION"));

/// One artifact written by a build, with its digests.
#[derive(Debug, Clone)]
pub struct BuiltArtifact {
    pub kind: ArtifactKind,
    pub filename: String,
    pub path: PathBuf,
    pub digests: Digests,
}

#[derive(Debug)]
pub struct Built {
    pub name: String,
    pub version: String,
    pub mode: Mode,
    pub artifacts: Vec<BuiltArtifact>,
}

impl Built {
    pub fn artifacts_report(&self) -> Vec<kiln_report::BuiltArtifact> {
        self.artifacts
            .iter()
            .map(|a| kiln_report::BuiltArtifact::new(a.kind, &a.filename, &a.path, &a.digests))
            .collect()
    }
}

/// The mode a project gets by default: native when it declares uv_build.
pub fn detect_mode(dir: &Path) -> Result<Mode> {
    let pyproject = dir.join("pyproject.toml");
    let text = match read_pyproject(dir)? {
        Some(text) => text,
        None => {
            if dir.join("setup.py").is_file() {
                return Ok(Mode::Backend);
            }
            bail!(
                "{}: not found: a Python project needs a pyproject.toml (or, for legacy projects, a setup.py); check the path",
                pyproject.display()
            );
        }
    };
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: invalid TOML: {e}", pyproject.display()))?;
    let backend = table
        .get("build-system")
        .and_then(|b| b.get("build-backend"))
        .and_then(|b| b.as_str());
    Ok(if backend == Some("uv_build") {
        Mode::Native
    } else {
        Mode::Backend
    })
}

/// `dir/pyproject.toml` as kiln reads every project file (inside the
/// project, a regular file, capped), or `None` when there is none.
pub fn read_pyproject(dir: &Path) -> Result<Option<String>> {
    use kiln_fs::project::{PYPROJECT_LIMIT, ProjectFileError, ProjectRoot};
    let read = ProjectRoot::new(dir)
        .and_then(|root| root.read_to_string_capped("pyproject.toml", PYPROJECT_LIMIT));
    match read {
        Ok(text) => Ok(Some(text)),
        Err(ProjectFileError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Build `dir` into `out` with an explicit epoch; the shared engine.
/// Backend mode reads the lock at `lock` (default: `lock::default_lock_path`)
/// and, with `faithful`, keeps the backend's own bytes.
pub fn build_project(
    dir: &Path,
    out: &Path,
    mode: Mode,
    epoch: Epoch,
    pins: &Pins,
    lock: Option<&Path>,
    faithful: bool,
) -> Result<Built> {
    match mode {
        Mode::Native => {
            if faithful {
                bail!(
                    "--faithful applies to backend mode only: native mode's bytes are kiln's own"
                );
            }
        }
        Mode::Backend => {
            let root = project_root()?;
            let lock = match lock {
                Some(lock) => lock.to_path_buf(),
                None => crate::lock::default_lock_path(&root, dir),
            };
            let built = crate::backend::build(&root, dir, out, epoch, pins, &lock, faithful)?;
            return Ok(Built {
                name: built.name,
                version: built.version,
                mode,
                artifacts: built.artifacts,
            });
        }
    }
    let project = NativeProject::load(dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let options = NativeOptions {
        epoch,
        deflate: pins.deflate,
        generator: GENERATOR.to_string(),
    };
    let bar = report::progress(0, &format!("packing {}", project.name));
    let progress = |p: kiln_native::Progress| match p {
        kiln_native::Progress::Selected {
            sdist_members,
            wheel_members,
        } => {
            bar.set_length((sdist_members + wheel_members) as u64);
            bar.set_position(0);
        }
        kiln_native::Progress::Packed { .. } => bar.inc(1),
    };
    let artifacts = kiln_native::build(&project, out, &options, &progress);
    bar.finish_and_clear();
    let artifacts = artifacts?;
    let artifacts = artifacts
        .into_iter()
        .map(|a| {
            let digests = Digests::of_file(&a.path)?;
            Ok(BuiltArtifact {
                kind: a.kind,
                filename: a.filename,
                path: a.path,
                digests,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Built {
        name: project.name.to_string(),
        version: project.version.to_string(),
        mode,
        artifacts,
    })
}

impl Build {
    pub fn run(self) -> Result<()> {
        if !self.path.is_dir() {
            bail!("{}: no such project directory", self.path.display());
        }
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let mode = match self.mode {
            Some(mode) => mode,
            None => detect_mode(&self.path)?,
        };
        let epoch = epoch::resolve(self.source_date_epoch, None, None, &self.path)?;
        if epoch.clamped {
            report::warn(
                "the epoch is before 1980-01-01 and was clamped to 315532800 (zip cannot store earlier times)",
            );
        }
        let built = build_project(
            &self.path,
            &self.out,
            mode,
            epoch.epoch,
            &pins,
            self.lock.as_deref(),
            self.faithful,
        )?;
        if self.json {
            report::json(kiln_report::Report::Build(kiln_report::BuildReport {
                schema: kiln_report::Version,
                project: built.name.clone(),
                version: built.version.clone(),
                mode: built.mode,
                epoch: (&epoch).into(),
                artifacts: built.artifacts_report(),
            }));
        } else {
            let rows: Vec<Vec<String>> = built
                .artifacts
                .iter()
                .map(|a| {
                    vec![
                        a.path.display().to_string(),
                        report::human_size(a.digests.size),
                        a.digests.sha256_hex(),
                    ]
                })
                .collect();
            report::eprint(&report::table(&["artifact", "size", "sha256"], &rows));
            report::step(&format!(
                "built {} {} ({} mode, epoch {} from {})",
                built.name,
                built.version,
                built.mode,
                epoch.epoch,
                epoch.source.as_str()
            ));
        }
        Ok(())
    }
}
