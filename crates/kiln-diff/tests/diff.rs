//! Integration tests of the three answers: archives built with kiln's own
//! writers and, for foreign containers, the independent `tar`, `zip` and
//! `flate2` crates; each test asserts the exact level, container
//! categories, members and metadata fields, so a diff that says too much
//! or too little fails. The real-world corpus (kiln-corpus's pinned
//! releases, downloaded on first use into `target/kiln-corpus/`) checks
//! real wheels against their canonicalized form and against each other.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use kiln_archive::{ArchiveWriter, Deflate, Limits, TarGzWriter, ZipWriter};
use kiln_corpus::{Cache, Kind, Manifest};
use kiln_diff::{
    ArchiveKind, Category, ChangeDetail, ChangeKind, DiffError, DiffOptions, DiffReport,
    FieldChangeKind, Level, RecordStatus, diff_files,
};

const EPOCH: u64 = 1_700_000_000;
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 1 << 20,
    solid_below: 128 << 10,
    solid_level: 5,
};

#[path = "../../kiln-canon/tests/support/foreign.rs"]
mod foreign;

type Member = (String, Vec<u8>, bool);

fn m(path: &str, data: &[u8], executable: bool) -> Member {
    (path.to_owned(), data.to_vec(), executable)
}

fn sha256_hex(data: &[u8]) -> String {
    kiln_digest::hex(&kiln_digest::sha256(data))
}

// ------------------------------------------------------------- helpers

/// Write `a` and `b` under their names (in separate directories, so the
/// names may be equal) and diff them.
fn diff_with(
    a_name: &str,
    a: &[u8],
    b_name: &str,
    b: &[u8],
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let dir = tempfile::tempdir().unwrap();
    let pa = dir.path().join("a").join(a_name);
    let pb = dir.path().join("b").join(b_name);
    for (p, bytes) in [(&pa, a), (&pb, b)] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    diff_files(&pa, &pb, a_name, b_name, opts)
}

fn diff(a_name: &str, a: &[u8], b_name: &str, b: &[u8]) -> DiffReport {
    let report = diff_with(a_name, a, b_name, b, &DiffOptions::default())
        .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)));
    // Every report renders and serializes.
    assert!(!report.render().is_empty());
    serde_json::to_string(&report).unwrap();
    report
}

fn categories(r: &DiffReport) -> Vec<Category> {
    r.container.iter().map(|c| c.category).collect()
}

fn changes(r: &DiffReport) -> Vec<(ChangeKind, String)> {
    r.members
        .iter()
        .map(|m| (m.change, m.path.clone()))
        .collect()
}

fn first_line(r: &DiffReport) -> String {
    r.render().lines().next().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------- sdists

fn sdist(members: &[Member], epoch: u64, level: u32) -> Vec<u8> {
    let mut members = members.to_vec();
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let deflate = Deflate {
        level,
        solid_level: level,
        ..DEFLATE
    };
    let mut w = TarGzWriter::new(Vec::new(), epoch, deflate);
    for (p, d, x) in &members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

const PKG_INFO: &str = "Metadata-Version: 2.4\nName: p\nVersion: 1.0\nSummary: A test project\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python :: 3\n\nThe description.\n";

fn init_py() -> Vec<u8> {
    (0..40)
        .map(|i| format!("VALUE_{i} = {i}\n"))
        .collect::<String>()
        .into_bytes()
}

fn sdist_members(top: &str) -> Vec<Member> {
    vec![
        m(&format!("{top}/PKG-INFO"), PKG_INFO.as_bytes(), false),
        m(
            &format!("{top}/pyproject.toml"),
            b"[project]\nname = \"p\"\n",
            false,
        ),
        m(&format!("{top}/src/p/__init__.py"), &init_py(), false),
        m(&format!("{top}/src/p/data.bin"), &[0, 1, 2, 3, 255], false),
        m(&format!("{top}/bin/run.sh"), b"#!/bin/sh\necho hi\n", true),
    ]
}

#[test]
fn identical_archives_are_identical() {
    let a = sdist(&sdist_members("p-1.0"), EPOCH, 6);
    let r = diff("p-1.0.tar.gz", &a, "p-1.0.tar.gz", &a);
    assert_eq!(r.level, Level::Identical);
    assert!(r.is_identical());
    assert_eq!(first_line(&r), "identical");
    assert_eq!(r.a_file.sha256, sha256_hex(&a));
    assert!(r.container.is_empty() && r.members.is_empty() && r.metadata.is_empty());
    assert_eq!(r.record.a.status, RecordStatus::NotApplicable);
}

#[test]
fn sdist_at_another_epoch_differs_in_timestamps_only() {
    let members = sdist_members("p-1.0");
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&members, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&members, EPOCH + 3600, 6),
    );
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(categories(&r), [Category::Timestamps]);
    assert_eq!(r.container[0].count, 5);
    assert_eq!(
        r.container[0].examples[0],
        format!("p-1.0/PKG-INFO: mtime {EPOCH} vs {}", EPOCH + 3600)
    );
    assert_eq!(
        first_line(&r),
        "same content, container differs: timestamps"
    );
}

#[test]
fn sdist_at_another_compression_level_differs_in_compression_only() {
    let members = sdist_members("p-1.0");
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&members, EPOCH, 1),
        "p-1.0.tar.gz",
        &sdist(&members, EPOCH, 9),
    );
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(categories(&r), [Category::Compression]);
    assert!(
        r.container[0].examples[0].starts_with("deflate streams differ"),
        "{:?}",
        r.container
    );
}

/// The same content as GNU tar run on `.` would pack it: directory
/// entries and `./` prefixes, otherwise the canonical header fields, and
/// the canonical gzip header.
fn sdist_with_directories_and_dot_slash(members: &[Member]) -> Vec<u8> {
    let mut members = members.to_vec();
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut b = tar::Builder::new(Vec::new());
    let header = |kind, mode, size| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(EPOCH);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    for d in ["./", "./p-1.0/", "./p-1.0/bin/", "./p-1.0/src/"] {
        let h = header(tar::EntryType::Directory, 0o755, 0);
        append_raw(&mut b, h, d, b"");
    }
    for (p, d, x) in &members {
        let h = header(
            tar::EntryType::Regular,
            if *x { 0o755 } else { 0o644 },
            d.len() as u64,
        );
        append_raw(&mut b, h, &format!("./{p}"), d);
    }
    let tar = b.into_inner().unwrap();
    gzip_like_kiln(&tar)
}

