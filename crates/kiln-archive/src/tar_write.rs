//! The canonical sdist container: a POSIX.1-2001 (pax) tar, gzip-wrapped.
//!
//! Every member is a regular file (typeflag `0`) with a ustar header:
//! mode 0644/0755, uid/gid 0, empty uname/gname, mtime = epoch, devmajor /
//! devminor written as octal zeros (as CPython's tarfile does). A pax
//! extended header (typeflag `x`) precedes a member only when the ustar
//! header cannot hold it: a path over 100 bytes or not ASCII (`path`), a
//! size of 8 GiB or more (`size`), an mtime past 11 octal digits (`mtime`).
//! The ustar `prefix` field is never used: one rule (pax `path`) is simpler
//! to reproduce than two, and never GNU `././@LongLink`.
//!
//! The archive ends with two zero blocks and is *not* padded to a
//! 10240-byte record: the record size is a tape-era blocking factor that no
//! reader needs (CPython's tarfile and GNU tar both accept 512-byte
//! granularity), and leaving it out keeps the byte layout a plain function
//! of the members.

use std::io::{Read, Write};

use crate::gzip_write::GzipSegmentWriter;
use crate::{ArchiveError, ArchiveWriter, Deflate, Deflated, validate_member_path};

/// Name of every pax extended header. Fixed rather than derived from the
/// member (GNU tar's `%d/PaxHeaders.%p/%f` embeds a directory and, in older
/// versions, a process id): a fixed name carries nothing that can drift.
/// This one is what CPython's tarfile writes, so every Python tool has been
/// reading it for decades; a pax-unaware extractor turns it into a harmless
/// `@PaxHeader` file.
pub const PAX_HEADER_NAME: &str = "././@PaxHeader";

pub(crate) const BLOCK: usize = 512;
/// Largest value of an 11-digit octal field: sizes and mtimes above need pax.
const MAX_OCTAL_11: u64 = 0o777_7777_7777;

/// Canonical pax tar inside a canonical gzip stream.
///
/// Solid members (`Deflate::is_solid`) are deflated with the tar headers
/// around them (in the same pieces, with the stream's history), as a solid
/// archive would: their bytes gain most from their neighbours. Larger
/// members are their own segment, which `add_deflated` can take ready-made.
#[derive(Debug)]
pub struct TarGzWriter<W: Write> {
    inner: GzipSegmentWriter<W>,
    deflate: Deflate,
    mtime: u64,
    previous: Option<String>,
}

impl<W: Write> TarGzWriter<W> {
    /// `mtime` is the epoch in seconds (every member gets it).
    pub fn new(inner: W, mtime: u64, deflate: Deflate) -> Self {
        Self {
            inner: GzipSegmentWriter::new(inner, deflate),
            deflate,
            mtime,
            previous: None,
        }
    }

    /// Write the two zero blocks and the gzip trailer.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        self.inner.glue(&[0u8; 2 * BLOCK], "end of archive")?;
        self.inner.finish()
    }

    /// Adds a member whose data was deflated ahead of time (with this
    /// archive's settings), e.g. on another thread and shared with the
    /// wheel. The bytes written are exactly those of `add_file`.
    pub fn add_deflated(
        &mut self,
        path: &str,
        data: Deflated,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        self.check_order(path)?;
        let size = data.size;
        if self.deflate.is_solid(size) {
            return Err(ArchiveError::Write {
                archive: "tar.gz",
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a solid member (under the pinned solid-below bytes) is deflated with the headers: add it with add_file",
                ),
            });
        }
        let headers = member_headers(path, size, self.mtime, executable);
        self.inner.glue(&headers, path)?;
        self.inner.deflated(data, path)?;
        self.inner.glue(&[0u8; BLOCK][..padding(size)], path)?;
        self.previous = Some(path.to_owned());
        Ok(())
    }
}

impl<W: Write> TarGzWriter<W> {
    fn check_order(&self, path: &str) -> Result<(), ArchiveError> {
        validate_member_path(path)?;
        if let Some(previous) = &self.previous
            && path.as_bytes() <= previous.as_bytes()
        {
            if path == previous {
                return Err(ArchiveError::DuplicatePath {
                    path: path.to_owned(),
                });
            }
            return Err(ArchiveError::Unsorted {
                path: path.to_owned(),
                previous: previous.clone(),
            });
        }
        Ok(())
    }
}

