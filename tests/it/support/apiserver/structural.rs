//! What a CustomResourceDefinition's structural schema does to undeclared fields and
//! nulls: a create prunes fields the schema does not declare and drops the nulls of
//! fields it does not declare nullable (before defaulting), while server-side apply
//! refuses both, as the real server does: an undeclared field first (a 500, `failed to
//! create typed patch object (…): .spec.x: field not declared in schema`), then a null
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

/// Drops the undeclared fields and non-nullable nulls of `object`, as a create stores it.
pub fn prune(object: &mut Value, schema: &Value) {
    for_each_undeclared(object, schema, &mut |_| true);
    walk(object, schema, "", &mut |_, _| true);
}

/// Refuses `object` if it holds a field the schema does not declare.
pub fn check_declared(r: &Resource, object: &Value, schema: &Value) -> Result<(), ApiError> {
    let mut copy = object.clone();
    let mut first = None;
    for_each_undeclared(&mut copy, schema, &mut |path| {
        first.get_or_insert_with(|| path.to_string());
        true
    });
    match first {
        None => Ok(()),
        Some(path) => Err(ApiError::new(
            500,
            "InternalError",
            &format!(
                "failed to create typed patch object ({}/{}; {}, Kind={}): .{path}: field not declared in schema",
                meta_str(object, "namespace"),
                meta_str(object, "name"),
                r.api_version(),
                r.kind
            ),
            None,
        )),
    }
}

/// Visits every field the schema does not declare (apiVersion, kind and metadata at the
/// top are the server's); removes it when `found` says so.
fn for_each_undeclared(object: &mut Value, schema: &Value, found: &mut dyn FnMut(&str) -> bool) {
    fn visit(
        value: &mut Value,
        schema: &Value,
        path: &str,
        top: bool,
        found: &mut dyn FnMut(&str) -> bool,
    ) {
        match value {
            Value::Object(map) => {
                if schema["x-kubernetes-preserve-unknown-fields"] == true
                    && schema.get("properties").is_none()
                {
                    return;
                }
                let properties = schema["properties"].as_object();
                let additional = &schema["additionalProperties"];
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    if top && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let at = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let node = properties
                        .and_then(|p| p.get(&key))
                        .or_else(|| additional.is_object().then_some(additional));
                    match node {
                        Some(node) => {
                            if let Some(v) = map.get_mut(&key) {
                                visit(v, node, &at, false, found);
                            }
                        }
                        None if additional == &Value::Bool(true)
                            || schema["x-kubernetes-preserve-unknown-fields"] == true => {}
                        None => {
                            if found(&at) {
                                map.remove(&key);
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    visit(
                        item,
                        &schema["items"],
                        &format!("{path}[{i}]"),
                        false,
                        found,
                    );
                }
            }
            _ => {}
        }
    }
    visit(object, schema, "", true, found);
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
