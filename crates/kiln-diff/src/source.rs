//! Reading the two archives, and the only place that knows how: pass 1
//! (`scan`) streams every member once through a [`MemberSink`] that keeps
//! its sha256, size and whether it reads as text -- never its bytes, except
//! the few small members the caller asks to capture (METADATA, PKG-INFO,
//! RECORD) -- plus every container field `kiln-archive`'s readers expose,
//! pax records longer than [`PAX_KEPT`] bytes kept as a summary (their
//! first bytes, length and sha256) rather than whole; pass 2 (`fetch`)
//! re-reads only the members whose text diff is wanted. An archive with
//! no regular file is refused ([`DiffError::Empty`]), as `normalize`
//! refuses it: there is no content to compare.
//!
//! Everything else in the crate sees [`Scan`] and [`Entry`], so moving to
//! another reader is a change to this file alone.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use kiln_archive::{
    ArchiveError, GzipInfo, Limits, TarKind, TarMember, ZipKind, ZipMember, ZipReader, visit_tar_gz,
};
use sha2::{Digest as _, Sha256, Sha512};

use crate::{ArchiveKind, DiffError};

/// Bytes of a captured member (METADATA, PKG-INFO, RECORD) kept in memory;
/// a larger one is reported, not read.
pub(crate) const MAX_CAPTURE: u64 = 16 << 20;

/// Bytes captured per archive, all members together: a METADATA and a
/// RECORD at their largest. An archive of many `.dist-info` directories
/// (or top-level directories with a PKG-INFO each) gets the rest reported
/// as too large rather than kept.
pub(crate) const MAX_CAPTURE_TOTAL: u64 = 2 * MAX_CAPTURE;

/// Bytes of a pax key or value kept as they are; a longer one is kept as
/// [`pax_summary`]. A report shows 60 characters of a value at most.
pub(crate) const PAX_KEPT: usize = 64;

/// A long pax key or value as a diff keeps it: its first bytes, its length
/// and its sha256. Always longer than [`PAX_KEPT`], so it never equals a
/// value kept as it is; equal only for equal bytes.
fn pax_summary(bytes: &[u8]) -> Vec<u8> {
    let mut s = bytes[..40.min(bytes.len())].to_vec();
    s.extend_from_slice(
        format!(
            "… ({} bytes, sha256 {})",
            bytes.len(),
            kiln_digest::hex(&Sha256::digest(bytes))
        )
        .as_bytes(),
    );
    s
}

/// pax records as a diff keeps them (see [`PAX_KEPT`]).
fn summarize_pax(records: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let keep = |b: &[u8]| {
        if b.len() <= PAX_KEPT {
            b.to_vec()
        } else {
            pax_summary(b)
        }
    };
    records
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&keep(k.as_bytes())).into_owned(),
                keep(v),
            )
        })
        .collect()
}

/// Regular file or directory; the readers refuse everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Directory,
}

/// Every header field of one member, as its reader gave it (data empty;
/// a tar header's `path` empty too, since [`Entry::path`] holds it, and
/// its long pax records summarized).
#[derive(Debug, Clone)]
pub(crate) enum Header {
    Tar(Box<TarMember>),
    Zip(Box<ZipMember>),
}

/// One member after pass 1.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// As written in the archive (`./` and a directory's `/` kept).
    pub path: String,
    pub kind: EntryKind,
    pub executable: bool,
    pub size: u64,
    pub sha256: [u8; 32],
    /// Valid UTF-8 without NUL bytes.
    pub text: bool,
    pub header: Header,
}

/// The archive-level container fields.
#[derive(Debug, Clone)]
pub(crate) enum Container {
    TarGz {
        gzip: GzipInfo,
        global_pax: Vec<Vec<(String, Vec<u8>)>>,
        tar_size: u64,
        trailing_zeros: u64,
    },
    Zip {
        comment: Vec<u8>,
    },
}

