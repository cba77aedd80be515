//! Objects as Flux's own apply would leave them in the cluster.
//!
//! crunch sends every object with server-side apply. helm-controller (Helm 3's SDK, as
//! the Flux of Big Bang 3.x runs it) creates and updates instead, and the API server
//! stores what it decodes: fields the kind does not declare are dropped, and so are
//! nulls (a built-in kind decodes into Go types; a custom resource is pruned by its
//! structural schema, whose non-nullable nulls are removed before defaulting). Server-side
//! apply refuses both (`field not declared in schema`, `must be of type array: "null"`).
//! So objects from a HelmRelease are pruned here as the server would prune them on
//! create.
//!
//! kustomize-controller applies server-side too, after its own normalisation
//! (`fluxcd/pkg/ssa/normalize`): built-in kinds round-trip through their Go types (the
//! same pruning), container and Service ports get their default protocol, a Secret's
//! `stringData` is folded into `data`, and `status` is dropped (but a CRD's). Custom
//! resources go as they are, so they fail on a real cluster exactly where Flux fails.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::bundle::ComponentKind;
use crate::object::{Scope, api_group, qualified_kind};

/// Which Flux controller would have applied an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// helm-controller: create and update, as Helm does.
    Helm,
    /// kustomize-controller: server-side apply after `fluxcd/pkg/ssa`'s normalisation.
    Kustomize,
}

impl From<ComponentKind> for Origin {
    fn from(kind: ComponentKind) -> Self {
        match kind {
            ComponentKind::HelmRelease => Origin::Helm,
            ComponentKind::Kustomization | ComponentKind::Environment => Origin::Kustomize,
        }
    }
}

/// The schemas of custom kinds: their CustomResourceDefinitions, from the bundle or the
/// cluster. Built-in kinds come from `schemas/types.json`.
#[derive(Debug, Default, Clone)]
pub struct Schemas {
    definitions: HashMap<String, Value>,
}

impl Schemas {
    /// Learns the kind `crd` defines; anything that is not a CustomResourceDefinition is
    /// ignored.
    pub fn add(&mut self, crd: &Value) {
        if let Some((kind, _)) = Scope::of_crd(crd) {
            self.definitions.insert(kind, crd.clone());
        }
    }

    /// Whether the kind of `api_version`/`kind` is built in or its definition is known.
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        builtin(api_version, kind).is_some()
            || self.definitions.contains_key(&key(api_version, kind))
    }

    /// The structural schema of `kind` at `api_version`: `Some(None)` when the definition
    /// keeps unknown fields (no pruning), `None` when the definition is unknown.
    fn custom(&self, api_version: &str, kind: &str) -> Option<Option<&Value>> {
        let crd = self.definitions.get(&key(api_version, kind))?;
        if crd["spec"]["preserveUnknownFields"] == true {
            return Some(None);
        }
        let version = api_version.rsplit('/').next().unwrap_or(api_version);
        let schema = crd["spec"]["versions"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == version)
            .map(|v| &v["schema"]["openAPIV3Schema"])
            .filter(|s| s.is_object());
        Some(schema)
    }
}

fn key(api_version: &str, kind: &str) -> String {
    qualified_kind(api_group(api_version), kind)
}

/// `object` as the controller of `origin` would have the API server store it (before
/// defaulting).
pub fn normalize(object: &mut Value, origin: Origin, schemas: &Schemas) {
    let api_version = object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    if origin == Origin::Kustomize
        && api_version == "rbac.authorization.k8s.io/v1"
        && (kind == "Role" || kind == "ClusterRole")
    {
        // kustomize-controller leaves these alone (fluxcd/kustomize-controller#1041).
        return;
    }
    if let Some(ty) = builtin(&api_version, &kind) {
        prune_typed(object, ty);
        if origin == Origin::Kustomize {
            kustomize_controller_defaults(object, &kind);
        }
    } else if origin == Origin::Helm
        && let Some(schema) = schemas.custom(&api_version, &kind)
    {
        prune_custom_resource(object, schema);
    }
}

/// The parts of `fluxcd/pkg/ssa`'s normalisation beyond the Go types' pruning.
fn kustomize_controller_defaults(object: &mut Value, kind: &str) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    map.remove("status");
    match kind {
        "Pod" => default_container_protocols(object.pointer_mut("/spec")),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            default_container_protocols(object.pointer_mut("/spec/template/spec"))
        }
        "CronJob" => {
            default_container_protocols(object.pointer_mut("/spec/jobTemplate/spec/template/spec"))
        }
        "Service" => {
            if let Some(ports) = object
                .pointer_mut("/spec/ports")
                .and_then(Value::as_array_mut)
            {
                ports.iter_mut().for_each(default_protocol);
            }
        }
        "Secret" => fold_string_data(map),
        _ => {}
    }
}

