//! The canonical wheel container: a plain (non-zip64) zip.
//!
//! Per member: local file header, deflated (or, for empty files, stored)
//! data, no data descriptor; then the central directory and the end of
//! central directory record. No extra fields, no comments. Every byte that
//! other tools fill from the environment is fixed here: DOS time = epoch in
//! UTC, made-by Unix, external attributes = regular-file mode << 16.
//!
//! A deflated member's data is its `Deflated` segment (pieces of
//! `gzip_chunk_size` bytes, each deflated by a fresh compressor and
//! sync-flushed: the very bytes the sdist's gzip stream holds for it)
//! followed by `FINAL_EMPTY_BLOCK`, so a caller can deflate a file once for
//! both archives (`add_deflated`). A solid member's (one the sdist deflates
//! with its neighbours) is one complete deflate stream of its own.
//!
//! Parallelism: members are buffered in a bounded window (256 members or
//! 64 MiB), compressed in parallel (each segment independent of its
//! neighbours) and written in the order added.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};

use rayon::prelude::*;

use crate::deflated::{FINAL_EMPTY_BLOCK, deflate_piece};
use crate::{
    ArchiveError, ArchiveWriter, Deflate, Deflated, read_exact_member, validate_member_path,
};

/// "Version made by": high byte 3 = Unix (so readers honour the mode in the
/// external attributes), low byte 20 = spec version 2.0, the version that
/// introduced deflate and all that kiln uses.
pub const ZIP_VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// "Version needed to extract": 2.0 (deflate, no zip64, no encryption).
pub const ZIP_VERSION_NEEDED: u16 = 20;

/// General purpose bit 11: names are UTF-8. Set exactly when the name is
/// not ASCII: for ASCII names UTF-8 and CP437 agree, and leaving it clear
/// matches what most zip writers emit for plain names.
const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;

const WINDOW_MEMBERS: usize = 256;
const WINDOW_BYTES: usize = 64 << 20;
/// `add_reader_seekable` streams members larger than this (compressed as
/// they are read, the local header patched afterwards); smaller ones join
/// the parallel window. The bytes are the same either way.
pub const STREAM_ABOVE: u64 = 4 << 20;
const ARCHIVE: &str = "zip";

#[derive(Debug)]
enum Body {
    Raw(Vec<u8>),
    Ready(Deflated),
}

#[derive(Debug)]
struct Pending {
    path: String,
    body: Body,
    executable: bool,
}

#[derive(Debug)]
struct Central {
    path: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    mode: u32,
    offset: u32,
}

/// Canonical zip.
#[derive(Debug)]
pub struct ZipWriter<W: Write> {
    inner: W,
    deflate: Deflate,
    dos_time: u16,
    dos_date: u16,
    offset: u64,
    pending: Vec<Pending>,
    pending_bytes: usize,
    central: Vec<Central>,
    seen: BTreeSet<String>,
}

