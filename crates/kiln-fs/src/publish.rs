//! Publishing a directory of outputs as one step a reader cannot see half of.
//!
//! [`Staging::beside`] makes a private directory next to the target (in
//! the same parent, so on the same filesystem). The caller writes the
//! complete new contents into [`Staging::dir`], keeps any scratch work
//! elsewhere under [`Staging::scratch`], and [`Staging::publish`] swaps the
//! new directory with the target in one system call
//! (`renameat2(RENAME_EXCHANGE)` on Linux, `renameatx_np(RENAME_SWAP)` on
//! macOS), then deletes the old contents. A reader, or a `kill -9` at any
//! instant, sees the old directory or the new one, never a mix. Where the
//! filesystem cannot exchange (some network and FUSE filesystems, other
//! Unixes), two renames are used instead: for a moment the target is
//! absent (never partial), and a kill in that moment is repaired by the
//! next [`clean_stale`] in the parent, which puts the old directory back.
//!
//! Single files are written the same way: [`write_atomic`] and
//! [`AtomicFile`] write a temporary file beside the destination, `fsync`
//! it and rename it into place.
//!
//! Everything temporary is named with a recognizable prefix
//! ([`STAGING_PREFIX`], [`TMP_PREFIX`]) and holds an exclusive `flock`
//! while it is in use. The lock dies with the process that held it (and
//! with any child it was shared with), so [`clean_stale`] removes exactly
//! the entries whose owner is gone and never one a running process still
//! uses. A file a user names with one of these prefixes is treated as
//! kiln's debris.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The name prefix of a staging directory ([`Staging`]).
pub const STAGING_PREFIX: &str = ".kiln-staging-";
/// The name prefix of a temporary file ([`AtomicFile`]); kiln's other
/// writers use it too, so [`clean_stale`] removes what they leave.
pub const TMP_PREFIX: &str = ".kiln-tmp-";

/// Inside a staging directory: the new contents, the old ones while two
/// renames are in flight, and the name of the target (for the repair).
const NEW: &str = "new";
const OLD: &str = "old";
const TARGET: &str = "target";

/// How often creating a locked temporary entry is retried when a
/// concurrent [`clean_stale`] removed it between creation and locking.
const ATTEMPTS: usize = 16;

/// Why publishing failed. Every variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}: not a directory: only a directory can be replaced by a directory of outputs; remove it or choose another path",
        path.display()
    )]
    NotADirectory { path: PathBuf },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PublishError + 'a {
    move |source| PublishError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A directory being prepared beside its target, locked while it exists.
/// Dropped without [`Staging::publish`], it is removed and the target is
/// untouched.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    target: PathBuf,
    lock: File,
}

impl Staging {
    /// Removes what killed runs left beside `target` (see [`clean_stale`])
    /// and makes a new, locked staging directory there. A symlink at
    /// `target` is followed: the directory it points to is replaced.
    pub fn beside(target: &Path) -> Result<Staging, PublishError> {
        let target = resolve_target(target)?;
        let parent = parent_of(&target).to_path_buf();
        fs::create_dir_all(&parent).map_err(io_err("cannot create", &parent))?;
        clean_stale(&parent)?;
        let name = target
            .file_name()
            .ok_or_else(|| PublishError::NotADirectory {
                path: target.clone(),
            })?
            .to_owned();
        for _ in 0..ATTEMPTS {
            let root = tempfile::Builder::new()
                .prefix(STAGING_PREFIX)
                .tempdir_in(&parent)
                .map_err(io_err("cannot create a staging directory in", &parent))?
                .keep();
            let lock = open_entry(&root).map_err(io_err("cannot open", &root))?;
            if locked_if_current(&root, &lock).map_err(io_err("cannot lock", &root))? {
                let staging = Staging { root, target, lock };
                let record = staging.root.join(TARGET);
                fs::write(&record, name.as_bytes()).map_err(io_err("cannot write", &record))?;
                let dir = staging.dir();
                fs::create_dir(&dir).map_err(io_err("cannot create", &dir))?;
                return Ok(staging);
            }
        }
        Err(PublishError::Io {
            action: "cannot keep a staging directory (another process removes them) in",
            path: parent,
            source: io::ErrorKind::ResourceBusy.into(),
        })
    }

