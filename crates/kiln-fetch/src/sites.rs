//! Fetching one distfile from a list of sites (a master site and its
//! mirrors), tried in order, each body hashed (SHA-256, SHA-512, BLAKE2s)
//! while it streams into the caller's private directory.
//!
//! A site that cannot give the file is skipped for the next, with the
//! reason ([`Skip`]): down (nothing listens, the name does not resolve, TLS
//! fails), slow (under the [`Pace`]), an HTTP error, a truncated body (the
//! connection ended before the announced length), an HTML page served in
//! place of the file (by its `Content-Type` or its first bytes, so a "200
//! OK" error page is caught before it is read on), or a body past the
//! caller's limit. A complete body is handed back with its digests: the
//! caller checks them against its `distinfo` and says whether to stop
//! ([`fetch_from_sites`]'s `accept`). Nothing here opens the file: it is
//! bytes and digests until the caller has checked them.

use crate::download::{CHUNK, FetchError, Pace, Pacer, check_url, get};
use kiln_digest::{Digests, MultiHasher};
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

/// Why a site was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No answer: refused, unresolvable, TLS, or another network failure
    /// before the response.
    Down,
    /// Under the minimum rate, or past the deadline.
    Slow,
    /// Not found, or another HTTP status that is not success.
    Http,
    /// The body ended before its announced `Content-Length`.
    Truncated,
    /// An HTML page (an error page with status 200) instead of the file.
    Html,
    /// More than the caller's limit.
    TooLarge,
    /// The site is not an http(s) URL this file can be appended to.
    BadUrl,
}

impl Skip {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Skip::Down => "down",
            Skip::Slow => "slow",
            Skip::Http => "http-error",
            Skip::Truncated => "truncated",
            Skip::Html => "html-page",
            Skip::TooLarge => "too-large",
            Skip::BadUrl => "bad-url",
        }
    }
}

/// What one site gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Skipped, with the message saying why.
    Skipped { skip: Skip, message: String },
    /// A complete body, in the caller's directory, with its digests.
    Complete { path: PathBuf, digests: Digests },
}

/// One site tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub site: String,
    pub url: String,
    pub outcome: Outcome,
}

/// The URL of `name` on `site`: `name` appended as one path segment
/// (percent-encoded), whether or not the site ends in `/`.
pub fn file_url(site: &str, name: &str) -> Result<String, FetchError> {
    check_url(site)?;
    let mut url = url::Url::parse(site).map_err(|e| FetchError::BadUrl {
        url: site.to_string(),
        message: e.to_string(),
    })?;
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| FetchError::BadUrl {
            url: site.to_string(),
            message: "it cannot have a path".to_string(),
        })?
        .pop_if_empty()
        .push(name);
    Ok(url.to_string())
}

/// Tries `sites` in order for the file `name`, saving each body as
/// `dir/site-<n>` (n from 1; `dir` is the caller's, private and empty of
/// such names), reading at most `limit` bytes of a body. After each
/// complete body `accept` is asked about its digests; the first it accepts
/// ends the loop. Every site tried is in the answer, in order; a skipped
/// site leaves no file. A file that cannot be written here (a full disk)
/// is an error, not a skipped site.
pub fn fetch_from_sites(
    sites: &[String],
    name: &str,
    dir: &Path,
    limit: u64,
    pace: Pace,
    mut accept: impl FnMut(&Digests) -> bool,
) -> Result<Vec<Attempt>, FetchError> {
    let mut attempts = Vec::new();
    for (index, site) in sites.iter().enumerate() {
        let (url, outcome) = match file_url(site, name) {
            Err(e) => (
                site.clone(),
                Outcome::Skipped {
                    skip: Skip::BadUrl,
                    message: e.to_string(),
                },
            ),
            Ok(url) => {
                let path = dir.join(format!("site-{}", index + 1));
                let outcome = match fetch_one(&url, name, &path, limit, pace) {
                    Ok(digests) => Outcome::Complete { path, digests },
                    Err(Failure::Site(skip, message)) => {
                        let _ = std::fs::remove_file(&path);
                        Outcome::Skipped { skip, message }
                    }
                    Err(Failure::Local(e)) => {
                        let _ = std::fs::remove_file(&path);
                        return Err(e);
                    }
                };
                (url, outcome)
            }
        };
        let done = matches!(&outcome, Outcome::Complete { digests, .. } if accept(digests));
        attempts.push(Attempt {
            site: site.clone(),
            url,
            outcome,
        });
        if done {
            break;
        }
    }
    Ok(attempts)
}

