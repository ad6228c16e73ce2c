//! The wheelhouse directory: what is in it, rendered from what was built,
//! and the comparison `verify --wheelhouse` makes with a rebuild.
//!
//! ```text
//! DIR/<wheel>.whl ...        the wheels, one per requirement
//! DIR/requirements.txt       the wheels pinned by hash (pip --require-hashes)
//! DIR/sources.txt            the sdists they were built from, pinned by hash
//! DIR/locks/<name>-<version>.lock.toml   each wheel's build lock
//! DIR/SHA256SUMS             every file above (`sha256sum -c`)
//! DIR/wheelhouse.distinfo    the same files' SHA256, SHA512, BLAKE2s, SIZE
//! DIR/wheelhouse.intoto.jsonl  the signed statement (unless unsigned)
//! ```
//!
//! Every text here is a function of the wheels, the sources, the locks and
//! the pins, rendered in a fixed order, so two builds of the same
//! requirements give the same bytes (the statement aside: it records when
//! and by whom it was made).

use crate::requirements::{Pinned, render};
use kiln_digest::Digests;
use kiln_names::{BuildMode, Epoch, ProjectName};
use kiln_record::{ArtifactDigests, Record};
use std::collections::BTreeMap;

pub const REQUIREMENTS: &str = "requirements.txt";
pub const SOURCES: &str = "sources.txt";
pub const SHA256SUMS: &str = "SHA256SUMS";
pub const DISTINFO: &str = "wheelhouse.distinfo";
pub const STATEMENT: &str = "wheelhouse.intoto.jsonl";
pub const LOCKS_DIR: &str = "locks";

/// The lock file of one source, relative to the wheelhouse.
pub fn lock_file(name: &ProjectName, version: &str) -> String {
    format!("{LOCKS_DIR}/{}-{version}.lock.toml", name.normalized())
}

/// One requirement as built.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: ProjectName,
    pub version: String,
    pub sdist_filename: String,
    pub sdist_sha256: String,
    pub epoch: Epoch,
    pub wheel_filename: String,
    pub wheel: Digests,
    /// The lock's text, as written to [`lock_file`].
    pub lock: Vec<u8>,
    /// (name, version, sha256) of every package the lock installs.
    pub locked: Vec<(String, String, String)>,
}

/// Everything a wheelhouse holds but its wheels' bytes and the statement.
#[derive(Debug, Clone)]
pub struct Wheelhouse {
    pub entries: Vec<Entry>,
    /// Every pin that can change the bytes (pinned-toolchain.toml, flattened).
    pub pins: BTreeMap<String, String>,
}

impl Wheelhouse {
    /// `requirements.txt`: the built wheels, by hash.
    pub fn requirements_txt(&self) -> String {
        let pins: Vec<Pinned> = self
            .entries
            .iter()
            .map(|e| Pinned {
                name: e.name.clone(),
                version: e.version.clone(),
                sha256: e.wheel.sha256_hex(),
            })
            .collect();
        render(
            &[
                "The wheels of this wheelhouse, pinned by hash; written by `cargo xtask wheelhouse`.",
                "pip install --no-index --find-links DIR --require-hashes -r DIR/requirements.txt",
            ],
            &pins,
        )
    }

    /// `sources.txt`: the sdists the wheels were built from, by hash (a
    /// hash-pinned requirements file that `verify --wheelhouse` rebuilds).
    pub fn sources_txt(&self) -> String {
        let pins: Vec<Pinned> = self
            .entries
            .iter()
            .map(|e| Pinned {
                name: e.name.clone(),
                version: e.version.clone(),
                sha256: e.sdist_sha256.clone(),
            })
            .collect();
        render(
            &["The sdists the wheels of this wheelhouse were built from, pinned by hash."],
            &pins,
        )
    }

