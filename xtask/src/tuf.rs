//! `cargo xtask tuf …`: TUF metadata for a mirror directory, over
//! `kiln-tuf`. This module reads the clock ("now", unless `--now`), the
//! key directory and the network (through `kiln-fetch`) and hands plain
//! values to the library; a refusal by the TUF checks is a [`Mismatch`]
//! (exit 1), anything else bad input (exit 2).

use crate::Mismatch;
use crate::flags::{Tuf, TufCommand, TufFetch, TufRepoArgs};
use crate::report;
use crate::sign::{random_seed, read_private_key, write_private_key};
use anyhow::{Context as _, Result, bail};
use kiln_provenance::PrivateKey;
use kiln_tuf::{Expiry, Keys, TufError, dir};
use std::path::{Path, PathBuf};

/// The five keys of a key directory, as `tuf init` names them.
const KEY_FILES: [&str; 5] = ["root", "targets", "snapshot", "timestamp", "bins"];

/// A library error, marked as a verification failure when it is one.
fn refusal(e: TufError) -> anyhow::Error {
    if e.is_refusal() {
        anyhow::Error::new(Mismatch(format!("TUF verification failed: {e}")))
    } else {
        anyhow::Error::new(e)
    }
}

fn now(flag: Option<u64>) -> u64 {
    flag.unwrap_or_else(crate::sign::now_seconds)
}

fn key_path(keys: &Path, role: &str) -> PathBuf {
    keys.join(format!("{role}.pem"))
}

/// The key directory may not be inside the mirror: keys are never served.
fn check_key_dir(args: &TufRepoArgs) -> Result<()> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canon(&args.keys).starts_with(canon(&args.dir)) {
        bail!(
            "--keys {} is inside the mirror {}: keys must never be served; keep them elsewhere",
            args.keys.display(),
            args.dir.display()
        );
    }
    Ok(())
}

fn read_keys(keys: &Path) -> Result<Keys> {
    let read = |role: &str| read_private_key(&key_path(keys, role));
    Ok(Keys {
        root: read("root")?,
        targets: read("targets")?,
        snapshot: read("snapshot")?,
        timestamp: read("timestamp")?,
        bins: read("bins")?,
    })
}

impl Tuf {
    pub fn run(self) -> Result<()> {
        let expiry = Expiry::default();
        match self.command {
            TufCommand::Init(cmd) => {
                let args = &cmd.repo;
                std::fs::create_dir_all(&args.dir)
                    .with_context(|| format!("cannot create {}", args.dir.display()))?;
                check_key_dir(args)?;
                if dir::read_metadata(&args.dir, "1.root.json", 1)
                    .map(|f| f.is_some())
                    .unwrap_or(true)
                {
                    bail!(
                        "{}: already a TUF repository (metadata/1.root.json exists); use `tuf add` or `tuf rotate`",
                        args.dir.display()
                    );
                }
                std::fs::create_dir_all(&args.keys)
                    .with_context(|| format!("cannot create {}", args.keys.display()))?;
                for role in KEY_FILES {
                    let path = key_path(&args.keys, role);
                    if !path.exists() {
                        write_private_key(&path, &PrivateKey::from_seed(random_seed()?))?;
                        report::step(&format!("made the {role} key {}", path.display()));
                    }
                }
                let keys = read_keys(&args.keys)?;
                let targets = dir::scan(&args.dir).map_err(refusal)?;
                let (_, files) =
                    kiln_tuf::Repository::init(&targets, cmd.bins, &keys, now(args.now), expiry)
                        .map_err(refusal)?;
                dir::write(&args.dir, &files).map_err(refusal)?;
                report::step(&format!(
                    "signed {} target(s) of {} in {} bins: {} metadata files in {}",
                    targets.len(),
                    args.dir.display(),
                    cmd.bins,
                    files.len(),
                    args.dir.join(dir::METADATA).display()
                ));
            }
            TufCommand::Add(cmd) => {
                let args = &cmd.repo;
                check_key_dir(args)?;
                let read = |role: &str| read_private_key(&key_path(&args.keys, role));
                let (snapshot, timestamp, bins) =
                    (read("snapshot")?, read("timestamp")?, read("bins")?);
                let keys = kiln_tuf::OnlineKeys {
                    snapshot: &snapshot,
                    timestamp: &timestamp,
                    bins: &bins,
                };
                let written = dir::update(&args.dir, &cmd.paths, keys, now(args.now), expiry)
                    .map_err(refusal)?;
                report::step(&format!(
                    "re-signed {} metadata file(s): {}",
                    written.len(),
                    written.join(", ")
                ));
            }
            TufCommand::Timestamp(cmd) => {
                let args = &cmd.repo;
                check_key_dir(args)?;
                let read = |role: &str| read_private_key(&key_path(&args.keys, role));
                let (snapshot, timestamp, bins) =
                    (read("snapshot")?, read("timestamp")?, read("bins")?);
                let keys = kiln_tuf::OnlineKeys {
                    snapshot: &snapshot,
                    timestamp: &timestamp,
                    bins: &bins,
                };
                let mut repo = dir::load(&args.dir).map_err(refusal)?;
                let files = repo
                    .refresh_timestamp(keys, now(args.now), expiry)
                    .map_err(refusal)?;
                dir::write(&args.dir, &files).map_err(refusal)?;
                report::step(&format!(
                    "signed timestamp version {}",
                    repo.timestamp.0.version
                ));
            }
            TufCommand::Rotate(cmd) => rotate(&cmd.repo, &cmd.role, expiry)?,
            TufCommand::Verify(cmd) => {
                let root = std::fs::read(&cmd.root)
                    .with_context(|| format!("--root {}: cannot read it", cmd.root.display()))?;
                let v = kiln_tuf::verify_tree(&cmd.dir, &root, now(cmd.now)).map_err(refusal)?;
                report::step(&format!(
                    "{}: root v{}, timestamp v{}, snapshot v{}, {} bins, {} targets: all verified",
                    cmd.dir.display(),
                    v.root_version,
                    v.timestamp_version,
                    v.snapshot_version,
                    v.bins,
                    v.targets
                ));
            }
            TufCommand::Fetch(cmd) => fetch(&cmd)?,
        }
        Ok(())
    }
}

