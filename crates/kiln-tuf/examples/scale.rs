//! The scale benchmark of the mirror's TUF metadata (not a test): a
//! simulated mirror of 30,000 projects with 10 files each (300,000 files)
//! plus their 30,000 simple pages, signed with 16 … 16,384 hashed bins.
//! For each bin count: the bytes of all metadata, a new client's first
//! refresh (root, timestamp, snapshot, targets, bins and the one bin of a
//! target it downloads), a client's refresh after one new release
//! (timestamp, snapshot and the bins of the release's files and page),
//! and the time to sign that release: in memory, and on disk as `tuf add`
//! does it (read the current metadata, sign, write). Prints a Markdown table (as in
//! docs/tuf.md). Run: `cargo run --release -p kiln-tuf --example scale`.

#![allow(clippy::print_stdout, clippy::disallowed_methods, clippy::unwrap_used)] // A benchmark: prints, times itself.

use kiln_provenance::PrivateKey;
use kiln_tuf::{Expiry, Keys, Repository, TargetFile};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const PROJECTS: usize = 30_000;
const FILES_PER_PROJECT: usize = 10;
const NOW: u64 = 1_800_000_000;

fn file(seed: &str, length: u64) -> TargetFile {
    TargetFile::new(
        length,
        kiln_digest::hex(&kiln_digest::sha256(seed.as_bytes())),
    )
}

fn main() {
    let k = |n: u8| PrivateKey::from_seed([n; 32]);
    let keys = Keys {
        root: k(1),
        targets: k(2),
        snapshot: k(3),
        timestamp: k(4),
        bins: k(5),
    };
    let mut targets = BTreeMap::new();
    for p in 0..PROJECTS {
        let name = format!("project-{p:05}");
        targets.insert(format!("simple/{name}/index.html"), file(&name, 2_000));
        for v in 0..FILES_PER_PROJECT {
            let f = if v % 2 == 0 {
                format!("files/{}-{}.0.{v}.tar.gz", name.replace('-', "_"), v / 2)
            } else {
                format!(
                    "files/{}-{}.0.{v}-py3-none-any.whl",
                    name.replace('-', "_"),
                    v / 2
                )
            };
            targets.insert(f.clone(), file(&f, 100_000));
        }
    }
    println!(
        "{} projects, {} targets ({} files and {} simple pages)\n",
        PROJECTS,
        targets.len(),
        PROJECTS * FILES_PER_PROJECT,
        PROJECTS
    );
    println!(
        "| bins | all metadata | first refresh + 1 bin | refresh after 1 release | sign 1 release (memory) | add 1 release (disk) | sign all |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for bins in [16u32, 64, 256, 1024, 4096, 16_384] {
        let start = Instant::now();
        let (mut repo, files) =
            Repository::init(&targets, bins, &keys, NOW, Expiry::default()).unwrap();
        let init_time = start.elapsed();
        let size: BTreeMap<&str, usize> =
            files.iter().map(|(n, b)| (n.as_str(), b.len())).collect();
        let all: usize = size.values().sum();
        let layout = repo.layout().unwrap();
        let bin_file = |i: u32| format!("1.{}.json", layout.name(i));
        let one = "files/project_00042-0.0.1-py3-none-any.whl";
        let first = size["1.root.json"]
            + size["timestamp.json"]
            + size["1.snapshot.json"]
            + size["1.targets.json"]
            + size["1.bins.json"]
            + size[bin_file(layout.index(one)).as_str()];
        // One release: an sdist and a wheel of project 42, and its page.
        let release = [
            "files/project_00042-9.0.tar.gz".to_string(),
            "files/project_00042-9.0-py3-none-any.whl".to_string(),
        ];
        let mut changes: BTreeMap<String, Option<TargetFile>> = release
            .iter()
            .map(|f| (f.clone(), Some(file(f, 100_000))))
            .collect();
        changes.insert(
            "simple/project-00042/index.html".to_string(),
            Some(file("project-00042 v9", 2_300)),
        );
        let disk = tempfile::tempdir().unwrap();
        kiln_tuf::dir::write(disk.path(), &files).unwrap();
        let start = Instant::now();
        let updated = repo
            .update(&changes, keys.online(), NOW + 60, Expiry::default())
            .unwrap();
        let add_time = start.elapsed();
        let after: usize = updated.iter().map(|(_, b)| b.len()).sum();
        // As `tuf add` does it: read what it needs, sign, write. `update`
        // hashes the release's files from disk, so they are written first.
        for path in changes.keys() {
            let p = disk.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, path).unwrap();
        }
        let paths: Vec<String> = changes.keys().cloned().collect();
        let start = Instant::now();
        let written = kiln_tuf::update(
            disk.path(),
            &paths,
            keys.online(),
            NOW + 60,
            Expiry::default(),
        )
        .unwrap()
        .written;
        let disk_time = start.elapsed();
        let updated: Vec<String> = updated.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(written, updated);
        let bins_touched: BTreeSet<u32> = changes.keys().map(|p| layout.index(p)).collect();
        assert_eq!(updated.len(), bins_touched.len() + 2);
        println!(
            "| {bins} | {} | {} | {} | {:.1} ms | {:.2} s | {:.1} s |",
            mb(all),
            mb(first),
            mb(after),
            add_time.as_secs_f64() * 1000.0,
            disk_time.as_secs_f64(),
            init_time.as_secs_f64()
        );
    }
}

fn mb(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}
