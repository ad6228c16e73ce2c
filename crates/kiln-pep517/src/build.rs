//! The two things backend mode does with a project: [`build`] its sdist
//! and wheel from the lock (the sdist from a private copy of the tree, the
//! wheel from that sdist unpacked, a platform wheel built twice to prove its
//! compiled members reproduce, then both canonicalized unless faithful), and
//! [`resolve_lock`], which finds the whole build requirement set by asking
//! the backend itself until the answer stops growing.

use crate::hooks::{HookRun, Hooks};
use crate::tree::{
    copy_tree, unpack_own_sdist, unpack_sdist, wheel_name_version, without_duplicates,
};
use crate::{Pep517Error, Settings, env, unsatisfied};
use kiln_archive::{Deflate, Limits};
use kiln_lock::Lock;
use kiln_metadata::BuildSystem;
use kiln_names::Epoch;
use std::path::Path;

type Result<T> = std::result::Result<T, Pep517Error>;

/// One backend build: the project, what it declares, its lock.
#[derive(Debug, Clone, Copy)]
pub struct BuildRequest<'a> {
    /// The project directory (never written: the backend gets a copy).
    pub dir: &'a Path,
    pub build_system: &'a BuildSystem,
    pub lock: &'a Lock,
    /// Where `lock` was read from, for messages.
    pub lock_path: &'a Path,
    pub epoch: Epoch,
    /// How the canonical archives are compressed.
    pub deflate: Deflate,
    /// Keep the backend's own bytes instead of canonicalizing them.
    pub faithful: bool,
}

/// What a backend build produced: the sdist's and the wheel's file names
/// and bytes (canonical unless faithful), and the Name and Version the
/// wheel's METADATA states.
#[derive(Debug)]
pub struct BackendBuild {
    pub name: String,
    pub version: String,
    /// Members the backend's own sdist holds twice with identical bytes
    /// (tolerated when the wheel was built from it).
    pub tolerated_duplicates: Vec<String>,
    pub sdist_name: String,
    pub sdist: Vec<u8>,
    pub wheel_name: String,
    pub wheel: Vec<u8>,
}

pub(crate) fn scratch(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| Pep517Error::Scratch { source })
}

/// Build the sdist and the wheel of `request.dir` in the environment of
/// its lock.
pub fn build(settings: &Settings<'_>, request: &BuildRequest<'_>) -> Result<BackendBuild> {
    build_with_epoch(settings, request, Some(request.epoch))
}

