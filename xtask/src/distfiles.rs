//! `cargo xtask distfiles fetch DISTINFO --site URL... --cache DIR` and
//! `cargo xtask distfiles makesum FILE... [--format F] [--out DISTINFO]`.
//!
//! fetch: for each distfile of the distinfo (kiln's, OpenBSD's or NetBSD's
//! syntax, `kiln-distfiles`), the cache is asked first (its copy digested
//! again); otherwise the sites are tried in order by `kiln-fetch`, which
//! hashes while it streams into a private directory inside the cache and
//! skips a site that is down, slow, truncates or serves an HTML page. A
//! body that passes size and every digest is renamed into the cache; one
//! that fails is kept apart (`rejected/`) and, once a good copy is known,
//! classified against it with the diff engine. Exit 0 all cached, 1 a
//! mismatch or a distfile no site gave, 2 bad input. makesum is in
//! `distfiles/makesum.rs`; the report's human form in `distfiles/show.rs`.

mod makesum;
mod show;

use crate::flags::{Distfiles, DistfilesAction, DistfilesFetch};
use crate::{Mismatch, fetch, report};
use anyhow::{Context as _, Result, bail};
use kiln_distfiles::cache::{base_name, expand_site};
use kiln_distfiles::{Cache, Distinfo, Entry};
use kiln_fetch::{Outcome, fetch_from_sites};
use kiln_report::{
    DistfileMismatch, DistfileResult, DistfileStatus, DistfilesAction as Action, DistfilesReport,
    SiteAttempt, SiteResult, Version,
};
use std::path::Path;

/// A distinfo larger than this is refused before it is read.
const MAX_DISTINFO: u64 = 16 * 1024 * 1024;

impl Distfiles {
    pub fn json(&self) -> bool {
        match &self.action {
            DistfilesAction::Fetch(f) => f.json,
            DistfilesAction::Makesum(m) => m.json,
        }
    }

    pub fn run(self) -> Result<()> {
        match self.action {
            DistfilesAction::Fetch(f) => f.run(),
            DistfilesAction::Makesum(m) => m.run(),
        }
    }
}

/// Reads and parses a distinfo, bounded; a bad line is bad input (exit 2).
fn read_distinfo(path: &Path) -> Result<Distinfo> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).with_context(|| format!("{shown}: cannot read"))?;
    if !meta.is_file() || meta.len() > MAX_DISTINFO {
        bail!("{shown}: not a regular file of at most {MAX_DISTINFO} bytes");
    }
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read"))?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{shown}: not UTF-8 text"))?;
    Ok(Distinfo::parse(&shown, &text)?)
}

/// The report's form of a file that failed its distinfo, not yet classified.
fn mismatch(entry: &Entry, d: &kiln_digest::Digests, kept_at: &Path) -> DistfileMismatch {
    DistfileMismatch {
        sha256: d.sha256_hex(),
        size: d.size,
        disagreements: entry.disagreements(d),
        kept_at: Some(kept_at.display().to_string()),
        classification: show::not_compared(
            "no copy matching the distinfo was found in the cache or on any site",
        ),
    }
}

impl DistfilesFetch {
    fn run(self) -> Result<()> {
        let distinfo = read_distinfo(&self.distinfo)?;
        if distinfo.entries.is_empty() {
            bail!("{}: lists no distfile", self.distinfo.display());
        }
        let pace = fetch::pace()?;
        std::fs::create_dir_all(&self.cache)
            .with_context(|| format!("{}: cannot create the cache", self.cache.display()))?;
        let cache = Cache::new(&self.cache);
        // Downloads land in a locked staging directory on the cache's
        // filesystem and enter the cache by rename only once checked; it
        // goes away with the run, and what a killed run left is removed by
        // the next (kiln_fs::publish::clean_stale). It is never published.
        let scratch = kiln_fs::publish::Staging::beside(&self.cache.join("sha256"))
            .with_context(|| format!("{}: cannot write", self.cache.display()))?;
        let mut files = Vec::new();
        for (index, (name, entry)) in distinfo.entries.iter().enumerate() {
            let dir = scratch.scratch().join(format!("file-{index}"));
            files.push(self.fetch_one(&cache, &dir, name, entry, pace)?);
        }
        self.finish(&distinfo, files)
    }

