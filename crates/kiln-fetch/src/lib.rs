//! The network edge of kiln: the only library crate that touches the
//! network. `download` GETs a published copy into a file, size-capped and
//! hashed while it streams (the caller checks the digest against its record
//! before anything parses the file), or a small text page into memory, each
//! under an overall deadline and a minimum rate ([`Pace`]); `index` is the
//! client of a PEP 503/691 simple index over it, whose pages `kiln-index`
//! parses; `sites` fetches one distfile from a list of sites in order,
//! hashing SHA-256, SHA-512 and BLAKE2s as it streams and skipping a site
//! that is down, slow, truncates or serves an HTML page. Blocking `ureq`
//! with rustls and the bundled Mozilla roots (plus any [`ExtraRoots`] the
//! caller passes, a proxy's CA), no content decoding. Settings come in as
//! parameters: this crate never reads
//! the environment (xtask does, and passes a [`Pace`]).

pub mod download;
pub mod index;
pub mod roots;
pub mod sites;

pub use download::{
    DEADLINE, DEADLINE_SETTING, FetchError, Fetched, MIN_RATE, MIN_RATE_SETTING, Pace, RATE_WINDOW,
    WINDOW_SETTING, download, download_with, get_text,
};
pub use index::{Page, PageError, project_files};
pub use roots::ExtraRoots;
pub use sites::{Attempt, Outcome, Skip, fetch_from_sites};

/// The test HTTP server, shared by the unit tests of both modules.
#[cfg(test)]
#[path = "../tests/support/http.rs"]
mod http_server;
