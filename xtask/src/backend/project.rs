//! What a project declares about its build: `[build-system]` of its
//! `pyproject.toml` (requires, build-backend, backend-path), or, for a
//! legacy project with only a `setup.py`, what pip assumes for it
//! (setuptools' `__legacy__` backend). A broken table is bad input (exit 2)
//! naming the field, never a guess.

use anyhow::{Result, bail};
use std::path::Path;

/// PEP 517's fallback for projects without `[build-system]` (as pip does).
pub const LEGACY_REQUIRES: &str = "setuptools>=40.8.0";
pub const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    pub backend: String,
    pub backend_path: Vec<String>,
}

impl BuildSystem {
    pub fn read(dir: &Path) -> Result<Self> {
        let pyproject = dir.join("pyproject.toml");
        let text = crate::build::read_pyproject(dir)?;
        let legacy = || Self {
            requires: vec![LEGACY_REQUIRES.to_string()],
            backend: LEGACY_BACKEND.to_string(),
            backend_path: vec![],
        };
        let Some(text) = text else {
            if dir.join("setup.py").is_file() {
                return Ok(legacy());
            }
            bail!(
                "{}: neither pyproject.toml nor setup.py found: this is not a Python project directory; check the path",
                dir.display()
            );
        };
        let file = pyproject.display().to_string();
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{file}: invalid TOML: {e}"))?;
        let Some(bs) = table.get("build-system") else {
            // PEP 517: no [build-system] means setuptools' legacy backend.
            return Ok(legacy());
        };
        let Some(bs) = bs.as_table() else {
            bail!("{file}: [build-system] must be a table");
        };
        let strings = |field: &str| -> Result<Option<Vec<String>>> {
            let Some(value) = bs.get(field) else {
                return Ok(None);
            };
            let Some(list) = value.as_array() else {
                bail!("{file}: [build-system] {field} must be a list of strings, found {value}");
            };
            list.iter()
                .map(|v| match v.as_str() {
                    Some(s) => Ok(s.to_string()),
                    None => bail!(
                        "{file}: [build-system] {field} must be a list of strings, found the item {v}"
                    ),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        };
        let Some(requires) = strings("requires")? else {
            bail!(
                "{file}: [build-system] requires is missing (PEP 518 makes it mandatory): list the backend's requirements, e.g. requires = [\"setuptools\"]"
            );
        };
        for r in &requires {
            if let Err(e) = r.parse::<pep508_rs::Requirement>() {
                bail!("{file}: [build-system] requires: {r:?} is not a PEP 508 requirement: {e}");
            }
        }
        let backend = match bs.get("build-backend") {
            None => {
                if !requires.is_empty() || dir.join("setup.py").is_file() {
                    LEGACY_BACKEND.to_string()
                } else {
                    bail!(
                        "{file}: [build-system] build-backend is missing and there is no setup.py"
                    );
                }
            }
            Some(toml::Value::String(s)) if valid_backend(s) => s.clone(),
            Some(other) => bail!(
                "{file}: [build-system] build-backend = {other}: expected \"module.path\" or \"module.path:object\""
            ),
        };
        let backend_path = strings("backend-path")?.unwrap_or_default();
        for p in &backend_path {
            let path = Path::new(p);
            if path.is_absolute()
                || path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                bail!(
                    "{file}: [build-system] backend-path {p:?} must be a relative path inside the project (PEP 517)"
                );
            }
        }
        Ok(Self {
            requires,
            backend,
            backend_path,
        })
    }
}

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
}
