//! The parts of Flux's objects that change what gets rendered, read from their specs.
//! Fields that would change the output but are not implemented yet are refused by name,
//! never ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::values::ValuesReference;
use crate::bundle::{ApplyPolicy, DeletionPolicy};
use crate::source::GitRef;

/// `source.toolkit.fluxcd.io` GitRepository spec: the fields that make the artifact.
/// The fields in [`GIT_REPOSITORY_RUNTIME_ONLY`] are accepted and not read; any other
/// field is refused by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitRepositorySpec {
    /// Repository URL.
    pub url: String,
    /// Reference to check out; Flux defaults to branch `master`.
    #[serde(default, rename = "ref")]
    pub reference: Option<GitReference>,
    /// Extra exclusions (gitignore syntax) for the artifact; see
    /// [`Store::flux_artifact`](crate::source::Store::flux_artifact).
    #[serde(default)]
    pub ignore: Option<String>,
    /// Artifacts of other GitRepositories of the namespace moved into this one, in order.
    #[serde(default)]
    pub include: Vec<GitRepositoryInclude>,
    /// Whether submodules are checked out, recursively, at the commits recorded.
    #[serde(default)]
    pub recurse_submodules: bool,
    /// The only directories checked out (go-git's sparse checkout); empty for all.
    #[serde(default)]
    pub sparse_checkout: Vec<String>,
}

/// GitRepository fields that change how, when or whether source-controller fetches,
/// never what an artifact holds, so a static bundle does not depend on them:
/// - `interval`, `suspend`: when the source is fetched again (crunch fetches once per
///   build, pinned by `crunch.lock`);
/// - `timeout`: how long a fetch may take;
/// - `secretRef`, `provider`, `serviceAccountName`: how source-controller authenticates
///   (crunch uses the machine's credentials and `crunch.yaml`'s);
/// - `proxySecretRef`: the network path to the server;
/// - `gitImplementation`, `accessFrom` (v1beta2): the git library, which checks out the
///   same files, and cross-namespace access, which v1 controllers never enforce.
pub const GIT_REPOSITORY_RUNTIME_ONLY: &[&str] = &[
    "interval",
    "suspend",
    "timeout",
    "secretRef",
    "provider",
    "serviceAccountName",
    "proxySecretRef",
    "gitImplementation",
    "accessFrom",
];

/// One `spec.include` entry of a GitRepository.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitRepositoryInclude {
    /// The included GitRepository, in the including one's namespace.
    pub repository: LocalReference,
    /// What of its artifact is included; empty for all of it.
    #[serde(default)]
    pub from_path: String,
    /// Where it lands; empty for the included GitRepository's name.
    #[serde(default)]
    pub to_path: String,
}

/// A reference to an object of the referring object's namespace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalReference {
    /// The object's name.
    pub name: String,
}

/// `spec.ref` of a GitRepository, in Flux's precedence order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitReference {
    commit: Option<String>,
    semver: Option<String>,
    tag: Option<String>,
    branch: Option<String>,
    name: Option<String>,
}

impl GitRepositorySpec {
    /// Reads a GitRepository's spec, refusing what crunch cannot reproduce yet and fields
    /// it does not know. Null fields are absent, as the API server prunes them.
    pub fn read(object: &Value) -> Result<Self, String> {
        let mut spec = object["spec"].as_object().cloned().unwrap_or_default();
        spec.retain(|field, value| {
            !value.is_null() && !GIT_REPOSITORY_RUNTIME_ONLY.contains(&field.as_str())
        });
        if spec.contains_key("verify") {
            return Err(
                "GitRepository spec.verify is not supported yet: crunch does not verify commit or tag signatures"
                    .to_string(),
            );
        }
        serde_json::from_value(Value::Object(spec)).map_err(|e| format!("GitRepository spec: {e}"))
    }

    /// The reference to fetch.
    pub fn git_ref(&self) -> GitRef {
        let r = self.reference.clone().unwrap_or_default();
        GitRef {
            commit: r.commit,
            semver: r.semver,
            tag: r.tag,
            branch: r.branch,
            name: r.name,
        }
    }
}

/// A `{kind, name, namespace}` reference to a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// Source kind; only `GitRepository` is supported yet.
    pub kind: String,
    /// Source name.
    pub name: String,
    /// Source namespace; the referring object's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// A `dependsOn` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Dependency {
    /// Name of the object depended on.
    pub name: String,
    /// Its namespace; the referring object's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One `postRenderers` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostRenderer {
    /// Kustomize post-rendering (the only kind Flux has).
    pub kustomize: Option<KustomizePostRenderer>,
}

/// `postRenderers[].kustomize`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizePostRenderer {
    /// Kustomize `patches` (SMP or JSON 6902, with targets).
    #[serde(default)]
    pub patches: Vec<Value>,
    /// Kustomize `images`.
    #[serde(default)]
    pub images: Vec<Value>,
}

/// `helm.toolkit.fluxcd.io` HelmRelease spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// The chart template.
    pub chart: Option<ChartTemplate>,
    /// Explicit release name.
    #[serde(default)]
    pub release_name: Option<String>,
    /// Namespace the release installs into.
    #[serde(default)]
    pub target_namespace: Option<String>,
    /// Values references, merged in order.
    #[serde(default)]
    pub values_from: Vec<ValuesReference>,
    /// Inline values, merged last.
    #[serde(default)]
    pub values: Option<Value>,
    /// Post renderers, applied in order.
    #[serde(default)]
    pub post_renderers: Vec<PostRenderer>,
    /// Releases to be ready first.
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    /// Readiness timeout as written.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Install settings.
    #[serde(default)]
    pub install: Option<InstallSettings>,
}

