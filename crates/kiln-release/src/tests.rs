//! The release decisions on real files in a temporary directory.

use super::*;
use kiln_names::BuildMode;
use kiln_record::ArtifactDigests;
use std::collections::BTreeMap;

fn record(epoch: u64, artifacts: &[(&str, &str)]) -> Record {
    Record {
        project: "demo".into(),
        version: "1.0".into(),
        epoch,
        mode: BuildMode::Native,
        pins: BTreeMap::new(),
        lock: None,
        build_requires: BTreeMap::new(),
        artifacts: artifacts
            .iter()
            .map(|(name, sha256)| {
                let digests = ArtifactDigests {
                    sha256: sha256.repeat(64),
                    sha512: "0".repeat(128),
                    blake2s: "0".repeat(64),
                    size: 1,
                };
                ((*name).to_string(), digests)
            })
            .collect(),
    }
}

#[test]
fn a_recorded_version_keeps_its_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("demo-1.0.kiln-record.toml");
    let old = record(10, &[("a.whl", "a"), ("a.tar.gz", "b")]);
    assert_eq!(reroll(&path, &old).unwrap(), None, "no record yet");
    std::fs::write(&path, old.render()).unwrap();
    assert_eq!(reroll(&path, &old).unwrap(), None, "the same bytes");
    let new = record(20, &[("a.whl", "c"), ("b.whl", "d")]);
    let message = reroll(&path, &new).unwrap().unwrap();
    assert!(message.contains("refusing to re-roll"), "{message}");
    assert!(
        message.contains("  a.whl: recorded sha256 aaaa"),
        "{message}"
    );
    assert!(
        message.contains("  b.whl: built now, not in the record"),
        "{message}"
    );
    assert!(
        message.contains("  a.tar.gz: in the record, not built now"),
        "{message}"
    );
    assert!(message.contains("recorded 10, used now 20"), "{message}");
    std::fs::write(&path, "not a record").unwrap();
    assert!(matches!(reroll(&path, &new), Err(ReleaseError::Record(_))));
}

#[test]
fn only_a_directory_of_release_outputs_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dist");
    let suffixes = [".whl", ".tar.gz"];
    check_replaceable(&out, &suffixes).unwrap();
    std::fs::create_dir(&out).unwrap();
    for name in ["SHA256SUMS", "a.whl", "a.tar.gz", ".DS_Store"] {
        std::fs::write(out.join(name), "x").unwrap();
    }
    std::fs::create_dir(out.join(".kiln-stage-1")).unwrap();
    check_replaceable(&out, &suffixes).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(out.join("sub.whl")).unwrap();
    let err = check_replaceable(&out, &suffixes).unwrap_err().to_string();
    assert!(
        err.contains("holds \"notes.txt\", \"sub.whl\", which no release writes")
            && err.ends_with("move them elsewhere or choose another --out"),
        "{err}"
    );
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = check_replaceable(&file, &suffixes).unwrap_err();
    assert!(matches!(err, ReleaseError::NotADirectory { .. }), "{err}");
}

#[test]
fn killed_runs_leave_nothing_in_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    clean_records(&tmp.path().join("absent")).unwrap();
    for name in [".tmpAb12Cd", "demo-1.0.kiln-record.toml", ".tmpshort"] {
        std::fs::write(tmp.path().join(name), "x").unwrap();
    }
    clean_records(tmp.path()).unwrap();
    assert!(!tmp.path().join(".tmpAb12Cd").exists());
    assert!(tmp.path().join("demo-1.0.kiln-record.toml").exists());
    assert!(tmp.path().join(".tmpshort").exists());
}

#[test]
fn a_missing_lock_says_how_to_make_one() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("demo.lock.toml");
    let err = load_lock(&path, "demo").unwrap_err().to_string();
    assert!(
        err.ends_with("run `cargo xtask lock --project demo` and commit the lock"),
        "{err}"
    );
    std::fs::write(&path, [0xff, 0xfe]).unwrap();
    let err = load_lock(&path, "demo").unwrap_err();
    assert!(matches!(err, ReleaseError::NotUtf8 { .. }), "{err}");
}

