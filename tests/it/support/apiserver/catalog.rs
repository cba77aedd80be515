//! Which resources the double serves: a table of built-in kinds plus the versions of every
//! CustomResourceDefinition whose `Established` condition is true.

use serde_json::Value;

use super::store::Store;

/// One served resource at one version.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// API group, "" for core.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Plural name used in paths.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Short names as `kubectl` knows them.
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Has a `/status` subresource (main writes keep status, `/status` writes touch only it).
    pub status: bool,
    /// Tracks `metadata.generation`.
    pub generation: bool,
    /// Served from a CustomResourceDefinition.
    pub custom: bool,
}

impl Resource {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Built-in kinds: group, version, plural, kind, short names, flags (N namespaced, S status
/// subresource, G generation, A category `all`). Group order is the order `/apis` lists.
const BUILTINS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("", "v1", "configmaps", "ConfigMap", "cm", "N"),
    ("", "v1", "endpoints", "Endpoints", "ep", "N"),
    ("", "v1", "events", "Event", "ev", "N"),
    ("", "v1", "limitranges", "LimitRange", "limits", "N"),
    ("", "v1", "namespaces", "Namespace", "ns", "S"),
    (
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        "pvc",
        "NS",
    ),
    ("", "v1", "persistentvolumes", "PersistentVolume", "pv", "S"),
    ("", "v1", "pods", "Pod", "po", "NSA"),
    ("", "v1", "resourcequotas", "ResourceQuota", "quota", "NS"),
    ("", "v1", "secrets", "Secret", "", "N"),
    ("", "v1", "serviceaccounts", "ServiceAccount", "sa", "N"),
    ("", "v1", "services", "Service", "svc", "NSA"),
    (
        "apiregistration.k8s.io",
        "v1",
        "apiservices",
        "APIService",
        "",
        "S",
    ),
    ("apps", "v1", "daemonsets", "DaemonSet", "ds", "NSGA"),
    ("apps", "v1", "deployments", "Deployment", "deploy", "NSGA"),
    ("apps", "v1", "replicasets", "ReplicaSet", "rs", "NSGA"),
    ("apps", "v1", "statefulsets", "StatefulSet", "sts", "NSGA"),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "hpa",
        "NSA",
    ),
    ("batch", "v1", "cronjobs", "CronJob", "cj", "NSGA"),
    ("batch", "v1", "jobs", "Job", "", "NSGA"),
    (
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        "",
        "",
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        "ing",
        "NSG",
    ),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        "netpol",
        "NG",
    ),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "pdb",
        "NSG",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        "",
        "",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        "",
        "",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        "",
        "N",
    ),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", "", "N"),
    (
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        "sc",
        "",
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        "",
        "G",
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "",
        "G",
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "crd,crds",
        "SG",
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "PriorityClass",
        "pc",
        "",
    ),
    ("coordination.k8s.io", "v1", "leases", "Lease", "", "N"),
    (
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        "",
        "N",
    ),
];

fn builtins() -> impl Iterator<Item = Resource> {
    BUILTINS
        .iter()
        .map(|&(group, version, plural, kind, short, flags)| Resource {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            short_names: short
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            categories: if flags.contains('A') {
                vec!["all".into()]
            } else {
                vec![]
            },
            namespaced: flags.contains('N'),
            status: flags.contains('S'),
            generation: flags.contains('G'),
            custom: false,
        })
}

/// Whether a CRD's condition `kind` is `True`.
pub fn condition_true(obj: &Value, kind: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of one established CRD.
fn from_crd(crd: &Value) -> Vec<Resource> {
    if !condition_true(crd, "Established") || crd.pointer("/metadata/deletionTimestamp").is_some() {
        return vec![];
    }
    let spec = &crd["spec"];
    let names = &spec["names"];
    let kind = names["kind"].as_str().unwrap_or_default();
    let mut versions: Vec<&Value> = spec["versions"]
        .as_array()
        .map(|v| v.iter().filter(|v| v["served"] == true).collect())
        .unwrap_or_default();
    versions.sort_by(|a, b| {
        version_priority(a["name"].as_str().unwrap_or(""))
            .cmp(&version_priority(b["name"].as_str().unwrap_or("")))
            .reverse()
    });
    versions
        .into_iter()
        .map(|v| Resource {
            group: spec["group"].as_str().unwrap_or_default().into(),
            version: v["name"].as_str().unwrap_or_default().into(),
            plural: names["plural"].as_str().unwrap_or_default().into(),
            singular: names["singular"]
                .as_str()
                .map_or_else(|| kind.to_lowercase(), String::from),
            kind: kind.into(),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            namespaced: spec["scope"] == "Namespaced",
            status: v.pointer("/subresources/status").is_some(),
            generation: true,
            custom: true,
        })
        .collect()
}

/// Kubernetes version ordering: GA above beta above alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let (level, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (level, major, minor)
}

/// Every served resource, built-ins first, each group's versions in preference order.
pub fn all(store: &Store) -> Vec<Resource> {
    let mut out: Vec<Resource> = builtins().collect();
    for (_, crd) in store.list("apiextensions.k8s.io", "customresourcedefinitions", None) {
        out.extend(from_crd(&crd));
    }
    out
}

/// The resource served at `group`/`version`/`plural`.
pub fn find(store: &Store, group: &str, version: &str, plural: &str) -> Option<Resource> {
    all(store)
        .into_iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}
