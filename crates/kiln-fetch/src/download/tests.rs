use super::*;
use crate::http_server::{Override, Server, sha256_hex};

/// Bytes that are not all alike, longer than one read chunk.
fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn served(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Server) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("files")).unwrap();
    for (name, bytes) in files {
        std::fs::write(root.path().join("files").join(name), bytes).unwrap();
    }
    let server = Server::start(root.path());
    (root, server)
}

fn entries(dir: &Path) -> Vec<String> {
    #[allow(clippy::disallowed_methods)] // sorted right here
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";

#[test]
fn download_hashes_and_sizes_what_it_saves() {
    let bytes = payload(3 * CHUNK + 17);
    let (_root, server) = served(&[(WHEEL, &bytes)]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
    assert_eq!(fetched.path, out.path().join(WHEEL));
    assert_eq!(fetched.size, bytes.len() as u64);
    assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
    assert_eq!(std::fs::read(&fetched.path).unwrap(), bytes);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].header("user-agent"), Some(USER_AGENT));
    assert_eq!(requests[0].header("accept-encoding"), None);
}

#[test]
fn an_empty_file_downloads() {
    let (_root, server) = served(&[("empty.txt", b"")]);
    let out = tempfile::tempdir().unwrap();
    let fetched = download(
        &server.url("/files/empty.txt"),
        out.path(),
        "e",
        0,
        Pace::default(),
    )
    .unwrap();
    assert_eq!(fetched.size, 0);
    assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(b""));
}

