//! Tests of the in-toto provenance statement: the exact bytes for a fixed
//! input (golden), keys sorted at every depth, equal inputs giving equal
//! bytes, the parse round trip, and strict parsing that names the field.

#![allow(clippy::unwrap_used)]

use kiln_provenance::{
    BUILD_TYPE, BuildParameters, Dependency, PREDICATE_TYPE, ProvenanceInput, STATEMENT_TYPE,
    Signing, SigningKind, StatementError, Subject, parse_statement, statement_json,
};
use serde_json::Value;
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn input() -> ProvenanceInput {
    ProvenanceInput {
        subjects: vec![
            Subject {
                name: "kiln_sums-1.0.0-py3-none-any.whl".into(),
                sha256: "a".repeat(64),
                sha512: "b".repeat(128),
            },
            Subject {
                name: "kiln_sums-1.0.0.tar.gz".into(),
                sha256: "c".repeat(64),
                sha512: "d".repeat(128),
            },
        ],
        parameters: BuildParameters {
            project: "kiln-sums".into(),
            version: "1.0.0".into(),
            source_repository: "https://github.com/kiln-dev/kiln".into(),
            source_ref: "refs/tags/kiln-sums-v1.0.0".into(),
            mode: kiln_names::BuildMode::Native,
            epoch: 1_700_000_000,
            compression: map(&[
                ("gzip", "level 9, pigz-style chunks"),
                ("zip", "deflate level 9"),
            ]),
            pins: map(&[("rust", "1.95.0"), ("miniz_oxide", "0.9.1")]),
            signing: Signing {
                kind: SigningKind::DevelopmentKey,
                keyid: Some(
                    "e403be6111e269369d96a317e7e35eb6d4f3027f54293094035709159b7f48a8".into(),
                ),
            },
        },
        source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        dependencies: vec![
            Dependency {
                name: Some("Cargo.lock".into()),
                uri: "git+https://github.com/kiln-dev/kiln@refs/tags/kiln-sums-v1.0.0#Cargo.lock"
                    .into(),
                digest: map(&[("sha256", &"e".repeat(64))]),
            },
            Dependency {
                name: Some("rustc".into()),
                uri: "pkg:generic/rustc@1.95.0".into(),
                digest: BTreeMap::new(),
            },
            Dependency {
                name: None,
                uri: "pkg:pypi/uv-build@0.13.6".into(),
                digest: map(&[("sha256", &"f".repeat(64))]),
            },
        ],
        builder_id: "https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md#local".into(),
        invocation_id: "local:1700000123:kiln-sums".into(),
        started_on: "2026-01-02T03:04:05Z".into(),
        finished_on: "2026-01-02T03:04:09Z".into(),
    }
}

/// The exact bytes for `input()`. A change here changes every signed
/// provenance kiln writes: it needs a new buildType version or a reason.
const GOLDEN: &str = concat!(
    r#"{"_type":"https://in-toto.io/Statement/v1","#,
    r#""predicate":{"buildDefinition":{"buildType":"https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md","#,
    r#""externalParameters":{"mode":"native","project":"kiln-sums","sourceRef":"refs/tags/kiln-sums-v1.0.0","#,
    r#""sourceRepository":"https://github.com/kiln-dev/kiln","version":"1.0.0"},"#,
    r#""internalParameters":{"compression":{"gzip":"level 9, pigz-style chunks","zip":"deflate level 9"},"#,
    r#""epoch":1700000000,"pins":{"miniz_oxide":"0.9.1","rust":"1.95.0"},"#,
    r#""signing":{"keyid":"e403be6111e269369d96a317e7e35eb6d4f3027f54293094035709159b7f48a8","kind":"development-key"}},"#,
    r#""resolvedDependencies":["#,
    r#"{"digest":{"gitCommit":"0123456789abcdef0123456789abcdef01234567"},"uri":"git+https://github.com/kiln-dev/kiln@refs/tags/kiln-sums-v1.0.0"},"#,
    r#"{"digest":{"sha256":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"},"name":"Cargo.lock","uri":"git+https://github.com/kiln-dev/kiln@refs/tags/kiln-sums-v1.0.0#Cargo.lock"},"#,
    r#"{"name":"rustc","uri":"pkg:generic/rustc@1.95.0"},"#,
    r#"{"digest":{"sha256":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},"uri":"pkg:pypi/uv-build@0.13.6"}]},"#,
    r#""runDetails":{"builder":{"id":"https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md#local"},"#,
    r#""metadata":{"finishedOn":"2026-01-02T03:04:09Z","invocationId":"local:1700000123:kiln-sums","startedOn":"2026-01-02T03:04:05Z"}}},"#,
    r#""predicateType":"https://slsa.dev/provenance/v1","#,
    r#""subject":[{"digest":{"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","#,
    r#""sha512":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},"#,
    r#""name":"kiln_sums-1.0.0-py3-none-any.whl"},"#,
    r#"{"digest":{"sha256":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","#,
    r#""sha512":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"},"#,
    r#""name":"kiln_sums-1.0.0.tar.gz"}]}"#,
);

