//! Integration tests: archives with the same content in different
//! containers (crafted with the independent `tar`, `zip` and `flate2`
//! crates) canonicalize to the same bytes as kiln's own writers produce;
//! canonicalizing is idempotent; RECORD disagreements and malformed sdists
//! are refused naming the member; the real-world corpus (kiln-corpus's
//! pinned releases, downloaded on first use into `target/kiln-corpus/`)
//! canonicalizes with its content preserved, and pinned digests catch any
//! drift in the bytes.
//! The streaming forms give the in-memory forms' bytes and errors (on the
//! corpus too), and RECORD's problems are all listed from member digests.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use kiln_archive::{ArchiveWriter, Deflate, Limits, TarGzWriter, ZipWriter, read_tar_gz, read_zip};
use kiln_canon::{
    ArchiveKind, CanonError, MemberDifference, MemberDigest, RecordProblem, canonicalize_sdist,
    canonicalize_sdist_stream, canonicalize_wheel, canonicalize_wheel_stream, check_record,
    member_differences, record_path, record_problems,
};
use kiln_corpus::{Cache, CorpusFile, Kind, Manifest};
use kiln_names::Epoch;
use sha2::{Digest, Sha256};

const EPOCH_SECONDS: i64 = 1_700_000_000;
/// The pinned deflate settings of `pinned-toolchain.toml`.
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 1_048_576,
    solid_below: 128 << 10,
    solid_level: 5,
};

