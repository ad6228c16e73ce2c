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
use kiln_record::Record;
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

const SUMS: &str = "SHA256SUMS";

pub(super) fn check_sums(
    bytes: Result<Vec<u8>, String>,
    expected: &BTreeMap<String, Expected>,
) -> Status {
    let text =
        match bytes.and_then(|b| String::from_utf8(b).map_err(|_| format!("{SUMS}: not UTF-8"))) {
            Ok(text) => text,
            Err(e) => return Status::Failed(e),
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
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
    }
}

/// A published `.distinfo` must be the record: every digest and size of
/// every artifact, and the fields that determine the bytes.
pub(super) fn check_distinfo(
    bytes: Result<Vec<u8>, String>,
    file: &str,
    record: Option<&Record>,
    expected: &BTreeMap<String, Expected>,
) -> Status {
    let text =
        match bytes.and_then(|b| String::from_utf8(b).map_err(|_| format!("{file}: not UTF-8"))) {
            Ok(text) => text,
            Err(e) => return Status::Failed(e),
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
            let pins: std::collections::BTreeSet<&String> =
                published.pins.keys().chain(r.pins.keys()).collect();
            for key in pins {
                differ(
                    format!("PIN ({key})"),
                    published.pins.get(key).cloned(),
                    r.pins.get(key).cloned(),
                );
            }
            let requires: std::collections::BTreeSet<&String> = published
                .build_requires
                .keys()
                .chain(r.build_requires.keys())
                .collect();
            for key in requires {
                differ(
                    format!("BUILD-REQUIRES ({key})"),
                    published.build_requires.get(key).cloned(),
                    r.build_requires.get(key).cloned(),
                );
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
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
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
    if sha256 == want.sha256 && size == want.size {
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
        return match payload.and_then(|p| crate::provenance::check_statement(&p, expected, commit))
        {
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
    let text = match read_capped(&path, PROVENANCE_MAX) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Status::Failed(format!("{file}: not UTF-8")),
        },
        Err(e) => return Status::Failed(e),
    };
    match crate::provenance::check(&text, trusted, expected, commit) {
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
