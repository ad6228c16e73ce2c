//! The epoch a release was built with, from its containers' timestamps.
//!
//! A backend run with SOURCE_DATE_EPOCH dates every member with it (a zip
//! stores it to two seconds, as local time: publishers build in UTC); run
//! without it, a backend shows its own default -- hatchling 2020-02-02,
//! flit_core and poetry-core 2016-01-01 in the wheel, poetry-core 0 in the
//! sdist -- or the files' modification times. So: one timestamp everywhere
//! is an epoch (the sdist's gzip header or tar mtimes give the exact second
//! the zip rounded down); a backend's default, or timestamps that vary, is
//! "unset", and a faithful rebuild leaves SOURCE_DATE_EPOCH unset too.

use crate::InferError;
use kiln_archive::{Limits, TarKind, ZipKind, read_zip, visit_tar_gz};
use kiln_names::Epoch;
use std::collections::BTreeSet;

/// hatchling's date without SOURCE_DATE_EPOCH: 2020-02-02 00:00:00 UTC.
const HATCHLING_DEFAULT: u64 = 1_580_601_600;
/// flit_core's and poetry-core's zip date without it: 2016-01-01.
const ZIP_2016: u64 = 1_451_606_400;

/// The timestamps of a published wheel's members (seconds, the zip's DOS
/// date and time read as UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelTimes {
    pub name: String,
    pub times: BTreeSet<u64>,
}

/// The timestamps of a published sdist: its gzip header's mtime and its
/// members' (whole seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistTimes {
    pub name: String,
    pub gzip_mtime: u64,
    pub times: BTreeSet<u64>,
}

/// The epoch: a value, or that the publisher set none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochValue {
    Fixed(u64),
    Unset,
}

/// An inferred epoch and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochInference {
    pub value: EpochValue,
    pub evidence: String,
}

/// Seconds since 1970 of a zip's DOS date and time, read as UTC.
pub fn dos_to_unix(date: u16, time: u16) -> u64 {
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0xf).clamp(1, 12);
    let day = i64::from(date & 0x1f).max(1);
    let secs = i64::from(time >> 11) * 3600
        + i64::from((time >> 5) & 0x3f) * 60
        + i64::from(time & 0x1f) * 2;
    // Days from civil (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + secs).unwrap_or(0)
}

fn archive_error(name: &str) -> impl FnOnce(kiln_archive::ArchiveError) -> InferError + '_ {
    move |source| InferError::Archive {
        name: name.to_string(),
        source: Box::new(source),
    }
}

/// The member timestamps of a published wheel.
pub fn wheel_times(name: &str, wheel: &[u8], limits: &Limits) -> Result<WheelTimes, InferError> {
    let zip = read_zip(name, wheel, limits).map_err(archive_error(name))?;
    let times = zip
        .members
        .iter()
        .filter(|m| m.kind == ZipKind::File)
        .map(|m| dos_to_unix(m.dos_date, m.dos_time))
        .collect();
    Ok(WheelTimes {
        name: name.to_string(),
        times,
    })
}

/// The gzip header and member timestamps of a published sdist, streamed
/// (no member's data is kept).
pub fn sdist_times(
    name: &str,
    sdist: impl std::io::Read,
    limits: &Limits,
) -> Result<SdistTimes, InferError> {
    let tgz = visit_tar_gz(name, sdist, limits, &mut |_, _| Ok(())).map_err(archive_error(name))?;
    let times = tgz
        .members
        .iter()
        .filter(|m| m.kind == TarKind::File)
        .map(|m| m.mtime)
        .collect();
    Ok(SdistTimes {
        name: name.to_string(),
        gzip_mtime: u64::from(tgz.gzip.mtime),
        times,
    })
}

/// The backend's own dates without SOURCE_DATE_EPOCH (`distribution` as
/// [`crate::BackendInference`] names it; any known default when unknown).
fn defaults(distribution: Option<&str>) -> &'static [u64] {
    match distribution {
        Some("hatchling") => &[HATCHLING_DEFAULT],
        Some("flit_core") => &[ZIP_2016],
        Some("poetry-core") => &[ZIP_2016, 0],
        Some(_) => &[],
        None => &[HATCHLING_DEFAULT, ZIP_2016, 0],
    }
}

