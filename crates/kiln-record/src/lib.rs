//! Release records: what kiln commits about a release so that anyone can
//! later check the published bytes against it.
//!
//! Two formats live here:
//!
//! - the `.distinfo` record (`release/records/<project>/<version>.distinfo`),
//!   in the BSD ports style that distfile tooling already knows:
//!   `SHA256 (file) = …`, `SHA512 (file) = …`, `BLAKE2s (file) = …`,
//!   `SIZE (file) = N`, preceded by the inputs that determine the bytes (the
//!   epoch, the build mode and every pin). Artifacts are sorted by file name
//!   and every line ends in LF, so the same release always renders to the
//!   same bytes.
//! - `SHA256SUMS`, in the format `sha256sum -c` reads.
//!
//! Both are parsed back strictly: a record is evidence, so a line that does
//! not parse is an error naming the line, never skipped.

use kiln_digest::{Digests, hex};
use kiln_names::BuildMode;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("{file}:{line}: cannot parse {text:?}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        text: String,
        reason: String,
    },
    #[error(
        "{file}: missing `{field}` (the record is incomplete; rewrite it with `cargo xtask release`)"
    )]
    Missing { file: String, field: String },
    #[error("{file}: artifact {artifact} lacks its {field} line")]
    Incomplete {
        file: String,
        artifact: String,
        field: &'static str,
    },
}

impl RecordError {
    /// Where the error is, for a `--json` error object: the record file,
    /// and the missing field where one is.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Self::Syntax { file, .. } => Some((Some(file.clone()), None)),
            Self::Missing { file, field } => Some((Some(file.clone()), Some(field.clone()))),
            Self::Incomplete { file, field, .. } => {
                Some((Some(file.clone()), Some((*field).to_owned())))
            }
        }
    }
}

/// The digests of one artifact as a record holds them (hex, lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigests {
    pub sha256: String,
    pub sha512: String,
    pub blake2s: String,
    pub size: u64,
}

impl From<&Digests> for ArtifactDigests {
    fn from(d: &Digests) -> Self {
        Self {
            sha256: hex(&d.sha256),
            sha512: hex(&d.sha512),
            blake2s: hex(&d.blake2s),
            size: d.size,
        }
    }
}

/// A release record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub project: String,
    pub version: String,
    /// `SOURCE_DATE_EPOCH` used for the build, in seconds.
    pub epoch: u64,
    /// `MODE = native` or `MODE = backend`.
    pub mode: BuildMode,
    /// Every pin that can change the bytes, flattened (`compression.level`).
    pub pins: BTreeMap<String, String>,
    /// Backend mode: the sha256 of the build lock used.
    pub lock: Option<String>,
    /// Backend mode: every locked build requirement, name →
    /// `version sha256:<hex>` of the exact file installed.
    pub build_requires: BTreeMap<String, String>,
    /// Artifact file name → digests.
    pub artifacts: BTreeMap<String, ArtifactDigests>,
}

/// One artifact whose digests differ between two records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactChange {
    Added(String),
    Removed(String),
    Changed {
        artifact: String,
        old_sha256: String,
        new_sha256: String,
    },
}

