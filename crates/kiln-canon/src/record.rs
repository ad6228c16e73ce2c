//! Checking a wheel's RECORD against its members.
//!
//! RECORD is the wheel's own account of its content: every member except
//! RECORD itself (and its signatures, `RECORD.jws` / `RECORD.p7s`, which
//! cannot list themselves either) appears once with its hash and size, and
//! every row names a member. Canonicalizing keeps RECORD's bytes as they are,
//! so a wheel whose RECORD disagrees with its members is refused -- naming
//! the member and both values -- rather than repaired: a repaired RECORD
//! would vouch for bytes nobody vouched for.
//!
//! The check works from the members' digests (`MemberDigest`), not their
//! bytes, so a streaming reader can hash each member once and keep nothing.
//! `record_problems` lists every problem, for a diff to show; `check_record`
//! (and canonicalizing) refuses on the first, as a typed `CanonError`.

use std::collections::{BTreeMap, BTreeSet};

use kiln_archive::{ZipArchive, ZipKind, ZipMember};

use crate::CanonError;
use crate::csv;

/// The signature files beside RECORD that RECORD need not list.
const SIGNATURES: [&str; 2] = ["RECORD.jws", "RECORD.p7s"];

/// What RECORD is checked against: one regular-file member of a wheel,
/// by path, with the SHA-256 and size of its (uncompressed) bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDigest {
    pub path: String,
    pub sha256: [u8; 32],
    pub size: u64,
}

impl MemberDigest {
    /// The digest of a member whose bytes are in memory.
    pub fn of_bytes(path: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            path: path.into(),
            sha256: kiln_digest::sha256(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// One way a wheel's RECORD disagrees with its members (or is malformed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProblem {
    /// The member concerned; RECORD's own path for a problem of RECORD as
    /// a whole (not UTF-8, a malformed line).
    pub member: String,
    /// What is wrong, e.g. `not listed in RECORD`, `RECORD says
    /// sha256=… size 12, member has sha256=… size 13`, `listed in RECORD
    /// (line 4) but not in the wheel`, `RECORD line 4: malformed: …`.
    pub problem: String,
}

/// A problem found, both as text (for `record_problems`) and as the typed
/// error `check_record` refuses with.
struct Finding {
    member: String,
    problem: String,
    error: CanonError,
}

/// The wheel's single top-level `*.dist-info` directory (without a slash),
/// from the paths of its members (directories included).
pub(crate) fn dist_info_dir<'p>(
    archive: &str,
    paths: impl IntoIterator<Item = &'p str>,
) -> Result<String, CanonError> {
    let mut found: Vec<String> = paths
        .into_iter()
        .filter_map(|p| p.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(CanonError::DistInfoCount {
            archive: archive.to_owned(),
            member: found
                .get(1)
                .cloned()
                .unwrap_or_else(|| "*.dist-info/RECORD".to_owned()),
            found,
        }),
    }
}

/// The path of a wheel's RECORD, `<name>.dist-info/RECORD`, from the paths
/// of its members (directories may be included). Errors when the layout
/// makes RECORD unfindable: not exactly one top-level `.dist-info`
/// directory (`DistInfoCount`), or no RECORD in it (`MissingRecord`).
pub fn record_path<'p>(
    archive_name: &str,
    member_paths: impl IntoIterator<Item = &'p str> + Clone,
) -> Result<String, CanonError> {
    let record = format!(
        "{}/RECORD",
        dist_info_dir(archive_name, member_paths.clone())?
    );
    if member_paths.into_iter().any(|p| p == record) {
        Ok(record)
    } else {
        Err(CanonError::MissingRecord {
            archive: archive_name.to_owned(),
            member: record,
        })
    }
}

