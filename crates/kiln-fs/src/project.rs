//! Opening files of an untrusted project tree.
//!
//! Every file kiln reads from a project (its `pyproject.toml`, the readme,
//! license texts and license files, and every member of the sdist and
//! wheel) is opened here, by a path relative to the project root, so three
//! rules hold everywhere:
//!
//! - **Inside the project.** The path is resolved (symlinks followed, `..`
//!   applied) and must land inside the canonical project root; a path that
//!   leaves it is refused, naming the path and where it points. This is
//!   what the tree contains when it is opened: kiln does not defend
//!   against another process rewriting the project during a build (the
//!   last component is opened with `O_NOFOLLOW`, so it cannot be swapped
//!   for a symlink between the check and the open).
//! - **Regular files only.** The path is checked before it is opened (so a
//!   device is never opened at all), opened with `O_NONBLOCK` (so opening
//!   a FIFO cannot wait for a writer), and the opened handle is checked
//!   again with `fstat`: a FIFO, socket, device or directory is refused.
//! - **Bounded.** What must be read whole (`read_capped`) is refused past
//!   a byte limit before it is read; members are streamed through a reader
//!   of the length the handle had when it was opened.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Cap on a `pyproject.toml` read whole.
pub const PYPROJECT_LIMIT: u64 = 4 << 20;
/// Cap on a readme or license text read whole (they go into the metadata,
/// which every artifact carries).
pub const TEXT_LIMIT: u64 = 16 << 20;
/// Cap on kiln's own configuration files (`release.toml`,
/// `pinned-toolchain.toml`).
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Why a project file could not be opened or read. Every variant names
/// the file (as the project root joined with the relative path) and says
/// how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ProjectFileError {
    #[error("{path}: not found; create it or fix the path that names it")]
    NotFound { path: PathBuf },
    #[error(
        "{path} points outside the project {root} (to {target}); replace the symlink with a regular file inside the project, or remove it"
    )]
    Outside {
        path: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error(
        "{path} is {kind}, not a regular file; kiln reads only regular files from a project: replace it with a regular file or remove it"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{path} is {size} bytes, more than the {limit} bytes kiln reads whole for such a file; make it smaller"
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "{path} has {expected} bytes but ended after {got} while it was read; do not modify the project during a build"
    )]
    Shrank {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("{path} is not valid UTF-8; convert it to UTF-8")]
    NotUtf8 { path: PathBuf },
    #[error("failed to read {path}; check that it exists and is readable")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ProjectFileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Outside { path, .. }
            | Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Shrank { path, .. }
            | Self::NotUtf8 { path }
            | Self::Io { path, .. } => path,
        }
    }

    /// Where the error is, for a `--json` error object: the file.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        Some((Some(self.path().display().to_string()), None))
    }
}

/// A project directory, its canonical form resolved once.
#[derive(Debug, Clone)]
pub struct ProjectRoot {
    root: PathBuf,
    canonical: PathBuf,
}

/// What a path is, in words, for refusals.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symlink";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

