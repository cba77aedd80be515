//! A Kustomization's `spec.postBuild`, as kustomize-controller runs it
//! (`fluxcd/pkg/kustomize` `SubstituteVariables`) on each object of the build, after
//! decryption: the variables come from the `substituteFrom` ConfigMaps and Secrets in
//! order, then the inline `substitute` map (every value with its newlines removed);
//! each object not labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//! disabled` is printed as `sigs.k8s.io/yaml` prints it, substituted as text with
//! `crunch::envsubst`, and read back as `sigs.k8s.io/yaml` reads it (go-yaml v2: a
//! `${REPLICAS}` that became `3` is a number, `yes` a boolean), then through Go's JSON
//! into kustomize's resource (every number a `float64` on the way).
//!
//! Flux reads the sources from the API server, so a source another component renders is
//! waited for ([`PostBuild::missing`]); one that only this Kustomization renders does not
//! exist on its first reconcile, so it is never there (an error unless `optional`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Number, Value};

use super::cluster::{Cluster, data_texts};
use crate::envsubst;
use crate::yaml;

/// The label or annotation that keeps an object from being substituted, and its value.
const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
const DISABLED: &str = "disabled";

/// Flux's check of variable names (`varsubRegex`), before any substitution.
const NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// `spec.postBuild`. Unknown fields are ignored: the API server prunes them from Flux's
/// custom resources before the controller sees them (real repositories write a
/// `namespace` into `substituteFrom` entries, which Flux never reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Whether to substitute when no variable is defined.
    #[serde(default)]
    substitute_strategy: Option<Strategy>,
    /// Inline variables; they win over the sources'.
    #[serde(default)]
    substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose `data` keys are variables, read in order.
    #[serde(default)]
    substitute_from: Vec<SubstituteReference>,
}

/// `spec.postBuild.substituteStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Strategy {
    /// The default: objects are substituted only when some variable is defined.
    WithVariables,
    /// Objects are substituted even without variables (for `${var:=default}`).
    Always,
}

/// One `spec.postBuild.substituteFrom` entry, always in the Kustomization's namespace.
#[derive(Debug, Clone, Deserialize)]
struct SubstituteReference {
    kind: SourceKind,
    name: String,
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum SourceKind {
    ConfigMap,
    Secret,
}

impl SourceKind {
    fn name(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
        }
    }

    /// The resource, as the API server's NotFound error names it.
    fn resource(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "configmaps",
            SourceKind::Secret => "secrets",
        }
    }
}

impl PostBuild {
    /// A Kustomization's `spec.postBuild`; `None` without one (or with `null`).
    pub fn read(kustomization: &Value) -> Result<Option<Self>, String> {
        match kustomization["spec"].get("postBuild") {
            None | Some(Value::Null) => Ok(None),
            Some(post_build) => serde_json::from_value(post_build.clone())
                .map(Some)
                .map_err(|e| format!("Kustomization spec.postBuild: {e}")),
        }
    }

    /// The sources that must exist and do not yet in `cluster`, described.
    pub fn missing(&self, cluster: &Cluster, namespace: &str) -> Vec<String> {
        self.absent(cluster, namespace, false)
    }

    /// The optional `substituteFrom` sources `cluster` does not hold (yet), described.
    pub fn absent_optional(&self, cluster: &Cluster, namespace: &str) -> Vec<String> {
        self.absent(cluster, namespace, true)
    }

    /// The sources, optional or not as `optional` says, that `cluster` does not hold.
    fn absent(&self, cluster: &Cluster, namespace: &str, optional: bool) -> Vec<String> {
        self.substitute_from
            .iter()
            .filter(|r| {
                r.optional == optional
                    && cluster.get("", r.kind.name(), namespace, &r.name).is_none()
            })
            .map(|r| format!("{} {namespace}/{}", r.kind.name(), r.name))
            .collect()
    }

    /// Flux's `LoadVariables` and the inline map over it.
    fn variables(
        &self,
        cluster: &Cluster,
        namespace: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut vars = BTreeMap::new();
        for reference in &self.substitute_from {
            let kind = reference.kind.name();
            let Some(object) = cluster.get("", kind, namespace, &reference.name) else {
                if reference.optional {
                    continue;
                }
                return Err(format!(
                    "substitute from '{kind}/{}' error: {} \"{}\" not found",
                    reference.name,
                    reference.kind.resource(),
                    reference.name
                ));
            };
            let texts = data_texts(object)
                .map_err(|e| format!("substitute from '{kind}/{}' error: {e}", reference.name))?;
            for (key, text) in texts {
                vars.insert(key, text.replace('\n', ""));
            }
        }
        for (key, value) in &self.substitute {
            vars.insert(key.clone(), value.replace('\n', ""));
        }
        Ok(vars)
    }