/// The regular files of a wheel by path; a directory entry holding data
/// is refused (dropping it would lose bytes). Works on metadata alone:
/// a directory's data is judged by its declared size (which the readers
/// check against the data).
pub(crate) fn wheel_files<'a>(
    archive: &str,
    wheel: &'a ZipArchive,
) -> Result<Vec<&'a ZipMember>, CanonError> {
    let mut files = Vec::new();
    for m in &wheel.members {
        match m.kind {
            ZipKind::File => files.push(m),
            ZipKind::Directory if m.size != 0 || !m.data.is_empty() => {
                return Err(CanonError::DirectoryWithData {
                    archive: archive.to_owned(),
                    member: m.path.clone(),
                    size: (m.size as usize).max(m.data.len()),
                });
            }
            ZipKind::Directory => {}
        }
    }
    Ok(files)
}

/// One RECORD row: the line it starts on, its hash and size fields;
/// `malformed` rows were reported already and are not checked further.
struct Row {
    line: usize,
    hash: String,
    size: String,
    malformed: bool,
}

/// Every problem of RECORD (`record_bytes`) against `members`, the digests
/// of all of the wheel's regular files, sorted by member (stably: a
/// member's problems stay in the order found). `sha512_of` gives a
/// member's SHA-512 by path; it is called only for a row that records one
/// (rare: tools write sha256), so a streaming caller can re-read just that
/// member. Errors only when the layout makes RECORD unfindable (see
/// `record_path`), or when `sha512_of` fails.
pub fn record_problems(
    archive_name: &str,
    members: &[MemberDigest],
    record_bytes: &[u8],
    sha512_of: &mut dyn FnMut(&str) -> Result<[u8; 64], CanonError>,
) -> Result<Vec<RecordProblem>, CanonError> {
    let record = record_path(archive_name, members.iter().map(|m| m.path.as_str()))?;
    let mut problems: Vec<RecordProblem> =
        findings(archive_name, &record, record_bytes, members, sha512_of)?
            .into_iter()
            .map(|f| RecordProblem {
                member: f.member,
                problem: f.problem,
            })
            .collect();
    problems.sort_by(|a, b| a.member.cmp(&b.member));
    Ok(problems)
}

/// Check `wheel`'s `*.dist-info/RECORD` against its members: see the module
/// documentation for the rules. `archive_name` names the wheel in errors.
/// `wheel` must hold its members' data (as `read_zip` returns it).
pub fn check_record(archive_name: &str, wheel: &ZipArchive) -> Result<(), CanonError> {
    let archive = archive_name;
    let dist_info = dist_info_dir(archive, wheel.members.iter().map(|m| m.path.as_str()))?;
    let record_path = format!("{dist_info}/RECORD");
    let files = wheel_files(archive, wheel)?;
    let record = files
        .iter()
        .find(|m| m.path == record_path)
        .ok_or_else(|| CanonError::MissingRecord {
            archive: archive.to_owned(),
            member: record_path.clone(),
        })?;
    let digests: Vec<MemberDigest> = files
        .iter()
        .map(|m| MemberDigest::of_bytes(&m.path, &m.data))
        .collect();
    let data: BTreeMap<&str, &[u8]> = files
        .iter()
        .map(|m| (m.path.as_str(), m.data.as_slice()))
        .collect();
    check_digests(archive, &record_path, &record.data, &digests, &mut |path| {
        let bytes = data.get(path).copied().unwrap_or_default();
        Ok(kiln_digest::Digests::of_bytes(bytes).sha512)
    })
}

/// `check_record` from digests: the first problem found, as its error.
pub(crate) fn check_digests(
    archive: &str,
    record_path: &str,
    record_bytes: &[u8],
    members: &[MemberDigest],
    sha512_of: &mut dyn FnMut(&str) -> Result<[u8; 64], CanonError>,
) -> Result<(), CanonError> {
    match findings(archive, record_path, record_bytes, members, sha512_of)?
        .into_iter()
        .next()
    {
        Some(first) => Err(first.error),
        None => Ok(()),
    }
}