/// Append with the name as given: the `tar` crate's `append_data` would
/// normalize `./` prefixes away.
fn append_raw(b: &mut tar::Builder<Vec<u8>>, mut h: tar::Header, name: &str, data: &[u8]) {
    let bytes = h.as_mut_bytes();
    bytes[..100].fill(0);
    bytes[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// gzip with kiln's header (mtime 0, XFL 0, OS 255, no name).
fn gzip_like_kiln(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    deflate.write_all(data).unwrap();
    out.extend(deflate.finish().unwrap());
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// The example sdist as `write` packs it against kiln's canonical one:
/// the same content, in another container.
fn against_the_canonical_sdist(write: fn(&[Member]) -> Vec<u8>) -> DiffReport {
    let members = sdist_members("p-1.0");
    let a = write(&members);
    let r = diff(
        "p-1.0.tar.gz",
        &a,
        "p-1.0.tar.gz",
        &sdist(&members, EPOCH, 6),
    );
    assert_eq!(r.level, Level::SameContent, "{}", r.render());
    r
}

#[test]
fn sdist_with_directory_entries_and_dot_slash_prefixes_has_the_same_content() {
    let r = against_the_canonical_sdist(sdist_with_directories_and_dot_slash);
    assert_eq!(
        categories(&r),
        [Category::DirectoryEntries, Category::DotSlashPrefixes],
        "{}",
        r.render()
    );
    let dirs = &r.container[0];
    assert_eq!(dirs.count, 4);
    assert_eq!(dirs.examples[0], "only in a: \"./\"");
    assert_eq!(r.container[1].count, 5);
    assert_eq!(
        first_line(&r),
        "same content, container differs: directory entries, ./ prefixes"
    );
}

/// What another tool might write: GNU headers, directories, `./`,
/// reversed order, other modes, owners and mtimes, a named gzip header.
fn foreign_sdist(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o775);
    dir.set_size(0);
    dir.set_mtime(1_234_567_890);
    append_raw(&mut b, dir, "./p-1.0/", b"");
    for (i, (p, d, x)) in members.iter().rev().enumerate() {
        let h = foreign::foreign_tar_header(i, d.len() as u64, *x);
        append_raw(&mut b, h, &format!("./{p}"), d);
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .filename("p-1.0.tar")
        .mtime(1_650_000_000)
        .write(Vec::new(), flate2::Compression::new(9));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn foreign_sdist_lists_every_container_difference() {
    let r = against_the_canonical_sdist(foreign_sdist);
    assert_eq!(
        categories(&r),
        [
            Category::MemberOrder,
            Category::Timestamps,
            Category::Modes,
            Category::Owners,
            Category::GzipHeader,
            Category::TarFormat,
            Category::DirectoryEntries,
            Category::DotSlashPrefixes,
        ],
        "{}",
        r.render()
    );
    let gzip = &r.container[4];
    assert_eq!(
        gzip.examples,
        [
            "mtime 1650000000 vs 0",
            "XFL 2 vs 0",
            "FNAME \"p-1.0.tar\" vs (none)"
        ]
    );
    assert_eq!(gzip.count, 3);
    let owners = &r.container[3];
    assert_eq!(
        owners.examples[0],
        "p-1.0/PKG-INFO: 501:20 (\"bob\":\"staff\") vs 0:0 (\"\":\"\")"
    );
}

#[test]
fn one_changed_byte_in_a_text_member_gives_a_unified_diff() {
    let a = sdist_members("p-1.0");
    let mut b = a.clone();
    let text = String::from_utf8(b[2].1.clone()).unwrap();
    b[2].1 = text.replace("VALUE_20 = 20", "VALUE_20 = 21").into_bytes();
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 6),
    );
    assert_eq!(r.level, Level::DifferentContent);
    assert_eq!(
        changes(&r),
        [(ChangeKind::Changed, "p-1.0/src/p/__init__.py".to_owned())]
    );
    let ChangeDetail::Text(d) = &r.members[0].detail else {
        panic!("{:?}", r.members[0].detail)
    };
    assert_eq!(
        d.lines,
        [
            "--- a/p-1.0/src/p/__init__.py",
            "+++ b/p-1.0/src/p/__init__.py",
            "@@ -18,7 +18,7 @@",
            " VALUE_17 = 17",
            " VALUE_18 = 18",
            " VALUE_19 = 19",
            "-VALUE_20 = 20",
            "+VALUE_20 = 21",
            " VALUE_21 = 21",
            " VALUE_22 = 22",
            " VALUE_23 = 23",
        ]
    );
    assert!(!d.truncated && d.minimal);
    // The tar headers of the changed member differ (size, checksum), but
    // no container category is claimed for a content change.
    assert_eq!(categories(&r), []);
    assert_eq!(
        first_line(&r),
        "different content: 1 changed, 0 added, 0 removed"
    );
    let text = r.render();
    assert!(
        text.contains("  changed p-1.0/src/p/__init__.py: 540 → 540 bytes"),
        "{text}"
    );
    assert!(
        text.contains("      -VALUE_20 = 20\n      +VALUE_20 = 21\n"),
        "{text}"
    );
}

#[test]
fn long_diffs_are_cut_and_say_so() {
    let a = sdist_members("p-1.0");
    let mut b = a.clone();
    b[2].1 = String::from_utf8(init_py())
        .unwrap()
        .replace("VALUE", "value")
        .into_bytes();
    let opts = DiffOptions {
        max_diff_lines: 10,
        ..DiffOptions::default()
    };
    let r = diff_with(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 6),
        &opts,
    )
    .unwrap();
    let ChangeDetail::Text(d) = &r.members[0].detail else {
        panic!("{:?}", r.members[0].detail)
    };
    assert_eq!(d.lines.len(), 12);
    assert_eq!(d.total_lines, 81);
    assert!(d.truncated);
    assert!(
        r.render()
            .contains("… diff truncated: 10 of 81 lines shown"),
        "{}",
        r.render()
    );
}

#[test]
fn binary_change_gives_sizes_and_hashes() {
    let a = sdist_members("p-1.0");
    let mut b = a.clone();
    b[3].1 = vec![0, 1, 2, 3, 254, 9];
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 6),
    );
    assert_eq!(
        changes(&r),
        [(ChangeKind::Changed, "p-1.0/src/p/data.bin".to_owned())]
    );
    let change = &r.members[0];
    assert_eq!(change.detail, ChangeDetail::Binary);
    let (sa, sb) = (change.a.as_ref().unwrap(), change.b.as_ref().unwrap());
    assert_eq!((sa.size, sb.size), (5, 6));
    assert_eq!(sa.sha256, sha256_hex(&a[3].1));
    assert_eq!(sb.sha256, sha256_hex(&b[3].1));
    let line = format!(
        "  changed p-1.0/src/p/data.bin (binary): 5 → 6 bytes, sha256 {} → {}",
        &sa.sha256[..16],
        &sb.sha256[..16]
    );
    assert!(r.render().contains(&line), "{}", r.render());
}

#[test]
fn executable_bit_is_content_and_other_mode_bits_are_container() {
    let a = sdist_members("p-1.0");
    let mut b = a.clone();
    b[1].2 = true;
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 6),
    );
    assert_eq!(
        changes(&r),
        [(ChangeKind::Changed, "p-1.0/pyproject.toml".to_owned())]
    );
    assert_eq!(r.members[0].detail, ChangeDetail::ExecutableBit);
    assert!(
        r.render()
            .contains("changed p-1.0/pyproject.toml: not executable → executable")
    );
}

