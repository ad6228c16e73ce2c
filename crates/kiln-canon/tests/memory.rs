//! Memory stays flat in the size of the archive: an sdist holding 128 MiB
//! of files is canonicalized from disk to a counting sink by
//! `canonicalize_sdist_stream`, and the process's peak resident memory
//! stays far below the size of its content. One test in its own binary, so
//! the peak (`VmHWM`, Linux) is this test's alone.
#![allow(clippy::unwrap_used)]
#![allow(clippy::print_stderr)] // the skip message off Linux

use std::io::{BufReader, Seek, SeekFrom};

use kiln_archive::{ArchiveWriter, Deflate, Limits, TarGzWriter};
use kiln_canon::canonicalize_sdist_stream;
use kiln_names::Epoch;

#[path = "support/memory.rs"]
mod memory;

use memory::{Counter, peak_rss};

#[test]
fn canonicalizing_a_128_mib_sdist_from_disk_keeps_memory_flat() {
    if peak_rss().is_none() {
        eprintln!("skipped: no /proc/self/status VmHWM on this system");
        return;
    }
    let deflate = Deflate {
        level: 1,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let epoch = Epoch::clamped(1_700_000_000);
    // 128 members of 1 MiB, written in reverse order so canonicalizing has
    // to reorder all of them; cheap to compress, never all in memory.
    let mut input = tempfile::tempfile().unwrap();
    let mut w = TarGzWriter::new(&mut input, epoch.seconds(), deflate);
    let mut block: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8)
        .collect();
    for i in 0..128u32 {
        block[..4].copy_from_slice(&i.to_le_bytes());
        w.add_file(&format!("big-1.0/data/{i:03}.bin"), &block, false)
            .unwrap();
    }
    w.finish().unwrap();
    drop(block);
    input.seek(SeekFrom::Start(0)).unwrap();

    let mut spool = tempfile::tempfile().unwrap();
    let out = canonicalize_sdist_stream(
        "big-1.0.tar.gz",
        BufReader::new(&mut input),
        &mut spool,
        epoch,
        deflate,
        &Limits::default(),
        Counter::default(),
    )
    .unwrap();
    assert!(out.0 > 0);
    assert_eq!(spool.metadata().unwrap().len(), 128 << 20);
    let peak = peak_rss().unwrap();
    assert!(
        peak < 48 << 20,
        "peak resident memory {} MiB for 128 MiB of content",
        peak >> 20
    );
}