/// Every problem, in the order `check_record` has always met them: RECORD
/// itself (encoding, syntax, row shapes and duplicates, by line), then
/// each member in the order given, then rows naming no member, by path.
fn findings(
    archive: &str,
    record_path: &str,
    record_bytes: &[u8],
    members: &[MemberDigest],
    sha512_of: &mut dyn FnMut(&str) -> Result<[u8; 64], CanonError>,
) -> Result<Vec<Finding>, CanonError> {
    if !members.iter().any(|m| m.path == record_path) {
        return Err(CanonError::MissingRecord {
            archive: archive.to_owned(),
            member: record_path.to_owned(),
        });
    }
    let mut out = Vec::new();
    let Some(rows) = parse_record(archive, record_path, record_bytes, &mut out) else {
        return Ok(out);
    };
    let exempt: Vec<String> = SIGNATURES
        .iter()
        .map(|s| format!("{}{s}", record_path.trim_end_matches("RECORD")))
        .collect();

    for m in members {
        let Some(row) = rows.get(m.path.as_str()) else {
            if m.path == record_path || exempt.contains(&m.path) {
                continue;
            }
            out.push(Finding {
                member: m.path.clone(),
                problem: "not listed in RECORD".to_owned(),
                error: CanonError::NotInRecord {
                    archive: archive.to_owned(),
                    member: m.path.clone(),
                    record: record_path.to_owned(),
                },
            });
            continue;
        };
        // RECORD cannot hash itself; a signature row may leave both empty.
        if row.malformed
            || m.path == record_path
            || (exempt.contains(&m.path) && row.hash.is_empty() && row.size.is_empty())
        {
            continue;
        }
        out.extend(check_row(archive, m, row, sha512_of)?);
    }
    let paths: BTreeSet<&str> = members.iter().map(|m| m.path.as_str()).collect();
    for (path, row) in &rows {
        if !row.malformed && !paths.contains(path.as_str()) {
            out.push(Finding {
                member: path.clone(),
                problem: format!("listed in RECORD (line {}) but not in the wheel", row.line),
                error: CanonError::RecordRowWithoutMember {
                    archive: archive.to_owned(),
                    member: path.clone(),
                    record: record_path.to_owned(),
                    line: row.line,
                },
            });
        }
    }
    Ok(out)
}

/// RECORD's rows by path. A RECORD that is not UTF-8 or not CSV is one
/// finding and no rows (`None`); a row of the wrong shape or repeating a
/// path is a finding, and the first row for a path is the one kept.
fn parse_record(
    archive: &str,
    record_path: &str,
    bytes: &[u8],
    out: &mut Vec<Finding>,
) -> Option<BTreeMap<String, Row>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(source) => {
            out.push(Finding {
                member: record_path.to_owned(),
                problem: format!(
                    "RECORD is not UTF-8 (invalid byte at offset {})",
                    source.valid_up_to()
                ),
                error: CanonError::RecordNotUtf8 {
                    archive: archive.to_owned(),
                    member: record_path.to_owned(),
                    source,
                },
            });
            return None;
        }
    };
    let syntax = |line: usize, reason: String| Finding {
        member: record_path.to_owned(),
        problem: format!("RECORD line {line}: malformed: {reason}"),
        error: CanonError::RecordSyntax {
            archive: archive.to_owned(),
            member: record_path.to_owned(),
            line,
            reason,
        },
    };
    let parsed = match csv::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            out.push(syntax(e.line, e.reason.to_owned()));
            return None;
        }
    };
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for row in parsed {
        let line = row.line;
        let count = row.count;
        let fields = match <[String; 3]>::try_from(row.fields) {
            Ok(fields) if count == 3 => Ok(fields),
            Ok([path, ..]) => Err((
                path,
                format!("expected 3 fields (path,hash,size), found {count}"),
            )),
            Err(fields) => Err((
                fields.first().cloned().unwrap_or_default(),
                format!("expected 3 fields (path,hash,size), found {count}"),
            )),
        };
        let [path, hash, size] = match fields {
            Ok([path, ..]) if path.is_empty() => {
                out.push(syntax(line, "empty path".to_owned()));
                continue;
            }
            Ok(fields) => fields,
            Err((path, reason)) => {
                out.push(syntax(line, reason));
                // Its member is not reported again as unlisted.
                if !path.is_empty() {
                    rows.entry(path).or_insert(Row {
                        line,
                        hash: String::new(),
                        size: String::new(),
                        malformed: true,
                    });
                }
                continue;
            }
        };
        if let Some(first) = rows.get(&path).map(|r| r.line) {
            out.push(Finding {
                member: path.clone(),
                problem: format!("listed twice in RECORD (lines {first} and {line})"),
                error: CanonError::DuplicateRecordRow {
                    archive: archive.to_owned(),
                    member: path,
                    record: record_path.to_owned(),
                    first,
                    line,
                },
            });
            continue;
        }
        rows.insert(
            path,
            Row {
                line,
                hash,
                size,
                malformed: false,
            },
        );
    }
    Some(rows)
}

