//! Packing both archives in one pass: each project file is read once,
//! hashed (CRC-32 for both containers, SHA-256 for `RECORD`) and deflated
//! once, and the one `Deflated` segment is written into the sdist's gzip
//! stream and into the wheel (kiln-archive's `add_deflated`). Solid files
//! (under the pinned `solid-below` bytes) are the exception: the sdist
//! deflates them with their tar headers and neighbours (as a solid archive
//! does, which is where small files gain), and the wheel on their own, so
//! they are deflated twice (once when the wheel leaves them out).
//!
//! The sdist's members are taken in windows (a bounded number of members
//! and bytes); the files of a window are read, hashed and deflated in
//! parallel, then written in order, the sdist's at once and the wheel's as
//! soon as every wheel member before them is ready. The wheel's order
//! follows the sdist's except for the files it moves (a `src/` layout's
//! module stays in order; data and license files go to the end), so what
//! waits for the wheel is small. Files larger than the zip writer's
//! streaming threshold are not held: they are streamed into each archive
//! separately (read twice), so memory stays flat in file size.
//!
//! The bytes are exactly those of `write_sdist` and `write_wheel` (tested):
//! a segment is the same whoever deflates it, and when.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::sync::atomic::AtomicBool;

use kiln_archive::{ArchiveError, ArchiveWriter, Deflated, TarGzWriter, ZipWriter};
use rayon::prelude::*;
use sha2::Digest;

use crate::{
    ArtifactKind, MemberSource, NativeError, NativeOptions, NativeProject, Plan, Progress,
    archive_err, open_member, record_line_digest,
};

/// At most this many members, or this many bytes of files, per window.
const WINDOW_MEMBERS: usize = 256;
const WINDOW_BYTES: u64 = 16 << 20;
/// Files larger than this are streamed into each archive, not held.
const HOLD_AT_MOST: u64 = kiln_archive::ZIP_STREAM_ABOVE;

/// A file of the window, read and deflated.
enum Prepared {
    Held {
        sha256: [u8; 32],
        data: HeldData,
    },
    /// Too large to hold: streamed from disk by each writer.
    Streamed,
    /// Generated, or not a file.
    Other,
}

/// What the archives take of a held file.
enum HeldData {
    /// A solid file: the raw bytes, which the sdist deflates with its
    /// headers, and the wheel's own deflate of them (None when the wheel
    /// leaves the file out).
    Solid {
        raw: Vec<u8>,
        wheel: Option<Deflated>,
    },
    /// One segment for both archives.
    Shared(Deflated),
}

/// A wheel member's data, once its file has been prepared.
enum WheelReady {
    Held {
        deflated: Deflated,
        sha256: [u8; 32],
    },
    Streamed,
}

/// Names of the two artifacts, for errors.
pub(crate) struct Names<'a> {
    pub sdist: &'a str,
    pub wheel: &'a str,
}

/// Writes the sdist to `sdist_out` and the wheel to `wheel_out`.
pub(crate) fn write_both<S: Write, Z: Write + Seek>(
    project: &NativeProject,
    plan: &Plan,
    sdist_out: S,
    wheel_out: Z,
    opts: &NativeOptions,
    names: Names<'_>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(S, Z), NativeError> {
    let never = AtomicBool::new(false);
    let mut tar = TarGzWriter::new(sdist_out, opts.epoch.seconds(), opts.deflate);
    let mut zip = ZipWriter::new(wheel_out, opts.epoch.seconds(), opts.deflate)
        .map_err(archive_err(names.wheel))?;

    // Which wheel member each project file becomes.
    let mut wheel_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in plan.wheel.iter().enumerate() {
        if let MemberSource::File(relative) = &m.source {
            wheel_of.insert(relative.as_str(), i);
        }
    }
    let size_of: BTreeMap<&str, u64> = plan
        .selection
        .sdist_files
        .iter()
        .map(|f| (f.relative.as_str(), f.size))
        .collect();
    let mut ready: Vec<Option<WheelReady>> = plan.wheel.iter().map(|_| None).collect();
    let mut wheel = WheelSide {
        next: 0,
        record: String::new(),
        total: plan.wheel.len() + 1,
    };
    let sdist_total = plan.sdist.len();
    let mut done = 0;

    let mut start = 0;
    while start < plan.sdist.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < plan.sdist.len() && end - start < WINDOW_MEMBERS && bytes < WINDOW_BYTES {
            if let MemberSource::File(relative) = &plan.sdist[end].source
                && let Some(size) = size_of.get(relative.as_str())
            {
                bytes += (*size).min(HOLD_AT_MOST);
            }
            end += 1;
        }
        let window = &plan.sdist[start..end];
        let in_wheel = |m: &crate::PlannedMember| match &m.source {
            MemberSource::File(relative) => wheel_of.get(relative.as_str()).copied(),
            MemberSource::Generated(_) => None,
        };
        let prepared: Vec<Result<Prepared, NativeError>> = window
            .par_iter()
            .map(|m| prepare(plan, m, in_wheel(m).is_some(), opts, names.sdist, &never))
            .collect();
        for (m, p) in window.iter().zip(prepared) {
            let p = p?;
            let in_wheel = in_wheel(m);
            match (&m.source, p) {
                (MemberSource::Generated(data), _) => tar.add_file(&m.path, data, m.executable),
                (MemberSource::File(_), Prepared::Held { sha256, data }) => {
                    let (to_tar, for_wheel) = match data {
                        HeldData::Solid { raw, wheel } => {
                            (tar.add_file(&m.path, &raw, m.executable), wheel)
                        }
                        HeldData::Shared(d) => {
                            (tar.add_deflated(&m.path, d.clone(), m.executable), Some(d))
                        }
                    };
                    if let (Some(w), Some(deflated)) = (in_wheel, for_wheel) {
                        ready[w] = Some(WheelReady::Held { deflated, sha256 });
                    }
                    to_tar
                }
                (MemberSource::File(relative), _) => {
                    if let Some(w) = in_wheel {
                        ready[w] = Some(WheelReady::Streamed);
                    }
                    let mut r = open_member(plan, relative, false, &never)?;
                    let size = r.inner.len();
                    tar.add_reader(&m.path, size, &mut r, m.executable)
                }
            }
            .map_err(archive_err(names.sdist))?;
            done += 1;
            progress(Progress::Packed {
                kind: ArtifactKind::Sdist,
                done,
                total: sdist_total,
            });
            wheel.drain(plan, &mut ready, &mut zip, names.wheel, progress, &never)?;
        }
        start = end;
    }
    let sdist_out = tar.finish().map_err(archive_err(names.sdist))?;
    wheel.drain(plan, &mut ready, &mut zip, names.wheel, progress, &never)?;
    if wheel.next != plan.wheel.len() {
        // Every wheel file comes from the sdist's list (see `select`).
        let missing = &plan.wheel[wheel.next];
        return Err(NativeError::Archive {
            artifact: names.wheel.to_owned(),
            source: ArchiveError::Read {
                archive: "source".to_owned(),
                entry: missing.path.clone(),
                source: std::io::Error::other("not among the sdist's files"),
            },
        });
    }
    let record_path = format!("{}/RECORD", project.dist_info_dir());
    wheel.record.push_str(&format!("{record_path},,\n"));
    zip.add_file(&record_path, wheel.record.as_bytes(), false)
        .map_err(archive_err(names.wheel))?;
    progress(Progress::Packed {
        kind: ArtifactKind::Wheel,
        done: wheel.total,
        total: wheel.total,
    });
    let wheel_out = zip.finish().map_err(archive_err(names.wheel))?;
    Ok((sdist_out, wheel_out))
}

