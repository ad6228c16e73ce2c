//! The statement of one project's release from what the release knows:
//! its artifacts as the subjects, the build parameters (the compression
//! pins apart from the others), and the resolved dependencies in a fixed
//! order -- `Cargo.lock`, `pinned-toolchain.toml`, rustc, the pinned
//! Python, the build lock, then every locked build requirement. xtask
//! gathers the facts (git, rustc, file digests, CI identity, times).

use crate::check::rfc3339;
use crate::{BuildParameters, Dependency, ProvenanceInput, Signing, Subject, statement_json};
use kiln_names::BuildMode;
use std::collections::BTreeMap;

/// What a release knows about one project, for its statement.
#[derive(Debug)]
pub struct ReleaseFacts<'a> {
    pub project: &'a str,
    pub version: &'a str,
    pub tag: &'a str,
    pub mode: BuildMode,
    pub epoch: u64,
    /// The pins, flattened (`compression.*` among them).
    pub pins: &'a BTreeMap<String, String>,
    pub subjects: Vec<Subject>,
    /// (name, version, sha256 hex) of each locked build requirement.
    pub locked: Vec<(String, String, String)>,
    /// The build lock: its path in the repository and its sha256 hex.
    pub lock: Option<(String, String)>,
    /// sha256 hex of `Cargo.lock` and of `pinned-toolchain.toml`.
    pub cargo_lock_sha256: String,
    pub pins_sha256: String,
    /// `rustc --version`'s version word (`unknown` when it is not known).
    pub rustc: &'a str,
    pub repository: String,
    pub commit: String,
    pub signing: Signing,
    pub builder_id: String,
    pub invocation_id: String,
    /// Seconds since 1970.
    pub started: u64,
    pub finished: u64,
}

fn one(name: &str, uri: String, digests: &[(&str, String)]) -> Dependency {
    Dependency {
        name: Some(name.to_string()),
        uri,
        digest: digests
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect(),
    }
}

/// The statement's bytes.
pub fn release_statement(facts: ReleaseFacts<'_>) -> Vec<u8> {
    // The source commit is the statement's first resolved dependency
    // (`statement_json` writes it from `source_commit`).
    let mut dependencies = vec![
        one(
            "Cargo.lock",
            "file:Cargo.lock".into(),
            &[("sha256", facts.cargo_lock_sha256)],
        ),
        one(
            "pinned-toolchain.toml",
            "file:pinned-toolchain.toml".into(),
            &[("sha256", facts.pins_sha256)],
        ),
        one("rustc", format!("pkg:generic/rustc@{}", facts.rustc), &[]),
    ];
    if let Some(python) = facts.pins.get("python.version") {
        dependencies.push(one("python", format!("pkg:generic/python@{python}"), &[]));
    }
    if let Some((path, sha256)) = facts.lock {
        dependencies.push(one(
            "build lock",
            format!("file:{path}"),
            &[("sha256", sha256)],
        ));
    }
    for (name, version, sha256) in facts.locked {
        dependencies.push(one(
            &name,
            format!("pkg:pypi/{name}@{version}"),
            &[("sha256", sha256)],
        ));
    }
    let (compression, pins): (BTreeMap<_, _>, BTreeMap<_, _>) = facts
        .pins
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| k.starts_with("compression."));
    statement_json(&ProvenanceInput {
        subjects: facts.subjects,
        parameters: BuildParameters {
            project: facts.project.to_string(),
            version: facts.version.to_string(),
            source_repository: facts.repository,
            source_ref: format!("refs/tags/{}", facts.tag),
            mode: facts.mode,
            epoch: facts.epoch,
            compression,
            pins,
            signing: facts.signing,
        },
        source_commit: facts.commit,
        dependencies,
        builder_id: facts.builder_id,
        invocation_id: facts.invocation_id,
        started_on: rfc3339(facts.started),
        finished_on: rfc3339(facts.finished),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SigningKind, parse_statement};

    #[test]
    fn a_release_statement_names_its_artifacts_inputs_and_commit() {
        let pins = BTreeMap::from([
            ("compression.level".to_string(), "6".to_string()),
            ("python.version".to_string(), "3.12.8".to_string()),
            ("rust.channel".to_string(), "1.95.0".to_string()),
        ]);
        let facts = ReleaseFacts {
            project: "demo",
            version: "1.0",
            tag: "v1.0",
            mode: BuildMode::Backend,
            epoch: 315_532_800,
            pins: &pins,
            subjects: vec![Subject {
                name: "demo-1.0.tar.gz".into(),
                sha256: "ab".repeat(32),
                sha512: "cd".repeat(64),
            }],
            locked: vec![("setuptools".into(), "75.0.0".into(), "ef".repeat(32))],
            lock: Some(("release/locks/demo.lock.toml".into(), "12".repeat(32))),
            cargo_lock_sha256: "34".repeat(32),
            pins_sha256: "56".repeat(32),
            rustc: "1.95.0",
            repository: "https://github.com/kiln-dev/kiln".into(),
            commit: "c0ffee".into(),
            signing: Signing {
                kind: SigningKind::Key,
                keyid: Some("k".into()),
            },
            builder_id: "local".into(),
            invocation_id: "local:0".into(),
            started: 0,
            finished: 1,
        };
        let bytes = release_statement(facts);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let parsed = parse_statement(&bytes).unwrap();
        assert_eq!(parsed.source_commit.as_deref(), Some("c0ffee"));
        assert_eq!(parsed.subjects[0].name, "demo-1.0.tar.gz");
        let order = [
            "file:Cargo.lock",
            "file:pinned-toolchain.toml",
            "pkg:generic/rustc@1.95.0",
            "pkg:generic/python@3.12.8",
            "file:release/locks/demo.lock.toml",
            "pkg:pypi/setuptools@75.0.0",
        ];
        let at: Vec<usize> = order.iter().map(|u| text.find(u).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("refs/tags/v1.0") && text.contains("1970-01-01T00:00:01Z"));
    }
}
