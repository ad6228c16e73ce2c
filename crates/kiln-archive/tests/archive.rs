//! Integration tests: round trips through our readers and independent ones
//! (the `tar` and `zip` crates, CPython), determinism with pinned digests,
//! streaming (writers, and readers that hand out one member at a time),
//! and the refusal of hostile archives, zip bombs included.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read, Write};

use kiln_archive::{
    ArchiveError, ArchiveWriter, Deflate, Limits, ListWriter, PAX_HEADER_NAME, TarGzArchive,
    TarGzWriter, TarKind, TarMember, ZipReader, ZipWriter, read_tar_gz, read_zip, visit_tar_gz,
};
use sha2::{Digest, Sha256};

#[path = "support/raw.rs"]
mod raw;
use raw::{RawEntry, entry, raw_zip_of, tar_header, tar_of};

const EPOCH: u64 = 1_700_000_000;
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 128 * 1024,
    solid_below: 128 << 10,
    solid_level: 5,
};

fn long_path() -> String {
    format!(
        "pkg-1.0/src/{}/module.py",
        "very_long_directory_name".repeat(5)
    )
}

/// Sorted bytewise, as an sdist is.
fn members() -> Vec<(String, Vec<u8>, bool)> {
    let mut m = vec![
        (
            "pkg-1.0/PKG-INFO".to_owned(),
            b"Metadata-Version: 2.4\nName: pkg\n".to_vec(),
            false,
        ),
        (
            "pkg-1.0/bin/run.sh".to_owned(),
            b"#!/bin/sh\necho hi\n".to_vec(),
            true,
        ),
        ("pkg-1.0/empty.txt".to_owned(), Vec::new(), false),
        (
            "pkg-1.0/pkg/données/é.txt".to_owned(),
            "é\n".as_bytes().to_vec(),
            false,
        ),
        (
            "pkg-1.0/pyproject.toml".to_owned(),
            b"[project]\nname = \"pkg\"\n".repeat(50),
            false,
        ),
        (long_path(), b"print('long')\n".to_vec(), false),
    ];
    m.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    m
}

