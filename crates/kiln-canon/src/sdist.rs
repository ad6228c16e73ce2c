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
//! that entry.

use kiln_archive::{ArchiveWriter, Deflate, Limits, TarGzWriter, TarKind, read_tar_gz};
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

/// The content of an sdist: its files sorted bytewise by path, the
/// directory entries (as written) that were dropped, and the first entry in
/// archive order (`./` and a trailing `/` stripped; the root `./` skipped),
/// whose top component is taken as the top-level directory.
pub(crate) struct SdistContent {
    pub files: Vec<SdistFile>,
    pub directories: Vec<String>,
    pub first: Option<String>,
}

/// `./a/b` -> `a/b`, as the reader's duplicate check sees it.
fn strip_dot_slash(path: &str) -> &str {
    path.trim_start_matches("./")
}

/// Read the content of an sdist, without judging its layout.
pub(crate) fn read_sdist(
    archive: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<SdistContent, CanonError> {
    let tgz = read_tar_gz(archive, bytes, limits).map_err(|e| read_error(archive, e))?;
    let mut files = Vec::new();
    let mut directories = Vec::new();
    let mut first = None;
    for m in tgz.members {
        let path = strip_dot_slash(&m.path).trim_end_matches('/');
        if first.is_none() && !path.is_empty() {
            first = Some(path.to_owned());
        }
        match m.kind {
            TarKind::Directory => directories.push(m.path),
            TarKind::File => files.push(SdistFile {
                path: strip_dot_slash(&m.path).to_owned(),
                data: m.data,
                executable: m.executable,
            }),
        }
    }
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(SdistContent {
        files,
        directories,
        first,
    })
}

/// The single top-level directory every entry must be under.
fn check_single_top(archive: &str, content: &SdistContent) -> Result<(), CanonError> {
    let stray = |member: &str, top: &str| CanonError::StrayEntry {
        archive: archive.to_owned(),
        member: member.to_owned(),
        top: top.to_owned(),
    };
    if content.files.is_empty() {
        return Err(CanonError::NoTopDirectory {
            archive: archive.to_owned(),
            member: content
                .directories
                .first()
                .cloned()
                .unwrap_or_else(|| "(no entries)".to_owned()),
        });
    }
    // The first entry names the top directory: tools write it (or a file
    // below it) first, so a stray entry is reported as the odd one out.
    let first = content.first.as_deref().unwrap_or_default();
    let top = first.split('/').next().unwrap_or_default();
    if let Some(f) = content.files.iter().find(|f| !f.path.contains('/')) {
        return Err(stray(&f.path, if f.path == top { "(none)" } else { top }));
    }
    for f in &content.files {
        if f.path.split_once('/').map(|(t, _)| t) != Some(top) {
            return Err(stray(&f.path, top));
        }
    }
    for d in &content.directories {
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
/// dropped and what is refused.
pub fn canonicalize_sdist(
    archive_name: &str,
    bytes: &[u8],
    epoch: Epoch,
    deflate: Deflate,
    limits: &Limits,
) -> Result<Vec<u8>, CanonError> {
    let content = read_sdist(archive_name, bytes, limits)?;
    check_single_top(archive_name, &content)?;
    let mut w = TarGzWriter::new(Vec::new(), epoch.seconds(), deflate);
    for f in &content.files {
        w.add_file(&f.path, &f.data, f.executable)
            .map_err(|e| write_error(archive_name, e))?;
    }
    w.finish().map_err(|e| write_error(archive_name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(files: &[&str], directories: &[&str], first: &str) -> SdistContent {
        SdistContent {
            files: files
                .iter()
                .map(|p| SdistFile {
                    path: (*p).to_owned(),
                    data: Vec::new(),
                    executable: false,
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