/// One member against its row: the hash and the size, reported together;
/// as an error, the hash first, then the size.
fn check_row(
    archive: &str,
    m: &MemberDigest,
    row: &Row,
    sha512_of: &mut dyn FnMut(&str) -> Result<[u8; 64], CanonError>,
) -> Result<Option<Finding>, CanonError> {
    let (algorithm, recorded) = row.hash.split_once('=').unwrap_or((row.hash.as_str(), ""));
    let (algorithm, digest) = match algorithm {
        "sha256" => ("sha256", m.sha256.to_vec()),
        "sha512" => ("sha512", sha512_of(&m.path)?.to_vec()),
        _ if row.hash.is_empty() => ("sha256", m.sha256.to_vec()),
        _ => {
            return Ok(Some(Finding {
                member: m.path.clone(),
                problem: format!(
                    "RECORD gives an unsupported hash {:?} (sha256 or sha512 expected)",
                    row.hash
                ),
                error: CanonError::UnsupportedHash {
                    archive: archive.to_owned(),
                    member: m.path.clone(),
                    hash: row.hash.clone(),
                },
            }));
        }
    };
    let actual = kiln_digest::urlsafe_b64_nopad(&digest);
    // Python's tools strip the padding; tolerate it if a tool kept it.
    let hash_ok = !row.hash.is_empty() && recorded.trim_end_matches('=') == actual;
    let size_ok = row.size.parse::<u64>().ok() == Some(m.size);
    if hash_ok && size_ok {
        return Ok(None);
    }
    let recorded_hash = if row.hash.is_empty() {
        "no hash".to_owned()
    } else {
        row.hash.clone()
    };
    let problem = format!(
        "RECORD says {recorded_hash} size {}, member has {algorithm}={actual} size {}",
        if row.size.is_empty() {
            "(none)"
        } else {
            row.size.as_str()
        },
        m.size
    );
    let error = if hash_ok {
        CanonError::SizeMismatch {
            archive: archive.to_owned(),
            member: m.path.clone(),
            recorded: row.size.clone(),
            actual: usize::try_from(m.size).unwrap_or(usize::MAX),
        }
    } else {
        CanonError::HashMismatch {
            archive: archive.to_owned(),
            member: m.path.clone(),
            recorded: recorded_hash,
            actual: format!("{algorithm}={actual}"),
        }
    };
    Ok(Some(Finding {
        member: m.path.clone(),
        problem,
        error,
    }))
}

#[cfg(test)]
mod tests {
    use kiln_archive::{ArchiveWriter, Deflate, Limits, ZipWriter, read_zip};

    use super::*;

