//! The client of a PyPI-compatible simple index: fetches a project's page
//! `{index}/{normalized name}/` (PEP 691 JSON asked for first, HTML
//! accepted), size-capped and under the caller's [`Pace`] like every
//! download, and hands the body to `kiln-index`, whose parser is one linear
//! pass. The index's hash is a statement the caller checks against its
//! record; the download is checked against the record as well.

use crate::download::{FetchError, Pace, get_text};

/// Asks for PEP 691 JSON first and accepts HTML (PEP 691's own example).
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
/// A project page larger than this is refused (PyPI's largest are a few MiB).
pub const MAX_PAGE_SIZE: u64 = 64 * 1024 * 1024;

/// A project's page as read: where it was finally served from, and the
/// files on it that the caller asked for.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub listing: kiln_index::Listing,
}

/// Why a project's page could not be had. Each names the project, the
/// index and what failed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The project name is not a PEP 508 name (its message names it).
    #[error(transparent)]
    ProjectName(#[from] kiln_names::NameError),
    /// The index URL cannot be the base of a project page.
    #[error(transparent)]
    PageUrl(Box<kiln_index::IndexError>),
    /// The page could not be fetched (anything but a 404).
    #[error("could not read the page of {project} on the index {index_url}")]
    Fetch {
        project: String,
        index_url: String,
        #[source]
        source: FetchError,
    },
    /// The page came back but is not a simple-index page kiln can read.
    #[error(
        "the index page of {project} at {url} (content type {content_type:?}) could not be read"
    )]
    Parse {
        project: String,
        url: String,
        content_type: String,
        #[source]
        source: Box<kiln_index::IndexError>,
    },
}

impl PageError {
    /// Where the error is, for a `--json` error object: the page's URL.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Self::Fetch { source, .. } => source.location(),
            Self::Parse { url, .. } => Some((Some(url.clone()), None)),
            Self::ProjectName(_) | Self::PageUrl(_) => None,
        }
    }
}

impl FetchError {
    /// Where the error is, for a `--json` error object: a download's
    /// place is its URL (or the file being written, or the CA bundle); a
    /// setting's is its name, as the field.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use FetchError as E;
        match self {
            E::NotFound { url }
            | E::Http { url, .. }
            | E::TooLarge { url, .. }
            | E::Network { url, .. }
            | E::BadUrl { url, .. }
            | E::BadFileName { url, .. }
            | E::Deadline { url, .. }
            | E::TooSlow { url, .. } => Some((Some(url.clone()), None)),
            E::Io { path, .. } => Some((Some(path.display().to_string()), None)),
            E::Roots { bundle, .. } => Some((Some(bundle.clone()), None)),
            E::Setting { name, .. } => Some((None, Some((*name).to_owned()))),
        }
    }
}

/// The files of `project` on the simple index at `index_url` (for example
/// `https://pypi.org/simple/`) that `keep` wants by file name: the page
/// `{index}/{normalized name}/`, JSON asked for first, parsed by the content
/// type that comes back, fetched under `pace`. A 404 is `Ok(None)`: the
/// project is not on that index.
pub fn project_files(
    index_url: &str,
    project: &str,
    keep: impl Fn(&str) -> bool,
    pace: Pace,
) -> Result<Option<Page>, PageError> {
    let name = kiln_names::ProjectName::new(project)?;
    let page_url = kiln_index::project_page_url(index_url, name.normalized())
        .map_err(|e| PageError::PageUrl(Box::new(e)))?;
    let (content_type, body, final_url) = match get_text(&page_url, ACCEPT, MAX_PAGE_SIZE, pace) {
        Ok(page) => page,
        Err(FetchError::NotFound { .. }) => return Ok(None),
        Err(source) => {
            return Err(PageError::Fetch {
                project: project.to_string(),
                index_url: index_url.to_string(),
                source,
            });
        }
    };
    let listing =
        kiln_index::parse_page(&final_url, &content_type, &body, keep).map_err(|source| {
            PageError::Parse {
                project: project.to_string(),
                url: final_url.clone(),
                content_type: content_type.clone(),
                source: Box::new(source),
            }
        })?;
    Ok(Some(Page {
        url: final_url,
        listing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_server::{Override, PEP691_JSON, Server, sha256_hex, write_simple_index};
    use kiln_index::IndexFile;

    const SHA_A: &str = "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0";

    fn file(filename: &str, url: &str, sha256: Option<&str>, yanked: bool) -> IndexFile {
        IndexFile {
            filename: filename.into(),
            url: url.into(),
            sha256: sha256.map(str::to_string),
            yanked,
            yank_reason: None,
            upload_time: None,
        }
    }

    fn files(index: &str, project: &str) -> Result<Option<Vec<IndexFile>>, PageError> {
        Ok(
            project_files(index, project, kiln_index::all, Pace::default())?
                .map(|p| p.listing.files),
        )
    }

    /// An error with its causes, as anyhow's `{:#}` shows it.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut cause = err.source();
        while let Some(e) = cause {
            text.push_str(&format!(": {e}"));
            cause = e.source();
        }
        text
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
        let files = files(&index, "kiln.sums").unwrap().unwrap();
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
        let files = files(&server.url("/simple/"), "KILN-SUMS")
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
            let files = files(&server.url("/simple/"), "kiln-sums")
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
        let files = files(&server.url("/simple/"), "kiln-sums").unwrap();
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
        let files = files(&server.url("/simple/"), "kiln-sums")
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
        assert_eq!(files(&server.url("/simple/"), "not-there").unwrap(), None);
        server.set("/simple/kiln-sums/", Override::Status(500));
        let err = files(&server.url("/simple/"), "kiln-sums").unwrap_err();
        let text = chain(&err);
        assert!(text.contains("HTTP 500"), "{text}");
        assert!(text.contains("kiln-sums"), "{text}");
        let err = files(&server.url("/simple/"), "no/such name").unwrap_err();
        assert!(chain(&err).contains("invalid project name"), "{err}");
    }

    #[test]
    fn a_page_error_is_at_the_url_it_fetched() {
        let err = PageError::Fetch {
            project: "a".into(),
            index_url: "https://i/simple/".into(),
            source: FetchError::Http {
                url: "https://i/simple/a/".into(),
                status: 500,
            },
        };
        assert_eq!(
            err.location(),
            Some((Some("https://i/simple/a/".into()), None))
        );
    }
}
