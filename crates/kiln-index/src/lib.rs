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

use url::Url;

mod json;
pub use json::parse_json;

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
    /// PEP 700's `upload-time` (JSON only), as the index wrote it (RFC 3339,
    /// e.g. `2026-11-04T18:37:08.123456Z`); dropped when it is not short
    /// printable ASCII.
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
const MAX_TEXT: usize = 64 * 1024;

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
struct Collector<'a, F> {
    page: &'a str,
    keep: F,
    listing: Listing,
}

impl<'a, F: Fn(&str) -> bool> Collector<'a, F> {
    fn new(page: &'a str, keep: F) -> Self {
        Self {
            page,
            keep,
            listing: Listing::default(),
        }
    }

    /// Counts one listed file; false if the caller does not want it.
    fn offer(&mut self, filename: &str) -> Result<bool, IndexError> {
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

    fn push(
        &mut self,
        filename: String,
        url: String,
        sha256: Option<String>,
        yanked: bool,
        upload_time: Option<String>,
    ) -> Result<(), IndexError> {
        let sha256 = check_sha256(sha256, self.page, &filename)?;
        let upload_time =
            upload_time.filter(|t| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()));
        self.listing.files.push(IndexFile {
            filename,
            url,
            sha256,
            yanked,
            upload_time,
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// PEP 503 HTML

/// The files of a PEP 503 HTML project page served from `page_url` that
/// `keep` wants by name: every `<a href>` (relative hrefs resolved against
/// the page, or a `<base href>` before it), its text (or, if empty, the
/// URL's last path segment) as the file name, `#sha256=` as the hash and
/// `data-yanked` as yanked. An anchor's text ends at `</a>`, at the next
/// `<a>`, or at any tag other than inline markup (`<span>`, `<b>`, ...);
/// comments are skipped; entities in attributes and text are decoded.
pub fn parse_html(
    page_url: &str,
    body: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Listing, IndexError> {
    let mut base = page_base(page_url)?;
    let mut collector = Collector::new(page_url, keep);
    let bytes = body.as_bytes();
    let mut open: Option<Anchor> = None;
    let mut at = 0;
    while at < bytes.len() {
        let next = find_byte(bytes, at, b'<');
        let text_end = next.unwrap_or(bytes.len());
        if let Some(anchor) = &mut open {
            anchor.push_text(&body[at..text_end]);
        }
        let Some(start) = next else { break };
        if bytes[start..].starts_with(b"<!--") {
            match find_seq(&bytes[start + 4..], b"-->") {
                Some(end) => {
                    at = start + 4 + end + 3;
                    continue;
                }
                None => break,
            }
        }
        let tag = match scan_tag(body, start) {
            Scan::Text => {
                if let Some(anchor) = &mut open {
                    anchor.push_text("<");
                }
                at = start + 1;
                continue;
            }
            // End of input inside a tag: HTML drops the tag and the rest.
            Scan::Eof => break,
            Scan::Tag(tag) => tag,
        };
        at = tag.end;
        let name = &body[tag.name.0..tag.name.1];
        if name.eq_ignore_ascii_case("a") {
            if let Some(anchor) = open.take() {
                anchor.finish(&mut collector)?;
            }
            if !tag.closing {
                let link = match tag.href {
                    Some(href) => {
                        Some(resolve(&base, &href).map_err(|reason| IndexError::Link {
                            page: page_url.to_string(),
                            href,
                            reason,
                        })?)
                    }
                    None => None,
                };
                open = Some(Anchor {
                    link,
                    yanked: tag.yanked,
                    text: String::new(),
                });
            }
        } else if !PHRASING.iter().any(|p| name.eq_ignore_ascii_case(p)) {
            if let Some(anchor) = open.take() {
                anchor.finish(&mut collector)?;
            }
            if name.eq_ignore_ascii_case("base")
                && !tag.closing
                && let Some(href) = tag.href
            {
                base = base.join(&href).map_err(|e| IndexError::Base {
                    page: page_url.to_string(),
                    href,
                    reason: e.to_string(),
                })?;
            }
        }
    }
    if let Some(anchor) = open.take() {
        anchor.finish(&mut collector)?;
    }
    Ok(collector.listing)
}

/// Inline markup that may sit inside a link's text without ending it.
const PHRASING: &[&str] = &[
    "abbr", "b", "big", "code", "em", "font", "i", "kbd", "mark", "s", "samp", "small", "span",
    "strong", "sub", "sup", "tt", "u", "var", "wbr",
];

/// An `<a>` whose text is being read.
struct Anchor {
    /// The resolved URL and its fragment's sha256; `None` without `href`.
    link: Option<(String, Option<String>)>,
    yanked: bool,
    text: String,
}

impl Anchor {
    fn push_text(&mut self, text: &str) {
        let room = MAX_TEXT.saturating_sub(self.text.len());
        if room == 0 {
            return;
        }
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&text[..end]);
    }

    fn finish<F: Fn(&str) -> bool>(
        self,
        collector: &mut Collector<'_, F>,
    ) -> Result<(), IndexError> {
        let Some((url, sha256)) = self.link else {
            return Ok(());
        };
        let text = decode_entities(&self.text).trim().to_string();
        let filename = if text.is_empty() {
            last_segment(&url)
        } else {
            text
        };
        if collector.offer(&filename)? {
            collector.push(filename, url, sha256, self.yanked, None)?;
        }
        Ok(())
    }
}

/// A start or end tag: what the scanner keeps of it.
struct Tag {
    /// Byte range of the name in the body.
    name: (usize, usize),
    /// `</name>`: an end tag.
    closing: bool,
    /// The first `href`, entities decoded (`""` for a bare attribute).
    href: Option<String>,
    /// A `data-yanked` attribute is present (with any value).
    yanked: bool,
    /// Just past the closing `>`.
    end: usize,
}

enum Scan {
    /// A `<` that starts no tag: it is text.
    Text,
    /// The input ends inside the tag.
    Eof,
    Tag(Tag),
}

/// Reads the tag at `start` (a `<`), looking at each byte once.
fn scan_tag(body: &str, start: usize) -> Scan {
    let bytes = body.as_bytes();
    let len = bytes.len();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < len && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'!') {
        i += 1;
    }
    if i == name_start {
        return Scan::Text;
    }
    let mut tag = Tag {
        name: (name_start, i),
        closing,
        href: None,
        yanked: false,
        end: 0,
    };
    loop {
        while i < len && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return Scan::Eof,
            Some(b'>') => {
                tag.end = i + 1;
                return Scan::Tag(tag);
            }
            Some(_) => {}
        }
        let attr_start = i;
        while i < len && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i]) {
            i += 1;
        }
        let attr = &body[attr_start..i];
        while i < len && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if attr_start == i {
                i += 1; // junk that starts no attribute: step over it
            }
            tag.note(attr, "");
            continue;
        }
        i += 1;
        while i < len && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            None => return Scan::Eof,
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let Some(value_len) = find_byte(bytes, value_start, quote).map(|q| q - value_start)
                else {
                    return Scan::Eof;
                };
                i = value_start + value_len + 1;
                &body[value_start..value_start + value_len]
            }
            _ => {
                let value_start = i;
                while i < len && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &body[value_start..i]
            }
        };
        tag.note(attr, value);
    }
}