    /// One distfile: the cache, then the sites; the report's entry.
    fn fetch_one(
        &self,
        cache: &Cache,
        dir: &Path,
        name: &str,
        entry: &Entry,
        pace: kiln_fetch::Pace,
    ) -> Result<DistfileResult> {
        let mut result = DistfileResult {
            name: name.to_string(),
            status: DistfileStatus::Failed,
            path: None,
            size: entry.size,
            sha256: None,
            sites: Vec::new(),
            mismatch: None,
            note: None,
        };
        if !entry.is_checkable() {
            result.status = DistfileStatus::NotChecked;
            result.note = Some(
                "no size, or no digest kiln computes (SHA256, SHA512, BLAKE2s): a patch entry, not fetched".into(),
            );
            return Ok(result);
        }
        let mut good = None;
        match cache.lookup(name, entry)? {
            Some((path, d, true)) => {
                result.status = DistfileStatus::Cached;
                result.sha256 = Some(d.sha256_hex());
                result.path = Some(path.display().to_string());
                if !self.all_sites {
                    return Ok(result);
                }
                good = Some(path);
            }
            Some((path, d, false)) => {
                let kept = cache.reject(&path, name, &d)?;
                result.note = Some(format!(
                    "the cached copy no longer matched the distinfo: moved to {}, fetched again",
                    kept.display()
                ));
            }
            None => {}
        }
        std::fs::create_dir(dir)?;
        let limit = entry
            .size
            .unwrap_or(0)
            .saturating_mul(2)
            .saturating_add(1 << 20);
        let (sites, unusable): (Vec<_>, Vec<_>) = self
            .sites
            .iter()
            .map(|site| (site, expand_site(site, entry)))
            .partition(|(_, expanded)| expanded.is_some());
        let sites: Vec<String> = sites.into_iter().filter_map(|(_, e)| e).collect();
        // With --all-sites every site is asked, to audit the mirrors.
        let attempts = fetch_from_sites(&sites, base_name(name), dir, limit, pace, |d| {
            !self.all_sites && entry.matches(d)
        })?;
        for (site, _) in unusable {
            result.sites.push(SiteAttempt {
                site: site.clone(),
                url: site.clone(),
                result: SiteResult::Skipped,
                skipped: Some("bad-url".to_string()),
                message: Some(format!(
                    "{site} names a digest the distinfo does not state for {name}: not asked"
                )),
                mismatch: None,
            });
        }
        for attempt in attempts {
            let mut site = SiteAttempt {
                site: attempt.site,
                url: attempt.url,
                result: SiteResult::Skipped,
                skipped: None,
                message: None,
                mismatch: None,
            };
            match attempt.outcome {
                Outcome::Skipped { skip, message } => {
                    site.skipped = Some(skip.label().to_string());
                    site.message = Some(message);
                }
                Outcome::Complete { path, digests } if entry.matches(&digests) => {
                    site.result = SiteResult::Good;
                    if good.is_some() {
                        // Another good copy: the one kept is enough.
                        let _ = std::fs::remove_file(&path);
                    } else {
                        let stored = cache.store(&path, name, &digests, entry)?;
                        result.status = DistfileStatus::Fetched;
                        result.sha256 = Some(digests.sha256_hex());
                        result.path = Some(stored.display().to_string());
                        good = Some(stored);
                    }
                }
                Outcome::Complete { path, digests } => {
                    let kept = cache.reject(&path, name, &digests)?;
                    site.result = SiteResult::Mismatch;
                    site.mismatch = Some(mismatch(entry, &digests, &kept));
                }
            }
            result.sites.push(site);
        }
        if let Some(good) = &good {
            for site in &mut result.sites {
                if let Some(m) = &mut site.mismatch
                    && let Some(kept) = &m.kept_at
                {
                    m.classification = show::classify(name, good, Path::new(kept), &site.url);
                }
            }
        }
        Ok(result)
    }

    /// The report, printed; the exit status.
    fn finish(&self, distinfo: &Distinfo, files: Vec<DistfileResult>) -> Result<()> {
        let failed = files
            .iter()
            .filter(|f| f.status == DistfileStatus::Failed)
            .count();
        let mismatches = files
            .iter()
            .flat_map(|f| &f.sites)
            .filter(|s| s.result == SiteResult::Mismatch)
            .count();
        let report = DistfilesReport {
            schema: Version,
            action: Action::Fetch,
            distinfo: Some(self.distinfo.display().to_string()),
            format: distinfo.format.name().to_string(),
            cache: Some(self.cache.display().to_string()),
            ok: failed == 0 && mismatches == 0,
            files,
        };
        report::eprint(&show::human(&report));
        if self.json {
            report::json(kiln_report::Report::Distfiles(report));
        }
        if failed > 0 || mismatches > 0 {
            return Err(anyhow::Error::new(Mismatch(format!(
                "{}: {mismatches} file(s) served failed the distinfo, {failed} distfile(s) not fetched",
                self.distinfo.display()
            ))));
        }
        Ok(())
    }
}
