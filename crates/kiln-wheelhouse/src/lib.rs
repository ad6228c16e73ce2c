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
//! `requirements.txt`, and its check).

mod house;
mod requirements;
mod sdist;
mod statement;

pub use house::{
    DISTINFO, Difference, Entry, LOCKS_DIR, REQUIREMENTS, SHA256SUMS, SOURCES, STATEMENT,
    Wheelhouse, compare, lock_file, signed_files,
};
pub use requirements::{MAX_REQUIREMENTS_SIZE, Pinned, Requirement, parse, render};
pub use sdist::{LATEST_EPOCH, Sdist, choose, is_sdist_of};
pub use statement::{BUILD_TYPE, RunFacts, check_subjects, statement_json};

use std::path::PathBuf;

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
}