    /// Substitutes every object of a Kustomization in `namespace`, in place, as
    /// kustomize-controller does with `strict` as its `StrictPostBuildSubstitutions`.
    pub fn apply(
        &self,
        objects: &mut [Value],
        cluster: &Cluster,
        namespace: &str,
        strict: bool,
    ) -> Result<(), String> {
        // Flux loads the variables per object; the cluster does not change meanwhile,
        // so once, at the first object that needs them.
        let mut vars = None;
        for object in objects.iter_mut() {
            let described = describe(object);
            let fail = |e: String| format!("post build failed for '{described}': {e}");
            let text = yaml::marshal(object).map_err(|e| fail(e.to_string()))?;
            if disabled(object) {
                continue;
            }
            let vars = match &vars {
                Some(vars) => vars,
                None => vars.insert(self.variables(cluster, namespace).map_err(fail)?),
            };
            if vars.is_empty() && self.substitute_strategy != Some(Strategy::Always) {
                continue;
            }
            *object = substitute_text(&text, vars, strict)
                .map_err(|e| fail(format!("envsubst error: {e}")))?;
        }
        Ok(())
    }
}

/// Flux's `varSubstitution` and the resource's `UnmarshalJSON`: names checked, text
/// substituted, read back.
fn substitute_text(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Value, String> {
    if let Some(bad) = vars.keys().find(|name| !valid_name(name)) {
        return Err(format!(
            "'{bad}' var name is invalid, must match '{NAME_PATTERN}'"
        ));
    }
    let lookup = |name: &str| vars.get(name).map(String::as_str);
    let substituted = envsubst::substitute(text, lookup, strict)
        .map_err(|e| format!("variable substitution failed: {e}"))?;
    let mut object = yaml::parse_document(&substituted, yaml::Dialect::GoYamlV2)
        .map_err(|e| format!("YAMLToJSON: {e}"))?;
    if !object.is_object() {
        return Err(format!(
            "UnmarshalJSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            yaml::json_kind(&object)
        ));
    }
    through_float64(&mut object);
    Ok(object)
}

/// `^[_[:alpha:]][_[:alpha:][:digit:]]*$`: ASCII letters, digits and underscores, not
/// starting with a digit.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first == b'_' || first.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// Whether the object opts out by label or annotation.
fn disabled(object: &Value) -> bool {
    ["labels", "annotations"]
        .iter()
        .any(|field| object["metadata"][field][DISABLE_KEY] == DISABLED)
}

/// kustomize's `Gvk.String()` and the name: `Deployment.v1.apps/web`.
fn describe(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let or = |s: &str, none: &'static str| {
        if s.is_empty() {
            none.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}.{}.{}/{}",
        or(object["kind"].as_str().unwrap_or_default(), "[noKind]"),
        or(version, "[noVer]"),
        or(group, "[noGrp]"),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// kyaml's `UnmarshalJSON` reads the JSON into Go maps, every number a `float64`, and
/// the controller's final output prints an integral one in its shortest decimal form: an
/// integer past 2^53 keeps its first 17 digits, zeros after them.
fn through_float64(value: &mut Value) {
    match value {
        Value::Number(n) => {
            let Some(f) = n.as_f64() else { return };
            let shortest = format!("{f}");
            *n = if f.fract() == 0.0 && f.abs() < 1e21 {
                shortest
                    .parse::<i64>()
                    .map(Number::from)
                    .or_else(|_| shortest.parse::<u64>().map(Number::from))
                    .ok()
                    .or_else(|| Number::from_f64(f))
                    .unwrap_or_else(|| n.clone())
            } else {
                Number::from_f64(f).unwrap_or_else(|| n.clone())
            };
        }
        Value::Array(items) => items.iter_mut().for_each(through_float64),
        Value::Object(map) => map.values_mut().for_each(through_float64),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectKey;
    use serde_json::json;

    fn cluster() -> Cluster {
        let mut c = Cluster::default();
        for object in [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vars", "namespace": "apps"},
                   "data": {"REPLICAS": "3", "ENV": "prod", "MULTI": "a\nb\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "apps"},
                   "stringData": {"ENV": "secret-env", "TOKEN": "s3cr3t"}}),
        ] {
            c.insert(ObjectKey::of(&object).unwrap(), object, "infra");
        }
        c
    }

    fn post_build(spec: Value) -> PostBuild {
        PostBuild::read(&json!({"spec": {"postBuild": spec}}))
            .unwrap()
            .unwrap()
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "apps"},
               "spec": {"replicas": "${REPLICAS}", "template": {"metadata": {"labels": {"env": "${ENV}", "multi": "${MULTI}"}}}}})
    }

    #[test]
    fn sources_in_order_then_inline_and_types_change() {
        let p = post_build(json!({
            "substitute": {"EXTRA": "x\ny", "BIG": "12345678901234567891"},
            "substituteFrom": [
                {"kind": "ConfigMap", "name": "vars", "namespace": "pruned-by-the-api-server"},
                {"kind": "Secret", "name": "creds"},
                {"kind": "Secret", "name": "absent", "optional": true}
            ]
        }));
        let mut objects = vec![
            deployment(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"e": "${EXTRA}", "t": "${TOKEN}"}},
            "data": {"big": "${BIG}"}}),
        ];
        p.apply(&mut objects, &cluster(), "apps", true).unwrap();
        assert_eq!(objects[0]["spec"]["replicas"], json!(3));
        assert_eq!(
            objects[0]["spec"]["template"]["metadata"]["labels"],
            json!({"env": "secret-env", "multi": "ab"})
        );
        assert_eq!(
            objects[1]["metadata"]["annotations"],
            json!({"e": "xy", "t": "s3cr3t"})
        );
        // Through Flux's float64, a large integer keeps 17 digits.
        assert_eq!(objects[1]["data"]["big"], json!(12345678901234567000_u64));
    }

    #[test]
    fn disabled_objects_and_no_variables_are_left_alone() {
        let p = post_build(json!({"substitute": {"ENV": "x"}}));
        let mut objects = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {DISABLE_KEY: "disabled"}}, "data": {"a": "${ENV} $$"}})];
        p.apply(&mut objects, &cluster(), "apps", true).unwrap();
        assert_eq!(objects[0]["data"]["a"], "${ENV} $$");
        let empty = post_build(json!({}));
        let mut objects = vec![deployment()];
        empty.apply(&mut objects, &cluster(), "apps", true).unwrap();
        assert_eq!(objects[0], deployment());
        let always = post_build(json!({"substituteStrategy": "Always"}));
        let mut objects = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "${A:=on}", "b": "$${B}"}}),
        ];
        always
            .apply(&mut objects, &cluster(), "apps", true)
            .unwrap();
        assert_eq!(objects[0]["data"], json!({"a": true, "b": "${B}"}));
    }

    #[test]
    fn errors_are_worded_as_flux_words_them() {
        let p = post_build(json!({"substitute": {"ENV": "x"}}));
        let e = p
            .apply(&mut [deployment()], &cluster(), "apps", true)
            .unwrap_err();
        assert_eq!(
            e,
            "post build failed for 'Deployment.v1.apps/web': envsubst error: variable substitution failed: variable not set (strict mode): \"REPLICAS\""
        );
        let mut lenient = vec![deployment()];
        p.apply(&mut lenient, &cluster(), "apps", false).unwrap();
        assert_eq!(lenient[0]["spec"]["replicas"], Value::Null);
        let bad = post_build(json!({"substitute": {"1X": "x"}}));
        let e = bad
            .apply(&mut [deployment()], &cluster(), "apps", true)
            .unwrap_err();
        assert!(e.ends_with("envsubst error: '1X' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"), "{e}");
        let absent = post_build(json!({"substituteFrom": [{"kind": "Secret", "name": "nope"}]}));
        assert_eq!(absent.missing(&cluster(), "apps"), ["Secret apps/nope"]);
        let e = absent
            .apply(&mut [deployment()], &cluster(), "apps", true)
            .unwrap_err();
        assert_eq!(
            e,
            "post build failed for 'Deployment.v1.apps/web': substitute from 'Secret/nope' error: secrets \"nope\" not found"
        );
        let e = post_build(json!({"substitute": {"ENV": "x"}}))
            .apply(&mut [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "${ENV"}})], &cluster(), "apps", true)
            .unwrap_err();
        assert_eq!(
            e,
            "post build failed for 'ConfigMap.v1.[noGrp]/c': envsubst error: variable substitution failed: missing closing brace"
        );
    }
}
