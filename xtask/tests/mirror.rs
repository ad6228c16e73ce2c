//! `mirror` and `serve` end to end, through the real binary: pip installs
//! from the mirror over a real 127.0.0.1 server with `--require-hashes`
//! (and from a `file://` URL of the static tree), prefers the build-tagged
//! recompressed wheel, and reads its PEP 658 `.metadata` before the wheel;
//! the recompressed wheel installs to the same tree as the publisher's
//! (RECORD and WHEEL aside); the pages are byte-identical across runs
//! under another umask, path, directory order and thread count, and
//! pinned; adding a release rewrites only its pages and the root; a
//! tampered file (against SHA256SUMS, or against the `#sha256=` of an
//! upstream URL on a real server) and a wheel whose RECORD lies are
//! refused with exit 1, naming the file and the member, leaving nothing
//! in the mirror.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;
#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use kiln_archive::{ArchiveWriter, Deflate, ZipWriter};
use kiln_corpus::{Cache, Kind, Manifest};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const SIX: &str = "six-1.17.0-py2.py3-none-any.whl";
const SIX_TAGGED: &str = "six-1.17.0-1-py2.py3-none-any.whl";

fn corpus_wheel(project: &str) -> PathBuf {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = var("KILN_CORPUS_CACHE")
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kiln-corpus"));
    let manifest = Manifest::committed().unwrap();
    Cache::new(dir)
        .trusting(var("SSL_CERT_FILE"))
        .path(manifest.get(project, Kind::Wheel).unwrap())
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    kiln_digest::hex(&kiln_digest::sha256(bytes))
}

/// A wheelhouse in `dir` holding copies of `wheels`, with its SHA256SUMS.
fn wheelhouse(dir: &Path, wheels: &[PathBuf]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut sums = String::new();
    for wheel in wheels {
        let name = wheel.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(wheel).unwrap();
        std::fs::write(dir.join(name), &bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
    }
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

/// `xtask ARGS` under `umask` with `threads` rayon threads.
fn xtask(dir: &Path, umask: &str, threads: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn mirror(dir: &Path, args: &[&str]) -> Output {
    xtask(dir, "022", "2", &[&["mirror"], args].concat())
}

/// Every file under `root`, relative, with its bytes.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read(entry.path()).unwrap()));
        }
    }
    out
}

#[test]
fn pages_are_a_pure_function_of_the_files_and_pinned() {
    let six = corpus_wheel("six");
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("deeper/path/b");
    // The same inputs, written in another order, with other mtimes, under
    // another absolute path.
    let tuf = corpus_wheel("tuf");
    wheelhouse(&a.join("wh"), &[six.clone(), tuf.clone()]);
    wheelhouse(&b.join("wh"), &[tuf.clone(), six.clone()]);
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for entry in walkdir::WalkDir::new(b.join("wh")).min_depth(1) {
        let entry = entry.unwrap();
        let file = std::fs::File::options()
            .write(true)
            .open(entry.path())
            .unwrap();
        file.set_modified(old).unwrap();
    }
    let six_a = six.to_str().unwrap();
    let first = xtask(
        &a,
        "022",
        "1",
        &[
            "mirror",
            "--out",
            "m",
            "--wheelhouse",
            "wh",
            "--recompress",
            six_a,
        ],
    );
    assert!(first.status.success(), "{}", common::text(&first));
    let second = xtask(
        &b,
        "077",
        "2",
        &[
            "mirror",
            "--out",
            "m",
            "--recompress",
            six_a,
            "--wheelhouse",
            "wh",
        ],
    );
    assert!(second.status.success(), "{}", common::text(&second));
    let (ta, tb) = (tree(&a.join("m")), tree(&b.join("m")));
    assert_eq!(
        ta.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        tb.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{path} differs between the two runs");
    }
    let pinned = |path: &str| {
        let bytes = &ta.iter().find(|(p, _)| p == path).unwrap().1;
        sha256_hex(bytes)
    };
    assert_eq!(
        pinned(&format!("files/{SIX_TAGGED}")),
        "a3b07f3d3601308d416a1294dbc7d6ea21bb82a6eb2608b965a13355450a73c7"
    );
    assert_eq!(
        pinned("simple/six/index.html"),
        "5ef73585b05b5ca03023a6be55d79a5ac9b25c5fc450a41d9e438ca4820d6d15"
    );
    assert_eq!(
        pinned("simple/six/index.json"),
        "da8b30448def95ea6c0990b67ecac4c7e374ea121c8d13fd19af34ff29aad2ed"
    );
    assert_eq!(
        pinned(&format!("files/{SIX_TAGGED}.metadata")),
        "562042078c2752549f6d8a7c86dbc5dd708088a7be6d80672ec7b07100b72468"
    );
    assert_eq!(
        pinned("simple/tuf/index.json"),
        "95976127a641c38f6277e95f143c407e88dae0343def610d53bae6f0c2e72fe1"
    );
    assert_eq!(
        pinned("simple/index.json"),
        "02b7d6c6cf189eb20f02d1bf9aef8e099e7918846c5ea93a9434780d88438262"
    );

    // Adding a release rewrites that project's pages and the root only.
    let idna = corpus_wheel("idna");
    wheelhouse(&a.join("wh2"), &[idna]);
    let added = xtask(
        &a,
        "022",
        "2",
        &["mirror", "--out", "m", "--wheelhouse", "wh2", "--json"],
    );
    assert!(added.status.success(), "{}", common::text(&added));
    let report = common::report(&added);
    assert_eq!(
        report["pages_written"],
        serde_json::json!([
            "simple/idna/index.html",
            "simple/idna/index.json",
            "simple/index.html",
            "simple/index.json"
        ])
    );
    // And the same inputs again change nothing.
    let again = xtask(
        &a,
        "022",
        "2",
        &["mirror", "--out", "m", "--wheelhouse", "wh2", "--json"],
    );
    assert_eq!(
        common::report(&again)["pages_written"],
        serde_json::json!([])
    );
}

