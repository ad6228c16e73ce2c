//! `cargo xtask distfiles makesum FILE... [--format F] [--out DISTINFO]
//! [--update] [--cache DIR]`: each file digested in one streaming pass and
//! entered under its file name. An entry whose digests would change is
//! classified against the old copy (found in the fetch cache by its old
//! digests) and refused, exit 1, unless `--update`; then it is replaced
//! and the classification is still printed. The text is a pure function
//! of the files (sorted, in the syntax's own digests), written in one step
//! (`kiln_fs::publish::write_atomic`).

use super::{read_distinfo, show};
use crate::flags::{DistfilesMakesum, DistinfoFormat};
use crate::{Mismatch, report};
use anyhow::{Context as _, Result, bail};
use kiln_digest::Digests;
use kiln_distfiles::makesum::{Change, apply, plan};
use kiln_distfiles::{Cache, Distinfo, Format, distinfo::check_name};
use kiln_report::{
    DistfileMismatch, DistfileResult, DistfileStatus, DistfilesAction, DistfilesReport, Version,
};

fn format_of(f: DistinfoFormat) -> Format {
    match f {
        DistinfoFormat::Kiln => Format::Kiln,
        DistinfoFormat::Openbsd => Format::OpenBsd,
        DistinfoFormat::Netbsd => Format::NetBsd,
        DistinfoFormat::Freebsd => Format::FreeBsd,
    }
}

impl DistfilesMakesum {
    pub(super) fn run(self) -> Result<()> {
        let existing = match &self.out {
            Some(out) if out.exists() => Some(read_distinfo(out)?),
            _ => None,
        };
        let format = match (self.format.map(format_of), &existing) {
            (Some(f), Some(e)) if f != e.format => bail!(
                "--format {} but {} is in {} syntax: convert it by writing a new file",
                f.name(),
                self.out.as_deref().unwrap_or_else(|| "".as_ref()).display(),
                e.format.name()
            ),
            (Some(f), _) => f,
            (None, Some(e)) => e.format,
            (None, None) => Format::Kiln,
        };
        let existing = existing.unwrap_or_else(|| Distinfo::new(format));
        let mut files = Vec::new();
        for path in &self.files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .with_context(|| format!("{}: not a file name kiln can enter", path.display()))?
                .to_string();
            check_name(&name).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
            if files.iter().any(|(n, _): &(String, Digests)| *n == name) {
                bail!("{}: a second file named {name}", path.display());
            }
            // A FIFO or a device would block or never end: regular files only.
            let meta = std::fs::metadata(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            if !meta.is_file() {
                bail!("{}: not a regular file", path.display());
            }
            files.push((name, Digests::of_file(path)?));
        }
        let cache = self.cache.as_deref().map(Cache::new);
        let mut results = Vec::new();
        let mut refused = 0;
        for ((path, (name, d)), change) in
            self.files.iter().zip(&files).zip(plan(&existing, &files))
        {
            let mut result = DistfileResult {
                name: name.clone(),
                status: DistfileStatus::Added,
                path: Some(path.display().to_string()),
                size: Some(d.size),
                sha256: Some(d.sha256_hex()),
                sites: Vec::new(),
                mismatch: None,
                note: None,
            };
            match change {
                Change::Added => {}
                Change::Unchanged => result.status = DistfileStatus::Unchanged,
                Change::Changed { old, disagreements } => {
                    let old_copy = match &cache {
                        Some(cache) => cache.lookup(name, &old)?,
                        None => None,
                    };
                    let classification = match old_copy {
                        Some((old_path, _, true)) => {
                            show::classify(name, &old_path, path, &path.display().to_string())
                        }
                        _ => show::not_compared(
                            "the old file is not in the cache (give --cache DIR, where `distfiles fetch` keeps it)",
                        ),
                    };
                    result.mismatch = Some(DistfileMismatch {
                        sha256: d.sha256_hex(),
                        size: d.size,
                        disagreements,
                        kept_at: None,
                        classification,
                    });
                    result.status = if self.update {
                        DistfileStatus::Updated
                    } else {
                        refused += 1;
                        DistfileStatus::Refused
                    };
                }
            }
            results.push(result);
        }
        let text = (refused == 0)
            .then(|| apply(&existing, &files, self.update).render())
            .transpose()?;
        if let (Some(text), Some(out)) = (&text, &self.out) {
            kiln_fs::publish::write_atomic(out, text.as_bytes())
                .with_context(|| format!("{}: cannot write", out.display()))?;
        }
        let report = DistfilesReport {
            schema: Version,
            action: DistfilesAction::Makesum,
            distinfo: self.out.as_ref().map(|p| p.display().to_string()),
            format: format.name().to_string(),
            cache: self.cache.as_ref().map(|p| p.display().to_string()),
            ok: refused == 0,
            files: results,
        };
        report::eprint(&show::human(&report));
        if self.json {
            report::json(kiln_report::Report::Distfiles(report));
        } else if let (Some(text), None) = (&text, &self.out) {
            report::print_text(text);
        }
        if refused > 0 {
            return Err(anyhow::Error::new(Mismatch(format!(
                "refusing to change the digests of {refused} entr{}: pass --update to replace them (the classification is above)",
                if refused == 1 { "y" } else { "ies" }
            ))));
        }
        Ok(())
    }
}
