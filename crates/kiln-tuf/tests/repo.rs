//! kiln-tuf's repository and client on a directory: the metadata's bytes
//! are a function of the inputs, a change re-signs only its bins, and
//! hostile metadata is refused with an error naming the role, never a
//! panic.

#![allow(clippy::unwrap_used)]

use kiln_provenance::PrivateKey;
use kiln_tuf::{Client, Expiry, Keys, Repository, TufError, dir, verify_tree};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

const NOW: u64 = 1_800_000_000;

fn keys() -> Keys {
    let k = |n: u8| PrivateKey::from_seed([n; 32]);
    Keys {
        root: k(1),
        targets: k(2),
        snapshot: k(3),
        timestamp: k(4),
        bins: k(5),
    }
}

fn tree(dir: &Path, reversed: bool) {
    let mut files = vec![
        ("files/a-1.0-py3-none-any.whl", "a"),
        ("files/b-2.0.tar.gz", "bb"),
        ("simple/a/index.html", "<a href=x>a</a>"),
        ("simple/b/index.html", "<a href=y>b</a>"),
    ];
    if reversed {
        files.reverse();
    }
    for (path, body) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
}

fn init(dir: &Path, bins: u32) -> Repository {
    let targets = dir::scan(dir).unwrap();
    let (repo, files) = Repository::init(&targets, bins, &keys(), NOW, Expiry::default()).unwrap();
    dir::write(dir, &files).unwrap();
    assert_eq!(files.last().unwrap().0, "timestamp.json", "timestamp last");
    repo
}

fn metadata(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir.join("metadata"))
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn metadata_bytes_are_a_function_of_the_inputs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tree(a.path(), false);
    tree(b.path(), true);
    init(a.path(), 16);
    init(b.path(), 16);
    let (ma, mb) = (metadata(a.path()), metadata(b.path()));
    assert_eq!(ma.len(), 16 + 5);
    assert_eq!(
        ma, mb,
        "same files, keys and time, created in another order"
    );
    // Another time gives other bytes: the time is an input, not noise.
    let c = tempfile::tempdir().unwrap();
    tree(c.path(), false);
    let targets = dir::scan(c.path()).unwrap();
    let (_, files) = Repository::init(&targets, 16, &keys(), NOW + 1, Expiry::default()).unwrap();
    assert_ne!(files.last().unwrap().1, ma["timestamp.json"]);
}

#[test]
fn a_change_re_signs_only_its_bins_then_snapshot_and_timestamp() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), false);
    let repo = init(d.path(), 256);
    let path = "files/a-1.1-py3-none-any.whl";
    fs::write(d.path().join(path), "new").unwrap();
    fs::remove_file(d.path().join("files/b-2.0.tar.gz")).unwrap();
    let k = keys();
    // What the whole repository, read into memory, would sign.
    let paths = [path.to_string(), "files/b-2.0.tar.gz".to_string()];
    let mut whole = dir::load(d.path()).unwrap();
    let changed = dir::changes(d.path(), &paths).unwrap();
    let whole = whole
        .update(&changed, k.online(), NOW + 60, Expiry::default())
        .unwrap();
    let written = kiln_tuf::update(
        d.path(),
        &[path.to_string(), "files/b-2.0.tar.gz".to_string()],
        k.online(),
        NOW + 60,
        Expiry::default(),
    )
    .unwrap()
    .written;
    let layout = repo.layout().unwrap();
    let mut expected: Vec<String> = [path, "files/b-2.0.tar.gz"]
        .iter()
        .map(|p| format!("2.{}.json", layout.name(layout.index(p))))
        .collect();
    expected.sort();
    expected.dedup();
    expected.extend(["2.snapshot.json".to_string(), "timestamp.json".to_string()]);
    assert_eq!(written, expected);
    // Reading only the bins touched gives the same bytes.
    for (name, bytes) in &whole {
        assert_eq!(
            &fs::read(d.path().join("metadata").join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    let root = fs::read(d.path().join("metadata/1.root.json")).unwrap();
    let v = verify_tree(d.path(), &root, NOW + 120).unwrap();
    assert_eq!((v.targets, v.bins, v.snapshot_version), (4, 256, 2));
    // Past the timestamp's expiry the same tree is refused (freeze).
    let err = verify_tree(d.path(), &root, NOW + 2 * 86_400).unwrap_err();
    assert!(
        matches!(err, TufError::Expired { ref role, .. } if role == "timestamp"),
        "{err}"
    );
}

#[test]
fn a_file_no_metadata_signs_fails_verification() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), false);
    init(d.path(), 4);
    fs::write(d.path().join("files/smuggled.whl"), "x").unwrap();
    let root = fs::read(d.path().join("metadata/1.root.json")).unwrap();
    let err = verify_tree(d.path(), &root, NOW).unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert!(err.to_string().contains("files/smuggled.whl"), "{err}");
}

