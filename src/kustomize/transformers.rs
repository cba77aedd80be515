//! The built-in field transformers: namespace, name prefix/suffix, labels, annotations,
//! images and replicas.

use regex::Regex;
use serde_json::Value;

use super::error::Error;
use super::fieldspec::{CreateKind, FieldSpec};
use super::kustomization::{ImageArgs, ReplicaArgs};
use super::resid::Gvk;
use super::resource::{Resource, scalar_string};
use super::util::ensure_map;

/// Sets `key: value` (as a string) in the map at every spec's path.
fn set_entries(
    r: &mut Resource,
    specs: &[FieldSpec],
    pairs: &[(String, String)],
) -> Result<(), Error> {
    let mut sorted = pairs.to_vec();
    sorted.sort();
    for (k, v) in &sorted {
        for fs in specs {
            fs.apply(&mut r.obj, CreateKind::Map, &mut |node| {
                if !node.is_object() {
                    return Err(Error::new(format!(
                        "wrong node kind: expected MappingNode but got {}",
                        node_kind(node)
                    )));
                }
                ensure_map(node).insert(k.clone(), Value::String(v.clone()));
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn node_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "SequenceNode",
        Value::Object(_) => "MappingNode",
        _ => "ScalarNode",
    }
}

/// `commonLabels`, `labels` and the like: the pairs at every spec.
pub(crate) fn labels(
    rs: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    rs.iter_mut().try_for_each(|r| set_entries(r, specs, pairs))
}

/// `commonAnnotations`.
pub(crate) fn annotations(
    rs: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), Error> {
    labels(rs, pairs, specs)
}

/// Which (Cluster)RoleBinding subjects get the namespace (`setRoleBindingSubjects`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SubjectMode {
    /// Subjects named `default` (`defaultOnly`, the default).
    #[default]
    DefaultOnly,
    /// Subjects of kind ServiceAccount (`allServiceAccounts`).
    AllServiceAccounts,
    /// None (`none`).
    None,
}

/// The namespace filter's options beyond the namespace and field specs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NamespaceOptions {
    /// Only fields that are missing or empty get the namespace (`unsetOnly`).
    pub unset_only: bool,
    /// Which binding subjects get it.
    pub subjects: SubjectMode,
}

/// kustomize's namespace filter on one resource: `metadata.namespace` unless the kind is
/// cluster-scoped, the chosen subjects of (Cluster)RoleBindings, then the field specs
/// (but not the ones those special cases own).
pub(crate) fn set_namespace_fields(
    r: &mut Resource,
    ns: &str,
    specs: &[FieldSpec],
    options: NamespaceOptions,
) -> Result<(), Error> {
    let set = |node: &mut Value| {
        let has_value = match node {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if !(options.unset_only && has_value) {
            *node = Value::String(ns.to_string());
        }
    };
    let gvk = Gvk::of(&r.obj);
    if !gvk.is_cluster_scoped() {
        set(r.metadata_mut().entry("namespace").or_insert(Value::Null));
    }
    let is_binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
    if is_binding && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
        let (field, want) = match options.subjects {
            SubjectMode::DefaultOnly => ("name", "default"),
            SubjectMode::AllServiceAccounts => ("kind", "ServiceAccount"),
            SubjectMode::None => ("", ""),
        };
        for s in subjects.iter_mut() {
            if !field.is_empty() && s.get(field).and_then(Value::as_str) == Some(want) {
                set(ensure_map(s).entry("namespace").or_insert(Value::Null));
            }
        }
    }
    let api_version = gvk.api_version();
    for fs in specs {
        let skip = fs.path == "metadata/namespace"
            || (api_version != "v1" && fs.path == "metadata/name")
            || (is_binding && fs.path == "subjects/namespace");
        if skip {
            continue;
        }
        fs.apply(&mut r.obj, CreateKind::Scalar, &mut |node| {
            set(node);
            Ok(())
        })?;
    }
    Ok(())
}

/// `namespace`: `metadata.namespace` of namespaced objects, plus the configured fields
/// (Namespace names, APIService and webhook service namespaces) and the `default`
/// ServiceAccount subjects of role bindings.
pub(crate) fn namespace(rs: &mut [Resource], ns: &str, specs: &[FieldSpec]) -> Result<(), Error> {
    namespace_with(rs, ns, specs, NamespaceOptions::default())
}

/// [`namespace`] with the `NamespaceTransformer` plugin's options.
pub(crate) fn namespace_with(
    rs: &mut [Resource],
    ns: &str,
    specs: &[FieldSpec],
    options: NamespaceOptions,
) -> Result<(), Error> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in rs.iter_mut() {
        if r.obj.as_object().is_none_or(|m| m.is_empty()) {
            continue;
        }
        r.store_previous_id();
        set_namespace_fields(r, ns, specs, options)?;
    }
    // kustomize checks after each resource; a clash then is a clash at the end too.
    let mut seen = std::collections::HashSet::new();
    for r in rs.iter() {
        let id = r.cur_id();
        if !seen.insert(id.key()) {
            return Err(Error::new(format!(
                "namespace transformation produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}

/// Whether kustomize leaves this type's name alone for prefixes and suffixes.
fn skips_affixes(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
}

/// Which end of the name an affix goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affix {
    Prefix,
    Suffix,
}

/// `namePrefix` / `nameSuffix`.
pub(crate) fn affix(
    rs: &mut [Resource],
    which: Affix,
    text: &str,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    if text.is_empty() {
        return Ok(());
    }
    for r in rs.iter_mut() {
        let org = r.org_id();
        if skips_affixes(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                match which {
                    Affix::Prefix => r.prefixes.push(text.to_string()),
                    Affix::Suffix => r.suffixes.push(text.to_string()),
                }
                r.store_previous_id();
            }
            fs.apply(&mut r.obj, CreateKind::Scalar, &mut |node| {
                let cur = scalar_string(node);
                *node = Value::String(match which {
                    Affix::Prefix => format!("{text}{cur}"),
                    Affix::Suffix => format!("{cur}{text}"),
                });
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// `replicas:` — sets the count on matching workloads; no match at all is an error.
pub(crate) fn replicas(
    rs: &mut [Resource],
    args: &ReplicaArgs,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    let count = match &args.count {
        Value::Number(n) if n.is_i64() => Value::Number(n.clone()),
        Value::String(s) => s
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| Error::new(format!("replicas: count {s:?} is not an integer")))?,
        other => {
            return Err(Error::new(format!(
                "replicas: count {other} is not an integer"
            )));
        }
    };
    let mut found = false;
    for fs in specs {
        for r in rs.iter_mut() {
            if !r.any_id(|id| id.name == args.name && id.gvk.is_selected_by(&fs.gvk)) {
                continue;
            }
            found = true;
            fs.apply(&mut r.obj, CreateKind::Scalar, &mut |node| {
                *node = count.clone();
                Ok(())
            })?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|f| f.gvk.to_string()).collect();
        return Err(Error::new(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            args.name,
            gvks.join(" ")
        )));
    }
    Ok(())
}

/// `images:` — rewrites matching image references in containers anywhere in the object
/// and at the configured paths (CRDs excepted).
pub(crate) fn images(
    rs: &mut [Resource],
    args: &ImageArgs,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    let pattern = format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
        args.name
    );
    let re = Regex::new(&pattern)
        .map_err(|e| Error::new(format!("images: invalid name {:?}: {e}", args.name)))?;
    let update = |node: &mut Value| -> Result<(), Error> {
        let Some(s) = node.as_str() else {
            return if node.is_object() || node.is_array() {
                Err(Error::new("images: wrong node kind: expected ScalarNode"))
            } else {
                Ok(())
            };
        };
        if !re.is_match(s) {
            return Ok(());
        }
        *node = Value::String(rewrite_image(s, args));
        Ok(())
    };
    for r in rs.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        containers_anywhere(&mut r.obj, &update)?;
        for fs in specs {
            fs.apply(&mut r.obj, CreateKind::None, &mut |n| update(n))?;
        }
    }
    Ok(())
}

/// kustomize's legacy image walk: every `containers` / `initContainers` list at any depth.
fn containers_anywhere(
    node: &mut Value,
    update: &dyn Fn(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                containers_anywhere(value, update)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = value
                {
                    for item in items.iter_mut() {
                        if let Some(image) = item.get_mut("image") {
                            update(image)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| containers_anywhere(i, update)),
        _ => Ok(()),
    }
}

/// The new image reference for a matching one.
fn rewrite_image(image: &str, args: &ImageArgs) -> String {
    let (mut name, mut tag, mut digest) = split_image(image);
    if !args.new_name.is_empty() {
        name = args.new_name.clone();
    }
    if !args.new_tag.is_empty() && !args.digest.is_empty() {
        tag = args.new_tag.clone();
        digest = args.digest.clone();
    } else if !args.new_tag.is_empty() {
        tag = args.new_tag.clone();
        digest.clear();
    } else if !args.digest.is_empty() {
        tag.clear();
        digest = args.digest.clone();
    } else if !args.tag_suffix.is_empty() {
        tag.push_str(&args.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    name
}

/// Splits `name[:tag][@digest]`, looking for `:` only after the first `/` (registry ports).
fn split_image(image: &str) -> (String, String, String) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (
            image[..a].to_string(),
            String::new(),
            image[a + 1..].to_string(),
        ),
        (Some(c), Some(a)) => (
            image[..c].to_string(),
            image[c + 1..a].to_string(),
            image[a + 1..].to_string(),
        ),
        (Some(c), None) => (
            image[..c].to_string(),
            image[c + 1..].to_string(),
            String::new(),
        ),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split() {
        let s = |i: &str| split_image(i);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/app:v1@sha256:ab"),
            ("reg:5000/app".into(), "v1".into(), "sha256:ab".into())
        );
        assert_eq!(
            s("app@sha256:ab"),
            ("app".into(), "".into(), "sha256:ab".into())
        );
    }

    #[test]
    fn image_rewrite() {
        let args = ImageArgs {
            name: "nginx".into(),
            new_name: "reg.example/nginx".into(),
            new_tag: "2".into(),
            digest: String::new(),
            tag_suffix: String::new(),
        };
        assert_eq!(
            rewrite_image("nginx:1@sha256:x", &args),
            "reg.example/nginx:2"
        );
    }
}