fn build_tgz(members: &[(String, Vec<u8>, bool)], deflate: Deflate) -> Vec<u8> {
    let mut w = TarGzWriter::new(Vec::new(), EPOCH, deflate);
    for (p, d, x) in members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

fn build_zip(members: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for (p, d, x) in members {
        w.add_file(p, d, *x).unwrap();
    }
    w.finish().unwrap()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

// ---------------------------------------------------------------- writers

#[test]
fn tar_gz_round_trip_through_our_reader() {
    let m = members();
    let bytes = build_tgz(&m, DEFLATE);
    assert_eq!(&bytes[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let a = read_tar_gz("t.tar.gz", &bytes[..], &Limits::default()).unwrap();
    assert_eq!(a.gzip.members, 1);
    assert_eq!((a.gzip.mtime, a.gzip.xfl, a.gzip.os), (0, 0, 255));
    assert_eq!(a.gzip.fname, None);
    assert_eq!(a.tar_size % 512, 0);
    assert_eq!(a.trailing_zeros, 0);
    assert_eq!(a.members.len(), m.len());
    for (got, (p, d, x)) in a.members.iter().zip(&m) {
        assert_eq!(&got.path, p);
        assert_eq!(&got.data, d);
        assert_eq!(got.executable, *x);
        assert_eq!(got.mode, if *x { 0o755 } else { 0o644 });
        assert_eq!(
            (got.uid, got.gid, got.uname.as_str(), got.gname.as_str()),
            (0, 0, "", "")
        );
        assert_eq!(got.mtime, EPOCH);
        assert_eq!(got.typeflag, b'0');
        assert_eq!(got.kind, TarKind::File);
        assert!(!got.gnu_long_name && !got.used_prefix);
        let needs_pax = p.len() > 100 || !p.is_ascii();
        assert_eq!(
            got.pax,
            if needs_pax {
                vec![("path".to_owned(), p.as_bytes().to_vec())]
            } else {
                vec![]
            }
        );
    }
}

#[test]
fn tar_gz_round_trip_through_tar_crate() {
    let m = members();
    let bytes = build_tgz(&m, DEFLATE);
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut n = 0;
    for (entry, (p, d, x)) in ar.entries().unwrap().zip(&m) {
        let mut entry = entry.unwrap();
        assert_eq!(entry.path().unwrap().to_str().unwrap(), p);
        let h = entry.header();
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
        assert_eq!(h.mode().unwrap(), if *x { 0o755 } else { 0o644 });
        assert_eq!(h.mtime().unwrap(), EPOCH);
        assert!(h.as_ustar().is_some());
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        assert_eq!(&data, d);
        n += 1;
    }
    assert_eq!(n, m.len());
}

#[test]
fn zip_round_trip_through_our_reader_and_zip_crate() {
    let m = members();
    let bytes = build_zip(&m);
    let a = read_zip("t.whl", &bytes, &Limits::default()).unwrap();
    assert_eq!(a.members.len(), m.len());
    for (got, (p, d, x)) in a.members.iter().zip(&m) {
        assert_eq!(&got.path, p);
        assert_eq!(&got.data, d);
        assert_eq!(got.executable, *x);
        assert_eq!(
            got.external_attr >> 16,
            if *x { 0o100755 } else { 0o100644 }
        );
        assert_eq!(got.version_made_by, kiln_archive::ZIP_VERSION_MADE_BY);
        assert_eq!(got.version_needed, kiln_archive::ZIP_VERSION_NEEDED);
        assert_eq!(got.flags, if p.is_ascii() { 0 } else { 1 << 11 });
        assert_eq!(got.method, if d.is_empty() { 0 } else { 8 });
        assert_eq!(
            (got.central_extra_len, got.local_extra_len, got.comment_len),
            (0, 0, 0)
        );
        let (t, dd) = kiln_archive::dos_date_time(EPOCH).unwrap();
        assert_eq!(
            (
                got.dos_time,
                got.dos_date,
                got.local_dos_time,
                got.local_dos_date
            ),
            (t, dd, t, dd)
        );
        assert!(!got.data_descriptor);
    }
    let mut z = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(z.len(), m.len());
    for (i, (p, d, x)) in m.iter().enumerate() {
        let mut f = z.by_index(i).unwrap();
        assert_eq!(f.name().unwrap(), p.as_str());
        assert_eq!(f.unix_mode().unwrap(), if *x { 0o100755 } else { 0o100644 });
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        assert_eq!(&data, d);
    }
}

#[test]
fn writers_refuse_bad_paths_and_order() {
    let mut t = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    t.add_file("b", b"", false).unwrap();
    assert!(matches!(
        t.add_file("a", b"", false),
        Err(ArchiveError::Unsorted { .. })
    ));
    assert!(matches!(
        t.add_file("b", b"", false),
        Err(ArchiveError::DuplicatePath { .. })
    ));
    let mut z = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    z.add_file("b", b"", false).unwrap();
    z.add_file("a", b"", false).unwrap(); // zip keeps the caller's order
    assert!(matches!(
        z.add_file("a", b"x", false),
        Err(ArchiveError::DuplicatePath { .. })
    ));
    let mut l = ListWriter::default();
    for bad in ["", "/abs", "a/../b", "./a", "a\\b", "a//b"] {
        assert!(
            matches!(
                t.add_file(bad, b"", false),
                Err(ArchiveError::InvalidPath { .. })
            ),
            "{bad}"
        );
        assert!(
            matches!(
                z.add_file(bad, b"", false),
                Err(ArchiveError::InvalidPath { .. })
            ),
            "{bad}"
        );
        assert!(
            matches!(
                l.add_file(bad, b"", false),
                Err(ArchiveError::InvalidPath { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        ZipWriter::new(Vec::new(), 315_532_799, DEFLATE),
        Err(ArchiveError::EpochOutOfRange { .. })
    ));
}

#[test]
fn pax_header_for_long_and_non_ascii_paths_and_never_gnu() {
    let tar = gunzip(&build_tgz(&members(), DEFLATE));
    assert!(!tar.windows(13).any(|w| w == b"././@LongLink"));
    let mut off = 0;
    let mut pax_paths = Vec::new();
    while off + 512 <= tar.len() && tar[off..off + 512].iter().any(|&b| b != 0) {
        let h = &tar[off..off + 512];
        let size = usize::from_str_radix(std::str::from_utf8(&h[124..135]).unwrap(), 8).unwrap();
        assert_ne!(h[156], b'L', "GNU long name header");
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert!(h[345..500].iter().all(|&b| b == 0), "prefix field used");
        if h[156] == b'x' {
            assert_eq!(&h[..PAX_HEADER_NAME.len()], PAX_HEADER_NAME.as_bytes());
            let body = std::str::from_utf8(&tar[off + 512..off + 512 + size]).unwrap();
            let rec = body.strip_suffix('\n').unwrap();
            let (len, kv) = rec.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), body.len());
            pax_paths.push(kv.strip_prefix("path=").unwrap().to_owned());
        }
        off += 512 + size.div_ceil(512) * 512;
    }
    assert_eq!(
        pax_paths,
        vec!["pkg-1.0/pkg/données/é.txt".to_owned(), long_path()]
    );
    assert_eq!(tar.len(), off + 1024);
}

#[test]
fn python_reads_what_we_write() {
    // The one place these tests run a process: CPython is the reader that
    // matters for sdists and wheels.
    #[allow(clippy::disallowed_methods)]
    let probe = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if probe.map(|o| !o.status.success()).unwrap_or(true) {
        println!("python3 not found: skipping python_reads_what_we_write");
        return;
    }
    let m = members();
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("pkg-1.0.tar.gz");
    let whl = dir.path().join("pkg-1.0-py3-none-any.whl");
    let out = dir.path().join("out");
    std::fs::write(&tgz, build_tgz(&m, DEFLATE)).unwrap();
    std::fs::write(&whl, build_zip(&m)).unwrap();
    let expected: Vec<String> = m
        .iter()
        .map(|(p, d, x)| {
            let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
            let p_hex: String = p.bytes().map(|b| format!("{b:02x}")).collect();
            format!(
                "(bytes.fromhex('{p_hex}').decode(), bytes.fromhex('{hex}'), {})",
                if *x { "True" } else { "False" }
            )
        })
        .collect();
    let script = format!(
        r#"
import os, stat, sys, tarfile, zipfile
tgz, whl, out = sys.argv[1:4]
expected = [{}]
with tarfile.open(tgz) as t:
    assert [i.name for i in t.getmembers()] == [p for p, _, _ in expected], t.getnames()
    t.extractall(out, filter='data')
for p, data, x in expected:
    f = os.path.join(out, p)
    with open(f, 'rb') as fh:
        assert fh.read() == data, p
    assert bool(os.stat(f).st_mode & stat.S_IXUSR) == x, p
with zipfile.ZipFile(whl) as z:
    assert z.testzip() is None
    infos = z.infolist()
    assert [i.filename for i in infos] == [p for p, _, _ in expected]
    for i, (p, data, x) in zip(infos, expected):
        assert z.read(i) == data, p
        assert i.external_attr >> 16 == (0o100755 if x else 0o100644), p
        assert i.date_time == (2023, 11, 14, 22, 13, 20), i.date_time
print("ok")
"#,
        expected.join(", ")
    );
    #[allow(clippy::disallowed_methods)]
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(&tgz)
        .arg(&whl)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");
    // And from Rust's side: the extracted tree.
    #[cfg(unix)]
    for (p, d, x) in &m {
        use std::os::unix::fs::PermissionsExt;
        let f = out.join(p);
        assert_eq!(&std::fs::read(&f).unwrap(), d);
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o100 != 0,
            *x
        );
    }
}

// ------------------------------------------------------------ determinism

#[test]
fn bytes_do_not_depend_on_thread_count_and_are_pinned() {
    // Small chunks so the gzip stream has many chunks to parallelize.
    let deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1024,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let mut m = members();
    m.push((
        "pkg-1.0/zz/big.bin".to_owned(),
        (0..200_000u32).map(|i| (i * 31 % 253) as u8).collect(),
        false,
    ));
    let tgz1 = in_pool(1, || build_tgz(&m, deflate));
    let tgz4 = in_pool(4, || build_tgz(&m, deflate));
    assert_eq!(tgz1, tgz4);
    assert_eq!(tgz1, build_tgz(&m, deflate));
    // Many members so the zip window fills more than once.
    let mut many = m.clone();
    for i in 0..600 {
        many.push((
            format!("pkg-1.0/zz/many/{i:04}.py"),
            format!("x = {i}\n").into_bytes(),
            i % 7 == 0,
        ));
    }
    let zip1 = in_pool(1, || build_zip(&many));
    let zip4 = in_pool(4, || build_zip(&many));
    assert_eq!(zip1, zip4);

    let small = members();
    assert_eq!(
        sha256_hex(&build_tgz(&small, DEFLATE)),
        "bfc1c2f1b15c2d09af024622ba23c9a55b46cf6fc2dc5e867f2a1a5525ae3944"
    );
    assert_eq!(
        sha256_hex(&build_zip(&small)),
        "a9c1da0e0d55a89aed870ea098e441eef661468ca1b695178f62f7436ad67ba9"
    );
}

/// A sink that only counts, so the streaming test holds nothing.
#[derive(Default)]
struct Counter(u64);
impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn streams_200_mb_without_accumulating() {
    let deflate = Deflate {
        level: 1,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    // The sink keeps only the compressed bytes (a few MB for this data);
    // the writer itself holds at most a window of chunks.
    let mut w = TarGzWriter::new(Vec::new(), EPOCH, deflate);
    let block: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x0f)
        .collect();
    for i in 0..200 {
        w.add_file(&format!("data/{i:04}.bin"), &block, false)
            .unwrap();
    }
    let gz = w.finish().unwrap();
    // Decode as a stream into a counter: one valid gzip member whose tar
    // stream has the expected length.
    let mut counter = Counter::default();
    std::io::copy(&mut flate2::read::GzDecoder::new(&gz[..]), &mut counter).unwrap();
    assert_eq!(counter.0, 200 * (512 + (1 << 20)) + 1024);
}

// ------------------------------------------------------------------ readers

fn gz(tar: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

fn tgz_of(entries: &[Vec<u8>]) -> Vec<u8> {
    gz(&tar_of(entries))
}

fn tar_err(bytes: &[u8], limits: &Limits) -> String {
    match read_tar_gz("evil.tar.gz", bytes, limits) {
        Ok(_) => panic!("accepted a hostile archive"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tar_reader_refuses_hostile_archives() {
    let l = Limits::default();
    let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
        (vec![entry(b"/etc/passwd", b'0', b"x")], "absolute path"),
        (vec![entry(b"a/../../x", b'0', b"x")], "`..` component"),
        (
            vec![tar_header(b"a/link", b'2', 0, b"/etc").to_vec()],
            "symbolic link",
        ),
        (
            vec![tar_header(b"a/hard", b'1', 0, b"a/x").to_vec()],
            "hard link",
        ),
        (vec![entry(b"a/dev", b'3', b"")], "character device"),
        (vec![entry(b"a/blk", b'4', b"")], "block device"),
        (vec![entry(b"a/fifo", b'6', b"")], "FIFO"),
        (
            vec![entry(b"a/x", b'0', b"1"), entry(b"a/x", b'0', b"2")],
            "duplicate",
        ),
    ];
    for (entries, want) in cases {
        let e = tar_err(&tgz_of(&entries), &l);
        assert!(
            e.contains(want) && e.starts_with("evil.tar.gz: "),
            "{want}: {e}"
        );
    }
    // The entry is named in the error.
    assert!(tar_err(&tgz_of(&[entry(b"a/../../x", b'0', b"")]), &l).contains("\"a/../../x\""));

    // Bad checksum.
    let mut bad = entry(b"a/x", b'0', b"x");
    bad[0] = b'b';
    assert!(tar_err(&tgz_of(&[bad]), &l).contains("checksum"));
    // Truncated: no end blocks; cut mid-member; cut gzip stream.
    let e = tar_err(&gz(&entry(b"a/x", b'0', b"x")), &l);
    assert!(e.contains("truncated"), "{e}");
    let e = tar_err(&gz(&entry(b"a/x", b'0', &[7u8; 2000])[..1000]), &l);
    assert!(e.contains("truncated"), "{e}");
    let full = tgz_of(&[entry(b"a/x", b'0', b"hello")]);
    let e = tar_err(&full[..full.len() - 4], &l);
    assert!(e.contains("truncated"), "{e}");
    // Bad gzip CRC.
    let mut crc = full.clone();
    let n = crc.len();
    crc[n - 8] ^= 1;
    assert!(tar_err(&crc, &l).contains("CRC32"));

    // Limits.
    let two = tgz_of(&[entry(b"a", b'0', b"12345"), entry(b"b", b'0', b"12345")]);
    let e = tar_err(
        &two,
        &Limits {
            max_entries: 1,
            ..l
        },
    );
    assert!(e.contains("entry count"), "{e}");
    let e = tar_err(
        &two,
        &Limits {
            max_entry_size: 4,
            ..l
        },
    );
    assert!(e.contains("member size") && e.contains("\"a\""), "{e}");
    let e = tar_err(
        &two,
        &Limits {
            max_total_size: 8,
            ..l
        },
    );
    assert!(e.contains("total size") && e.contains("\"b\""), "{e}");
    let e = tar_err(
        &two,
        &Limits {
            max_path_len: 0,
            ..l
        },
    );
    assert!(e.contains("path length"), "{e}");
    let pax = entry(PAX_HEADER_NAME.as_bytes(), b'x', &vec![b'#'; 5000]);
    let e = tar_err(
        &tgz_of(&[pax, entry(b"a", b'0', b"")]),
        &Limits {
            max_pax_header: 4096,
            ..l
        },
    );
    assert!(e.contains("extended header size"), "{e}");
    let bomb = tgz_of(&[entry(b"zeros", b'0', &vec![0u8; 8 << 20])]);
    let e = tar_err(
        &bomb,
        &Limits {
            max_ratio: 100,
            ..l
        },
    );
    assert!(e.contains("compression ratio"), "{e}");
}

#[test]
fn tar_reader_reports_what_other_tools_write() {
    // GNU long name, a directory entry, a `./` prefix and a global pax header.
    let long = format!("./{}", "n".repeat(150));
    let mut gnu_name = long.as_bytes().to_vec();
    gnu_name.push(0);
    let mut gnu = entry(b"././@LongLink", b'L', &gnu_name);
    gnu.extend_from_slice(&entry(b"ignored", b'0', b"data"));
    let a = read_tar_gz(
        "other.tar.gz",
        &tgz_of(&[
            entry(b"pax_global_header", b'g', b"20 comment=abcdefgh\n"),
            entry(b"./d/", b'5', b""),
            gnu,
        ])[..],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        a.global_pax,
        vec![vec![("comment".to_owned(), b"abcdefgh".to_vec())]]
    );
    assert_eq!(a.members[0].kind, TarKind::Directory);
    assert_eq!(a.members[0].path, "./d/");
    assert_eq!(a.members[1].path, long);
    assert!(a.members[1].gnu_long_name);
    assert_eq!(a.members[1].data, b"data");
    assert_eq!(a.gzip.xfl, 0); // flate2 writes XFL 0 too
}

/// Minimal hand-built stored zip: (name, data, external attributes).
fn raw_zip(entries: &[(&[u8], &[u8], u32)]) -> Vec<u8> {
    let raw: Vec<RawEntry> = entries
        .iter()
        .map(|(name, data, ext)| RawEntry {
            name,
            payload: data,
            method: 0,
            crc: crc32fast::hash(data),
            size: data.len() as u32,
            ext: *ext,
        })
        .collect();
    raw_zip_of(&raw)
}

fn zip_err(bytes: &[u8], limits: &Limits) -> String {
    match read_zip("evil.whl", bytes, limits) {
        Ok(_) => panic!("accepted a hostile archive"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn zip_reader_refuses_hostile_archives() {
    let l = Limits::default();
    const F: u32 = 0o100644 << 16;
    assert!(read_zip("ok.whl", &raw_zip(&[(b"a", b"x", F)]), &l).is_ok());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (raw_zip(&[(b"/abs", b"x", F)]), "absolute path"),
        (raw_zip(&[(b"a/../../x", b"x", F)]), "`..` component"),
        (
            raw_zip(&[(b"link", b"/etc/passwd", 0o120777 << 16)]),
            "symbolic link",
        ),
        (raw_zip(&[(b"dev", b"", 0o020644 << 16)]), "device"),
        (raw_zip(&[(b"fifo", b"", 0o010644 << 16)]), "FIFO"),
        (raw_zip(&[(b"a", b"1", F), (b"a", b"2", F)]), "duplicate"),
    ];
    for (bytes, want) in cases {
        let e = zip_err(&bytes, &l);
        assert!(
            e.contains(want) && e.starts_with("evil.whl: "),
            "{want}: {e}"
        );
    }
    // Local/central mismatch: rename the local header only.
    let mut m = raw_zip(&[(b"a", b"x", F)]);
    m[30] = b'b';
    assert!(zip_err(&m, &l).contains("local and central headers disagree"));
    // Bad CRC: flip the stored data.
    let mut c = raw_zip(&[(b"a", b"x", F)]);
    c[31] ^= 1;
    assert!(zip_err(&c, &l).contains("CRC32"));
    // Overlap: entry "outer" stores the whole of entry "in" as its data,
    // with consistent headers on both sides.
    let inner = raw_zip(&[(b"in", b"payload", F)]);
    let inner_entry_len = 30 + 2 + 7;
    let outer = raw_zip(&[(b"outer", &inner[..inner_entry_len], F)]);
    let outer_entry_len = 30 + 5 + inner_entry_len;
    let mut overlap = outer[..outer_entry_len].to_vec();
    let outer_cd = &outer[outer_entry_len..outer.len() - 22];
    let mut in_cd = inner[inner_entry_len..inner.len() - 22].to_vec();
    in_cd[42..46].copy_from_slice(&(30u32 + 5).to_le_bytes());
    overlap.extend_from_slice(outer_cd);
    overlap.extend_from_slice(&in_cd);
    overlap.extend_from_slice(&0x06054b50u32.to_le_bytes());
    overlap.extend_from_slice(&[0, 0, 0, 0, 2, 0, 2, 0]);
    overlap.extend_from_slice(&((outer_cd.len() + in_cd.len()) as u32).to_le_bytes());
    overlap.extend_from_slice(&(outer_entry_len as u32).to_le_bytes());
    overlap.extend_from_slice(&[0, 0]);
    let e = zip_err(&overlap, &l);
    assert!(e.contains("overlaps"), "{e}");
    // Truncated.
    let ok = build_zip(&members());
    for cut in [ok.len() - 1, ok.len() / 2, 10] {
        let e = zip_err(&ok[..cut], &l);
        assert!(e.contains("end of central directory"), "{e}");
    }
    // Limits.
    let two = raw_zip(&[(b"a", b"12345", F), (b"b", b"12345", F)]);
    assert!(
        zip_err(
            &two,
            &Limits {
                max_entries: 1,
                ..l
            }
        )
        .contains("entry count")
    );
    assert!(
        zip_err(
            &two,
            &Limits {
                max_entry_size: 4,
                ..l
            }
        )
        .contains("member size")
    );
    assert!(
        zip_err(
            &two,
            &Limits {
                max_total_size: 8,
                ..l
            }
        )
        .contains("total size")
    );
    assert!(
        zip_err(
            &two,
            &Limits {
                max_path_len: 0,
                ..l
            }
        )
        .contains("path length")
    );
    let mut z = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    z.add_file("zeros", &vec![0u8; 4 << 20], false).unwrap();
    let e = zip_err(
        &z.finish().unwrap(),
        &Limits {
            max_ratio: 100,
            ..l
        },
    );
    assert!(
        e.contains("compression ratio") && e.contains("\"zeros\""),
        "{e}"
    );
}

/// Tiny deterministic PRNG (xorshift) for mutation tests.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn readers_never_panic_on_truncated_or_mutated_input() {
    let tgz = build_tgz(&members(), DEFLATE);
    let raw_tar = tgz_of(&[entry(b"a", b'0', b"hello"), entry(b"b", b'0', b"")]);
    let zip = build_zip(&members());
    let l = Limits::default();
    for cut in 0..tgz.len() {
        let _ = read_tar_gz("t", &tgz[..cut], &l);
    }
    for cut in 0..zip.len() {
        let _ = read_zip("z", &zip[..cut], &l);
    }
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        for (src, is_zip) in [(&tgz, false), (&raw_tar, false), (&zip, true)] {
            let mut m = src.clone();
            for _ in 0..1 + xorshift(&mut s) % 4 {
                let i = (xorshift(&mut s) % m.len() as u64) as usize;
                m[i] = xorshift(&mut s) as u8;
            }
            if is_zip {
                let _ = read_zip("z", &m, &l);
            } else {
                let _ = read_tar_gz("t", &m[..], &l);
            }
        }
    }
    // Mutate the decompressed tar, too, so header parsing sees garbage
    // behind a valid gzip layer.
    let tar = gunzip(&tgz);
    for _ in 0..2000 {
        let mut m = tar.clone();
        for _ in 0..1 + xorshift(&mut s) % 4 {
            let i = (xorshift(&mut s) % m.len() as u64) as usize;
            m[i] = xorshift(&mut s) as u8;
        }
        let _ = read_tar_gz("t", &gz(&m)[..], &l);
    }
}

// -------------------------------------------------------- streaming readers

/// What other tools write: pax global header, `./` directory, GNU long
/// name, a pax `path`, a ustar prefix, an executable and an empty member.
fn foreign_tgz() -> Vec<u8> {
    let long = format!("./{}", "n".repeat(150));
    let mut gnu_name = long.as_bytes().to_vec();
    gnu_name.push(0);
    let mut gnu = entry(b"././@LongLink", b'L', &gnu_name);
    gnu.extend_from_slice(&entry(b"ignored", b'0', b"data"));
    let pax_path = "./d/é.txt";
    let record = format!("{} path={pax_path}\n", pax_path.len() + 9);
    let mut pax = entry(PAX_HEADER_NAME.as_bytes(), b'x', record.as_bytes());
    pax.extend_from_slice(&entry(b"ignored2", b'0', &[7u8; 1500]));
    let mut prefixed = tar_header(b"file.txt", b'0', 3, b"");
    prefixed[345..348].copy_from_slice(b"d/e");
    prefixed[148..156].fill(b' ');
    let sum: u32 = prefixed.iter().map(|&b| u32::from(b)).sum();
    prefixed[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut prefixed = prefixed.to_vec();
    prefixed.extend_from_slice(b"abc");
    prefixed.resize(1024, 0);
    let mut exe = tar_header(b"./d/run.sh", b'0', 5, b"");
    exe[100..108].copy_from_slice(b"0000755\0");
    exe[148..156].fill(b' ');
    let sum: u32 = exe.iter().map(|&b| u32::from(b)).sum();
    exe[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut exe = exe.to_vec();
    exe.extend_from_slice(b"#!sh\n");
    exe.resize(1024, 0);
    tgz_of(&[
        entry(b"pax_global_header", b'g', b"20 comment=abcdefgh\n"),
        entry(b"./d/", b'5', b""),
        gnu,
        pax,
        prefixed,
        exe,
        entry(b"./d/empty", b'0', b""),
    ])
}

/// Visit `bytes`, collecting each member's data; the metadata visited and
/// returned must agree.
fn visit_collect(bytes: &[u8], limits: &Limits) -> Result<TarGzArchive, ArchiveError> {
    let mut seen: Vec<TarMember> = Vec::new();
    let mut tgz = visit_tar_gz("t.tar.gz", bytes, limits, &mut |m, r| {
        assert!(m.data.is_empty());
        let mut m = m.clone();
        r.read_to_end(&mut m.data).unwrap();
        assert_eq!(m.data.len() as u64, m.size);
        seen.push(m);
        Ok(())
    })?;
    for (returned, visited) in tgz.members.iter_mut().zip(&seen) {
        assert!(returned.data.is_empty());
        returned.data = visited.data.clone();
        assert_eq!(returned, visited);
    }
    assert_eq!(tgz.members.len(), seen.len());
    Ok(tgz)
}

#[test]
fn visit_tar_gz_reports_what_read_tar_gz_reads() {
    for bytes in [build_tgz(&members(), DEFLATE), foreign_tgz()] {
        let l = Limits::default();
        let read = read_tar_gz("t.tar.gz", &bytes[..], &l).unwrap();
        let visited = visit_collect(&bytes, &l).unwrap();
        assert_eq!(visited, read);
        for m in &read.members {
            assert_eq!(m.size, m.data.len() as u64, "{}", m.path);
        }
        // Reading part or none of each member changes nothing either.
        for part in [0usize, 1, 100] {
            let tgz = visit_tar_gz("t.tar.gz", &bytes[..], &l, &mut |m, r| {
                let mut buf = vec![0u8; part];
                let n = r.read(&mut buf).unwrap();
                assert!(n <= part && n as u64 <= m.size);
                Ok(())
            })
            .unwrap();
            let mut expected = read.clone();
            for m in &mut expected.members {
                m.data.clear();
            }
            assert_eq!(tgz, expected, "reading {part} bytes of each member");
        }
    }
    let f = read_tar_gz("t.tar.gz", &foreign_tgz()[..], &Limits::default()).unwrap();
    let paths: Vec<&str> = f.members.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths[0], "./d/");
    assert_eq!(
        &paths[2..],
        ["./d/é.txt", "d/e/file.txt", "./d/run.sh", "./d/empty"]
    );
    assert!(f.members[4].executable && f.members[3].used_prefix);
}

#[test]
fn failures_under_the_visitor_are_reported_precisely() {
    let l = Limits::default();
    // Truncated member data: whatever the visitor does with the io::Error
    // (return its own error, or swallow it), the truncation is reported.
    let mut cut = entry(b"a/x", b'0', &[7u8; 2000]);
    cut.truncate(1000);
    let cut = gz(&cut);
    let own = |_: &TarMember, r: &mut dyn Read| {
        let mut v = Vec::new();
        r.read_to_end(&mut v)
            .map_err(|_| ArchiveError::DuplicatePath {
                path: "mine".into(),
            })?;
        Ok(())
    };
    let swallow = |_: &TarMember, r: &mut dyn Read| {
        let mut v = Vec::new();
        assert!(r.read_to_end(&mut v).is_err());
        Ok(())
    };
    for visitor in [
        &mut { own } as &mut dyn FnMut(&TarMember, &mut dyn Read) -> Result<(), ArchiveError>,
        &mut { swallow },
    ] {
        let e = visit_tar_gz("evil.tar.gz", &cut[..], &l, visitor).unwrap_err();
        assert!(
            matches!(&e, ArchiveError::Malformed { entry, reason, .. }
                if entry == "\"a/x\"" && reason.contains("truncated")),
            "{e}"
        );
    }
    // A bound hit while the visitor reads: the limit, naming the entry.
    let bomb = tgz_of(&[entry(b"zeros", b'0', &vec![0u8; 8 << 20])]);
    let tight = Limits {
        max_ratio: 100,
        ..l
    };
    let e = visit_tar_gz("evil.tar.gz", &bomb[..], &tight, &mut own.clone()).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { entry, what: "compression ratio", .. }
            if entry == "\"zeros\""),
        "{e}"
    );
    // ... and when the visitor reads nothing, draining hits it the same way.
    let e = visit_tar_gz("evil.tar.gz", &bomb[..], &tight, &mut |_, _| Ok(())).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { entry, .. } if entry == "\"zeros\""),
        "{e}"
    );
    // With nothing wrong underneath, the visitor's own error comes back.
    let ok = tgz_of(&[entry(b"a", b'0', b"12345")]);
    let e = visit_tar_gz("t.tar.gz", &ok[..], &l, &mut |m, _| {
        Err(ArchiveError::DuplicatePath {
            path: m.path.clone(),
        })
    })
    .unwrap_err();
    assert!(
        matches!(&e, ArchiveError::DuplicatePath { path } if path == "a"),
        "{e}"
    );
}

#[test]
fn huge_pax_header_or_size_is_refused_naming_the_entry_before_reading() {
    let l = Limits::default();
    // A pax header claiming 1 GiB, with nothing behind it: refused on the
    // claim, before a byte of it is read or allocated.
    let tgz = tgz_of(&[tar_header(PAX_HEADER_NAME.as_bytes(), b'x', 1 << 30, b"").to_vec()]);
    let e = visit_tar_gz("evil.tar.gz", &tgz[..], &l, &mut |_, _| {
        panic!("no member to visit")
    })
    .unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "extended header size", actual, entry, .. }
            if *actual == 1 << 30 && entry.contains(PAX_HEADER_NAME)),
        "{e}"
    );
    // A GNU long name block of 1 GiB, likewise.
    let tgz = tgz_of(&[tar_header(b"././@LongLink", b'L', 1 << 30, b"").to_vec()]);
    let e = tar_err(&tgz, &l);
    assert!(
        e.contains("extended header size") && e.contains("@LongLink"),
        "{e}"
    );
    // A pax `size` record of 1 TiB for a member: refused naming the member.
    let record = b"22 size=1099511627776\n";
    let tgz = tgz_of(&[
        entry(PAX_HEADER_NAME.as_bytes(), b'x', record),
        tar_header(b"p/big", b'0', 0, b"").to_vec(),
    ]);
    let e = tar_err(&tgz, &l);
    assert!(e.contains("member size") && e.contains("\"p/big\""), "{e}");
}

/// A zip as the `zip` crate streams it (data descriptors, a directory,
/// deflate and stored members, an archive comment).
fn zip_crate_zip() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    w.add_directory("pkg/", SimpleFileOptions::default())
        .unwrap();
    for (name, method, data) in [
        (
            "pkg/a.py",
            zip::CompressionMethod::Deflated,
            b"print(1)\n".repeat(300),
        ),
        ("pkg/b.bin", zip::CompressionMethod::Stored, vec![1u8, 2, 3]),
        ("pkg/empty", zip::CompressionMethod::Deflated, Vec::new()),
    ] {
        w.start_file(
            name,
            SimpleFileOptions::default()
                .compression_method(method)
                .unix_permissions(0o755),
        )
        .unwrap();
        w.write_all(&data).unwrap();
    }
    w.set_comment("made by the zip crate").unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_reader_reports_what_read_zip_reads() {
    let streamed = zip_crate_zip();
    let l = Limits::default();
    for bytes in [
        build_zip(&members()),
        streamed.clone(),
        raw_zip(&[(b"a", b"x", 0o100644 << 16)]),
    ] {
        let read = read_zip("t.whl", &bytes, &l).unwrap();
        let mut zr = ZipReader::open("t.whl", Cursor::new(&bytes), &l).unwrap();
        let mut expected = read.clone();
        for m in &mut expected.members {
            m.data.clear();
        }
        assert_eq!(zr.archive(), &expected);
        // Members can be copied in any order, more than once.
        for index in (0..read.members.len()).rev().chain(0..read.members.len()) {
            let mut out = Vec::new();
            let n = zr.copy_member(index, &mut out).unwrap();
            assert_eq!(n, out.len() as u64);
            assert_eq!(
                out, read.members[index].data,
                "{}",
                read.members[index].path
            );
        }
        let e = zr
            .copy_member(read.members.len(), &mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("no such member"), "{e}");
        assert_eq!(zr.into_inner().into_inner(), &bytes);
    }
    let read = read_zip("t.whl", &streamed, &l).unwrap();
    assert!(read.members.iter().any(|m| m.data_descriptor));
    assert_eq!(read.comment, b"made by the zip crate");
    assert_eq!(read.members[1].data, b"print(1)\n".repeat(300));
}

/// Raw deflate of `n` zero bytes, compressed as a stream.
fn deflated_zeros(n: u64) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len() as u64) as usize;
        e.write_all(&block[..k]).unwrap();
        left -= k as u64;
    }
    e.finish().unwrap()
}

