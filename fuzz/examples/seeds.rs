//! Writes the seed corpus, `fuzz/seeds/<target>/`, from small inputs made
//! the way the tests make theirs: kiln's own writers (a canonical sdist and
//! wheel, a rendered record, a signed envelope) and foreign layouts from
//! the independent `tar`, `zip` and `flate2` crates (pax, GNU long names,
//! directories, `./` prefixes, data descriptors, concatenated gzip members,
//! trailing zeros). Deterministic: run it again and nothing changes.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use kiln_archive::{ArchiveWriter, Deflate, TarGzWriter, ZipWriter};
use kiln_provenance::{
    BuildParameters, Dependency, IN_TOTO_PAYLOAD_TYPE, PrivateKey, ProvenanceInput, Signing,
    SigningKind, Subject, dsse, statement_json,
};
use kiln_record::{ArtifactDigests, Record, render_sha256sums};

const EPOCH: u64 = 1_700_000_000;
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 1 << 20,
    solid_below: 128 << 10,
    solid_level: 5,
};
/// The key the `dsse` target trusts (`fuzz_targets/dsse.rs`).
const SEED_KEY: [u8; 32] = [7; 32];

const PKG_INFO: &[u8] = b"Metadata-Version: 2.4\nName: p\nVersion: 1.0\nSummary: A seed\n\nText.\n";
const METADATA: &[u8] = b"Metadata-Version: 2.4\nName: p\nVersion: 1.0\n";
const INIT: &[u8] = b"x = 1\n";
const DATA: &[u8] = &[0, 1, 2, 255];

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
    println!("{target}/{name}: {} bytes", bytes.len());
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(tar).unwrap();
    gz.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// A foreign tar: directories with `./`, a GNU long name, a pax header with
/// a long path and an mtime, a ustar prefix, an executable.
fn foreign_tar(gnu: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let header = |kind, mode, size: usize| {
        let mut h = if gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size as u64);
        h.set_mtime(EPOCH);
        h.set_uid(1000);
        h.set_gid(1000);
        h
    };
    for dir in ["./p-1.0/", "./p-1.0/src/"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, dir, &[][..]).unwrap();
    }
    let mut h = header(tar::EntryType::Regular, 0o644, PKG_INFO.len());
    b.append_data(&mut h, "./p-1.0/PKG-INFO", PKG_INFO).unwrap();
    let long = format!("p-1.0/src/{}/mod.py", "deep".repeat(30));
    if !gnu {
        b.append_pax_extensions([("mtime", &b"1700000000.5"[..]), ("path", long.as_bytes())])
            .unwrap();
    }
    let mut h = header(tar::EntryType::Regular, 0o644, INIT.len());
    b.append_data(&mut h, &long, INIT).unwrap();
    let mut h = header(tar::EntryType::Regular, 0o755, 11);
    b.append_data(&mut h, "p-1.0/run.sh", &b"#!/bin/sh\n\n"[..])
        .unwrap();
    b.into_inner().unwrap()
}

fn sdists(dir: &Path) {
    let mut w = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    w.add_file("p-1.0/PKG-INFO", PKG_INFO, false).unwrap();
    w.add_file("p-1.0/bin/run", b"#!/bin/sh\n", true).unwrap();
    w.add_file("p-1.0/src/p/__init__.py", INIT, false).unwrap();
    let kiln = w.finish().unwrap();
    write(dir, "tar_gz", "kiln.tar.gz", &kiln);
    write(dir, "tar", "kiln.tar", &gunzip(&kiln));

    for (name, tar) in [("pax", foreign_tar(false)), ("gnu", foreign_tar(true))] {
        write(dir, "tar_gz", &format!("{name}.tar.gz"), &gzip(&tar));
        write(dir, "tar", &format!("{name}.tar"), &tar);
    }

    // Two gzip members, then zeros after the stream.
    let tar = gunzip(&kiln);
    let (first, second) = tar.split_at(512 * 2);
    let mut two = gzip(first);
    two.extend(gzip(second));
    two.extend([0u8; 64]);
    write(dir, "tar_gz", "two-members-and-zeros.tar.gz", &two);
}