#[test]
fn two_versions_of_an_sdist_pair_across_the_top_directory() {
    let a = sdist_members("p-1.0");
    let mut b = sdist_members("p-1.1");
    b[0].1 = PKG_INFO
        .replace("Version: 1.0", "Version: 1.1")
        .replace(
            "Classifier: Programming Language :: Python :: 3\n",
            "Classifier: Programming Language :: Python :: 3\nClassifier: Typing :: Typed\n",
        )
        .into_bytes();
    b.push(m("p-1.1/src/p/py.typed", b"", false));
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.1.tar.gz",
        &sdist(&b, EPOCH, 6),
    );
    assert_eq!(r.level, Level::DifferentContent);
    assert_eq!(r.renames.len(), 1);
    assert_eq!(
        (r.renames[0].a.as_str(), r.renames[0].b.as_str()),
        ("p-1.0/", "p-1.1/")
    );
    assert_eq!(
        changes(&r),
        [
            (ChangeKind::Changed, "p-1.0/PKG-INFO".to_owned()),
            (ChangeKind::Added, "p-1.1/src/p/py.typed".to_owned()),
        ]
    );
    assert_eq!(r.members[0].detail, ChangeDetail::Metadata);
    assert_eq!(r.metadata.len(), 2, "{:?}", r.metadata);
    assert_eq!(r.metadata[0].field, "Version");
    assert_eq!(r.metadata[0].change, FieldChangeKind::Changed);
    assert_eq!(
        (r.metadata[0].a.clone(), r.metadata[0].b.clone()),
        (vec!["1.0".to_owned()], vec!["1.1".to_owned()])
    );
    assert_eq!(r.metadata[1].field, "Classifier");
    assert_eq!(r.metadata[1].added, ["Typing :: Typed"]);
    assert!(r.metadata[1].removed.is_empty());
    assert_eq!(
        first_line(&r),
        "different content: 1 changed, 1 added, 0 removed; renamed p-1.0/ → p-1.1/"
    );
    let text = r.render();
    assert!(text.contains("  Version: 1.0 → 1.1\n"), "{text}");
    assert!(text.contains("  Classifier: + Typing :: Typed\n"), "{text}");
    // The container is the same apart from the content.
    assert_eq!(categories(&r), []);
}

/// ~3.7 KB of text that compresses poorly; `changed` alters line 30.
fn noisy_member(i: usize, changed: bool) -> Vec<u8> {
    let mut s = String::new();
    let mut x = i as u64 * 2_654_435_761 + 1;
    for line in 0..100 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if line == 30 && changed {
            s.push_str("changed\n");
        } else {
            s.push_str(&format!("{x:016x}{:016x} = {line}\n", x.rotate_left(17)));
        }
    }
    s.into_bytes()
}

#[test]
fn many_changed_members_are_all_diffed_across_pass_2_batches() {
    // 3,000 changed members, ~11 MB of text in `a`: more than one batch.
    let members = |changed| -> Vec<Member> {
        (0..3000)
            .map(|i| {
                m(
                    &format!("p-1.0/p/m{i:04}.py"),
                    &noisy_member(i, changed),
                    false,
                )
            })
            .collect()
    };
    let (a, b) = (members(false), members(true));
    assert!(a.iter().map(|m| m.1.len()).sum::<usize>() > 10 << 20);
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 1),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 1),
    );
    assert_eq!(r.counts(), (3000, 0, 0));
    for (i, change) in r.members.iter().enumerate() {
        assert_eq!(change.path, format!("p-1.0/p/m{i:04}.py"));
        let ChangeDetail::Text(d) = &change.detail else {
            panic!("{}: {:?}", change.path, change.detail)
        };
        assert_eq!(d.lines[2], "@@ -28,7 +28,7 @@");
        assert_eq!(d.lines[7], "+changed");
    }
}

#[test]
fn sdist_without_a_single_top_directory_is_paired_by_full_paths() {
    let a = sdist_members("p-1.0");
    let mut b = a.clone();
    b.push(m("setup.py", b"print('stray')\n", false));
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&a, EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&b, EPOCH, 6),
    );
    assert_eq!(changes(&r), [(ChangeKind::Added, "setup.py".to_owned())]);
    assert!(r.renames.is_empty());
    assert_eq!(
        r.notes,
        [
            "b: the files are not all below one top-level directory; members are paired by their full paths",
            "b: no PKG-INFO where the layout puts it; metadata not compared",
        ]
    );
    assert!(r.render().contains("note: b: the files are not all below"));
}

// ---------------------------------------------------------------- wheels

fn record_row(path: &str, data: &[u8]) -> String {
    let hash = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data));
    format!("{path},sha256={hash},{}\n", data.len())
}

const METADATA: &str = "Metadata-Version: 2.4\nName: p\nVersion: 1.0\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python :: 3\nRequires-Dist: requests>=2\n\nThe description.\n";