/// Reads, hashes and deflates one sdist member's file (on any thread).
fn prepare(
    plan: &Plan,
    m: &crate::PlannedMember,
    in_wheel: bool,
    opts: &NativeOptions,
    sdist_name: &str,
    never: &AtomicBool,
) -> Result<Prepared, NativeError> {
    let MemberSource::File(relative) = &m.source else {
        return Ok(Prepared::Other);
    };
    let mut r = open_member(plan, relative, false, never)?;
    let size = r.inner.len();
    if size > HOLD_AT_MOST {
        return Ok(Prepared::Streamed);
    }
    let read_err = |source| NativeError::Archive {
        artifact: sdist_name.to_owned(),
        source: ArchiveError::Read {
            archive: "source".to_owned(),
            entry: m.path.clone(),
            source,
        },
    };
    let mut data = vec![0u8; usize::try_from(size).unwrap_or(0)];
    r.read_exact(&mut data).map_err(read_err)?;
    let sha256: [u8; 32] = sha2::Sha256::digest(&data).into();
    let deflate =
        |data: &[u8]| Deflated::new(&m.path, data, opts.deflate).map_err(archive_err(sdist_name));
    let data = if size < opts.deflate.solid_below {
        let wheel = if in_wheel {
            Some(deflate(&data)?)
        } else {
            None
        };
        HeldData::Solid { raw: data, wheel }
    } else {
        HeldData::Shared(deflate(&data)?)
    };
    Ok(Prepared::Held { sha256, data })
}

struct WheelSide {
    next: usize,
    record: String,
    total: usize,
}

impl WheelSide {
    /// Writes the wheel's members, in order, as long as they are ready.
    fn drain<Z: Write + Seek>(
        &mut self,
        plan: &Plan,
        ready: &mut [Option<WheelReady>],
        zip: &mut ZipWriter<Z>,
        wheel_name: &str,
        progress: &(dyn Fn(Progress) + Sync),
        never: &AtomicBool,
    ) -> Result<(), NativeError> {
        while let Some(m) = plan.wheel.get(self.next) {
            let (digest, size) = match &m.source {
                MemberSource::Generated(data) => {
                    zip.add_file(&m.path, data, m.executable)
                        .map_err(archive_err(wheel_name))?;
                    (kiln_digest::sha256(data), data.len() as u64)
                }
                MemberSource::File(relative) => match ready[self.next].take() {
                    None => return Ok(()),
                    Some(WheelReady::Held { deflated, sha256 }) => {
                        let size = deflated.size;
                        zip.add_deflated(&m.path, deflated, m.executable)
                            .map_err(archive_err(wheel_name))?;
                        (sha256, size)
                    }
                    Some(WheelReady::Streamed) => {
                        let mut r = open_member(plan, relative, true, never)?;
                        let size = r.inner.len();
                        zip.add_reader_seekable(&m.path, size, &mut r, m.executable)
                            .map_err(archive_err(wheel_name))?;
                        let digest: [u8; 32] =
                            r.sha256.take().unwrap_or_default().finalize().into();
                        (digest, size)
                    }
                },
            };
            self.record
                .push_str(&record_line_digest(&m.path, &digest, size));
            self.next += 1;
            progress(Progress::Packed {
                kind: ArtifactKind::Wheel,
                done: self.next,
                total: self.total,
            });
        }
        Ok(())
    }
}
