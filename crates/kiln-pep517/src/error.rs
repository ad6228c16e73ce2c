//! Everything backend mode can fail at, each variant naming what it was
//! working on (the file, the package, the hook), so that a failure deep in
//! a build still says which project, lock or wheel to look at.

use std::path::PathBuf;

/// A failure of backend mode.
#[derive(Debug, thiserror::Error)]
pub enum Pep517Error {
    /// A file-system step on `path` (`action`: create, read, write, ...).
    #[error("failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to walk {}", path.display())]
    Walk {
        path: PathBuf,
        source: walkdir::Error,
    },
    #[error("failed to create a private build directory")]
    Scratch { source: std::io::Error },
    /// A process could not be run at all (`what` says which).
    #[error("{what}")]
    Spawn { what: String, source: xshell::Error },
    #[error(
        "{program} on PATH is Python {found}, but pinned-toolchain.toml pins python.version = {version:?}"
    )]
    WrongPython {
        program: String,
        found: String,
        version: String,
    },
    #[error(
        "backend mode needs Python {version} (pinned-toolchain.toml python.version): `{program}` is not on PATH; install it"
    )]
    NoPython { program: String, version: String },
    #[error("pip could not resolve the build requirements {requires:?}:\n{output}")]
    Resolve {
        requires: Vec<String>,
        output: String,
    },
    #[error("pip wrote no --report")]
    NoReport { source: std::io::Error },
    #[error("pip's --report does not parse")]
    BadReport { source: serde_json::Error },
    #[error("pip reported no sha256 for {name} {version} ({url}); kiln locks files by hash")]
    NoHash {
        name: String,
        version: String,
        url: String,
    },
    #[error("pip resolved {name} {version} to {filename}, not a wheel; kiln installs wheels only")]
    NotAWheel {
        name: String,
        version: String,
        filename: String,
    },
    #[error("downloading the locked build requirements ({packages}) failed:\n{output}")]
    Download { packages: String, output: String },
    #[error(
        "pip downloaded no {filename} for {name} {version}: the lock names a file the index does not serve; re-run `cargo xtask lock`"
    )]
    NotDownloaded {
        name: String,
        version: String,
        filename: String,
    },
    #[error(
        "{name} {version} ({filename}): sha256 mismatch: the lock says {locked}, the file is {actual}; refusing to install it \
         (a tampered download or a stale lock: re-run `cargo xtask lock`)"
    )]
    HashMismatch {
        name: String,
        version: String,
        filename: String,
        locked: String,
        actual: String,
    },
    /// Writing a downloaded file into the cache.
    #[error(transparent)]
    Cache(#[from] kiln_fs::publish::PublishError),
    #[error("site-packages {site} is outside the environment")]
    SiteOutside { site: String },
    /// A locked wheel cannot be installed (`problem` names the member).
    #[error("{package}: {filename}: {problem}")]
    Install {
        package: String,
        filename: String,
        problem: String,
    },
    #[error("{package}: cannot read {filename}")]
    InstallRead {
        package: String,
        filename: String,
        source: Box<kiln_archive::ArchiveError>,
    },
    #[error(
        "{}: no build lock: run `cargo xtask lock` for this project first (or pass --lock FILE)",
        path.display()
    )]
    NoLock { path: PathBuf },
    #[error(transparent)]
    Lock(#[from] kiln_lock::LockError),
    /// `locked` and `declared`: the build-backend and its backend-path.
    #[error(
        "{}: the lock is for build-backend {locked}, but {} declares {declared}: {relock}",
        lock.display(),
        dir.display()
    )]
    LockForOtherBackend {
        lock: PathBuf,
        dir: PathBuf,
        locked: String,
        declared: String,
        relock: String,
    },
    #[error(
        "{}: the lock was resolved for Python {locked}, but pinned-toolchain.toml pins {pinned}: {relock}",
        lock.display()
    )]
    LockForOtherPython {
        lock: PathBuf,
        locked: String,
        pinned: String,
        relock: String,
    },
    #[error(
        "the build backend {backend} needs {missing} for {hook}, which {} does not hold: {relock}",
        lock.display()
    )]
    Unsatisfied {
        backend: String,
        missing: String,
        hook: String,
        lock: PathBuf,
        relock: String,
    },
    #[error("the build requirement {requirement:?} does not parse: {message}")]
    Requirement {
        requirement: String,
        message: String,
    },
    #[error("the build backend {backend} failed in {hook}; its output:\n{output}")]
    HookFailed {
        backend: String,
        hook: String,
        output: String,
    },
    #[error("failed to run the build backend {backend}")]
    Hook {
        backend: String,
        source: xshell::Error,
    },
    #[error("the build backend returned no file name:\n{output}")]
    NoFileName { output: String },
    #[error("the build backend returned {name:?}, expected a bare *{suffix} file name")]
    BadFileName { name: String, suffix: &'static str },
    #[error("the build backend said it wrote {name}, but {} cannot be read", path.display())]
    NoOutput {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Two builds of a platform wheel from the same sdist differ: a
    /// mismatch, not bad input.
    #[error(
        "{wheel} is not reproducible: two builds of the wheel from the same sdist differ in:\n{}",
        differences.iter().map(|(path, what)| format!("  {path}: {what}")).collect::<Vec<_>>().join("\n")
    )]
    NotReproducible {
        wheel: String,
        differences: Vec<(String, String)>,
    },
    #[error("cannot unpack the sdist {name}")]
    Unpack {
        name: String,
        source: Box<kiln_archive::ArchiveError>,
    },
    /// The sdist's members are not under one top-level directory.
    #[error("{name}: {problem}")]
    SdistLayout { name: String, problem: String },
    #[error("{filename}: {problem}")]
    WheelMetadata { filename: String, problem: String },
    #[error(transparent)]
    Archive(#[from] Box<kiln_archive::ArchiveError>),
    #[error(transparent)]
    Canon(#[from] Box<kiln_canon::CanonError>),
    #[error(
        "{}: the backend's build requirements did not settle after 5 rounds of resolution ({})",
        dir.display(),
        requires.join(", ")
    )]
    Unsettled { dir: PathBuf, requires: Vec<String> },
    /// An sdist's pyproject.toml does not declare a usable build system.
    #[error(transparent)]
    BuildSystem(#[from] kiln_metadata::BuildSystemError),
}

