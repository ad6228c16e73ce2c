//! Getting one corpus file over HTTPS into a directory the caller owns:
//! size-capped and hashed while it streams, so the cache checks the digest
//! before anything opens the file.
//!
//! The server is trusted through Mozilla's roots (bundled, as kiln's own
//! downloader does), or through the roots of a PEM bundle the caller
//! names instead: a machine whose TLS is intercepted by a proxy (a CI
//! sandbox, a company network) names its bundle, as `SSL_CERT_FILE` does
//! for OpenSSL and curl.
//!
//! This stands in for kiln's own downloader until it is a crate of its
//! own; [`download`] has that downloader's shape (URL, directory, file
//! name, size cap in; path, size and sha256 out), so switching to it is a
//! change of this file alone.

use crate::CorpusError;
use sha2::{Digest as _, Sha256};
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file downloaded into the caller's directory, with what was hashed on
/// the way in.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// One corpus file, head and body: generous for a few hundred KB.
const DEADLINE: Duration = Duration::from_secs(10 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CHUNK: usize = 64 * 1024;

/// GET `url` into the new file `file_name` under `dir`, stopping past
/// `max_size` bytes. A partial file is left in `dir` on error (the caller
/// removes the directory).
pub(crate) fn download(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    roots: Option<&Path>,
) -> Result<Fetched, CorpusError> {
    let failed = |message: String| CorpusError::Download {
        url: url.to_string(),
        message,
    };
    let tls = match roots {
        None => ureq::tls::TlsConfig::default(),
        Some(bundle) => ureq::tls::TlsConfig::builder()
            .root_certs(root_certs(bundle)?)
            .build(),
    };
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
