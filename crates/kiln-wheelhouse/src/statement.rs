//! The in-toto Statement v1 (SLSA Provenance v1 predicate) a wheelhouse is
//! signed with: its subjects are every wheel **and** `requirements.txt`, so
//! neither a wheel nor the file pip installs from can be swapped after
//! signing. Serialized as kiln-provenance's release statement is: compact
//! JSON, keys sorted bytewise at every depth, arrays in a fixed order.
//!
//! ```text
//! subject              [{name, digest: {sha256, sha512}}]   wheels, requirements.txt
//! predicate.buildDefinition
//!   buildType            BUILD_TYPE
//!   externalParameters   {sources: {name, sha256}, index}
//!   internalParameters   {pins, signing: {kind, keyid?}}
//!   resolvedDependencies each sdist (pkg:pypi/<name>@<version>, sha256),
//!                        each lock (file:locks/..., sha256), each locked
//!                        build requirement (pkg:pypi/..., sha256)
//! predicate.runDetails   {builder: {id}, metadata: {invocationId, startedOn, finishedOn}}
//! ```

use crate::WheelhouseError;
use crate::house::{SOURCES, Wheelhouse, lock_file};
use kiln_digest::Digests;
use kiln_provenance::statement::{PREDICATE_TYPE, STATEMENT_TYPE};
use kiln_provenance::{Envelope, PublicKey, Signing};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The wheelhouse's buildType; the document explains the parameters.
pub const BUILD_TYPE: &str =
    "https://github.com/kiln-dev/kiln/blob/main/docs/build-type-wheelhouse-v1.md";

/// What the statement says besides the wheelhouse itself: where the sdists
/// came from, how it is signed, and the run details the caller's clock and
/// CI identity give.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub index: String,
    pub signing: Signing,
    pub builder_id: String,
    pub invocation_id: String,
    /// RFC 3339.
    pub started_on: String,
    pub finished_on: String,
}

fn digest_json(d: &Digests) -> Value {
    json!({"sha256": d.sha256_hex(), "sha512": d.sha512_hex()})
}

/// The statement's bytes.
pub fn statement_json(house: &Wheelhouse, facts: &RunFacts) -> Vec<u8> {
    let subjects: Vec<Value> = house
        .subjects()
        .iter()
        .map(|(name, d)| json!({"name": name, "digest": digest_json(d)}))
        .collect();
    let mut entries: Vec<_> = house.entries.iter().collect();
    entries.sort_by(|a, b| a.name.normalized().cmp(b.name.normalized()));
    let mut dependencies = Vec::new();
    for e in &entries {
        dependencies.push(json!({
            "name": e.sdist_filename,
            "uri": format!("pkg:pypi/{}@{}", e.name.normalized(), e.version),
            "digest": {"sha256": e.sdist_sha256},
        }));
    }
    for e in &entries {
        let lock = lock_file(&e.name, &e.version);
        dependencies.push(json!({
            "name": lock,
            "uri": format!("file:{lock}"),
            "digest": {"sha256": Digests::of_bytes(&e.lock).sha256_hex()},
        }));
    }
    let mut locked: Vec<&(String, String, String)> =
        entries.iter().flat_map(|e| e.locked.iter()).collect();
    locked.sort();
    locked.dedup();
    for (name, version, sha256) in locked {
        dependencies.push(json!({
            "name": name,
            "uri": format!("pkg:pypi/{name}@{version}"),
            "digest": {"sha256": sha256},
        }));
    }
    let mut signing = Map::new();
    signing.insert("kind".into(), facts.signing.kind.as_str().into());
    if let Some(keyid) = &facts.signing.keyid {
        signing.insert("keyid".into(), keyid.as_str().into());
    }
    let sources = Digests::of_bytes(house.sources_txt().as_bytes()).sha256_hex();
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "sources": {"name": SOURCES, "sha256": sources},
                    "index": facts.index,
                },
                "internalParameters": {
                    "pins": house.pins,
                    "signing": signing,
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": facts.builder_id},
                "metadata": {
                    "invocationId": facts.invocation_id,
                    "startedOn": facts.started_on,
                    "finishedOn": facts.finished_on,
                },
            },
        },
    });
    sort_keys(statement).to_string().into_bytes()
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Check a verified statement's payload: an in-toto statement of this
/// buildType whose subjects are exactly `expected` (name → digests), each
/// with the same sha256 and sha512. The error names the first subject
/// that does not agree.
pub fn check_subjects(
    payload: &[u8],
    expected: &BTreeMap<String, Digests>,
) -> Result<(), WheelhouseError> {
    let bad = |problem: String| WheelhouseError::Statement { problem };
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| bad(format!("the payload is not JSON: {e}")))?;
    let field = |v: &Value, path: &[&str]| -> Option<String> {
        let mut at = v;
        for key in path {
            at = at.get(key)?;
        }
        at.as_str().map(str::to_string)
    };
    for (path, wanted) in [
        (&["_type"][..], STATEMENT_TYPE),
        (&["predicateType"][..], PREDICATE_TYPE),
        (
            &["predicate", "buildDefinition", "buildType"][..],
            BUILD_TYPE,
        ),
    ] {
        let found = field(&value, path);
        if found.as_deref() != Some(wanted) {
            return Err(bad(format!(
                "{} is {found:?}, not {wanted:?}: not a wheelhouse statement",
                path.join(".")
            )));
        }
    }
    let subjects = value
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("it has no subject list".into()))?;
    let mut seen = BTreeMap::new();
    for s in subjects {
        let name = field(s, &["name"]).ok_or_else(|| bad("a subject has no name".into()))?;
        let Some(want) = expected.get(&name) else {
            return Err(bad(format!(
                "subject {name} is not a file of this wheelhouse"
            )));
        };
        for (algorithm, hex) in [("sha256", want.sha256_hex()), ("sha512", want.sha512_hex())] {
            let listed = field(s, &["digest", algorithm]);
            if listed.as_deref() != Some(hex.as_str()) {
                return Err(bad(format!(
                    "subject {name} has {algorithm} {}, the file has {hex}",
                    listed.as_deref().unwrap_or("(none)")
                )));
            }
        }
        if seen.insert(name.clone(), ()).is_some() {
            return Err(bad(format!("subject {name} is listed twice")));
        }
    }
    if let Some(missing) = expected.keys().find(|n| !seen.contains_key(*n)) {
        return Err(bad(format!("{missing} is not among the signed subjects")));
    }
    Ok(())
}

