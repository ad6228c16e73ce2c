//! Getting one corpus file over HTTPS into a directory the caller owns,
//! through kiln's own downloader (`kiln-fetch`): size-capped and hashed
//! while it streams, under a deadline and a minimum rate, no content
//! decoding, so the cache checks the digest before anything opens the
//! file.
//!
//! Where a proxy intercepts TLS (a CI sandbox, a company network), the
//! caller names that proxy's PEM bundle (kiln's tests pass
//! `$SSL_CERT_FILE`, as OpenSSL and curl read it): its certificates are
//! trusted besides the bundled Mozilla roots. Either way the cache checks
//! the sha256 the manifest pins, so the transport is never what makes a
//! file trusted.

use crate::CorpusError;
pub(crate) use kiln_fetch::Fetched;
use kiln_fetch::{ExtraRoots, Pace};
use std::io::Read as _;
use std::path::Path;

/// The largest CA bundle read (a system bundle is a few hundred KB).
const MAX_BUNDLE: u64 = 16 << 20;

/// GET `url` into the new file `file_name` under `dir` (a private
/// directory the caller owns), stopping past `max_size` bytes; with
/// `roots`, the certificates of that PEM bundle are trusted too.
pub(crate) fn download(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    roots: Option<&Path>,
) -> Result<Fetched, CorpusError> {
    let roots = match roots {
        Some(bundle) => ExtraRoots::from_pem(&bundle.display().to_string(), &read_bundle(bundle)?)
            .map_err(|source| CorpusError::Fetch {
                url: url.to_string(),
                source,
            })?,
        None => ExtraRoots::default(),
    };
    kiln_fetch::download_with(url, dir, file_name, max_size, Pace::default(), &roots).map_err(
        |source| CorpusError::Fetch {
            url: url.to_string(),
            source,
        },
    )
}

/// The bytes of the PEM bundle `path`, at most [`MAX_BUNDLE`].
fn read_bundle(path: &Path) -> Result<Vec<u8>, CorpusError> {
    let io = |source| CorpusError::Io {
        action: "cannot read the CA bundle",
        path: path.to_path_buf(),
        source,
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_BUNDLE)
        .read_to_end(&mut pem)
        .map_err(io)?;
    Ok(pem)
}