fn show(times: &BTreeSet<u64>) -> String {
    let mut shown: Vec<String> = times.iter().take(3).map(u64::to_string).collect();
    if times.len() > 3 {
        shown.push(format!("and {} more", times.len() - 3));
    }
    shown.join(", ")
}

/// The epoch the publisher built with, from the wheel's timestamps
/// (preferred: it is what a rebuild from the sdist makes) and the sdist's;
/// `None` when neither was given or neither holds a file.
pub fn infer_epoch(
    wheel: Option<&WheelTimes>,
    sdist: Option<&SdistTimes>,
    backend: Option<&str>,
) -> Option<EpochInference> {
    let defaults = defaults(backend);
    let backend_name = backend.unwrap_or("the backend");
    if let Some(w) = wheel.filter(|w| !w.times.is_empty()) {
        let others: BTreeSet<u64> = w
            .times
            .iter()
            .copied()
            .filter(|t| !defaults.contains(t))
            .collect();
        let evidence =
            |what: &str| format!("{}: member timestamps {}: {what}", w.name, show(&w.times));
        if others.is_empty() {
            return Some(EpochInference {
                value: EpochValue::Unset,
                evidence: evidence(&format!(
                    "{backend_name}'s own date without SOURCE_DATE_EPOCH"
                )),
            });
        }
        if others.len() > 1 || others.len() < w.times.len() {
            return Some(EpochInference {
                value: EpochValue::Unset,
                evidence: evidence(
                    "the files' modification times, so SOURCE_DATE_EPOCH was not set",
                ),
            });
        }
        let t = others.first().copied().unwrap_or_default();
        // The zip stores even seconds: the sdist may hold the exact one.
        let exact = sdist.and_then(|s| {
            std::iter::once(s.gzip_mtime)
                .chain(s.times.iter().copied())
                .find(|x| *x == t || *x == t + 1)
        });
        return Some(EpochInference {
            value: EpochValue::Fixed(exact.unwrap_or(t)),
            evidence: match (exact, sdist) {
                (Some(x), Some(s)) => format!(
                    "{}: every member dated {t}; {} gives the exact second {x}",
                    w.name, s.name
                ),
                _ => format!("{}: every member dated {t}", w.name),
            },
        });
    }
    let s = sdist.filter(|s| !s.times.is_empty())?;
    let all: BTreeSet<u64> = s.times.iter().copied().chain([s.gzip_mtime]).collect();
    let evidence = |what: &str| {
        format!(
            "{}: gzip mtime {}, member mtimes {}: {what}",
            s.name,
            s.gzip_mtime,
            show(&s.times)
        )
    };
    let others: BTreeSet<u64> = all
        .iter()
        .copied()
        .filter(|t| !defaults.contains(t) && *t != 0)
        .collect();
    Some(match others.len() {
        0 => EpochInference {
            value: EpochValue::Unset,
            evidence: evidence(&format!(
                "{backend_name}'s own date without SOURCE_DATE_EPOCH"
            )),
        },
        1 => {
            let t = others.first().copied().unwrap_or_default();
            EpochInference {
                value: EpochValue::Fixed(t),
                evidence: evidence(&format!("one date, {t}")),
            }
        }
        _ => EpochInference {
            value: EpochValue::Unset,
            evidence: evidence("the files' modification times, so SOURCE_DATE_EPOCH was not set"),
        },
    })
}

/// The SOURCE_DATE_EPOCH a rebuild gives the backend and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochChoice {
    /// `None`: leave it unset.
    pub seconds: Option<u64>,
    /// `given` (the caller's override), `inferred`, or `default` (nothing
    /// to infer from: unset).
    pub how: &'static str,
    pub evidence: String,
}

impl EpochChoice {
    /// The epoch to build with, clamped into the range a build accepts;
    /// `None`: leave SOURCE_DATE_EPOCH unset.
    pub fn epoch(&self) -> Option<Epoch> {
        self.seconds
            .map(|t| Epoch::clamped(i64::try_from(t).unwrap_or(i64::MAX)))
    }
}

