//! Checking a wheel's RECORD against its members.
//!
//! RECORD is the wheel's own account of its content: every member except
//! RECORD itself (and its signatures, `RECORD.jws` / `RECORD.p7s`, which
//! cannot list themselves either) appears once with its hash and size, and
//! every row names a member. Canonicalizing keeps RECORD's bytes as they are,
//! so a wheel whose RECORD disagrees with its members is refused -- naming
//! the member and both values -- rather than repaired: a repaired RECORD
//! would vouch for bytes nobody vouched for.

use std::collections::BTreeMap;

use kiln_archive::{ZipArchive, ZipKind, ZipMember};

use crate::CanonError;
use crate::csv;

/// The signature files beside RECORD that RECORD need not list.
const SIGNATURES: [&str; 2] = ["RECORD.jws", "RECORD.p7s"];

/// The wheel's single top-level `*.dist-info` directory (without a slash).
pub(crate) fn dist_info_dir(archive: &str, wheel: &ZipArchive) -> Result<String, CanonError> {
    let mut found: Vec<String> = wheel
        .members
        .iter()
        .filter_map(|m| m.path.split_once('/').map(|(top, _)| top))
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

/// The regular files of a wheel by path; a directory entry holding data
/// is refused (dropping it would lose bytes).
pub(crate) fn wheel_files<'a>(
    archive: &str,
    wheel: &'a ZipArchive,
) -> Result<Vec<&'a ZipMember>, CanonError> {
    let mut files = Vec::new();
    for m in &wheel.members {
        match m.kind {
            ZipKind::File => files.push(m),
            ZipKind::Directory if !m.data.is_empty() => {
                return Err(CanonError::DirectoryWithData {
                    archive: archive.to_owned(),
                    member: m.path.clone(),
                    size: m.data.len(),
                });
            }
            ZipKind::Directory => {}
        }
    }
    Ok(files)
}

/// One RECORD row: the line it starts on, its hash and size fields.
struct Row {
    line: usize,
    hash: String,
    size: String,
}

/// Check `wheel`'s `*.dist-info/RECORD` against its members: see the module
/// documentation for the rules. `archive_name` names the wheel in errors.
pub fn check_record(archive_name: &str, wheel: &ZipArchive) -> Result<(), CanonError> {
    let archive = archive_name;
    let dist_info = dist_info_dir(archive, wheel)?;
    let record_path = format!("{dist_info}/RECORD");
    let files = wheel_files(archive, wheel)?;
    let record = files
        .iter()
        .find(|m| m.path == record_path)
        .ok_or_else(|| CanonError::MissingRecord {
            archive: archive.to_owned(),
            member: record_path.clone(),
        })?;
    let rows = parse_record(archive, &record_path, &record.data)?;
    let exempt: Vec<String> = SIGNATURES
        .iter()
        .map(|s| format!("{dist_info}/{s}"))
        .collect();

    for m in &files {
        let Some(row) = rows.get(m.path.as_str()) else {
            if m.path == record_path || exempt.contains(&m.path) {
                continue;
            }
            return Err(CanonError::NotInRecord {
                archive: archive.to_owned(),
                member: m.path.clone(),
                record: record_path,
            });
        };
        // RECORD cannot hash itself; a signature row may leave both empty.
        if m.path == record_path
            || (exempt.contains(&m.path) && row.hash.is_empty() && row.size.is_empty())
        {
            continue;
        }
        check_row(archive, m, row)?;
    }
    let members: BTreeMap<&str, ()> = files.iter().map(|m| (m.path.as_str(), ())).collect();
    for (path, row) in &rows {
        if !members.contains_key(path.as_str()) {
            return Err(CanonError::RecordRowWithoutMember {
                archive: archive.to_owned(),
                member: path.clone(),
                record: record_path,
                line: row.line,
            });
        }
    }
    Ok(())
}

/// RECORD's rows by path, refusing malformed CSV, rows of the wrong shape
/// and paths listed twice.
fn parse_record(
    archive: &str,
    record_path: &str,
    bytes: &[u8],
) -> Result<BTreeMap<String, Row>, CanonError> {
    let text = std::str::from_utf8(bytes).map_err(|source| CanonError::RecordNotUtf8 {
        archive: archive.to_owned(),
        member: record_path.to_owned(),
        source,
    })?;
    let syntax = |line, reason: String| CanonError::RecordSyntax {
        archive: archive.to_owned(),
        member: record_path.to_owned(),
        line,
        reason,
    };
    let parsed = csv::parse(text).map_err(|e| syntax(e.line, e.reason.to_owned()))?;
    let mut rows = BTreeMap::new();
    for row in parsed {
        let [path, hash, size] = <[String; 3]>::try_from(row.fields).map_err(|fields| {
            syntax(
                row.line,
                format!("expected 3 fields (path,hash,size), found {}", fields.len()),
            )
        })?;
        if path.is_empty() {
            return Err(syntax(row.line, "empty path".to_owned()));
        }
        if let Some(first) = rows.get(&path).map(|r: &Row| r.line) {
            return Err(CanonError::DuplicateRecordRow {
                archive: archive.to_owned(),
                member: path,
                record: record_path.to_owned(),
                first,
                line: row.line,
            });
        }
        rows.insert(
            path,
            Row {
                line: row.line,
                hash,
                size,
            },
        );
    }
    Ok(rows)
}

/// One member against its row: hash first, then size.
fn check_row(archive: &str, m: &ZipMember, row: &Row) -> Result<(), CanonError> {
    let (algorithm, recorded) = row.hash.split_once('=').unwrap_or((row.hash.as_str(), ""));
    let digest = match algorithm {
        "sha256" => kiln_digest::sha256(&m.data).to_vec(),
        "sha512" => kiln_digest::Digests::of_bytes(&m.data).sha512.to_vec(),
        _ if row.hash.is_empty() => kiln_digest::sha256(&m.data).to_vec(),
        _ => {
            return Err(CanonError::UnsupportedHash {
                archive: archive.to_owned(),
                member: m.path.clone(),
                hash: row.hash.clone(),
            });
        }
    };
    let actual = kiln_digest::urlsafe_b64_nopad(&digest);
    // Python's tools strip the padding; tolerate it if a tool kept it.
    if row.hash.is_empty() || recorded.trim_end_matches('=') != actual {
        let algorithm = if row.hash.is_empty() {
            "sha256"
        } else {
            algorithm
        };
        return Err(CanonError::HashMismatch {
            archive: archive.to_owned(),
            member: m.path.clone(),
            recorded: if row.hash.is_empty() {
                "no hash".to_owned()
            } else {
                row.hash.clone()
            },
            actual: format!("{algorithm}={actual}"),
        });
    }
    if row.size.parse::<u64>().ok() != Some(m.data.len() as u64) {
        return Err(CanonError::SizeMismatch {
            archive: archive.to_owned(),
            member: m.path.clone(),
            recorded: row.size.clone(),
            actual: m.data.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kiln_archive::{ArchiveWriter, Deflate, Limits, ZipWriter, read_zip};

    use super::*;

    const DEFLATE: Deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
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
