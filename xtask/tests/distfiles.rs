//! End-to-end tests of `cargo xtask distfiles fetch` and `makesum`: a real
//! HTTP server on 127.0.0.1 serves, one site each, an HTML error page with
//! status 200, a truncated body, a tarball with one member changed, the
//! same tar re-gzipped at another level, a file that is no archive, and
//! the right file, after a dead port; each is skipped or classified as it
//! should be, the fallback reaches the good site, and the cache holds only
//! checked files. makesum writes the same bytes whatever the order, the
//! directory or the mtimes, and refuses to change digests unless asked.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;
#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use common::{text, xtask};
use http::{Override, Server, sha256_hex};
use std::io::Write as _;
use std::path::{Path, PathBuf};

const NAME: &str = "pkg-1.0.tar.gz";

/// A tar of `members` under `pkg-1.0/`, gzipped at `level`.
fn tar_gz(members: &[(&str, &[u8])], level: u32) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("pkg-1.0/{name}"), *bytes)
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

struct Tarballs {
    good: Vec<u8>,
    regzip: Vec<u8>,
    changed: Vec<u8>,
}

fn tarballs() -> Tarballs {
    let source: Vec<u8> = (0..3000)
        .flat_map(|i| format!("int f{i}(void) {{ return {i}; }}\n").into_bytes())
        .collect();
    let members: [(&str, &[u8]); 2] = [("README", b"pkg 1.0\n"), ("src/pkg.c", &source)];
    let changed: [(&str, &[u8]); 2] = [
        ("README", b"pkg 1.0, now with a backdoor\n"),
        ("src/pkg.c", &source),
    ];
    Tarballs {
        good: tar_gz(&members, 9),
        regzip: tar_gz(&members, 1),
        changed: tar_gz(&changed, 9),
    }
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(out)))
}

/// Every regular file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

fn makesum(dir: &Path, args: &[&str]) -> std::process::Output {
    xtask(dir, &[&["distfiles", "makesum"], args].concat())
}

