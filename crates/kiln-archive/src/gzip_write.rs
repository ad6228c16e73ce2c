//! The sdist's gzip stream: one gzip member whose deflate stream is a
//! sequence of independently compressed, byte-aligned segments, closed by
//! an empty final block.
//!
//! The tar writer hands over two kinds of bytes: *glue* (tar headers,
//! padding, the end-of-archive blocks, and the data of solid members) and
//! member *data*. A larger member's data is its own
//! segment, exactly as `Deflated` makes it (pieces of `gzip_chunk_size`
//! bytes from the member's first byte, each deflated by a fresh compressor
//! and sync-flushed), so data deflated once for the wheel is spliced in
//! unchanged; the glue between two such members is cut into pieces of the
//! same size, each deflated with the stream's preceding 32 KiB as its
//! dictionary (the bytes a decoder has just produced), so small files and
//! headers keep their neighbours' context; glue is deflated at
//! `solid_level`, data at `level`. Pieces need nothing but bytes
//! known when they are queued, so a window of them is compressed in
//! parallel and written in order; the CRC-32 of the whole is combined from
//! theirs.
//!
//! Why the bytes never depend on the thread count: where the pieces start
//! is a function of the members only (the data's own offsets, the glue's
//! offsets since the last data), and each piece's output is a function of
//! its bytes and the level. The window (which follows the thread count)
//! only changes *when* pieces are written, not their bytes.

use std::io::Write;

use rayon::prelude::*;

use crate::deflated::{Deflated, FINAL_EMPTY_BLOCK, WINDOW, deflate_piece_after, tail_of};
use crate::{ArchiveError, Deflate};

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
/// Pieces queued before the window is compressed and written.
const WINDOW_PIECES: usize = 512;

#[derive(Debug)]
enum Piece {
    /// Uncompressed bytes of one piece, deflated when the window is flushed
    /// with `history` (empty for data; for glue, the stream's preceding
    /// `WINDOW` bytes, so a tar header finds the previous one).
    Raw {
        bytes: Vec<u8>,
        history: Vec<u8>,
        /// Glue (at `solid_level`) rather than data (at `level`).
        glue: bool,
        what: String,
    },
    /// A member's whole segment, deflated by the caller.
    Ready(Deflated),
}

#[derive(Debug)]
pub(crate) struct GzipSegmentWriter<W: Write> {
    inner: W,
    deflate: Deflate,
    /// Glue since the last data, not yet cut into pieces.
    glue: Vec<u8>,
    /// The current member's data, less than a piece.
    data: Vec<u8>,
    pending: Vec<Piece>,
    pending_bytes: usize,
    /// The last `WINDOW` uncompressed bytes queued.
    history: Vec<u8>,
    crc: crc32fast::Hasher,
    total: u64,
    header_written: bool,
}

impl<W: Write> GzipSegmentWriter<W> {
    pub fn new(inner: W, deflate: Deflate) -> Self {
        Self {
            inner,
            deflate: Deflate {
                gzip_chunk_size: deflate.gzip_chunk_size.max(1),
                ..deflate
            },
            glue: Vec::new(),
            data: Vec::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            history: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
            header_written: false,
        }
    }

    fn window_bytes(&self) -> usize {
        2 * rayon::current_num_threads().max(1) * self.deflate.gzip_chunk_size
    }

    fn remember(&mut self, bytes: &[u8]) {
        if bytes.len() >= WINDOW {
            self.history = tail_of(bytes);
        } else {
            let drop = (self.history.len() + bytes.len()).saturating_sub(WINDOW);
            self.history.drain(..drop);
            self.history.extend_from_slice(bytes);
        }
    }

    fn queue(&mut self, piece: Piece, what: &str) -> Result<(), ArchiveError> {
        self.pending_bytes += match &piece {
            Piece::Raw { bytes, history, .. } => bytes.len() + history.len(),
            Piece::Ready(d) => d.segment.len(),
        };
        match &piece {
            Piece::Raw { bytes, .. } => self.remember(bytes),
            Piece::Ready(d) => self.remember(&d.tail),
        }
        self.pending.push(piece);
        if self.pending.len() >= WINDOW_PIECES || self.pending_bytes >= self.window_bytes() {
            self.flush_pending(what)?;
        }
        Ok(())
    }

    /// Container bytes between members' data (headers, padding).
    pub fn glue(&mut self, bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
        self.fill(true, bytes, what)
    }

    /// Ends the glue before a member's data.
    fn end_glue(&mut self, what: &str) -> Result<(), ArchiveError> {
        self.cut(true, what)
    }