/// [`build`], with the SOURCE_DATE_EPOCH the backend sees given apart from
/// the canonical epoch: `None` leaves it unset, as a publisher who never set
/// it built (the backend's own default timestamps, the files' mtimes as the
/// sdist records them).
pub fn build_with_epoch(
    settings: &Settings<'_>,
    request: &BuildRequest<'_>,
    source_date_epoch: Option<Epoch>,
) -> Result<BackendBuild> {
    let BuildRequest {
        dir,
        build_system: bs,
        lock,
        lock_path,
        epoch,
        ..
    } = *request;
    let relock = format!(
        "re-run `cargo xtask lock {} --lock {}`",
        dir.display(),
        lock_path.display()
    );
    if lock.build_backend != bs.backend || lock.backend_path != bs.backend_path {
        return Err(Pep517Error::LockForOtherBackend {
            lock: lock_path.to_path_buf(),
            dir: dir.to_path_buf(),
            locked: format!(
                "{:?} (backend-path {:?})",
                lock.build_backend, lock.backend_path
            ),
            declared: format!("{:?} (backend-path {:?})", bs.backend, bs.backend_path),
            relock,
        });
    }
    if lock.python != settings.python {
        return Err(Pep517Error::LockForOtherPython {
            lock: lock_path.to_path_buf(),
            locked: lock.python.clone(),
            pinned: settings.python.clone(),
            relock,
        });
    }
    let env_dir = env::ensure(settings, lock)?;

    let scratch1 = scratch("kiln-backend-")?;
    let hooks = Hooks {
        env: &env_dir,
        backend: &bs.backend,
        backend_path: &bs.backend_path,
        epoch: source_date_epoch,
        scratch: scratch1.path(),
    };
    let check = |run: &HookRun, hook: &str| -> Result<()> {
        check_hook(run, hook, bs, lock, lock_path, &relock)
    };

    (settings.step)(&format!("building the sdist with {}", bs.backend));
    let (sdist_name, sdist) = build_sdist(&hooks, dir, &check)?;
    (settings.step)(&format!("building the wheel from {sdist_name}"));
    let (wheel_name, wheel, duplicates) =
        build_wheel(&hooks, scratch1.path(), (&sdist_name, &sdist, true), &check)?;
    if !duplicates.is_empty() {
        (settings.step)(&format!(
            "tolerated in {sdist_name}, the backend's own sdist: duplicate member(s) with identical bytes: {}",
            duplicates.join(", ")
        ));
    }

    if !wheel_name.ends_with("-none-any.whl") {
        // Compiled code: prove the wheel reproducible here, from another
        // private directory, and say which member varies if it does not.
        (settings.step)("rebuilding the (platform) wheel to check that compiled members reproduce");
        let scratch2 = scratch("kiln-backend-")?;
        let hooks2 = Hooks {
            scratch: scratch2.path(),
            ..hooks
        };
        let (_, wheel2, _) = build_wheel(
            &hooks2,
            scratch2.path(),
            (&sdist_name, &sdist, true),
            &check,
        )?;
        if wheel2 != wheel {
            let diffs = kiln_canon::member_differences(
                &wheel,
                &wheel2,
                kiln_canon::ArchiveKind::Wheel,
                &Limits::default(),
            )?;
            if !diffs.is_empty() {
                return Err(Pep517Error::NotReproducible {
                    wheel: wheel_name,
                    differences: diffs.into_iter().map(|d| (d.path, d.what)).collect(),
                });
            }
        }
    }

    let limits = Limits::default();
    let (sdist, wheel) = if request.faithful {
        (sdist, wheel)
    } else {
        // Canonical members are unique: the tolerated repeats go.
        let sdist = if duplicates.is_empty() {
            sdist
        } else {
            without_duplicates(&sdist_name, &sdist, request.deflate)?
        };
        (
            kiln_canon::canonicalize_sdist(&sdist_name, &sdist, epoch, request.deflate, &limits)?,
            kiln_canon::canonicalize_wheel(&wheel_name, &wheel, epoch, request.deflate, &limits)?,
        )
    };
    let (name, version) = wheel_name_version(&wheel_name, &wheel)?;
    Ok(BackendBuild {
        name,
        version,
        tolerated_duplicates: duplicates,
        sdist_name,
        sdist,
        wheel_name,
        wheel,
    })
}

pub(crate) type Check<'a> = dyn Fn(&HookRun, &str) -> Result<()> + 'a;

/// build_sdist from a private copy of `dir`; returns (file name, bytes).
fn build_sdist(hooks: &Hooks<'_>, dir: &Path, check: &Check<'_>) -> Result<(String, Vec<u8>)> {
    let base = dir.file_name().unwrap_or_else(|| "project".as_ref());
    let src = hooks.scratch.join("sdist-src").join(base);
    copy_tree(dir, &src)?;
    let outdir = hooks.scratch.join("sdist-out");
    std::fs::create_dir_all(&outdir).map_err(Pep517Error::io("create", &outdir))?;
    let run = hooks.run("sdist", &src, Some(&outdir))?;
    check(&run, "build_sdist")?;
    take_output(&run, &outdir, ".tar.gz")
}

/// build_wheel from `sdist` unpacked (bounded) under `scratch/wheel-src`.
/// `own`: the sdist is the backend's, just made for kiln, whose
/// byte-identical duplicate members are tolerated (their paths returned).
pub(crate) fn build_wheel(
    hooks: &Hooks<'_>,
    scratch: &Path,
    (sdist_name, sdist, own): (&str, &[u8], bool),
    check: &Check<'_>,
) -> Result<(String, Vec<u8>, Vec<String>)> {
    let keep_mtimes = hooks.epoch.is_none();
    let dest = scratch.join("wheel-src");
    let (top, duplicates) = if own {
        unpack_own_sdist(sdist_name, sdist, &dest, keep_mtimes)?
    } else {
        (unpack_sdist(sdist_name, sdist, &dest, keep_mtimes)?, vec![])
    };
    let outdir = scratch.join("wheel-out");
    std::fs::create_dir_all(&outdir).map_err(Pep517Error::io("create", &outdir))?;
    let run = hooks.run("wheel", &top, Some(&outdir))?;
    check(&run, "build_wheel")?;
    let (name, bytes) = take_output(&run, &outdir, ".whl")?;
    Ok((name, bytes, duplicates))
}