impl Tag {
    /// Keeps the attributes the scanner needs; drops the rest unread.
    fn note(&mut self, attr: &str, value: &str) {
        if attr.eq_ignore_ascii_case("href") {
            if self.href.is_none() {
                self.href = Some(decode_entities(value));
            }
        } else if attr.eq_ignore_ascii_case("data-yanked") {
            self.yanked = true;
        }
    }
}

/// The first `needle` at or after `from`.
fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

/// The first `needle` in `haystack` (needle short, no repeated prefix
/// that would matter: a plain scan stays linear for `-->`).
fn find_seq(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric
/// references; anything else is kept as written. An entity's `;` is looked
/// for in the next 32 bytes only, so the pass is linear.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.as_bytes()[1..]
            .iter()
            .take(33)
            .position(|&b| b == b';')
            .and_then(|semi| Some((entity(&rest[1..1 + semi])?, semi + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse().ok()?
    } else {
        return match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => None,
        };
    };
    Some(char::from_u32(code).unwrap_or('\u{fffd}'))
}

// ---------------------------------------------------------------------------
// Shared

fn page_base(page_url: &str) -> Result<Url, IndexError> {
    Url::parse(page_url).map_err(|e| IndexError::PageUrl {
        url: page_url.to_string(),
        reason: e.to_string(),
    })
}

/// Resolves `href` against `base`: the absolute URL without its fragment,
/// and the `sha256=` value of the fragment if it has one.
fn resolve(base: &Url, href: &str) -> Result<(String, Option<String>), String> {
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
fn check_sha256(
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
fn last_segment(url: &str) -> String {
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