/// A `Read + Seek` that counts the bytes read through it.
struct CountingSource<'a> {
    inner: Cursor<&'a [u8]>,
    read: u64,
}
impl Read for CountingSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
impl std::io::Seek for CountingSource<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn zip_bomb_is_stopped_as_soon_as_it_passes_the_declared_size() {
    const F: u32 = 0o100644 << 16;
    // 1 GiB of zeros (about 1 MB deflated) declared as 1 MiB: the
    // declared ratio is ~1, so only inflating can tell.
    let payload = deflated_zeros(1 << 30);
    let declared: u32 = 1 << 20;
    let crc = crc32fast::hash(&vec![0u8; declared as usize]);
    let bomb = raw_zip_of(&[RawEntry {
        name: b"bomb",
        payload: &payload,
        method: 8,
        crc,
        size: declared,
        ext: F,
    }]);
    let mut zr = ZipReader::open(
        "evil.whl",
        CountingSource {
            inner: Cursor::new(&bomb),
            read: 0,
        },
        &Limits::default(),
    )
    .unwrap();
    let mut out = Counter::default();
    let e = zr.copy_member(0, &mut out).unwrap_err();
    assert_eq!(
        e.to_string(),
        "evil.whl: \"bomb\": malformed: inflates to more than its declared size"
    );
    // Never more than the declared size went out, and only a sliver of
    // the compressed stream was read before it stopped.
    assert!(out.0 <= u64::from(declared), "{}", out.0);
    let read = zr.into_inner().read;
    assert!(
        read < payload.len() as u64 / 4,
        "read {read} of {}",
        payload.len()
    );
    // The in-memory reader stops it the same way.
    let e = read_zip("evil.whl", &bomb, &Limits::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"bomb\": malformed: inflates to more"),
        "{e}"
    );

    // Declared sizes over the bounds are refused by `open`, before any
    // inflating: the ratio, one member's size, the total.
    let small = deflated_zeros(4 << 20);
    let over_ratio = raw_zip_of(&[RawEntry {
        name: b"ratio",
        payload: &small[..100],
        method: 8,
        crc: 0,
        size: 4 << 20,
        ext: F,
    }]);
    let e = ZipReader::open("evil.whl", Cursor::new(&over_ratio), &Limits::default()).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "compression ratio", entry, .. } if entry == "\"ratio\""),
        "{e}"
    );
    let big = |name: &'static [u8]| RawEntry {
        name,
        payload: &small,
        method: 8,
        crc: 0,
        size: 3 << 20,
        ext: F,
    };
    let tight = Limits {
        max_entry_size: 4 << 20,
        max_total_size: 5 << 20,
        ..Limits::default()
    };
    let two = raw_zip_of(&[big(b"one"), big(b"two")]);
    let e = ZipReader::open("evil.whl", Cursor::new(&two), &tight).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "total size", entry, .. } if entry == "\"two\""),
        "{e}"
    );
    let e = ZipReader::open(
        "evil.whl",
        Cursor::new(&two),
        &Limits {
            max_entry_size: 2 << 20,
            ..tight
        },
    )
    .unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "member size", entry, .. } if entry == "\"one\""),
        "{e}"
    );
}

