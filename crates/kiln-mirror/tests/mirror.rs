//! kiln-mirror on wheels made here: the build tag set in the name and in
//! `WHEEL`, RECORD changed in its `WHEEL` line only, other members and
//! executable bits kept; the digest checked before anything parses; a
//! RECORD that lies refused naming the member; the bytes independent of
//! the thread count and pinned; a file of the mirror never replaced by
//! other bytes.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // mkfifo(1): libc::mkfifo would need unsafe; a listing sorted here

use kiln_archive::{ArchiveWriter, Deflate, Limits, ZipWriter, read_zip};
use kiln_mirror::{Entry, Mirror, MirrorError, Zopfli, recompress, sha256_hex};

const Z: Zopfli = Zopfli { iterations: 15 };

fn row(path: &str, data: &[u8]) -> String {
    format!(
        "{path},sha256={},{}",
        kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data)),
        data.len()
    )
}

/// A wheel `demo-1.0` (CRLF RECORD and WHEEL, an executable script);
/// `lie` gives `demo/__init__.py` a wrong RECORD row.
fn wheel(lie: bool) -> Vec<u8> {
    let init = b"print('hello')\n".repeat(50);
    let script = b"#!python\nimport demo\n".to_vec();
    let metadata =
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >=3.9\n".to_vec();
    let wheel = b"Wheel-Version: 1.0\r\nGenerator: test\r\nBuild: 0\r\nRoot-Is-Purelib: true\r\nTag: py3-none-any\r\n".to_vec();
    let init_row = if lie {
        row("demo/__init__.py", b"other")
    } else {
        row("demo/__init__.py", &init)
    };
    let record = format!(
        "{init_row}\r\n{}\r\n{}\r\n{}\r\ndemo-1.0.dist-info/RECORD,,\r\n",
        row("demo-1.0.data/scripts/demo", &script),
        row("demo-1.0.dist-info/METADATA", &metadata),
        row("demo-1.0.dist-info/WHEEL", &wheel),
    );
    let deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let mut zip = ZipWriter::new(Vec::new(), 315_532_800, deflate).unwrap();
    zip.add_file("demo/__init__.py", &init, false).unwrap();
    zip.add_file("demo-1.0.data/scripts/demo", &script, true)
        .unwrap();
    zip.add_file("demo-1.0.dist-info/METADATA", &metadata, false)
        .unwrap();
    zip.add_file("demo-1.0.dist-info/WHEEL", &wheel, false)
        .unwrap();
    zip.add_file("demo-1.0.dist-info/RECORD", record.as_bytes(), false)
        .unwrap();
    zip.finish().unwrap()
}

const NAME: &str = "demo-1.0-0-py3-none-any.whl";

#[test]
fn only_wheel_and_record_change_and_the_build_tag_is_set() {
    let original = wheel(false);
    let new = recompress(NAME, &original, &sha256_hex(&original), "7kiln", Z).unwrap();
    assert_eq!(new.filename, "demo-1.0-7kiln-py3-none-any.whl");
    let old = read_zip(NAME, &original, &Limits::default()).unwrap();
    let got = read_zip(&new.filename, &new.bytes, &Limits::default()).unwrap();
    assert_eq!(old.members.len(), got.members.len());
    for (a, b) in old.members.iter().zip(&got.members) {
        assert_eq!(a.path, b.path);
        assert_eq!(a.executable, b.executable, "{}", a.path);
        if !a.path.ends_with("/WHEEL") && !a.path.ends_with("/RECORD") {
            assert_eq!(a.data, b.data, "{}", a.path);
        }
    }
    let text = |m: &kiln_archive::ZipMember| String::from_utf8(m.data.clone()).unwrap();
    let wheel_file = text(&got.members[3]);
    assert_eq!(
        wheel_file,
        "Wheel-Version: 1.0\r\nGenerator: test\r\nRoot-Is-Purelib: true\r\nTag: py3-none-any\r\nBuild: 7kiln\r\n"
    );
    let (old_record, new_record) = (text(&old.members[4]), text(&got.members[4]));
    let changed: Vec<_> = old_record
        .split("\r\n")
        .zip(new_record.split("\r\n"))
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(
        changed[0].1,
        row("demo-1.0.dist-info/WHEEL", wheel_file.as_bytes())
    );
    assert_eq!(new.original_sha256, sha256_hex(&original));
}

#[test]
fn the_digest_is_checked_before_anything_parses() {
    let garbage = b"not a zip at all".to_vec();
    let e = recompress(NAME, &garbage, &sha256_hex(b"x"), "1", Z).unwrap_err();
    assert!(matches!(e, MirrorError::Digest { .. }), "{e}");
    assert!(e.is_proof_failure());
    // With the right digest the same bytes reach the reader, which refuses them.
    let e = recompress(NAME, &garbage, &sha256_hex(&garbage), "1", Z).unwrap_err();
    assert!(matches!(e, MirrorError::Archive { .. }), "{e}");
    assert!(!e.is_proof_failure());
}