/// A wheel whose RECORD gives `pkg/__init__.py` the wrong digest.
fn lying_wheel(path: &Path) {
    let mut zip = ZipWriter::new(
        Vec::new(),
        315_532_800,
        Deflate {
            level: 6,
            gzip_chunk_size: 1 << 20,
            solid_below: 128 << 10,
            solid_level: 5,
        },
    )
    .unwrap();
    let init = b"x = 1\n";
    let metadata = b"Metadata-Version: 2.1\nName: liar\nVersion: 1.0\n";
    let wheel = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let row = |p: &str, d: &[u8]| {
        format!(
            "{p},sha256={},{}\n",
            kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(d)),
            d.len()
        )
    };
    let record = format!(
        "{}{}{}liar-1.0.dist-info/RECORD,,\n",
        row("liar/__init__.py", b"x = 2\n"),
        row("liar-1.0.dist-info/METADATA", metadata),
        row("liar-1.0.dist-info/WHEEL", wheel),
    );
    zip.add_file("liar/__init__.py", init, false).unwrap();
    zip.add_file("liar-1.0.dist-info/METADATA", metadata, false)
        .unwrap();
    zip.add_file("liar-1.0.dist-info/WHEEL", wheel, false)
        .unwrap();
    zip.add_file("liar-1.0.dist-info/RECORD", record.as_bytes(), false)
        .unwrap();
    std::fs::write(path, zip.finish().unwrap()).unwrap();
}

