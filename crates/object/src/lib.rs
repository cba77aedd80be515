//! The object layer crunch's engines and its applier share, for Kubernetes objects held
//! as `serde_json::Value`: identity ([`ObjectKey`], [`ObjectRef`]), the [`Scope`] of
//! kinds, Helm's [`install_order`] of kinds, and whether a Kubernetes version accepts an
//! object ([`validate`]: served apiVersions, known fields). A leaf: it depends on no crunch
//! crate.

mod api_fields;

pub use api_fields::{CustomResources, Finding, KubeVersion, Problem, known_versions, validate};

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What names an object in a cluster: group, kind, namespace and name. The version is not
/// part of it: `apps/v1` and `apps/v1beta1` Deployments of one name are one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects and objects that have none yet.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// The key of `object`, or a message saying which identifying field is missing.
    pub fn of(object: &Value) -> Result<Self, String> {
        let field = |path: &[&str]| {
            path.iter()
                .try_fold(object, |v, key| v.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let api_version = field(&["apiVersion"]);
        let kind = field(&["kind"]);
        let name = field(&["metadata", "name"]);
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(format!(
                "object without apiVersion, kind or metadata.name: {}",
                serde_json::to_string(object).unwrap_or_default()
            ));
        }
        Ok(Self {
            group: api_group(&api_version).to_string(),
            kind,
            namespace: field(&["metadata", "namespace"]),
            name,
        })
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        f.write_str(" ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)
    }
}

/// What names an object in a cluster, with the version to talk to it in.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }

    /// Whether `other` is the same object, perhaps named through another version.
    pub fn same_object(&self, other: &ObjectRef) -> bool {
        self.group() == other.group()
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Whether the objects of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Scope {
    /// Each object belongs to a namespace (`/namespaces/{namespace}/…` in the API).
    Namespaced,
    /// Objects belong to no namespace.
    Cluster,
}

impl Scope {
    /// The scope of a built-in Kubernetes kind (`group` empty for the core group), from
    /// `crates/object/schemas/kinds.json`; `None` for any other kind, whose scope only its
    /// CustomResourceDefinition can tell.
    pub fn builtin(group: &str, kind: &str) -> Option<Scope> {
        BUILTIN_SCOPES.get(&qualified_kind(group, kind)).copied()
    }

    /// The scope a CustomResourceDefinition (`crd`, as an object) gives the kind it
    /// defines, with that kind as [`qualified_kind`] names it; `None` when `crd` is not
    /// one.
    pub fn of_crd(crd: &Value) -> Option<(String, Scope)> {
        let group = crd["apiVersion"].as_str()?.split('/').next()?;
        if crd["kind"] != "CustomResourceDefinition" || group != "apiextensions.k8s.io" {
            return None;
        }
        let spec = &crd["spec"];
        let scope = match spec["scope"].as_str()? {
            "Namespaced" => Scope::Namespaced,
            "Cluster" => Scope::Cluster,
            _ => return None,
        };
        Some((
            qualified_kind(spec["group"].as_str()?, spec["names"]["kind"].as_str()?),
            scope,
        ))
    }
}

/// The API group of an `apiVersion` (empty for the core group's `v1`).
pub fn api_group(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(group, _)| group)
        .unwrap_or_default()
}

/// A kind with its API group, as `crates/object/schemas/kinds.json` and `crunch.yaml`'s `cluster.kinds`
/// key it: `group/Kind`, or `Kind` alone for the core group.
pub fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    }
}

/// `crates/object/schemas/kinds.json`, generated by `tools/gen-kinds` from the Kubernetes OpenAPI data.
static BUILTIN_SCOPES: LazyLock<HashMap<String, Scope>> = LazyLock::new(|| {
    #[derive(Deserialize)]
    struct Table {
        cluster: Vec<String>,
        namespaced: Vec<String>,
    }
    let table: Table = serde_json::from_str(include_str!("../schemas/kinds.json"))
        .expect("schemas/kinds.json is valid: tests/it/schemas.rs reads it");
    let cluster = table.cluster.into_iter().map(|k| (k, Scope::Cluster));
    let namespaced = table.namespaced.into_iter().map(|k| (k, Scope::Namespaced));
    cluster.chain(namespaced).collect()
});

/// Helm's install order of two kinds: the kinds of `InstallOrder` in its order, then every
/// other kind alphabetically.
pub fn install_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |kind: &str| INSTALL_ORDER.iter().position(|k| *k == kind);
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Helm's `InstallOrder`: kinds not listed come after, alphabetically.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_of_namespaced_and_core_objects() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "web", "namespace": "prod"}});
        let key = ObjectKey::of(&d).unwrap();
        assert_eq!(key.group, "apps");
        assert_eq!(key.to_string(), "Deployment.apps prod/web");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}});
        assert_eq!(ObjectKey::of(&ns).unwrap().to_string(), "Namespace x");
        assert!(ObjectKey::of(&json!({"kind": "X"})).is_err());
    }

    #[test]
    fn builtin_scopes() {
        assert_eq!(Scope::builtin("", "ConfigMap"), Some(Scope::Namespaced));
        assert_eq!(Scope::builtin("", "Namespace"), Some(Scope::Cluster));
        assert_eq!(
            Scope::builtin("apps", "Deployment"),
            Some(Scope::Namespaced)
        );
        assert_eq!(
            Scope::builtin("rbac.authorization.k8s.io", "ClusterRole"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            Scope::builtin("apiregistration.k8s.io", "APIService"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            Scope::builtin("policy", "PodSecurityPolicy"),
            Some(Scope::Cluster)
        );
        assert_eq!(Scope::builtin("kyverno.io", "ClusterPolicy"), None);
        assert_eq!(Scope::builtin("", "Deployment"), None);
    }
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
