//! `pyproject.toml` in, core metadata out.
//!
//! This crate parses the parts of a `pyproject.toml` that a static build
//! needs -- the PEP 621 `[project]` table, `[build-system]` and uv_build's
//! `[tool.uv.build-backend]` -- validates them with errors that name the file,
//! the field and the fix, and renders the files a distribution carries:
//! `PKG-INFO` / `METADATA`, `entry_points.txt`, `WHEEL`, and the TOML 1.0
//! rewrite of `pyproject.toml` that uv_build puts in its sdists.
//!
//! Rendering follows uv_build 0.13.6 byte for byte (field order, line
//! folding, requirement and marker normalization), because kiln's native mode
//! promises the same `METADATA` as uv_build for the same project. The crate
//! does no I/O: files the metadata embeds (the readme, a license file) are read
//! by the caller and passed in as [`MetadataInputs`].

mod build_backend;
mod build_system;
mod pyproject;
mod render;

pub use build_backend::{BuildBackendSettings, DataDirs, ModuleName};
pub use build_system::{
    BuildSystem, BuildSystemError, LEGACY_BACKEND, LEGACY_REQUIRES, declared_backend,
};
pub use pyproject::{Contact, License, PyProject, Readme};
pub use render::{MetadataInputs, wheel_file};

use std::path::PathBuf;

/// Everything that can be wrong with a `pyproject.toml`. Every variant names
/// the file, and the message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("{path}:{line}:{column}: invalid pyproject.toml: {message}")]
    Toml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: missing `{field}`: {fix}")]
    Missing {
        path: PathBuf,
        field: &'static str,
        fix: &'static str,
    },
    #[error("{path}: invalid `{field}`: {problem}; {fix}")]
    Field {
        path: PathBuf,
        field: String,
        problem: String,
        fix: String,
    },
    #[error(
        "{path}: `{field}` entry {requirement:?} is not a valid PEP 508 dependency: {message}; write it as e.g. \"requests>=2.31\" or \"tomli; python_version < '3.11'\""
    )]
    Dependency {
        path: PathBuf,
        field: String,
        requirement: String,
        message: String,
    },
    #[error(
        "{path}: `project.dynamic` lists {fields:?}, but native mode packs static metadata only; set those fields in [project] and remove `dynamic`, or build with `cargo xtask build --mode backend`"
    )]
    Dynamic { path: PathBuf, fields: Vec<String> },
    #[error(
        "{path}: `{field}` is not supported in native mode; remove it, or build with `cargo xtask build --mode backend`"
    )]
    Unsupported { path: PathBuf, field: String },
    #[error("{path}: failed to rewrite pyproject.toml as TOML 1.0 for the sdist: {message}")]
    Rewrite { path: PathBuf, message: String },
}

impl MetadataError {
    /// Where the error is, for a `--json` error object: the file, and the
    /// field where one is named.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        let at = |path: &std::path::Path, field: Option<String>| {
            Some((Some(path.display().to_string()), field))
        };
        match self {
            Self::Toml { path, .. } | Self::Rewrite { path, .. } => at(path, None),
            Self::Missing { path, field, .. } => at(path, Some((*field).to_owned())),
            Self::Field { path, field, .. }
            | Self::Dependency { path, field, .. }
            | Self::Unsupported { path, field } => at(path, Some(field.clone())),
            // `project.dynamic` lists the fields; the first one is where to look.
            Self::Dynamic { path, .. } => at(path, Some("project.dynamic".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metadata_error_is_at_its_file_and_field() {
        let err = MetadataError::Dynamic {
            path: "p/pyproject.toml".into(),
            fields: vec!["version".into()],
        };
        assert_eq!(
            err.location(),
            Some((
                Some("p/pyproject.toml".into()),
                Some("project.dynamic".into())
            ))
        );
    }
}