/// A wheel's members in canonical order, RECORD last; `unlisted` members
/// are left out of RECORD.
fn wheel_members(
    version: &str,
    metadata: &str,
    extra: &[Member],
    unlisted: &[&str],
) -> Vec<Member> {
    let dist_info = format!("p-{version}.dist-info");
    let mut v = vec![
        m("p/__init__.py", &init_py(), false),
        m("p/_native.so", &[0x7f, b'E', b'L', b'F', 0, 1, 2], true),
        m(
            &format!("p-{version}.data/scripts/p-tool"),
            b"#!python\nprint(1)\n",
            true,
        ),
    ];
    v.extend(extra.iter().cloned());
    v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    v.push(m(
        &format!("{dist_info}/METADATA"),
        metadata.as_bytes(),
        false,
    ));
    v.push(m(
        &format!("{dist_info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        false,
    ));
    let mut record = String::new();
    for (p, d, _) in &v {
        if !unlisted.contains(&p.as_str()) {
            record.push_str(&record_row(p, d));
        }
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    v.push(m(&format!("{dist_info}/RECORD"), record.as_bytes(), false));
    v
}

fn wheel(members: &[Member], epoch: u64, level: u32) -> Vec<u8> {
    let mut w = ZipWriter::new(Vec::new(), epoch, Deflate { level, ..DEFLATE }).unwrap();
    for (p, d, x) in members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

const WHL: &str = "p-1.0-py3-none-any.whl";

#[test]
fn identical_wheels_are_not_parsed() {
    let a = wheel(&wheel_members("1.0", METADATA, &[], &[]), EPOCH, 6);
    let r = diff(WHL, &a, WHL, &a);
    assert_eq!(r.level, Level::Identical);
    assert_eq!(r.record.a.status, RecordStatus::NotChecked);
    assert_eq!(r.record.b.status, RecordStatus::NotChecked);
}

#[test]
fn rezipped_wheel_with_other_timestamps_differs_in_timestamps_only() {
    let members = wheel_members("1.0", METADATA, &[], &[]);
    let r = diff(
        WHL,
        &wheel(&members, EPOCH, 6),
        WHL,
        &wheel(&members, 315_532_800, 6),
    );
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(categories(&r), [Category::Timestamps]);
    assert_eq!(r.container[0].count, members.len() as u64);
    assert_eq!(
        r.container[0].examples[0],
        "p-1.0.data/scripts/p-tool: 2023-11-14 22:13:20 vs 1980-01-01 00:00:00"
    );
    assert_eq!(r.record.a.status, RecordStatus::Ok);
    assert_eq!(r.record.b.status, RecordStatus::Ok);
    assert_eq!(
        first_line(&r),
        "same content, container differs: timestamps"
    );
}

#[test]
fn rezipped_wheel_at_another_level_differs_in_compression_only() {
    let members = wheel_members("1.0", METADATA, &[], &[]);
    let r = diff(
        WHL,
        &wheel(&members, EPOCH, 1),
        WHL,
        &wheel(&members, EPOCH, 9),
    );
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(categories(&r), [Category::Compression], "{}", r.render());
    assert!(r.container[0].examples[0].ends_with("compressed bytes"));
    assert_eq!(
        first_line(&r),
        "same content, container differs: compression"
    );
}

/// The same members as another tool would zip them: reversed, stored and
/// deflated, other timestamps and modes, extra fields, directory entries,
/// a data descriptor and an archive comment.
fn foreign_wheel(members: &[Member]) -> Vec<u8> {
    foreign::foreign_zip(&["p/"], members)
}

#[test]
fn foreign_wheel_lists_every_container_difference() {
    let members = wheel_members("1.0", METADATA, &[], &[]);
    let r = diff(
        WHL,
        &foreign_wheel(&members),
        WHL,
        &wheel(&members, EPOCH, 6),
    );
    assert_eq!(r.level, Level::SameContent, "{}", r.render());
    let cats = categories(&r);
    for expected in [
        Category::MemberOrder,
        Category::Timestamps,
        Category::Modes,
        Category::Compression,
        Category::DirectoryEntries,
        Category::ZipExtraFields,
        Category::ZipComments,
    ] {
        assert!(
            cats.contains(&expected),
            "{expected:?} missing: {}",
            r.render()
        );
    }
    assert!(!cats.contains(&Category::Other), "{}", r.render());
    assert!(!cats.contains(&Category::Owners), "{}", r.render());
    let comments = r
        .container
        .iter()
        .find(|c| c.category == Category::ZipComments)
        .unwrap();
    assert_eq!(
        comments.examples,
        ["archive comment \"made by some other tool\" vs \"\""]
    );
}

#[test]
fn streamed_zip_shows_data_descriptors() {
    let members = wheel_members("1.0", METADATA, &[], &[]);
    let mut z = zip::ZipWriter::new_stream(Vec::new());
    let (dos_time, dos_date) = kiln_archive::dos_date_time(EPOCH).unwrap();
    let time = zip::DateTime::try_from_msdos(dos_date, dos_time).unwrap();
    for (p, d, x) in &members {
        let opts = zip::write::SimpleFileOptions::default()
            .last_modified_time(time)
            .unix_permissions(if *x { 0o755 } else { 0o644 });
        z.start_file(p.as_str(), opts).unwrap();
        z.write_all(d).unwrap();
    }
    let streamed = z.finish().unwrap().into_inner();
    let r = diff(WHL, &streamed, WHL, &wheel(&members, EPOCH, 6));
    // Same times and modes: only the descriptors differ. Every member is
    // solid, so kiln deflates each as one finished stream at level 6, as
    // the zip crate does with the same zlib-rs: the compressed bytes agree.
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(
        categories(&r),
        [Category::DataDescriptors],
        "{}",
        r.render()
    );
    let descriptors = r
        .container
        .iter()
        .find(|c| c.category == Category::DataDescriptors)
        .unwrap();
    assert_eq!(descriptors.count, members.len() as u64);
    assert_eq!(
        descriptors.examples[0],
        "p-1.0.data/scripts/p-tool: data descriptor vs none"
    );
}

#[test]
fn wheel_member_change_lists_the_member_and_record() {
    let a = wheel_members(
        "1.0",
        METADATA,
        &[m("p/util.py", b"def f():\n    return 1\n", false)],
        &[],
    );
    let b = wheel_members(
        "1.0",
        METADATA,
        &[m("p/util.py", b"def f():\n    return 2\n", false)],
        &[],
    );
    let r = diff(WHL, &wheel(&a, EPOCH, 6), WHL, &wheel(&b, EPOCH, 6));
    assert_eq!(
        changes(&r),
        [
            (ChangeKind::Changed, "p-1.0.dist-info/RECORD".to_owned()),
            (ChangeKind::Changed, "p/util.py".to_owned()),
        ]
    );
    assert_eq!(r.members[0].detail, ChangeDetail::Record);
    let ChangeDetail::Text(d) = &r.members[1].detail else {
        panic!("{:?}", r.members[1].detail)
    };
    assert_eq!(
        d.lines[2..],
        [
            "@@ -1,2 +1,2 @@",
            " def f():",
            "-    return 1",
            "+    return 2"
        ]
    );
    // Each RECORD matches its own wheel.
    assert_eq!(r.record.a.status, RecordStatus::Ok);
    assert_eq!(r.record.b.status, RecordStatus::Ok);
    assert_eq!(r.record.b.record.as_deref(), Some("p-1.0.dist-info/RECORD"));
}

#[test]
fn member_added_without_a_record_row_is_reported_on_that_side() {
    let a = wheel_members("1.0", METADATA, &[], &[]);
    let b = wheel_members(
        "1.0",
        METADATA,
        &[m("p/extra.py", b"X = 1\n", false)],
        &["p/extra.py"],
    );
    let r = diff(WHL, &wheel(&a, EPOCH, 6), WHL, &wheel(&b, EPOCH, 6));
    assert_eq!(
        changes(&r),
        [(ChangeKind::Added, "p/extra.py".to_owned())],
        "RECORD's bytes are the same: only the new member differs"
    );
    assert_eq!(r.record.a.status, RecordStatus::Ok);
    assert_eq!(r.record.b.status, RecordStatus::Problems);
    assert_eq!(r.record.b.problems.len(), 1);
    assert_eq!(r.record.b.problems[0].member, "p/extra.py");
    assert_eq!(r.record.b.problems[0].problem, "not listed in RECORD");
    let text = r.render();
    assert!(
        text.contains("  added   p/extra.py (6 bytes, sha256 ")
            && text.contains("): RECORD of b: not listed in RECORD\n"),
        "{text}"
    );
    assert!(r.has_record_problems());
}

#[test]
fn a_bad_record_is_reported_even_when_both_sides_agree() {
    // Both wheels hold p/extra.py without a RECORD row, and a stale hash.
    let mut members = wheel_members(
        "1.0",
        METADATA,
        &[m("p/extra.py", b"X = 1\n", false)],
        &["p/extra.py"],
    );
    let init = members.iter_mut().find(|m| m.0 == "p/__init__.py").unwrap();
    init.1 = b"# edited after RECORD was written\n".to_vec();
    let r = diff(
        WHL,
        &wheel(&members, EPOCH, 6),
        WHL,
        &wheel(&members, EPOCH + 2, 6),
    );
    assert_eq!(r.level, Level::SameContent);
    let actual = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(
        b"# edited after RECORD was written\n",
    ));
    for check in [&r.record.a, &r.record.b] {
        assert_eq!(check.status, RecordStatus::Problems);
        let members: Vec<&str> = check.problems.iter().map(|p| p.member.as_str()).collect();
        assert_eq!(
            members,
            ["p/__init__.py", "p/extra.py"],
            "{:?}",
            check.problems
        );
        let stale = &check.problems[0].problem;
        assert!(
            stale.contains(&format!("sha256={actual} size 34")),
            "{stale}"
        );
        assert_eq!(check.problems[1].problem, "not listed in RECORD");
    }
    let text = r.render();
    assert!(
        text.contains("RECORD:\n  a (p-1.0.dist-info/RECORD): 2 problems\n"),
        "{text}"
    );
}

#[test]
fn sha512_rows_are_checked_by_reading_that_member_again() {
    let mut members = wheel_members("1.0", METADATA, &[], &[]);
    let init = init_py();
    let sha256_row = record_row("p/__init__.py", &init);
    let sha512 = kiln_digest::Digests::of_bytes(&init).sha512;
    let good = format!(
        "p/__init__.py,sha512={},{}\n",
        kiln_digest::urlsafe_b64_nopad(&sha512),
        init.len()
    );
    let bad = format!(
        "p/__init__.py,sha512={},{}\n",
        kiln_digest::urlsafe_b64_nopad(&[0u8; 64]),
        init.len()
    );
    let last = members.len() - 1;
    let record = String::from_utf8(members[last].1.clone()).unwrap();
    members[last].1 = record.replace(&sha256_row, &good).into_bytes();
    let a = wheel(&members, EPOCH, 6);
    members[last].1 = record.replace(&sha256_row, &bad).into_bytes();
    let b = wheel(&members, EPOCH, 6);
    let r = diff(WHL, &a, WHL, &b);
    assert_eq!(r.record.a.status, RecordStatus::Ok, "{:?}", r.record.a);
    assert_eq!(r.record.b.status, RecordStatus::Problems);
    assert_eq!(r.record.b.problems.len(), 1);
    assert_eq!(r.record.b.problems[0].member, "p/__init__.py");
    assert!(
        r.record.b.problems[0].problem.contains("sha512="),
        "{:?}",
        r.record.b.problems
    );
}

#[test]
fn wheel_without_a_record_says_so() {
    let mut members = wheel_members("1.0", METADATA, &[], &[]);
    let a = wheel(&members, EPOCH, 6);
    members.pop();
    let b = wheel(&members, EPOCH, 6);
    let r = diff(WHL, &a, WHL, &b);
    assert_eq!(
        changes(&r),
        [(ChangeKind::Removed, "p-1.0.dist-info/RECORD".to_owned())]
    );
    assert_eq!(r.record.a.status, RecordStatus::Ok);
    assert_eq!(r.record.b.status, RecordStatus::Problems);
    assert_eq!(r.record.b.problems[0].member, "p-1.0.dist-info/RECORD");
    assert!(
        r.record.b.problems[0].problem.starts_with("missing"),
        "{:?}",
        r.record.b.problems
    );
}

#[test]
fn metadata_is_compared_field_by_field() {
    let changed = METADATA
        .replace("Version: 1.0", "Version: 1.0.post1")
        .replace(
            "Requires-Dist: requests>=2\n",
            "Requires-Dist: requests>=2\nClassifier: Typing :: Typed\n",
        );
    let a = wheel_members("1.0", METADATA, &[], &[]);
    let b = wheel_members("1.0", &changed, &[], &[]);
    let r = diff(WHL, &wheel(&a, EPOCH, 6), WHL, &wheel(&b, EPOCH, 6));
    assert_eq!(
        changes(&r),
        [
            (ChangeKind::Changed, "p-1.0.dist-info/METADATA".to_owned()),
            (ChangeKind::Changed, "p-1.0.dist-info/RECORD".to_owned()),
        ]
    );
    assert_eq!(r.members[0].detail, ChangeDetail::Metadata);
    let fields: Vec<(&str, FieldChangeKind, Vec<String>, Vec<String>)> = r
        .metadata
        .iter()
        .map(|f| {
            (
                f.field.as_str(),
                f.change,
                f.removed.clone(),
                f.added.clone(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            (
                "Version",
                FieldChangeKind::Changed,
                vec!["1.0".to_owned()],
                vec!["1.0.post1".to_owned()]
            ),
            (
                "Classifier",
                FieldChangeKind::Changed,
                vec![],
                vec!["Typing :: Typed".to_owned()]
            ),
        ]
    );
    let text = r.render();
    assert!(text.contains("metadata (METADATA), field by field:\n  Version: 1.0 → 1.0.post1\n  Classifier: + Typing :: Typed\n"), "{text}");
}

#[test]
fn metadata_body_gets_a_text_diff() {
    let changed = METADATA.replace("The description.", "A better description.");
    let a = wheel_members("1.0", METADATA, &[], &[]);
    let b = wheel_members("1.0", &changed, &[], &[]);
    let r = diff(WHL, &wheel(&a, EPOCH, 6), WHL, &wheel(&b, EPOCH, 6));
    assert_eq!(r.metadata.len(), 1);
    assert_eq!(r.metadata[0].field, "(body)");
    let d = r.metadata[0].diff.as_ref().unwrap();
    assert_eq!(
        d.lines[2..],
        ["@@ -1 +1 @@", "-The description.", "+A better description."]
    );
}

#[test]
fn two_versions_of_a_wheel_pair_across_dist_info_and_data() {
    let meta_11 = METADATA.replace("Version: 1.0", "Version: 1.1");
    let a = wheel_members("1.0", METADATA, &[], &[]);
    let mut b = wheel_members(
        "1.1",
        &meta_11,
        &[m("p/new.py", b"NEW = True\n", false)],
        &[],
    );
    // One really changed member besides the metadata.
    let changed = b.iter_mut().find(|m| m.0 == "p/__init__.py").unwrap();
    changed.1 = [init_py(), b"__version__ = '1.1'\n".to_vec()].concat();
    // RECORD follows the change.
    let record_at = b.len() - 1;
    let mut record = String::new();
    for (p, d, _) in &b[..record_at] {
        record.push_str(&record_row(p, d));
    }
    record.push_str("p-1.1.dist-info/RECORD,,\n");
    b[record_at].1 = record.into_bytes();

    let r = diff(
        WHL,
        &wheel(&a, EPOCH, 6),
        "p-1.1-py3-none-any.whl",
        &wheel(&b, EPOCH, 6),
    );
    let renames: Vec<(&str, &str)> = r
        .renames
        .iter()
        .map(|x| (x.a.as_str(), x.b.as_str()))
        .collect();
    assert_eq!(
        renames,
        [
            ("p-1.0.dist-info/", "p-1.1.dist-info/"),
            ("p-1.0.data/", "p-1.1.data/")
        ]
    );
    assert_eq!(
        changes(&r),
        [
            (ChangeKind::Changed, "p-1.0.dist-info/METADATA".to_owned()),
            (ChangeKind::Changed, "p-1.0.dist-info/RECORD".to_owned()),
            (ChangeKind::Changed, "p/__init__.py".to_owned()),
            (ChangeKind::Added, "p/new.py".to_owned()),
        ],
        "WHEEL and the script under .data are unchanged: {}",
        r.render()
    );
    assert_eq!(
        r.members[0].b.as_ref().unwrap().path,
        "p-1.1.dist-info/METADATA"
    );
    assert_eq!(r.metadata.len(), 1);
    assert_eq!(
        (
            r.metadata[0].field.as_str(),
            r.metadata[0].a[0].as_str(),
            r.metadata[0].b[0].as_str()
        ),
        ("Version", "1.0", "1.1")
    );
    assert_eq!(r.record.a.status, RecordStatus::Ok);
    assert_eq!(r.record.b.status, RecordStatus::Ok);
    assert_eq!(
        first_line(&r),
        "different content: 3 changed, 1 added, 0 removed; renamed p-1.0.dist-info/ → p-1.1.dist-info/; renamed p-1.0.data/ → p-1.1.data/"
    );
    assert!(r.render().contains("  changed p-1.0.dist-info/METADATA (b: p-1.1.dist-info/METADATA): compared field by field below\n"), "{}", r.render());
}

// ---------------------------------------------------------------- errors

#[test]
fn kinds_come_from_the_file_names_and_must_agree() {
    let w = wheel(&wheel_members("1.0", METADATA, &[], &[]), EPOCH, 6);
    let s = sdist(&sdist_members("p-1.0"), EPOCH, 6);
    let err = diff_with(WHL, &w, "p-1.0.tar.gz", &s, &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::KindMismatch {
                a_kind: ArchiveKind::Wheel,
                b_kind: ArchiveKind::Sdist,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "p-1.0-py3-none-any.whl is a wheel and p-1.0.tar.gz is an sdist: diff compares two sdists or two wheels"
    );
    let err = diff_with("p.zip", &w, "q.zip", &w, &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(&err, DiffError::UnknownKind { archive } if archive == "p.zip"),
        "{err}"
    );
}

#[test]
fn unreadable_archives_are_errors_naming_archive_and_entry() {
    let good = sdist(&sdist_members("p-1.0"), EPOCH, 6);
    // A symlink in b.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "p-1.0/link", "/etc/passwd").unwrap();
    let evil = gzip_like_kiln(&b.into_inner().unwrap());
    let err = diff_with(
        "p-1.0.tar.gz",
        &good,
        "evil.tar.gz",
        &evil,
        &DiffOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, DiffError::Archive { archive, entry, .. } if archive == "evil.tar.gz" && entry.contains("p-1.0/link")),
        "{err}"
    );
    // Garbage and truncations: errors, never panics.
    let w = wheel(&wheel_members("1.0", METADATA, &[], &[]), EPOCH, 6);
    for cut in (0..w.len()).step_by(101) {
        assert!(diff_with(WHL, &w, WHL, &w[..cut], &DiffOptions::default()).is_err());
    }
    for cut in (0..good.len()).step_by(101) {
        assert!(
            diff_with(
                "p-1.0.tar.gz",
                &good[..cut],
                "p-1.0.tar.gz",
                &good,
                &DiffOptions::default()
            )
            .is_err()
        );
    }
    let err = diff_with(
        "p-1.0.tar.gz",
        b"not gzip",
        "p-1.0.tar.gz",
        &good,
        &DiffOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("p-1.0.tar.gz: gzip header: "),
        "{err}"
    );
}

#[test]
fn json_is_kebab_case_and_stable() {
    let members = wheel_members("1.0", METADATA, &[], &[]);
    let r = diff(
        WHL,
        &wheel(&members, EPOCH, 6),
        WHL,
        &wheel(&members, 315_532_800, 6),
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["kind"], "wheel");
    assert_eq!(v["level"], "same-content");
    assert_eq!(v["container"][0]["category"], "timestamps");
    assert_eq!(v["record"]["a"]["status"], "ok");
    assert_eq!(v["a-file"]["size"], r.a_file.size);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "a",
            "b",
            "kind",
            "level",
            "a-file",
            "b-file",
            "renames",
            "container",
            "members",
            "metadata",
            "record",
            "notes"
        ]
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

/// The paths of the corpus files of `kind`, downloaded on first use and
/// checked against the committed manifest's sha256, sorted.
fn corpus_files(kind: Kind) -> Vec<PathBuf> {
    let cache = corpus_cache();
    let mut files: Vec<PathBuf> = Manifest::committed()
        .unwrap()
        .files(kind)
        .into_iter()
        .map(|f| {
            cache
                .path(f)
                .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus has no {kind}");
    files
}

fn corpus_wheels() -> Vec<PathBuf> {
    corpus_files(Kind::Wheel)
}

/// Canonicalizes one corpus file (named, its bytes).
type Canonicalize =
    fn(&str, &[u8], kiln_names::Epoch, Deflate, &Limits) -> Result<Vec<u8>, kiln_canon::CanonError>;

/// Each corpus file of `kind` against its canonical form: the same
/// content in another container (other timestamps, and each of
/// `container`; never a difference the diff cannot name). The reports,
/// for checks of the kind's own.
fn corpus_files_against_their_canonical_form(
    kind: Kind,
    canonicalize: Canonicalize,
    container: &[Category],
) -> Vec<(String, DiffReport)> {
    let mut reports = Vec::new();
    for path in corpus_files(kind) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let epoch = kiln_names::Epoch::clamped(EPOCH as i64);
        let canonical = canonicalize(&name, &bytes, epoch, DEFLATE, &Limits::default()).unwrap();
        let r = diff(&name, &bytes, &name, &canonical);
        assert_eq!(r.level, Level::SameContent, "{name}: {}", r.render());
        assert!(r.members.is_empty() && r.metadata.is_empty() && r.renames.is_empty());
        let cats = categories(&r);
        for category in [Category::Timestamps].iter().chain(container) {
            assert!(cats.contains(category), "{name}: {}", r.render());
        }
        assert!(!cats.contains(&Category::Other), "{name}: {}", r.render());
        reports.push((name, r));
    }
    reports
}

#[test]
fn corpus_wheels_have_the_same_content_as_their_canonical_form() {
    let reports =
        corpus_files_against_their_canonical_form(Kind::Wheel, kiln_canon::canonicalize_wheel, &[]);
    for (name, r) in reports {
        for side in [&r.record.a, &r.record.b] {
            assert_eq!(side.status, RecordStatus::Ok, "{name}: {side:?}");
        }
    }
}

#[test]
fn corpus_sdists_have_the_same_content_as_their_canonical_form() {
    corpus_files_against_their_canonical_form(
        Kind::Sdist,
        kiln_canon::canonicalize_sdist,
        &[Category::GzipHeader],
    );
}

#[test]
fn corpus_wheels_of_different_projects_list_their_changes() {
    let wheels = corpus_wheels();
    for pair in wheels.windows(2) {
        let (pa, pb) = (&pair[0], &pair[1]);
        let (na, nb) = (
            pa.file_name().unwrap().to_str().unwrap(),
            pb.file_name().unwrap().to_str().unwrap(),
        );
        let r = diff(
            na,
            &std::fs::read(pa).unwrap(),
            nb,
            &std::fs::read(pb).unwrap(),
        );
        assert_eq!(r.level, Level::DifferentContent, "{na} vs {nb}");
        // The .dist-info directories pair up, so METADATA is compared field
        // by field (Name and Version differ between any two projects).
        assert_eq!(r.renames.len(), 1, "{na} vs {nb}: {:?}", r.renames);
        let fields: Vec<&str> = r.metadata.iter().map(|f| f.field.as_str()).collect();
        assert!(
            fields.contains(&"Name") && fields.contains(&"Version"),
            "{na} vs {nb}: {fields:?}"
        );
        let metadata = r
            .members
            .iter()
            .find(|m| m.path.ends_with(".dist-info/METADATA"))
            .unwrap();
        assert_eq!(metadata.detail, ChangeDetail::Metadata);
        assert!(r.members.iter().any(|m| m.change == ChangeKind::Added));
        assert!(r.members.iter().any(|m| m.change == ChangeKind::Removed));
        assert_eq!(
            r.record.a.status,
            RecordStatus::Ok,
            "{na}: {:?}",
            r.record.a
        );
        assert_eq!(
            r.record.b.status,
            RecordStatus::Ok,
            "{nb}: {:?}",
            r.record.b
        );
    }
}

#[test]
fn corpus_sdists_of_different_projects_pair_their_common_files() {
    let manifest = Manifest::committed().unwrap();
    let cache = corpus_cache();
    let a = cache
        .path(manifest.get("click", Kind::Sdist).unwrap())
        .unwrap();
    let b = cache
        .path(manifest.get("idna", Kind::Sdist).unwrap())
        .unwrap();
    let r = diff_files(
        &a,
        &b,
        "click-8.5.1.tar.gz",
        "idna-3.20.tar.gz",
        &DiffOptions::default(),
    )
    .unwrap();
    assert_eq!(r.level, Level::DifferentContent);
    assert_eq!(r.renames.len(), 1);
    assert_eq!(
        (r.renames[0].a.as_str(), r.renames[0].b.as_str()),
        ("click-8.5.1/", "idna-3.20/")
    );
    let pkg_info = r
        .members
        .iter()
        .find(|m| m.path == "click-8.5.1/PKG-INFO")
        .unwrap();
    assert_eq!(pkg_info.detail, ChangeDetail::Metadata);
    let fields: Vec<&str> = r.metadata.iter().map(|f| f.field.as_str()).collect();
    assert!(
        fields.contains(&"Name") && fields.contains(&"Version"),
        "{fields:?}"
    );
    // pyproject.toml is in both, paired across the top directories, and
    // text: it gets a diff.
    let pyproject = r
        .members
        .iter()
        .find(|m| m.path == "click-8.5.1/pyproject.toml")
        .unwrap();
    assert!(
        matches!(pyproject.detail, ChangeDetail::Text(_)),
        "{:?}",
        pyproject.detail
    );
}

// ------------------------------------------------- archives at the edges

#[test]
fn empty_archive_is_refused_by_diff_as_by_normalize() {
    let full = sdist(&sdist_members("p-1.0"), EPOCH, 6);
    // An sdist of no members at all, and one of a directory only.
    let empty = sdist(&[], EPOCH, 6);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, "p-1.0/", std::io::empty()).unwrap();
    let dirs_only = gzip_like_kiln(&b.into_inner().unwrap());
    for bytes in [&empty, &dirs_only] {
        for (a, b) in [(bytes, &full), (&full, bytes)] {
            let e = diff_with(
                "p-1.0.tar.gz",
                a,
                "p-1.0.tar.gz",
                b,
                &DiffOptions::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&e, DiffError::Empty { archive, .. } if archive == "p-1.0.tar.gz"),
                "{e}"
            );
            assert!(e.to_string().contains("holds no file"), "{e}");
        }
    }
    // A wheel likewise.
    let wheel_empty = ZipWriter::new(Vec::new(), EPOCH, DEFLATE)
        .unwrap()
        .finish()
        .unwrap();
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    w.add_file("p/__init__.py", b"", false).unwrap();
    let wheel_one = w.finish().unwrap();
    let e = diff_with(
        "p-1.0-py3-none-any.whl",
        &wheel_empty,
        "p-1.0-py3-none-any.whl",
        &wheel_one,
        &DiffOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(&e, DiffError::Empty { .. }), "{e}");
    // Two identical empty archives are identical bytes: nothing is parsed.
    let r = diff("p-1.0.tar.gz", &empty, "p-1.0.tar.gz", &empty);
    assert_eq!(r.level, Level::Identical);
}

#[test]
fn zeros_after_the_gzip_stream_are_trailing_padding_not_compression() {
    let a = sdist(&sdist_members("p-1.0"), EPOCH, 6);
    let mut b = a.clone();
    b.resize(a.len() + 4096, 0);
    let r = diff("p-1.0.tar.gz", &a, "p-1.0.tar.gz", &b);
    assert_eq!(r.level, Level::SameContent);
    assert_eq!(categories(&r), vec![Category::TrailingPadding]);
    assert_eq!(
        r.container[0].examples,
        vec!["0 vs 4096 zero bytes after the gzip stream".to_owned()]
    );
    // Another deflate stream *and* padding: both are said.
    let mut c = sdist(&sdist_members("p-1.0"), EPOCH, 9);
    c.resize(c.len() + 512, 0);
    let r = diff("p-1.0.tar.gz", &a, "p-1.0.tar.gz", &c);
    assert_eq!(
        categories(&r),
        vec![Category::Compression, Category::TrailingPadding]
    );
}

#[test]
fn text_diffs_re_read_a_bounded_number_of_bytes() {
    // 40 changed text members of 1,000,000 bytes: each batch of pass 2
    // reads both archives again, so only the first 32 MiB (both sides
    // together) are diffed; the rest are shown by sizes and sha256, saying
    // why.
    let member = |i: usize, changed: bool| -> Vec<u8> {
        let mut s = format!("# member {i}\n");
        let mut line = 0;
        while s.len() < 1_000_000 - 40 {
            if line == 5 && changed {
                s.push_str("changed\n");
            } else {
                s.push_str(&format!("value_{} = {}\n", line % 500, line % 7));
            }
            line += 1;
        }
        while s.len() < 1_000_000 {
            s.push('\n');
        }
        s.into_bytes()
    };
    let members = |changed| -> Vec<Member> {
        (0..40)
            .map(|i| m(&format!("p-1.0/p/m{i:02}.py"), &member(i, changed), false))
            .collect()
    };
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&members(false), EPOCH, 1),
        "p-1.0.tar.gz",
        &sdist(&members(true), EPOCH, 1),
    );
    assert_eq!(r.counts(), (40, 0, 0));
    // Both sides count: 2,000,000 bytes per member.
    let diffed = (32 << 20) / 2_000_000;
    for (i, change) in r.members.iter().enumerate() {
        match &change.detail {
            ChangeDetail::Text(d) if i < diffed => {
                assert_eq!(d.lines[0], format!("--- a/p-1.0/p/m{i:02}.py"));
            }
            ChangeDetail::TextTooLarge { reason } if i >= diffed => {
                assert!(reason.starts_with("not diffed: "), "{reason}");
            }
            other => panic!("{i} {}: {other:?}", change.path),
        }
    }
}

#[test]
fn a_report_lists_ten_thousand_member_changes_and_counts_the_rest() {
    // 12,000 members removed and 12,000 added (every name differs).
    let members = |prefix: &str| -> Vec<Member> {
        (0..12_000)
            .map(|i| m(&format!("p-1.0/{prefix}{i:05}.py"), b"", false))
            .collect()
    };
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&members("a"), EPOCH, 1),
        "p-1.0.tar.gz",
        &sdist(&members("b"), EPOCH, 1),
    );
    assert_eq!(r.level, Level::DifferentContent);
    assert_eq!(r.members.len(), 10_000);
    assert_eq!(r.counts(), (0, 12_000, 12_000));
    assert_eq!(
        r.unlisted,
        kiln_diff::Unlisted {
            changed: 0,
            added: 12_000,
            removed: 2_000
        }
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("14000 more member changes are counted, not listed")),
        "{:?}",
        r.notes
    );
    assert!(first_line(&r).contains("0 changed, 12000 added, 12000 removed"));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["unlisted"]["added"], 12_000);
}

