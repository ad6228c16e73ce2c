//! The private trees a backend works in: a copy of the project (regular
//! files only, no `.git`, no symlinks, only the executable bit kept), so the
//! backend never sees or writes into the user's tree; an sdist unpacked with
//! kiln-archive's bounded reader, where the wheel is built; and the Name and
//! Version a built wheel's METADATA states.

use crate::Pep517Error;
use kiln_archive::{
    ArchiveError, ArchiveWriter, Deflate, Limits, TarGzWriter, TarKind, TarMember,
    visit_tar_gz_with,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

type Result<T> = std::result::Result<T, Pep517Error>;

fn write_file(target: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    std::fs::write(target, bytes).map_err(Pep517Error::io("write", target))?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
        .map_err(Pep517Error::io("set the mode of", target))
}

/// Copy the regular files of `from` (not `.git`, no symlinks) to `to`,
/// keeping only the executable bit.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(Pep517Error::io("create", to))?;
    let walk = WalkDir::new(from)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git");
    let walk_error = |source| Pep517Error::Walk {
        path: from.to_path_buf(),
        source,
    };
    for entry in walk {
        let entry = entry.map_err(walk_error)?;
        // Every entry of the walk lies under its root.
        let rel = entry.path().strip_prefix(from).unwrap_or(Path::new(""));
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(Pep517Error::io("create", &target))?;
        } else if entry.file_type().is_file() {
            let executable =
                entry.metadata().map_err(walk_error)?.permissions().mode() & 0o111 != 0;
            let bytes =
                std::fs::read(entry.path()).map_err(Pep517Error::io("read", entry.path()))?;
            write_file(&target, &bytes, executable)?;
        }
    }
    Ok(())
}

/// Unpack an sdist (bounded reader) into `dest`; returns its one top
/// directory, where the wheel is built. With `keep_mtimes`, each file gets
/// the modification time its member records, as pip's extraction does (a
/// backend run without SOURCE_DATE_EPOCH dates the wheel's members by it).
/// A published sdist with a duplicate member is refused.
pub(crate) fn unpack_sdist(
    name: &str,
    bytes: &[u8],
    dest: &Path,
    keep_mtimes: bool,
) -> Result<PathBuf> {
    Ok(unpack(name, bytes, dest, keep_mtimes, false)?.0)
}

/// [`unpack_sdist`] for an sdist the backend just made for kiln (an
/// intermediate archive): a member repeated with the same bytes (hatchling
/// adds a second `PKG-INFO` when rebuilding an unpacked sdist) is
/// tolerated and its path returned, one repeated with other bytes refused.
pub(crate) fn unpack_own_sdist(
    name: &str,
    bytes: &[u8],
    dest: &Path,
    keep_mtimes: bool,
) -> Result<(PathBuf, Vec<String>)> {
    unpack(name, bytes, dest, keep_mtimes, true)
}

