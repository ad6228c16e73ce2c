//! What the two memory tests share (each runs in its own binary, so the
//! process's peak is its test's alone): the peak resident set size, and a
//! sink that only counts what it is given.

use std::io::{Seek, SeekFrom, Write};

/// Peak resident set size of this process, in bytes (Linux `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A sink that only counts: the extent written (`.0`), and where the next
/// write goes (`.1`, which `Seek` moves, as the zip writer does to patch a
/// local header).
#[derive(Default)]
pub struct Counter(pub u64, u64);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.1 += b.len() as u64;
        self.0 = self.0.max(self.1);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Counter {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(p) => (p, 0),
            SeekFrom::End(d) => (self.0, d),
            SeekFrom::Current(d) => (self.1, d),
        };
        self.1 = base
            .checked_add_signed(delta)
            .ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.1)
    }
}