fn epoch() -> Epoch {
    Epoch::clamped(EPOCH_SECONDS)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[path = "support/foreign.rs"]
mod foreign;

type Member = (String, Vec<u8>, bool);

fn m(path: &str, data: &[u8], executable: bool) -> Member {
    (path.to_owned(), data.to_vec(), executable)
}

// ---------------------------------------------------------------- sdists

/// Bytewise sorted, as the canonical form writes them.
fn sdist_members() -> Vec<Member> {
    let long = format!("pkg-1.0/src/{}/module.py", "long_directory_name".repeat(6));
    let mut v = vec![
        m(
            "pkg-1.0/PKG-INFO",
            b"Metadata-Version: 2.4\nName: pkg\nVersion: 1.0\n",
            false,
        ),
        m("pkg-1.0/bin/run.sh", b"#!/bin/sh\necho hi\n", true),
        m("pkg-1.0/empty.txt", b"", false),
        m(
            "pkg-1.0/pkg/__init__.py",
            &b"print('hello')\n".repeat(300),
            false,
        ),
        m(
            "pkg-1.0/pkg/donn\u{e9}es/\u{e9}.txt",
            "\u{e9}\n".as_bytes(),
            false,
        ),
        m(
            "pkg-1.0/pyproject.toml",
            b"[project]\nname = \"pkg\"\n",
            false,
        ),
        (long, b"x = 1\n".to_vec(), false),
    ];
    v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    v
}

fn kiln_sdist(members: &[Member]) -> Vec<u8> {
    let mut w = TarGzWriter::new(Vec::new(), epoch().seconds(), DEFLATE);
    for (p, d, x) in members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

/// The same content as another tool would pack it: GNU headers (long names
/// through `././@LongLink`), directory entries, `./` prefixes, reversed
/// order, assorted modes, owners and mtimes, and a gzip header carrying a
/// file name and an mtime.
fn foreign_sdist(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o775);
        h.set_size(0);
        h.set_mtime(1_234_567_890);
        h.set_uid(1000);
        h.set_username("alice").unwrap();
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    dir(&mut b, "./");
    dir(&mut b, "./pkg-1.0/");
    dir(&mut b, "./pkg-1.0/pkg/");
    dir(&mut b, "./pkg-1.0/an-empty-dir/");
    for (i, (p, d, x)) in members.iter().rev().enumerate() {
        let mut h = foreign::foreign_tar_header(i, d.len() as u64, *x);
        b.append_data(&mut h, format!("./{p}"), &d[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .filename("pkg-1.0.tar")
        .mtime(1_650_000_000)
        .write(Vec::new(), flate2::Compression::new(9));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// A plain tar (ustar headers) of `entries` (path, data, directory?).
fn plain_tgz(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, d, is_dir) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(if *is_dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_mode(0o644);
        h.set_size(d.len() as u64);
        b.append_data(&mut h, p, &d[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn canon_sdist(bytes: &[u8]) -> Result<Vec<u8>, CanonError> {
    canonicalize_sdist(
        "pkg-1.0.tar.gz",
        bytes,
        epoch(),
        DEFLATE,
        &Limits::default(),
    )
}

#[test]
fn sdist_in_a_foreign_container_canonicalizes_to_kiln_bytes() {
    let members = sdist_members();
    let kiln = kiln_sdist(&members);
    let foreign = foreign_sdist(&members);
    assert!(kiln != foreign);
    assert!(canon_sdist(&foreign).unwrap() == kiln);
}

#[test]
fn canonicalizing_a_canonical_sdist_is_the_identity() {
    let kiln = kiln_sdist(&sdist_members());
    assert!(canon_sdist(&kiln).unwrap() == kiln);
    let once = canon_sdist(&foreign_sdist(&sdist_members())).unwrap();
    assert!(canon_sdist(&once).unwrap() == once);
}

#[test]
fn sdist_digest_is_pinned() {
    let canonical = canon_sdist(&foreign_sdist(&sdist_members())).unwrap();
    assert_eq!(
        sha256_hex(&canonical),
        "8c21867336290a47be2dfbbdb6feccf787575e7098c0fad920d51d96e68ba64c"
    );
}

#[test]
fn empty_directories_are_dropped_and_files_kept() {
    let bytes = foreign_sdist(&sdist_members());
    let out = read_tar_gz("out", &canon_sdist(&bytes).unwrap()[..], &Limits::default()).unwrap();
    let got: Vec<Member> = out
        .members
        .into_iter()
        .map(|t| (t.path, t.data, t.executable))
        .collect();
    assert_eq!(got, sdist_members());
}

#[test]
fn sdist_with_two_top_level_directories_names_the_stray_entry() {
    let bytes = plain_tgz(&[
        ("pkg-1.0/PKG-INFO", b"x", false),
        ("other/file.txt", b"y", false),
    ]);
    let err = canon_sdist(&bytes).unwrap_err();
    assert!(
        matches!(&err, CanonError::StrayEntry { member, top, .. } if member == "other/file.txt" && top == "pkg-1.0"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "pkg-1.0.tar.gz: other/file.txt: outside the top-level directory \"pkg-1.0\" (an sdist holds exactly one)"
    );
}

#[test]
fn sdist_with_a_top_level_file_or_stray_directory_is_refused() {
    let err = canon_sdist(&plain_tgz(&[
        ("pkg-1.0/PKG-INFO", b"x", false),
        ("setup.py", b"y", false),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, CanonError::StrayEntry { member, .. } if member == "setup.py"),
        "{err}"
    );
    let err = canon_sdist(&plain_tgz(&[
        ("pkg-1.0/PKG-INFO", b"x", false),
        ("elsewhere/", b"", true),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, CanonError::StrayEntry { member, .. } if member == "elsewhere/"),
        "{err}"
    );
}

#[test]
fn sdist_without_files_is_refused() {
    let err = canon_sdist(&plain_tgz(&[("pkg-1.0/", b"", true)])).unwrap_err();
    assert!(
        matches!(&err, CanonError::NoTopDirectory { member, .. } if member == "pkg-1.0/"),
        "{err}"
    );
}

#[test]
fn empty_wheel_is_refused_as_holding_no_file() {
    let empty = ZipWriter::new(Vec::new(), 1_700_000_000, DEFLATE)
        .unwrap()
        .finish()
        .unwrap();
    let err = canon_wheel(&empty).unwrap_err();
    assert!(matches!(&err, CanonError::EmptyWheel { .. }), "{err}");
    assert!(err.to_string().contains("holds no file"), "{err}");
}

#[test]
fn data_hidden_in_block_padding_is_refused_not_dropped() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o644);
    h.set_size(3);
    b.append_data(&mut h, "pkg-1.0/a.py", &b"x=1"[..]).unwrap();
    let mut tar = b.into_inner().unwrap();
    // The member's data is at 512..515; tar pads it with zeros to 1024.
    tar[515..527].copy_from_slice(b"hidden bytes");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).unwrap();
    let err = canon_sdist(&gz.finish().unwrap()).unwrap_err();
    assert!(
        matches!(&err, CanonError::Read { member, .. } if member.contains("pkg-1.0/a.py")),
        "{err}"
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("hidden in the block padding"), "{source}");
}

#[test]
fn sdist_with_a_symlink_is_refused_by_the_reader() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "pkg-1.0/link", "/etc/passwd")
        .unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).unwrap();
    let err = canon_sdist(&gz.finish().unwrap()).unwrap_err();
    assert!(
        matches!(&err, CanonError::Read { member, .. } if member.contains("pkg-1.0/link")),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let limits = Limits::default();
    for bytes in [
        &b""[..],
        b"\x1f\x8b\x08\0garbage",
        b"PK\x05\x06",
        &[0u8; 600],
    ] {
        assert!(canon_sdist(bytes).is_err());
        assert!(canonicalize_wheel("w.whl", bytes, epoch(), DEFLATE, &limits).is_err());
        assert!(member_differences(bytes, bytes, ArchiveKind::Sdist, &limits).is_err());
        assert!(member_differences(bytes, bytes, ArchiveKind::Wheel, &limits).is_err());
    }
    // Truncations of a valid archive.
    let wheel = kiln_wheel(&wheel_members());
    for cut in (0..wheel.len()).step_by(97) {
        assert!(canonicalize_wheel("w.whl", &wheel[..cut], epoch(), DEFLATE, &limits).is_err());
    }
    let sdist = kiln_sdist(&sdist_members());
    for cut in (0..sdist.len()).step_by(97) {
        assert!(canon_sdist(&sdist[..cut]).is_err());
    }
}

// ---------------------------------------------------------------- wheels

const DIST_INFO: &str = "pkg-1.0.dist-info";

fn record_row(path: &str, data: &[u8]) -> String {
    let hash = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data));
    let path = if path.contains([',', '"']) {
        format!("\"{}\"", path.replace('"', "\"\""))
    } else {
        path.to_owned()
    };
    format!("{path},sha256={hash},{}\n", data.len())
}

fn record_of(members: &[Member]) -> Vec<u8> {
    let mut record = String::new();
    for (p, d, _) in members {
        record.push_str(&record_row(p, d));
    }
    record.push_str(&format!("{DIST_INFO}/RECORD,,\n"));
    record.into_bytes()
}

/// In canonical order, RECORD last, RECORD listing a path with a comma.
fn wheel_members() -> Vec<Member> {
    let mut v = vec![
        m("pkg-1.0.data/scripts/tool", b"#!python\nprint(1)\n", true),
        m("pkg/__init__.py", &b"print('hello')\n".repeat(200), false),
        m("pkg/a,b \"quoted\".py", b"x = 1\n", false),
        m("pkg/empty.py", b"", false),
        m("pkg/native.so", &[0u8, 1, 2, 255, 254, 0, 0, 7], true),
    ];
    v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let meta = vec![
        m(
            &format!("{DIST_INFO}/METADATA"),
            b"Metadata-Version: 2.4\nName: pkg\nVersion: 1.0\n",
            false,
        ),
        m(
            &format!("{DIST_INFO}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            false,
        ),
        m(
            &format!("{DIST_INFO}/entry_points.txt"),
            b"[console_scripts]\npkg = pkg:main\n",
            false,
        ),
    ];
    v.extend(meta);
    let record = record_of(&v);
    v.push(m(&format!("{DIST_INFO}/RECORD"), &record, false));
    v
}

fn kiln_wheel(members: &[Member]) -> Vec<u8> {
    let mut w = ZipWriter::new(Vec::new(), epoch().seconds(), DEFLATE).unwrap();
    for (p, d, x) in members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

/// The same members as another tool would zip them: RECORD first and the
/// rest reversed, stored and deflated at other levels, other timestamps,
/// extra fields, directory entries and an archive comment.
fn foreign_wheel(members: &[Member]) -> Vec<u8> {
    foreign::foreign_zip(&["pkg/", &format!("{DIST_INFO}/")], members)
}

fn canon_wheel(bytes: &[u8]) -> Result<Vec<u8>, CanonError> {
    canonicalize_wheel(
        "pkg-1.0-py3-none-any.whl",
        bytes,
        epoch(),
        DEFLATE,
        &Limits::default(),
    )
}

#[test]
fn wheel_in_a_foreign_container_canonicalizes_to_kiln_bytes() {
    let members = wheel_members();
    let kiln = kiln_wheel(&members);
    let foreign = foreign_wheel(&members);
    assert!(kiln != foreign);
    let z = read_zip("foreign", &foreign, &Limits::default()).unwrap();
    assert!(z.members.iter().any(|m| m.method == 0));
    assert!(z.members.iter().any(|m| m.local_extra_len > 0));
    assert!(canon_wheel(&foreign).unwrap() == kiln);
}

#[test]
fn canonicalizing_a_canonical_wheel_is_the_identity() {
    let kiln = kiln_wheel(&wheel_members());
    assert!(canon_wheel(&kiln).unwrap() == kiln);
    let once = canon_wheel(&foreign_wheel(&wheel_members())).unwrap();
    assert!(canon_wheel(&once).unwrap() == once);
}

#[test]
fn wheel_order_is_members_then_dist_info_then_record() {
    let out = canon_wheel(&foreign_wheel(&wheel_members())).unwrap();
    let z = read_zip("out", &out, &Limits::default()).unwrap();
    let got: Vec<Member> = z
        .members
        .into_iter()
        .map(|m| (m.path, m.data, m.executable))
        .collect();
    assert_eq!(got, wheel_members());
}

#[test]
fn wheel_digest_is_pinned() {
    let canonical = canon_wheel(&foreign_wheel(&wheel_members())).unwrap();
    assert_eq!(
        sha256_hex(&canonical),
        "96bd3e90b72577dd86594ff821390974b0a854745478302f32a266ad0ce994a5"
    );
}

/// A wheel with `record` in place of the computed RECORD and `extra`
/// members added before it.
fn wheel_with_record(record: &str, drop: Option<&str>) -> Vec<u8> {
    let mut members: Vec<Member> = wheel_members()
        .into_iter()
        .filter(|(p, _, _)| Some(p.as_str()) != drop && !p.ends_with("/RECORD"))
        .collect();
    members.push(m(&format!("{DIST_INFO}/RECORD"), record.as_bytes(), false));
    kiln_wheel(&members)
}

fn good_record() -> String {
    String::from_utf8(wheel_members().last().unwrap().1.clone()).unwrap()
}

#[test]
fn wheel_with_a_wrong_hash_names_the_member_and_both_values() {
    let good = good_record();
    let right = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(b"x = 1\n"));
    let wrong = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(b"x = 2\n"));
    let record = good.replace(&right, &wrong);
    assert_ne!(record, good);
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::HashMismatch { member, .. } if member == "pkg/a,b \"quoted\".py"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("sha256={wrong}")) && text.contains(&format!("sha256={right}")),
        "{text}"
    );
}

#[test]
fn wheel_with_a_wrong_size_names_the_member() {
    let record = good_record().replace(
        "pkg/empty.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0",
        "pkg/empty.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,1",
    );
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::SizeMismatch { member, actual: 0, .. } if member == "pkg/empty.py"),
        "{err}"
    );
}

