//! Runs the `xtask` binary on a hostile input with a wall-clock deadline
//! (the child is killed past it, and the test fails) and reads the peak
//! resident set size the command itself records (`KILN_PEAK_RSS_FILE`).

#![allow(
    dead_code,
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::print_stderr
)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default bounds of the suite: inputs under 10 MB must finish in
/// 10 s and stay under 256 MiB peak RSS.
pub const TIME: Duration = Duration::from_secs(10);
pub const MEMORY_KIB: u64 = 256 * 1024;

/// What one bounded run gave.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The command's own high-water RSS in KiB (`None` if it wrote none,
    /// e.g. killed by a signal).
    pub peak_kib: Option<u64>,
}

impl Outcome {
    /// Asserts the exit code, the time bound and the memory bound, and
    /// that stderr names `needle` (the file, field or entry at fault).
    #[track_caller]
    pub fn expect(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}, got {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains(needle) || self.stdout.contains(needle),
            "output does not name {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "panicked:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts the peak RSS stayed under `kib`.
    #[track_caller]
    pub fn under(&self, kib: u64) -> &Self {
        let peak = self.peak_kib.expect("the command recorded no peak memory");
        assert!(
            peak <= kib,
            "peak RSS {peak} KiB exceeds the bound of {kib} KiB\nstderr:\n{}",
            self.stderr
        );
        self
    }
}

/// `xtask ARGS` in `dir` under the suite's default bounds (time enforced
/// here; call `.under(MEMORY_KIB)` or `.expect(..)` for the rest).
pub fn run(dir: &Path, args: &[&str]) -> Outcome {
    run_with(dir, args, &[], TIME)
}

/// Bounded runs (and the kill loop) take turns: a time bound measured
/// while sibling tests compete for the same two cores would measure them,
/// not the command.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits for this test's turn on the machine (see `TURN`); a panicking
/// holder does not block the others.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `xtask ARGS` in `dir` with extra environment and a deadline: past it
/// the child is killed and the test fails, naming the command.
pub fn run_with(dir: &Path, args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Outcome {
    let _turn = exclusive();
    let rss = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .env("KILN_PEAK_RSS_FILE", rss.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "xtask {args:?} did not finish within {deadline:?} (killed)\nstderr so far:\n{}",
                String::from_utf8_lossy(&err_thread.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned();
    let peak_kib = std::fs::read_to_string(rss.path())
        .ok()
        .and_then(|s| s.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    Outcome {
        code: status.code(),
        stdout,
        stderr,
        elapsed,
        peak_kib,
    }
}

/// The committed record of the bundled example `kiln-sums 0.1.0`.
pub fn example_record() -> String {
    std::fs::read_to_string(crate::common::root().join("release/records/kiln-sums/0.1.0.distinfo"))
        .unwrap()
}

/// Builds the bundled example into `out` at the epoch its committed record
/// names, so what is built matches the record; returns the record.
pub fn build_example_as_recorded(out: &Path) -> String {
    let record = example_record();
    let epoch = record
        .lines()
        .find_map(|l| l.strip_prefix("EPOCH = "))
        .unwrap()
        .to_string();
    let built = run(
        &crate::common::root(),
        &[
            "build",
            "examples/kiln-sums",
            "--out",
            out.to_str().unwrap(),
            "--source-date-epoch",
            &epoch,
        ],
    );
    assert_eq!(built.code, Some(0), "build failed: {}", built.stderr);
    record
}
