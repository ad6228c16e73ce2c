//! The crate's one error type. Every variant names the archive and the
//! member it was working on, so a refusal reads as "archive: member: what
//! is wrong" and `build`/`verify` can print it as it is.

use kiln_archive::ArchiveError;

#[derive(Debug, thiserror::Error)]
pub enum CanonError {
    // The archive errors are boxed: they are large, and a `Result` carries
    // its error by value on every happy path.
    /// The bounded reader refused or could not parse the archive.
    #[error("{archive}: {member}: cannot read the archive")]
    Read {
        archive: String,
        member: String,
        #[source]
        source: Box<ArchiveError>,
    },

    /// The canonical writer refused a member (a path it cannot write, an
    /// epoch a zip cannot hold).
    #[error("{archive}: {member}: cannot write the canonical archive")]
    Write {
        archive: String,
        member: String,
        #[source]
        source: Box<ArchiveError>,
    },

    /// The spool file holding an sdist's member data between reading and
    /// writing failed (disk full, say).
    #[error("{archive}: {member}: cannot use the spool file")]
    Spool {
        archive: String,
        member: String,
        #[source]
        source: std::io::Error,
    },

    /// An sdist holds no file at all, so it has no top-level directory.
    #[error(
        "{archive}: {member}: an sdist must hold one top-level directory, and this one holds no file"
    )]
    NoTopDirectory { archive: String, member: String },

    /// A wheel holds no file at all (no members, or directories only):
    /// refused as `kiln-diff` refuses an empty archive.
    #[error(
        "{archive}: (no entries): a wheel must hold its files and .dist-info, and this one holds no file"
    )]
    EmptyWheel { archive: String },

    /// An entry outside the sdist's single top-level directory.
    #[error(
        "{archive}: {member}: outside the top-level directory {top:?} (an sdist holds exactly one)"
    )]
    StrayEntry {
        archive: String,
        member: String,
        top: String,
    },

    /// A zip directory entry that carries data: dropping it would lose bytes.
    #[error("{archive}: {member}: directory entry with {size} bytes of data")]
    DirectoryWithData {
        archive: String,
        member: String,
        size: usize,
    },

    /// Not exactly one top-level `*.dist-info` directory in a wheel.
    #[error("{archive}: {member}: a wheel holds exactly one .dist-info directory, found {found:?}")]
    DistInfoCount {
        archive: String,
        member: String,
        found: Vec<String>,
    },

    /// The `.dist-info` directory has no RECORD.
    #[error("{archive}: {member}: missing (every wheel carries a RECORD)")]
    MissingRecord { archive: String, member: String },

    /// RECORD is not UTF-8.
    #[error("{archive}: {member}: RECORD is {size} bytes, over the limit of {limit}")]
    RecordTooLarge {
        archive: String,
        member: String,
        size: u64,
        limit: u64,
    },

    #[error("{archive}: {member}: RECORD is not UTF-8")]
    RecordNotUtf8 {
        archive: String,
        member: String,
        #[source]
        source: std::str::Utf8Error,
    },

    /// RECORD is not well-formed CSV, or a row has the wrong shape.
    #[error("{archive}: {member}: line {line}: {reason}")]
    RecordSyntax {
        archive: String,
        member: String,
        line: usize,
        reason: String,
    },

    /// A RECORD hash names an algorithm kiln does not check.
    #[error("{archive}: {member}: unsupported RECORD hash {hash:?} (sha256 or sha512 expected)")]
    UnsupportedHash {
        archive: String,
        member: String,
        hash: String,
    },

    #[error("{archive}: {member}: RECORD says {recorded}, the member's bytes give {actual}")]
    HashMismatch {
        archive: String,
        member: String,
        recorded: String,
        actual: String,
    },

    #[error("{archive}: {member}: RECORD says size {recorded:?}, the member has {actual} bytes")]
    SizeMismatch {
        archive: String,
        member: String,
        recorded: String,
        actual: usize,
    },

    /// A member the RECORD does not list.
    #[error("{archive}: {member}: not listed in {record}")]
    NotInRecord {
        archive: String,
        member: String,
        record: String,
    },

    /// A RECORD row naming no member of the wheel.
    #[error("{archive}: {member}: listed in {record} (line {line}) but not in the wheel")]
    RecordRowWithoutMember {
        archive: String,
        member: String,
        record: String,
        line: usize,
    },

    /// The same path in two RECORD rows.
    #[error("{archive}: {member}: listed twice in {record} (lines {first} and {line})")]
    DuplicateRecordRow {
        archive: String,
        member: String,
        record: String,
        first: usize,
        line: usize,
    },
}

impl CanonError {
    /// Where the error is, for a `--json` error object: the archive (its
    /// name is its path) and the member as the field.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use CanonError as E;
        match self {
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
            } => Some((Some(archive.clone()), Some(member.clone()))),
            E::EmptyWheel { archive } => Some((Some(archive.clone()), None)),
        }
    }
}

/// The entry a reader error names (the readers put it in every variant
/// they produce), or a placeholder for the few writer-side variants.
pub(crate) fn entry_of(e: &ArchiveError) -> String {
    match e {
        ArchiveError::Read { entry, .. }
        | ArchiveError::Output { entry, .. }
        | ArchiveError::Malformed { entry, .. }
        | ArchiveError::Refused { entry, .. }
        | ArchiveError::LimitExceeded { entry, .. } => entry.clone(),
        ArchiveError::InvalidPath { path, .. }
        | ArchiveError::DuplicatePath { path }
        | ArchiveError::Unsorted { path, .. }
        | ArchiveError::Write { path, .. }
        | ArchiveError::Deflate { path, .. }
        | ArchiveError::Zip64Needed { path, .. } => path.clone(),
        ArchiveError::EpochOutOfRange { .. } => "(container)".to_owned(),
    }
}

pub(crate) fn read_error(archive: &str, source: ArchiveError) -> CanonError {
    CanonError::Read {
        archive: archive.to_owned(),
        member: entry_of(&source),
        source: Box::new(source),
    }
}

pub(crate) fn write_error(archive: &str, source: ArchiveError) -> CanonError {
    CanonError::Write {
        archive: archive.to_owned(),
        member: entry_of(&source),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canon_error_is_at_its_archive_and_member() {
        let err = CanonError::MissingRecord {
            archive: "dist/a.whl".into(),
            member: "a-1.dist-info/RECORD".into(),
        };
        assert_eq!(
            err.location(),
            Some((
                Some("dist/a.whl".into()),
                Some("a-1.dist-info/RECORD".into())
            ))
        );
        let err = CanonError::EmptyWheel {
            archive: "dist/a.whl".into(),
        };
        assert_eq!(err.location(), Some((Some("dist/a.whl".into()), None)));
    }
}