#[test]
fn wheel_member_missing_from_record_is_named() {
    let record: String = good_record()
        .lines()
        .filter(|l| !l.starts_with("pkg/native.so,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::NotInRecord { member, .. } if member == "pkg/native.so"),
        "{err}"
    );
}

#[test]
fn record_row_without_a_member_is_named() {
    let err = canon_wheel(&wheel_with_record(&good_record(), Some("pkg/native.so"))).unwrap_err();
    assert!(
        matches!(&err, CanonError::RecordRowWithoutMember { member, line: 5, .. } if member == "pkg/native.so"),
        "{err}"
    );
}

#[test]
fn duplicate_record_rows_are_refused() {
    let good = good_record();
    let first = good.lines().next().unwrap();
    let record = format!("{first}\n{good}");
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::DuplicateRecordRow { member, first: 1, line: 2, .. } if member == "pkg-1.0.data/scripts/tool"),
        "{err}"
    );
}

#[test]
fn malformed_record_is_a_syntax_error() {
    let record = format!("{}\"unterminated,sha256=x,1\n", good_record());
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::RecordSyntax { member, line: 10, .. } if member == "pkg-1.0.dist-info/RECORD"),
        "{err}"
    );
    let record = format!("{}extra,row\n", good_record());
    let err = canon_wheel(&wheel_with_record(&record, None)).unwrap_err();
    assert!(matches!(&err, CanonError::RecordSyntax { .. }), "{err}");
}

