//! The tools kiln is measured against, and how each is run.
//!
//! The peers come from one hash-pinned requirements file installed into a
//! virtual environment under `target/` (rebuilt only when the file
//! changes), so every machine measures the same versions and no build
//! touches the network: `python -m build` runs without isolation in that
//! environment, and uv runs offline with its cache under `target/`.

use super::generate::Backend;
use crate::report;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use xshell::{Cmd, Shell, cmd};

pub const REQUIREMENTS: &str = "xtask/python/bench-requirements.txt";
const VENV: &str = "target/kiln-bench-venv";
const UV_CACHE: &str = "target/kiln-bench-uv-cache";

/// The epoch every tool gets (kiln as a flag, the peers as
/// `SOURCE_DATE_EPOCH`), so all of them do their reproducible best.
pub const EPOCH: &str = "1700000000";

/// One measured tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    Kiln,
    Uv,
    UvPep517,
    Hatchling,
    Flit,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Kiln,
        Tool::Uv,
        Tool::UvPep517,
        Tool::Hatchling,
        Tool::Flit,
    ];

    /// Stable, for JSON and directory names.
    pub fn key(self) -> &'static str {
        match self {
            Tool::Kiln => "kiln",
            Tool::Uv => "uv",
            Tool::UvPep517 => "uv-pep517",
            Tool::Hatchling => "hatchling",
            Tool::Flit => "flit",
        }
    }

    /// What the table shows.
    pub fn label(self) -> &'static str {
        match self {
            Tool::Kiln => "kiln build (native)",
            Tool::Uv => "uv build",
            Tool::UvPep517 => "uv build --force-pep517",
            Tool::Hatchling => "python -m build (hatchling)",
            Tool::Flit => "python -m build (flit_core)",
        }
    }

    /// Which copy of the project it builds.
    pub fn backend(self) -> Backend {
        match self {
            Tool::Kiln | Tool::Uv | Tool::UvPep517 => Backend::UvBuild,
            Tool::Hatchling => Backend::Hatchling,
            Tool::Flit => Backend::Flit,
        }
    }
}

/// Everything needed to spawn a tool.
#[derive(Debug)]
pub struct Runner {
    /// The running xtask binary: kiln's `build` command.
    pub kiln: PathBuf,
    pub venv: PathBuf,
    pub uv_cache: PathBuf,
    /// Pinned versions, from the requirements file.
    pub versions: BTreeMap<String, String>,
}

impl Runner {
    /// Installs (or reuses) the peers' environment.
    pub fn new(sh: &Shell, root: &Path) -> Result<Runner> {
        #[allow(clippy::disallowed_methods)]
        // xtask spawns itself: kiln's build is its `build` command.
        let kiln = std::env::current_exe().context("cannot locate the running xtask binary")?;
        let requirements = root.join(REQUIREMENTS);
        let text = std::fs::read_to_string(&requirements)
            .with_context(|| format!("failed to read {}", requirements.display()))?;
        let venv = install(sh, root, &requirements, &text)?;
        let uv_cache = root.join(UV_CACHE);
        std::fs::create_dir_all(&uv_cache)
            .with_context(|| format!("failed to create {}", uv_cache.display()))?;
        Ok(Runner {
            kiln,
            venv,
            uv_cache,
            versions: pinned_versions(&text),
        })
    }

    pub fn version(&self, package: &str) -> &str {
        self.versions.get(package).map_or("?", String::as_str)
    }

    /// The command that builds `project` (sdist and wheel) into `out`.
    /// `threads` sets `RAYON_NUM_THREADS` for kiln.
    pub fn command<'a>(
        &self,
        sh: &'a Shell,
        tool: Tool,
        project: &Path,
        out: &Path,
        threads: Option<usize>,
    ) -> Cmd<'a> {
        let python = self.venv.join("bin/python");
        let uv = self.venv.join("bin/uv");
        let kiln = &self.kiln;
        let cmd = match tool {
            Tool::Kiln => {
                let cmd = cmd!(
                    sh,
                    "{kiln} build {project} --out {out} --source-date-epoch {EPOCH} --mode native"
                );
                return match threads {
                    Some(n) => cmd.env("RAYON_NUM_THREADS", n.to_string()),
                    None => cmd,
                };
            }
            // uv's own fast path: uv_build's code compiled into uv, no Python.
            Tool::Uv => cmd!(
                sh,
                "{uv} build --no-config --offline --out-dir {out} {project}"
            ),
            // The uv_build Python package (its bundled binary) through PEP 517.
            Tool::UvPep517 => cmd!(
                sh,
                "{uv} build --no-config --offline --force-pep517 --no-build-isolation --python {python} --out-dir {out} {project}"
            ),
            Tool::Hatchling | Tool::Flit => cmd!(
                sh,
                "{python} -m build --no-isolation --outdir {out} {project}"
            ),
        };
        cmd.env("SOURCE_DATE_EPOCH", EPOCH)
            .env("VIRTUAL_ENV", &self.venv)
            .env("UV_CACHE_DIR", &self.uv_cache)
            .env("UV_OFFLINE", "1")
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("PIP_NO_INDEX", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
    }
}

/// `name==version` lines of a compiled requirements file.
pub fn pinned_versions(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim().trim_end_matches('\\').trim();
            let (name, version) = line.split_once("==")?;
            (!name.starts_with('#') && !name.starts_with('-'))
                .then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// A virtual environment holding exactly the hash-pinned peers, reused
/// while its stamp (the sha256 of the requirements file) matches.
fn install(sh: &Shell, root: &Path, requirements: &Path, text: &str) -> Result<PathBuf> {
    let stamp_text = kiln_digest::hex(&kiln_digest::sha256(text.as_bytes()));
    let venv = root.join(VENV);
    let python = venv.join("bin/python");
    let stamp = venv.join("kiln-bench-requirements.sha256");
    if python.is_file()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str())
    {
        return Ok(venv);
    }
    if cmd!(sh, "python3 --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_err()
    {
        bail!(
            "no python3 found: the peers (uv, hatchling, flit) need Python 3.9 or newer (3.11 is pinned)"
        );
    }
    report::step(&format!(
        "creating {VENV} (hash-pinned peers from {REQUIREMENTS})"
    ));
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("failed to remove {}", venv.display()))?;
    }
    cmd!(sh, "python3 -m venv {venv}")
        .run()
        .context("python3 -m venv failed")?;
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r {requirements}"
    )
    .run()
    .context("installing the benchmark peers failed (they come from PyPI, hash-pinned)")?;
    std::fs::write(&stamp, &stamp_text)
        .with_context(|| format!("failed to write {}", stamp.display()))?;
    Ok(venv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pins() {
        let text = "# header\nuv==0.13.9 \\\n    --hash=sha256:ab\nuv-build==0.13.6 \\\n    # via -r x.in\n";
        let pins = pinned_versions(text);
        assert_eq!(pins.get("uv").map(String::as_str), Some("0.13.9"));
        assert_eq!(pins.get("uv-build").map(String::as_str), Some("0.13.6"));
        assert_eq!(pins.len(), 2);
    }

    #[test]
    fn the_committed_requirements_pin_the_peers() {
        let text = include_str!("../../python/bench-requirements.txt");
        let pins = pinned_versions(text);
        assert_eq!(pins.get("uv").map(String::as_str), Some("0.13.9"));
        assert_eq!(pins.get("uv-build").map(String::as_str), Some("0.13.6"));
        for name in ["build", "hatchling", "flit-core", "flit"] {
            assert!(pins.contains_key(name), "{name} is not pinned");
        }
        assert!(text.contains("--hash=sha256:"));
    }
}