#[test]
fn copy_member_refuses_short_corrupt_and_mismatched_data() {
    const F: u32 = 0o100644 << 16;
    let zeros = deflated_zeros(1000);
    let entry = |size: u32, crc: u32| RawEntry {
        name: b"m",
        payload: &zeros,
        method: 8,
        crc,
        size,
        ext: F,
    };
    let good = crc32fast::hash(&[0u8; 1000]);
    let copy = |zip: Vec<u8>| {
        let mut zr = ZipReader::open("z.whl", Cursor::new(zip), &Limits::default()).unwrap();
        zr.copy_member(0, &mut Vec::new())
            .map_err(|e| e.to_string())
    };
    assert_eq!(copy(raw_zip_of(&[entry(1000, good)])), Ok(1000));
    assert_eq!(
        copy(raw_zip_of(&[entry(1001, good)])).unwrap_err(),
        "z.whl: \"m\": malformed: inflates to less than its declared size"
    );
    assert_eq!(
        copy(raw_zip_of(&[entry(1000, good ^ 1)])).unwrap_err(),
        "z.whl: \"m\": malformed: CRC32 mismatch"
    );
    // Truncated deflate data (the stream's end cut off).
    let cut = RawEntry {
        payload: &zeros[..zeros.len() - 2],
        ..entry(1000, good)
    };
    let e = copy(raw_zip_of(&[cut])).unwrap_err();
    assert!(e.starts_with("z.whl: \"m\": malformed: "), "{e}");
    // Garbage instead of deflate data.
    let garbage = RawEntry {
        payload: &[0xff; 16],
        ..entry(1000, good)
    };
    let e = copy(raw_zip_of(&[garbage])).unwrap_err();
    assert!(e.contains("\"m\": malformed: corrupt deflate data"), "{e}");
    // A stored member whose sizes differ is refused by open.
    let stored = RawEntry {
        payload: b"abc",
        method: 0,
        ..entry(4, crc32fast::hash(b"abc"))
    };
    let e = ZipReader::open(
        "z.whl",
        Cursor::new(raw_zip_of(&[stored])),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("stored entry: compressed and uncompressed sizes differ"),
        "{e}"
    );
    // A data descriptor that disagrees with the central directory.
    let mut z = zip_crate_zip();
    let d = z
        .windows(4)
        .position(|w| w == 0x08074b50u32.to_le_bytes())
        .unwrap();
    z[d + 4] ^= 1;
    let e = ZipReader::open("z.whl", Cursor::new(z), &Limits::default()).unwrap_err();
    assert!(
        e.to_string().contains("disagree on the data descriptor"),
        "{e}"
    );
    // A writer that fails is reported as such, naming the entry.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut zr = ZipReader::open(
        "z.whl",
        Cursor::new(raw_zip_of(&[entry(1000, good)])),
        &Limits::default(),
    )
    .unwrap();
    let e = zr.copy_member(0, &mut Broken).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::Output { entry, .. } if entry == "\"m\""),
        "{e}"
    );
}

