//! JSON patch (RFC 6902): add, remove, replace, move, copy and test.

use serde_json::Value;

use super::error::Error;

/// One decoded operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Op {
    op: String,
    path: String,
    from: Option<String>,
    value: Option<Value>,
}

/// Reads a list of operations (already parsed from JSON or YAML).
pub(crate) fn decode(doc: &Value) -> Result<Vec<Op>, Error> {
    let Some(items) = doc.as_array() else {
        return Err(Error::new("a JSON patch must be a list of operations"));
    };
    items
        .iter()
        .map(|item| {
            let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
            let op = s("op")
                .ok_or_else(|| Error::new(format!("JSON patch operation without op: {item}")))?;
            if !matches!(
                op.as_str(),
                "add" | "remove" | "replace" | "move" | "copy" | "test"
            ) {
                return Err(Error::new(format!("Unexpected kind: {op}")));
            }
            Ok(Op {
                op,
                path: s("path").unwrap_or_default(),
                from: s("from"),
                value: item.get("value").cloned(),
            })
        })
        .collect()
}

/// Applies the operations in order to `doc`.
pub(crate) fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), Error> {
    for op in ops {
        apply_one(doc, op).map_err(|e| {
            Error::new(format!(
                "{} operation on path {:?}: {}",
                op.op,
                op.path,
                e.message()
            ))
        })?;
    }
    Ok(())
}

fn apply_one(doc: &mut Value, op: &Op) -> Result<(), Error> {
    let value = || op.value.clone().ok_or_else(|| Error::new("missing value"));
    match op.op.as_str() {
        "add" => add(doc, &op.path, value()?),
        "remove" => remove(doc, &op.path).map(|_| ()),
        "replace" => replace(doc, &op.path, value()?),
        "move" => {
            let from = op
                .from
                .as_deref()
                .ok_or_else(|| Error::new("missing from"))?;
            let v = remove(doc, from)?;
            add(doc, &op.path, v)
        }
        "copy" => {
            let from = op
                .from
                .as_deref()
                .ok_or_else(|| Error::new("missing from"))?;
            let v = get_mut(doc, from)?.clone();
            add(doc, &op.path, v)
        }
        "test" => {
            // A missing path tests equal to null, as in kustomize's json-patch library.
            let v = value()?;
            let found = match get_mut(doc, &op.path) {
                Ok(found) => found.clone(),
                Err(_) if v.is_null() => Value::Null,
                Err(e) => return Err(e),
            };
            if found == v {
                Ok(())
            } else {
                Err(Error::new("testing value failed"))
            }
        }
        other => Err(Error::new(format!("Unexpected kind: {other}"))),
    }
}

/// Splits a JSON pointer into unescaped tokens.
fn tokens(path: &str) -> Result<Vec<String>, Error> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Error::new(format!("invalid JSON pointer {path:?}")));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// An array index: `-` (and, for add, negative indices counted from the end as kustomize's
/// json-patch library does) or a number within bounds.
fn index(token: &str, len: usize, allow_end: bool) -> Result<usize, Error> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let i: i64 = token
        .parse()
        .map_err(|_| Error::new(format!("Unable to access invalid index: {token}")))?;
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let i = match i {
        i if i < 0 && allow_end => len_i + 1 + i,
        i if i < 0 => len_i + i,
        i => i,
    };
    let limit = if allow_end { len_i } else { len_i - 1 };
    if i < 0 || i > limit {
        return Err(Error::new(format!(
            "Unable to access invalid index: {token}"
        )));
    }
    usize::try_from(i).map_err(|_| Error::new(format!("Unable to access invalid index: {token}")))
}

fn get_mut<'a>(doc: &'a mut Value, path: &str) -> Result<&'a mut Value, Error> {
    let mut cur = doc;
    for t in tokens(path)? {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(&t)
                .ok_or_else(|| Error::new(format!("doc is missing key: {path}")))?,
            Value::Array(a) => {
                let i = index(&t, a.len(), false)?;
                &mut a[i]
            }
            _ => return Err(Error::new(format!("doc is missing path: {path}"))),
        };
    }
    Ok(cur)
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), Error> {
    let mut toks = tokens(path)?;
    let Some(last) = toks.pop() else {
        return Err(Error::new("cannot address the whole document"));
    };
    let escaped: String = toks
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect();
    Ok((get_mut(doc, &escaped)?, last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), Error> {
    put(doc, path, v, |a, last, v| {
        let i = index(last, a.len(), true)?;
        a.insert(i, v);
        Ok(())
    })
}

/// Replaces an existing value; like kustomize's json-patch library, a missing key of an
/// existing map is simply set.
fn replace(doc: &mut Value, path: &str, v: Value) -> Result<(), Error> {
    put(doc, path, v, |a, last, v| {
        let i = index(last, a.len(), false)
            .map_err(|_| Error::new(format!("doc is missing key: {path}")))?;
        a[i] = v;
        Ok(())
    })
}

/// Sets `v` at `path`: the whole document when `path` is empty, a key of a map, or in an
/// array where `into_array` (given the array and the last path token) puts it.
fn put(
    doc: &mut Value,
    path: &str,
    v: Value,
    into_array: impl FnOnce(&mut Vec<Value>, &str, Value) -> Result<(), Error>,
) -> Result<(), Error> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => {
            m.insert(last, v);
            Ok(())
        }
        Value::Array(a) => into_array(a, &last, v),
        _ => Err(Error::new(format!("doc is missing path: {path}"))),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, Error> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => m
            .shift_remove(&last)
            .ok_or_else(|| Error::new(format!("doc is missing key: {path}"))),
        Value::Array(a) => {
            let i = index(&last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(Error::new(format!("doc is missing path: {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn add_append_replace_remove() {
        let mut doc = json!({"spec": {"valuesFrom": [{"name": "a"}], "x": 1}});
        let ops = decode(&json!([
            {"op": "add", "path": "/spec/valuesFrom/-", "value": {"name": "b"}},
            {"op": "replace", "path": "/spec/x", "value": 2},
            {"op": "remove", "path": "/spec/valuesFrom/0"},
            {"op": "add", "path": "/metadata~1x", "value": true}
        ]))
        .expect("decode");
        apply(&mut doc, &ops).expect("apply");
        assert_eq!(
            doc,
            json!({"spec": {"valuesFrom": [{"name": "b"}], "x": 2}, "metadata/x": true})
        );
    }

    #[test]
    fn replace_missing_key_sets_it_but_missing_parent_fails() {
        let mut doc = json!({});
        let ops = decode(&json!([{"op": "replace", "path": "/a", "value": 1}])).expect("decode");
        apply(&mut doc, &ops).expect("replace sets a missing key");
        assert_eq!(doc, json!({"a": 1}));
        let ops = decode(&json!([{"op": "replace", "path": "/b/c", "value": 1}])).expect("decode");
        assert!(apply(&mut doc, &ops).is_err());
    }

    #[test]
    fn negative_add_index_appends() {
        let mut doc = json!({"l": ["a", "b"]});
        let ops = decode(&json!([{"op": "add", "path": "/l/-1", "value": "c"}])).expect("decode");
        apply(&mut doc, &ops).expect("apply");
        assert_eq!(doc, json!({"l": ["a", "b", "c"]}));
    }
}
