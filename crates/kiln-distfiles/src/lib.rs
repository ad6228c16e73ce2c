//! Distfiles: the upstream release tarballs ports and distributions fetch,
//! check against a committed `distinfo` and keep in their own caches.
//!
//! `distinfo` reads and writes the syntaxes (kiln's, OpenBSD's, NetBSD's,
//! FreeBSD's); `cache` is the content-addressed cache a file enters only
//! once every digest its distinfo states was checked; `classify` explains
//! a file that fails them next to the good copy, with `kiln-diff`'s
//! engine: `re-rolled` (only the container differs, named), `content-changed`
//! (with the diff) or `unreadable`; `makesum` writes or updates a distinfo
//! from files, never changing an entry's digests unless asked. No network
//! here: `kiln-fetch` downloads, xtask joins the two.

pub mod cache;
pub mod classify;
pub mod distinfo;
pub mod makesum;

pub use cache::Cache;
pub use classify::{Classification, Verdict, classify};
pub use distinfo::{Distinfo, Entry, Format};

use std::path::PathBuf;

/// What went wrong, naming the file (and line) it is about.
#[derive(Debug, thiserror::Error)]
pub enum DistfilesError {
    #[error("{file}:{line}: cannot parse {text:?}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        text: String,
        reason: String,
    },
    #[error(transparent)]
    Record(kiln_record::RecordError),
    #[error("{file}: a kiln release record needs its {field} line, which this entry lacks")]
    Incomplete { file: String, field: &'static str },
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Digest(#[from] kiln_digest::DigestError),
    #[error("refusing to cache {name}: its digests were not all checked against its distinfo")]
    NotChecked { name: String },
}

#[cfg(test)]
mod tests;
