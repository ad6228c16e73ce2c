#![allow(clippy::unwrap_used)]

use super::*;
use crate::html::decode_entities;
use std::time::Duration;

const SHA_A: &str = "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0";
const SHA_B: &str = "be96faab1b548cfb899d0d63d70a5010be26dd2d87da0ee3180439d98a9c02e3";

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
    let files = parse_html("https://pypi.org/simple/kiln-sums/", PYPI_HTML, all)
        .unwrap()
        .files;
    let reasons: Vec<_> = files.iter().map(|f| f.yank_reason.as_deref()).collect();
    assert_eq!(reasons, [None, None, Some("broken & superseded"), None]);
    let files: Vec<IndexFile> = files
        .into_iter()
        .map(|f| IndexFile {
            yank_reason: None,
            ..f
        })
        .collect();
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
    let files = parse_html("http://127.0.0.1:8080/simple/a/", &page, all)
        .unwrap()
        .files;
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
    let files = parse_html("https://index.example/simple/x/", page, all)
        .unwrap()
        .files;
    assert_eq!(files[0].url, "https://cdn.example/pkgs/x-1.0.tar.gz");
}

#[test]
fn html_errors_name_the_page() {
    let page = "<a href=\"x.tar.gz#sha256=abc\">x.tar.gz</a>";
    let err = parse_html("https://i.example/simple/x/", page, all).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("https://i.example/simple/x/"), "{text}");
    assert!(text.contains("64 hexadecimal digits"), "{text}");
    let page = "<a href=\"http://[::1\">x</a>";
    let err = parse_html("https://i.example/simple/x/", page, all).unwrap_err();
    assert!(format!("{err:#}").contains("is not a URL"), "{err:#}");
    let page = "<a href=\"file:///etc/passwd\">x</a>";
    assert!(parse_html("https://i.example/simple/x/", page, all).is_err());
    assert!(parse_html("not a url", "", all).is_err());
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
        let _ = parse_html("https://i.example/simple/x/", page, all);
    }
    let files = parse_html("https://i.example/s/", "<a href=x.whl>", all)
        .unwrap()
        .files;
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
    let files = parse_json("https://pypi.org/simple/kiln-sums/", PYPI_JSON, all)
        .unwrap()
        .files;
    assert_eq!(
        files[0].upload_time.as_deref(),
        Some("2025-11-20T10:00:00.000000Z")
    );
    let reasons: Vec<_> = files.iter().map(|f| f.yank_reason.as_deref()).collect();
    assert_eq!(reasons, [None, Some("broken build"), None, None]);
    let files: Vec<IndexFile> = files
        .into_iter()
        .map(|f| IndexFile {
            upload_time: None,
            yank_reason: None,
            ..f
        })
        .collect();
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
        let err = parse_json(page, body, all).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains(page), "{text}");
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let files = parse_json(page, "{\"files\": []}", all).unwrap().files;
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

/// Parses `body` as HTML, failing the test past `limit`. The clock is read
/// only in tests, to bound the parser's running time.
#[allow(clippy::disallowed_methods)]
fn timed_html(body: &str, limit: Duration) -> Result<Listing, IndexError> {
    let start = std::time::Instant::now();
    let parsed = parse_html("https://i.example/simple/x/", body, all);
    let took = start.elapsed();
    assert!(took < limit, "{} bytes took {took:?}", body.len());
    parsed
}

#[test]
fn quadratic_html_unclosed_tags_parse_in_linear_time() {
    // 300 KB of `<a ` that never closes took 214 s with a scanner that
    // looked for the end of every tag from its start.
    let body = "<a ".repeat(100_000);
    let files = timed_html(&body, Duration::from_millis(500)).unwrap().files;
    assert!(files.is_empty());
    // The same at 3 MB: still linear.
    timed_html(&"<a ".repeat(1_000_000), Duration::from_secs(2)).unwrap();
}

#[test]
fn quadratic_html_shapes_parse_in_linear_time() {
    let shapes = [
        "<a href=\"".repeat(50_000),      // quoted values never closing
        "<a href=x.whl>x".repeat(50_000), // anchors never closed
        "&".repeat(300_000),              // entities without `;`
        "<a href=\"&&&&&&&&&&&&&&&&&&&&\">".repeat(20_000),
        "<!--".repeat(100_000), // comments never closed
        "<a x".repeat(100_000),
        "<span>".repeat(50_000),
        format!("<a href=x.whl>{}", "<b>".repeat(100_000)),
        format!("<a {}>", "y ".repeat(150_000)), // a million-attribute tag
    ];
    for body in shapes {
        let _ = timed_html(&body, Duration::from_millis(500));
    }
}

