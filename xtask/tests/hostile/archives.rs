//! Hostile inputs: archives given to `diff A B` and `normalize FILE --out
//! DIR`. Every case is built here (raw tar headers, gzip and zip bytes),
//! and must end with its documented exit code, naming the entry at fault,
//! within `harness::TIME` and under `harness::MEMORY_KIB`:
//!
//! - exit 2, naming the entry: an archive a reader refuses (unsafe paths
//!   and types, duplicates, hidden bytes, bounds, truncation) and an
//!   archive with no file at all, in `diff` and `normalize` alike;
//! - exit 1: `diff` of two readable archives that differ (container or
//!   content);
//! - exit 0: `normalize` of what real tools write (zeros after the gzip
//!   stream, a 65,535-member zip, many pax records within the bounds).

#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::PathBuf;

use kiln_archive::{ArchiveWriter, Deflate, TarGzWriter, ZipWriter};

use crate::harness::{self, MEMORY_KIB, Outcome};
use crate::raw::{RawEntry, entry, raw_zip_of, tar_header, tar_of};

const EPOCH: u64 = 1_700_000_000;
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 1 << 20,
    solid_below: 128 << 10,
    solid_level: 5,
};

// ------------------------------------------------------------- builders

/// Raw deflate of `data` and its CRC32, from the `zip` crate (a member of
/// a zip written to a seekable buffer carries both in its local header).
fn deflate(data: &[u8]) -> (Vec<u8>, u32) {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    z.start_file("d", options).unwrap();
    z.write_all(data).unwrap();
    let zip = z.finish().unwrap().into_inner();
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([zip[at], zip[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
    assert_eq!(u16_at(6) & 0x8, 0, "no data descriptor expected");
    let start = 30 + u16_at(26) + u16_at(28);
    let len = u32_at(18) as usize;
    (zip[start..start + len].to_vec(), u32_at(14))
}

/// One gzip member of `data`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let (raw, crc) = deflate(data);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend(raw);
    out.extend(crc.to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

const PKG_INFO: &[u8] = b"Metadata-Version: 2.4\nName: p\nVersion: 1.0\n\nThe description.\n";

/// A small, well-formed sdist's entries (top directory `p-1.0`).
fn good_entries() -> Vec<Vec<u8>> {
    vec![
        entry("p-1.0/PKG-INFO", b'0', PKG_INFO),
        entry("p-1.0/pyproject.toml", b'0', b"[project]\nname = \"p\"\n"),
        entry("p-1.0/src/p/__init__.py", b'0', b"VALUE = 1\n"),
    ]
}

/// The same content as `good_entries`, in kiln's canonical container.
fn canonical_sdist() -> Vec<u8> {
    let mut w = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    w.add_file("p-1.0/PKG-INFO", PKG_INFO, false).unwrap();
    w.add_file("p-1.0/pyproject.toml", b"[project]\nname = \"p\"\n", false)
        .unwrap();
    w.add_file("p-1.0/src/p/__init__.py", b"VALUE = 1\n", false)
        .unwrap();
    w.finish().unwrap()
}

/// A wheel of `files` (paths under `p/`) with METADATA, WHEEL and a
/// RECORD that agrees with them, members in the order given, then the
/// `.dist-info`.
fn wheel(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let info = "p-1.0.dist-info";
    let mut all: Vec<(String, Vec<u8>)> = files.to_vec();
    all.push((format!("{info}/METADATA"), PKG_INFO.to_vec()));
    all.push((
        format!("{info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
    ));
    let mut record = String::new();
    for (path, data) in &all {
        let digest = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data));
        record.push_str(&format!("{path},sha256={digest},{}\n", data.len()));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    all.push((format!("{info}/RECORD"), record.into_bytes()));
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for (path, data) in &all {
        w.add_file(path, data, false).unwrap();
    }
    w.finish().unwrap()
}

/// A private directory with `a/NAME` (the input under test) and
/// `b/NAME` (a well-formed counterpart for `diff`).
struct Case {
    dir: tempfile::TempDir,
    name: &'static str,
}

impl Case {
    fn new(name: &'static str, a: &[u8], b: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (side, bytes) in [("a", a), ("b", b)] {
            std::fs::create_dir_all(dir.path().join(side)).unwrap();
            std::fs::write(dir.path().join(side).join(name), bytes).unwrap();
        }
        Self { dir, name }
    }

    fn sdist(a: &[u8]) -> Self {
        Self::new("p-1.0.tar.gz", a, &canonical_sdist())
    }

    fn path(&self, side: &str) -> PathBuf {
        self.dir.path().join(side).join(self.name)
    }

    /// `diff a/NAME b/NAME`.
    fn diff(&self) -> Outcome {
        let (a, b) = (self.path("a"), self.path("b"));
        harness::run(
            self.dir.path(),
            &["diff", a.to_str().unwrap(), b.to_str().unwrap()],
        )
    }

    /// `normalize a/NAME --out out`.
    fn normalize(&self) -> Outcome {
        let a = self.path("a");
        let out = self.dir.path().join("out");
        harness::run(
            self.dir.path(),
            &[
                "normalize",
                a.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
    }

    /// Nothing written for a refused input.
    fn nothing_written(&self) {
        let out = self.dir.path().join("out").join(self.name);
        assert!(!out.exists(), "{} was written", out.display());
    }

    /// Both commands refuse the input with exit 2, naming `needle`, within
    /// the suite's bounds.
    #[track_caller]
    fn refused(&self, needle: &str) {
        self.diff().expect(2, needle).under(MEMORY_KIB);
        self.normalize().expect(2, needle).under(MEMORY_KIB);
        self.nothing_written();
    }

    /// Both commands with `--json` refuse the input with exit 2 and one
    /// error object whose `path` is the archive as given and whose `field`
    /// is `entry`, the entry as the reader names it.
    #[track_caller]
    fn refused_in_json(&self, entry: &str) {
        let (a, b) = (self.path("a"), self.path("b"));
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let out = self.dir.path().join("out");
        for args in [
            vec!["diff", a, b, "--json"],
            vec!["normalize", a, "--out", out.to_str().unwrap(), "--json"],
        ] {
            let o = harness::run(self.dir.path(), &args);
            o.expect(2, entry).under(MEMORY_KIB);
            let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
            assert_eq!(v["error"]["kind"], "bad-input", "{args:?}: {v}");
            assert_eq!(v["error"]["path"], a, "{args:?}: {v}");
            assert_eq!(v["error"]["field"], entry, "{args:?}: {v}");
        }
        self.nothing_written();
    }
}

/// An sdist of the good entries plus `extra` (before the end blocks),
/// gzipped.
fn sdist_with(extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut entries = good_entries();
    entries.extend(extra);
    gzip(&tar_of(&entries))
}

// ------------------------------------------------- finding: pax records

/// 200 pax headers of ~1 MiB each, every one of six-byte records (some
/// 175,000 per header, each costing ~20 times its bytes to keep). It made
/// `diff` reach 7.6 GB and `normalize` 3.7 GB; the archive's pax budget
/// now stops it at the first header.
#[test]
fn pax_records_amplify_memory() {
    let tiny = b"6 a=b\n".repeat((1 << 20) / 6);
    let mut extra = Vec::new();
    for i in 0..200 {
        extra.push(entry(format!("p-1.0/PaxHeaders/f{i}"), b'x', &tiny));
        extra.push(entry(format!("p-1.0/f{i}"), b'0', b"x\n"));
    }
    let tgz = sdist_with(extra);
    assert!(tgz.len() < 10 << 20, "{}", tgz.len());
    let case = Case::sdist(&tgz);
    let needle = "\"p-1.0/PaxHeaders/f0\": pax bytes kept for the archive";
    let diff = case.diff();
    diff.expect(2, needle).under(MEMORY_KIB);
    let normalize = case.normalize();
    normalize.expect(2, needle).under(MEMORY_KIB);
    case.nothing_written();
    eprintln!(
        "pax amplification ({} bytes): diff {:?} {} KiB, normalize {:?} {} KiB",
        tgz.len(),
        diff.elapsed,
        diff.peak_kib.unwrap_or(0),
        normalize.elapsed,
        normalize.peak_kib.unwrap_or(0)
    );
}

/// 200 pax headers of one ~1 MiB record each: over the per-record bound,
/// naming the header and the record's key.
#[test]
fn pax_record_of_a_megabyte_is_refused() {
    let mut record = format!("{} comment=", (1 << 20) - 100).into_bytes();
    record.resize((1 << 20) - 101, b'z');
    record.push(b'\n');
    let mut extra = Vec::new();
    for i in 0..200 {
        extra.push(entry(format!("p-1.0/PaxHeaders/f{i}"), b'x', &record));
        extra.push(entry(format!("p-1.0/f{i}"), b'0', b"x\n"));
    }
    Case::sdist(&sdist_with(extra))
        .refused("\"p-1.0/PaxHeaders/f0\" record \"comment\": pax record size");
}

/// 200 members with a 60 KB pax record each (12 MB of records, under the
/// bounds): read, diffed and normalized with memory flat.
#[test]
fn pax_records_within_bounds_are_read_under_the_memory_bound() {
    let mut record = format!("{} comment=", 60_000).into_bytes();
    record.resize(60_000 - 1, b'y');
    record.push(b'\n');
    let mut extra = Vec::new();
    for i in 0..200 {
        extra.push(entry(format!("p-1.0/PaxHeaders/f{i}"), b'x', &record));
        extra.push(entry(format!("p-1.0/f{i:03}"), b'0', b"x\n"));
    }
    let case = Case::sdist(&sdist_with(extra));
    case.diff()
        .expect(1, "removed p-1.0/f199")
        .under(MEMORY_KIB);
    case.normalize().expect(0, "p-1.0.tar.gz").under(MEMORY_KIB);
}

/// GNU long names of 4 KiB compress to almost nothing, and every member's
/// path is kept: 100,000 of them in 1.5 MB once made `diff` reach 1 GB.
/// The archive's budget of path bytes refuses the member that passes it.
#[test]
fn long_member_names_amplify_memory() {
    let mut extra = Vec::new();
    for i in 0..10_000 {
        let mut name = format!("p-1.0/{}{i:06}", "a".repeat(4_000)).into_bytes();
        name.push(0);
        extra.push(entry("././@LongLink", b'L', &name));
        extra.push(entry("x", b'0', b""));
    }
    let tgz = sdist_with(extra);
    assert!(tgz.len() < 1 << 20, "{}", tgz.len());
    Case::sdist(&tgz).refused("004181\": member path bytes kept for the archive");
}

/// 1 MiB of random data, then zeros: the cumulative ratio never passes the
/// limit, so the zeros inflated up to the size bounds; the ratio is now
/// checked over each 8 MiB window, and the member is refused within two.
#[test]
fn random_prefix_buys_no_compression_ratio_budget() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..1 << 20)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    // One member of 1 MiB random + 1.5 GiB of zeros, as gzip members: the
    // random part, then the same 64 MiB of compressed zeros 24 times.
    let zeros_chunk = 64usize << 20;
    let chunks = 24;
    let size = random.len() as u64 + (zeros_chunk * chunks) as u64;
    let mut head = tar_of(&good_entries());
    head.truncate(head.len() - 1024);
    head.extend_from_slice(&tar_header(b"p-1.0/zeros", b'0', size, b""));
    head.extend_from_slice(&random);
    let mut tgz = gzip(&head);
    let zeros = gzip(&vec![0u8; zeros_chunk]);
    for _ in 0..chunks {
        tgz.extend_from_slice(&zeros);
    }
    tgz.extend_from_slice(&gzip(&[0u8; 1024]));
    assert!(tgz.len() < 10 << 20, "{}", tgz.len());
    let cumulative = (head.len() as u64 + size) / tgz.len() as u64;
    assert!(cumulative < 1000, "{cumulative}");
    Case::sdist(&tgz).refused("\"p-1.0/zeros\": compression ratio");
}

// ---------------------------------------------------- finding: smaller

#[test]
fn tar_name_with_a_backslash_is_refused() {
    Case::sdist(&sdist_with(vec![entry("p-1.0\\evil.py", b'0', b"x")]))
        .refused("\"p-1.0\\\\evil.py\": refused: backslash in name");
}

/// Data in the padding after a member's bytes was silently dropped by
/// `normalize`; both commands now refuse it, naming the member.
#[test]
fn data_hidden_in_tar_block_padding_is_refused() {
    let mut hidden = entry("p-1.0/src/p/data.py", b'0', b"DATA = 1\n");
    hidden[512 + 9..512 + 9 + 20].copy_from_slice(b"import os; os.exit()");
    Case::sdist(&sdist_with(vec![hidden]))
        .refused("\"p-1.0/src/p/data.py\": refused: 20 non-zero bytes hidden in the block padding");
}

/// An archive with no file is bad input for both commands (exit 2), not a
/// difference.
#[test]
fn empty_archive_is_exit_2_in_diff_and_normalize() {
    Case::sdist(&gzip(&tar_of(&[]))).refused("holds no file");
    let directories_only = gzip(&tar_of(&[entry("p-1.0/", b'5', b"")]));
    Case::sdist(&directories_only).refused("holds no file");
    let empty_zip = ZipWriter::new(Vec::new(), EPOCH, DEFLATE)
        .unwrap()
        .finish()
        .unwrap();
    let case = Case::new(
        "p-1.0-py3-none-any.whl",
        &empty_zip,
        &wheel(&[("p/__init__.py".into(), b"".to_vec())]),
    );
    case.refused("holds no file");
}

/// 4 KiB of zeros after the gzip stream, as some tools and devices pad:
/// normalized (exit 0) and reported by diff as trailing padding (exit 1).
#[test]
fn zeros_after_the_gzip_stream_are_accepted() {
    let mut padded = canonical_sdist();
    padded.resize(padded.len() + 4096, 0);
    let case = Case::sdist(&padded);
    let diff = case.diff();
    diff.expect(1, "4096 vs 0 zero bytes after the gzip stream")
        .under(MEMORY_KIB);
    assert!(diff.stderr.contains("same content"), "{}", diff.stderr);
    case.normalize().expect(0, "p-1.0.tar.gz").under(MEMORY_KIB);
    assert!(case.dir.path().join("out/p-1.0.tar.gz").is_file());
    // Anything else after it is still refused.
    let mut junk = canonical_sdist();
    junk.extend_from_slice(&[0, 0, 0, 7]);
    Case::sdist(&junk).refused("trailing data after gzip member");
}

/// A wheel of 65,535 members, valid without zip64: diffed (exit 1, one
/// member changed) and normalized (exit 0).
#[test]
fn zip_with_65535_members_is_accepted() {
    let files = |changed: &[u8]| -> Vec<(String, Vec<u8>)> {
        (0..65_532)
            .map(|i| {
                let data = if i == 0 { changed.to_vec() } else { Vec::new() };
                (format!("p/m{i:05}.py"), data)
            })
            .collect()
    };
    let a = wheel(&files(b"A = 1\n"));
    let b = wheel(&files(b"A = 2\n"));
    assert_eq!(
        u16::from_le_bytes([a[a.len() - 12], a[a.len() - 11]]),
        65_535
    );
    let case = Case::new("p-1.0-py3-none-any.whl", &a, &b);
    case.diff()
        .expect(1, "changed p/m00000.py")
        .under(MEMORY_KIB);
    case.normalize()
        .expect(0, "p-1.0-py3-none-any.whl")
        .under(MEMORY_KIB);
}

/// Two sdists of 100,000 members each, every name different (under 1 MB
/// each): the report lists the first 10,000 changes and counts the rest.
/// It once listed all 200,000 (a 27 MB report, 280 MB of memory).
#[test]
fn diff_of_100000_members_each_stays_under_the_bounds() {
    let sdist = |prefix: &str| {
        let mut entries = vec![entry("p-1.0/PKG-INFO", b'0', PKG_INFO)];
        for i in 0..99_990 {
            entries.push(entry(format!("p-1.0/{prefix}{i:06}.py"), b'0', b""));
        }
        gzip(&tar_of(&entries))
    };
    let (a, b) = (sdist("a"), sdist("b"));
    assert!(a.len() < 1 << 20, "{}", a.len());
    let case = Case::new("p-1.0.tar.gz", &a, &b);
    let diff = case.diff();
    diff.expect(1, "99990 added, 99990 removed")
        .under(MEMORY_KIB);
    assert!(
        diff.stderr
            .contains("189980 more member changes are counted, not listed"),
        "{}",
        &diff.stderr[..2000.min(diff.stderr.len())]
    );
    eprintln!(
        "100,000 members: diff {:?} {} KiB",
        diff.elapsed,
        diff.peak_kib.unwrap_or(0)
    );
}

/// A 2 MB sdist holding a 512 MiB member (compressing ~500:1, under the
/// ratio limit): `normalize` held the whole member in memory to write it
/// (1 GB peak for a 1 GiB member); it now streams it from its spool.
#[test]
fn normalize_streams_a_large_member_with_memory_flat() {
    let mut chunk = vec![0u8; 64 << 20];
    for (i, b) in chunk.iter_mut().enumerate().step_by(3000) {
        *b = (i % 251) as u8 | 1;
    }
    let chunks = 8;
    let size = (chunk.len() * chunks) as u64;
    let mut head = tar_of(&good_entries());
    head.truncate(head.len() - 1024);
    head.extend_from_slice(&tar_header(b"p-1.0/big.bin", b'0', size, b""));
    let mut tgz = gzip(&head);
    let compressed = gzip(&chunk);
    for _ in 0..chunks {
        tgz.extend_from_slice(&compressed);
    }
    tgz.extend_from_slice(&gzip(&[0u8; 1024]));
    assert!(tgz.len() < 10 << 20, "{}", tgz.len());
    let case = Case::sdist(&tgz);
    case.diff()
        .expect(1, "removed p-1.0/big.bin")
        .under(MEMORY_KIB);
    let normalize = case.normalize();
    normalize.expect(0, "p-1.0.tar.gz").under(MEMORY_KIB);
    eprintln!(
        "512 MiB member: normalize {:?} {} KiB",
        normalize.elapsed,
        normalize.peak_kib.unwrap_or(0)
    );
}

/// A wheel holding a 256 MiB member that compresses ~500:1 (under the
/// ratio limit): `normalize` held the member whole (and its compressed
/// copy) to write it; it now streams it.
#[test]
fn normalize_streams_a_large_wheel_member_with_memory_flat() {
    let mut big = vec![0u8; 256 << 20];
    for (i, b) in big.iter_mut().enumerate().step_by(3000) {
        *b = (i % 251) as u8 | 1;
    }
    let a = wheel(&[
        ("p/__init__.py".into(), b"".to_vec()),
        ("p/big.bin".into(), big),
    ]);
    assert!(a.len() < 10 << 20, "{}", a.len());
    let b = wheel(&[("p/__init__.py".into(), b"".to_vec())]);
    let case = Case::new("p-1.0-py3-none-any.whl", &a, &b);
    case.diff().expect(1, "removed p/big.bin").under(MEMORY_KIB);
    let normalize = case.normalize();
    normalize
        .expect(0, "p-1.0-py3-none-any.whl")
        .under(MEMORY_KIB);
    eprintln!(
        "256 MiB wheel member: normalize {:?} {} KiB",
        normalize.elapsed,
        normalize.peak_kib.unwrap_or(0)
    );
}

/// A 44 KB wheel whose RECORD holds 3,000,000 short rows: every row (and
/// every problem found with it) was kept, 1.9 GB in `diff`, 1.2 GB in
/// `normalize`. RECORD is refused past the rows any wheel can have.
#[test]
fn record_of_millions_of_rows_amplifies_memory() {
    let good = wheel(&[("p/__init__.py".into(), b"".to_vec())]);
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    w.add_file("p/__init__.py", b"", false).unwrap();
    w.add_file("p-1.0.dist-info/METADATA", PKG_INFO, false)
        .unwrap();
    w.add_file(
        "p-1.0.dist-info/RECORD",
        (0..3_000_000)
            .map(|i| format!("x{},,\n", i % 10))
            .collect::<String>()
            .as_bytes(),
        false,
    )
    .unwrap();
    let bad = w.finish().unwrap();
    assert!(bad.len() < 1 << 20, "{}", bad.len());
    let case = Case::new("p-1.0-py3-none-any.whl", &bad, &good);
    case.diff()
        .expect(1, "RECORD line 65537: malformed: more than 65,536 rows")
        .under(MEMORY_KIB);
    case.normalize()
        .expect(
            2,
            "p-1.0.dist-info/RECORD: line 65537: more than 65,536 rows",
        )
        .under(MEMORY_KIB);
    case.nothing_written();
}

/// A 77 KB sdist whose PKG-INFO holds 1,500,000 header lines a side: each
/// value was kept several times over (900 MB). It is noted, not compared
/// field by field.
#[test]
fn metadata_of_millions_of_fields_amplifies_memory() {
    let pkg_info = |v: &str| {
        let mut s = String::from_utf8(PKG_INFO.to_vec()).unwrap();
        s.truncate(s.find("\n\n").unwrap() + 1);
        for i in 0..1_500_000 {
            s.push_str(&format!("K{}: {v}\n", i % 1000));
        }
        s
    };
    let sdist = |v: &str| {
        let mut w = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
        w.add_file("p-1.0/PKG-INFO", pkg_info(v).as_bytes(), false)
            .unwrap();
        w.finish().unwrap()
    };
    let case = Case::new("p-1.0.tar.gz", &sdist("a"), &sdist("b"));
    case.diff().expect(1, "a: PKG-INFO is").under(MEMORY_KIB);
}

// ------------------------------------- cases the readers already refused

#[test]
fn tar_path_traversal_is_refused() {
    Case::sdist(&sdist_with(vec![entry("p-1.0/../../etc/x", b'0', b"x")]))
        .refused("\"p-1.0/../../etc/x\": refused: `..` component");
}

#[test]
fn with_json_a_refused_archive_is_an_error_naming_the_archive_and_the_entry() {
    Case::sdist(&sdist_with(vec![entry("p-1.0/../../etc/x", b'0', b"x")]))
        .refused_in_json("\"p-1.0/../../etc/x\"");
    // Truncated: the entry is where the reader stopped.
    let mut cut = canonical_sdist();
    cut.truncate(cut.len() / 2);
    Case::sdist(&cut).refused_in_json("\"p-1.0/PKG-INFO\"");
}

#[test]
fn tar_absolute_path_is_refused() {
    Case::sdist(&sdist_with(vec![entry("/etc/passwd", b'0', b"x")]))
        .refused("\"/etc/passwd\": refused: absolute path");
}

#[test]
fn tar_symlink_and_hardlink_members_are_refused() {
    let link = |name: &str, typeflag, target: &[u8]| {
        tar_header(name.as_bytes(), typeflag, 0, target).to_vec()
    };
    Case::sdist(&sdist_with(vec![link("p-1.0/link", b'2', b"/etc/shadow")]))
        .refused("\"p-1.0/link\": refused: symbolic link to \"/etc/shadow\"");
    Case::sdist(&sdist_with(vec![link("p-1.0/hard", b'1', b"/etc/shadow")]))
        .refused("\"p-1.0/hard\": refused: hard link to \"/etc/shadow\"");
}

#[test]
fn tar_device_and_fifo_members_are_refused() {
    Case::sdist(&sdist_with(vec![entry("p-1.0/dev", b'3', b"")]))
        .refused("\"p-1.0/dev\": refused: character device");
    Case::sdist(&sdist_with(vec![entry("p-1.0/fifo", b'6', b"")]))
        .refused("\"p-1.0/fifo\": refused: FIFO");
}

#[test]
fn tar_duplicate_member_names_are_refused() {
    Case::sdist(&sdist_with(vec![entry(
        "p-1.0/src/p/__init__.py",
        b'0',
        b"EVIL = 1\n",
    )]))
    .refused("\"p-1.0/src/p/__init__.py\": refused: duplicate member name");
}

#[test]
fn truncated_gzip_is_refused() {
    let full = canonical_sdist();
    Case::sdist(&full[..full.len() / 2]).refused("truncated");
    Case::sdist(&full[..full.len() - 4]).refused("truncated");
}

#[test]
fn tar_pax_size_claim_of_a_terabyte_is_refused_before_reading() {
    let record = b"22 size=1099511627776\n";
    Case::sdist(&sdist_with(vec![
        entry("p-1.0/PaxHeaders/big", b'x', record),
        tar_header(b"p-1.0/big", b'0', 0, b"").to_vec(),
    ]))
    .refused("\"p-1.0/big\": member size is 1099511627776");
}

/// A zip whose member declares 1 KiB but inflates to 1 GiB of zeros: the
/// inflating stops as soon as the output passes the declared size.
#[test]
fn zip_bomb_is_refused() {
    let (raw, _) = deflate(&vec![0u8; 1 << 30]);
    let declared = vec![0u8; 1024];
    let crc = {
        let (_, crc) = deflate(&declared);
        crc
    };
    let zip = raw_zip_of(&[RawEntry {
        name: b"p/bomb.bin",
        payload: &raw,
        method: 8,
        crc,
        size: 1024,
        ext: 0o100644 << 16,
    }]);
    let case = Case::new(
        "p-1.0-py3-none-any.whl",
        &zip,
        &wheel(&[("p/__init__.py".into(), Vec::new())]),
    );
    case.refused("\"p/bomb.bin\": malformed: inflates to more than its declared size");
}

#[test]
fn zip_symlink_and_traversal_are_refused() {
    let good = wheel(&[("p/__init__.py".into(), Vec::new())]);
    let zip = raw_zip_of(&[RawEntry {
        name: b"p/link",
        payload: b"/etc/shadow",
        method: 0,
        crc: deflate(b"/etc/shadow").1,
        size: 11,
        ext: 0o120777 << 16,
    }]);
    Case::new("p-1.0-py3-none-any.whl", &zip, &good).refused("\"p/link\": refused: symbolic link");
    let zip = raw_zip_of(&[RawEntry {
        name: b"../evil.py",
        payload: b"x",
        method: 0,
        crc: deflate(b"x").1,
        size: 1,
        ext: 0o100644 << 16,
    }]);
    Case::new("p-1.0-py3-none-any.whl", &zip, &good)
        .refused("\"../evil.py\": refused: `..` component");
}
