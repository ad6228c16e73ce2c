//! Reading a project's page on a PyPI-compatible simple index: the PEP 503
//! HTML form and the PEP 691 JSON form, whichever the server sends back,
//! into the list of files with their absolute URLs, their recorded sha256
//! (when the index gives one) and whether they are yanked (PEP 592).
//!
//! Pages are untrusted input: the body is capped, the HTML scanner is a
//! single linear pass that only looks at `<a>` and `<base>` tags, and every
//! malformed value that would matter (a link that is no URL, a sha256 that
//! is not 64 hex digits, an API version we do not speak) is an error that
//! names the page. The index's hash is a hint; `verify` checks every
//! download against its own record.

use crate::fetch::{self, FetchError};
use anyhow::{Context as _, bail};
use std::collections::BTreeMap;
use url::Url;

/// One file listed on a project's index page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute, resolved against the page URL, fragment stripped.
    pub url: String,
    /// Lowercase hex, from the `#sha256=` fragment (HTML) or
    /// `hashes.sha256` (JSON, falling back to the fragment).
    pub sha256: Option<String>,
    pub yanked: bool,
}

/// Asks for PEP 691 JSON first and accepts HTML (PEP 691's own example).
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
/// A project page larger than this is refused (PyPI's largest are a few MiB).
pub const MAX_PAGE_SIZE: u64 = 64 * 1024 * 1024;

/// The files of `project` on the simple index at `index_url` (for example
/// `https://pypi.org/simple/`): the page `{index}/{normalized name}/`, JSON
/// asked for first, parsed by the content type that comes back. A 404 is
/// `Ok(None)`: the project is not on that index.
pub fn project_files(index_url: &str, project: &str) -> anyhow::Result<Option<Vec<IndexFile>>> {
    let name = kiln_names::ProjectName::new(project)?;
    let page_url = project_page_url(index_url, name.normalized())?;
    let (content_type, body, final_url) = match fetch::get_text(&page_url, ACCEPT, MAX_PAGE_SIZE) {
        Ok(page) => page,
        Err(FetchError::NotFound { .. }) => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| {
                format!("could not read the page of {project} on the index {index_url}")
            });
        }
    };
    let files = match page_format(&content_type, &body) {
        Format::Json => parse_json(&final_url, &body),
        Format::Html => parse_html(&final_url, &body),
    }
    .with_context(|| {
        format!("the index page of {project} at {final_url} (content type {content_type:?}) could not be read")
    })?;
    Ok(Some(files))
}

/// `{index}/{normalized}/`, whether or not the index URL ends in `/`.
fn project_page_url(index_url: &str, normalized: &str) -> anyhow::Result<String> {
    let mut base = Url::parse(index_url).with_context(|| {
        format!("{index_url:?} is not a valid index URL (expected e.g. https://pypi.org/simple/)")
    })?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!("{index_url:?} is not an http:// or https:// index URL");
    }
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let page = base
        .join(&format!("{normalized}/"))
        .with_context(|| format!("cannot form the project page URL under {index_url}"))?;
    Ok(page.into())
}

enum Format {
    Json,
    Html,
}

