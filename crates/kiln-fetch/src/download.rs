//! Downloads: GET a published copy into a file, hashing it as it streams,
//! or GET a small text page (an index page) into memory.
//!
//! Both follow redirects (GitHub release downloads redirect to a CDN), speak
//! http and https (rustls with the bundled Mozilla roots, so no system
//! OpenSSL or trust store, plus any [`ExtraRoots`] the caller passes to
//! [`download_with`]), set timeouts on every phase, and stop at a size
//! limit so a wrong or hostile server cannot fill the disk or the memory.
//! Time is bounded too, whatever the server does: each request (redirects,
//! head and body together) has an overall deadline, and a body must arrive
//! at a minimum rate, measured over windows of a few seconds, so a server
//! dripping a byte at a time is cut off (see [`Pace`]). The pace is a
//! parameter: the caller decides where its settings come from (xtask reads
//! them from the environment, see [`Pace::with_settings`]); the deadline is
//! measured on the monotonic clock, which is what a deadline is, and
//! nothing timed reaches an artifact.
//! No content decoding is asked for or applied: the bytes hashed are the
//! bytes served. Proxies are what `ureq` does by default: `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the environment.
//!
//! A download is hashed here, never opened: the caller checks the digest
//! against the record before anything parses the file.

use sha2::{Digest as _, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ureq::ResponseExt as _;

use crate::ExtraRoots;

/// A file downloaded into the caller's directory, with what was hashed on
/// the way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Why a fetch failed. Each message names the URL and says what to check.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "{url} was not found (HTTP 404 or 410): check the address and that the file is published there"
    )]
    NotFound { url: String },
    #[error(
        "{url} answered HTTP {status}: the server refused or failed the request; check the address and any access it needs, or try again later"
    )]
    Http { url: String, status: u16 },
    #[error(
        "{url} is larger than the limit of {limit} bytes: stopped reading it (is it the right address?)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("could not fetch {url}: {message}")]
    Network { url: String, message: String },
    /// The cause is part of the message (callers print `to_string()`).
    #[error("could not write {} while downloading {url}: {error}", path.display())]
    Io {
        url: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{url:?} is not a valid http:// or https:// address: {message}")]
    BadUrl { url: String, message: String },
    #[error(
        "refusing to save {url} as {file_name:?}: a download's file name must be a single path component (no '/', '\\', NUL, '.' or '..')"
    )]
    BadFileName { url: String, file_name: String },
    #[error(
        "the CA bundle {bundle} cannot be trusted for downloads: {message}; name a PEM file of certificates"
    )]
    Roots { bundle: String, message: String },
    #[error(
        "{url} did not finish within {} seconds, the deadline of one download ({DEADLINE_SETTING}): stopped; the server is stalling or far too slow, try again later",
        secs(limit)
    )]
    Deadline { url: String, limit: Duration },
    #[error(
        "{url} sent {received} bytes in {} seconds, under the minimum rate of {min_rate} bytes per second ({MIN_RATE_SETTING}): stopped; the server is stalling or far too slow, try again later",
        secs(window)
    )]
    TooSlow {
        url: String,
        received: u64,
        window: Duration,
        min_rate: u64,
    },
    #[error("{name}={value:?} is not valid: {expected}")]
    Setting {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// How long a request may take: an overall deadline (from the request to
/// the last byte of the body, redirects included) and a minimum rate the
/// body must keep, checked at the end of every window. The defaults fit
/// any real index or release host; the settings [`DEADLINE_SETTING`],
/// [`MIN_RATE_SETTING`] (bytes per second) and [`WINDOW_SETTING`] change
/// them (the tests shorten them), read by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub deadline: Duration,
    pub min_rate: u64,
    pub window: Duration,
}

