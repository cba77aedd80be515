//! HelmRelease values as helm-controller computes them: every `valuesFrom` reference in
//! order, deep-merged, then `spec.values` on top. Chart defaults are coalesced later, by
//! `helm::render`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::cluster::{Cluster, data_text};
use crate::helm::{float_numbers, merge_maps};
use crate::yaml;

/// One `spec.valuesFrom` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    kind: ValuesKind,
    name: String,
    #[serde(default)]
    values_key: Option<String>,
    #[serde(default)]
    target_path: Option<String>,
    #[serde(default)]
    optional: bool,
    /// With `targetPath`: the value is taken verbatim, not as `--set` syntax.
    #[serde(default)]
    literal: bool,
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

/// The optional references whose objects `cluster` does not hold (yet), described.
pub fn absent_optional(
    references: &[ValuesReference],
    cluster: &Cluster,
    namespace: &str,
) -> Vec<String> {
    references
        .iter()
        .filter(|r| r.optional && matches!(r.text(cluster, namespace), Ok(None)))
        .map(|r| r.describe(namespace))
        .collect()
}

/// The merged values of a HelmRelease in `namespace`, as helm-controller's
/// `ChartValuesFromReferences` (fluxcd/pkg `chartutil`) computes them: numbers from YAML and
/// JSON are `float64`, those a `targetPath` sets typed by Helm's `--set` rules (`int64`).
pub fn compose(
    references: &[ValuesReference],
    inline: Option<&Value>,
    cluster: &Cluster,
    namespace: &str,
) -> Result<Map<String, Value>, String> {
    let mut inline = match inline.cloned().map(float_numbers) {
        Some(Value::Object(map)) => map,
        Some(Value::Null) | None => Map::new(),
        Some(other) => return Err(format!("spec.values must be a map, found {other}")),
    };
    let mut values = Map::new();
    for reference in references {
        let Some(text) = reference.text(cluster, namespace)? else {
            continue;
        };
        let key = reference.values_key.as_deref().unwrap_or(DEFAULT_KEY);
        if let Some(path) = reference.target_path.as_deref().filter(|p| !p.is_empty()) {
            set_at_path(&mut values, &mut inline, path, &text, reference.literal).map_err(|e| {
                format!(
                    "valuesFrom: {} key {key}: targetPath {path}: {e}",
                    reference.describe(namespace)
                )
            })?;
            continue;
        }
        let parsed = yaml::parse_document(&text, yaml::Dialect::GoYamlV2).map_err(|e| {
            format!(
                "valuesFrom: {} key {key}: {e}",
                reference.describe(namespace)
            )
        })?;
        match float_numbers(parsed) {
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
    merge_maps(&mut values, inline);
    Ok(values)
}

/// A key no strvals path can name, marking the maps the values share with `spec.values`.
const SHARED: &str = "\u{0}shared with spec.values";

/// Sets `text` at `path` as helm-controller does for a reference with a `targetPath`: the
/// inline values are merged into `values` first, then the value is set with Helm's strvals
/// (`--set` typing; `--set-string` for a value in quotes, which are trimmed, and for a
/// `literal` reference, whose `--set` syntax is escaped first).
///
/// Go's merge hands over the inline values' maps and lists themselves wherever `values`
/// has no map of its own, so setting through one of them changes `spec.values` too, which
/// is merged again after the last reference: there the set value wins over the inline one;
/// where `values` already had a map, the inline value wins at the end. Shared maps are
/// marked with a key before the set, and copied back to `inline` if it is still there
/// (set through, not replaced); a shared list is changed in place when the path indexes it
/// within its length.
fn set_at_path(
    values: &mut Map<String, Value>,
    inline: &mut Map<String, Value>,
    path: &str,
    text: &str,
    literal: bool,
) -> Result<(), String> {
    let mut shared = Vec::new();
    shared_paths(values, inline, &mut Vec::new(), &mut shared);
    merge_maps(values, inline.clone());
    let mut list_lengths = Vec::new();
    for at in &shared {
        match pointer_mut(values, at) {
            Some(Value::Object(map)) => {
                map.insert(SHARED.to_string(), Value::Null);
            }
            Some(Value::Array(list)) => list_lengths.push((at.clone(), list.len())),
            _ => {}
        }
    }
    let (flag, line) = strvals_line(path, text, literal);
    let mut no_files = |_: &str| Err("targetPath values are never file names".to_string());
    crate::helm::apply_set(flag, &line, values, &mut no_files).map_err(|e| e.to_string())?;
    let (keys, indexed) = path_keys(path);
    for at in &shared {
        let Some(node) = pointer_mut(values, at) else {
            continue;
        };
        let through = at.len() < keys.len() || (at.len() == keys.len() && indexed);
        let in_place = match node {
            Value::Object(map) => map.remove(SHARED).is_some(),
            Value::Array(list) => {
                through
                    && keys.starts_with(at)
                    && list_lengths
                        .iter()
                        .any(|(p, len)| p == at && *len == list.len())
            }
            _ => false,
        };
        if in_place {
            let copy = node.clone();
            if let Some(target) = pointer_mut(inline, at) {
                *target = copy;
            }
        }
    }
    Ok(())
}

/// The strvals flag and line helm-controller's `ReplacePathValue` and
/// `ReplacePathLiteralValue` hand to Helm's parser.
fn strvals_line(path: &str, text: &str, literal: bool) -> (crate::helm::SetFlag, String) {
    use crate::helm::SetFlag;
    if literal {
        let mut escaped = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, '\\' | ',' | '[' | ']' | '{' | '}') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        return (SetFlag::SetString, format!("{path}={escaped}"));
    }
    let quoted = |q: char| text.starts_with(q) && text.ends_with(q);
    if quoted('\'') || quoted('"') {
        let trimmed = text.trim_matches(['\'', '"']);
        return (SetFlag::SetString, format!("{path}={trimmed}"));
    }
    (SetFlag::Set, format!("{path}={text}"))
}

/// The map keys a strvals path starts with (`\` escaping the next character), and whether
/// a list index follows them.
fn path_keys(path: &str) -> (Vec<String>, bool) {
    let mut keys = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.extend(chars.next()),
            '.' => keys.push(std::mem::take(&mut key)),
            '[' => {
                keys.push(key);
                return (keys, true);
            }
            _ => key.push(c),
        }
    }
    keys.push(key);
    (keys, false)
}

