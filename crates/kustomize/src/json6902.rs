//! JSON patch (RFC 6902): add, remove, replace, move, copy and test.

use serde_json::Value;

use super::error::Error;

/// One decoded operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Op {
    op: String,
    path: Pointer,
    from: Pointer,
    value: Option<Value>,
}

/// An operation's `path` or `from`, as json-patch v4 decodes it when it applies the
/// operation: a string, or absent (`null` too), or some other JSON kind.
#[derive(Debug, Clone, PartialEq)]
enum Pointer {
    Given(String),
    Missing,
    NotString(&'static str),
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
            let pointer = |key: &str| match item.get(key) {
                None | Some(Value::Null) => Pointer::Missing,
                Some(Value::String(text)) => Pointer::Given(text.clone()),
                Some(Value::Bool(_)) => Pointer::NotString("bool"),
                Some(Value::Number(_)) => Pointer::NotString("number"),
                Some(Value::Array(_)) => Pointer::NotString("array"),
                Some(Value::Object(_)) => Pointer::NotString("object"),
            };
            Ok(Op {
                op,
                path: pointer("path"),
                from: pointer("from"),
                value: item.get("value").cloned(),
            })
        })
        .collect()
}

/// Applies the operations in order to `doc`.
pub(crate) fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), Error> {
    for op in ops {
        let (path, from) = pointers(op)?;
        apply_one(doc, op, path, from).map_err(|e| {
            Error::new(format!(
                "{} operation on path {path:?}: {}",
                op.op,
                e.message()
            ))
        })?;
    }
    Ok(())
}

/// The operation's `path` and, for `move` and `copy`, `from`, or json-patch v4's error
/// for the first it cannot decode (in its words, which differ from operation to
/// operation).
fn pointers(op: &Op) -> Result<(&str, &str), Error> {
    let fail = |what: &str, reason: String| {
        Error::new(format!(
            "{} operation failed to decode {what}: {reason}",
            op.op
        ))
    };
    let reason = |pointer: &Pointer, missing: &str| match pointer {
        Pointer::NotString(kind) => {
            format!("json: cannot unmarshal {kind} into Go value of type string")
        }
        _ => format!("{missing}missing value"),
    };
    let from = match (&op.from, op.op.as_str()) {
        (Pointer::Given(from), _) => from.as_str(),
        (_, "move" | "copy") => {
            return Err(fail(
                "from",
                reason(&op.from, "operation, missing from field: "),
            ));
        }
        _ => "",
    };
    let Pointer::Given(path) = &op.path else {
        // add, remove and copy report only that something is missing.
        let reason = match op.op.as_str() {
            "add" | "remove" | "copy" => "missing value".to_string(),
            _ => reason(&op.path, "operation missing path field: "),
        };
        return Err(fail("path", reason));
    };
    Ok((path, from))
}

fn apply_one(doc: &mut Value, op: &Op, path: &str, from: &str) -> Result<(), Error> {
    // add and replace without a value set null.
    let value_or_null = || op.value.clone().unwrap_or(Value::Null);
    let value = || op.value.clone().ok_or_else(|| Error::new("missing value"));
    match op.op.as_str() {
        "add" => add(doc, path, value_or_null()),
        "remove" => remove(doc, path).map(|_| ()),
        "replace" => replace(doc, path, value_or_null()),
        "move" => {
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let v = get_mut(doc, from)?.clone();
            add(doc, path, v)
        }
        "test" => {
            // A missing path tests equal to null, as in kustomize's json-patch library.
            let v = value()?;
            let found = match get_mut(doc, path) {
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
