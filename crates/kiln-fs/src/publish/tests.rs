use super::*;

fn names(dir: &Path) -> Vec<String> {
    sorted_names(dir)
        .unwrap()
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

fn release(staging: &Staging, files: &[(&str, &str)]) {
    for (name, text) in files {
        fs::write(staging.dir().join(name), text).unwrap();
    }
}

#[test]
fn killed_release_publish_replaces_the_whole_directory_in_one_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    // First publication: no target yet.
    let staging = Staging::beside(&dist).unwrap();
    release(&staging, &[("a-1.tar.gz", "one"), ("SHA256SUMS", "1")]);
    fs::create_dir(staging.scratch().join("reproduce")).unwrap();
    staging.publish().unwrap();
    assert_eq!(names(&dist), ["SHA256SUMS", "a-1.tar.gz"]);
    assert_eq!(names(tmp.path()), ["dist"]);
    // Second: the whole directory is replaced, nothing of the first
    // stays, nothing is left beside it.
    let staging = Staging::beside(&dist).unwrap();
    release(&staging, &[("a-2.tar.gz", "two"), ("SHA256SUMS", "2")]);
    // Until publish, readers see the first release only.
    assert_eq!(names(&dist), ["SHA256SUMS", "a-1.tar.gz"]);
    staging.publish().unwrap();
    assert_eq!(names(&dist), ["SHA256SUMS", "a-2.tar.gz"]);
    assert_eq!(fs::read_to_string(dist.join("SHA256SUMS")).unwrap(), "2");
    assert_eq!(names(tmp.path()), ["dist"]);
}

#[cfg(target_os = "linux")]
#[test]
fn killed_release_publish_exchanges_in_one_call_here() {
    // The atomic path is the one taken on this filesystem (not the
    // two-rename fallback).
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    fs::write(a.join("x"), "").unwrap();
    exchange(&a, &b).unwrap();
    assert_eq!(names(&b), ["x"]);
    assert!(names(&a).is_empty());
}

#[test]
fn killed_release_unpublished_staging_leaves_the_target_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("old"), "x").unwrap();
    let staging = Staging::beside(&dist).unwrap();
    release(&staging, &[("new", "y")]);
    drop(staging);
    assert_eq!(names(&dist), ["old"]);
    assert_eq!(names(tmp.path()), ["dist"]);
}

#[test]
fn killed_release_debris_is_cleaned_but_a_live_staging_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    // What a killed run leaves: an unlocked staging directory with
    // half-written files, and a temporary file.
    let stale = tmp.path().join(format!("{STAGING_PREFIX}dead"));
    fs::create_dir_all(stale.join("new")).unwrap();
    fs::write(stale.join("new").join(".kiln-tmp-half"), "par").unwrap();
    fs::write(tmp.path().join(format!("{TMP_PREFIX}dead")), "par").unwrap();
    // Not kiln's: left alone.
    fs::write(tmp.path().join(".tmpother"), "").unwrap();
    std::os::unix::fs::symlink("/", tmp.path().join(format!("{TMP_PREFIX}link"))).unwrap();
    // A live run's staging and temporary file.
    let live = Staging::beside(&dist).unwrap();
    let live_tmp = AtomicFile::create(&tmp.path().join("record")).unwrap();
    assert_eq!(
        names(tmp.path()).len(),
        4,
        "stale entries are cleaned by beside(): {:?}",
        names(tmp.path())
    );
    assert!(!stale.exists());
    // Debris of another killed run, while the live run goes on.
    fs::create_dir(&stale).unwrap();
    let cleaned = clean_stale(tmp.path()).unwrap();
    assert_eq!(cleaned.removed, vec![stale.clone()]);
    assert!(live.dir().is_dir());
    assert!(live_tmp.tmp.path().is_file());
    // The live ones finish normally.
    release(&live, &[("f", "1")]);
    live.publish().unwrap();
    live_tmp.commit(0o644).unwrap();
    assert_eq!(names(&dist), ["f"]);
    let mut left = names(tmp.path());
    left.sort();
    assert_eq!(left, [".kiln-tmp-link", ".tmpother", "dist", "record"]);
}

#[test]
fn killed_release_two_rename_fallback_is_repaired_by_clean_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("previous"), "p").unwrap();
    // A staging directory as a run killed between the two renames
    // leaves it (unlocked: its process is gone).
    let root = tmp.path().join(format!("{STAGING_PREFIX}killed"));
    fs::create_dir_all(root.join(NEW)).unwrap();
    fs::write(root.join(NEW).join("next"), "n").unwrap();
    fs::write(root.join(TARGET), "dist").unwrap();
    fs::rename(&dist, root.join(OLD)).unwrap();
    let cleaned = clean_stale(tmp.path()).unwrap();
    assert_eq!(cleaned.restored, vec![dist.clone()]);
    assert_eq!(cleaned.removed, vec![root]);
    assert_eq!(names(&dist), ["previous"]);
    assert_eq!(names(tmp.path()), ["dist"]);
}

#[test]
fn killed_release_two_rename_fallback_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("previous"), "p").unwrap();
    let staging = Staging::beside(&dist).unwrap();
    release(&staging, &[("next", "n")]);
    two_renames(&staging.dir(), &dist, &staging.root.join(OLD)).unwrap();
    drop(staging);
    assert_eq!(names(&dist), ["next"]);
    assert_eq!(names(tmp.path()), ["dist"]);
}

#[test]
fn killed_release_publish_follows_a_symlinked_target_and_refuses_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = tmp.path().join("dist");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let staging = Staging::beside(&link).unwrap();
    release(&staging, &[("f", "1")]);
    staging.publish().unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(names(&real), ["f"]);

    let file = tmp.path().join("file");
    fs::write(&file, "").unwrap();
    let err = Staging::beside(&file).unwrap_err();
    assert!(matches!(err, PublishError::NotADirectory { .. }), "{err}");
}

#[test]
fn killed_release_write_atomic_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("records").join("x.distinfo");
    write_atomic(&path, b"one").unwrap();
    write_atomic(&path, b"two").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two");
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(names(path.parent().unwrap()), ["x.distinfo"]);
    // Dropped before commit: nothing is left, the old file stays.
    let mut f = AtomicFile::create(&path).unwrap();
    f.write_all(b"half").unwrap();
    drop(f);
    assert_eq!(fs::read(&path).unwrap(), b"two");
    assert_eq!(names(path.parent().unwrap()), ["x.distinfo"]);
    // Never over an existing file.
    let mut f = AtomicFile::create(&path).unwrap();
    f.write_all(b"three").unwrap();
    assert!(!f.commit_new(0o600).unwrap());
    assert_eq!(fs::read(&path).unwrap(), b"two");
    let fresh = path.with_file_name("key.pem");
    let mut f = AtomicFile::create(&fresh).unwrap();
    f.write_all(b"k").unwrap();
    assert!(f.commit_new(0o600).unwrap());
    let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(names(path.parent().unwrap()), ["key.pem", "x.distinfo"]);
}
