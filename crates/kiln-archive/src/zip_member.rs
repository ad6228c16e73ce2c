//! One zip member's data, streamed out of an archive `ZipReader::open`
//! has checked: stored bytes copied, deflate inflated in bounded chunks,
//! and both held to the member's declared size (failing the moment the
//! output passes it, so a bomb stops there) and CRC32 (at the end). A
//! failure reads as an `io::Error` to whoever holds the reader, and
//! `into_failure` gives back the precise `ArchiveError` naming the entry.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

use crate::{ArchiveError, ZipMember};

/// Bytes per read and per inflated chunk when streaming a member.
pub(crate) const CHUNK: usize = 64 * 1024;

/// One member's data, stored or inflated in bounded chunks, checked
/// against the declared size and CRC32 (see `ZipReader::member_reader`).
#[derive(Debug)]
pub struct MemberReader<'r, R> {
    pub(crate) archive: String,
    pub(crate) entry: String,
    input: io::Take<&'r mut R>,
    /// `None` for a stored member (and while `read` holds it).
    inflater: Option<Decompress>,
    stored: bool,
    inbuf: Vec<u8>,
    lo: usize,
    hi: usize,
    eof: bool,
    size: u64,
    produced: u64,
    crc: crc32fast::Hasher,
    expected_crc: u32,
    done: bool,
    failure: Option<ArchiveError>,
}

impl<'r, R: Read> MemberReader<'r, R> {
    /// A reader over `m`'s data, `input` being exactly its compressed
    /// bytes; `archive` and `entry` name it in errors.
    pub(crate) fn new(
        archive: String,
        entry: String,
        input: io::Take<&'r mut R>,
        m: &ZipMember,
    ) -> Self {
        Self {
            archive,
            entry,
            input,
            inflater: (m.method != 0).then(|| Decompress::new(false)),
            stored: m.method == 0,
            inbuf: vec![0u8; CHUNK],
            lo: 0,
            hi: 0,
            eof: false,
            size: u64::from(m.size),
            produced: 0,
            crc: crc32fast::Hasher::new(),
            expected_crc: m.crc32,
            done: false,
            failure: None,
        }
    }

    /// The precise error behind an `io::Error` this reader returned.
    pub fn into_failure(mut self, e: io::Error) -> ArchiveError {
        match self.failure.take() {
            Some(failure) => failure,
            None => ArchiveError::Read {
                archive: self.archive,
                entry: self.entry,
                source: e,
            },
        }
    }

    fn fail(&mut self, err: ArchiveError) -> io::Error {
        let e = io::Error::new(io::ErrorKind::InvalidData, err.to_string());
        self.failure = Some(err);
        e
    }

    fn bad(&mut self, reason: impl Into<String>) -> io::Error {
        let err = ArchiveError::Malformed {
            archive: self.archive.clone(),
            entry: self.entry.clone(),
            reason: reason.into(),
        };
        self.fail(err)
    }

    fn read_failed(&mut self, source: io::Error) -> io::Error {
        let err = ArchiveError::Read {
            archive: self.archive.clone(),
            entry: self.entry.clone(),
            source,
        };
        self.fail(err)
    }

    /// `n` more bytes are out: bounded by the declared size.
    fn produced(&mut self, out: &[u8]) -> io::Result<usize> {
        self.produced += out.len() as u64;
        if self.produced > self.size {
            return Err(self.bad("inflates to more than its declared size"));
        }
        self.crc.update(out);
        Ok(out.len())
    }

    /// The data ended: size and CRC32 must agree.
    fn end(&mut self) -> io::Result<usize> {
        if self.produced != self.size {
            return Err(self.bad(if self.stored {
                "member data runs past the end of the archive"
            } else {
                "inflates to less than its declared size"
            }));
        }
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        if crc != self.expected_crc {
            return Err(self.bad("CRC32 mismatch"));
        }
        self.done = true;
        Ok(0)
    }
}

impl<R: Read> Read for MemberReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the member already failed"));
        }
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let Some(mut d) = self.inflater.take() else {
            let n = match read_some(&mut self.input, buf) {
                Ok(n) => n,
                Err(e) => return Err(self.read_failed(e)),
            };
            if n == 0 {
                return self.end();
            }
            return self.produced(&buf[..n]);
        };
        let result = loop {
            if self.lo == self.hi && !self.eof {
                self.lo = 0;
                self.hi = match read_some(&mut self.input, &mut self.inbuf) {
                    Ok(n) => n,
                    Err(e) => break Err(self.read_failed(e)),
                };
                self.eof = self.hi == 0;
            }
            let (in0, out0) = (d.total_in(), d.total_out());
            let flush = if self.eof {
                FlushDecompress::Finish
            } else {
                FlushDecompress::None
            };
            let status = match d.decompress(&self.inbuf[self.lo..self.hi], buf, flush) {
                Ok(status) => status,
                Err(e) => break Err(self.bad(format!("corrupt deflate data: {e}"))),
            };
            let consumed = usize::try_from(d.total_in() - in0).unwrap_or(usize::MAX);
            let n = usize::try_from(d.total_out() - out0)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            self.lo = self.lo.saturating_add(consumed).min(self.hi);
            if n > 0 {
                break self.produced(&buf[..n]);
            }
            match status {
                Status::StreamEnd => break self.end(),
                _ if consumed == 0 => {
                    if self.eof {
                        break Err(self.bad("truncated deflate data"));
                    }
                    // No progress with input left: the inflater wants more
                    // of it at once. Keep what is left and read behind it.
                    self.inbuf.copy_within(self.lo..self.hi, 0);
                    self.hi -= self.lo;
                    self.lo = 0;
                    if self.hi == self.inbuf.len() {
                        break Err(self.bad("corrupt deflate data: no progress"));
                    }
                    let got = match read_some(&mut self.input, &mut self.inbuf[self.hi..]) {
                        Ok(n) => n,
                        Err(e) => break Err(self.read_failed(e)),
                    };
                    self.eof = got == 0;
                    self.hi += got;
                }
                _ => {}
            }
        };
        self.inflater = Some(d);
        result
    }
}

/// One `read`, retried on `Interrupted`.
fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}
