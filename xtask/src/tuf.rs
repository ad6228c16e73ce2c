//! `cargo xtask tuf …`: TUF metadata for a mirror directory, over
//! `kiln-tuf`: init, add, timestamp, rotate and verify here, the client
//! (`fetch`) in `tuf/fetch.rs`. The key directory, the clock and the
//! refusal-to-exit-status mapping are `tuf_keys.rs`'s.

mod fetch;

use crate::flags::{Tuf, TufCommand, TufRepoArgs};
use crate::report;
use crate::sign::random_seed;
use crate::tuf_keys::{KeyFiles, Online, check_outside, now, refusal, update_targets};
use anyhow::{Context as _, Result, bail};
use kiln_provenance::PrivateKey;
use kiln_provenance::keyfile::write_private_key;
use kiln_report::{TufOperation, TufReport};
use kiln_tuf::{Expiry, Repository, dir};
use std::path::{Path, PathBuf};

/// A report with what every operation fills in.
fn report_of(operation: TufOperation, repository: &Path, repo: &Repository) -> TufReport {
    TufReport {
        schema: kiln_report::Version,
        operation,
        repository: repository.display().to_string(),
        written: Vec::new(),
        root_version: repo.root.version,
        timestamp_version: Some(repo.timestamp.0.version),
        snapshot_version: Some(repo.snapshot.0.version),
        bins: None,
        targets: None,
        rotated: None,
        downloaded: None,
    }
}

/// Prints `report` as JSON, or its summary line.
fn print(report: TufReport, json: bool, summary: &str) {
    if json {
        report::json(kiln_report::Report::Tuf(report));
    } else {
        report::step(summary);
    }
}

impl Tuf {
    pub fn run(self) -> Result<()> {
        let expiry = Expiry::default();
        match self.command {
            TufCommand::Init(cmd) => init(&cmd.repo, cmd.bins, expiry),
            TufCommand::Add(cmd) => {
                let args = &cmd.repo;
                let u = update_targets(&args.dir, &args.keys, &cmd.paths, now(args.now))?;
                let line = format!("re-signed {}", u.written.join(", "));
                let r = TufReport {
                    schema: kiln_report::Version,
                    operation: TufOperation::Add,
                    repository: args.dir.display().to_string(),
                    written: u.written,
                    root_version: u.root_version,
                    timestamp_version: Some(u.timestamp_version),
                    snapshot_version: Some(u.snapshot_version),
                    bins: None,
                    targets: None,
                    rotated: None,
                    downloaded: None,
                };
                print(r, args.json, &line);
                Ok(())
            }
            TufCommand::Timestamp(cmd) => {
                let args = &cmd.repo;
                check_outside(&args.keys, &args.dir)?;
                let online = Online::read(&args.keys)?;
                let _lock = dir::lock(&args.dir).map_err(refusal)?;
                let mut repo = dir::load(&args.dir).map_err(refusal)?;
                let files = repo
                    .refresh_timestamp(online.keys(), now(args.now), expiry)
                    .map_err(refusal)?;
                dir::write(&args.dir, &files).map_err(refusal)?;
                let mut r = report_of(TufOperation::Timestamp, &args.dir, &repo);
                r.written = files.into_iter().map(|(name, _)| name).collect();
                let line = format!("signed timestamp version {}", repo.timestamp.0.version);
                print(r, args.json, &line);
                Ok(())
            }
            TufCommand::Rotate(cmd) => rotate(&cmd.repo, &cmd.role, expiry),
            TufCommand::Verify(cmd) => {
                let root = std::fs::read(&cmd.root)
                    .with_context(|| format!("--root {}: cannot read it", cmd.root.display()))?;
                let v = kiln_tuf::verify_tree(&cmd.dir, &root, now(cmd.now)).map_err(refusal)?;
                let line = format!(
                    "{}: root v{}, timestamp v{}, snapshot v{}, {} bins, {} targets: all verified",
                    cmd.dir.display(),
                    v.root_version,
                    v.timestamp_version,
                    v.snapshot_version,
                    v.bins,
                    v.targets
                );
                let r = TufReport {
                    schema: kiln_report::Version,
                    operation: TufOperation::Verify,
                    repository: cmd.dir.display().to_string(),
                    written: Vec::new(),
                    root_version: v.root_version,
                    timestamp_version: Some(v.timestamp_version),
                    snapshot_version: Some(v.snapshot_version),
                    bins: Some(v.bins as u64),
                    targets: Some(v.targets as u64),
                    rotated: None,
                    downloaded: None,
                };
                print(r, cmd.json, &line);
                Ok(())
            }
            TufCommand::Fetch(cmd) => fetch::run(&cmd),
        }
    }
}

