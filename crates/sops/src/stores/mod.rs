//! The stores: each format's reading into SOPS's tree and writing of the plaintext.

pub(crate) mod dotenv;
mod flatten;
pub(crate) mod ini;
pub(crate) mod json;
pub(crate) mod yaml;

use serde_json::Value as Json;

use crate::tree::{Item, Key, Value};

/// The tree as JSON for reading the metadata (comments dropped, as SOPS's
/// `sopsToGoMap` does).
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Str(s) => Json::String(s.clone()),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null | Value::Comment(_) => Json::Null,
        Value::Map(items) => Json::Object(
            items
                .iter()
                .filter_map(|item| match &item.key {
                    Key::Str(k) => Some((k.clone(), to_json(&item.value))),
                    Key::Comment(_) => None,
                })
                .collect(),
        ),
        Value::Seq(items) => Json::Array(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .map(to_json)
                .collect(),
        ),
    }
}

/// Removes the top-level `sops` entry of the branches and returns it.
pub(crate) fn take_metadata(branches: &mut [Vec<Item>]) -> Option<Value> {
    for branch in branches.iter_mut() {
        if let Some(at) = branch
            .iter()
            .position(|item| matches!(&item.key, Key::Str(k) if k == "sops"))
        {
            return Some(branch.remove(at).value);
        }
    }
    None
}
