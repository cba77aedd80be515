//! SOPS's JSON store: one top-level object, key order kept, numbers as Go `int` when
//! they fit an `int64` (else `float64`); written with SOPS's own encoder and
//! `json.Indent` with a tab.

use serde_json::Value as Json;

use crate::error::Error;
use crate::tree::{Item, Key, Value};

fn from_json(value: Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s),
        Json::Array(items) => Value::Seq(items.into_iter().map(from_json).collect()),
        Json::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| Item {
                    key: Key::Str(k),
                    value: from_json(v),
                })
                .collect(),
        ),
    }
}

/// Reads a JSON document into one branch.
pub(crate) fn read(input: &[u8]) -> Result<Vec<Item>, Error> {
    let syntax = |reason: String| Error::Syntax {
        format: "JSON",
        reason,
    };
    let json: Json = serde_json::from_slice(input).map_err(|e| syntax(e.to_string()))?;
    match from_json(json) {
        Value::Map(items) => Ok(items),
        _ => Err(syntax(
            "SOPS only supports JSON files with a top-level object".to_owned(),
        )),
    }
}

/// `json.Marshal` of a scalar; Go refuses non-finite floats.
fn scalar(value: &Value) -> Result<String, Error> {
    if let Value::Float(f) = value {
        crunch_gostd::json::format_float(*f).map_err(|e| Error::Emit {
            format: "JSON",
            reason: e.to_string(),
        })?;
    }
    let json = match value {
        // `json.Marshal` of a `time.Time` is its RFC 3339 text, quoted.
        Value::Str(s) | Value::Time(s) => Json::String(s.clone()),
        Value::Bytes(b) => return Ok(invalid_utf8_string(b)),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Bool(b) => Json::Bool(*b),
        _ => Json::Null,
    };
    Ok(crunch_yaml::to_go_json(
        &json,
        crunch_yaml::JsonStyle::Compact,
    ))
}

/// `json.Marshal` of a Go string holding bytes that are not UTF-8: the valid runs as
/// usual, each invalid byte as the escape `\ufffd`.
fn invalid_utf8_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        let valid = crunch_yaml::to_go_json(
            &Json::String(chunk.valid().to_owned()),
            crunch_yaml::JsonStyle::Compact,
        );
        out.push_str(&valid[1..valid.len() - 1]);
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
    out
}

/// SOPS's `encodeValue`: comments skipped, keys and scalars as `json.Marshal` writes them.
pub(crate) fn encode(value: &Value, out: &mut String) -> Result<(), Error> {
    match value {
        Value::Map(items) => {
            out.push('{');
            let mut first = true;
            for item in items {
                let Key::Str(key) = &item.key else { continue };
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&scalar(&Value::Str(key.clone()))?);
                out.push_str(": ");
                encode(&item.value, out)?;
            }
            out.push('}');
        }
        Value::Seq(items) => {
            out.push('[');
            let mut first = true;
            for item in items.iter().filter(|v| !matches!(v, Value::Comment(_))) {
                if !first {
                    out.push(',');
                }
                first = false;
                encode(item, out)?;
            }
            out.push(']');
        }
        other => out.push_str(&scalar(other)?),
    }
    Ok(())
}

/// Go's `json.Indent(dst, src, "", indent)` for valid compact-ish JSON: a line per
/// element, `{}` and `[]` kept together, one space after `:`.
pub(crate) fn indent(src: &str, unit: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut need_indent = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    };
    for c in src.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        if need_indent && c != ']' && c != '}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                need_indent = true;
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The plaintext as SOPS's JSON store writes it, indented by `unit` (SOPS's default is
/// a tab).
pub(crate) fn emit(branch: &[Item], unit: &str) -> Result<String, Error> {
    let mut compact = String::new();
    encode(&Value::Map(branch.to_vec()), &mut compact)?;
    let mut out = indent(&compact, unit);
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_sops_writes_json() {
        let branch = read(br#"{"b": 1, "a": [1.5, true, "x<y"], "e": {}, "l": []}"#).unwrap();
        assert_eq!(
            emit(&branch, "\t").unwrap(),
            "{\n\t\"b\": 1,\n\t\"a\": [\n\t\t1.5,\n\t\ttrue,\n\t\t\"x\\u003cy\"\n\t],\n\t\"e\": {},\n\t\"l\": []\n}\n"
        );
        let bytes = vec![Item {
            key: Key::Str("b".into()),
            value: Value::Bytes(vec![b'<', 0xff, b'a', 0xe2, 0x82]),
        }];
        assert_eq!(
            emit(&bytes, "\t").unwrap(),
            "{\n\t\"b\": \"\\u003c\\ufffda\\ufffd\\ufffd\"\n}\n"
        );
        // A YAML `.inf` cannot be written as JSON, as in Go.
        let inf = vec![Item {
            key: Key::Str("x".into()),
            value: Value::Float(f64::INFINITY),
        }];
        assert_eq!(
            emit(&inf, "\t").unwrap_err().to_string(),
            "cannot write the plaintext as JSON: json: unsupported value: +Inf"
        );
    }
}
