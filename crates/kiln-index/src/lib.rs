//! A project's page on a PyPI-compatible simple index, parsed: the PEP 503
//! HTML form and the PEP 691 JSON form, into the files it lists with their
//! absolute URLs, their sha256 (when the page gives one) and whether they
//! are yanked (PEP 592).
//!
//! Pages are untrusted input, so parsing is bounded:
//!
//! - The HTML scanner is one forward pass: every byte is looked at a fixed
//!   number of times, whatever the markup (a tag or a quoted value that
//!   never closes ends the page, as it does in an HTML parser; an entity
//!   name is looked for in the next 32 bytes only). Only `<a>` and `<base>`
//!   are read, and of their attributes only `href` and `data-yanked` are
//!   kept, so a tag with a million attributes costs no memory.
//! - The JSON reader streams the `files` list: an entry is kept only if the
//!   caller's filter wants its file name, so memory is the page plus what
//!   is kept. Nesting is limited by `serde_json` (128 levels).
//! - A page listing more than [`MAX_LINKS`] files is refused.
//!
//! Every malformed value that would matter (a link that is no URL, a sha256
//! that is not 64 hex digits, an API version we do not speak) is an error
//! naming the page. The body's size, and fetching it, are the caller's.
//!
//! Codemap: `html` (the PEP 503 scanner), `json` (the PEP 691 stream), this
//! file (the listing, the errors, the URL rules both share) and `write`
//! (the other direction: a static index's project and root pages, HTML
//! and JSON, as pure functions of the files, which the parser reads back).

use url::Url;

mod html;
mod json;
mod write;

pub use html::parse_html;
pub use json::parse_json;
pub use write::{
    API_VERSION, PageFile, ProjectPage, Yank, files_href, project_html, project_json, root_html,
    root_json,
};

/// One file listed on a project's index page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute, resolved against the page URL (or `<base href>`),
    /// fragment stripped.
    pub url: String,
    /// Lowercase hex, from the `#sha256=` fragment (HTML) or
    /// `hashes.sha256` (JSON, falling back to the fragment).
    pub sha256: Option<String>,
    pub yanked: bool,
    /// PEP 592's reason, when the page gives a non-empty one (capped at
    /// [`MAX_YANK_REASON`] bytes).
    pub yank_reason: Option<String>,
    /// PEP 700's `upload-time` (JSON only), kept when it has the shape
    /// `yyyy-mm-ddThh:mm:ss[.ffffff]Z`; anything else is left out.
    pub upload_time: Option<String>,
}

/// What a page lists: the files the caller's filter kept, in page order,
/// and how many there were in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub files: Vec<IndexFile>,
    /// Every file the page lists, kept or not.
    pub links: usize,
    /// The names of the first [`OTHERS_SHOWN`] files not kept, for a
    /// message saying what the page has instead.
    pub others: Vec<String>,
}

/// A page listing more files than this is refused (PyPI's largest project
/// pages list a few tens of thousands).
pub const MAX_LINKS: usize = 1_000_000;
/// How many names of files that were not kept a [`Listing`] remembers.
pub const OTHERS_SHOWN: usize = 20;
/// Anchor text kept per link; a file name is far shorter.
pub(crate) const MAX_TEXT: usize = 64 * 1024;
/// Bytes of a yank reason kept.
pub const MAX_YANK_REASON: usize = 1024;

/// Why a page (or an index URL) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("{url:?} is not a valid index URL (expected e.g. https://pypi.org/simple/): {reason}")]
    IndexUrl { url: String, reason: String },
    #[error("the page URL {url:?} is not a valid URL: {reason}")]
    PageUrl { url: String, reason: String },
    #[error("{page}: the link {href:?} is not a URL: {reason}")]
    Link {
        page: String,
        href: String,
        reason: String,
    },
    #[error("{page}: <base href={href:?}> is not a URL: {reason}")]
    Base {
        page: String,
        href: String,
        reason: String,
    },
    #[error(
        "{page} gives {filename} the sha256 {value:?}, which is not 64 hexadecimal digits: the index is broken or this is not a simple index"
    )]
    Sha256 {
        page: String,
        filename: String,
        value: String,
    },
    #[error("{page} is not a PEP 691 project page (JSON with a \"files\" list): {reason}")]
    Json { page: String, reason: String },
    #[error("{page} speaks simple API version {version}; kiln reads version 1.x (PEP 691)")]
    ApiVersion { page: String, version: String },
    #[error(
        "{page} lists more than {limit} files: refusing it (no project page is that large; is this a simple index?)"
    )]
    TooManyLinks { page: String, limit: usize },
}

