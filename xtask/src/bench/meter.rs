//! The native part's per-run figures besides wall time: the peak memory
//! and the CPU time of a tool's process tree.
//!
//! A process's `ru_maxrss` is the high-water mark of its resident set, and
//! `exec` keeps it: it starts at the peak of the memory the process had
//! before. std's `Command` spawns with vfork (`posix_spawn`), so a tool the
//! bench spawned directly would start from the bench's own peak -- it holds
//! the inputs it generated, up to ~100 MiB -- and report that, not its own.
//! So each timed build runs under a meter: the bench runs its own binary
//! with `KILN_BENCH_METER=FILE` and the command after it. That fresh process
//! (a few MiB: it meters before parsing anything) spawns the command, waits
//! for it, and writes to FILE the wall time from spawn to exit and
//! `getrusage(RUSAGE_CHILDREN)`. The command is the meter's only child, so
//! that is the command's own usage, one run's and no other's: `ru_maxrss`
//! is the largest resident set of the command and of each descendant it
//! waited for (the largest one, not a sum; Linux, in KiB), and user +
//! system time is the whole tree's. The meter's own few MiB are a floor
//! under the peak, below what any of the tools needs.

use anyhow::{Context, Result};
use nix::sys::resource::{UsageWho, getrusage};
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{ExitCode, ExitStatus};
use std::time::{Duration, Instant};
use xshell::{Cmd, Shell};

/// Set on the bench's own binary to make it a meter.
const ENV: &str = "KILN_BENCH_METER";

/// One run's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// From spawning the command to reaping it.
    pub wall: Duration,
    /// User + system time of the command and its waited-for descendants.
    pub cpu: Duration,
    /// The largest resident set among them, in KiB.
    pub peak_kib: u64,
}

/// When this process is a meter (`KILN_BENCH_METER` is set): runs the
/// command in its arguments, writes its usage to the file, and exits with
/// the command's status.
pub fn run_if_asked() -> Option<ExitCode> {
    #[allow(clippy::disallowed_methods)] // Only the bench sets it, on its own binary.
    let file = std::env::var_os(ENV)?;
    #[allow(clippy::disallowed_methods)] // The metered command line.
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    Some(meter(&args, Path::new(&file)).unwrap_or_else(|e| {
        crate::report::error(&format!("bench meter: {e:#}"));
        ExitCode::from(2)
    }))
}

fn meter(args: &[OsString], file: &Path) -> Result<ExitCode> {
    let (program, args) = args.split_first().context("no command to meter")?;
    let sh = Shell::new()?;
    let cmd = sh.cmd(program).args(args).env_remove(ENV);
    let (status, usage) = run(cmd.into())?;
    let line = format!(
        "{} {} {}\n",
        usage.wall.as_nanos(),
        usage.cpu.as_micros(),
        usage.peak_kib
    );
    std::fs::write(file, line).with_context(|| format!("failed to write {}", file.display()))?;
    // A signal's death reads as a shell does: 128 + the signal.
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Spawns `cmd` (its stdio inherited), waits for it, and reads the usage
/// of this process's reaped children: the command's own when it is the
/// only child this process ever had, as in a meter.
pub fn run(mut cmd: std::process::Command) -> Result<(ExitStatus, Usage)> {
    #[allow(clippy::disallowed_methods)] // Wall time is what a benchmark measures.
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("failed to run {:?}", cmd.get_program()))?;
    let wall = start.elapsed();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage failed")?;
    let time = |t: nix::sys::time::TimeVal| {
        let micros = t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
        Duration::from_micros(micros)
    };
    let max_rss = u64::try_from(usage.max_rss()).unwrap_or(0);
    Ok((
        status,
        Usage {
            wall,
            cpu: time(usage.user_time()) + time(usage.system_time()),
            // Linux counts KiB; macOS, bytes.
            peak_kib: if cfg!(target_os = "macos") {
                max_rss / 1024
            } else {
                max_rss
            },
        },
    ))
}

/// `cmd` run under the meter (the binary `exe`, this one), which writes
/// the run's usage to `file`: the same program, arguments and environment.
pub fn wrap<'a>(sh: &'a Shell, exe: &Path, cmd: Cmd<'_>, file: &Path) -> Cmd<'a> {
    let inner: std::process::Command = cmd.into();
    let mut outer = sh
        .cmd(exe)
        .arg(inner.get_program())
        .args(inner.get_args())
        .env(ENV, file);
    for (key, value) in inner.get_envs() {
        outer = match value {
            Some(value) => outer.env(key, value),
            None => outer.env_remove(key),
        };
    }
    outer
}

/// The usage a meter wrote to `file`.
pub fn read(file: &Path) -> Result<Usage> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("the meter wrote no usage to {}", file.display()))?;
    parse(&text).with_context(|| format!("{}: not a meter's usage: {text:?}", file.display()))
}

fn parse(text: &str) -> Option<Usage> {
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let mut next = || fields.next()?.ok();
    let usage = Usage {
        wall: Duration::from_nanos(next()?),
        cpu: Duration::from_micros(next()?),
        peak_kib: next()?,
    };
    next().is_none().then_some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh_c(sh: &Shell, script: &str) -> std::process::Command {
        sh.cmd("sh").arg("-c").arg(script).into()
    }

    #[test]
    fn a_real_child_has_a_peak_and_its_status() {
        let sh = Shell::new().unwrap();
        let (status, usage) = run(sh_c(&sh, "exit 0")).unwrap();
        assert!(status.success());
        assert!(usage.peak_kib > 0, "{usage:?}");
        let (status, _) = run(sh_c(&sh, "exit 3")).unwrap();
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn the_peak_covers_a_descendant_that_allocates() {
        // sh's child dd fills one 64 MiB block: a descendant's peak counts.
        let sh = Shell::new().unwrap();
        let script = "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; exit 0";
        let (status, usage) = run(sh_c(&sh, script)).unwrap();
        assert!(status.success());
        assert!(usage.peak_kib >= 64 * 1024, "{usage:?}");
    }

    #[test]
    fn a_wrapped_command_keeps_its_program_arguments_and_environment() {
        let sh = Shell::new().unwrap();
        let cmd = sh
            .cmd("/bin/tool")
            .arg("build")
            .arg("a b")
            .env("SOURCE_DATE_EPOCH", "1")
            .env_remove("PYTHONPATH");
        let outer: std::process::Command =
            wrap(&sh, Path::new("/x/xtask"), cmd, Path::new("/t/m")).into();
        assert_eq!(outer.get_program(), "/x/xtask");
        let args: Vec<_> = outer.get_args().collect();
        assert_eq!(args, ["/bin/tool", "build", "a b"]);
        let envs: Vec<_> = outer.get_envs().collect();
        assert!(envs.contains(&("SOURCE_DATE_EPOCH".as_ref(), Some("1".as_ref()))));
        assert!(envs.contains(&("PYTHONPATH".as_ref(), None)));
        assert!(envs.contains(&(ENV.as_ref(), Some("/t/m".as_ref()))));
    }

    #[test]
    fn usage_round_trips_through_its_line() {
        let u = parse("2500000 1200 34567\n").unwrap();
        assert_eq!(
            u,
            Usage {
                wall: Duration::from_micros(2500),
                cpu: Duration::from_micros(1200),
                peak_kib: 34567
            }
        );
        assert_eq!(parse("1 2"), None);
        assert_eq!(parse("1 2 3 4"), None);
        assert_eq!(parse("1 x 3"), None);
    }
}
