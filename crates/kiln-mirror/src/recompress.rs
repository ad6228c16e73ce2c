//! Recompressing a wheel for the bandwidth mirror, with the proof that it
//! is the publisher's wheel in another container.
//!
//! The original's bytes are hashed and compared with what its index (or
//! the caller) states before anything parses them. Then: the original's
//! RECORD must verify against its members (a member that disagrees is
//! named, and the wheel refused: [`MirrorError::Record`]); the new wheel
//! is every regular-file member in the original's order, deflated by
//! Zopfli, with `WHEEL`'s `Build:` set and RECORD's `WHEEL` line updated to
//! match, and the name given the build tag. Before it is returned the new
//! wheel is read back by kiln-archive's bounded reader and checked: the
//! same members in the same order, every one but `WHEEL` and RECORD
//! byte-identical with the same executable bit, its RECORD true of its
//! members, and that RECORD differing from the original's only in the
//! `WHEEL` and RECORD lines. Directory entries are not carried over
//! (installers make directories from the files' paths).

use kiln_archive::{Limits, ZipArchive, ZipKind, ZipMember, read_zip};
use kiln_canon::{MemberDigest, record_path, record_problems};

use crate::name::{WheelName, build_tag_key, check_build_tag};
use crate::zip::{Member, Zopfli, write_zip};
use crate::{MirrorError, sha256_hex};

/// A recompressed wheel and what it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recompressed {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub original_filename: String,
    pub original_sha256: String,
    pub original_size: u64,
}

/// Checks `bytes` against `expected_sha256` (lowercase hex) first, then
/// recompresses the wheel `filename` with build tag `build`.
pub fn recompress(
    filename: &str,
    bytes: &[u8],
    expected_sha256: &str,
    build: &str,
    settings: Zopfli,
) -> Result<Recompressed, MirrorError> {
    let original_sha256 = sha256_hex(bytes);
    if original_sha256 != expected_sha256.to_ascii_lowercase() {
        return Err(MirrorError::Digest {
            file: filename.to_string(),
            expected: expected_sha256.to_string(),
            actual: original_sha256,
        });
    }
    let name = WheelName::parse(filename)?;
    check_build_tag(build).map_err(|reason| MirrorError::BuildTag {
        tag: build.to_string(),
        reason,
    })?;
    if build_tag_key(Some(build)) <= build_tag_key(name.build.as_deref()) {
        return Err(MirrorError::BuildTag {
            tag: build.to_string(),
            reason: format!(
                "{filename} already has the build tag {:?}; installers prefer the mirror's copy only if its tag sorts higher",
                name.build.as_deref().unwrap_or("")
            ),
        });
    }
    let new_name = name.with_build(build);
    let original = read_wheel(filename, bytes)?;
    let files: Vec<&ZipMember> = original
        .members
        .iter()
        .filter(|m| m.kind == ZipKind::File)
        .collect();
    let record = check_wheel_record(filename, &files)?;
    let dist_info = record.trim_end_matches("/RECORD").to_string();
    let wheel_path = format!("{dist_info}/WHEEL");
    let find = |path: &str| files.iter().find(|m| m.path == path).map(|m| &m.data);
    let old_wheel = find(&wheel_path).ok_or_else(|| MirrorError::Metadata {
        file: filename.to_string(),
        reason: format!("no {wheel_path}"),
    })?;
    let old_record = find(&record).ok_or_else(|| MirrorError::Metadata {
        file: filename.to_string(),
        reason: format!("no {record}"),
    })?;
    let new_wheel = set_build(filename, old_wheel, build)?;
    let new_record = record_with_wheel(filename, old_record, &wheel_path, &new_wheel)?;
    let members: Vec<Member<'_>> = files
        .iter()
        .map(|m| Member {
            path: &m.path,
            data: if m.path == wheel_path {
                &new_wheel
            } else if m.path == record {
                &new_record
            } else {
                &m.data
            },
            executable: m.executable,
        })
        .collect();
    let out = write_zip(&new_name, &members, settings)?;
    prove(&new_name, &out, &files, &wheel_path, &record)?;
    Ok(Recompressed {
        filename: new_name,
        sha256: sha256_hex(&out),
        bytes: out,
        original_filename: filename.to_string(),
        original_sha256,
        original_size: bytes.len() as u64,
    })
}

fn read_wheel(filename: &str, bytes: &[u8]) -> Result<ZipArchive, MirrorError> {
    read_zip(filename, bytes, &Limits::default()).map_err(|source| MirrorError::Archive {
        file: filename.to_string(),
        source,
    })
}

