//! Every file the committed manifest pins is served at its URL with its
//! size and sha256 (network, once: later runs are cache hits, checked
//! again), into the cache the other corpus tests share.
#![allow(clippy::unwrap_used)]

use kiln_corpus::{Cache, Manifest};
use std::path::{Path, PathBuf};

#[test]
fn every_pinned_file_is_served_with_its_digest() {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kiln-corpus");
    #[allow(clippy::disallowed_methods)] // the test run's settings
    let cache = Cache::with_settings(target, |name| std::env::var_os(name).map(PathBuf::from));
    let manifest = Manifest::committed().unwrap();
    #[allow(clippy::disallowed_methods)] // how long the downloads took
    let started = std::time::Instant::now();
    for file in &manifest.file {
        let bytes = cache
            .read(file)
            .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)));
        assert_eq!(bytes.len() as u64, file.size, "{}", file.filename);
        assert_eq!(
            std::fs::read(cache.location(file)).unwrap(),
            bytes,
            "{}",
            file.filename
        );
    }
    eprintln!(
        "{} corpus files in {:?} (cache {})",
        manifest.file.len(),
        started.elapsed(),
        cache.dir().display()
    );
}
