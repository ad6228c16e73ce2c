//! Building the wheel of a published sdist as pip does: the sdist is
//! unpacked (bounded, each file given the mtime its member records) and the
//! backend's `build_wheel` runs in it directly, so no sdist is re-derived
//! from an unpacked sdist (some backends, hatch-vcs among them, would add a
//! second `PKG-INFO`). [`resolve_sdist_lock`] resolves what that build needs
//! the same way: `[build-system].requires` plus what
//! `get_requires_for_build_wheel` asks for, until the answer stops growing.

use crate::build::{build_wheel, check_hook, lock_round, scratch};
use crate::hooks::{HookRun, Hooks};
use crate::tree::{unpack_sdist, wheel_name_version};
use crate::{Pep517Error, Settings, env, unsatisfied};
use kiln_lock::Lock;
use kiln_metadata::BuildSystem;
use kiln_names::Epoch;
use std::path::Path;

type Result<T> = std::result::Result<T, Pep517Error>;

/// pyproject.toml is read whole; a bigger one is refused.
const PYPROJECT_LIMIT: u64 = 4 << 20;

/// One wheel build from an sdist: the sdist, its lock, the epoch the
/// backend sees (`None`: unset, the backend's default).
#[derive(Debug, Clone, Copy)]
pub struct SdistRequest<'a> {
    /// The sdist's file name (`<name>-<version>.tar.gz`), for messages.
    pub sdist_name: &'a str,
    pub sdist: &'a [u8],
    pub lock: &'a Lock,
    /// Where `lock` was read from, for messages.
    pub lock_path: &'a Path,
    pub source_date_epoch: Option<Epoch>,
}

/// The wheel a backend built from an sdist, with its own bytes.
#[derive(Debug)]
pub struct SdistWheel {
    pub name: String,
    pub version: String,
    pub wheel_name: String,
    pub wheel: Vec<u8>,
    /// What the sdist's pyproject.toml declares (or the legacy fallback).
    pub build_system: BuildSystem,
}

/// The build system `sdist` declares, read from its unpacked top directory.
pub fn sdist_build_system(sdist_name: &str, sdist: &[u8]) -> Result<BuildSystem> {
    let tmp = scratch("kiln-sdist-")?;
    let top = unpack_sdist(sdist_name, sdist, &tmp.path().join("src"), false)?;
    read_build_system(&top)
}

fn read_build_system(top: &Path) -> Result<BuildSystem> {
    let path = top.join("pyproject.toml");
    let text = match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > PYPROJECT_LIMIT => {
            return Err(Pep517Error::SdistLayout {
                name: path.display().to_string(),
                problem: format!("larger than {PYPROJECT_LIMIT} bytes"),
            });
        }
        Ok(_) => Some(std::fs::read_to_string(&path).map_err(Pep517Error::io("read", &path))?),
        Err(_) => None,
    };
    Ok(BuildSystem::read(
        top,
        text.as_deref(),
        top.join("setup.py").is_file(),
    )?)
}

/// Build the wheel of `request.sdist` in the environment of its lock,
/// keeping the backend's own bytes; a platform wheel is built twice, from
/// two directories, and must come out the same.
pub fn build_wheel_from_sdist(
    settings: &Settings<'_>,
    request: &SdistRequest<'_>,
) -> Result<SdistWheel> {
    let SdistRequest {
        sdist_name,
        sdist,
        lock,
        lock_path,
        source_date_epoch,
    } = *request;
    let bs = sdist_build_system(sdist_name, sdist)?;
    let relock = format!("re-lock {sdist_name} into {}", lock_path.display());
    if lock.build_backend != bs.backend || lock.backend_path != bs.backend_path {
        return Err(Pep517Error::LockForOtherBackend {
            lock: lock_path.to_path_buf(),
            dir: sdist_name.into(),
            locked: format!("{:?}", lock.build_backend),
            declared: format!("{:?}", bs.backend),
            relock,
        });
    }
    let env_dir = env::ensure(settings, lock)?;
    let check = |run: &HookRun, hook: &str| -> Result<()> {
        check_hook(run, hook, &bs, lock, lock_path, &relock)
    };
    let build_in = |dir: &Path| -> Result<(String, Vec<u8>)> {
        let hooks = Hooks {
            env: &env_dir,
            backend: &bs.backend,
            backend_path: &bs.backend_path,
            epoch: source_date_epoch,
            scratch: dir,
        };
        let (name, bytes, _) = build_wheel(&hooks, dir, (sdist_name, sdist, false), &check)?;
        Ok((name, bytes))
    };
    (settings.step)(&format!(
        "building the wheel from {sdist_name} with {}",
        bs.backend
    ));
    let first = scratch("kiln-backend-")?;
    let (wheel_name, wheel) = build_in(first.path())?;
    if !wheel_name.ends_with("-none-any.whl") {
        (settings.step)("rebuilding the (platform) wheel to check that compiled members reproduce");
        let second = scratch("kiln-backend-")?;
        let (_, again) = build_in(second.path())?;
        if again != wheel {
            let diffs = kiln_canon::member_differences(
                &wheel,
                &again,
                kiln_canon::ArchiveKind::Wheel,
                &kiln_archive::Limits::default(),
            )?;
            if !diffs.is_empty() {
                return Err(Pep517Error::NotReproducible {
                    wheel: wheel_name,
                    differences: diffs.into_iter().map(|d| (d.path, d.what)).collect(),
                });
            }
        }
    }
    let (name, version) = wheel_name_version(&wheel_name, &wheel)?;
    Ok(SdistWheel {
        name,
        version,
        wheel_name,
        wheel,
        build_system: bs,
    })
}

/// Resolve what building `sdist`'s wheel needs into a lock:
/// `[build-system].requires`, then what `get_requires_for_build_wheel`
/// asks for in the unpacked sdist, re-resolved until it is stable.
pub fn resolve_sdist_lock(
    settings: &Settings<'_>,
    sdist_name: &str,
    sdist: &[u8],
    constraints: Option<&Path>,
) -> Result<Lock> {
    let tmp = scratch("kiln-lock-")?;
    let top = unpack_sdist(sdist_name, sdist, &tmp.path().join("src"), true)?;
    let bs = read_build_system(&top)?;
    let mut requires = bs.requires.clone();
    for _round in 0..5 {
        let (lock, env_dir) = lock_round(settings, &bs, &requires, constraints)?;
        let round = scratch("kiln-lock-")?;
        let hooks = Hooks {
            env: &env_dir,
            backend: &bs.backend,
            backend_path: &bs.backend_path,
            epoch: Some(Epoch::MIN),
            scratch: round.path(),
        };
        let run = hooks.run("requires-wheel", &top, None)?;
        run.succeeded(&bs.backend, "get_requires_for_build_wheel")?;
        let missing = unsatisfied(&lock, &run.requires, run.markers.as_ref())?;
        let mut grew = false;
        for m in missing {
            if !requires.contains(&m) {
                requires.push(m);
                grew = true;
            }
        }
        if !grew {
            return Ok(lock);
        }
    }
    Err(Pep517Error::Unsettled {
        dir: sdist_name.into(),
        requires,
    })
}
