//! The written pages: read back by this crate's own parser (both forms give
//! the files written, with their hashes and yanking), escaped, independent
//! of the order the files were given in, and pinned byte for byte.
#![allow(clippy::unwrap_used)]

use super::*;

const SHA_A: &str = "9cc28d4129fcf6bec72f9c457d911217015d3f8e09cdc59a09be8e805e1126b0";
const SHA_B: &str = "be96faab1b548cfb899d0d63d70a5010be26dd2d87da0ee3180439d98a9c02e3";

fn page() -> ProjectPage {
    ProjectPage {
        name: "kiln-sums".into(),
        versions: vec!["0.0.9".into(), "0.1.0+local".into()],
        files: vec![
            PageFile {
                filename: "kiln_sums-0.1.0+local-1-py3-none-any.whl".into(),
                href: files_href("kiln_sums-0.1.0+local-1-py3-none-any.whl"),
                sha256: SHA_A.into(),
                size: 1234,
                requires_python: Some(">=3.9, <4".into()),
                core_metadata_sha256: Some(SHA_B.into()),
                upload_time: Some("2025-01-02T03:04:05Z".into()),
                yanked: Yank::No,
            },
            PageFile {
                filename: "kiln_sums-0.0.9.tar.gz".into(),
                href: files_href("kiln_sums-0.0.9.tar.gz"),
                sha256: SHA_B.into(),
                size: 99,
                requires_python: None,
                core_metadata_sha256: None,
                upload_time: None,
                yanked: Yank::Yes("broken & \"superseded\" <soon>".into()),
            },
        ],
    }
}

const PAGE_URL: &str = "http://127.0.0.1:8080/simple/kiln-sums/";

fn expected() -> Vec<IndexFile> {
    vec![
        IndexFile {
            filename: "kiln_sums-0.0.9.tar.gz".into(),
            url: "http://127.0.0.1:8080/files/kiln_sums-0.0.9.tar.gz".into(),
            sha256: Some(SHA_B.into()),
            yanked: true,
            yank_reason: Some("broken & \"superseded\" <soon>".into()),
            upload_time: None,
        },
        IndexFile {
            filename: "kiln_sums-0.1.0+local-1-py3-none-any.whl".into(),
            url: "http://127.0.0.1:8080/files/kiln_sums-0.1.0%2Blocal-1-py3-none-any.whl".into(),
            sha256: Some(SHA_A.into()),
            yanked: false,
            yank_reason: None,
            upload_time: None,
        },
    ]
}

#[test]
fn the_html_page_reads_back_through_the_parser() {
    let html = project_html(&page());
    let listing = parse_page(PAGE_URL, "text/html", &html, all).unwrap();
    assert_eq!(listing.files, expected());
    assert!(html.contains("data-requires-python=\"&gt;=3.9, &lt;4\""));
    assert!(html.contains(&format!("data-core-metadata=\"sha256={SHA_B}\"")));
    assert!(html.contains(&format!("data-dist-info-metadata=\"sha256={SHA_B}\"")));
    assert!(html.contains("data-yanked=\"broken &amp; &quot;superseded&quot; &lt;soon&gt;\""));
}

#[test]
fn the_json_page_reads_back_through_the_parser() {
    let json = project_json(&page());
    let listing = parse_page(PAGE_URL, "application/vnd.pypi.simple.v1+json", &json, all).unwrap();
    let mut want = expected();
    want[1].upload_time = Some("2025-01-02T03:04:05Z".into());
    assert_eq!(listing.files, want);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["meta"]["api-version"], "1.1");
    assert_eq!(
        value["versions"],
        serde_json::json!(["0.0.9", "0.1.0+local"])
    );
    let wheel = &value["files"][1];
    assert_eq!(wheel["size"], 1234);
    assert_eq!(wheel["requires-python"], ">=3.9, <4");
    assert_eq!(wheel["core-metadata"]["sha256"], SHA_B);
    assert_eq!(wheel["dist-info-metadata"]["sha256"], SHA_B);
    assert_eq!(wheel["upload-time"], "2025-01-02T03:04:05Z");
    assert_eq!(wheel["yanked"], false);
    let sdist = &value["files"][0];
    assert_eq!(sdist["core-metadata"], false);
    assert_eq!(sdist["yanked"], "broken & \"superseded\" <soon>");
    assert!(sdist.get("upload-time").is_none());
}

#[test]
fn pages_do_not_depend_on_the_order_files_are_given_in() {
    let mut reversed = page();
    reversed.files.reverse();
    assert_eq!(project_html(&page()), project_html(&reversed));
    assert_eq!(project_json(&page()), project_json(&reversed));
    let names = ["zeta".to_string(), "alpha".to_string(), "alpha".to_string()];
    let mut other = names.clone();
    other.reverse();
    assert_eq!(root_html(&names), root_html(&other));
    assert_eq!(root_json(&names), root_json(&other));
    assert_eq!(
        root_json(&names),
        "{\"meta\":{\"api-version\":\"1.1\"},\"projects\":[{\"name\":\"alpha\"},{\"name\":\"zeta\"}]}\n"
    );
}

#[test]
fn the_root_page_links_every_project_once() {
    let html = root_html(&["b-c".into(), "a".into()]);
    let listing = parse_page("http://127.0.0.1/simple/", "text/html", &html, all).unwrap();
    let urls: Vec<_> = listing.files.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        urls,
        ["http://127.0.0.1/simple/a/", "http://127.0.0.1/simple/b-c/"]
    );
}

#[test]
fn the_pages_bytes_are_pinned() {
    let digest = |text: &str| kiln_digest::hex(&kiln_digest::sha256(text.as_bytes()));
    assert_eq!(
        digest(&project_html(&page())),
        "62f224220872358b42f018f82f0c4c0b2a607170e976809578b0a898effc3be6"
    );
    assert_eq!(
        digest(&project_json(&page())),
        "e15e3becaf90f0412bea8c9ea32bb85b3da674eff5b4f48cf344b74c3c713a79"
    );
}