#[test]
fn a_report_keeps_a_bounded_number_of_diff_lines() {
    // 600 members whose 250 lines all change: 202 lines kept each (the
    // default budget of 200, and the two headers), so the report's 100,000
    // lines are reached at the 496th member; the rest say why.
    let member = |i: usize, side: &str| -> Vec<u8> {
        (0..250)
            .map(|l| format!("{side}{i}_{l}\n"))
            .collect::<String>()
            .into_bytes()
    };
    let members = |side: &str| -> Vec<Member> {
        (0..600)
            .map(|i| m(&format!("p-1.0/p/m{i:03}.py"), &member(i, side), false))
            .collect()
    };
    let r = diff(
        "p-1.0.tar.gz",
        &sdist(&members("a"), EPOCH, 6),
        "p-1.0.tar.gz",
        &sdist(&members("b"), EPOCH, 6),
    );
    assert_eq!(r.counts(), (600, 0, 0));
    let mut shown = 0;
    let mut not_diffed = 0;
    for change in &r.members {
        match &change.detail {
            ChangeDetail::Text(d) => shown += d.lines.len(),
            ChangeDetail::TextTooLarge { reason } => {
                assert!(
                    reason.starts_with("not diffed: this report already shows"),
                    "{reason}"
                );
                not_diffed += 1;
            }
            other => panic!("{}: {other:?}", change.path),
        }
    }
    assert_eq!(shown, 496 * 202);
    assert_eq!(not_diffed, 600 - 496);
}