#[test]
fn wheel_without_record_or_with_two_dist_infos_is_refused() {
    let members: Vec<Member> = wheel_members()
        .into_iter()
        .filter(|(p, _, _)| !p.ends_with("RECORD"))
        .collect();
    let err = canon_wheel(&kiln_wheel(&members)).unwrap_err();
    assert!(
        matches!(&err, CanonError::MissingRecord { member, .. } if member == "pkg-1.0.dist-info/RECORD"),
        "{err}"
    );

    let mut members = wheel_members();
    members.insert(0, m("other-2.0.dist-info/METADATA", b"x", false));
    let err = canon_wheel(&kiln_wheel(&members)).unwrap_err();
    assert!(
        matches!(&err, CanonError::DistInfoCount { found, .. } if found.len() == 2),
        "{err}"
    );
}

#[test]
fn record_signatures_need_no_row() {
    let mut members = wheel_members();
    // Canonical order: RECORD.jws sorts between METADATA and WHEEL.
    let at = members
        .iter()
        .position(|(p, _, _)| p.ends_with("/WHEEL"))
        .unwrap();
    members.insert(
        at,
        m(
            &format!("{DIST_INFO}/RECORD.jws"),
            b"{\"signature\": 1}",
            false,
        ),
    );
    let bytes = kiln_wheel(&members);
    check_record("w", &read_zip("w", &bytes, &Limits::default()).unwrap()).unwrap();
    assert!(canon_wheel(&bytes).unwrap() == bytes);
}

// ------------------------------------------------------ member differences

#[test]
fn member_differences_lists_what_varies() {
    let limits = Limits::default();
    let a = sdist_members();
    let mut b = sdist_members();
    b.retain(|(p, _, _)| p != "pkg-1.0/empty.txt");
    for (p, d, x) in &mut b {
        if p == "pkg-1.0/bin/run.sh" {
            *x = false;
        }
        if p == "pkg-1.0/PKG-INFO" {
            d.push(b'\n');
        }
    }
    b.push(m("pkg-1.0/zz-new.txt", b"new", false));
    // Same content, different containers: no difference.
    let same = member_differences(
        &kiln_sdist(&a),
        &foreign_sdist(&a),
        ArchiveKind::Sdist,
        &limits,
    )
    .unwrap();
    assert_eq!(same, Vec::new());
    let diff = member_differences(
        &foreign_sdist(&a),
        &kiln_sdist(&b),
        ArchiveKind::Sdist,
        &limits,
    )
    .unwrap();
    let pkg_info_a = sha256_hex(&a[0].1);
    let pkg_info_b = sha256_hex(&b[0].1);
    assert_eq!(
        diff,
        vec![
            MemberDifference {
                path: "pkg-1.0/PKG-INFO".into(),
                what: format!("bytes differ (sha256 {pkg_info_a} vs {pkg_info_b}, 45 vs 46 bytes)"),
            },
            MemberDifference {
                path: "pkg-1.0/bin/run.sh".into(),
                what: "executable bit differs".into(),
            },
            MemberDifference {
                path: "pkg-1.0/empty.txt".into(),
                what: "only in a".into(),
            },
            MemberDifference {
                path: "pkg-1.0/zz-new.txt".into(),
                what: "only in b".into(),
            },
        ]
    );

    let wa = wheel_members();
    let mut wb = wheel_members();
    wb[4].1 = vec![9, 9, 9];
    let diff = member_differences(
        &kiln_wheel(&wa),
        &foreign_wheel(&wb),
        ArchiveKind::Wheel,
        &limits,
    )
    .unwrap();
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0].path, "pkg/native.so");
    assert!(
        diff[0].what.ends_with(", 8 vs 3 bytes)"),
        "{}",
        diff[0].what
    );
}

