//! The upstream half of `mirror`: publishers' wheels fetched through
//! `kiln-fetch`, each checked against the sha256 its index (or its URL's
//! `#sha256=`) states before anything opens it, and the shadow rule for
//! `--recompress-from-index`.

use anyhow::{Context as _, Result, bail};
use kiln_mirror::Entry;
use kiln_report::MirrorSource;
use std::path::Path;

use super::{MAX_DOWNLOAD, Run, lift};
use crate::{Mismatch, fetch};

/// Downloads `url` into `dir` and checks it against `sha256` before
/// returning its bytes.
pub(super) fn download_checked(url: &str, dir: &Path, name: &str, sha256: &str) -> Result<Vec<u8>> {
    let fetched = fetch::download(url, dir, name, MAX_DOWNLOAD)
        .with_context(|| format!("could not download {url}"))?;
    let actual = kiln_digest::hex(&fetched.sha256);
    if actual != sha256.to_ascii_lowercase() {
        return Err(Mismatch(format!(
            "{url}: sha256 {actual}, but the index states {sha256}: refusing it unopened"
        ))
        .into());
    }
    kiln_mirror::read_regular(&fetched.path, MAX_DOWNLOAD).map_err(lift)
}

pub(super) fn url_file_name(url: &str) -> Result<String> {
    let path = url.split(['#', '?']).next().unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        bail!("{url}: the URL names no file");
    }
    Ok(name.to_string())
}

/// `--recompress-from-index URL --project NAME==VERSION`: every wheel of
/// that release, unless upstream already has the build-tagged name.
pub(super) fn from_index(run: &mut Run, index: &str, spec: &str, dir: &Path) -> Result<()> {
    let Some((name, version)) = spec.split_once("==") else {
        bail!("--project {spec:?}: expected NAME==VERSION");
    };
    let page = fetch::project_files(index, name, kiln_index::all)?
        .with_context(|| format!("{name} is not on the index {index}"))?;
    let upstream: Vec<String> = page
        .listing
        .files
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    let mut found = false;
    for file in &page.listing.files {
        let Ok(wheel) = kiln_mirror::WheelName::parse(&file.filename) else {
            continue;
        };
        if wheel.version != version
            || kiln_mirror::normalize(&wheel.distribution) != kiln_mirror::normalize(name)
        {
            continue;
        }
        // A wheel that already carries the mirror's tag is no original.
        if wheel.build.as_deref() == Some(run.tag.as_str()) {
            continue;
        }
        found = true;
        let sha256 = file.sha256.clone().with_context(|| {
            format!(
                "{}: the index gives no sha256 for {}: refusing to fetch it unchecked",
                page.url, file.filename
            )
        })?;
        let ours = wheel.with_build(&run.tag);
        if let Some(theirs) = kiln_mirror::shadowing(&ours, &upstream) {
            let other = page.listing.files.iter().find(|f| &f.filename == theirs);
            let (url, their_sha) = other
                .and_then(|f| Some((f.url.clone(), f.sha256.clone()?)))
                .with_context(|| format!("{}: the index gives no sha256 for {theirs}", page.url))?;
            let bytes = download_checked(&url, dir, theirs, &their_sha)?;
            let mut entry = Entry::distribution(theirs, bytes, &their_sha).map_err(lift)?;
            if let Some(other) = other {
                keep_listing(&mut entry, other);
            }
            run.shadowed.push(ours);
            run.add(entry, MirrorSource::Upstream, None)?;
            continue;
        }
        let bytes = download_checked(&file.url, dir, &file.filename, &sha256)?;
        run.recompress(&file.filename, &bytes, &sha256, Some(file))?;
    }
    if !found {
        bail!("{}: no wheel of {name} {version}", page.url);
    }
    Ok(())
}

/// What the upstream index says of a file that the mirror keeps: yanked
/// (PEP 592, with its reason) and its upload time (PEP 700).
pub(super) fn keep_listing(entry: &mut Entry, listed: &kiln_index::IndexFile) {
    if listed.yanked {
        entry.yanked = Some(listed.yank_reason.clone().unwrap_or_default());
    }
    entry.upload_time = listed.upload_time.clone();
}