    /// Every recorded file but the record itself and the statement: name →
    /// digests (the wheels', the two texts', the locks').
    pub fn files(&self) -> BTreeMap<String, Digests> {
        let mut files = BTreeMap::new();
        for e in &self.entries {
            files.insert(e.wheel_filename.clone(), e.wheel.clone());
            files.insert(lock_file(&e.name, &e.version), Digests::of_bytes(&e.lock));
        }
        files.insert(
            REQUIREMENTS.to_string(),
            Digests::of_bytes(self.requirements_txt().as_bytes()),
        );
        files.insert(
            SOURCES.to_string(),
            Digests::of_bytes(self.sources_txt().as_bytes()),
        );
        files
    }

    /// The statement's subjects: the wheels and `requirements.txt`, so
    /// neither can be swapped after signing.
    pub fn subjects(&self) -> BTreeMap<String, Digests> {
        signed_files(&self.files())
    }

    /// Every file of the directory but the statement, by name, with its
    /// sha256 (hex): what a published copy is compared with.
    pub fn listing(&self) -> BTreeMap<String, String> {
        let mut listing: BTreeMap<String, String> = self
            .files()
            .into_iter()
            .map(|(n, d)| (n, d.sha256_hex()))
            .collect();
        for (name, text) in [(SHA256SUMS, self.sha256sums()), (DISTINFO, self.distinfo())] {
            listing.insert(
                name.to_string(),
                Digests::of_bytes(text.as_bytes()).sha256_hex(),
            );
        }
        listing
    }

    /// `SHA256SUMS` of [`Wheelhouse::files`].
    pub fn sha256sums(&self) -> String {
        let files = self.files();
        let hexes: Vec<(String, String)> = files
            .iter()
            .map(|(n, d)| (n.clone(), d.sha256_hex()))
            .collect();
        kiln_record::render_sha256sums(hexes.iter().map(|(n, h)| (n.as_str(), h.as_str())))
    }

    /// `wheelhouse.distinfo`: kiln-record's format. PROJECT is `wheelhouse`,
    /// VERSION the sha256 of `sources.txt` (what was built), EPOCH the
    /// newest of the sources' epochs, each source's sdist a BUILD-REQUIRES
    /// line (`<name> = <version> sha256:<hex>`), and every file of
    /// [`Wheelhouse::files`] with its four digests.
    pub fn distinfo(&self) -> String {
        let record = Record {
            project: "wheelhouse".into(),
            version: Digests::of_bytes(self.sources_txt().as_bytes()).sha256_hex(),
            epoch: self
                .entries
                .iter()
                .map(|e| e.epoch.seconds())
                .max()
                .unwrap_or(Epoch::MIN.seconds()),
            mode: BuildMode::Backend,
            pins: self.pins.clone(),
            lock: None,
            build_requires: self
                .entries
                .iter()
                .map(|e| {
                    (
                        e.name.normalized().to_string(),
                        format!("{} sha256:{}", e.version, e.sdist_sha256),
                    )
                })
                .collect(),
            artifacts: self
                .files()
                .iter()
                .map(|(n, d)| (n.clone(), ArtifactDigests::from(d)))
                .collect(),
        };
        record.render()
    }
}

/// Which of a wheelhouse's files (relative name → digests) the statement
/// signs: `requirements.txt` and the wheels at the top level.
pub fn signed_files(files: &BTreeMap<String, Digests>) -> BTreeMap<String, Digests> {
    files
        .iter()
        .filter(|(name, _)| {
            name.as_str() == REQUIREMENTS || (name.ends_with(".whl") && !name.contains('/'))
        })
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect()
}

/// How one file of a wheelhouse compares with the rebuild's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub file: String,
    pub what: String,
}

