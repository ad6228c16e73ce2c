//! Backend mode (SPEC "Build modes"): run the project's own PEP 517 backend
//! in an environment installed only from its hash lock, the way `python -m
//! build` does by default (the sdist from a private copy of the tree, the
//! wheel from that sdist unpacked), then canonicalize both archives.
//!
//! Codemap: `project` (what `[build-system]` declares), `env` (the cached
//! environment, and the two pip edges: resolve for `lock`, download by
//! hash), `install` (unpacking a locked wheel, RECORD-checked), `hooks`
//! (the scrubbed subprocess running `driver.py`). `lock.rs` (the command)
//! uses `resolve_lock` below.

pub mod env;
mod hooks;
mod install;
pub mod project;

use crate::build::{BuiltArtifact, GENERATOR};
use crate::pins::Pins;
use crate::{Mismatch, report};
use anyhow::{Context, Result, bail};
use hooks::{HookRun, Hooks};
use kiln_archive::{Limits, TarKind, read_tar_gz};
use kiln_digest::Digests;
use kiln_lock::Lock;
use kiln_names::Epoch;
use project::BuildSystem;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The pinned interpreter version (`python.version`).
pub fn python_pin(pins: &Pins) -> Result<String> {
    pins.flat
        .get("python.version")
        .cloned()
        .context("pinned-toolchain.toml: missing `python.version` (backend mode needs it)")
}

/// What a backend build produced, before it is moved into place.
pub struct BackendBuilt {
    pub name: String,
    pub version: String,
    pub artifacts: Vec<BuiltArtifact>,
}

/// Build `dir` into `out` from the lock at `lock_path`.
pub fn build(
    root: &Path,
    dir: &Path,
    out: &Path,
    epoch: Epoch,
    pins: &Pins,
    lock_path: &Path,
    faithful: bool,
) -> Result<BackendBuilt> {
    let bs = BuildSystem::read(dir)?;
    let pin = python_pin(pins)?;
    let lock = read_lock(lock_path)?;
    let relock = format!(
        "re-run `cargo xtask lock {} --lock {}`",
        dir.display(),
        lock_path.display()
    );
    if lock.build_backend != bs.backend || lock.backend_path != bs.backend_path {
        bail!(
            "{}: the lock is for build-backend {:?} (backend-path {:?}), but {} declares {:?} (backend-path {:?}): {relock}",
            lock_path.display(),
            lock.build_backend,
            lock.backend_path,
            dir.display(),
            bs.backend,
            bs.backend_path
        );
    }
    if lock.python != pin {
        bail!(
            "{}: the lock was resolved for Python {}, but pinned-toolchain.toml pins {pin}: {relock}",
            lock_path.display(),
            lock.python
        );
    }
    let env_dir = env::ensure(root, &lock, &pin, &|| env::base_python(&pin))?;

    let scratch = tempfile::Builder::new()
        .prefix("kiln-backend-")
        .tempdir()
        .context("failed to create a private build directory")?;
    let hooks = Hooks {
        env: &env_dir,
        backend: &bs.backend,
        backend_path: &bs.backend_path,
        epoch,
        scratch: scratch.path(),
    };
    let check = |run: &HookRun, hook: &str| -> Result<()> {
        let mut wanted = bs.requires.clone();
        wanted.extend(run.requires.iter().cloned());
        let missing = unsatisfied(&lock, &wanted, run.markers.as_ref())?;
        if !missing.is_empty() {
            bail!(
                "the build backend {} needs {} for {hook}, which {} does not hold: {relock}",
                bs.backend,
                missing.join(", "),
                lock_path.display()
            );
        }
        run.succeeded(&bs.backend, hook)
    };

    report::step(&format!("building the sdist with {}", bs.backend));
    let (sdist_name, sdist) = build_sdist(&hooks, dir, &check)?;
    report::step(&format!("building the wheel from {sdist_name}"));
    let (wheel_name, wheel) = build_wheel(&hooks, scratch.path(), &sdist_name, &sdist, &check)?;

    if !wheel_name.ends_with("-none-any.whl") {
        // Compiled code: prove the wheel reproducible here, from another
        // private directory, and say which member varies if it does not.
        report::step("rebuilding the (platform) wheel to check that compiled members reproduce");
        let scratch2 = tempfile::Builder::new().prefix("kiln-backend-").tempdir()?;
        let hooks2 = Hooks {
            scratch: scratch2.path(),
            ..hooks
        };
        let (_, wheel2) = build_wheel(&hooks2, scratch2.path(), &sdist_name, &sdist, &check)?;
        if wheel2 != wheel {
            let diffs = kiln_canon::member_differences(
                &wheel,
                &wheel2,
                kiln_canon::ArchiveKind::Wheel,
                &Limits::default(),
            )?;
            if !diffs.is_empty() {
                let lines: Vec<String> = diffs
                    .iter()
                    .map(|d| format!("  {}: {}", d.path, d.what))
                    .collect();
                return Err(Mismatch(format!(
                    "{wheel_name} is not reproducible: two builds of the wheel from the same sdist differ in:\n{}",
                    lines.join("\n")
                ))
                .into());
            }
        }
    }

    let limits = Limits::default();
    let (sdist_bytes, wheel_bytes) = if faithful {
        (sdist, wheel)
    } else {
        (
            kiln_canon::canonicalize_sdist(&sdist_name, &sdist, epoch, pins.deflate, &limits)?,
            kiln_canon::canonicalize_wheel(&wheel_name, &wheel, epoch, pins.deflate, &limits)?,
        )
    };
    let (name, version) = wheel_name_version(&wheel_name, &wheel_bytes)?;
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let mut artifacts = Vec::new();
    for (kind, filename, bytes) in [
        (kiln_names::ArtifactKind::Sdist, sdist_name, sdist_bytes),
        (kiln_names::ArtifactKind::Wheel, wheel_name, wheel_bytes),
    ] {
        let path = out.join(&filename);
        crate::release::write_atomic(&path, &bytes)?;
        artifacts.push(BuiltArtifact {
            kind,
            filename,
            path,
            digests: Digests::of_bytes(&bytes),
        });
    }
    let _ = GENERATOR;
    Ok(BackendBuilt {
        name,
        version,
        artifacts,
    })
}

