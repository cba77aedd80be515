//! `.Capabilities`: the Kubernetes version and API versions `helm template` assumes.

use super::error::{Error, ErrorKind};

/// The cluster `helm template` pretends to render for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Kubernetes version as given to `--kube-version` (e.g. `v1.33.0` or `1.33`).
    pub kube_version: String,
    /// Every API version `.Capabilities.APIVersions.Has` accepts: Helm's built-in list
    /// followed by the user's `--api-versions`.
    pub api_versions: Vec<String>,
}

/// Helm v4.1.4's default Kubernetes version (client-go v0.35 → `v1.35.0`).
const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The API versions Helm v4.1.4 registers by default, in Helm's order.
const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

impl Default for Capabilities {
    /// What `helm template` uses without `--kube-version` and `--api-versions`.
    fn default() -> Self {
        Capabilities {
            kube_version: DEFAULT_KUBE_VERSION.to_string(),
            api_versions: DEFAULT_API_VERSIONS
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
        }
    }
}

impl Capabilities {
    /// What `helm template --kube-version K --api-versions A…` uses: the default list
    /// plus `extra` (each entry may itself be a comma-separated list, as the flag allows).
    #[must_use]
    pub fn helm_template(kube_version: Option<&str>, extra: &[String]) -> Self {
        let mut caps = Capabilities::default();
        if let Some(k) = kube_version {
            caps.kube_version = k.to_string();
        }
        caps.api_versions
            .extend(extra.iter().flat_map(|e| e.split(',')).map(str::to_string));
        caps
    }
}

/// A Kubernetes version as Helm's `ParseKubeVersion` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KubeVersion {
    /// `Version` and `GitVersion`: the input with a `v` prefix.
    pub(crate) version: String,
    /// What `String()` returns and constraints are checked against: `v` + the numeric
    /// components only (pre-release and build text dropped).
    pub(crate) normalized: String,
    pub(crate) major: String,
    pub(crate) minor: String,
}

impl KubeVersion {
    /// Parses like `k8s.io/apimachinery`'s `ParseGeneric`: `v?N.N[.N…]` followed by
    /// anything; at least two numeric components.
    pub(crate) fn parse(text: &str) -> Result<KubeVersion, Error> {
        let fail = |why: String| {
            Error::new(
                ErrorKind::Render,
                format!("invalid kube version '{text}': {why}"),
            )
        };
        let body = text.strip_prefix('v').unwrap_or(text);
        let numeric_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let numeric = body[..numeric_end].trim_end_matches('.');
        if !numeric.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(fail(format!("could not parse {text:?} as version")));
        }
        let parts: Vec<&str> = numeric.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(fail(format!("illegal version string {text:?}")));
        }
        let invalid = || fail(format!("illegal version string {text:?}"));
        let numbers: Vec<u64> = parts
            .iter()
            .map(|p| p.parse::<u64>().map_err(|_| invalid()))
            .collect::<Result<_, _>>()?;
        let joined: Vec<String> = numbers.iter().map(u64::to_string).collect();
        Ok(KubeVersion {
            version: if text.starts_with('v') {
                text.to_string()
            } else {
                format!("v{text}")
            },
            normalized: format!("v{}", joined.join(".")),
            major: numbers[0].to_string(),
            minor: numbers[1].to_string(),
        })
    }
}

/// `.Capabilities.HelmVersion` of the Helm crunch imitates.
pub(crate) const HELM_VERSION: [(&str, &str); 5] = [
    ("version", "v4.1.4"),
    ("git_commit", "05fa37973dc9e42b76e1d2883494c87174b6074f"),
    ("git_tree_state", "clean"),
    ("go_version", "go1.25.9"),
    ("kube_client_version", "v1.35"),
];
