//! The crate's one error type. Every variant names the archive and/or the
//! member it was working on, so a rejection of a hostile archive reads as
//! "archive: entry: what is wrong".

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("invalid member path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    #[error("duplicate member {path:?}")]
    DuplicatePath { path: String },

    #[error(
        "member {path:?} does not sort bytewise after the previous member {previous:?} \
         (tar members must be strictly increasing)"
    )]
    Unsorted { path: String, previous: String },

    #[error("failed to write {archive} member {path:?}")]
    Write {
        archive: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("failed to deflate {archive} data for {path:?}")]
    Deflate {
        archive: &'static str,
        path: String,
        #[source]
        source: flate2::CompressError,
    },

    #[error(
        "epoch {epoch} is outside the range a zip DOS time can hold (1980-01-01 to 2107-12-31 UTC)"
    )]
    EpochOutOfRange { epoch: u64 },

    #[error("zip member {path:?}: {what} needs zip64, which kiln does not write yet")]
    Zip64Needed { path: String, what: &'static str },

    #[error("{archive}: {entry}: failed to read")]
    Read {
        archive: String,
        entry: String,
        #[source]
        source: io::Error,
    },

    /// The writer a member's data was being copied to failed.
    #[error("{archive}: {entry}: failed to write the member's data out")]
    Output {
        archive: String,
        entry: String,
        #[source]
        source: io::Error,
    },

    #[error("{archive}: {entry}: malformed: {reason}")]
    Malformed {
        archive: String,
        entry: String,
        reason: String,
    },

    #[error("{archive}: {entry}: refused: {reason}")]
    Refused {
        archive: String,
        entry: String,
        reason: String,
    },

    #[error("{archive}: {entry}: {what} is {actual}, over the limit of {limit}")]
    LimitExceeded {
        archive: String,
        entry: String,
        what: &'static str,
        actual: u64,
        limit: u64,
    },
}

impl ArchiveError {
    /// Where the error is, for a `--json` error object: the archive (its
    /// name is its path) and the member, or the structure such as the end
    /// of the central directory, as the field. The writers' errors name
    /// only the member being written.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use ArchiveError as E;
        match self {
            E::Read { archive, entry, .. }
            | E::Output { archive, entry, .. }
            | E::Malformed { archive, entry, .. }
            | E::Refused { archive, entry, .. }
            | E::LimitExceeded { archive, entry, .. } => {
                Some((Some(archive.clone()), Some(entry.clone())))
            }
            E::InvalidPath { path, .. }
            | E::DuplicatePath { path }
            | E::Unsorted { path, .. }
            | E::Write { path, .. }
            | E::Deflate { path, .. }
            | E::Zip64Needed { path, .. } => Some((None, Some(path.clone()))),
            E::EpochOutOfRange { .. } => None,
        }
    }
}

/// Context for reader errors: which archive, so each helper can name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub archive: &'a str,
}

impl Ctx<'_> {
    pub fn malformed(&self, entry: impl Into<String>, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Malformed {
            archive: self.archive.to_owned(),
            entry: entry.into(),
            reason: reason.into(),
        }
    }
    pub fn refused(&self, entry: impl Into<String>, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Refused {
            archive: self.archive.to_owned(),
            entry: entry.into(),
            reason: reason.into(),
        }
    }
    pub fn limit(
        &self,
        entry: impl Into<String>,
        what: &'static str,
        actual: u64,
        limit: u64,
    ) -> ArchiveError {
        ArchiveError::LimitExceeded {
            archive: self.archive.to_owned(),
            entry: entry.into(),
            what,
            actual,
            limit,
        }
    }
    pub fn read(&self, entry: impl Into<String>, source: io::Error) -> ArchiveError {
        ArchiveError::Read {
            archive: self.archive.to_owned(),
            entry: entry.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_error_is_at_its_archive_and_member() {
        let ctx = Ctx {
            archive: "dist/a.zip",
        };
        let err = ctx.malformed("a/b.py", "bad");
        assert_eq!(
            err.location(),
            Some((Some("dist/a.zip".into()), Some("a/b.py".into())))
        );
        let err = ArchiveError::DuplicatePath { path: "x".into() };
        assert_eq!(err.location(), Some((None, Some("x".into()))));
    }
}
