//! Non-apply patches: JSON merge patch (RFC 7386), strategic merge patch and JSON patch
//! (RFC 6902).
//!
//! Strategic merge is approximated: lists with a known merge key (see
//! [`super::ssa::list_kind`]) merge item by item, `null` deletes, every other list is
//! replaced. Directives (`$patch`, `$retainKeys`, `$setElementOrder`) are refused by name.

use serde_json::Value;

use super::ssa::{ListKind, item_key, list_kind};

/// RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Strategic merge patch (see the module docs for what is covered).
pub fn strategic_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    strategic(target, patch, "")
}

fn strategic(target: &mut Value, patch: &Value, field: &str) -> Result<(), String> {
    match patch {
        Value::Object(p) => {
            if let Some(directive) = p.keys().find(|k| k.starts_with('$')) {
                return Err(format!(
                    "the double does not support the strategic merge directive {directive}"
                ));
            }
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let Value::Object(t) = target else {
                return Ok(());
            };
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    strategic(t.entry(k.clone()).or_insert(Value::Null), v, k)?;
                }
            }
        }
        Value::Array(items) => match (list_kind(field, items), target.as_array_mut()) {
            (ListKind::Keyed(keys), Some(live)) => {
                for item in items {
                    let key = item_key(item, keys);
                    let pos = live
                        .iter()
                        .position(|l| key.is_some() && item_key(l, keys) == key);
                    match pos {
                        Some(i) => strategic(&mut live[i], item, "")?,
                        None => live.push(item.clone()),
                    }
                }
            }
            _ => *target = patch.clone(),
        },
        _ => *target = patch.clone(),
    }
    Ok(())
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Parent container of a JSON pointer and the last token.
fn parent<'a>(doc: &'a mut Value, pointer: &str) -> Result<(&'a mut Value, String), String> {
    let (head, last) = pointer
        .rsplit_once('/')
        .ok_or_else(|| format!("invalid JSON pointer {pointer:?}"))?;
    let container = doc
        .pointer_mut(head)
        .ok_or_else(|| format!("path {head:?} does not exist"))?;
    Ok((container, unescape(last)))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let (container, last) = parent(doc, path)?;
    match container {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) if last == "-" => a.push(value),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i > a.len() {
                return Err(format!("array index {i} out of bounds"));
            }
            a.insert(i, value);
        }
        _ => return Err(format!("cannot add to {path:?}")),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (container, last) = parent(doc, path)?;
    let removed = match container {
        Value::Object(m) => m.remove(&last),
        Value::Array(a) => last
            .parse::<usize>()
            .ok()
            .filter(|i| *i < a.len())
            .map(|i| a.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| format!("unable to remove nonexistent key: {last}: missing value"))
}

/// RFC 6902 JSON patch.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("operation without a path")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("operation on {path:?} without a value"))
        };
        let from = || {
            op["from"]
                .as_str()
                .ok_or_else(|| format!("operation on {path:?} without from"))
        };
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                remove(doc, path)?;
                add(doc, path, value()?)?;
            }
            "move" => {
                let moved = remove(doc, from()?)?;
                add(doc, path, moved)?;
            }
            "copy" => {
                let copied = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or("copy from a missing path")?;
                add(doc, path, copied)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected kind of operation {other:?}")),
        }
    }
    Ok(())
}