fn record_text(members: &[(&str, &[u8])]) -> String {
    let mut record = String::new();
    for (path, data) in members {
        let hash = kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data));
        record.push_str(&format!("{path},sha256={hash},{}\n", data.len()));
    }
    record.push_str("p-1.0.dist-info/RECORD,,\n");
    record
}

fn wheels(dir: &Path) {
    let members: [(&str, &[u8]); 3] = [
        ("p/__init__.py", INIT),
        ("p/data.bin", DATA),
        ("p-1.0.dist-info/METADATA", METADATA),
    ];
    let record = record_text(&members);
    write(dir, "wheel_record", "valid.csv", record.as_bytes());
    let sha512 = kiln_digest::urlsafe_b64_nopad(&kiln_digest::Digests::of_bytes(INIT).sha512);
    let quoted = record
        .replace("p/__init__.py,sha256=", "\"p/__init__.py\",sha512=")
        .replacen(
            &kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(INIT)),
            &sha512,
            1,
        )
        .replace('\n', "\r\n");
    write(
        dir,
        "wheel_record",
        "quoted-sha512-crlf.csv",
        quoted.as_bytes(),
    );

    let mut w = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for (path, data) in members {
        w.add_file(path, data, false).unwrap();
    }
    w.add_file("p-1.0.dist-info/RECORD", record.as_bytes(), false)
        .unwrap();
    write(dir, "zip", "kiln.whl", &w.finish().unwrap());

    // A foreign wheel: streamed (data descriptors), stored and deflated,
    // an executable, a directory entry and comments.
    let mut z = zip::ZipWriter::new_stream(Vec::new());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let stored = deflated
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    z.add_directory("p/", deflated).unwrap();
    z.start_file("p/__init__.py", deflated).unwrap();
    z.write_all(INIT).unwrap();
    z.start_file("p/tool", stored).unwrap();
    z.write_all(b"#!python\n").unwrap();
    z.start_file("p-1.0.dist-info/RECORD", deflated).unwrap();
    z.write_all(record.as_bytes()).unwrap();
    z.set_comment("a comment").unwrap();
    write(
        dir,
        "zip",
        "streamed.whl",
        &z.finish().unwrap().into_inner(),
    );
}

fn digests(seed: &[u8]) -> ArtifactDigests {
    ArtifactDigests::from(&kiln_digest::Digests::of_bytes(seed))
}

fn records(dir: &Path) {
    let mut native = Record {
        project: "p".into(),
        version: "1.0".into(),
        epoch: EPOCH,
        mode: kiln_names::BuildMode::Native,
        pins: BTreeMap::from([
            ("compression.level".into(), "9".into()),
            ("rust.toolchain".into(), "1.95.0".into()),
        ]),
        lock: None,
        build_requires: BTreeMap::new(),
        artifacts: BTreeMap::from([
            ("p-1.0-py3-none-any.whl".into(), digests(b"wheel")),
            ("p-1.0.tar.gz".into(), digests(b"sdist")),
        ]),
    };
    write(
        dir,
        "distinfo",
        "native.distinfo",
        native.render().as_bytes(),
    );
    native.mode = kiln_names::BuildMode::Backend;
    native.lock = Some("a".repeat(64));
    native.build_requires = BTreeMap::from([(
        "hatchling".into(),
        format!("1.27.0 sha256:{}", "b".repeat(64)),
    )]);
    write(
        dir,
        "distinfo",
        "backend.distinfo",
        native.render().as_bytes(),
    );
    let sums = render_sha256sums(
        native
            .artifacts
            .iter()
            .map(|(name, d)| (name.as_str(), d.sha256.as_str())),
    );
    write(dir, "distinfo", "SHA256SUMS", sums.as_bytes());
}

