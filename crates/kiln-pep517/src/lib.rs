//! Backend mode's PEP 517 layer: run a project's own build backend in an
//! environment installed only from its hash lock, the way `python -m build`
//! does by default (the sdist from a private copy of the tree, the wheel
//! from that sdist unpacked), and resolve the lock in the first place.
//!
//! This is, with xtask, the only crate that spawns processes: pip (to
//! resolve, and to download a locked file by its hash), `python -m venv`,
//! and the backend's hooks. Everything it needs from the machine -- the
//! cache directory, the pinned Python, which `PIP_*` variables to drop,
//! where progress goes -- is a [`Settings`] value the caller fills in; it
//! reads no environment variable and no clock.
//!
//! Codemap: `env` (the hash-keyed wheel and environment cache, and the only
//! two pip calls), `install` (kiln's own wheel installer, RECORD-checked),
//! `hooks` (the scrubbed subprocess running the embedded `driver.py`),
//! `tree` (the private copies the backend sees), `lock` (which locked
//! packages satisfy which requirements), `build` ([`build`] and
//! [`resolve_lock`], the two things callers ask for), `sdist` (a published
//! sdist's wheel built as pip builds it, and its lock).

mod build;
mod env;
mod error;
mod hooks;
mod install;
mod lock;
mod sdist;
mod tree;

pub use build::{BackendBuild, BuildRequest, build, build_with_epoch, resolve_lock};
pub use env::{PIP_KEEP, pip_vars_to_drop};
pub use error::Pep517Error;
pub use hooks::MAPPED_BUILD_DIR;
pub use install::{Layout, install_wheel, parse_record};
pub use lock::{read_lock, unsatisfied};
pub use sdist::{
    SdistRequest, SdistWheel, build_wheel_from_sdist, resolve_sdist_lock, sdist_build_system,
};

use std::path::PathBuf;

/// What backend mode needs from the machine it runs on.
pub struct Settings<'a> {
    /// Where downloaded wheels (`wheels/<sha256>/<file>`) and built
    /// environments (`envs/<key>/`) are kept.
    pub cache: PathBuf,
    /// The pinned interpreter version (`python.version`), e.g. `3.12`;
    /// `python<version>` must be on PATH when something has to be created.
    pub python: String,
    /// kiln's version, part of every environment's key.
    pub kiln_version: String,
    /// The `PIP_*` variables of the caller's environment that pip must not
    /// see (see [`pip_vars_to_drop`]).
    pub pip_drop: Vec<String>,
    /// Where progress lines go.
    pub step: &'a dyn Fn(&str),
}

impl std::fmt::Debug for Settings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("cache", &self.cache)
            .field("python", &self.python)
            .field("kiln_version", &self.kiln_version)
            .field("pip_drop", &self.pip_drop)
            .finish_non_exhaustive()
    }
}