/// `{index}/{normalized}/`, whether or not the index URL ends in `/`; only
/// http and https.
pub fn project_page_url(index_url: &str, normalized: &str) -> Result<String, IndexError> {
    let bad = |reason: String| IndexError::IndexUrl {
        url: index_url.to_string(),
        reason,
    };
    let mut base = Url::parse(index_url).map_err(|e| bad(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// indexes can be read".into()));
    }
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let page = base
        .join(&format!("{normalized}/"))
        .map_err(|e| bad(format!("cannot form the project page URL: {e}")))?;
    Ok(page.into())
}

/// The two forms of a project page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

/// By content type (PEP 691's names, `application/json`, `text/html`); an
/// absent or unknown one is sniffed from the body's first character.
pub fn page_format(content_type: &str, body: &str) -> Format {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/vnd.pypi.simple.v1+json"
        | "application/vnd.pypi.simple.latest+json"
        | "application/json" => Format::Json,
        "application/vnd.pypi.simple.v1+html"
        | "application/vnd.pypi.simple.latest+html"
        | "text/html" => Format::Html,
        _ if body.trim_start().starts_with('{') => Format::Json,
        _ => Format::Html,
    }
}

/// The page served from `page_url` with `content_type`, in whichever form
/// [`page_format`] says; `keep` picks the files wanted by name.
pub fn parse_page(
    page_url: &str,
    content_type: &str,
    body: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Listing, IndexError> {
    match page_format(content_type, body) {
        Format::Json => parse_json(page_url, body, keep),
        Format::Html => parse_html(page_url, body, keep),
    }
}

/// Every file: the filter for callers that want the whole listing.
pub fn all(_: &str) -> bool {
    true
}

/// Counts links, keeps what the caller wants, checks the kept hashes.
pub(crate) struct Collector<'a, F> {
    pub(crate) page: &'a str,
    keep: F,
    pub(crate) listing: Listing,
}

impl<'a, F: Fn(&str) -> bool> Collector<'a, F> {
    pub(crate) fn new(page: &'a str, keep: F) -> Self {
        Self {
            page,
            keep,
            listing: Listing::default(),
        }
    }

    /// Counts one listed file; false if the caller does not want it.
    pub(crate) fn offer(&mut self, filename: &str) -> Result<bool, IndexError> {
        self.listing.links += 1;
        if self.listing.links > MAX_LINKS {
            return Err(IndexError::TooManyLinks {
                page: self.page.to_string(),
                limit: MAX_LINKS,
            });
        }
        if (self.keep)(filename) {
            return Ok(true);
        }
        if self.listing.others.len() < OTHERS_SHOWN {
            self.listing.others.push(filename.to_string());
        }
        Ok(false)
    }

    pub(crate) fn push(
        &mut self,
        filename: String,
        url: String,
        sha256: Option<String>,
        yanked: bool,
    ) -> Result<(), IndexError> {
        let sha256 = check_sha256(sha256, self.page, &filename)?;
        self.listing.files.push(IndexFile {
            filename,
            url,
            sha256,
            yanked,
            yank_reason: None,
            upload_time: None,
        });
        Ok(())
    }

    /// The reason the file just pushed is yanked, if any (empty is none).
    pub(crate) fn set_yank_reason(&mut self, reason: Option<String>) {
        if let Some(file) = self.listing.files.last_mut() {
            file.yank_reason = reason.filter(|r| !r.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------
// Shared

pub(crate) fn page_base(page_url: &str) -> Result<Url, IndexError> {
    Url::parse(page_url).map_err(|e| IndexError::PageUrl {
        url: page_url.to_string(),
        reason: e.to_string(),
    })
}

/// Resolves `href` against `base`: the absolute URL without its fragment,
/// and the `sha256=` value of the fragment if it has one.
pub(crate) fn resolve(base: &Url, href: &str) -> Result<(String, Option<String>), String> {
    let mut url = base.join(href.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{url} is not an http:// or https:// URL"));
    }
    let sha256 = url.fragment().and_then(|fragment| {
        let (name, value) = fragment.split_once('=')?;
        name.eq_ignore_ascii_case("sha256")
            .then(|| value.to_string())
    });
    url.set_fragment(None);
    Ok((url.into(), sha256))
}

/// A sha256 is 64 hex digits; it is returned lowercased.
pub(crate) fn check_sha256(
    sha256: Option<String>,
    page: &str,
    filename: &str,
) -> Result<Option<String>, IndexError> {
    match sha256 {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(hex.to_ascii_lowercase()))
        }
        Some(value) => Err(IndexError::Sha256 {
            page: page.to_string(),
            filename: filename.to_string(),
            value,
        }),
        None => Ok(None),
    }
}

/// The URL's last path segment, percent-decoded.
pub(crate) fn last_segment(url: &str) -> String {
    let path = Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let segment = path.rsplit('/').next().unwrap_or("");
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_tests;

/// A PEP 700 upload time as the simple API writes it: `yyyy-mm-ddThh:mm:ss`,
/// optional fraction, `Z`.
pub(crate) fn is_upload_time(value: &str) -> bool {
    let b = value.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b.last() == Some(&b'Z')
        && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1) && b.len() > 21))
}