/// By content type (PEP 691's names, `application/json`, `text/html`); an
/// absent or unknown one is sniffed from the body's first character.
fn page_format(content_type: &str, body: &str) -> Format {
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

// ---------------------------------------------------------------------------
// PEP 691 JSON

#[derive(serde::Deserialize)]
struct JsonPage {
    #[serde(default)]
    meta: JsonMeta,
    files: Vec<JsonFile>,
}

#[derive(serde::Deserialize, Default)]
struct JsonMeta {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

#[derive(serde::Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    yanked: Option<Yanked>,
}

/// PEP 592 in JSON: `false`/`true`, or a reason (any string means yanked).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Yanked {
    Flag(bool),
    Reason(#[allow(dead_code)] String),
}

/// The files of a PEP 691 JSON project page served from `page_url`.
pub fn parse_json(page_url: &str, body: &str) -> anyhow::Result<Vec<IndexFile>> {
    let base = page_base(page_url)?;
    let page: JsonPage = serde_json::from_str(body).with_context(|| {
        format!("{page_url} is not a PEP 691 project page (JSON with a \"files\" list)")
    })?;
    if let Some(version) = &page.meta.api_version {
        let major = version.split('.').next().unwrap_or("");
        if major != "1" {
            bail!(
                "{page_url} speaks simple API version {version}; kiln reads version 1.x (PEP 691)"
            );
        }
    }
    page.files
        .into_iter()
        .map(|file| -> anyhow::Result<IndexFile> {
            let (url, fragment_hash) = resolve(&base, &file.url)
                .with_context(|| format!("{page_url}: the URL of {}", file.filename))?;
            let sha256 = match file.hashes.get("sha256") {
                Some(hex) => Some(hex.clone()),
                None => fragment_hash,
            };
            Ok(IndexFile {
                sha256: check_sha256(sha256, page_url, &file.filename)?,
                yanked: matches!(file.yanked, Some(Yanked::Flag(true) | Yanked::Reason(_))),
                filename: file.filename,
                url,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// PEP 503 HTML

/// The files of a PEP 503 HTML project page served from `page_url`: every
/// `<a href>` (relative hrefs resolved against the page, or a `<base href>`),
/// its text (or, if empty, the URL's last path segment) as the file name,
/// `#sha256=` as the hash and `data-yanked` as yanked. Comments are skipped;
/// entities in attributes and text are decoded.
pub fn parse_html(page_url: &str, body: &str) -> anyhow::Result<Vec<IndexFile>> {
    let mut base = page_base(page_url)?;
    let lower = body.to_ascii_lowercase();
    let mut files = Vec::new();
    let mut at = 0;
    while let Some(offset) = body[at..].find('<') {
        let start = at + offset;
        if lower[start..].starts_with("<!--") {
            at = lower[start + 4..]
                .find("-->")
                .map_or(body.len(), |end| start + 4 + end + 3);
            continue;
        }
        let Some(tag) = parse_tag(body, start) else {
            at = start + 1;
            continue;
        };
        at = tag.end;
        if tag.closing {
            continue;
        }
        if tag.name.eq_ignore_ascii_case("base") {
            if let Some(href) = tag.attr("href") {
                base = base
                    .join(href)
                    .with_context(|| format!("{page_url}: <base href={href:?}> is not a URL"))?;
            }
        } else if tag.name.eq_ignore_ascii_case("a") {
            let (text, after) = anchor_text(body, &lower, tag.end);
            at = after;
            let Some(href) = tag.attr("href") else {
                continue;
            };
            let (url, fragment_hash) = resolve(&base, href)
                .with_context(|| format!("{page_url}: the link {href:?} is not a URL"))?;
            let filename = if text.is_empty() {
                last_segment(&url)
            } else {
                text
            };
            files.push(IndexFile {
                sha256: check_sha256(fragment_hash, page_url, &filename)?,
                yanked: tag.attr("data-yanked").is_some(),
                filename,
                url,
            });
        }
    }
    Ok(files)
}

struct Tag {
    name: String,
    /// `</name>`: an end tag.
    closing: bool,
    /// Lowercased names, decoded values (`None` for a bare attribute).
    attrs: Vec<(String, Option<String>)>,
    /// Just past the closing `>`.
    end: usize,
}

impl Tag {
    /// The attribute's value, `Some("")` for a bare attribute.
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
}

/// Parses the start or end tag at `start` (which is a `<`); `None` if it is
/// not a tag (a stray `<`) or never closes.
fn parse_tag(body: &str, start: usize) -> Option<Tag> {
    let bytes = body.as_bytes();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'!') {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let name = body[name_start..i].to_string();
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return None,
            Some(b'>') => {
                return Some(Tag {
                    name,
                    closing,
                    attrs,
                    end: i + 1,
                });
            }
            Some(_) => {}
        }
        let attr_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i]) {
            i += 1;
        }
        let attr_name = body[attr_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if attr_start == i {
                i += 1; // a lone '/' or junk: step over it
            }
            attrs.push((attr_name, None));
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let len = body[value_start..].find(quote as char)?;
                i = value_start + len + 1;
                &body[value_start..value_start + len]
            }
            _ => {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &body[value_start..i]
            }
        };
        attrs.push((attr_name, Some(decode_entities(value))));
    }
}

/// The text of an `<a>` whose start tag ends at `from`: up to `</a>`, inner
/// tags dropped, entities decoded, whitespace trimmed. Returns the text and
/// where scanning goes on (past `</a>`, or where the next tag opens if the
/// anchor is never closed).
fn anchor_text(body: &str, lower: &str, from: usize) -> (String, usize) {
    let mut search = from;
    let (end, after) = loop {
        match lower[search..].find("</a") {
            Some(offset) => {
                let close = search + offset;
                let next = lower.as_bytes().get(close + 3).copied();
                if matches!(next, Some(b'>') | None)
                    || next.is_some_and(|b| b.is_ascii_whitespace())
                {
                    let after = lower[close..]
                        .find('>')
                        .map_or(body.len(), |g| close + g + 1);
                    break (close, after);
                }
                search = close + 3;
            }
            None => {
                let end = lower[from..].find('<').map_or(body.len(), |o| from + o);
                break (end, end);
            }
        }
    };
    let mut text = String::new();
    let mut rest = &body[from..end];
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        rest = rest[open..]
            .find('>')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    text.push_str(rest);
    (decode_entities(&text).trim().to_string(), after)
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric
/// references; anything else is kept as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&semi| semi <= 32)
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

fn page_base(page_url: &str) -> anyhow::Result<Url> {
    Url::parse(page_url).with_context(|| format!("the page URL {page_url:?} is not a valid URL"))
}

/// Resolves `href` against `base`: the absolute URL without its fragment,
/// and the `sha256=` value of the fragment if it has one.
fn resolve(base: &Url, href: &str) -> anyhow::Result<(String, Option<String>)> {
    let mut url = base.join(href.trim())?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{url} is not an http:// or https:// URL");
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
    page_url: &str,
    filename: &str,
) -> anyhow::Result<Option<String>> {
    match sha256 {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(hex.to_ascii_lowercase()))
        }
        Some(hex) => bail!(
            "{page_url} gives {filename} the sha256 {hex:?}, which is not 64 hexadecimal digits: the index is broken or this is not a simple index"
        ),
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
mod tests {
    use super::*;
    use crate::fetch::http_server::{
        Override, PEP691_JSON, Server, sha256_hex, write_simple_index,
    };

    const SHA_A: &str = "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0";
    const SHA_B: &str = "be96faab1b548cfb899d0d63d70a5010be26dd2d87da0ee3180439d98a9c02e3";

    fn file(filename: &str, url: &str, sha256: Option<&str>, yanked: bool) -> IndexFile {
        IndexFile {
            filename: filename.into(),
            url: url.into(),
            sha256: sha256.map(str::to_string),
            yanked,
        }
    }

    /// Shaped like pypi.org/simple/<project>/ as served in 2025.
    const PYPI_HTML: &str = r#"<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="active">
    <title>Links for kiln-sums</title>
  </head>
  <body>
    <h1>Links for kiln-sums</h1>
<a href="https://files.pythonhosted.org/packages/0a/1b/2c3d/kiln_sums-0.1.0-py3-none-any.whl#sha256=9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0" data-requires-python="&gt;=3.9" data-dist-info-metadata="sha256=aaaa" data-core-metadata="sha256=aaaa">kiln_sums-0.1.0-py3-none-any.whl</a><br />
<a href="https://files.pythonhosted.org/packages/3e/4f/5a6b/kiln_sums-0.1.0.tar.gz#sha256=BE96FAAB1B548CFB899D0D63D70A5010BE26DD2D87DA0EE3180439D98A9C02E3" data-requires-python="&gt;=3.9" >kiln_sums-0.1.0.tar.gz</a><br />
<a href="https://files.pythonhosted.org/packages/7c/8d/9e0f/kiln_sums-0.0.9.tar.gz#sha256=9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0" data-requires-python="&gt;=3.9" data-yanked="broken &amp; superseded">kiln_sums-0.0.9.tar.gz</a><br />
<a href="https://files.pythonhosted.org/packages/1a/2b/3c4d/kiln_sums-0.0.8.tar.gz#md5=0123456789abcdef0123456789abcdef" data-yanked>kiln_sums-0.0.8.tar.gz</a><br />
</body>
</html>
<!--SERIAL 29551234-->
"#;

    #[test]
    fn pypi_html_lists_files_hashes_and_yanks() {
        let files = parse_html("https://pypi.org/simple/kiln-sums/", PYPI_HTML).unwrap();
        assert_eq!(
            files,
            [
                file(
                    "kiln_sums-0.1.0-py3-none-any.whl",
                    "https://files.pythonhosted.org/packages/0a/1b/2c3d/kiln_sums-0.1.0-py3-none-any.whl",
                    Some(SHA_A),
                    false
                ),
                file(
                    "kiln_sums-0.1.0.tar.gz",
                    "https://files.pythonhosted.org/packages/3e/4f/5a6b/kiln_sums-0.1.0.tar.gz",
                    Some(SHA_B),
                    false
                ),
                file(
                    "kiln_sums-0.0.9.tar.gz",
                    "https://files.pythonhosted.org/packages/7c/8d/9e0f/kiln_sums-0.0.9.tar.gz",
                    Some(SHA_A),
                    true
                ),
                file(
                    "kiln_sums-0.0.8.tar.gz",
                    "https://files.pythonhosted.org/packages/1a/2b/3c4d/kiln_sums-0.0.8.tar.gz",
                    None,
                    true
                ),
            ]
        );
    }

    #[test]
    fn html_relative_links_entities_and_odd_markup() {
        let page = format!(
            r#"<html><body>
<!-- <a href="commented-out.whl">commented-out.whl</a> -->
<A HREF='../../files/a-1.0.tar.gz?x=1&amp;y=2#sha256={SHA_A}'>a-1.0&#46;tar&#x2E;gz</A>
<a class=file href=/abs/a-1.1.tar.gz>  <span>a-1.1.tar.gz</span>  </a >
<a href="sub/a%2B1.2.tar.gz"></a>
<a name="no-href">not a file</a>
<abbr>a stray </abbr> <a href="https://mirror.example/a-1.3.tar.gz" data-yanked="">a-1.3.tar.gz</a>
3 < 4 and <a href="a-1.4.tar.gz">a-1.4.tar.gz
</body></html>"#
        );
        let files = parse_html("http://127.0.0.1:8080/simple/a/", &page).unwrap();
        assert_eq!(
            files,
            [
                file(
                    "a-1.0.tar.gz",
                    "http://127.0.0.1:8080/files/a-1.0.tar.gz?x=1&y=2",
                    Some(SHA_A),
                    false
                ),
                file(
                    "a-1.1.tar.gz",
                    "http://127.0.0.1:8080/abs/a-1.1.tar.gz",
                    None,
                    false
                ),
                file(
                    "a+1.2.tar.gz",
                    "http://127.0.0.1:8080/simple/a/sub/a%2B1.2.tar.gz",
                    None,
                    false
                ),
                file(
                    "a-1.3.tar.gz",
                    "https://mirror.example/a-1.3.tar.gz",
                    None,
                    true
                ),
                file(
                    "a-1.4.tar.gz",
                    "http://127.0.0.1:8080/simple/a/a-1.4.tar.gz",
                    None,
                    false
                ),
            ]
        );
    }

    #[test]
    fn html_base_href_moves_relative_links() {
        let page = r#"<html><head><base href="https://cdn.example/pkgs/"></head>
<body><a href="x-1.0.tar.gz">x-1.0.tar.gz</a></body></html>"#;
        let files = parse_html("https://index.example/simple/x/", page).unwrap();
        assert_eq!(files[0].url, "https://cdn.example/pkgs/x-1.0.tar.gz");
    }

    #[test]
    fn html_errors_name_the_page() {
        let page = "<a href=\"x.tar.gz#sha256=abc\">x.tar.gz</a>";
        let err = parse_html("https://i.example/simple/x/", page).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("https://i.example/simple/x/"), "{text}");
        assert!(text.contains("64 hexadecimal digits"), "{text}");
        let page = "<a href=\"http://[::1\">x</a>";
        let err = parse_html("https://i.example/simple/x/", page).unwrap_err();
        assert!(format!("{err:#}").contains("is not a URL"), "{err:#}");
        let page = "<a href=\"file:///etc/passwd\">x</a>";
        assert!(parse_html("https://i.example/simple/x/", page).is_err());
        assert!(parse_html("not a url", "").is_err());
    }

    #[test]
    fn html_scanner_survives_garbage() {
        let garbage = [
            "",
            "<",
            "<a",
            "<a href",
            "<a href=",
            "<a href=\"unterminated",
            "<a href=x.whl",
            "<a href=x.whl>",
            "<a href=x.whl></a",
            "<!--",
            "<a/ href=x>y</a>",
            "&",
            "&#xFFFFFFFF;&#99999999999;&#;&amp",
            "<a href=\"é.whl\">é</a>",
            "<<<>>><a><a><a></a></a></a>",
        ];
        for page in garbage {
            let _ = parse_html("https://i.example/simple/x/", page);
        }
        let files = parse_html("https://i.example/s/", "<a href=x.whl>").unwrap();
        assert_eq!(
            files,
            [file("x.whl", "https://i.example/s/x.whl", None, false)]
        );
    }

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("a&amp;b&lt;c&gt;d&quot;e&apos;f&#65;&#x42;&bogus;&"),
            "a&b<c>d\"e'fAB&bogus;&"
        );
        assert_eq!(decode_entities("&#xD800;"), "\u{fffd}");
    }

    /// Shaped like pypi.org's PEP 691 answer.
    const PYPI_JSON: &str = r#"{
  "alternate-locations": [],
  "files": [
    {
      "core-metadata": {"sha256": "aaaa"},
      "data-dist-info-metadata": {"sha256": "aaaa"},
      "filename": "kiln_sums-0.1.0-py3-none-any.whl",
      "hashes": {"sha256": "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0"},
      "provenance": null,
      "requires-python": ">=3.9",
      "size": 4217,
      "upload-time": "2025-11-20T10:00:00.000000Z",
      "url": "https://files.pythonhosted.org/packages/0a/1b/2c3d/kiln_sums-0.1.0-py3-none-any.whl",
      "yanked": false
    },
    {
      "filename": "kiln_sums-0.1.0.tar.gz",
      "hashes": {"sha256": "BE96FAAB1B548CFB899D0D63D70A5010BE26DD2D87DA0EE3180439D98A9C02E3", "md5": "0123"},
      "url": "../../packages/kiln_sums-0.1.0.tar.gz#sha256=ignored",
      "yanked": "broken build"
    },
    {
      "filename": "kiln_sums-0.0.9.tar.gz",
      "hashes": {},
      "url": "https://files.example/kiln_sums-0.0.9.tar.gz#sha256=9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0",
      "yanked": true
    },
    {
      "filename": "kiln_sums-0.0.8.tar.gz",
      "hashes": {"md5": "0123"},
      "url": "https://files.example/kiln_sums-0.0.8.tar.gz",
      "yanked": ""
    }
  ],
  "meta": {"_last-serial": 29551234, "api-version": "1.4"},
  "name": "kiln-sums",
  "project-status": {"status": "active"},
  "versions": ["0.0.8", "0.0.9", "0.1.0"]
}"#;

    #[test]
    fn pypi_json_lists_files_hashes_and_yanks() {
        let files = parse_json("https://pypi.org/simple/kiln-sums/", PYPI_JSON).unwrap();
        assert_eq!(
            files,
            [
                file(
                    "kiln_sums-0.1.0-py3-none-any.whl",
                    "https://files.pythonhosted.org/packages/0a/1b/2c3d/kiln_sums-0.1.0-py3-none-any.whl",
                    Some(SHA_A),
                    false
                ),
                file(
                    "kiln_sums-0.1.0.tar.gz",
                    "https://pypi.org/packages/kiln_sums-0.1.0.tar.gz",
                    Some(SHA_B),
                    true
                ),
                file(
                    "kiln_sums-0.0.9.tar.gz",
                    "https://files.example/kiln_sums-0.0.9.tar.gz",
                    Some(SHA_A),
                    true
                ),
                file(
                    "kiln_sums-0.0.8.tar.gz",
                    "https://files.example/kiln_sums-0.0.8.tar.gz",
                    None,
                    true
                ),
            ]
        );
    }

    #[test]
    fn json_errors_name_the_page() {
        let page = "https://i.example/simple/x/";
        for (body, needle) in [
            ("not json", "not a PEP 691 project page"),
            ("{\"meta\": {}}", "not a PEP 691 project page"),
            (
                "{\"meta\": {\"api-version\": \"2.0\"}, \"files\": []}",
                "version 2.0",
            ),
            (
                "{\"files\": [{\"filename\": \"x\", \"url\": \"x\", \"yanked\": 3}]}",
                "not a PEP 691 project page",
            ),
            (
                "{\"files\": [{\"filename\": \"x\", \"url\": \"x\", \"hashes\": {\"sha256\": \"zz\"}}]}",
                "64 hexadecimal digits",
            ),
        ] {
            let err = parse_json(page, body).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(page), "{text}");
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let files = parse_json(page, "{\"files\": []}").unwrap();
        assert!(files.is_empty());
    }

    #[test]
    fn page_urls_are_normalized_and_slashed() {
        for index in [
            "https://pypi.org/simple",
            "https://pypi.org/simple/",
            "https://pypi.org/simple/#x",
        ] {
            assert_eq!(
                project_page_url(index, "kiln-sums").unwrap(),
                "https://pypi.org/simple/kiln-sums/"
            );
        }
        assert!(project_page_url("ftp://x/simple", "a").is_err());
        assert!(project_page_url("simple", "a").is_err());
    }

    // Over a real HTTP server.

    const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";
    const SDIST: &str = "kiln_sums-0.1.0.tar.gz";

    fn index_with(json: bool) -> (tempfile::TempDir, Server) {
        let root = tempfile::tempdir().unwrap();
        write_simple_index(
            root.path(),
            "Kiln_Sums",
            &[(WHEEL, b"wheel bytes"), (SDIST, b"sdist bytes")],
            json,
        );
        let server = Server::start(root.path());
        (root, server)
    }

    fn expected(server: &Server) -> Vec<IndexFile> {
        vec![
            file(
                WHEEL,
                &server.url(&format!("/files/{WHEEL}")),
                Some(&sha256_hex(b"wheel bytes")),
                false,
            ),
            file(
                SDIST,
                &server.url(&format!("/files/{SDIST}")),
                Some(&sha256_hex(b"sdist bytes")),
                false,
            ),
        ]
    }

    #[test]
    fn html_index_over_http() {
        let (_root, server) = index_with(false);
        let index = server.url("/simple");
        let files = project_files(&index, "kiln.sums").unwrap().unwrap();
        assert_eq!(files, expected(&server));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].target, "/simple/kiln-sums/");
        assert_eq!(requests[0].header("accept"), Some(ACCEPT));
    }

    #[test]
    fn json_index_over_http() {
        let (root, server) = index_with(true);
        // Only the JSON form is left: it is served because ACCEPT asks for it.
        std::fs::remove_file(root.path().join("simple/kiln-sums/index.html")).unwrap();
        let files = project_files(&server.url("/simple/"), "KILN-SUMS")
            .unwrap()
            .unwrap();
        assert_eq!(files, expected(&server));
        assert_eq!(server.requests()[0].header("accept"), Some(ACCEPT));
    }

    #[test]
    fn content_type_decides_and_unknown_is_sniffed() {
        let (_root, server) = index_with(false);
        let path = "/simple/kiln-sums/";
        let json = format!(
            "{{\"files\": [{{\"filename\": \"{WHEEL}\", \"url\": \"/w\", \"hashes\": {{\"sha256\": \"{SHA_A}\"}}}}]}}"
        );
        for content_type in [PEP691_JSON, "application/json; charset=utf-8", ""] {
            server.set(
                path,
                Override::Body {
                    status: 200,
                    content_type: content_type.into(),
                    body: json.clone().into_bytes(),
                },
            );
            let files = project_files(&server.url("/simple/"), "kiln-sums")
                .unwrap()
                .unwrap();
            assert_eq!(
                files,
                [file(WHEEL, &server.url("/w"), Some(SHA_A), false)],
                "{content_type}"
            );
        }
        // JSON served as HTML has no anchors: an empty list, not an error.
        server.set(
            path,
            Override::Body {
                status: 200,
                content_type: "text/html".into(),
                body: json.into_bytes(),
            },
        );
        let files = project_files(&server.url("/simple/"), "kiln-sums").unwrap();
        assert_eq!(files, Some(vec![]));
    }

    #[test]
    fn a_redirected_page_resolves_links_against_where_it_landed() {
        let (root, server) = index_with(false);
        // Move the page one level deeper, keeping its relative links valid
        // only from the new place.
        let moved = root.path().join("mirror/simple/kiln-sums");
        std::fs::create_dir_all(&moved).unwrap();
        std::fs::write(
            moved.join("index.html"),
            format!("<a href=\"../../../files/{WHEEL}\">{WHEEL}</a>"),
        )
        .unwrap();
        server.set(
            "/simple/kiln-sums/",
            Override::Redirect {
                status: 302,
                location: "/mirror/simple/kiln-sums/".into(),
            },
        );
        let files = project_files(&server.url("/simple/"), "kiln-sums")
            .unwrap()
            .unwrap();
        assert_eq!(
            files,
            [file(
                WHEEL,
                &server.url(&format!("/files/{WHEEL}")),
                None,
                false
            )]
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].header("accept"), Some(ACCEPT));
    }

    #[test]
    fn a_missing_project_is_none_and_other_failures_are_errors() {
        let (_root, server) = index_with(true);
        assert_eq!(
            project_files(&server.url("/simple/"), "not-there").unwrap(),
            None
        );
        server.set("/simple/kiln-sums/", Override::Status(500));
        let err = project_files(&server.url("/simple/"), "kiln-sums").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("HTTP 500"), "{text}");
        assert!(text.contains("kiln-sums"), "{text}");
        let err = project_files(&server.url("/simple/"), "no/such name").unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid project name"),
            "{err:#}"
        );
    }
}
