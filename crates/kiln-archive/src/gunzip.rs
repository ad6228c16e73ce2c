//! A gzip reader that exposes its container: every header field kiln's
//! canonical form fixes (mtime, XFL, OS, FNAME, member count), checks each
//! member's CRC32 and ISIZE, and bounds the inflated size and the ratio
//! (over each window of `Limits::ratio_window` inflated bytes, so data that
//! compresses badly cannot buy budget for a bomb behind it). Zero bytes
//! after the last member (padding some tools and devices add) are
//! accepted up to `MAX_GZIP_TRAILING_ZEROS` and reported; anything else
//! after it is refused.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;
use sha2::Digest as _;

use crate::Limits;
use crate::error::Ctx;

/// The gzip container as found (first member's header, plus totals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GzipInfo {
    /// FLG byte of the first member.
    pub flags: u8,
    pub mtime: u32,
    pub xfl: u8,
    pub os: u8,
    pub fname: Option<Vec<u8>>,
    pub comment: Option<Vec<u8>>,
    /// Length of FEXTRA, if present.
    pub extra_len: Option<u16>,
    pub header_crc: bool,
    /// Number of concatenated gzip members.
    pub members: u32,
    /// Bytes of the gzip members, trailing zeros excluded.
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Zero bytes after the last gzip member.
    pub trailing_zeros: u64,
    /// SHA-256 of the whole decompressed stream, once it was read to its
    /// end (a diff tells "only the compression differs" by it).
    pub uncompressed_sha256: Option<[u8; 32]>,
}

/// Counts what the inflater actually consumed (not what was buffered).
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.consumed += amt as u64;
        self.inner.consume(amt);
    }
}

/// Streaming gunzip over untrusted input. Errors are `io::Error`s carrying
/// the message (the tar layer wraps them with the archive and entry); the
/// first gzip-level error is also kept in `error` so the caller can
/// report it precisely.
#[derive(Debug)]
pub(crate) struct Gunzip<R: BufRead> {
    state: State<R>,
    crc: crc32fast::Hasher,
    sha256: sha2::Sha256,
    member_out: u64,
    pub info: GzipInfo,
    /// Set when a bound tripped: (what, actual, limit).
    pub limit_hit: Option<(&'static str, u64, u64)>,
    limit_total: u64,
    limits: Limits,
    /// Uncompressed and compressed bytes where the current ratio window
    /// began.
    window_out: u64,
    window_in: u64,
}

#[derive(Debug)]
enum State<R: BufRead> {
    Inflating(Box<DeflateDecoder<Counting<R>>>),
    Done(Counting<R>),
    Poisoned,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_u8<R: Read>(r: &mut R) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_zstring<R: Read>(r: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut s = Vec::new();
    loop {
        let b = read_u8(r)?;
        if b == 0 {
            return Ok(s);
        }
        if s.len() >= max {
            return Err(bad("gzip header string field too long"));
        }
        s.push(b);
    }
}

impl<R: BufRead> Gunzip<R> {
    /// Parse the first header. `limit_total` bounds the inflated bytes.
    pub fn new(
        inner: R,
        limits: Limits,
        limit_total: u64,
        ctx: Ctx<'_>,
    ) -> Result<Self, crate::ArchiveError> {
        let mut r = Counting { inner, consumed: 0 };
        let mut info = GzipInfo::default();
        parse_header(&mut r, &mut info, true)
            .map_err(|e| ctx.malformed("gzip header", e.to_string()))?;
        info.members = 1;
        Ok(Self {
            state: State::Inflating(Box::new(DeflateDecoder::new(r))),
            crc: crc32fast::Hasher::new(),
            sha256: sha2::Sha256::new(),
            member_out: 0,
            info,
            limit_hit: None,
            limit_total,
            limits,
            window_out: 0,
            window_in: 0,
        })
    }

    /// Compressed bytes consumed so far.
    fn consumed(&self) -> u64 {
        match &self.state {
            State::Inflating(d) => d.get_ref().consumed,
            State::Done(r) => r.consumed,
            State::Poisoned => 0,
        }
    }

