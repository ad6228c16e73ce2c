//! Self-verification: build the project a second time, elsewhere, under
//! conditions chosen to differ from the first build in every way the
//! determinism contract says must not matter, and compare the bytes.
//!
//! The second build runs as a child process of this same binary so that its
//! umask (a per-process setting) can differ: the source is copied to another
//! absolute path and depth, files are created in reverse order (which changes
//! directory iteration order on tmpfs and many other filesystems), every
//! mtime is moved, permission bits are narrowed to 0600/0700 (keeping which
//! files are executable, which is content), and the child runs under
//! `umask 077` with another TZ and locale.
//!
//! The copy lives inside the release's staging directory (beside the dist
//! directory, on its filesystem, never in the system's temporary
//! directory), so it goes with it, and a killed release's copy is removed
//! by the next release. The child shares the staging directory's lock
//! while it runs: if the release is killed and the child lives on, its
//! copy is not removed under it.

use crate::engine::BuiltArtifact;
use anyhow::{Context, Result, bail};
use kiln_fs::publish::Staging;
use kiln_names::{BuildMode, Epoch};
use std::fs::{self, File, FileTimes, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use walkdir::WalkDir;
use xshell::{Shell, cmd};

/// What the second build said about one artifact of the first.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub filename: String,
    /// None: identical bytes; Some(reason): how it differs.
    pub difference: Option<String>,
}

/// Rebuild `project_dir` in a perturbed copy (in `staging`'s scratch
/// space) and compare with `first`.
pub fn reproduce(
    root: &Path,
    staging: &Staging,
    project_dir: &Path,
    mode: BuildMode,
    epoch: Epoch,
    lock: Option<&Path>,
    first: &[BuiltArtifact],
) -> Result<Vec<Outcome>> {
    let tmp = tempfile::Builder::new()
        .prefix("reproduce-")
        .tempdir_in(staging.scratch())
        .context("failed to create a directory for the second build")?;
    let name = project_dir
        .file_name()
        .unwrap_or_else(|| "project".as_ref());
    let copy = tmp.path().join("a").join("deeper").join("path").join(name);
    perturbed_copy(project_dir, &copy)?;
    let out = tmp.path().join("out");

    let exe = std::env::current_exe().context("cannot locate the running xtask binary")?;
    let sh = Shell::new()?;
    sh.change_dir(root);
    let epoch_text = epoch.seconds().to_string();
    let mode = mode.as_str();
    let script = r#"umask 077 && exec "$0" "$@""#;
    let lock_args: Vec<String> = lock
        .map(|l| vec!["--lock".to_string(), l.display().to_string()])
        .unwrap_or_default();
    staging.share_lock_with_children(true)?;
    let output = cmd!(
        sh,
        "sh -c {script} {exe} build {copy} --out {out} --source-date-epoch {epoch_text} --mode {mode} {lock_args...} --json"
    )
    .env("TZ", "Pacific/Chatham")
    .env("LC_ALL", "C")
    .env("NO_COLOR", "1")
    .env_remove("SOURCE_DATE_EPOCH")
    .quiet()
    .ignore_status()
    .output();
    staging.share_lock_with_children(false)?;
    let output = output.context("failed to start the second build")?;
    if !output.status.success() {
        bail!(
            "the second build (in {}) failed:\n{}",
            copy.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("the second build's --json report does not parse")?;
    let second: Vec<(String, PathBuf)> = report["artifacts"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    Some((
                        a["filename"].as_str()?.to_string(),
                        PathBuf::from(a["path"].as_str()?),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();

    let mut outcomes = Vec::new();
    for artifact in first {
        let difference = match second.iter().find(|(f, _)| *f == artifact.filename) {
            None => Some("the second build did not produce it".to_string()),
            Some((_, path)) => {
                let a = fs::read(&artifact.path)
                    .with_context(|| format!("failed to read {}", artifact.path.display()))?;
                let b =
                    fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
                if a == b {
                    None
                } else {
                    // Say *what* differs, with the diff engine.
                    let explained = kiln_diff::diff_files(
                        &artifact.path,
                        path,
                        "first build",
                        "second build",
                        &kiln_diff::DiffOptions::default(),
                    )
                    .map(|r| r.render())
                    .unwrap_or_else(|e| format!("(cannot compare them: {e})"));
                    Some(format!(
                        "sha256 {} the first time, {} the second ({} vs {} bytes):\n{explained}",
                        kiln_digest::hex(&kiln_digest::sha256(&a)),
                        kiln_digest::hex(&kiln_digest::sha256(&b)),
                        a.len(),
                        b.len()
                    ))
                }
            }
        };
        outcomes.push(Outcome {
            filename: artifact.filename.clone(),
            difference,
        });
    }
    for (filename, _) in &second {
        if !first.iter().any(|a| &a.filename == filename) {
            outcomes.push(Outcome {
                filename: filename.clone(),
                difference: Some("only the second build produced it".into()),
            });
        }
    }
    Ok(outcomes)
}

/// Copy `from` to `to` with reversed creation order, moved mtimes and
/// narrowed permissions. Symlinks are copied as symlinks.
fn perturbed_copy(from: &Path, to: &Path) -> Result<()> {
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
        .with_context(|| format!("failed to walk {}", from.display()))?;
    fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    // Directories first (parents before children), then files in reverse.
    for entry in entries.iter().filter(|e| e.file_type().is_dir()) {
        let rel = entry.path().strip_prefix(from)?;
        fs::create_dir_all(to.join(rel))?;
    }
    // A fixed, odd timestamp far from any plausible epoch, varied per file.
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_891);
    for (i, entry) in entries.iter().rev().enumerate() {
        let rel = entry.path().strip_prefix(from)?;
        let target = to.join(rel);
        if entry.file_type().is_symlink() {
            let link = fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(&link, &target).with_context(|| {
                format!("failed to copy the symlink {}", entry.path().display())
            })?;
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("failed to copy {}", entry.path().display()))?;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            let file = File::options().write(true).open(&target)?;
            file.set_times(
                FileTimes::new().set_modified(base + Duration::from_secs(i as u64 * 7919)),
            )?;
            file.set_permissions(Permissions::from_mode(if executable {
                0o700
            } else {
                0o600
            }))?;
        }
    }
    for entry in entries.iter().filter(|e| e.file_type().is_dir()) {
        let rel = entry.path().strip_prefix(from)?;
        fs::set_permissions(to.join(rel), Permissions::from_mode(0o700))?;
    }
    Ok(())
}