/// Bytes read from a streamed member per step.
const STREAM_BUF: usize = 256 << 10;

impl<W: Write> ArchiveWriter for TarGzWriter<W> {
    fn add_file(&mut self, path: &str, data: &[u8], executable: bool) -> Result<(), ArchiveError> {
        self.check_order(path)?;
        let headers = member_headers(path, data.len() as u64, self.mtime, executable);
        self.inner.glue(&headers, path)?;
        // Empty data is glue too (none): a data call would end the piece.
        if data.is_empty() || self.deflate.is_solid(data.len() as u64) {
            self.inner.glue(data, path)?;
        } else {
            self.inner.data(data, path)?;
            self.inner.end_data(path)?;
        }
        let pad = padding(data.len() as u64);
        self.inner.glue(&[0u8; BLOCK][..pad], path)?;
        self.previous = Some(path.to_owned());
        Ok(())
    }

    /// Streams the member through the gzip window: memory is flat in
    /// `size`. On an error the archive is unusable (the header is out).
    fn add_reader(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn Read,
        executable: bool,
    ) -> Result<(), ArchiveError> {
        if size < self.deflate.solid_below {
            let bytes = crate::read_exact_member(path, size, data)?;
            return self.add_file(path, &bytes, executable);
        }
        self.check_order(path)?;
        let headers = member_headers(path, size, self.mtime, executable);
        self.inner.glue(&headers, path)?;
        let mut buf = vec![0u8; STREAM_BUF.min(usize::try_from(size).unwrap_or(STREAM_BUF))];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(ArchiveError::Read {
                        archive: "source".to_owned(),
                        entry: path.to_owned(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("ended after {} of {size} bytes", size - left),
                        ),
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ArchiveError::Read {
                        archive: "source".to_owned(),
                        entry: path.to_owned(),
                        source,
                    });
                }
            };
            self.inner.data(&buf[..n], path)?;
            left -= n as u64;
        }
        self.inner.end_data(path)?;
        let pad = padding(size);
        self.inner.glue(&[0u8; BLOCK][..pad], path)?;
        self.previous = Some(path.to_owned());
        Ok(())
    }
}

pub(crate) fn padding(len: u64) -> usize {
    ((BLOCK as u64 - len % BLOCK as u64) % BLOCK as u64) as usize
}

/// The header block(s) for one regular file: an optional pax `x` header
/// with its records, then the ustar header.
pub(crate) fn member_headers(path: &str, size: u64, mtime: u64, executable: bool) -> Vec<u8> {
    let mut records: Vec<(&str, String)> = Vec::new();
    if path.len() > 100 || !path.is_ascii() {
        records.push(("path", path.to_owned()));
    }
    if size > MAX_OCTAL_11 {
        records.push(("size", size.to_string()));
    }
    if mtime > MAX_OCTAL_11 {
        records.push(("mtime", mtime.to_string()));
    }
    // Keys in bytewise order, so the record order is canonical too.
    records.sort_by(|a, b| a.0.cmp(b.0));

    let mut out = Vec::with_capacity(3 * BLOCK);
    let field_mtime = mtime.min(MAX_OCTAL_11);
    if !records.is_empty() {
        let mut body = Vec::new();
        for (key, value) in &records {
            body.extend_from_slice(&pax_record(key, value.as_bytes()));
        }
        let header = ustar_header(
            PAX_HEADER_NAME.as_bytes(),
            0o644,
            body.len() as u64,
            field_mtime,
            b'x',
        );
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        out.resize(out.len() + padding(body.len() as u64), 0);
    }
    // The ustar name field: the path when it fits as ASCII; otherwise a
    // deterministic stand-in (non-ASCII bytes as `?`, cut at 100 bytes, as
    // CPython does) that pax-aware readers ignore.
    let name: Vec<u8> = path
        .bytes()
        .map(|b| if b.is_ascii() { b } else { b'?' })
        .take(100)
        .collect();
    let mode = if executable { 0o755 } else { 0o644 };
    // Sizes past 11 octal digits are carried by pax `size`; the field is 0.
    let field_size = if size > MAX_OCTAL_11 { 0 } else { size };
    out.extend_from_slice(&ustar_header(&name, mode, field_size, field_mtime, b'0'));
    out
}

