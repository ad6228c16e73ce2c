//! A member's data deflated once, for both containers.
//!
//! Both the sdist's gzip stream and the wheel's zip hold a larger member's
//! data as the same *segment*: the data cut into `gzip_chunk_size` pieces
//! (from the member's first byte), each raw-deflated by a fresh compressor
//! and ended with a sync flush (an empty stored block), so the segment is
//! byte-aligned, non-final and independent of everything around it. The
//! gzip stream splices segments between the separately deflated tar
//! headers and padding (`gzip_write`); a zip member's data is the segment
//! followed by [`FINAL_EMPTY_BLOCK`] (`zip_write`). So a caller that packs
//! both archives deflates each file once ([`Deflated::new`], on any
//! thread) and hands the result to both writers; a writer given the raw
//! bytes produces exactly the same output.
//!
//! A *solid* member (under `Deflate::solid_below` bytes) is the exception:
//! the sdist deflates it with its neighbours, so its `Deflated` serves the
//! wheel alone and is one complete raw deflate stream (final block and
//! all), which spares the sync flush and the empty final block.
//!
//! The bytes depend on the data and the settings only: every piece gets a
//! compressor in its initial state (a per-thread compressor is reset
//! rather than reallocated, which is the same state).

use std::cell::RefCell;

use flate2::{Compress, CompressError, Compression, FlushCompress, Status};

use crate::{ArchiveError, Deflate};

/// The empty final block that closes a zip member's segment: BFINAL = 1,
/// BTYPE = 01 (fixed Huffman), then the end-of-block code (seven zero
/// bits), padded to a byte. gzip(1) and zlib end a flushed stream the same way.
pub const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

/// One member's data as a deflate segment, with what both containers need
/// besides: its length and CRC-32 (computed in the same pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflated {
    /// Uncompressed length.
    pub size: u64,
    pub crc32: u32,
    /// The segment: sync-flushed, non-final raw deflate pieces; for a
    /// solid member ([`Deflate::is_solid`]) one complete raw deflate
    /// stream instead. Empty for empty data.
    pub segment: Vec<u8>,
    /// The settings it was made with; a writer refuses other ones.
    pub deflate: Deflate,
    /// The data's last [`WINDOW`] bytes (all of it when shorter): the gzip
    /// writer deflates the tar header that follows with them as history.
    /// Empty for a solid member, which the gzip writer never takes.
    pub tail: Vec<u8>,
}

/// Deflate's window: how far back a match may reach.
pub const WINDOW: usize = 32 << 10;

/// The last `WINDOW` bytes of `data`.
pub(crate) fn tail_of(data: &[u8]) -> Vec<u8> {
    data[data.len().saturating_sub(WINDOW)..].to_vec()
}

impl Deflated {
    /// Deflates `data`; `path` names the member in an error.
    pub fn new(path: &str, data: &[u8], deflate: Deflate) -> Result<Self, ArchiveError> {
        let mut segment = Vec::with_capacity(data.len() / 3 + 64);
        let failed = |source| ArchiveError::Deflate {
            archive: "member",
            path: path.to_owned(),
            source,
        };
        if deflate.is_solid(data.len() as u64) {
            with_compressor(deflate.level, |c| {
                run(c, data, &mut segment, FlushCompress::Finish)
            })
            .map_err(failed)?;
        } else {
            for piece in data.chunks(deflate.gzip_chunk_size.max(1)) {
                deflate_piece(deflate.level, piece, &mut segment).map_err(failed)?;
            }
        }
        segment.shrink_to_fit();
        // Only the gzip writer reads the tail, and only of a shared segment.
        let tail = if deflate.is_solid(data.len() as u64) {
            Vec::new()
        } else {
            tail_of(data)
        };
        Ok(Self {
            size: data.len() as u64,
            crc32: crc32fast::hash(data),
            segment,
            deflate,
            tail,
        })
    }
}

/// The refusal of a `Deflated` made with other settings than the writer's.
pub(crate) fn other_settings(archive: &'static str, path: &str) -> ArchiveError {
    ArchiveError::Write {
        archive,
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "its data was deflated with other settings than this archive's",
        ),
    }
}

thread_local! {
    /// One compressor per thread and level, reset before each piece.
    static COMPRESSOR: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
}

/// Raw-deflates one piece with a compressor in its initial state and a
/// sync flush, appending to `out`. Empty input appends nothing.
pub(crate) fn deflate_piece(
    level: u32,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    deflate_piece_after(level, &[], input, out)
}

/// `deflate_piece` with `history` (at most `WINDOW` bytes) as the bytes
/// that precede the piece in the stream, which its matches may reach back
/// into: valid only where a decoder has just produced exactly them.
pub(crate) fn deflate_piece_after(
    level: u32,
    history: &[u8],
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if input.is_empty() {
        return Ok(());
    }
    if !history.is_empty() {
        // A fresh compressor: a reset one given a dictionary was seen to
        // match differently from a fresh one (state the reset keeps), and
        // these pieces are few (one per member at most).
        let mut c = Compress::new(Compression::new(level), false);
        c.set_dictionary(history)?;
        return run(&mut c, input, out, FlushCompress::Sync);
    }
    with_compressor(level, |c| run(c, input, out, FlushCompress::Sync))
}