/// Whether `name` is itself a web page (then HTML is what was asked for).
fn wants_html(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Whether a body starts like an HTML document (after blanks and a BOM).
pub fn looks_like_html(start: &[u8]) -> bool {
    let start = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
    let text: Vec<u8> = start
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(16)
        .map(u8::to_ascii_lowercase)
        .collect();
    text.starts_with(b"<!doctype html") || text.starts_with(b"<html") || text.starts_with(b"<head")
}

fn fetch_one(
    url: &str,
    name: &str,
    path: &Path,
    limit: u64,
    pace: Pace,
) -> Result<Digests, Failure> {
    let mut pacer = Pacer::start(url, pace);
    let response = get(url, "*/*", &pacer, &crate::ExtraRoots::default())
        .map_err(|e| (skip_of(&e), e.to_string()))?;
    let html_ok = wants_html(name);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !html_ok && content_type.starts_with("text/html") {
        return Err(Failure::Site(
            Skip::Html,
            format!(
                "{url} served an HTML page ({content_type}) instead of the file: an error or landing page; not read"
            ),
        ));
    }
    let announced = response.body().content_length();
    if let Some(length) = announced
        && length > limit
    {
        return Err(Failure::Site(
            Skip::TooLarge,
            format!(
                "{url} announced {length} bytes, over the limit of {limit}: not read (is it the right file?)"
            ),
        ));
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| local(url, path, e))?;
    let mut reader = response.into_body().into_reader();
    let mut hasher = MultiHasher::default();
    let mut buf = vec![0u8; CHUNK];
    // The first bytes, however the reads split them, tell an HTML page.
    let mut head = Vec::with_capacity(SNIFF);
    let mut sniffed = html_ok;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                let err = pacer.read_failed(&e);
                return Err(match err {
                    FetchError::Network { .. } => (
                        Skip::Truncated,
                        format!(
                            "{url} ended after {} of {} bytes: the body was cut short ({err})",
                            hasher.size(),
                            announced.map_or_else(
                                || "an unknown number of".to_string(),
                                |l| l.to_string()
                            )
                        ),
                    ),
                    other => (skip_of(&other), other.to_string()),
                }
                .into());
            }
        };
        pacer.advance(n).map_err(|e| (skip_of(&e), e.to_string()))?;
        if !sniffed {
            let take = n.min(SNIFF - head.len());
            head.extend_from_slice(&buf[..take]);
            if head.len() == SNIFF {
                sniffed = true;
                if looks_like_html(&head) {
                    return Err(html_page(url).into());
                }
            }
        }
        if hasher.size() + n as u64 > limit {
            return Err(Failure::Site(
                Skip::TooLarge,
                format!(
                    "{url} sent more than {limit} bytes: stopped reading (is it the right file?)"
                ),
            ));
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| local(url, path, e))?;
    }
    if !sniffed && looks_like_html(&head) {
        return Err(html_page(url).into());
    }
    if let Some(length) = announced
        && hasher.size() != length
    {
        return Err(Failure::Site(
            Skip::Truncated,
            format!(
                "{url} ended after {} of {length} bytes: the body was cut short",
                hasher.size()
            ),
        ));
    }
    file.flush()
        .and_then(|()| file.sync_all())
        .map_err(|e| local(url, path, e))?;
    Ok(hasher.finish())
}

/// Why one site's fetch stopped: the site (skip it for the next), or this
/// machine (a file that cannot be written: stop everything).
enum Failure {
    Site(Skip, String),
    Local(FetchError),
}

impl From<(Skip, String)> for Failure {
    fn from((skip, message): (Skip, String)) -> Self {
        Failure::Site(skip, message)
    }
}

fn local(url: &str, path: &Path, error: std::io::Error) -> Failure {
    Failure::Local(FetchError::Io {
        url: url.to_string(),
        path: path.to_path_buf(),
        error,
    })
}

