//! `cargo xtask wheelhouse` and `verify --wheelhouse`, end to end, with the
//! sdists served as a PEP 503 / PEP 691 simple index by a real HTTP server
//! on 127.0.0.1.
//!
//! - Five real sdists of the corpus (certifi, click, idna, packaging, six:
//!   setuptools, flit_core and a setup.py-only project): the wheelhouse is
//!   made twice, from different directories under different umasks, and
//!   every file but the statement is byte-identical; pip installs it with
//!   `--require-hashes` into a fresh venv (with `KILN_TEST_PYTHON`); verify
//!   passes, and fails naming the file once a wheel or requirements.txt is
//!   altered. Network: the locks resolve build requirements on PyPI.
//! - Offline, with a tiny in-tree test backend (no build requirement to
//!   download): the wheelhouse of fixed sdists has pinned bytes, and verify
//!   fails naming the file for a removed statement, an added wheel, a
//!   sources.txt pinning another sdist and an altered wheel; a backend
//!   whose output varies is reported not reproducible with the member that
//!   varies, and nothing is written; an unhashed requirement, a hash
//!   mismatch (stated by the index, or only in the bytes served) and an
//!   sdist that does not build are errors naming the requirement, leaving
//!   the previous DIR untouched and no staging debris beside it.
//! - `--constraints` pins what every lock resolves (six with the
//!   setuptools it was published with; network).

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;
#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use kiln_archive::{ArchiveWriter, Deflate, TarGzWriter};
use kiln_corpus::{Cache, Kind, Manifest};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cargo xtask ARGS` in `dir` under `umask`; under umask 077, also with
/// one worker thread, another time zone and locale.
fn xtask(dir: &Path, umask: &str, args: &[&str]) -> Output {
    let mut command = Command::new("sh");
    if umask == "077" {
        command
            .env("RAYON_NUM_THREADS", "1")
            .env("TZ", "Pacific/Chatham")
            .env("LC_ALL", "C");
    }
    command
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    http::sha256_hex(bytes)
}

/// No kiln staging or temporary entry beside `dir`.
fn no_debris(parent: &Path) {
    for e in walkdir::WalkDir::new(parent)
        .max_depth(1)
        .sort_by_file_name()
    {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".kiln-"), "debris left: {name}");
    }
}

// ---- Offline: a test backend in the sdist itself ----

const BACKEND: &str = r#"
import base64, hashlib, os, random, tarfile, zipfile

def _name():
    return open("NAME").read().strip()

def build_sdist(sdist_directory, config_settings=None):
    base = _name() + "-1.0"
    with tarfile.open(os.path.join(sdist_directory, base + ".tar.gz"), "w:gz") as tar:
        for f in sorted(os.listdir(".")):
            if os.path.isfile(f):
                tar.add(f, arcname=base + "/" + f)
    return base + ".tar.gz"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.path.exists("FAIL"):
        print("testbackend: this sdist does not build, on purpose")
        raise SystemExit(3)
    name = _name()
    body = "BUILT = %r\n" % random.random() if os.path.exists("RANDOM") else "X = 1\n"
    info = name + "-1.0.dist-info/"
    files = {
        name + "/__init__.py": body.encode(),
        info + "METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name).encode(),
        info + "WHEEL": b"Wheel-Version: 1.0\nGenerator: testbackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = []
    for p, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append("%s,sha256=%s,%d" % (p, digest, len(data)))
    lines.append(info + "RECORD,,")
    files[info + "RECORD"] = ("\n".join(lines) + "\n").encode()
    wheel = name + "-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for p, data in files.items():
            z.writestr(p, data)
    return wheel
"#;

/// An sdist `<name>-1.0.tar.gz` of a project built by the test backend;
/// `marker` (FAIL, RANDOM) changes how it behaves.
fn test_sdist(name: &str, marker: Option<&str>) -> (String, Vec<u8>) {
    let base = format!("{name}-1.0");
    let pyproject =
        "[build-system]\nrequires = []\nbuild-backend = \"testbackend\"\nbackend-path = [\".\"]\n";
    let pkg_info = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    let mut members: Vec<(String, Vec<u8>)> = vec![
        (format!("{base}/NAME"), format!("{name}\n").into_bytes()),
        (format!("{base}/PKG-INFO"), pkg_info.into_bytes()),
        (
            format!("{base}/pyproject.toml"),
            pyproject.as_bytes().to_vec(),
        ),
        (
            format!("{base}/testbackend.py"),
            BACKEND.as_bytes().to_vec(),
        ),
    ];
    if let Some(m) = marker {
        members.push((format!("{base}/{m}"), b"".to_vec()));
    }
    members.sort();
    let deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let mut w = TarGzWriter::new(Vec::new(), 1_700_000_000, deflate);
    for (path, data) in &members {
        w.add_file(path, data, false).unwrap();
    }
    (format!("{base}.tar.gz"), w.finish().unwrap())
}

/// A simple index of these sdists (one project each): PEP 503 HTML pages,
/// and PEP 691 JSON ones too with `json`.
fn serve(sdists: &[(String, Vec<u8>)], json: bool) -> (tempfile::TempDir, http::Server) {
    let root = tempfile::tempdir().unwrap();
    for (filename, bytes) in sdists {
        let project = filename.rsplit_once('-').unwrap().0;
        http::write_simple_index(
            root.path(),
            project,
            &[(filename.as_str(), bytes.as_slice())],
            json,
        );
    }
    let server = http::Server::start(root.path());
    (root, server)
}

fn requirement(filename: &str, bytes: &[u8]) -> String {
    let stem = filename.trim_end_matches(".tar.gz");
    let (name, version) = stem.rsplit_once('-').unwrap();
    format!(
        "{name}=={version} \\\n    --hash=sha256:{}\n",
        sha256(bytes)
    )
}

#[test]
fn offline_wheelhouse_has_pinned_bytes_and_verifies() {
    let sdists = [test_sdist("alpha", None), test_sdist("beta", None)];
    let (_index, server) = serve(&sdists, true);
    let index = server.url("/simple/");
    let reqs: String = sdists.iter().map(|(f, b)| requirement(f, b)).collect();
    let mut built = Vec::new();
    for (umask, depth) in [("022", "a"), ("077", "b/c/d")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(depth);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("requirements.in.txt"), &reqs).unwrap();
        let o = xtask(
            &dir,
            umask,
            &[
                "wheelhouse",
                "requirements.in.txt",
                "--out",
                "house",
                "--index",
                &index,
                "--json",
            ],
        );
        assert_eq!(code(&o), 0, "{}", common::text(&o));
        let report = common::report(&o);
        assert_eq!(report["command"], "wheelhouse");
        assert_eq!(report["wheels"].as_array().unwrap().len(), 2);
        assert!(
            report["wheels"]
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["reproducible"] == true)
        );
        let mut got = files(&dir.join("house"));
        assert!(got.remove("wheelhouse.intoto.jsonl").is_some());
        built.push((tmp, dir, got));
    }
    assert_eq!(
        built[0].2, built[1].2,
        "two runs gave different wheelhouses"
    );
    let got = &built[0].2;
    let names: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "alpha-1.0-py3-none-any.whl",
            "beta-1.0-py3-none-any.whl",
            "locks/alpha-1.0.lock.toml",
            "locks/beta-1.0.lock.toml",
            "requirements.txt",
            "sources.txt",
            "wheelhouse.distinfo"
        ]
    );
    let text = String::from_utf8(got["requirements.txt"].clone()).unwrap();
    assert!(text.contains(&format!(
        "alpha==1.0 \\\n    --hash=sha256:{}\n",
        sha256(&got["alpha-1.0-py3-none-any.whl"])
    )));
    // Fixed inputs (the sdists, the lock, the pins), fixed bytes.
    eprintln!(
        "wheel {}\nrequirements.txt {}\nSHA256SUMS {}",
        sha256(&got["alpha-1.0-py3-none-any.whl"]),
        sha256(&got["requirements.txt"]),
        sha256(&got["SHA256SUMS"])
    );
    assert_eq!(
        sha256(&got["alpha-1.0-py3-none-any.whl"]),
        ALPHA_WHEEL_SHA256
    );
    assert_eq!(sha256(&got["requirements.txt"]), REQUIREMENTS_SHA256);
    assert_eq!(sha256(&got["SHA256SUMS"]), SHA256SUMS_SHA256);

    // verify passes; then fails naming an altered wheel.
    let (_, dir, _) = &built[1];
    let house = dir.join("house");
    let o = xtask(
        dir,
        "022",
        &["verify", "--wheelhouse", "house", "--index", &index],
    );
    assert_eq!(code(&o), 0, "{}", common::text(&o));
    assert!(common::text(&o).contains("signed by this checkout's development key"));
    // Copies of it, each altered in one way, each failing verify naming why.
    let altered = |name: &str, change: &dyn Fn(&Path)| -> String {
        let copy = dir.join(name);
        let status = Command::new("cp")
            .arg("-R")
            .arg(&house)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success());
        change(&copy);
        let o = xtask(
            dir,
            "022",
            &["verify", "--wheelhouse", name, "--index", &index],
        );
        assert_eq!(code(&o), 1, "{name}: {}", common::text(&o));
        common::text(&o)
    };
    let text = altered("unsigned", &|d| {
        fs::remove_file(d.join("wheelhouse.intoto.jsonl")).unwrap()
    });
    assert!(text.contains("wheelhouse.intoto.jsonl: missing"), "{text}");
    let text = altered("added", &|d| {
        fs::copy(
            d.join("alpha-1.0-py3-none-any.whl"),
            d.join("evil-1.0-py3-none-any.whl"),
        )
        .unwrap();
    });
    assert!(
        text.contains("evil-1.0-py3-none-any.whl is not part of the rebuilt"),
        "{text}"
    );
    assert!(
        text.contains("evil-1.0-py3-none-any.whl is not among the signed subjects"),
        "{text}"
    );
    let text = altered("resourced", &|d| {
        let sources = fs::read_to_string(d.join("sources.txt")).unwrap();
        let at = sources.find("--hash=sha256:").unwrap() + "--hash=sha256:".len();
        let changed = format!("{}{}", &sources[..at], "0".repeat(64)) + &sources[at + 64..];
        fs::write(d.join("sources.txt"), changed).unwrap();
    });
    assert!(
        text.contains("alpha==1.0") && text.contains("hash mismatch"),
        "{text}"
    );
    let wheel = house.join("beta-1.0-py3-none-any.whl");
    let mut bytes = fs::read(&wheel).unwrap();
    let last = bytes.len() - 30;
    bytes[last] ^= 1;
    fs::write(&wheel, bytes).unwrap();
    let o = xtask(
        dir,
        "022",
        &[
            "verify",
            "--wheelhouse",
            "house",
            "--index",
            &index,
            "--json",
        ],
    );
    assert_eq!(code(&o), 1, "{}", common::text(&o));
    let report = common::report(&o);
    assert_eq!(report["verified"], false);
    assert_eq!(
        report["differences"][0]["file"],
        "beta-1.0-py3-none-any.whl"
    );
    assert!(common::text(&o).contains("subject beta-1.0-py3-none-any.whl has sha256"));
    let o = xtask(
        dir,
        "022",
        &["verify", "--wheelhouse", "house", "--index", &index],
    );
    assert_eq!(code(&o), 1, "{}", common::text(&o));
    assert!(
        common::text(&o).contains("beta-1.0-py3-none-any.whl:\n"),
        "the differing wheel is explained: {}",
        common::text(&o)
    );
}

const ALPHA_WHEEL_SHA256: &str = "04920af1d1cde2c0810b147e09f0fc107b0e0ff92ab5f1ec10b0e17fc3af67ee";
const REQUIREMENTS_SHA256: &str =
    "a7f71ca2107030f4b91d9138a6f962779da5f221964a8e8b98881a7f7a36bc46";
const SHA256SUMS_SHA256: &str = "999f418b49c7c6dbd6e7b4aa1ba05fa0bdd692ba0647b2665a29c8327ae228e0";

#[test]
fn a_wheel_that_varies_is_named_with_its_member_and_nothing_is_written() {
    let sdists = [
        test_sdist("steady", None),
        test_sdist("flaky", Some("RANDOM")),
    ];
    let (_index, server) = serve(&sdists, true);
    let tmp = tempfile::tempdir().unwrap();
    let reqs: String = sdists.iter().map(|(f, b)| requirement(f, b)).collect();
    fs::write(tmp.path().join("r.txt"), reqs).unwrap();
    let o = xtask(
        tmp.path(),
        "022",
        &[
            "wheelhouse",
            "r.txt",
            "--out",
            "house",
            "--index",
            &server.url("/simple/"),
            "--no-sign",
        ],
    );
    let text = common::text(&o);
    assert_eq!(code(&o), 1, "{text}");
    assert!(
        text.contains("steady-1.0-py3-none-any.whl") && text.contains("reproducible"),
        "{text}"
    );
    assert!(
        text.contains("flaky-1.0-py3-none-any.whl") && text.contains("NOT reproducible"),
        "{text}"
    );
    assert!(
        text.contains("flaky/__init__.py"),
        "the varying member is named: {text}"
    );
    assert!(!tmp.path().join("house").exists());
    no_debris(tmp.path());
}

#[test]
fn bad_input_names_the_requirement_and_leaves_dir_as_it_was() {
    let good = test_sdist("good", None);
    let broken = test_sdist("broken", Some("FAIL"));
    let (_index, server) = serve(&[good.clone(), broken.clone()], true);
    let index = server.url("/simple/");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // A previous wheelhouse, which every failure below must leave alone.
    fs::write(t.join("good.txt"), requirement(&good.0, &good.1)).unwrap();
    let o = xtask(
        t,
        "022",
        &[
            "wheelhouse",
            "good.txt",
            "--out",
            "house",
            "--index",
            &index,
        ],
    );
    assert_eq!(code(&o), 0, "{}", common::text(&o));
    let before = files(&t.join("house"));
    // A directory that is not a wheelhouse is never replaced.
    fs::create_dir(t.join("mine")).unwrap();
    fs::write(t.join("mine/notes.txt"), "keep me").unwrap();
    let o = xtask(
        t,
        "022",
        &["wheelhouse", "good.txt", "--out", "mine", "--index", &index],
    );
    assert_eq!(code(&o), 2, "{}", common::text(&o));
    assert!(common::text(&o).contains("not a wheelhouse"));
    assert_eq!(
        fs::read_to_string(t.join("mine/notes.txt")).unwrap(),
        "keep me"
    );

    let run = |reqs: &str| {
        fs::write(t.join("r.txt"), reqs).unwrap();
        let o = xtask(
            t,
            "022",
            &[
                "wheelhouse",
                "r.txt",
                "--out",
                "house",
                "--index",
                &index,
                "--json",
            ],
        );
        assert_eq!(
            files(&t.join("house")),
            before,
            "DIR changed: {}",
            common::text(&o)
        );
        no_debris(t);
        o
    };
    // Unhashed.
    let o = run(&format!("{}broken==1.0\n", requirement(&good.0, &good.1)));
    let text = common::text(&o);
    assert_eq!(code(&o), 2, "{text}");
    assert!(
        text.contains("r.txt:3") && text.contains("broken has no --hash"),
        "{text}"
    );
    assert_eq!(common::report(&o)["error"]["kind"], "bad-input");
    // The index states another sha256 than the requirement pins.
    let wrong = "0".repeat(64);
    let o = run(&format!("good==1.0 --hash=sha256:{wrong}\n"));
    let text = common::text(&o);
    assert_eq!(code(&o), 1, "{text}");
    assert!(
        text.contains("good==1.0") && text.contains("hash mismatch"),
        "{text}"
    );
    // The index agrees, the bytes served do not.
    server.set(
        &format!("/files/{}", good.0),
        http::Override::Body {
            status: 200,
            content_type: "application/octet-stream".into(),
            body: test_sdist("good", Some("EXTRA")).1,
        },
    );
    let o = run(&requirement(&good.0, &good.1));
    let text = common::text(&o);
    assert_eq!(code(&o), 1, "{text}");
    assert!(
        text.contains("good==1.0 (r.txt:1)") && text.contains("hash mismatch"),
        "{text}"
    );
    assert!(text.contains(&good.0), "{text}");
    // An sdist that does not build.
    let o = run(&requirement(&broken.0, &broken.1));
    let text = common::text(&o);
    assert_eq!(code(&o), 2, "{text}");
    assert!(
        text.contains("broken==1.0 (r.txt:1)") && text.contains("does not build"),
        "{text}"
    );
    assert!(
        text.contains("on purpose"),
        "the backend's output is shown: {text}"
    );
}

// ---- Five real sdists of the corpus (network: locks resolve on PyPI) ----

const CORPUS: &[(&str, &str)] = &[
    ("certifi", "certifi"),
    ("click", "click"),
    ("idna", "idna"),
    ("packaging", "packaging"),
    ("six", "six"),
];

fn corpus_cache() -> Cache {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = var("KILN_CORPUS_CACHE")
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kiln-corpus"));
    Cache::new(dir).trusting(var("SSL_CERT_FILE"))
}

#[test]
fn corpus_wheelhouse_reproduces_installs_and_verifies() {
    let manifest = Manifest::committed().unwrap();
    let cache = corpus_cache();
    let mut sdists = Vec::new();
    let mut reqs = String::from("# five real releases, pinned by their sdists' sha256\n");
    for (project, _) in CORPUS {
        let file = manifest.get(project, Kind::Sdist).unwrap();
        let bytes = cache.read(file).unwrap();
        reqs.push_str(&format!(
            "{}=={} --hash=sha256:{}\n",
            file.project, file.version, file.sha256
        ));
        sdists.push((file.filename.clone(), bytes));
    }
    let (_index, server) = serve(&sdists, false);
    let index = server.url("/simple/");
    let mut runs = Vec::new();
    for (umask, depth) in [("022", "one"), ("077", "two/deeper")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(depth);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("requirements.txt"), &reqs).unwrap();
        let o = xtask(
            &dir,
            umask,
            &[
                "wheelhouse",
                "requirements.txt",
                "--out",
                "wh",
                "--index",
                &index,
            ],
        );
        assert_eq!(code(&o), 0, "{}", common::text(&o));
        eprintln!("{}", String::from_utf8_lossy(&o.stderr));
        let mut got = files(&dir.join("wh"));
        got.remove("wheelhouse.intoto.jsonl").unwrap();
        runs.push((tmp, dir, got));
    }
    assert_eq!(runs[0].2, runs[1].2, "two runs gave different wheelhouses");
    let wheels = runs[0].2.keys().filter(|n| n.ends_with(".whl")).count();
    assert_eq!(wheels, CORPUS.len());
    let (_, dir, _) = &runs[0];
    let house = dir.join("wh");

    if let Some(python) = common::python("pip install --require-hashes of the wheelhouse") {
        let venv = dir.join("venv");
        let status = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(status.success());
        let mut pip = Command::new(venv.join("bin/python"));
        pip.args(["-m", "pip", "install", "--no-index", "--find-links"])
            .arg(&house)
            .args(["--require-hashes", "-r"])
            .arg(house.join("requirements.txt"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PIP_") {
                pip.env_remove(key);
            }
        }
        let o = pip.output().unwrap();
        assert!(
            o.status.success(),
            "pip install failed: {}",
            common::text(&o)
        );
        let modules: Vec<&str> = CORPUS.iter().map(|(_, m)| *m).collect();
        let o = Command::new(venv.join("bin/python"))
            .args(["-c", &format!("import {}", modules.join(", "))])
            .output()
            .unwrap();
        assert!(o.status.success(), "import failed: {}", common::text(&o));
    }

    let o = xtask(
        dir,
        "022",
        &["verify", "--wheelhouse", "wh", "--index", &index],
    );
    assert_eq!(code(&o), 0, "{}", common::text(&o));
    // requirements.txt swapped for one that names another hash.
    let reqs_path = house.join("requirements.txt");
    let original = fs::read_to_string(&reqs_path).unwrap();
    let at = original.find("--hash=sha256:").unwrap() + "--hash=sha256:".len() + 63;
    let mut altered = original.into_bytes();
    altered[at] = if altered[at] == b'0' { b'1' } else { b'0' };
    fs::write(&reqs_path, &altered).unwrap();
    let o = xtask(
        dir,
        "022",
        &["verify", "--wheelhouse", "wh", "--index", &index],
    );
    let text = common::text(&o);
    assert_eq!(code(&o), 1, "{text}");
    assert!(text.contains("requirements.txt differs"), "{text}");
    assert!(
        text.contains("subject requirements.txt has sha256"),
        "{text}"
    );
}

#[test]
fn constraints_pin_what_every_lock_resolves() {
    let manifest = Manifest::committed().unwrap();
    let file = manifest.get("six", Kind::Sdist).unwrap();
    let bytes = corpus_cache().read(file).unwrap();
    let (_index, server) = serve(&[(file.filename.clone(), bytes)], false);
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("r.txt"),
        format!("six==1.17.0 --hash=sha256:{}\n", file.sha256),
    )
    .unwrap();
    // The backend six 1.17.0 was published with (its wheel's Generator).
    fs::write(t.join("c.txt"), "setuptools==75.6.0\n").unwrap();
    let index = server.url("/simple/");
    let args = [
        "wheelhouse",
        "r.txt",
        "--out",
        "wh",
        "--index",
        &index,
        "--no-sign",
    ];
    let o = xtask(
        t,
        "022",
        &[&args[..], &["--constraints", "missing.txt"]].concat(),
    );
    assert_eq!(code(&o), 2, "{}", common::text(&o));
    assert!(common::text(&o).contains("--constraints missing.txt: no such file"));
    let o = xtask(t, "022", &[&args[..], &["--constraints", "c.txt"]].concat());
    assert_eq!(code(&o), 0, "{}", common::text(&o));
    let lock = fs::read_to_string(t.join("wh/locks/six-1.17.0.lock.toml")).unwrap();
    assert!(
        lock.contains("name = \"setuptools\"\nversion = \"75.6.0\""),
        "{lock}"
    );
}

#[test]
fn build_requirements_are_locked_as_of_the_sdists_upload() {
    let manifest = Manifest::committed().unwrap();
    let file = manifest.get("six", Kind::Sdist).unwrap();
    let bytes = corpus_cache().read(file).unwrap();
    let (index, server) = serve(&[(file.filename.clone(), bytes)], true);
    // The index states when six 1.17.0 was uploaded, and when two releases
    // of its backend were: only the one before it may be used.
    let page = index.path().join("simple/six/index.json");
    let mut six: serde_json::Value = serde_json::from_slice(&fs::read(&page).unwrap()).unwrap();
    six["files"][0]["upload-time"] = "2024-12-04T10:00:00.000000Z".into();
    fs::write(&page, serde_json::to_vec(&six).unwrap()).unwrap();
    let setuptools = index.path().join("simple/setuptools");
    fs::create_dir_all(&setuptools).unwrap();
    let entry = |name: &str, time: &str| {
        serde_json::json!({
            "filename": name, "url": format!("../../files/{name}"),
            "hashes": {"sha256": "00".repeat(32)}, "upload-time": time,
        })
    };
    let listing = serde_json::json!({
        "meta": {"api-version": "1.1"}, "name": "setuptools",
        "files": [
            entry("setuptools-75.6.0-py3-none-any.whl", "2024-11-20T00:00:00Z"),
            entry("setuptools-80.9.0-py3-none-any.whl", "2025-05-27T00:00:00Z"),
        ],
    });
    fs::write(
        setuptools.join("index.json"),
        serde_json::to_vec(&listing).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("r.txt"),
        format!("six==1.17.0 --hash=sha256:{}\n", file.sha256),
    )
    .unwrap();
    let index_url = server.url("/simple/");
    let o = xtask(
        t,
        "022",
        &[
            "wheelhouse",
            "r.txt",
            "--out",
            "wh",
            "--index",
            &index_url,
            "--no-sign",
        ],
    );
    assert_eq!(code(&o), 0, "{}", common::text(&o));
    assert!(
        common::text(&o).contains("setuptools<=75.6.0"),
        "{}",
        common::text(&o)
    );
    let lock = fs::read_to_string(t.join("wh/locks/six-1.17.0.lock.toml")).unwrap();
    assert!(
        lock.contains("name = \"setuptools\"\nversion = \"75.6.0\""),
        "{lock}"
    );
}