#[test]
fn missing_is_not_found_and_leaves_nothing() {
    let (_root, server) = served(&[]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/files/nope.whl");
    let err = download(&url, out.path(), "nope.whl", 1 << 20, Pace::default()).unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound { url: u } if *u == url),
        "{err}"
    );
    assert!(err.to_string().contains(&url), "{err}");
    assert!(entries(out.path()).is_empty());
    server.set("/files/gone.whl", Override::Status(410));
    let err = download(
        &server.url("/files/gone.whl"),
        out.path(),
        "g",
        10,
        Pace::default(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
}

#[test]
fn other_statuses_are_http_errors() {
    let (_root, server) = served(&[(WHEEL, b"wheel")]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    for status in [403, 500, 503] {
        server.set(&format!("/files/{WHEEL}"), Override::Status(status));
        let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
        assert!(
            matches!(&err, FetchError::Http { status: s, .. } if *s == status),
            "{err}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        assert!(entries(out.path()).is_empty());
    }
}

#[test]
fn redirects_are_followed() {
    let bytes = payload(1000);
    let (_root, server) = served(&[(WHEEL, &bytes)]);
    // A GitHub-style chain: an absolute redirect, then a relative one.
    server.set(
        "/releases/download/v0.1.0/wheel",
        Override::Redirect {
            status: 302,
            location: server.url("/cdn/wheel"),
        },
    );
    server.set(
        "/cdn/wheel",
        Override::Redirect {
            status: 301,
            location: format!("/files/{WHEEL}"),
        },
    );
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/releases/download/v0.1.0/wheel");
    let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
    assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
    let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/releases/download/v0.1.0/wheel".to_string(),
            "/cdn/wheel".to_string(),
            format!("/files/{WHEEL}"),
        ]
    );
}

#[test]
fn a_redirect_loop_is_a_network_error() {
    let (_root, server) = served(&[]);
    server.set(
        "/loop",
        Override::Redirect {
            status: 302,
            location: "/loop".into(),
        },
    );
    let out = tempfile::tempdir().unwrap();
    let err = download(&server.url("/loop"), out.path(), "x", 10, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
    assert!(err.to_string().contains("redirects"), "{err}");
}

#[test]
fn too_large_by_content_length_stops_before_writing() {
    let bytes = payload(5000);
    let (_root, server) = served(&[(WHEEL, &bytes)]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    let err = download(&url, out.path(), WHEEL, 4999, Pace::default()).unwrap_err();
    assert!(
        matches!(&err, FetchError::TooLarge { limit: 4999, url: u } if *u == url),
        "{err}"
    );
    assert!(err.to_string().contains(&url), "{err}");
    assert!(entries(out.path()).is_empty());
    // Exactly at the limit is fine.
    let fetched = download(&url, out.path(), WHEEL, 5000, Pace::default()).unwrap();
    assert_eq!(fetched.size, 5000);
}

#[test]
fn too_large_while_streaming_removes_the_partial_file() {
    let bytes = payload(3 * CHUNK);
    let (_root, server) = served(&[(WHEEL, &bytes)]);
    server.set(&format!("/files/{WHEEL}"), Override::NoContentLength);
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    let limit = 2 * CHUNK as u64 + 1;
    let err = download(&url, out.path(), WHEEL, limit, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    assert!(entries(out.path()).is_empty());
    // Without a Content-Length, the body that fits still downloads.
    let fetched = download(&url, out.path(), WHEEL, bytes.len() as u64, Pace::default()).unwrap();
    assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
}

#[test]
fn a_truncated_body_is_a_network_error_and_leaves_nothing() {
    let bytes = payload(2 * CHUNK);
    let (_root, server) = served(&[(WHEEL, &bytes)]);
    server.set(
        &format!("/files/{WHEEL}"),
        Override::Truncated {
            claimed: bytes.len() as u64 + 100,
        },
    );
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(entries(out.path()).is_empty());
}

#[test]
fn an_existing_file_is_an_error_and_is_kept() {
    let (_root, server) = served(&[(WHEEL, b"new")]);
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join(WHEEL), b"old").unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    let err = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::Io { .. }), "{err}");
    assert_eq!(std::fs::read(out.path().join(WHEEL)).unwrap(), b"old");
}

#[test]
fn file_names_and_urls_are_checked_before_any_request() {
    let (_root, server) = served(&[(WHEEL, b"x")]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url(&format!("/files/{WHEEL}"));
    for name in ["", ".", "..", "../x.whl", "a/b", "a\\b", "a\0b"] {
        let err = download(&url, out.path(), name, 10, Pace::default()).unwrap_err();
        assert!(
            matches!(err, FetchError::BadFileName { .. }),
            "{name:?}: {err}"
        );
    }
    for bad in [
        "ftp://example.org/x",
        "file:///etc/passwd",
        "not a url",
        "http://",
    ] {
        let err = download(bad, out.path(), "x", 10, Pace::default()).unwrap_err();
        assert!(matches!(err, FetchError::BadUrl { .. }), "{bad}: {err}");
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert!(server.requests().is_empty());
    assert!(entries(out.path()).is_empty());
}

#[test]
fn connection_refused_is_a_network_error() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x.whl");
    let out = tempfile::tempdir().unwrap();
    let err = download(&url, out.path(), "x.whl", 10, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn https_to_a_plain_http_server_is_a_tls_network_error() {
    // The TLS stack (rustls with ring) is set up and fails cleanly.
    let (_root, server) = served(&[(WHEEL, b"x")]);
    let url = server
        .url(&format!("/files/{WHEEL}"))
        .replace("http:", "https:");
    let out = tempfile::tempdir().unwrap();
    let err = download(&url, out.path(), WHEEL, 10, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(entries(out.path()).is_empty());
}

#[test]
fn get_text_returns_type_body_and_final_url() {
    let (root, server) = served(&[]);
    std::fs::create_dir_all(root.path().join("simple/p")).unwrap();
    std::fs::write(root.path().join("simple/p/index.html"), "<a>é</a>").unwrap();
    server.set(
        "/old/p/",
        Override::Redirect {
            status: 308,
            location: "/simple/p/".into(),
        },
    );
    let (content_type, body, final_url) =
        get_text(&server.url("/old/p/"), "text/html", 1000, Pace::default()).unwrap();
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(body, "<a>é</a>");
    assert_eq!(final_url, server.url("/simple/p/"));
    for request in server.requests() {
        assert_eq!(request.header("accept"), Some("text/html"));
    }
    let err = get_text(&server.url("/simple/p/"), "text/html", 5, Pace::default()).unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 5, .. }),
        "{err}"
    );
    server.set("/simple/p/", Override::NoContentLength);
    let err = get_text(&server.url("/simple/p/"), "text/html", 5, Pace::default()).unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 5, .. }),
        "{err}"
    );
    let err = get_text(&server.url("/simple/q/"), "text/html", 5, Pace::default()).unwrap_err();
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
}

/// A pace scaled down for tests: the same checks in a second or two.
fn quick(deadline_ms: u64, min_rate: u64, window_ms: u64) -> Pace {
    Pace {
        deadline: Duration::from_millis(deadline_ms),
        min_rate,
        window: Duration::from_millis(window_ms),
    }
}