/// How many first bytes are looked at to tell an HTML page.
const SNIFF: usize = 64;

fn html_page(url: &str) -> (Skip, String) {
    (
        Skip::Html,
        format!(
            "{url} served an HTML page instead of the file: an error or landing page; not kept"
        ),
    )
}

fn skip_of(e: &FetchError) -> Skip {
    match e {
        FetchError::NotFound { .. } | FetchError::Http { .. } => Skip::Http,
        FetchError::TooLarge { .. } => Skip::TooLarge,
        FetchError::Deadline { .. } | FetchError::TooSlow { .. } => Skip::Slow,
        FetchError::BadUrl { .. } | FetchError::BadFileName { .. } => Skip::BadUrl,
        FetchError::Network { .. }
        | FetchError::Io { .. }
        | FetchError::Setting { .. }
        | FetchError::Roots { .. } => Skip::Down,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_server::{Override, Server};

    fn site(root: &Path, dir: &str, name: &str, bytes: &[u8]) {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join(name), bytes).unwrap();
    }

    const NAME: &str = "pkg-1.0.tar.gz";

    #[test]
    fn each_bad_site_is_skipped_with_its_reason_until_the_good_one() {
        let good: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let other: Vec<u8> = good.iter().rev().copied().collect();
        let root = tempfile::tempdir().unwrap();
        for dir in ["html", "cut", "other", "good", "after"] {
            site(root.path(), dir, NAME, &good);
        }
        std::fs::write(root.path().join("other").join(NAME), &other).unwrap();
        let server = Server::start(root.path());
        server.set(
            &format!("/html/{NAME}"),
            Override::Body {
                status: 200,
                content_type: "application/octet-stream".into(),
                body: b"\n<!DOCTYPE html><html><body>Mirror moved</body></html>".to_vec(),
            },
        );
        server.set(
            &format!("/cut/{NAME}"),
            Override::Truncated {
                claimed: good.len() as u64 * 2,
            },
        );
        let dead = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            drop(listener);
            format!("http://127.0.0.1:{port}/")
        };
        let sites: Vec<String> = vec![
            dead,
            "ftp://example.org/".into(),
            server.url("/missing/"),
            server.url("/html"),
            server.url("/cut/"),
            server.url("/other/"),
            server.url("/good/"),
            server.url("/after/"),
        ];
        let want = Digests::of_bytes(&good);
        let out = tempfile::tempdir().unwrap();
        let attempts = fetch_from_sites(&sites, NAME, out.path(), 1 << 20, Pace::default(), |d| {
            *d == want
        })
        .unwrap();
        let skips: Vec<Option<Skip>> = attempts
            .iter()
            .map(|a| match &a.outcome {
                Outcome::Skipped { skip, .. } => Some(*skip),
                Outcome::Complete { .. } => None,
            })
            .collect();
        assert_eq!(
            skips,
            [
                Some(Skip::Down),
                Some(Skip::BadUrl),
                Some(Skip::Http),
                Some(Skip::Html),
                Some(Skip::Truncated),
                None,
                None
            ],
            "{attempts:#?}"
        );
        assert_eq!(attempts[3].url, server.url(&format!("/html/{NAME}")));
        let Outcome::Complete { path, digests } = &attempts[5].outcome else {
            unreachable!()
        };
        assert_eq!(*digests, Digests::of_bytes(&other));
        assert_eq!(std::fs::read(path).unwrap(), other);
        let Outcome::Complete { path, digests } = &attempts[6].outcome else {
            unreachable!()
        };
        assert_eq!(*digests, want);
        assert_eq!(std::fs::read(path).unwrap(), good);
        // Only the complete bodies were kept; the site after the good one
        // was never asked.
        #[allow(clippy::disallowed_methods)] // sorted right here
        let mut kept: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        kept.sort();
        assert_eq!(kept, ["site-6", "site-7"]);
        assert!(
            !server
                .requests()
                .iter()
                .any(|r| r.target.starts_with("/after/"))
        );
    }

    #[test]
    fn html_by_content_type_and_bodies_past_the_limit_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        site(root.path(), "a", NAME, &[7u8; 5000]);
        let server = Server::start(root.path());
        server.set(
            &format!("/a/{NAME}"),
            Override::ContentType("text/html; charset=utf-8".into()),
        );
        let out = tempfile::tempdir().unwrap();
        let attempts = fetch_from_sites(
            &[server.url("/a")],
            NAME,
            out.path(),
            1 << 20,
            Pace::default(),
            |_| true,
        )
        .unwrap();
        assert!(matches!(
            attempts[0].outcome,
            Outcome::Skipped {
                skip: Skip::Html,
                ..
            }
        ));
        // A page is told by its first bytes however the reads split them,
        // and a short one too.
        for page in [&b"  <HTML><body>gone</body></html>"[..], b"<html>"] {
            std::fs::write(root.path().join("a").join(NAME), page).unwrap();
            server.set(
                &format!("/a/{NAME}"),
                Override::Drip {
                    chunk: 1,
                    pause: std::time::Duration::from_millis(1),
                },
            );
            let attempts = fetch_from_sites(
                &[server.url("/a")],
                NAME,
                out.path(),
                1 << 20,
                Pace::default(),
                |_| true,
            )
            .unwrap();
            assert!(
                matches!(
                    attempts[0].outcome,
                    Outcome::Skipped {
                        skip: Skip::Html,
                        ..
                    }
                ),
                "{attempts:?}"
            );
        }
        std::fs::write(root.path().join("a").join(NAME), [7u8; 5000]).unwrap();
        server.set(&format!("/a/{NAME}"), Override::NoContentLength);
        let attempts = fetch_from_sites(
            &[server.url("/a")],
            NAME,
            out.path(),
            4999,
            Pace::default(),
            |_| true,
        )
        .unwrap();
        assert!(
            matches!(
                attempts[0].outcome,
                Outcome::Skipped {
                    skip: Skip::TooLarge,
                    ..
                }
            ),
            "{attempts:?}"
        );
        #[allow(clippy::disallowed_methods)] // only counted
        let left = std::fs::read_dir(out.path()).unwrap().count();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_dripping_site_is_skipped_as_slow_for_the_next() {
        let bytes = vec![5u8; 20_000];
        let root = tempfile::tempdir().unwrap();
        site(root.path(), "slow", NAME, &bytes);
        site(root.path(), "fast", NAME, &bytes);
        let server = Server::start(root.path());
        server.set(
            &format!("/slow/{NAME}"),
            Override::Drip {
                chunk: 1,
                pause: std::time::Duration::from_millis(20),
            },
        );
        let pace = Pace {
            deadline: std::time::Duration::from_secs(60),
            min_rate: 1000,
            window: std::time::Duration::from_millis(500),
        };
        let out = tempfile::tempdir().unwrap();
        let sites = [server.url("/slow/"), server.url("/fast/")];
        let attempts = fetch_from_sites(&sites, NAME, out.path(), 1 << 20, pace, |_| true).unwrap();
        assert!(
            matches!(&attempts[0].outcome, Outcome::Skipped { skip: Skip::Slow, message } if message.contains("minimum rate")),
            "{attempts:?}"
        );
        assert!(matches!(attempts[1].outcome, Outcome::Complete { .. }));
    }

    #[test]
    fn a_file_that_cannot_be_written_here_stops_everything() {
        let root = tempfile::tempdir().unwrap();
        site(root.path(), "a", NAME, b"bytes");
        let server = Server::start(root.path());
        let out = tempfile::tempdir().unwrap();
        let missing = out.path().join("missing");
        let sites = [server.url("/a/"), server.url("/a/")];
        let err = fetch_from_sites(&sites, NAME, &missing, 1 << 20, Pace::default(), |_| true)
            .unwrap_err();
        assert!(matches!(err, FetchError::Io { .. }), "{err}");
        assert_eq!(server.requests().len(), 1, "no second site is asked");
    }

    #[test]
    fn file_urls_append_one_encoded_segment() {
        assert_eq!(
            file_url("https://a.example/pub/", "x y#1.tar.gz").unwrap(),
            "https://a.example/pub/x%20y%231.tar.gz"
        );
        assert_eq!(
            file_url("https://a.example/pub", "x.tgz").unwrap(),
            "https://a.example/pub/x.tgz"
        );
        assert!(file_url("file:///tmp/", "x").is_err());
    }
}