#[test]
fn golden_bytes() {
    let bytes = statement_json(&input());
    assert_eq!(String::from_utf8(bytes).unwrap(), GOLDEN);
}

#[test]
fn equal_inputs_give_equal_bytes() {
    let a = statement_json(&input());
    let b = statement_json(&input().clone());
    assert_eq!(a, b);
    // Map insertion order cannot matter: BTreeMaps, and sorted output.
    let mut reordered = input();
    reordered.parameters.pins = [("rust", "1.95.0"), ("miniz_oxide", "0.9.1")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(statement_json(&reordered), a);
    // Any change shows.
    let mut other = input();
    other.finished_on = "2026-01-02T03:04:10Z".into();
    assert_ne!(statement_json(&other), a);
}

fn assert_sorted(value: &Value, path: &str, objects: &mut usize) {
    match value {
        Value::Object(map) => {
            *objects += 1;
            let keys: Vec<&String> = map.keys().collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "keys of {path} are not sorted");
            for (k, v) in map {
                assert_sorted(v, &format!("{path}.{k}"), objects);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_sorted(v, &format!("{path}[{i}]"), objects);
            }
        }
        _ => {}
    }
}

#[test]
fn keys_are_sorted_at_every_depth_and_the_output_is_compact() {
    let bytes = statement_json(&input());
    // serde_json here keeps the order it reads (preserve_order), so this
    // sees the bytes' own order.
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    let mut objects = 0;
    assert_sorted(&value, "", &mut objects);
    assert!(objects >= 15, "only {objects} objects were checked");
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(": ") && !text.contains(", \"") && !text.contains('\n'));
    // Non-ASCII is written as UTF-8, not escaped.
    let mut unicode = input();
    unicode.parameters.project = "kiln-säms".into();
    let text = String::from_utf8(statement_json(&unicode)).unwrap();
    assert!(text.contains("\"project\":\"kiln-säms\""));
}

#[test]
fn the_statement_is_in_toto_and_slsa() {
    let value: Value = serde_json::from_slice(&statement_json(&input())).unwrap();
    assert_eq!(value["_type"], STATEMENT_TYPE);
    assert_eq!(value["predicateType"], PREDICATE_TYPE);
    assert_eq!(
        value["predicate"]["buildDefinition"]["buildType"],
        BUILD_TYPE
    );
    assert_eq!(value["subject"].as_array().unwrap().len(), 2);
    let source = &value["predicate"]["buildDefinition"]["resolvedDependencies"][0];
    assert_eq!(
        source["digest"]["gitCommit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        value["predicate"]["buildDefinition"]["internalParameters"]["epoch"],
        1_700_000_000u64
    );
}

#[test]
fn parse_round_trip() {
    let input = input();
    let parsed = parse_statement(&statement_json(&input)).unwrap();
    let subjects: Vec<(String, BTreeMap<String, String>)> = input
        .subjects
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                map(&[("sha256", &s.sha256), ("sha512", &s.sha512)]),
            )
        })
        .collect();
    assert_eq!(
        parsed
            .subjects
            .iter()
            .map(|s| (s.name.clone(), s.digest.clone()))
            .collect::<Vec<_>>(),
        subjects
    );
    assert_eq!(parsed.parameters, input.parameters);
    assert_eq!(
        parsed.source_commit.as_deref(),
        Some(input.source_commit.as_str())
    );
    assert_eq!(parsed.dependencies, input.dependencies);
    assert_eq!(parsed.builder_id, input.builder_id);
    assert_eq!(parsed.invocation_id, input.invocation_id);
    assert_eq!(parsed.started_on, input.started_on);
    assert_eq!(parsed.finished_on, input.finished_on);

    // Every signing kind, with and without a keyid.
    for kind in [
        SigningKind::Key,
        SigningKind::DevelopmentKey,
        SigningKind::Keyless,
    ] {
        for keyid in [None, Some("k".to_owned())] {
            let mut other = input.clone();
            other.parameters.signing = Signing { kind, keyid };
            let parsed = parse_statement(&statement_json(&other)).unwrap();
            assert_eq!(parsed.parameters.signing, other.parameters.signing);
        }
    }
}

/// `GOLDEN` with `from` replaced by `to` (which must occur exactly once).
fn edited(from: &str, to: &str) -> Vec<u8> {
    assert_eq!(GOLDEN.matches(from).count(), 1, "{from}");
    GOLDEN.replacen(from, to, 1).into_bytes()
}

