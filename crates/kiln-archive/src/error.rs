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
