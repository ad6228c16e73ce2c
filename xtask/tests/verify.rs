//! End-to-end tests of `cargo xtask verify`, `diff` and `normalize`.
//!
//! Each verify test works on a fresh clone of this repository with the
//! release tag of the bundled example created in it, releases it once to
//! get the "published" artifacts, and serves them with a real HTTP server
//! on 127.0.0.1 (a static GitHub-release-like directory and a static PEP
//! 503 simple index). The published copies are then tampered with in the
//! ways a real release goes wrong.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;
#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use common::{commit, git, root, text, xtask};

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROJECT: &str = "kiln-sums";
const VERSION: &str = "0.1.0";
const TAG: &str = "kiln-sums-v0.1.0";
const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";
const SDIST: &str = "kiln_sums-0.1.0.tar.gz";
const PROVENANCE: &str = "kiln-sums-0.1.0.intoto.jsonl";

/// A clone of HEAD with the release tag, and the artifacts `release` made
/// from it in `published/`.
struct Fixture {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    published: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    git(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            root().to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    git(&repo, &["tag", TAG]);
    let published = tmp.path().join("published");
    let out = xtask(&repo, &["release", "--out", published.to_str().unwrap()]);
    assert!(out.status.success(), "release failed: {}", text(&out));
    Fixture {
        _tmp: tmp,
        repo,
        published,
    }
}

impl Fixture {
    fn verify(&self, extra: &[&str]) -> Output {
        let mut args = vec!["verify", "--project", PROJECT, "--version", VERSION];
        args.extend_from_slice(extra);
        xtask(&self.repo, &args)
    }

    /// A copy of the published directory whose wheel was re-zipped by
    /// `rezip`, and what verify says of it (exit code, output).
    fn verify_rezipped(
        &self,
        name: &str,
        time: (u16, u8, u8),
        edit: &dyn Fn(&str, Vec<u8>) -> Vec<u8>,
        add: &[(&str, &[u8])],
    ) -> (PathBuf, Option<i32>, String) {
        let dir = self.copy_published(name);
        let wheel = fs::read(dir.join(WHEEL)).unwrap();
        fs::write(dir.join(WHEEL), rezip(&wheel, time, edit, add)).unwrap();
        let (code, t) = self.verify_dir(&dir);
        (dir, code, t)
    }