/// DOS (time, date) of a Unix epoch, in UTC. Seconds are stored halved
/// (DOS time has 2-second resolution), rounding down.
pub fn dos_date_time(epoch: u64) -> Result<(u16, u16), ArchiveError> {
    // 2107-12-31T23:59:59Z; also keeps the day count far from overflow.
    const MAX: u64 = 4_354_819_199;
    if epoch > MAX {
        return Err(ArchiveError::EpochOutOfRange { epoch });
    }
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let (year, month, day) = civil_from_days(days);
    if !(1980..=2107).contains(&year) {
        return Err(ArchiveError::EpochOutOfRange { epoch });
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let time = ((h << 11) | (m << 5) | (s / 2)) as u16;
    let date = (((year - 1980) as u64) << 9 | (month as u64) << 5 | day as u64) as u16;
    Ok((time, date))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl<W: Write> ZipWriter<W> {
    /// `mtime` is the epoch in seconds, stored as a DOS time in UTC.
    pub fn new(inner: W, mtime: u64, deflate: Deflate) -> Result<Self, ArchiveError> {
        let (dos_time, dos_date) = dos_date_time(mtime)?;
        Ok(Self {
            inner,
            deflate: Deflate {
                gzip_chunk_size: deflate.gzip_chunk_size.max(1),
                ..deflate
            },
            dos_time,
            dos_date,
            offset: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            central: Vec::new(),
            seen: BTreeSet::new(),
        })
    }

    fn write(&mut self, bytes: &[u8], path: &str) -> Result<(), ArchiveError> {
        self.inner
            .write_all(bytes)
            .map_err(|source| ArchiveError::Write {
                archive: ARCHIVE,
                path: path.to_owned(),
                source,
            })?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), ArchiveError> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let deflate = self.deflate;
        let compressed: Vec<Result<Deflated, ArchiveError>> = pending
            .par_iter()
            .map(|p| match &p.body {
                Body::Raw(data) => Deflated::new(&p.path, data, deflate),
                Body::Ready(d) => Ok(d.clone()),
            })
            .collect();
        for (p, result) in pending.into_iter().zip(compressed) {
            let d = result.map_err(|e| match e {
                ArchiveError::Deflate { path, source, .. } => ArchiveError::Deflate {
                    archive: ARCHIVE,
                    path,
                    source,
                },
                other => other,
            })?;
            let (crc, method) = (
                d.crc32,
                if d.size == 0 {
                    METHOD_STORED
                } else {
                    METHOD_DEFLATE
                },
            );
            // A solid member's data is a complete stream already.
            let tail: &[u8] = if d.size == 0 || d.deflate.is_solid(d.size) {
                &[]
            } else {
                &FINAL_EMPTY_BLOCK
            };
            let data = d.segment;
            let too_big = |what| ArchiveError::Zip64Needed {
                path: p.path.clone(),
                what,
            };
            let offset = u32::try_from(self.offset)
                .ok()
                .filter(|&o| o != u32::MAX)
                .ok_or_else(|| too_big("an offset past 4 GiB"))?;
            let size = u32::try_from(d.size)
                .ok()
                .filter(|&s| s != u32::MAX)
                .ok_or_else(|| too_big("a member of 4 GiB or more"))?;
            let compressed = u32::try_from(data.len() + tail.len())
                .ok()
                .filter(|&s| s != u32::MAX)
                .ok_or_else(|| too_big("a compressed member of 4 GiB or more"))?;
            let flags = if p.path.is_ascii() { 0 } else { FLAG_UTF8 };
            let c = Central {
                flags,
                method,
                crc,
                compressed,
                size,
                mode: if p.executable { 0o100_755 } else { 0o100_644 },
                offset,
                path: p.path,
            };
            let h = self.local_header(&c);
            self.write(&h, &c.path)?;
            self.write(&data, &c.path)?;
            self.write(tail, &c.path)?;
            self.central.push(c);
        }
        Ok(())
    }

    fn local_header(&self, c: &Central) -> Vec<u8> {
        let mut h = Vec::with_capacity(30 + c.path.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&ZIP_VERSION_NEEDED.to_le_bytes());
        self.shared_fields(c, &mut h);
        h.extend_from_slice(c.path.as_bytes());
        h
    }

    /// The fields a local header and its central directory entry both
    /// hold, in the same order: flags, method, time, date, CRC-32, the
    /// sizes, the path's length and the (empty) extra field's.
    fn shared_fields(&self, c: &Central, out: &mut Vec<u8>) {
        out.extend_from_slice(&c.flags.to_le_bytes());
        out.extend_from_slice(&c.method.to_le_bytes());
        out.extend_from_slice(&self.dos_time.to_le_bytes());
        out.extend_from_slice(&self.dos_date.to_le_bytes());
        out.extend_from_slice(&c.crc.to_le_bytes());
        out.extend_from_slice(&c.compressed.to_le_bytes());
        out.extend_from_slice(&c.size.to_le_bytes());
        out.extend_from_slice(&(c.path.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    }

    /// The checks every new member passes, in `add_file`'s order.
    fn check_new(&mut self, path: &str) -> Result<(), ArchiveError> {
        validate_member_path(path)?;
        if path.len() > usize::from(u16::MAX) {
            return Err(ArchiveError::InvalidPath {
                path: path.to_owned(),
                reason: "longer than 65535 bytes",
            });
        }
        if !self.seen.insert(path.to_owned()) {
            return Err(ArchiveError::DuplicatePath {
                path: path.to_owned(),
            });
        }
        // 65,535 members fit without zip64 (as Python's zipfile and
        // Info-ZIP write them; kiln's reader takes them).
        if self.central.len() + self.pending.len() >= usize::from(u16::MAX) {
            return Err(ArchiveError::Zip64Needed {
                path: path.to_owned(),
                what: "more than 65535 members",
            });
        }
        Ok(())
    }

    /// Write the remaining members, the central directory and the end of
    /// central directory record.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        self.flush_pending()?;
        let what = "central directory";
        let cd_offset = self.offset;
        let mut cd = Vec::new();
        for c in &self.central {
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&ZIP_VERSION_MADE_BY.to_le_bytes());
            cd.extend_from_slice(&ZIP_VERSION_NEEDED.to_le_bytes());
            self.shared_fields(c, &mut cd);
            cd.extend_from_slice(&0u16.to_le_bytes()); // comment length
            cd.extend_from_slice(&0u16.to_le_bytes()); // disk number start
            cd.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            cd.extend_from_slice(&(c.mode << 16).to_le_bytes());
            cd.extend_from_slice(&c.offset.to_le_bytes());
            cd.extend_from_slice(c.path.as_bytes());
        }
        let too_big = |what| ArchiveError::Zip64Needed {
            path: "central directory".into(),
            what,
        };
        let count = u16::try_from(self.central.len())
            .ok()
            .ok_or_else(|| too_big("more than 65535 members"))?;
        let cd_start = u32::try_from(cd_offset)
            .ok()
            .filter(|&o| o != u32::MAX)
            .ok_or_else(|| too_big("a central directory past 4 GiB"))?;
        let cd_size = u32::try_from(cd.len())
            .ok()
            .filter(|&s| s != u32::MAX)
            .ok_or_else(|| too_big("a central directory of 4 GiB or more"))?;
        cd.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes()); // this disk
        cd.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
        cd.extend_from_slice(&count.to_le_bytes());
        cd.extend_from_slice(&count.to_le_bytes());
        cd.extend_from_slice(&cd_size.to_le_bytes());
        cd.extend_from_slice(&cd_start.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.write(&cd, what)?;
        self.inner.flush().map_err(|source| ArchiveError::Write {
            archive: ARCHIVE,
            path: what.to_owned(),
            source,
        })?;
        Ok(self.inner)
    }
}

impl<W: Write> ArchiveWriter for ZipWriter<W> {
    fn add_file(&mut self, path: &str, data: &[u8], executable: bool) -> Result<(), ArchiveError> {
        self.check_new(path)?;
        self.push(path, Body::Raw(data.to_vec()), data.len(), executable)
    }
}

impl<W: Write> ZipWriter<W> {
    fn push(
        &mut self,
        path: &str,
        body: Body,
        bytes: usize,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        self.pending_bytes += bytes;
        self.pending.push(Pending {
            path: path.to_owned(),
            body,
            executable,
        });
        if self.pending.len() >= WINDOW_MEMBERS || self.pending_bytes >= WINDOW_BYTES {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Adds a member whose data was deflated ahead of time (with this
    /// archive's settings), e.g. on another thread and shared with the
    /// sdist. The bytes written are exactly those of `add_file`.
    pub fn add_deflated(
        &mut self,
        path: &str,
        mut data: Deflated,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        self.check_new(path)?;
        if data.deflate != self.deflate {
            return Err(crate::deflated::other_settings(ARCHIVE, path));
        }
        // The zip has no use for the tail: not held while the window fills.
        data.tail = Vec::new();
        let bytes = data.segment.len();
        self.push(path, Body::Ready(data), bytes, executable)
    }
}

impl<W: Write + Seek> ZipWriter<W> {
    /// `add_reader` with memory flat in `size`: a member larger than
    /// [`STREAM_ABOVE`] is deflated as it is read (one raw deflate stream,
    /// byte-equal to compressing it whole) straight into the output, and
    /// its local header's CRC-32 and compressed size are patched in
    /// afterwards by seeking back. Smaller members join the parallel
    /// window as `add_file` ones do. On an error the archive is unusable.
    pub fn add_reader_seekable(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn Read,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        if size <= STREAM_ABOVE {
            let bytes = read_exact_member(path, size, data)?;
            return self.add_file(path, &bytes, executable);
        }
        self.check_new(path)?;
        let too_big = |what| ArchiveError::Zip64Needed {
            path: path.to_owned(),
            what,
        };
        let size32 = u32::try_from(size)
            .ok()
            .filter(|&s| s != u32::MAX)
            .ok_or_else(|| too_big("a member of 4 GiB or more"))?;
        self.flush_pending()?;
        let offset = u32::try_from(self.offset)
            .ok()
            .filter(|&o| o != u32::MAX)
            .ok_or_else(|| too_big("an offset past 4 GiB"))?;
        let mut c = Central {
            path: path.to_owned(),
            flags: if path.is_ascii() { 0 } else { FLAG_UTF8 },
            method: METHOD_DEFLATE,
            crc: 0,
            compressed: 0,
            size: size32,
            mode: if executable { 0o100_755 } else { 0o100_644 },
            offset,
        };
        let header = self.local_header(&c);
        self.write(&header, path)?;
        let (crc, compressed) = self.deflate_from(path, size, data)?;
        c.crc = crc;
        c.compressed = u32::try_from(compressed)
            .ok()
            .filter(|&s| s != u32::MAX)
            .ok_or_else(|| too_big("a compressed member of 4 GiB or more"))?;
        // Back to the CRC field (offset 14 of the header), patch CRC and
        // compressed size, then forward to where the data ended.
        let data_end = 4 + path.len() as i64 + compressed as i64;
        let mut patch = [0u8; 8];
        patch[..4].copy_from_slice(&c.crc.to_le_bytes());
        patch[4..].copy_from_slice(&c.compressed.to_le_bytes());
        let write_err = |source| ArchiveError::Write {
            archive: ARCHIVE,
            path: path.to_owned(),
            source,
        };
        self.inner
            .seek(SeekFrom::Current(-(data_end + 12)))
            .map_err(write_err)?;
        self.inner.write_all(&patch).map_err(write_err)?;
        self.inner
            .seek(SeekFrom::Current(data_end + 4))
            .map_err(write_err)?;
        self.central.push(c);
        Ok(())
    }

    /// Deflates exactly `size` bytes of `data` into the output as a
    /// segment (one piece at a time, so memory is one piece) and the final
    /// block; returns their CRC-32 and the compressed length.
    fn deflate_from(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(u32, u64), ArchiveError> {
        let read_err = |source| ArchiveError::Read {
            archive: "source".to_owned(),
            entry: path.to_owned(),
            source,
        };
        let piece = self.deflate.gzip_chunk_size;
        let mut crc = crc32fast::Hasher::new();
        let mut input = vec![0u8; piece.min(usize::try_from(size).unwrap_or(piece))];
        let mut output = Vec::new();
        let mut written = 0u64;
        let mut left = size;
        while left > 0 {
            let want = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let mut filled = 0;
            while filled < want {
                match data.read(&mut input[filled..want]) {
                    Ok(0) => {
                        return Err(read_err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!(
                                "ended after {} of {size} bytes",
                                size - left + filled as u64
                            ),
                        )));
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(read_err(e)),
                }
            }
            left -= want as u64;
            crc.update(&input[..want]);
            output.clear();
            deflate_piece(self.deflate.level, &input[..want], &mut output).map_err(|source| {
                ArchiveError::Deflate {
                    archive: ARCHIVE,
                    path: path.to_owned(),
                    source,
                }
            })?;
            self.write(&output, path)?;
            written += output.len() as u64;
        }
        self.write(&FINAL_EMPTY_BLOCK, path)?;
        written += FINAL_EMPTY_BLOCK.len() as u64;
        Ok((crc.finalize(), written))
    }
}

#[cfg(test)]
mod tests;
