//! Canonicalizing an sdist: the tar.gz is read with the bounded reader,
//! its regular files kept as (path, bytes, executable bit), and written
//! again by kiln's canonical tar.gz writer at the epoch.
//!
//! Directory entries are dropped: the canonical form has none, since every
//! directory is implied by the files below it. An *empty* directory -- one
//! that is the parent of no file -- is dropped too, and so disappears; an
//! sdist cannot usefully carry one (installers build from files) and the
//! canonical form has no way to express it. Links, devices and everything
//! else unsafe are refused by the reader. A leading `./` (tar run on `.`)
//! is stripped, the root entry `./` itself dropped. The sdist must hold
//! exactly one top-level directory; an entry outside it is an error naming
//! that entry. Nothing else is dropped silently: bytes hidden in a
//! member's block padding (where tar writes zeros) are refused by the
//! reader, naming the member, rather than lost on the way; an sdist with
//! no file is refused (as `kiln-diff` refuses it).
//!
//! It streams: the members' data is spooled, in archive order, into a file
//! the caller provides (or, in memory, one `Vec` per member), remembering
//! where each member landed; the files are then written in sorted order,
//! each streamed back from the spool through the writer's gzip window.
//! With a file, memory is flat in the size of the members and the archive
//! (their metadata aside).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use kiln_archive::{
    ArchiveError, ArchiveWriter, Deflate, Limits, TarGzWriter, TarKind, visit_tar_gz,
};
use kiln_names::Epoch;

use crate::CanonError;
use crate::error::{read_error, write_error};

/// One regular file of an sdist, its path as the canonical form writes it.
#[derive(Debug)]
pub(crate) struct SdistFile {
    pub path: String,
    pub data: Vec<u8>,
    pub executable: bool,
}

/// The content of an sdist, in memory: its files sorted bytewise by path.
pub(crate) struct SdistContent {
    pub files: Vec<SdistFile>,
}

/// One regular file of an sdist whose data is in a spool.
#[derive(Debug)]
struct SpooledFile {
    /// The path as the canonical form writes it.
    path: String,
    executable: bool,
    /// Where the spool put its data (what `Spool::append` returned).
    key: u64,
    len: u64,
}

/// What an sdist holds: its files sorted bytewise by path (data in the
/// spool), the directory entries (as written) that were dropped, and the
/// first entry in archive order (`./` and a trailing `/` stripped; the
/// root `./` skipped), whose top component is taken as the top-level
/// directory.
struct SdistIndex {
    files: Vec<SpooledFile>,
    directories: Vec<String>,
    first: Option<String>,
}

/// Why appending to a spool failed: reading the member, or writing.
enum SpoolError {
    Read(io::Error),
    Write(io::Error),
}

/// Where member data waits between reading (archive order) and writing
/// (sorted order).
trait Spool {
    /// Append everything `data` yields; returns where it went (a key for
    /// `reader`) and how many bytes.
    fn append(&mut self, data: &mut dyn Read) -> Result<(u64, u64), SpoolError>;
    /// A reader over the `len` bytes appended under `key`.
    fn reader<'a>(&'a mut self, key: u64, len: u64) -> io::Result<Box<dyn Read + 'a>>;
}

/// The in-memory spool: each member's bytes in their own `Vec`, keyed by
/// their index, so they can be moved out without a copy.
#[derive(Default)]
struct MemorySpool(Vec<Vec<u8>>);

impl MemorySpool {
    fn take(&mut self, key: u64) -> Vec<u8> {
        usize::try_from(key)
            .ok()
            .and_then(|i| self.0.get_mut(i))
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

impl Spool for MemorySpool {
    fn append(&mut self, data: &mut dyn Read) -> Result<(u64, u64), SpoolError> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).map_err(SpoolError::Read)?;
        let len = bytes.len() as u64;
        self.0.push(bytes);
        Ok((self.0.len() as u64 - 1, len))
    }
    fn reader<'a>(&'a mut self, key: u64, _: u64) -> io::Result<Box<dyn Read + 'a>> {
        usize::try_from(key)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|v| Box::new(v.as_slice()) as Box<dyn Read + 'a>)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such spooled member"))
    }
}

/// A spool in a file the caller owns: appended at its end; a member's key
/// is its offset in the file.
struct FileSpool<'f> {
    file: &'f mut File,
    /// Where the next member goes.
    end: u64,
}

