//! Build requirements as they were on a date, for `lock --exclude-newer`
//! and `rebuild`: each requirement's page on the index (PEP 691 JSON,
//! whose PEP 700 `upload-time` kiln-index keeps), and `kiln-infer`'s
//! choice of the newest final release uploaded before the date, as a
//! `name<=version` constraint line.

use crate::fetch;
use anyhow::{Context, Result, bail};

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
