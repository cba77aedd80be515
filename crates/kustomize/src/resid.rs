//! Resource identity as kustomize sees it: group/version/kind, name and namespace, plus the
//! scope (cluster or namespaced) and the legacy output order.

use std::fmt;

use serde_json::Value;

use super::schema;

/// kustomize's effective namespace of cluster-scoped ids.
const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// Group, version and kind. Empty parts act as wildcards when a `Gvk` is a selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits `apiVersion` (`apps/v1`, `v1`) and pairs it with `kind`.
    pub(crate) fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The gvk of an object (missing fields read as empty), as kyaml's `GvkFromNode` makes
    /// it: asking the build's schema for the type's scope, which a custom schema may be
    /// parsed for.
    pub(crate) fn of(obj: &Value) -> Gvk {
        let gvk = Gvk::from_api_version(str_at(obj, &["apiVersion"]), str_at(obj, &["kind"]));
        schema::note_type(&gvk.group, &gvk.version, &gvk.kind);
        gvk
    }

    /// `group/version`, or `version` for the core group.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `self` matches `selector`, whose empty parts match anything.
    pub(crate) fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// Whether the build's schema knows this type as cluster-scoped (unknown types, e.g.
    /// custom resources a custom schema serves no path for, count as namespaced, as in
    /// kustomize).
    pub(crate) fn is_cluster_scoped(&self) -> bool {
        schema::is_cluster_scoped(&self.group, &self.version, &self.kind)
    }
}

impl fmt::Display for Gvk {
    /// kustomize's `Kind.version.group` form with `[noGrp]`-style placeholders.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// A resource's identity: gvk, name and namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// The current id of an object.
    pub(crate) fn of(obj: &Value) -> ResId {
        ResId {
            gvk: Gvk::of(obj),
            name: str_at(obj, &["metadata", "name"]).to_string(),
            namespace: str_at(obj, &["metadata", "namespace"]).to_string(),
        }
    }

    /// The namespace as kustomize compares and records it: a marker for cluster-scoped
    /// types, and `default` for a namespaced object that names none.
    pub(crate) fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else {
            namespaced_effective(&self.namespace)
        }
    }

    /// A hashable form of [`ResId::equals`]: gvk, name and effective namespace.
    pub(crate) fn key(&self) -> (Gvk, String, String) {
        (
            self.gvk.clone(),
            self.name.clone(),
            self.effective_namespace().to_string(),
        )
    }

    /// Same namespace, with `""` and `default` equal.
    pub(crate) fn ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }

    /// kustomize's `ResId.Equals`: same gvk and name, equivalent namespace.
    pub(crate) fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk && self.name == other.name && self.ns_equals(other)
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk, name, ns)
    }
}

/// The effective namespace of a namespaced id: `default` when it names none.
pub(crate) fn namespaced_effective(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// The string at `path` in `obj`, or `""`.
pub(crate) fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(obj, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}
