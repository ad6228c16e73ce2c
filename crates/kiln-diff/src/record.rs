//! Each wheel's RECORD checked against that wheel's own members, from what
//! pass 1 kept (every member's sha256 and size, RECORD's bytes). Both sides
//! are checked separately: a RECORD that does not match its members is
//! reported even when the two wheels agree with each other.

use crate::pairing::normalize;
use crate::source::{Captured, EntryKind, Scan};
use crate::{ArchiveKind, RecordCheck, RecordProblem, RecordStatus};

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

/// Check one wheel's RECORD (`dist_info` is its single `.dist-info`
/// directory, if it has exactly one).
pub(crate) fn check(scan: &Scan, dist_info: Option<&str>) -> RecordCheck {
    let problems = |record: Option<String>, problems: Vec<RecordProblem>| RecordCheck {
        status: if problems.is_empty() {
            RecordStatus::Ok
        } else {
            RecordStatus::Problems
        },
        record,
        problems,
    };
    let one = |member: &str, problem: &str| {
        vec![RecordProblem {
            member: member.to_owned(),
            problem: problem.to_owned(),
        }]
    };
    let Some(dist_info) = dist_info else {
        return problems(
            None,
            one(
                "*.dist-info/RECORD",
                "no single .dist-info directory to find RECORD in",
            ),
        );
    };
    let record_path = format!("{dist_info}/RECORD");
    let index = scan.entries.iter().position(|e| {
        e.kind == EntryKind::File && normalize(ArchiveKind::Wheel, &e.path) == record_path
    });
    let bytes = match index.and_then(|i| scan.captured.get(&i)) {
        Some(Captured::Bytes(bytes)) => bytes,
        Some(Captured::TooLarge(size)) => {
            return problems(
                Some(record_path.clone()),
                one(
                    &record_path,
                    &format!("{size} bytes, too large to check here"),
                ),
            );
        }
        None => return problems(Some(record_path.clone()), one(&record_path, "missing")),
    };
    let digests: Vec<shim::MemberDigest> = scan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| shim::MemberDigest {
            path: e.path.clone(),
            sha256: e.sha256,
            size: e.size,
        })
        .collect();
    let found = shim::record_problems(&record_path, bytes, &digests)
        .into_iter()
        .map(|p| RecordProblem {
            member: p.member,
            problem: p.problem,
        })
        .collect();
    problems(Some(record_path), found)
}

/// The RECORD check `kiln-canon` is about to export (`record_problems` over
/// `MemberDigest`s), written here until it lands, so that switching is
/// deleting this module.
mod shim {
    use std::collections::BTreeMap;

    pub(crate) struct MemberDigest {
        pub path: String,
        pub sha256: [u8; 32],
        pub size: u64,
    }

    pub(crate) struct RecordProblem {
        pub member: String,
        pub problem: String,
    }

    /// RFC 4180 rows of RECORD, or the line of the first syntax error.
    /// (line, fields) of each row.
    type Rows = Vec<(usize, Vec<String>)>;

    fn rows(text: &str) -> Result<Rows, (usize, &'static str)> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        let mut line = 1;
        while chars.peek().is_some() {
            let start = line;
            let mut fields = vec![String::new()];
            let mut quoted = false;
            while let Some(c) = chars.next() {
                let field = fields.last_mut().ok_or((line, "empty row"))?;
                match c {
                    '"' if quoted => {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            field.push('"');
                        } else {
                            quoted = false;
                        }
                    }
                    '"' if field.is_empty() => quoted = true,
                    '"' => return Err((line, "quote inside an unquoted field")),
                    ',' if !quoted => fields.push(String::new()),
                    '\n' if !quoted => {
                        line += 1;
                        break;
                    }
                    '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                    c => {
                        if c == '\n' {
                            line += 1;
                        }
                        field.push(c);
                    }
                }
            }
            if quoted {
                return Err((start, "unterminated quoted field"));
            }
            if !(fields.len() == 1 && fields[0].is_empty()) {
                out.push((start, fields));
            }
        }
        Ok(out)
    }

    pub(crate) fn record_problems(
        record_path: &str,
        bytes: &[u8],
        members: &[MemberDigest],
    ) -> Vec<RecordProblem> {
        let mut out = Vec::new();
        let mut problem = |member: &str, problem: String| {
            out.push(RecordProblem {
                member: member.to_owned(),
                problem,
            });
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            problem(record_path, "not UTF-8".to_owned());
            return out;
        };
        let parsed = match rows(text) {
            Ok(rows) => rows,
            Err((line, reason)) => {
                problem(record_path, format!("line {line}: {reason}"));
                return out;
            }
        };
        let mut by_path: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
        for (line, fields) in parsed {
            let [path, hash, size] = match <[String; 3]>::try_from(fields) {
                Ok(f) => f,
                Err(f) => {
                    problem(
                        record_path,
                        format!(
                            "line {line}: expected 3 fields (path,hash,size), found {}",
                            f.len()
                        ),
                    );
                    continue;
                }
            };
            if let Some((first, _, _)) = by_path.get(&path) {
                problem(
                    &path,
                    format!("listed twice in RECORD (lines {first} and {line})"),
                );
                continue;
            }
            by_path.insert(path, (line, hash, size));
        }
        let dist_info = record_path.strip_suffix("RECORD").unwrap_or_default();
        let exempt = [
            record_path.to_owned(),
            format!("{dist_info}RECORD.jws"),
            format!("{dist_info}RECORD.p7s"),
        ];
        for m in members {
            let Some((_, hash, size)) = by_path.remove(&m.path) else {
                if !exempt.contains(&m.path) {
                    problem(&m.path, "not listed in RECORD".to_owned());
                }
                continue;
            };
            if m.path == record_path || (exempt.contains(&m.path) && hash.is_empty()) {
                continue;
            }
            let actual = kiln_digest::urlsafe_b64_nopad(&m.sha256);
            match hash.split_once('=') {
                Some(("sha256", recorded)) if recorded.trim_end_matches('=') == actual => {}
                Some(("sha256", _)) => problem(
                    &m.path,
                    format!("RECORD says {hash}, the member's bytes give sha256={actual}"),
                ),
                _ if hash.is_empty() => problem(&m.path, "no hash in RECORD".to_owned()),
                _ => problem(
                    &m.path,
                    format!("RECORD hash {hash:?} not checked (sha256 expected)"),
                ),
            }
            if size.parse::<u64>().ok() != Some(m.size) {
                problem(
                    &m.path,
                    format!("RECORD says size {size:?}, the member has {} bytes", m.size),
                );
            }
        }
        for (path, (line, _, _)) in by_path {
            problem(
                &path,
                format!("listed in RECORD (line {line}) but not in the wheel"),
            );
        }
        out
    }
}
