//! What the cluster would hold at this point of the rendering: every object rendered so
//! far, looked up the way Flux controllers look them up.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::object::ObjectKey;

/// Objects by key, each with the component that rendered it.
#[derive(Debug, Default)]
pub struct Cluster {
    objects: BTreeMap<ObjectKey, (Value, String)>,
}

impl Cluster {
    /// Records `object` as rendered by `component`, replacing the object with the same
    /// key that another component rendered before (whether it may is the caller's
    /// question: see [`Cluster::owner`]).
    pub fn insert(&mut self, key: ObjectKey, object: Value, component: &str) {
        self.objects
            .insert(key, (as_stored(object), component.to_string()));
    }

    /// The component that rendered the object with `key`, and the object as stored.
    pub fn owner(&self, key: &ObjectKey) -> Option<(&str, &Value)> {
        self.objects
            .get(key)
            .map(|(object, owner)| (owner.as_str(), object))
    }

    /// Every object of `group`/`kind` in `namespace` (`default` taking in those rendered
    /// without one), with its name, in name order.
    pub fn list(&self, group: &str, kind: &str, namespace: &str) -> Vec<(&str, &Value)> {
        let mut found: Vec<(&str, &Value)> = self
            .objects
            .iter()
            .filter(|(key, _)| {
                key.group == group
                    && key.kind == kind
                    && (key.namespace == namespace
                        || (namespace == "default" && key.namespace.is_empty()))
            })
            .map(|(key, (object, _))| (key.name.as_str(), object))
            .collect();
        found.sort_by_key(|(name, _)| *name);
        found
    }

    /// The (namespaced) object of `group`/`kind` named `namespace/name`, as the API
    /// server stores it. A namespaced object rendered without a namespace is in
    /// `default`, where `kubectl apply` and the applier put it.
    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        let mut key = ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        if let Some((object, _)) = self.objects.get(&key) {
            return Some(object);
        }
        if namespace != "default" {
            return None;
        }
        key.namespace.clear();
        self.objects.get(&key).map(|(object, _)| object)
    }
}

/// The text under `key` in the `data` of a ConfigMap or Secret, as a controller reading
/// the object sees it: a Secret's value base64-decoded. `None` when there is no such
/// (string) value.
pub fn data_text(object: &Value, key: &str) -> Result<Option<String>, String> {
    let Some(stored) = object["data"][key].as_str() else {
        return Ok(None);
    };
    if object["kind"] != "Secret" {
        return Ok(Some(stored.to_string()));
    }
    let bytes = crate::gostd::base64::decode_std(stored.as_bytes())
        .map_err(|e| format!("key {key}: bad base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("key {key} is not UTF-8"))
}

/// Every key of a ConfigMap's or Secret's `data` and its text, as [`data_text`] reads it.
pub fn data_texts(object: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(data) = object["data"].as_object() else {
        return Ok(Vec::new());
    };
    let mut texts = Vec::with_capacity(data.len());
    for key in data.keys() {
        if let Some(text) = data_text(object, key)? {
            texts.push((key.clone(), text));
        }
    }
    Ok(texts)
}

/// The object as the API server would store it: a Secret's `stringData` folded over its
/// `data` (base64-encoded), so that readers see one map.
fn as_stored(mut object: Value) -> Value {
    let is_secret = object["kind"] == "Secret" && object["apiVersion"] == "v1";
    if !is_secret {
        return object;
    }
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return object;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()));
    if !data.is_object() {
        *data = Value::Object(Default::default());
    }
    if let Value::Object(data) = data {
        for (key, value) in string_data {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(key, Value::String(encoded));
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_without_a_namespace_are_in_default() {
        let source = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "app"}, "spec": {}});
        let mut cluster = Cluster::default();
        cluster.insert(ObjectKey::of(&source).unwrap(), source, "dev");
        let group = "source.toolkit.fluxcd.io";
        assert!(
            cluster
                .get(group, "OCIRepository", "default", "app")
                .is_some()
        );
        assert!(cluster.get(group, "OCIRepository", "apps", "app").is_none());
    }

    #[test]
    fn string_data_folds_over_data() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n"},
            "data": {"a": "b2xk", "keep": "eA=="}, "stringData": {"a": "new"}});
        let mut cluster = Cluster::default();
        let key = ObjectKey::of(&secret).unwrap();
        cluster.insert(key.clone(), secret, "dev");
        let stored = cluster.get("", "Secret", "n", "s").unwrap();
        assert_eq!(stored["data"], json!({"a": "bmV3", "keep": "eA=="}));
        assert!(stored.get("stringData").is_none());
        assert_eq!(cluster.owner(&key).map(|(owner, _)| owner), Some("dev"));
    }
}
