//! Inference on the real-world corpus (kiln-corpus's pinned releases,
//! downloaded on first use into `target/kiln-corpus/`): the backend each
//! published wheel names, and the epoch its containers show, against what
//! was found by reading those files by hand.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // Tests read the environment.

use kiln_archive::Limits;
use kiln_corpus::{Cache, Kind, Manifest};
use kiln_infer::{EpochValue, infer_backend, infer_epoch, sdist_times, wheel_times};
use std::path::{Path, PathBuf};

fn file(project: &str, kind: Kind) -> (String, Vec<u8>) {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = var("KILN_CORPUS_CACHE")
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kiln-corpus"));
    let manifest = Manifest::committed().unwrap();
    let path = Cache::new(dir)
        .trusting(var("SSL_CERT_FILE"))
        .path(manifest.get(project, kind).unwrap())
        .unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, std::fs::read(&path).unwrap())
}

#[test]
fn backends_and_epochs_of_the_corpus() {
    let limits = Limits::default();
    // project, the distribution and version, the epoch (None: unset).
    let expected: &[(&str, &str, &str, Option<u64>)] = &[
        ("tuf", "hatchling", "1.32.0", None),
        ("rich", "poetry-core", "2.3.1", None),
        ("idna", "flit_core", "4.1.0", None),
        ("packaging", "flit_core", "3.12.0", None),
        ("click", "flit_core", "3.12.0", Some(1_793_946_343)),
        ("certifi", "setuptools", "84.0.0", None),
        ("six", "setuptools", "75.6.0", None),
    ];
    for (project, dist, version, epoch) in expected {
        let (wname, wheel) = file(project, Kind::Wheel);
        let (sname, sdist) = file(project, Kind::Sdist);
        let backend = infer_backend(&wname, &wheel, &limits).unwrap().unwrap();
        assert_eq!(
            (backend.distribution.as_str(), backend.version.as_str()),
            (*dist, *version),
            "{project}"
        );
        let w = wheel_times(&wname, &wheel, &limits).unwrap();
        let s = sdist_times(&sname, sdist.as_slice(), &limits).unwrap();
        let inferred = infer_epoch(Some(&w), Some(&s), Some(dist)).unwrap();
        let want = epoch.map_or(EpochValue::Unset, EpochValue::Fixed);
        assert_eq!(inferred.value, want, "{project}: {}", inferred.evidence);
        // The sdist alone agrees where the publisher set an epoch.
        if let Some(e) = epoch {
            let alone = infer_epoch(None, Some(&s), Some(dist)).unwrap();
            assert_eq!(
                alone.value,
                EpochValue::Fixed(*e),
                "{project}: {}",
                alone.evidence
            );
        }
    }
    // A tuf sdist alone: hatchling's default everywhere.
    let (sname, sdist) = file("tuf", Kind::Sdist);
    let s = sdist_times(&sname, sdist.as_slice(), &limits).unwrap();
    assert_eq!(
        infer_epoch(None, Some(&s), None).unwrap().value,
        EpochValue::Unset
    );
}

#[test]
fn a_broken_wheel_is_an_error_naming_it() {
    let err = infer_backend("x-1-py3-none-any.whl", b"not a zip", &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("x-1-py3-none-any.whl"), "{err}");
}
