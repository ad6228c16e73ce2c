//! End-to-end tests of `cargo xtask verify`, `diff` and `normalize`.
//!
//! Each verify test works on a fresh clone of this repository with the
//! release tag of the bundled example created in it, releases it once to
//! get the "published" artifacts, and serves them with a real HTTP server
//! on 127.0.0.1 (a static GitHub-release-like directory and a static PEP
//! 503 simple index). The published copies are then tampered with in the
//! ways a real release goes wrong.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/http.rs"]
mod http;

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROJECT: &str = "kiln-sums";
const VERSION: &str = "0.1.0";
const TAG: &str = "kiln-sums-v0.1.0";
const WHEEL: &str = "kiln_sums-0.1.0-py3-none-any.whl";
const SDIST: &str = "kiln_sums-0.1.0.tar.gz";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
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

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?} failed: {}", text(&out));
}

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

    /// A copy of the published directory, to tamper with.
    fn copy_published(&self, name: &str) -> PathBuf {
        let dir = self.published.parent().unwrap().join(name);
        fs::create_dir_all(&dir).unwrap();
        for file in [WHEEL, SDIST] {
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

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{}", text(o)))
}

#[test]
fn an_untouched_release_verifies_against_a_directory_a_url_and_an_index() {
    let f = fixture();
    let (server, _site) = serve(&published_files(&f.published), false);
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
    // Two artifacts: against the record, the directory, the URL, two indexes.
    assert_eq!(checks.len(), 10, "{report:#}");
    assert!(checks.iter().all(|c| c["status"] == "match"), "{report:#}");
    for (kind, n) in [("rebuild", 2), ("directory", 2), ("url", 2), ("index", 4)] {
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
    let dir = f.copy_published("added");
    let wheel = fs::read(dir.join(WHEEL)).unwrap();
    let edited = rezip(
        &wheel,
        (1980, 1, 1),
        &|_, d| d,
        &[("kiln_sums/backdoor.py", b"import os\n")],
    );
    fs::write(dir.join(WHEEL), edited).unwrap();
    let out = f.verify(&["--against", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
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
    let dir = f.copy_published("hostile");
    let wheel = fs::read(dir.join(WHEEL)).unwrap();
    let edited = rezip(
        &wheel,
        (1980, 1, 1),
        &|_, d| d,
        &[("../../evil.py", b"pwned\n")],
    );
    fs::write(dir.join(WHEEL), edited).unwrap();
    let out = f.verify(&["--against", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
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
    let report = json(&out);
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