/// The paths at which merging `inline` into `values` hands over one of `inline`'s maps or
/// lists whole (where `values` has no map to merge it into).
fn shared_paths(
    values: &Map<String, Value>,
    inline: &Map<String, Value>,
    at: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    for (key, value) in inline {
        at.push(key.clone());
        match (values.get(key), value) {
            (Some(Value::Object(base)), Value::Object(overlay)) => {
                shared_paths(base, overlay, at, out);
            }
            (_, Value::Object(_) | Value::Array(_)) => out.push(at.clone()),
            _ => {}
        }
        at.pop();
    }
}

/// The value at `path` (map keys) under `map`.
fn pointer_mut<'a>(map: &'a mut Map<String, Value>, path: &[String]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let mut node = map.get_mut(first)?;
    for key in rest {
        node = node.as_object_mut()?.get_mut(key)?;
    }
    Some(node)
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
        // Numbers from YAML are float64, as sigs.k8s.io/yaml reads them.
        assert_eq!(
            Value::Object(v),
            json!({"a": {"b": 1.0, "c": 3.0}, "list": [2.0], "z": true})
        );
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
            Value::Object(v),
            json!({"a": {"image": null, "tag": "v3", "table": null, "gone": null},
                   "was": {"k": null}, "extra": null})
        );
    }

    fn targeted(entries: &[(&str, &str)]) -> Cluster {
        let data: Map<String, Value> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        cluster_of([
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t", "namespace": "bb"},
                   "data": data}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "bb"},
                   "data": {"values.yaml": "ingress: {enabled: true}\n"}}),
        ])
    }

    /// fluxcd/pkg `chartutil.ReplacePathValue`: `--set` typing (an `int64`, a bool), a value
    /// in quotes as a string with every quote at either end trimmed, and
    /// `ReplacePathLiteralValue` keeping `--set` syntax verbatim.
    #[test]
    fn target_paths_type_values_as_helm_set_does() {
        let cluster = targeted(&[
            ("port", "8080"),
            ("on", "true"),
            ("quoted", "\"'0123'\""),
            ("csv", "a,b[0]={x}"),
            ("dotted", "v"),
        ]);
        let r = refs(json!([
            {"kind": "ConfigMap", "name": "t", "valuesKey": "port", "targetPath": "svc.port"},
            {"kind": "ConfigMap", "name": "t", "valuesKey": "on", "targetPath": "svc.list[1]"},
            {"kind": "ConfigMap", "name": "t", "valuesKey": "quoted", "targetPath": "svc.tag"},
            {"kind": "ConfigMap", "name": "t", "valuesKey": "csv", "targetPath": "svc.raw", "literal": true},
            {"kind": "ConfigMap", "name": "t", "valuesKey": "dotted", "targetPath": "annotations.a\\.b/c"}
        ]));
        let v = compose(&r, None, &cluster, "bb").unwrap();
        assert_eq!(
            Value::Object(v),
            json!({"svc": {"port": 8080, "list": [null, true], "tag": "0123", "raw": "a,b[0]={x}"},
                   "annotations": {"a.b/c": "v"}})
        );
        // Without `literal` the value is `--set` syntax: more keys, and lists.
        let r = refs(
            json!([{"kind": "ConfigMap", "name": "t", "valuesKey": "csv", "targetPath": "svc.raw"}]),
        );
        let v = compose(&r, None, &cluster, "bb").unwrap();
        assert_eq!(Value::Object(v), json!({"svc": {"raw": "a"}, "b": [["x"]]}));
        let r = refs(
            json!([{"kind": "ConfigMap", "name": "t", "valuesKey": "on", "targetPath": "svc[x]"}]),
        );
        let e = compose(&r, None, &cluster, "bb").unwrap_err();
        assert!(
            e.starts_with("valuesFrom: ConfigMap bb/t key on: targetPath svc[x]: "),
            "{e}"
        );
    }

    /// `ChartValuesFromReferences` merges `spec.values` into the result before setting a
    /// target path, and Go's merge shares the inline maps it takes whole: setting through
    /// one changes `spec.values` itself, so the set value survives the final merge. Where an
    /// earlier reference made the map, the merge copied it and `spec.values` wins at the end.
    #[test]
    fn target_paths_win_over_inline_values_only_through_shared_maps() {
        let cluster = targeted(&[("host", "from-ref"), ("first", "r")]);
        let inline = json!({"ingress": {"host": "inline", "hosts": ["a", "b"]}});
        let host = json!({"kind": "ConfigMap", "name": "t", "valuesKey": "host", "targetPath": "ingress.host"});
        let v = compose(&refs(json!([host])), Some(&inline), &cluster, "bb").unwrap();
        assert_eq!(v["ingress"]["host"], "from-ref");
        let earlier = json!({"kind": "ConfigMap", "name": "cm"});
        let v = compose(&refs(json!([earlier, host])), Some(&inline), &cluster, "bb").unwrap();
        assert_eq!(v["ingress"]["host"], "inline");
        assert_eq!(v["ingress"]["enabled"], true);
        // A list taken whole is changed in place within its length, replaced beyond it.
        let first = json!({"kind": "ConfigMap", "name": "t", "valuesKey": "first", "targetPath": "ingress.hosts[0]"});
        let v = compose(
            &refs(json!([earlier, first])),
            Some(&inline),
            &cluster,
            "bb",
        )
        .unwrap();
        assert_eq!(v["ingress"]["hosts"], json!(["r", "b"]));
        let third = json!({"kind": "ConfigMap", "name": "t", "valuesKey": "first", "targetPath": "ingress.hosts[2]"});
        let v = compose(
            &refs(json!([earlier, third])),
            Some(&inline),
            &cluster,
            "bb",
        )
        .unwrap();
        assert_eq!(v["ingress"]["hosts"], json!(["a", "b"]));
    }
}
