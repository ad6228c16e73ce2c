//! A member deflated once (`Deflated`, on any thread) gives both writers
//! exactly the bytes they write from the raw data, whatever the thread
//! count; the archives read back with independent readers.

#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read};

use kiln_archive::{ArchiveWriter, Deflate, Deflated, TarGzWriter, ZipWriter};

const EPOCH: u64 = 1_700_000_000;
const DEFLATE: Deflate = Deflate {
    level: 6,
    gzip_chunk_size: 64 << 10,
    solid_below: 128 << 10,
    solid_level: 5,
};

fn members() -> Vec<(String, Vec<u8>, bool)> {
    let mut state = 0x1234_5678_u32;
    let mut mixed = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if (i >> 10) % 3 == 0 {
                    state as u8
                } else {
                    b"import os\nprint(os.sep)\n"[i % 24]
                }
            })
            .collect()
    };
    let mut m = vec![
        ("p-1/a.py".to_owned(), b"x = 1\n".to_vec(), false),
        ("p-1/b/empty.py".to_owned(), Vec::new(), false),
        ("p-1/c.bin".to_owned(), mixed(200_000), false),
        (
            "p-1/d/run.sh".to_owned(),
            b"#!/bin/sh\necho hi\n".to_vec(),
            true,
        ),
        ("p-1/e\u{e9}.txt".to_owned(), mixed(513), false),
    ];
    for i in 0..300 {
        m.push((format!("p-1/many/{i:03}.py"), mixed(i * 37), i % 5 == 0));
    }
    m
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn from_raw(m: &[(String, Vec<u8>, bool)]) -> (Vec<u8>, Vec<u8>) {
    let mut tar = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    let mut zip = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for (path, data, exec) in m {
        tar.add_file(path, data, *exec).unwrap();
        zip.add_file(path, data, *exec).unwrap();
    }
    (tar.finish().unwrap(), zip.finish().unwrap())
}

fn from_deflated(m: &[(String, Vec<u8>, bool)]) -> (Vec<u8>, Vec<u8>) {
    use rayon::prelude::*;
    let deflated: Vec<Deflated> = m
        .par_iter()
        .map(|(path, data, _)| Deflated::new(path, data, DEFLATE).unwrap())
        .collect();
    let mut tar = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    let mut zip = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    for ((path, data, exec), d) in m.iter().zip(deflated) {
        if DEFLATE.is_solid(d.size) {
            tar.add_file(path, data, *exec).unwrap();
        } else {
            tar.add_deflated(path, d.clone(), *exec).unwrap();
        }
        zip.add_deflated(path, d, *exec).unwrap();
    }
    (tar.finish().unwrap(), zip.finish().unwrap())
}

#[test]
fn deflated_once_gives_the_raw_writers_bytes_on_any_thread_count() {
    let m = members();
    let raw = in_pool(1, || from_raw(&m));
    for threads in [1, 2, 8] {
        assert!(in_pool(threads, || from_raw(&m)) == raw, "raw, {threads}");
        let (t, z) = in_pool(threads, || from_deflated(&m));
        let first = t.iter().zip(&raw.0).position(|(a, b)| a != b);
        assert!(
            t == raw.0,
            "deflated tar.gz, {threads}: {} vs {}, first diff {first:?}",
            t.len(),
            raw.0.len()
        );
        assert!(z == raw.1, "deflated zip, {threads}");
    }

    // Independent readers see every member.
    let (tgz, zip) = raw;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&tgz[..]));
    let mut seen = 0;
    for (entry, (path, data, _)) in tar.entries().unwrap().zip(&m) {
        let mut entry = entry.unwrap();
        assert_eq!(entry.path().unwrap().to_str().unwrap(), path);
        let mut back = Vec::new();
        entry.read_to_end(&mut back).unwrap();
        assert!(back == *data, "{path}");
        seen += 1;
    }
    assert_eq!(seen, m.len());
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    for (path, data, _) in &m {
        let mut back = Vec::new();
        z.by_name(path).unwrap().read_to_end(&mut back).unwrap();
        assert!(back == *data, "{path}");
    }
}

#[test]
fn other_settings_are_refused() {
    let other = Deflate {
        level: 1,
        ..DEFLATE
    };
    let big = vec![7u8; DEFLATE.solid_below as usize];
    let d = Deflated::new("x", &big, other).unwrap();
    let mut tar = TarGzWriter::new(Vec::new(), EPOCH, DEFLATE);
    let e = tar.add_deflated("x", d.clone(), false).unwrap_err();
    assert!(e.to_string().contains("\"x\""), "{e}");
    // A small member goes with the headers, so only its raw bytes will do.
    let small = Deflated::new("y", b"data", DEFLATE).unwrap();
    assert!(tar.add_deflated("y", small, false).is_err());
    let mut zip = ZipWriter::new(Vec::new(), EPOCH, DEFLATE).unwrap();
    assert!(zip.add_deflated("x", d, false).is_err());
}
