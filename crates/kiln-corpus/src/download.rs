//! Getting one corpus file over HTTPS into a directory the caller owns:
//! size-capped and hashed while it streams, so the cache checks the digest
//! before anything opens the file.
//!
//! kiln's own downloader (`kiln-fetch`) does the work: Mozilla's roots
//! (bundled), a deadline and a minimum rate, no content decoding. Where it
//! cannot verify the server because a proxy intercepts TLS (a CI sandbox,
//! a company network) and the caller named that proxy's PEM bundle (kiln's
//! tests pass `$SSL_CERT_FILE`, as OpenSSL and curl read it), the file is
//! fetched again by a plain GET that trusts that bundle instead, capped and
//! hashed the same way. Either way the cache checks the sha256 the
//! manifest pins, so the transport is never what makes a file trusted.

use crate::CorpusError;
pub(crate) use kiln_fetch::Fetched;
use kiln_fetch::{FetchError, Pace};
use sha2::{Digest as _, Sha256};
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::time::Duration;

/// GET `url` into the new file `file_name` under `dir` (a private
/// directory the caller owns), stopping past `max_size` bytes; with
/// `roots`, a server kiln's downloader could not reach is tried again
/// trusting that PEM bundle.
pub(crate) fn download(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    roots: Option<&Path>,
) -> Result<Fetched, CorpusError> {
    let error = match kiln_fetch::download(url, dir, file_name, max_size, Pace::default()) {
        Ok(fetched) => return Ok(fetched),
        Err(error) => error,
    };
    match (error, roots) {
        (FetchError::Network { .. }, Some(bundle)) => {
            download_trusting(url, dir, file_name, max_size, bundle)
        }
        (source, _) => Err(CorpusError::Fetch {
            url: url.to_string(),
            source,
        }),
    }
}

/// One corpus file, head and body: generous for a few hundred KB.
const DEADLINE: Duration = Duration::from_secs(10 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CHUNK: usize = 64 * 1024;

/// [`download`] trusting the certificates of the PEM bundle `roots`. A
/// partial file is left in `dir` on error (the caller removes the
/// directory).
fn download_trusting(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    roots: &Path,
) -> Result<Fetched, CorpusError> {
    let failed = |message: String| CorpusError::Download {
        url: url.to_string(),
        message: format!("trusting the CA bundle {}: {message}", roots.display()),
    };
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(root_certs(roots)?)
        .build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(DEADLINE))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("kiln-corpus/", env!("CARGO_PKG_VERSION")))
        .build();
    let response = ureq::Agent::new_with_config(config)
        .get(url)
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    if !(200..=299).contains(&status) {
        return Err(failed(format!("HTTP {status}")));
    }
    let path = dir.join(file_name);
    let io = |action, source| CorpusError::Io {
        action,
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io("cannot create", e))?;
    let mut reader = response.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e.to_string())),
        };
        size += n as u64;
        if size > max_size {
            return Err(failed(format!(
                "more than the {max_size} bytes expected: stopped reading it"
            )));
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| io("cannot write", e))?;
    }
    file.flush().map_err(|e| io("cannot write", e))?;
    Ok(Fetched {
        path,
        size,
        sha256: hasher.finalize().into(),
    })
}

/// The certificates of the PEM bundle `path`; none is an error.
fn root_certs(path: &Path) -> Result<ureq::tls::RootCerts, CorpusError> {
    let pem = std::fs::read(path).map_err(|source| CorpusError::Io {
        action: "cannot read the CA bundle",
        path: path.to_path_buf(),
        source,
    })?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(CorpusError::Io {
            action: "no PEM certificate in the CA bundle",
            path: path.to_path_buf(),
            source: ErrorKind::InvalidData.into(),
        });
    }
    Ok(certs.into())
}