/// The path of RECORD, once RECORD has been found true of `files`.
pub(crate) fn check_wheel_record(
    filename: &str,
    files: &[&ZipMember],
) -> Result<String, MirrorError> {
    let record = record_path(filename, files.iter().map(|m| m.path.as_str())).map_err(|e| {
        MirrorError::Metadata {
            file: filename.to_string(),
            reason: e.to_string(),
        }
    })?;
    let digests: Vec<MemberDigest> = files
        .iter()
        .map(|m| MemberDigest::of_bytes(&m.path, &m.data))
        .collect();
    let record_bytes = files
        .iter()
        .find(|m| m.path == record)
        .map(|m| m.data.as_slice())
        .unwrap_or_default();
    let problems = record_problems(filename, &digests, record_bytes, &mut |path| {
        let data = files
            .iter()
            .find(|m| m.path == path)
            .map(|m| m.data.as_slice());
        Ok(kiln_digest::Digests::of_bytes(data.unwrap_or_default()).sha512)
    })
    .map_err(|e| MirrorError::Metadata {
        file: filename.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(problem) = problems.into_iter().next() {
        return Err(MirrorError::Record {
            file: filename.to_string(),
            member: problem.member,
            problem: problem.problem,
        });
    }
    Ok(record)
}

/// `WHEEL` with every `Build:` line dropped and `Build: {build}` added at
/// the end of its headers, in the file's own line ending.
fn set_build(filename: &str, wheel: &[u8], build: &str) -> Result<Vec<u8>, MirrorError> {
    let text = std::str::from_utf8(wheel).map_err(|_| MirrorError::Metadata {
        file: filename.to_string(),
        reason: "WHEEL is not UTF-8".into(),
    })?;
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + 32);
    let mut added = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if !added && bare.is_empty() {
            out.push_str(&format!("Build: {build}{eol}"));
            added = true;
        }
        let is_build = bare
            .split_once(':')
            .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("build"));
        if added || !is_build {
            out.push_str(line);
        }
    }
    if !added {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&format!("Build: {build}{eol}"));
    }
    Ok(out.into_bytes())
}

/// RECORD with its `WHEEL` row giving `wheel`'s hash and size: the same
/// line ending, every other line as it was.
fn record_with_wheel(
    filename: &str,
    record: &[u8],
    wheel_path: &str,
    wheel: &[u8],
) -> Result<Vec<u8>, MirrorError> {
    let text = std::str::from_utf8(record).map_err(|_| MirrorError::Metadata {
        file: filename.to_string(),
        reason: "RECORD is not UTF-8".into(),
    })?;
    let prefix = format!("{wheel_path},");
    let row = format!(
        "{wheel_path},sha256={},{}",
        kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(wheel)),
        wheel.len()
    );
    let mut out = String::with_capacity(text.len() + 8);
    let mut found = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with(&prefix) {
            found += 1;
            let eol = &line[line.trim_end_matches(['\r', '\n']).len()..];
            out.push_str(&row);
            out.push_str(eol);
        } else {
            out.push_str(line);
        }
    }
    if found != 1 {
        return Err(MirrorError::Record {
            file: filename.to_string(),
            member: wheel_path.to_string(),
            problem: format!("RECORD has {found} rows for it, unquoted at a line start"),
        });
    }
    Ok(out.into_bytes())
}

/// The lines of RECORD whose path is not `skip` (WHEEL and RECORD).
fn other_lines<'a>(record: &'a [u8], skip: &[&str]) -> Vec<&'a [u8]> {
    record
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| {
            !skip
                .iter()
                .any(|path| line.starts_with(format!("{path},").as_bytes()))
        })
        .collect()
}

/// The new wheel, read back, against the original's members.
fn prove(
    filename: &str,
    bytes: &[u8],
    original: &[&ZipMember],
    wheel_path: &str,
    record: &str,
) -> Result<(), MirrorError> {
    let fail = |member: &str, reason: String| MirrorError::Proof {
        file: filename.to_string(),
        member: member.to_string(),
        reason,
    };
    let new = read_wheel(filename, bytes)?;
    let new_files: Vec<&ZipMember> = new.members.iter().collect();
    if new_files.len() != original.len() {
        return Err(fail("*", "the member count changed".into()));
    }
    for (new, old) in new_files.iter().zip(original) {
        if new.path != old.path || new.kind != ZipKind::File {
            return Err(fail(&old.path, "member order or kind changed".into()));
        }
        if new.executable != old.executable {
            return Err(fail(&old.path, "the executable bit changed".into()));
        }
        if new.path != wheel_path && new.path != record && new.data != old.data {
            return Err(fail(&old.path, "the member's bytes changed".into()));
        }
    }
    check_wheel_record(filename, &new_files)?;
    let find = |files: &[&ZipMember]| {
        files
            .iter()
            .find(|m| m.path == record)
            .map(|m| m.data.clone())
            .unwrap_or_default()
    };
    let (old_record, new_record) = (find(original), find(&new_files));
    if other_lines(&old_record, &[wheel_path, record])
        != other_lines(&new_record, &[wheel_path, record])
    {
        return Err(fail(
            record,
            "RECORD differs from the original's in a line other than WHEEL's and RECORD's".into(),
        ));
    }
    Ok(())
}