// ------------------------------------------------------------ the corpus

/// The corpus cache: `target/kiln-corpus/` of the workspace, or
/// `$KILN_CORPUS_CACHE`; `$SSL_CERT_FILE` names the CA bundle when a proxy
/// intercepts TLS.
fn corpus_cache() -> Cache {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kiln-corpus");
    #[allow(clippy::disallowed_methods)] // the test run's settings
    Cache::with_settings(target, |name| std::env::var_os(name).map(PathBuf::from))
}

/// The path of a corpus file, downloaded on first use and checked against
/// the committed manifest's sha256.
fn corpus_path(file: &CorpusFile) -> PathBuf {
    corpus_cache()
        .path(file)
        .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)))
}

fn corpus_files(kind: Kind) -> Vec<PathBuf> {
    let manifest = Manifest::committed().unwrap();
    let mut files: Vec<PathBuf> = manifest.files(kind).into_iter().map(corpus_path).collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus has no {kind}");
    files
}

type Content = BTreeMap<String, (Vec<u8>, bool)>;

fn tar_content(name: &str, bytes: &[u8]) -> Content {
    read_tar_gz(name, bytes, &Limits::default())
        .unwrap()
        .members
        .into_iter()
        .filter(|t| t.kind == kiln_archive::TarKind::File)
        .map(|t| {
            (
                t.path.trim_start_matches("./").to_owned(),
                (t.data, t.executable),
            )
        })
        .collect()
}

fn zip_content(name: &str, bytes: &[u8]) -> Content {
    read_zip(name, bytes, &Limits::default())
        .unwrap()
        .members
        .into_iter()
        .filter(|z| z.kind == kiln_archive::ZipKind::File)
        .map(|z| (z.path, (z.data, z.executable)))
        .collect()
}

#[test]
fn corpus_sdists_canonicalize_with_their_content_kept() {
    for path in corpus_files(Kind::Sdist) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let canonical = canonicalize_sdist(name, &bytes, epoch(), DEFLATE, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)));
        assert_eq!(
            tar_content(name, &canonical),
            tar_content(name, &bytes),
            "{name}"
        );
        let again =
            canonicalize_sdist(name, &canonical, epoch(), DEFLATE, &Limits::default()).unwrap();
        assert!(
            again == canonical,
            "{name}: canonicalizing is not idempotent"
        );
        let diff =
            member_differences(&bytes, &canonical, ArchiveKind::Sdist, &Limits::default()).unwrap();
        assert_eq!(diff, Vec::new(), "{name}");
    }
}

#[test]
fn corpus_wheels_pass_the_record_check_and_canonicalize_with_their_content_kept() {
    for path in corpus_files(Kind::Wheel) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        check_record(name, &read_zip(name, &bytes, &Limits::default()).unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        let canonical = canonicalize_wheel(name, &bytes, epoch(), DEFLATE, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)));
        assert_eq!(
            zip_content(name, &canonical),
            zip_content(name, &bytes),
            "{name}"
        );
        let out = read_zip(name, &canonical, &Limits::default()).unwrap();
        assert!(
            out.members
                .last()
                .unwrap()
                .path
                .ends_with(".dist-info/RECORD"),
            "{name}"
        );
        check_record(name, &out).unwrap();
        let again =
            canonicalize_wheel(name, &canonical, epoch(), DEFLATE, &Limits::default()).unwrap();
        assert!(
            again == canonical,
            "{name}: canonicalizing is not idempotent"
        );
        let diff =
            member_differences(&bytes, &canonical, ArchiveKind::Wheel, &Limits::default()).unwrap();
        assert_eq!(diff, Vec::new(), "{name}");
    }
}

#[test]
fn corpus_six_digests_are_pinned() {
    let manifest = Manifest::committed().unwrap();
    let wheel = std::fs::read(corpus_path(manifest.get("six", Kind::Wheel).unwrap())).unwrap();
    let canonical =
        canonicalize_wheel("six.whl", &wheel, epoch(), DEFLATE, &Limits::default()).unwrap();
    assert_eq!(
        sha256_hex(&canonical),
        "b409f19c69fba978d56ef7eb169ddff8dc75d44b05c7a45a59e4a5fc462a3d24"
    );
    let sdist = std::fs::read(corpus_path(manifest.get("six", Kind::Sdist).unwrap())).unwrap();
    let canonical =
        canonicalize_sdist("six.tar.gz", &sdist, epoch(), DEFLATE, &Limits::default()).unwrap();
    assert_eq!(
        sha256_hex(&canonical),
        "93022c9f63d7528df931e7d5a9dd7452fde30e7e54ccf6aea7d479ea9f9f7f2a"
    );
}

