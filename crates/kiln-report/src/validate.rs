//! Checking a JSON value against the report schema, for tests.
//!
//! A small validator for the part of JSON Schema (2020-12) that the
//! generated schema uses: `$ref` to `#/$defs/...`, `type`, `const`, `enum`,
//! `properties`, `required`, `additionalProperties`, `items`, `anyOf`,
//! `oneOf`, `allOf` and `minimum`; `format`, `description`, `title` and
//! `$schema` are annotations. Any other keyword is an error rather than
//! ignored, so a schema that grows a keyword this does not know cannot
//! pass unchecked. It exists so that the tests need no general-purpose
//! validator (and its dependency tree); a consumer of the reports
//! validates docs/kiln-report.schema.json with any of those.

use serde_json::Value;

/// Checks `value` against `schema` (a whole schema document, whose
/// `$defs` its `$ref`s name). Every violation, each with the JSON
/// pointer of the value it is about.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check(schema, schema, value, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

const ANNOTATIONS: [&str; 5] = ["description", "title", "format", "$schema", "$defs"];

fn check(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at}: no value is allowed here"));
            return;
        }
        Value::Object(schema) => schema,
        other => {
            errors.push(format!("{at}: not a schema: {other}"));
            return;
        }
    };
    for (keyword, arg) in schema {
        match keyword.as_str() {
            "$ref" => match resolve(root, arg) {
                Some(target) => check(root, target, value, at, errors),
                None => errors.push(format!("{at}: unresolvable $ref {arg}")),
            },
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| has_type(value, t)) {
                    errors.push(format!("{at}: {value} is not of type {arg}"));
                }
            }
            "const" if value != arg => {
                errors.push(format!("{at}: {value} is not {arg}"));
            }
            "enum" if !arg.as_array().is_some_and(|a| a.contains(value)) => {
                errors.push(format!("{at}: {value} is not one of {arg}"));
            }
            "minimum" => {
                if let (Some(v), Some(min)) = (value.as_f64(), arg.as_f64())
                    && v < min
                {
                    errors.push(format!("{at}: {value} is below {arg}"));
                }
            }
            "properties" => {
                if let (Some(object), Some(properties)) = (value.as_object(), arg.as_object()) {
                    for (name, sub) in properties {
                        if let Some(v) = object.get(name) {
                            check(root, sub, v, &format!("{at}/{name}"), errors);
                        }
                    }
                }
            }
            "required" => {
                if let (Some(object), Some(names)) = (value.as_object(), arg.as_array()) {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !object.contains_key(name) {
                            errors.push(format!("{at}: no {name:?}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(object) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in object {
                        if !known.is_some_and(|k| k.contains_key(name)) {
                            let mut extra = Vec::new();
                            check(root, arg, v, &format!("{at}/{name}"), &mut extra);
                            if !extra.is_empty() {
                                errors.push(format!("{at}: unexpected field {name:?}"));
                            }
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        check(root, arg, v, &format!("{at}/{i}"), errors);
                    }
                }
            }
            "anyOf" | "oneOf" | "allOf" => {
                let branches = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                let results: Vec<Vec<String>> = branches
                    .iter()
                    .map(|b| {
                        let mut e = Vec::new();
                        check(root, b, value, at, &mut e);
                        e
                    })
                    .collect();
                let passing = results.iter().filter(|e| e.is_empty()).count();
                let ok = match keyword.as_str() {
                    "anyOf" => passing >= 1,
                    "oneOf" => passing == 1,
                    _ => passing == branches.len(),
                };
                if !ok {
                    errors.push(format!(
                        "{at}: {passing} of the {} branches of {keyword} match; the closest fails with: {}",
                        branches.len(),
                        results
                            .iter()
                            .filter(|e| !e.is_empty())
                            .min_by_key(|e| e.len())
                            .map(|e| e.join("; "))
                            .unwrap_or_default()
                    ));
                }
            }
            "const" | "enum" => {}
            other if ANNOTATIONS.contains(&other) => {}
            other => errors.push(format!("{at}: the validator does not know {other:?}")),
        }
    }
}

fn resolve<'a>(root: &'a Value, reference: &Value) -> Option<&'a Value> {
    let name = reference.as_str()?.strip_prefix("#/$defs/")?;
    root.get("$defs")?.get(name)
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_each_keyword() {
        let schema = json!({
            "$defs": { "N": { "type": "integer", "minimum": 0 } },
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "n": { "$ref": "#/$defs/N" },
                "s": { "anyOf": [{ "type": "string", "enum": ["a", "b"] }, { "type": "null" }] },
                "k": { "oneOf": [{ "const": "x" }, { "type": "string" }] },
                "v": { "type": "array", "items": { "type": "boolean" } }
            },
            "required": ["n"]
        });
        assert_eq!(
            validate(&schema, &json!({"n": 1, "s": null, "v": [true]})),
            Ok(())
        );
        for bad in [
            json!({}),
            json!({"n": -1}),
            json!({"n": 1.5}),
            json!({"n": 1, "s": "c"}),
            json!({"n": 1, "k": "x"}),
            json!({"n": 1, "v": [1]}),
            json!({"n": 1, "extra": 0}),
        ] {
            assert!(validate(&schema, &bad).is_err(), "{bad}");
        }
        let unknown = json!({"pattern": "^a"});
        assert!(validate(&unknown, &json!("a")).is_err());
    }
}