type Check<'a> = dyn Fn(&HookRun, &str) -> Result<()> + 'a;

/// build_sdist from a private copy of `dir`; returns (file name, bytes).
fn build_sdist(hooks: &Hooks<'_>, dir: &Path, check: &Check<'_>) -> Result<(String, Vec<u8>)> {
    let base = dir.file_name().unwrap_or_else(|| "project".as_ref());
    let src = hooks.scratch.join("sdist-src").join(base);
    copy_tree(dir, &src)?;
    let outdir = hooks.scratch.join("sdist-out");
    std::fs::create_dir_all(&outdir)?;
    let run = hooks.run("sdist", &src, Some(&outdir))?;
    check(&run, "build_sdist")?;
    take_output(&run, &outdir, ".tar.gz")
}

/// build_wheel from `sdist` unpacked (bounded) under `scratch/wheel-src`.
fn build_wheel(
    hooks: &Hooks<'_>,
    scratch: &Path,
    sdist_name: &str,
    sdist: &[u8],
    check: &Check<'_>,
) -> Result<(String, Vec<u8>)> {
    let top = unpack_sdist(sdist_name, sdist, &scratch.join("wheel-src"))?;
    let outdir = scratch.join("wheel-out");
    std::fs::create_dir_all(&outdir)?;
    let run = hooks.run("wheel", &top, Some(&outdir))?;
    check(&run, "build_wheel")?;
    take_output(&run, &outdir, ".whl")
}

fn take_output(run: &HookRun, outdir: &Path, suffix: &str) -> Result<(String, Vec<u8>)> {
    let Some(name) = run.filename.as_deref() else {
        bail!("the build backend returned no file name:\n{}", run.output);
    };
    if name.contains('/') || !name.ends_with(suffix) {
        bail!("the build backend returned {name:?}, expected a bare *{suffix} file name");
    }
    let path = outdir.join(name);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "the build backend said it wrote {name}, but {} cannot be read",
            path.display()
        )
    })?;
    Ok((name.to_string(), bytes))
}