fn statement(keyless: bool) -> Vec<u8> {
    statement_json(&ProvenanceInput {
        subjects: vec![Subject {
            name: "p-1.0.tar.gz".into(),
            sha256: "1".repeat(64),
            sha512: "2".repeat(128),
        }],
        parameters: BuildParameters {
            project: "p".into(),
            version: "1.0".into(),
            source_repository: "https://example.com/p".into(),
            source_ref: "refs/tags/v1.0".into(),
            mode: kiln_names::BuildMode::Native,
            epoch: EPOCH,
            compression: BTreeMap::from([("level".into(), "9".into())]),
            pins: BTreeMap::from([("rust.toolchain".into(), "1.95.0".into())]),
            signing: Signing {
                kind: if keyless {
                    SigningKind::Keyless
                } else {
                    SigningKind::Key
                },
                keyid: (!keyless).then(|| "c".repeat(64)),
            },
        },
        source_commit: "3".repeat(40),
        dependencies: vec![Dependency {
            name: Some("rustc".into()),
            uri: "https://static.rust-lang.org/dist/rustc-1.95.0".into(),
            digest: BTreeMap::from([("sha256".into(), "4".repeat(64))]),
        }],
        builder_id: "local".into(),
        invocation_id: "1".into(),
        started_on: "2026-01-01T00:00:00Z".into(),
        finished_on: "2026-01-01T00:00:01Z".into(),
    })
}

fn provenance(dir: &Path) {
    let key = PrivateKey::from_seed(SEED_KEY);
    let (key_statement, keyless_statement) = (statement(false), statement(true));
    write(dir, "statement", "key.json", &key_statement);
    write(dir, "statement", "keyless.json", &keyless_statement);
    let one = dsse::sign(IN_TOTO_PAYLOAD_TYPE, &key_statement, &key).to_json_line();
    write(dir, "dsse", "signed.intoto.jsonl", one.as_bytes());
    let two = dsse::sign("text/plain", b"hello", &key).to_json_line();
    write(
        dir,
        "dsse",
        "two.intoto.jsonl",
        format!("{one}\n{two}").as_bytes(),
    );
}

/// A PEP 503 page (a `<base>`, entities, `#sha256=`, `data-yanked`, a
/// comment, inline markup, an anchor without text) and a PEP 691 page.
fn index_pages(dir: &Path) {
    let sha = "ab".repeat(32);
    let html = format!(
        "<!DOCTYPE html>\n<html><head><base href=\"https://files.example.com/x/\"></head><body>\n\
         <!-- <a href=\"hidden.whl\">no</a> -->\n\
         <a href=\"p-1.0.tar.gz#sha256={sha}\">p-1.0.tar.gz</a><br/>\n\
         <a href=\"../p-1.0-py3-none-any.whl#sha256={sha}\" data-yanked=\"bad &amp; broken\"><b>p-1.0-py3-none-any.whl</b></a>\n\
         <A HREF='/packages/p-0.9.tar.gz'></A>\n\
         <a href=\"p&#45;0.8.tar.gz\">p&#x2d;0.8.tar.gz</a>\n</body></html>\n"
    );
    write(dir, "simple_index", "page.html", html.as_bytes());
    let json = format!(
        "{{\"meta\":{{\"api-version\":\"1.1\"}},\"name\":\"p\",\"files\":[\
         {{\"filename\":\"p-1.0.tar.gz\",\"url\":\"https://files.example.com/p-1.0.tar.gz\",\"hashes\":{{\"sha256\":\"{sha}\"}}}},\
         {{\"filename\":\"p-1.0-py3-none-any.whl\",\"url\":\"../../p.whl#sha256={sha}\",\"hashes\":{{}},\"yanked\":\"reason\"}},\
         {{\"filename\":\"p-0.9.tar.gz\",\"url\":\"p-0.9.tar.gz\",\"hashes\":{{\"md5\":\"00\"}},\"yanked\":false,\"requires-python\":\">=3.9\"}}]}}\n"
    );
    write(dir, "simple_index", "page.json", json.as_bytes());
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    index_pages(&dir);
    sdists(&dir);
    wheels(&dir);
    records(&dir);
    provenance(&dir);
    ports_distinfo(&dir);
    tuf_metadata(&dir);
}

