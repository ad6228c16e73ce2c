//! Provenance for a release, and its checking in `verify`.
//!
//! `release` assembles what it knows -- the artifacts and their digests,
//! the project, version, tag and mode, the epoch and pins, the source
//! commit, `Cargo.lock`, `pinned-toolchain.toml`, the rustc and Python
//! versions, every locked build requirement, who ran it and when -- into
//! `kiln-provenance`'s in-toto Statement v1 with a SLSA Provenance v1
//! predicate, signs it as a DSSE envelope, and writes
//! `<project>-<version>.intoto.jsonl` into the dist directory.
//!
//! `verify` trusts keys from `release/` as HEAD has them (never a key that
//! arrives with the artifacts), plus this checkout's development key with a
//! warning; `kiln_provenance::check` decides whether an envelope holds.

use crate::sign::Signer;
use anyhow::{Context, Result, bail};
use kiln_names::BuildMode;
use kiln_provenance::{PublicKey, Signing, SigningKind, Subject, release_statement};
use std::collections::BTreeMap;
use std::path::Path;
use xshell::{Shell, cmd};

/// What `release` hands over for one project.
#[derive(Debug)]
pub struct ReleaseFacts<'a> {
    pub root: &'a Path,
    pub project: &'a str,
    pub version: &'a str,
    pub tag: String,
    pub mode: BuildMode,
    pub epoch: u64,
    pub pins: &'a BTreeMap<String, String>,
    /// (file name, sha256 hex, sha512 hex)
    pub artifacts: Vec<(String, String, String)>,
    /// (name, version, sha256 hex) of each locked build requirement.
    pub locked: Vec<(String, String, String)>,
    pub lock_sha256: Option<String>,
    pub github: Option<&'a str>,
    pub started: u64,
    pub finished: u64,
    pub seed: [u8; 32],
}

/// Streamed: memory does not grow with the file.
fn sha256_file(path: &Path) -> Result<String> {
    Ok(kiln_digest::Digests::of_file(path)
        .with_context(|| format!("failed to read {}", path.display()))?
        .sha256_hex())
}

/// The statement's bytes for a release: the facts `release` hands over,
/// and what this checkout and machine say (commit, remote, rustc, digests
/// of the pinned files, the CI identity).
pub fn statement(facts: &ReleaseFacts<'_>, signer: &Signer) -> Result<Vec<u8>> {
    let sh = Shell::new()?;
    sh.change_dir(facts.root);
    let git = kiln_git::Repo::at(facts.root);
    let commit = git
        .commit("HEAD")
        .context("release records the source commit: run it in a git checkout")?;
    let repository = match facts.github {
        Some(repo) => format!("https://github.com/{repo}"),
        None => git
            .config("remote.origin.url")
            .ok()
            .flatten()
            .unwrap_or_else(|| "file://local".to_string()),
    };
    let rustc = cmd!(sh, "rustc --version")
        .quiet()
        .read()
        .unwrap_or_default();
    let (builder_id, invocation_id) = crate::sign::builder_and_invocation(facts.seed);
    let signing = match signer {
        Signer::Key {
            key, development, ..
        } => Signing {
            kind: if *development {
                SigningKind::DevelopmentKey
            } else {
                SigningKind::Key
            },
            keyid: Some(key.public_key().keyid()),
        },
        Signer::Keyless => Signing {
            kind: SigningKind::Keyless,
            keyid: None,
        },
        Signer::Unsigned => bail!("--no-sign writes no provenance"),
    };
    Ok(release_statement(kiln_provenance::ReleaseFacts {
        project: facts.project,
        version: facts.version,
        tag: &facts.tag,
        mode: facts.mode,
        epoch: facts.epoch,
        pins: facts.pins,
        subjects: facts
            .artifacts
            .iter()
            .map(|(name, sha256, sha512)| Subject {
                name: name.clone(),
                sha256: sha256.clone(),
                sha512: sha512.clone(),
            })
            .collect(),
        locked: facts.locked.clone(),
        lock: (facts.lock_sha256.clone())
            .map(|sha256| (crate::layout::lock_rel(facts.project), sha256)),
        cargo_lock_sha256: sha256_file(&facts.root.join("Cargo.lock"))?,
        pins_sha256: sha256_file(&facts.root.join(crate::pins::PINS_TOML))?,
        rustc: rustc.split_whitespace().nth(1).unwrap_or("unknown"),
        repository,
        commit: commit.trim().to_string(),
        signing,
        builder_id,
        invocation_id,
        started: facts.started,
        finished: facts.finished,
    }))
}

/// The keys `verify` trusts: the `release/keys/*.pub` committed at HEAD
/// (only those release.toml's `public-keys` names, when it names any), and
/// this checkout's development key (labelled).
pub fn trusted_keys(
    root: &Path,
    configured: Option<&[String]>,
) -> Result<Vec<(PublicKey, String)>> {
    let git = kiln_git::Repo::at(root);
    let keys_dir = format!("{}/", crate::layout::KEYS_DIR);
    let listing = git.list("HEAD", &keys_dir).unwrap_or_default();
    let mut keys = Vec::new();
    if let Some(wanted) = configured {
        for want in wanted {
            if !listing.iter().any(|l| l == want) {
                bail!(
                    "{}: public-keys names {want}, which is not committed under {keys_dir} at HEAD",
                    crate::config::RELEASE_TOML
                );
            }
        }
    }
    let chosen = |path: &str| configured.is_none_or(|w| w.iter().any(|k| k == path));
    for path in listing.iter().filter(|l| l.ends_with(".pub") && chosen(l)) {
        let spec = format!("HEAD:{path}");
        let text = git
            .read_file("HEAD", path)
            .with_context(|| format!("failed to read {spec}"))?
            .with_context(|| format!("failed to read {spec}"))?;
        let key = PublicKey::from_spki_pem(&text)
            .map_err(|e| anyhow::anyhow!("{path}: not an ed25519 SPKI PEM public key: {e}"))?;
        keys.push((key, path.to_string()));
    }
    if let Some(dev) = crate::sign::development_public_key(root) {
        keys.push((dev, "this checkout's development key".into()));
    }
    Ok(keys)
}
