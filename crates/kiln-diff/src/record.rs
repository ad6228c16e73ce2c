//! Each wheel's RECORD checked against that wheel's own members, from what
//! pass 1 kept (every member's sha256 and size, RECORD's bytes), by
//! `kiln-canon`'s `record_problems` -- the same rules canonicalizing
//! applies, but every problem listed instead of the first refused. Both
//! sides are checked separately: a RECORD that does not match its members
//! is reported even when the two wheels agree with each other.

use std::collections::BTreeMap;

use kiln_archive::Limits;
use kiln_canon::{CanonError, MemberDigest, record_path, record_problems};

use crate::members::Side;
use crate::source::{self, Captured, Entry, EntryKind};
use crate::{ArchiveKind, DiffError, RecordCheck, RecordProblem, RecordStatus};

/// RECORD problems listed per side; the rest are counted in one more.
const MAX_PROBLEMS: usize = 1_000;

/// The check of a side that was not opened: an sdist has no RECORD; an
/// identical pair is not parsed at all.
pub(crate) fn not(kind: ArchiveKind) -> RecordCheck {
    RecordCheck {
        status: match kind {
            ArchiveKind::Sdist => RecordStatus::NotApplicable,
            ArchiveKind::Wheel => RecordStatus::NotChecked,
        },
        record: None,
        problems: Vec::new(),
    }
}

/// A problem naming `member`.
fn problem(member: &str, problem: impl Into<String>) -> RecordProblem {
    RecordProblem {
        member: member.to_owned(),
        problem: problem.into(),
    }
}

/// Why RECORD could not be found, as a problem of the wheel.
fn layout_problem(e: &CanonError) -> RecordProblem {
    match e {
        CanonError::MissingRecord { member, .. } => {
            problem(member, "missing (every wheel carries a RECORD)")
        }
        CanonError::DistInfoCount { member, found, .. } => problem(
            member,
            format!(
                "a wheel holds exactly one .dist-info directory, found {}",
                found.len()
            ),
        ),
        other => problem("*.dist-info/RECORD", other.to_string()),
    }
}

/// Check one side's RECORD against that side's members. Only a row that
/// records a SHA-512 makes it read the archive again (just that member).
pub(crate) fn check(side: &Side<'_>, limits: &Limits) -> Result<RecordCheck, DiffError> {
    let scan = side.scan;
    let done = |record: Option<String>, problems: Vec<RecordProblem>| RecordCheck {
        status: if problems.is_empty() {
            RecordStatus::Ok
        } else {
            RecordStatus::Problems
        },
        record,
        problems,
    };
    let record = match record_path(side.name, scan.entries.iter().map(|e| e.path.as_str())) {
        Ok(record) => record,
        Err(e) => return Ok(done(None, vec![layout_problem(&e)])),
    };
    let index = scan
        .entries
        .iter()
        .position(|e| e.kind == EntryKind::File && e.path == record);
    let bytes = match index.and_then(|i| scan.captured.get(&i)) {
        Some(Captured::Bytes(bytes)) => bytes,
        Some(Captured::TooLarge(size)) => {
            let p = problem(&record, format!("{size} bytes, too large to check here"));
            return Ok(done(Some(record), vec![p]));
        }
        None => {
            let p = problem(&record, "missing (every wheel carries a RECORD)");
            return Ok(done(Some(record), vec![p]));
        }
    };
    let files: Vec<(usize, &Entry)> = scan
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EntryKind::File)
        .collect();
    let digests: Vec<MemberDigest> = files
        .iter()
        .map(|(_, e)| MemberDigest {
            path: e.path.clone(),
            sha256: e.sha256,
            size: e.size,
        })
        .collect();
    // A failure to re-read is ours to report, not kiln-canon's.
    let by_path: BTreeMap<&str, usize> = files.iter().map(|(i, e)| (e.path.as_str(), *i)).collect();
    let mut hashes = source::WheelSha512::new(side.path, side.name, limits);
    let mut failure: Option<DiffError> = None;
    let mut sha512_of = |path: &str| {
        let result = match by_path.get(path) {
            Some(&i) => hashes.of(i),
            None => Err(DiffError::Archive {
                archive: side.name.to_owned(),
                entry: format!("{path:?}"),
                source: Box::new(kiln_archive::ArchiveError::Malformed {
                    archive: side.name.to_owned(),
                    entry: format!("{path:?}"),
                    reason: "no such member".to_owned(),
                }),
            }),
        };
        result.map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            CanonError::Read {
                archive: side.name.to_owned(),
                member: path.to_owned(),
                source: Box::new(kiln_archive::ArchiveError::Read {
                    archive: side.name.to_owned(),
                    entry: format!("{path:?}"),
                    source: std::io::Error::other(message),
                }),
            }
        })
    };
    match record_problems(side.name, &digests, bytes, &mut sha512_of) {
        Ok(problems) => {
            let more = problems.len().saturating_sub(MAX_PROBLEMS);
            let mut listed: Vec<RecordProblem> = problems
                .into_iter()
                .take(MAX_PROBLEMS)
                .map(|p| problem(&p.member, p.problem))
                .collect();
            if more > 0 {
                listed.push(problem(
                    &record,
                    format!("{more} more problems, not listed (a report lists {MAX_PROBLEMS})"),
                ));
            }
            Ok(done(Some(record), listed))
        }
        Err(e) => match failure {
            Some(failure) => Err(failure),
            None => Ok(done(Some(record), vec![layout_problem(&e)])),
        },
    }
}