// ------------------------------------------- bounds on what a reader keeps

/// `n` pax headers of `body` each, every one for its own small member.
fn pax_headers(n: usize, body: &[u8]) -> Vec<u8> {
    let mut entries = Vec::new();
    for i in 0..n {
        entries.push(entry(PAX_HEADER_NAME.as_bytes(), b'x', body));
        entries.push(entry(format!("p/f{i}").as_bytes(), b'0', b"x\n"));
    }
    tgz_of(&entries)
}

/// Counts the bytes a visitor is handed, keeping none.
fn visit_count(bytes: &[u8], limits: &Limits) -> Result<u64, ArchiveError> {
    let mut n = 0u64;
    visit_tar_gz("evil.tar.gz", bytes, limits, &mut |_, data| {
        n += std::io::copy(data, &mut std::io::sink()).unwrap_or(0);
        Ok(())
    })?;
    Ok(n)
}

#[test]
fn pax_records_amplifying_memory_are_refused_naming_the_header_and_the_limit() {
    let l = Limits::default();
    // 200 headers of 1 MiB of six-byte records: some 175,000 records per
    // header, which cost ~20x their bytes to keep. The archive's budget
    // stops it at the first header, before the records are kept.
    let tiny = b"6 a=b\n".repeat((1 << 20) / 6);
    let tgz = pax_headers(200, &tiny);
    assert!(tgz.len() < 2 << 20, "{}", tgz.len());
    let e = visit_count(&tgz, &l).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "pax bytes kept for the archive", limit, entry, .. }
            if *limit == l.max_pax_total && entry.contains(PAX_HEADER_NAME)),
        "{e}"
    );
    // The same with a `path` record first names the member it is for.
    let mut body = b"16 path=p/named\n".to_vec();
    body.extend_from_slice(&tiny[..tiny.len() - 24]);
    let e = visit_count(&pax_headers(1, &body), &l).unwrap_err();
    assert!(e.to_string().contains("for member \"p/named\""), "{e}");
    // 200 headers of one ~1 MiB record each: over the per-record bound,
    // naming the record's key.
    let mut big = format!("{} comment=", (1 << 20) - 100).into_bytes();
    big.resize((1 << 20) - 101, b'z');
    big.push(b'\n');
    let e = visit_count(&pax_headers(200, &big), &l).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "pax record size", actual, .. }
            if *actual == (1 << 20) - 100)
            && e.to_string().contains("record \"comment\""),
        "{e}"
    );
    // Records under both bounds are read, whatever their number.
    let mut fine = format!("{} comment=", 60_000).into_bytes();
    fine.resize(60_000 - 1, b'y');
    fine.push(b'\n');
    let a = read_tar_gz("ok.tar.gz", &pax_headers(200, &fine)[..], &l).unwrap();
    assert_eq!(a.members.len(), 200);
    assert_eq!(
        a.members[199].pax[0].1.len(),
        60_000 - "60000 comment=".len() - 1
    );
    // ... and a global header counts against the same budget.
    let global = entry(b"pax_global_header", b'g', &tiny);
    let e = tar_err(&tgz_of(&[global]), &l);
    assert!(e.contains("pax bytes kept"), "{e}");
}

