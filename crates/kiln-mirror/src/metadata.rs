//! PEP 658: the core metadata a wheel carries (`{name}.dist-info/METADATA`)
//! served beside it as `{file}.metadata`, so a resolver reads a few
//! kilobytes instead of the wheel; and the `Requires-Python` the index
//! pages repeat from it. The wheel's RECORD is checked first: the mirror
//! serves no wheel whose RECORD lies.

use kiln_archive::{Limits, TarKind, ZipKind, ZipMember, read_zip, visit_tar_gz};

use crate::MirrorError;
use crate::recompress::check_wheel_record;

/// The METADATA of the wheel `filename` (whose bytes the caller has
/// already checked against its stated sha256), after its RECORD verified.
pub fn wheel_metadata(filename: &str, bytes: &[u8]) -> Result<Vec<u8>, MirrorError> {
    let wheel =
        read_zip(filename, bytes, &Limits::default()).map_err(|source| MirrorError::Archive {
            file: filename.to_string(),
            source,
        })?;
    let files: Vec<&ZipMember> = wheel
        .members
        .iter()
        .filter(|m| m.kind == ZipKind::File)
        .collect();
    let record = check_wheel_record(filename, &files)?;
    let metadata = record.replace("/RECORD", "/METADATA");
    files
        .iter()
        .find(|m| m.path == metadata)
        .map(|m| m.data.clone())
        .ok_or_else(|| MirrorError::Metadata {
            file: filename.to_string(),
            reason: format!("no {metadata}"),
        })
}

/// The largest `PKG-INFO` read from an sdist.
const MAX_PKG_INFO: u64 = 16 << 20;

/// An sdist's `{name}-{version}/PKG-INFO` (its core metadata), read through
/// the bounded tar reader; `None` if it has none at the top.
pub fn sdist_pkg_info(filename: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, MirrorError> {
    let mut found = None;
    visit_tar_gz(filename, bytes, &Limits::default(), &mut |member, data| {
        let top_level = member.path.split('/').count() == 2;
        if found.is_none()
            && member.kind == TarKind::File
            && top_level
            && member.path.ends_with("/PKG-INFO")
            && member.size <= MAX_PKG_INFO
        {
            let mut text = Vec::new();
            data.read_to_end(&mut text)
                .map_err(|source| kiln_archive::ArchiveError::Read {
                    archive: filename.to_string(),
                    entry: member.path.clone(),
                    source,
                })?;
            found = Some(text);
        }
        Ok(())
    })
    .map_err(|source| MirrorError::Archive {
        file: filename.to_string(),
        source,
    })?;
    Ok(found)
}

/// The `Requires-Python` header of core metadata, if any (the headers end
/// at the first blank line; a folded value is joined).
pub fn requires_python(metadata: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(metadata);
    let mut value: Option<String> = None;
    let mut in_field = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if in_field && line.starts_with([' ', '\t']) {
            if let Some(v) = &mut value {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        in_field = false;
        if let Some((key, rest)) = line.split_once(':')
            && key.trim().eq_ignore_ascii_case("requires-python")
            && value.is_none()
        {
            value = Some(rest.trim().to_string());
            in_field = true;
        }
    }
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python_is_read_from_the_headers_only() {
        let m = b"Metadata-Version: 2.4\nName: x\nRequires-Python: >=3.9,\n <4\n\nRequires-Python: no\n";
        assert_eq!(requires_python(m).as_deref(), Some(">=3.9, <4"));
        assert_eq!(requires_python(b"Name: x\n"), None);
    }
}
