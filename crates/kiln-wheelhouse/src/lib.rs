//! A reproducible wheelhouse: the decisions of `cargo xtask wheelhouse`
//! and `verify --wheelhouse`, with no network and no processes (xtask
//! fetches the sdists and runs the builds).
//!
//! Codemap: `requirements` (the hash-pinned requirements file: parsed
//! strictly, rendered canonically), `sdist` (which file of an index page a
//! requirement pins, the epoch its wheel is built with, unpacking it after
//! its digest was checked), `house` (the directory's layout and its texts:
//! `requirements.txt` of the built wheels, `sources.txt`, `SHA256SUMS` and
//! the `.distinfo` record; and the comparison with a rebuild), `statement`
//! (the in-toto statement whose subjects are the wheels and
//! `requirements.txt`, and its check: signatures and subjects),
//! `published` (a published wheelhouse read back: its files with digests,
//! its small texts read capped).

mod house;
mod published;
mod requirements;
mod sdist;
mod statement;

pub use house::{
    DISTINFO, Difference, Entry, LOCKS_DIR, REQUIREMENTS, SHA256SUMS, SOURCES, STATEMENT,
    Wheelhouse, compare, lock_file, signed_files,
};
pub use published::{published_files, read_small};
pub use requirements::{MAX_REQUIREMENTS_SIZE, Pinned, Requirement, parse, render};
pub use sdist::{
    LATEST_EPOCH, Sdist, check_built, check_index_sha256, check_sdist_sha256, choose, is_sdist_of,
};
pub use statement::{BUILD_TYPE, RunFacts, check_statement, check_subjects, statement_json};

use std::path::{Path, PathBuf};

/// Why a wheelhouse cannot be made or checked. Each variant names the
/// requirement, file or statement it was working on.
#[derive(Debug, thiserror::Error)]
pub enum WheelhouseError {
    #[error("{file}:{line}: {text}: {problem}")]
    Requirement {
        file: String,
        line: usize,
        text: String,
        problem: String,
    },
    #[error("{file}: no requirement: list `name==version --hash=sha256:<hex>` lines")]
    NoRequirements { file: String },
    #[error(
        "{requirement}: the index lists no sdist of this version ({others} other file(s)): a wheelhouse is built from sdists; check the name and version"
    )]
    NoSdist { requirement: String, others: usize },
    #[error("{requirement}: the index lists more than one sdist of this version: {files}")]
    ManySdists { requirement: String, files: String },
    #[error("{filename}: not a readable sdist")]
    Unreadable {
        filename: String,
        #[source]
        source: Box<kiln_archive::ArchiveError>,
    },
    #[error("{filename}: {problem}")]
    Layout { filename: String, problem: String },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the wheelhouse statement: {problem}")]
    Statement { problem: String },
    /// A statement line that is no envelope, or not signed by a trusted
    /// key, or a statement file without one.
    #[error("{problem}")]
    Signature { problem: String },
    #[error(
        "hash mismatch: the index states sha256 {stated} for {filename}, the requirement pins {pinned}"
    )]
    IndexHash {
        filename: String,
        stated: String,
        pinned: String,
    },
    #[error(
        "hash mismatch: {filename} from {url} has sha256 {sha256}, the requirement pins {pinned}"
    )]
    SdistHash {
        filename: String,
        url: String,
        sha256: String,
        pinned: String,
    },
    #[error("the sdist builds {name} {version}, not {pin}")]
    BuiltOther {
        name: String,
        version: String,
        pin: String,
    },
    #[error(transparent)]
    Name(#[from] kiln_names::NameError),
    #[error("failed to list {}", path.display())]
    Listing {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
    #[error(transparent)]
    Digest(#[from] kiln_digest::DigestError),
    #[error("{what} {}: {problem}", path.display())]
    Small {
        what: String,
        path: PathBuf,
        problem: String,
    },
    #[error("{what} {}: cannot read it", path.display())]
    SmallIo {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WheelhouseError {
    /// The file a reading error is about (a published wheelhouse's file or
    /// directory), if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Listing { path, .. } | Self::Small { path, .. } | Self::SmallIo { path, .. } => {
                Some(path)
            }
            _ => None,
        }
    }

    /// Where the error is, for a `--json` error object: a published
    /// wheelhouse's file or directory that cannot be read.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        self.path()
            .map(|path| (Some(path.display().to_string()), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_error_is_at_its_file() {
        let err = WheelhouseError::Small {
            what: "statement".into(),
            path: "w/statement.jsonl".into(),
            problem: "x".into(),
        };
        assert_eq!(
            err.location(),
            Some((Some("w/statement.jsonl".into()), None))
        );
    }
}
