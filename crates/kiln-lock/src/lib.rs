//! Build locks: the exact build requirements of a project built in backend
//! mode, one file per package, each named with its sha256.
//!
//! `cargo xtask lock` resolves (with pip's resolver) and writes a lock;
//! `cargo xtask build --mode backend` installs exactly what it lists and
//! resolves nothing. A lock is TOML so that it reviews well in a pull
//! request; it renders deterministically (packages sorted by normalized
//! name) so that re-locking the same resolution rewrites the same bytes.
//!
//! ```toml
//! version = 1
//! python = "3.11"
//! build-backend = "hatchling.build"
//! requires = ["hatchling==1.32.0"]
//!
//! [[package]]
//! name = "hatchling"
//! version = "1.32.0"
//! filename = "hatchling-1.32.0-py3-none-any.whl"
//! url = "https://…/hatchling-1.32.0-py3-none-any.whl"
//! sha256 = "…"
//! ```

use kiln_names::ProjectName;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The lock format's version; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{file}: not a valid kiln lock: {message}")]
    Syntax { file: String, message: String },
    #[error(
        "{file}: lock format version {found} is not supported (this kiln reads version {FORMAT_VERSION}); re-run `cargo xtask lock`"
    )]
    Version { file: String, found: u32 },
    #[error("{file}: package {package:?}: {problem}; re-run `cargo xtask lock`")]
    Package {
        file: String,
        package: String,
        problem: String,
    },
}

impl LockError {
    /// Where the error is, for a `--json` error object: the lock file, and
    /// the key or package as the field.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Self::Syntax { file, .. } => Some((Some(file.clone()), None)),
            Self::Version { file, .. } => Some((Some(file.clone()), Some("version".into()))),
            Self::Package { file, package, .. } => {
                Some((Some(file.clone()), Some(package.clone())))
            }
        }
    }
}

/// One locked file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The exact distribution file (a wheel, in practice).
    pub filename: String,
    /// Where it was found when locking.
    pub url: String,
    /// Lowercase hex sha256 of the file.
    pub sha256: String,
}

/// A build lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lock {
    pub version: u32,
    /// The interpreter version the lock was resolved for (the pin).
    pub python: String,
    /// The PEP 517 backend the project declares (or setuptools' legacy one).
    pub build_backend: String,
    /// `backend-path` of `[build-system]`, when the project has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_path: Vec<String>,
    /// What was resolved: `[build-system].requires` plus what the backend
    /// asked for, as written.
    pub requires: Vec<String>,
    #[serde(rename = "package", default)]
    pub packages: Vec<Package>,
}

impl Lock {
    /// Parse and validate a lock; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, LockError> {
        let lock: Lock = toml::from_str(text).map_err(|e| LockError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        if lock.version != FORMAT_VERSION {
            return Err(LockError::Version {
                file: file.to_string(),
                found: lock.version,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &lock.packages {
            let problem = |problem: &str| LockError::Package {
                file: file.to_string(),
                package: p.name.clone(),
                problem: problem.to_string(),
            };
            let name = ProjectName::new(&p.name).map_err(|e| problem(&e.to_string()))?;
            if !seen.insert(name.normalized().to_string()) {
                return Err(problem("listed twice"));
            }
            kiln_names::parse_version(&p.version).map_err(|e| problem(&e.to_string()))?;
            if p.sha256.len() != 64
                || !p
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(problem("sha256 must be 64 lowercase hex digits"));
            }
            if p.filename.is_empty() || p.filename.contains('/') || p.filename.contains('\\') {
                return Err(problem("filename must be a bare file name"));
            }
        }
        Ok(lock)
    }

    /// Render canonically: fixed header, packages sorted by normalized name.
    pub fn render(&self) -> String {
        let mut sorted = self.clone();
        sorted.packages.sort_by_key(|p| {
            ProjectName::new(&p.name)
                .map(|n| n.normalized().to_string())
                .unwrap_or_default()
        });
        let mut out = String::new();
        out.push_str(
            "# kiln build lock: written by `cargo xtask lock`, installed by `cargo xtask build`.\n",
        );
        out.push_str(
            "# Installing from it resolves nothing: each file is named with its sha256.\n",
        );
        let body = toml::to_string(&sorted).unwrap_or_default();
        let _ = write!(out, "{body}");
        out
    }

    /// `name==version` of every locked package, in lock order.
    pub fn pins(&self) -> Vec<String> {
        self.packages
            .iter()
            .map(|p| format!("{}=={}", p.name, p.version))
            .collect()
    }

    pub fn find(&self, name: &str) -> Option<&Package> {
        let wanted = ProjectName::new(name).ok()?;
        self.packages.iter().find(|p| {
            ProjectName::new(&p.name).is_ok_and(|n| n.normalized() == wanted.normalized())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        Lock {
            version: 1,
            python: "3.11".into(),
            build_backend: "hatchling.build".into(),
            backend_path: vec![],
            requires: vec!["hatchling==1.32.0".into()],
            packages: vec![
                Package {
                    name: "pluggy".into(),
                    version: "1.6.0".into(),
                    filename: "pluggy-1.6.0-py3-none-any.whl".into(),
                    url: "https://example.invalid/pluggy-1.6.0-py3-none-any.whl".into(),
                    sha256: "a".repeat(64),
                },
                Package {
                    name: "Hatchling".into(),
                    version: "1.32.0".into(),
                    filename: "hatchling-1.32.0-py3-none-any.whl".into(),
                    url: "https://example.invalid/hatchling-1.32.0-py3-none-any.whl".into(),
                    sha256: "b".repeat(64),
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_sorted() {
        let text = sample().render();
        let parsed = Lock::parse("l.toml", &text).unwrap();
        assert_eq!(parsed.packages[0].name, "Hatchling");
        assert_eq!(parsed.render(), text);
        assert!(parsed.find("hatchling").is_some());
        assert_eq!(parsed.pins(), ["Hatchling==1.32.0", "pluggy==1.6.0"]);
    }

    #[test]
    fn bad_hash_names_the_package() {
        let text = sample().render().replace(&"a".repeat(64), "xyz");
        let e = Lock::parse("l.toml", &text).unwrap_err().to_string();
        assert!(
            e.contains("pluggy") && e.contains("sha256") && e.contains("cargo xtask lock"),
            "{e}"
        );
    }

    #[test]
    fn version_and_syntax_errors() {
        let text = sample().render().replace("version = 1\n", "version = 9\n");
        assert!(
            Lock::parse("l.toml", &text)
                .unwrap_err()
                .to_string()
                .contains("version 9")
        );
        assert!(
            Lock::parse("l.toml", "version = ")
                .unwrap_err()
                .to_string()
                .starts_with("l.toml:")
        );
    }

    #[test]
    fn a_lock_error_is_at_its_file_and_package() {
        let err = LockError::Package {
            file: "kiln.lock".into(),
            package: "hatchling".into(),
            problem: "x".into(),
        };
        assert_eq!(
            err.location(),
            Some((Some("kiln.lock".into()), Some("hatchling".into())))
        );
    }
}
