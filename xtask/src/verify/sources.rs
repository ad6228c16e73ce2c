//! Where the copies come from: the clean checkout the rebuild runs in,
//! and each published copy from a directory, a URL or an index, obtained
//! as a local file (or the reason it could not be had) without opening it.

use super::{Expected, Status};
use crate::fetch::{self, FetchError};
use anyhow::{Context, Result, bail};
use kiln_git::Repo;
use kiln_names::ProjectName;
use kiln_verify::index_statement;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Downloads may exceed the recorded size by this much before we stop
/// reading (a larger copy differs anyway; the slack lets the diff say how).
const DOWNLOAD_SLACK: u64 = 64 << 20;

/// Where a published copy comes from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    Dir(PathBuf),
    Url(String),
    Index(String),
}

impl Source {
    pub(super) fn label(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Url(u) => u.clone(),
            Source::Index(u) => format!("index {u}"),
        }
    }
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Source::Dir(_) => "directory",
            Source::Url(_) => "url",
            Source::Index(_) => "index",
        }
    }
}
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
                let path = d.join(file);
                // Only a regular file is read: a FIFO or a device there
                // could block or never end.
                let entry = match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => Ok((path, None)),
                    Ok(_) => Err(Status::Failed(format!(
                        "{} is not a regular file: refusing to read it",
                        path.display()
                    ))),
                    Err(_) => Err(Status::Missing(format!("{file} is not in {}", d.display()))),
                };
                out.insert(file.clone(), entry);
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
                    let mut listed = listing.others.join(", ");
                    if listing.links > listing.others.len() + listing.files.len() {
                        listed.push_str(&format!(
                            " and {} more",
                            listing.links - listing.others.len() - listing.files.len()
                        ));
                    }
                    out.insert(
                        file.clone(),
                        Err(Status::Missing(format!(
                            "the index lists no {file} (it lists {})",
                            if listing.links == 0 {
                                "no files"
                            } else {
                                listed.as_str()
                            }
                        ))),
                    );
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

/// A published copy on disk, with its (sha256 hex, size) when the download
/// already hashed it as it streamed.
pub(super) type Obtained = (PathBuf, Option<(String, u64)>);

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

/// A provenance file is a few kilobytes; anything near this is not one.
/// The same cap holds for a Sigstore bundle, `SHA256SUMS` and a `.distinfo`.
pub(super) const PROVENANCE_MAX: u64 = 16 << 20;

/// A small published file, read whole only after checking that it is a
/// regular file (never a FIFO or device, which could block or never end)
/// of at most `cap` bytes; the read itself stops at `cap` too, in case the
/// file grows meanwhile.
pub(super) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            Err(format!(
                "{} is not a regular file: refusing to read it",
                path.display()
            ))
        } else if meta.len() > cap {
            Err(format!(
                "{} is {} bytes, more than the limit of {cap} bytes for such a file: refusing to read it",
                path.display(),
                meta.len()
            ))
        } else {
            Ok(())
        }
    };
    check(&std::fs::metadata(path).map_err(cannot)?)?;
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    check(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{} grew past the limit of {cap} bytes while being read: refusing it",
            path.display()
        ));
    }
    Ok(bytes)
}