/// Compare the sha256 (hex) of the files of a published wheelhouse with a
/// rebuild's, by name: every file must be in both with the same digest.
/// The statement is not compared (it is checked by its signature).
pub fn compare(
    published: &BTreeMap<String, String>,
    rebuilt: &BTreeMap<String, String>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (file, sha256) in published {
        if file == STATEMENT {
            continue;
        }
        let what = match rebuilt.get(file) {
            None => "is not part of the rebuilt wheelhouse (added or renamed?)".to_string(),
            Some(theirs) if theirs != sha256 => {
                format!("differs: sha256 {sha256}, the rebuild's {theirs}")
            }
            Some(_) => continue,
        };
        out.push(Difference {
            file: file.clone(),
            what,
        });
    }
    for file in rebuilt.keys() {
        if file != STATEMENT && !published.contains_key(file) {
            out.push(Difference {
                file: file.clone(),
                what: "is missing (the rebuild made it)".into(),
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Wheelhouse {
        let entry = |name: &str, version: &str, wheel: &[u8]| Entry {
            name: ProjectName::new(name).unwrap(),
            version: version.into(),
            sdist_filename: format!("{name}-{version}.tar.gz"),
            sdist_sha256: kiln_digest::hex(&kiln_digest::sha256(name.as_bytes())),
            epoch: Epoch::clamped(1_700_000_000),
            wheel_filename: format!("{name}-{version}-py3-none-any.whl"),
            wheel: Digests::of_bytes(wheel),
            lock: format!("lock of {name}\n").into_bytes(),
            locked: vec![("flit-core".into(), "3.12.0".into(), "ab".repeat(32))],
        };
        Wheelhouse {
            entries: vec![
                entry("six", "1.17.0", b"six wheel"),
                entry("Click", "8.5.1", b"click wheel"),
            ],
            pins: BTreeMap::from([("python.version".into(), "3.11".into())]),
        }
    }

    #[test]
    fn texts_are_fixed_by_the_inputs() {
        let w = sample();
        let mut reversed = w.clone();
        reversed.entries.reverse();
        for (a, b) in [
            (w.requirements_txt(), reversed.requirements_txt()),
            (w.sources_txt(), reversed.sources_txt()),
            (w.sha256sums(), reversed.sha256sums()),
            (w.distinfo(), reversed.distinfo()),
        ] {
            assert_eq!(a, b);
        }
        let sums = w.sha256sums();
        let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
        assert_eq!(
            names,
            [
                "Click-8.5.1-py3-none-any.whl",
                "locks/click-8.5.1.lock.toml",
                "locks/six-1.17.0.lock.toml",
                "requirements.txt",
                "six-1.17.0-py3-none-any.whl",
                "sources.txt"
            ]
        );
        let listing = w.listing();
        assert_eq!(listing.len(), 8);
        assert_eq!(
            listing[SHA256SUMS],
            Digests::of_bytes(sums.as_bytes()).sha256_hex()
        );
        let record = Record::parse(DISTINFO, &w.distinfo()).unwrap();
        assert_eq!(record.artifacts.len(), 6);
        assert_eq!(
            record.build_requires["six"].split(' ').next(),
            Some("1.17.0")
        );
        assert_eq!(
            w.subjects().keys().collect::<Vec<_>>(),
            [
                "Click-8.5.1-py3-none-any.whl",
                "requirements.txt",
                "six-1.17.0-py3-none-any.whl"
            ]
        );
        // A different wheel changes requirements.txt, and so everything
        // that records it.
        let mut other = w.clone();
        other.entries[0].wheel = Digests::of_bytes(b"another six wheel");
        assert_ne!(other.requirements_txt(), w.requirements_txt());
        assert_eq!(other.sources_txt(), w.sources_txt());
    }

    #[test]
    fn compare_names_every_difference() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                .collect()
        };
        let rebuilt = map(&[("a.whl", "1"), ("requirements.txt", "2"), ("b.whl", "3")]);
        assert!(compare(&rebuilt, &rebuilt).is_empty());
        let published = map(&[
            ("a.whl", "1"),
            ("requirements.txt", "9"),
            ("evil.whl", "4"),
            (STATEMENT, "5"),
        ]);
        let d = compare(&published, &rebuilt);
        let files: Vec<&str> = d.iter().map(|d| d.file.as_str()).collect();
        assert_eq!(files, ["b.whl", "evil.whl", "requirements.txt"]);
        assert!(d[0].what.contains("missing"));
        assert!(d[1].what.contains("not part of the rebuilt"));
        assert!(d[2].what.contains("differs"));
    }
}