impl Spool for FileSpool<'_> {
    fn append(&mut self, data: &mut dyn Read) -> Result<(u64, u64), SpoolError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut n: u64 = 0;
        let key = self.end;
        self.file
            .seek(SeekFrom::Start(key))
            .map_err(SpoolError::Write)?;
        loop {
            let got = match data.read(&mut buf) {
                Ok(0) => {
                    self.end += n;
                    return Ok((key, n));
                }
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SpoolError::Read(e)),
            };
            self.file
                .write_all(&buf[..got])
                .map_err(SpoolError::Write)?;
            n += got as u64;
        }
    }
    fn reader<'a>(&'a mut self, key: u64, len: u64) -> io::Result<Box<dyn Read + 'a>> {
        self.file.seek(SeekFrom::Start(key))?;
        // `len` was counted as it was written: it is bytes on disk, not a
        // header's claim; the writer refuses a reader that ends sooner.
        Ok(Box::new((&mut *self.file).take(len)))
    }
}

/// `./a/b` -> `a/b`, as the reader's duplicate check sees it.
fn strip_dot_slash(path: &str) -> &str {
    path.trim_start_matches("./")
}

/// Read an sdist, spooling its files' data; no judging of its layout.
fn index_sdist<R: Read>(
    archive: &str,
    reader: R,
    spool: &mut dyn Spool,
    limits: &Limits,
) -> Result<SdistIndex, CanonError> {
    let mut files = Vec::new();
    let mut directories = Vec::new();
    let mut first: Option<String> = None;
    let mut spool_failure: Option<(String, io::Error)> = None;
    let read = visit_tar_gz(archive, reader, limits, &mut |m, data| {
        let path = strip_dot_slash(&m.path).trim_end_matches('/');
        if first.is_none() && !path.is_empty() {
            first = Some(path.to_owned());
        }
        match m.kind {
            TarKind::Directory => directories.push(m.path.clone()),
            TarKind::File => {
                let entry = format!("{:?}", m.path);
                let (key, len) = match spool.append(data) {
                    Ok(placed) => placed,
                    // visit_tar_gz reports the precise cause of a read
                    // failure; this error only stands in for it.
                    Err(SpoolError::Read(source)) => {
                        return Err(ArchiveError::Read {
                            archive: archive.to_owned(),
                            entry,
                            source,
                        });
                    }
                    // Not the archive's fault: kept aside, reported as such.
                    Err(SpoolError::Write(source)) => {
                        spool_failure = Some((m.path.clone(), source));
                        return Err(ArchiveError::Output {
                            archive: archive.to_owned(),
                            entry,
                            source: io::Error::other("spool file failed"),
                        });
                    }
                };
                files.push(SpooledFile {
                    path: strip_dot_slash(&m.path).to_owned(),
                    executable: m.executable,
                    key,
                    len,
                });
            }
        }
        Ok(())
    });
    if let Some((member, source)) = spool_failure {
        return Err(CanonError::Spool {
            archive: archive.to_owned(),
            member,
            source,
        });
    }
    read.map_err(|e| read_error(archive, e))?;
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(SdistIndex {
        files,
        directories,
        first,
    })
}

