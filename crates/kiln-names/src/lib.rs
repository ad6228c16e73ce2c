//! The vocabulary every other kiln crate speaks: project names, versions,
//! the file names of sdists and wheels, the epoch, and the build modes and
//! artifact kinds; `filename` reads a published file name back.
//!
//! This crate is at the bottom of the dependency graph on purpose: it does no
//! I/O at all, so the rules it encodes (PEP 503 normalization, PEP 625 sdist
//! names, the wheel file name convention, the epoch clamp) can be tested alone
//! and are applied identically by the packers, the verifiers and xtask.

mod epoch;
mod filename;
mod kinds;

pub use epoch::{Epoch, EpochSource, ResolvedEpoch};
pub use filename::{filename_release, filename_version, likely_filenames, normalize, url_filename};
pub use kinds::{ArtifactKind, BuildMode};
pub use pep440_rs::Version;

use std::fmt;
use std::str::FromStr;

/// Errors in names and versions. Each says what was wrong and how to fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "invalid project name {0:?}: a name must start and end with a letter or digit and contain only ASCII letters, digits, '.', '-' and '_' (PEP 508)"
    )]
    InvalidName(String),
    #[error("invalid version {version:?}: {reason} (versions follow PEP 440, e.g. \"1.2.3\")")]
    InvalidVersion { version: String, reason: String },
    #[error(
        "invalid wheel build tag {0:?}: it must start with a digit and contain only ASCII letters, digits and '.'"
    )]
    InvalidBuildTag(String),
    #[error("unknown build mode {0:?}: use \"native\" or \"backend\"")]
    UnknownBuildMode(String),
    #[error("unknown artifact kind {0:?}: use \"sdist\" or \"wheel\"")]
    UnknownArtifactKind(String),
}

/// A validated project name (PEP 508), remembering how it was spelled.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName {
    original: String,
    normalized: String,
}

impl ProjectName {
    /// Validate a name as PEP 508 defines it:
    /// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$` (case-insensitive).
    pub fn new(name: &str) -> Result<Self, NameError> {
        let bytes = name.as_bytes();
        let ok_inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
        let valid = !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes.iter().all(ok_inner);
        if !valid {
            return Err(NameError::InvalidName(name.to_string()));
        }
        Ok(Self {
            original: name.to_string(),
            normalized: normalize(name),
        })
    }

    /// The name as the project spells it (used in `Name:` of core metadata).
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// PEP 503 normalized: lowercase, runs of `-_.` replaced by one `-`.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The normalized name with `-` replaced by `_`: the form used in sdist
    /// and wheel file names (PEP 625, PEP 427) and in `.dist-info` directories.
    pub fn escaped(&self) -> String {
        self.normalized.replace('-', "_")
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Parse a PEP 440 version; the error says how to fix it.
pub fn parse_version(version: &str) -> Result<Version, NameError> {
    Version::from_str(version).map_err(|e| NameError::InvalidVersion {
        version: version.to_string(),
        reason: e.to_string(),
    })
}

/// `{name}-{version}`: the sdist's top directory and file stem (PEP 625),
/// with the name escaped and the version normalized.
pub fn sdist_stem(name: &ProjectName, version: &Version) -> String {
    format!("{}-{}", name.escaped(), version)
}

/// `{name}-{version}.tar.gz` (PEP 625).
pub fn sdist_filename(name: &ProjectName, version: &Version) -> String {
    format!("{}.tar.gz", sdist_stem(name, version))
}

/// `{name}-{version}.dist-info`.
pub fn dist_info_dir(name: &ProjectName, version: &Version) -> String {
    format!("{}-{}.dist-info", name.escaped(), version)
}

/// `{name}-{version}.data`.
pub fn data_dir(name: &ProjectName, version: &Version) -> String {
    format!("{}-{}.data", name.escaped(), version)
}

/// The compatibility tags of a wheel, e.g. `py3-none-any`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelTags {
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl WheelTags {
    /// The tags of a pure-Python wheel for Python 3.
    pub fn py3_none_any() -> Self {
        Self {
            python: "py3".into(),
            abi: "none".into(),
            platform: "any".into(),
        }
    }
}

impl fmt::Display for WheelTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// `{name}-{version}(-{build})?-{tags}.whl` (PEP 427 / the binary
/// distribution format specification).
pub fn wheel_filename(
    name: &ProjectName,
    version: &Version,
    build: Option<&str>,
    tags: &WheelTags,
) -> Result<String, NameError> {
    let build = match build {
        None => String::new(),
        Some(b) => {
            let valid = b.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.');
            if !valid {
                return Err(NameError::InvalidBuildTag(b.to_string()));
            }
            format!("-{b}")
        }
    };
    Ok(format!(
        "{}-{}{}-{}.whl",
        name.escaped(),
        version,
        build,
        tags
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_pep_503() {
        let n = ProjectName::new("Friendly.Bard__Tools").unwrap();
        assert_eq!(n.normalized(), "friendly-bard-tools");
        assert_eq!(n.escaped(), "friendly_bard_tools");
        assert_eq!(n.as_str(), "Friendly.Bard__Tools");
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in ["", "-abc", "abc-", "a b", "café", "a/b", "."] {
            assert!(ProjectName::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ProjectName::new("a").is_ok());
    }

    #[test]
    fn filenames() {
        let n = ProjectName::new("My.Pkg").unwrap();
        let v = parse_version("1.0.0-RC1").unwrap();
        assert_eq!(sdist_filename(&n, &v), "my_pkg-1.0.0rc1.tar.gz");
        assert_eq!(
            wheel_filename(&n, &v, None, &WheelTags::py3_none_any()).unwrap(),
            "my_pkg-1.0.0rc1-py3-none-any.whl"
        );
        assert_eq!(
            wheel_filename(&n, &v, Some("1kiln"), &WheelTags::py3_none_any()).unwrap(),
            "my_pkg-1.0.0rc1-1kiln-py3-none-any.whl"
        );
        assert!(wheel_filename(&n, &v, Some("x1"), &WheelTags::py3_none_any()).is_err());
        assert_eq!(dist_info_dir(&n, &v), "my_pkg-1.0.0rc1.dist-info");
    }

    #[test]
    fn invalid_version_says_pep_440() {
        let e = parse_version("1.0-banana").unwrap_err().to_string();
        assert!(e.contains("1.0-banana") && e.contains("PEP 440"), "{e}");
    }
}
