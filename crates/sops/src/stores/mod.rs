//! The stores: each format's reading into SOPS's tree and writing of the plaintext.

pub(crate) mod dotenv;
mod flatten;
pub(crate) mod ini;
pub(crate) mod json;
pub(crate) mod yaml;

use serde_json::Value as Json;

use crate::error::Error;
use crate::tree::{Item, Key, Value};

/// The tree as JSON for reading the metadata (comments dropped, as SOPS's
/// `sopsToGoMap` does).
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Str(s) | Value::Time(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
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

/// SOPS's `ExtractMetadata` for the stores that keep the metadata as a mapping: the
/// `sops` entry of the first branch (document) is the metadata, and every branch loses
/// its `sops` entries (SOPS writes a copy into each document).
pub(crate) fn take_metadata(branches: &mut [Vec<Item>]) -> Result<Option<Value>, Error> {
    let mut metadata = None;
    for (index, branch) in branches.iter_mut().enumerate() {
        let mut kept = Vec::with_capacity(branch.len());
        for item in branch.drain(..) {
            if !matches!(&item.key, Key::Str(k) if k == "sops") {
                kept.push(item);
                continue;
            }
            if index != 0 {
                continue;
            }
            if metadata.is_some() {
                return Err(Error::Metadata("Found duplicate sops entry".into()));
            }
            if !matches!(item.value, Value::Map(_)) {
                return Err(Error::Metadata(
                    "Found sops entry that is not a mapping".into(),
                ));
            }
            metadata = Some(item.value);
        }
        *branch = kept;
    }
    Ok(metadata)
}
