//! Unit tests: the three syntaxes as the ports trees write them, kiln's own
//! record round-tripping, bad lines named, makesum's determinism, the
//! cache's refusal of unchecked files, and the three classifications on
//! real archives.

#![allow(clippy::unwrap_used)]

use super::*;
use kiln_digest::{Digests, hex};
use std::io::Write as _;
use std::path::Path;

const OPENBSD: &str = "SHA256 (binutils-2.41.tar.bz2) = pMS+wFL3uDcAJOYDieGUN38/SLVmGEGOpRBn9nqqsws=\nSIZE (binutils-2.41.tar.bz2) = 37132937\n";

const NETBSD: &str = "$NetBSD: distinfo,v 1.80 2024/05/27 23:27:10 riastradh Exp $

BLAKE2s (pkgin-23.8.1.tar.gz) = eb0f008ba9801a3c0a35de3e2b2503edd554c3cb17235b347bb8274a18794eb7
SHA512 (pkgin-23.8.1.tar.gz) = 2561d9e4b28a9a77c3c798612ec489dd67dd9a93c61344937095b0683fa89d8432a9ab8e600d0e2995d954888ac2e75a407bab08aa1e8198e375c99d2999f233
Size (pkgin-23.8.1.tar.gz) = 267029 bytes
SHA1 (patch-configure.ac) = 53f56351fb602d9fdce2c1ed266d65919a369086
";

#[test]
fn openbsd_syntax_parses_and_renders_back() {
    let d = Distinfo::parse("distinfo", OPENBSD).unwrap();
    assert_eq!(d.format, Format::OpenBsd);
    let e = &d.entries["binutils-2.41.tar.bz2"];
    assert_eq!(e.size, Some(37_132_937));
    assert_eq!(
        hex(&e.sha256.unwrap()),
        "a4c4bec052f7b8370024e60389e194377f3f48b56618418ea51067f67aaab30b"
    );
    assert!(e.sha512.is_none() && e.blake2s.is_none());
    assert_eq!(d.render().unwrap(), OPENBSD);
}

#[test]
fn every_digest_read_is_rendered_back_in_each_syntax() {
    // A BLAKE2s line in an OpenBSD file (base64 tells the syntax) and a
    // SHA512 line in a FreeBSD one: neither tree writes them, but what was
    // read is never dropped (fuzzing found the OpenBSD renderer did).
    let blake = "4d6e6a9c33c3ad4a9ef7ec3c78b4e2ab9a5b2be3e16cc5e0e4d2a4f5f2fbb62a";
    let sha512 = "ab".repeat(64);
    for text in [
        format!("{OPENBSD}BLAKE2s (extra.tar.gz) = {blake}\n"),
        format!(
            "TIMESTAMP = 1700000000\nSHA256 (a.tgz) = {blake}\nSHA512 (a.tgz) = {sha512}\nSIZE (a.tgz) = 1\n"
        ),
    ] {
        let d = Distinfo::parse("distinfo", &text).unwrap();
        let rendered = d.render().unwrap();
        let back = Distinfo::parse("rendered", &rendered).unwrap();
        assert_eq!(back, d, "{rendered}");
        assert_eq!(back.render().unwrap(), rendered);
    }
}

#[test]
fn netbsd_syntax_parses_and_renders_back() {
    let d = Distinfo::parse("distinfo", NETBSD).unwrap();
    assert_eq!(d.format, Format::NetBsd);
    let e = &d.entries["pkgin-23.8.1.tar.gz"];
    assert_eq!(e.size, Some(267_029));
    assert!(e.is_checkable() && e.sha256.is_none());
    assert!(hex(&e.blake2s.unwrap()).starts_with("eb0f008b"));
    let patch = &d.entries["patch-configure.ac"];
    assert!(!patch.is_checkable());
    assert_eq!(patch.others[0].0, "SHA1");
    assert_eq!(d.render().unwrap(), NETBSD);
    // A patch entry cannot be checked: a file for it is a change to
    // explain, never silently "unchanged".
    let plan = makesum::plan(
        &d,
        &[("patch-configure.ac".into(), Digests::of_bytes(b"x"))],
    );
    assert!(
        matches!(&plan[0], makesum::Change::Changed { disagreements, .. } if disagreements[0].contains("SHA1")),
        "{plan:?}"
    );
}