    /// After a deflate stream ended: trailer, then another member or EOF.
    fn end_member(&mut self, mut r: Counting<R>) -> io::Result<()> {
        let mut trailer = [0u8; 8];
        r.read_exact(&mut trailer)
            .map_err(|_| io::Error::new(io::ErrorKind::UnexpectedEof, "truncated gzip trailer"))?;
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let actual = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        if crc != actual {
            return Err(bad(format!(
                "gzip member {} CRC32 mismatch: trailer {crc:08x}, data {actual:08x}",
                self.info.members
            )));
        }
        if u64::from(isize) != self.member_out & 0xffff_ffff {
            return Err(bad(format!(
                "gzip member {} ISIZE mismatch",
                self.info.members
            )));
        }
        self.member_out = 0;
        let next = r.fill_buf()?;
        if next.is_empty() || next[0] == 0 {
            self.info.compressed_size = r.consumed;
            self.info.trailing_zeros = trailing_zeros(&mut r)?;
            self.info.uncompressed_sha256 = Some(self.sha256.clone().finalize().into());
            self.state = State::Done(r);
            return Ok(());
        }
        let mut scratch = GzipInfo::default();
        parse_header(&mut r, &mut scratch, false)?;
        self.info.members += 1;
        self.state = State::Inflating(Box::new(DeflateDecoder::new(r)));
        Ok(())
    }
}

/// Zero bytes to the end of the input (at most
/// `MAX_GZIP_TRAILING_ZEROS`); anything else is an error.
fn trailing_zeros<R: BufRead>(r: &mut R) -> io::Result<u64> {
    let mut zeros: u64 = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(zeros);
        }
        let n = buf.len();
        if buf.iter().any(|&b| b != 0) {
            return Err(bad("trailing data after gzip member"));
        }
        zeros += n as u64;
        r.consume(n);
        if zeros > crate::MAX_GZIP_TRAILING_ZEROS {
            return Err(bad(format!(
                "more than {} zero bytes after the gzip stream",
                crate::MAX_GZIP_TRAILING_ZEROS
            )));
        }
    }
}

fn parse_header<R: Read>(r: &mut R, info: &mut GzipInfo, first: bool) -> io::Result<()> {
    let mut h = [0u8; 10];
    r.read_exact(&mut h)
        .map_err(|_| bad("truncated gzip header"))?;
    if h[0] != 0x1f || h[1] != 0x8b {
        return Err(bad(if first {
            "not gzip (bad magic)"
        } else {
            "trailing data after gzip member"
        }));
    }
    if h[2] != 8 {
        return Err(bad(format!("unknown gzip compression method {}", h[2])));
    }
    let flg = h[3];
    if flg & 0xe0 != 0 {
        return Err(bad(format!("reserved gzip flag bits set ({flg:#04x})")));
    }
    info.flags = flg;
    info.mtime = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    info.xfl = h[8];
    info.os = h[9];
    if flg & 0x04 != 0 {
        let mut l = [0u8; 2];
        r.read_exact(&mut l)?;
        let len = u16::from_le_bytes(l);
        let mut extra = vec![0u8; usize::from(len)];
        r.read_exact(&mut extra)?;
        info.extra_len = Some(len);
    }
    if flg & 0x08 != 0 {
        info.fname = Some(read_zstring(r, 4096)?);
    }
    if flg & 0x10 != 0 {
        info.comment = Some(read_zstring(r, 65_536)?);
    }
    if flg & 0x02 != 0 {
        let mut c = [0u8; 2];
        r.read_exact(&mut c)?;
        info.header_crc = true;
    }
    Ok(())
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = match &mut self.state {
                State::Done(_) => return Ok(0),
                State::Poisoned => return Err(bad("gzip stream already failed")),
                State::Inflating(d) => d.read(buf),
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.state = State::Poisoned;
                    return Err(e);
                }
            };
            if n == 0 && !buf.is_empty() {
                let State::Inflating(d) = std::mem::replace(&mut self.state, State::Poisoned)
                else {
                    return Err(bad("gzip state"));
                };
                self.end_member(d.into_inner())?;
                continue;
            }
            let chunk = &buf[..n];
            self.crc.update(chunk);
            self.sha256.update(chunk);
            self.member_out += n as u64;
            self.info.uncompressed_size += n as u64;
            let out = self.info.uncompressed_size;
            if out > self.limit_total {
                self.state = State::Poisoned;
                self.limit_hit = Some(("decompressed size", out, self.limit_total));
                return Err(bad(format!(
                    "decompressed tar stream exceeds {} bytes (limit from max_total_size)",
                    self.limit_total
                )));
            }
            // The ratio over each window of `ratio_window` output bytes.
            if out - self.window_out >= self.limits.ratio_window.max(1) {
                let consumed = self.consumed();
                let ratio =
                    (out - self.window_out) / consumed.saturating_sub(self.window_in).max(1);
                if ratio > self.limits.max_ratio {
                    self.state = State::Poisoned;
                    self.limit_hit = Some(("compression ratio", ratio, self.limits.max_ratio));
                    return Err(bad(format!(
                        "compression ratio {ratio} over {} uncompressed bytes at offset {} exceeds the limit {}",
                        out - self.window_out,
                        self.window_out,
                        self.limits.max_ratio
                    )));
                }
                (self.window_out, self.window_in) = (out, consumed);
            }
            return Ok(n);
        }
    }
}