// ------------------------------------------------------------- streaming

/// An error with its sources, to compare two errors completely.
fn chain(e: &CanonError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(" <- {s}"));
        source = s.source();
    }
    text
}

fn outcome(r: Result<Vec<u8>, CanonError>) -> Result<String, String> {
    r.map(|bytes| sha256_hex(&bytes)).map_err(|e| chain(&e))
}

fn stream_sdist(name: &str, reader: impl std::io::Read) -> Result<Vec<u8>, CanonError> {
    let mut spool = tempfile::tempfile().unwrap();
    canonicalize_sdist_stream(
        name,
        reader,
        &mut spool,
        epoch(),
        DEFLATE,
        &Limits::default(),
        Vec::new(),
    )
}

fn stream_wheel(
    name: &str,
    reader: impl std::io::Read + std::io::Seek,
) -> Result<Vec<u8>, CanonError> {
    canonicalize_wheel_stream(
        name,
        reader,
        epoch(),
        DEFLATE,
        &Limits::default(),
        std::io::Cursor::new(Vec::new()),
    )
    .map(std::io::Cursor::into_inner)
}

#[test]
fn streaming_gives_the_in_memory_bytes_and_errors() {
    let name = "pkg-1.0.tar.gz";
    let sdists = [
        kiln_sdist(&sdist_members()),
        foreign_sdist(&sdist_members()),
        plain_tgz(&[("a-1/x", b"1", false), ("b-1/y", b"2", false)]),
        plain_tgz(&[("a-1/", b"", true)]),
        foreign_sdist(&sdist_members())[..300].to_vec(),
        b"not a tarball".to_vec(),
    ];
    for (i, bytes) in sdists.iter().enumerate() {
        let memory = outcome(canon_sdist(bytes));
        assert_eq!(
            outcome(stream_sdist(name, &bytes[..])),
            memory,
            "sdist #{i}"
        );
        assert_eq!(i < 2, memory.is_ok(), "sdist #{i}: {memory:?}");
    }
    let name = "pkg-1.0-py3-none-any.whl";
    let good = good_record();
    let wheels = [
        kiln_wheel(&wheel_members()),
        foreign_wheel(&wheel_members()),
        wheel_with_record(&good.replace(",6\n", ",7\n"), None),
        wheel_with_record(&good, Some("pkg/native.so")),
        wheel_with_record("\"open,,\n", None),
        kiln_wheel(&wheel_members()[..3]),
        foreign_wheel(&wheel_members())[..500].to_vec(),
    ];
    for (i, bytes) in wheels.iter().enumerate() {
        let memory = outcome(canon_wheel(bytes));
        assert_eq!(
            outcome(stream_wheel(name, Cursor::new(bytes))),
            memory,
            "wheel #{i}"
        );
        assert_eq!(i < 2, memory.is_ok(), "wheel #{i}: {memory:?}");
    }
}

#[test]
fn corpus_streaming_from_disk_gives_the_in_memory_bytes() {
    for path in corpus_files(Kind::Sdist) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let memory = canon_sdist_named(name, &std::fs::read(&path).unwrap());
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let streamed = stream_sdist(name, file).unwrap();
        assert!(streamed == memory, "{name}");
    }
    for path in corpus_files(Kind::Wheel) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let memory = canonicalize_wheel(
            name,
            &std::fs::read(&path).unwrap(),
            epoch(),
            DEFLATE,
            &Limits::default(),
        )
        .unwrap();
        let streamed = stream_wheel(name, std::fs::File::open(&path).unwrap()).unwrap();
        assert!(streamed == memory, "{name}");
    }
}

fn canon_sdist_named(name: &str, bytes: &[u8]) -> Vec<u8> {
    canonicalize_sdist(name, bytes, epoch(), DEFLATE, &Limits::default()).unwrap()
}

#[test]
fn the_sdist_spool_is_appended_to_and_its_failure_is_reported() {
    use std::io::{Read, Seek, SeekFrom};
    let members = sdist_members();
    let bytes = foreign_sdist(&members);
    // Whatever the spool held before is left alone; the files' data is
    // appended after it, in archive order.
    let mut spool = tempfile::tempfile().unwrap();
    spool.write_all(b"before").unwrap();
    let out = canonicalize_sdist_stream(
        "s.tar.gz",
        &bytes[..],
        &mut spool,
        epoch(),
        DEFLATE,
        &Limits::default(),
        Vec::new(),
    )
    .unwrap();
    assert!(out == kiln_sdist(&members));
    let mut spooled = Vec::new();
    spool.seek(SeekFrom::Start(0)).unwrap();
    spool.read_to_end(&mut spooled).unwrap();
    let mut expected = b"before".to_vec();
    for (_, data, _) in members.iter().rev() {
        expected.extend_from_slice(data);
    }
    assert_eq!(spooled, expected);

    // A spool that cannot be written (opened read-only) is the spool's
    // fault, not the archive's, and says so.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool");
    std::fs::write(&path, b"").unwrap();
    let mut read_only = std::fs::File::open(&path).unwrap();
    let err = canonicalize_sdist_stream(
        "s.tar.gz",
        &bytes[..],
        &mut read_only,
        epoch(),
        DEFLATE,
        &Limits::default(),
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, CanonError::Spool { member, .. } if member.ends_with("module.py")),
        "{err}"
    );
}