    /// A copy of the published directory, to tamper with.
    fn copy_published(&self, name: &str) -> PathBuf {
        let dir = self.published.parent().unwrap().join(name);
        fs::create_dir_all(&dir).unwrap();
        for file in [WHEEL, SDIST, PROVENANCE] {
            fs::copy(self.published.join(file), dir.join(file)).unwrap();
        }
        dir
    }
}

/// Serve `files` as a GitHub-release-like download directory and a simple
/// index (HTML) under one server.
fn serve(files: &[(&str, Vec<u8>)], json: bool) -> (http::Server, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    let release = site.path().join("releases/download").join(TAG);
    fs::create_dir_all(&release).unwrap();
    for (name, bytes) in files {
        fs::write(release.join(name), bytes).unwrap();
    }
    // The index carries the artifacts only; the release the provenance too.
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    http::write_simple_index(site.path(), PROJECT, &files, json);
    (http::Server::start(site.path()), site)
}

fn published_files(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    [WHEEL, SDIST]
        .into_iter()
        .map(|f| (f, fs::read(dir.join(f)).unwrap()))
        .collect()
}

/// Put the provenance beside the artifacts of a served release.
fn serve_provenance(site: &Path, published: &Path) {
    let release = site.join("releases/download").join(TAG);
    fs::copy(published.join(PROVENANCE), release.join(PROVENANCE)).unwrap();
}

/// Rewrite a zip with the zip crate: `edit` may change a member's bytes;
/// `add` members are appended; every timestamp becomes `time`.
fn rezip(
    bytes: &[u8],
    time: (u16, u8, u8),
    edit: &dyn Fn(&str, Vec<u8>) -> Vec<u8>,
    add: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let time = zip::DateTime::from_date_and_time(time.0, time.1, time.2, 12, 0, 0).unwrap();
    for i in 0..input.len() {
        let mut f = input.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mode = f.unix_mode().unwrap_or(0o644);
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let data = edit(&name, data);
        let opts = zip::write::SimpleFileOptions::default()
            .last_modified_time(time)
            .unix_permissions(mode & 0o777)
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file(name.as_str(), opts).unwrap();
        out.write_all(&data).unwrap();
    }
    for (name, data) in add {
        let opts = zip::write::SimpleFileOptions::default()
            .last_modified_time(time)
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file(*name, opts).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The `--json` report, checked against the published schema.
fn json(o: &Output) -> serde_json::Value {
    common::report(o)
}

#[test]
fn an_untouched_release_verifies_against_a_directory_a_url_and_an_index() {
    let f = fixture();
    let (server, site) = serve(&published_files(&f.published), false);
    serve_provenance(site.path(), &f.published);
    let (json_server, json_site) = serve(&published_files(&f.published), true);
    // Only the PEP 691 JSON form exists there.
    fs::remove_file(json_site.path().join("simple/kiln-sums/index.html")).unwrap();
    let url = format!("{}/releases/download/{TAG}", server.base_url());
    let index = format!("{}/simple/", server.base_url());

    // Uncommitted and untracked files in the working tree cannot leak in.
    let init = f.repo.join("examples/kiln-sums/src/kiln_sums/__init__.py");
    let mut source = fs::read_to_string(&init).unwrap();
    source.push_str("\nLEAKED = True\n");
    fs::write(&init, source).unwrap();
    fs::write(
        f.repo.join("examples/kiln-sums/src/kiln_sums/untracked.py"),
        "x = 1\n",
    )
    .unwrap();

    let out = f.verify(&[
        "--against",
        f.published.to_str().unwrap(),
        "--against",
        &url,
        "--index",
        &index,
        "--index",
        &format!("{}/simple/", json_server.base_url()),
        "--json",
    ]);
    assert!(out.status.success(), "verify failed: {}", text(&out));
    let report = json(&out);
    assert_eq!(report["verified"], true);
    let checks = report["checks"].as_array().unwrap();
    // Two artifacts against the record, the directory, the URL and two
    // indexes; the provenance from the directory and the URL; the
    // directory's SHA256SUMS and .distinfo; each index link's sha256.
    assert_eq!(checks.len(), 18, "{report:#}");
    assert!(checks.iter().all(|c| c["status"] == "match"), "{report:#}");
    for (kind, n) in [("rebuild", 2), ("directory", 5), ("url", 3), ("index", 8)] {
        assert_eq!(
            checks.iter().filter(|c| c["source-kind"] == kind).count(),
            n,
            "{kind}: {report:#}"
        );
    }
    // The servers really served the files, and the JSON form of the index.
    let log = server.requests();
    assert!(log.iter().any(|r| r.target.ends_with(WHEEL)), "{log:?}");
    let log = json_server.requests();
    assert!(
        log.iter()
            .any(|r| r.target.starts_with("/files/") && r.target.ends_with(SDIST)),
        "{log:?}"
    );

    // The human form says so too.
    let out = f.verify(&["--against", f.published.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("verified kiln-sums 0.1.0"),
        "{}",
        text(&out)
    );
}

#[test]
fn published_checksum_files_that_disagree_with_the_record_fail_verify() {
    // Artifacts and provenance untouched: only a digest statement beside
    // them is wrong. Each used to verify with exit 0.
    let f = fixture();
    let distinfo = format!("{PROJECT}-{VERSION}.distinfo");
    let with_statements = |name: &str| {
        let dir = f.copy_published(name);
        for file in ["SHA256SUMS", distinfo.as_str()] {
            fs::copy(f.published.join(file), dir.join(file)).unwrap();
        }
        dir
    };
    let sha = |file: &str| {
        let bytes = fs::read(f.published.join(file)).unwrap();
        http::sha256_hex(&bytes)
    };
    let wrong = "0".repeat(64);

    // Untouched, both statements agree.
    let dir = with_statements("agreeing");
    let (code, t) = f.verify_dir(&dir);
    assert_eq!(code, Some(0), "{t}");

    // SHA256SUMS names the wheel with another sha256.
    let dir = with_statements("sums");
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    fs::write(dir.join("SHA256SUMS"), sums.replace(&sha(WHEEL), &wrong)).unwrap();
    let (code, t) = f.verify_dir(&dir);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "SHA256SUMS:1: {WHEEL} has sha256 {wrong}; the record says {}",
            sha(WHEEL)
        )),
        "{t}"
    );

    // The .distinfo gives the sdist another sha256.
    let dir = with_statements("distinfo");
    let record = fs::read_to_string(dir.join(&distinfo)).unwrap();
    fs::write(dir.join(&distinfo), record.replace(&sha(SDIST), &wrong)).unwrap();
    let (code, t) = f.verify_dir(&dir);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(&format!("{distinfo}:"))
            && t.contains(&format!("SHA256 ({SDIST}) says {wrong}")),
        "{t}"
    );

