//! Bounded reader for zip archives made by anyone, from a seekable source
//! the caller has already digested.
//!
//! `ZipReader::open` reads the structure (end record, central directory,
//! every local header and data descriptor) with small bounded reads and
//! checks everything that needs no inflating; `copy_member` then streams
//! one member's data, inflating in bounded chunks and stopping the moment
//! the output passes the declared size, so memory stays flat in the size
//! of the archive. `read_zip` is the in-memory convenience built on it.
//!
//! The central directory is the index; every entry's local header is read
//! and must agree with it (name, flags, method, CRC, sizes), entries must
//! not overlap each other or the central directory, and nothing may hide
//! before the first entry or between the central directory and its end
//! record. Zip64, encryption and methods other than stored/deflate are
//! refused. Names must be UTF-8 (ASCII names under CP437 are the same);
//! whether bit 11 was set is reported, not required.

use std::collections::BTreeSet;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use crate::error::Ctx;
use crate::path::unsafe_reason;
use crate::zip_member::{CHUNK, MemberReader};
use crate::{ArchiveError, Limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    File,
    Directory,
}

/// One member and its central (and local) header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipMember {
    pub path: String,
    pub kind: ZipKind,
    /// The member's bytes: filled by `read_zip`; always empty in what
    /// `ZipReader::archive` returns (use `ZipReader::copy_member`).
    pub data: Vec<u8>,
    /// Any execute bit in the Unix mode (only when made by Unix).
    pub executable: bool,
    /// Unix mode from the external attributes, when made by Unix.
    pub unix_mode: Option<u32>,
    pub version_made_by: u16,
    pub version_needed: u16,
    pub flags: u16,
    /// 0 stored, 8 deflate.
    pub method: u16,
    pub dos_time: u16,
    pub dos_date: u16,
    pub crc32: u32,
    pub compressed_size: u32,
    pub size: u32,
    pub internal_attr: u16,
    pub external_attr: u32,
    pub central_extra_len: u16,
    pub comment_len: u16,
    pub local_header_offset: u32,
    pub local_version_needed: u16,
    pub local_dos_time: u16,
    pub local_dos_date: u16,
    pub local_extra_len: u16,
    /// A data descriptor follows the data (flag bit 3).
    pub data_descriptor: bool,
}

/// A whole zip: members in central-directory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipArchive {
    pub members: Vec<ZipMember>,
    /// The archive comment.
    pub comment: Vec<u8>,
    pub central_directory_offset: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;

/// A zip opened from untrusted input: its structure checked, its members'
/// data still in the source, streamed out one member at a time.
#[derive(Debug)]
pub struct ZipReader<R> {
    archive: String,
    reader: R,
    zip: ZipArchive,
    /// Where each member's (compressed) data starts, by member index.
    data_offsets: Vec<u64>,
}

