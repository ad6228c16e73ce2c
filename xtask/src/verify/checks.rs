//! The decisions of verify: each compares what a source states or holds
//! with the record (or, without one, the rebuild) and returns a [`Status`]
//! whose message names the file and line that disagree.

use super::sources::{PROVENANCE_MAX, Source, fetch_optional, read_capped};
use super::{Expected, Status};
use crate::engine::BuiltArtifact;
use crate::fetch::{self, FetchError};
use crate::pins::Pins;
use kiln_diff::{DiffOptions, diff_files};
use kiln_digest::Digests;
use kiln_record::{ArtifactDigests, Record};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Record pins that differ from the checkout's: a rebuild with other pins
/// may well differ, and the report should say why up front.
pub(super) fn pin_differences(record: &Record, pins: &Pins) -> Vec<String> {
    let mut current = pins.flat.clone();
    current.insert("kiln.version".into(), env!("CARGO_PKG_VERSION").into());
    let mut notes = Vec::new();
    for (key, recorded) in &record.pins {
        if key == "rust.actual" {
            notes.push(format!(
                "the release was made with rustc {recorded} instead of the pinned toolchain"
            ));
            continue;
        }
        match current.get(key) {
            Some(now) if now == recorded => {}
            Some(now) => notes.push(format!(
                "pin {key}: the record says {recorded}, this verification uses {now}"
            )),
            None => notes.push(format!(
                "pin {key}: the record says {recorded}, this kiln has no such pin"
            )),
        }
    }
    notes
}

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

/// A published file's text: what could not be read, or is not UTF-8,
/// fails the check naming `file`.
fn published_text(bytes: Result<Vec<u8>, String>, file: &str) -> Result<String, Status> {
    bytes
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{file}: not UTF-8")))
        .map_err(Status::Failed)
}

/// A statement agrees with the record when nothing was found wrong;
/// otherwise it disagrees, one problem a line.
fn agreement(problems: Vec<String>) -> Status {
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
    }
}

const SUMS: &str = "SHA256SUMS";

pub(super) fn check_sums(
    bytes: Result<Vec<u8>, String>,
    expected: &BTreeMap<String, Expected>,
) -> Status {
    let text = match published_text(bytes, SUMS) {
        Ok(text) => text,
        Err(failed) => return failed,
    };
    let lines = match kiln_record::parse_sha256sums(SUMS, &text) {
        Ok(lines) => lines,
        Err(e) => return Status::Disagrees(e.to_string()),
    };
    let problems: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let name = l.file.strip_prefix("./").unwrap_or(&l.file);
            let want = expected.get(name)?;
            (l.sha256 != want.sha256).then(|| {
                format!(
                    "{SUMS}:{}: {name} has sha256 {}; the record says {}",
                    l.line, l.sha256, want.sha256
                )
            })
        })
        .collect();
    agreement(problems)
}

