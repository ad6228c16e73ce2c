//! End-to-end tests of `cargo xtask tuf`: a small mirror tree (fake wheels
//! and sdists under `files/`, PEP 503 pages under `simple/`) signed by
//! `tuf init`, served as is by a real HTTP server on 127.0.0.1, and read by
//! two clients: python-tuf's `ngclient.Updater` (with `KILN_TEST_PYTHON`,
//! the hash-pinned venv) and kiln's own `tuf fetch`. Each attack of the
//! TUF threat model is staged on the served tree and must be refused by
//! both, each test named after its attack.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes and read the environment.

#[path = "support/common.rs"]
mod common;
#[path = "../../crates/kiln-fetch/tests/support/http.rs"]
mod http;

use common::{text, xtask};
use http::{Override, Server};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WHEEL: &str = "files/demo-1.0-py3-none-any.whl";
const PAGE: &str = "simple/demo/index.html";
const NEW: &str = "files/demo-1.1-py3-none-any.whl";

/// A signed mirror: the temporary directory holding it, the mirror and
/// the key directory, and a copy of root v1 kept apart (the trusted root).
struct Mirror {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    keys: PathBuf,
    root: PathBuf,
}

impl Mirror {
    fn new() -> Mirror {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mirror");
        for (path, body) in [
            (WHEEL, &b"PK fake wheel demo 1.0"[..]),
            ("files/demo-1.0.tar.gz", b"fake sdist demo 1.0"),
            (
                "files/other-2.0-py3-none-any.whl",
                b"PK fake wheel other 2.0",
            ),
            (
                PAGE,
                b"<a href=\"../../files/demo-1.0-py3-none-any.whl\">demo</a>\n",
            ),
            (
                "simple/other/index.html",
                b"<a href=\"../../files/other-2.0-py3-none-any.whl\">other</a>\n",
            ),
        ] {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        }
        let keys = tmp.path().join("keys");
        let m = Mirror {
            root: tmp.path().join("trusted-root.json"),
            tmp,
            dir,
            keys,
        };
        m.run(&["init", "--bins", "16"]);
        fs::copy(m.dir.join("metadata/1.root.json"), &m.root).unwrap();
        m
    }

    /// `cargo xtask tuf SUB DIR --keys KEYDIR ARGS`, which must succeed.
    fn run(&self, args: &[&str]) {
        let (sub, rest) = args.split_first().unwrap();
        let dir = self.dir.to_str().unwrap();
        let keys = self.keys.to_str().unwrap();
        let o = xtask(
            self.tmp.path(),
            &[&["tuf", sub, dir, "--keys", keys], rest].concat(),
        );
        assert!(o.status.success(), "tuf {args:?}: {}", text(&o));
    }

    /// A new release: a file and its project's page, then `tuf add`.
    fn release(&self) {
        fs::write(self.dir.join(NEW), b"PK fake wheel demo 1.1").unwrap();
        let mut page = fs::read_to_string(self.dir.join(PAGE)).unwrap();
        page.push_str("<a href=\"../../files/demo-1.1-py3-none-any.whl\">demo</a>\n");
        fs::write(self.dir.join(PAGE), page).unwrap();
        self.run(&["add", NEW, PAGE]);
    }

    fn meta(&self, name: &str) -> PathBuf {
        self.dir.join("metadata").join(name)
    }

    /// The bin role `path` falls in.
    fn bin_of(&self, path: &str) -> String {
        let bins = kiln_tuf::Bins::new(16).unwrap();
        bins.name(bins.index(path))
    }
}

/// The two clients, each with its own trusted state kept between runs.
struct Clients<'a> {
    mirror: &'a Mirror,
    server: &'a Server,
    python: Option<PathBuf>,
    run: u32,
}