/// One download, head and body: 30 minutes (a 1 GiB wheel at 600 KB/s).
pub const DEADLINE: Duration = Duration::from_secs(30 * 60);
/// 4 KiB/s: a modem is faster; a server dripping bytes is not.
pub const MIN_RATE: u64 = 4 * 1024;
/// The rate is measured over 30 s windows, so a short stall is forgiven.
pub const RATE_WINDOW: Duration = Duration::from_secs(30);
/// The names of the three settings of a [`Pace`], as kiln's users set them
/// (environment variables, read by xtask) and as messages cite them so a
/// user knows what to change. This crate never reads them itself.
pub const DEADLINE_SETTING: &str = "KILN_FETCH_DEADLINE_SECS";
/// See [`DEADLINE_SETTING`].
pub const MIN_RATE_SETTING: &str = "KILN_FETCH_MIN_RATE";
/// See [`DEADLINE_SETTING`].
pub const WINDOW_SETTING: &str = "KILN_FETCH_RATE_WINDOW_SECS";

impl Default for Pace {
    fn default() -> Self {
        Pace {
            deadline: DEADLINE,
            min_rate: MIN_RATE,
            window: RATE_WINDOW,
        }
    }
}

impl Pace {
    /// The defaults, with each setting `lookup` finds applied: `lookup` is
    /// asked for [`DEADLINE_SETTING`], [`MIN_RATE_SETTING`] and
    /// [`WINDOW_SETTING`] and gives the text set, None when unset, or an
    /// error (say, a value that is not text). A value that is not a
    /// positive number of seconds (or a whole number of bytes per second)
    /// is [`FetchError::Setting`].
    pub fn with_settings(
        mut lookup: impl FnMut(&'static str) -> Result<Option<String>, FetchError>,
    ) -> Result<Pace, FetchError> {
        let mut pace = Pace::default();
        if let Some(secs) = lookup(DEADLINE_SETTING)? {
            pace.deadline = seconds(DEADLINE_SETTING, &secs)?;
        }
        if let Some(rate) = lookup(MIN_RATE_SETTING)? {
            pace.min_rate = rate.parse().map_err(|_| FetchError::Setting {
                name: MIN_RATE_SETTING,
                value: rate.clone(),
                expected: "a whole number of bytes per second (0 turns the check off)",
            })?;
        }
        if let Some(secs) = lookup(WINDOW_SETTING)? {
            pace.window = seconds(WINDOW_SETTING, &secs)?;
        }
        Ok(pace)
    }
}

/// Seconds for a message: whole when whole, else to a tenth.
fn secs(d: &Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

fn seconds(name: &'static str, value: &str) -> Result<Duration, FetchError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| FetchError::Setting {
            name,
            value: value.to_string(),
            expected: "a positive number of seconds",
        })
}

/// Enforces a [`Pace`] on one request, read after read.
pub(crate) struct Pacer<'a> {
    url: &'a str,
    pace: Pace,
    start: Instant,
    window_start: Instant,
    window_bytes: u64,
}

impl<'a> Pacer<'a> {
    #[allow(clippy::disallowed_methods)] // The deadline of a download is wall time.
    pub(crate) fn start(url: &'a str, pace: Pace) -> Self {
        let now = Instant::now();
        Pacer {
            url,
            pace,
            start: now,
            window_start: now,
            window_bytes: 0,
        }
    }

    /// Counts `n` more bytes; an error once past the deadline, or when a
    /// window ends with fewer bytes than the minimum rate asks for.
    #[allow(clippy::disallowed_methods)] // The deadline of a download is wall time.
    pub(crate) fn advance(&mut self, n: usize) -> Result<(), FetchError> {
        let now = Instant::now();
        if now.duration_since(self.start) > self.pace.deadline {
            return Err(self.deadline());
        }
        self.window_bytes += n as u64;
        let elapsed = now.duration_since(self.window_start);
        if elapsed >= self.pace.window {
            let needed = self.pace.min_rate as f64 * elapsed.as_secs_f64();
            if (self.window_bytes as f64) < needed {
                return Err(FetchError::TooSlow {
                    url: self.url.to_string(),
                    received: self.window_bytes,
                    window: elapsed,
                    min_rate: self.pace.min_rate,
                });
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(())
    }

    fn deadline(&self) -> FetchError {
        FetchError::Deadline {
            url: self.url.to_string(),
            limit: self.pace.deadline,
        }
    }

    /// A read error, as the deadline or the minimum rate when that is what
    /// stopped it (a read waits at most one rate window, see [`agent`]).
    #[allow(clippy::disallowed_methods)] // The rate of a download is wall time.
    pub(crate) fn read_failed(&self, err: &std::io::Error) -> FetchError {
        match err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(ureq::Timeout::Global)) => self.deadline(),
            Some(ureq::Error::Timeout(_)) if self.pace.min_rate > 0 => FetchError::TooSlow {
                url: self.url.to_string(),
                received: self.window_bytes,
                window: self.window_start.elapsed(),
                min_rate: self.pace.min_rate,
            },
            _ => network(self.url, &read_error(err)),
        }
    }
}