/// [`infer_epoch`], unless `given` (seconds, or `unset`) overrides it.
pub fn choose_epoch(
    given: Option<&str>,
    wheel: Option<&WheelTimes>,
    sdist: Option<&SdistTimes>,
    backend: Option<&str>,
) -> Result<EpochChoice, crate::InferError> {
    let choice = |seconds, how, evidence: &str| EpochChoice {
        seconds,
        how,
        evidence: evidence.to_string(),
    };
    Ok(match given {
        Some("unset") => choice(None, "given", "--epoch unset"),
        Some(n) => {
            let seconds = n.parse::<u64>().map_err(|_| crate::InferError::Date {
                date: n.to_string(),
                problem: "an epoch is seconds since 1970, or `unset`".into(),
            })?;
            choice(Some(seconds), "given", "--epoch")
        }
        None => match infer_epoch(wheel, sdist, backend) {
            Some(EpochInference {
                value: EpochValue::Fixed(t),
                evidence,
            }) => choice(Some(t), "inferred", &evidence),
            Some(EpochInference { evidence, .. }) => choice(None, "inferred", &evidence),
            None => choice(None, "default", "nothing published to infer from"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_dates() {
        // 2020-02-02 00:00:00
        assert_eq!(dos_to_unix((40 << 9) | (2 << 5) | 2, 0), HATCHLING_DEFAULT);
        // 2016-01-01 00:00:00
        assert_eq!(dos_to_unix((36 << 9) | (1 << 5) | 1, 0), ZIP_2016);
        // 1980-01-01 00:00:02
        assert_eq!(dos_to_unix((1 << 5) | 1, 1), 315_532_802);
        // Garbage is clamped, never a panic.
        let _ = dos_to_unix(u16::MAX, u16::MAX);
        let _ = dos_to_unix(0, 0);
    }

    fn wheel(times: &[u64]) -> WheelTimes {
        WheelTimes {
            name: "w.whl".into(),
            times: times.iter().copied().collect(),
        }
    }

    #[test]
    fn decisions() {
        let fixed = infer_epoch(Some(&wheel(&[1_700_000_000])), None, Some("flit_core"));
        assert_eq!(fixed.unwrap().value, EpochValue::Fixed(1_700_000_000));
        let sdist = SdistTimes {
            name: "s.tar.gz".into(),
            gzip_mtime: 1_700_000_001,
            times: [0, 1_700_000_001].into(),
        };
        let exact = infer_epoch(Some(&wheel(&[1_700_000_000])), Some(&sdist), None);
        assert_eq!(exact.unwrap().value, EpochValue::Fixed(1_700_000_001));
        let default = infer_epoch(Some(&wheel(&[HATCHLING_DEFAULT])), None, Some("hatchling"));
        assert_eq!(default.unwrap().value, EpochValue::Unset);
        let mixed = infer_epoch(Some(&wheel(&[ZIP_2016, 1_700_000_000])), None, None);
        assert_eq!(mixed.unwrap().value, EpochValue::Unset);
        let varies = infer_epoch(Some(&wheel(&[1_700_000_000, 1_700_000_006])), None, None);
        assert_eq!(varies.unwrap().value, EpochValue::Unset);
        assert_eq!(infer_epoch(None, None, None), None);
        let only_sdist = infer_epoch(None, Some(&sdist), None);
        assert_eq!(only_sdist.unwrap().value, EpochValue::Fixed(1_700_000_001));
        let w = wheel(&[1_700_000_000]);
        assert_eq!(
            choose_epoch(Some("unset"), Some(&w), None, None)
                .unwrap()
                .seconds,
            None
        );
        assert_eq!(
            choose_epoch(Some("5"), Some(&w), None, None)
                .unwrap()
                .seconds,
            Some(5)
        );
        assert!(choose_epoch(Some("-1"), None, None, None).is_err());
        let inferred = choose_epoch(None, Some(&w), None, None).unwrap();
        assert_eq!(
            (inferred.seconds, inferred.how),
            (Some(1_700_000_000), "inferred")
        );
        assert_eq!(choose_epoch(None, None, None, None).unwrap().how, "default");
        assert_eq!(inferred.epoch().map(|e| e.seconds()), Some(1_700_000_000));
        assert_eq!(choose_epoch(None, None, None, None).unwrap().epoch(), None);
        let early = choose_epoch(Some("5"), None, None, None).unwrap();
        assert_eq!(early.epoch(), Some(Epoch::clamped(5)));
    }
}