fn unpack(
    name: &str,
    bytes: &[u8],
    dest: &Path,
    keep_mtimes: bool,
    tolerate_duplicates: bool,
) -> Result<(PathBuf, Vec<String>)> {
    let layout = |problem: String| Pep517Error::SdistLayout {
        name: name.to_string(),
        problem,
    };
    let mut top: Option<String> = None;
    let mut written: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut failure: Option<Pep517Error> = None;
    let mut visit = |member: &TarMember,
                     data: &mut dyn Read|
     -> std::result::Result<(), ArchiveError> {
        if member.kind != TarKind::File {
            return Ok(());
        }
        let mut fail = |e: Pep517Error| {
            failure = Some(e);
            Err(ArchiveError::DuplicatePath {
                path: member.path.clone(),
            })
        };
        let path = member.path.strip_prefix("./").unwrap_or(&member.path);
        let Some((first, _)) = path.split_once('/') else {
            return fail(layout(format!(
                "{path}: outside the sdist's top-level directory"
            )));
        };
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t != first => {
                return fail(layout(format!(
                    "{path}: outside the top-level directory {t:?}"
                )));
            }
            Some(_) => {}
        }
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .map_err(|source| ArchiveError::Read {
                archive: name.to_string(),
                entry: path.to_string(),
                source,
            })?;
        let digest = kiln_digest::sha256(&bytes);
        if let Some(earlier) = written.get(path) {
            if *earlier == digest && tolerate_duplicates {
                duplicates.push(path.to_string());
                return Ok(());
            }
            return fail(layout(format!(
                "{path}: a duplicate member with other bytes than the first; refusing to pick one"
            )));
        }
        written.insert(path.to_string(), digest);
        let target = dest.join(path);
        if let Some(parent) = target.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return fail(Pep517Error::io("create", parent)(e));
        }
        if let Err(e) = write_file(&target, &bytes, member.executable) {
            return fail(e);
        }
        let mtime =
            std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(member_mtime(member)));
        if keep_mtimes
            && let Some(mtime) = mtime
            && let Err(e) = std::fs::File::options()
                .write(true)
                .open(&target)
                .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(mtime)))
        {
            return fail(Pep517Error::io("set the mtime of", &target)(e));
        }
        Ok(())
    };
    let read = visit_tar_gz_with(
        name,
        bytes,
        &Limits::default(),
        tolerate_duplicates,
        &mut visit,
    );
    if let Some(failure) = failure {
        return Err(failure);
    }
    read.map_err(|source| Pep517Error::Unpack {
        name: name.to_string(),
        source: Box::new(source),
    })?;
    let Some(top) = top else {
        return Err(layout("the sdist holds no file".into()));
    };
    Ok((dest.join(top), duplicates))
}

/// `sdist` with each repeated member kept once, its first copy (the caller
/// checked, unpacking it, that the copies are byte-identical), written as a
/// plain sorted tar.gz for canonicalization.
pub(crate) fn without_duplicates(name: &str, sdist: &[u8], deflate: Deflate) -> Result<Vec<u8>> {
    let mut files: BTreeMap<String, (Vec<u8>, bool)> = BTreeMap::new();
    let mut visit =
        |member: &TarMember, data: &mut dyn Read| -> std::result::Result<(), ArchiveError> {
            let path = member.path.strip_prefix("./").unwrap_or(&member.path);
            if member.kind != TarKind::File || files.contains_key(path) {
                return Ok(());
            }
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)
                .map_err(|source| ArchiveError::Read {
                    archive: name.to_string(),
                    entry: path.to_string(),
                    source,
                })?;
            files.insert(path.to_string(), (bytes, member.executable));
            Ok(())
        };
    visit_tar_gz_with(name, sdist, &Limits::default(), true, &mut visit).map_err(|source| {
        Pep517Error::Unpack {
            name: name.to_string(),
            source: Box::new(source),
        }
    })?;
    let mut writer = TarGzWriter::new(Vec::new(), 0, deflate);
    for (path, (bytes, executable)) in &files {
        writer.add_file(path, bytes, *executable)?;
    }
    Ok(writer.finish()?)
}

/// A member's mtime in whole seconds: the pax `mtime` record's integer
/// part when there is one (it may carry a fraction), else the header's.
fn member_mtime(member: &TarMember) -> u64 {
    member
        .pax
        .iter()
        .rev()
        .find(|(key, _)| key == "mtime")
        .and_then(|(_, value)| std::str::from_utf8(value).ok())
        .and_then(|v| v.split('.').next()?.parse::<u64>().ok())
        .unwrap_or(member.mtime)
}

/// Name and Version from the wheel's METADATA.
pub(crate) fn wheel_name_version(filename: &str, wheel: &[u8]) -> Result<(String, String)> {
    let problem = |problem: &str| Pep517Error::WheelMetadata {
        filename: filename.to_string(),
        problem: problem.to_string(),
    };
    let zip = kiln_archive::read_zip(filename, wheel, &Limits::default())?;
    let metadata = zip
        .members
        .iter()
        .find(|m| {
            m.path
                .split_once('/')
                .is_some_and(|(top, rest)| top.ends_with(".dist-info") && rest == "METADATA")
        })
        .ok_or_else(|| problem("no .dist-info/METADATA"))?;
    let text = String::from_utf8_lossy(&metadata.data);
    let header = |key: &str| {
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    match (header("Name:"), header("Version:")) {
        (Some(n), Some(v)) => Ok((n, v)),
        _ => Err(problem("METADATA lacks Name or Version")),
    }
}
