//! `[build-system]` (PEP 518 / PEP 517), the one reader of that table.
//!
//! A project's build is decided by this table, read three ways from the
//! same place: [`declared_backend`] is the lenient look that picks a
//! project's default build mode (native when it names `uv_build`);
//! [`BuildSystem::read`] is backend mode's strict view (requires,
//! build-backend, backend-path, with PEP 517's setuptools fallback for a
//! legacy project), where a broken table is bad input naming the field,
//! never a guess; and [`PyProject`](crate::PyProject) checks the table's
//! shape with the rest of the file through [`Table`]. No I/O: the caller
//! reads `pyproject.toml` and says whether a `setup.py` exists.

use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

/// PEP 517's fallback for projects without `[build-system]` (as pip does).
pub const LEGACY_REQUIRES: &str = "setuptools>=40.8.0";
/// The backend of that fallback.
pub const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// Everything that can be wrong with a project's `[build-system]`; every
/// variant names the file (or the directory) and the field.
#[derive(Debug, thiserror::Error)]
pub enum BuildSystemError {
    #[error(
        "{}: neither pyproject.toml nor setup.py found: this is not a Python project directory; check the path",
        dir.display()
    )]
    NotAProject { dir: PathBuf },
    #[error(
        "{}: not found: a Python project needs a pyproject.toml (or, for legacy projects, a setup.py); check the path",
        path.display()
    )]
    NoPyproject { path: PathBuf },
    #[error("{}: invalid TOML: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("{}: [build-system] must be a table", path.display())]
    NotATable { path: PathBuf },
    #[error("{}: [build-system] {field} must be a list of strings, found {found}", path.display())]
    NotAList {
        path: PathBuf,
        field: &'static str,
        found: String,
    },
    #[error(
        "{}: [build-system] {field} must be a list of strings, found the item {found}",
        path.display()
    )]
    NotAString {
        path: PathBuf,
        field: &'static str,
        found: String,
    },
    #[error(
        "{}: [build-system] requires is missing (PEP 518 makes it mandatory): list the backend's requirements, e.g. requires = [\"setuptools\"]",
        path.display()
    )]
    NoRequires { path: PathBuf },
    #[error(
        "{}: [build-system] requires: {requirement:?} is not a PEP 508 requirement: {message}",
        path.display()
    )]
    Requirement {
        path: PathBuf,
        requirement: String,
        message: String,
    },
    #[error(
        "{}: [build-system] build-backend is missing and there is no setup.py",
        path.display()
    )]
    NoBackend { path: PathBuf },
    #[error(
        "{}: [build-system] build-backend = {found}: expected \"module.path\" or \"module.path:object\"",
        path.display()
    )]
    Backend { path: PathBuf, found: String },
    #[error(
        "{}: [build-system] backend-path {entry:?} must be a relative path inside the project (PEP 517)",
        path.display()
    )]
    BackendPath { path: PathBuf, entry: String },
}

impl BuildSystemError {
    /// Where the error is, for a `--json` error object: the file (or the
    /// directory), and the field of `[build-system]` where one is wrong.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use BuildSystemError as E;
        let at =
            |path: &Path, field: Option<String>| Some((Some(path.display().to_string()), field));
        let field = |path: &Path, field: &str| at(path, Some(format!("build-system{field}")));
        match self {
            E::NotAProject { dir } => at(dir, None),
            E::NoPyproject { path } | E::Toml { path, .. } => at(path, None),
            E::NotATable { path } => field(path, ""),
            E::NotAList { path, field: f, .. } | E::NotAString { path, field: f, .. } => {
                field(path, &format!(".{f}"))
            }
            E::NoRequires { path } | E::Requirement { path, .. } => field(path, ".requires"),
            E::NoBackend { path } | E::Backend { path, .. } => field(path, ".build-backend"),
            E::BackendPath { path, .. } => field(path, ".backend-path"),
        }
    }
}

