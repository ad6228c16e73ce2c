//! Self-verification: build the project a second time, elsewhere, under
//! conditions chosen to differ from the first build in every way the
//! determinism contract says must not matter, and compare the bytes
//! (`kiln_release::reproduce` makes the copy and compares; this module runs
//! the child).
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
use kiln_release::reproduce::Outcome;
use kiln_release::reproduce::{compare_builds, perturbed_copy};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

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

    let first: Vec<(String, PathBuf)> = first
        .iter()
        .map(|a| (a.filename.clone(), a.path.clone()))
        .collect();
    Ok(compare_builds(&first, &second)?)
}
