//! Where an error is: the file (or URL) and the field a failed command's
//! `--json` error object names, taken from the typed errors that know
//! them, never guessed from a message's text.
//!
//! `locate` walks an error's chain, outermost first, and the first error
//! of a known type that names a place gives both `path` and `field`
//! (either may be absent: a file without a field, an unreadable archive
//! without a member). An error no known type explains has neither. The
//! library crates' error enums carry the places in their variants; xtask's
//! own checks that have a file or a field at hand say so with
//! [`Located`]. One place decides, so a new error type is added here once.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;

use kiln_archive::ArchiveError;
use kiln_canon::CanonError;
use kiln_canon::file::FileError;
use kiln_diff::DiffError;
use kiln_fetch::{FetchError, PageError};
use kiln_fs::project::ProjectFileError;
use kiln_lock::LockError;
use kiln_metadata::{BuildSystemError, MetadataError};
use kiln_native::NativeError;
use kiln_pep517::Pep517Error;
use kiln_record::RecordError;
use kiln_release::config::{ConfigError, RELEASE_TOML};
use kiln_release::pins::{PINS_TOML, PinsError};
use kiln_verify::list::ListError;
use kiln_verify::rebuilt::CopyError;
use kiln_wheelhouse::WheelhouseError;

/// An error of xtask's own about a file (or URL) and maybe a field in it:
/// displayed as its message, located by `locate`.
#[derive(Debug)]
pub struct Located {
    message: String,
    path: Option<String>,
    field: Option<String>,
}

impl Located {
    /// `message` (the whole line a user reads), about the file `path`.
    pub fn at(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            path: Some(path.as_ref().display().to_string()),
            field: None,
        }
    }

    /// The field or key within the file the message is about.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Located {}

/// The file and field an error is about, where it is known.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: Option<String>,
    pub field: Option<String>,
}

impl Location {
    fn new(path: impl Into<Option<String>>, field: impl Into<Option<String>>) -> Option<Self> {
        let location = Self {
            path: path.into(),
            field: field.into(),
        };
        (location != Self::default()).then_some(location)
    }

    fn file(path: &Path) -> Option<Self> {
        Self::new(shown(path), None)
    }