/// The table's shape, checked by [`PyProject::parse`](crate::PyProject)
/// together with the rest of the file (native mode reads only the backend).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Table {
    #[serde(default)]
    #[allow(dead_code)] // Shape only: backend mode reads it through `BuildSystem`.
    pub requires: Vec<String>,
    pub build_backend: Option<String>,
    #[allow(dead_code)] // Shape only, as `requires`.
    pub backend_path: Option<Vec<String>>,
}

/// What backend mode builds with: the requirements of the build
/// environment, the backend object and where it may be imported from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    pub backend: String,
    pub backend_path: Vec<String>,
}

fn parse_table(path: &Path, text: &str) -> Result<toml::Table, BuildSystemError> {
    toml::from_str(text).map_err(|e| BuildSystemError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `build-system.build-backend` of the `pyproject.toml` at `path`, when it
/// is a string: what a project's default build mode is decided by.
/// `text` is `None` when the file does not exist; a project with only a
/// `setup.py` then declares nothing, and without one it is not a project.
pub fn declared_backend(
    path: &Path,
    text: Option<&str>,
    has_setup_py: bool,
) -> Result<Option<String>, BuildSystemError> {
    let Some(text) = text else {
        if has_setup_py {
            return Ok(None);
        }
        return Err(BuildSystemError::NoPyproject {
            path: path.to_path_buf(),
        });
    };
    let table = parse_table(path, text)?;
    Ok(table
        .get("build-system")
        .and_then(|b| b.get("build-backend"))
        .and_then(|b| b.as_str())
        .map(str::to_string))
}

impl BuildSystem {
    /// setuptools' `__legacy__` backend, which pip assumes for a project
    /// that declares none.
    pub fn legacy() -> Self {
        Self {
            requires: vec![LEGACY_REQUIRES.to_string()],
            backend: LEGACY_BACKEND.to_string(),
            backend_path: vec![],
        }
    }

    /// The build system of the project in `dir`, whose `pyproject.toml`
    /// (at `dir/pyproject.toml`) holds `text`, or `None` when it has none.
    pub fn read(
        dir: &Path,
        text: Option<&str>,
        has_setup_py: bool,
    ) -> Result<Self, BuildSystemError> {
        let path = dir.join("pyproject.toml");
        let Some(text) = text else {
            if has_setup_py {
                return Ok(Self::legacy());
            }
            return Err(BuildSystemError::NotAProject {
                dir: dir.to_path_buf(),
            });
        };
        let table = parse_table(&path, text)?;
        let Some(bs) = table.get("build-system") else {
            // PEP 517: no [build-system] means setuptools' legacy backend.
            return Ok(Self::legacy());
        };
        let Some(bs) = bs.as_table() else {
            return Err(BuildSystemError::NotATable { path });
        };
        let strings = |field: &'static str| -> Result<Option<Vec<String>>, BuildSystemError> {
            let Some(value) = bs.get(field) else {
                return Ok(None);
            };
            let Some(list) = value.as_array() else {
                return Err(BuildSystemError::NotAList {
                    path: path.clone(),
                    field,
                    found: value.to_string(),
                });
            };
            list.iter()
                .map(|v| match v.as_str() {
                    Some(s) => Ok(s.to_string()),
                    None => Err(BuildSystemError::NotAString {
                        path: path.clone(),
                        field,
                        found: v.to_string(),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let Some(requires) = strings("requires")? else {
            return Err(BuildSystemError::NoRequires { path });
        };
        for r in &requires {
            if let Err(e) = r.parse::<pep508_rs::Requirement>() {
                return Err(BuildSystemError::Requirement {
                    path,
                    requirement: r.clone(),
                    message: e.to_string(),
                });
            }
        }
        let backend = match bs.get("build-backend") {
            None => {
                if !requires.is_empty() || has_setup_py {
                    LEGACY_BACKEND.to_string()
                } else {
                    return Err(BuildSystemError::NoBackend { path });
                }
            }
            Some(toml::Value::String(s)) if valid_backend(s) => s.clone(),
            Some(other) => {
                return Err(BuildSystemError::Backend {
                    path,
                    found: other.to_string(),
                });
            }
        };
        let backend_path = strings("backend-path")?.unwrap_or_default();
        for p in &backend_path {
            let entry = Path::new(p);
            if entry.is_absolute()
                || entry
                    .components()
                    .any(|c| matches!(c, Component::ParentDir))
            {
                return Err(BuildSystemError::BackendPath {
                    path,
                    entry: p.clone(),
                });
            }
        }
        Ok(Self {
            requires,
            backend,
            backend_path,
        })
    }
}

/// `module.path` or `module.path:object`, each part dotted identifiers.
fn valid_backend(s: &str) -> bool {
    let (module, object) = match s.split_once(':') {
        Some((module, "")) => (module, "-"),
        Some(split) => split,
        None => (s, ""),
    };
    let ident = |part: &str| {
        !part.is_empty()
            && part.split('.').all(|seg| {
                !seg.is_empty()
                    && !seg.starts_with(|c: char| c.is_ascii_digit())
                    && seg.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    ident(module) && (object.is_empty() || ident(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names() {
        assert!(valid_backend("setuptools.build_meta:__legacy__"));
        assert!(valid_backend("hatchling.build"));
        assert!(!valid_backend("hatchling..build"));
        assert!(!valid_backend("a:"));
        assert!(!valid_backend("1abc"));
    }

    fn read(text: Option<&str>, setup_py: bool) -> Result<BuildSystem, String> {
        BuildSystem::read(Path::new("p"), text, setup_py).map_err(|e| e.to_string())
    }

    #[test]
    fn legacy_fallbacks() {
        assert_eq!(read(None, true), Ok(BuildSystem::legacy()));
        assert_eq!(read(Some("[project]\n"), false), Ok(BuildSystem::legacy()));
        let bs = read(Some("[build-system]\nrequires = [\"x\"]\n"), false).unwrap();
        assert_eq!(bs.backend, LEGACY_BACKEND);
        assert_eq!(bs.requires, ["x"]);
        assert!(
            read(None, false)
                .unwrap_err()
                .contains("neither pyproject.toml")
        );
    }

    #[test]
    fn broken_tables_name_the_field() {
        for (text, field) in [
            ("build-system = 1\n", "[build-system] must be a table"),
            (
                "[build-system]\nrequires = \"s\"\n",
                "requires must be a list",
            ),
            ("[build-system]\nrequires = [1]\n", "found the item 1"),
            (
                "[build-system]\nbuild-backend = \"x\"\n",
                "requires is missing",
            ),
            ("[build-system]\nrequires = [\"!!\"]\n", "not a PEP 508"),
            (
                "[build-system]\nrequires = []\n",
                "build-backend is missing",
            ),
            (
                "[build-system]\nrequires = []\nbuild-backend = 3\n",
                "build-backend = 3",
            ),
            (
                "[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"../x\"]\n",
                "backend-path \"../x\"",
            ),
        ] {
            let err = read(Some(text), false).unwrap_err();
            assert!(err.starts_with("p/pyproject.toml: "), "{err}");
            assert!(err.contains(field), "{text:?}: {err}");
        }
    }

    #[test]
    fn declared_backend_is_lenient() {
        let p = Path::new("p/pyproject.toml");
        let backend = |text| declared_backend(p, Some(text), false).unwrap();
        assert_eq!(
            backend("[build-system]\nbuild-backend = \"uv_build\"\n").as_deref(),
            Some("uv_build")
        );
        assert_eq!(backend("build-system = 1\n"), None);
        assert_eq!(declared_backend(p, None, true).unwrap(), None);
        assert!(declared_backend(p, None, false).is_err());
        assert!(declared_backend(p, Some("= ="), true).is_err());
    }

    #[test]
    fn a_build_system_error_is_at_its_file_and_field() {
        let err = BuildSystemError::NotAList {
            path: "p/pyproject.toml".into(),
            field: "requires",
            found: "1".into(),
        };
        assert_eq!(
            err.location(),
            Some((
                Some("p/pyproject.toml".into()),
                Some("build-system.requires".into())
            ))
        );
    }
}