fn take_output(run: &HookRun, outdir: &Path, suffix: &'static str) -> Result<(String, Vec<u8>)> {
    let Some(name) = run.filename.as_deref() else {
        return Err(Pep517Error::NoFileName {
            output: run.output.clone(),
        });
    };
    if name.contains('/') || !name.ends_with(suffix) {
        return Err(Pep517Error::BadFileName {
            name: name.to_string(),
            suffix,
        });
    }
    let path = outdir.join(name);
    let bytes = std::fs::read(&path).map_err(|source| Pep517Error::NoOutput {
        name: name.to_string(),
        path: path.clone(),
        source,
    })?;
    Ok((name.to_string(), bytes))
}

/// Resolve the whole build requirement set of `dir` (which declares `bs`)
/// into a lock: `[build-system].requires`, then what the backend asks for in
/// get_requires_for_build_sdist/wheel (the wheel's asked from the unpacked
/// sdist, as the build does), re-resolving the union until it is stable.
pub fn resolve_lock(
    settings: &Settings<'_>,
    dir: &Path,
    bs: &BuildSystem,
    constraints: Option<&Path>,
    epoch: Epoch,
) -> Result<Lock> {
    let mut requires = bs.requires.clone();
    for _round in 0..5 {
        let (lock, env_dir) = lock_round(settings, bs, &requires, constraints)?;
        let scratch = scratch("kiln-lock-")?;
        let hooks = Hooks {
            env: &env_dir,
            backend: &bs.backend,
            backend_path: &bs.backend_path,
            epoch: Some(epoch),
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
        let (top, _) = unpack_own_sdist(
            &sdist_name,
            &sdist,
            &scratch.path().join("wheel-src"),
            false,
        )?;
        let wheel_req = hooks.run("requires-wheel", &top, None)?;
        check_sdist(&wheel_req, "get_requires_for_build_wheel")?;
        add(&wheel_req, &mut requires)?;
        if !grew {
            return Ok(lock);
        }
    }
    Err(Pep517Error::Unsettled {
        dir: dir.to_path_buf(),
        requires,
    })
}

/// One round of resolving a lock: `requires` resolved (under
/// `constraints`) into the lock for `bs`, and the environment it
/// describes, made if missing. The hooks then say whether it was enough.
pub(crate) fn lock_round(
    settings: &Settings<'_>,
    bs: &BuildSystem,
    requires: &[String],
    constraints: Option<&Path>,
) -> Result<(Lock, std::path::PathBuf)> {
    let packages = if requires.is_empty() {
        vec![]
    } else {
        (settings.step)(&format!("resolving {}", requires.join(", ")));
        let python = env::base_python(&settings.python)?;
        env::resolve(settings, &python, requires, constraints)?
    };
    let lock = Lock {
        version: kiln_lock::FORMAT_VERSION,
        python: settings.python.clone(),
        build_backend: bs.backend.clone(),
        backend_path: bs.backend_path.clone(),
        requires: requires.to_vec(),
        packages,
    };
    let env_dir = env::ensure(settings, &lock)?;
    Ok((lock, env_dir))
}

/// A hook ran: what it asked for (and `[build-system].requires`) must be
/// in the lock, naming the backend, the hook and how to re-lock if not;
/// then the hook must have succeeded.
pub(crate) fn check_hook(
    run: &HookRun,
    hook: &str,
    bs: &BuildSystem,
    lock: &Lock,
    lock_path: &Path,
    relock: &str,
) -> Result<()> {
    let mut wanted = bs.requires.clone();
    wanted.extend(run.requires.iter().cloned());
    let missing = unsatisfied(lock, &wanted, run.markers.as_ref())?;
    if !missing.is_empty() {
        return Err(Pep517Error::Unsatisfied {
            backend: bs.backend.clone(),
            missing: missing.join(", "),
            hook: hook.to_string(),
            lock: lock_path.to_path_buf(),
            relock: relock.to_string(),
        });
    }
    run.succeeded(&bs.backend, hook)
}
