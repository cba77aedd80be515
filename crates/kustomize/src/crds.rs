//! `crds:` files: OpenAPI definitions (a map from Go type name to `{Schema: …}`) whose
//! `x-kubernetes-*` extensions tell kustomize which fields of a custom kind hold names of
//! other objects, labels, annotations or the object's own name.

use serde_json::{Map, Value};

use super::config::{NameBackRefs, TransformerConfig};
use super::error::Error;
use super::fieldspec::FieldSpec;
use super::resid::Gvk;

/// The field holds annotations.
const X_ANNOTATION: &str = "x-kubernetes-annotation";
/// The field is a label selector.
const X_LABEL_SELECTOR: &str = "x-kubernetes-label-selector";
/// The field is the object's identity (gets the name prefix).
const X_IDENTITY: &str = "x-kubernetes-identity";
/// The field refers to an object of this apiVersion…
const X_VERSION: &str = "x-kubernetes-object-ref-api-version";
/// …and this kind…
const X_KIND: &str = "x-kubernetes-object-ref-kind";
/// …by this key (default `name`).
const X_NAME_KEY: &str = "x-kubernetes-object-ref-name-key";

/// The transformer configuration a `crds:` file declares.
pub(crate) fn config_from_crds(doc: &Value) -> Result<TransformerConfig, Error> {
    let defs = doc
        .as_object()
        .ok_or_else(|| Error::new("a crds file must map type names to OpenAPI definitions"))?;
    let mut tc = TransformerConfig::default();
    for name in defs.keys() {
        let looks_like_object = properties(defs, name).is_some_and(|p| {
            ["kind", "apiVersion", "metadata"]
                .iter()
                .all(|k| p.contains_key(*k))
        });
        if !looks_like_object {
            continue;
        }
        // kustomize knows only the kind of a CRD type: the last dotted part of its name.
        let gvk = Gvk {
            kind: name.rsplit('.').next().unwrap_or(name).to_string(),
            ..Gvk::default()
        };
        let mut found = TransformerConfig::default();
        collect(&mut found, &gvk, defs, name, &mut Vec::new(), 0)?;
        tc.merge(found)?;
    }
    Ok(tc)
}

/// A definition's `Schema.properties` (Go's JSON decoding matches field names without
/// regard to case).
fn properties<'a>(defs: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    let def = defs.get(name)?.as_object()?;
    let schema = def
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schema"))
        .map(|(_, v)| v)?;
    schema.get("properties")?.as_object()
}

/// Walks the properties of type `name`, following `$ref`s; `depth` bounds reference
/// cycles, which kustomize would follow forever.
fn collect(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    defs: &Map<String, Value>,
    name: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<(), Error> {
    if depth > 64 {
        return Err(Error::new(format!(
            "crds: the definitions of {name} refer to each other in a cycle"
        )));
    }
    let Some(props) = properties(defs, name) else {
        return Ok(());
    };
    for (prop, schema) in props {
        path.push(prop.clone());
        // An extension counts only with a string value, as kustomize reads it.
        let ext = |k: &str| schema.get(k).and_then(Value::as_str);
        let spec = |extra: Option<&str>| FieldSpec {
            gvk: gvk.clone(),
            path: path
                .iter()
                .map(String::as_str)
                .chain(extra)
                .collect::<Vec<_>>()
                .join("/"),
            create: false,
        };
        if ext(X_ANNOTATION).is_some() {
            tc.common_annotations.push(spec(None));
        }
        if ext(X_LABEL_SELECTOR).is_some() {
            tc.common_labels.push(spec(None));
        }
        if ext(X_IDENTITY).is_some() {
            tc.name_prefix.push(spec(None));
        }
        if let (Some(version), Some(kind)) = (ext(X_VERSION), ext(X_KIND)) {
            let key = ext(X_NAME_KEY).unwrap_or("name");
            tc.merge(TransformerConfig {
                name_reference: vec![NameBackRefs {
                    gvk: Gvk {
                        group: String::new(),
                        version: version.to_string(),
                        kind: kind.to_string(),
                    },
                    referrers: vec![spec(Some(key))],
                }],
                ..TransformerConfig::default()
            })?;
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str)
            && !target.is_empty()
        {
            collect(tc, gvk, defs, target, path, depth + 1)?;
        }
        path.pop();
    }
    Ok(())
}