#[test]
fn parsing_is_strict_and_names_the_field() {
    let external = "predicate.buildDefinition.externalParameters";
    let cases: Vec<(Vec<u8>, StatementError)> = vec![
        (
            edited("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"),
            StatementError::WrongValue {
                field: "_type".into(),
                expected: STATEMENT_TYPE.into(),
                found: "https://in-toto.io/Statement/v0.1".into(),
            },
        ),
        (
            edited("https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2"),
            StatementError::WrongValue {
                field: "predicateType".into(),
                expected: PREDICATE_TYPE.into(),
                found: "https://slsa.dev/provenance/v0.2".into(),
            },
        ),
        (
            edited("\"_type\":", "\"type\":"),
            StatementError::Missing { field: "_type".into() },
        ),
        (
            edited(r#""buildType":"https://github.com/kiln-dev/kiln/blob/main/docs/build-type-v1.md""#, r#""buildType":"https://example.com/other""#),
            StatementError::WrongValue {
                field: "predicate.buildDefinition.buildType".into(),
                expected: BUILD_TYPE.into(),
                found: "https://example.com/other".into(),
            },
        ),
        (
            edited(r#""version":"1.0.0""#, r#""version":100"#),
            StatementError::WrongType {
                field: format!("{external}.version"),
                expected: "a string",
            },
        ),
        (
            edited(r#""mode":"native","#, r#""mode":"native","debug":"yes","#),
            StatementError::UnknownParameter {
                field: format!("{external}.debug"),
            },
        ),
        (
            edited(r#""mode":"native","#, r#""mode":"Native","#),
            StatementError::WrongValue {
                field: format!("{external}.mode"),
                expected: "\"native\" or \"backend\"".into(),
                found: "Native".into(),
            },
        ),
        (
            edited(r#""mode":"native","#, ""),
            StatementError::Missing {
                field: format!("{external}.mode"),
            },
        ),
        (
            edited(r#""epoch":1700000000"#, r#""epoch":-1"#),
            StatementError::WrongType {
                field: "predicate.buildDefinition.internalParameters.epoch".into(),
                expected: "a non-negative integer",
            },
        ),
        (
            edited(r#""kind":"development-key""#, r#""kind":"trust-me""#),
            StatementError::WrongValue {
                field: "predicate.buildDefinition.internalParameters.signing.kind".into(),
                expected: "\"key\", \"development-key\" or \"keyless\"".into(),
                found: "trust-me".into(),
            },
        ),
        (
            edited(r#""name":"kiln_sums-1.0.0.tar.gz""#, r#""name":["kiln_sums-1.0.0.tar.gz"]"#),
            StatementError::WrongType {
                field: "subject[1].name".into(),
                expected: "a string",
            },
        ),
        (
            edited(r#"{"name":"rustc","uri":"pkg:generic/rustc@1.95.0"}"#, r#"{"digest":{"gitCommit":"00"},"uri":"x"}"#),
            StatementError::TwoSources {
                first: "predicate.buildDefinition.resolvedDependencies[0]".into(),
                second: "predicate.buildDefinition.resolvedDependencies[2]".into(),
            },
        ),
        (
            br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[]}"#.to_vec(),
            StatementError::NoSubjects,
        ),
        (b"[]".to_vec(), StatementError::WrongType { field: "top level".into(), expected: "an object" }),
    ];
    for (bytes, expected) in cases {
        let err = parse_statement(&bytes).unwrap_err();
        assert_eq!(err, expected, "{}", String::from_utf8_lossy(&bytes));
    }
    assert!(matches!(
        parse_statement(b"{"),
        Err(StatementError::Json(_))
    ));
    // A key twice, at any depth, is refused rather than read as one value.
    for (from, to) in [
        (
            r#""version":"1.0.0""#,
            r#""version":"1.0.0","version":"6.6.6""#,
        ),
        (
            r#""gitCommit":"0123"#,
            r#""gitCommit":"ffff","gitCommit":"0123"#,
        ),
        (r#""_type":"#, r#""predicateType":"x","_type":"#),
    ] {
        match parse_statement(&edited(from, to)) {
            Err(StatementError::Json(message)) => {
                assert!(message.contains("appears twice"), "{message}")
            }
            other => panic!("{to}: {other:?}"),
        }
    }
    let err = parse_statement(&edited(r#""version":"1.0.0""#, r#""version":100"#)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the statement's predicate.buildDefinition.externalParameters.version is not a string"
    );
}

#[test]
fn unknown_fields_outside_external_parameters_are_ignored() {
    // in-toto's parsing rules: consumers ignore fields they do not know.
    let bytes = edited(r#""runDetails":{"#, r#""runDetails":{"byproducts":[],"#);
    let extended = edited(
        r#""predicateType":"#,
        r#""extension":{"x":1},"predicateType":"#,
    );
    assert!(parse_statement(&bytes).is_ok());
    assert!(parse_statement(&extended).is_ok());
    // A statement with no source commit parses; the verifier decides.
    let no_source = edited(
        r#""gitCommit":"0123456789abcdef0123456789abcdef01234567""#,
        r#""sha1":"0123456789abcdef0123456789abcdef01234567""#,
    );
    let parsed = parse_statement(&no_source).unwrap();
    assert_eq!(parsed.source_commit, None);
    assert_eq!(parsed.dependencies.len(), 4);
}
