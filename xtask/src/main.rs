//! `cargo xtask`: kiln's orchestrator.
//!
//! xtask is the only part of kiln that reads the environment and the clock,
//! runs processes (git, rustc, Python) and will touch the network. It turns
//! those into plain parameters -- an epoch, paths, pins -- and hands them to
//! the library crates, which do the actual packing, hashing and recording.
//! One file per command, each a method on its flags type (see `flags.rs`).

mod asof;
mod bench;
mod build;
mod ci;
mod config;
mod diff;
mod distfiles;
mod engine;
mod epoch;
mod fetch;
mod keygen;
mod keyless;
mod layout;
mod located;
mod lock;
mod mirror;
mod normalize;
mod pins;
mod provenance;
mod rebuild;
mod release;
mod report;
mod reproduce;
mod serve;
mod sign;
mod tuf;
mod tuf_keys;
mod verify;
mod wheelhouse;
mod wheels;

use clap::Parser;
use kiln_report::ErrorKind;
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
    if let Some(code) = bench::meter::run_if_asked() {
        return code;
    }
    let flags = match flags::Xtask::try_parse() {
        Ok(flags) => flags,
        Err(e) => {
            let _ = e.print();
            // clap: --help/--version are successes, usage errors exit 2.
            if !e.use_stderr() {
                return ExitCode::SUCCESS;
            }
            #[allow(clippy::disallowed_methods)] // The command line, which clap could not read.
            if std::env::args_os().any(|a| a == "--json") {
                let text = e.render().to_string();
                let mut error = kiln_report::Error::from_message(
                    ErrorKind::BadInput,
                    text.trim().trim_start_matches("error: "),
                );
                if let Some(clap::error::ContextValue::String(arg)) =
                    e.get(clap::error::ContextKind::InvalidArg)
                {
                    error.field = Some(arg.clone());
                }
                report::json_error(kiln_report::ErrorReport {
                    schema: kiln_report::Version,
                    command: None,
                    error,
                });
            }
            return ExitCode::from(ErrorKind::BadInput.exit_code());
        }
    };
    let (command, json) = command_and_json(&flags.command);
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
        flags::Command::Wheelhouse(cmd) => cmd.run(),
        flags::Command::Distfiles(cmd) => cmd.run(),
        flags::Command::Tuf(cmd) => cmd.run(),
        flags::Command::Mirror(cmd) => cmd.run(),
        flags::Command::Serve(cmd) => cmd.run(),
        flags::Command::Rebuild(cmd) => cmd.run(),
    };
    record_peak_memory();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let kind = if err.chain().any(|e| e.is::<Mismatch>()) {
                ErrorKind::Mismatch
            } else {
                ErrorKind::BadInput
            };
            let message = format!("{err:#}");
            report::error(&message);
            if json {
                json_error(Some(command), kind, &message, located::locate(&err));
            }
            ExitCode::from(kind.exit_code())
        }
    }
}

/// With `--json`, an error is a JSON object on stdout too (unless the
/// command's report is already there); the human line stays on stderr.
/// Its `path` and `field` are what the typed errors in the chain name.
fn json_error(
    command: Option<kiln_report::Command>,
    kind: ErrorKind,
    message: &str,
    at: located::Location,
) {
    report::json_error(kiln_report::ErrorReport {
        schema: kiln_report::Version,
        command,
        error: kiln_report::Error::located(kind, message, at.path, at.field),
    });
}

/// The command's name in reports, and whether it was asked for `--json`.
fn command_and_json(command: &flags::Command) -> (kiln_report::Command, bool) {
    use kiln_report::Command as C;
    match command {
        flags::Command::Release(c) => (C::Release, c.json),
        flags::Command::Build(c) => (C::Build, c.json),
        flags::Command::Lock(c) => (C::Lock, c.json),
        flags::Command::Keygen(c) => (C::Keygen, c.json),
        flags::Command::Verify(c) => (C::Verify, c.json),
        flags::Command::Diff(c) => (C::Diff, c.json),
        flags::Command::Normalize(c) => (C::Normalize, c.json),
        flags::Command::Ci(_) => (C::Ci, false),
        flags::Command::Bench(c) => (C::Bench, c.json),
        flags::Command::Wheelhouse(c) => (C::Wheelhouse, c.json),
        flags::Command::Distfiles(c) => (C::Distfiles, c.json()),
        flags::Command::Tuf(c) => (C::Tuf, c.json()),
        flags::Command::Mirror(c) => (C::Mirror, c.json),
        flags::Command::Serve(_) => (C::Serve, false),
        flags::Command::Rebuild(c) => (C::Rebuild, c.json),
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
