//! The in-toto Statement v1 with a SLSA Provenance v1 predicate that kiln
//! signs for each release, built from plain values (the caller gathers
//! them: the clock, git, the toolchain) and serialized deterministically:
//! compact JSON, UTF-8, object keys sorted bytewise at every depth, arrays
//! in the order given. The same input always gives the same bytes.
//!
//! The meaning of every parameter is documented with the buildType,
//! `docs/build-type-v1.md`; the layout is:
//!
//! ```text
//! _type          https://in-toto.io/Statement/v1
//! subject        [{name, digest: {sha256, sha512}}]        every artifact
//! predicateType  https://slsa.dev/provenance/v1
//! predicate.buildDefinition
//!   buildType            BUILD_TYPE
//!   externalParameters   {project, version, sourceRepository, sourceRef, mode}
//!   internalParameters   {epoch, compression, pins, signing: {kind, keyid?}}
//!   resolvedDependencies [{uri: git+<repository>@<ref>, digest: {gitCommit}},
//!                         then each Dependency: {name?, uri, digest?}]
//! predicate.runDetails
//!   builder   {id}
//!   metadata  {invocationId, startedOn, finishedOn}
//! ```
//!
//! [`parse_statement`] reads it back for verification. It is strict where a
//! verifier must be (`_type`, `predicateType`, `buildType`, the types of the
//! fields it reads, and unknown `externalParameters`, which SLSA's
//! verification rules say must fail) and, as the in-toto parsing rules ask,
//! ignores fields it does not know elsewhere.

use kiln_names::BuildMode;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// kiln's buildType; the document at this address explains the parameters.
pub const BUILD_TYPE: &str = "https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md";

/// One artifact of the release, by file name and digests (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub sha256: String,
    pub sha512: String,
}

/// A resolved dependency (an in-toto ResourceDescriptor): `name` and an
/// empty `digest` are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: Option<String>,
    pub uri: String,
    pub digest: BTreeMap<String, String>,
}

/// How the provenance is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKind {
    /// An offline key configured for the project (`release --key`).
    Key,
    /// The development key created on first use when none is configured:
    /// it proves nothing about who built the release, and says so.
    DevelopmentKey,
    /// Sigstore keyless signing with a CI identity.
    Keyless,
}

impl SigningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKind::Key => "key",
            SigningKind::DevelopmentKey => "development-key",
            SigningKind::Keyless => "keyless",
        }
    }

    pub fn parse(text: &str) -> Option<SigningKind> {
        match text {
            "key" => Some(SigningKind::Key),
            "development-key" => Some(SigningKind::DevelopmentKey),
            "keyless" => Some(SigningKind::Keyless),
            _ => None,
        }
    }
}

/// `internalParameters.signing`: the kind, and the key's id for the two
/// kinds of key ([`crate::PublicKey::keyid`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub kind: SigningKind,
    pub keyid: Option<String>,
}

/// What the build was asked to do: the predicate's `externalParameters`
/// and `internalParameters`, the same values written and read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildParameters {
    // externalParameters
    pub project: String,
    pub version: String,
    pub source_repository: String,
    pub source_ref: String,
    pub mode: BuildMode,
    // internalParameters
    pub epoch: u64,
    pub compression: BTreeMap<String, String>,
    pub pins: BTreeMap<String, String>,
    pub signing: Signing,
}

/// Everything the provenance says, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceInput {
    /// Every artifact of the release.
    pub subjects: Vec<Subject>,
    pub parameters: BuildParameters,
    // resolvedDependencies: the source commit first (as `gitCommit`), then
    // `dependencies` in the order given (none of which may carry a
    // `gitCommit` digest).
    pub source_commit: String,
    pub dependencies: Vec<Dependency>,
    // runDetails
    pub builder_id: String,
    pub invocation_id: String,
    /// RFC 3339, as the caller's clock gave it.
    pub started_on: String,
    pub finished_on: String,
}