#[test]
fn the_second_build_copy_differs_in_everything_but_content() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tmp = tempfile::tempdir().unwrap();
    let from = tmp.path().join("project");
    std::fs::create_dir_all(from.join("pkg")).unwrap();
    std::fs::write(from.join("pkg/mod.py"), "x = 1\n").unwrap();
    std::fs::write(from.join("run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(from.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("pkg/mod.py", from.join("link")).unwrap();
    let staging = format!("{}release", kiln_fs::publish::STAGING_PREFIX);
    std::fs::create_dir(from.join(&staging)).unwrap();
    std::fs::write(from.join(&staging).join("big"), "not content").unwrap();

    let to = tmp.path().join("a/deeper/copy");
    reproduce::perturbed_copy(&from, &to).unwrap();
    assert_eq!(std::fs::read(to.join("pkg/mod.py")).unwrap(), b"x = 1\n");
    assert_eq!(
        std::fs::read_link(to.join("link")).unwrap(),
        Path::new("pkg/mod.py")
    );
    assert!(
        !to.join(&staging).exists(),
        "kiln's own staging is no content"
    );
    let meta = |p: &str| std::fs::symlink_metadata(to.join(p)).unwrap();
    assert_eq!(meta("pkg/mod.py").mode() & 0o777, 0o600);
    assert_eq!(meta("run.sh").mode() & 0o777, 0o700);
    assert_eq!(meta("pkg").mode() & 0o777, 0o700);
    let original = std::fs::metadata(from.join("pkg/mod.py")).unwrap();
    assert_ne!(meta("pkg/mod.py").mtime(), original.mtime());
    assert_ne!(meta("pkg/mod.py").mtime(), meta("run.sh").mtime());
}

#[test]
fn the_two_builds_are_compared_artifact_by_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let first = vec![
        ("same.txt".to_string(), file("1-same", "a")),
        ("other.txt".to_string(), file("1-other", "a")),
        ("gone.txt".to_string(), file("1-gone", "a")),
    ];
    let second = vec![
        ("same.txt".to_string(), file("2-same", "a")),
        ("other.txt".to_string(), file("2-other", "bb")),
        ("new.txt".to_string(), file("2-new", "c")),
    ];
    let outcomes = reproduce::compare_builds(&first, &second).unwrap();
    let got: Vec<(&str, Option<&str>)> = outcomes
        .iter()
        .map(|o| (o.filename.as_str(), o.difference.as_deref()))
        .collect();
    assert_eq!(got[0], ("same.txt", None));
    assert!(
        got[1]
            .1
            .is_some_and(|d| d.starts_with("sha256 ") && d.contains("(1 vs 2 bytes)")),
        "{got:?}"
    );
    assert_eq!(
        got[2],
        ("gone.txt", Some("the second build did not produce it"))
    );
    assert_eq!(
        got[3],
        ("new.txt", Some("only the second build produced it"))
    );
    std::fs::remove_file(tmp.path().join("2-same")).unwrap();
    let err = reproduce::compare_builds(&first, &second).unwrap_err();
    assert!(matches!(err, ReleaseError::Read { .. }), "{err}");
}

#[test]
fn a_record_lists_the_lock_and_gives_its_requirements_back() {
    let lock = kiln_lock::Lock {
        version: 1,
        python: "3.12.8".into(),
        build_backend: "setuptools.build_meta".into(),
        backend_path: Vec::new(),
        requires: vec!["setuptools".into()],
        packages: vec![kiln_lock::Package {
            name: "setuptools".into(),
            version: "75.0.0".into(),
            filename: "setuptools-75.0.0-py3-none-any.whl".into(),
            url: "https://files.example/setuptools.whl".into(),
            sha256: "ab".repeat(32),
        }],
    };
    let digests = kiln_digest::Digests::of_bytes(b"wheel");
    let lock_sha = "cd".repeat(32);
    let made = record::record(record::Built {
        project: "demo",
        version: "1.0",
        epoch: 315_532_800,
        mode: BuildMode::Backend,
        pins: BTreeMap::from([("kiln.version".into(), "0.1.0".into())]),
        lock: Some((&lock_sha, &lock)),
        artifacts: vec![("demo-1.0-py3-none-any.whl", &digests)],
    });
    assert_eq!(made.lock.as_deref(), Some(lock_sha.as_str()));
    assert_eq!(
        made.build_requires["setuptools"],
        format!("75.0.0 sha256:{}", "ab".repeat(32))
    );
    assert_eq!(made.artifacts["demo-1.0-py3-none-any.whl"].size, 5);
    let back = Record::parse("demo-1.0.distinfo", &made.render()).unwrap();
    assert_eq!(
        record::locked(&back),
        [(
            "setuptools".to_string(),
            "75.0.0".to_string(),
            "ab".repeat(32)
        )]
    );
}

#[test]
fn a_build_the_second_build_does_not_reproduce_is_refused() {
    let out = Path::new("dist");
    let same = reproduce::Outcome {
        filename: "a.whl".into(),
        difference: None,
    };
    assert_eq!(
        record::not_reproducible("demo", "1.0", vec![same.clone()], out),
        None
    );
    let differs = reproduce::Outcome {
        filename: "a.tar.gz".into(),
        difference: Some("only the second build produced it".into()),
    };
    let refusal = record::not_reproducible("demo", "1.0", vec![same, differs], out).unwrap();
    assert!(
        refusal.starts_with("demo 1.0 is not reproducible"),
        "{refusal}"
    );
    assert!(
        refusal.contains("\n  a.tar.gz: only the second build produced it\n"),
        "{refusal}"
    );
    assert!(!refusal.contains("a.whl"), "{refusal}");
    assert!(
        refusal.contains("Nothing was written to dist."),
        "{refusal}"
    );
}