    /// The directory that will replace the target: write the complete new
    /// contents here.
    pub fn dir(&self) -> PathBuf {
        self.root.join(NEW)
    }

    /// The staging directory itself, for scratch work that is discarded
    /// with it. The names `new`, `old` and `target` in it are taken.
    pub fn scratch(&self) -> &Path {
        &self.root
    }

    /// The directory this staging replaces (symlinks resolved).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether child processes spawned from now on share the staging
    /// directory's lock (off by default). A child that outlives a killed
    /// parent then keeps its scratch from being cleaned under it.
    pub fn share_lock_with_children(&self, share: bool) -> Result<(), PublishError> {
        let flags = if share {
            rustix::io::FdFlags::empty()
        } else {
            rustix::io::FdFlags::CLOEXEC
        };
        rustix::io::fcntl_setfd(&self.lock, flags)
            .map_err(io::Error::from)
            .map_err(io_err("cannot set the lock's flags on", &self.root))
    }

    /// Makes [`Staging::dir`] the target in one step (its files synced
    /// first), then removes the old contents and the staging directory.
    pub fn publish(self) -> Result<(), PublishError> {
        let new = self.dir();
        sync_tree(&new)?;
        swap(&new, &self.target, &self.root.join(OLD))?;
        // The old contents are now at `new`; Drop removes them with the
        // staging directory (a kill here leaves them to clean_stale).
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// `target` with a symlink at it followed; refuses a non-directory.
fn resolve_target(target: &Path) -> Result<PathBuf, PublishError> {
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() || target.file_name().is_none() => {
            let real = fs::canonicalize(target).map_err(io_err("cannot resolve", target))?;
            if !real.is_dir() {
                return Err(PublishError::NotADirectory {
                    path: target.to_path_buf(),
                });
            }
            Ok(real)
        }
        Ok(meta) if !meta.is_dir() => Err(PublishError::NotADirectory {
            path: target.to_path_buf(),
        }),
        Ok(_) => Ok(target.to_path_buf()),
        Err(e) if e.kind() == io::ErrorKind::NotFound && target.file_name().is_some() => {
            Ok(target.to_path_buf())
        }
        Err(e) => Err(io_err("cannot inspect", target)(e)),
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Opens an existing entry (file or directory) to lock it: never follows
/// a symlink, never waits on a FIFO.
fn open_entry(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Locks a freshly created entry, then checks it is still the one at
/// `path`: a [`clean_stale`] that ran between creation and locking may
/// have removed it (then the caller makes another).
fn locked_if_current(path: &Path, file: &File) -> io::Result<bool> {
    file.lock()?;
    same_entry(path, file)
}

fn same_entry(path: &Path, file: &File) -> io::Result<bool> {
    let held = file.metadata()?;
    match fs::symlink_metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The names in `dir`, sorted (none if it does not exist).
fn sorted_names(dir: &Path) -> Result<Vec<OsString>, PublishError> {
    #[allow(clippy::disallowed_methods)] // Sorted below.
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot list", dir)(e)),
    };
    let mut names = entries
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(io_err("cannot list", dir))?;
    names.sort();
    Ok(names)
}

/// Syncs every file under `dir`, then `dir` itself.
fn sync_tree(dir: &Path) -> Result<(), PublishError> {
    for name in sorted_names(dir)? {
        let path = dir.join(name);
        let meta = fs::symlink_metadata(&path).map_err(io_err("cannot inspect", &path))?;
        if meta.is_dir() {
            sync_tree(&path)?;
        } else if meta.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_err("cannot sync", &path))?;
        }
    }
    sync_dir(dir)
}

/// Whether `e` is one of these errno values (ENOTSUP and EOPNOTSUPP are
/// one on Linux, two on macOS).
fn has_code(e: &io::Error, codes: &[i32]) -> bool {
    e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

/// Syncs a directory (its entries' names); filesystems that cannot are
/// let be.
fn sync_dir(dir: &Path) -> Result<(), PublishError> {
    match File::open(dir).and_then(|f| f.sync_all()) {
        Err(e) if has_code(&e, &[libc::EINVAL, libc::ENOTSUP, libc::EOPNOTSUPP]) => Ok(()),
        other => other.map_err(io_err("cannot sync", dir)),
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Puts `new` at `target`: exchanged with an existing target (then the
/// old contents are at `new`), renamed when there is none, and two
/// renames through `old` where the filesystem cannot exchange.
fn swap(new: &Path, target: &Path, old: &Path) -> Result<(), PublishError> {
    for _ in 0..ATTEMPTS {
        match exchange(new, target) {
            Ok(()) => return sync_dir(parent_of(target)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::rename(new, target) {
                Ok(()) => return sync_dir(parent_of(target)),
                // Another process made the target meanwhile: exchange.
                Err(e) if has_code(&e, &[libc::ENOTEMPTY, libc::EEXIST]) => {}
                Err(e) => return Err(io_err("cannot move the new directory to", target)(e)),
            },
            Err(e)
                if has_code(
                    &e,
                    &[
                        libc::EINVAL,
                        libc::ENOSYS,
                        libc::ENOTSUP,
                        libc::EOPNOTSUPP,
                        libc::EXDEV,
                    ],
                ) =>
            {
                return two_renames(new, target, old);
            }
            Err(e) => return Err(io_err("cannot swap the new directory with", target)(e)),
        }
    }
    Err(PublishError::Io {
        action: "cannot publish (the target keeps changing)",
        path: target.to_path_buf(),
        source: io::ErrorKind::ResourceBusy.into(),
    })
}

/// The fallback: the target moves aside, the new directory moves in. In
/// between the target is absent; a kill there is repaired by
/// [`clean_stale`] (the staging directory records the target's name).
fn two_renames(new: &Path, target: &Path, old: &Path) -> Result<(), PublishError> {
    fs::rename(target, old).map_err(io_err(
        "cannot move aside (is it a mount point? publish into a directory inside it)",
        target,
    ))?;
    if let Err(e) = fs::rename(new, target) {
        let _ = fs::rename(old, target);
        return Err(io_err("cannot move the new directory to", target)(e));
    }
    sync_dir(parent_of(target))?;
    // Drop removes `old` with the staging directory.
    Ok(())
}

/// What [`clean_stale`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Stale staging directories and temporary files removed.
    pub removed: Vec<PathBuf>,
    /// Targets put back from a staging directory killed between its two
    /// renames.
    pub restored: Vec<PathBuf>,
}

/// Removes the staging directories and temporary files in `dir` (by
/// their prefixes) that no running process holds, and puts back a target
/// a killed two-rename publication had moved aside. Entries a live
/// process holds are left alone, so a concurrent run is never damaged.
/// Symlinks and special files are never opened or removed.
pub fn clean_stale(dir: &Path) -> Result<Cleaned, PublishError> {
    let mut cleaned = Cleaned::default();
    for name in sorted_names(dir)? {
        let bytes = name.as_bytes();
        if !bytes.starts_with(STAGING_PREFIX.as_bytes())
            && !bytes.starts_with(TMP_PREFIX.as_bytes())
        {
            continue;
        }
        let path = dir.join(&name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("cannot inspect", &path)(e)),
        };
        if !meta.is_dir() && !meta.is_file() {
            continue;
        }
        let file = match open_entry(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("cannot open", &path)(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", &path)(e)),
        }
        // Holding the lock: nobody uses it. Still the entry we opened?
        if !same_entry(&path, &file).map_err(io_err("cannot inspect", &path))? {
            continue;
        }
        let removed = if meta.is_dir() {
            if let Some(target) = restore(dir, &path)? {
                cleaned.restored.push(target);
            }
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => cleaned.removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove the stale", &path)(e)),
        }
    }
    Ok(cleaned)
}

/// A stale staging directory killed between its two renames holds the
/// old target at `old` while the target is absent: move it back.
fn restore(dir: &Path, staging: &Path) -> Result<Option<PathBuf>, PublishError> {
    let old = staging.join(OLD);
    if !fs::symlink_metadata(&old).is_ok_and(|m| m.is_dir()) {
        return Ok(None);
    }
    let record = staging.join(TARGET);
    let Ok(name) = fs::read(&record) else {
        return Ok(None);
    };
    let name = PathBuf::from(std::ffi::OsStr::from_bytes(&name));
    if name.components().count() != 1 || name.file_name().is_none() {
        return Ok(None);
    }
    let target = dir.join(name);
    if fs::symlink_metadata(&target).is_ok() {
        return Ok(None);
    }
    fs::rename(&old, &target).map_err(io_err("cannot put back", &target))?;
    Ok(Some(target))
}

/// A file being written beside its destination under a temporary name
/// ([`TMP_PREFIX`], locked), renamed into place by [`AtomicFile::commit`];
/// dropped uncommitted, it is removed.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path` (its directory is created if missing).
    pub fn create(path: &Path) -> Result<AtomicFile, PublishError> {
        let parent = parent_of(path);
        fs::create_dir_all(parent).map_err(io_err("cannot create", parent))?;
        for _ in 0..ATTEMPTS {
            let tmp = tempfile::Builder::new()
                .prefix(TMP_PREFIX)
                .tempfile_in(parent)
                .map_err(io_err("cannot create a temporary file in", parent))?;
            if locked_if_current(tmp.path(), tmp.as_file())
                .map_err(io_err("cannot lock", tmp.path()))?
            {
                return Ok(AtomicFile {
                    tmp,
                    path: path.to_path_buf(),
                });
            }
        }
        Err(PublishError::Io {
            action: "cannot keep a temporary file (another process removes them) in",
            path: parent.to_path_buf(),
            source: io::ErrorKind::ResourceBusy.into(),
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Where it goes.
    pub fn destination(&self) -> &Path {
        &self.path
    }

    /// Sets the mode, syncs the file, renames it into place and syncs the
    /// directory.
    pub fn commit(self, mode: u32) -> Result<(), PublishError> {
        let file = self.tmp.as_file();
        file.set_permissions(fs::Permissions::from_mode(mode))
            .and_then(|()| file.sync_all())
            .map_err(io_err("cannot write", &self.path))?;
        self.tmp
            .persist(&self.path)
            .map_err(|e| io_err("cannot rename into place", &self.path)(e.error))?;
        sync_dir(parent_of(&self.path))
    }
}

impl AtomicFile {
    /// As [`AtomicFile::commit`], but never replaces an existing file:
    /// `Ok(false)` (and nothing written) when `path` exists.
    pub fn commit_new(self, mode: u32) -> Result<bool, PublishError> {
        let file = self.tmp.as_file();
        file.set_permissions(fs::Permissions::from_mode(mode))
            .and_then(|()| file.sync_all())
            .map_err(io_err("cannot write", &self.path))?;
        match self.tmp.persist_noclobber(&self.path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err("cannot link into place", &self.path)(e.error)),
        }
        sync_dir(parent_of(&self.path))?;
        Ok(true)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.as_file_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.as_file_mut().flush()
    }
}

/// Writes `bytes` to `path` atomically, mode 0644: a reader or a kill
/// sees the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(io_err("cannot write", path))?;
    file.commit(0o644)
}

#[cfg(test)]
mod tests;