/// One pax record, "%d %s=%s\n", whose length counts its own digits.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = 1 + key.len() + 1 + value.len() + 1; // ' ' key '=' value '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut r = Vec::with_capacity(len);
    r.extend_from_slice(len.to_string().as_bytes());
    r.push(b' ');
    r.extend_from_slice(key.as_bytes());
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn octal(field: &mut [u8], value: u64) {
    // digits then NUL: width-1 zero-padded octal digits.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn ustar_header(name: &[u8], mode: u32, size: u64, mtime: u64, typeflag: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = typeflag;
    // linkname (157..257) stays empty.
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // uname (265..297) and gname (297..329) stay empty.
    octal(&mut h[329..337], 0); // devmajor
    octal(&mut h[337..345], 0); // devminor
    // prefix (345..500) is never used.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}");
    h[148..154].copy_from_slice(s.as_bytes());
    h[154] = 0;
    h[155] = b' ';
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_is_self_inclusive() {
        assert_eq!(pax_record("path", b"abc"), b"12 path=abc\n");
        // 9 -> 10 digit rollover: "1 k=v\n" would be 6; pick a value making
        // the total cross from 2 to 3 digits.
        for n in 80..110 {
            let v = vec![b'a'; n];
            let r = pax_record("path", &v);
            let sp = r.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&r[..sp]).unwrap().parse().unwrap();
            assert_eq!(len, r.len());
        }
    }

    #[test]
    fn header_checksum_and_fields() {
        let h = ustar_header(b"a.txt", 0o644, 5, 315532800, b'0');
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        assert_eq!(&h[136..148], b"02263523000\0");
        let mut copy = h;
        copy[148..156].fill(b' ');
        let sum: u32 = copy.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&h[148..156], format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn short_ascii_path_has_no_pax_header() {
        let h = member_headers("a/b.txt", 3, 0, false);
        assert_eq!(h.len(), BLOCK);
        let h = member_headers("a/é.txt", 3, 0, false);
        assert_eq!(h.len(), 3 * BLOCK);
        assert_eq!(h[156], b'x');
        assert_eq!(h[2 * BLOCK + 156], b'0');
    }

    #[test]
    fn streamed_member_gives_the_same_bytes() {
        let deflate = Deflate {
            level: 6,
            gzip_chunk_size: 64 << 10,
            solid_below: 128 << 10,
            solid_level: 5,
        };
        let big: Vec<u8> = (0..700_000u32)
            .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
            .collect();
        let members: [(&str, &[u8]); 4] = [("a", b""), ("b", b"x"), ("c", &big), ("d", b"tail")];
        let mut whole = TarGzWriter::new(Vec::new(), 1_700_000_000, deflate);
        let mut streamed = TarGzWriter::new(Vec::new(), 1_700_000_000, deflate);
        for (path, data) in members {
            whole.add_file(path, data, false).unwrap();
            // A reader handing out odd-sized pieces.
            let mut r = std::io::Read::chain(data, &b"ignored: past the size"[..]);
            streamed
                .add_reader(path, data.len() as u64, &mut r, false)
                .unwrap();
        }
        assert_eq!(whole.finish().unwrap(), streamed.finish().unwrap());

        // A reader that ends early is an error naming the member.
        let mut w = TarGzWriter::new(Vec::new(), 0, deflate);
        let e = w
            .add_reader("short", 10, &mut &b"abc"[..], false)
            .unwrap_err();
        assert!(e.to_string().contains("short"), "{e}");
    }

    #[test]
    fn huge_size_goes_to_pax() {
        let h = member_headers("big", 8 << 30, 0, false);
        assert_eq!(h[156], b'x');
        assert!(h[BLOCK..2 * BLOCK].starts_with(b"19 size=8589934592\n"));
        assert_eq!(&h[2 * BLOCK + 124..2 * BLOCK + 136], b"00000000000\0");
    }
}
