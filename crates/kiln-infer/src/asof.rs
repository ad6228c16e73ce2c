//! The build requirements as they were on a date: from a project's index
//! listing (PEP 700 `upload-time`, which kiln-index keeps), the newest
//! final release uploaded before the cutoff, as the `name<=version`
//! constraint that keeps a resolver from anything newer. This is how a
//! rebuild uses what a publisher could have used when no wheel names it,
//! and `lock --exclude-newer DATE`.

use crate::InferError;
use kiln_index::IndexFile;

/// `DATE` as the RFC 3339 UTC prefix `YYYY-MM-DDTHH:MM:SS` that upload
/// times are compared on: `2026-11-04` is midnight UTC that day; a full
/// `2026-11-04T18:37:08Z` (fraction allowed) must be UTC.
pub fn cutoff(date: &str) -> Result<String, InferError> {
    let bad = |problem: &str| InferError::Date {
        date: date.to_string(),
        problem: problem.to_string(),
    };
    let full = if date.len() == 10 {
        format!("{date}T00:00:00")
    } else {
        let Some(stem) = date.strip_suffix('Z') else {
            return Err(bad("a time must be UTC, ending in Z"));
        };
        stem.split('.').next().unwrap_or_default().to_string()
    };
    let b = full.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return Err(bad("expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"));
    }
    Ok(full)
}

/// The newest final release among `files` (one project's listing) with a
/// file, not yanked, uploaded before `cutoff` (from [`cutoff`]). `None`
/// when no file states an upload time before it.
pub fn newest_before(files: &[IndexFile], cutoff: &str) -> Option<String> {
    files
        .iter()
        .filter(|f| !f.yanked)
        .filter(|f| {
            f.upload_time
                .as_deref()
                .is_some_and(|t| t.get(..19).is_some_and(|t| t < cutoff))
        })
        .filter_map(|f| {
            let text = kiln_names::filename_version(&f.filename)?;
            let version = kiln_names::parse_version(text).ok()?;
            (!version.any_prerelease()).then_some((version, text.to_string()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(filename: &str, time: Option<&str>, yanked: bool) -> IndexFile {
        IndexFile {
            filename: filename.into(),
            url: String::new(),
            sha256: None,
            yanked,
            yank_reason: None,
            upload_time: time.map(str::to_string),
        }
    }

    #[test]
    fn dates() {
        assert_eq!(cutoff("2026-11-04").unwrap(), "2026-11-04T00:00:00");
        assert_eq!(
            cutoff("2026-11-04T18:37:08.5Z").unwrap(),
            "2026-11-04T18:37:08"
        );
        for bad in [
            "2026-11-4",
            "yesterday",
            "2026-11-04T18:37:08",
            "2026-11-04T18:37Z",
            "",
        ] {
            assert!(cutoff(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn newest_final_release_uploaded_before() {
        let files = [
            file(
                "h-1.9.0-py3-none-any.whl",
                Some("2026-01-01T00:00:00Z"),
                false,
            ),
            file("h-1.10.0.tar.gz", Some("2026-03-01T00:00:00.1Z"), false),
            file(
                "h-1.11.0-py3-none-any.whl",
                Some("2026-03-02T00:00:00Z"),
                true,
            ),
            file(
                "h-1.12.0rc1-py3-none-any.whl",
                Some("2026-03-03T00:00:00Z"),
                false,
            ),
            file(
                "h-1.13.0-py3-none-any.whl",
                Some("2026-06-01T00:00:00Z"),
                false,
            ),
            file("h-2.0.0-py3-none-any.whl", None, false),
        ];
        let at = |d: &str| newest_before(&files, &cutoff(d).unwrap());
        assert_eq!(at("2026-05-01").as_deref(), Some("1.10.0"));
        assert_eq!(at("2026-02-01").as_deref(), Some("1.9.0"));
        assert_eq!(at("2025-01-01"), None);
        assert_eq!(at("2027-01-01").as_deref(), Some("1.13.0"));
    }
}