/// `spec.chart`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChartTemplate {
    /// `spec.chart.spec`.
    pub spec: ChartSpec,
}

/// `spec.chart.spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartSpec {
    /// Chart path inside a GitRepository (or chart name in a HelmRepository).
    pub chart: String,
    /// The source holding the chart.
    pub source_ref: SourceReference,
    /// Extra values files inside the chart.
    #[serde(default)]
    pub values_files: Vec<String>,
}

/// `spec.install`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallSettings {
    /// CRD policy: `Skip`, `Create` (default) or `CreateReplace`.
    #[serde(default)]
    pub crds: Option<String>,
    /// Whether hooks are skipped.
    #[serde(default)]
    pub disable_hooks: bool,
}

impl HelmReleaseSpec {
    /// Reads a HelmRelease's spec, refusing what crunch cannot reproduce yet.
    pub fn read(object: &Value) -> Result<Self, String> {
        let spec = &object["spec"];
        for unsupported in ["chartRef", "kubeConfig"] {
            if spec.get(unsupported).is_some() {
                return Err(format!(
                    "HelmRelease spec.{unsupported} is not supported yet"
                ));
            }
        }
        let spec: Self =
            serde_json::from_value(spec.clone()).map_err(|e| format!("HelmRelease spec: {e}"))?;
        match &spec.chart {
            None => return Err("HelmRelease has no spec.chart".to_string()),
            Some(chart) if !chart.spec.values_files.is_empty() => {
                return Err("HelmRelease spec.chart.spec.valuesFiles is not supported yet".into());
            }
            Some(_) => {}
        }
        Ok(spec)
    }

    /// Whether CRDs from the chart's `crds/` directory are installed.
    pub fn installs_crds(&self) -> bool {
        let policy = self.install.as_ref().and_then(|i| i.crds.as_deref());
        policy != Some("Skip")
    }
}

/// `kustomize.toolkit.fluxcd.io` Kustomization spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// The source holding the kustomization.
    pub source_ref: SourceReference,
    /// Path inside the source; the root when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Kustomizations to be ready first.
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    /// Readiness timeout as written.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Objects to wait for besides the Kustomization's own.
    #[serde(default)]
    pub health_checks: Vec<HealthCheck>,
    /// How the built objects are decrypted.
    #[serde(default)]
    pub decryption: Option<crate::config::Decryption>,
    /// Labels and annotations put on every object.
    #[serde(default)]
    pub common_metadata: Option<CommonMetadata>,
    /// Whether every object must be ready, not only the health checks.
    #[serde(default)]
    pub wait: bool,
    /// Whether objects that leave the Kustomization are deleted.
    #[serde(default)]
    pub prune: bool,
    /// Whether objects whose immutable fields changed are recreated.
    #[serde(default)]
    pub force: bool,
    /// What becomes of the objects when the Kustomization goes.
    #[serde(default)]
    pub deletion_policy: Option<DeletionPolicy>,
    /// The service account (in the Kustomization's namespace) its objects are applied
    /// as.
    #[serde(default)]
    pub service_account_name: Option<String>,
}

/// A Kustomization's `commonMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonMetadata {
    /// Labels set on every object.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations set on every object.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl KustomizationSpec {
    /// Reads a Kustomization's spec, refusing what crunch cannot reproduce. The fields
    /// that edit the kustomization (`targetNamespace`, `namePrefix`, `nameSuffix`,
    /// `patches`, `images`, `components`, `ignoreMissingComponents`, `buildMetadata`) are
    /// read by [`generator`](super::generator) from the object itself.
    ///
    /// Fields that only pace the controller change nothing in a bundle and are accepted:
    /// `interval` and `retryInterval` (when it reconciles again; the applier has its own
    /// retries within `timeout`) and `ignore` (drift detection's ignore rules: the
    /// applier corrects no drift after it returns).
    pub fn read(object: &Value) -> Result<Self, String> {
        let spec = &object["spec"];
        let refused = [
            (
                "kubeConfig",
                "it applies to another cluster; build that cluster's own bundle instead",
            ),
            (
                "healthCheckExprs",
                "custom CEL health checks are not supported yet",
            ),
        ];
        for (field, why) in refused {
            if spec.get(field).is_some_and(|v| !v.is_null()) {
                return Err(format!(
                    "Kustomization spec.{field} is not supported: {why}"
                ));
            }
        }
        if spec["suspend"] == true {
            return Err("Kustomization spec.suspend is true: Flux does not reconcile it, so what it would apply is unknown; build it without suspend".to_string());
        }
        serde_json::from_value(spec.clone()).map_err(|e| format!("Kustomization spec: {e}"))
    }

    /// How its objects are applied.
    pub fn apply_policy(&self) -> ApplyPolicy {
        ApplyPolicy {
            wait: self.wait,
            prune: self.prune,
            force: self.force,
            deletion_policy: self.deletion_policy.unwrap_or_default(),
        }
    }
}

/// One entry of a Kustomization's `healthChecks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `apiVersion` of the object.
    pub api_version: String,
    /// `kind` of the object.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace; the Kustomization's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
}
