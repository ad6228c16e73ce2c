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

use kiln_archive::{ArchiveWriter, Deflate, Limits, ZipWriter, read_zip};
use kiln_names::Epoch;

use crate::CanonError;
use crate::error::{read_error, write_error};
use crate::record::{dist_info_dir, wheel_files};

/// Rewrite the wheel `bytes` into the canonical container at `epoch`, after
/// checking its RECORD. `archive_name` names it in errors.
pub fn canonicalize_wheel(
    archive_name: &str,
    bytes: &[u8],
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
) -> Result<Vec<u8>, CanonError> {
    let zip = read_zip(archive_name, bytes, limits).map_err(|e| read_error(archive_name, e))?;
    crate::check_record(archive_name, &zip)?;
    let dist_info = format!("{}/", dist_info_dir(archive_name, &zip)?);
    let record = format!("{dist_info}RECORD");
    let mut files = wheel_files(archive_name, &zip)?;
    let rank = |path: &str| {
        if path == record {
            2
        } else if path.starts_with(&dist_info) {
            1
        } else {
            0
        }
    };
    files.sort_by(|a, b| {
        (rank(&a.path), a.path.as_bytes()).cmp(&(rank(&b.path), b.path.as_bytes()))
    });
    let mut w = ZipWriter::new(Vec::new(), epoch.seconds(), deflate)
        .map_err(|e| write_error(archive_name, e))?;
    for m in files {
        w.add_file(&m.path, &m.data, m.executable)
            .map_err(|e| write_error(archive_name, e))?;
    }
    w.finish().map_err(|e| write_error(archive_name, e))
}