#[test]
fn compression_ratio_is_checked_per_window_so_a_random_prefix_buys_nothing() {
    let l = Limits::default();
    // 1 MiB that does not compress, then 24 MiB of zeros: the cumulative
    // ratio stays far below the limit, every 8 MiB window of zeros is over.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..1 << 20).map(|_| xorshift(&mut s) as u8).collect();
    let mut tar = entry(b"p/random", b'0', &random);
    tar.extend_from_slice(&tar_header(b"p/zeros", b'0', 24 << 20, b""));
    tar.resize(tar.len() + (24 << 20) + 1024, 0);
    let tgz = gz(&tar);
    let cumulative = tar.len() as u64 / tgz.len() as u64;
    assert!(cumulative < l.max_ratio, "{cumulative}");
    let e = visit_count(&tgz, &l).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "compression ratio", entry, .. }
            if entry == "\"p/zeros\""),
        "{e}"
    );
    // A stream shorter than one window is not judged by its ratio.
    let small = tgz_of(&[entry(b"p/zeros", b'0', &vec![0u8; 4 << 20])]);
    assert_eq!(visit_count(&small, &l).unwrap(), 4 << 20);
}

#[test]
fn tar_name_with_a_backslash_is_refused() {
    for name in [&b"p\\evil.py"[..], b"p/dir\\"] {
        let e = tar_err(&tgz_of(&[entry(name, b'0', b"x")]), &Limits::default());
        assert!(
            e.contains("backslash in name")
                && e.contains(&format!("{:?}", std::str::from_utf8(name).unwrap())),
            "{e}"
        );
    }
}

