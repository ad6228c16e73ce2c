//! Build requirements as they were on a date, for `lock --exclude-newer`
//! and `rebuild`: each requirement's page on the index (PEP 691 JSON,
//! whose PEP 700 `upload-time` kiln-index keeps), and `kiln-infer`'s
//! choice of the newest final release uploaded before the date, as a
//! `name<=version` constraint line.

use crate::fetch;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// One `name<=version` line per requirement of `requires` (PEP 508), the
/// newest release of it on `index` uploaded before `date`.
pub fn exclude_newer(requires: &[String], index: &str, date: &str) -> Result<Vec<String>> {
    let cutoff = kiln_infer::cutoff(date).context("--exclude-newer")?;
    let mut lines = Vec::new();
    for text in requires {
        let req: pep508_rs::Requirement = text
            .parse()
            .map_err(|e| anyhow::anyhow!("the build requirement {text:?} does not parse: {e}"))?;
        let name = req.name.to_string();
        let Some(page) = fetch::project_files(index, &name, |_| true)? else {
            bail!("{name} is not on the index {index}");
        };
        let Some(version) = kiln_infer::newest_before(&page.listing.files, &cutoff) else {
            bail!(
                "{name}: the index {index} lists no release uploaded before {date} (or states no PEP 700 upload-time)"
            );
        };
        lines.push(format!("{name}<={version}"));
    }
    Ok(lines)
}

/// Writes to `path` the user's constraints file (if any, read capped like
/// every configuration file) followed by `extra`, one line each: the pins
/// a lock resolves under.
pub fn write_constraints(user: Option<&Path>, extra: &[String], path: &Path) -> Result<()> {
    let mut text = match user {
        Some(c) => kiln_fs::project::read_file_to_string_capped(c, kiln_fs::project::CONFIG_LIMIT)
            .with_context(|| format!("the constraints file {}", c.display()))?,
        None => String::new(),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}