/// Sent with every request, so a server's logs say who asked.
const USER_AGENT: &str = concat!("kiln-xtask/", env!("CARGO_PKG_VERSION"), " (verify)");
/// Redirects followed before giving up (GitHub needs one or two).
const MAX_REDIRECTS: u32 = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Waiting for the response head once the request is sent.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Silence allowed between two reads of the body; a slow but steady large
/// download is never cut off.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const CHUNK: usize = 64 * 1024;

/// GET `url` into a new file `file_name` under `dir` (a private temporary
/// directory the caller owns), streaming and hashing as it goes, and stop
/// with [`FetchError::TooLarge`] past `max_size` bytes, or when `pace` is
/// not kept. On any error the partial file is removed; an existing file of
/// that name is an error and is left alone.
pub fn download(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    pace: Pace,
) -> Result<Fetched, FetchError> {
    download_with(url, dir, file_name, max_size, pace, &ExtraRoots::default())
}

/// [`download`], trusting `roots` besides the bundled Mozilla roots.
pub fn download_with(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
    pace: Pace,
    roots: &ExtraRoots,
) -> Result<Fetched, FetchError> {
    check_url(url)?;
    if !is_plain_file_name(file_name) {
        return Err(FetchError::BadFileName {
            url: url.to_string(),
            file_name: file_name.to_string(),
        });
    }
    let mut pacer = Pacer::start(url, pace);
    let response = get(url, "*/*", &pacer, roots)?;
    if let Some(length) = response.body().content_length()
        && length > max_size
    {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit: max_size,
        });
    }
    let path = dir.join(file_name);
    let io_error = |error| FetchError::Io {
        url: url.to_string(),
        path: path.clone(),
        error,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_error)?;
    let mut partial = Partial {
        path: &path,
        keep: false,
    };
    let (size, sha256) = stream_into(&mut pacer, response, &mut file, max_size, io_error)?;
    file.flush().map_err(io_error)?;
    drop(file);
    partial.keep = true;
    Ok(Fetched {
        path: path.clone(),
        size,
        sha256,
    })
}

/// GET `url` asking for `accept`, and return its `Content-Type` (empty if
/// absent), its body (invalid UTF-8 replaced) and the URL it was finally
/// served from after redirects, which is what relative links resolve
/// against. More than `max_size` bytes is [`FetchError::TooLarge`]; the
/// time it may take is `pace`.
pub fn get_text(
    url: &str,
    accept: &str,
    max_size: u64,
    pace: Pace,
) -> Result<(String, String, String), FetchError> {
    check_url(url)?;
    let mut pacer = Pacer::start(url, pace);
    let response = get(url, accept, &pacer, &ExtraRoots::default())?;
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
        limit: max_size,
    };
    if response
        .body()
        .content_length()
        .is_some_and(|length| length > max_size)
    {
        return Err(too_large());
    }
    let final_url = response.get_uri().to_string();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = Vec::new();
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(pacer.read_failed(&e)),
        };
        pacer.advance(n)?;
        if (body.len() + n) as u64 > max_size {
            return Err(too_large());
        }
        body.extend_from_slice(&buf[..n]);
    }
    // Valid UTF-8 (the usual case) is kept as is, not copied.
    let body = String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok((content_type, body, final_url))
}

/// Removes a partial download unless it is kept.
struct Partial<'a> {
    path: &'a Path,
    keep: bool,
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(self.path);
        }
    }
}

/// Copies the body into `file`, hashing it, never past `max_size` bytes
/// and never slower than the pace allows.
fn stream_into(
    pacer: &mut Pacer<'_>,
    response: ureq::http::Response<ureq::Body>,
    file: &mut File,
    max_size: u64,
    io_error: impl Fn(std::io::Error) -> FetchError,
) -> Result<(u64, [u8; 32]), FetchError> {
    let mut reader = response.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(pacer.read_failed(&e)),
        };
        pacer.advance(n)?;
        size += n as u64;
        if size > max_size {
            return Err(FetchError::TooLarge {
                url: pacer.url.to_string(),
                limit: max_size,
            });
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(&io_error)?;
    }
    Ok((size, hasher.finalize().into()))
}