/// A published `.distinfo` must be the record: every digest and size of
/// every artifact, and the fields that determine the bytes.
pub(super) fn check_distinfo(
    bytes: Result<Vec<u8>, String>,
    file: &str,
    record: Option<&Record>,
    expected: &BTreeMap<String, Expected>,
) -> Status {
    let text = match published_text(bytes, file) {
        Ok(text) => text,
        Err(failed) => return failed,
    };
    let published = match Record::parse(file, &text) {
        Ok(r) => r,
        Err(e) => return Status::Disagrees(e.to_string()),
    };
    // Where a field is written, for the message.
    let at = |prefix: &str| {
        text.lines()
            .position(|l| l.starts_with(prefix))
            .map_or_else(|| file.to_string(), |n| format!("{file}:{}", n + 1))
    };
    let mut problems = Vec::new();
    let mut differ = |key: String, stated: Option<String>, recorded: Option<String>| {
        if stated != recorded {
            let place = at(&format!("{key} = "));
            let stated = stated.unwrap_or_else(|| "nothing".into());
            let recorded = recorded.unwrap_or_else(|| "nothing".into());
            problems.push(format!(
                "{place}: {key} says {stated}; the record says {recorded}"
            ));
        }
    };
    match record {
        Some(r) => {
            differ(
                "PROJECT".into(),
                Some(published.project.clone()),
                Some(r.project.clone()),
            );
            differ(
                "VERSION".into(),
                Some(published.version.clone()),
                Some(r.version.clone()),
            );
            differ(
                "EPOCH".into(),
                Some(published.epoch.to_string()),
                Some(r.epoch.to_string()),
            );
            differ(
                "MODE".into(),
                Some(published.mode.to_string()),
                Some(r.mode.to_string()),
            );
            differ("LOCK".into(), published.lock.clone(), r.lock.clone());
            for (label, stated, recorded) in [
                ("PIN", &published.pins, &r.pins),
                (
                    "BUILD-REQUIRES",
                    &published.build_requires,
                    &r.build_requires,
                ),
            ] {
                let keys: std::collections::BTreeSet<&String> =
                    stated.keys().chain(recorded.keys()).collect();
                for key in keys {
                    differ(
                        format!("{label} ({key})"),
                        stated.get(key).cloned(),
                        recorded.get(key).cloned(),
                    );
                }
            }
            let names: std::collections::BTreeSet<&String> = published
                .artifacts
                .keys()
                .chain(r.artifacts.keys())
                .collect();
            for name in names {
                let (p, d) = (published.artifacts.get(name), r.artifacts.get(name));
                differ(
                    format!("SHA256 ({name})"),
                    p.map(|p| p.sha256.clone()),
                    d.map(|d| d.sha256.clone()),
                );
                differ(
                    format!("SHA512 ({name})"),
                    p.map(|p| p.sha512.clone()),
                    d.map(|d| d.sha512.clone()),
                );
                differ(
                    format!("BLAKE2s ({name})"),
                    p.map(|p| p.blake2s.clone()),
                    d.map(|d| d.blake2s.clone()),
                );
                differ(
                    format!("SIZE ({name})"),
                    p.map(|p| p.size.to_string()),
                    d.map(|d| d.size.to_string()),
                );
            }
        }
        // Without a record (faithful), the rebuild's digests are expected.
        None => {
            for (name, want) in expected {
                let p = published.artifacts.get(name);
                differ(
                    format!("SHA256 ({name})"),
                    p.map(|p| p.sha256.clone()),
                    Some(want.sha256.clone()),
                );
                differ(
                    format!("SIZE ({name})"),
                    p.map(|p| p.size.to_string()),
                    Some(want.size.to_string()),
                );
            }
        }
    }
    agreement(problems)
}

/// Whether a copy's digests are the expected ones: the sha256 and the size.
fn same_digests(sha256: &str, size: u64, want: &Expected) -> bool {
    sha256 == want.sha256 && size == want.size
}

/// The rebuild against the record: every recorded artifact rebuilt with
/// the recorded sha256 and size, and nothing rebuilt that the record does
/// not list. One status per artifact, the record's first.
pub(super) fn rebuild_against_record(
    record: &BTreeMap<String, ArtifactDigests>,
    rebuilt: &BTreeMap<String, Expected>,
) -> Vec<(String, Status)> {
    let mut checks = Vec::new();
    for (file, d) in record {
        let status = match rebuilt.get(file) {
            None => Status::Missing(format!(
                "the record lists {file}, the rebuild did not produce it"
            )),
            Some(a) if a.sha256 == d.sha256 && a.size == d.size => Status::Match,
            Some(a) => Status::Differs {
                sha256: a.sha256.clone(),
                explanation: Err(format!(
                    "the rebuild has sha256 {} ({} bytes), the record {} ({} bytes); give a published copy (--against, --index) to see what differs",
                    a.sha256, a.size, d.sha256, d.size
                )),
            },
        };
        checks.push((file.clone(), status));
    }
    for file in rebuilt.keys().filter(|f| !record.contains_key(*f)) {
        checks.push((
            file.clone(),
            Status::Failed(format!(
                "the rebuild produced {file}, which the record does not list"
            )),
        ));
    }
    checks
}

/// An index page's statement of an artifact's sha256 against the record
/// (compared without regard to case, as hex is).
pub(super) fn index_statement(page: &str, file: &str, stated: &str, want: &Expected) -> Status {
    if stated.eq_ignore_ascii_case(&want.sha256) {
        Status::Match
    } else {
        Status::Disagrees(format!(
            "the index page {page} links {file} with sha256 {stated}; the record says {}",
            want.sha256
        ))
    }
}

