//! Strategic merge patch as kustomize v5 applies it (kyaml's merge2 walker): maps merge
//! field by field, `null` deletes, lists merge by their merge keys when the build's schema
//! (see [`super::schema`]) gives them the `merge` strategy and are replaced otherwise
//! (always, for types the schema does not know, such as custom resources), and
//! `$patch: replace|delete|merge` directives apply to maps and lists. New list elements
//! come first, as kustomize prepends them.

use serde_json::{Map, Value};

use super::error::Error;
use super::schema::{Lookup, Sch};

const DIRECTIVE: &str = "$patch";

/// A `$patch` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

/// Applies `patch` to `dest`; `None` when the patch deletes the object.
pub(crate) fn merge(dest: &Value, patch: &Value) -> Result<Option<Value>, Error> {
    walk(
        Some(dest.clone()),
        Some(patch.clone()),
        None,
        &Lookup::default(),
    )
}

/// The schema of a map that carries `apiVersion` and `kind`, as kyaml looks it up for a
/// node its parent's schema says nothing about.
fn lookup<'l>(l: &'l Lookup, v: &Value) -> Result<Option<Sch<'l>>, Error> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (text("apiVersion"), text("kind")) {
        (Some(api_version), Some(kind)) => l.for_type(api_version, kind),
        _ => Ok(None),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    kind_name(a) == kind_name(b)
}

/// Merges one node. `None` means "absent" (a deleted or never-present field).
fn walk<'l>(
    dest: Option<Value>,
    patch: Option<Value>,
    schema: Option<Sch<'l>>,
    l: &'l Lookup,
) -> Result<Option<Value>, Error> {
    let Some(patch) = patch else {
        return dest.map(|d| walk_untouched(d, schema, l)).transpose();
    };
    if patch.is_null() {
        return Ok(None);
    }
    let dest = dest.filter(|d| !d.is_null());
    let schema = match (schema, &dest) {
        (Some(s), _) => Some(s),
        (None, Some(d)) => match lookup(l, d)? {
            Some(s) => Some(s),
            None => lookup(l, &patch)?,
        },
        (None, None) => lookup(l, &patch)?,
    };
    if let Some(d) = &dest
        && !same_kind(d, &patch)
    {
        return Err(Error::new(format!(
            "wrong node kind: expected {} but got {}",
            kind_name(d),
            kind_name(&patch)
        )));
    }
    match patch {
        Value::Object(p) => walk_map(dest, p, schema, l),
        Value::Array(p) => match schema {
            Some(s) if s.merges()? => walk_list(dest, p, schema, &s.merge_keys()?, l),
            _ => Ok(Some(Value::Array(p))),
        },
        scalar => Ok(Some(scalar)),
    }
}

/// A node the patch says nothing about. kyaml walks it all the same, and sets every list
/// the schema merges again from its own elements: elements with the same keys collapse,
/// as in any merge.
fn walk_untouched<'l>(dest: Value, schema: Option<Sch<'l>>, l: &'l Lookup) -> Result<Value, Error> {
    let schema = match schema {
        Some(s) => Some(s),
        None => lookup(l, &dest)?,
    };
    match dest {
        Value::Object(mut m) => {
            for (key, v) in &mut m {
                let child_schema = match schema {
                    Some(s) => s.field(key)?,
                    None => None,
                };
                *v = walk_untouched(std::mem::take(v), child_schema, l)?;
            }
            Ok(Value::Object(m))
        }
        Value::Array(items) => match schema {
            Some(s) if s.merges()? => {
                let keys = s.merge_keys()?;
                let merged = walk_list(Some(Value::Array(items)), Vec::new(), schema, &keys, l)?;
                Ok(merged.unwrap_or_else(|| Value::Array(Vec::new())))
            }
            _ => Ok(Value::Array(items)),
        },
        other => Ok(other),
    }
}

/// Removes a map's `$patch` key and returns its directive.
fn take_map_directive(m: &mut Map<String, Value>) -> Result<Option<Directive>, Error> {
    let Some(v) = m.shift_remove(DIRECTIVE) else {
        return Ok(None);
    };
    parse_directive(&v).map(Some)
}

fn parse_directive(v: &Value) -> Result<Directive, Error> {
    match v.as_str() {
        Some("merge") => Ok(Directive::Merge),
        Some("replace") => Ok(Directive::Replace),
        Some("delete") => Ok(Directive::Delete),
        _ => Err(Error::new(format!(
            "unknown patch strategy '{}'",
            super::resource::scalar_string(v)
        ))),
    }
}