#[test]
fn freebsd_syntax_parses_and_renders_back() {
    let text = format!(
        "TIMESTAMP = 1641833619\nSHA256 (you-myapp-1.2.19_GH0.tar.gz) = {}\nSIZE (you-myapp-1.2.19_GH0.tar.gz) = 103806\n",
        "37".repeat(32)
    );
    let d = Distinfo::parse("distinfo", &text).unwrap();
    assert_eq!(d.format, Format::FreeBsd);
    assert_eq!(d.timestamp, Some(1_641_833_619));
    assert_eq!(d.entries["you-myapp-1.2.19_GH0.tar.gz"].size, Some(103_806));
    assert_eq!(d.render().unwrap(), text);
    let err = Distinfo::parse("distinfo", &format!("{text}$NetBSD$\n")).unwrap_err();
    assert!(err.to_string().starts_with("distinfo:4:"), "{err}");
}

#[test]
fn kilns_own_release_record_round_trips() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../release/records/kiln-sums/0.1.0.distinfo");
    let text = std::fs::read_to_string(&path).unwrap();
    let d = Distinfo::parse("0.1.0.distinfo", &text).unwrap();
    assert_eq!(d.format, Format::Kiln);
    assert!(d.record.is_some());
    assert_eq!(d.entries.len(), 2);
    assert!(d.entries.values().all(Entry::is_checkable));
    assert_eq!(d.render().unwrap(), text);
}

#[test]
fn bad_lines_are_named_by_file_and_line() {
    let sha = "a".repeat(64);
    for (text, line) in [
        (format!("SHA256 (x) = {sha}\nSIZE (x) = ten\n"), 2),
        (format!("SHA256 (x) = {sha}\nSHA256 (x) = {sha}\n"), 2),
        ("\nSHA256 (x) = zz\n".to_string(), 2),
        ("SHA256 (../x) = abc\n".to_string(), 1),
        (format!("SHA256 (x = {sha}\n"), 1),
        ("garbage\n".to_string(), 1),
        (format!("{OPENBSD}Size (y) = 3 bytes\n"), 3),
        ("SIZE (x) = 1\n$NetBSD$\n".to_string(), 2),
        ("Size (x) = 3\n".to_string(), 1),
        ("WHIRLPOOL (x) = \x1b[2J\n".to_string(), 1),
    ] {
        let err = Distinfo::parse("ports/x/distinfo", &text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("ports/x/distinfo:{line}:")),
            "{text:?}: {err}"
        );
    }
}

fn sample_files() -> Vec<(String, Digests)> {
    [
        ("b-2.0.tar.gz", &b"bee"[..]),
        ("a-1.0.tar.gz", b"ay"),
        ("c.zip", b""),
    ]
    .iter()
    .map(|(n, b)| (n.to_string(), Digests::of_bytes(b)))
    .collect()
}

#[test]
fn makesum_is_a_pure_function_of_the_files() {
    let files = sample_files();
    let mut reversed = files.clone();
    reversed.reverse();
    let mut pinned = Vec::new();
    for format in [Format::Kiln, Format::OpenBsd, Format::NetBsd] {
        let one = makesum::apply(&Distinfo::new(format), &files, false)
            .render()
            .unwrap();
        let two = makesum::apply(&Distinfo::new(format), &reversed, false)
            .render()
            .unwrap();
        assert_eq!(one, two);
        // It parses back to the same entries, in the same syntax.
        let back = Distinfo::parse("distinfo", &one).unwrap();
        assert_eq!(back.format, format);
        assert_eq!(back.render().unwrap(), one);
        pinned.push(hex(&kiln_digest::sha256(one.as_bytes())));
    }
    let openbsd = makesum::apply(&Distinfo::new(Format::OpenBsd), &files, false)
        .render()
        .unwrap();
    assert!(openbsd.starts_with("SHA256 (a-1.0.tar.gz) = "), "{openbsd}");
    assert!(openbsd.ends_with("SIZE (c.zip) = 0\n"), "{openbsd}");
    assert_eq!(
        pinned,
        [
            "c474029652bac2409cd28089903ab6c2ca9b36e4a607acbe9b920f2118885edb",
            "f900ef3c3c07f8e35b8d27a3bcc19c34a2a811ccae05e10dffddabc6c4ce529d",
            "176e7e15c5aaa7e77bf2245374fa7b6a88328c250a6d547111a7d8a9cc4d80db"
        ]
    );
}