#[test]
fn html_many_anchors_are_counted_and_only_wanted_ones_kept() {
    let body: String = (0..10_000)
        .map(|n| format!("<a href=\"f-{n}.tar.gz\">f-{n}.tar.gz</a>\n"))
        .collect();
    let listing = parse_html("https://i.example/simple/f/", &body, |name| {
        name == "f-9999.tar.gz"
    })
    .unwrap();
    assert_eq!(listing.links, 10_000);
    assert_eq!(listing.files.len(), 1);
    assert_eq!(
        listing.files[0].url,
        "https://i.example/simple/f/f-9999.tar.gz"
    );
    assert_eq!(listing.others.len(), OTHERS_SHOWN);
    assert_eq!(listing.others[0], "f-0.tar.gz");
}

#[test]
fn html_anchor_text_ends_at_the_next_anchor_or_block_tag() {
    let page = "<a href=one.whl>one.whl<a href=two.whl>two.whl</a><a href=three.whl>three.whl<br>junk<p>more";
    let names: Vec<String> = parse_html("https://i.example/s/", page, all)
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert_eq!(names, ["one.whl", "two.whl", "three.whl"]);
}

#[test]
fn json_files_stream_and_only_wanted_ones_are_kept() {
    let entries: Vec<String> = (0..5_000)
        .map(|n| format!("{{\"filename\": \"f-{n}.tar.gz\", \"url\": \"f-{n}.tar.gz\"}}"))
        .collect();
    // `meta` after `files`: the version is still checked.
    let body = format!(
        "{{\"files\": [{}], \"meta\": {{\"api-version\": \"1.1\"}}}}",
        entries.join(",")
    );
    let listing = parse_json("https://i.example/simple/f/", &body, |n| n == "f-3.tar.gz").unwrap();
    assert_eq!(listing.links, 5_000);
    assert_eq!(listing.files.len(), 1);
    assert_eq!(
        listing.files[0].url,
        "https://i.example/simple/f/f-3.tar.gz"
    );
    let late_version = body.replace("1.1", "2.0");
    let err = parse_json("https://i.example/simple/f/", &late_version, all).unwrap_err();
    assert!(matches!(err, IndexError::ApiVersion { .. }), "{err}");
}

#[test]
fn json_deep_nesting_and_duplicate_files_are_errors_not_crashes() {
    let page = "https://i.example/simple/x/";
    let deep = format!(
        "{{\"x\": {}{}, \"files\": []}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    // Skipped values are skipped without recursing.
    assert!(parse_json(page, &deep, all).unwrap().files.is_empty());
    // Values that are read stop at serde_json's depth limit.
    let deep = format!(
        "{{\"files\": [{{\"filename\": \"x\", \"url\": \"x\", \"yanked\": {}{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = parse_json(page, &deep, all).unwrap_err();
    assert!(matches!(err, IndexError::Json { .. }), "{err}");
    let twice = "{\"files\": [], \"files\": []}";
    let err = parse_json(page, twice, all).unwrap_err();
    assert!(err.to_string().contains("duplicate field"), "{err}");
    let trailing = "{\"files\": []} x";
    assert!(parse_json(page, trailing, all).is_err());
}

#[test]
fn page_format_by_type_then_sniffed() {
    assert_eq!(
        page_format("application/vnd.pypi.simple.v1+json", ""),
        Format::Json
    );
    assert_eq!(page_format("text/html; charset=utf-8", "{"), Format::Html);
    assert_eq!(page_format("", "  {\"files\": []}"), Format::Json);
    assert_eq!(page_format("text/plain", "<a>"), Format::Html);
}

#[test]
fn only_a_well_formed_upload_time_is_kept() {
    for good in ["2025-11-20T10:00:00Z", "2025-11-20T10:00:00.123456Z"] {
        assert!(is_upload_time(good), "{good}");
    }
    for bad in [
        "2025-11-20 10:00:00Z",
        "2025-11-20T10:00:00",
        "2025-11-20T10:00:00.Z",
        "x",
    ] {
        assert!(!is_upload_time(bad), "{bad}");
    }
    let body = r#"{"meta": {"api-version": "1.1"}, "files": [
        {"filename": "a-1.tar.gz", "url": "a-1.tar.gz", "hashes": {}, "upload-time": 12},
        {"filename": "b-1.tar.gz", "url": "b-1.tar.gz", "hashes": {}, "upload-time": "2025-01-01T00:00:00Z"}]}"#;
    let files = parse_json("https://i.example/simple/a/", body, all)
        .unwrap()
        .files;
    assert_eq!(files[0].upload_time, None);
    assert_eq!(
        files[1].upload_time.as_deref(),
        Some("2025-01-01T00:00:00Z")
    );
}
