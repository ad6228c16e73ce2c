//! Bounded reader for zip archives made by anyone, from bytes the caller
//! has already read and digested.
//!
//! The central directory is the index; every entry's local header is read
//! and must agree with it (name, flags, method, CRC, sizes), entries must
//! not overlap each other or the central directory, and nothing may hide
//! before the first entry or between the central directory and its end
//! record. Zip64, encryption and methods other than stored/deflate are
//! refused. Names must be UTF-8 (ASCII names under CP437 are the same);
//! whether bit 11 was set is reported, not required.

use std::collections::BTreeSet;

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::Ctx;
use crate::path::unsafe_reason;
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
fn slice(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;

/// Read a zip from untrusted bytes; `archive` names it in errors.
pub fn read_zip(archive: &str, bytes: &[u8], limits: &Limits) -> Result<ZipArchive, ArchiveError> {
    let ctx = Ctx { archive };
    let eocd_label = "end of central directory";
    // The EOCD is 22 bytes plus a comment of at most 65535; the last
    // candidate whose comment length reaches the end exactly wins.
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&i| {
            u32_at(bytes, i) == Some(EOCD_SIG)
                && u16_at(bytes, i + 20).map(|c| i + 22 + usize::from(c)) == Some(bytes.len())
        })
        .ok_or_else(|| {
            ctx.malformed(
                eocd_label,
                "no end of central directory record (not a zip, or truncated)",
            )
        })?;
    let field = |off| u16_at(bytes, eocd + off).unwrap_or(0);
    let (disk, cd_disk, on_disk, count) = (field(4), field(6), field(8), field(10));
    let cd_size = u32_at(bytes, eocd + 12).unwrap_or(0);
    let cd_offset = u32_at(bytes, eocd + 16).unwrap_or(0);
    let comment = bytes.get(eocd + 22..).unwrap_or_default().to_vec();
    if eocd >= 20 && u32_at(bytes, eocd - 20) == Some(ZIP64_LOCATOR_SIG)
        || count == u16::MAX
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
    let cd_start = cd_offset as usize;
    let cd_end = cd_start
        .checked_add(cd_size as usize)
        .filter(|&e| e <= eocd)
        .ok_or_else(|| ctx.malformed(eocd_label, "central directory outside the archive"))?;
    if cd_end != eocd {
        return Err(ctx.malformed(
            eocd_label,
            "data between the central directory and its end record",
        ));
    }

    let mut members = Vec::with_capacity(usize::from(count));
    let mut seen = BTreeSet::new();
    let mut ranges: Vec<(u64, u64, String)> = Vec::new();
    let mut total: u64 = 0;
    let mut at = cd_start;
    for index in 0..count {
        let label = format!("central directory entry #{}", u32::from(index) + 1);
        let trunc = || ctx.malformed(&label, "truncated central directory entry");
        if at + 46 > cd_end || u32_at(bytes, at) != Some(CENTRAL_SIG) {
            return Err(ctx.malformed(&label, "bad central directory entry signature"));
        }
        let c16 = |off| u16_at(bytes, at + off).ok_or_else(trunc);
        let c32 = |off| u32_at(bytes, at + off).ok_or_else(trunc);
        let made_by = c16(4)?;
        let needed = c16(6)?;
        let flags = c16(8)?;
        let method = c16(10)?;
        let (time, date) = (c16(12)?, c16(14)?);
        let crc = c32(16)?;
        let csize = c32(20)?;
        let size = c32(24)?;
        let (name_len, extra_len, comment_len) = (c16(28)?, c16(30)?, c16(32)?);
        let disk_start = c16(34)?;
        let internal = c16(36)?;
        let external = c32(38)?;
        let local = c32(42)?;
        let name = slice(bytes, at + 46, usize::from(name_len)).ok_or_else(trunc)?;
        let next =
            at + 46 + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
        if next > cd_end {
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
        let path = std::str::from_utf8(name)
            .map_err(|_| {
                ctx.malformed(
                    &label,
                    format!("name is not UTF-8: {:?}", String::from_utf8_lossy(name)),
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
        let lo = local as usize;
        if u32_at(bytes, lo) != Some(LOCAL_SIG) {
            return Err(ctx.malformed(&entry, "no local file header at the recorded offset"));
        }
        let ltrunc = || ctx.malformed(&entry, "truncated local file header");
        let l16 = |off| u16_at(bytes, lo + off).ok_or_else(ltrunc);
        let l32 = |off| u32_at(bytes, lo + off).ok_or_else(ltrunc);
        let l_needed = l16(4)?;
        let l_flags = l16(6)?;
        let l_method = l16(8)?;
        let (l_time, l_date) = (l16(10)?, l16(12)?);
        let (l_crc, l_csize, l_size) = (l32(14)?, l32(18)?, l32(22)?);
        let (l_name_len, l_extra_len) = (l16(26)?, l16(28)?);
        let l_name = slice(bytes, lo + 30, usize::from(l_name_len)).ok_or_else(ltrunc)?;
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
        let data_start = lo + 30 + usize::from(l_name_len) + usize::from(l_extra_len);
        let raw = slice(bytes, data_start, csize as usize)
            .ok_or_else(|| ctx.malformed(&entry, "member data runs past the end of the archive"))?;
        let mut end = data_start + csize as usize;
        if descriptor {
            // Optional signature, CRC, sizes; must repeat the central values.
            let d = if u32_at(bytes, end) == Some(DESCRIPTOR_SIG) {
                end + 4
            } else {
                end
            };
            let ok = u32_at(bytes, d) == Some(crc)
                && u32_at(bytes, d + 4) == Some(csize)
                && u32_at(bytes, d + 8) == Some(size);
            if !ok {
                return Err(mismatch("the data descriptor"));
            }
            end = d + 12;
        }
        ranges.push((u64::from(local), end as u64, entry.clone()));

        let data = inflate(raw, method, size).map_err(|reason| ctx.malformed(&entry, reason))?;
        if crc32fast::hash(&data) != crc {
            return Err(ctx.malformed(&entry, "CRC32 mismatch"));
        }
        let executable = unix_mode.is_some_and(|m| m & 0o111 != 0);
        members.push(ZipMember {
            path,
            kind,
            data,
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
    if expected > cd_start as u64 {
        let entry = ranges.last().map_or(eocd_label.to_owned(), |r| r.2.clone());
        return Err(ctx.refused(entry, "overlaps the central directory"));
    }
    if expected < cd_start as u64 {
        return Err(ctx.malformed(eocd_label, "unaccounted bytes before the central directory"));
    }
    Ok(ZipArchive {
        members,
        comment,
        central_directory_offset: cd_offset,
    })
}

/// Inflate exactly `size` bytes, refusing more or fewer.
fn inflate(raw: &[u8], method: u16, size: u32) -> Result<Vec<u8>, String> {
    if method == 0 {
        if raw.len() != size as usize {
            return Err("stored entry: compressed and uncompressed sizes differ".into());
        }
        return Ok(raw.to_vec());
    }
    let mut d = Decompress::new(false);
    // One spare byte detects data longer than declared.
    let mut out = Vec::with_capacity(size as usize + 1);
    loop {
        let in_pos = usize::try_from(d.total_in())
            .unwrap_or(raw.len())
            .min(raw.len());
        let before = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(&raw[in_pos..], &mut out, FlushDecompress::Finish)
            .map_err(|e| format!("corrupt deflate data: {e}"))?;
        if out.len() > size as usize {
            return Err("inflates to more than its declared size".into());
        }
        match status {
            Status::StreamEnd => break,
            _ if (d.total_in(), d.total_out()) == before => {
                return Err("truncated deflate data".into());
            }
            _ => {}
        }
    }
    if out.len() != size as usize {
        return Err("inflates to less than its declared size".into());
    }
    Ok(out)
}
