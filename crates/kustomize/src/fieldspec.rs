//! Field specs: "this path, in objects of this gvk" — the configuration every built-in
//! transformer is driven by — and the walker that visits the fields they name.

use serde_json::{Map, Value};

use super::error::Error;
use super::resid::Gvk;
use super::util::ensure_map;

/// A path in objects of a selected gvk; `create` says whether a transformer may add it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    /// Which objects (empty parts match anything).
    pub gvk: Gvk,
    /// Slash-separated; `\/` escapes a slash inside a key; `[]` marks a list.
    pub path: String,
    /// Whether a missing field is created.
    pub create: bool,
}

/// What the walker creates at the end of a missing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CreateKind {
    /// Never create anything.
    None,
    /// A map (labels, annotations).
    Map,
    /// An empty string (namespace).
    Scalar,
}

impl FieldSpec {
    /// A spec for every kind.
    pub(crate) fn any(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk::default(),
            path: path.to_string(),
            create,
        }
    }

    /// Reads `{path, group, version, kind, create}`.
    pub(crate) fn parse(v: &Value) -> Result<FieldSpec, Error> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let path = s("path");
        if path.is_empty() {
            return Err(Error::new(format!("fieldSpec without a path: {v}")));
        }
        Ok(FieldSpec {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            path,
            create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Calls `set` on every value at this spec's path in `obj`, when `obj`'s gvk matches.
    pub(crate) fn apply(
        &self,
        obj: &mut Value,
        create: CreateKind,
        set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !Gvk::of(obj).is_selected_by(&self.gvk) {
            return Ok(());
        }
        let segments = split_path(&self.path);
        let create = if self.create {
            create
        } else {
            CreateKind::None
        };
        walk(obj, &segments, create, set)
            .map_err(|e| Error::new(format!("fieldSpec path {}: {}", self.path, e.message())))
    }
}

/// Sets `key: value` (as a string) in the map at every spec's path of `obj`, keys in
/// sorted order, creating the map where a spec allows it (labels, annotations).
pub(crate) fn set_entries(
    obj: &mut Value,
    specs: &[FieldSpec],
    pairs: &[(String, String)],
) -> Result<(), Error> {
    let mut sorted = pairs.to_vec();
    sorted.sort();
    for (k, v) in &sorted {
        for fs in specs {
            fs.apply(obj, CreateKind::Map, &mut |node| {
                if !node.is_object() {
                    return Err(Error::new(format!(
                        "wrong node kind: expected MappingNode but got {}",
                        node_kind(node)
                    )));
                }
                ensure_map(node).insert(k.clone(), Value::String(v.clone()));
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// The kind of YAML node a value is, as kyaml names it.
fn node_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "SequenceNode",
        Value::Object(_) => "MappingNode",
        _ => "ScalarNode",
    }
}

/// Splits a field spec path on `/`, honouring `\/` escapes.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                chars.next();
                push_char(&mut out, '/');
            }
            '/' => out.push(String::new()),
            c => push_char(&mut out, c),
        }
    }
    out
}

fn push_char(out: &mut [String], c: char) {
    if let Some(last) = out.last_mut() {
        last.push(c);
    }
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: CreateKind,
    set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let Some((head, rest)) = path.split_first() else {
        return set(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| walk(item, path, create, set)),
        Value::Object(map) => walk_map(map, head, rest, create, set),
        _ => Err(Error::new("expected sequence or mapping node")),
    }
}

fn walk_map(
    map: &mut Map<String, Value>,
    head: &str,
    rest: &[String],
    create: CreateKind,
    set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let (field, is_seq) = match head.strip_suffix("[]") {
        Some(f) => (f, true),
        None => (head, false),
    };
    if field.is_empty() {
        return Err(Error::new("cannot set or create an empty field name"));
    }
    // What a missing or null field becomes, as kustomize decides it.
    let make: Option<fn() -> Value> = if is_seq {
        Some(|| Value::Array(Vec::new()))
    } else {
        match create {
            CreateKind::None => None,
            _ if !rest.is_empty() => Some(|| Value::Object(Map::new())),
            CreateKind::Map => Some(|| Value::Object(Map::new())),
            CreateKind::Scalar => Some(|| Value::String(String::new())),
        }
    };
    let creates_missing = !is_seq && create != CreateKind::None;
    if !map.contains_key(field) {
        match make {
            Some(make) if creates_missing => {
                map.insert(field.to_string(), make());
            }
            _ => return Ok(()),
        }
    }
    let Some(value) = map.get_mut(field) else {
        return Ok(());
    };
    if value.is_null()
        && let Some(make) = make
    {
        *value = make();
    }
    walk(value, rest, create, set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaped_slash_stays_in_key() {
        assert_eq!(
            split_path(r"metadata/annotations/a.io\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
    }

    #[test]
    fn walks_lists_implicitly_and_creates_maps() {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}}}});
        let fs = FieldSpec::any("spec/template/spec/containers/image", false);
        let mut seen = Vec::new();
        fs.apply(&mut obj, CreateKind::None, &mut |v| {
            seen.push(v.clone());
            Ok(())
        })
        .expect("walk");
        assert_eq!(seen, vec![json!("a"), json!("b")]);
        let labels = FieldSpec::any("spec/template/metadata/labels", true);
        labels
            .apply(&mut obj, CreateKind::Map, &mut |v| {
                v["x"] = json!("y");
                Ok(())
            })
            .expect("walk");
        assert_eq!(
            obj["spec"]["template"]["metadata"]["labels"],
            json!({"x": "y"})
        );
    }
}
