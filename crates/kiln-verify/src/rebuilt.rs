//! A rebuild of anyone's release (`rebuild`, `verify --wheelhouse`)
//! against a published copy: digests first, and only a copy whose sha256
//! differs is opened, by the diff engine's bounded readers.

use kiln_diff::{DiffError, DiffOptions, DiffReport, Level, diff_files};
use kiln_digest::{DigestError, Digests};
use std::path::Path;

/// Why a published copy could not be compared with the rebuild.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error(transparent)]
    Diff(#[from] DiffError),
}

impl CopyError {
    /// Where the error is, for a `--json` error object: the diff engine's
    /// place.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Self::Diff(inner) => inner.location(),
            Self::Digest(_) => None,
        }
    }
}

/// The published copy at `published` (`label`: its path or URL; it is the
/// published `filename`) against the rebuilt file at `ours`, whose sha256
/// (hex) is `our_sha256`: identical digests need no parsing; otherwise the
/// level and the diff that explains it.
pub fn against_published(
    published: &Path,
    label: &str,
    filename: &str,
    ours: &Path,
    our_sha256: &str,
) -> Result<(Level, Option<Box<DiffReport>>), CopyError> {
    let digests = Digests::of_file(published)?;
    if digests.sha256_hex() == our_sha256 {
        return Ok((Level::Identical, None));
    }
    let diff = diff_files(
        published,
        ours,
        label,
        &format!("rebuilt {filename}"),
        &DiffOptions::default(),
    )?;
    Ok((diff.level, Some(Box::new(diff))))
}

/// What differs between a published wheel and its rebuild, as text to
/// print (or why they cannot be compared).
pub fn explain_wheel(published: &Path, rebuilt: &Path) -> String {
    diff_files(
        published,
        rebuilt,
        "published",
        "rebuilt",
        &DiffOptions::default(),
    )
    .map(|r| r.render())
    .unwrap_or_else(|e| format!("(cannot compare them: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_digests_are_not_parsed_and_others_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let ours = tmp.path().join("ours.tar.gz");
        let theirs = tmp.path().join("theirs.tar.gz");
        // Not archives at all: equal digests never reach the diff engine.
        std::fs::write(&ours, b"same bytes").unwrap();
        std::fs::write(&theirs, b"same bytes").unwrap();
        let sha = Digests::of_file(&ours).unwrap().sha256_hex();
        let (level, diff) = against_published(&theirs, "p", "a-1.0.tar.gz", &ours, &sha).unwrap();
        assert_eq!(level, Level::Identical);
        assert!(diff.is_none());

        std::fs::write(&theirs, b"other bytes").unwrap();
        let e = against_published(&theirs, "p", "a-1.0.tar.gz", &ours, &sha).unwrap_err();
        assert!(matches!(e, CopyError::Diff(_)), "{e}");
        let e = against_published(&tmp.path().join("none"), "p", "a", &ours, &sha).unwrap_err();
        assert!(matches!(e, CopyError::Digest(_)), "{e}");

        let text = explain_wheel(&theirs, &ours);
        assert!(text.starts_with("(cannot compare them: "), "{text}");
    }

    #[test]
    fn a_copy_error_is_where_the_diff_engine_says() {
        let err = CopyError::Diff(DiffError::UnknownKind {
            archive: "a.zip".into(),
        });
        assert_eq!(err.location(), Some((Some("a.zip".into()), None)));
    }
}