    // An index links the right files with a wrong #sha256=.
    let (server, site) = serve(&published_files(&f.published), false);
    let page = site.path().join("simple/kiln-sums/index.html");
    let html = fs::read_to_string(&page).unwrap();
    fs::write(&page, html.replace(&sha(WHEEL), &wrong)).unwrap();
    let out = f.verify(&[
        "--index",
        &format!("{}/simple/", server.base_url()),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let checks = report["checks"].as_array().unwrap();
    let statement = checks
        .iter()
        .find(|c| c["artifact"] == format!("{WHEEL} (sha256 on the index page)"))
        .unwrap();
    assert_eq!(statement["status"], "disagrees", "{report:#}");
    let detail = statement["detail"].as_str().unwrap();
    assert!(
        detail.contains("/simple/kiln-sums/") && detail.contains(&wrong),
        "{detail}"
    );
    // The download itself matched: only the page's statement is wrong.
    let copy = checks
        .iter()
        .find(|c| c["source-kind"] == "index" && c["artifact"] == WHEEL)
        .unwrap();
    assert_eq!(copy["status"], "match", "{report:#}");
}

#[test]
fn a_rezipped_wheel_is_the_same_content_in_another_container() {
    let f = fixture();
    let dir = f.copy_published("rezipped");
    let wheel = fs::read(dir.join(WHEEL)).unwrap();
    fs::write(
        dir.join(WHEEL),
        rezip(&wheel, (2024, 2, 29), &|_, d| d, &[]),
    )
    .unwrap();
    let out = f.verify(&["--against", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("same content, container differs"), "{t}");
    assert!(t.contains("timestamps"), "{t}");
    // The sdist was untouched.
    let out = f.verify(&["--against", dir.to_str().unwrap(), "--json"]);
    let report = json(&out);
    let sdist = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source-kind"] == "directory" && c["artifact"] == SDIST)
        .unwrap()
        .clone();
    assert_eq!(sdist["status"], "match");
    let wheel = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source-kind"] == "directory" && c["artifact"] == WHEEL)
        .unwrap()
        .clone();
    assert_eq!(wheel["status"], "differs");
    assert_eq!(wheel["diff"]["level"], "same-content", "{wheel:#}");
}

#[test]
fn one_changed_byte_is_named_with_its_diff() {
    let f = fixture();
    let dir = f.copy_published("changed");
    let wheel = fs::read(dir.join(WHEEL)).unwrap();
    let member = "kiln_sums/__init__.py";
    let edited = rezip(
        &wheel,
        (1980, 1, 1),
        &|name, mut d| {
            if name == member {
                let at = d.iter().position(|&b| b == b'\n').unwrap() - 1;
                d[at] ^= 0x01;
            }
            d
        },
        &[],
    );
    fs::write(dir.join(WHEEL), edited).unwrap();
    let out = f.verify(&["--against", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("different content"), "{t}");
    assert!(t.contains(member), "{t}");
    // A unified diff of the member: a removed and an added line.
    let lines: Vec<&str> = t.lines().map(str::trim_start).collect();
    assert!(lines.iter().any(|l| l.starts_with("-\"\"\"Write")), "{t}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("+\"\"\"Write") && l.ends_with("\"#")),
        "{t}"
    );
    // The published RECORD no longer matches its own member.
    assert!(t.contains("RECORD says sha256="), "{t}");
}

#[test]
fn a_member_added_without_a_record_row_is_reported() {
    let f = fixture();
    let added: &[(&str, &[u8])] = &[("kiln_sums/backdoor.py", b"import os\n")];
    let (_, code, t) = f.verify_rezipped("added", (1980, 1, 1), &|_, d| d, added);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("kiln_sums/backdoor.py"), "{t}");
    assert!(t.contains("RECORD"), "{t}");
}

#[test]
fn missing_copies_a_404_and_an_index_without_the_version_say_what_is_missing() {
    let f = fixture();
    // A directory without the wheel.
    let dir = f.copy_published("partial");
    fs::remove_file(dir.join(WHEEL)).unwrap();
    let out = f.verify(&["--against", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("{WHEEL} is not in")), "{t}");

    // A URL where only the sdist exists (the wheel is a 404), and an index
    // that lists another version only.
    let sdist = fs::read(f.published.join(SDIST)).unwrap();
    let site = tempfile::tempdir().unwrap();
    let release = site.path().join("releases/download").join(TAG);
    fs::create_dir_all(&release).unwrap();
    fs::write(release.join(SDIST), &sdist).unwrap();
    http::write_simple_index(
        site.path(),
        PROJECT,
        &[("kiln_sums-0.0.9.tar.gz", b"old".as_slice())],
        false,
    );
    let server = http::Server::start(site.path());
    let url = format!("{}/releases/download/{TAG}", server.base_url());
    let out = f.verify(&[
        "--against",
        &url,
        "--index",
        &format!("{}/simple/", server.base_url()),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let checks = report["checks"].as_array().unwrap();
    let find = |kind: &str, artifact: &str| {
        checks
            .iter()
            .find(|c| c["source-kind"] == kind && c["artifact"] == artifact)
            .unwrap()
            .clone()
    };
    assert_eq!(find("url", SDIST)["status"], "match");
    let wheel = find("url", WHEEL);
    assert_eq!(wheel["status"], "missing");
    assert!(
        wheel["detail"].as_str().unwrap().contains("404"),
        "{wheel:#}"
    );
    let indexed = find("index", WHEEL);
    assert_eq!(indexed["status"], "missing");
    assert!(
        indexed["detail"]
            .as_str()
            .unwrap()
            .contains("kiln_sums-0.0.9.tar.gz"),
        "{indexed:#}"
    );

    // A project the index does not have at all.
    let empty = tempfile::tempdir().unwrap();
    fs::create_dir_all(empty.path().join("simple")).unwrap();
    let server = http::Server::start(empty.path());
    let out = f.verify(&["--index", &format!("{}/simple/", server.base_url())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("has no project"), "{t}");
}

#[test]
fn a_hostile_published_wheel_is_refused_naming_the_entry_and_nothing_is_extracted() {
    let f = fixture();
    let evil: &[(&str, &[u8])] = &[("../../evil.py", b"pwned\n")];
    let (_, code, t) = f.verify_rezipped("hostile", (1980, 1, 1), &|_, d| d, evil);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("../../evil.py"), "{t}");
    let parent = f.published.parent().unwrap();
    for dir in [parent, parent.parent().unwrap()] {
        assert!(!dir.join("evil.py").exists());
    }
}

#[test]
fn verify_without_the_tag_or_the_record_exits_2_saying_what_to_do() {
    let f = fixture();
    let out = f.verify(&["--ref", "no-such-tag"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("no-such-tag") && t.contains("git fetch --tags"),
        "{t}"
    );
    let out = xtask(
        &f.repo,
        &["verify", "--project", PROJECT, "--version", "9.9.9"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("no committed record"), "{t}");

    // When kiln's own code moved on since the tag, verify says the rebuild
    // used HEAD's kiln (the artifacts still match here: a comment only).
    let out = f.verify(&["--json"]);
    assert_eq!(json(&out)["notes"], serde_json::json!([]), "{}", text(&out));
    let lib = f.repo.join("crates/kiln-names/src/lib.rs");
    let mut code = fs::read_to_string(&lib).unwrap();
    code.push_str("// a later change\n");
    fs::write(&lib, code).unwrap();
    commit(&f.repo, &["-am", "later"]);
    let out = f.verify(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let notes = json(&out)["notes"].to_string();
    assert!(
        notes.contains("kiln's own code (crates) differs"),
        "{notes}"
    );
}

#[test]
fn diff_and_normalize_on_the_bundled_release() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let wheel = fs::read(f.published.join(WHEEL)).unwrap();
    let foreign = tmp.path().join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(
        foreign.join(WHEEL),
        rezip(&wheel, (2001, 9, 9), &|_, d| d, &[]),
    )
    .unwrap();
    fs::copy(f.published.join(SDIST), foreign.join(SDIST)).unwrap();

    // Identical: exit 0.
    let same = f.published.join(WHEEL);
    let out = xtask(
        &f.repo,
        &["diff", same.to_str().unwrap(), same.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("identical"), "{}", text(&out));
    // Same content: exit 1, says which container fields.
    let out = xtask(
        &f.repo,
        &[
            "diff",
            f.published.to_str().unwrap(),
            foreign.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A mismatch with --json: the report is stdout's one JSON document (no
    // error object after it), and says so.
    let report = json(&out);
    assert_eq!(report["command"], "diff");
    assert!(report.get("error").is_none(), "{report:#}");
    assert_eq!(report["identical"], false);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{report:#}");

    // normalize brings the foreign wheel back to kiln's bytes (the epoch is
    // the release's), and normalizing again is the identity.
    let record =
        fs::read_to_string(f.repo.join("release/records/kiln-sums/0.1.0.distinfo")).unwrap();
    let epoch = record
        .lines()
        .find_map(|l| l.strip_prefix("EPOCH = "))
        .unwrap()
        .to_string();
    let out1 = tmp.path().join("n1");
    let o = xtask(
        &f.repo,
        &[
            "normalize",
            foreign.join(WHEEL).to_str().unwrap(),
            foreign.join(SDIST).to_str().unwrap(),
            "--out",
            out1.to_str().unwrap(),
            "--source-date-epoch",
            &epoch,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(out1.join(WHEEL)).unwrap(), wheel);
    assert_eq!(
        fs::read(out1.join(SDIST)).unwrap(),
        fs::read(f.published.join(SDIST)).unwrap()
    );
    let out2 = tmp.path().join("n2");
    let o = xtask(
        &f.repo,
        &[
            "normalize",
            out1.join(WHEEL).to_str().unwrap(),
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = xtask(
        &f.repo,
        &[
            "normalize",
            out2.join(WHEEL).to_str().unwrap(),
            "--out",
            tmp.path().join("n3").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        fs::read(out2.join(WHEEL)).unwrap(),
        fs::read(tmp.path().join("n3").join(WHEEL)).unwrap()
    );

    // Bad input: exit 2 naming the file; nothing written.
    let junk = tmp.path().join("junk.whl");
    fs::write(&junk, b"not a zip").unwrap();
    let out4 = tmp.path().join("n4");
    let o = xtask(
        &f.repo,
        &[
            "normalize",
            junk.to_str().unwrap(),
            "--out",
            out4.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("junk.whl"), "{}", text(&o));
    assert!(!out4.join("junk.whl").exists());
    let o = xtask(
        &f.repo,
        &["diff", junk.to_str().unwrap(), same.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn diff_lists_the_changed_members_of_two_versions() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    // Version 0.2.0 of the example, with one module changed.
    let project = tmp.path().join("kiln-sums");
    let copy = Command::new("cp")
        .args(["-r", f.repo.join("examples/kiln-sums").to_str().unwrap()])
        .arg(&project)
        .status()
        .unwrap();
    assert!(copy.success());
    let pyproject = project.join("pyproject.toml");
    let text0 = fs::read_to_string(&pyproject).unwrap();
    fs::write(
        &pyproject,
        text0.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
    )
    .unwrap();
    let init = project.join("src/kiln_sums/__init__.py");
    let mut source = fs::read_to_string(&init).unwrap();
    source.push_str("\nNEW_IN_0_2 = True\n");
    fs::write(&init, source).unwrap();
    let dist = tmp.path().join("dist");
    let o = xtask(
        &f.repo,
        &[
            "build",
            project.to_str().unwrap(),
            "--out",
            dist.to_str().unwrap(),
            "--source-date-epoch",
            "1700000000",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = xtask(
        &f.repo,
        &[
            "diff",
            f.published.join(WHEEL).to_str().unwrap(),
            dist.join("kiln_sums-0.2.0-py3-none-any.whl")
                .to_str()
                .unwrap(),
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report = json(&o);
    let pair = &report["results"][0]["pair"];
    assert_eq!(pair["level"], "different-content", "{pair:#}");
    let rendered = serde_json::to_string(pair).unwrap();
    assert!(rendered.contains("kiln_sums/__init__.py"), "{pair:#}");
    // Unchanged modules are not listed as changed.
    assert!(!rendered.contains("kiln_sums/__main__.py"), "{pair:#}");
}

// ---------------------------------------------------------------------------
// Provenance and signing.

use base64::Engine as _;
use kiln_provenance::{Envelope, PrivateKey};

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Fixture {
    fn dev_key(&self) -> PrivateKey {
        let pem = fs::read_to_string(self.repo.join("target/kiln-dev-key/key.pem")).unwrap();
        PrivateKey::from_pkcs8_pem(&pem).unwrap()
    }

    fn envelope(&self) -> Envelope {
        let text = fs::read_to_string(self.published.join(PROVENANCE)).unwrap();
        Envelope::parse(text.trim_end()).unwrap()
    }

    /// The published directory with its provenance replaced by `line`.
    fn with_provenance(&self, name: &str, line: &str) -> PathBuf {
        let dir = self.copy_published(name);
        fs::write(dir.join(PROVENANCE), format!("{line}\n")).unwrap();
        dir
    }

    /// A copy whose statement was edited by `edit` and signed again with
    /// the (trusted) development key.
    fn resigned(&self, name: &str, edit: &dyn Fn(&mut serde_json::Value)) -> PathBuf {
        let payload = b64().decode(&self.envelope().payload).unwrap();
        let mut statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        edit(&mut statement);
        let bytes = serde_json::to_vec(&statement).unwrap();
        let envelope =
            kiln_provenance::dsse::sign("application/vnd.in-toto+json", &bytes, &self.dev_key());
        self.with_provenance(name, envelope.to_json_line().trim_end())
    }

    fn verify_dir(&self, dir: &Path) -> (Option<i32>, String) {
        let out = self.verify(&["--against", dir.to_str().unwrap()]);
        (out.status.code(), text(&out))
    }
}

#[test]
fn release_signs_provenance_with_the_development_key_and_verify_accepts_it() {
    let f = fixture();
    // The release's own report says it is a development key.
    let out = xtask(
        &f.repo,
        &[
            "release",
            "--out",
            f.repo.join("again").to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    let project = &report["projects"][0];
    assert!(
        project["signing"]
            .as_str()
            .unwrap()
            .starts_with("development key"),
        "{report:#}"
    );
    // The statement: subjects are the artifacts, the commit is HEAD, and
    // the development key is labelled as such.
    let envelope = f.envelope();
    assert_eq!(envelope.payload_type, "application/vnd.in-toto+json");
    let statement: serde_json::Value =
        serde_json::from_slice(&b64().decode(&envelope.payload).unwrap()).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    let names: Vec<&str> = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![SDIST, WHEEL]);
    let definition = &statement["predicate"]["buildDefinition"];
    assert_eq!(
        definition["internalParameters"]["signing"]["kind"],
        "development-key"
    );
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&f.repo)
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    assert_eq!(
        definition["resolvedDependencies"][0]["digest"]["gitCommit"],
        head.trim()
    );
    let uris: Vec<&str> = definition["resolvedDependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uri"].as_str().unwrap())
        .collect();
    for wanted in [
        "file:Cargo.lock",
        "file:pinned-toolchain.toml",
        "pkg:generic/rustc@",
    ] {
        assert!(uris.iter().any(|u| u.starts_with(wanted)), "{uris:?}");
    }

    let (code, t) = f.verify_dir(&f.published);
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains(PROVENANCE), "{t}");

    // securesystemslib verifies the same envelope, without kiln's code.
    let Some(python) = common::python("the securesystemslib check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        f.published.join(PROVENANCE),
        dir.path().join("envelope.intoto.jsonl"),
    )
    .unwrap();
    let keys = f.repo.join("target/kiln-dev-key");
    fs::copy(keys.join("key.pub"), dir.path().join("key.pub.pem")).unwrap();
    fs::copy(keys.join("key.pem"), dir.path().join("key.pem")).unwrap();
    let script = root().join("crates/kiln-provenance/tests/check_dsse.py");
    let out = Command::new(python)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn tampered_provenance_is_caught_naming_what_failed() {
    let f = fixture();
    let envelope = f.envelope();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "flipped payload byte",
            {
                let mut e = envelope.clone();
                let mut payload = b64().decode(&e.payload).unwrap();
                let at = payload.len() / 2;
                payload[at] ^= 0x01;
                e.payload = b64().encode(payload);
                f.with_provenance("payload", e.to_json_line().trim_end())
            },
            "signature",
        ),
        (
            "flipped signature byte",
            {
                let mut e = envelope.clone();
                let mut sig = b64().decode(&e.signatures[0].sig).unwrap();
                sig[0] ^= 0x01;
                e.signatures[0].sig = b64().encode(sig);
                f.with_provenance("signature", e.to_json_line().trim_end())
            },
            "signature",
        ),
        (
            "a key nobody trusts",
            {
                let payload = b64().decode(&envelope.payload).unwrap();
                let other = PrivateKey::from_seed([42; 32]);
                let e = kiln_provenance::dsse::sign(&envelope.payload_type, &payload, &other);
                f.with_provenance("wrong-key", e.to_json_line().trim_end())
            },
            "signature check failed",
        ),
        (
            "a subject digest that does not match",
            f.resigned("subject-digest", &|s| {
                s["subject"][0]["digest"]["sha256"] = serde_json::json!("00".repeat(32));
            }),
            "has sha256 0000",
        ),
        (
            "an artifact missing from the subjects",
            f.resigned("subject-missing", &|s| {
                s["subject"].as_array_mut().unwrap().remove(1);
            }),
            "missing from the subjects",
        ),
        (
            "provenance of another commit",
            f.resigned("other-commit", &|s| {
                s["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]
                    ["gitCommit"] = serde_json::json!("1".repeat(40));
            }),
            "the provenance is of commit 1111",
        ),
    ];
    for (what, dir, expected) in cases {
        let (code, t) = f.verify_dir(&dir);
        assert_eq!(code, Some(1), "{what}: {t}");
        assert!(
            t.contains(expected),
            "{what}: expected {expected:?} in:\n{t}"
        );
        // The artifacts themselves still match: only the provenance failed.
        assert!(t.contains(&format!("{PROVENANCE} from")), "{what}: {t}");
    }
}

#[test]
fn keygen_and_release_with_a_key_never_show_the_private_key() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("release-key.pem");
    let mut outputs = String::new();
    let out = xtask(&f.repo, &["keygen", "--out", key.to_str().unwrap()]);
    outputs.push_str(&text(&out));
    assert!(out.status.success(), "{}", text(&out));
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public = tmp.path().join("release-key.pem.pub");
    assert!(
        fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // Never overwritten.
    let out = xtask(&f.repo, &["keygen", "--out", key.to_str().unwrap()]);
    outputs.push_str(&text(&out));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Release with it; verify trusts it only once it is committed.
    let dist = tmp.path().join("dist");
    let release_with = |k: &Path| {
        xtask(
            &f.repo,
            &[
                "release",
                "--key",
                k.to_str().unwrap(),
                "--out",
                dist.to_str().unwrap(),
            ],
        )
    };
    let out = release_with(&key);
    outputs.push_str(&text(&out));
    assert!(out.status.success(), "{}", text(&out));
    fs::remove_dir_all(f.repo.join("target/kiln-dev-key")).ok();
    fs::create_dir_all(f.repo.join("release/keys")).unwrap();
    fs::copy(&public, f.repo.join("release/keys/release-key.pub")).unwrap();
    let out = f.verify(&["--against", dist.to_str().unwrap()]);
    outputs.push_str(&text(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "uncommitted key trusted: {}",
        text(&out)
    );
    git(&f.repo, &["add", "release/keys/release-key.pub"]);
    commit(&f.repo, &["-m", "key"]);
    // The tag stays where it was: the key is read from HEAD, the source
    // from the tag.
    let out = f.verify(&["--against", dist.to_str().unwrap()]);
    outputs.push_str(&text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // release.toml can narrow the trusted keys; naming one that is not
    // committed is bad input.
    let config = f.repo.join("release/release.toml");
    let narrowed = fs::read_to_string(&config).unwrap().replace(
        "[project.signing]\n",
        "[project.signing]\npublic-keys = [\"release/keys/gone.pub\"]\n",
    );
    fs::write(&config, narrowed).unwrap();
    // Uncommitted, it changes nothing.
    let out = f.verify(&["--against", dist.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    commit(&f.repo, &["-am", "narrow"]);
    let out = f.verify(&["--against", dist.to_str().unwrap()]);
    outputs.push_str(&text(&out));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("release/keys/gone.pub"),
        "{}",
        text(&out)
    );
    git(&f.repo, &["reset", "--quiet", "--hard", "HEAD~1"]);

    // A key readable by others is refused, and so is garbage; neither
    // error shows the file.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let out = release_with(&key);
    outputs.push_str(&text(&out));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    let pem = fs::read_to_string(&key).unwrap();
    let broken = tmp.path().join("broken.pem");
    fs::write(&broken, pem.replace("PRIVATE KEY", "PRIVATE KEX")).unwrap();
    fs::set_permissions(&broken, fs::Permissions::from_mode(0o600)).unwrap();
    let out = release_with(&broken);
    outputs.push_str(&text(&out));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(body.len() > 40);
    assert!(
        !outputs.contains(&body),
        "private key material in the output"
    );
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !outputs.contains(line),
            "private key material in the output"
        );
    }
    // Nor in anything release wrote.
    for entry in fs::read_dir(&dist).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&body));
    }
}

#[test]
fn keyless_outside_github_actions_fails_fast() {
    let f = fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["release", "--keyless", "--out", "elsewhere"])
        .current_dir(&f.repo)
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("id-token: write"), "{t}");
    // Nothing was built.
    assert!(!f.repo.join("elsewhere").exists());
}
