//! Where `rebuild`'s published copies come from (`--against DIR|URL`,
//! `--index URL`), what their index says of the release's date (the build
//! requirements as of its upload, when no wheel names the backend), and how
//! one compares with a rebuilt artifact: digests first, and only a
//! mismatch is parsed, by kiln-diff's bounded readers.

use crate::engine;
use crate::fetch;
use crate::rebuild::source::{Source, read_capped};
use anyhow::{Context, Result};
use kiln_names::filename_release;
use kiln_report::RebuildComparison;
use std::path::{Path, PathBuf};

/// Largest published file fetched or read (an sdist or wheel).
pub const MAX_ARTIFACT: u64 = 1 << 30;

/// One published file of the release, on disk.
#[derive(Debug, Clone)]
pub struct Published {
    /// Where it came from (path or URL), for the report.
    pub label: String,
    pub filename: String,
    pub path: PathBuf,
    /// From an index: its PEP 700 upload time, and the index.
    pub uploaded: Option<(String, String)>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// `URL/filename` for each `--against URL` into `tmp` (size-capped), added
/// to `found` unless that copy is there already; a 404 means the base URL
/// does not publish that file.
pub fn fetch_named(
    against: &[String],
    filename: &str,
    tmp: &Path,
    found: &mut Vec<Published>,
) -> Result<()> {
    for (i, base) in against.iter().enumerate().filter(|(_, a)| is_url(a)) {
        let url = format!("{}/{filename}", base.trim_end_matches('/'));
        if found.iter().any(|p| p.label == url) {
            continue;
        }
        let dir = tmp.join(format!("against-{i}"));
        std::fs::create_dir_all(&dir)?;
        match fetch::download(&url, &dir, filename, MAX_ARTIFACT) {
            Ok(fetched) => found.push(Published {
                label: url,
                filename: filename.to_string(),
                path: fetched.path,
                uploaded: None,
            }),
            Err(fetch::FetchError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The files of `name` `version` (any version when `None`) in the
/// `against` directories, under the `against` base URLs (the sdist and a
/// pure-Python wheel, by the names they would have), and on the `index`es
/// (downloaded into `tmp`, size-capped).
pub fn gather(
    against: &[String],
    index: &[String],
    release: &(String, Option<String>),
    project: &str,
    tmp: &Path,
) -> Result<Vec<Published>> {
    let wanted = |f: &str| {
        filename_release(f).is_some_and(|(name, version)| {
            name == release.0 && release.1.as_ref().is_none_or(|v| *v == version)
        })
    };
    let mut found = Vec::new();
    if let Some(version) = &release.1 {
        for guess in kiln_names::likely_filenames(&release.0, version) {
            fetch_named(against, &guess, tmp, &mut found)?;
        }
    }
    for dir in against.iter().filter(|a| !is_url(a)).map(Path::new) {
        if !dir.is_dir() {
            anyhow::bail!("--against {}: no such directory", dir.display());
        }
        let walk = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .max_depth(1)
            .sort_by_file_name();
        for entry in walk {
            let entry =
                entry.with_context(|| format!("--against {}: cannot list it", dir.display()))?;
            let filename = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type().is_file() || !wanted(&filename) {
                continue;
            }
            let path = dir.join(&filename);
            found.push(Published {
                label: path.display().to_string(),
                filename,
                path,
                uploaded: None,
            });
        }
    }
    for (i, url) in index.iter().enumerate() {
        let Some(page) = fetch::project_files(url, project, |f| wanted(f))? else {
            continue;
        };
        let dir = tmp.join(format!("index-{i}"));
        std::fs::create_dir_all(&dir)?;
        for file in page.listing.files.iter().filter(|f| !f.yanked) {
            let fetched = fetch::download(&file.url, &dir, &file.filename, MAX_ARTIFACT)?;
            if let Some(stated) = &file.sha256
                && *stated != kiln_digest::hex(&fetched.sha256)
            {
                anyhow::bail!(
                    "{}: the index states sha256 {stated}, the file served is {}",
                    file.url,
                    kiln_digest::hex(&fetched.sha256)
                );
            }
            found.push(Published {
                label: file.url.clone(),
                filename: file.filename.clone(),
                path: fetched.path,
                uploaded: file.upload_time.clone().map(|t| (t, url.clone())),
            });
        }
    }
    Ok(found)
}

/// `published` against the rebuilt file at `ours` (sha256 `our_sha`):
/// kiln-verify's comparison, digests first.
pub fn compare(published: &Published, ours: &Path, our_sha: &str) -> Result<RebuildComparison> {
    let (level, diff) = kiln_verify::rebuilt::against_published(
        &published.path,
        &published.label,
        &published.filename,
        ours,
        our_sha,
    )?;
    Ok(RebuildComparison {
        published: published.label.clone(),
        level,
        diff,
    })
}

/// With no published wheel to name the backend: the build requirements
/// as of the earliest upload time an index states for the release's files
/// (PEP 700), each at most its newest release before it.
pub fn as_of(found: &[Published], source: &Source) -> Result<Option<(Vec<String>, String)>> {
    let Some(upload) = kiln_infer::earliest_upload(found.iter().filter_map(|p| p.uploaded.clone()))
    else {
        return Ok(None);
    };
    let requires = match source {
        Source::Sdist { filename, path } => {
            kiln_pep517::sdist_build_system(filename, &read_capped(path)?)?.requires
        }
        Source::Project(dir) => engine::build_system(dir)?.requires,
    };
    let lines = crate::asof::exclude_newer(&requires, &upload.index, &upload.date)?;
    Ok(Some((lines, upload.evidence)))
}