#[test]
fn tampered_files_and_lying_records_are_refused_leaving_nothing() {
    let six = corpus_wheel("six");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // A wheelhouse file that is not what its SHA256SUMS says.
    wheelhouse(&dir.join("wh"), std::slice::from_ref(&six));
    let mut bytes = std::fs::read(dir.join("wh").join(SIX)).unwrap();
    let last = bytes.len() - 30;
    bytes[last] ^= 1;
    std::fs::write(dir.join("wh").join(SIX), &bytes).unwrap();
    let out = mirror(dir, &["--out", "m", "--wheelhouse", "wh"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(common::text(&out).contains(SIX), "{}", common::text(&out));
    assert!(!dir.join("m/files").exists() || tree(&dir.join("m")).is_empty());

    // An upstream URL whose bytes disagree with its #sha256=, served for real.
    let served = dir.join("upstream");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join(SIX), &bytes).unwrap();
    let server = http::Server::start(&served);
    let url = format!(
        "{}#sha256={}",
        server.url(&format!("/{SIX}")),
        sha256_hex(&std::fs::read(&six).unwrap())
    );
    let out = mirror(dir, &["--out", "m", "--recompress", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("refusing it unopened"),
        "{}",
        common::text(&out)
    );

    // A wheel whose RECORD lies about a member.
    let liar = dir.join("liar-1.0-py3-none-any.whl");
    lying_wheel(&liar);
    let out = mirror(dir, &["--out", "m", "--recompress", liar.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("liar/__init__.py"),
        "{}",
        common::text(&out)
    );
    assert!(!dir.join("m/files").exists() || tree(&dir.join("m")).is_empty());

    // A build tag that is no build tag is bad input.
    let out = mirror(
        dir,
        &[
            "--out",
            "m",
            "--recompress",
            six.to_str().unwrap(),
            "--build-tag",
            "x1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
}

/// `serve DIR --port 0` in the background, its stderr collected.
struct Serving {
    child: std::process::Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serving {
    fn start(dir: &Path) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["serve", dir.to_str().unwrap(), "--port", "0"])
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first.split(" at ").nth(1).unwrap().trim().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Serving { child, url, log }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pip(python: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .args([
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--isolated",
        ])
        .args(args)
        .output()
        .unwrap()
}

/// The installed files (their executable bit in the name), dist-info's RECORD, WHEEL and the installers' own
/// files aside (WHEEL differs by its `Build:` line, by design; uv adds
/// `uv_cache.json` with times in it).
fn installed(root: &Path) -> Vec<(String, Vec<u8>)> {
    tree(root)
        .into_iter()
        .filter(|(p, _)| {
            let installer_own = [
                "RECORD",
                "WHEEL",
                "INSTALLER",
                "REQUESTED",
                "direct_url.json",
                "uv_cache.json",
            ];
            let own = p.contains(".dist-info/")
                && installer_own.iter().any(|f| p.ends_with(&format!("/{f}")));
            !own && !p.contains("__pycache__")
        })
        .map(|(p, bytes)| {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(root.join(&p))
                .unwrap()
                .permissions()
                .mode();
            let p = if mode & 0o111 != 0 {
                format!("{p} (executable)")
            } else {
                p
            };
            (p, bytes)
        })
        .collect()
}

#[test]
fn pip_installs_the_build_tagged_wheel_from_the_served_mirror() {
    let Some(python) = common::python("pip install from the mirror") else {
        return;
    };
    let six = corpus_wheel("six");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wheelhouse(&dir.join("wh"), std::slice::from_ref(&six));
    let out = mirror(
        dir,
        &[
            "--out",
            "m",
            "--wheelhouse",
            "wh",
            "--recompress",
            six.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let report = common::report(&out);
    let files = report["files"].as_array().unwrap();
    let tagged = files.iter().find(|f| f["filename"] == SIX_TAGGED).unwrap();
    let original = sha256_hex(&std::fs::read(&six).unwrap());
    assert_eq!(tagged["original"]["sha256"], original.as_str());
    let requirements = dir.join("requirements.txt");
    std::fs::write(
        &requirements,
        format!(
            "six==1.17.0 --hash=sha256:{original} --hash=sha256:{}\n",
            tagged["sha256"].as_str().unwrap()
        ),
    )
    .unwrap();

    let server = Serving::start(&dir.join("m"));
    let target = dir.join("from-http");
    let out = pip(
        &python,
        &[
            "install",
            "--index-url",
            &server.url,
            "--require-hashes",
            "-r",
            requirements.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let tagged_only = |log: &[String]| {
        let at = |suffix: &str| {
            log.iter()
                .position(|l| l.starts_with(&format!("GET /files/{suffix} 200")))
        };
        assert!(
            at(SIX_TAGGED).is_some(),
            "pip did not fetch the tagged wheel:\n{}",
            log.join("\n")
        );
        assert!(
            at(SIX).is_none(),
            "pip fetched the untagged wheel:\n{}",
            log.join("\n")
        );
        (at(&format!("{SIX_TAGGED}.metadata")), at(SIX_TAGGED))
    };
    tagged_only(&server.log.lock().unwrap().clone());
    // pip reads PEP 658 metadata only when it does not check hashes.
    server.log.lock().unwrap().clear();
    let resolved = dir.join("resolved");
    let out = pip(
        &python,
        &[
            "install",
            "--index-url",
            &server.url,
            "--target",
            resolved.to_str().unwrap(),
            "six==1.17.0",
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let log = server.log.lock().unwrap().clone();
    let (metadata, wheel) = tagged_only(&log);
    assert!(
        metadata.is_some() && metadata < wheel,
        "expected the .metadata before the wheel:\n{}",
        log.join("\n")
    );
    drop(server);

    // The static tree through file://, and the publisher's wheel itself.
    let from_file = dir.join("from-file");
    let index = format!("file://{}/", dir.join("m/simple").display());
    let out = pip(
        &python,
        &[
            "install",
            "--index-url",
            &index,
            "--require-hashes",
            "-r",
            requirements.to_str().unwrap(),
            "--target",
            from_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let from_original = dir.join("from-original");
    let out = pip(
        &python,
        &[
            "install",
            "--no-index",
            "--no-deps",
            "--target",
            from_original.to_str().unwrap(),
            six.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let wheel_file =
        |root: &Path| std::fs::read_to_string(root.join("six-1.17.0.dist-info/WHEEL")).unwrap();
    assert!(
        wheel_file(&target).contains("Build: 1"),
        "pip did not install the tagged wheel"
    );
    assert!(!wheel_file(&from_original).contains("Build:"));
    assert_eq!(installed(&target), installed(&from_original));
    assert_eq!(installed(&from_file), installed(&from_original));
}

/// uv beside the test Python (`xtask/python/requirements.txt` installs
/// it); without it the uv half skips, unless `KILN_REQUIRE_PYTHON` is set.
fn uv(python: &Path) -> Option<PathBuf> {
    let uv = python.parent().unwrap().join("uv");
    if uv.is_file() {
        return Some(uv);
    }
    assert!(
        std::env::var_os("KILN_REQUIRE_PYTHON").is_none(),
        "no uv beside {}: install xtask/python/requirements.txt",
        python.display()
    );
    eprintln!("skipping the uv half: no uv beside {}", python.display());
    None
}

/// `uv pip install` of one wheel file into `target`, for `python`
/// (another Python version for a wheel built for it).
fn uv_install(
    uv: &Path,
    python: &Path,
    wheel: &Path,
    target: &Path,
    version: Option<&str>,
) -> Output {
    let mut cmd = Command::new(uv);
    cmd.args([
        "pip",
        "install",
        "--no-deps",
        "--offline",
        "--no-cache",
        "--python",
    ])
    .arg(python)
    .arg("--target")
    .arg(target);
    if let Some(version) = version {
        cmd.args([
            "--python-version",
            version,
            "--python-platform",
            "x86_64-manylinux_2_28",
        ]);
    }
    cmd.arg(wheel).env("UV_NO_PROGRESS", "1").output().unwrap()
}

fn pip_install(python: &Path, wheel: &Path, target: &Path, version: Option<&str>) -> Output {
    let target = target.to_str().unwrap();
    let mut args = vec!["install", "--no-deps", "--no-index", "--target", target];
    if let Some(version) = version {
        args.extend(["--python-version", version, "--only-binary=:all:"]);
        args.extend([
            "--platform",
            "manylinux_2_28_x86_64",
            "--implementation",
            "cp",
        ]);
    }
    args.push(wheel.to_str().unwrap());
    pip(python, &args)
}

#[test]
fn recompressed_corpus_wheels_are_smaller_and_install_the_same_files() {
    let manifest = Manifest::committed().unwrap();
    let wheels: Vec<PathBuf> = manifest
        .files(Kind::Wheel)
        .iter()
        .map(|f| corpus_wheel(&f.project))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut args = vec!["--out", "m", "--json"];
    for wheel in &wheels {
        args.extend(["--recompress", wheel.to_str().unwrap()]);
    }
    let started = std::time::Instant::now();
    let out = mirror(dir, &args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", common::text(&out));
    let report = common::report(&out);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), wheels.len());
    let (mut before, mut after, mut inflated) = (0u64, 0u64, 0u64);
    eprintln!(
        "{:<60} {:>10} {:>10} {:>8} {:>6}",
        "wheel", "publisher", "mirror", "saved", "%"
    );
    for file in files {
        let old = file["original"]["size"].as_u64().unwrap();
        let new = file["size"].as_u64().unwrap();
        let name = file["original"]["filename"].as_str().unwrap();
        eprintln!(
            "{name:<60} {old:>10} {new:>10} {:>8} {:>5.1}%",
            old as i64 - new as i64,
            100.0 * (old as f64 - new as f64) / old as f64
        );
        assert!(
            new < old,
            "{name}: the recompressed wheel is not smaller ({new} >= {old})"
        );
        let archive = kiln_archive::read_zip(
            name,
            &std::fs::read(wheels.iter().find(|w| w.ends_with(name)).unwrap()).unwrap(),
            &kiln_archive::Limits::default(),
        )
        .unwrap();
        inflated += archive
            .members
            .iter()
            .map(|m| m.data.len() as u64)
            .sum::<u64>();
        before += old;
        after += new;
    }
    eprintln!(
        "{:<60} {before:>10} {after:>10} {:>8} {:>5.1}%",
        "total",
        before - after,
        100.0 * (before - after) as f64 / before as f64
    );
    eprintln!(
        "{seconds:.1} s for {:.2} MB of wheels ({:.2} MB inflated): {:.1} s per MB of wheel, {:.1} s per MB inflated",
        before as f64 / 1e6,
        inflated as f64 / 1e6,
        seconds / (before as f64 / 1e6),
        seconds / (inflated as f64 / 1e6)
    );

    let Some(python) = common::python("installing the recompressed corpus wheels") else {
        return;
    };
    let uv = uv(&python);
    for file in files {
        let name = file["original"]["filename"].as_str().unwrap();
        let original = wheels.iter().find(|w| w.ends_with(name)).unwrap();
        let recompressed = dir.join("m/files").join(file["filename"].as_str().unwrap());
        // The one compiled wheel of the corpus is for CPython 3.12.
        let version = name.contains("-cp312-").then_some("3.12");
        for (tool, install) in [
            (
                "pip",
                &(|w: &Path, t: &Path| pip_install(&python, w, t, version))
                    as &dyn Fn(&Path, &Path) -> Output,
            ),
            ("uv", &|w: &Path, t: &Path| {
                uv_install(uv.as_deref().unwrap(), &python, w, t, version)
            }),
        ] {
            if tool == "uv" && uv.is_none() {
                continue;
            }
            let (a, b) = (
                dir.join(format!("{tool}-a-{name}")),
                dir.join(format!("{tool}-b-{name}")),
            );
            for (wheel, target) in [(original.as_path(), &a), (recompressed.as_path(), &b)] {
                let out = install(wheel, target);
                assert!(
                    out.status.success(),
                    "{tool} install {}: {}",
                    wheel.display(),
                    common::text(&out)
                );
            }
            let (x, y) = (installed(&a), installed(&b));
            assert!(!x.is_empty());
            assert_eq!(
                x.iter().map(|(p, _)| p).collect::<Vec<_>>(),
                y.iter().map(|(p, _)| p).collect::<Vec<_>>(),
                "{tool}: {name} installs other files recompressed"
            );
            assert!(x == y, "{tool}: {name} installs other bytes recompressed");
        }
    }
}

#[test]
fn uv_installs_the_build_tagged_wheel_from_the_served_mirror() {
    let Some(python) = common::python("uv pip install from the mirror") else {
        return;
    };
    let Some(uv) = uv(&python) else {
        return;
    };
    let six = corpus_wheel("six");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wheelhouse(&dir.join("wh"), std::slice::from_ref(&six));
    let out = mirror(
        dir,
        &[
            "--out",
            "m",
            "--wheelhouse",
            "wh",
            "--recompress",
            six.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let server = Serving::start(&dir.join("m"));
    let target = dir.join("t");
    let out = Command::new(&uv)
        .args(["pip", "install", "--no-cache", "--python"])
        .arg(&python)
        .args(["--index-url", &server.url, "--target"])
        .arg(&target)
        .arg("six==1.17.0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with(&format!("GET /files/{SIX_TAGGED} 200"))),
        "uv did not fetch the tagged wheel:\n{}",
        log.join("\n")
    );
    assert!(
        !log.iter()
            .any(|l| l.starts_with(&format!("GET /files/{SIX} ")))
    );
    let wheel = std::fs::read_to_string(target.join("six-1.17.0.dist-info/WHEEL")).unwrap();
    assert!(wheel.contains("Build: 1"));

    // With --require-hashes too, the tagged wheel's hash is what uv checks.
    let tagged = sha256_hex(&std::fs::read(dir.join("m/files").join(SIX_TAGGED)).unwrap());
    let requirements = dir.join("requirements.txt");
    std::fs::write(
        &requirements,
        format!("six==1.17.0 --hash=sha256:{tagged}\n"),
    )
    .unwrap();
    let hashed = dir.join("hashed");
    let out = Command::new(&uv)
        .args([
            "pip",
            "install",
            "--no-cache",
            "--require-hashes",
            "--python",
        ])
        .arg(&python)
        .args(["--index-url", &server.url, "--target"])
        .arg(&hashed)
        .arg("-r")
        .arg(&requirements)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(installed(&hashed), installed(&target));
}

const UPSTREAM_TIME: &str = "2024-05-06T07:08:09.123456Z";

/// An upstream index in `dir`: `project`'s page listing `files` (name,
/// bytes, stated sha256, yanked; all uploaded at `UPSTREAM_TIME`), served
/// as JSON (and HTML).
fn upstream_project(dir: &Path, project: &str, files: &[(&str, &[u8], String, bool)]) {
    let page = kiln_index::ProjectPage {
        name: project.into(),
        versions: Vec::new(),
        files: files
            .iter()
            .map(|(name, bytes, sha256, yanked)| {
                std::fs::create_dir_all(dir.join("files")).unwrap();
                std::fs::write(dir.join("files").join(name), bytes).unwrap();
                kiln_index::PageFile {
                    filename: name.to_string(),
                    href: kiln_index::files_href(name),
                    sha256: sha256.clone(),
                    size: bytes.len() as u64,
                    requires_python: None,
                    core_metadata_sha256: None,
                    upload_time: Some(UPSTREAM_TIME.into()),
                    yanked: if *yanked {
                        kiln_index::Yank::Yes("broken".into())
                    } else {
                        kiln_index::Yank::No
                    },
                }
            })
            .collect(),
    };
    let at = dir.join("simple").join(project);
    std::fs::create_dir_all(&at).unwrap();
    std::fs::write(at.join("index.json"), kiln_index::project_json(&page)).unwrap();
    std::fs::write(at.join("index.html"), kiln_index::project_html(&page)).unwrap();
}

#[test]
fn recompressing_from_an_index_keeps_yanking_shadows_and_checks_hashes_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let up = dir.join("upstream");
    let six = std::fs::read(corpus_wheel("six")).unwrap();
    let tuf = std::fs::read(corpus_wheel("tuf")).unwrap();
    let tuf_name = "tuf-7.0.1-py3-none-any.whl";
    // six: upstream publishes the build-tagged name itself (the shadow rule).
    upstream_project(
        &up,
        "six",
        &[
            (SIX, &six, sha256_hex(&six), false),
            (SIX_TAGGED, &six, sha256_hex(&six), false),
        ],
    );
    // tuf: yanked upstream, so yanked in the mirror.
    upstream_project(&up, "tuf", &[(tuf_name, &tuf, sha256_hex(&tuf), true)]);
    let server = http::Server::start(&up);
    let index = server.url("/simple/");
    let args = [
        "--out",
        "m",
        "--recompress-from-index",
        &index,
        "--project",
        "six==1.17.0",
        "--project",
        "tuf==7.0.1",
        "--json",
    ];
    let out = mirror(dir, &args);
    assert!(out.status.success(), "{}", common::text(&out));
    let report = common::report(&out);
    assert_eq!(report["shadowed"], serde_json::json!([SIX_TAGGED]));
    assert!(common::text(&out).contains("serving upstream's"));
    let six_page = std::fs::read_to_string(dir.join("m/simple/six/index.json")).unwrap();
    let six_page: serde_json::Value = serde_json::from_str(&six_page).unwrap();
    assert_eq!(six_page["files"].as_array().unwrap().len(), 1);
    assert_eq!(six_page["files"][0]["filename"], SIX_TAGGED);
    assert_eq!(
        six_page["files"][0]["hashes"]["sha256"],
        sha256_hex(&six).as_str()
    );
    let tuf_page = std::fs::read_to_string(dir.join("m/simple/tuf/index.json")).unwrap();
    let tuf_page: serde_json::Value = serde_json::from_str(&tuf_page).unwrap();
    assert_eq!(
        tuf_page["files"][0]["filename"],
        "tuf-7.0.1-1-py3-none-any.whl"
    );
    assert_eq!(tuf_page["files"][0]["yanked"], "broken");
    assert_eq!(tuf_page["files"][0]["upload-time"], UPSTREAM_TIME);
    assert_eq!(six_page["files"][0]["upload-time"], UPSTREAM_TIME);
    assert_eq!(tuf_page["versions"], serde_json::json!(["7.0.1"]));
    let html = std::fs::read_to_string(dir.join("m/simple/tuf/index.html")).unwrap();
    assert!(html.contains("data-yanked=\"broken\""), "{html}");

    // A URL with the right #sha256= is fetched, checked and recompressed.
    let url = format!(
        "{}#sha256={}",
        server.url(&format!("/files/{SIX}")),
        sha256_hex(&six)
    );
    let out = mirror(dir, &["--out", "m3", "--recompress", &url]);
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(dir.join("m3/files").join(SIX_TAGGED).is_file());
    let out = mirror(
        dir,
        &[
            "--out",
            "m3",
            "--recompress",
            &server.url(&format!("/files/{SIX}")),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a URL without #sha256= is refused: {}",
        common::text(&out)
    );

    // An index whose sha256 disagrees with the file: refused unopened, nothing written.
    let bad = dir.join("bad");
    let wrong = sha256_hex(b"something else");
    upstream_project(&bad, "tuf", &[(tuf_name, &tuf, wrong, false)]);
    let bad_server = http::Server::start(&bad);
    let bad_index = bad_server.url("/simple/");
    let out = mirror(
        dir,
        &[
            "--out",
            "m2",
            "--recompress-from-index",
            &bad_index,
            "--project",
            "tuf==7.0.1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("refusing it unopened"),
        "{}",
        common::text(&out)
    );
    assert!(!dir.join("m2").exists() || tree(&dir.join("m2")).is_empty());
}

#[test]
fn a_release_directory_is_mirrored_with_its_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dist = dir.join("dist");
    let project = common::root().join("examples/kiln-sums");
    let out = common::xtask(
        dir,
        &[
            "build",
            project.to_str().unwrap(),
            "--out",
            dist.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let mut sums = String::new();
    for name in ["kiln_sums-0.1.0-py3-none-any.whl", "kiln_sums-0.1.0.tar.gz"] {
        sums.push_str(&format!(
            "{}  {name}\n",
            sha256_hex(&std::fs::read(dist.join(name)).unwrap())
        ));
    }
    std::fs::write(dist.join("SHA256SUMS"), sums).unwrap();
    // What else a release directory holds is not for the index.
    std::fs::write(
        dist.join("kiln-sums-0.1.0.distinfo"),
        "PROJECT = kiln-sums\n",
    )
    .unwrap();
    let out = mirror(dir, &["--out", "m", "--from", "dist", "--json"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let report = common::report(&out);
    assert_eq!(report["files"].as_array().unwrap().len(), 2);
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["source"] == "release")
    );
    let page: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("m/simple/kiln-sums/index.json")).unwrap(),
    )
    .unwrap();
    let files = page["files"].as_array().unwrap();
    let sdist = files
        .iter()
        .find(|f| f["filename"] == "kiln_sums-0.1.0.tar.gz")
        .unwrap();
    let wheel = files
        .iter()
        .find(|f| f["filename"] == "kiln_sums-0.1.0-py3-none-any.whl")
        .unwrap();
    assert!(sdist["requires-python"].is_string(), "{sdist}");
    assert_eq!(sdist["requires-python"], wheel["requires-python"]);
    assert_eq!(sdist["core-metadata"], false);
    let metadata =
        std::fs::read(dir.join("m/files/kiln_sums-0.1.0-py3-none-any.whl.metadata")).unwrap();
    assert_eq!(
        wheel["core-metadata"]["sha256"],
        sha256_hex(&metadata).as_str()
    );
    assert!(
        String::from_utf8(metadata)
            .unwrap()
            .contains("Name: kiln-sums")
    );
    assert_eq!(page["versions"], serde_json::json!(["0.1.0"]));
    let root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m/simple/index.json")).unwrap())
            .unwrap();
    assert_eq!(root["projects"], serde_json::json!([{"name": "kiln-sums"}]));
}

/// Every page of the mirror at `root` lists only files that are there,
/// whole (size and sha256 as listed), with their `.metadata` when it
/// says so.
fn assert_consistent(root: &Path) {
    let simple = root.join("simple");
    if !simple.exists() {
        return;
    }
    for entry in walkdir::WalkDir::new(&simple)
        .min_depth(2)
        .max_depth(2)
        .sort_by_file_name()
    {
        let entry = entry.unwrap();
        if entry.file_name() != "index.json" {
            continue;
        }
        let page: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        for file in page["files"].as_array().unwrap() {
            let name = file["filename"].as_str().unwrap();
            let bytes = std::fs::read(root.join("files").join(name)).unwrap_or_else(|e| {
                panic!(
                    "{} lists {name}, which is not there: {e}",
                    entry.path().display()
                )
            });
            assert_eq!(file["size"].as_u64().unwrap(), bytes.len() as u64, "{name}");
            assert_eq!(
                file["hashes"]["sha256"].as_str().unwrap(),
                sha256_hex(&bytes),
                "{name}"
            );
            if let Some(sha) = file["core-metadata"]["sha256"].as_str() {
                let metadata =
                    std::fs::read(root.join("files").join(format!("{name}.metadata"))).unwrap();
                assert_eq!(sha, sha256_hex(&metadata), "{name}.metadata");
            }
        }
    }
}

#[test]
fn a_mirror_killed_at_any_point_never_shows_a_page_listing_a_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wheelhouse(&dir.join("first"), &[corpus_wheel("idna")]);
    let out = mirror(dir, &["--out", "m", "--wheelhouse", "first"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let wheels = [
        corpus_wheel("six"),
        corpus_wheel("tuf"),
        corpus_wheel("click"),
    ];
    wheelhouse(&dir.join("second"), &wheels);
    let (six, tuf) = (wheels[0].to_str().unwrap(), wheels[1].to_str().unwrap());
    let args = [
        "mirror",
        "--out",
        "m",
        "--wheelhouse",
        "second",
        "--recompress",
        six,
        "--recompress",
        tuf,
    ];
    for millis in [20, 80, 200, 400, 700, 1000, 1500, 2500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(millis));
        let _ = child.kill();
        child.wait().unwrap();
        assert_consistent(&dir.join("m"));
    }
    let out = xtask(dir, "022", "2", &args);
    assert!(out.status.success(), "{}", common::text(&out));
    assert_consistent(&dir.join("m"));
    let left: Vec<_> = tree(&dir.join("m"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p != ".kiln-mirror.lock" && p.split('/').any(|s| s.starts_with(".kiln")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("m/simple/index.json")).unwrap()).unwrap();
    assert_eq!(root["projects"].as_array().unwrap().len(), 4);
}

#[test]
fn a_mirror_given_tuf_keys_keeps_its_metadata_signing_every_file_it_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    wheelhouse(&dir.join("one"), &[corpus_wheel("six")]);
    wheelhouse(&dir.join("two"), &[corpus_wheel("idna")]);
    wheelhouse(&dir.join("three"), &[corpus_wheel("click")]);
    let tuf = |args: &[&str]| xtask(dir, "022", "2", &[&["tuf"], args].concat());

    // Without metadata to keep current, --tuf-keys is bad input.
    let out = mirror(
        dir,
        &["--out", "m", "--wheelhouse", "one", "--tuf-keys", "keys"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("tuf init"),
        "{}",
        common::text(&out)
    );
    assert!(!dir.join("m/files").exists(), "nothing is mirrored first");

    let out = mirror(dir, &["--out", "m", "--wheelhouse", "one"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let out = tuf(&["init", "m", "--keys", "keys", "--bins", "16"]);
    assert!(out.status.success(), "{}", common::text(&out));
    std::fs::copy(dir.join("m/metadata/1.root.json"), dir.join("root.json")).unwrap();
    let verify = || tuf(&["verify", "m", "--root", "root.json"]);
    assert!(verify().status.success(), "{}", common::text(&verify()));

    // A release added with the keys: its files, sidecars and pages are signed.
    let out = mirror(
        dir,
        &["--out", "m", "--wheelhouse", "two", "--tuf-keys", "keys"],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let out = verify();
    assert!(out.status.success(), "{}", common::text(&out));
    let idna = std::fs::read_dir(dir.join("m/files"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .find(|n| n.starts_with("idna-") && n.ends_with(".whl"))
        .unwrap();
    let bins = kiln_tuf::Bins::new(16).unwrap();
    let bin = bins.name(bins.index(&format!("files/{idna}")));
    let signed = std::fs::read_dir(dir.join("m/metadata"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.ends_with(&format!(".{bin}.json")))
        .any(|n| {
            std::fs::read_to_string(dir.join("m/metadata").join(n))
                .unwrap()
                .contains(&format!("files/{idna}"))
        });
    assert!(signed, "{idna} is a target of {bin}");

    // The control: a release added without the keys leaves targets no
    // metadata signs, and verify says so.
    let out = mirror(dir, &["--out", "m", "--wheelhouse", "three"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let out = verify();
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
}
