//! The recompressed wheel's container: a plain (non-zip64) zip laid out as
//! kiln-archive's canonical zip is (local header, data, no data
//! descriptor, no extra fields, made-by Unix, mode in the external
//! attributes, one fixed DOS time), but each member deflated by Zopfli
//! with the pinned [`Zopfli`] settings instead of miniz_oxide. Members are
//! compressed in parallel (each its own raw deflate stream) and written in
//! the order given, so the bytes never depend on the thread count.

use kiln_archive::{ZIP_VERSION_MADE_BY, ZIP_VERSION_NEEDED, dos_date_time};
use rayon::prelude::*;
use std::num::NonZeroU64;

use crate::MirrorError;

/// Zopfli's settings: pins (pinned-toolchain.toml `[mirror]`), since they
/// change the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zopfli {
    /// Forward/backward optimization passes per block (Zopfli's default: 15).
    pub iterations: u64,
}

/// The DOS time every member carries: 1980-01-01T00:00:00Z, the earliest
/// a zip can say. Installers do not keep a member's time, and a fixed one
/// keeps the wheel a function of its content.
pub const MTIME: u64 = 315_532_800;

const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;

/// One member to write.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    pub path: &'a str,
    pub data: &'a [u8],
    pub executable: bool,
}

fn deflate(data: &[u8], settings: Zopfli) -> std::io::Result<Vec<u8>> {
    let options = zopfli::Options {
        iteration_count: NonZeroU64::new(settings.iterations.max(1)).unwrap_or(NonZeroU64::MIN),
        ..zopfli::Options::default()
    };
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    zopfli::compress(options, zopfli::Format::Deflate, data, &mut out)?;
    Ok(out)
}

/// The zip of `members`, in their order. `archive` names it in errors.
pub fn write_zip(
    archive: &str,
    members: &[Member<'_>],
    settings: Zopfli,
) -> Result<Vec<u8>, MirrorError> {
    let (dos_time, dos_date) = dos_date_time(MTIME).map_err(|e| MirrorError::Write {
        file: archive.to_string(),
        reason: e.to_string(),
    })?;
    let compressed: Vec<std::io::Result<(u16, Vec<u8>)>> = members
        .par_iter()
        .map(|m| {
            if m.data.is_empty() {
                Ok((METHOD_STORED, Vec::new()))
            } else {
                deflate(m.data, settings).map(|c| (METHOD_DEFLATE, c))
            }
        })
        .collect();
    let too_big = |path: &str, what: &str| MirrorError::Write {
        file: archive.to_string(),
        reason: format!("{path}: {what} needs zip64, which wheels of this mirror do not use"),
    };
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (m, result) in members.iter().zip(compressed) {
        let (method, data) = result.map_err(|e| MirrorError::Write {
            file: archive.to_string(),
            reason: format!("{}: {e}", m.path),
        })?;
        let offset =
            u32::try_from(out.len()).map_err(|_| too_big(m.path, "an offset past 4 GiB"))?;
        let size = u32::try_from(m.data.len()).map_err(|_| too_big(m.path, "4 GiB"))?;
        let csize = u32::try_from(data.len()).map_err(|_| too_big(m.path, "4 GiB"))?;
        let name_len = u16::try_from(m.path.len()).map_err(|_| too_big(m.path, "a long name"))?;
        let flags = if m.path.is_ascii() { 0 } else { FLAG_UTF8 };
        let mut shared = Vec::with_capacity(26);
        shared.extend_from_slice(&flags.to_le_bytes());
        shared.extend_from_slice(&method.to_le_bytes());
        shared.extend_from_slice(&dos_time.to_le_bytes());
        shared.extend_from_slice(&dos_date.to_le_bytes());
        shared.extend_from_slice(&crc32fast::hash(m.data).to_le_bytes());
        shared.extend_from_slice(&csize.to_le_bytes());
        shared.extend_from_slice(&size.to_le_bytes());
        shared.extend_from_slice(&name_len.to_le_bytes());
        shared.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&ZIP_VERSION_NEEDED.to_le_bytes());
        out.extend_from_slice(&shared);
        out.extend_from_slice(m.path.as_bytes());
        out.extend_from_slice(&data);
        let mode: u32 = if m.executable { 0o100_755 } else { 0o100_644 };
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&ZIP_VERSION_MADE_BY.to_le_bytes());
        central.extend_from_slice(&ZIP_VERSION_NEEDED.to_le_bytes());
        central.extend_from_slice(&shared);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(m.path.as_bytes());
    }
    let count =
        u16::try_from(members.len()).map_err(|_| too_big("the archive", "65536 members"))?;
    let cd_start =
        u32::try_from(out.len()).map_err(|_| too_big("the archive", "a 4 GiB archive"))?;
    let cd_size = u32::try_from(central.len())
        .map_err(|_| too_big("the archive", "a 4 GiB central directory"))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // this disk, the central directory's disk
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}