/// Digest first; only a copy whose digest differs is opened, by the
/// bounded readers of the diff engine, against the rebuilt artifact.
pub(super) fn compare(
    path: &Path,
    known: Option<(String, u64)>,
    file: &str,
    want: &Expected,
    rebuilt: Option<&&BuiltArtifact>,
    options: &DiffOptions,
) -> Status {
    let (sha256, size) = match known {
        Some(known) => known,
        None => match Digests::of_file(path) {
            Ok(d) => (d.sha256_hex(), d.size),
            Err(e) => return Status::Failed(format!("cannot read {}: {e}", path.display())),
        },
    };
    if same_digests(&sha256, size, want) {
        return Status::Match;
    }
    let explanation = match rebuilt {
        None => Err(format!(
            "sha256 {} ({} bytes), expected {} ({} bytes); no rebuilt {file} to compare it with",
            sha256, size, want.sha256, want.size
        )),
        Some(a) => diff_files(
            &a.path,
            path,
            &format!("rebuilt {file}"),
            &format!("published {file}"),
            options,
        )
        .map(Box::new)
        .map_err(|e| {
            format!(
                "sha256 {} ({} bytes), expected {}; and it cannot be read: {e}",
                sha256, size, want.sha256
            )
        }),
    };
    Status::Differs {
        sha256,
        explanation,
    }
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
    const SDIST: &str = "p-1.0.tar.gz";
    const WHEEL_SHA: &str = "ba59926159d2aa256eb8739b8da7e2b574b960e1202c6d624cbe981cef996c91";
    const SDIST_SHA: &str = "714772a9f82b2aeb4fa5f7092d00fe4ac4c9cdeb6800840b6ed39ea64c4d785a";
    const OTHER_SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const DISTINFO: &str = "p-1.0.distinfo";
    const RECORD: &str = include_str!("../../../fuzz/seeds/distinfo/native.distinfo");

    fn record() -> Record {
        Record::parse(DISTINFO, RECORD).unwrap()
    }

    fn expected() -> BTreeMap<String, Expected> {
        record()
            .artifacts
            .iter()
            .map(|(f, d)| {
                let e = Expected {
                    sha256: d.sha256.clone(),
                    size: d.size,
                };
                (f.clone(), e)
            })
            .collect()
    }

    fn disagreement(status: Status) -> String {
        match status {
            Status::Disagrees(d) => d,
            other => panic!("expected a disagreement, got {other:?}"),
        }
    }

    #[test]
    fn sums_that_agree_match() {
        let text =
            format!("{WHEEL_SHA}  {WHEEL}\n{SDIST_SHA}  ./{SDIST}\n{OTHER_SHA}  unrelated.txt\n");
        assert!(matches!(
            check_sums(Ok(text.into_bytes()), &expected()),
            Status::Match
        ));
    }

    #[test]
    fn sums_that_disagree_name_the_line() {
        let text = format!("{WHEEL_SHA}  {WHEEL}\n{OTHER_SHA}  {SDIST}\n");
        let d = disagreement(check_sums(Ok(text.into_bytes()), &expected()));
        assert_eq!(
            d,
            format!("SHA256SUMS:2: {SDIST} has sha256 {OTHER_SHA}; the record says {SDIST_SHA}")
        );
    }

    #[test]
    fn sums_that_cannot_be_read_or_parsed_fail() {
        let unreadable = check_sums(Err("cannot read SHA256SUMS: gone".into()), &expected());
        assert!(matches!(unreadable, Status::Failed(ref e) if e == "cannot read SHA256SUMS: gone"));
        let not_utf8 = check_sums(Ok(vec![0xff, 0xfe]), &expected());
        assert!(matches!(not_utf8, Status::Failed(ref e) if e == "SHA256SUMS: not UTF-8"));
        let d = disagreement(check_sums(Ok(b"not a digest\n".to_vec()), &expected()));
        assert!(d.starts_with("SHA256SUMS:1: cannot parse "), "{d}");
    }

    #[test]
    fn a_distinfo_that_is_the_record_matches() {
        let status = check_distinfo(
            Ok(RECORD.as_bytes().to_vec()),
            DISTINFO,
            Some(&record()),
            &expected(),
        );
        assert!(matches!(status, Status::Match), "{status:?}");
    }

    #[test]
    fn a_distinfo_that_disagrees_names_each_line() {
        let text = RECORD
            .replace("PIN (compression.level) = 9", "PIN (compression.level) = 6")
            .replace(SDIST_SHA, OTHER_SHA);
        let d = disagreement(check_distinfo(
            Ok(text.into_bytes()),
            DISTINFO,
            Some(&record()),
            &expected(),
        ));
        assert_eq!(
            d.lines().collect::<Vec<_>>(),
            [
                "p-1.0.distinfo:7: PIN (compression.level) says 6; the record says 9",
                &format!(
                    "p-1.0.distinfo:13: SHA256 ({SDIST}) says {OTHER_SHA}; the record says {SDIST_SHA}"
                ),
            ]
        );
    }

    #[test]
    fn a_distinfo_missing_a_field_says_nothing() {
        let text: String = RECORD
            .lines()
            .filter(|l| !l.starts_with("PIN (rust.toolchain)"))
            .map(|l| format!("{l}\n"))
            .collect();
        let d = disagreement(check_distinfo(
            Ok(text.into_bytes()),
            DISTINFO,
            Some(&record()),
            &expected(),
        ));
        assert_eq!(
            d,
            "p-1.0.distinfo: PIN (rust.toolchain) says nothing; the record says 1.95.0"
        );
    }

    #[test]
    fn without_a_record_a_distinfo_is_held_to_the_expected_digests() {
        let mut want = expected();
        want.get_mut(WHEEL).unwrap().size = 6;
        let d = disagreement(check_distinfo(
            Ok(RECORD.as_bytes().to_vec()),
            DISTINFO,
            None,
            &want,
        ));
        assert_eq!(
            d,
            format!("p-1.0.distinfo:12: SIZE ({WHEEL}) says 5; the record says 6")
        );
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
        assert!(disagreement(got[0].1.clone()).starts_with("SHA256SUMS:1: "));
    }

    #[test]
    fn index_statements_are_compared_ignoring_case() {
        let want = &expected()[WHEEL];
        let page = "https://index.example/simple/p/";
        let upper = WHEEL_SHA.to_ascii_uppercase();
        assert!(matches!(
            index_statement(page, WHEEL, &upper, want),
            Status::Match
        ));
        assert_eq!(
            disagreement(index_statement(page, WHEEL, OTHER_SHA, want)),
            format!(
                "the index page {page} links {WHEEL} with sha256 {OTHER_SHA}; the record says {WHEEL_SHA}"
            )
        );
    }

    #[test]
    fn the_rebuild_is_held_to_the_record() {
        let record = record().artifacts;
        let mut rebuilt = expected();
        assert!(
            rebuild_against_record(&record, &rebuilt)
                .iter()
                .all(|(_, s)| matches!(s, Status::Match))
        );
        rebuilt.get_mut(WHEEL).unwrap().sha256 = OTHER_SHA.into();
        rebuilt.remove(SDIST);
        rebuilt.insert(
            "p-1.0-cp312-abi3-linux_x86_64.whl".into(),
            Expected {
                sha256: OTHER_SHA.into(),
                size: 1,
            },
        );
        let got = rebuild_against_record(&record, &rebuilt);
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, [WHEEL, SDIST, "p-1.0-cp312-abi3-linux_x86_64.whl"]);
        assert!(
            matches!(&got[0].1, Status::Differs { sha256, explanation: Err(e) }
                if sha256 == OTHER_SHA && e.starts_with(&format!("the rebuild has sha256 {OTHER_SHA} (5 bytes), the record {WHEEL_SHA} (5 bytes)")))
        );
        assert!(
            matches!(&got[1].1, Status::Missing(d) if d == &format!("the record lists {SDIST}, the rebuild did not produce it"))
        );
        assert!(
            matches!(&got[2].1, Status::Failed(d) if d == "the rebuild produced p-1.0-cp312-abi3-linux_x86_64.whl, which the record does not list")
        );
    }

    #[test]
    fn a_copy_is_matched_by_sha256_and_size() {
        let want = &expected()[WHEEL];
        assert!(same_digests(WHEEL_SHA, 5, want));
        assert!(!same_digests(WHEEL_SHA, 6, want));
        assert!(!same_digests(OTHER_SHA, 5, want));
    }

    #[test]
    fn a_copy_with_the_expected_digests_is_not_opened() {
        let want = &expected()[WHEEL];
        let missing = Path::new("/nonexistent/kiln-verify-test/p.whl");
        let known = Some((WHEEL_SHA.to_string(), 5));
        let status = compare(missing, known, WHEEL, want, None, &DiffOptions::default());
        assert!(matches!(status, Status::Match), "{status:?}");
        let status = compare(missing, None, WHEEL, want, None, &DiffOptions::default());
        assert!(
            matches!(status, Status::Failed(ref e) if e.starts_with("cannot read /nonexistent")),
            "{status:?}"
        );
    }
}
