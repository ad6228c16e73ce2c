//! `release/release.toml`: the projects this repository releases, each
//! with its path, build mode, epoch policy, tag pattern, where it is
//! published and who may sign it; read strictly (unknown keys refused)
//! and checked before any work.

pub use crate::layout::RELEASE_TOML;
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    pub github: Option<String>,
    pub index: Option<String>,
}

fn default_epoch() -> toml::Value {
    toml::Value::String("git-commit".into())
}

/// Why release.toml cannot be used, naming the project and field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] kiln_fs::project::ProjectFileError),
    #[error("{RELEASE_TOML}: {0}")]
    Syntax(String),
    #[error("{RELEASE_TOML}: no [[project]] tables: add one per project to release")]
    NoProjects,
    #[error(
        "{RELEASE_TOML}: project {project:?}: `epoch` is {value}; use \"git-commit\" or a number of seconds"
    )]
    Epoch { project: String, value: String },
    #[error("{RELEASE_TOML}: project {project:?}: tag = {tag:?} must contain {{version}}")]
    Tag { project: String, tag: String },
    #[error(
        "{RELEASE_TOML}: project {project:?}: path {path:?} must be relative to the repository, without `..`"
    )]
    Path { project: String, path: PathBuf },
    #[error("--project {name:?}: no such project in {RELEASE_TOML} (known: {known})")]
    NoSuchProject { name: String, known: String },
    #[error("{RELEASE_TOML} lists {} projects ({}): pick one with --project", .0.len(), .0.join(", "))]
    WhichProject(Vec<String>),
}

impl ConfigError {
    /// The field (or flag) of release.toml the error is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ConfigError::NoProjects => Some("project"),
            ConfigError::Epoch { .. } => Some("epoch"),
            ConfigError::Tag { .. } => Some("tag"),
            ConfigError::Path { .. } => Some("path"),
            ConfigError::NoSuchProject { .. } | ConfigError::WhichProject(_) => Some("--project"),
            ConfigError::Read(_) | ConfigError::Syntax(_) => None,
        }
    }

    /// Where the error is, for a `--json` error object: release.toml (or
    /// the file kiln-fs refused) and the field.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            // Transparent: its chain skips the inner error, so look inside.
            ConfigError::Read(inner) => inner.location(),
            e => Some((Some(RELEASE_TOML.to_owned()), e.field().map(str::to_owned))),
        }
    }
}

/// The epoch policy of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochPolicy {
    GitCommit,
    Fixed(i64),
}

impl ProjectConfig {
    pub fn epoch_policy(&self) -> Result<EpochPolicy, ConfigError> {
        match &self.epoch {
            toml::Value::String(s) if s == "git-commit" => Ok(EpochPolicy::GitCommit),
            toml::Value::Integer(n) => Ok(EpochPolicy::Fixed(*n)),
            other => Err(ConfigError::Epoch {
                project: self.name.clone(),
                value: other.to_string(),
            }),
        }
    }
}

impl ReleaseConfig {
    /// `<root>/release/release.toml`, read capped (a regular file only).
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(RELEASE_TOML);
        // Capped and regular files only, as every file kiln reads whole.
        let text =
            kiln_fs::project::read_file_to_string_capped(&path, kiln_fs::project::CONFIG_LIMIT)?;
        Self::parse(&text)
    }

    /// Parse and check release.toml's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: ReleaseConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        if config.projects.is_empty() {
            return Err(ConfigError::NoProjects);
        }
        for p in &config.projects {
            if !p.tag.contains("{version}") {
                return Err(ConfigError::Tag {
                    project: p.name.clone(),
                    tag: p.tag.clone(),
                });
            }
            if p.path.is_absolute() || p.path.components().any(|c| c.as_os_str() == "..") {
                return Err(ConfigError::Path {
                    project: p.name.clone(),
                    path: p.path.clone(),
                });
            }
            p.epoch_policy()?;
        }
        Ok(config)
    }

    /// The projects selected by `--project` (all when none is given).
    pub fn select(&self, names: &[String]) -> Result<Vec<ProjectConfig>, ConfigError> {
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
                        ConfigError::NoSuchProject {
                            name: n.clone(),
                            known: known.join(", "),
                        }
                    })
            })
            .collect()
    }

    /// The one project a command works on: `--project`'s, or the only one.
    pub fn one(&self, wanted: Option<&str>) -> Result<ProjectConfig, ConfigError> {
        if let Some(name) = wanted {
            return Ok(self.select(&[name.to_string()])?.remove(0));
        }
        match self.projects.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ConfigError::NoProjects),
            many => Err(ConfigError::WhichProject(
                many.iter().map(|p| p.name.clone()).collect(),
            )),
        }
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
    fn every_refusal_names_the_project_and_field() {
        let demo = project("native");
        for (text, message) in [
            (String::new(), "no [[project]] tables"),
            (
                demo.replace("v{version}", "v1"),
                "tag = \"v1\" must contain {version}",
            ),
            (
                demo.replace("examples/demo", "../x"),
                "must be relative to the repository",
            ),
            (demo.clone() + "epoch = 1.5\n", "`epoch` is 1.5"),
        ] {
            let e = ReleaseConfig::parse(&text).unwrap_err();
            assert!(e.field().is_some(), "{e}");
            let e = e.to_string();
            assert!(e.starts_with(RELEASE_TOML) && e.contains(message), "{e}");
        }
        let config = ReleaseConfig::parse(&(demo + "epoch = 10\n")).unwrap();
        assert_eq!(
            config.projects[0].epoch_policy().unwrap(),
            EpochPolicy::Fixed(10)
        );
        assert_eq!(config.one(None).unwrap().name, "demo");
        assert_eq!(config.one(Some("demo")).unwrap().name, "demo");
        let two =
            ReleaseConfig::parse(&(project("native") + &project("backend").replace("demo", "two")))
                .unwrap();
        let e = two.one(None).unwrap_err().to_string();
        assert_eq!(
            e,
            "release/release.toml lists 2 projects (demo, two): pick one with --project"
        );
        let e = config.select(&["other".into()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "--project \"other\": no such project in release/release.toml (known: demo)"
        );
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
    fn a_config_error_is_at_its_field() {
        let err = ConfigError::Tag {
            project: "a".into(),
            tag: "v".into(),
        };
        assert_eq!(
            err.location(),
            Some((Some(RELEASE_TOML.into()), Some("tag".into())))
        );
    }
}
