//! Where an error is: the file (or URL) and the field a failed command's
//! `--json` error object names, taken from the typed errors that know
//! them, never guessed from a message's text.
//!
//! `locate` walks an error's chain, outermost first, and the first error
//! of a known type that names a place gives both `path` and `field`
//! (either may be absent: a file without a field, an unreadable archive
//! without a member). An error no known type explains has neither. Each
//! library crate's error type says where it is (its `location`), from the
//! places its variants carry; xtask's own checks that have a file or a
//! field at hand say so with [`Located`]. A new error type is added to
//! the walk here once.

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
use kiln_release::config::ConfigError;
use kiln_release::pins::PinsError;
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
    fn new(path: Option<String>, field: Option<String>) -> Option<Self> {
        let location = Self { path, field };
        (location != Self::default()).then_some(location)
    }
}

/// Where `err` is: the place the first error of a known type in its chain
/// names, or nothing.
pub fn locate(err: &anyhow::Error) -> Location {
    err.chain().find_map(one).unwrap_or_default()
}

/// A file and a field, as each error type's `location` says them.
type Place = Option<(Option<String>, Option<String>)>;

/// The place one error names, if it is of a known type and names one.
fn one(e: &(dyn StdError + 'static)) -> Option<Location> {
    /// `read` applied to `e` if `e` is a `T`.
    fn via<T: StdError + 'static>(
        e: &(dyn StdError + 'static),
        read: fn(&T) -> Place,
    ) -> Option<Place> {
        e.downcast_ref::<T>().map(read)
    }
    via(e, |e: &Located| Some((e.path.clone(), e.field.clone())))
        .or_else(|| via(e, MetadataError::location))
        .or_else(|| via(e, BuildSystemError::location))
        .or_else(|| via(e, ProjectFileError::location))
        .or_else(|| via(e, NativeError::location))
        .or_else(|| via(e, ArchiveError::location))
        .or_else(|| via(e, CanonError::location))
        .or_else(|| via(e, FileError::location))
        .or_else(|| via(e, DiffError::location))
        .or_else(|| via(e, LockError::location))
        .or_else(|| via(e, RecordError::location))
        .or_else(|| via(e, ConfigError::location))
        .or_else(|| via(e, PinsError::location))
        .or_else(|| via(e, FetchError::location))
        .or_else(|| via(e, PageError::location))
        .or_else(|| via(e, Pep517Error::location))
        .or_else(|| via(e, ListError::location))
        .or_else(|| via(e, CopyError::location))
        .or_else(|| via(e, WheelhouseError::location))
        .flatten()
        .and_then(|(path, field)| Location::new(path, field))
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