/// Runs `f` with this thread's compressor for `level`, reset to its
/// initial state.
fn with_compressor<T>(level: u32, f: impl FnOnce(&mut Compress) -> T) -> T {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match &mut *slot {
            Some((l, c)) if *l == level => {
                c.reset();
                c
            }
            other => {
                let (_, c) = other.insert((level, Compress::new(Compression::new(level), false)));
                c
            }
        };
        f(c)
    })
}

/// Feeds all of `input` to `c` with `flush`, into `out`.
///
/// The output room is reserved up front, above deflate's worst case (its
/// stored-block bound is about 5 bytes per 16 KiB), so one call consumes
/// all input and completes the flush. That matters for the bytes: a call
/// that ends with the output exactly full leaves the compressor unable to
/// tell a finished flush from an interrupted one, and a further sync-flush
/// call then appends another empty block. The loop only guards against a
/// backend that returns early anyway.
pub(crate) fn run(
    c: &mut Compress,
    input: &[u8],
    out: &mut Vec<u8>,
    flush: FlushCompress,
) -> Result<(), CompressError> {
    let start_in = c.total_in();
    loop {
        let consumed = usize::try_from(c.total_in() - start_in)
            .unwrap_or(input.len())
            .min(input.len());
        let rest = input.len() - consumed;
        out.reserve(rest + rest / 8 + 1024);
        let status = c.compress_vec(&input[consumed..], out, flush)?;
        let consumed = usize::try_from(c.total_in() - start_in).unwrap_or(input.len());
        if consumed >= input.len() {
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => out.len() < out.capacity(),
            };
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_segment_with_the_final_block_is_a_complete_stream() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for chunk in [1000usize, 65536, 1 << 20] {
            let d = Deflated::new(
                "t",
                &data,
                Deflate {
                    level: 6,
                    gzip_chunk_size: chunk,
                    solid_below: 128 << 10,
                    solid_level: 5,
                },
            )
            .unwrap();
            assert_eq!(d.crc32, crc32fast::hash(&data));
            let mut stream = d.segment.clone();
            stream.extend_from_slice(&FINAL_EMPTY_BLOCK);
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(&stream[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "chunk {chunk}");
        }
        let empty = Deflated::new(
            "e",
            b"",
            Deflate {
                level: 6,
                gzip_chunk_size: 1 << 20,
                solid_below: 128 << 10,
                solid_level: 5,
            },
        )
        .unwrap();
        assert!(empty.segment.is_empty());
    }

    #[test]
    fn a_solid_members_segment_is_a_complete_stream_and_smaller() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let solid = Deflate {
            level: 6,
            gzip_chunk_size: 1 << 20,
            solid_below: 128 << 10,
            solid_level: 5,
        };
        let shared = Deflate {
            solid_below: 1,
            ..solid
        };
        let s = Deflated::new("s", &data, solid).unwrap();
        let t = Deflated::new("t", &data, shared).unwrap();
        // The segment alone inflates to the data: its last block is final.
        let mut decoder = flate2::Decompress::new(false);
        let mut back = Vec::with_capacity(data.len() + 1);
        let status = decoder
            .decompress_vec(&s.segment, &mut back, flate2::FlushDecompress::Finish)
            .unwrap();
        assert_eq!(status, flate2::Status::StreamEnd);
        assert_eq!(back, data);
        assert_eq!(decoder.total_in(), s.segment.len() as u64);
        // The shared one needs the empty final block, and costs more.
        let mut decoder = flate2::Decompress::new(false);
        let mut back = Vec::with_capacity(data.len() + 1);
        let status = decoder
            .decompress_vec(&t.segment, &mut back, flate2::FlushDecompress::None)
            .unwrap();
        assert_ne!(status, flate2::Status::StreamEnd);
        assert!(s.segment.len() + 4 < t.segment.len() + FINAL_EMPTY_BLOCK.len());
        // A reused compressor finishes a stream as a fresh one does.
        let again = Deflated::new("s", &data, solid).unwrap();
        assert_eq!(again.segment, s.segment);
    }

    #[test]
    fn a_reused_compressor_gives_a_fresh_ones_bytes() {
        let a: Vec<u8> = (0..50_000u32).map(|i| (i % 97) as u8).collect();
        let mut first = Vec::new();
        deflate_piece(6, &a, &mut first).unwrap();
        let mut other = Vec::new();
        deflate_piece(6, b"something else entirely", &mut other).unwrap();
        deflate_piece(9, &a, &mut other).unwrap();
        let mut again = Vec::new();
        deflate_piece(6, &a, &mut again).unwrap();
        let mut fresh = Vec::new();
        run(
            &mut Compress::new(Compression::new(6), false),
            &a,
            &mut fresh,
            FlushCompress::Sync,
        )
        .unwrap();
        assert_eq!(first, again);
        assert_eq!(first, fresh);
    }
}
