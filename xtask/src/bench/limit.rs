//! What the native part measures besides wall time: the CPU time a tool's
//! process tree spent, and the compressor's limit.
//!
//! CPU time is the growth of this process's waited-for children's user +
//! system time (`/proc/self/stat` fields `cutime` and `cstime`, Linux only,
//! in clock ticks of 10 ms) across one run: the tool and every descendant
//! it waited for.
//!
//! The limit is kiln's compressor alone (`kiln_archive::Deflated::new`,
//! the pinned level and piece size) over the bytes of the project's files,
//! on all of rayon's threads, with the files already in memory: no reading,
//! no hashing, no containers, and each file deflated once. kiln's median
//! divided by it says how far the rest of the build is from free.

use super::generate::SourceFile;
use kiln_archive::{Deflate, Deflated};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc`'s times (USER_HZ, 100 on every Linux
/// kiln runs on; the kernel's ABI fixes it for user space).
const TICKS_PER_SECOND: u64 = 100;

/// Children's user + system time so far, when the platform says.
pub fn children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // rest starts at field 3 (state); cutime and cstime are fields 16, 17.
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(Duration::from_millis(
        (cutime + cstime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// The compressor alone over `files`, the fastest of `runs` passes.
pub fn compressor_limit(files: &[SourceFile], deflate: Deflate, runs: usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        #[allow(clippy::disallowed_methods)] // Timing is what the bench is for.
        let start = Instant::now();
        let compressed: usize = files
            .par_iter()
            .map(|f| Deflated::new(&f.path, &f.bytes, deflate).map_or(0, |d| d.segment.len()))
            .sum();
        let elapsed = start.elapsed();
        std::hint::black_box(compressed);
        best = best.min(elapsed);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_cpu_reads_proc_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(children_cpu().is_some());
        }
    }

    #[test]
    fn the_limit_is_a_duration() {
        let files = vec![SourceFile {
            path: "src/benchpkg/a.py".into(),
            bytes: b"x = 1\n".repeat(1000),
        }];
        let d = Deflate {
            level: 6,
            gzip_chunk_size: 1 << 20,
            solid_below: 128 << 10,
            solid_level: 5,
        };
        assert!(compressor_limit(&files, d, 2) < Duration::from_secs(60));
    }
}
