//! The real-world corpus: published sdists and wheels of real Python
//! projects that kiln's tests and benchmark use as data.
//!
//! The files are not in the repository. `corpus.toml` (beside this crate's
//! manifest, compiled in) pins each one: project, version, kind, file
//! name, the PyPI URL it is served from, its sha256 and size. A [`Cache`]
//! gives a file's bytes or path: it downloads the file on first use into
//! the cache directory the caller names (tests use `target/kiln-corpus/`),
//! checks its size and sha256 against the manifest before anything opens
//! it, and publishes it atomically; later uses are cache hits, checked
//! again. A cached file that no longer matches is downloaded again.
//!
//! This is test support: kiln's libraries take it as a dev-dependency
//! only, and the caller (a test, or xtask) decides where the cache lives,
//! since a library never reads the environment.

mod cache;
mod download;
mod manifest;

pub use cache::{CACHE_SETTING, Cache, ROOTS_SETTING};
pub use manifest::{CorpusFile, Kind, Manifest};

use std::path::PathBuf;

/// The manifest as committed: `corpus.toml`.
pub const MANIFEST: &str = include_str!("../corpus.toml");

/// Why a corpus file could not be had. Each variant names the file, URL
/// or path it was working on.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("the corpus manifest is not valid TOML of [[file]] entries: {message}")]
    Manifest { message: String },
    #[error("the corpus manifest's entry {filename:?}: {field} {message}")]
    Entry {
        filename: String,
        field: &'static str,
        message: String,
    },
    #[error("the corpus manifest has no {kind} of project {project:?}")]
    NotInManifest { project: String, kind: Kind },
    #[error("could not download {url} into the corpus cache")]
    Fetch {
        url: String,
        #[source]
        source: kiln_fetch::FetchError,
    },
    #[error(
        "{url}: {what} has {got_size} bytes of sha256 {got_sha256}, but the corpus manifest pins {size} bytes of sha256 {sha256}; the file was not used"
    )]
    Mismatch {
        url: String,
        what: &'static str,
        size: u64,
        sha256: String,
        got_size: u64,
        got_sha256: String,
    },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not store {} in the corpus cache", path.display())]
    Publish {
        path: PathBuf,
        #[source]
        source: kiln_fs::publish::PublishError,
    },
}
