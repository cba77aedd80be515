//! SOPS's dotenv store: `KEY=value` lines (`\n` escapes a line break), `#` comment
//! lines, and the metadata flattened into `sops_…` keys (`stores/flatten.go`).

use serde_json::Value as Json;

use super::flatten;
use crate::error::Error;
use crate::tree::{Comment, Item, Key, Value};

/// Reads the lines into one branch.
pub(crate) fn read(input: &[u8]) -> Result<Vec<Item>, Error> {
    let text = String::from_utf8_lossy(input);
    let mut branch = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            branch.push(Item {
                key: Key::Comment(Comment {
                    text: comment.to_owned(),
                    inline: false,
                }),
                value: Value::Null,
            });
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| Error::Syntax {
            format: "dotenv",
            reason: format!("invalid dotenv input line: {line}"),
        })?;
        branch.push(Item {
            key: Key::Str(key.to_owned()),
            value: Value::Str(value.replace("\\n", "\n")),
        });
    }
    Ok(branch)
}

/// Takes the `sops_…` entries out of the branch and unflattens them into the metadata
/// mapping.
pub(crate) fn take_metadata(branch: &mut Vec<Item>) -> Result<Option<Json>, Error> {
    let mut entries = Vec::new();
    let mut kept = Vec::with_capacity(branch.len());
    for item in branch.drain(..) {
        match (&item.key, &item.value) {
            (Key::Str(k), Value::Str(v)) if k.starts_with("sops_") => {
                entries.push((k["sops_".len()..].to_owned(), v.clone()));
            }
            _ => kept.push(item),
        }
    }
    *branch = kept;
    if entries.is_empty() {
        return Ok(None);
    }
    flatten::unflatten(&entries).map(Some)
}

/// The plaintext as SOPS's dotenv store writes it.
pub(crate) fn emit(branch: &[Item]) -> Result<String, Error> {
    let mut out = String::new();
    for item in branch {
        match &item.key {
            Key::Comment(c) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
            Key::Str(key) => {
                let value = match &item.value {
                    Value::Str(s) => s.replace('\n', "\\n"),
                    Value::Map(_) | Value::Seq(_) => {
                        return Err(Error::Emit {
                            format: "dotenv",
                            reason: format!(
                                "cannot use complex value in dotenv file; offending key {key}"
                            ),
                        });
                    }
                    other => val_to_string(other),
                };
                out.push_str(key);
                out.push('=');
                out.push_str(&value);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// SOPS's `ValToString`.
pub(crate) fn val_to_string(value: &Value) -> String {
    match value {
        Value::Float(f) => {
            let g = crunch_gostd::strconv::format_float(*f, 'G', -1, 64);
            if g.contains('.') || g.contains('E') {
                g
            } else {
                crunch_gostd::strconv::format_float(*f, 'f', 1, 64)
            }
        }
        Value::Bool(b) => b.to_string(),
        // `t.Format(time.RFC3339)`: seconds only.
        Value::Time(t) => crate::metadata::reformat_rfc3339(t).unwrap_or_else(|| t.clone()),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Null => "<nil>".to_owned(),
        Value::Comment(c) => format!("{{{} {}}}", c.text, c.inline),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}