#[test]
fn fetch_skips_bad_sites_classifies_mismatches_and_caches_only_the_checked_file() {
    let t = tarballs();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join(NAME), &t.good).unwrap();
    let out = makesum(
        work.path(),
        &[NAME, "--format", "kiln", "--out", "distinfo"],
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_file(work.path().join(NAME)).unwrap();

    let root = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..t.good.len()).map(|i| (i * 31 % 256) as u8).collect();
    for (dir, bytes) in [
        ("html", &t.good),
        ("cut", &t.good),
        ("changed", &t.changed),
        ("regzip", &t.regzip),
        ("junk", &junk),
        ("good", &t.good),
    ] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
        std::fs::write(root.path().join(dir).join(NAME), bytes).unwrap();
    }
    let server = Server::start(root.path());
    server.set(
        &format!("/html/{NAME}"),
        Override::Body {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: b"<!DOCTYPE html><html><body><h1>Download moved</h1></body></html>".to_vec(),
        },
    );
    server.set(
        &format!("/cut/{NAME}"),
        Override::Truncated {
            claimed: t.good.len() as u64 + 4096,
        },
    );
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/dist/")
    };
    let mut args = vec![
        "distfiles".to_string(),
        "fetch".into(),
        "distinfo".into(),
        "--cache".into(),
        "cache".into(),
        "--json".into(),
        "--site".into(),
        dead,
    ];
    for dir in ["html", "cut", "changed", "regzip", "junk", "good"] {
        args.push("--site".into());
        args.push(server.url(&format!("/{dir}/")));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = xtask(work.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let schema = kiln_report::json_schema();
    kiln_report::validate::validate(&schema, &report).unwrap();
    let file = &report["files"][0];
    assert_eq!(file["status"], "fetched");
    let sites = file["sites"].as_array().unwrap();
    let summary: Vec<(String, String)> = sites
        .iter()
        .map(|s| {
            let what = s["skipped"]
                .as_str()
                .or(s["mismatch"]["classification"]["kind"].as_str())
                .unwrap_or("")
                .to_string();
            (s["result"].as_str().unwrap().to_string(), what)
        })
        .collect();
    let expected = [
        ("skipped", "down"),
        ("skipped", "html-page"),
        ("skipped", "truncated"),
        ("mismatch", "content-changed"),
        ("mismatch", "re-rolled"),
        ("mismatch", "unreadable"),
        ("good", ""),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(summary, expected, "{}", text(&out));
    let changed = &sites[3]["mismatch"]["classification"];
    let members = changed["diff"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{changed:#}");
    assert!(members[0]["path"].as_str().unwrap().ends_with("README"));
    let rerolled = &sites[4]["mismatch"]["classification"]["differs"];
    assert!(
        rerolled
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "compression"),
        "{rerolled}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for word in [
        "re-rolled",
        "content-changed",
        "unreadable",
        "html-page",
        "truncated",
        "down",
    ] {
        assert!(stderr.contains(word), "{word} missing from:\n{stderr}");
    }
    assert!(stderr.contains("+pkg 1.0, now with a backdoor"), "{stderr}");

    // The cache: the good file under each of its digests, the three
    // mismatches apart under rejected/, nothing else (no scratch left).
    let cache = work.path().join("cache");
    let good_sha = sha256_hex(&t.good);
    let mut expected_files: Vec<PathBuf> = [
        format!("sha256/{good_sha}/{NAME}"),
        format!("rejected/sha256/{}/{NAME}", sha256_hex(&t.changed)),
        format!("rejected/sha256/{}/{NAME}", sha256_hex(&t.regzip)),
        format!("rejected/sha256/{}/{NAME}", sha256_hex(&junk)),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    let found = files_under(&cache);
    let served: Vec<&PathBuf> = found
        .iter()
        .filter(|p| !p.starts_with("rejected"))
        .collect();
    assert_eq!(served.len(), 3, "{found:?}");
    for p in &served {
        assert_eq!(
            std::fs::read(cache.join(p)).unwrap(),
            t.good,
            "{}",
            p.display()
        );
    }
    expected_files.retain(|p| !p.starts_with("sha256"));
    let rejected: Vec<PathBuf> = found
        .into_iter()
        .filter(|p| p.starts_with("rejected"))
        .collect();
    expected_files.sort();
    assert_eq!(rejected, expected_files);
    assert_eq!(
        file["path"].as_str().unwrap(),
        Path::new("cache")
            .join(format!("sha256/{good_sha}/{NAME}"))
            .display()
            .to_string()
    );

    // Again: the cache answers, no site is asked, exit 0; what a killed
    // run left (an unlocked staging directory) is removed.
    let stale = cache.join(".kiln-staging-killed");
    std::fs::create_dir_all(stale.join("file-0")).unwrap();
    std::fs::write(stale.join("file-0/site-1"), b"half a download").unwrap();
    let before = server.requests().len();
    let out = xtask(
        work.path(),
        &[
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "cache",
            "--site",
            &server.url("/good/"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("cached"));
    assert_eq!(server.requests().len(), before);
    assert!(!stale.exists());

    // --all-sites audits the mirrors: the cached good copy is kept, every
    // site is asked, and the re-rolled one is explained against it.
    let (regzip_url, good_url) = (server.url("/regzip/"), server.url("/good/"));
    let out = xtask(
        work.path(),
        &[
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "cache",
            "--all-sites",
            "--json",
            "--site",
            &regzip_url,
            "--site",
            &good_url,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let file = &report["files"][0];
    assert_eq!(file["status"], "cached");
    let classification = &file["sites"][0]["mismatch"]["classification"];
    assert_eq!(classification["kind"], "re-rolled", "{classification:#}");
    assert!(
        classification["compared-with"]
            .as_str()
            .unwrap()
            .contains(&good_sha)
    );
    assert_eq!(file["sites"][1]["result"], "good");
    assert_eq!(files_under(&cache).len(), 3 + 3);
    assert_eq!(
        std::fs::read(cache.join(format!("sha256/{good_sha}/{NAME}"))).unwrap(),
        t.good
    );

    // The cache is a mirror as it is: served over HTTP, it is a site by
    // digest for another cache.
    let mirror = Server::start(&cache);
    let by_digest = mirror.url("/sha256/{sha256}/");
    let out = xtask(
        work.path(),
        &[
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "cache2",
            "--site",
            &by_digest,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read(work.path().join(format!("cache2/sha256/{good_sha}/{NAME}"))).unwrap(),
        t.good
    );

    // makesum over the re-rolled file: refused (exit 1) with the
    // classification against the cached copy; --update applies it.
    std::fs::write(work.path().join(NAME), &t.regzip).unwrap();
    let before = std::fs::read(work.path().join("distinfo")).unwrap();
    let args = [NAME, "--out", "distinfo", "--cache", "cache"];
    let out = makesum(work.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("re-rolled"), "{}", text(&out));
    assert_eq!(std::fs::read(work.path().join("distinfo")).unwrap(), before);
    let out = makesum(work.path(), &[&args[..], &["--update"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("re-rolled"), "{}", text(&out));
    let after = std::fs::read_to_string(work.path().join("distinfo")).unwrap();
    assert!(after.contains(&sha256_hex(&t.regzip)), "{after}");
}

#[test]
fn makesum_output_is_a_pure_function_of_the_files() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let files = [
        ("b-2.0.tar.gz", &b"bee\n"[..]),
        ("a-1.0.tgz", b"ay\n"),
        ("c.zip", b""),
    ];
    for (dir, stamp) in [(&one, 1_000_000_000), (&two, 1_700_000_000)] {
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(stamp))
                .unwrap();
        }
    }
    for (format, pinned) in [
        (
            "openbsd",
            "ef20f835b4fd05732dbea44486c85388d94c29e7eadb1d7a1b1b94d70ef23677",
        ),
        (
            "netbsd",
            "fee2591a6022d7baf92b80fea5020f848a46fd744d212f50b6aaa8afc261c0c2",
        ),
        (
            "kiln",
            "b4a2c6729e39765bbf2659660afc77468e375a0e1cb406ae3c1a34f682728bc5",
        ),
    ] {
        let a = makesum(
            one.path(),
            &["b-2.0.tar.gz", "a-1.0.tgz", "c.zip", "--format", format],
        );
        let b_paths: Vec<String> = ["c.zip", "a-1.0.tgz", "b-2.0.tar.gz"]
            .iter()
            .map(|n| two.path().join(n).display().to_string())
            .collect();
        let mut b_args: Vec<&str> = b_paths.iter().map(String::as_str).collect();
        b_args.extend(["--format", format]);
        let b = makesum(Path::new("/"), &b_args);
        assert!(
            a.status.success() && b.status.success(),
            "{}{}",
            text(&a),
            text(&b)
        );
        assert_eq!(a.stdout, b.stdout, "{format}");
        assert_eq!(
            sha256_hex(&a.stdout),
            pinned,
            "{format}:\n{}",
            String::from_utf8_lossy(&a.stdout)
        );
    }
}

#[test]
fn makesum_refuses_what_is_not_a_file_and_a_syntax_change() {
    let work = tempfile::tempdir().unwrap();
    let fifo = work.path().join("pipe.tar.gz");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = makesum(work.path(), &["pipe.tar.gz"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    std::fs::write(work.path().join("a.tgz"), b"a").unwrap();
    let out = makesum(
        work.path(),
        &["a.tgz", "--format", "netbsd", "--out", "distinfo"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = makesum(
        work.path(),
        &["a.tgz", "--format", "openbsd", "--out", "distinfo"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("netbsd syntax"), "{}", text(&out));
    // The same file again: unchanged, exit 0, the same bytes.
    let before = std::fs::read(work.path().join("distinfo")).unwrap();
    let out = makesum(work.path(), &["a.tgz", "--out", "distinfo"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("unchanged"), "{}", text(&out));
    assert_eq!(std::fs::read(work.path().join("distinfo")).unwrap(), before);
}

#[test]
fn a_malformed_distinfo_is_bad_input_naming_the_line() {
    let work = tempfile::tempdir().unwrap();
    let line = "SIZE (x.tar.gz) = 12 bytes";
    std::fs::write(
        work.path().join("distinfo"),
        format!("SHA256 (x.tar.gz) = {}\n{line}\n", "a".repeat(64)),
    )
    .unwrap();
    let out = xtask(
        work.path(),
        &[
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "c",
            "--site",
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("distinfo:2:"), "{}", text(&out));
    assert!(!work.path().join("c").exists() || files_under(&work.path().join("c")).is_empty());
    // With --json the error is one JSON object naming the command.
    std::fs::write(work.path().join("empty"), "# nothing\n").unwrap();
    let out = xtask(
        work.path(),
        &[
            "distfiles",
            "fetch",
            "empty",
            "--cache",
            "c",
            "--site",
            "http://127.0.0.1:9/",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let error = json(&out);
    assert_eq!(error["command"], "distfiles");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lists no distfile")
    );
}

#[test]
fn memory_stays_flat_in_the_distfile_size() {
    const SIZE: usize = 64 << 20;
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut x = 0x9e37_79b9_u32;
    let bytes: Vec<u8> = (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(root.path().join("big-1.0.tar.gz"), &bytes).unwrap();
    let out = makesum(
        root.path(),
        &[
            "big-1.0.tar.gz",
            "--format",
            "openbsd",
            "--out",
            &work.path().join("distinfo").display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let server = Server::start(root.path());
    let peak_file = work.path().join("peak");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "cache",
            "--site",
            &server.url("/"),
        ])
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .env("KILN_PEAK_RSS_FILE", &peak_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let sha = sha256_hex(&bytes);
    drop(bytes);
    let cached = work
        .path()
        .join(format!("cache/sha256/{sha}/big-1.0.tar.gz"));
    assert_eq!(std::fs::metadata(&cached).unwrap().len(), SIZE as u64);
    let peak = std::fs::read_to_string(&peak_file).unwrap();
    let kb: u64 = peak.trim().trim_end_matches("kB").trim().parse().unwrap();
    assert!(
        kb < 48 * 1024,
        "peak RSS {kb} kB for a {SIZE}-byte distfile"
    );
}

#[test]
fn a_stalling_site_is_cut_off_at_the_pace_and_skipped_as_slow() {
    let t = tarballs();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join(NAME), &t.good).unwrap();
    let out = makesum(
        work.path(),
        &[NAME, "--format", "netbsd", "--out", "distinfo"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let root = tempfile::tempdir().unwrap();
    for dir in ["drip", "good"] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
        std::fs::write(root.path().join(dir).join(NAME), &t.good).unwrap();
    }
    let server = Server::start(root.path());
    server.set(
        &format!("/drip/{NAME}"),
        Override::Drip {
            chunk: 1,
            pause: std::time::Duration::from_millis(50),
        },
    );
    let start = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "distfiles",
            "fetch",
            "distinfo",
            "--cache",
            "cache",
            "--json",
        ])
        .args([
            "--site",
            &server.url("/drip/"),
            "--site",
            &server.url("/good/"),
        ])
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .env("KILN_FETCH_MIN_RATE", "1000")
        .env("KILN_FETCH_RATE_WINDOW_SECS", "0.5")
        .output()
        .unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json(&out);
    let sites = &report["files"][0]["sites"];
    assert_eq!(sites[0]["skipped"], "slow", "{sites:#}");
    assert_eq!(sites[1]["result"], "good");
    assert_eq!(report["format"], "netbsd");
}