impl Record {
    /// Render the record; a pure function of its contents.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# kiln release record: written by `cargo xtask release`, checked by `cargo xtask verify`.\n");
        out.push_str("# Editing it by hand makes verification fail.\n");
        let _ = writeln!(out, "PROJECT = {}", self.project);
        let _ = writeln!(out, "VERSION = {}", self.version);
        let _ = writeln!(out, "EPOCH = {}", self.epoch);
        let _ = writeln!(out, "MODE = {}", self.mode);
        for (key, value) in &self.pins {
            let _ = writeln!(out, "PIN ({key}) = {value}");
        }
        if let Some(lock) = &self.lock {
            let _ = writeln!(out, "LOCK = {lock}");
        }
        for (name, value) in &self.build_requires {
            let _ = writeln!(out, "BUILD-REQUIRES ({name}) = {value}");
        }
        for (name, d) in &self.artifacts {
            let _ = writeln!(out, "SHA256 ({name}) = {}", d.sha256);
            let _ = writeln!(out, "SHA512 ({name}) = {}", d.sha512);
            let _ = writeln!(out, "BLAKE2s ({name}) = {}", d.blake2s);
            let _ = writeln!(out, "SIZE ({name}) = {}", d.size);
        }
        out
    }

    /// Parse a record; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, RecordError> {
        let mut scalars: BTreeMap<&str, String> = BTreeMap::new();
        let mut mode: Option<BuildMode> = None;
        let mut pins = BTreeMap::new();
        let mut build_requires = BTreeMap::new();
        let mut partial: BTreeMap<String, [Option<String>; 4]> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let syntax = |reason: &str| RecordError::Syntax {
                file: file.to_string(),
                line: line_no,
                text: raw.to_string(),
                reason: reason.to_string(),
            };
            let line = raw.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(" = ")
                .ok_or_else(|| syntax("expected `KEY = value` or `ALGO (file) = value`"))?;
            if let Some((algo, rest)) = key.split_once(" (") {
                let name = rest
                    .strip_suffix(')')
                    .ok_or_else(|| syntax("missing `)` after the file name"))?;
                if name.is_empty() {
                    return Err(syntax("empty file name"));
                }
                let slot = match algo {
                    "PIN" => {
                        if pins.insert(name.to_string(), value.to_string()).is_some() {
                            return Err(syntax("duplicate pin"));
                        }
                        continue;
                    }
                    "BUILD-REQUIRES" => {
                        if build_requires
                            .insert(name.to_string(), value.to_string())
                            .is_some()
                        {
                            return Err(syntax("duplicate build requirement"));
                        }
                        continue;
                    }
                    "SHA256" => 0,
                    "SHA512" => 1,
                    "BLAKE2s" => 2,
                    "SIZE" => 3,
                    _ => {
                        return Err(syntax(
                            "unknown digest (expected SHA256, SHA512, BLAKE2s or SIZE)",
                        ));
                    }
                };
                let expected_len = [64, 128, 64, 0][slot];
                let valid = if slot == 3 {
                    value.parse::<u64>().is_ok()
                } else {
                    value.len() == expected_len
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                };
                if !valid {
                    return Err(syntax("malformed value"));
                }
                let entry = partial.entry(name.to_string()).or_default();
                if entry[slot].replace(value.to_string()).is_some() {
                    return Err(syntax("duplicate line for this file"));
                }
            } else {
                match key {
                    "MODE" => {
                        let parsed = value
                            .parse()
                            .map_err(|_| syntax("MODE must be native or backend"))?;
                        if mode.replace(parsed).is_some() {
                            return Err(syntax("duplicate field"));
                        }
                    }
                    "PROJECT" | "VERSION" | "EPOCH" | "LOCK" => {
                        if scalars.insert(key, value.to_string()).is_some() {
                            return Err(syntax("duplicate field"));
                        }
                    }
                    _ => return Err(syntax("unknown field")),
                }
            }
        }
        let take = |scalars: &mut BTreeMap<&str, String>, field: &str| {
            scalars.remove(field).ok_or_else(|| RecordError::Missing {
                file: file.to_string(),
                field: field.to_string(),
            })
        };
        let project = take(&mut scalars, "PROJECT")?;
        let version = take(&mut scalars, "VERSION")?;
        let epoch_text = take(&mut scalars, "EPOCH")?;
        let mode = mode.ok_or_else(|| RecordError::Missing {
            file: file.to_string(),
            field: "MODE".to_string(),
        })?;
        let lock = scalars.remove("LOCK");
        let epoch = epoch_text.parse().map_err(|_| RecordError::Syntax {
            file: file.to_string(),
            line: 0,
            text: epoch_text.clone(),
            reason: "EPOCH must be a number of seconds".into(),
        })?;
        let mut artifacts = BTreeMap::new();
        for (name, [sha256, sha512, blake2s, size]) in partial {
            let need = |v: Option<String>, field: &'static str| {
                v.ok_or_else(|| RecordError::Incomplete {
                    file: file.to_string(),
                    artifact: name.clone(),
                    field,
                })
            };
            let d = ArtifactDigests {
                sha256: need(sha256, "SHA256")?,
                sha512: need(sha512, "SHA512")?,
                blake2s: need(blake2s, "BLAKE2s")?,
                size: need(size, "SIZE")?.parse().unwrap_or_default(),
            };
            artifacts.insert(name, d);
        }
        if artifacts.is_empty() {
            return Err(RecordError::Missing {
                file: file.to_string(),
                field: "SHA256 (artifact)".into(),
            });
        }
        Ok(Self {
            project,
            version,
            epoch,
            mode,
            pins,
            lock,
            build_requires,
            artifacts,
        })
    }

    /// How `new`'s artifacts differ from `self`'s (empty: same bytes).
    pub fn artifact_changes(&self, new: &Record) -> Vec<ArtifactChange> {
        let mut changes = Vec::new();
        for (name, old) in &self.artifacts {
            match new.artifacts.get(name) {
                None => changes.push(ArtifactChange::Removed(name.clone())),
                Some(d) if d != old => changes.push(ArtifactChange::Changed {
                    artifact: name.clone(),
                    old_sha256: old.sha256.clone(),
                    new_sha256: d.sha256.clone(),
                }),
                Some(_) => {}
            }
        }
        for name in new.artifacts.keys() {
            if !self.artifacts.contains_key(name) {
                changes.push(ArtifactChange::Added(name.clone()));
            }
        }
        changes
    }
}