fn read_lock(lock_path: &Path) -> Result<Lock> {
    let text = match std::fs::read_to_string(lock_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{}: no build lock: run `cargo xtask lock` for this project first (or pass --lock FILE)",
            lock_path.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("failed to read {}", lock_path.display()));
        }
    };
    Ok(Lock::parse(&lock_path.display().to_string(), &text)?)
}

/// The requirements of `wanted` that the lock does not satisfy (by
/// normalized name and, when given, version specifier; requirements whose
/// marker is false in the build environment are not needed).
pub fn unsatisfied(
    lock: &Lock,
    wanted: &[String],
    markers: Option<&serde_json::Value>,
) -> Result<Vec<String>> {
    let env = markers.and_then(marker_env);
    let mut missing = Vec::new();
    for text in wanted {
        let req: pep508_rs::Requirement = text
            .parse()
            .map_err(|e| anyhow::anyhow!("the build requirement {text:?} does not parse: {e}"))?;
        if let Some(env) = &env
            && !req.marker.evaluate(env, &[])
        {
            continue;
        }
        let ok = match lock.find(req.name.as_ref()) {
            None => false,
            Some(p) => match &req.version_or_url {
                None => true,
                Some(pep508_rs::VersionOrUrl::Url(_)) => false,
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) => {
                    match p.version.parse::<pep508_rs::pep440_rs::Version>() {
                        Ok(v) => specs.contains(&v),
                        Err(_) => false,
                    }
                }
            },
        };
        if !ok && !missing.contains(text) {
            missing.push(text.clone());
        }
    }
    Ok(missing)
}

fn marker_env(v: &serde_json::Value) -> Option<pep508_rs::MarkerEnvironment> {
    let s = |k: &str| v[k].as_str();
    pep508_rs::MarkerEnvironment::try_from(pep508_rs::MarkerEnvironmentBuilder {
        implementation_name: s("implementation_name")?,
        implementation_version: s("implementation_version")?,
        os_name: s("os_name")?,
        platform_machine: s("platform_machine")?,
        platform_python_implementation: s("platform_python_implementation")?,
        platform_release: s("platform_release")?,
        platform_system: s("platform_system")?,
        platform_version: s("platform_version")?,
        python_full_version: s("python_full_version")?,
        python_version: s("python_version")?,
        sys_platform: s("sys_platform")?,
    })
    .ok()
}

/// Copy the regular files of `from` (not `.git`, no symlinks) to `to`,
/// keeping only the executable bit: the backend never sees, and cannot
/// write into, the user's tree.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    let walk = WalkDir::new(from)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git");
    for entry in walk {
        let entry = entry.with_context(|| format!("failed to walk {}", from.display()))?;
        let rel = entry.path().strip_prefix(from)?;
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)
                .with_context(|| format!("failed to create {}", target.display()))?;
        } else if entry.file_type().is_file() {
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            let bytes = std::fs::read(entry.path())
                .with_context(|| format!("failed to read {}", entry.path().display()))?;
            std::fs::write(&target, bytes)
                .with_context(|| format!("failed to write {}", target.display()))?;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

/// Unpack an sdist (bounded reader) into `dest`; returns its one top
/// directory, where the wheel is built.
fn unpack_sdist(name: &str, bytes: &[u8], dest: &Path) -> Result<PathBuf> {
    let archive = read_tar_gz(name, bytes, &Limits::default())
        .with_context(|| format!("cannot unpack the sdist {name}"))?;
    let mut top: Option<String> = None;
    for member in archive.members.iter().filter(|m| m.kind == TarKind::File) {
        let path = member.path.strip_prefix("./").unwrap_or(&member.path);
        let Some((first, _)) = path.split_once('/') else {
            bail!("{name}: {path}: outside the sdist's top-level directory");
        };
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t != first => {
                bail!("{name}: {path}: outside the top-level directory {t:?}")
            }
            Some(_) => {}
        }
        let target = dest.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &member.data)
            .with_context(|| format!("failed to write {}", target.display()))?;
        let mode = if member.executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
    }
    let Some(top) = top else {
        bail!("{name}: the sdist holds no file");
    };
    Ok(dest.join(top))
}