/// A captured member's bytes, or its size when over [`MAX_CAPTURE`].
#[derive(Debug, Clone)]
pub(crate) enum Captured {
    Bytes(Vec<u8>),
    TooLarge(u64),
}

/// An archive after pass 1.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub entries: Vec<Entry>,
    pub container: Container,
    /// Entry index -> bytes, for the entries `capture` selected.
    pub captured: BTreeMap<usize, Captured>,
}

fn open(path: &Path, name: &str) -> Result<File, DiffError> {
    File::open(path).map_err(|source| DiffError::Io {
        archive: name.to_owned(),
        path: path.to_path_buf(),
        source,
    })
}

/// sha256 and length of the file's bytes from `offset` on, in one
/// streaming pass.
pub(crate) fn hash_file(
    path: &Path,
    name: &str,
    offset: u64,
) -> Result<([u8; 32], u64), DiffError> {
    hash_range(path, name, offset, u64::MAX)
}

/// sha256 and length of the file's bytes from `start` up to `end` (or its
/// end, if sooner), in one streaming pass.
pub(crate) fn hash_range(
    path: &Path,
    name: &str,
    start: u64,
    end: u64,
) -> Result<([u8; 32], u64), DiffError> {
    let offset = start;
    let io_err = |source| DiffError::Io {
        archive: name.to_owned(),
        path: path.to_path_buf(),
        source,
    };
    let file = open(path, name)?;
    let mut file = file.take(end);
    io::copy(&mut (&mut file).take(offset), &mut io::sink()).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finalize().into(), size))
}

/// Where one member's bytes go in pass 1: hashed, measured, checked for
/// text, and kept only if captured (up to [`MAX_CAPTURE`]).
#[derive(Debug)]
pub(crate) struct MemberSink {
    hasher: Sha256,
    size: u64,
    text: TextCheck,
    capture: Option<Vec<u8>>,
    /// Bytes it may keep: [`MAX_CAPTURE`], or less when the archive's
    /// [`MAX_CAPTURE_TOTAL`] is nearly spent.
    limit: u64,
}

impl MemberSink {
    fn new(capture: bool, captured_so_far: u64) -> Self {
        Self {
            hasher: Sha256::new(),
            size: 0,
            text: TextCheck::default(),
            capture: capture.then(Vec::new),
            limit: MAX_CAPTURE.min(MAX_CAPTURE_TOTAL.saturating_sub(captured_so_far)),
        }
    }

    /// sha256, size, text?, captured bytes.
    fn finish(self) -> ([u8; 32], u64, bool, Option<Captured>) {
        let size = self.size;
        let captured = self.capture.map(|bytes| {
            if size > self.limit {
                Captured::TooLarge(size)
            } else {
                Captured::Bytes(bytes)
            }
        });
        (
            self.hasher.finalize().into(),
            size,
            self.text.finish(),
            captured,
        )
    }
}

