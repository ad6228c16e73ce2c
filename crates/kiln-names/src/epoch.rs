//! The epoch (`SOURCE_DATE_EPOCH`): the one timestamp every artifact carries.
//!
//! Resolution follows a fixed precedence (explicit flag, then the
//! environment variable, then the value recorded for a release being
//! verified, then the last commit time of the project's checkout, then
//! 1980-01-01). The caller gathers the candidates -- reading the environment
//! and git are edges that belong to xtask -- and this module only decides.
//! Values before 1980 are clamped because a zip entry cannot store an earlier
//! time.

use std::fmt;

/// Seconds since the Unix epoch, never before 1980-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(u64);

impl Epoch {
    /// 1980-01-01T00:00:00Z, the earliest time a zip (DOS) timestamp holds.
    pub const MIN: Epoch = Epoch(315_532_800);

    /// An epoch from seconds, clamped to [`Epoch::MIN`].
    pub fn clamped(seconds: i64) -> Self {
        if seconds < Self::MIN.0 as i64 {
            Self::MIN
        } else {
            Epoch(seconds as u64)
        }
    }

    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where the epoch came from; recorded next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochSource {
    Flag,
    Environment,
    Record,
    GitCommit,
    /// A fixed value from the project's release configuration.
    Config,
    Default,
}

impl EpochSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EpochSource::Flag => "flag",
            EpochSource::Environment => "SOURCE_DATE_EPOCH",
            EpochSource::Record => "record",
            EpochSource::GitCommit => "git-commit",
            EpochSource::Config => "release.toml",
            EpochSource::Default => "default-1980",
        }
    }
}

/// The epoch chosen, where it came from, and whether it had to be clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedEpoch {
    pub epoch: Epoch,
    pub source: EpochSource,
    pub clamped: bool,
}

impl ResolvedEpoch {
    /// Pick the first candidate present, in the SPEC's precedence order.
    /// `project` is the project's own default: the last git commit time, or
    /// a fixed value its configuration gives (`EpochSource::Config`).
    pub fn resolve(
        flag: Option<i64>,
        environment: Option<i64>,
        record: Option<i64>,
        project: Option<(i64, EpochSource)>,
    ) -> Self {
        let candidates = [
            (flag, EpochSource::Flag),
            (environment, EpochSource::Environment),
            (record, EpochSource::Record),
            (
                project.map(|p| p.0),
                project.map_or(EpochSource::GitCommit, |p| p.1),
            ),
        ];
        for (value, source) in candidates {
            if let Some(seconds) = value {
                let epoch = Epoch::clamped(seconds);
                return Self {
                    epoch,
                    source,
                    clamped: epoch.seconds() as i64 != seconds,
                };
            }
        }
        Self {
            epoch: Epoch::MIN,
            source: EpochSource::Default,
            clamped: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let r = ResolvedEpoch::resolve(
            Some(400_000_000),
            Some(500_000_000),
            None,
            Some((1, EpochSource::GitCommit)),
        );
        assert_eq!(
            (r.epoch.seconds(), r.source),
            (400_000_000, EpochSource::Flag)
        );
        let r = ResolvedEpoch::resolve(
            None,
            Some(500_000_000),
            Some(2),
            Some((1, EpochSource::GitCommit)),
        );
        assert_eq!(r.source, EpochSource::Environment);
        let r = ResolvedEpoch::resolve(
            None,
            None,
            Some(600_000_000),
            Some((1, EpochSource::GitCommit)),
        );
        assert_eq!(r.source, EpochSource::Record);
        let r = ResolvedEpoch::resolve(
            None,
            None,
            None,
            Some((700_000_000, EpochSource::GitCommit)),
        );
        assert_eq!(r.source, EpochSource::GitCommit);
        let r = ResolvedEpoch::resolve(None, None, None, Some((700_000_000, EpochSource::Config)));
        assert_eq!(r.source, EpochSource::Config);
        let r = ResolvedEpoch::resolve(None, None, None, None);
        assert_eq!((r.epoch, r.source), (Epoch::MIN, EpochSource::Default));
    }

    #[test]
    fn clamps_before_1980() {
        let r = ResolvedEpoch::resolve(Some(0), None, None, None);
        assert_eq!(r.epoch, Epoch::MIN);
        assert!(r.clamped);
        let r = ResolvedEpoch::resolve(Some(-5), None, None, None);
        assert_eq!(r.epoch, Epoch::MIN);
        let r = ResolvedEpoch::resolve(Some(315_532_800), None, None, None);
        assert!(!r.clamped);
    }
}
