//! Writing a static simple index: a project's page in PEP 503 HTML and PEP
//! 691 JSON, and the root page listing the projects, each a pure function of
//! what it is given (the same files give the same bytes, whatever order the
//! caller found them in: files are sorted by name, projects by name).
//!
//! What the pages carry: every link with `#sha256=` (JSON: `hashes`), PEP
//! 592 yanking (`data-yanked`, `"yanked"`), `requires-python` (PEP 503's
//! `data-requires-python`), PEP 658/714 metadata (`data-core-metadata` and
//! JSON `core-metadata`, plus the older `dist-info-metadata` spellings that
//! PEP 714 asks an index to keep emitting for older clients), and PEP 700's
//! `versions`, `size` and `upload-time` (API version 1.1). Every value is
//! escaped for HTML, or serialized by `serde_json`; hrefs are relative and
//! percent-encoded, so the tree can be served from any base URL or read
//! through `file://`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use std::collections::BTreeMap;

/// The simple API version these pages speak: 1.1 (PEP 700's fields).
pub const API_VERSION: &str = "1.1";

/// Characters left as they are in an href's path segment: RFC 3986's
/// unreserved set (file names of sdists and wheels are all unreserved but
/// for a local version's `+`, which is encoded).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// PEP 592: whether, and why, a file is yanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yank {
    No,
    /// Yanked, with the reason given (possibly empty).
    Yes(String),
}

/// One file on a project's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFile {
    pub filename: String,
    /// The link, relative to the project page (e.g. `../../files/x.whl`) or
    /// absolute; the file name is percent-encoded by the caller's choice
    /// of [`files_href`].
    pub href: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// PEP 345 `Requires-Python`, as the file's metadata states it.
    pub requires_python: Option<String>,
    /// The sha256 (lowercase hex) of the `.metadata` file served beside
    /// the file (PEP 658), if there is one.
    pub core_metadata_sha256: Option<String>,
    /// PEP 700: ISO 8601 UTC, `yyyy-mm-ddThh:mm:ss[.ffffff]Z`.
    pub upload_time: Option<String>,
    pub yanked: Yank,
}

/// A project's page: its normalized name, every version it has (in the
/// order the caller wants them listed: PEP 700 leaves it open) and its
/// files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPage {
    pub name: String,
    pub versions: Vec<String>,
    pub files: Vec<PageFile>,
}

/// The href of `filename` in a `files/` directory two levels above a
/// project page (`simple/<name>/`), percent-encoded.
pub fn files_href(filename: &str) -> String {
    format!("../../files/{}", utf8_percent_encode(filename, SEGMENT))
}

/// `&`, `<`, `>`, `"` and `'` as references: safe in text and in a
/// double-quoted attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn sorted_files(page: &ProjectPage) -> Vec<&PageFile> {
    let mut files: Vec<&PageFile> = page.files.iter().collect();
    files.sort_by(|a, b| a.filename.cmp(&b.filename));
    files
}

/// The PEP 503 HTML page of a project.
pub fn project_html(page: &ProjectPage) -> String {
    let name = escape(&page.name);
    let mut out = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n    <title>Links for {name}</title>\n  </head>\n  <body>\n    <h1>Links for {name}</h1>\n"
    );
    for file in sorted_files(page) {
        out.push_str(&format!(
            "    <a href=\"{}#sha256={}\"",
            escape(&file.href),
            escape(&file.sha256)
        ));
        if let Some(requires) = &file.requires_python {
            out.push_str(&format!(" data-requires-python=\"{}\"", escape(requires)));
        }
        if let Some(metadata) = &file.core_metadata_sha256 {
            let value = escape(&format!("sha256={metadata}"));
            out.push_str(&format!(
                " data-core-metadata=\"{value}\" data-dist-info-metadata=\"{value}\""
            ));
        }
        if let Yank::Yes(reason) = &file.yanked {
            out.push_str(&format!(" data-yanked=\"{}\"", escape(reason)));
        }
        out.push_str(&format!(">{}</a><br>\n", escape(&file.filename)));
    }
    out.push_str("  </body>\n</html>\n");
    out
}