/// A new key for `role`: root N+1 (and the role re-signed); the old key is
/// kept as `ROLE.pem.N`, the new one becomes `ROLE.pem` only after the
/// metadata is written (staged as `ROLE.pem.next` until then).
fn rotate(args: &TufRepoArgs, role: &str, expiry: Expiry) -> Result<()> {
    check_key_dir(args)?;
    if !["root", "targets", "snapshot", "timestamp"].contains(&role) {
        bail!("--role {role}: rotate root, targets, snapshot or timestamp");
    }
    let keys = read_keys(&args.keys)?;
    let mut repo = dir::load(&args.dir).map_err(refusal)?;
    let old_version = repo.root.version;
    let current = key_path(&args.keys, role);
    let staged = args.keys.join(format!("{role}.pem.next"));
    let archived = args.keys.join(format!("{role}.pem.{old_version}"));
    for path in [&staged, &archived] {
        if path.exists() {
            bail!(
                "{} exists: a rotation was interrupted; move it away first",
                path.display()
            );
        }
    }
    let new_key = PrivateKey::from_seed(random_seed()?);
    write_private_key(&staged, &new_key)?;
    let files = repo
        .rotate(role, &new_key, &keys, now(args.now), expiry)
        .map_err(refusal)?;
    dir::write(&args.dir, &files).map_err(refusal)?;
    std::fs::rename(&current, &archived)
        .and_then(|()| std::fs::rename(&staged, &current))
        .with_context(|| {
            format!(
                "cannot put the new {role} key in place as {}",
                current.display()
            )
        })?;
    report::step(&format!(
        "root version {}: the {role} key is new ({}); the old one is kept as {}",
        repo.root.version,
        current.display(),
        archived.display()
    ));
    Ok(())
}

/// The client: trusted state in STATE, metadata and the target over HTTP
/// through kiln-fetch (each request capped at what the client allows).
fn fetch(cmd: &TufFetch) -> Result<()> {
    std::fs::create_dir_all(&cmd.state)
        .with_context(|| format!("cannot create {}", cmd.state.display()))?;
    let local = |name: &str, max: u64| dir::read_capped(&cmd.state.join(name), name, max);
    let root = match local("root.json", kiln_tuf::client::ROOT_MAX).map_err(refusal)? {
        Some(bytes) => bytes,
        None => std::fs::read(&cmd.root)
            .with_context(|| format!("--root {}: cannot read it", cmd.root.display()))?,
    };
    let timestamp = local("timestamp.json", kiln_tuf::client::TIMESTAMP_MAX).map_err(refusal)?;
    let snapshot = local("snapshot.json", kiln_tuf::client::SNAPSHOT_MAX).map_err(refusal)?;
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
        match kiln_fetch::download(&url, scratch.path(), &format!("{count}"), max, pace) {
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
    report::step(&format!(
        "refreshed from {base}: root v{}",
        client.root().version
    ));
    if let Some(target) = &cmd.target {
        let bytes = client.download(target, &mut get).map_err(refusal)?;
        let out = match &cmd.out {
            Some(out) => out.clone(),
            None => PathBuf::from(target.rsplit('/').next().unwrap_or(target)),
        };
        kiln_fs::publish::write_atomic(&out, &bytes)?;
        report::step(&format!(
            "{target}: {} bytes, length and sha256 as signed, written to {}",
            bytes.len(),
            out.display()
        ));
    }
    Ok(())
}
