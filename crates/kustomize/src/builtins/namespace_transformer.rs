//! The builtin `NamespaceTransformer`: `metadata.namespace` of namespaced objects, the
//! configured fields (Namespace names, APIService and webhook service namespaces) and the
//! chosen subjects of role bindings. `namespace` configures it with the defaults.

use serde_json::{Map, Value};

use super::{Transformer, decode, field_specs, text};
use crate::error::Error;
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::gojson::Mode;
use crate::gotypes::NAMESPACE_TRANSFORMER_T;
use crate::resid::Gvk;
use crate::resource::Resource;
use crate::util::ensure_map;

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

/// A configured `NamespaceTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct NamespaceTransformer {
    /// The namespace; empty changes nothing.
    pub namespace: String,
    /// The fields beyond `metadata.namespace`.
    pub field_specs: Vec<FieldSpec>,
    /// `unsetOnly` and `setRoleBindingSubjects`.
    pub options: NamespaceOptions,
}

impl NamespaceTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "NamespaceTransformer";

    /// Reads a plugin config: `metadata.namespace`, `fieldSpecs`, `unsetOnly` and
    /// `setRoleBindingSubjects`.
    pub(crate) fn read(cfg: &Value) -> Result<NamespaceTransformer, Error> {
        let body = decode(cfg, &NAMESPACE_TRANSFORMER_T, Mode::YamlUnmarshal).map_err(|e| {
            Error::new(format!(
                "unmarshalling NamespaceTransformer config: {}",
                e.message()
            ))
        })?;
        Ok(NamespaceTransformer {
            namespace: text(&body, "/metadata/namespace"),
            field_specs: field_specs(&body)?,
            options: options(&body)?,
        })
    }
}

impl Transformer for NamespaceTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        if self.namespace.is_empty() {
            return Ok(());
        }
        for r in rs.iter_mut() {
            if r.obj.as_object().is_none_or(|m| m.is_empty()) {
                continue;
            }
            r.store_previous_id();
            set_fields(r, &self.namespace, &self.field_specs, self.options)?;
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
}

/// kustomize's namespace filter on one resource: `metadata.namespace` unless the kind is
/// cluster-scoped, the chosen subjects of (Cluster)RoleBindings, then the field specs
/// (but not the ones those special cases own).
pub(crate) fn set_fields(
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

/// The options `unsetOnly` and `setRoleBindingSubjects` of a decoded config.
fn options(body: &Map<String, Value>) -> Result<NamespaceOptions, Error> {
    let unset_only = body
        .get("unsetOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let subjects = match text(body, "/setRoleBindingSubjects").as_str() {
        "" | "defaultOnly" => SubjectMode::DefaultOnly,
        "allServiceAccounts" => SubjectMode::AllServiceAccounts,
        "none" => SubjectMode::None,
        other => {
            return Err(Error::new(format!(
                "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
            )));
        }
    };
    Ok(NamespaceOptions {
        unset_only,
        subjects,
    })
}
