//! Which release the published files are, when the project does not say:
//! the version a project with a dynamic version published, and when an
//! index says the release was uploaded (the date its build requirements
//! are taken as of, when no wheel names the backend).

use crate::InferError;
use std::collections::BTreeSet;

/// The version of a release whose project does not state it statically,
/// from the file names published: the one version they hold, or among
/// several the one `git_ref` names (`v7.0.1` names `7.0.1`). `name` is for
/// the message.
pub fn published_version<'a>(
    filenames: impl IntoIterator<Item = &'a str>,
    name: &str,
    git_ref: Option<&str>,
) -> Result<String, InferError> {
    let versions: BTreeSet<String> = filenames
        .into_iter()
        .filter_map(|f| kiln_names::filename_release(f).map(|(_, v)| v))
        .collect();
    if versions.len() == 1 {
        return Ok(versions.into_iter().next().unwrap_or_default());
    }
    if let Some(r) = git_ref {
        let tagged = r.trim_start_matches(|c: char| !c.is_ascii_digit());
        if versions.contains(tagged) {
            return Ok(tagged.to_string());
        }
    }
    Err(InferError::DynamicVersion {
        name: name.to_string(),
        versions: versions.into_iter().collect(),
    })
}

/// When an index says a release was uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The index's PEP 700 `upload-time`, as it states it.
    pub time: String,
    /// The index that states it.
    pub index: String,
    /// `time` to the second, in UTC (`YYYY-MM-DDTHH:MM:SSZ`): the date the
    /// build requirements are taken as of.
    pub date: String,
    /// Why the requirements are taken as of then, for the report.
    pub evidence: String,
}

/// The earliest of the `(upload time, index)` pairs the indexes state for
/// a release's files, or `None` when no index states one.
pub fn earliest_upload(uploads: impl IntoIterator<Item = (String, String)>) -> Option<Upload> {
    let (time, index) = uploads.into_iter().min()?;
    let date = format!("{}Z", time.get(..19).unwrap_or_default());
    let evidence = format!(
        "no published wheel names the backend; the release was uploaded to {index} at {time}"
    );
    Some(Upload {
        time,
        index,
        date,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_version_published_or_the_one_the_ref_names() {
        let one = ["a-1.0.tar.gz", "a-1.0-py3-none-any.whl"];
        assert_eq!(published_version(one, "a", None).unwrap(), "1.0");
        let two = ["a-1.0.tar.gz", "a-2.0.tar.gz", "README"];
        assert_eq!(published_version(two, "a", Some("v2.0")).unwrap(), "2.0");
        let e = published_version(two, "a", Some("v3.0"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "a: the version is dynamic and the published files hold 2 version(s) (1.0, 2.0): give the sdist as SOURCE, or a --ref naming the version"
        );
        let e = published_version([], "a", None).unwrap_err().to_string();
        assert!(e.contains("hold 0 version(s) ()"), "{e}");
    }

    #[test]
    fn the_earliest_upload_an_index_states() {
        assert_eq!(earliest_upload([]), None);
        let up = earliest_upload([
            ("2026-03-02T10:00:00.123456Z".into(), "https://b/".into()),
            ("2026-03-01T09:08:07.5Z".into(), "https://a/".into()),
        ])
        .unwrap();
        assert_eq!(up.date, "2026-03-01T09:08:07Z");
        assert_eq!(up.index, "https://a/");
        assert_eq!(
            up.evidence,
            "no published wheel names the backend; the release was uploaded to https://a/ at 2026-03-01T09:08:07.5Z"
        );
    }
}