impl Write for MemberSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        self.text.update(buf);
        if let Some(c) = &mut self.capture {
            if self.size <= self.limit {
                c.extend_from_slice(buf);
            } else {
                c.clear();
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streaming "valid UTF-8 and no NUL" check.
#[derive(Debug, Default)]
pub(crate) struct TextCheck {
    bad: bool,
    /// An incomplete UTF-8 sequence at the end of the previous chunk.
    carry: Vec<u8>,
}

impl TextCheck {
    pub(crate) fn update(&mut self, mut buf: &[u8]) {
        if self.bad {
            return;
        }
        if buf.contains(&0) {
            self.bad = true;
            return;
        }
        // Complete the sequence the last chunk ended in, a byte at a time.
        while !self.carry.is_empty() {
            let Some((&first, rest)) = buf.split_first() else {
                return;
            };
            self.carry.push(first);
            buf = rest;
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(e) if e.error_len().is_none() && self.carry.len() < 4 => {}
                Err(_) => {
                    self.bad = true;
                    return;
                }
            }
        }
        if let Err(e) = std::str::from_utf8(buf) {
            if e.error_len().is_none() {
                self.carry = buf[e.valid_up_to()..].to_vec();
            } else {
                self.bad = true;
            }
        }
    }

    pub(crate) fn finish(self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

fn archive_error(name: &str, source: ArchiveError) -> DiffError {
    DiffError::archive(name, source)
}

/// The entry a data-read error names.
fn read_error(name: &str, entry: &str, source: io::Error) -> ArchiveError {
    ArchiveError::Read {
        archive: name.to_owned(),
        entry: format!("{entry:?}"),
        source,
    }
}

/// What pass 1 has read so far: the entries, and the captured members by
/// entry index within the archive's capture budget.
#[derive(Default)]
struct Gathered {
    entries: Vec<Entry>,
    captured: BTreeMap<usize, Captured>,
    captured_total: u64,
}

impl Gathered {
    /// A sink for the next member, keeping its bytes when `capture` holds
    /// and the budget allows.
    fn sink(&self, capture: bool) -> MemberSink {
        MemberSink::new(capture, self.captured_total)
    }

    /// Files the member `sink` has read as the next entry.
    fn push(
        &mut self,
        sink: MemberSink,
        path: &str,
        kind: EntryKind,
        executable: bool,
        header: Header,
    ) {
        let (sha256, size, text, bytes) = sink.finish();
        if let Some(bytes) = bytes {
            if let Captured::Bytes(b) = &bytes {
                self.captured_total += b.len() as u64;
            }
            self.captured.insert(self.entries.len(), bytes);
        }
        self.entries.push(Entry {
            path: path.to_owned(),
            kind,
            executable,
            size,
            sha256,
            text,
            header,
        });
    }
}

/// Pass 1: every member's metadata and digest; the members whose path
/// `capture` accepts are kept in memory too.
pub(crate) fn scan(
    kind: ArchiveKind,
    path: &Path,
    name: &str,
    limits: &Limits,
    capture: &dyn Fn(&str) -> bool,
) -> Result<Scan, DiffError> {
    let mut gathered = Gathered::default();
    let container = match kind {
        ArchiveKind::Sdist => {
            let tgz = visit_tar_gz(
                name,
                BufReader::new(open(path, name)?),
                limits,
                &mut |m, data| {
                    let mut sink = gathered.sink(m.kind == TarKind::File && capture(&m.path));
                    io::copy(data, &mut sink).map_err(|e| read_error(name, &m.path, e))?;
                    let kind = match m.kind {
                        TarKind::File => EntryKind::File,
                        TarKind::Directory => EntryKind::Directory,
                    };
                    let header = Header::Tar(Box::new(TarMember {
                        pax: summarize_pax(&m.pax),
                        // Kept once, in the entry.
                        path: String::new(),
                        kind: m.kind,
                        data: Vec::new(),
                        size: m.size,
                        executable: m.executable,
                        mode: m.mode,
                        uid: m.uid,
                        gid: m.gid,
                        uname: m.uname.clone(),
                        gname: m.gname.clone(),
                        mtime: m.mtime,
                        typeflag: m.typeflag,
                        format: m.format,
                        gnu_long_name: m.gnu_long_name,
                        used_prefix: m.used_prefix,
                        header_offset: m.header_offset,
                    }));
                    gathered.push(sink, &m.path, kind, m.executable, header);
                    Ok(())
                },
            )
            .map_err(|e| archive_error(name, e))?;
            Container::TarGz {
                gzip: tgz.gzip,
                global_pax: tgz.global_pax.iter().map(|g| summarize_pax(g)).collect(),
                tar_size: tgz.tar_size,
                trailing_zeros: tgz.trailing_zeros,
            }
        }
        ArchiveKind::Wheel => {
            let mut zip = ZipReader::open(name, BufReader::new(open(path, name)?), limits)
                .map_err(|e| archive_error(name, e))?;
            let members = zip.archive().members.clone();
            for (index, m) in members.into_iter().enumerate() {
                let mut sink = gathered.sink(m.kind == ZipKind::File && capture(&m.path));
                zip.copy_member(index, &mut sink)
                    .map_err(|e| archive_error(name, e))?;
                let kind = match m.kind {
                    ZipKind::File => EntryKind::File,
                    ZipKind::Directory => EntryKind::Directory,
                };
                let (path, executable) = (m.path.clone(), m.executable);
                gathered.push(sink, &path, kind, executable, Header::Zip(Box::new(m)));
            }
            Container::Zip {
                comment: zip.archive().comment.clone(),
            }
        }
    };
    let Gathered {
        entries, captured, ..
    } = gathered;
    if !entries.iter().any(|e| e.kind == EntryKind::File) {
        return Err(DiffError::Empty {
            archive: name.to_owned(),
            kind,
        });
    }
    Ok(Scan {
        entries,
        container,
        captured,
    })
}

/// Pass 2: hand the bytes of each entry in `wanted` (by index) to `take`,
/// one at a time, in archive order: one more read of the archive (tar) or
/// one seek per member (zip). Only the member being handed over is held.
pub(crate) fn fetch(
    kind: ArchiveKind,
    path: &Path,
    name: &str,
    limits: &Limits,
    wanted: &BTreeSet<usize>,
    take: &mut dyn FnMut(usize, Vec<u8>),
) -> Result<(), DiffError> {
    if wanted.is_empty() {
        return Ok(());
    }
    match kind {
        ArchiveKind::Sdist => {
            let file = BufReader::new(open(path, name)?);
            let mut index = 0usize;
            visit_tar_gz(name, file, limits, &mut |m, data| {
                if wanted.contains(&index) {
                    let mut bytes = Vec::new();
                    data.read_to_end(&mut bytes)
                        .map_err(|e| read_error(name, &m.path, e))?;
                    take(index, bytes);
                }
                index += 1;
                Ok(())
            })
            .map_err(|e| archive_error(name, e))?;
        }
        ArchiveKind::Wheel => {
            let mut zip = ZipReader::open(name, BufReader::new(open(path, name)?), limits)
                .map_err(|e| archive_error(name, e))?;
            for &index in wanted {
                let mut bytes = Vec::new();
                zip.copy_member(index, &mut bytes)
                    .map_err(|e| archive_error(name, e))?;
                take(index, bytes);
            }
        }
    }
    Ok(())
}

/// A hashing `Write`.
struct HashWriter<D>(D);

impl<D: sha2::Digest> Write for HashWriter<D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// SHA-512 of wheel members (by entry index), for the rare RECORD row
/// that records one: pass 1 keeps only SHA-256. The wheel is opened once,
/// on the first request, however many rows ask.
pub(crate) struct WheelSha512<'a> {
    path: &'a Path,
    name: &'a str,
    limits: &'a Limits,
    zip: Option<ZipReader<BufReader<File>>>,
}

impl<'a> WheelSha512<'a> {
    pub(crate) fn new(path: &'a Path, name: &'a str, limits: &'a Limits) -> Self {
        Self {
            path,
            name,
            limits,
            zip: None,
        }
    }

    pub(crate) fn of(&mut self, index: usize) -> Result<[u8; 64], DiffError> {
        let name = self.name;
        let zip = match &mut self.zip {
            Some(zip) => zip,
            None => self.zip.insert(
                ZipReader::open(name, BufReader::new(open(self.path, name)?), self.limits)
                    .map_err(|e| archive_error(name, e))?,
            ),
        };
        let mut hasher = HashWriter(Sha512::new());
        zip.copy_member(index, &mut hasher)
            .map_err(|e| archive_error(name, e))?;
        Ok(hasher.0.finalize().into())
    }
}

#[cfg(test)]
mod tests;