/// Name and Version from the wheel's METADATA.
fn wheel_name_version(filename: &str, wheel: &[u8]) -> Result<(String, String)> {
    let zip = kiln_archive::read_zip(filename, wheel, &Limits::default())?;
    let metadata = zip
        .members
        .iter()
        .find(|m| {
            m.path
                .split_once('/')
                .is_some_and(|(top, rest)| top.ends_with(".dist-info") && rest == "METADATA")
        })
        .with_context(|| format!("{filename}: no .dist-info/METADATA"))?;
    let text = String::from_utf8_lossy(&metadata.data);
    let header = |key: &str| {
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    match (header("Name:"), header("Version:")) {
        (Some(n), Some(v)) => Ok((n, v)),
        _ => bail!("{filename}: METADATA lacks Name or Version"),
    }
}

/// Resolve the whole build requirement set of `dir` into a lock:
/// `[build-system].requires`, then what the backend asks for in
/// get_requires_for_build_sdist/wheel (the wheel's asked from the unpacked
/// sdist, as the build does), re-resolving the union until it is stable.
pub fn resolve_lock(
    root: &Path,
    dir: &Path,
    pins: &Pins,
    constraints: Option<&Path>,
    epoch: Epoch,
) -> Result<Lock> {
    let bs = BuildSystem::read(dir)?;
    let pin = python_pin(pins)?;
    let mut requires = bs.requires.clone();
    for _round in 0..5 {
        let packages = if requires.is_empty() {
            vec![]
        } else {
            report::step(&format!("resolving {}", requires.join(", ")));
            env::resolve(&env::base_python(&pin)?, &requires, constraints)?
        };
        let lock = Lock {
            version: kiln_lock::FORMAT_VERSION,
            python: pin.clone(),
            build_backend: bs.backend.clone(),
            backend_path: bs.backend_path.clone(),
            requires: requires.clone(),
            packages,
        };
        let env_dir = env::ensure(root, &lock, &pin, &|| env::base_python(&pin))?;
        let scratch = tempfile::Builder::new().prefix("kiln-lock-").tempdir()?;
        let hooks = Hooks {
            env: &env_dir,
            backend: &bs.backend,
            backend_path: &bs.backend_path,
            epoch,
            scratch: scratch.path(),
        };
        let mut grew = false;
        let mut add = |run: &HookRun, requires: &mut Vec<String>| -> Result<bool> {
            let missing = unsatisfied(&lock, &run.requires, run.markers.as_ref())?;
            for m in &missing {
                if !requires.contains(m) {
                    requires.push(m.clone());
                    grew = true;
                }
            }
            Ok(!missing.is_empty())
        };
        let check_sdist = |run: &HookRun, hook: &str| run.succeeded(&bs.backend, hook);
        // get_requires_for_build_sdist, then the sdist itself.
        let probe = scratch
            .path()
            .join("probe")
            .join(dir.file_name().unwrap_or_else(|| "project".as_ref()));
        copy_tree(dir, &probe)?;
        let src_req = hooks.run("requires-sdist", &probe, None)?;
        check_sdist(&src_req, "get_requires_for_build_sdist")?;
        if add(&src_req, &mut requires)? {
            continue;
        }
        let (sdist_name, sdist) = build_sdist(&hooks, dir, &check_sdist)?;
        let top = unpack_sdist(&sdist_name, &sdist, &scratch.path().join("wheel-src"))?;
        let wheel_req = hooks.run("requires-wheel", &top, None)?;
        check_sdist(&wheel_req, "get_requires_for_build_wheel")?;
        add(&wheel_req, &mut requires)?;
        if !grew {
            return Ok(lock);
        }
    }
    bail!(
        "{}: the backend's build requirements did not settle after 5 rounds of resolution ({})",
        dir.display(),
        requires.join(", ")
    )
}
