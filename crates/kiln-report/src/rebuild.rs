//! `cargo xtask rebuild --json`: each release rebuilt with what its
//! publisher used (inferred, each inference with its evidence, or
//! overridden), every published copy compared with the rebuilt artifact of
//! the same name, and the totals of a census (`--list`).

use std::path::PathBuf;

use kiln_diff::{DiffReport, Level};
use schemars::JsonSchema;
use serde::Serialize;

use crate::Version;

/// The whole rebuild: one release, or every release of a `--list`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildReport {
    pub schema: Version,
    /// Every published copy compared was byte-identical, and nothing failed.
    pub identical: bool,
    pub releases: Vec<RebuiltRelease>,
    pub totals: RebuildTotals,
}

/// One release: where it came from, what was inferred, what was built and
/// how each published copy compares.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuiltRelease {
    /// The SOURCE as given (an sdist file or URL, a directory, a repository).
    pub source: String,
    pub status: ReleaseStatus,
    /// The backend the lock pins: inferred, or from `--constraints`.
    pub backend: Option<Inference>,
    /// The epoch the backend saw (`"unset"`: no SOURCE_DATE_EPOCH).
    pub epoch: Option<Inference>,
    /// The lock the build installed from.
    pub lock: Option<PathBuf>,
    pub artifacts: Vec<RebuiltArtifact>,
    /// Published copies of the release that no rebuilt artifact is named
    /// like (another Python or platform's wheel): not compared.
    pub not_rebuilt: Vec<String>,
    /// Why the release could not be rebuilt (status `failed`).
    pub failure: Option<RebuildFailure>,
}

/// A release's answer, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseStatus {
    /// Every published copy is byte-identical to the rebuild.
    ByteIdentical,
    /// Same content; some container differs.
    ContainerOnly,
    /// Some published copy's content differs.
    ContentDiffers,
    /// Built, but no published copy of a rebuilt artifact was found.
    NotCompared,
    /// The rebuild failed.
    Failed,
}

/// What kiln used and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inference {
    /// `hatchling==1.32.0`, `1793946343`, `unset`.
    pub value: String,
    /// `inferred` from the published files, `given` on the command line,
    /// or `default` when nothing was published to infer from.
    pub how: String,
    pub evidence: String,
}

impl Inference {
    /// `value` as given on the command line by `flag`.
    pub fn given(value: &str, flag: &str) -> Self {
        Self {
            value: value.to_string(),
            how: "given".into(),
            evidence: flag.to_string(),
        }
    }

    /// `value` inferred from the published files, as `evidence` says.
    pub fn inferred(value: &str, evidence: &str) -> Self {
        Self {
            value: value.to_string(),
            how: "inferred".into(),
            evidence: evidence.to_string(),
        }
    }
}

/// One rebuilt artifact and the published copies of the same name.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuiltArtifact {
    pub filename: String,
    pub sha256: String,
    /// Where it was written (`--out`), if anywhere.
    pub path: Option<PathBuf>,
    pub comparisons: Vec<RebuildComparison>,
}

/// One published copy against the rebuild: digests first; parsed only
/// when they differ.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildComparison {
    /// The published copy (path or URL).
    pub published: String,
    pub level: Level,
    /// The diff, when the bytes differ.
    pub diff: Option<Box<DiffReport>>,
}

/// Why a release could not be rebuilt.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildFailure {
    /// `input` (SOURCE or a published file unreadable), `lock` (the build
    /// requirements do not resolve), `build` (the backend failed),
    /// `not-reproducible` (a platform wheel built twice differs).
    pub class: String,
    pub message: String,
}

/// How many releases gave each answer.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildTotals {
    pub releases: usize,
    pub byte_identical: usize,
    pub container_only: usize,
    pub content_differs: usize,
    pub not_compared: usize,
    pub failed: usize,
    /// Failures by class.
    pub failed_by_class: std::collections::BTreeMap<String, usize>,
}

impl ReleaseStatus {
    /// A built release's answer: the worst among its comparisons
    /// (`NotCompared` when nothing published was compared).
    pub fn of(artifacts: &[RebuiltArtifact]) -> Self {
        let levels: Vec<Level> = artifacts
            .iter()
            .flat_map(|a| a.comparisons.iter().map(|c| c.level))
            .collect();
        if levels.is_empty() {
            Self::NotCompared
        } else if levels.contains(&Level::DifferentContent) {
            Self::ContentDiffers
        } else if levels.contains(&Level::SameContent) {
            Self::ContainerOnly
        } else {
            Self::ByteIdentical
        }
    }
}

