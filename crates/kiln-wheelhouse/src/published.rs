//! A published wheelhouse read back, for `verify --wheelhouse`: its files
//! (top level and `locks/`) with their digests, and its small texts read
//! whole only when they are regular files under a cap.

use crate::WheelhouseError;
use crate::house::LOCKS_DIR;
use kiln_digest::Digests;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

/// A regular file of at most `limit` bytes, read whole (the read stops
/// at `limit` too, should the file grow meanwhile); `what` names it in
/// errors.
pub fn read_small(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, WheelhouseError> {
    let cannot = |source| WheelhouseError::SmallIo {
        what: what.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let refused = |problem: String| WheelhouseError::Small {
        what: what.to_string(),
        path: path.to_path_buf(),
        problem,
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(refused("not a regular file".into()));
    }
    if meta.len() > limit {
        return Err(refused(format!("larger than {limit} bytes")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(refused(format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// DIR's files (top level and `locks/`), by relative name, with digests.
/// Anything else there (another directory, a symlink, a device) is named
/// with the digest of a text saying so, so it cannot match a rebuild;
/// symlinks are never followed.
pub fn published_files(dir: &Path) -> Result<BTreeMap<String, Digests>, WheelhouseError> {
    let mut files = BTreeMap::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(2)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|source| WheelhouseError::Listing {
            path: dir.to_path_buf(),
            source,
        })?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        let in_locks = entry.depth() == 2 && rel.starts_with(&format!("{LOCKS_DIR}/"));
        if entry.file_type().is_dir() && entry.depth() == 1 && rel == LOCKS_DIR {
            continue;
        }
        if entry.depth() == 2 && !in_locks {
            continue;
        }
        let digests = if entry.file_type().is_file() {
            Digests::of_file(entry.path())?
        } else {
            Digests::of_bytes(format!("not a regular file: {rel}").as_bytes())
        };
        files.insert(rel, digests);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_regular_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("sources.txt");
        std::fs::write(&file, "0123456789").unwrap();
        assert_eq!(
            read_small(&file, 10, "the sources file").unwrap(),
            b"0123456789"
        );
        let e = read_small(&file, 9, "the sources file").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the sources file {}: larger than 9 bytes", file.display())
        );
        let e = read_small(tmp.path(), 9, "the lock").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the lock {}: not a regular file", tmp.path().display())
        );
        let missing = tmp.path().join("missing");
        let e = read_small(&missing, 9, "the lock").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the lock {}: cannot read it", missing.display())
        );
        assert_eq!(e.path(), Some(missing.as_path()));
    }

    #[test]
    fn the_files_of_a_wheelhouse_and_what_else_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("locks/nested")).unwrap();
        std::fs::create_dir_all(dir.join("other/deeper")).unwrap();
        std::fs::write(dir.join("a-1-py3-none-any.whl"), "wheel").unwrap();
        std::fs::write(dir.join("locks/a-1.lock.toml"), "lock").unwrap();
        std::fs::write(dir.join("other/hidden.whl"), "x").unwrap();
        std::os::unix::fs::symlink("a-1-py3-none-any.whl", dir.join("link.whl")).unwrap();
        let files = published_files(dir).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [
                "a-1-py3-none-any.whl",
                "link.whl",
                "locks/a-1.lock.toml",
                "locks/nested",
                "other"
            ]
        );
        assert_eq!(files["a-1-py3-none-any.whl"], Digests::of_bytes(b"wheel"));
        assert_eq!(files["locks/a-1.lock.toml"], Digests::of_bytes(b"lock"));
        assert_eq!(
            files["link.whl"],
            Digests::of_bytes(b"not a regular file: link.whl")
        );
        assert_eq!(
            files["other"],
            Digests::of_bytes(b"not a regular file: other")
        );
        assert!(published_files(&dir.join("none")).is_err());
    }
}
