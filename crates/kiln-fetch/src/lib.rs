//! The network edge of kiln: the only library crate that touches the
//! network. `download` GETs a published copy into a file, size-capped and
//! hashed while it streams (the caller checks the digest against its record
//! before anything parses the file), or a small text page into memory, each
//! under an overall deadline and a minimum rate ([`Pace`]); `index` is the
//! client of a PEP 503/691 simple index over it, whose pages `kiln-index`
//! parses. Blocking `ureq` with rustls and the bundled Mozilla roots (plus
//! any [`ExtraRoots`] the caller passes, a proxy's CA), no
//! content decoding. Settings come in as parameters: this crate never reads
//! the environment (xtask does, and passes a [`Pace`]).

pub mod download;
pub mod index;
pub mod roots;

pub use download::{
    DEADLINE, DEADLINE_SETTING, FetchError, Fetched, MIN_RATE, MIN_RATE_SETTING, Pace, RATE_WINDOW,
    WINDOW_SETTING, download, download_with, get_text,
};
pub use index::{Page, PageError, project_files};
pub use roots::ExtraRoots;

/// The test HTTP server, shared by the unit tests of both modules.
#[cfg(test)]
#[path = "../tests/support/http.rs"]
mod http_server;
