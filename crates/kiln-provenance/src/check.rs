//! Checking a release's provenance: each line of an `.intoto.jsonl` file a
//! DSSE envelope signed by a trusted key over an in-toto payload, whose
//! statement is kiln provenance with subjects exactly the release's
//! artifacts (matching sha256, and sha512 where known) and the source
//! commit the release tag's commit. Also the small facts the statement is
//! made of that are pure functions: its file name and RFC 3339 times.
//!
//! The decisions live here so they are tested without a checkout; `verify`
//! gathers the trusted keys and the expected digests and prints the result.

use crate::{Envelope, PublicKey, parse_statement};
use std::collections::BTreeMap;

/// The artifacts a statement must name: file name to (sha256 hex, sha512
/// hex when known).
pub type ExpectedSubjects = BTreeMap<String, (String, Option<String>)>;

/// Why a provenance file or one of its statements does not hold.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("line {line}: not a DSSE envelope: {source}")]
    Envelope {
        line: usize,
        source: crate::DsseError,
    },
    #[error("line {line}: signature check failed: {source} (trusted: {trusted})")]
    Signature {
        line: usize,
        source: crate::DsseError,
        trusted: String,
    },
    #[error("line {line}: {source}")]
    Statement { line: usize, source: StatementCheck },
    #[error("the provenance file is empty")]
    Empty,
}

/// Why one statement does not describe the release.
#[derive(Debug, thiserror::Error)]
pub enum StatementCheck {
    #[error("not kiln provenance: {0}")]
    NotKiln(crate::StatementError),
    #[error("subject {0} is listed twice")]
    Twice(String),
    #[error("subject {0} is not an artifact of this release")]
    Unexpected(String),
    #[error("subject {name} has {algorithm} {listed}, the artifact has {actual}")]
    Digest {
        name: String,
        algorithm: &'static str,
        listed: String,
        actual: String,
    },
    #[error("artifact {0} is missing from the subjects")]
    Missing(String),
    #[error("the provenance is of commit {listed}, the release tag is commit {tag}")]
    OtherCommit { listed: String, tag: String },
    #[error("the provenance names no source commit")]
    NoCommit,
}

/// The provenance file's name for a project and version.
pub fn file_name(project: &str, version: &str) -> String {
    format!("{project}-{version}.intoto.jsonl")
}

