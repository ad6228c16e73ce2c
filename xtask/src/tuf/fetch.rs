//! `cargo xtask tuf fetch URL --root FILE --state DIR [--target PATH]`:
//! kiln's TUF client. The trusted metadata lives in STATE between runs
//! (`root.json`, `timestamp.json`, `snapshot.json`, written atomically
//! whatever a later step decides); every request goes through kiln-fetch,
//! capped at what the client allows for that file.

use crate::flags::TufFetch;
use crate::report;
use crate::tuf_keys::{now, refusal};
use anyhow::{Context as _, Result};
use kiln_report::{TufDownload, TufOperation, TufReport};
use kiln_tuf::{TufError, client, dir};
use std::path::PathBuf;

pub fn run(cmd: &TufFetch) -> Result<()> {
    std::fs::create_dir_all(&cmd.state)
        .with_context(|| format!("cannot create {}", cmd.state.display()))?;
    let local = |name: &str, max: u64| dir::read_capped(&cmd.state.join(name), name, max);
    let root = match local("root.json", client::ROOT_MAX).map_err(refusal)? {
        Some(bytes) => bytes,
        None => std::fs::read(&cmd.root)
            .with_context(|| format!("--root {}: cannot read it", cmd.root.display()))?,
    };
    let timestamp = local("timestamp.json", client::TIMESTAMP_MAX).map_err(refusal)?;
    let snapshot = local("snapshot.json", client::SNAPSHOT_MAX).map_err(refusal)?;
    let mut client = kiln_tuf::Client::new(
        &root,
        timestamp.as_deref(),
        snapshot.as_deref(),
        now(cmd.now),
    )
    .map_err(refusal)?;
    let pace = crate::fetch::pace()?;
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let base = cmd.url.trim_end_matches('/').to_string();
    let mut count = 0u32;
    let mut get = |path: &str, max: u64| -> Result<Option<Vec<u8>>, TufError> {
        count += 1;
        let url = format!("{base}/{path}");
        match kiln_fetch::download(&url, scratch.path(), &count.to_string(), max, pace) {
            Ok(fetched) => std::fs::read(&fetched.path)
                .map(Some)
                .map_err(|error| TufError::Io {
                    path: fetched.path.clone(),
                    error,
                }),
            Err(kiln_fetch::FetchError::NotFound { .. }) => Ok(None),
            Err(kiln_fetch::FetchError::TooLarge { limit, .. }) => Err(TufError::TooLarge {
                what: path.to_string(),
                limit,
            }),
            Err(e) => Err(TufError::Fetch {
                what: path.to_string(),
                message: e.to_string(),
            }),
        }
    };
    let result = client.refresh(&mut get);
    // What was verified is kept even when a later step refused.
    for (name, bytes) in client.files() {
        kiln_fs::publish::write_atomic(&cmd.state.join(name), bytes)?;
    }
    result.map_err(refusal)?;
    let mut lines = vec![format!(
        "refreshed from {base}: root v{}",
        client.root().version
    )];
    let mut downloaded = None;
    if let Some(target) = &cmd.target {
        let out = match &cmd.out {
            Some(out) => out.clone(),
            None => PathBuf::from(target.rsplit('/').next().unwrap_or(target)),
        };
        let (size, sha256) = download_target(&mut client, &mut get, &base, target, &out, pace)?;
        lines.push(format!(
            "{target}: {size} bytes, length and sha256 as signed, written to {}",
            out.display()
        ));
        downloaded = Some(TufDownload {
            target: target.clone(),
            length: size,
            sha256,
            written_to: out,
        });
    }
    if cmd.json {
        report::json(kiln_report::Report::Tuf(TufReport {
            schema: kiln_report::Version,
            operation: TufOperation::Fetch,
            repository: base,
            written: Vec::new(),
            root_version: client.root().version,
            timestamp_version: None,
            snapshot_version: None,
            bins: None,
            targets: None,
            rotated: None,
            downloaded,
        }));
    } else {
        for line in lines {
            report::step(&line);
        }
    }
    Ok(())
}

/// Resolves `target` through the delegations, then streams it into a
/// temporary directory beside `out` (at most its signed length, hashed as
/// it is read: a large wheel is never held in memory), checks it and
/// renames it into place. Its size and sha256.
fn download_target(
    client: &mut kiln_tuf::Client,
    get: &mut client::Fetch<'_>,
    base: &str,
    target: &str,
    out: &std::path::Path,
    pace: kiln_fetch::Pace,
) -> Result<(u64, String)> {
    let file = client.target(target, get).map_err(refusal)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".kiln-tmp-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot make a temporary directory in {}", parent.display()))?;
    let url = format!("{base}/{target}");
    let fetched = match kiln_fetch::download(&url, scratch.path(), "target", file.length, pace) {
        Ok(fetched) => fetched,
        Err(kiln_fetch::FetchError::TooLarge { limit, .. }) => {
            return Err(refusal(TufError::TooLarge {
                what: target.to_string(),
                limit,
            }));
        }
        Err(kiln_fetch::FetchError::NotFound { .. }) => {
            return Err(refusal(TufError::Missing {
                what: target.to_string(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let digests = kiln_digest::Digests::of_file(&fetched.path)?;
    client::check_digests(
        target,
        fetched.size,
        &digests,
        Some(file.length),
        Some(&file.hashes),
    )
    .map_err(refusal)?;
    std::fs::rename(&fetched.path, out)
        .with_context(|| format!("cannot move the download to {}", out.display()))?;
    Ok((fetched.size, digests.sha256_hex()))
}
