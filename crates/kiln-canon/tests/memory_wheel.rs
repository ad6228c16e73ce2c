//! Memory stays flat in the size of the archive for wheels too: a wheel
//! holding 256 MiB of files is canonicalized from disk to a counting sink
//! by `canonicalize_wheel_stream`, and the process's peak resident memory
//! stays below the size of its content. The bound is the canonical zip
//! writer's window (64 MiB of pending members, compressed in parallel),
//! not the archive. One test in its own binary, so the peak (`VmHWM`,
//! Linux) is this test's alone.
#![allow(clippy::unwrap_used)]
#![allow(clippy::print_stderr)] // the skip message off Linux

use std::io::{Seek, SeekFrom};

use kiln_archive::{ArchiveWriter, Deflate, Limits, ZipWriter};
use kiln_canon::canonicalize_wheel_stream;
use kiln_names::Epoch;

#[path = "support/memory.rs"]
mod memory;

use memory::{Counter, peak_rss};

#[test]
fn canonicalizing_a_256_mib_wheel_from_disk_keeps_memory_flat() {
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
    // 256 members of 1 MiB in reverse order, and a RECORD listing them.
    let mut input = tempfile::tempfile().unwrap();
    let mut w = ZipWriter::new(&mut input, epoch.seconds(), deflate).unwrap();
    let mut block: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8)
        .collect();
    let mut record = String::new();
    for i in (0..256u32).rev() {
        block[..4].copy_from_slice(&i.to_le_bytes());
        let path = format!("big/{i:03}.bin");
        let hash = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(&block));
        record.push_str(&format!("{path},sha256={hash},{}\n", block.len()));
        w.add_file(&path, &block, false).unwrap();
    }
    record.push_str("big-1.0.dist-info/RECORD,,\n");
    w.add_file("big-1.0.dist-info/RECORD", record.as_bytes(), false)
        .unwrap();
    w.finish().unwrap();
    drop(block);
    input.seek(SeekFrom::Start(0)).unwrap();

    let out = canonicalize_wheel_stream(
        "big-1.0-py3-none-any.whl",
        &mut input,
        epoch,
        deflate,
        &Limits::default(),
        Counter::default(),
    )
    .unwrap();
    assert!(out.0 > 0);
    let peak = peak_rss().unwrap();
    assert!(
        peak < 200 << 20,
        "peak resident memory {} MiB for 256 MiB of content",
        peak >> 20
    );
}