/// Check one provenance file against the release. `trusted` pairs each key
/// with its label; `keys_dir` is where a key would be committed (named when
/// none is trusted). Ok(the label of each line's signer).
pub fn check_file(
    text: &str,
    trusted: &[(PublicKey, String)],
    keys_dir: &str,
    expected: &ExpectedSubjects,
    commit: &str,
) -> Result<Vec<String>, CheckError> {
    let keys: Vec<PublicKey> = trusted.iter().map(|(k, _)| k.clone()).collect();
    let mut signers = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_no = n + 1;
        let envelope = Envelope::parse(line).map_err(|source| CheckError::Envelope {
            line: line_no,
            source,
        })?;
        let verified = envelope
            .verify_in_toto(&keys)
            .map_err(|source| CheckError::Signature {
                line: line_no,
                source,
                trusted: if trusted.is_empty() {
                    format!("no keys -- commit a public key under {keys_dir}/")
                } else {
                    trusted
                        .iter()
                        .map(|(_, l)| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })?;
        check_statement(&verified.payload, expected, commit).map_err(|source| {
            CheckError::Statement {
                line: line_no,
                source,
            }
        })?;
        let label = trusted
            .iter()
            .find(|(k, _)| k.keyid() == verified.keyid)
            .map_or_else(|| verified.keyid.clone(), |(_, l)| l.clone());
        signers.push(label);
    }
    if signers.is_empty() {
        return Err(CheckError::Empty);
    }
    Ok(signers)
}

/// The statement's own checks: kiln provenance, subjects exactly the
/// expected artifacts with matching digests, the tag's commit.
pub fn check_statement(
    payload: &[u8],
    expected: &ExpectedSubjects,
    commit: &str,
) -> Result<(), StatementCheck> {
    let statement = parse_statement(payload).map_err(StatementCheck::NotKiln)?;
    let mut seen = BTreeMap::new();
    for s in &statement.subjects {
        if seen.insert(s.name.clone(), ()).is_some() {
            return Err(StatementCheck::Twice(s.name.clone()));
        }
        let Some((sha256, sha512)) = expected.get(&s.name) else {
            return Err(StatementCheck::Unexpected(s.name.clone()));
        };
        let listed = |alg: &str| s.digest.get(alg).map_or("(none)", String::as_str);
        for (algorithm, actual) in [("sha256", Some(sha256)), ("sha512", sha512.as_ref())] {
            if let Some(actual) = actual
                && listed(algorithm) != actual
            {
                return Err(StatementCheck::Digest {
                    name: s.name.clone(),
                    algorithm,
                    listed: listed(algorithm).to_string(),
                    actual: actual.clone(),
                });
            }
        }
    }
    if let Some(name) = expected.keys().find(|name| !seen.contains_key(*name)) {
        return Err(StatementCheck::Missing(name.clone()));
    }
    match statement.source_commit {
        Some(c) if c == commit => Ok(()),
        Some(listed) => Err(StatementCheck::OtherCommit {
            listed,
            tag: commit.to_string(),
        }),
        None => Err(StatementCheck::NoCommit),
    }
}

/// Seconds since 1970 as RFC 3339 UTC (`2026-11-23T10:00:00Z`).
pub fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rem = seconds % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BuildParameters, PrivateKey, ProvenanceInput, Signing, SigningKind, Subject, statement_json,
    };
    use kiln_names::BuildMode;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(315_532_800), "1980-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_428_010), "2026-11-23T10:00:10Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    fn statement(subjects: &[(&str, &str)], commit: &str) -> Vec<u8> {
        statement_json(&ProvenanceInput {
            subjects: subjects
                .iter()
                .map(|(name, sha256)| Subject {
                    name: (*name).into(),
                    sha256: (*sha256).into(),
                    sha512: "cd".repeat(64),
                })
                .collect(),
            parameters: BuildParameters {
                project: "demo".into(),
                version: "1.0".into(),
                source_repository: "file://local".into(),
                source_ref: "refs/tags/v1.0".into(),
                mode: BuildMode::Native,
                epoch: 315_532_800,
                compression: BTreeMap::new(),
                pins: BTreeMap::new(),
                signing: Signing {
                    kind: SigningKind::Key,
                    keyid: None,
                },
            },
            source_commit: commit.into(),
            dependencies: Vec::new(),
            builder_id: "local".into(),
            invocation_id: "local:0".into(),
            started_on: rfc3339(0),
            finished_on: rfc3339(1),
        })
    }

    fn expected(names: &[&str]) -> ExpectedSubjects {
        names
            .iter()
            .map(|n| ((*n).to_string(), ("ab".repeat(32), Some("cd".repeat(64)))))
            .collect()
    }

    #[test]
    fn a_statement_must_name_exactly_the_artifacts_of_the_tag_commit() {
        let sha = "ab".repeat(32);
        let want = expected(&["a.whl", "a.tar.gz"]);
        let good = statement(&[("a.whl", &sha), ("a.tar.gz", &sha)], "c0ffee");
        check_statement(&good, &want, "c0ffee").unwrap();
        let cases = [
            (
                statement(&[("a.whl", &sha), ("a.tar.gz", &sha)], "c0ffee"),
                "beef",
                "the provenance is of commit c0ffee, the release tag is commit beef",
            ),
            (
                statement(&[("a.whl", &sha)], "c0ffee"),
                "c0ffee",
                "artifact a.tar.gz is missing from the subjects",
            ),
            (
                statement(&[("a.whl", &sha), ("b.whl", &sha)], "c0ffee"),
                "c0ffee",
                "subject b.whl is not an artifact of this release",
            ),
            (
                statement(&[("a.whl", &sha), ("a.whl", &sha)], "c0ffee"),
                "c0ffee",
                "subject a.whl is listed twice",
            ),
            (
                statement(&[("a.whl", &"00".repeat(32)), ("a.tar.gz", &sha)], "c0ffee"),
                "c0ffee",
                "subject a.whl has sha256 0000",
            ),
        ];
        for (payload, commit, message) in cases {
            let err = check_statement(&payload, &want, commit).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
        }
        let err = check_statement(b"{}", &want, "c0ffee").unwrap_err();
        assert!(err.to_string().starts_with("not kiln provenance"), "{err}");
    }

    #[test]
    fn a_file_is_checked_line_by_line_against_the_trusted_keys_only() {
        let sha = "ab".repeat(32);
        let want = expected(&["a.whl"]);
        let payload = statement(&[("a.whl", &sha)], "c0ffee");
        let key = PrivateKey::from_seed([1; 32]);
        let line = crate::dsse::sign(crate::IN_TOTO_PAYLOAD_TYPE, &payload, &key).to_json_line();
        let trusted = [(key.public_key(), "release/keys/k.pub".to_string())];
        let text = format!("{line}\n\n{line}\n");
        let signers = check_file(&text, &trusted, "release/keys", &want, "c0ffee").unwrap();
        assert_eq!(signers, ["release/keys/k.pub", "release/keys/k.pub"]);

        let other = [(PrivateKey::from_seed([2; 32]).public_key(), "o".into())];
        let err = check_file(&text, &other, "release/keys", &want, "c0ffee").unwrap_err();
        assert!(
            matches!(err, CheckError::Signature { line: 1, .. }),
            "{err}"
        );
        let err = check_file(&text, &[], "release/keys", &want, "c0ffee").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("(trusted: no keys -- commit a public key under release/keys/)"),
            "{err}"
        );
        let err = check_file(&text, &trusted, "release/keys", &want, "beef").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 1: the provenance is of commit")
        );
        let err = check_file("\n \n", &trusted, "release/keys", &want, "c0ffee").unwrap_err();
        assert!(matches!(err, CheckError::Empty));
        let err = check_file("{", &trusted, "release/keys", &want, "c0ffee").unwrap_err();
        assert!(err.to_string().starts_with("line 1: not a DSSE envelope"));
    }
}