#[test]
fn a_lying_record_is_refused_naming_the_member() {
    let liar = wheel(true);
    let e = recompress(NAME, &liar, &sha256_hex(&liar), "1", Z).unwrap_err();
    match &e {
        MirrorError::Record { member, .. } => assert_eq!(member, "demo/__init__.py"),
        other => panic!("{other}"),
    }
    assert!(e.is_proof_failure());
    assert!(Entry::distribution(NAME, liar, "x").is_err());
}

#[test]
fn a_build_tag_must_sort_above_the_original_one() {
    let original = wheel(false);
    let sha = sha256_hex(&original);
    let e = recompress(NAME, &original, &sha, "0", Z).unwrap_err();
    assert!(matches!(e, MirrorError::BuildTag { .. }), "{e}");
    let e = recompress(NAME, &original, &sha, "x", Z).unwrap_err();
    assert!(matches!(e, MirrorError::BuildTag { .. }), "{e}");
}

#[test]
fn recompressed_bytes_do_not_depend_on_the_thread_count_and_are_pinned() {
    let original = wheel(false);
    let sha = sha256_hex(&original);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| recompress(NAME, &original, &sha, "1", Z).unwrap())
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.bytes, four.bytes);
    assert!(one.bytes.len() < original.len());
    assert_eq!(
        one.sha256,
        "4419d4138a65549b55b42862d14b1c091885845211d4f2fd49253a4d08f88af6"
    );
}

#[test]
fn a_mirror_file_is_never_replaced_by_other_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let original = wheel(false);
    let sha = sha256_hex(&original);
    let mut mirror = Mirror::new(tmp.path());
    mirror
        .add(Entry::distribution(NAME, original.clone(), &sha).unwrap())
        .unwrap();
    let published = mirror.publish().unwrap();
    assert_eq!(published.added, [NAME]);
    let page = std::fs::read_to_string(tmp.path().join("simple/demo/index.html")).unwrap();
    assert!(page.contains("data-requires-python=\"&gt;=3.9\""), "{page}");
    assert!(tmp.path().join(format!("files/{NAME}.metadata")).is_file());

    let new = recompress(NAME, &original, &sha, "1", Z).unwrap();
    let mut other = Entry::recompressed(new).unwrap();
    other.filename = NAME.into();
    let mut mirror = Mirror::new(tmp.path());
    mirror.add(other).unwrap();
    let e = mirror.publish().unwrap_err();
    assert!(matches!(e, MirrorError::Conflict { .. }), "{e}");
    assert_eq!(
        std::fs::read(tmp.path().join("files").join(NAME)).unwrap(),
        original
    );
}

#[test]
fn files_are_complete_before_any_page_names_them() {
    let tmp = tempfile::tempdir().unwrap();
    let original = wheel(false);
    let sha = sha256_hex(&original);
    // A project directory that cannot be made: publishing stops at the pages.
    std::fs::create_dir_all(tmp.path().join("simple")).unwrap();
    std::fs::write(tmp.path().join("simple/demo"), "in the way").unwrap();
    let mut mirror = Mirror::new(tmp.path());
    mirror
        .add(Entry::distribution(NAME, original.clone(), &sha).unwrap())
        .unwrap();
    assert!(mirror.publish().is_err());
    // The file and its metadata are whole; no page lists anything yet.
    assert_eq!(
        std::fs::read(tmp.path().join("files").join(NAME)).unwrap(),
        original
    );
    assert!(tmp.path().join(format!("files/{NAME}.metadata")).is_file());
    assert!(!tmp.path().join("simple/index.html").exists());
    // Nothing temporary is left beside them.
    let mut names: Vec<String> = std::fs::read_dir(tmp.path().join("files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    // Once the obstacle is gone, the next run lists the file.
    std::fs::remove_file(tmp.path().join("simple/demo")).unwrap();
    let published = Mirror::new(tmp.path()).publish().unwrap();
    assert_eq!(published.files, 1);
    assert!(
        std::fs::read_to_string(tmp.path().join("simple/demo/index.html"))
            .unwrap()
            .contains(NAME)
    );
}

#[test]
fn a_fifo_in_a_wheelhouse_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("x-1.0-py3-none-any.whl");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(
        tmp.path().join("SHA256SUMS"),
        format!("{}  x-1.0-py3-none-any.whl\n", sha256_hex(b"")),
    )
    .unwrap();
    let e = kiln_mirror::read_sums_dir(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert!(!e.is_proof_failure());
}

#[test]
fn a_second_run_waits_for_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let original = wheel(false);
    let sha = sha256_hex(&original);
    std::fs::create_dir_all(tmp.path()).unwrap();
    let held = std::fs::File::create(tmp.path().join(".kiln-mirror.lock")).unwrap();
    held.lock().unwrap();
    let root = tmp.path().to_path_buf();
    let run = std::thread::spawn(move || {
        let mut mirror = Mirror::new(&root);
        mirror
            .add(Entry::distribution(NAME, original, &sha).unwrap())
            .unwrap();
        mirror.publish().unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !tmp.path().join("files").join(NAME).exists(),
        "published under another run's lock"
    );
    held.unlock().unwrap();
    assert_eq!(run.join().unwrap().added, [NAME]);
}
