//! `rebuild` on real releases of the corpus (kiln-corpus's pinned files,
//! downloaded once into `target/kiln-corpus/`), with no hand-written
//! constraints: the backend and epoch are inferred from the published
//! files. tuf 7.0.1's wheel, built from its sdist as pip does, must come
//! out byte-identical to the published one (hatchling 1.32.0, unset
//! epoch); a census of several releases must total them; bad input exits 2
//! naming it, and a published copy that differs exits 1.
//!
//! Network: `lock` resolves the inferred backend with pip from PyPI (once:
//! the hash-keyed cache under `target/kiln-cache` serves later runs).
//! Needs python3.11 on PATH (the pin), as backend mode does.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

use kiln_corpus::{Cache, Kind, Manifest};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus_file(project: &str, kind: Kind) -> PathBuf {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = var("KILN_CORPUS_CACHE")
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kiln-corpus"));
    let manifest = Manifest::committed().unwrap();
    Cache::new(dir)
        .trusting(var("SSL_CERT_FILE"))
        .path(manifest.get(project, kind).unwrap())
        .unwrap()
}

fn python_ok() -> bool {
    match Command::new("python3.11").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ if std::env::var_os("KILN_REQUIRE_PYTHON").is_some() => {
            panic!("KILN_REQUIRE_PYTHON is set but python3.11 is not on PATH")
        }
        _ => {
            eprintln!("skipping: rebuild needs python3.11 on PATH");
            false
        }
    }
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A directory holding copies of `files`.
fn published(dir: &Path, files: &[PathBuf]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for f in files {
        fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn tuf_wheel_from_its_sdist_is_byte_identical_without_constraints() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sdist = corpus_file("tuf", Kind::Sdist);
    let wheel = corpus_file("tuf", Kind::Wheel);
    let against = published(&t.join("pub"), &[sdist.clone(), wheel.clone()]);
    let out = t.join("out");
    let o = xtask(
        t,
        &[
            "rebuild",
            sdist.to_str().unwrap(),
            "--against",
            against.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let release = &report["releases"][0];
    assert_eq!(release["status"], "byte-identical", "{}", text(&o));
    assert_eq!(release["backend"]["value"], "hatchling==1.32.0");
    assert_eq!(release["backend"]["how"], "inferred");
    assert_eq!(release["epoch"]["value"], "unset");
    let name = wheel.file_name().unwrap();
    assert_eq!(
        fs::read(out.join(name)).unwrap(),
        fs::read(&wheel).unwrap(),
        "the rebuilt wheel is written to --out"
    );
    assert!(out.join("tuf-7.0.1.lock.toml").is_file());

    // The same build with another epoch than the publisher's is not
    // byte-identical: the inference is what made it so (exit 1).
    let o = xtask(
        t,
        &[
            "rebuild",
            sdist.to_str().unwrap(),
            "--against",
            against.to_str().unwrap(),
            "--epoch",
            "1700000000",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["releases"][0]["status"], "container-only");
    assert_eq!(report["releases"][0]["epoch"]["how"], "given");
}

#[test]
fn census_of_the_pure_python_corpus_with_totals() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Every pure-Python release of the corpus.
    let projects = [
        "tuf",
        "click",
        "six",
        "certifi",
        "idna",
        "packaging",
        "rich",
    ];
    let mut files = Vec::new();
    let mut list = String::from("# a census\n");
    for p in projects {
        let s = corpus_file(p, Kind::Sdist);
        list.push_str(&format!("{}\n", s.display()));
        files.push(s);
        files.push(corpus_file(p, Kind::Wheel));
    }
    // A release that cannot be built is a row, not the end.
    let broken = t.join("broken-1.0.tar.gz");
    fs::write(&broken, b"not a gzip stream").unwrap();
    list.push_str(&format!("{}\n", broken.display()));
    let against = published(&t.join("pub"), &files);
    fs::write(t.join("list.txt"), list).unwrap();
    let o = xtask(
        t,
        &[
            "rebuild",
            "--list",
            "list.txt",
            "--against",
            against.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let totals = &report["totals"];
    eprintln!("{totals}");
    assert_eq!(totals["releases"], 8);
    // Every wheel has the published content. tuf (hatchling, unset), click
    // (flit_core, epoch 1793946343), idna and packaging (flit_core, unset:
    // file times from the sdist) and rich (poetry-core, unset) are
    // byte-identical; six's and certifi's setuptools wheels date their
    // dist-info files by the build's clock: timestamps differ.
    assert_eq!(totals["content_differs"], 0, "{}", text(&o));
    assert_eq!(totals["byte_identical"], 5, "{}", text(&o));
    assert_eq!(totals["container_only"], 2, "{}", text(&o));
    assert_eq!(totals["failed"], 1);
    assert_eq!(totals["failed_by_class"]["input"], 1);
    let releases = report["releases"].as_array().unwrap();
    assert_eq!(releases[1]["epoch"]["value"], "1793946343");
    assert!(
        releases[7]["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("broken-1.0.tar.gz")
    );
    // The human form: one row per release and the totals.
    let o = xtask(
        t,
        &[
            "rebuild",
            "--list",
            "list.txt",
            "--against",
            against.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("8 release(s): 5 byte-identical, 2 container only, 0 content differs, 0 not compared, 1 failed to build (input 1)"),
        "{err}"
    );
}

#[test]
fn bad_input_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let o = xtask(t, &["rebuild", "no-such-1.0.tar.gz"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-1.0.tar.gz"), "{}", text(&o));
    let o = xtask(t, &["rebuild", "x.tar.gz", "--epoch", "soon"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    fs::write(t.join("x-1.0.tar.gz"), b"junk").unwrap();
    let o = xtask(t, &["rebuild", "x-1.0.tar.gz", "--epoch", "soon"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--epoch"), "{}", text(&o));
    // An sdist that cannot be read leaves nothing in --out.
    let o = xtask(t, &["rebuild", "x-1.0.tar.gz", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("x-1.0.tar.gz"), "{}", text(&o));
    assert!(!t.join("out").exists());
    let o = xtask(t, &["rebuild", "--list", "missing.txt"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("missing.txt"), "{}", text(&o));
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=kiln",
            "-c",
            "user.email=kiln@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", text(&o));
}

#[test]
fn a_git_tag_released_with_the_backend_default_epoch_is_byte_identical() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sdist = corpus_file("tuf", Kind::Sdist);
    let wheel = corpus_file("tuf", Kind::Wheel);
    // A repository holding what tuf's sdist was made from (its files but
    // the generated PKG-INFO), tagged; more commits after the tag.
    let o = Command::new("tar")
        .arg("xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(t)
        .output()
        .unwrap();
    assert!(o.status.success());
    let repo = t.join("repo");
    fs::rename(t.join("tuf-7.0.1"), &repo).unwrap();
    fs::remove_file(repo.join("PKG-INFO")).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "release"]);
    git(&repo, &["tag", "v7.0.1"]);
    fs::write(repo.join("README.md"), "changed after the tag\n").unwrap();
    git(&repo, &["commit", "-qam", "later"]);
    let against = published(&t.join("pub"), &[sdist, wheel]);
    // The repository by path, then by URL (cloned as a remote would be).
    let url = format!("file://{}", repo.display());
    for source in ["repo", url.as_str()] {
        let o = xtask(
            t,
            &[
                "rebuild",
                source,
                "--ref",
                "v7.0.1",
                "--against",
                against.to_str().unwrap(),
                "--json",
            ],
        );
        assert!(o.status.success(), "{source}: {}", text(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let release = &report["releases"][0];
        assert_eq!(release["epoch"]["value"], "unset");
        let artifacts = release["artifacts"].as_array().unwrap();
        assert_eq!(artifacts.len(), 2);
        for a in artifacts {
            assert_eq!(a["comparisons"][0]["level"], "identical", "{source}: {a}");
        }
    }
    // A ref the repository does not have is bad input, by URL too.
    let o = xtask(t, &["rebuild", &url, "--ref", "v9.9.9"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--ref v9.9.9"), "{}", text(&o));
}

#[test]
fn lock_like_a_published_wheel_pins_its_backend() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sdist = corpus_file("six", Kind::Sdist);
    let wheel = corpus_file("six", Kind::Wheel);
    let o = Command::new("tar")
        .arg("xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(t)
        .output()
        .unwrap();
    assert!(o.status.success());
    // six's wheel says `Generator: setuptools (75.6.0)`; the newest
    // setuptools is far past it.
    let lock = t.join("six.lock.toml");
    let o = xtask(
        t,
        &[
            "lock",
            "six-1.17.0",
            "--lock",
            lock.to_str().unwrap(),
            "--like",
            wheel.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let text = fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("filename = \"setuptools-75.6.0-py3-none-any.whl\""),
        "{text}"
    );
    let o = xtask(t, &["lock", "six-1.17.0", "--like", "missing.whl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.whl"));
}

#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

/// A PEP 691 page for setuptools under `root`, with PEP 700 upload times:
/// on 2024-12-05 the newest was 75.6.0.
fn setuptools_page(root: &Path) {
    fs::create_dir_all(root.join("setuptools")).unwrap();
    let file = |version: &str, time: &str| {
        format!(
            r#"{{"filename": "setuptools-{version}-py3-none-any.whl", "url": "https://files.example/setuptools-{version}-py3-none-any.whl", "hashes": {{}}, "upload-time": "{time}"}}"#
        )
    };
    let page = format!(
        r#"{{"meta": {{"api-version": "1.1"}}, "name": "setuptools", "files": [{}, {}, {}]}}"#,
        file("75.5.0", "2024-11-14T10:00:00.000000Z"),
        file("75.6.0", "2024-11-25T10:00:00.000000Z"),
        file("75.7.0", "2025-01-05T10:00:00.000000Z"),
    );
    fs::write(root.join("setuptools/index.json"), page).unwrap();
}

#[test]
fn lock_exclude_newer_resolves_as_on_the_date_from_upload_times() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let root = t.join("index");
    setuptools_page(&root);
    let server = http::Server::start(&root);
    let sdist = corpus_file("six", Kind::Sdist);
    let o = Command::new("tar")
        .arg("xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(t)
        .output()
        .unwrap();
    assert!(o.status.success());
    let lock = t.join("six.lock.toml");
    let o = xtask(
        t,
        &[
            "lock",
            "six-1.17.0",
            "--lock",
            lock.to_str().unwrap(),
            "--exclude-newer",
            "2024-12-05",
            "--index",
            &server.base_url(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("setuptools<=75.6.0"), "{}", text(&o));
    let locked = fs::read_to_string(&lock).unwrap();
    assert!(
        locked.contains("filename = \"setuptools-75.6.0-py3-none-any.whl\""),
        "{locked}"
    );
    // A date before any upload is an error naming the requirement.
    let o = xtask(
        t,
        &[
            "lock",
            "six-1.17.0",
            "--lock",
            lock.to_str().unwrap(),
            "--exclude-newer",
            "2020-01-01",
            "--index",
            &server.base_url(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("setuptools"), "{}", text(&o));
}

#[test]
fn without_a_published_wheel_the_build_requirements_are_taken_as_of_the_upload() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let root = t.join("index");
    setuptools_page(&root);
    // six's sdist alone on the index, uploaded 2024-12-04.
    let sdist = corpus_file("six", Kind::Sdist);
    let bytes = fs::read(&sdist).unwrap();
    fs::create_dir_all(root.join("files")).unwrap();
    fs::create_dir_all(root.join("six")).unwrap();
    fs::write(root.join("files/six-1.17.0.tar.gz"), &bytes).unwrap();
    fs::write(
        root.join("six/index.json"),
        format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "six", "files": [{{"filename": "six-1.17.0.tar.gz", "url": "../files/six-1.17.0.tar.gz", "hashes": {{"sha256": "{}"}}, "upload-time": "2024-12-04T17:35:30.000000Z"}}]}}"#,
            http::sha256_hex(&bytes)
        ),
    )
    .unwrap();
    let server = http::Server::start(&root);
    let index = format!("{}/", server.base_url());
    let o = xtask(
        t,
        &[
            "rebuild",
            sdist.to_str().unwrap(),
            "--index",
            &index,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let release = &report["releases"][0];
    assert_eq!(
        release["backend"]["value"],
        "setuptools<=75.6.0",
        "{}",
        text(&o)
    );
    assert_eq!(release["backend"]["how"], "inferred");
    assert_eq!(release["status"], "byte-identical");
    assert_eq!(
        release["artifacts"][0]["comparisons"][0]["level"],
        "identical"
    );
}

#[test]
fn an_sdist_url_and_copies_under_a_base_url_are_fetched_and_compared() {
    if !python_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sdist = corpus_file("tuf", Kind::Sdist);
    let wheel = corpus_file("tuf", Kind::Wheel);
    let served = published(&t.join("release"), &[sdist.clone(), wheel]);
    let server = http::Server::start(&served);
    let o = xtask(
        t,
        &[
            "rebuild",
            &server.url("/tuf-7.0.1.tar.gz"),
            "--against",
            &server.base_url(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let release = &report["releases"][0];
    assert_eq!(release["backend"]["value"], "hatchling==1.32.0");
    let wheel = &release["artifacts"][1];
    assert_eq!(
        wheel["comparisons"][0]["published"],
        format!("{}/tuf-7.0.1-py3-none-any.whl", server.base_url())
    );
    assert_eq!(wheel["comparisons"][0]["level"], "identical");
}
