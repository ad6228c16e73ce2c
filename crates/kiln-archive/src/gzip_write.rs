//! A pigz-style gzip writer: one gzip member whose deflate stream is the
//! concatenation of independently compressed, fixed-size chunks.
//!
//! Why chunks: compressing a chunk needs nothing from its neighbours (fresh
//! compressor, no shared dictionary), so a window of chunks can be
//! compressed in parallel and written in order. Each chunk but the last
//! ends with a sync flush (an empty stored block: byte-aligned, non-final),
//! the last with `Finish`; concatenated they are one valid deflate stream.
//!
//! Why the bytes never depend on the thread count: chunk boundaries are a
//! function of the uncompressed offset only (`gzip_chunk_size`), each
//! chunk's output is a function of its bytes and the level only, and which
//! chunk is last is known before it is compressed (a full chunk is only
//! queued once more data follows it). The window size (which does follow
//! the thread count) only changes *when* chunks are written, not their
//! bytes.

use std::io::Write;

use flate2::{Compress, CompressError, Compression, FlushCompress, Status};
use rayon::prelude::*;

use crate::ArchiveError;

/// XFL (extra flags) byte of the gzip header. gzip(1) writes 2 or 4
/// depending on the level, CPython's gzip module 0/2/4; the field is purely
/// informational. kiln writes 0 ("no claim") so the header does not change
/// when the pinned level does, and does not pretend to be gzip(1).
pub const GZIP_XFL: u8 = 0;

/// OS byte: 255 = "unknown", so the header does not record the build host.
const GZIP_OS_UNKNOWN: u8 = 255;

/// Header: magic, CM=8 (deflate), FLG=0 (no FNAME/FEXTRA/FCOMMENT/FHCRC),
/// MTIME=0 (the tar members carry the epoch; the container does not need
/// a second clock), XFL, OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, GZIP_XFL, GZIP_OS_UNKNOWN];

const ARCHIVE: &str = "tar.gz";

#[derive(Debug)]
pub(crate) struct GzipChunkWriter<W: Write> {
    inner: W,
    level: u32,
    chunk_size: usize,
    current: Vec<u8>,
    /// Full chunks known not to be the last one.
    pending: Vec<Vec<u8>>,
    crc: crc32fast::Hasher,
    total: u64,
    header_written: bool,
}

impl<W: Write> GzipChunkWriter<W> {
    pub fn new(inner: W, level: u32, chunk_size: usize) -> Self {
        let chunk_size = chunk_size.max(1);
        Self {
            inner,
            level,
            chunk_size,
            current: Vec::new(),
            pending: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
            header_written: false,
        }
    }

    fn window() -> usize {
        2 * rayon::current_num_threads().max(1)
    }

    /// Append uncompressed bytes; `what` names the member for errors.
    pub fn write(&mut self, mut data: &[u8], what: &str) -> Result<(), ArchiveError> {
        while !data.is_empty() {
            if self.current.len() == self.chunk_size {
                // More data follows, so this full chunk is not the last one.
                let full = std::mem::take(&mut self.current);
                self.pending.push(full);
                if self.pending.len() >= Self::window() {
                    self.flush_pending(what)?;
                }
            }
            if self.current.capacity() == 0 {
                self.current.reserve_exact(self.chunk_size.min(1 << 26));
            }
            let room = self.chunk_size - self.current.len();
            let take = room.min(data.len());
            self.current.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    fn write_out(&mut self, bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
        if !self.header_written {
            self.header_written = true;
            write_all(&mut self.inner, &GZIP_HEADER, what)?;
        }
        write_all(&mut self.inner, bytes, what)
    }

    fn flush_pending(&mut self, what: &str) -> Result<(), ArchiveError> {
        let level = self.level;
        let pending = std::mem::take(&mut self.pending);
        let results: Vec<Result<(Vec<u8>, crc32fast::Hasher), CompressError>> = pending
            .par_iter()
            .map(|chunk| {
                let mut h = crc32fast::Hasher::new();
                h.update(chunk);
                deflate_chunk(level, chunk, false).map(|c| (c, h))
            })
            .collect();
        for (chunk, result) in pending.iter().zip(results) {
            let (compressed, h) = result.map_err(|source| ArchiveError::Deflate {
                archive: ARCHIVE,
                path: what.to_owned(),
                source,
            })?;
            self.crc.combine(&h);
            self.total += chunk.len() as u64;
            self.write_out(&compressed, what)?;
        }
        Ok(())
    }

    /// Compress what is left, write the gzip trailer, return the sink.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        let what = "end of archive";
        self.flush_pending(what)?;
        let last = std::mem::take(&mut self.current);
        let compressed =
            deflate_chunk(self.level, &last, true).map_err(|source| ArchiveError::Deflate {
                archive: ARCHIVE,
                path: what.to_owned(),
                source,
            })?;
        self.crc.update(&last);
        self.total += last.len() as u64;
        self.write_out(&compressed, what)?;
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
        // ISIZE is the length modulo 2^32 (RFC 1952).
        trailer[4..].copy_from_slice(&((self.total & 0xffff_ffff) as u32).to_le_bytes());
        write_all(&mut self.inner, &trailer, what)?;
        self.inner.flush().map_err(|source| ArchiveError::Write {
            archive: ARCHIVE,
            path: what.to_owned(),
            source,
        })?;
        Ok(self.inner)
    }
}

fn write_all<W: Write>(w: &mut W, bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
    w.write_all(bytes).map_err(|source| ArchiveError::Write {
        archive: ARCHIVE,
        path: what.to_owned(),
        source,
    })
}

/// Raw deflate of one chunk with a fresh compressor. `finish` ends the
/// stream (final block); otherwise a sync flush leaves it byte-aligned and
/// open for the next chunk. Also used for whole zip members (`finish`).
pub(crate) fn deflate_chunk(
    level: u32,
    input: &[u8],
    finish: bool,
) -> Result<Vec<u8>, CompressError> {
    let mut c = Compress::new(Compression::new(level), false);
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(64));
        }
        let consumed = usize::try_from(c.total_in())
            .unwrap_or(input.len())
            .min(input.len());
        let status = c.compress_vec(&input[consumed..], &mut out, flush)?;
        let consumed = usize::try_from(c.total_in()).unwrap_or(input.len());
        if consumed >= input.len() {
            let done = if finish {
                status == Status::StreamEnd
            } else {
                out.len() < out.capacity()
            };
            if done {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gz(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut w = GzipChunkWriter::new(Vec::new(), 6, chunk);
        // Feed in odd-sized pieces to exercise chunk boundaries.
        for piece in data.chunks(7) {
            w.write(piece, "t").unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn decodes_with_flate2_for_any_chunk_size() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for chunk in [1usize, 100, 4096, 65536, 1 << 20] {
            let out = gz(&data, chunk);
            assert_eq!(&out[..10], &GZIP_HEADER);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "chunk {chunk}");
        }
    }

    #[test]
    fn empty_stream_is_valid() {
        let out = gz(b"", 10);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn exact_multiple_of_chunk_size() {
        let data = vec![b'a'; 300];
        let out = gz(&data, 100);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn thread_count_does_not_change_bytes() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 13) as u8 ^ (i >> 9) as u8)
            .collect();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| gz(&data, 1000))
        };
        assert_eq!(run(1), run(4));
    }
}
