//! `release/release.toml`: the projects this repository releases.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const RELEASE_TOML: &str = "release/release.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    #[serde(rename = "project", default)]
    pub projects: Vec<ProjectConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub name: String,
    /// Relative to the repository root.
    pub path: PathBuf,
    pub mode: String,
    /// "git-commit" or a number of seconds.
    #[serde(default = "default_epoch")]
    pub epoch: toml::Value,
    pub tag: String,
    #[serde(default)]
    pub publish: Option<Publish>,
    #[serde(default)]
    pub signing: Option<SigningConfig>,
}

/// `[project.signing]`: who may sign releases. Offline public keys live in
/// release/keys/ (all of them are trusted); keyless releases must come from
/// this Sigstore identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SigningConfig {
    /// The public keys (files under release/keys/) whose signatures verify
    /// accepts; default: every `release/keys/*.pub`.
    pub public_keys: Option<Vec<String>>,
    /// The OIDC issuer (default: GitHub Actions',
    /// https://token.actions.githubusercontent.com).
    pub keyless_issuer: Option<String>,
    /// The certificate identity (SAN): exact, or ending in `@refs/tags/*`.
    pub keyless_identity: Option<String>,
}

impl ProjectConfig {
    /// The keyless identity policy, when release.toml gives one.
    pub fn keyless_policy(&self) -> Option<crate::keyless::IdentityPolicy> {
        let s = self.signing.as_ref()?;
        Some(crate::keyless::IdentityPolicy {
            issuer: s
                .keyless_issuer
                .clone()
                .unwrap_or_else(|| crate::keyless::GITHUB_ACTIONS_ISSUER.to_string()),
            identity: s.keyless_identity.clone()?,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    pub github: Option<String>,
    pub index: Option<String>,
}

fn default_epoch() -> toml::Value {
    toml::Value::String("git-commit".into())
}

/// The epoch policy of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochPolicy {
    GitCommit,
    Fixed(i64),
}

impl ProjectConfig {
    pub fn epoch_policy(&self) -> Result<EpochPolicy> {
        match &self.epoch {
            toml::Value::String(s) if s == "git-commit" => Ok(EpochPolicy::GitCommit),
            toml::Value::Integer(n) => Ok(EpochPolicy::Fixed(*n)),
            other => bail!(
                "{RELEASE_TOML}: project {:?}: `epoch` is {other}; use \"git-commit\" or a number of seconds",
                self.name
            ),
        }
    }
}

impl ReleaseConfig {
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(RELEASE_TOML);
        // Capped and regular files only, as every file kiln reads whole.
        let text =
            kiln_fs::project::read_file_to_string_capped(&path, kiln_fs::project::CONFIG_LIMIT)?;
        Self::parse(&text)
    }

    /// Parse and check release.toml's text.
    pub fn parse(text: &str) -> Result<Self> {
        let config: ReleaseConfig =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{RELEASE_TOML}: {e}"))?;
        if config.projects.is_empty() {
            bail!("{RELEASE_TOML}: no [[project]] tables: add one per project to release");
        }
        for p in &config.projects {
            if p.mode != "native" && p.mode != "backend" {
                bail!(
                    "{RELEASE_TOML}: project {:?}: mode = {:?}; use \"native\" or \"backend\"",
                    p.name,
                    p.mode
                );
            }
            if !p.tag.contains("{version}") {
                bail!(
                    "{RELEASE_TOML}: project {:?}: tag = {:?} must contain {{version}}",
                    p.name,
                    p.tag
                );
            }
            if p.path.is_absolute() || p.path.components().any(|c| c.as_os_str() == "..") {
                bail!(
                    "{RELEASE_TOML}: project {:?}: path {:?} must be relative to the repository, without `..`",
                    p.name,
                    p.path
                );
            }
            p.epoch_policy()?;
        }
        Ok(config)
    }

    /// The projects selected by `--project` (all when none is given).
    pub fn select(&self, names: &[String]) -> Result<Vec<ProjectConfig>> {
        if names.is_empty() {
            return Ok(self.projects.clone());
        }
        names
            .iter()
            .map(|n| {
                self.projects
                    .iter()
                    .find(|p| &p.name == n)
                    .cloned()
                    .with_context(|| {
                        let known: Vec<_> = self.projects.iter().map(|p| p.name.as_str()).collect();
                        format!(
                            "--project {n:?}: no such project in {RELEASE_TOML} (known: {})",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}
