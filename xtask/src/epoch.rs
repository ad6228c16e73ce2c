//! Gathering the epoch's candidates: the flag, `SOURCE_DATE_EPOCH`, the last
//! git commit touching the project. `kiln_names::ResolvedEpoch` decides.

use anyhow::{Context, Result};
use kiln_names::{EpochSource, ResolvedEpoch};
use std::path::Path;

/// `SOURCE_DATE_EPOCH`, if set; an unparsable value is an error, not ignored.
pub fn from_environment() -> Result<Option<i64>> {
    #[allow(clippy::disallowed_methods)] // xtask reads the environment; libraries don't.
    let value = std::env::var_os("SOURCE_DATE_EPOCH");
    let Some(value) = value else { return Ok(None) };
    let text = value.to_string_lossy();
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).with_context(|| {
        format!("SOURCE_DATE_EPOCH={text:?} is not a whole number of seconds: fix or unset it")
    })
}

/// The commit time of the last commit that touched `dir`, or None outside
/// git (or when git is not installed).
pub fn last_commit_time(dir: &Path) -> Option<i64> {
    kiln_git::Repo::at(dir).last_commit_time(".").ok().flatten()
}

/// Resolve with the SPEC's precedence (flag > env > record > the project's
/// own default > 1980). The project's default is a fixed value from
/// release.toml when it gives one, else the last commit touching `dir`.
pub fn resolve(
    flag: Option<i64>,
    record: Option<i64>,
    fixed: Option<i64>,
    dir: &Path,
) -> Result<ResolvedEpoch> {
    let env = from_environment()?;
    let project = match fixed {
        Some(n) => Some((n, EpochSource::Config)),
        // Only ask git when nothing stronger is there.
        None if flag.is_none() && env.is_none() && record.is_none() => {
            last_commit_time(dir).map(|t| (t, EpochSource::GitCommit))
        }
        None => None,
    };
    Ok(ResolvedEpoch::resolve(flag, env, record, project))
}