/// `len` bytes at `pos`, or fewer if the source ends first. `len` is
/// always small (a header, at most 64 KiB): never a header's claim.
fn read_at<R: Read + Seek>(r: &mut R, pos: u64, len: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(len);
    r.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

impl<R: Read + Seek> ZipReader<R> {
    /// Check the structure of the zip `reader` holds; `archive` names it
    /// in errors. Every check `read_zip` makes that needs no inflating is
    /// made here: the end record, the central directory, each local header
    /// agreeing with it, data descriptors, no overlap and nothing hidden,
    /// unsafe paths and types, duplicates, and the declared sizes and
    /// ratio against `limits`. Reads are bounded: at most 64 KiB at once,
    /// never sized by a header's claim beyond the limits.
    pub fn open(archive: &str, mut reader: R, limits: &Limits) -> Result<Self, ArchiveError> {
        let ctx = Ctx { archive };
        let eocd_label = "end of central directory";
        let len = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| ctx.read(eocd_label, e))?;
        // The EOCD is 22 bytes plus a comment of at most 65535; the last
        // candidate whose comment length reaches the end exactly wins. The
        // 20 bytes before the lowest candidate may hold a zip64 locator.
        let tail_len = len.min(20 + 22 + 65_535);
        let tail_start = len - tail_len;
        let tail = read_at(&mut reader, tail_start, tail_len as usize)
            .map_err(|e| ctx.read(eocd_label, e))?;
        if tail.len() as u64 != tail_len {
            return Err(ctx.malformed(eocd_label, "the archive shrank while being read"));
        }
        let lowest = tail.len().saturating_sub(22 + 65_535);
        let rel = (lowest..=tail.len().saturating_sub(22))
            .rev()
            .find(|&i| {
                u32_at(&tail, i) == Some(EOCD_SIG)
                    && u16_at(&tail, i + 20).map(|c| i + 22 + usize::from(c)) == Some(tail.len())
            })
            .ok_or_else(|| {
                ctx.malformed(
                    eocd_label,
                    "no end of central directory record (not a zip, or truncated)",
                )
            })?;
        let eocd = tail_start + rel as u64;
        let field = |off| u16_at(&tail, rel + off).unwrap_or(0);
        let (disk, cd_disk, on_disk, count) = (field(4), field(6), field(8), field(10));
        let cd_size = u32_at(&tail, rel + 12).unwrap_or(0);
        let cd_offset = u32_at(&tail, rel + 16).unwrap_or(0);
        let comment = tail.get(rel + 22..).unwrap_or_default().to_vec();
        // 0xFFFF entries is a real count unless a zip64 locator says the
        // count is in the zip64 record: Python's zipfile and Info-ZIP write
        // 65,535 entries without zip64.
        if rel >= 20 && u32_at(&tail, rel - 20) == Some(ZIP64_LOCATOR_SIG)
            || cd_size == u32::MAX
            || cd_offset == u32::MAX
        {
            return Err(ctx.refused(eocd_label, "zip64 archives are not supported"));
        }
        if disk != 0 || cd_disk != 0 || on_disk != count {
            return Err(ctx.refused(eocd_label, "multi-disk archives are not supported"));
        }
        if u64::from(count) > limits.max_entries {
            return Err(ctx.limit(
                eocd_label,
                "entry count",
                u64::from(count),
                limits.max_entries,
            ));
        }
        let cd_start = u64::from(cd_offset);
        let cd_end = cd_start + u64::from(cd_size);
        if cd_end > eocd {
            return Err(ctx.malformed(eocd_label, "central directory outside the archive"));
        }
        if cd_end != eocd {
            return Err(ctx.malformed(
                eocd_label,
                "data between the central directory and its end record",
            ));
        }

        let mut members = Vec::with_capacity(usize::from(count));
        let mut data_offsets = Vec::with_capacity(usize::from(count));
        let mut seen = BTreeSet::new();
        let mut ranges: Vec<(u64, u64, String)> = Vec::new();
        let mut total: u64 = 0;
        let mut at = cd_start;
        for index in 0..count {
            let label = format!("central directory entry #{}", u32::from(index) + 1);
            let trunc = || ctx.malformed(&label, "truncated central directory entry");
            let fixed = if at + 46 > cd_end {
                Vec::new()
            } else {
                read_at(&mut reader, at, 46).map_err(|e| ctx.read(&label, e))?
            };
            if fixed.len() != 46 || u32_at(&fixed, 0) != Some(CENTRAL_SIG) {
                return Err(ctx.malformed(&label, "bad central directory entry signature"));
            }
            let c16 = |off| u16_at(&fixed, off).unwrap_or(0);
            let c32 = |off| u32_at(&fixed, off).unwrap_or(0);
            let made_by = c16(4);
            let needed = c16(6);
            let flags = c16(8);
            let method = c16(10);
            let (time, date) = (c16(12), c16(14));
            let crc = c32(16);
            let csize = c32(20);
            let size = c32(24);
            let (name_len, extra_len, comment_len) = (c16(28), c16(30), c16(32));
            let disk_start = c16(34);
            let internal = c16(36);
            let external = c32(38);
            let local = c32(42);
            let next =
                at + 46 + u64::from(name_len) + u64::from(extra_len) + u64::from(comment_len);
            if next > cd_end {
                return Err(trunc());
            }
            let name = read_at(&mut reader, at + 46, usize::from(name_len))
                .map_err(|e| ctx.read(&label, e))?;
            if name.len() != usize::from(name_len) {
                return Err(trunc());
            }
            at = next;
            if u64::from(name_len) > limits.max_path_len {
                return Err(ctx.limit(
                    &label,
                    "path length",
                    u64::from(name_len),
                    limits.max_path_len,
                ));
            }
            let path = std::str::from_utf8(&name)
                .map_err(|_| {
                    ctx.malformed(
                        &label,
                        format!("name is not UTF-8: {:?}", String::from_utf8_lossy(&name)),
                    )
                })?
                .to_owned();
            let entry = format!("{path:?}");
            if let Some(reason) = unsafe_reason(&path) {
                return Err(ctx.refused(&entry, reason));
            }
            if path.contains('\\') {
                return Err(ctx.refused(&entry, "backslash in name"));
            }
            if disk_start != 0 {
                return Err(ctx.refused(&entry, "multi-disk archives are not supported"));
            }
            if flags & 0x0001 != 0 || flags & 0x0040 != 0 {
                return Err(ctx.refused(&entry, "encrypted entry"));
            }
            if method != 0 && method != 8 {
                return Err(ctx.refused(&entry, format!("unsupported compression method {method}")));
            }
            if csize == u32::MAX || size == u32::MAX || local == u32::MAX {
                return Err(ctx.refused(&entry, "zip64 entries are not supported"));
            }
            let unix_mode = (made_by >> 8 == 3).then_some(external >> 16);
            let file_type = unix_mode.map(|m| m & 0o170_000).unwrap_or(0);
            let kind = match file_type {
                0o120_000 => return Err(ctx.refused(&entry, "symbolic link")),
                0o020_000 | 0o060_000 => return Err(ctx.refused(&entry, "device")),
                0o010_000 => return Err(ctx.refused(&entry, "FIFO")),
                0o140_000 => return Err(ctx.refused(&entry, "socket")),
                0o040_000 => ZipKind::Directory,
                _ if path.ends_with('/') || external & 0x10 != 0 => ZipKind::Directory,
                _ => ZipKind::File,
            };
            let key = path.trim_end_matches('/').to_owned();
            if !seen.insert(key) {
                return Err(ctx.refused(&entry, "duplicate member name"));
            }
            if u64::from(size) > limits.max_entry_size {
                return Err(ctx.limit(
                    &entry,
                    "member size",
                    u64::from(size),
                    limits.max_entry_size,
                ));
            }
            total += u64::from(size);
            if total > limits.max_total_size {
                return Err(ctx.limit(&entry, "total size", total, limits.max_total_size));
            }
            if u64::from(size) > limits.ratio_floor {
                let ratio = u64::from(size) / u64::from(csize).max(1);
                if ratio > limits.max_ratio {
                    return Err(ctx.limit(&entry, "compression ratio", ratio, limits.max_ratio));
                }
            }

            // The local header must agree with the central one.
            let lo = u64::from(local);
            let lh = read_at(&mut reader, lo, 30).map_err(|e| ctx.read(&entry, e))?;
            if u32_at(&lh, 0) != Some(LOCAL_SIG) {
                return Err(ctx.malformed(&entry, "no local file header at the recorded offset"));
            }
            let ltrunc = || ctx.malformed(&entry, "truncated local file header");
            if lh.len() != 30 {
                return Err(ltrunc());
            }
            let l16 = |off| u16_at(&lh, off).unwrap_or(0);
            let l32 = |off| u32_at(&lh, off).unwrap_or(0);
            let l_needed = l16(4);
            let l_flags = l16(6);
            let l_method = l16(8);
            let (l_time, l_date) = (l16(10), l16(12));
            let (l_crc, l_csize, l_size) = (l32(14), l32(18), l32(22));
            let (l_name_len, l_extra_len) = (l16(26), l16(28));
            let l_name = read_at(&mut reader, lo + 30, usize::from(l_name_len))
                .map_err(|e| ctx.read(&entry, e))?;
            if l_name.len() != usize::from(l_name_len) {
                return Err(ltrunc());
            }
            let mismatch = |what: &str| {
                ctx.malformed(
                    &entry,
                    format!("local and central headers disagree on {what}"),
                )
            };
            if l_name != name {
                return Err(mismatch("the name"));
            }
            if l_flags != flags {
                return Err(mismatch("the flags"));
            }
            if l_method != method {
                return Err(mismatch("the compression method"));
            }
            let descriptor = flags & 0x0008 != 0;
            if !descriptor && (l_crc, l_csize, l_size) != (crc, csize, size) {
                return Err(mismatch("CRC32 or sizes"));
            }
            let data_start = lo + 30 + u64::from(l_name_len) + u64::from(l_extra_len);
            let mut end = data_start + u64::from(csize);
            if end > len {
                return Err(ctx.malformed(&entry, "member data runs past the end of the archive"));
            }
            if descriptor {
                // Optional signature, CRC, sizes; must repeat the central values.
                let d = read_at(&mut reader, end, 16).map_err(|e| ctx.read(&entry, e))?;
                let sig = if u32_at(&d, 0) == Some(DESCRIPTOR_SIG) {
                    4
                } else {
                    0
                };
                let ok = u32_at(&d, sig) == Some(crc)
                    && u32_at(&d, sig + 4) == Some(csize)
                    && u32_at(&d, sig + 8) == Some(size);
                if !ok {
                    return Err(mismatch("the data descriptor"));
                }
                end += sig as u64 + 12;
            }
            ranges.push((lo, end, entry.clone()));
            if method == 0 && csize != size {
                return Err(ctx.malformed(
                    &entry,
                    "stored entry: compressed and uncompressed sizes differ",
                ));
            }
            let executable = unix_mode.is_some_and(|m| m & 0o111 != 0);
            data_offsets.push(data_start);
            members.push(ZipMember {
                path,
                kind,
                data: Vec::new(),
                executable,
                unix_mode,
                version_made_by: made_by,
                version_needed: needed,
                flags,
                method,
                dos_time: time,
                dos_date: date,
                crc32: crc,
                compressed_size: csize,
                size,
                internal_attr: internal,
                external_attr: external,
                central_extra_len: extra_len,
                comment_len,
                local_header_offset: local,
                local_version_needed: l_needed,
                local_dos_time: l_time,
                local_dos_date: l_date,
                local_extra_len: l_extra_len,
                data_descriptor: descriptor,
            });
        }
        if at != cd_end {
            return Err(ctx.malformed(
                eocd_label,
                "central directory size does not match its entries",
            ));
        }
        // Entries tile [0, cd_start) without overlap; gaps are refused too,
        // since nothing legitimate hides between members.
        ranges.sort();
        let mut expected = 0u64;
        for (start, end, entry) in &ranges {
            if *start < expected {
                return Err(ctx.refused(entry, "overlaps another entry"));
            }
            if *start > expected {
                return Err(ctx.malformed(entry, "unaccounted bytes before this entry"));
            }
            expected = *end;
        }
        if expected > cd_start {
            let entry = ranges.last().map_or(eocd_label.to_owned(), |r| r.2.clone());
            return Err(ctx.refused(entry, "overlaps the central directory"));
        }
        if expected < cd_start {
            return Err(ctx.malformed(eocd_label, "unaccounted bytes before the central directory"));
        }
        Ok(Self {
            archive: archive.to_owned(),
            reader,
            zip: ZipArchive {
                members,
                comment,
                central_directory_offset: cd_offset,
            },
            data_offsets,
        })
    }

    /// The members (with empty `data`), the archive comment and the
    /// central directory's offset.
    pub fn archive(&self) -> &ZipArchive {
        &self.zip
    }

    /// Stream member `index`'s data (stored or inflated, in bounded
    /// chunks) to `out`, returning its size. Fails, naming the entry, if
    /// the data inflates to more than the declared size (as soon as the
    /// output passes it: a bomb is stopped there), to less, is corrupt or
    /// truncated, or does not match the declared CRC32. The declared
    /// values are the central directory's, which `open` checked against
    /// the local header and the data descriptor. On an error, `out` may
    /// already hold part of the data (never more than the declared size).
    pub fn copy_member(&mut self, index: usize, out: &mut dyn Write) -> Result<u64, ArchiveError> {
        let mut member = self.member_reader(index)?;
        let mut buf = vec![0u8; CHUNK];
        let mut produced = 0u64;
        loop {
            let n = match member.read(&mut buf) {
                Ok(0) => return Ok(produced),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(member.into_failure(e)),
            };
            produced += n as u64;
            out.write_all(&buf[..n])
                .map_err(|source| ArchiveError::Output {
                    archive: member.archive.clone(),
                    entry: member.entry.clone(),
                    source,
                })?;
        }
    }

    /// A reader over member `index`'s data, with the checks of
    /// `copy_member`: it fails as soon as the output passes the declared
    /// size, and at the end unless size and CRC32 agree. A failure reads
    /// as an `io::Error`; `MemberReader::into_failure` gives the precise
    /// `ArchiveError` naming the entry.
    pub fn member_reader(&mut self, index: usize) -> Result<MemberReader<'_, R>, ArchiveError> {
        let ctx = Ctx {
            archive: &self.archive,
        };
        let (Some(m), Some(&offset)) = (self.zip.members.get(index), self.data_offsets.get(index))
        else {
            return Err(ctx.malformed(
                format!("member #{}", index.saturating_add(1)),
                format!(
                    "no such member (the archive holds {})",
                    self.zip.members.len()
                ),
            ));
        };
        let entry = format!("{:?}", m.path);
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| ctx.read(&entry, e))?;
        Ok(MemberReader::new(
            self.archive.clone(),
            entry,
            (&mut self.reader).take(u64::from(m.compressed_size)),
            m,
        ))
    }

    /// The source, back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Read a zip from untrusted bytes into memory; `archive` names it in
/// errors. Built on `ZipReader`: the same checks, with every member's
/// bytes inflated into its `data`.
pub fn read_zip(archive: &str, bytes: &[u8], limits: &Limits) -> Result<ZipArchive, ArchiveError> {
    let mut reader = ZipReader::open(archive, Cursor::new(bytes), limits)?;
    let mut datas = Vec::with_capacity(reader.zip.members.len());
    for index in 0..reader.zip.members.len() {
        // The declared size was checked against `max_entry_size` and the
        // ratio by `open`; deflate cannot beat ~1032:1 anyway.
        let declared = reader.zip.members[index].size as usize;
        let mut data = Vec::with_capacity(declared.min(bytes.len().saturating_mul(1032)));
        reader.copy_member(index, &mut data)?;
        datas.push(data);
    }
    let mut zip = reader.zip;
    for (member, data) in zip.members.iter_mut().zip(datas) {
        member.data = data;
    }
    Ok(zip)
}
