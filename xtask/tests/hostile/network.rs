//! Hostile inputs: network. `verify` reads simple-index pages and downloads
//! published copies from a real HTTP server on 127.0.0.1 that misbehaves:
//! pages built to make a parser quadratic, bodies dripped a byte at a time
//! or sent steadily for ever, and an index whose links state the wrong
//! sha256. Each verify runs in this checkout against its committed record
//! (`--ref HEAD`), so the rebuild is quick and the network part is what is
//! measured.

#![allow(clippy::unwrap_used)]

#[path = "../../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use super::common::root;
use super::harness::{self, MEMORY_KIB};
use http::{Override, Server};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PROJECT: &str = "kiln-sums";
const VERSION: &str = "0.1.0";
const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";
const SDIST: &str = "kiln_sums-0.1.0.tar.gz";

/// `verify` of the bundled example at HEAD against `extra` sources, with
/// the download limits in `env`.
fn verify(extra: &[&str], env: &[(&str, &str)], deadline: Duration) -> harness::Outcome {
    let mut args = vec![
        "verify",
        "--project",
        PROJECT,
        "--version",
        VERSION,
        "--ref",
        "HEAD",
    ];
    args.extend_from_slice(extra);
    harness::run_with(&root(), &args, env, deadline)
}

/// The bundled example built as the record says (its epoch), so a copy
/// served from here matches the record.
fn built(out: &Path) -> Vec<(&'static str, Vec<u8>)> {
    harness::build_example_as_recorded(out);
    [WHEEL, SDIST]
        .into_iter()
        .map(|f| (f, std::fs::read(out.join(f)).unwrap()))
        .collect()
}

/// A site serving `files` under `/releases/` and a simple index of them.
fn site(files: &[(&str, Vec<u8>)]) -> (tempfile::TempDir, Server, PathBuf) {
    let site = tempfile::tempdir().unwrap();
    let release = site.path().join("releases");
    std::fs::create_dir_all(&release).unwrap();
    for (name, bytes) in files {
        std::fs::write(release.join(name), bytes).unwrap();
    }
    let listed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let page = http::write_simple_index(site.path(), PROJECT, &listed, false);
    let server = Server::start(site.path());
    (site, server, page)
}

/// Shortened download limits, so a cut-off takes seconds, not minutes.
const QUICK: &[(&str, &str)] = &[
    ("KILN_FETCH_DEADLINE_SECS", "3"),
    ("KILN_FETCH_MIN_RATE", "1024"),
    ("KILN_FETCH_RATE_WINDOW_SECS", "1"),
];

#[test]
fn quadratic_index_page_of_unclosed_tags_is_read_in_linear_time() {
    // 300 KB of `<a ` with no `>` took 214 s to scan.
    let (_site, server, _) = site(&[(WHEEL, b"w".to_vec())]);
    server.set(
        "/simple/kiln-sums/",
        Override::Body {
            status: 200,
            content_type: "text/html".into(),
            body: "<a ".repeat(100_000).into_bytes(),
        },
    );
    let index = server.url("/simple/");
    let out = verify(&["--index", &index], &[], harness::TIME);
    out.expect(1, &format!("the index lists no {WHEEL}"))
        .under(MEMORY_KIB);
}

/// `verify --against` a release directory serving the wheel as `bytes`,
/// `chunk` bytes every `pause`, under the `QUICK` limits; and that
/// directory's URL.
fn verify_against_dripping(
    bytes: Vec<u8>,
    chunk: usize,
    pause: Duration,
) -> (harness::Outcome, String) {
    let (_site, server, _) = site(&[(WHEEL, bytes)]);
    server.set(
        &format!("/releases/{WHEEL}"),
        Override::Drip { chunk, pause },
    );
    let url = server.url("/releases");
    (verify(&["--against", &url], QUICK, harness::TIME), url)
}

#[test]
fn dripping_download_is_cut_off_at_the_minimum_rate() {
    // One byte every 100 ms: each read arrives well within the per-read
    // timeout, so only a minimum rate stops it (it would take hours).
    let (out, url) = verify_against_dripping(vec![7u8; 100_000], 1, Duration::from_millis(100));
    out.expect(1, "under the minimum rate of 1024 bytes per second")
        .under(MEMORY_KIB);
    assert!(
        out.stderr.contains(&format!("{url}/{WHEEL}")),
        "{}",
        out.stderr
    );
}

#[test]
fn dripping_index_page_is_cut_off_at_the_minimum_rate() {
    let (_site, server, _) = site(&[(WHEEL, b"w".to_vec())]);
    server.set(
        "/simple/kiln-sums/",
        Override::Drip {
            chunk: 1,
            pause: Duration::from_millis(100),
        },
    );
    let out = verify(&["--index", &server.url("/simple/")], QUICK, harness::TIME);
    out.expect(1, "KILN_FETCH_MIN_RATE").under(MEMORY_KIB);
    assert!(out.stderr.contains("/simple/kiln-sums/"), "{}", out.stderr);
}

#[test]
fn endless_steady_download_is_cut_off_at_the_deadline() {
    // 200 KB/s, far above the minimum rate, for a 9 MB body: only the
    // overall deadline (3 s here) stops it before it ends.
    let (out, _url) =
        verify_against_dripping(vec![7u8; 9_000_000], 10_000, Duration::from_millis(50));
    out.expect(1, "did not finish within 3 seconds")
        .under(MEMORY_KIB);
    assert!(
        out.stderr.contains("KILN_FETCH_DEADLINE_SECS"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed >= Duration::from_secs(3), "{:?}", out.elapsed);
}

#[test]
fn bad_download_limits_are_a_usage_error() {
    let out = verify(&[], &[("KILN_FETCH_DEADLINE_SECS", "soon")], harness::TIME);
    out.expect(2, "KILN_FETCH_DEADLINE_SECS=\"soon\"");
}

#[test]
fn a_wrong_sha256_on_an_index_link_fails_verify() {
    // The files served are the recorded ones; only the page's statement of
    // the wheel's sha256 is wrong. That used to be a warning and exit 0.
    let out_dir = tempfile::tempdir().unwrap();
    let files = built(out_dir.path());
    let (_site, server, page) = site(&files);
    let good = verify(&["--index", &server.url("/simple/")], &[], harness::TIME);
    good.expect(0, "every published copy matches");
    let html = std::fs::read_to_string(page.join("index.html")).unwrap();
    let right = http::sha256_hex(&files[0].1);
    let wrong = format!("{}{}", &right[..60], "0000");
    assert_ne!(right, wrong);
    std::fs::write(page.join("index.html"), html.replace(&right, &wrong)).unwrap();
    let out = verify(&["--index", &server.url("/simple/")], &[], harness::TIME);
    out.expect(
        1,
        &format!(
            "the index page {} links {WHEEL} with sha256 {wrong}",
            server.url("/simple/kiln-sums/")
        ),
    )
    .under(MEMORY_KIB);
}