/// Check a wheelhouse's statement file (`text`, one DSSE envelope a line):
/// every line an in-toto statement signed by one of the `trusted` keys
/// (each with the label a report names it by), whose subjects are exactly
/// `expected` (see [`check_subjects`]). The signers' labels, in order;
/// at least one.
pub fn check_statement(
    text: &str,
    trusted: &[(PublicKey, String)],
    expected: &BTreeMap<String, Digests>,
) -> Result<Vec<String>, WheelhouseError> {
    let bad = |problem: String| WheelhouseError::Signature { problem };
    let keys: Vec<PublicKey> = trusted.iter().map(|(k, _)| k.clone()).collect();
    let mut signers = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let envelope =
            Envelope::parse(line).map_err(|e| bad(format!("not a DSSE envelope: {e}")))?;
        let verified = envelope
            .verify_in_toto(&keys)
            .map_err(|e| bad(format!("signature check failed: {e}")))?;
        check_subjects(&verified.payload, expected)?;
        signers.push(
            trusted
                .iter()
                .find(|(k, _)| k.keyid() == verified.keyid)
                .map_or_else(|| verified.keyid.clone(), |(_, l)| l.clone()),
        );
    }
    if signers.is_empty() {
        return Err(bad("the statement file is empty".into()));
    }
    Ok(signers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::house::REQUIREMENTS;
    use kiln_provenance::SigningKind;

    fn facts() -> RunFacts {
        RunFacts {
            index: "https://pypi.org/simple/".into(),
            signing: Signing {
                kind: SigningKind::Key,
                keyid: Some("k".into()),
            },
            builder_id: "b".into(),
            invocation_id: "i".into(),
            started_on: "2026-11-30T00:00:00Z".into(),
            finished_on: "2026-11-30T00:00:01Z".into(),
        }
    }

    #[test]
    fn statement_covers_wheels_and_requirements_and_checks_back() {
        let house = crate::house::tests::sample();
        let bytes = statement_json(&house, &facts());
        let mut reversed = house.clone();
        reversed.entries.reverse();
        assert_eq!(bytes, statement_json(&reversed, &facts()));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"pkg:pypi/click@8.5.1\""), "{text}");
        assert!(
            text.contains("\"file:locks/six-1.17.0.lock.toml\""),
            "{text}"
        );
        assert_eq!(text.matches("pkg:pypi/flit-core@3.12.0").count(), 1);
        let subjects = house.subjects();
        check_subjects(&bytes, &subjects).unwrap();

        let mut swapped = subjects.clone();
        swapped.insert(
            REQUIREMENTS.into(),
            Digests::of_bytes(b"other requirements"),
        );
        let e = check_subjects(&bytes, &swapped).unwrap_err().to_string();
        assert!(e.contains("subject requirements.txt has sha256"), "{e}");
        let mut more = subjects.clone();
        more.insert("evil-1-py3-none-any.whl".into(), Digests::of_bytes(b"x"));
        let e = check_subjects(&bytes, &more).unwrap_err().to_string();
        assert!(e.contains("evil-1-py3-none-any.whl is not among"), "{e}");
        let mut fewer = subjects.clone();
        fewer.remove(REQUIREMENTS);
        let e = check_subjects(&bytes, &fewer).unwrap_err().to_string();
        assert!(e.contains("requirements.txt is not a file"), "{e}");
        let e = check_subjects(b"{\"_type\": 1}", &subjects)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a wheelhouse statement"), "{e}");
    }

    #[test]
    fn a_statement_is_signed_by_a_trusted_key_over_the_files() {
        let house = crate::house::tests::sample();
        let bytes = statement_json(&house, &facts());
        let key = kiln_provenance::PrivateKey::from_seed([7; 32]);
        let other = kiln_provenance::PrivateKey::from_seed([8; 32]);
        let line = |k: &kiln_provenance::PrivateKey| {
            kiln_provenance::dsse::sign(kiln_provenance::IN_TOTO_PAYLOAD_TYPE, &bytes, k)
                .to_json_line()
        };
        let trusted = [(key.public_key(), "release key".to_string())];
        let subjects = house.subjects();
        let text = format!("{}\n\n{}\n", line(&key), line(&key));
        assert_eq!(
            check_statement(&text, &trusted, &subjects).unwrap(),
            ["release key", "release key"]
        );
        let e = check_statement(&line(&other), &trusted, &subjects).unwrap_err();
        assert!(e.to_string().starts_with("signature check failed: "), "{e}");
        let e = check_statement("{", &trusted, &subjects).unwrap_err();
        assert!(e.to_string().starts_with("not a DSSE envelope: "), "{e}");
        let e = check_statement("\n \n", &trusted, &subjects).unwrap_err();
        assert_eq!(e.to_string(), "the statement file is empty");
        let mut fewer = subjects.clone();
        fewer.remove(crate::house::REQUIREMENTS);
        let e = check_statement(&line(&key), &trusted, &fewer).unwrap_err();
        assert!(matches!(e, WheelhouseError::Statement { .. }), "{e}");
    }
}
