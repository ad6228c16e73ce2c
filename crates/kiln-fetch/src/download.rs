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
mod tests;
