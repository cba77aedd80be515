//! HelmRelease values as helm-controller computes them: every `valuesFrom` reference in
//! order, deep-merged, then `spec.values` on top. Chart defaults are coalesced later, by
//! `helm::render`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::cluster::{Cluster, data_text};
use crate::helm::merge_maps;
use crate::yaml;

/// One `spec.valuesFrom` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValuesReference {
    kind: ValuesKind,
    name: String,
    #[serde(default)]
    values_key: Option<String>,
    #[serde(default)]
    target_path: Option<String>,
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
enum ValuesKind {
    ConfigMap,
    Secret,
}

/// Flux's default key when `valuesKey` is not set.
const DEFAULT_KEY: &str = "values.yaml";

impl ValuesReference {
    /// `Secret bigbang/common-bb` as messages name it.
    fn describe(&self, namespace: &str) -> String {
        format!("{:?} {namespace}/{}", self.kind, self.name)
    }

    /// The raw text under the reference's key, `None` for a missing optional reference.
    fn text(&self, cluster: &Cluster, namespace: &str) -> Result<Option<String>, String> {
        let kind = match self.kind {
            ValuesKind::ConfigMap => "ConfigMap",
            ValuesKind::Secret => "Secret",
        };
        let Some(object) = cluster.get("", kind, namespace, &self.name) else {
            return if self.optional {
                Ok(None)
            } else {
                Err(format!(
                    "valuesFrom: {} not found",
                    self.describe(namespace)
                ))
            };
        };
        let key = self.values_key.as_deref().unwrap_or(DEFAULT_KEY);
        let text = data_text(object, key)
            .map_err(|e| format!("valuesFrom: {} {e}", self.describe(namespace)))?;
        match text {
            Some(text) => Ok(Some(text)),
            None if self.optional => Ok(None),
            None => Err(format!(
                "valuesFrom: {} has no key {key}",
                self.describe(namespace)
            )),
        }
    }
}

/// Whether every non-optional reference can be answered from `cluster` yet; the missing
/// ones, described, when not.
pub fn missing(references: &[ValuesReference], cluster: &Cluster, namespace: &str) -> Vec<String> {
    references
        .iter()
        .filter(|r| r.text(cluster, namespace).is_err())
        .map(|r| r.describe(namespace))
        .collect()
}

/// The merged values of a HelmRelease in `namespace`.
pub fn compose(
    references: &[ValuesReference],
    inline: Option<&Value>,
    cluster: &Cluster,
    namespace: &str,
) -> Result<Value, String> {
    let mut values = Map::new();
    for reference in references {
        let Some(text) = reference.text(cluster, namespace)? else {
            continue;
        };
        if reference.target_path.is_some() {
            return Err(format!(
                "valuesFrom: {}: targetPath is not supported yet",
                reference.describe(namespace)
            ));
        }
        let parsed = yaml::parse_document(&text, yaml::Dialect::GoYamlV2).map_err(|e| {
            format!(
                "valuesFrom: {} key {}: {e}",
                reference.describe(namespace),
                reference.values_key.as_deref().unwrap_or(DEFAULT_KEY)
            )
        })?;
        match parsed {
            Value::Object(map) => merge_maps(&mut values, map),
            Value::Null => {}
            other => {
                return Err(format!(
                    "valuesFrom: {}: values must be a map, found {other}",
                    reference.describe(namespace)
                ));
            }
        }
    }
    match inline {
        Some(Value::Object(map)) => merge_maps(&mut values, map.clone()),
        Some(Value::Null) | None => {}
        Some(other) => return Err(format!("spec.values must be a map, found {other}")),
    }
    Ok(Value::Object(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectKey;
    use serde_json::json;

    fn cluster() -> Cluster {
        cluster_of([
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "bb"},
                   "data": {"values.yaml": "a: {b: 1, c: 2}\nlist: [1]\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "bb"},
                   "stringData": {"overlays": "a: {c: 3}\nlist: [2]\n"}}),
        ])
    }

    fn cluster_of<const N: usize>(objects: [Value; N]) -> Cluster {
        let mut c = Cluster::default();
        for object in objects {
            c.insert(ObjectKey::of(&object).unwrap(), object, "t");
        }
        c
    }

    fn refs(v: Value) -> Vec<ValuesReference> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn later_references_win_and_maps_merge_deeply() {
        let r = refs(json!([
            {"kind": "ConfigMap", "name": "cm"},
            {"kind": "Secret", "name": "s", "valuesKey": "overlays"},
            {"kind": "Secret", "name": "absent", "optional": true}
        ]));
        let v = compose(&r, Some(&json!({"z": true})), &cluster(), "bb").unwrap();
        assert_eq!(v, json!({"a": {"b": 1, "c": 3}, "list": [2], "z": true}));
    }

    #[test]
    fn missing_required_reference_is_named() {
        let r = refs(json!([{"kind": "Secret", "name": "nope"}]));
        assert_eq!(missing(&r, &cluster(), "bb"), ["Secret bb/nope"]);
        let e = compose(&r, None, &cluster(), "bb").unwrap_err();
        assert_eq!(e, "valuesFrom: Secret bb/nope not found");
        let r = refs(json!([{"kind": "ConfigMap", "name": "cm", "valuesKey": "x"}]));
        assert_eq!(
            compose(&r, None, &cluster(), "bb").unwrap_err(),
            "valuesFrom: ConfigMap bb/cm has no key x"
        );
    }

    /// helm-controller's `chartutil.MergeMaps` (fluxcd/pkg `chartutil/merge.go`, called by
    /// `ChartValuesFromReferences`) sets whatever the later side holds unless both sides
    /// hold maps: a later `null` replaces a value or a whole map and is kept for Helm, whose
    /// coalescing deletes the chart default under it; a later value or map replaces a `null`.
    #[test]
    fn nulls_are_kept_for_helm_and_replaced_by_later_values() {
        let cluster = cluster_of([
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first", "namespace": "bb"},
                   "data": {"values.yaml": "a: {image: pinned, tag: null, table: {k: 1}, gone: {k: 1}}\nwas: null\n"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "second", "namespace": "bb"},
                   "data": {"values.yaml": "a: {image: null, gone: null}\nwas: {k: null}\n"}}),
        ]);
        let r = refs(json!([
            {"kind": "ConfigMap", "name": "first"},
            {"kind": "ConfigMap", "name": "second"}
        ]));
        let inline = json!({"a": {"tag": "v3", "table": null}, "extra": null});
        let v = compose(&r, Some(&inline), &cluster, "bb").unwrap();
        assert_eq!(
            v,
            json!({"a": {"image": null, "tag": "v3", "table": null, "gone": null},
                   "was": {"k": null}, "extra": null})
        );
    }
}