#[test]
fn streaming_stops_bombs_naming_the_member() {
    // An sdist whose gzip stream inflates past the ratio bound: stopped
    // while the member is being spooled, naming it, long before its end.
    let zeros = vec![0u8; 64 << 20];
    let bomb = kiln_sdist(&[m("pkg-1.0/zeros", &zeros, false)]);
    let mut spool = tempfile::tempfile().unwrap();
    let err = canonicalize_sdist_stream(
        "bomb.tar.gz",
        &bomb[..],
        &mut spool,
        epoch(),
        DEFLATE,
        &Limits {
            max_ratio: 50,
            ..Limits::default()
        },
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, CanonError::Read { member, .. } if member == "\"pkg-1.0/zeros\""),
        "{err}"
    );
    assert!(chain(&err).contains("compression ratio"), "{}", chain(&err));
    assert!(spool.metadata().unwrap().len() < 16 << 20);

    // A wheel member declaring 1 MiB that inflates to 8 MiB: stopped at
    // the declared size, naming it. Patch the size in both headers.
    let mut wheel = kiln_wheel(&[m("pkg/zeros", &zeros[..8 << 20], false)]);
    let declared = (1u32 << 20).to_le_bytes();
    wheel[22..26].copy_from_slice(&declared);
    let eocd = wheel.len() - 22;
    let cd = u32::from_le_bytes(wheel[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    wheel[cd + 24..cd + 28].copy_from_slice(&declared);
    let err = stream_wheel("bomb.whl", Cursor::new(&wheel)).unwrap_err();
    assert!(
        matches!(&err, CanonError::Read { member, .. } if member == "\"pkg/zeros\""),
        "{err}"
    );
    assert!(
        chain(&err).contains("inflates to more than its declared size"),
        "{}",
        chain(&err)
    );
}

/// The digests of a wheel's regular files, as a streaming reader makes them.
fn digests(members: &[Member]) -> Vec<MemberDigest> {
    members
        .iter()
        .map(|(p, d, _)| MemberDigest::of_bytes(p.as_str(), d))
        .collect()
}

fn no_sha512(path: &str) -> Result<[u8; 64], CanonError> {
    panic!("sha512 of {path} asked for, but no row records one")
}

#[test]
fn record_problems_lists_every_problem_sorted_by_member() {
    let members = wheel_members();
    let record = members.last().unwrap().1.clone();
    let ok = record_problems("w.whl", &digests(&members), &record, &mut no_sha512).unwrap();
    assert_eq!(ok, Vec::<RecordProblem>::new());

    let good = good_record();
    let right = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(b"x = 1\n"));
    let wrong = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(b"x = 2\n"));
    let bad: String = good
        .replace(&right, &wrong)
        .replace(
            "pkg/empty.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0",
            "pkg/empty.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,1",
        )
        .lines()
        .filter(|l| !l.starts_with("pkg/native.so,"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "pkg/gone.py,sha256=abc,3\npkg/empty.py,,\nbroken,row\npkg/md5.py,md5=abc,1\n";
    let mut members = members;
    members.insert(0, m("pkg/md5.py", b"1", false));
    let problems =
        record_problems("w.whl", &digests(&members), bad.as_bytes(), &mut no_sha512).unwrap();
    let e = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(b""));
    // A malformed row is reported once, as RECORD's problem.
    let want = [
        (
            "pkg-1.0.dist-info/RECORD",
            "RECORD line 11: malformed: expected 3 fields (path,hash,size), found 2",
        ),
        (
            "pkg/a,b \"quoted\".py",
            &format!("RECORD says sha256={wrong} size 6, member has sha256={right} size 6"),
        ),
        ("pkg/empty.py", "listed twice in RECORD (lines 4 and 10)"),
        (
            "pkg/empty.py",
            &format!("RECORD says sha256={e} size 1, member has sha256={e} size 0"),
        ),
        (
            "pkg/gone.py",
            "listed in RECORD (line 9) but not in the wheel",
        ),
        (
            "pkg/md5.py",
            "RECORD gives an unsupported hash \"md5=abc\" (sha256 or sha512 expected)",
        ),
        ("pkg/native.so", "not listed in RECORD"),
    ];
    let got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.member.as_str(), p.problem.as_str()))
        .collect();
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (*a, *b)).collect();
    assert_eq!(got, want);

    // Layouts that hide RECORD are errors, not problems.
    let no_record: Vec<Member> = wheel_members()
        .into_iter()
        .filter(|(p, _, _)| !p.ends_with("/RECORD"))
        .collect();
    let err = record_problems("w.whl", &digests(&no_record), b"", &mut no_sha512).unwrap_err();
    assert!(matches!(err, CanonError::MissingRecord { .. }), "{err}");
    let err = record_path(
        "w.whl",
        ["pkg/a.py", "a-1.dist-info/RECORD", "b-1.dist-info/RECORD"],
    )
    .unwrap_err();
    assert!(matches!(err, CanonError::DistInfoCount { .. }), "{err}");
    assert_eq!(
        record_path("w.whl", ["pkg/", "p-1.dist-info/", "p-1.dist-info/RECORD"]).unwrap(),
        "p-1.dist-info/RECORD"
    );
}