/// Flux sets the protocol of the containers' ports (not the init containers'), as
/// server-side apply keys those lists by port and protocol.
fn default_container_protocols(pod_spec: Option<&mut Value>) {
    let Some(containers) = pod_spec
        .and_then(|s| s.get_mut("containers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for container in containers {
        if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
            ports.iter_mut().for_each(default_protocol);
        }
    }
}

fn default_protocol(port: &mut Value) {
    if let Some(port) = port.as_object_mut()
        && port
            .get("protocol")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        port.insert("protocol".into(), Value::from("TCP"));
    }
}

/// `stringData` folded into `data` (base64), as the API server would on write.
fn fold_string_data(secret: &mut Map<String, Value>) {
    let Some(Value::Object(strings)) = secret.remove("stringData") else {
        return;
    };
    if strings.is_empty() {
        return;
    }
    let data = secret
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(key, Value::from(encoded));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Built-in kinds: decoding into Go types

/// A field of a built-in type, as `schemas/types.json` encodes it.
#[derive(Debug, Clone)]
enum Field {
    /// An object type: an index into the table's types.
    Object(usize),
    /// A string (a null map value decodes to "").
    String,
    /// Any other scalar.
    Scalar,
    /// Any JSON at all (RawExtension, JSON, FieldsV1, …): kept as is.
    Any,
    /// A list of the field.
    Array(Box<Field>),
    /// A map from string keys to the field.
    Map(Box<Field>),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Object(usize),
            Code(String),
            Nested(String, Box<Field>),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Object(index) => Field::Object(index),
            Raw::Code(code) => match code.as_str() {
                "s" => Field::String,
                "*" => Field::Any,
                _ => Field::Scalar,
            },
            Raw::Nested(shape, field) if shape == "a" => Field::Array(field),
            Raw::Nested(_, field) => Field::Map(field),
        })
    }
}

/// `schemas/types.json`, generated by `tools/gen-types`.
#[derive(Debug, Deserialize)]
struct Types {
    kinds: HashMap<String, usize>,
    types: Vec<HashMap<String, Field>>,
}

static TYPES: LazyLock<Types> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../schemas/types.json"))
        .expect("schemas/types.json is valid: tests/it/schemas.rs reads it")
});

fn builtin(api_version: &str, kind: &str) -> Option<usize> {
    TYPES.kinds.get(&format!("{api_version}/{kind}")).copied()
}

/// The type of `ObjectMeta`, which also prunes custom resources' metadata.
fn object_meta() -> Option<usize> {
    TYPES.kinds.get("meta/ObjectMeta").copied()
}

fn prune_typed(value: &mut Value, ty: usize) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let fields = &TYPES.types[ty];
    map.retain(|key, v| !v.is_null() && fields.contains_key(key));
    for (key, v) in map.iter_mut() {
        prune_field(v, &fields[key]);
    }
}

