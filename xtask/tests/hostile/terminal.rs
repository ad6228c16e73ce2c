//! Hostile inputs: terminal injection. Member names, member contents and
//! file names holding newlines, escape sequences, C1 and bidi controls
//! reach `diff`'s human output only escaped (`\n`, `\x1b`, `\u{202e}`):
//! no raw control byte but the line ends (and TABs inside text diffs), and
//! no line an archive chose.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::harness;

/// A ustar header for a regular file `name` of `size` bytes, the name
/// written byte for byte (up to 100 bytes, as the name field holds).
fn ustar_header(name: &[u8], size: usize) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"14524770400");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// The tar of `members`, names as given, with the two end blocks.
fn tar(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        out.extend(ustar_header(name, data.len()));
        out.extend(*data);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// `data` gzipped in stored deflate blocks (no compressor needed).
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend([1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(chunk);
    }
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

const PKG_INFO: &[u8] =
    b"Metadata-Version: 2.4\nName: p\nVersion: 1.0\nSummary: A test project\n\nThe description.\n";

fn write_sdist(path: &Path, members: &[(&[u8], &[u8])]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, gzip(&tar(members))).unwrap();
}

/// Nothing but line ends (and TABs) among the control characters, no
/// bidi control, and no line an attacker began.
#[track_caller]
fn assert_clean(text: &str) {
    for line in text.lines() {
        let bad: Vec<char> = line
            .chars()
            .filter(|&c| c != '\t' && kiln_diff::escape::is_unsafe(c))
            .collect();
        assert!(bad.is_empty(), "raw {bad:?} in {line:?}\n{text}");
        assert!(
            !line.trim_start().starts_with("+ forged"),
            "a forged line: {line:?}\n{text}"
        );
    }
}

#[test]
fn terminal_injection_diff_escapes_member_names_and_contents() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a/p-1.0.tar.gz");
    let b = dir.path().join("b/p-1.0.tar.gz");
    write_sdist(
        &a,
        &[(b"p-1.0/PKG-INFO", PKG_INFO), (b"p-1.0/p.py", b"x = 1\n")],
    );
    let summary = "Summary: \x1b[2J\x1b[1;1Hall good\u{202e}";
    let pkg_info = String::from_utf8_lossy(PKG_INFO).replace("Summary: A test project", summary);
    write_sdist(
        &b,
        &[
            (b"p-1.0/PKG-INFO", pkg_info.as_bytes()),
            (b"p-1.0/a\n+ forged line", b"1"),
            (b"p-1.0/\x1b[2J", b"2"),
            ("p-1.0/\u{9b}31m\u{202e}txt.exe".as_bytes(), b"3"),
            (b"p-1.0/p.py", b"x = 1\n\x1b]0;pwned\x07\ty = 2\r\n"),
        ],
    );
    let out = harness::run(
        dir.path(),
        &["diff", &a.display().to_string(), &b.display().to_string()],
    );
    out.expect(1, "different content")
        .under(harness::MEMORY_KIB);
    let text = &out.stderr;
    assert_clean(text);
    for needle in [
        "added   p-1.0/a\\n+ forged line (",
        "added   p-1.0/\\x1b[2J (",
        "added   p-1.0/\\u{9b}31m\\u{202e}txt.exe (",
        "+\\x1b]0;pwned\\x07\ty = 2\\r",
        "Summary: A test project → \\x1b[2J\\x1b[1;1Hall good\\u{202e}",
    ] {
        assert!(text.contains(needle), "no {needle:?} in\n{text}");
    }
}

#[test]
fn terminal_injection_refusals_name_the_entry_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a/p-1.0.tar.gz");
    let b = dir.path().join("b/p-1.0.tar.gz");
    write_sdist(&a, &[(b"p-1.0/PKG-INFO", PKG_INFO)]);
    write_sdist(
        &b,
        &[
            (b"p-1.0/PKG-INFO", PKG_INFO),
            (b"p-1.0/../\x1b[2J\n+ forged line", b"1"),
        ],
    );
    let out = harness::run(
        dir.path(),
        &["diff", &a.display().to_string(), &b.display().to_string()],
    );
    // The readers name entries in Rust's debug form (`\u{1b}`).
    out.expect(2, "[2J\\n+ forged line\": refused")
        .under(harness::MEMORY_KIB);
    assert_clean(&out.stderr);
}

#[test]
fn terminal_injection_file_names_only_on_one_side_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let members: &[(&[u8], &[u8])] = &[(b"p-1.0/PKG-INFO", PKG_INFO)];
    write_sdist(&dir.path().join("a/p-1.0.tar.gz"), members);
    write_sdist(&dir.path().join("b/p-1.0.tar.gz"), members);
    write_sdist(
        &dir.path().join("b/p\x1b[2J\n+ forged line-1.0.tar.gz"),
        members,
    );
    let out = harness::run(dir.path(), &["diff", "a", "b"]);
    out.expect(1, "p\\x1b[2J\\n+ forged line-1.0.tar.gz: only in B")
        .under(harness::MEMORY_KIB);
    assert_clean(&out.stderr);
}
