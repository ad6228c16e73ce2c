//! Building one project, natively or in backend mode: the engine that the
//! `build`, `release` and `verify` commands (and the self-verifying second
//! build) share, and the default lock path that `build` and `lock` share.
//! Native mode is `kiln-native`; backend mode is `kiln-pep517`, for which
//! this module reads what it needs from the machine (`KILN_CACHE`, the
//! `PIP_*` variables, the pinned Python) and which it turns into plain
//! values. Artifacts are written here, atomically, with their digests.

use crate::config::ReleaseConfig;
use crate::flags::Mode;
use crate::pins::Pins;
use crate::{Mismatch, project_root, report};
use anyhow::{Context, Result, bail};
use kiln_digest::Digests;
use kiln_metadata::BuildSystem;
use kiln_names::Epoch;
use kiln_native::{ArtifactKind, NativeOptions, NativeProject};
use kiln_pep517::{BuildRequest, Pep517Error, Settings};
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

/// `dir/pyproject.toml` as kiln reads every project file (inside the
/// project, a regular file, capped), or `None` when there is none.
fn read_pyproject(dir: &Path) -> Result<Option<String>> {
    use kiln_fs::project::{PYPROJECT_LIMIT, ProjectFileError, ProjectRoot};
    let read = ProjectRoot::new(dir)
        .and_then(|root| root.read_to_string_capped("pyproject.toml", PYPROJECT_LIMIT));
    match read {
        Ok(text) => Ok(Some(text)),
        Err(ProjectFileError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The mode a project gets by default: native when it declares uv_build.
pub fn detect_mode(dir: &Path) -> Result<Mode> {
    let text = read_pyproject(dir)?;
    let backend = kiln_metadata::declared_backend(
        &dir.join("pyproject.toml"),
        text.as_deref(),
        text.is_none() && dir.join("setup.py").is_file(),
    )?;
    Ok(if backend.as_deref() == Some("uv_build") {
        Mode::Native
    } else {
        Mode::Backend
    })
}

/// What `dir` declares about its build (backend mode's strict reading).
pub fn build_system(dir: &Path) -> Result<BuildSystem> {
    let text = read_pyproject(dir)?;
    Ok(BuildSystem::read(
        dir,
        text.as_deref(),
        dir.join("setup.py").is_file(),
    )?)
}

/// The pinned interpreter version (`python.version`).
fn python_pin(pins: &Pins) -> Result<String> {
    pins.flat
        .get("python.version")
        .cloned()
        .context("pinned-toolchain.toml: missing `python.version` (backend mode needs it)")
}

/// What backend mode needs from this machine: the cache (`KILN_CACHE` if
/// set, else `<checkout>/target/kiln-cache`), the pinned Python, and the
/// `PIP_*` variables pip must not see.
pub fn pep517_settings(root: &Path, pins: &Pins) -> Result<Settings<'static>> {
    let python = python_pin(pins)?;
    #[allow(clippy::disallowed_methods)] // xtask reads its configuration from the environment.
    let cache = match std::env::var_os("KILN_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("target/kiln-cache"),
    };
    #[allow(clippy::disallowed_methods)] // xtask is the edge that scrubs the environment.
    let pip_drop = kiln_pep517::pip_vars_to_drop(std::env::vars_os().map(|(key, _)| key));
    Ok(Settings {
        cache,
        python,
        kiln_version: env!("CARGO_PKG_VERSION").to_string(),
        pip_drop,
        step: &report::step,
    })
}

/// Where `lock` writes, and `build --mode backend` reads, the lock of `dir`:
/// `release/locks/<name>.lock.toml`, `<name>` being the release.toml
/// project at `dir`, or else `dir`'s name.
pub fn default_lock_path(root: &Path, dir: &Path) -> PathBuf {
    let name = ReleaseConfig::load(root)
        .ok()
        .and_then(|config| {
            let wanted = dir.canonicalize().ok()?;
            config
                .projects
                .iter()
                .find(|p| root.join(&p.path).canonicalize().ok().as_ref() == Some(&wanted))
                .map(|p| p.name.clone())
        })
        .or_else(|| {
            dir.canonicalize()
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "project".into());
    crate::layout::lock_path(root, &name)
}

/// Resolve the build requirements of `dir` into its hash lock.
pub fn resolve_lock(
    root: &Path,
    dir: &Path,
    pins: &Pins,
    constraints: Option<&Path>,
) -> Result<kiln_lock::Lock> {
    let bs = build_system(dir)?;
    let settings = pep517_settings(root, pins)?;
    Ok(kiln_pep517::resolve_lock(
        &settings,
        dir,
        &bs,
        constraints,
        Epoch::MIN,
    )?)
}

/// Build `dir` into `out` with an explicit epoch; the shared engine.
/// Backend mode reads the lock at `lock` (default: [`default_lock_path`])
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
                None => default_lock_path(&root, dir),
            };
            return build_backend(&root, dir, out, epoch, pins, &lock, faithful);
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

/// Backend mode: `kiln-pep517` builds from the lock at `lock_path`; a
/// platform wheel that does not reproduce is a mismatch (exit 1).
fn build_backend(
    root: &Path,
    dir: &Path,
    out: &Path,
    epoch: Epoch,
    pins: &Pins,
    lock_path: &Path,
    faithful: bool,
) -> Result<Built> {
    let bs = build_system(dir)?;
    let settings = pep517_settings(root, pins)?;
    let lock = kiln_pep517::read_lock(lock_path)?;
    let request = BuildRequest {
        dir,
        build_system: &bs,
        lock: &lock,
        lock_path,
        epoch,
        deflate: pins.deflate,
        faithful,
    };
    let built = kiln_pep517::build(&settings, &request).map_err(|e| match e {
        Pep517Error::NotReproducible { .. } => anyhow::Error::new(Mismatch(e.to_string())),
        e => e.into(),
    })?;
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let mut artifacts = Vec::new();
    for (kind, filename, bytes) in [
        (ArtifactKind::Sdist, built.sdist_name, built.sdist),
        (ArtifactKind::Wheel, built.wheel_name, built.wheel),
    ] {
        let path = out.join(&filename);
        kiln_fs::publish::write_atomic(&path, &bytes)?;
        artifacts.push(BuiltArtifact {
            kind,
            filename,
            path,
            digests: Digests::of_bytes(&bytes),
        });
    }
    Ok(Built {
        name: built.name,
        version: built.version,
        mode: Mode::Backend,
        artifacts,
    })
}