#[test]
fn makesum_keeps_a_changed_entry_unless_asked() {
    let files = sample_files();
    let old = makesum::apply(&Distinfo::new(Format::NetBsd), &files, false);
    let changed = vec![("a-1.0.tar.gz".to_string(), Digests::of_bytes(b"ay!"))];
    let plan = makesum::plan(&old, &changed);
    assert!(
        matches!(&plan[0], makesum::Change::Changed { disagreements, .. } if disagreements.len() == 3),
        "{plan:?}"
    );
    assert_eq!(makesum::apply(&old, &changed, false), old);
    let updated = makesum::apply(&old, &changed, true);
    assert!(updated.entries["a-1.0.tar.gz"].matches(&changed[0].1));
    assert_eq!(
        makesum::plan(&updated, &changed),
        [makesum::Change::Unchanged]
    );
}

#[test]
fn the_cache_takes_only_checked_files_and_finds_them_by_any_digest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let tmp = dir.path().join("tmp-file");
    std::fs::write(&tmp, b"payload").unwrap();
    let d = Digests::of_bytes(b"payload");
    let mut entry = makesum::entry_for(Format::NetBsd, &Digests::of_bytes(b"other"));
    assert!(matches!(
        cache.store(&tmp, "x.tar.gz", &d, &entry),
        Err(DistfilesError::NotChecked { .. })
    ));
    entry = Entry {
        size: Some(7),
        ..Entry::default()
    };
    assert!(
        cache.store(&tmp, "x.tar.gz", &d, &entry).is_err(),
        "a size alone checks nothing"
    );
    entry = makesum::entry_for(Format::NetBsd, &d);
    let path = cache.store(&tmp, "x.tar.gz", &d, &entry).unwrap();
    assert_eq!(
        path,
        dir.path()
            .join("sha256")
            .join(hex(&d.sha256))
            .join("x.tar.gz")
    );
    assert!(!tmp.exists());
    let (found, digests, good) = cache.lookup("x.tar.gz", &entry).unwrap().unwrap();
    assert!(good);
    assert_eq!(digests, d);
    assert!(found.starts_with(dir.path().join("sha512")));
}

/// A tar.gz of `members`, with `mtime` and `level`.
fn tar_gz(members: &[(&str, &[u8])], mtime: u64, level: u32) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("pkg-1.0/{name}"), *bytes)
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn mismatches_are_classified_with_the_diff_engine() {
    let text: Vec<u8> = (0..4000)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let members: [(&str, &[u8]); 2] = [("README", b"hello\n"), ("src/main.c", &text)];
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let good = write("good", &tar_gz(&members, 1_700_000_000, 9));
    let regzip = write("regzip", &tar_gz(&members, 1_700_000_000, 1));
    let retime = write("retime", &tar_gz(&members, 1_800_000_000, 9));
    let changed = write(
        "changed",
        &tar_gz(
            &[("README", b"hello, world\n"), ("src/main.c", &text)],
            1_700_000_000,
            9,
        ),
    );
    let junk = write("junk", b"<html>not a tarball</html>");
    let opts = kiln_diff::DiffOptions::default();
    let run = |p: &Path| classify("pkg-1.0.tgz", &good, "cached", p, "served", &opts);

    let c = run(&regzip);
    assert_eq!(c.verdict, Verdict::ReRolled);
    assert!(
        c.differs.contains(&"compression".to_string()),
        "{:?}",
        c.differs
    );
    let c = run(&retime);
    assert_eq!(c.verdict, Verdict::ReRolled);
    assert!(
        c.differs.contains(&"timestamps".to_string()),
        "{:?}",
        c.differs
    );
    let c = run(&changed);
    assert_eq!(c.verdict, Verdict::ContentChanged);
    let diff = c.diff.unwrap();
    assert_eq!(diff.members.len(), 1);
    assert!(
        diff.members[0].path.ends_with("README"),
        "{:?}",
        diff.members
    );
    let c = run(&junk);
    assert_eq!(c.verdict, Verdict::Unreadable);
    assert!(c.reason.unwrap().contains("served"));
    let c = classify("binutils-2.41.tar.bz2", &good, "a", &junk, "b", &opts);
    assert_eq!(c.verdict, Verdict::Unreadable);
    assert!(c.reason.unwrap().contains("tar.gz"));
}

#[test]
fn sites_name_a_kiln_cache_by_digest() {
    let d = Digests::of_bytes(b"x");
    let entry = makesum::entry_for(Format::NetBsd, &d);
    assert_eq!(
        cache::expand_site("http://m/sha512/{sha512}/", &entry).unwrap(),
        format!("http://m/sha512/{}/", hex(&d.sha512))
    );
    assert_eq!(cache::expand_site("http://m/{sha256}/", &entry), None);
    assert_eq!(
        cache::expand_site("http://m/", &entry).unwrap(),
        "http://m/"
    );
}