/// The statement's bytes: the in-toto Statement v1 for `input`, compact,
/// keys sorted at every level.
pub fn statement_json(input: &ProvenanceInput) -> Vec<u8> {
    let parameters = &input.parameters;
    let subjects: Vec<Value> = input
        .subjects
        .iter()
        .map(|s| json!({"name": s.name, "digest": {"sha256": s.sha256, "sha512": s.sha512}}))
        .collect();
    let mut signing = Map::new();
    signing.insert("kind".into(), parameters.signing.kind.as_str().into());
    if let Some(keyid) = &parameters.signing.keyid {
        signing.insert("keyid".into(), keyid.as_str().into());
    }
    let mut dependencies = vec![json!({
        "uri": format!("git+{}@{}", parameters.source_repository, parameters.source_ref),
        "digest": {"gitCommit": input.source_commit},
    })];
    dependencies.extend(input.dependencies.iter().map(dependency_json));
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "project": parameters.project,
                    "version": parameters.version,
                    "sourceRepository": parameters.source_repository,
                    "sourceRef": parameters.source_ref,
                    "mode": parameters.mode,
                },
                "internalParameters": {
                    "epoch": parameters.epoch,
                    "compression": parameters.compression,
                    "pins": parameters.pins,
                    "signing": signing,
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": input.builder_id},
                "metadata": {
                    "invocationId": input.invocation_id,
                    "startedOn": input.started_on,
                    "finishedOn": input.finished_on,
                },
            },
        },
    });
    // Value's Display is compact JSON and cannot fail.
    sort_keys(statement).to_string().into_bytes()
}

fn dependency_json(d: &Dependency) -> Value {
    let mut map = Map::new();
    if let Some(name) = &d.name {
        map.insert("name".into(), name.as_str().into());
    }
    map.insert("uri".into(), d.uri.as_str().into());
    if !d.digest.is_empty() {
        map.insert("digest".into(), json!(d.digest));
    }
    Value::Object(map)
}

/// Rebuilds every object with its keys in bytewise order (the workspace's
/// serde_json keeps insertion order).
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// A subject as read back: its name and every digest it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSubject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// A statement read back from (verified) bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStatement {
    pub subjects: Vec<ParsedSubject>,
    pub parameters: BuildParameters,
    /// The `gitCommit` of the one resolved dependency that has one.
    pub source_commit: Option<String>,
    /// The other resolved dependencies, in order.
    pub dependencies: Vec<Dependency>,
    pub builder_id: String,
    pub invocation_id: String,
    pub started_on: String,
    pub finished_on: String,
}

/// Why bytes are not a kiln provenance statement. `field` is a path such as
/// `predicate.buildDefinition.externalParameters.version` or `subject[2].name`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatementError {
    #[error("the statement does not parse as JSON: {0}")]
    Json(String),
    #[error("the statement has no {field}")]
    Missing { field: String },
    #[error("the statement's {field} is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("the statement's {field} is {found:?}, expected {expected}")]
    WrongValue {
        field: String,
        expected: String,
        found: String,
    },
    #[error("the statement's {field} is not a parameter of {BUILD_TYPE}")]
    UnknownParameter { field: String },
    #[error("the statement lists no subjects")]
    NoSubjects,
    #[error("the statement's {first} and {second} both carry a gitCommit: which is the source?")]
    TwoSources { first: String, second: String },
}

/// An object being read, with its path for errors.
struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn new(path: String, value: &'a Value) -> Result<Obj<'a>, StatementError> {
        match value {
            Value::Object(map) => Ok(Obj { path, map }),
            _ => Err(StatementError::WrongType {
                field: if path.is_empty() {
                    "top level".to_owned()
                } else {
                    path
                },
                expected: "an object",
            }),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn get(&self, key: &str) -> Result<&'a Value, StatementError> {
        self.opt(key).ok_or_else(|| StatementError::Missing {
            field: self.field(key),
        })
    }

    fn obj(&self, key: &str) -> Result<Obj<'a>, StatementError> {
        Obj::new(self.field(key), self.get(key)?)
    }

    fn string(&self, key: &str) -> Result<String, StatementError> {
        as_string(self.get(key)?, self.field(key))
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, StatementError> {
        self.opt(key)
            .map(|v| as_string(v, self.field(key)))
            .transpose()
    }

    fn u64(&self, key: &str) -> Result<u64, StatementError> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| StatementError::WrongType {
                field: self.field(key),
                expected: "a non-negative integer",
            })
    }

    fn array(&self, key: &str) -> Result<Vec<(String, &'a Value)>, StatementError> {
        match self.get(key)? {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}[{i}]", self.field(key)), v))
                .collect()),
            _ => Err(StatementError::WrongType {
                field: self.field(key),
                expected: "an array",
            }),
        }
    }

    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, StatementError> {
        let obj = self.obj(key)?;
        obj.map
            .iter()
            .map(|(k, v)| Ok((k.clone(), as_string(v, obj.field(k))?)))
            .collect()
    }

    fn constant(&self, key: &str, expected: &str) -> Result<(), StatementError> {
        let found = self.string(key)?;
        if found == expected {
            Ok(())
        } else {
            Err(StatementError::WrongValue {
                field: self.field(key),
                expected: expected.to_owned(),
                found,
            })
        }
    }
}

