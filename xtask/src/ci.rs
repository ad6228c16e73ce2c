//! `cargo xtask ci`: exactly what CI runs, in one command, on a fresh
//! machine: formatting, clippy, and the whole test suite including the
//! Python-side checks, whose tools it installs itself (hash-pinned, into a
//! virtual environment under `target/`).

use crate::{project_root, report};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

const REQUIREMENTS: &str = "xtask/python/requirements.txt";
const VENV: &str = "target/kiln-ci-venv";

impl crate::flags::Ci {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let sh = Shell::new()?;
        sh.change_dir(&root);
        let cargo = cargo_program();
        if !self.tests_only {
            report::step("cargo fmt --check");
            cmd!(sh, "{cargo} fmt --all --check").run()?;
            report::step("cargo clippy -D warnings");
            cmd!(
                sh,
                "{cargo} clippy --workspace --all-targets --locked -- -D warnings"
            )
            .run()?;
        }
        let python = python_env(&sh, &root)?;
        report::step("cargo test (Python-side checks required)");
        cmd!(sh, "{cargo} test --workspace --locked")
            .env("KILN_TEST_PYTHON", &python)
            .env("KILN_REQUIRE_PYTHON", "1")
            .run()?;
        Ok(())
    }
}

/// The cargo that runs us (so `cargo +toolchain xtask ci` keeps its toolchain).
pub fn cargo_program() -> PathBuf {
    #[allow(clippy::disallowed_methods)] // xtask reads the environment cargo gives it.
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A virtual environment holding exactly the hash-pinned test tools;
/// rebuilt when the requirements change. Returns its interpreter.
pub fn python_env(sh: &Shell, root: &Path) -> Result<PathBuf> {
    let requirements = root.join(REQUIREMENTS);
    let wanted = std::fs::read(&requirements)
        .with_context(|| format!("failed to read {}", requirements.display()))?;
    let stamp_text = kiln_digest::hex(&kiln_digest::sha256(&wanted));
    let venv = root.join(VENV);
    let python = venv.join("bin/python");
    let stamp = venv.join("kiln-requirements.sha256");
    if python.is_file()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str())
    {
        return Ok(python);
    }
    let base = find_python(sh)?;
    report::step(&format!(
        "creating {VENV} with {} (hash-pinned test tools)",
        base
    ));
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("failed to remove {}", venv.display()))?;
    }
    cmd!(sh, "{base} -m venv {venv}").run()?;
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r {requirements}"
    )
    .run()
    .context("installing the Python test tools failed (they come from PyPI, hash-pinned)")?;
    std::fs::write(&stamp, &stamp_text)?;
    Ok(python)
}

/// The pinned interpreter version if it is installed, else `python3`.
fn find_python(sh: &Shell) -> Result<String> {
    for candidate in ["python3.11", "python3"] {
        if cmd!(sh, "{candidate} --version")
            .quiet()
            .ignore_stderr()
            .read()
            .is_ok()
        {
            return Ok(candidate.to_string());
        }
    }
    bail!("no python3 found: the Python-side checks need Python 3.9 or newer (3.11 is pinned)")
}
