//! Canonical JSON as TUF signs it (securesystemslib's
//! `encode_canonical`, the OLPC form): objects with their keys sorted by
//! their UTF-8 bytes, no whitespace, strings with only `"` and `\` escaped
//! (every other character, control characters included, written as is),
//! and integers only -- a float has no canonical form and is refused.

use serde_json::Value;

/// The canonical bytes of `value`, or the JSON path of the first float.
pub fn encode(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(value, &mut out, &mut String::from("$"))?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>, at: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(at.clone());
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                write(item, out, at)?;
                at.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(key, out);
                out.push(b':');
                let len = at.len();
                at.push('.');
                at.push_str(key);
                write(&map[key], out, at)?;
                at.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_by_bytes_no_whitespace_minimal_escapes() {
        let v = json!({"b": 1, "a": [true, null, -2], "Z": "q\"\\\n\u{e9}"});
        assert_eq!(
            encode(&v).unwrap(),
            "{\"Z\":\"q\\\"\\\\\n\u{e9}\",\"a\":[true,null,-2],\"b\":1}".as_bytes()
        );
    }

    #[test]
    fn a_float_is_refused_with_its_path() {
        assert_eq!(encode(&json!({"x": [1, 2.5]})), Err("$.x[1]".to_string()));
    }
}
