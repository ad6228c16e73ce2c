//! The errors of native packing: one enum, each variant naming the file or
//! setting it is about and saying how to fix it (xtask prints them, exit 2).

use std::path::PathBuf;

/// Everything that can stop a native build. Each variant names the file or
/// setting involved and says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error(
        "no pyproject.toml in {dir}: native mode builds projects that declare `build-backend = \"uv_build\"` in pyproject.toml"
    )]
    NoPyproject { dir: PathBuf },
    #[error(transparent)]
    Metadata(#[from] kiln_metadata::MetadataError),
    #[error(
        "{path}: `build-system.build-backend` is {backend}, not \"uv_build\"; native mode only builds uv_build projects, use `cargo xtask build --mode backend`"
    )]
    NotUvBuild { path: PathBuf, backend: String },
    #[error(
        "expected a Python package at {expected} (from `tool.uv.build-backend.module-root` = {module_root:?} and module name {module_name:?}); {problem}. Create it, or set `tool.uv.build-backend.module-name` / `module-root` in pyproject.toml to where the package is"
    )]
    MissingModule {
        expected: PathBuf,
        module_root: String,
        module_name: String,
        problem: &'static str,
    },
    #[error(
        "invalid module name {name:?} in `tool.uv.build-backend.module-name`: use a dotted Python identifier such as \"my_pkg\""
    )]
    InvalidModuleName { name: String },
    #[error(
        "invalid path {value:?} in `{field}`: {problem}; use a relative path inside the project"
    )]
    InvalidSettingPath {
        field: String,
        value: String,
        problem: &'static str,
    },
    #[error("invalid glob {glob:?} in `{field}`: {source}")]
    Glob {
        field: String,
        glob: String,
        #[source]
        source: globset::Error,
    },
    #[error("{path}: `{field}` glob {glob:?} matched no files; fix the pattern or remove it")]
    GlobNoMatch {
        path: PathBuf,
        field: String,
        glob: String,
    },
    #[error("license file {path} is not UTF-8; convert it to UTF-8 (PEP 639 requires it)")]
    LicenseNotUtf8 { path: PathBuf },
    #[error("failed to read {path}; check that it exists and is readable")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to walk {path}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
    #[error(
        "symlink {link} points outside the project (to {target}); replace it with a regular file or exclude it with `tool.uv.build-backend.source-exclude`"
    )]
    SymlinkOutside { link: PathBuf, target: PathBuf },
    #[error(
        "symlink {link} points to {target}, a directory it is already inside (a loop); remove the symlink or exclude it with `tool.uv.build-backend.source-exclude`"
    )]
    SymlinkLoop { link: PathBuf, target: PathBuf },
    #[error(
        "{path} is not a regular file, directory or symlink; remove it or exclude it with `tool.uv.build-backend.source-exclude`"
    )]
    UnsupportedFileType { path: PathBuf },
    /// A project file refused by kiln-fs (outside the project, not a
    /// regular file, over a cap, not UTF-8, changed while read).
    #[error(transparent)]
    ProjectFile(kiln_fs::project::ProjectFileError),
    #[error(
        "{path} is {size} bytes: a wheel member of 4 GiB or more needs zip64, which kiln does not write; make it smaller or keep it out of the wheel with `tool.uv.build-backend.wheel-exclude`"
    )]
    TooLargeForWheel { path: PathBuf, size: u64 },
    #[error("{path} is not valid UTF-8; rename it (archive member names must be UTF-8)")]
    NonUtf8Path { path: PathBuf },
    #[error(
        "{path} would be packed twice as {member} (e.g. a data directory overlapping the module); make the settings disjoint"
    )]
    Overlap { path: PathBuf, member: String },
    #[error("failed to write {artifact}")]
    Archive {
        artifact: String,
        #[source]
        source: kiln_archive::ArchiveError,
    },
    /// The other artifact of the same build failed first (never the
    /// error `build` returns).
    #[error("stopped: the other artifact of this build failed")]
    Cancelled,
    #[error("failed to write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl NativeError {
    /// A kiln-fs refusal as a native error: an I/O failure stays `Read`
    /// (naming the file), every other refusal keeps kiln-fs's message.
    pub(crate) fn from_fs(e: kiln_fs::project::ProjectFileError) -> Self {
        match e {
            kiln_fs::project::ProjectFileError::Io { path, source } => Self::Read { path, source },
            other => Self::ProjectFile(other),
        }
    }

    /// Where the error is, for a `--json` error object: the file, and the
    /// setting where one is named.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        use NativeError as E;
        let file = |path: &std::path::Path| Some((Some(path.display().to_string()), None));
        match self {
            // Transparent: their chain skips the inner error, so look inside.
            E::Metadata(inner) => inner.location(),
            E::ProjectFile(inner) => inner.location(),
            E::NoPyproject { dir } => file(dir),
            E::NotUvBuild { path, .. } => Some((
                Some(path.display().to_string()),
                Some("build-system.build-backend".into()),
            )),
            E::GlobNoMatch { path, field, .. } => {
                Some((Some(path.display().to_string()), Some(field.clone())))
            }
            E::InvalidSettingPath { field, .. } | E::Glob { field, .. } => {
                Some((None, Some(field.clone())))
            }
            E::MissingModule { expected, .. } => file(expected),
            E::LicenseNotUtf8 { path }
            | E::Read { path, .. }
            | E::Walk { path, .. }
            | E::UnsupportedFileType { path }
            | E::TooLargeForWheel { path, .. }
            | E::NonUtf8Path { path }
            | E::Overlap { path, .. }
            | E::Write { path, .. } => file(path),
            E::SymlinkOutside { link, .. } | E::SymlinkLoop { link, .. } => file(link),
            E::Archive { source, .. } => source.location(),
            E::InvalidModuleName { .. } | E::Cancelled => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_error_is_at_its_file_and_setting() {
        let err = NativeError::NotUvBuild {
            path: "p/pyproject.toml".into(),
            backend: "hatchling.build".into(),
        };
        assert_eq!(
            err.location(),
            Some((
                Some("p/pyproject.toml".into()),
                Some("build-system.build-backend".into())
            ))
        );
        // A transparent wrapper is looked through.
        let err = NativeError::Metadata(kiln_metadata::MetadataError::Unsupported {
            path: "q/pyproject.toml".into(),
            field: "tool.uv.build-backend.x".into(),
        });
        assert_eq!(
            err.location().and_then(|(_, field)| field).as_deref(),
            Some("tool.uv.build-backend.x")
        );
    }
}