#[test]
fn data_hidden_in_block_padding_is_refused() {
    let l = Limits::default();
    // After a member's data.
    let mut hidden = entry(b"p/a.py", b'0', b"print(1)\n");
    hidden[512 + 100] = b'!';
    let e = tar_err(&tgz_of(&[hidden]), &l);
    assert!(
        e.contains("\"p/a.py\"") && e.contains("1 non-zero bytes hidden in the block padding"),
        "{e}"
    );
    // After a pax header's records.
    let mut pax = entry(PAX_HEADER_NAME.as_bytes(), b'x', b"12 path=abc\n");
    pax[512 + 200] = 1;
    let e = tar_err(&tgz_of(&[pax, entry(b"p/b", b'0', b"")]), &l);
    assert!(
        e.contains(PAX_HEADER_NAME) && e.contains("block padding"),
        "{e}"
    );
    // Zero padding is what every tool writes, and fine.
    read_tar_gz(
        "ok.tar.gz",
        &tgz_of(&[entry(b"p/a.py", b'0', b"x")])[..],
        &l,
    )
    .unwrap();
}

#[test]
fn zeros_after_the_gzip_stream_are_accepted_within_limits() {
    let l = Limits::default();
    let tgz = tgz_of(&[entry(b"p/a", b'0', b"hello")]);
    let mut padded = tgz.clone();
    padded.resize(tgz.len() + 4096, 0);
    let a = read_tar_gz("padded.tar.gz", &padded[..], &l).unwrap();
    assert_eq!(a.gzip.trailing_zeros, 4096);
    assert_eq!(a.gzip.compressed_size, tgz.len() as u64);
    assert_eq!(a.members[0].data, b"hello");
    let plain = read_tar_gz("plain.tar.gz", &tgz[..], &l).unwrap();
    assert_eq!(plain.gzip.trailing_zeros, 0);
    assert_eq!(plain.gzip.uncompressed_sha256, a.gzip.uncompressed_sha256);
    // Anything but zeros after it, or more zeros than the bound, is not.
    let mut junk = padded.clone();
    junk.push(7);
    let e = tar_err(&junk, &l);
    assert!(e.contains("trailing data after gzip member"), "{e}");
    let mut huge = tgz.clone();
    huge.resize(
        tgz.len() + kiln_archive::MAX_GZIP_TRAILING_ZEROS as usize + 1,
        0,
    );
    let e = tar_err(&huge, &l);
    assert!(e.contains("zero bytes after the gzip stream"), "{e}");
}