fn walk_map<'l>(
    dest: Option<Value>,
    mut patch: Map<String, Value>,
    schema: Option<Sch<'l>>,
    l: &'l Lookup,
) -> Result<Option<Value>, Error> {
    let directive = take_map_directive(&mut patch)?;
    if directive == Some(Directive::Delete) {
        return Ok(None);
    }
    let mut out = match (dest, directive) {
        (Some(Value::Object(d)), None | Some(Directive::Merge)) => d,
        // A new subtree, or a replacement: the patch merged with itself, which resolves
        // the directives inside it.
        _ => patch.clone(),
    };
    out.shift_remove(DIRECTIVE);
    let mut keys: Vec<String> = out.keys().chain(patch.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let d = out.get(&key).cloned();
        let p = patch.get(&key).cloned();
        let child_schema = match schema {
            Some(s) => s.field(&key)?,
            None => None,
        };
        match walk(d, p, child_schema, l)? {
            Some(v) => {
                out.insert(key, v);
            }
            None => {
                out.shift_remove(&key);
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

/// The list-level directive: an element that is a map holding only `$patch`.
fn take_list_directive(items: &mut Vec<Value>) -> Result<Option<Directive>, Error> {
    let pos = items.iter().position(|e| {
        e.as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key(DIRECTIVE))
    });
    let Some(pos) = pos else {
        return Ok(None);
    };
    let d = parse_directive(&items[pos][DIRECTIVE])?;
    items.remove(pos);
    Ok(Some(d))
}

/// The text of `elem[key]` when it is present and not empty, as kyaml reads key values.
fn key_value(elem: &Value, key: &str) -> Option<String> {
    match elem.get(key)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        v => Some(super::resource::scalar_string(v)),
    }
}

/// kyaml's element lookup: `elem` has every key with exactly the given value.
fn matches(elem: &Value, keys: &[String], values: &[String]) -> bool {
    elem.is_object()
        && keys.iter().zip(values).all(|(k, v)| {
            elem.get(k)
                .is_some_and(|x| super::resource::scalar_string(x) == *v)
        })
}

fn walk_list<'l>(
    dest: Option<Value>,
    mut patch: Vec<Value>,
    schema: Option<Sch<'l>>,
    keys: &[String],
    l: &'l Lookup,
) -> Result<Option<Value>, Error> {
    let dest_items = match dest {
        None => patch.clone(),
        Some(Value::Array(d)) => match take_list_directive(&mut patch)? {
            Some(Directive::Delete) => return Ok(None),
            Some(Directive::Replace) => patch.clone(),
            Some(Directive::Merge) | None => d,
        },
        Some(other) => {
            return Err(Error::new(format!(
                "wrong node kind: expected SequenceNode but got {}",
                kind_name(&other)
            )));
        }
    };
    // kyaml takes the elements' schema before it tells a list of scalars from one of maps.
    let elem_schema = match schema {
        Some(s) => s.elements()?,
        None => None,
    };
    if keys.is_empty() {
        return Ok(Some(Value::Array(merge_scalars(&patch, &dest_items))));
    }
    // Key tuples, the patch's first (kustomize prepends what the patch brings).
    let tuple = |e: &Value| -> Vec<String> {
        keys.iter()
            .map(|k| key_value(e, k).unwrap_or_default())
            .collect()
    };
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for e in patch.iter().chain(dest_items.iter()) {
        let t = tuple(e);
        if !tuples.contains(&t) {
            tuples.push(t);
        }
    }
    if keys.len() > 1 {
        merge_tuples(&mut tuples);
    }
    let valid: Vec<bool> = (0..keys.len())
        .map(|i| tuples.iter().any(|t| !t[i].is_empty()))
        .collect();
    let any_valid = valid.iter().any(|v| *v);
    let mut dest_items = dest_items;
    let mut items: Vec<Value> = Vec::new();
    let mut last_keys: Vec<String> = keys.to_vec();
    for t in &tuples {
        let (vk, vv): (Vec<String>, Vec<String>) = keys
            .iter()
            .zip(t)
            .enumerate()
            .filter(|(i, _)| !any_valid || valid[*i])
            .map(|(_, (k, v))| (k.clone(), v.clone()))
            .unzip();
        last_keys.clone_from(&vk);
        // Looking an element up ignores keys this tuple has no value for.
        let (lk, lv): (Vec<String>, Vec<String>) = if vv.iter().any(|v| !v.is_empty()) {
            vk.iter()
                .zip(&vv)
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .unzip()
        } else {
            (vk.clone(), vv.clone())
        };
        let dest_at = dest_items.iter().position(|e| matches(e, &lk, &lv));
        let patch_el = patch.iter().find(|e| matches(e, &lk, &lv)).cloned();
        let merged = match walk(
            dest_at.map(|i| dest_items[i].clone()),
            patch_el,
            elem_schema,
            l,
        )? {
            Some(Value::Object(m)) if m.is_empty() => None,
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        };
        // An element merged away (`$patch: delete`, or nothing left) leaves the target.
        let Some(mut merged) = merged else {
            element_set(&mut dest_items, &vk, &vv, None);
            continue;
        };
        if let Value::Object(m) = &mut merged {
            for (k, v) in vk.iter().zip(&vv) {
                if !m.contains_key(k) && !v.is_empty() {
                    m.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        // kyaml merges into the target's element in place.
        if let Some(i) = dest_at {
            dest_items[i] = merged.clone();
        }
        element_set(&mut items, &vk, &vv, Some(merged));
    }
    // Then the target's elements are set into the result, keyed by the last tuple's keys:
    // in place for one key; deleted and appended again for several.
    for e in dest_items {
        let mut values = Vec::new();
        for k in &last_keys {
            match e.get(k) {
                None => items.push(e.clone()),
                Some(v) => values.push(super::resource::scalar_string(v)),
            }
        }
        if last_keys.len() > 1 {
            element_set(&mut items, &last_keys, &values, None);
        }
        element_set(&mut items, &last_keys, &values, Some(e));
    }
    Ok(Some(Value::Array(items)))
}

/// kyaml's `ElementSetter`: drops null and empty-map elements, then replaces every element
/// matching the keys (an empty value only asks for the field to exist; keys past the
/// values are not checked, and without any value nothing matches, so every other element
/// is dropped) with `element`, or deletes them when there is none; appends `element` when
/// nothing matched.
fn element_set(list: &mut Vec<Value>, keys: &[String], values: &[String], element: Option<Value>) {
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut found = false;
    for e in list.drain(..) {
        if e.is_null() || e.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        if !e.is_object() {
            out.push(e);
            continue;
        }
        let hit = !values.is_empty()
            && keys.iter().zip(values).all(|(k, v)| match e.get(k) {
                None => false,
                Some(_) if v.is_empty() => true,
                Some(x) => super::resource::scalar_string(x) == *v,
            });
        if !hit {
            if !values.is_empty() {
                out.push(e);
            }
            continue;
        }
        found = true;
        if let Some(el) = &element {
            out.push(el.clone());
        }
    }
    if let Some(el) = element
        && !found
    {
        out.push(el);
    }
    *list = out;
}

/// kyaml's `mergeValues`: tuples that agree where both have values are completed from
/// each other.
fn merge_tuples(tuples: &mut [Vec<String>]) {
    for i in 0..tuples.len() {
        for j in 0..tuples.len() {
            let (a, b) = (&tuples[i], &tuples[j]);
            let mut common = false;
            let mut out = Vec::with_capacity(a.len());
            let mut ok = true;
            for (x, y) in a.iter().zip(b) {
                if x == y {
                    common = true;
                    out.push(x.clone());
                } else if !x.is_empty() && !y.is_empty() {
                    ok = false;
                    break;
                } else if x.is_empty() {
                    out.push(y.clone());
                } else {
                    out.push(x.clone());
                }
            }
            if ok && common {
                tuples[i] = out.clone();
                tuples[j] = out;
            }
        }
    }
}

/// A merged list of scalars: the patch's values, then the target's others.
fn merge_scalars(patch: &[Value], dest: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in patch.iter().chain(dest) {
        if v.is_object() && v.get(DIRECTIVE).is_some() {
            continue;
        }
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn containers_merge_by_name_patch_first() {
        let dest =
            deployment(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
        let patch =
            deployment(json!([{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]));
        let out = merge(&dest, &patch).expect("merge").expect("kept");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}, {"name": "a", "image": "a:1"}])
        );
    }

    #[test]
    fn delete_directive_on_element_and_null_field() {
        let dest = deployment(json!([{"name": "a", "image": "a:1", "args": ["x"]}, {"name": "b"}]));
        let patch =
            deployment(json!([{"name": "b", "$patch": "delete"}, {"name": "a", "args": null}]));
        let out = merge(&dest, &patch).expect("merge").expect("kept");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}])
        );
    }

    #[test]
    fn replace_directive_on_map() {
        let dest = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
            "data": {"a": "1", "b": "2"}});
        let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
            "data": {"$patch": "replace", "c": "3"}});
        let out = merge(&dest, &patch).expect("merge").expect("kept");
        assert_eq!(out["data"], json!({"c": "3"}));
    }

    #[test]
    fn unknown_kinds_replace_lists() {
        let dest = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "x"}, "spec": {"valuesFrom": [{"kind": "Secret", "name": "a"}]}});
        let patch = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "x"}, "spec": {"valuesFrom": [{"kind": "ConfigMap", "name": "b"}]}});
        let out = merge(&dest, &patch).expect("merge").expect("kept");
        assert_eq!(
            out["spec"]["valuesFrom"],
            json!([{"kind": "ConfigMap", "name": "b"}])
        );
    }

    #[test]
    fn delete_whole_object() {
        let dest = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
            "$patch": "delete"});
        assert_eq!(merge(&dest, &patch).expect("merge"), None);
    }
}