impl<'a> Clients<'a> {
    fn new(mirror: &'a Mirror, server: &'a Server) -> Clients<'a> {
        Clients {
            mirror,
            server,
            python: common::python("python-tuf's ngclient against the mirror"),
            run: 0,
        }
    }

    /// python-tuf: Some((refused, output)), or None when skipped.
    fn python(&mut self, target: &str) -> Option<(bool, String)> {
        let python = self.python.clone()?;
        self.run += 1;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf/client.py");
        let tmp = self.mirror.tmp.path();
        let o = Command::new(python)
            .arg(script)
            .arg(self.server.base_url())
            .arg(tmp.join("python-state"))
            .arg(&self.mirror.root)
            .arg(target)
            .arg(tmp.join(format!("python-out-{}", self.run)))
            .output()
            .unwrap();
        let out = text(&o);
        match o.status.code() {
            Some(0) => Some((false, out)),
            Some(1) => Some((true, out)),
            _ => panic!("python-tuf client crashed: {out}"),
        }
    }

    /// kiln's `tuf fetch`.
    fn kiln(&mut self, target: &str) -> Output {
        self.run += 1;
        let tmp = self.mirror.tmp.path();
        let out = tmp.join(format!("kiln-out-{}", self.run));
        let mut args = vec![
            "tuf".to_string(),
            "fetch".to_string(),
            self.server.base_url(),
            "--root".to_string(),
            self.mirror.root.display().to_string(),
            "--state".to_string(),
            tmp.join("kiln-state").display().to_string(),
        ];
        if target != "-" {
            args.extend(["--target".to_string(), target.to_string()]);
            args.extend(["--out".to_string(), out.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        xtask(tmp, &args)
    }

    /// Both clients refresh and download `target`.
    fn accept(&mut self, target: &str) {
        if let Some((refused, out)) = self.python(target) {
            assert!(!refused, "python-tuf refused {target}: {out}");
        }
        let o = self.kiln(target);
        assert!(o.status.success(), "kiln refused {target}: {}", text(&o));
    }

    /// Both clients refuse `target` (or the refresh): python-tuf with
    /// `python_error`, kiln with exit 1 and `kiln_says`.
    fn refuse(&mut self, target: &str, python_error: &str, kiln_says: &str) {
        if let Some((refused, out)) = self.python(target) {
            assert!(refused && out.contains(python_error), "python-tuf: {out}");
        }
        let o = self.kiln(target);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "kiln: {out}");
        assert!(out.contains(kiln_says), "kiln: {out}");
    }
}

#[test]
fn clients_refresh_download_and_follow_a_root_rotation() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    let mut clients = Clients::new(&mirror, &server);
    clients.accept(WHEEL);
    clients.accept(PAGE);
    let got = fs::read(mirror.tmp.path().join(format!("kiln-out-{}", clients.run))).unwrap();
    assert_eq!(got, fs::read(mirror.dir.join(PAGE)).unwrap());
    // A release re-signs only its bins, snapshot and timestamp.
    mirror.release();
    clients.accept(NEW);
    // Root v2 with a new root key, v3 to v5 with new timestamp, snapshot
    // and targets keys, then a new bins key (targets re-signed, no new
    // root): clients holding v1 walk the chain.
    for role in ["root", "timestamp", "snapshot", "targets", "bins"] {
        mirror.run(&["rotate", "--role", role]);
        clients.accept(WHEEL);
    }
    clients.accept(NEW);
    // Both clients now trust root v5 (python-tuf keeps it as root.json too).
    let v5 = fs::read(mirror.meta("5.root.json")).unwrap();
    for state in ["kiln-state", "python-state"] {
        let trusted = mirror.tmp.path().join(state).join("root.json");
        if state == "kiln-state" || clients.python.is_some() {
            assert_eq!(fs::read(trusted).unwrap(), v5, "{state}");
        }
    }
    // The old keys are kept beside the new ones.
    assert!(mirror.keys.join("bins.pem.1").exists());
    // The whole tree verifies offline from root v1.
    let o = xtask(
        mirror.tmp.path(),
        &[
            "tuf",
            "verify",
            mirror.dir.to_str().unwrap(),
            "--root",
            mirror.root.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("root v5"), "{}", text(&o));
}

#[test]
fn json_reports_say_what_was_written_and_verified() {
    let mirror = Mirror::new();
    fs::write(mirror.dir.join(NEW), b"PK fake wheel demo 1.1").unwrap();
    let (dir, keys) = (mirror.dir.to_str().unwrap(), mirror.keys.to_str().unwrap());
    let o = xtask(
        mirror.tmp.path(),
        &["tuf", "add", dir, "--keys", keys, NEW, "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let r = common::report(&o);
    assert_eq!(r["command"], "tuf");
    assert_eq!(r["operation"], "add");
    let bin = mirror.bin_of(NEW);
    assert_eq!(
        r["written"],
        serde_json::json!([format!("2.{bin}.json"), "2.snapshot.json", "timestamp.json"])
    );
    let root = mirror.root.to_str().unwrap();
    let o = xtask(
        mirror.tmp.path(),
        &["tuf", "verify", dir, "--root", root, "--json"],
    );
    let r = common::report(&o);
    assert_eq!(
        (r["bins"].as_u64(), r["targets"].as_u64()),
        (Some(16), Some(6))
    );
    // A refusal is exit 1 and an error object naming the file.
    fs::write(mirror.dir.join(NEW), b"PK evil").unwrap();
    let o = xtask(
        mirror.tmp.path(),
        &["tuf", "verify", dir, "--root", root, "--json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = common::report(&o);
    assert!(r["error"]["message"].as_str().unwrap().contains(NEW), "{r}");
}

#[test]
fn signing_twice_under_other_conditions_gives_the_same_bytes() {
    let a = Mirror::new();
    let b = tempfile::tempdir().unwrap();
    // Same files, same keys, same time; another place, another umask.
    let dir = b.path().join("elsewhere/mirror");
    fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let copy = Command::new("cp")
        .arg("-r")
        .arg(&a.dir)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copy.success());
    fs::remove_dir_all(dir.join("metadata")).unwrap();
    let keys = b.path().join("keys");
    let copy = Command::new("cp")
        .arg("-rp")
        .arg(&a.keys)
        .arg(&keys)
        .status()
        .unwrap();
    assert!(copy.success());
    let now = "1800000000";
    for (d, k) in [(&a.dir, &a.keys), (&dir, &keys)] {
        fs::remove_dir_all(d.join("metadata")).ok();
        let o = Command::new("sh")
            .arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "tuf",
                "init",
                d.to_str().unwrap(),
                "--keys",
                k.to_str().unwrap(),
            ])
            .args(["--bins", "16", "--now", now])
            .current_dir(if d == &dir { b.path() } else { a.tmp.path() })
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let read = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(d.join("metadata"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(read(&a.dir), read(&dir));
}

#[test]
fn arbitrary_package_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    let mut clients = Clients::new(&mirror, &server);
    clients.accept(WHEEL);
    // Same length, other bytes; then other bytes and length.
    fs::write(mirror.dir.join(WHEEL), b"PK evil wheel demo 1.0").unwrap();
    clients.refuse(
        WHEEL,
        "LengthOrHashMismatchError",
        "length or hash is not the one signed",
    );
    fs::write(mirror.dir.join(WHEEL), b"PK evil").unwrap();
    clients.refuse(WHEEL, "Error", "length or hash is not the one signed");
    let o = xtask(
        mirror.tmp.path(),
        &[
            "tuf",
            "verify",
            mirror.dir.to_str().unwrap(),
            "--root",
            mirror.root.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(WHEEL), "{}", text(&o));
}

#[test]
fn rollback_of_timestamp_and_snapshot_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    let old_timestamp = fs::read(mirror.meta("timestamp.json")).unwrap();
    mirror.release();
    let mut clients = Clients::new(&mirror, &server);
    clients.accept(NEW);
    // The old timestamp, validly signed, served again.
    fs::write(mirror.meta("timestamp.json"), &old_timestamp).unwrap();
    clients.refuse("-", "BadVersionNumberError", "rollback");
    // A newer timestamp (the online key stolen) naming the old snapshot.
    let mut t: kiln_tuf::metadata::Timestamp =
        kiln_tuf::metadata::read_unverified(&old_timestamp, "timestamp").unwrap();
    t.0.version = 99;
    let pem = fs::read_to_string(mirror.keys.join("timestamp.pem")).unwrap();
    let key = kiln_provenance::PrivateKey::from_pkcs8_pem(&pem).unwrap();
    let forged = kiln_tuf::metadata::sign(&t, &[&key], "timestamp").unwrap();
    fs::write(mirror.meta("timestamp.json"), forged).unwrap();
    clients.refuse(
        "-",
        "BadVersionNumberError",
        "snapshot.json (in timestamp): version 1 is older",
    );
}

#[test]
fn freeze_with_an_expired_timestamp_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    // A newer timestamp, but signed as of two days ago: it expired yesterday.
    let past = (kiln_now() - 2 * 86_400).to_string();
    mirror.run(&["timestamp", "--now", &past]);
    let mut clients = Clients::new(&mirror, &server);
    clients.refuse(WHEEL, "ExpiredMetadataError", "expired");
}

#[test]
fn mix_and_match_of_bin_versions_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    mirror.release();
    // Snapshot lists version 2 of the new file's bin; the server gives the
    // bytes of version 1 (validly signed, another version) under that name.
    let bin = mirror.bin_of(NEW);
    fs::copy(
        mirror.meta(&format!("1.{bin}.json")),
        mirror.meta(&format!("2.{bin}.json")),
    )
    .unwrap();
    let mut clients = Clients::new(&mirror, &server);
    clients.refuse(NEW, "BadVersionNumberError", "mix-and-match");
}

#[test]
fn untrusted_key_or_below_threshold_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    let genuine = fs::read(mirror.meta("timestamp.json")).unwrap();
    let signed: kiln_tuf::metadata::Timestamp =
        kiln_tuf::metadata::read_unverified(&genuine, "timestamp").unwrap();
    // Signed by a key root does not list.
    let stranger = kiln_provenance::PrivateKey::from_seed([7; 32]);
    let forged = kiln_tuf::metadata::sign(&signed, &[&stranger], "timestamp").unwrap();
    fs::write(mirror.meta("timestamp.json"), forged).unwrap();
    let mut clients = Clients::new(&mirror, &server);
    clients.refuse("-", "UnsignedMetadataError", "0 valid signature(s)");
    // No signature at all: below the threshold of one.
    let mut value: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    value["signatures"] = serde_json::json!([]);
    fs::write(
        mirror.meta("timestamp.json"),
        serde_json::to_vec(&value).unwrap(),
    )
    .unwrap();
    clients.refuse("-", "UnsignedMetadataError", "1 needed");
}

#[test]
fn endless_data_is_refused() {
    let mirror = Mirror::new();
    let server = Server::start(&mirror.dir);
    // A timestamp.json of 4 MiB, sent without Content-Length: the clients
    // must stop at their cap, not read it all.
    let mut endless = fs::read(mirror.meta("timestamp.json")).unwrap();
    endless.resize(4 << 20, b' ');
    fs::write(mirror.meta("timestamp.json"), endless).unwrap();
    server.set("/metadata/timestamp.json", Override::NoContentLength);
    let mut clients = Clients::new(&mirror, &server);
    clients.refuse("-", "DownloadLengthMismatchError", "endless data");
    // A target that goes on past its signed length.
    let genuine = fs::read(mirror.dir.join(WHEEL)).unwrap();
    fs::write(
        mirror.meta("timestamp.json"),
        fs::read(mirror.meta("timestamp.json"))
            .unwrap()
            .trim_ascii_end(),
    )
    .unwrap();
    let mut endless = genuine.clone();
    endless.resize(4 << 20, b'x');
    fs::write(mirror.dir.join(WHEEL), endless).unwrap();
    server.set(&format!("/{WHEEL}"), Override::NoContentLength);
    clients.refuse(WHEEL, "DownloadLengthMismatchError", "endless data");
}

#[test]
fn a_target_no_metadata_signs_is_refused() {
    let mirror = Mirror::new();
    fs::write(
        mirror.dir.join("files/smuggled-1.0-py3-none-any.whl"),
        b"PK",
    )
    .unwrap();
    let server = Server::start(&mirror.dir);
    let mut clients = Clients::new(&mirror, &server);
    clients.refuse(
        "files/smuggled-1.0-py3-none-any.whl",
        "UnknownTarget",
        "not a target signed",
    );
}

/// Now, in seconds since 1970 (what the commands default to).
fn kiln_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn concurrent_writers_take_turns_and_the_tree_verifies() {
    let mirror = Mirror::new();
    let (dir, keys) = (mirror.dir.to_str().unwrap(), mirror.keys.to_str().unwrap());
    let mut children = Vec::new();
    for n in 0..4 {
        let path = format!("files/concurrent-{n}.0.tar.gz");
        fs::write(mirror.dir.join(&path), format!("release {n}")).unwrap();
        children.push(
            Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(["tuf", "add", dir, "--keys", keys, &path])
                .spawn()
                .unwrap(),
        );
        children.push(
            Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(["tuf", "timestamp", dir, "--keys", keys])
                .spawn()
                .unwrap(),
        );
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let root = mirror.root.to_str().unwrap();
    let o = xtask(
        mirror.tmp.path(),
        &["tuf", "verify", dir, "--root", root, "--json"],
    );
    let r = common::report(&o);
    // Five files of the tree, four added; each writer got its own versions.
    assert_eq!(r["targets"].as_u64(), Some(9), "{r}");
    assert_eq!(r["timestamp_version"].as_u64(), Some(9), "{r}");
}

#[test]
fn offline_keys_can_live_apart_from_the_online_key_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mirror");
    fs::create_dir_all(dir.join("files")).unwrap();
    fs::write(dir.join(WHEEL), b"PK fake wheel demo 1.0").unwrap();
    let online = tmp.path().join("online");
    let (root_key, targets_key) = (
        tmp.path().join("usb/root.pem"),
        tmp.path().join("usb/t.pem"),
    );
    let offline = [
        "--root-key",
        root_key.to_str().unwrap(),
        "--targets-key",
        targets_key.to_str().unwrap(),
    ];
    let (d, k) = (dir.to_str().unwrap(), online.to_str().unwrap());
    let o = xtask(
        tmp.path(),
        &[&["tuf", "init", d, "--keys", k], &offline[..]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(root_key.exists() && targets_key.exists());
    assert!(!online.join("root.pem").exists() && !online.join("targets.pem").exists());
    // Online work needs only the online directory.
    fs::write(dir.join(NEW), b"PK fake wheel demo 1.1").unwrap();
    let o = xtask(tmp.path(), &["tuf", "add", d, "--keys", k, NEW]);
    assert!(o.status.success(), "{}", text(&o));
    // Rotating the root key reads and replaces the offline file.
    let o = xtask(
        tmp.path(),
        &[
            &["tuf", "rotate", d, "--keys", k, "--role", "root"],
            &offline[..],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(tmp.path().join("usb/root.pem.1").exists());
    let root = dir.join("metadata/1.root.json");
    let o = xtask(
        tmp.path(),
        &["tuf", "verify", d, "--root", root.to_str().unwrap()],
    );
    assert!(
        o.status.success() && text(&o).contains("root v2"),
        "{}",
        text(&o)
    );
    // Keys inside the mirror are refused.
    let inside = dir.join("keys");
    let o = xtask(
        tmp.path(),
        &["tuf", "timestamp", d, "--keys", inside.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("never be served"), "{}", text(&o));
}
