//! The bench's meter (`KILN_BENCH_METER=FILE xtask PROGRAM ARGS...`)
//! reports the peak memory of the command it runs, not of whoever ran it:
//! a process's peak survives `exec`, so a command spawned straight from a
//! process holding a lot of memory reports at least that much.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // Tests spawn processes.

use nix::sys::resource::{UsageWho, getrusage};
use std::path::Path;
use std::process::Command;

const MIB: u64 = 1024;

/// The meter's line for `sh -c SCRIPT`: wall ns, CPU µs, peak KiB.
fn metered(dir: &Path, script: &str) -> (i32, [u64; 3]) {
    let file = dir.join("usage");
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["sh", "-c", script])
        .env("KILN_BENCH_METER", &file)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    (status.code().unwrap(), fields.try_into().unwrap())
}

#[test]
fn the_peak_is_the_commands_not_the_parents() {
    let dir = tempfile::tempdir().unwrap();
    // This process's peak: 256 MiB, every page touched.
    let ballast = vec![1u8; 256 << 20];

    // Spawned straight from here, even `sh -c 'exit 0'` peaks at 256 MiB.
    assert!(
        Command::new("sh")
            .args(["-c", "exit 0"])
            .status()
            .unwrap()
            .success()
    );
    let direct = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();
    assert!(direct as u64 >= 256 * MIB, "{direct} KiB");

    // Through the meter, it is sh's own few MiB (and the meter's floor).
    let (code, [_, _, idle]) = metered(dir.path(), "exit 0");
    assert_eq!(code, 0);
    assert!(idle > 0 && idle < 64 * MIB, "{idle} KiB");

    // A descendant that fills a 96 MiB block counts; the exit code passes.
    let (code, [_, _, busy]) = metered(
        dir.path(),
        "dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; exit 3",
    );
    assert_eq!(code, 3);
    assert!(busy >= 96 * MIB, "{busy} KiB");
    assert!(busy < 256 * MIB, "{busy} KiB");
    std::hint::black_box(ballast);
}
