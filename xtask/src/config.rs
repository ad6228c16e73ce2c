//! `release/release.toml`: the projects this repository releases.

pub use crate::layout::RELEASE_TOML;
use crate::located::Located;
use anyhow::Result;
use kiln_names::BuildMode;
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
    pub mode: BuildMode,
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
            other => Err(Located::at(
                RELEASE_TOML,
                format!(
                    "{RELEASE_TOML}: project {:?}: `epoch` is {other}; use \"git-commit\" or a number of seconds",
                    self.name
                ),
            )
            .field("epoch")
            .into()),
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
        let config: ReleaseConfig = toml::from_str(text)
            .map_err(|e| Located::at(RELEASE_TOML, format!("{RELEASE_TOML}: {e}")))?;
        if config.projects.is_empty() {
            return Err(Located::at(
                RELEASE_TOML,
                format!("{RELEASE_TOML}: no [[project]] tables: add one per project to release"),
            )
            .field("project")
            .into());
        }
        for p in &config.projects {
            if !p.tag.contains("{version}") {
                let message = format!(
                    "{RELEASE_TOML}: project {:?}: tag = {:?} must contain {{version}}",
                    p.name, p.tag
                );
                return Err(Located::at(RELEASE_TOML, message).field("tag").into());
            }
            if p.path.is_absolute() || p.path.components().any(|c| c.as_os_str() == "..") {
                let message = format!(
                    "{RELEASE_TOML}: project {:?}: path {:?} must be relative to the repository, without `..`",
                    p.name, p.path
                );
                return Err(Located::at(RELEASE_TOML, message).field("path").into());
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
                    .ok_or_else(|| {
                        let known: Vec<_> = self.projects.iter().map(|p| p.name.as_str()).collect();
                        let message = format!(
                            "--project {n:?}: no such project in {RELEASE_TOML} (known: {})",
                            known.join(", ")
                        );
                        Located::at(RELEASE_TOML, message).field("--project").into()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn project(mode: &str) -> String {
        format!(
            "[[project]]\nname = \"demo\"\npath = \"examples/demo\"\nmode = \"{mode}\"\ntag = \"v{{version}}\"\n"
        )
    }

    #[test]
    fn the_mode_is_a_build_mode() {
        for mode in BuildMode::ALL {
            let config = ReleaseConfig::parse(&project(mode.as_str())).unwrap();
            assert_eq!(config.projects[0].mode, mode);
        }
        let e = ReleaseConfig::parse(&project("Native"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(RELEASE_TOML) && e.contains("line 4") && e.contains("`backend`"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_release_toml_and_the_field() {
        let cases = [
            (project("native").replace("v{version}", "v1"), "tag"),
            (
                project("native").replace("examples/demo", "../demo"),
                "path",
            ),
            (format!("{}epoch = 1.5\n", project("native")), "epoch"),
            ("# no projects\n".to_owned(), "project"),
        ];
        for (text, field) in cases {
            let e = ReleaseConfig::parse(&text).unwrap_err();
            let at = crate::located::locate(&e);
            assert_eq!(at.path.as_deref(), Some(RELEASE_TOML), "{e}");
            assert_eq!(at.field.as_deref(), Some(field), "{e}");
        }
    }
}