impl RebuildTotals {
    /// Whether the census passes: nothing failed and no published copy
    /// differs from its rebuild.
    pub fn identical(&self) -> bool {
        self.failed == 0 && self.container_only == 0 && self.content_differs == 0
    }

    /// How many releases are not byte-identical (nor left uncompared).
    pub fn not_identical(&self) -> usize {
        self.releases - self.byte_identical - self.not_compared
    }

    /// The totals of `releases`.
    pub fn of(releases: &[RebuiltRelease]) -> Self {
        let mut t = Self {
            releases: releases.len(),
            ..Self::default()
        };
        for r in releases {
            match r.status {
                ReleaseStatus::ByteIdentical => t.byte_identical += 1,
                ReleaseStatus::ContainerOnly => t.container_only += 1,
                ReleaseStatus::ContentDiffers => t.content_differs += 1,
                ReleaseStatus::NotCompared => t.not_compared += 1,
                ReleaseStatus::Failed => t.failed += 1,
            }
            if let Some(f) = &r.failure {
                *t.failed_by_class.entry(f.class.clone()).or_default() += 1;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(levels: &[Level]) -> RebuiltArtifact {
        RebuiltArtifact {
            filename: "a-1.0.tar.gz".into(),
            sha256: String::new(),
            path: None,
            comparisons: levels
                .iter()
                .map(|&level| RebuildComparison {
                    published: "p".into(),
                    level,
                    diff: None,
                })
                .collect(),
        }
    }

    fn release(status: ReleaseStatus, class: Option<&str>) -> RebuiltRelease {
        RebuiltRelease {
            source: "s".into(),
            status,
            backend: None,
            epoch: None,
            lock: None,
            artifacts: vec![],
            not_rebuilt: vec![],
            failure: class.map(|c| RebuildFailure {
                class: c.into(),
                message: String::new(),
            }),
        }
    }

    #[test]
    fn a_release_is_its_worst_comparison() {
        use Level::*;
        let of =
            |a: &[&[Level]]| ReleaseStatus::of(&a.iter().map(|l| artifact(l)).collect::<Vec<_>>());
        assert_eq!(of(&[]), ReleaseStatus::NotCompared);
        assert_eq!(of(&[&[], &[]]), ReleaseStatus::NotCompared);
        assert_eq!(of(&[&[Identical], &[]]), ReleaseStatus::ByteIdentical);
        assert_eq!(
            of(&[&[Identical, SameContent]]),
            ReleaseStatus::ContainerOnly
        );
        assert_eq!(
            of(&[&[DifferentContent], &[SameContent]]),
            ReleaseStatus::ContentDiffers
        );
    }

    #[test]
    fn inferences_say_how() {
        let g = Inference::given("c.txt", "--constraints");
        assert_eq!(
            (g.value.as_str(), g.how.as_str(), g.evidence.as_str()),
            ("c.txt", "given", "--constraints")
        );
        let i = Inference::inferred("hatchling==1.32.0", "a.whl: Generator: hatchling 1.32.0");
        assert_eq!(
            (i.how.as_str(), i.value.as_str()),
            ("inferred", "hatchling==1.32.0")
        );
    }

    #[test]
    fn totals_count_each_answer_and_failure_class() {
        let t = RebuildTotals::of(&[
            release(ReleaseStatus::ByteIdentical, None),
            release(ReleaseStatus::NotCompared, None),
        ]);
        assert!(t.identical());
        assert_eq!(t.not_identical(), 0);
        let t = RebuildTotals::of(&[
            release(ReleaseStatus::ByteIdentical, None),
            release(ReleaseStatus::ContainerOnly, None),
            release(ReleaseStatus::Failed, Some("lock")),
            release(ReleaseStatus::Failed, Some("lock")),
        ]);
        assert!(!t.identical());
        assert_eq!((t.releases, t.failed, t.not_identical()), (4, 2, 3));
        assert_eq!(t.failed_by_class["lock"], 2);
    }
}
