//! The two closed sets of words kiln's files and reports share: how a
//! project is built (`native` or `backend`) and what an artifact is
//! (`sdist` or `wheel`). Each is one type with one spelling, so
//! release.toml, the `.distinfo` record, `--mode`, the provenance and every
//! `--json` report read and write the same strings, and a value outside the
//! set is refused where it is read instead of being treated as the other.

use crate::NameError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `Display` and `FromStr` of a closed set of words from its `ALL` and
/// `as_str`: one spelling each way; another word is the `NameError`
/// variant given.
macro_rules! words {
    ($ty:ident, $unknown:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = NameError;

            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::ALL
                    .into_iter()
                    .find(|w| w.as_str() == s)
                    .ok_or_else(|| NameError::$unknown(s.to_string()))
            }
        }
    };
}

/// How kiln builds a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum BuildMode {
    /// kiln packs the project itself (uv_build projects).
    Native,
    /// kiln runs the project's PEP 517 backend from its hash lock.
    Backend,
}

impl BuildMode {
    /// Every mode, in the order `--help` lists them.
    pub const ALL: [Self; 2] = [Self::Native, Self::Backend];

    /// `native` or `backend`: the spelling of release.toml, the record and
    /// the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Backend => "backend",
        }
    }
}

words!(BuildMode, UnknownBuildMode);

/// What a distribution file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A `.tar.gz` source distribution.
    Sdist,
    /// A `.whl` wheel.
    Wheel,
}

impl ArtifactKind {
    pub const ALL: [Self; 2] = [Self::Sdist, Self::Wheel];

    /// `sdist` or `wheel`: the spelling of the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sdist => "sdist",
            Self::Wheel => "wheel",
        }
    }

    /// The file name ending of this kind: `.tar.gz` or `.whl`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Sdist => ".tar.gz",
            Self::Wheel => ".whl",
        }
    }

    /// The kind a file name says (by its ending), if it is one kiln reads.
    pub fn from_file_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| name.ends_with(k.extension()))
    }
}

words!(ArtifactKind, UnknownArtifactKind);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn modes_round_trip_through_every_spelling() {
        for mode in BuildMode::ALL {
            assert_eq!(mode.as_str().parse::<BuildMode>(), Ok(mode));
            assert_eq!(mode.to_string(), mode.as_str());
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
        }
        let e = "Native".parse::<BuildMode>().unwrap_err().to_string();
        assert!(e.contains("\"Native\"") && e.contains("\"backend\""), "{e}");
    }

    #[test]
    fn kinds_round_trip_and_come_from_file_names() {
        for kind in ArtifactKind::ALL {
            assert_eq!(kind.as_str().parse::<ArtifactKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(
            ArtifactKind::from_file_name("a-1.0.tar.gz"),
            Some(ArtifactKind::Sdist)
        );
        assert_eq!(
            ArtifactKind::from_file_name("a-1.0-py3-none-any.whl"),
            Some(ArtifactKind::Wheel)
        );
        for other in ["a-1.0.zip", "a.tar", "whl", "a.gz"] {
            assert_eq!(ArtifactKind::from_file_name(other), None, "{other}");
        }
        assert!("egg".parse::<ArtifactKind>().is_err());
    }
}