/// Read the content of an sdist into memory, without judging its layout.
pub(crate) fn read_sdist(
    archive: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<SdistContent, CanonError> {
    let mut spool = MemorySpool::default();
    let index = index_sdist(archive, bytes, &mut spool, limits)?;
    let files = index
        .files
        .into_iter()
        .map(|f| SdistFile {
            data: spool.take(f.key),
            path: f.path,
            executable: f.executable,
        })
        .collect();
    Ok(SdistContent { files })
}

/// The single top-level directory every entry must be under.
fn check_single_top(archive: &str, index: &SdistIndex) -> Result<(), CanonError> {
    let stray = |member: &str, top: &str| CanonError::StrayEntry {
        archive: archive.to_owned(),
        member: member.to_owned(),
        top: top.to_owned(),
    };
    if index.files.is_empty() {
        return Err(CanonError::NoTopDirectory {
            archive: archive.to_owned(),
            member: index
                .directories
                .first()
                .cloned()
                .unwrap_or_else(|| "(no entries)".to_owned()),
        });
    }
    // The first entry names the top directory: tools write it (or a file
    // below it) first, so a stray entry is reported as the odd one out.
    let first = index.first.as_deref().unwrap_or_default();
    let top = first.split('/').next().unwrap_or_default();
    if let Some(f) = index.files.iter().find(|f| !f.path.contains('/')) {
        return Err(stray(&f.path, if f.path == top { "(none)" } else { top }));
    }
    for f in &index.files {
        if f.path.split_once('/').map(|(t, _)| t) != Some(top) {
            return Err(stray(&f.path, top));
        }
    }
    for d in &index.directories {
        let path = strip_dot_slash(d).trim_end_matches('/');
        if !path.is_empty() && path.split('/').next() != Some(top) {
            return Err(stray(d, top));
        }
    }
    Ok(())
}

/// Rewrite the sdist `bytes` into the canonical container at `epoch`.
/// `archive_name` names it in errors. The result keeps every file's path,
/// bytes and executable bit; see the module documentation for what is
/// dropped and what is refused. The in-memory form of
/// `canonicalize_sdist_stream`, byte for byte.
pub fn canonicalize_sdist(
    archive_name: &str,
    bytes: &[u8],
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
) -> Result<Vec<u8>, CanonError> {
    let mut spool = MemorySpool::default();
    canonicalize(
        archive_name,
        bytes,
        &mut spool,
        epoch,
        deflate,
        limits,
        Vec::new(),
    )
}

/// Rewrite the sdist `reader` yields into the canonical container at
/// `epoch`, written to `out` (returned); `archive_name` names it in
/// errors. Member data is spooled into `spool`, which the caller provides
/// empty, private and temporary (it is appended to, then read back; the
/// caller removes it). Memory is flat in the size of the members, whatever
/// the size of the sdist. Same checks and same bytes as
/// `canonicalize_sdist`.
pub fn canonicalize_sdist_stream<R: Read, W: Write>(
    archive_name: &str,
    reader: R,
    spool: &mut File,
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
    out: W,
) -> Result<W, CanonError> {
    let spool_error = |source| CanonError::Spool {
        archive: archive_name.to_owned(),
        member: "(spool file)".to_owned(),
        source,
    };
    let end = spool.seek(SeekFrom::End(0)).map_err(spool_error)?;
    let mut spool = FileSpool { file: spool, end };
    canonicalize(
        archive_name,
        reader,
        &mut spool,
        epoch,
        deflate,
        limits,
        out,
    )
}

fn canonicalize<R: Read, W: Write>(
    archive_name: &str,
    reader: R,
    spool: &mut dyn Spool,
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
    out: W,
) -> Result<W, CanonError> {
    let index = index_sdist(archive_name, reader, spool, limits)?;
    check_single_top(archive_name, &index)?;
    let mut w = TarGzWriter::new(out, epoch.seconds(), deflate);
    for f in &index.files {
        let spool_error = |source| CanonError::Spool {
            archive: archive_name.to_owned(),
            member: f.path.clone(),
            source,
        };
        // Streamed from the spool through the writer's gzip window: memory
        // stays flat in the member's size.
        let mut data = spool.reader(f.key, f.len).map_err(spool_error)?;
        match w.add_reader(&f.path, f.len, &mut data, f.executable) {
            Ok(()) => {}
            // The only reader here is the spool.
            Err(ArchiveError::Read { source, .. }) => return Err(spool_error(source)),
            Err(e) => return Err(write_error(archive_name, e)),
        }
    }
    w.finish().map_err(|e| write_error(archive_name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(files: &[&str], directories: &[&str], first: &str) -> SdistIndex {
        SdistIndex {
            files: files
                .iter()
                .map(|p| SpooledFile {
                    path: (*p).to_owned(),
                    executable: false,
                    key: 0,
                    len: 0,
                })
                .collect(),
            directories: directories.iter().map(|d| (*d).to_owned()).collect(),
            first: Some(first.to_owned()),
        }
    }

    #[test]
    fn dot_slash_prefixes_are_stripped_like_the_readers_duplicate_check() {
        assert_eq!(strip_dot_slash("./a/b"), "a/b");
        assert_eq!(strip_dot_slash("././a"), "a");
        assert_eq!(strip_dot_slash("a/./b"), "a/./b");
        assert_eq!(strip_dot_slash("./"), "");
    }

    #[test]
    fn the_first_entry_names_the_top_directory() {
        let ok = content(
            &["p-1/a", "p-1/b/c"],
            &["./", "./p-1/", "p-1/empty/"],
            "p-1",
        );
        check_single_top("s", &ok).unwrap();
        // Sorted, `other/x` comes first; archive order says `p-1` is the top.
        let bad = content(&["other/x", "p-1/a"], &[], "p-1/a");
        let err = check_single_top("s", &bad).unwrap_err();
        assert!(
            matches!(&err, CanonError::StrayEntry { member, .. } if member == "other/x"),
            "{err}"
        );
        let bad = content(&["p-1/a", "setup.py"], &[], "setup.py");
        let err = check_single_top("s", &bad).unwrap_err();
        assert!(
            matches!(&err, CanonError::StrayEntry { member, top, .. } if member == "setup.py" && top == "(none)"),
            "{err}"
        );
    }
}
