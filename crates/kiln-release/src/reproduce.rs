//! The self-verifying second build's two halves that are not process
//! handling: the perturbed copy of the project it builds (another path and
//! depth, reverse creation order, moved mtimes, narrowed permissions), and
//! the comparison of its artifacts with the first build's, each difference
//! explained by the diff engine.

use crate::ReleaseError;
use std::fs::{self, File, FileTimes, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use walkdir::WalkDir;

/// What the second build said about one artifact of the first.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub filename: String,
    /// None: identical bytes; Some(reason): how it differs.
    pub difference: Option<String>,
}

/// Copy `from` to `to` with reversed creation order, moved mtimes and
/// narrowed permissions (0600/0700, keeping which files are executable).
/// Symlinks are copied as symlinks; kiln's own staging and temporary
/// entries are left out.
pub fn perturbed_copy(from: &Path, to: &Path) -> Result<(), ReleaseError> {
    // kiln's own staging and temporary entries (the release's staging
    // directory, where this copy goes, may be inside the project) are
    // never project content.
    let ours = |e: &walkdir::DirEntry| {
        e.depth() > 0 && {
            let name = e.file_name().as_encoded_bytes();
            name.starts_with(kiln_fs::publish::STAGING_PREFIX.as_bytes())
                || name.starts_with(kiln_fs::publish::TMP_PREFIX.as_bytes())
        }
    };
    let entries: Vec<_> = WalkDir::new(from)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !ours(e))
        .collect::<Result<_, _>>()
        .map_err(|source| ReleaseError::Walk {
            path: from.to_path_buf(),
            source,
        })?;
    let failed = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ReleaseError::Copy {
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(to).map_err(failed("failed to create", to))?;
    let target = |entry: &walkdir::DirEntry| {
        to.join(entry.path().strip_prefix(from).unwrap_or(entry.path()))
    };
    // Directories first (parents before children), then files in reverse.
    for entry in entries.iter().filter(|e| e.file_type().is_dir()) {
        fs::create_dir_all(target(entry)).map_err(failed("failed to create", &target(entry)))?;
    }
    // A fixed, odd timestamp far from any plausible epoch, varied per file.
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_891);
    for (i, entry) in entries.iter().rev().enumerate() {
        let to = target(entry);
        if entry.file_type().is_symlink() {
            fs::read_link(entry.path())
                .and_then(|link| std::os::unix::fs::symlink(&link, &to))
                .map_err(failed("failed to copy the symlink", entry.path()))?;
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &to).map_err(failed("failed to copy", entry.path()))?;
            let executable = entry
                .metadata()
                .map_err(|source| ReleaseError::Walk {
                    path: entry.path().to_path_buf(),
                    source,
                })?
                .permissions()
                .mode()
                & 0o111
                != 0;
            let moved = FileTimes::new().set_modified(base + Duration::from_secs(i as u64 * 7919));
            let mode = if executable { 0o700 } else { 0o600 };
            File::options()
                .write(true)
                .open(&to)
                .and_then(|file| {
                    file.set_times(moved)?;
                    file.set_permissions(Permissions::from_mode(mode))
                })
                .map_err(failed("failed to perturb", &to))?;
        }
    }
    for entry in entries.iter().filter(|e| e.file_type().is_dir()) {
        fs::set_permissions(target(entry), Permissions::from_mode(0o700))
            .map_err(failed("failed to perturb", &target(entry)))?;
    }
    Ok(())
}

/// The second build's artifacts (file name, path) against the first's: one
/// outcome per artifact of the first build, then one per artifact only the
/// second produced.
pub fn compare_builds(
    first: &[(String, PathBuf)],
    second: &[(String, PathBuf)],
) -> Result<Vec<Outcome>, ReleaseError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|source| ReleaseError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut outcomes = Vec::new();
    for (filename, first_path) in first {
        let difference = match second.iter().find(|(f, _)| f == filename) {
            None => Some("the second build did not produce it".to_string()),
            Some((_, path)) => {
                let (a, b) = (read(first_path)?, read(path)?);
                (a != b).then(|| {
                    // Say *what* differs, with the diff engine.
                    let explained = kiln_diff::diff_files(
                        first_path,
                        path,
                        "first build",
                        "second build",
                        &kiln_diff::DiffOptions::default(),
                    )
                    .map(|r| r.render())
                    .unwrap_or_else(|e| format!("(cannot compare them: {e})"));
                    format!(
                        "sha256 {} the first time, {} the second ({} vs {} bytes):\n{explained}",
                        kiln_digest::hex(&kiln_digest::sha256(&a)),
                        kiln_digest::hex(&kiln_digest::sha256(&b)),
                        a.len(),
                        b.len()
                    )
                })
            }
        };
        outcomes.push(Outcome {
            filename: filename.clone(),
            difference,
        });
    }
    for (filename, _) in second {
        if !first.iter().any(|(f, _)| f == filename) {
            outcomes.push(Outcome {
                filename: filename.clone(),
                difference: Some("only the second build produced it".into()),
            });
        }
    }
    Ok(outcomes)
}