/// Sends the GET and maps a final non-2xx status to an error. The agent's
/// global timeout is the pace's deadline, so a server stalling the head, a
/// redirect or a read is cut off there too.
pub(crate) fn get(
    url: &str,
    accept: &str,
    pacer: &Pacer<'_>,
    roots: &ExtraRoots,
) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
    let response = agent(&pacer.pace, roots)
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(|e| match e {
            ureq::Error::Timeout(ureq::Timeout::Global) => pacer.deadline(),
            e => network(url, &describe(&e)),
        })?;
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(response),
        404 | 410 => Err(FetchError::NotFound {
            url: url.to_string(),
        }),
        _ => Err(FetchError::Http {
            url: url.to_string(),
            status,
        }),
    }
}

/// The agent for one request under `pace`: its deadline is the global
/// timeout, and with a minimum rate no single read may wait longer than a
/// rate window (a silent window is under any rate), so a stalled body is
/// cut off there rather than at [`READ_TIMEOUT`]. It trusts the bundled
/// Mozilla roots and `roots`.
fn agent(pace: &Pace, roots: &ExtraRoots) -> ureq::Agent {
    let per_read = if pace.min_rate > 0 {
        READ_TIMEOUT.min(pace.window)
    } else {
        READ_TIMEOUT
    };
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(roots.root_certs())
        .build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(pace.deadline))
        // Statuses are ours to map (404 is an answer, not a failure).
        .http_status_as_error(false)
        .max_redirects(MAX_REDIRECTS)
        .user_agent(USER_AGENT)
        .timeout_resolve(Some(CONNECT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_send_request(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .timeout_per_read(Some(per_read))
        .build();
    ureq::Agent::new_with_config(config)
}

pub(crate) fn check_url(url: &str) -> Result<(), FetchError> {
    let bad = |message: &str| FetchError::BadUrl {
        url: url.to_string(),
        message: message.to_string(),
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err(bad("it has no host")),
        other => Err(bad(&format!(
            "the scheme is {other:?}; only http and https can be fetched"
        ))),
    }
}

/// A single, ordinary path component: what a published file is called.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn network(url: &str, message: &str) -> FetchError {
    FetchError::Network {
        url: url.to_string(),
        message: message.to_string(),
    }
}

/// What went wrong with a request, and what to check.
fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(which) => {
            format!("timed out ({which}): the server did not answer in time; try again later")
        }
        ureq::Error::HostNotFound => {
            "the host name could not be resolved: check the address and the DNS".to_string()
        }
        ureq::Error::TooManyRedirects => format!(
            "more than {MAX_REDIRECTS} redirects: the address redirects in a loop; check it"
        ),
        ureq::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused => {
                format!("{e}: nothing listens there; check the address and port")
            }
            _ => format!("{e}: check the address and the network connection"),
        },
        ureq::Error::Tls(what) => {
            format!("TLS failed ({what}): the server's certificate or protocol was not accepted")
        }
        other => format!("{other}: check the address and the network connection"),
    }
}