#[test]
fn zip_with_65535_entries_is_read_without_zip64() {
    const F: u32 = 0o100644 << 16;
    let names: Vec<String> = (0..65_535).map(|i| format!("p/{i:05}")).collect();
    let entries: Vec<(&[u8], &[u8], u32)> =
        names.iter().map(|n| (n.as_bytes(), &b""[..], F)).collect();
    let zip = raw_zip(&entries);
    let z = ZipReader::open("many.whl", Cursor::new(&zip), &Limits::default()).unwrap();
    assert_eq!(z.archive().members.len(), 65_535);
    assert_eq!(z.archive().members[65_534].path, "p/65534");
    // With a zip64 locator before the end record, 0xFFFF means "see the
    // zip64 record", which kiln does not read.
    let eocd = zip.len() - 22;
    let mut z64 = zip[..eocd].to_vec();
    z64.extend_from_slice(&0x07064b50u32.to_le_bytes());
    z64.extend_from_slice(&[0u8; 16]);
    z64.extend_from_slice(&zip[eocd..]);
    let e = ZipReader::open("z64.whl", Cursor::new(&z64), &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("zip64"), "{e}");
    // kiln's writer writes 65,535 members too (normalize rewrites such a
    // wheel), and refuses the 65,536th.
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for n in &names {
        w.add_file(n, b"", false).unwrap();
    }
    let written = w.finish().unwrap();
    let z = ZipReader::open("many.whl", Cursor::new(&written), &Limits::default()).unwrap();
    assert_eq!(z.archive().members.len(), 65_535);
    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for n in &names {
        w.add_file(n, b"", false).unwrap();
    }
    let e = w.add_file("p/one-more", b"", false).unwrap_err();
    assert!(matches!(e, ArchiveError::Zip64Needed { .. }), "{e}");
}

#[test]
fn long_member_names_amplifying_memory_are_refused_by_the_path_budget() {
    // GNU long names of ~4 KiB compress to almost nothing; 5,000 of them
    // pass a 16 MiB budget of path bytes, refused naming the member.
    let l = Limits {
        max_path_total: 16 << 20,
        ..Limits::default()
    };
    let mut entries = Vec::new();
    for i in 0..5_000 {
        let mut name = format!("p/{}{i:06}", "a".repeat(4_000)).into_bytes();
        name.push(0);
        entries.push(entry(b"././@LongLink", b'L', &name));
        entries.push(entry(b"x", b'0', b""));
    }
    let tgz = tgz_of(&entries);
    assert!(tgz.len() < 1 << 20, "{}", tgz.len());
    let e = visit_count(&tgz, &l).unwrap_err();
    assert!(
        matches!(&e, ArchiveError::LimitExceeded { what: "member path bytes kept for the archive", entry, limit, .. }
            if entry.ends_with("004185\"") && *limit == 16 << 20),
        "{e}"
    );
    // Within the budget, read.
    let l = Limits {
        max_path_total: 32 << 20,
        ..l
    };
    assert_eq!(visit_count(&tgz, &l).unwrap(), 0);
}

#[test]
fn member_reader_streams_a_member_with_the_checks_of_copy_member() {
    const F: u32 = 0o100644 << 16;
    // What copy_member gives, read in small pieces.
    let zip = zip_crate_zip();
    let mut zr = ZipReader::open("z.whl", Cursor::new(&zip), &Limits::default()).unwrap();
    for index in 0..zr.archive().members.len() {
        let mut whole = Vec::new();
        zr.copy_member(index, &mut whole).unwrap();
        let mut pieces = Vec::new();
        let mut r = zr.member_reader(index).unwrap();
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            pieces.extend_from_slice(&buf[..n]);
        }
        assert_eq!(pieces, whole);
    }
    // A bomb fails as soon as the output passes the declared size, and the
    // failure is the precise error naming the member.
    let payload = deflated_zeros(64 << 20);
    let bomb = raw_zip_of(&[RawEntry {
        name: b"bomb",
        payload: &payload,
        method: 8,
        crc: crc32fast::hash(&[0u8; 1000]),
        size: 1000,
        ext: F,
    }]);
    let mut zr = ZipReader::open("evil.whl", Cursor::new(&bomb), &Limits::default()).unwrap();
    let mut r = zr.member_reader(0).unwrap();
    let mut out = Vec::new();
    let e = r.read_to_end(&mut out).unwrap_err();
    assert!(out.len() <= 1000, "{}", out.len());
    assert_eq!(
        r.into_failure(e).to_string(),
        "evil.whl: \"bomb\": malformed: inflates to more than its declared size"
    );
}