#[derive(Serialize)]
struct Meta {
    #[serde(rename = "api-version")]
    api_version: &'static str,
}

/// `core-metadata`: `{"sha256": …}` when there is a `.metadata` file, else
/// `false` (PEP 714).
#[derive(Serialize)]
#[serde(untagged)]
enum CoreMetadata {
    Hashes(BTreeMap<&'static str, String>),
    Absent(bool),
}

/// `yanked`: `false`, or the reason (`true` when there is none).
#[derive(Serialize)]
#[serde(untagged)]
enum JsonYank {
    Flag(bool),
    Reason(String),
}

#[derive(Serialize)]
struct JsonFile {
    filename: String,
    url: String,
    hashes: BTreeMap<&'static str, String>,
    #[serde(rename = "requires-python", skip_serializing_if = "Option::is_none")]
    requires_python: Option<String>,
    #[serde(rename = "core-metadata")]
    core_metadata: CoreMetadata,
    #[serde(rename = "dist-info-metadata")]
    dist_info_metadata: CoreMetadata,
    size: u64,
    #[serde(rename = "upload-time", skip_serializing_if = "Option::is_none")]
    upload_time: Option<String>,
    yanked: JsonYank,
}

#[derive(Serialize)]
struct JsonProject {
    meta: Meta,
    name: String,
    versions: Vec<String>,
    files: Vec<JsonFile>,
}

/// The PEP 691 JSON page of a project (API version 1.1, with PEP 700's
/// `versions`, `size` and `upload-time`), one line and a newline.
pub fn project_json(page: &ProjectPage) -> String {
    let metadata = |file: &PageFile| match &file.core_metadata_sha256 {
        Some(sha) => CoreMetadata::Hashes(BTreeMap::from([("sha256", sha.clone())])),
        None => CoreMetadata::Absent(false),
    };
    let files = sorted_files(page)
        .into_iter()
        .map(|file| JsonFile {
            filename: file.filename.clone(),
            url: file.href.clone(),
            hashes: BTreeMap::from([("sha256", file.sha256.clone())]),
            requires_python: file.requires_python.clone(),
            core_metadata: metadata(file),
            dist_info_metadata: metadata(file),
            size: file.size,
            upload_time: file.upload_time.clone(),
            yanked: match &file.yanked {
                Yank::No => JsonYank::Flag(false),
                Yank::Yes(reason) if reason.is_empty() => JsonYank::Flag(true),
                Yank::Yes(reason) => JsonYank::Reason(reason.clone()),
            },
        })
        .collect();
    let project = JsonProject {
        meta: Meta {
            api_version: API_VERSION,
        },
        name: page.name.clone(),
        versions: page.versions.clone(),
        files,
    };
    json_line(&project)
}

fn json_line(value: &impl Serialize) -> String {
    // Serializing plain strings, numbers and maps with string keys cannot fail.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    text.push('\n');
    text
}

fn sorted_names(names: &[String]) -> Vec<&String> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    names.dedup();
    names
}

/// The PEP 503 root page: a link `<name>/` per project (normalized names).
pub fn root_html(projects: &[String]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n    <title>Simple index</title>\n  </head>\n  <body>\n"
    );
    for name in sorted_names(projects) {
        out.push_str(&format!(
            "    <a href=\"{}/\">{}</a><br>\n",
            utf8_percent_encode(name, SEGMENT),
            escape(name)
        ));
    }
    out.push_str("  </body>\n</html>\n");
    out
}

#[derive(Serialize)]
struct JsonRootProject {
    name: String,
}

#[derive(Serialize)]
struct JsonRoot {
    meta: Meta,
    projects: Vec<JsonRootProject>,
}

/// The PEP 691 JSON root page.
pub fn root_json(projects: &[String]) -> String {
    json_line(&JsonRoot {
        meta: Meta {
            api_version: API_VERSION,
        },
        projects: sorted_names(projects)
            .into_iter()
            .map(|name| JsonRootProject { name: name.clone() })
            .collect(),
    })
}