fn prune_field(value: &mut Value, field: &Field) {
    match (field, value) {
        (Field::Object(ty), value) => prune_typed(value, *ty),
        (Field::Array(item), Value::Array(items)) => {
            for value in items.iter_mut().filter(|v| !v.is_null()) {
                prune_field(value, item);
            }
        }
        (Field::Map(item), Value::Object(entries)) => {
            for value in entries.values_mut() {
                match (value.is_null(), item.as_ref()) {
                    (true, Field::String) => *value = Value::from(""),
                    (true, _) => {}
                    (false, item) => prune_field(value, item),
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Custom resources: structural pruning

fn prune_custom_resource(object: &mut Value, schema: Option<&Value>) {
    let Some(schema) = schema else {
        return;
    };
    let Some(map) = object.as_object_mut() else {
        return;
    };
    // apiVersion, kind and metadata are the server's, whatever the schema says.
    let mut kept: Vec<(String, Value)> = Vec::new();
    for key in ["apiVersion", "kind", "metadata"] {
        if let Some(value) = map.remove(key) {
            kept.push((key.to_string(), value));
        }
    }
    prune_schema(object, schema);
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let rest = std::mem::take(map);
    for (key, mut value) in kept {
        if key == "metadata"
            && let Some(meta) = object_meta()
        {
            prune_typed(&mut value, meta);
        }
        map.insert(key, value);
    }
    map.extend(rest);
}

/// Prunes `value` by the structural schema node `schema`: unknown fields (unless the
/// node preserves them) and nulls the node does not declare nullable.
fn prune_schema(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
            let embedded = schema["x-kubernetes-embedded-resource"] == true;
            if embedded
                && let Some(meta) = map.get_mut("metadata")
                && let Some(ty) = object_meta()
            {
                prune_typed(meta, ty);
            }
            let properties = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            map.retain(|key, v| {
                let node = match properties.and_then(|p| p.get(key)) {
                    Some(node) => Some(node),
                    None if additional.is_object() => Some(additional),
                    None => None,
                };
                match node {
                    Some(node) => !v.is_null() || node["nullable"] == true,
                    None => {
                        preserve
                            || additional == &Value::Bool(true)
                            || (embedded
                                && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                    }
                }
            });
            for (key, v) in map.iter_mut() {
                let node = properties
                    .and_then(|p| p.get(key))
                    .or_else(|| additional.is_object().then_some(additional));
                if let Some(node) = node {
                    prune_schema(v, node);
                }
            }
        }
        Value::Array(items) => {
            let node = &schema["items"];
            if node.is_object() {
                for item in items.iter_mut() {
                    prune_schema(item, node);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(schema: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "policies.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Policy", "plural": "policies"},
                "scope": "Cluster",
                "versions": [{"name": "v1", "served": true, "storage": true,
                              "schema": {"openAPIV3Schema": schema}}]
            }
        })
    }

    fn policy_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "names": {"type": "array", "items": {"type": "string"}},
                        "maybe": {"type": "string", "nullable": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "rules": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}}
                        }},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                     "x-kubernetes-preserve-unknown-fields": true}
                    }
                }
            }
        })
    }

    #[test]
    fn helm_objects_of_custom_kinds_lose_unknown_fields_and_non_nullable_nulls() {
        let mut schemas = Schemas::default();
        schemas.add(&crd(policy_schema()));
        let mut object = json!({
            "apiVersion": "example.com/v1",
            "kind": "Policy",
            "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": 1},
            "spec": {
                "names": null,
                "maybe": null,
                "unknown": 1,
                "free": {"x": null, "y": {"z": 1}},
                "labels": {"a": "1", "b": null},
                "rules": [{"name": "r", "extra": true}],
                "template": {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "t", "junk": 1}, "spec": {"a": null}}
            },
            "status": {"phase": "x"}
        });
        normalize(&mut object, Origin::Helm, &schemas);
        assert_eq!(
            object,
            json!({
                "apiVersion": "example.com/v1",
                "kind": "Policy",
                "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {
                    "maybe": null,
                    "free": {"x": null, "y": {"z": 1}},
                    "labels": {"a": "1"},
                    "rules": [{"name": "r"}],
                    "template": {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": "t"}, "spec": {"a": null}}
                }
            })
        );
    }

    #[test]
    fn kustomize_controller_leaves_custom_resources_alone() {
        let mut schemas = Schemas::default();
        schemas.add(&crd(policy_schema()));
        let original = json!({"apiVersion": "example.com/v1", "kind": "Policy",
                              "metadata": {"name": "p"}, "spec": {"names": null}});
        let mut object = original.clone();
        normalize(&mut object, Origin::Kustomize, &schemas);
        assert_eq!(object, original);
    }

    #[test]
    fn unknown_custom_kinds_and_preserving_definitions_are_untouched() {
        let mut schemas = Schemas::default();
        let mut legacy = crd(policy_schema());
        legacy["spec"]["preserveUnknownFields"] = json!(true);
        schemas.add(&legacy);
        let original = json!({"apiVersion": "example.com/v1", "kind": "Policy",
                              "metadata": {"name": "p"}, "spec": {"names": null, "x": 1}});
        let mut object = original.clone();
        normalize(&mut object, Origin::Helm, &schemas);
        assert_eq!(object, original);
        let other = json!({"apiVersion": "other.io/v1", "kind": "Thing", "spec": {"a": null}});
        let mut object = other.clone();
        normalize(&mut object, Origin::Helm, &schemas);
        assert_eq!(object, other);
    }

    #[test]
    fn built_in_kinds_decode_as_go_types_do() {
        let mut object = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "annotations": null, "labels": {"a": null}},
            "spec": {
                "replicas": null,
                "bogus": {"x": 1},
                "template": {"spec": {"containers": [{
                    "name": "c", "image": "i", "env": null, "imagePullPolicy": null,
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "1"}}
                }]}}
            }
        });
        normalize(&mut object, Origin::Helm, &Schemas::default());
        assert_eq!(
            object,
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "labels": {"a": ""}},
                "spec": {"template": {"spec": {"containers": [{
                    "name": "c", "image": "i",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "1"}}
                }]}}}
            })
        );
    }

    #[test]
    fn kustomize_controller_defaults_protocols_folds_string_data_and_drops_status() {
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {
                "containers": [{"name": "c", "ports": [{"containerPort": 80}]}],
                "initContainers": [{"name": "i", "ports": [{"containerPort": 81}]}]
            }}},
            "status": {"replicas": 1}
        });
        normalize(&mut deployment, Origin::Kustomize, &Schemas::default());
        assert_eq!(
            deployment,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {
                    "containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                    "initContainers": [{"name": "i", "ports": [{"containerPort": 81}]}]
                }}}
            })
        );
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                "data": {"a": "YQ=="}, "stringData": {"b": "bee"}});
        normalize(&mut secret, Origin::Kustomize, &Schemas::default());
        assert_eq!(
            secret,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"a": "YQ==", "b": "YmVl"}})
        );
        let mut role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                              "metadata": {"name": "r"}, "rules": null});
        let original = role.clone();
        normalize(&mut role, Origin::Kustomize, &Schemas::default());
        assert_eq!(role, original);
    }
}
