//! PEP 658: the core metadata a wheel carries (`{name}.dist-info/METADATA`)
//! served beside it as `{file}.metadata`, so a resolver reads a few
//! kilobytes instead of the wheel; and the `Requires-Python` the index
//! pages repeat from it. The wheel's RECORD is checked first: the mirror
//! serves no wheel whose RECORD lies.

use kiln_archive::{Limits, ZipKind, ZipMember, read_zip};

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