    const DEFLATE: Deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };

    fn b64(digest: &[u8]) -> String {
        kiln_digest::urlsafe_b64_nopad(digest)
    }

    /// A wheel of `pkg/a.py` = "x" plus the given dist-info members.
    fn wheel(members: &[(&str, &str)]) -> ZipArchive {
        let mut w = ZipWriter::new(Vec::new(), 315_532_800, DEFLATE).unwrap();
        w.add_file("pkg/a.py", b"x", false).unwrap();
        for (path, data) in members {
            w.add_file(path, data.as_bytes(), false).unwrap();
        }
        read_zip("t.whl", &w.finish().unwrap(), &Limits::default()).unwrap()
    }

    fn row_for_a(hash: &str, size: &str) -> String {
        format!("pkg/a.py,{hash},{size}\np-1.dist-info/RECORD,,\n")
    }

    #[test]
    fn sha256_and_sha512_rows_pass() {
        let sha256 = format!("sha256={}", b64(&kiln_digest::sha256(b"x")));
        let sha512 = format!(
            "sha512={}",
            b64(&kiln_digest::Digests::of_bytes(b"x").sha512)
        );
        for hash in [sha256, sha512] {
            let record = row_for_a(&hash, "1");
            check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap();
        }
    }

    #[test]
    fn padded_base64_is_tolerated() {
        // 32 bytes encode to 43 characters plus one `=` of padding.
        let hash = format!("sha256={}=", b64(&kiln_digest::sha256(b"x")));
        let record = row_for_a(&hash, "1");
        check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap();
    }

    #[test]
    fn records_own_row_may_carry_anything_but_others_need_a_hash() {
        let hash = format!("sha256={}", b64(&kiln_digest::sha256(b"x")));
        let record = format!("pkg/a.py,{hash},1\np-1.dist-info/RECORD,sha256=whatever,12\n");
        check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap();

        let record = row_for_a("", "1");
        let err = check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap_err();
        assert!(
            matches!(&err, CanonError::HashMismatch { member, recorded, .. } if member == "pkg/a.py" && recorded == "no hash"),
            "{err}"
        );
    }

    #[test]
    fn md5_is_unsupported_and_names_the_member() {
        let record = row_for_a("md5=abc", "1");
        let err = check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.whl: pkg/a.py: unsupported RECORD hash \"md5=abc\" (sha256 or sha512 expected)"
        );
    }

    #[test]
    fn size_that_is_not_a_number_is_a_mismatch() {
        let hash = format!("sha256={}", b64(&kiln_digest::sha256(b"x")));
        let record = row_for_a(&hash, "one");
        let err = check_record("t.whl", &wheel(&[("p-1.dist-info/RECORD", &record)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.whl: pkg/a.py: RECORD says size \"one\", the member has 1 bytes"
        );
    }

    #[test]
    fn signature_with_a_row_is_checked_and_without_one_is_exempt() {
        let hash = format!("sha256={}", b64(&kiln_digest::sha256(b"x")));
        let record = format!(
            "pkg/a.py,{hash},1\np-1.dist-info/RECORD.p7s,sha256=wrong,3\np-1.dist-info/RECORD,,\n"
        );
        let err = check_record(
            "t.whl",
            &wheel(&[
                ("p-1.dist-info/RECORD", &record),
                ("p-1.dist-info/RECORD.p7s", "sig"),
            ]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, CanonError::HashMismatch { member, .. } if member == "p-1.dist-info/RECORD.p7s"),
            "{err}"
        );
        let record = row_for_a(&hash, "1");
        check_record(
            "t.whl",
            &wheel(&[
                ("p-1.dist-info/RECORD", &record),
                ("p-1.dist-info/RECORD.p7s", "sig"),
            ]),
        )
        .unwrap();
    }

    #[test]
    fn record_that_is_not_utf8_is_refused() {
        let mut w = ZipWriter::new(Vec::new(), 315_532_800, DEFLATE).unwrap();
        w.add_file("p-1.dist-info/RECORD", b"\xff,,\n", false)
            .unwrap();
        let zip = read_zip("t.whl", &w.finish().unwrap(), &Limits::default()).unwrap();
        let err = check_record("t.whl", &zip).unwrap_err();
        assert!(matches!(err, CanonError::RecordNotUtf8 { .. }), "{err}");
    }
}
