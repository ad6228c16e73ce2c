//! Canonicalizing a wheel: the zip is read with the bounded reader, its
//! RECORD checked against the members (`record.rs`), and its regular files
//! written again by kiln's canonical zip writer at the epoch.
//!
//! Order is the canonical one: every member outside the `.dist-info`
//! directory sorted bytewise, then the `.dist-info` files sorted bytewise,
//! then RECORD last -- so installers that stream a wheel meet the metadata
//! after the files it describes, as the wheel spec recommends. RECORD's
//! bytes are kept as they are: it was just checked, and rewriting it would
//! change what the wheel's author signed. Directory entries (which carry
//! nothing) are dropped, as the canonical form has none.
//!
//! It streams in two passes over the seekable input: the first inflates
//! every member once, hashing it (SHA-256 and size) for the RECORD check
//! and keeping only RECORD's bytes; the second copies the files in the
//! canonical order into the writer, each member streamed: inflated in
//! chunks and deflated as it is read (the output must be seekable: the
//! writer patches a streamed member's local header afterwards). Memory is
//! flat in the size of the members: a member is never held whole, except
//! those of at most 4 MiB, which join the writer's parallel window.

use std::io::{Cursor, Read, Seek, Write};

use kiln_archive::{ArchiveError, Deflate, Limits, ZipKind, ZipReader, ZipWriter};
use kiln_names::Epoch;
use sha2::Digest as _;

use crate::CanonError;
use crate::error::{read_error, write_error};
use crate::record::{MemberDigest, check_digests, dist_info_dir, wheel_files};

/// Rewrite the wheel `bytes` into the canonical container at `epoch`, after
/// checking its RECORD. `archive_name` names it in errors. The in-memory
/// form of `canonicalize_wheel_stream`, byte for byte.
pub fn canonicalize_wheel(
    archive_name: &str,
    bytes: &[u8],
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
) -> Result<Vec<u8>, CanonError> {
    canonicalize_wheel_stream(
        archive_name,
        Cursor::new(bytes),
        epoch,
        deflate,
        limits,
        Cursor::new(Vec::new()),
    )
    .map(Cursor::into_inner)
}

/// A sink that hashes what it is given and, if asked, keeps it.
/// Bytes of RECORD read into memory to be checked: a RECORD lists at most
/// 65,535 members, a few hundred bytes each at the very most.
pub(crate) const MAX_RECORD_BYTES: u64 = 16 << 20;

struct Hashing {
    sha256: sha2::Sha256,
    size: u64,
    keep: Option<Vec<u8>>,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sha256.update(buf);
        self.size += buf.len() as u64;
        if let Some(keep) = &mut self.keep
            && self.size <= MAX_RECORD_BYTES
        {
            keep.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rewrite the wheel `reader` holds into the canonical container at
/// `epoch`, written to `out` (returned), after checking its RECORD;
/// `archive_name` names it in errors. `out` must be seekable (the zip
/// writer patches a streamed member's local header). Memory is flat in the
/// size of the members and of the wheel.
pub fn canonicalize_wheel_stream<R: Read + Seek, W: Write + Seek>(
    archive_name: &str,
    reader: R,
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
    out: W,
) -> Result<W, CanonError> {
    let archive = archive_name;
    let mut zip = ZipReader::open(archive, reader, limits).map_err(|e| read_error(archive, e))?;
    // Errors in the order the in-memory reader meets them: every member's
    // data first, then the layout, then RECORD.
    let meta = zip.archive().clone();
    if !meta.members.iter().any(|m| m.kind == ZipKind::File) {
        return Err(CanonError::EmptyWheel {
            archive: archive.to_owned(),
        });
    }
    let dist_info = dist_info_dir(archive, meta.members.iter().map(|m| m.path.as_str()));
    let record_path = dist_info.as_ref().ok().map(|d| format!("{d}/RECORD"));
    let mut digests = Vec::new();
    let mut record_bytes = None;
    for (index, m) in meta.members.iter().enumerate() {
        let is_record = record_path.as_deref() == Some(m.path.as_str()) && m.kind == ZipKind::File;
        let mut sink = Hashing {
            sha256: sha2::Sha256::new(),
            size: 0,
            keep: is_record.then(Vec::new),
        };
        zip.copy_member(index, &mut sink)
            .map_err(|e| read_error(archive, e))?;
        if m.kind == ZipKind::File {
            digests.push(MemberDigest {
                path: m.path.clone(),
                sha256: sink.sha256.finalize().into(),
                size: sink.size,
            });
        }
        if let Some(bytes) = sink.keep {
            if sink.size > MAX_RECORD_BYTES {
                return Err(CanonError::RecordTooLarge {
                    archive: archive.to_owned(),
                    member: m.path.clone(),
                    size: sink.size,
                    limit: MAX_RECORD_BYTES,
                });
            }
            record_bytes = Some(bytes);
        }
    }
    let dist_info = format!("{}/", dist_info?);
    // Refuses a directory entry holding data.
    wheel_files(archive, &meta)?;
    let record = format!("{dist_info}RECORD");
    let Some(record_bytes) = record_bytes else {
        return Err(CanonError::MissingRecord {
            archive: archive.to_owned(),
            member: record,
        });
    };
    let by_path: std::collections::BTreeMap<&str, usize> = meta
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.as_str(), i))
        .collect();
    check_digests(archive, &record, &record_bytes, &digests, &mut |path| {
        let index = by_path.get(path).copied().unwrap_or(usize::MAX);
        let mut sha512 = Sha512Sink(sha2::Sha512::new());
        zip.copy_member(index, &mut sha512)
            .map_err(|e| read_error(archive, e))?;
        Ok(sha512.0.finalize().into())
    })?;

    let rank = |path: &str| {
        if path == record {
            2
        } else if path.starts_with(&dist_info) {
            1
        } else {
            0
        }
    };
    let mut order: Vec<(usize, &str, bool)> = meta
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == ZipKind::File)
        .map(|(index, m)| (index, m.path.as_str(), m.executable))
        .collect();
    order.sort_by(|a, b| (rank(a.1), a.1.as_bytes()).cmp(&(rank(b.1), b.1.as_bytes())));
    let mut w =
        ZipWriter::new(out, epoch.seconds(), deflate).map_err(|e| write_error(archive, e))?;
    for (index, path, executable) in order {
        let size = meta.members.get(index).map_or(0, |m| u64::from(m.size));
        // Streamed (inflated in chunks, deflated as it is read; the
        // writer seeks back to patch the local header): memory stays flat
        // in the member's size.
        let mut data = zip
            .member_reader(index)
            .map_err(|e| read_error(archive, e))?;
        if let Err(e) = w.add_reader_seekable(path, size, &mut data, executable) {
            return Err(match e {
                // The only reader here is the member's.
                ArchiveError::Read { source, .. } => read_error(archive, data.into_failure(source)),
                e => write_error(archive, e),
            });
        }
    }
    w.finish().map_err(|e| write_error(archive, e))
}

/// A sink feeding SHA-512, for the rare RECORD row that records one.
struct Sha512Sink(sha2::Sha512);

impl Write for Sha512Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