/// One `distinfo` in each syntax the distfile cache reads.
fn ports_distinfo(dir: &Path) {
    let sha = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
    let b64 = "X3C/GKCGAHAW6UiwSu07ghA6Nr6kF1W2zd+vEKzjxu8=";
    let blake = "4d6e6a9c33c3ad4a9ef7ec3c78b4e2ab9a5b2be3e16cc5e0e4d2a4f5f2fbb62a";
    write(
        dir,
        "ports_distinfo",
        "freebsd",
        format!("TIMESTAMP = 1700000000\nSHA256 (p-1.0.tar.gz) = {sha}\nSIZE (p-1.0.tar.gz) = 3870\n")
            .as_bytes(),
    );
    write(
        dir,
        "ports_distinfo",
        "openbsd",
        format!("SHA256 (p-1.0.tar.gz) = {b64}\nSIZE (p-1.0.tar.gz) = 3870\n").as_bytes(),
    );
    write(
        dir,
        "ports_distinfo",
        "netbsd",
        format!(
            "$NetBSD$\n\nBLAKE2s (p-1.0.tar.gz) = {blake}\nSHA512 (p-1.0.tar.gz) = {sha}{sha}\nSize (p-1.0.tar.gz) = 3870 bytes\nSHA1 (patch-aa) = 0123456789abcdef0123456789abcdef01234567\n"
        )
        .as_bytes(),
    );
}

/// A TUF root, timestamp and targets file (signatures that verify nothing:
/// the readers' paths up to the signature check).
fn tuf_metadata(dir: &Path) {
    let sig = r#"[{"keyid":"0000000000000000000000000000000000000000000000000000000000000000","sig":"00"}]"#;
    let key = r#"{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"0000000000000000000000000000000000000000000000000000000000000000"}}"#;
    let id = "0000000000000000000000000000000000000000000000000000000000000000";
    let root = format!(
        r#"{{"signatures":{sig},"signed":{{"_type":"root","spec_version":"1.0.31","version":1,"expires":"2030-01-01T00:00:00Z","consistent_snapshot":true,"keys":{{"{id}":{key}}},"roles":{{"root":{{"keyids":["{id}"],"threshold":1}},"targets":{{"keyids":["{id}"],"threshold":1}},"snapshot":{{"keyids":["{id}"],"threshold":1}},"timestamp":{{"keyids":["{id}"],"threshold":1}}}}}}}}"#
    );
    write(dir, "tuf_metadata", "root.json", root.as_bytes());
    let timestamp = format!(
        r#"{{"signatures":{sig},"signed":{{"_type":"timestamp","spec_version":"1.0.31","version":3,"expires":"2030-01-01T00:00:00Z","meta":{{"snapshot.json":{{"version":2,"length":512,"hashes":{{"sha256":"{id}"}}}}}}}}}}"#
    );
    write(dir, "tuf_metadata", "timestamp.json", timestamp.as_bytes());
    let targets = format!(
        r#"{{"signatures":{sig},"signed":{{"_type":"targets","spec_version":"1.0.31","version":1,"expires":"2030-01-01T00:00:00Z","targets":{{"p/p-1.0.tar.gz":{{"length":3870,"hashes":{{"sha256":"{id}"}}}}}},"delegations":{{"keys":{{"{id}":{key}}},"roles":[{{"name":"bin-0","keyids":["{id}"],"threshold":1,"terminating":true,"path_hash_prefixes":["0"]}}]}}}}}}"#
    );
    write(dir, "tuf_metadata", "targets.json", targets.as_bytes());
}
