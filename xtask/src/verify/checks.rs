//! verify's checks that need a source: the digest statements and the
//! provenance published beside the artifacts, obtained from a directory or
//! URL and handed to `kiln-verify`'s decisions (and `kiln-provenance`'s and
//! `kiln-sigstore`'s checks), each returning a [`Status`].

use super::sources::{PROVENANCE_MAX, Source, fetch_optional, read_capped};
use crate::fetch::{self, FetchError};
use kiln_record::Record;
use kiln_verify::{Expected, SUMS, Status, check_distinfo, check_sums, published_text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The digest statements published beside the artifacts, each checked
/// against the record (or, without one, the expected digests): every
/// `SHA256SUMS` line naming an expected artifact, and the `.distinfo`
/// field by field. A file that is not published is no check; one that
/// cannot be read or parsed fails, naming the file and line.
pub(super) fn published_statements(
    source: &Source,
    dir: &Path,
    distinfo: &str,
    record: Option<&Record>,
    expected: &BTreeMap<String, Expected>,
) -> Vec<(String, Status)> {
    let mut checks = Vec::new();
    if let Some(bytes) = fetch_optional(source, SUMS, dir) {
        checks.push((SUMS.to_string(), check_sums(bytes, expected)));
    }
    if let Some(bytes) = fetch_optional(source, distinfo, dir) {
        checks.push((
            distinfo.to_string(),
            check_distinfo(bytes, distinfo, record, expected),
        ));
    }
    checks
}

/// The provenance file from one source, checked: signature by a trusted
/// key, subjects exactly the artifacts, the tag's commit.
pub(super) fn check_provenance(
    source: &Source,
    file: &str,
    dir: &Path,
    trusted: &[(kiln_provenance::PublicKey, String)],
    expected: &BTreeMap<String, (String, Option<String>)>,
    commit: &str,
    keyless: &Keyless<'_>,
) -> Status {
    // Keyless: the provenance's Sigstore bundle vouches for the statement
    // (identity from release.toml, Sigstore's trusted root), for every
    // artifact it names.
    if let Some(bundle) = fetch_optional(source, &kiln_sigstore::bundle_name(file), dir) {
        let bundle = match bundle {
            Ok(b) => b,
            Err(e) => return Status::Failed(e),
        };
        let Some(policy) = keyless.policy else {
            return Status::Failed(NO_POLICY.into());
        };
        for (artifact, path) in keyless.copies {
            if let Err(e) = crate::keyless::verify_bundle(&bundle, path, policy, None) {
                return Status::Failed(format!(
                    "{} for {artifact}: {e:#}",
                    kiln_sigstore::bundle_name(file)
                ));
            }
        }
        let payload = crate::keyless::envelope_line(&bundle)
            .and_then(|line| Ok(kiln_provenance::Envelope::parse(line.trim_end())?))
            .and_then(|e| {
                use base64::Engine as _;
                Ok(base64::engine::general_purpose::STANDARD.decode(e.payload)?)
            });
        let checked =
            payload.and_then(|p| Ok(kiln_provenance::check_statement(&p, expected, commit)?));
        return match checked {
            Ok(()) => Status::Match,
            Err(e) => Status::Failed(format!("{file}: {e:#}")),
        };
    }
    let path = match source {
        Source::Dir(d) => {
            let p = d.join(file);
            if std::fs::symlink_metadata(&p).is_err() {
                return Status::Missing(format!("{file} is not in {}", d.display()));
            }
            p
        }
        Source::Url(base) => {
            let url = format!("{}/{file}", base.trim_end_matches('/'));
            if let Err(e) = std::fs::create_dir_all(dir) {
                return Status::Failed(format!("cannot create {}: {e}", dir.display()));
            }
            match fetch::download(&url, dir, file, PROVENANCE_MAX) {
                Ok(f) => f.path,
                Err(FetchError::NotFound { .. }) => {
                    return Status::Missing(format!("{url}: 404 Not Found"));
                }
                Err(e) => return Status::Failed(e.to_string()),
            }
        }
        Source::Index(_) => return Status::Missing("an index carries no provenance".into()),
    };
    let text = match published_text(read_capped(&path, PROVENANCE_MAX), file) {
        Ok(text) => text,
        Err(failed) => return failed,
    };
    match kiln_provenance::check_file(&text, trusted, crate::layout::KEYS_DIR, expected, commit) {
        Ok(_) => Status::Match,
        Err(e) => Status::Failed(format!("{file}: {e:#}")),
    }
}

/// What keyless checks need: release.toml's identity and the published
/// copies of the artifacts at this source.
pub(super) struct Keyless<'a> {
    pub(super) policy: Option<&'a crate::keyless::IdentityPolicy>,
    pub(super) copies: &'a BTreeMap<String, PathBuf>,
}

pub(super) const NO_POLICY: &str = "a Sigstore bundle is published, but release.toml gives no [project.signing] keyless-issuer and keyless-identity to check it against";

#[cfg(test)]
mod tests {
    use super::*;

    const WHEEL: &str = "p-1.0-py3-none-any.whl";
    const OTHER_SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const DISTINFO: &str = "p-1.0.distinfo";
    const RECORD: &str = include_str!("../../../fuzz/seeds/distinfo/native.distinfo");

    fn record() -> Record {
        Record::parse(DISTINFO, RECORD).unwrap()
    }

    fn expected() -> BTreeMap<String, Expected> {
        kiln_verify::expectations(Some(&record()), &BTreeMap::new()).0
    }

    #[test]
    fn statements_not_published_are_no_checks() {
        let dir = tempfile::tempdir().unwrap();
        let source = Source::Dir(dir.path().to_path_buf());
        let got = published_statements(&source, dir.path(), DISTINFO, Some(&record()), &expected());
        assert!(got.is_empty(), "{got:?}");
        std::fs::write(
            dir.path().join("SHA256SUMS"),
            format!("{OTHER_SHA}  {WHEEL}\n"),
        )
        .unwrap();
        let got = published_statements(&source, dir.path(), DISTINFO, Some(&record()), &expected());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "SHA256SUMS");
        assert!(
            matches!(&got[0].1, Status::Disagrees(d) if d.starts_with("SHA256SUMS:1: ")),
            "{got:?}"
        );
    }
}