/// `bytes` served as the wheel, dripped `chunk` bytes every `pause`:
/// the server (with its root), the wheel's URL, and an empty
/// directory to download into.
fn dripping(
    bytes: &[u8],
    chunk: usize,
    pause: Duration,
) -> ((tempfile::TempDir, Server), String, tempfile::TempDir) {
    let (root, server) = served(&[(WHEEL, bytes)]);
    server.set(&format!("/files/{WHEEL}"), Override::Drip { chunk, pause });
    let url = server.url(&format!("/files/{WHEEL}"));
    ((root, server), url, tempfile::tempdir().unwrap())
}

#[test]
#[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
fn a_dripping_server_is_cut_off_at_the_minimum_rate() {
    let bytes = payload(10_000);
    let (_served, url, out) = dripping(&bytes, 1, Duration::from_millis(20));
    let start = Instant::now();
    let err = download(&url, out.path(), WHEEL, 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(err, FetchError::TooSlow { min_rate: 1000, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("KILN_FETCH_MIN_RATE"),
        "{text}"
    );
    assert!(entries(out.path()).is_empty());
    // A page is held to the same pace.
    let err = get_text(&url, "*/*", 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
    assert!(matches!(err, FetchError::TooSlow { .. }), "{err}");
}

#[test]
#[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
fn a_steady_but_endless_download_is_cut_off_at_the_deadline() {
    let bytes = payload(200_000);
    let ((_root, server), url, out) = dripping(&bytes, 1000, Duration::from_millis(10));
    let start = Instant::now();
    let err = download(&url, out.path(), WHEEL, 1 << 20, quick(700, 10, 200)).unwrap_err();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(matches!(err, FetchError::Deadline { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("0.7 seconds"),
        "{text}"
    );
    assert!(entries(out.path()).is_empty());
    // Under the default pace the same server is merely slow: it finishes.
    server.set(
        &format!("/files/{WHEEL}"),
        Override::Drip {
            chunk: 50_000,
            pause: Duration::from_millis(10),
        },
    );
    let fetched = download(&url, out.path(), WHEEL, 1 << 20, Pace::default()).unwrap();
    assert_eq!(kiln_digest::hex(&fetched.sha256), sha256_hex(&bytes));
}

#[test]
#[allow(clippy::disallowed_methods)] // The test bounds the time a download takes.
fn a_silent_body_is_cut_off_after_one_rate_window() {
    // Nothing arrives for 2 s: with a 0.5 s window the wait ends at the
    // window, not at the 60 s per-read timeout.
    let bytes = payload(100);
    let (_served, url, out) = dripping(&bytes, 100, Duration::from_secs(2));
    let start = Instant::now();
    let err = download(&url, out.path(), WHEEL, 1 << 20, quick(60_000, 1000, 500)).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(err, FetchError::TooSlow { received: 0, .. }),
        "{err}"
    );
}

#[test]
fn pace_settings_are_checked() {
    let set = |name: &'static str, value: &str| {
        let value = value.to_string();
        Pace::with_settings(move |n| Ok((n == name).then(|| value.clone())))
    };
    assert_eq!(set(MIN_RATE_SETTING, "0").unwrap().min_rate, 0);
    assert_eq!(
        set(WINDOW_SETTING, "2").unwrap().window,
        Duration::from_secs(2)
    );
    let err = set(DEADLINE_SETTING, "soon").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("KILN_FETCH_DEADLINE_SECS=\"soon\" is not valid"),
        "{err}"
    );
    assert!(set(MIN_RATE_SETTING, "-1").is_err());
    assert_eq!(Pace::with_settings(|_| Ok(None)).unwrap(), Pace::default());
    assert_eq!(seconds("X", "1.5").unwrap(), Duration::from_millis(1500));
    for bad in ["", "0", "-1", "nan", "inf", "1e300", "ten"] {
        let err = seconds("X", bad).unwrap_err();
        assert!(err.to_string().contains("X="), "{err}");
    }
}

#[test]
fn invalid_utf8_in_a_page_is_replaced_not_fatal() {
    let (root, server) = served(&[]);
    std::fs::write(root.path().join("files/page.txt"), b"a\xffb").unwrap();
    let (_, body, _) =
        get_text(&server.url("/files/page.txt"), "*/*", 100, Pace::default()).unwrap();
    assert_eq!(body, "a\u{fffd}b");
}