#[test]
fn hostile_metadata_is_refused_naming_the_role_never_a_panic() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), false);
    init(d.path(), 4);
    let root = fs::read(d.path().join("metadata/1.root.json")).unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let float = br#"{"signatures":[],"signed":{"_type":"timestamp","version":1.5}}"#.to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("null", b"null".to_vec()),
        ("deep", deep.into_bytes()),
        ("float", float),
        ("not json", vec![0xff; 100]),
        ("huge", vec![b' '; 20_000]),
    ];
    for (what, bytes) in cases {
        let served = bytes.clone();
        let mut fetch = |path: &str, max: u64| -> Result<Option<Vec<u8>>, TufError> {
            let bytes = if path == "metadata/timestamp.json" {
                served.clone()
            } else {
                match fs::read(d.path().join(path)) {
                    Ok(b) => b,
                    Err(_) => return Ok(None),
                }
            };
            if bytes.len() as u64 > max {
                return Err(TufError::TooLarge {
                    what: path.to_string(),
                    limit: max,
                });
            }
            Ok(Some(bytes))
        };
        let mut client = Client::new(&root, None, None, NOW).unwrap();
        let err = client.refresh(&mut fetch).unwrap_err();
        assert!(err.is_refusal(), "{what}: {err}");
        assert!(err.to_string().contains("timestamp"), "{what}: {err}");
    }
}

#[test]
fn bad_bin_counts_and_target_paths_are_bad_input() {
    let k = keys();
    let mut targets = BTreeMap::new();
    for bins in [0, 3, 100] {
        let err = Repository::init(&targets, bins, &k, NOW, Expiry::default()).unwrap_err();
        assert!(
            !err.is_refusal() && err.to_string().contains("power of two"),
            "{err}"
        );
    }
    targets.insert(
        "../escape".to_string(),
        kiln_tuf::TargetFile::of_bytes(b"x"),
    );
    let err = Repository::init(&targets, 4, &k, NOW, Expiry::default()).unwrap_err();
    assert!(matches!(err, TufError::TargetPath { .. }), "{err}");
}

#[test]
fn a_timestamp_refresh_re_signs_bins_about_to_expire_and_nothing_else() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), false);
    let targets = dir::scan(d.path()).unwrap();
    let expiry = Expiry {
        bins: 10 * 86_400,
        ..Expiry::default()
    };
    let k = keys();
    let (mut repo, _) = Repository::init(&targets, 4, &k, NOW, expiry).unwrap();
    let files = repo
        .refresh_timestamp(k.online(), NOW + 3600, expiry)
        .unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["timestamp.json"]);
    // Five days on, the bins (ten days) would expire within a snapshot's
    // seven: all are re-signed with the online key, then snapshot and timestamp.
    let files = repo
        .refresh_timestamp(k.online(), NOW + 5 * 86_400, expiry)
        .unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "2.bins.json",
            "2.bin-0.json",
            "2.bin-4.json",
            "2.bin-8.json",
            "2.bin-c.json",
            "2.snapshot.json",
            "timestamp.json"
        ]
    );
}

#[test]
fn a_versioned_file_is_never_rewritten_and_the_timestamp_waits() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), false);
    init(d.path(), 4);
    let before = fs::read(d.path().join("metadata/timestamp.json")).unwrap();
    // Another writer's 2.snapshot.json is already there.
    fs::write(d.path().join("metadata/2.snapshot.json"), "{}").unwrap();
    fs::write(d.path().join("files/c-1.0.tar.gz"), "c").unwrap();
    let k = keys();
    let err = kiln_tuf::update(
        d.path(),
        &["files/c-1.0.tar.gz".to_string()],
        k.online(),
        NOW,
        Expiry::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, TufError::Exists { ref file } if file == "2.snapshot.json"),
        "{err}"
    );
    assert_eq!(
        fs::read(d.path().join("metadata/timestamp.json")).unwrap(),
        before
    );
}