/// A body read error, unwrapped to the `ureq` error inside when there is one.
fn read_error(err: &std::io::Error) -> String {
    match err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        Some(inner) => format!("reading the body failed: {}", describe(inner)),
        None => format!(
            "reading the body failed: {err} (the connection broke or the body was shorter than announced; try again)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_server::{Override, Server, sha256_hex};

    /// Bytes that are not all alike, longer than one read chunk.
    fn payload(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_u32;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn served(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Server) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("files")).unwrap();
        for (name, bytes) in files {
            std::fs::write(root.path().join("files").join(name), bytes).unwrap();
        }
        let server = Server::start(root.path());
        (root, server)
    }

    fn entries(dir: &Path) -> Vec<String> {
        #[allow(clippy::disallowed_methods)] // sorted right here
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";

    #[test]
    fn download_hashes_and_sizes_what_it_saves() {
        let bytes = payload(3 * CHUNK + 17);
        let (_root, server) = served(&[(WHEEL, &bytes)]);
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
        assert_eq!(fetched.path, out.path().join(WHEEL));
        assert_eq!(fetched.size, bytes.len() as u64);
        assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
        assert_eq!(std::fs::read(&fetched.path).unwrap(), bytes);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "GET");
        assert_eq!(requests[0].header("user-agent"), Some(USER_AGENT));
        assert_eq!(requests[0].header("accept-encoding"), None);
    }

    #[test]
    fn an_empty_file_downloads() {
        let (_root, server) = served(&[("empty.txt", b"")]);
        let out = tempfile::tempdir().unwrap();
        let fetched = download(
            &server.url("/files/empty.txt"),
            out.path(),
            "e",
            0,
            Pace::default(),
        )
        .unwrap();
        assert_eq!(fetched.size, 0);
        assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(b""));
    }

    #[test]
    fn missing_is_not_found_and_leaves_nothing() {
        let (_root, server) = served(&[]);
        let out = tempfile::tempdir().unwrap();
        let url = server.url("/files/nope.whl");
        let err = download(&url, out.path(), "nope.whl", 1 << 20, Pace::default()).unwrap_err();
        assert!(
            matches!(&err, FetchError::NotFound { url: u } if *u == url),
            "{err}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        assert!(entries(out.path()).is_empty());
        server.set("/files/gone.whl", Override::Status(410));
        let err = download(
            &server.url("/files/gone.whl"),
            out.path(),
            "g",
            10,
            Pace::default(),
        )
        .unwrap_err();
        assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
    }

    #[test]
    fn other_statuses_are_http_errors() {
        let (_root, server) = served(&[(WHEEL, b"wheel")]);
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        for status in [403, 500, 503] {
            server.set(&format!("/files/{WHEEL}"), Override::Status(status));
            let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
            assert!(
                matches!(&err, FetchError::Http { status: s, .. } if *s == status),
                "{err}"
            );
            assert!(err.to_string().contains(&url), "{err}");
            assert!(entries(out.path()).is_empty());
        }
    }

    #[test]
    fn redirects_are_followed() {
        let bytes = payload(1000);
        let (_root, server) = served(&[(WHEEL, &bytes)]);
        // A GitHub-style chain: an absolute redirect, then a relative one.
        server.set(
            "/releases/download/v0.1.0/wheel",
            Override::Redirect {
                status: 302,
                location: server.url("/cdn/wheel"),
            },
        );
        server.set(
            "/cdn/wheel",
            Override::Redirect {
                status: 301,
                location: format!("/files/{WHEEL}"),
            },
        );
        let out = tempfile::tempdir().unwrap();
        let url = server.url("/releases/download/v0.1.0/wheel");
        let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
        assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
        let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
        assert_eq!(
            targets,
            [
                "/releases/download/v0.1.0/wheel".to_string(),
                "/cdn/wheel".to_string(),
                format!("/files/{WHEEL}"),
            ]
        );
    }

    #[test]
    fn a_redirect_loop_is_a_network_error() {
        let (_root, server) = served(&[]);
        server.set(
            "/loop",
            Override::Redirect {
                status: 302,
                location: "/loop".into(),
            },
        );
        let out = tempfile::tempdir().unwrap();
        let err = download(&server.url("/loop"), out.path(), "x", 10, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(err.to_string().contains("redirects"), "{err}");
    }

    #[test]
    fn too_large_by_content_length_stops_before_writing() {
        let bytes = payload(5000);
        let (_root, server) = served(&[(WHEEL, &bytes)]);
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        let err = download(&url, out.path(), WHEEL, 4999, Pace::default()).unwrap_err();
        assert!(
            matches!(&err, FetchError::TooLarge { limit: 4999, url: u } if *u == url),
            "{err}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        assert!(entries(out.path()).is_empty());
        // Exactly at the limit is fine.
        let fetched = download(&url, out.path(), WHEEL, 5000, Pace::default()).unwrap();
        assert_eq!(fetched.size, 5000);
    }

    #[test]
    fn too_large_while_streaming_removes_the_partial_file() {
        let bytes = payload(3 * CHUNK);
        let (_root, server) = served(&[(WHEEL, &bytes)]);
        server.set(&format!("/files/{WHEEL}"), Override::NoContentLength);
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        let limit = 2 * CHUNK as u64 + 1;
        let err = download(&url, out.path(), WHEEL, limit, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
        assert!(entries(out.path()).is_empty());
        // Without a Content-Length, the body that fits still downloads.
        let fetched =
            download(&url, out.path(), WHEEL, bytes.len() as u64, Pace::default()).unwrap();
        assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
    }

    #[test]
    fn a_truncated_body_is_a_network_error_and_leaves_nothing() {
        let bytes = payload(2 * CHUNK);
        let (_root, server) = served(&[(WHEEL, &bytes)]);
        server.set(
            &format!("/files/{WHEEL}"),
            Override::Truncated {
                claimed: bytes.len() as u64 + 100,
            },
        );
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
        assert!(entries(out.path()).is_empty());
    }

    #[test]
    fn an_existing_file_is_an_error_and_is_kept() {
        let (_root, server) = served(&[(WHEEL, b"new")]);
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join(WHEEL), b"old").unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::Io { .. }), "{err}");
        assert_eq!(std::fs::read(out.path().join(WHEEL)).unwrap(), b"old");
    }

    #[test]
    fn file_names_and_urls_are_checked_before_any_request() {
        let (_root, server) = served(&[(WHEEL, b"x")]);
        let out = tempfile::tempdir().unwrap();
        let url = server.url(&format!("/files/{WHEEL}"));
        for name in ["", ".", "..", "../x.whl", "a/b", "a\\b", "a\0b"] {
            let err = download(&url, out.path(), name, 10, Pace::default()).unwrap_err();
            assert!(
                matches!(err, FetchError::BadFileName { .. }),
                "{name:?}: {err}"
            );
        }
        for bad in [
            "ftp://example.org/x",
            "file:///etc/passwd",
            "not a url",
            "http://",
        ] {
            let err = download(bad, out.path(), "x", 10, Pace::default()).unwrap_err();
            assert!(matches!(err, FetchError::BadUrl { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        assert!(server.requests().is_empty());
        assert!(entries(out.path()).is_empty());
    }

    #[test]
    fn connection_refused_is_a_network_error() {
        // A port that was just free: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x.whl");
        let out = tempfile::tempdir().unwrap();
        let err = download(&url, out.path(), "x.whl", 10, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[test]
    fn https_to_a_plain_http_server_is_a_tls_network_error() {
        // The TLS stack (rustls with ring) is set up and fails cleanly.
        let (_root, server) = served(&[(WHEEL, b"x")]);
        let url = server
            .url(&format!("/files/{WHEEL}"))
            .replace("http:", "https:");
        let out = tempfile::tempdir().unwrap();
        let err = download(&url, out.path(), WHEEL, 10, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
        assert!(entries(out.path()).is_empty());
    }

    #[test]
    fn get_text_returns_type_body_and_final_url() {
        let (root, server) = served(&[]);
        std::fs::create_dir_all(root.path().join("simple/p")).unwrap();
        std::fs::write(root.path().join("simple/p/index.html"), "<a>é</a>").unwrap();
        server.set(
            "/old/p/",
            Override::Redirect {
                status: 308,
                location: "/simple/p/".into(),
            },
        );
        let (content_type, body, final_url) =
            get_text(&server.url("/old/p/"), "text/html", 1000, Pace::default()).unwrap();
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert_eq!(body, "<a>é</a>");
        assert_eq!(final_url, server.url("/simple/p/"));
        for request in server.requests() {
            assert_eq!(request.header("accept"), Some("text/html"));
        }
        let err = get_text(&server.url("/simple/p/"), "text/html", 5, Pace::default()).unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 5, .. }),
            "{err}"
        );
        server.set("/simple/p/", Override::NoContentLength);
        let err = get_text(&server.url("/simple/p/"), "text/html", 5, Pace::default()).unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 5, .. }),
            "{err}"
        );
        let err = get_text(&server.url("/simple/q/"), "text/html", 5, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
    }

    /// A pace scaled down for tests: the same checks in a second or two.
    fn quick(deadline_ms: u64, min_rate: u64, window_ms: u64) -> Pace {
        Pace {
            deadline: Duration::from_millis(deadline_ms),
            min_rate,
            window: Duration::from_millis(window_ms),
        }
    }

    /// `bytes` served as the wheel, dripped `chunk` bytes every `pause`:
    /// the server (with its root), the wheel's URL, and an empty
    /// directory to download into.
    fn dripping(
        bytes: &[u8],
        chunk: usize,
        pause: Duration,
    ) -> ((tempfile::TempDir, Server), String, tempfile::TempDir) {
        let (root, server) = served(&[(WHEEL, bytes)]);
        server.set(&format!("/files/{WHEEL}"), Override::Drip { chunk, pause });
        let url = server.url(&format!("/files/{WHEEL}"));
        ((root, server), url, tempfile::tempdir().unwrap())
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
    fn a_dripping_server_is_cut_off_at_the_minimum_rate() {
        let bytes = payload(10_000);
        let (_served, url, out) = dripping(&bytes, 1, Duration::from_millis(20));
        let start = Instant::now();
        let err = download(&url, out.path(), WHEEL, 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert!(
            matches!(err, FetchError::TooSlow { min_rate: 1000, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&url) && text.contains("KILN_FETCH_MIN_RATE"),
            "{text}"
        );
        assert!(entries(out.path()).is_empty());
        // A page is held to the same pace.
        let err = get_text(&url, "*/*", 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
        assert!(matches!(err, FetchError::TooSlow { .. }), "{err}");
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
    fn a_steady_but_endless_download_is_cut_off_at_the_deadline() {
        let bytes = payload(200_000);
        let ((_root, server), url, out) = dripping(&bytes, 1000, Duration::from_millis(10));
        let start = Instant::now();
        let err = download(&url, out.path(), WHEEL, 1 << 20, quick(700, 10, 200)).unwrap_err();
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(matches!(err, FetchError::Deadline { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&url) && text.contains("0.7 seconds"),
            "{text}"
        );
        assert!(entries(out.path()).is_empty());
        // Under the default pace the same server is merely slow: it finishes.
        server.set(
            &format!("/files/{WHEEL}"),
            Override::Drip {
                chunk: 50_000,
                pause: Duration::from_millis(10),
            },
        );
        let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
        assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
    fn a_silent_body_is_cut_off_after_one_rate_window() {
        // Nothing arrives for 2 s: with a 0.5 s window the wait ends at the
        // window, not at the 60 s per-read timeout.
        let bytes = payload(100);
        let (_served, url, out) = dripping(&bytes, 100, Duration::from_secs(2));
        let start = Instant::now();
        let err = download(&url, out.path(), WHEEL, 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
        assert!(
            matches!(err, FetchError::TooSlow { received: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn pace_settings_are_checked() {
        let set = |name: &'static str, value: &str| {
            let value = value.to_string();
            Pace::with_settings(move |n| Ok((n == name).then(|| value.clone())))
        };
        assert_eq!(set(MIN_RATE_SETTING, "0").unwrap().min_rate, 0);
        assert_eq!(
            set(WINDOW_SETTING, "2").unwrap().window,
            Duration::from_secs(2)
        );
        let err = set(DEADLINE_SETTING, "soon").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("KILN_FETCH_DEADLINE_SECS=\"soon\" is not valid"),
            "{err}"
        );
        assert!(set(MIN_RATE_SETTING, "-1").is_err());
        assert_eq!(Pace::with_settings(|_| Ok(None)).unwrap(), Pace::default());
        assert_eq!(seconds("X", "1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["", "0", "-1", "nan", "inf", "1e300", "ten"] {
            let err = seconds("X", bad).unwrap_err();
            assert!(err.to_string().contains("X="), "{err}");
        }
    }

    #[test]
    fn invalid_utf8_in_a_page_is_replaced_not_fatal() {
        let (root, server) = served(&[]);
        std::fs::write(root.path().join("files/page.txt"), b"a\xffb").unwrap();
        let (_, body, _) =
            get_text(&server.url("/files/page.txt"), "*/*", 100, Pace::default()).unwrap();
        assert_eq!(body, "a\u{fffd}b");
    }
}