/// `SHA256SUMS` in the format `sha256sum -c` checks (`<hex>  <file>`),
/// sorted by file name.
pub fn render_sha256sums<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<_> = entries.into_iter().collect();
    sorted.sort();
    let mut out = String::new();
    for (name, sha256) in sorted {
        let _ = writeln!(out, "{sha256}  {name}");
    }
    out
}

/// One line of a `SHA256SUMS` file: where it is, the file it names and
/// the sha256 it states (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumsLine {
    pub line: usize,
    pub file: String,
    pub sha256: String,
}

/// Parse `SHA256SUMS` as `sha256sum` writes it: `<64 hex>  <file>` (or
/// `<64 hex> *<file>`, binary mode), one per line; blank lines are
/// skipped, anything else is an error naming the line. `file` names the
/// sums file in errors.
pub fn parse_sha256sums(file: &str, text: &str) -> Result<Vec<SumsLine>, RecordError> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let syntax = |reason: &str| RecordError::Syntax {
            file: file.to_string(),
            line: index + 1,
            text: raw.to_string(),
            reason: reason.to_string(),
        };
        let (hex, rest) = line
            .split_at_checked(64)
            .ok_or_else(|| syntax("expected `<sha256>  <file>`"))?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(syntax("the sha256 is not 64 hexadecimal digits"));
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| {
                syntax("expected two spaces (or ` *`) between the sha256 and the file")
            })?;
        if name.is_empty() {
            return Err(syntax("empty file name"));
        }
        lines.push(SumsLine {
            line: index + 1,
            file: name.to_string(),
            sha256: hex.to_ascii_lowercase(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sha256sums_parse_back_and_bad_lines_are_named() {
        let a = "a".repeat(64);
        let text = render_sha256sums([("x.whl", a.as_str()), ("y.tar.gz", a.as_str())]);
        let lines = parse_sha256sums(
            "SHA256SUMS",
            &format!("{text}\n{} *z.zip\r\n", "B".repeat(64)),
        )
        .unwrap();
        let names: Vec<_> = lines.iter().map(|l| (l.line, l.file.as_str())).collect();
        assert_eq!(names, [(1, "x.whl"), (2, "y.tar.gz"), (4, "z.zip")]);
        assert_eq!(lines[2].sha256, "b".repeat(64));
        for bad in [
            "abc  x",
            &format!("{}  x", "g".repeat(64)),
            &format!("{} x", a),
            &format!("{a}  "),
        ] {
            let err = parse_sha256sums("SHA256SUMS", &format!("{a}  ok\n{bad}\n")).unwrap_err();
            assert!(err.to_string().starts_with("SHA256SUMS:2:"), "{err}");
        }
    }

    fn sample() -> Record {
        let d = ArtifactDigests::from(&Digests::of_bytes(b"wheel"));
        let s = ArtifactDigests::from(&Digests::of_bytes(b"sdist"));
        Record {
            project: "kiln-example".into(),
            version: "0.1.0".into(),
            epoch: 1_700_000_000,
            mode: BuildMode::Native,
            pins: [("compression.level".to_string(), "6".to_string())].into(),
            lock: None,
            build_requires: BTreeMap::new(),
            artifacts: [
                ("p-0.1.0.tar.gz".to_string(), s),
                ("p-0.1.0-py3-none-any.whl".to_string(), d),
            ]
            .into(),
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        let text = r.render();
        assert_eq!(Record::parse("x.distinfo", &text).unwrap(), r);
        assert!(text.contains("SIZE (p-0.1.0.tar.gz) = 5\n"));
        assert!(text.contains("PIN (compression.level) = 6\n"));
    }

    #[test]
    fn backend_records_carry_the_lock() {
        let mut r = sample();
        r.mode = BuildMode::Backend;
        r.lock = Some("c".repeat(64));
        r.build_requires.insert(
            "hatchling".into(),
            format!("1.32.0 sha256:{}", "d".repeat(64)),
        );
        let text = r.render();
        assert!(text.contains(&format!("LOCK = {}\n", "c".repeat(64))));
        assert!(text.contains("BUILD-REQUIRES (hatchling) = 1.32.0 sha256:"));
        assert_eq!(Record::parse("x.distinfo", &text).unwrap(), r);
    }

    #[test]
    fn changes_are_named() {
        let old = sample();
        let mut new = sample();
        new.artifacts.get_mut("p-0.1.0.tar.gz").unwrap().sha256 = "0".repeat(64);
        let changes = old.artifact_changes(&new);
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(&changes[0], ArtifactChange::Changed { artifact, .. } if artifact == "p-0.1.0.tar.gz")
        );
        assert!(old.artifact_changes(&sample()).is_empty());
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        let text = sample()
            .render()
            .replace("SIZE (p-0.1.0.tar.gz) = 5", "SIZE (p-0.1.0.tar.gz) = five");
        let e = Record::parse("r.distinfo", &text).unwrap_err().to_string();
        assert!(
            e.starts_with("r.distinfo:") && e.contains("malformed value"),
            "{e}"
        );
        let e = Record::parse(
            "r.distinfo",
            &sample().render().replace("MODE = native", "MODE = Native"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.distinfo:6:") && e.contains("MODE"), "{e}");
        let e = Record::parse("r.distinfo", "PROJECT = x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing `VERSION`"), "{e}");
    }

    #[test]
    fn sha256sums_format() {
        let s = render_sha256sums([("b.whl", "22"), ("a.tar.gz", "11")]);
        assert_eq!(s, "11  a.tar.gz\n22  b.whl\n");
    }

    #[test]
    fn a_record_error_is_at_its_file_and_field() {
        let err = RecordError::Incomplete {
            file: "RELEASE".into(),
            artifact: "a.whl".into(),
            field: "sha512",
        };
        assert_eq!(
            err.location(),
            Some((Some("RELEASE".into()), Some("sha512".into())))
        );
    }
}