fn as_string(value: &Value, field: String) -> Result<String, StatementError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or(StatementError::WrongType {
            field,
            expected: "a string",
        })
}

const EXTERNAL_PARAMETERS: [&str; 5] = [
    "project",
    "version",
    "sourceRepository",
    "sourceRef",
    "mode",
];

/// Reads a statement made by [`statement_json`] (or by anyone following
/// kiln's buildType). Call it on the payload of a verified envelope only.
pub fn parse_statement(bytes: &[u8]) -> Result<ParsedStatement, StatementError> {
    // A key given twice would be read as its last value here and perhaps as
    // its first elsewhere: refused before anything is read.
    serde_json::from_slice::<NoDuplicateKeys>(bytes)
        .map_err(|e| StatementError::Json(e.to_string()))?;
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| StatementError::Json(e.to_string()))?;
    let top = Obj::new(String::new(), &value)?;
    top.constant("_type", STATEMENT_TYPE)?;
    top.constant("predicateType", PREDICATE_TYPE)?;

    let mut subjects = Vec::new();
    for (path, item) in top.array("subject")? {
        let subject = Obj::new(path, item)?;
        subjects.push(ParsedSubject {
            name: subject.string("name")?,
            digest: subject.string_map("digest")?,
        });
    }
    if subjects.is_empty() {
        return Err(StatementError::NoSubjects);
    }

    let predicate = top.obj("predicate")?;
    let definition = predicate.obj("buildDefinition")?;
    definition.constant("buildType", BUILD_TYPE)?;
    let external = definition.obj("externalParameters")?;
    if let Some(unknown) = external
        .map
        .keys()
        .find(|k| !EXTERNAL_PARAMETERS.contains(&k.as_str()))
    {
        return Err(StatementError::UnknownParameter {
            field: external.field(unknown),
        });
    }
    let internal = definition.obj("internalParameters")?;
    let signing = internal.obj("signing")?;
    let kind_text = signing.string("kind")?;
    let kind = SigningKind::parse(&kind_text).ok_or_else(|| StatementError::WrongValue {
        field: signing.field("kind"),
        expected: "\"key\", \"development-key\" or \"keyless\"".to_owned(),
        found: kind_text.clone(),
    })?;

    let mut source: Option<(String, String)> = None;
    let mut dependencies = Vec::new();
    for (path, item) in definition.array("resolvedDependencies")? {
        let dep = Obj::new(path.clone(), item)?;
        let digest = match dep.opt("digest") {
            Some(_) => dep.string_map("digest")?,
            None => BTreeMap::new(),
        };
        let uri = dep.string("uri")?;
        let name = dep.opt_string("name")?;
        if let Some(commit) = digest.get("gitCommit") {
            if let Some((first, _)) = &source {
                return Err(StatementError::TwoSources {
                    first: first.clone(),
                    second: path,
                });
            }
            source = Some((path, commit.clone()));
        } else {
            dependencies.push(Dependency { name, uri, digest });
        }
    }

    let run = predicate.obj("runDetails")?;
    let metadata = run.obj("metadata")?;
    Ok(ParsedStatement {
        subjects,
        parameters: BuildParameters {
            project: external.string("project")?,
            version: external.string("version")?,
            source_repository: external.string("sourceRepository")?,
            source_ref: external.string("sourceRef")?,
            mode: {
                let found = external.string("mode")?;
                found.parse().map_err(|_| StatementError::WrongValue {
                    field: external.field("mode"),
                    expected: "\"native\" or \"backend\"".into(),
                    found,
                })?
            },
            epoch: internal.u64("epoch")?,
            compression: internal.string_map("compression")?,
            pins: internal.string_map("pins")?,
            signing: Signing {
                kind,
                keyid: signing.opt_string("keyid")?,
            },
        },
        source_commit: source.map(|(_, commit)| commit),
        dependencies,
        builder_id: run.obj("builder")?.string("id")?,
        invocation_id: metadata.string("invocationId")?,
        started_on: metadata.string("startedOn")?,
        finished_on: metadata.string("finishedOn")?,
    })
}

/// Deserializes any JSON, keeping nothing, and fails on an object that
/// has the same key twice (serde_json's `Value` keeps the last silently).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}