    fn in_file(path: &Path, field: impl Into<String>) -> Option<Self> {
        Self::new(shown(path), Some(field.into()))
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Where `err` is: the place the first error of a known type in its chain
/// names, or nothing.
pub fn locate(err: &anyhow::Error) -> Location {
    err.chain().find_map(one).unwrap_or_default()
}

/// The place one error names, if it is of a known type and names one.
fn one(e: &(dyn StdError + 'static)) -> Option<Location> {
    /// `read` applied to `e` if `e` is a `T`.
    fn via<T: StdError + 'static>(
        e: &(dyn StdError + 'static),
        read: fn(&T) -> Option<Location>,
    ) -> Option<Option<Location>> {
        e.downcast_ref::<T>().map(read)
    }
    via(e, located)
        .or_else(|| via(e, metadata))
        .or_else(|| via(e, build_system))
        .or_else(|| via(e, project_file))
        .or_else(|| via(e, native))
        .or_else(|| via(e, archive))
        .or_else(|| via(e, canon))
        .or_else(|| via(e, canon_file))
        .or_else(|| via(e, diff))
        .or_else(|| via(e, lock))
        .or_else(|| via(e, record))
        .or_else(|| via(e, config))
        .or_else(|| via(e, pins))
        .or_else(|| via(e, fetch))
        .or_else(|| via(e, page))
        .or_else(|| via(e, pep517))
        .or_else(|| via(e, list))
        .or_else(|| via(e, copy))
        .or_else(|| via(e, wheelhouse))
        .flatten()
}

fn located(e: &Located) -> Option<Location> {
    Location::new(e.path.clone(), e.field.clone())
}

fn metadata(e: &MetadataError) -> Option<Location> {
    match e {
        MetadataError::Toml { path, .. } | MetadataError::Rewrite { path, .. } => {
            Location::file(path)
        }
        MetadataError::Missing { path, field, .. } => Location::in_file(path, *field),
        MetadataError::Field { path, field, .. }
        | MetadataError::Dependency { path, field, .. }
        | MetadataError::Unsupported { path, field } => Location::in_file(path, field),
        // `project.dynamic` lists the fields; the first one is where to look.
        MetadataError::Dynamic { path, .. } => Location::in_file(path, "project.dynamic"),
    }
}

fn build_system(e: &BuildSystemError) -> Option<Location> {
    use BuildSystemError as E;
    match e {
        E::NotAProject { dir } => Location::file(dir),
        E::NoPyproject { path } | E::Toml { path, .. } => Location::file(path),
        E::NotATable { path } => Location::in_file(path, "build-system"),
        E::NotAList { path, field, .. } | E::NotAString { path, field, .. } => {
            Location::in_file(path, format!("build-system.{field}"))
        }
        E::NoRequires { path } | E::Requirement { path, .. } => {
            Location::in_file(path, "build-system.requires")
        }
        E::NoBackend { path } | E::Backend { path, .. } => {
            Location::in_file(path, "build-system.build-backend")
        }
        E::BackendPath { path, .. } => Location::in_file(path, "build-system.backend-path"),
    }
}

fn project_file(e: &ProjectFileError) -> Option<Location> {
    use ProjectFileError as E;
    match e {
        E::NotFound { path }
        | E::Outside { path, .. }
        | E::NotRegular { path, .. }
        | E::TooLarge { path, .. }
        | E::Shrank { path, .. }
        | E::NotUtf8 { path }
        | E::Io { path, .. } => Location::file(path),
    }
}

fn native(e: &NativeError) -> Option<Location> {
    use NativeError as E;
    match e {
        // Transparent: their chain skips the inner error, so look inside.
        E::Metadata(inner) => metadata(inner),
        E::ProjectFile(inner) => project_file(inner),
        E::NoPyproject { dir } => Location::file(dir),
        E::NotUvBuild { path, .. } => Location::in_file(path, "build-system.build-backend"),
        E::GlobNoMatch { path, field, .. } => Location::in_file(path, field),
        E::InvalidSettingPath { field, .. } | E::Glob { field, .. } => {
            Location::new(None, Some(field.clone()))
        }
        E::MissingModule { expected, .. } => Location::file(expected),
        E::LicenseNotUtf8 { path }
        | E::Read { path, .. }
        | E::Walk { path, .. }
        | E::UnsupportedFileType { path }
        | E::TooLargeForWheel { path, .. }
        | E::NonUtf8Path { path }
        | E::Overlap { path, .. }
        | E::Write { path, .. } => Location::file(path),
        E::SymlinkOutside { link, .. } | E::SymlinkLoop { link, .. } => Location::file(link),
        E::Archive { source, .. } => archive(source),
        E::InvalidModuleName { .. } | E::Cancelled => None,
    }
}

/// An archive's name is its path; the member (or the structure, such as
/// the end of the central directory) is the field.
fn archive(e: &ArchiveError) -> Option<Location> {
    use ArchiveError as E;
    match e {
        E::Read { archive, entry, .. }
        | E::Output { archive, entry, .. }
        | E::Malformed { archive, entry, .. }
        | E::Refused { archive, entry, .. }
        | E::LimitExceeded { archive, entry, .. } => {
            Location::new(Some(archive.clone()), Some(entry.clone()))
        }
        // The writers' errors name the member being written.
        E::InvalidPath { path, .. }
        | E::DuplicatePath { path }
        | E::Unsorted { path, .. }
        | E::Write { path, .. }
        | E::Deflate { path, .. }
        | E::Zip64Needed { path, .. } => Location::new(None, Some(path.clone())),
        E::EpochOutOfRange { .. } => None,
    }
}

fn canon_file(e: &FileError) -> Option<Location> {
    match e {
        // Transparent: its chain skips the inner error, so look inside.
        FileError::Canon(inner) => canon(inner),
        FileError::Open { path, .. } | FileError::Write { path, .. } => Location::file(path),
        FileError::Unfinished { path } => Location::file(path),
        FileError::Publish(_) | FileError::Digest(_) | FileError::Spool(_) => None,
    }
}

fn canon(e: &CanonError) -> Option<Location> {
    use CanonError as E;
    let at = |archive: &String, member: &String| {
        Location::new(Some(archive.clone()), Some(member.clone()))
    };
    match e {
        E::Read {
            archive, member, ..
        }
        | E::Write {
            archive, member, ..
        }
        | E::Spool {
            archive, member, ..
        }
        | E::NoTopDirectory { archive, member }
        | E::StrayEntry {
            archive, member, ..
        }
        | E::DirectoryWithData {
            archive, member, ..
        }
        | E::DistInfoCount {
            archive, member, ..
        }
        | E::MissingRecord { archive, member }
        | E::RecordTooLarge {
            archive, member, ..
        }
        | E::RecordNotUtf8 {
            archive, member, ..
        }
        | E::RecordSyntax {
            archive, member, ..
        }
        | E::UnsupportedHash {
            archive, member, ..
        }
        | E::HashMismatch {
            archive, member, ..
        }
        | E::SizeMismatch {
            archive, member, ..
        }
        | E::NotInRecord {
            archive, member, ..
        }
        | E::RecordRowWithoutMember {
            archive, member, ..
        }
        | E::DuplicateRecordRow {
            archive, member, ..
        } => at(archive, member),
        E::EmptyWheel { archive } => Location::new(Some(archive.clone()), None),
    }
}

fn diff(e: &DiffError) -> Option<Location> {
    match e {
        DiffError::UnknownKind { archive } | DiffError::Empty { archive, .. } => {
            Location::new(Some(archive.clone()), None)
        }
        // The second file is the one that does not match the first.
        DiffError::KindMismatch { b, .. } => Location::new(Some(b.clone()), None),
        DiffError::Io { path, .. } => Location::file(path),
        DiffError::Archive { archive, entry, .. } => {
            Location::new(Some(archive.clone()), Some(entry.clone()))
        }
    }
}

fn lock(e: &LockError) -> Option<Location> {
    match e {
        LockError::Syntax { file, .. } => Location::new(Some(file.clone()), None),
        LockError::Version { file, .. } => {
            Location::new(Some(file.clone()), Some("version".into()))
        }
        LockError::Package { file, package, .. } => {
            Location::new(Some(file.clone()), Some(package.clone()))
        }
    }
}

fn config(e: &ConfigError) -> Option<Location> {
    match e {
        // Transparent: its chain skips the inner error, so look inside.
        ConfigError::Read(inner) => project_file(inner),
        e => Location::new(Some(RELEASE_TOML.to_owned()), e.field().map(str::to_owned)),
    }
}

fn pins(e: &PinsError) -> Option<Location> {
    match e {
        PinsError::Read(inner) => project_file(inner),
        e => Location::new(Some(PINS_TOML.to_owned()), e.field().map(str::to_owned)),
    }
}

fn record(e: &RecordError) -> Option<Location> {
    match e {
        RecordError::Syntax { file, .. } => Location::new(Some(file.clone()), None),
        RecordError::Missing { file, field } => {
            Location::new(Some(file.clone()), Some(field.clone()))
        }
        RecordError::Incomplete { file, field, .. } => {
            Location::new(Some(file.clone()), Some((*field).to_owned()))
        }
    }
}

/// A download's place is its URL.
fn fetch(e: &FetchError) -> Option<Location> {
    use FetchError as E;
    match e {
        E::NotFound { url }
        | E::Http { url, .. }
        | E::TooLarge { url, .. }
        | E::Network { url, .. }
        | E::BadUrl { url, .. }
        | E::BadFileName { url, .. }
        | E::Deadline { url, .. }
        | E::TooSlow { url, .. } => Location::new(Some(url.clone()), None),
        E::Io { path, .. } => Location::file(path),
        E::Roots { bundle, .. } => Location::new(Some(bundle.clone()), None),
        E::Setting { name, .. } => Location::new(None, Some((*name).to_owned())),
    }
}

fn page(e: &PageError) -> Option<Location> {
    match e {
        PageError::Fetch { source, .. } => fetch(source),
        PageError::Parse { url, .. } => Location::new(Some(url.clone()), None),
        PageError::ProjectName(_) | PageError::PageUrl(_) => None,
    }
}

/// A published copy compared with a rebuild: the diff engine's place.
fn copy(e: &CopyError) -> Option<Location> {
    match e {
        CopyError::Diff(inner) => diff(inner),
        CopyError::Digest(_) => None,
    }
}

/// A `--list` file's place is the file.
fn list(e: &ListError) -> Option<Location> {
    Location::file(e.path())
}

/// A published wheelhouse's file or directory that cannot be read.
fn wheelhouse(e: &WheelhouseError) -> Option<Location> {
    e.path().and_then(Location::file)
}

fn pep517(e: &Pep517Error) -> Option<Location> {
    use Pep517Error as E;
    match e {
        E::Io { path, .. } | E::Walk { path, .. } | E::NoLock { path } => Location::file(path),
        E::LockForOtherBackend { lock, .. }
        | E::LockForOtherPython { lock, .. }
        | E::Unsatisfied { lock, .. } => Location::file(lock),
        E::NoOutput { path, .. } => Location::file(path),
        // Transparent: look inside.
        E::Lock(inner) => lock(inner),
        E::Archive(inner) => archive(inner),
        E::Canon(inner) => canon(inner),
        E::InstallRead { source, .. } | E::Unpack { source, .. } => archive(source),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn the_first_typed_error_in_the_chain_names_the_place() {
        let typed = MetadataError::Field {
            path: "p/pyproject.toml".into(),
            field: "project.version".into(),
            problem: "x".into(),
            fix: "y".into(),
        };
        let err = anyhow::Error::from(typed).context("building p");
        assert_eq!(
            locate(&err),
            Location {
                path: Some("p/pyproject.toml".into()),
                field: Some("project.version".into()),
            }
        );
        // A transparent wrapper is looked through.
        let err = anyhow::Error::from(NativeError::Metadata(MetadataError::Unsupported {
            path: "q/pyproject.toml".into(),
            field: "tool.uv.build-backend.x".into(),
        }));
        assert_eq!(
            locate(&err).field.as_deref(),
            Some("tool.uv.build-backend.x")
        );
    }

    #[test]
    fn a_message_alone_locates_nothing_even_if_it_reads_like_a_place() {
        let err = anyhow::anyhow!("release.toml: `epoch` is x").context("dist/a.whl: failed");
        assert_eq!(locate(&err), Location::default());
        let err: anyhow::Result<()> = Err(Located::at("release/release.toml", "bad")
            .field("epoch")
            .into());
        let err = err.context("loading the configuration").unwrap_err();
        assert_eq!(
            locate(&err),
            Location {
                path: Some("release/release.toml".into()),
                field: Some("epoch".into()),
            }
        );
    }
}