#[test]
fn metadata_with_too_many_fields_or_bytes_is_noted_not_compared() {
    // 20,000 header lines a side: every value would be kept several times
    // over; the report says why it does not compare them.
    let pkg_info = |v: &str, n: usize| -> Vec<u8> {
        let mut s = "Metadata-Version: 2.4\nName: p\nVersion: 1.0\n".to_owned();
        for i in 0..n {
            s.push_str(&format!("K{}: {v}\n", i % 100));
        }
        s.into_bytes()
    };
    let with = |info: Vec<u8>| {
        let mut members = sdist_members("p-1.0");
        members[0] = m("p-1.0/PKG-INFO", &info, false);
        sdist(&members, EPOCH, 6)
    };
    let r = diff(
        "p-1.0.tar.gz",
        &with(pkg_info("a", 20_000)),
        "p-1.0.tar.gz",
        &with(pkg_info("b", 20_000)),
    );
    assert!(r.metadata.is_empty(), "{:?}", r.metadata.len());
    assert!(
        r.notes
            .iter()
            .any(|n| n
                == "a: PKG-INFO has more than 10000 header lines; not compared field by field"),
        "{:?}",
        r.notes
    );
    assert_eq!(
        changes(&r),
        [(ChangeKind::Changed, "p-1.0/PKG-INFO".to_owned())]
    );
    // Under the bound, field by field as usual.
    let r = diff(
        "p-1.0.tar.gz",
        &with(pkg_info("a", 200)),
        "p-1.0.tar.gz",
        &with(pkg_info("b", 200)),
    );
    assert_eq!(r.metadata.len(), 100);
    // Over 4 MiB: noted too.
    let mut big = pkg_info("a", 10);
    big.extend_from_slice(b"\n");
    big.extend(std::iter::repeat_n(b'x', 5 << 20));
    let r = diff(
        "p-1.0.tar.gz",
        &with(big),
        "p-1.0.tar.gz",
        &with(pkg_info("b", 10)),
    );
    assert!(r.metadata.is_empty());
    assert!(
        r.notes.iter().any(|n| n.starts_with("a: PKG-INFO is ")
            && n.ends_with("bytes, more than the 4194304 compared field by field")),
        "{:?}",
        r.notes
    );
}

#[test]
fn record_problems_are_listed_up_to_a_thousand_and_counted_past_it() {
    let good = wheel_members("1.0", METADATA, &[], &[]);
    let mut bad = good.clone();
    let record = bad.last_mut().unwrap();
    for i in 0..2_500 {
        record
            .1
            .extend_from_slice(format!("ghost/{i:04}.py,sha256=x,1\n").as_bytes());
    }
    let r = diff(WHL, &wheel(&bad, EPOCH, 6), WHL, &wheel(&good, EPOCH, 6));
    assert_eq!(r.record.a.status, RecordStatus::Problems);
    assert_eq!(r.record.a.problems.len(), 1_001);
    assert_eq!(
        r.record.a.problems[1_000].problem,
        "1500 more problems, not listed (a report lists 1000)"
    );
    assert_eq!(r.record.b.status, RecordStatus::Ok);
}
