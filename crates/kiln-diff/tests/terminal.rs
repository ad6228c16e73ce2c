//! Terminal injection: an archive's member names, metadata values and text
//! contents reach the human report only escaped, so a member cannot forge
//! report lines or send the terminal a control sequence. The archives are
//! built with the independent `tar` crate, raw names written byte for byte.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use kiln_diff::escape::is_unsafe;
use kiln_diff::{DiffOptions, DiffReport, Level, diff_files};

const PKG_INFO: &str =
    "Metadata-Version: 2.4\nName: p\nVersion: 1.0\nSummary: A test project\n\nThe description.\n";

/// A gzipped ustar archive of `members`, names written as given.
fn sdist(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        let bytes = h.as_mut_bytes();
        bytes[..100].fill(0);
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn diff(a: &[u8], b: &[u8]) -> DiffReport {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.tar.gz"), dir.path().join("b.tar.gz"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    diff_files(
        &pa,
        &pb,
        "a/p-1.0.tar.gz",
        "b/p-1.0.tar.gz",
        &DiffOptions::default(),
    )
    .unwrap()
}

/// No control character but the line ends (and TABs inside the lines of a
/// text diff), no bidi control, and no line that starts where an attacker
/// wanted it to.
fn assert_clean(text: &str) {
    for (i, line) in text.lines().enumerate() {
        let bad: Vec<char> = line
            .chars()
            .filter(|&c| c != '\t' && is_unsafe(c))
            .collect();
        assert!(bad.is_empty(), "line {i} holds {bad:?}: {line:?}");
        assert!(!line.contains('\r'), "line {i}: {line:?}");
        assert!(
            !line.trim_start().starts_with("+ forged"),
            "a forged line: {line:?}\n{text}"
        );
    }
}

const BASE: [(&str, &[u8]); 2] = [
    ("p-1.0/PKG-INFO", PKG_INFO.as_bytes()),
    ("p-1.0/src/p/__init__.py", b"x = 1\n"),
];

#[test]
fn terminal_injection_member_names_are_escaped() {
    let a = sdist(&BASE);
    let mut members = BASE.to_vec();
    members.push(("p-1.0/a\n+ forged line", b"1"));
    members.push(("p-1.0/\x1b[2J", b"2"));
    members.push(("p-1.0/\u{9b}2J\u{202e}txt.exe", b"3"));
    members.push(("p-1.0/tab\there\rcr", b"4"));
    let r = diff(&a, &sdist(&members));
    assert_eq!(r.level, Level::DifferentContent);
    let text = r.render();
    assert_clean(&text);
    assert!(text.contains("added   p-1.0/a\\n+ forged line ("), "{text}");
    assert!(text.contains("added   p-1.0/\\x1b[2J ("), "{text}");
    assert!(
        text.contains("added   p-1.0/\\u{9b}2J\\u{202e}txt.exe ("),
        "{text}"
    );
    assert!(text.contains("added   p-1.0/tab\\there\\rcr ("), "{text}");
    // The JSON form keeps the exact names (serde escapes them).
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("a\\n+ forged line"), "{json}");
    assert!(json.contains("\\u001b[2J"), "{json}");
}

#[test]
fn terminal_injection_member_contents_are_escaped_in_text_diffs() {
    let a = sdist(&BASE);
    let evil: &[u8] = b"x = 1\n\x1b[2J\x1b]0;pwned\x07\ty = 2\r\nz = 3\rforged\n";
    let b = sdist(&[BASE[0], ("p-1.0/src/p/__init__.py", evil)]);
    let text = diff(&a, &b).render();
    assert_clean(&text);
    assert!(
        text.contains("+\\x1b[2J\\x1b]0;pwned\\x07\ty = 2\\r"),
        "{text}"
    );
    // `similar` splits lines at a lone CR too: the CR is shown all the same.
    assert!(text.contains("+z = 3\\r\n"), "{text}");
}

#[test]
fn terminal_injection_metadata_values_are_escaped() {
    let a = sdist(&BASE);
    let pkg_info = PKG_INFO.replace("A test project", "\x1b[2J\x1b[1;1Hall good\u{202e}");
    let b = sdist(&[("p-1.0/PKG-INFO", pkg_info.as_bytes()), BASE[1]]);
    let text = diff(&a, &b).render();
    assert_clean(&text);
    assert!(
        text.contains("Summary: A test project → \\x1b[2J\\x1b[1;1Hall good\\u{202e}"),
        "{text}"
    );
}

#[test]
fn terminal_injection_file_names_are_escaped() {
    let a = sdist(&BASE);
    let b = sdist(&[BASE[0], ("p-1.0/src/p/__init__.py", b"x = 2\n")]);
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.tar.gz"), dir.path().join("b.tar.gz"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let r = diff_files(
        &pa,
        &pb,
        "a/p\x1b[2J-1.0.tar.gz",
        "b/p\n+ forged line.tar.gz",
        &DiffOptions::default(),
    )
    .unwrap();
    let text = r.render();
    assert_clean(&text);
    assert!(text.contains("a: a/p\\x1b[2J-1.0.tar.gz ("), "{text}");
    assert!(text.contains("b: b/p\\n+ forged line.tar.gz ("), "{text}");
}