impl ProjectRoot {
    /// The project at `root` (which must exist and be a directory).
    pub fn new(root: &Path) -> Result<Self, ProjectFileError> {
        let canonical = root.canonicalize().map_err(|source| io_err(root, source))?;
        if !canonical.is_dir() {
            return Err(ProjectFileError::NotRegular {
                path: root.to_path_buf(),
                kind: "not a directory",
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            canonical,
        })
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The root with every symlink resolved.
    pub fn canonical(&self) -> &Path {
        &self.canonical
    }

    /// The path as messages show it: the root joined with `relative`.
    pub fn display_path(&self, relative: impl AsRef<Path>) -> PathBuf {
        let relative = relative.as_ref();
        if relative.as_os_str().is_empty() {
            return self.root.clone();
        }
        self.root.join(relative)
    }

    /// `relative` with every symlink and `..` resolved, refused unless it
    /// lands inside the project. The result exists (of any file type).
    pub fn resolve(&self, relative: impl AsRef<Path>) -> Result<PathBuf, ProjectFileError> {
        let relative = relative.as_ref();
        let path = self.display_path(relative);
        // An absolute `relative` replaces the root in `join`; resolving the
        // lexical path against the canonical root keeps every case in one
        // check below.
        let target = self
            .canonical
            .join(relative)
            .canonicalize()
            .map_err(|source| io_err(&path, source))?;
        if !target.starts_with(&self.canonical) {
            return Err(ProjectFileError::Outside {
                path,
                target,
                root: self.root.clone(),
            });
        }
        Ok(target)
    }

    /// Open `relative` for reading: inside the project, a regular file,
    /// never blocking.
    pub fn open(&self, relative: impl AsRef<Path>) -> Result<ProjectFile, ProjectFileError> {
        let relative = relative.as_ref();
        let target = self.resolve(relative)?;
        open_regular(self.display_path(relative), &target)
    }

    /// The whole of `relative`, refused past `limit` bytes before reading.
    pub fn read_capped(
        &self,
        relative: impl AsRef<Path>,
        limit: u64,
    ) -> Result<Vec<u8>, ProjectFileError> {
        self.open(relative)?.read_capped(limit)
    }

    /// `read_capped` as UTF-8 text.
    pub fn read_to_string_capped(
        &self,
        relative: impl AsRef<Path>,
        limit: u64,
    ) -> Result<String, ProjectFileError> {
        self.open(relative)?.read_to_string_capped(limit)
    }
}

/// Reads one file whole the same way (regular files only, never blocking,
/// capped) when it is not part of a project tree: the file itself may be a
/// symlink to anywhere. For kiln's own configuration.
pub fn read_file_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ProjectFileError> {
    let target = path.canonicalize().map_err(|source| io_err(path, source))?;
    open_regular(path.to_path_buf(), &target)?.read_capped(limit)
}

/// Opens `target` (a path without symlinks) if it is a regular file;
/// `path` is how messages name it.
fn open_regular(path: PathBuf, target: &Path) -> Result<ProjectFile, ProjectFileError> {
    // Checked before opening, so a device is never opened at all...
    let before = std::fs::metadata(target).map_err(|source| io_err(&path, source))?;
    if !before.is_file() {
        return Err(ProjectFileError::NotRegular {
            path,
            kind: kind_of(&before),
        });
    }
    let file = open_nonblocking(target).map_err(|source| io_err(&path, source))?;
    // ...and after, on the handle itself, which is what is read.
    let meta = file.metadata().map_err(|source| io_err(&path, source))?;
    if !meta.is_file() {
        return Err(ProjectFileError::NotRegular {
            path,
            kind: kind_of(&meta),
        });
    }
    Ok(ProjectFile {
        executable: is_executable(&meta),
        len: meta.len(),
        file,
        path,
    })
}

/// `read_file_capped` as UTF-8 text.
pub fn read_file_to_string_capped(path: &Path, limit: u64) -> Result<String, ProjectFileError> {
    String::from_utf8(read_file_capped(path, limit)?).map_err(|_| ProjectFileError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

fn io_err(path: &Path, source: io::Error) -> ProjectFileError {
    if source.kind() == io::ErrorKind::NotFound {
        ProjectFileError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        ProjectFileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn is_executable(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &Metadata) -> bool {
    false
}

/// An opened regular file of a project.
#[derive(Debug)]
pub struct ProjectFile {
    file: File,
    path: PathBuf,
    len: u64,
    executable: bool,
}

impl ProjectFile {
    /// The file as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its length when it was opened: what `reader` yields.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Any execute bit set.
    pub fn executable(&self) -> bool {
        self.executable
    }

    /// The whole file, refused before reading if it is longer than
    /// `limit` (and while reading, if it grew past it).
    pub fn read_capped(self, limit: u64) -> Result<Vec<u8>, ProjectFileError> {
        let too_large = |size| ProjectFileError::TooLarge {
            path: self.path.clone(),
            size,
            limit,
        };
        if self.len > limit {
            return Err(too_large(self.len));
        }
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        (&self.file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|source| io_err(&self.path, source))?;
        if out.len() as u64 > limit {
            return Err(too_large(out.len() as u64));
        }
        Ok(out)
    }

    /// `read_capped` as UTF-8 text.
    pub fn read_to_string_capped(self, limit: u64) -> Result<String, ProjectFileError> {
        let path = self.path.clone();
        String::from_utf8(self.read_capped(limit)?).map_err(|_| ProjectFileError::NotUtf8 { path })
    }

    /// A reader of exactly `len()` bytes: a file that shrank while it is
    /// read is an error (kind `UnexpectedEof`, naming the file), and bytes
    /// past the length it had when opened are not read.
    pub fn reader(self) -> MemberReader {
        MemberReader {
            left: self.len,
            file: self.file,
            path: self.path,
            expected: self.len,
        }
    }
}

/// See [`ProjectFile::reader`].
#[derive(Debug)]
pub struct MemberReader {
    file: File,
    path: PathBuf,
    expected: u64,
    left: u64,
}

impl MemberReader {
    /// The file as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of bytes this reader yields in all.
    pub fn len(&self) -> u64 {
        self.expected
    }

    pub fn is_empty(&self) -> bool {
        self.expected == 0
    }
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            let e = ProjectFileError::Shrank {
                path: self.path.clone(),
                expected: self.expected,
                got: self.expected - self.left,
            };
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::fs;

    fn setup() -> (tempfile::TempDir, PathBuf, ProjectRoot) {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("proj");
        fs::create_dir_all(p.join("sub")).unwrap();
        fs::write(p.join("a.txt"), "hello").unwrap();
        fs::write(tmp.path().join("secret"), "outside").unwrap();
        let root = ProjectRoot::new(&p).unwrap();
        (tmp, p, root)
    }

    #[test]
    fn reads_a_regular_file() {
        let (_tmp, _p, root) = setup();
        assert_eq!(root.read_capped("a.txt", 5).unwrap(), b"hello");
        assert_eq!(
            root.read_to_string_capped("sub/../a.txt", 100).unwrap(),
            "hello"
        );
        let f = root.open("a.txt").unwrap();
        assert_eq!(f.len(), 5);
        let mut s = String::new();
        f.reader().read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }

    #[test]
    fn an_error_is_at_its_file() {
        let e = ProjectFileError::NotUtf8 { path: "p/a".into() };
        assert_eq!(e.location(), Some((Some("p/a".into()), None)));
    }

    #[test]
    fn symlink_inside_is_followed() {
        let (_tmp, p, root) = setup();
        std::os::unix::fs::symlink("../a.txt", p.join("sub/alias")).unwrap();
        assert_eq!(root.read_capped("sub/alias", 100).unwrap(), b"hello");
    }

    #[test]
    fn symlink_outside_the_project_is_refused() {
        let (tmp, p, root) = setup();
        std::os::unix::fs::symlink(tmp.path().join("secret"), p.join("sub/LICENSE")).unwrap();
        let e = root.read_capped("sub/LICENSE", 100).unwrap_err();
        assert!(matches!(e, ProjectFileError::Outside { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("sub/LICENSE") && msg.contains("secret"),
            "{msg}"
        );
        // A symlinked directory leaving the project, and `..`, likewise.
        std::os::unix::fs::symlink(tmp.path(), p.join("up")).unwrap();
        assert!(matches!(
            root.open("up/secret").unwrap_err(),
            ProjectFileError::Outside { .. }
        ));
        assert!(matches!(
            root.open("../secret").unwrap_err(),
            ProjectFileError::Outside { .. }
        ));
        assert!(matches!(
            root.open(tmp.path().join("secret")).unwrap_err(),
            ProjectFileError::Outside { .. }
        ));
    }

    /// A FIFO made with mkfifo(1) (making one needs no privilege, but
    /// `libc::mkfifo` would need `unsafe`).
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn mkfifo(path: &Path) -> bool {
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        use std::os::unix::fs::FileTypeExt;
        let (_tmp, p, root) = setup();
        let fifo = p.join("README.md");
        assert!(mkfifo(&fifo), "mkfifo failed");
        let e = root.read_capped("README.md", 100).unwrap_err();
        assert!(
            matches!(e, ProjectFileError::NotRegular { kind, .. } if kind.contains("FIFO")),
            "{e}"
        );
        assert!(e.to_string().contains("README.md"), "{e}");
        // Opening does not wait for a writer, so the handle check (what a
        // FIFO swapped in after the path check meets) cannot block either.
        let f = open_nonblocking(&fifo).unwrap();
        assert!(f.metadata().unwrap().file_type().is_fifo());
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let (_tmp, p, root) = setup();
        assert!(matches!(
            root.open("sub").unwrap_err(),
            ProjectFileError::NotRegular { .. }
        ));
        // A device can only be reached by a symlink leaving the project
        // (making one inside needs root), and is refused for that.
        std::os::unix::fs::symlink("/dev/zero", p.join("pyproject.toml")).unwrap();
        assert!(matches!(
            root.read_capped("pyproject.toml", 100).unwrap_err(),
            ProjectFileError::Outside { .. }
        ));
        // Outside any project, the same file is refused as a device.
        let e = read_file_capped(&p.join("pyproject.toml"), 100).unwrap_err();
        assert!(
            matches!(
                e,
                ProjectFileError::NotRegular {
                    kind: "a character device",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn caps_are_checked_before_reading() {
        let (_tmp, p, root) = setup();
        let big = fs::File::create(p.join("big")).unwrap();
        big.set_len(1 << 40)
            .unwrap_or_else(|_| big.set_len(1 << 30).unwrap());
        let e = root.read_capped("big", 1 << 20).unwrap_err();
        assert!(matches!(e, ProjectFileError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("big"));
        assert!(matches!(
            root.read_capped("a.txt", 4).unwrap_err(),
            ProjectFileError::TooLarge { size: 5, .. }
        ));
    }

    #[test]
    fn missing_and_dangling_name_the_path() {
        let (_tmp, p, root) = setup();
        std::os::unix::fs::symlink("nowhere", p.join("dangling")).unwrap();
        for name in ["missing", "dangling"] {
            let e = root.open(name).unwrap_err();
            assert!(matches!(e, ProjectFileError::NotFound { .. }), "{e}");
            assert!(e.to_string().contains(name));
        }
    }

    #[test]
    fn a_file_that_shrinks_while_read_is_an_error() {
        let (_tmp, p, root) = setup();
        let f = root.open("a.txt").unwrap();
        fs::write(p.join("a.txt"), "he").unwrap();
        let mut out = Vec::new();
        let e = f.reader().read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("a.txt"), "{e}");
    }

    #[test]
    fn config_files_are_capped_and_regular() {
        let (tmp, p, _root) = setup();
        assert_eq!(
            read_file_to_string_capped(&p.join("a.txt"), 10).unwrap(),
            "hello"
        );
        // A symlink to a regular file elsewhere is fine for kiln's own files.
        std::os::unix::fs::symlink(tmp.path().join("secret"), p.join("link")).unwrap();
        assert_eq!(read_file_capped(&p.join("link"), 10).unwrap(), b"outside");
        assert!(matches!(
            read_file_capped(&p.join("a.txt"), 2).unwrap_err(),
            ProjectFileError::TooLarge { .. }
        ));
    }
}
