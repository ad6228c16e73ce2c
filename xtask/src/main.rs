//! `cargo xtask`: kiln's orchestrator.
//!
//! xtask is the only part of kiln that reads the environment and the clock,
//! runs processes (git, rustc, Python) and will touch the network. It turns
//! those into plain parameters -- an epoch, paths, pins -- and hands them to
//! the library crates, which do the actual packing, hashing and recording.
//! One file per command, each a method on its flags type (see `flags.rs`).

mod backend;
mod bench;
mod build;
mod ci;
mod config;
mod diff;
mod epoch;
mod fetch;
mod keygen;
mod keyless;
mod lock;
mod normalize;
mod pins;
mod provenance;
mod release;
mod report;
mod reproduce;
mod sign;
#[cfg(test)]
mod tidy;
mod verify;

use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Marks an error as "verification failed / artifacts differ" (exit 1)
/// rather than bad input (exit 2).
#[derive(Debug)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

fn main() -> ExitCode {
    let flags = match flags::Xtask::try_parse() {
        Ok(flags) => flags,
        Err(e) => {
            let _ = e.print();
            // clap: --help/--version are successes, usage errors exit 2.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match flags.command {
        flags::Command::Release(cmd) => cmd.run(),
        flags::Command::Build(cmd) => cmd.run(),
        flags::Command::Lock(cmd) => cmd.run(),
        flags::Command::Keygen(cmd) => cmd.run(),
        flags::Command::Verify(cmd) => cmd.run(),
        flags::Command::Diff(cmd) => cmd.run(),
        flags::Command::Normalize(cmd) => cmd.run(),
        flags::Command::Ci(cmd) => cmd.run(),
        flags::Command::Bench(cmd) => cmd.run(),
    };
    record_peak_memory();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = if err.chain().any(|e| e.is::<Mismatch>()) {
                1
            } else {
                2
            };
            report::error(&format!("{err:#}"));
            ExitCode::from(code)
        }
    }
}

mod flags;

/// `cargo xtask bench` measures the peak memory of the commands it runs by
/// setting `KILN_PEAK_RSS_FILE`: the command writes its own high-water
/// resident set size (Linux `VmHWM`, e.g. `12345 kB`) there before exiting.
fn record_peak_memory() {
    #[allow(clippy::disallowed_methods)] // Only the bench sets it; nothing reaches an artifact.
    let Some(path) = std::env::var_os("KILN_PEAK_RSS_FILE") else {
        return;
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(str::trim)
        .unwrap_or("unknown");
    let _ = std::fs::write(path, peak);
}

/// The root of the kiln checkout we run in: the nearest ancestor of the
/// current directory that holds `pinned-toolchain.toml` (so a second clone
/// releases its own tree, whichever binary runs); outside any checkout
/// (`build` of a project elsewhere), the checkout this binary was built from.
pub fn project_root() -> anyhow::Result<PathBuf> {
    #[allow(clippy::disallowed_methods)] // xtask is the edge that knows where it runs.
    let cwd = std::env::current_dir()?;
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    find_root(&cwd).or_else(|| find_root(&built_from)).ok_or_else(|| {
        anyhow::anyhow!(
            "no pinned-toolchain.toml in {} or any parent: run cargo xtask inside a kiln checkout",
            cwd.display()
        )
    })
}

fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("pinned-toolchain.toml").is_file())
        .map(Path::to_path_buf)
}
