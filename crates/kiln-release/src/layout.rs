//! The `release/` layout of a repository kiln releases, spelled once:
//! `release/release.toml` (the projects), `release/records/<project>/<version>.distinfo`
//! (the committed records), `release/locks/<name>.lock.toml` (backend
//! mode's build locks) and `release/keys/` (the trusted public keys), and
//! the name a record is published under beside the artifacts. Paths are
//! relative to the repository root (`*_rel`, as git names them) or joined
//! to it.

use std::path::{Path, PathBuf};

/// The projects this repository releases.
pub const RELEASE_TOML: &str = "release/release.toml";
/// One directory per project (its normalized name), one record per version.
pub const RECORDS_DIR: &str = "release/records";
/// Backend mode's build locks, one per release.toml project.
pub const LOCKS_DIR: &str = "release/locks";
/// The offline public keys verify trusts (`*.pub`, SPKI PEM).
pub const KEYS_DIR: &str = "release/keys";
/// The ending of a record's file name.
pub const RECORD_SUFFIX: &str = ".distinfo";
/// The ending of a lock's file name.
pub const LOCK_SUFFIX: &str = ".lock.toml";

/// `release/records/<project>/`, relative to the root, with its slash.
pub fn records_dir_rel(project: &str) -> String {
    format!("{RECORDS_DIR}/{project}/")
}

/// `release/records/<project>/<version>.distinfo`, relative to the root.
pub fn record_rel(project: &str, version: &str) -> String {
    format!("{}{version}{RECORD_SUFFIX}", records_dir_rel(project))
}

/// The committed record of `project` (normalized) at `version`.
pub fn record_path(root: &Path, project: &str, version: &str) -> PathBuf {
    root.join(record_rel(project, version))
}

/// `<project>-<version>.distinfo`: the record as published beside the
/// artifacts in the dist directory.
pub fn published_record_name(project: &str, version: &str) -> String {
    format!("{project}-{version}{RECORD_SUFFIX}")
}

/// `release/locks/<name>.lock.toml`, relative to the root.
pub fn lock_rel(name: &str) -> String {
    format!("{LOCKS_DIR}/{}", lock_file_name(name))
}

/// The build lock of the release.toml project `name`.
pub fn lock_path(root: &Path, name: &str) -> PathBuf {
    root.join(lock_rel(name))
}

/// `<name>.lock.toml`.
pub fn lock_file_name(name: &str) -> String {
    format!("{name}{LOCK_SUFFIX}")
}

/// The newest version among a records directory's file names (or paths)
/// by PEP 440 order; names that are not `<version>.distinfo` are ignored.
pub fn newest_recorded(listing: &[String]) -> Option<String> {
    let mut versions: Vec<(kiln_names::Version, String)> = listing
        .iter()
        .filter_map(|l| l.rsplit('/').next())
        .filter_map(|f| f.strip_suffix(RECORD_SUFFIX))
        .filter_map(|v| {
            kiln_names::parse_version(v)
                .ok()
                .map(|p| (p, v.to_string()))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_spelled_as_released_repositories_have_them() {
        let root = Path::new("/repo");
        assert_eq!(
            record_path(root, "kiln-sums", "1.0.0"),
            Path::new("/repo/release/records/kiln-sums/1.0.0.distinfo")
        );
        assert_eq!(records_dir_rel("kiln-sums"), "release/records/kiln-sums/");
        assert_eq!(
            lock_path(root, "demo"),
            Path::new("/repo/release/locks/demo.lock.toml")
        );
        assert_eq!(lock_rel("demo"), "release/locks/demo.lock.toml");
        assert_eq!(
            published_record_name("kiln-sums", "1.0.0"),
            "kiln-sums-1.0.0.distinfo"
        );
    }

    #[test]
    fn the_newest_record_is_by_version_order() {
        let listing: Vec<String> = ["1.9.0", "1.10.0", "1.10.0rc1", "notes"]
            .iter()
            .map(|v| format!("release/records/demo/{v}.distinfo"))
            .chain(["release/records/demo/README".to_string()])
            .collect();
        assert_eq!(newest_recorded(&listing).as_deref(), Some("1.10.0"));
        assert_eq!(newest_recorded(&[]), None);
    }
}
