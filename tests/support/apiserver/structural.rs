//! What a CustomResourceDefinition's structural schema does to nulls: a create drops
//! the nulls of fields the schema does not declare nullable (before defaulting), while
//! server-side apply validates them and refuses the object, as the real server does
//! (`must be of type array: "null"`).

use serde_json::Value;

use super::catalog::Resource;
use super::status::ApiError;
use super::store::{Store, meta_str};

/// The schema of `r`'s version, when `r` is a custom resource with one.
pub fn schema_of(store: &Store, r: &Resource) -> Option<Value> {
    if !r.custom {
        return None;
    }
    store
        .list("apiextensions.k8s.io", "customresourcedefinitions", None)
        .into_iter()
        .map(|(_, crd)| crd)
        .find(|crd| {
            crd["spec"]["group"] == r.group.as_str()
                && crd["spec"]["names"]["kind"] == r.kind.as_str()
        })?["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == r.version.as_str())
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .filter(Value::is_object)
}

/// Drops the non-nullable nulls of `object`, as a create stores it.
pub fn prune_nulls(object: &mut Value, schema: &Value) {
    walk(object, schema, "", &mut |_, _| true);
}

/// Refuses `object` if it holds a null where the schema wants a typed value.
pub fn check_nulls(r: &Resource, object: &Value, schema: &Value) -> Result<(), ApiError> {
    let mut copy = object.clone();
    let mut first = None;
    walk(&mut copy, schema, "", &mut |path, node| {
        first.get_or_insert((
            path.to_string(),
            node["type"].as_str().unwrap_or("object").to_string(),
        ));
        true
    });
    match first {
        None => Ok(()),
        Some((path, kind)) => Err(ApiError::invalid(
            &r.group,
            &r.kind,
            meta_str(object, "name"),
            &path,
            (
                "FieldValueTypeInvalid",
                &format!(
                    "Invalid value: \"null\": {path} in body must be of type {kind}: \"null\""
                ),
            ),
        )),
    }
}

/// Visits every null under a declared, non-nullable field; removes it when `found` says so.
fn walk(
    value: &mut Value,
    schema: &Value,
    path: &str,
    found: &mut dyn FnMut(&str, &Value) -> bool,
) {
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let Some(node) = properties
                    .and_then(|p| p.get(&key))
                    .or_else(|| additional.is_object().then_some(additional))
                else {
                    continue;
                };
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if map[&key].is_null() {
                    if node["nullable"] != true && found(&at, node) {
                        map.remove(&key);
                    }
                } else if let Some(v) = map.get_mut(&key) {
                    walk(v, node, &at, found);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &schema["items"], &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}