#[test]
fn sha512_rows_are_checked_through_the_callback_and_when_streaming() {
    let mut members = wheel_members();
    members.pop();
    let sha512 = |d: &[u8]| kiln_digest::Digests::of_bytes(d).sha512;
    let native = members
        .iter()
        .find(|(p, _, _)| p == "pkg/native.so")
        .unwrap()
        .1
        .clone();
    let row = format!(
        "pkg/native.so,sha512={},8\n",
        kiln_digest::urlsafe_b64_nopad(&sha512(&native))
    );
    let record: String = good_record()
        .lines()
        .map(|l| {
            if l.starts_with("pkg/native.so,") {
                row.clone()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    members.push(m(&format!("{DIST_INFO}/RECORD"), record.as_bytes(), false));
    let mut asked = Vec::new();
    let problems = record_problems("w.whl", &digests(&members), record.as_bytes(), &mut |p| {
        asked.push(p.to_owned());
        Ok(sha512(&native))
    })
    .unwrap();
    assert_eq!(
        (problems, asked),
        (vec![], vec!["pkg/native.so".to_owned()])
    );
    let problems = record_problems("w.whl", &digests(&members), record.as_bytes(), &mut |_| {
        Ok(sha512(b"other"))
    })
    .unwrap();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].problem.contains("member has sha512="),
        "{problems:?}"
    );
    // The streaming canonicalizer re-reads the member for its sha512.
    let wheel = kiln_wheel(&members);
    assert!(stream_wheel("w.whl", Cursor::new(&wheel)).unwrap() == wheel);
}

#[test]
fn record_amplifying_memory_is_refused_before_it_is_kept() {
    // Over 16 MiB of RECORD (compressing to almost nothing): refused by
    // size before it is kept, naming RECORD.
    let mut big = good_record();
    big.push_str(&"x,,\n".repeat(4_500_000));
    let err = canon_wheel(&wheel_with_record(&big, None)).unwrap_err();
    assert!(
        matches!(&err, CanonError::RecordTooLarge { member, size, .. }
            if member.ends_with("/RECORD") && *size > 16 << 20),
        "{err}"
    );
    // Millions of short rows under that size: refused at the first row past
    // what any wheel can list (3,000,000 rows once took 1.2 GB).
    let mut many = good_record();
    many.push_str(&"x,,\n".repeat(3_000_000));
    let err = canon_wheel(&wheel_with_record(&many, None)).unwrap_err();
    assert!(err.to_string().contains("more than 65,536 rows"), "{err}");
    // A row of a million fields is reported with its count, not kept.
    let mut wide = good_record();
    wide.push_str(&format!("y{}\n", ",".repeat(999_999)));
    let err = canon_wheel(&wheel_with_record(&wide, None)).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected 3 fields (path,hash,size), found 1000000"),
        "{err}"
    );
}

#[test]
fn files_on_disk_are_normalized_atomically_in_the_order_given() {
    use kiln_canon::file::{FileError, normalize_files};
    use kiln_names::ArtifactKind;
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path().join("in/pkg-1.0.tar.gz");
    std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    std::fs::write(&foreign, foreign_sdist(&sdist_members())).unwrap();
    let out = tmp.path().join("out");
    let jobs = vec![
        (
            foreign.clone(),
            ArtifactKind::Sdist,
            out.join("pkg-1.0.tar.gz"),
        ),
        (
            tmp.path().join("in/missing-1.0.tar.gz"),
            ArtifactKind::Sdist,
            out.join("missing-1.0.tar.gz"),
        ),
        (
            foreign.clone(),
            ArtifactKind::Sdist,
            out.join("again-1.0.tar.gz"),
        ),
    ];
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let results = normalize_files(&jobs, 2, epoch(), DEFLATE, &Limits::default(), &|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(calls.into_inner(), 3);
    let first = results[0].as_ref().unwrap();
    let canonical = std::fs::read(out.join("pkg-1.0.tar.gz")).unwrap();
    assert_eq!(sha256_hex(&canonical), first.after.sha256_hex());
    assert_eq!(
        first.after.sha256_hex(),
        "8c21867336290a47be2dfbbdb6feccf787575e7098c0fad920d51d96e68ba64c"
    );
    assert_ne!(first.before.sha256, first.after.sha256);
    assert!(matches!(results[1], Err(FileError::Digest(_))));
    assert!(!out.join("missing-1.0.tar.gz").exists());
    assert_eq!(
        results[2].as_ref().unwrap().after.sha256,
        first.after.sha256
    );
    // Nothing but the outputs is left in the directory.
    #[allow(clippy::disallowed_methods)] // Sorted below.
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["again-1.0.tar.gz", "pkg-1.0.tar.gz"]);
}
