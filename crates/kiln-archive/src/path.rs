//! Member path rules shared by every writer, and the looser rules readers
//! apply to archives made by other tools.

use crate::ArchiveError;

/// The rules every writer enforces: a relative, `/`-separated path with no
/// empty, `.` or `..` components, no backslash and no NUL.
pub fn validate_member_path(path: &str) -> Result<(), ArchiveError> {
    let bad = |reason| {
        Err(ArchiveError::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("empty path");
    }
    if path.starts_with('/') {
        return bad("absolute path");
    }
    if path.contains('\\') {
        return bad("backslash in path");
    }
    if path.contains('\0') {
        return bad("NUL in path");
    }
    for component in path.split('/') {
        match component {
            "" => return bad("empty path component (`//` or trailing `/`)"),
            "." => return bad("`.` component"),
            ".." => return bad("`..` component"),
            _ => {}
        }
    }
    Ok(())
}

/// Reader-side check: what makes a path unsafe to extract, as opposed to
/// merely non-canonical (`./` prefixes and trailing `/` are reported, not
/// refused). Returns the reason for refusal.
pub(crate) fn unsafe_reason(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty path");
    }
    if path.starts_with('/') {
        return Some("absolute path");
    }
    if path.contains('\0') {
        return Some("NUL in path");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Some("Windows drive-letter path");
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Some("`..` component");
    }
    if path.starts_with('\\') {
        return Some("absolute path");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_rules() {
        for ok in ["a", "a/b.txt", "pkg/données/é.txt", ".hidden", "a/..b"] {
            assert!(validate_member_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a\\b", "a//b", "a/", "./a", "a/./b", "../a", "a/..", "a\0",
        ] {
            assert!(validate_member_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reader_rules() {
        assert_eq!(unsafe_reason("./a/b"), None);
        assert_eq!(unsafe_reason("a/b/"), None);
        assert!(unsafe_reason("/etc/passwd").is_some());
        assert!(unsafe_reason("a/../../x").is_some());
        assert!(unsafe_reason("a\\..\\x").is_some());
        assert!(unsafe_reason("C:/x").is_some());
    }
}
