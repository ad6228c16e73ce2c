//! The native part's yardstick besides the peers: the compressor's limit.
//! (A tool's CPU time and peak memory come from `meter`.)
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
