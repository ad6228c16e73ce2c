//! verify's decisions, apart from its orchestration: what a rebuild, a
//! published copy or a published digest statement (`SHA256SUMS`, a
//! `.distinfo`, an index link's sha256) says, held against the record (or,
//! in faithful mode without one, against the rebuild). Each returns a
//! [`Status`] whose message names the file and line that disagree.
//!
//! `cargo xtask verify` checks out, rebuilds, obtains the copies (disk,
//! URL, index), calls these and prints the table; nothing here touches the
//! network, a process, the clock or the environment. A copy whose digests
//! differ is opened only by the diff engine's bounded readers.
//! `list` reads a census's list of releases (`rebuild --list`);
//! `rebuilt` compares anyone's rebuilt release with a published copy.

pub mod list;
pub mod rebuilt;
pub mod sources;

use kiln_diff::{DiffOptions, DiffReport, diff_files};
use kiln_digest::Digests;
use kiln_record::{ArtifactDigests, Record};
use std::collections::BTreeMap;
use std::path::Path;

/// What became of one artifact from one source.
#[derive(Debug, Clone)]
pub enum Status {
    Match,
    /// Bytes differ; the diff explains (or says why it could not).
    Differs {
        sha256: String,
        explanation: Result<Box<DiffReport>, String>,
    },
    Missing(String),
    Failed(String),
    /// A published digest statement (`SHA256SUMS`, a `.distinfo`, an
    /// index link's sha256) says other than the record.
    Disagrees(String),
}

impl Status {
    /// The one word the table shows.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Differs { .. } => "differs",
            Status::Missing(_) => "missing",
            Status::Failed(_) => "error",
            Status::Disagrees(_) => "disagrees",
        }
    }
}

/// The digests a published copy must have: the record's, or in faithful
/// mode without a record, the rebuild's.
#[derive(Debug, Clone)]
pub struct Expected {
    pub sha256: String,
    pub size: u64,
}

impl From<&Digests> for Expected {
    fn from(d: &Digests) -> Self {
        Self {
            sha256: d.sha256_hex(),
            size: d.size,
        }
    }
}

impl From<&ArtifactDigests> for Expected {
    fn from(d: &ArtifactDigests) -> Self {
        Self {
            sha256: d.sha256.clone(),
            size: d.size,
        }
    }
}

/// What every published copy must have -- the record's digests, or in
/// faithful mode without a record the rebuild's -- and, with a record, the
/// rebuild's own checks against it.
pub fn expectations(
    record: Option<&Record>,
    rebuilt: &BTreeMap<String, Expected>,
) -> (BTreeMap<String, Expected>, Vec<(String, Status)>) {
    match record {
        Some(r) => {
            let expected = r
                .artifacts
                .iter()
                .map(|(f, d)| (f.clone(), Expected::from(d)))
                .collect();
            (expected, rebuild_against_record(&r.artifacts, rebuilt))
        }
        None => (rebuilt.clone(), Vec::new()),
    }
}

/// The subjects a provenance statement must name: each expected artifact's
/// sha256, and its sha512 where the record gives one.
pub fn provenance_subjects(
    expected: &BTreeMap<String, Expected>,
    record: Option<&Record>,
) -> BTreeMap<String, (String, Option<String>)> {
    expected
        .iter()
        .map(|(f, e)| {
            let sha512 = record
                .and_then(|r| r.artifacts.get(f))
                .map(|d| d.sha512.clone());
            (f.clone(), (e.sha256.clone(), sha512))
        })
        .collect()
}

/// Record pins that differ from the checkout's: a rebuild with other pins
/// may well differ, and the report should say why up front.
///
/// `current` is this verification's pins (and `kiln.version`).
pub fn pin_differences(record: &Record, current: &BTreeMap<String, String>) -> Vec<String> {
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

/// A published file's text: what could not be read, or is not UTF-8,
/// fails the check naming `file`.
pub fn published_text(bytes: Result<Vec<u8>, String>, file: &str) -> Result<String, Status> {
    bytes
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{file}: not UTF-8")))
        .map_err(Status::Failed)
}

/// A statement agrees with the record when nothing was found wrong;
/// otherwise it disagrees, one problem a line.
pub fn agreement(problems: Vec<String>) -> Status {
    if problems.is_empty() {
        Status::Match
    } else {
        Status::Disagrees(problems.join("\n"))
    }
}

/// The name of the published sha256 list.
pub const SUMS: &str = "SHA256SUMS";

/// A published `SHA256SUMS`: every line naming an expected artifact has
/// its sha256 (lines for other files are not this release's business).
pub fn check_sums(bytes: Result<Vec<u8>, String>, expected: &BTreeMap<String, Expected>) -> Status {
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
pub fn check_distinfo(
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
pub fn same_digests(sha256: &str, size: u64, want: &Expected) -> bool {
    sha256 == want.sha256 && size == want.size
}

/// The rebuild against the record: every recorded artifact rebuilt with
/// the recorded sha256 and size, and nothing rebuilt that the record does
/// not list. One status per artifact, the record's first.
pub fn rebuild_against_record(
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
pub fn index_statement(page: &str, file: &str, stated: &str, want: &Expected) -> Status {
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
pub fn compare(
    path: &Path,
    known: Option<(String, u64)>,
    file: &str,
    want: &Expected,
    rebuilt: Option<&Path>,
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
        Some(rebuilt) => diff_files(
            rebuilt,
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

#[cfg(test)]
mod tests;