impl From<kiln_archive::ArchiveError> for Pep517Error {
    fn from(e: kiln_archive::ArchiveError) -> Self {
        Self::Archive(Box::new(e))
    }
}

impl From<kiln_canon::CanonError> for Pep517Error {
    fn from(e: kiln_canon::CanonError) -> Self {
        Self::Canon(Box::new(e))
    }
}

impl Pep517Error {
    /// The class of a failed rebuild this error is the cause of, in a
    /// census's words: `lock` (the build requirements could not be locked
    /// or fetched), `build` (the backend failed or gave no usable output),
    /// `not-reproducible` (two builds differ); `None` for anything else.
    pub fn cause_class(&self) -> Option<&'static str> {
        match self {
            Self::Resolve { .. }
            | Self::NoHash { .. }
            | Self::NotAWheel { .. }
            | Self::Unsettled { .. }
            | Self::Download { .. }
            | Self::NotDownloaded { .. } => Some("lock"),
            Self::NotReproducible { .. } => Some("not-reproducible"),
            Self::HookFailed { .. }
            | Self::Hook { .. }
            | Self::NoFileName { .. }
            | Self::NoOutput { .. }
            | Self::BadFileName { .. }
            | Self::Unsatisfied { .. } => Some("build"),
            _ => None,
        }
    }

    /// Where the error is, for a `--json` error object: the file or lock,
    /// or what the archive, lock or canonicalizer error inside names.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use Pep517Error as E;
        match self {
            E::Io { path, .. }
            | E::Walk { path, .. }
            | E::NoLock { path }
            | E::NoOutput { path, .. }
            | E::LockForOtherBackend { lock: path, .. }
            | E::LockForOtherPython { lock: path, .. }
            | E::Unsatisfied { lock: path, .. } => Some((Some(path.display().to_string()), None)),
            // Transparent: look inside.
            E::Lock(inner) => inner.location(),
            E::Archive(inner) => inner.location(),
            E::Canon(inner) => inner.location(),
            E::InstallRead { source, .. } | E::Unpack { source, .. } => source.location(),
            _ => None,
        }
    }

    /// An [`Pep517Error::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_classed_by_its_cause() {
        let download = Pep517Error::Download {
            packages: "a".into(),
            output: String::new(),
        };
        let hook = Pep517Error::NoFileName {
            output: String::new(),
        };
        let twice = Pep517Error::NotReproducible {
            wheel: "a.whl".into(),
            differences: vec![],
        };
        let other = Pep517Error::NoLock {
            path: PathBuf::from("a.lock.toml"),
        };
        assert_eq!(download.cause_class(), Some("lock"));
        assert_eq!(hook.cause_class(), Some("build"));
        assert_eq!(twice.cause_class(), Some("not-reproducible"));
        assert_eq!(other.cause_class(), None);
    }

    #[test]
    fn a_failure_is_at_its_lock() {
        let err = Pep517Error::NoLock {
            path: PathBuf::from("a.lock.toml"),
        };
        assert_eq!(err.location(), Some((Some("a.lock.toml".into()), None)));
    }
}