    /// Part of a member's data (a member's data comes in one or more calls
    /// followed by `end_data`; empty data needs neither).
    pub fn data(&mut self, bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
        self.end_glue(what)?;
        self.fill(false, bytes, what)
    }

    pub fn end_data(&mut self, what: &str) -> Result<(), ArchiveError> {
        self.cut(false, what)
    }

    /// The glue's buffer, or the current member's data's.
    fn buffer(&mut self, glue: bool) -> &mut Vec<u8> {
        if glue { &mut self.glue } else { &mut self.data }
    }

    /// Appends `bytes` to the glue's or the data's buffer, queuing each
    /// piece of `gzip_chunk_size` bytes as it fills.
    fn fill(&mut self, glue: bool, mut bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
        let size = self.deflate.gzip_chunk_size;
        while !bytes.is_empty() {
            let buffer = self.buffer(glue);
            let take = (size - buffer.len()).min(bytes.len());
            buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if buffer.len() == size {
                self.cut(glue, what)?;
            }
        }
        Ok(())
    }

    /// Queues what the glue's or the data's buffer holds as one piece
    /// (nothing when it is empty): glue with the stream's preceding bytes
    /// as history, data as the start of its own segment.
    fn cut(&mut self, glue: bool, what: &str) -> Result<(), ArchiveError> {
        let bytes = std::mem::take(self.buffer(glue));
        if bytes.is_empty() {
            return Ok(());
        }
        let history = if glue {
            self.history.clone()
        } else {
            Vec::new()
        };
        let piece = Piece::Raw {
            bytes,
            history,
            glue,
            what: what.to_owned(),
        };
        self.queue(piece, what)
    }

    /// A member's whole data, deflated by the caller with these settings.
    pub fn deflated(&mut self, d: Deflated, what: &str) -> Result<(), ArchiveError> {
        if d.deflate != self.deflate {
            return Err(crate::deflated::other_settings(ARCHIVE, what));
        }
        if d.size == 0 {
            return Ok(());
        }
        self.end_glue(what)?;
        self.queue(Piece::Ready(d), what)
    }

    fn write_out(&mut self, bytes: &[u8], what: &str) -> Result<(), ArchiveError> {
        if !self.header_written {
            self.header_written = true;
            write_all(&mut self.inner, &GZIP_HEADER, what)?;
        }
        write_all(&mut self.inner, bytes, what)
    }

    fn flush_pending(&mut self, what: &str) -> Result<(), ArchiveError> {
        let Deflate {
            level, solid_level, ..
        } = self.deflate;
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let results: Vec<Result<Deflated, ArchiveError>> = pending
            .into_par_iter()
            .map(|piece| match piece {
                Piece::Ready(d) => Ok(d),
                Piece::Raw {
                    bytes,
                    history,
                    glue,
                    what,
                } => {
                    let mut segment = Vec::new();
                    let level = if glue { solid_level } else { level };
                    deflate_piece_after(level, &history, &bytes, &mut segment).map_err(
                        |source| ArchiveError::Deflate {
                            archive: ARCHIVE,
                            path: what,
                            source,
                        },
                    )?;
                    Ok(Deflated {
                        size: bytes.len() as u64,
                        crc32: crc32fast::hash(&bytes),
                        segment,
                        deflate: self.deflate,
                        tail: Vec::new(),
                    })
                }
            })
            .collect();
        for result in results {
            let d = result?;
            let h = crc32fast::Hasher::new_with_initial_len(d.crc32, d.size);
            self.crc.combine(&h);
            self.total += d.size;
            self.write_out(&d.segment, what)?;
        }
        Ok(())
    }

    /// Deflate what is left, close the stream, write the gzip trailer,
    /// return the sink.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        let what = "end of archive";
        self.end_data(what)?;
        self.end_glue(what)?;
        self.flush_pending(what)?;
        self.write_out(&FINAL_EMPTY_BLOCK, what)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gz(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut w = GzipSegmentWriter::new(
            Vec::new(),
            Deflate {
                level: 6,
                gzip_chunk_size: chunk,
                solid_below: 128 << 10,
                solid_level: 5,
            },
        );
        // Feed in odd-sized pieces to exercise chunk boundaries, as glue
        // and as data.
        for (i, piece) in data.chunks(7).enumerate() {
            if i % 3 == 0 {
                w.glue(piece, "t").unwrap();
            } else {
                w.data(piece, "t").unwrap();
                w.end_data("t").unwrap();
            }
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
