//! The crate's one error type. Every variant names the archive (as the
//! caller named it) and, where there is one, the entry, so a refusal reads
//! as "archive: entry: what is wrong". Differences are never errors: they
//! are the report.

use std::io;
use std::path::PathBuf;

use kiln_archive::ArchiveError;

use crate::ArchiveKind;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Neither `.whl` nor `.tar.gz`.
    #[error(
        "{archive}: cannot tell the kind of archive from its file name (a wheel ends in .whl, an sdist in .tar.gz)"
    )]
    UnknownKind { archive: String },

    /// One sdist and one wheel.
    #[error("{a} is {a_kind} and {b} is {b_kind}: diff compares two sdists or two wheels")]
    KindMismatch {
        a: String,
        b: String,
        a_kind: ArchiveKind,
        b_kind: ArchiveKind,
    },

    /// The file could not be opened or read.
    #[error("{archive}: cannot read {}", path.display())]
    Io {
        archive: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// No regular file at all (an empty archive, or directories only):
    /// nothing to compare. Refused like any unreadable input (`normalize`
    /// refuses it too), not reported as a difference.
    #[error(
        "{archive}: the archive holds no file: {kind} without members has no content to compare"
    )]
    Empty { archive: String, kind: ArchiveKind },

    /// The bounded reader refused the archive or could not parse it.
    // Boxed: large, and a `Result` carries its error on every happy path.
    #[error("{archive}: {entry}: cannot read the archive")]
    Archive {
        archive: String,
        entry: String,
        #[source]
        source: Box<ArchiveError>,
    },
}

impl DiffError {
    pub(crate) fn archive(archive: &str, source: ArchiveError) -> Self {
        Self::Archive {
            archive: archive.to_owned(),
            entry: entry_of(&source),
            source: Box::new(source),
        }
    }

    /// Where the error is, for a `--json` error object: the file, and the
    /// entry as the field. Of two files of different kinds, the second is
    /// the one that does not match the first.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Self::UnknownKind { archive } | Self::Empty { archive, .. } => {
                Some((Some(archive.clone()), None))
            }
            Self::KindMismatch { b, .. } => Some((Some(b.clone()), None)),
            Self::Io { path, .. } => Some((Some(path.display().to_string()), None)),
            Self::Archive { archive, entry, .. } => {
                Some((Some(archive.clone()), Some(entry.clone())))
            }
        }
    }
}

/// The entry a reader error names (the readers put one in every variant
/// they produce); the writer-side variants cannot come from reading.
fn entry_of(e: &ArchiveError) -> String {
    match e {
        ArchiveError::Read { entry, .. }
        | ArchiveError::Malformed { entry, .. }
        | ArchiveError::Refused { entry, .. }
        | ArchiveError::LimitExceeded { entry, .. } => entry.clone(),
        _ => "(archive)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_error_is_at_the_second_file_of_a_mismatch() {
        let err = DiffError::KindMismatch {
            a: "a.whl".into(),
            b: "b.tar.gz".into(),
            a_kind: ArchiveKind::Wheel,
            b_kind: ArchiveKind::Sdist,
        };
        assert_eq!(err.location(), Some((Some("b.tar.gz".into()), None)));
    }
}
