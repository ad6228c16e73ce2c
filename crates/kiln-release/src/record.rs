//! What a release writes down about one project: its record (the
//! `.distinfo`), made from the build's artifacts, the pins and the lock;
//! the locked build requirements read back from a record for the
//! provenance; and the refusal of a build that its second build does not
//! reproduce.

use crate::reproduce::Outcome;
use kiln_digest::Digests;
use kiln_names::BuildMode;
use kiln_record::{ArtifactDigests, Record};
use std::collections::BTreeMap;
use std::path::Path;

/// One project's build, as the record states it.
#[derive(Debug)]
pub struct Built<'a> {
    /// The normalized project name.
    pub project: &'a str,
    pub version: &'a str,
    pub epoch: u64,
    pub mode: BuildMode,
    /// The pins in force, `kiln.version` among them.
    pub pins: BTreeMap<String, String>,
    /// Backend mode's lock: its sha256 hex and its contents.
    pub lock: Option<(&'a str, &'a kiln_lock::Lock)>,
    /// (file name, digests) of each artifact.
    pub artifacts: Vec<(&'a str, &'a Digests)>,
}

/// The record of a build: every artifact's digests, the pins, the lock's
/// sha256 and each locked build requirement as `<version> sha256:<hex>`.
pub fn record(built: Built<'_>) -> Record {
    Record {
        project: built.project.to_string(),
        version: built.version.to_string(),
        epoch: built.epoch,
        mode: built.mode,
        pins: built.pins,
        lock: built.lock.map(|(sha256, _)| sha256.to_string()),
        build_requires: built
            .lock
            .map(|(_, lock)| {
                lock.packages
                    .iter()
                    .map(|p| (p.name.clone(), format!("{} sha256:{}", p.version, p.sha256)))
                    .collect()
            })
            .unwrap_or_default(),
        artifacts: built
            .artifacts
            .iter()
            .map(|(name, d)| ((*name).to_string(), ArtifactDigests::from(*d)))
            .collect(),
    }
}

/// (name, version, sha256 hex) of each locked build requirement a record
/// lists, for the provenance's resolved dependencies.
pub fn locked(record: &Record) -> Vec<(String, String, String)> {
    record
        .build_requires
        .iter()
        .map(|(name, v)| {
            let (version, sha) = v.split_once(" sha256:").unwrap_or((v.as_str(), ""));
            (name.clone(), version.to_string(), sha.to_string())
        })
        .collect()
}

/// When the second build differed, the refusal naming each artifact and
/// how (None when it reproduced every one).
pub fn not_reproducible(
    name: &str,
    version: &str,
    outcomes: Vec<Outcome>,
    out: &Path,
) -> Option<String> {
    let failures: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| o.difference.map(|d| format!("  {}: {d}", o.filename)))
        .collect();
    (!failures.is_empty()).then(|| {
        format!(
            "{name} {version} is not reproducible: a second build under another umask, path, mtimes and directory order differs:\n{}\n\
             Nothing was written to {}. The differences above say what varies; report a kiln bug if it is not the project's doing.",
            failures.join("\n"),
            out.display()
        )
    })
}
