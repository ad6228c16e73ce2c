//! Where the copies come from: the clean checkout the rebuild runs in,
//! and each published copy from a directory, a URL or an index, obtained
//! as a local file (or the reason it could not be had) without opening it
//! (`kiln_verify::sources` holds what needs no network).

use super::{Expected, Status};
use crate::fetch::{self, FetchError};
use anyhow::{Context, Result, bail};
use kiln_git::Repo;
use kiln_names::ProjectName;
pub(super) use kiln_verify::sources::{Obtained, PROVENANCE_MAX, Source, read_capped};
use kiln_verify::{
    index_statement,
    sources::{local_copy, not_on_index},
};
use std::collections::BTreeMap;
use std::path::Path;

/// Downloads may exceed the recorded size by this much before we stop
/// reading (a larger copy differs anyway; the slack lets the diff say how).
const DOWNLOAD_SLACK: u64 = 64 << 20;

/// Clone the repository at `root` into `dest` and check out `commit`,
/// detached. The clone holds only committed objects.
pub(super) fn clean_checkout(root: &Path, dest: &Path, commit: &str) -> Result<()> {
    kiln_git::clone_without_checkout(root, dest)
        .with_context(|| format!("failed to clone {} into {}", root.display(), dest.display()))?;
    Repo::at(dest)
        .checkout_detached(commit)
        .with_context(|| format!("failed to check out {commit} in {}", dest.display()))?;
    Ok(())
}

/// What a source gave: each expected artifact as a local file (or why it
/// could not be had), and the checks of the digests an index page states.
pub(super) type Found = (
    BTreeMap<String, Result<Obtained, Status>>,
    Vec<(String, Status)>,
);

/// Each expected artifact as a local file, or why it could not be had;
/// for an index, also each link's sha256 checked against the record.
pub(super) fn obtain(
    source: &Source,
    name: &ProjectName,
    expected: &BTreeMap<String, Expected>,
    dir: &Path,
) -> Result<Found> {
    let mut out = BTreeMap::new();
    let mut statements = Vec::new();
    match source {
        Source::Dir(d) => {
            if !d.is_dir() {
                bail!("--against {}: no such directory", d.display());
            }
            for file in expected.keys() {
                out.insert(file.clone(), local_copy(d, file));
            }
        }
        Source::Url(base) => {
            std::fs::create_dir_all(dir)?;
            for (file, want) in expected {
                let url = format!("{}/{file}", base.trim_end_matches('/'));
                out.insert(file.clone(), download(&url, dir, file, want));
            }
        }
        Source::Index(index_url) => {
            std::fs::create_dir_all(dir)?;
            let page = match fetch::project_files(index_url, name.as_str(), |f| {
                expected.contains_key(f)
            }) {
                Ok(Some(page)) => page,
                Ok(None) => {
                    for file in expected.keys() {
                        out.insert(
                            file.clone(),
                            Err(Status::Missing(format!(
                                "the index {index_url} has no project {:?}",
                                name.normalized()
                            ))),
                        );
                    }
                    return Ok((out, statements));
                }
                Err(e) => {
                    for file in expected.keys() {
                        out.insert(
                            file.clone(),
                            Err(Status::Failed(format!(
                                "cannot read the index {index_url}: {e:#}"
                            ))),
                        );
                    }
                    return Ok((out, statements));
                }
            };
            let listing = &page.listing;
            for (file, want) in expected {
                let Some(entry) = listing.files.iter().find(|f| &f.filename == file) else {
                    out.insert(file.clone(), Err(not_on_index(file, listing)));
                    continue;
                };
                // The index's own statement of the digest: it must be the
                // record's, whatever the download turns out to be.
                if let Some(stated) = &entry.sha256 {
                    let status = index_statement(&page.url, file, stated, want);
                    statements.push((format!("{file} (sha256 on the index page)"), status));
                }
                out.insert(file.clone(), download(&entry.url, dir, file, want));
            }
        }
    }
    Ok((out, statements))
}

pub(super) fn download(
    url: &str,
    dir: &Path,
    file: &str,
    want: &Expected,
) -> Result<Obtained, Status> {
    match fetch::download(url, dir, file, want.size.saturating_add(DOWNLOAD_SLACK)) {
        Ok(f) => Ok((f.path, Some((kiln_digest::hex(&f.sha256), f.size)))),
        Err(FetchError::NotFound { .. }) => Err(Status::Missing(format!("{url}: 404 Not Found"))),
        Err(e) => Err(Status::Failed(e.to_string())),
    }
}

/// A small file published beside the artifacts, if the source has it:
/// None when absent (a 404), Some(Err) when it could not be read.
pub(super) fn fetch_optional(
    source: &Source,
    file: &str,
    dir: &Path,
) -> Option<Result<Vec<u8>, String>> {
    match source {
        Source::Dir(d) => {
            let p = d.join(file);
            // Present in any form (a FIFO, a directory) is a file to refuse.
            std::fs::symlink_metadata(&p)
                .is_ok()
                .then(|| read_capped(&p, PROVENANCE_MAX))
        }
        Source::Url(base) => {
            let url = format!("{}/{file}", base.trim_end_matches('/'));
            if let Err(e) = std::fs::create_dir_all(dir) {
                return Some(Err(format!("cannot create {}: {e}", dir.display())));
            }
            match fetch::download(&url, dir, file, PROVENANCE_MAX) {
                Ok(f) => Some(read_capped(&f.path, PROVENANCE_MAX)),
                Err(FetchError::NotFound { .. }) => None,
                Err(e) => Some(Err(e.to_string())),
            }
        }
        Source::Index(_) => None,
    }
}
