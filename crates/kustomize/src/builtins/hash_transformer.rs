//! The builtin `HashTransformer`: the name suffix of generated ConfigMaps and Secrets.
//! kustomize hashes a canonical JSON encoding of the object with sha256 and turns the
//! first ten hex digits into a vowel-free string. Every build ends with one.

use serde_json::{Map, Value};

use super::Transformer;
use crate::error::Error;
use crate::resource::Resource;
use crunch_yaml::{JsonStyle, to_go_json};

/// The `HashTransformer`; it has nothing to configure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashTransformer;

impl HashTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "HashTransformer";
}

impl Transformer for HashTransformer {
    /// Every generated object still marked for a suffix gets `-<hash>` appended to its
    /// name. The mark stays, so a later run (the one every build ends with) appends
    /// another.
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        for r in rs.iter_mut().filter(|r| r.needs_hash) {
            let h = name_hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
        Ok(())
    }
}

/// The suffix kustomize appends (after a dash) to a generated object's name.
fn name_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let encoded = match kind {
        "ConfigMap" => encode(obj, "ConfigMap", "binaryData", None),
        "Secret" => encode(obj, "Secret", "stringData", Some("type")),
        _ => to_go_json(obj, JsonStyle::Compact),
    };
    let digest = crunch_gostd::sha256::hex(&encoded);
    digest[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// The map kustomize marshals: `kind`, `name`, `data`, the optional map field when it is
/// a map, and `type` for Secrets.
///
/// kustomize looks the name up with the single path element `metadata/name`, which names
/// no field, so the name it hashes is always empty: equal data gives equal suffixes.
fn encode(obj: &Value, kind: &str, optional_map: &str, type_field: Option<&str>) -> String {
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.into()));
    m.insert("name".into(), Value::String(String::new()));
    m.insert("data".into(), node_value(obj, &["data"]));
    if let Some(t) = type_field {
        m.insert(t.into(), node_value(obj, &[t]));
    }
    if let Some(extra @ Value::Object(_)) = obj.get(optional_map) {
        m.insert(optional_map.into(), extra.clone());
    }
    to_go_json(&Value::Object(m), JsonStyle::Compact)
}

/// kustomize's `getNodeValues`: a missing field is `""`, a scalar its text, a map itself,
/// and anything else (a list) fails to read as a map and becomes null.
fn node_value(obj: &Value, path: &[&str]) -> Value {
    match path.iter().try_fold(obj, |v, k| v.get(k)) {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => Value::String(v.to_string()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(Value::Array(_)) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_map_hash_matches_kustomize() {
        // kubectl kustomize names `configMapGenerator: [{name: hashed, literals: [a=b]}]`
        // hashed-4h2mbtbbt6.
        let h = name_hash(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hashed"}, "data": {"a": "b"}}));
        assert_eq!(h, "4h2mbtbbt6");
    }
}