/// Root v1 and every role at version 1 over what the directory holds.
fn init(args: &TufRepoArgs, bins: u32, expiry: Expiry) -> Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let files = key_files(args);
    files.check_outside(&args.dir)?;
    let _lock = dir::lock(&args.dir).map_err(refusal)?;
    if args.dir.join(dir::METADATA).join("1.root.json").exists() {
        bail!(
            "{}: already a TUF repository (metadata/1.root.json exists); use `tuf add`, `tuf timestamp` or `tuf rotate`",
            args.dir.display()
        );
    }
    std::fs::create_dir_all(&args.keys)
        .with_context(|| format!("cannot create {}", args.keys.display()))?;
    for path in files.make_missing()? {
        report::step(&format!("made the key {} (mode 0600)", path.display()));
    }
    let keys = files.read_all()?;
    let targets = dir::scan(&args.dir).map_err(refusal)?;
    let (repo, files) =
        Repository::init(&targets, bins, &keys, now(args.now), expiry).map_err(refusal)?;
    dir::write(&args.dir, &files).map_err(refusal)?;
    let mut r = report_of(TufOperation::Init, &args.dir, &repo);
    r.bins = Some(u64::from(bins));
    r.targets = Some(targets.len() as u64);
    r.written = files.into_iter().map(|(name, _)| name).collect();
    let line = format!(
        "signed {} target(s) of {} in {bins} bins: {} metadata files in {}",
        targets.len(),
        args.dir.display(),
        r.written.len(),
        args.dir.join(dir::METADATA).display()
    );
    print(r, args.json, &line);
    Ok(())
}

/// The key files `args` name.
fn key_files(args: &TufRepoArgs) -> KeyFiles {
    KeyFiles::new(
        &args.keys,
        args.root_key.as_deref(),
        args.targets_key.as_deref(),
    )
}

/// A new key for `role`; the old key is kept beside it as `FILE.N` (the
/// first free N), the new one takes its file only after the metadata is
/// written (staged as `FILE.next` until then, so a crash never loses the
/// key in use).
fn rotate(args: &TufRepoArgs, role: &str, expiry: Expiry) -> Result<()> {
    let key_files = key_files(args);
    key_files.check_outside(&args.dir)?;
    if !["root", "targets", "snapshot", "timestamp", "bins"].contains(&role) {
        bail!("--role {role}: rotate root, targets, snapshot, timestamp or bins");
    }
    let keys = key_files.read_all()?;
    let _lock = dir::lock(&args.dir).map_err(refusal)?;
    let mut repo = dir::load(&args.dir).map_err(refusal)?;
    let current = key_files.path(role);
    let beside = |suffix: &str| {
        let mut p = current.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    let staged = beside(".next");
    let archived = (1..)
        .map(|n| beside(&format!(".{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| beside(".old"));
    if staged.exists() {
        bail!(
            "{} exists: a rotation was interrupted; check which key the metadata names, then move it away",
            staged.display()
        );
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
    let mut r = report_of(TufOperation::Rotate, &args.dir, &repo);
    r.rotated = Some(role.to_string());
    r.written = files.into_iter().map(|(name, _)| name).collect();
    let line = format!(
        "root version {}: the {role} key is new ({}); the old one is kept as {}",
        repo.root.version,
        current.display(),
        archived.display()
    );
    print(r, args.json, &line);
    Ok(())
}
