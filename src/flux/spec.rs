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
    /// Whose signatures the commit must carry.
    #[serde(default)]
    pub verify: Option<GitVerification>,
}

/// A GitRepository's `spec.verify`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitVerification {
    /// What is verified: `HEAD` (the default; v1beta2 wrote `head`), `Tag` or
    /// `TagAndHEAD`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The Secret holding the public keys.
    pub secret_ref: LocalReference,
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
        let spec: Self = serde_json::from_value(Value::Object(spec))
            .map_err(|e| format!("GitRepository spec: {e}"))?;
        if let Some(verify) = &spec.verify {
            match verify.mode.as_deref() {
                None | Some("HEAD" | "head") => {}
                Some(mode) => {
                    return Err(format!(
                        "GitRepository spec.verify.mode {mode} is not supported yet: crunch verifies the signature of the commit (mode HEAD), not of tags"
                    ));
                }
            }
        }
        Ok(spec)
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

/// `source.toolkit.fluxcd.io` HelmRepository spec: where charts are and how to reach
/// them. The fields in [`HELM_REPOSITORY_RUNTIME_ONLY`] are accepted and not read; any
/// other field is refused by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmRepositorySpec {
    /// The repository URL: `https://…` (an `index.yaml` beside it) or `oci://…`.
    pub url: String,
    /// `default` (HTTP, the default) or `oci`.
    #[serde(default, rename = "type")]
    pub repository_type: Option<String>,
    /// The Secret with `username`/`password` (or, for OCI, `.dockerconfigjson`).
    #[serde(default)]
    pub secret_ref: Option<LocalReference>,
    /// The Secret with `ca.crt`, `tls.crt` and `tls.key`.
    #[serde(default)]
    pub cert_secret_ref: Option<LocalReference>,
    /// Whether credentials go to chart URLs on other hosts than the repository's.
    #[serde(default)]
    pub pass_credentials: bool,
    /// Plain HTTP to an OCI registry.
    #[serde(default)]
    pub insecure: bool,
    /// The cloud provider authenticating to the registry; only `generic` (none).
    #[serde(default)]
    pub provider: Option<String>,
}

/// HelmRepository fields that change when or whether source-controller fetches, never
/// what a chart holds: `interval`, `suspend`, `timeout` and `accessFrom` (cross-namespace
/// access, which v1 controllers never enforce).
pub const HELM_REPOSITORY_RUNTIME_ONLY: &[&str] = &["interval", "suspend", "timeout", "accessFrom"];

impl HelmRepositorySpec {
    /// Reads a HelmRepository's spec, refusing what crunch cannot reproduce.
    pub fn read(object: &Value) -> Result<Self, String> {
        let spec: Self = read_spec(object, "HelmRepository", HELM_REPOSITORY_RUNTIME_ONLY)?;
        match spec.repository_type.as_deref() {
            None | Some("" | "default" | "oci") => {}
            Some(other) => {
                return Err(format!(
                    "HelmRepository spec.type {other:?} is not one of default, oci"
                ));
            }
        }
        check_provider("HelmRepository", spec.provider.as_deref())?;
        if spec.is_oci() != spec.url.starts_with("oci://") {
            return Err(format!(
                "HelmRepository spec.url {} does not fit spec.type {}: an OCI repository's URL starts with oci://, and only its",
                spec.url,
                spec.repository_type.as_deref().unwrap_or("default")
            ));
        }
        Ok(spec)
    }

    /// Whether the repository is an OCI registry.
    pub fn is_oci(&self) -> bool {
        self.repository_type.as_deref() == Some("oci")
    }
}

/// `source.toolkit.fluxcd.io` OCIRepository spec: one artifact of a registry. The fields
/// in [`OCI_REPOSITORY_RUNTIME_ONLY`] are accepted and not read; any other field is
/// refused by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OciRepositorySpec {
    /// The artifact's URL, `oci://host/path`.
    pub url: String,
    /// Which manifest: a tag (`latest` when nothing is given), a semver range over the
    /// tags, or a digest.
    #[serde(default, rename = "ref")]
    pub reference: Option<OciReferenceSpec>,
    /// Which layer, and whether it is extracted or copied as is.
    #[serde(default)]
    pub layer_selector: Option<LayerSelector>,
    /// Whose signature the manifest must carry.
    #[serde(default)]
    pub verify: Option<OciVerification>,
    /// The Secret with `.dockerconfigjson` (or `username`/`password`).
    #[serde(default)]
    pub secret_ref: Option<LocalReference>,
    /// The Secret with `ca.crt`, `tls.crt` and `tls.key`.
    #[serde(default)]
    pub cert_secret_ref: Option<LocalReference>,
    /// Plain HTTP to the registry.
    #[serde(default)]
    pub insecure: bool,
    /// The cloud provider authenticating to the registry; only `generic` (none).
    #[serde(default)]
    pub provider: Option<String>,
    /// Extra exclusions (gitignore syntax) for an extracted layer.
    #[serde(default)]
    pub ignore: Option<String>,
}

/// OCIRepository fields that change when or how source-controller fetches, never what
/// the artifact holds: `interval`, `suspend`, `timeout`, `proxySecretRef`, and
/// `serviceAccountName` (image pull secrets, which crunch takes from `crunch.yaml`).
pub const OCI_REPOSITORY_RUNTIME_ONLY: &[&str] = &[
    "interval",
    "suspend",
    "timeout",
    "proxySecretRef",
    "serviceAccountName",
];

/// An OCIRepository's `spec.ref`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OciReferenceSpec {
    /// A tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// A semver range over the tags; wins over `tag`.
    #[serde(default)]
    pub semver: Option<String>,
    /// A regular expression tags must match to be considered for `semver`.
    #[serde(default)]
    pub semver_filter: Option<String>,
    /// A manifest digest; wins over both.
    #[serde(default)]
    pub digest: Option<String>,
}

/// An OCIRepository's `spec.layerSelector`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayerSelector {
    /// The media type of the layer; the first layer when absent.
    #[serde(default)]
    pub media_type: Option<String>,
    /// `extract` (the default: a tarball unpacked) or `copy` (the blob as is).
    #[serde(default)]
    pub operation: Option<String>,
}

/// `spec.verify` of an OCIRepository or of a chart from an OCI HelmRepository.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OciVerification {
    /// `cosign` or `notation`.
    pub provider: String,
    /// The Secret holding the public keys (`*.pub`); keyless without it.
    #[serde(default)]
    pub secret_ref: Option<LocalReference>,
    /// Keyless verification's identities.
    #[serde(default, rename = "matchOIDCIdentity")]
    pub match_oidc_identity: Vec<Value>,
}

impl OciVerification {
    /// The Secret of public keys, refusing what cannot be verified offline.
    pub fn key_secret(&self, what: &str) -> Result<&str, String> {
        if self.provider != "cosign" {
            return Err(format!(
                "{what} spec.verify.provider {} is not supported: crunch verifies cosign signatures with public keys",
                self.provider
            ));
        }
        match &self.secret_ref {
            Some(secret) => Ok(&secret.name),
            None => Err(format!(
                "{what} spec.verify without a secretRef is keyless cosign verification{}, which needs Fulcio and Rekor online: it is not supported; give the public keys in a Secret",
                if self.match_oidc_identity.is_empty() {
                    ""
                } else {
                    " (matchOIDCIdentity)"
                }
            )),
        }
    }
}

impl OciRepositorySpec {
    /// Reads an OCIRepository's spec, refusing what crunch cannot reproduce.
    pub fn read(object: &Value) -> Result<Self, String> {
        let spec: Self = read_spec(object, "OCIRepository", OCI_REPOSITORY_RUNTIME_ONLY)?;
        check_provider("OCIRepository", spec.provider.as_deref())?;
        if !spec.url.starts_with("oci://") {
            return Err(format!(
                "OCIRepository spec.url {} does not start with oci://",
                spec.url
            ));
        }
        if let Some(operation) = spec
            .layer_selector
            .as_ref()
            .and_then(|l| l.operation.as_deref())
            && !matches!(operation, "extract" | "copy")
        {
            return Err(format!(
                "OCIRepository spec.layerSelector.operation {operation:?} is not one of extract, copy"
            ));
        }
        if let Some(verify) = &spec.verify {
            verify.key_secret("OCIRepository")?;
        }
        Ok(spec)
    }

    /// Whether the selected layer is copied as is rather than extracted.
    pub fn copies_layer(&self) -> bool {
        self.layer_selector
            .as_ref()
            .and_then(|l| l.operation.as_deref())
            == Some("copy")
    }
}

/// A source spec with its runtime-only and null fields dropped, read as `T`.
fn read_spec<T: serde::de::DeserializeOwned>(
    object: &Value,
    kind: &str,
    runtime_only: &[&str],
) -> Result<T, String> {
    let mut spec = object["spec"].as_object().cloned().unwrap_or_default();
    spec.retain(|field, value| !value.is_null() && !runtime_only.contains(&field.as_str()));
    serde_json::from_value(Value::Object(spec)).map_err(|e| format!("{kind} spec: {e}"))
}

/// Refuses a cloud provider's authentication, which needs the provider's metadata service.
fn check_provider(kind: &str, provider: Option<&str>) -> Result<(), String> {
    match provider {
        None | Some("" | "generic") => Ok(()),
        Some(other) => Err(format!(
            "{kind} spec.provider {other} is not supported: crunch authenticates with credentials from crunch.yaml or the Secret the source names, not a cloud provider's identity"
        )),
    }
}

/// A `{kind, name, namespace}` reference to a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// Source kind: `GitRepository`, `OCIRepository` (Kustomizations), `HelmRepository`
    /// (charts); others are refused by name.
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
pub struct PostRenderer {
    /// Kustomize post-rendering (the only kind Flux has).
    pub kustomize: Option<KustomizePostRenderer>,
}

/// `postRenderers[].kustomize`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePostRenderer {
    /// Kustomize `patches` (SMP or JSON 6902, with targets).
    #[serde(default)]
    pub patches: Vec<Value>,
    /// Kustomize `images`.
    #[serde(default)]
    pub images: Vec<Value>,
}

/// `helm.toolkit.fluxcd.io` HelmRelease spec. Every field of helm-controller's v2 API
/// (`api/v2/helmrelease_types.go`) is accounted for; fields the API server would prune
/// (unknown ones, `valuesFile` of v2) are ignored as it would.
///
/// - Rendering, reproduced: `chart.spec` (`chart`, `sourceRef` (GitRepository or
///   HelmRepository), `version` (HelmRepository charts), `verify` (cosign, OCI charts),
///   `valuesFiles`, `ignoreMissingValuesFiles`, `reconcileStrategy`, and `valuesFile` of
///   v2beta1/v2beta2), `chartRef` (an OCIRepository or a HelmChart),
///   `releaseName`, `targetNamespace`, `valuesFrom`, `values`, `postRenderers`,
///   `postRenderStrategy`, `commonMetadata`, and of `install` and `upgrade` `crds` (whether the
///   chart's `crds/` are in the bundle at all), `disableHooks` (whether hooks are) and
///   `disableSchemaValidation`.
/// - The applier's, carried in the index ([`crate::bundle::ReleaseEntry`]): `dependsOn`,
///   `timeout`, `storageNamespace`, `serviceAccountName`, `driftDetection`, and of `install`
///   and `upgrade` `crds`, `disableHooks`, `disableWait`, `disableWaitForJobs`,
///   `install.createNamespace`.
/// - Runtime only, without effect on a static bundle: `interval`, `suspend`, `maxHistory`,
///   `persistentClient` (client reuse), `waitStrategy` (how readiness is polled, not what
///   is ready), `test` (crunch runs no Helm tests; test hooks never reach a bundle),
///   `rollback` and `uninstall` (operations crunch never performs), `chart.metadata` (the
///   HelmChart object's labels), `chart.spec.interval`, and of `install`/`upgrade`
///   `timeout` (the applier takes
///   `spec.timeout`), `strategy`, `remediation`, `disableTakeOwnership` (the applier adopts
///   objects it finds), `replace`, `force`, `cleanupOnFail`, `serverSideApply` (the applier
///   always applies server-side), `chartNameChangeStrategy`, `skipCRDs` (deprecated;
///   helm-controller no longer reads it) and `disableOpenAPIValidation` (crunch checks
///   nothing against the cluster's OpenAPI; the API server does on apply).
/// - Refused by name: `chartRef` of other kinds (ExternalArtifact), `kubeConfig`
///   (another cluster than the one a bundle is applied to), `upgrade.preserveValues`
///   (the previous release's values, which no build can know) and `healthCheckExprs`
///   (CEL health checks, which the applier cannot evaluate).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// The chart template (or else `chart_ref`).
    pub chart: Option<ChartTemplate>,
    /// The chart source-controller made (or else `chart`).
    #[serde(default)]
    pub chart_ref: Option<ChartReference>,
    /// Explicit release name.
    #[serde(default)]
    pub release_name: Option<String>,
    /// Namespace the release installs into.
    #[serde(default)]
    pub target_namespace: Option<String>,
    /// Where helm-controller keeps the release's records.
    #[serde(default)]
    pub storage_namespace: Option<String>,
    /// The service account (in the HelmRelease's namespace) helm-controller impersonates.
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// Values references, merged in order.
    #[serde(default)]
    pub values_from: Vec<ValuesReference>,
    /// Inline values, merged last.
    #[serde(default)]
    pub values: Option<Value>,
    /// Post renderers, applied in order.
    #[serde(default)]
    pub post_renderers: Vec<PostRenderer>,
    /// Which of Helm's streams are post-rendered.
    #[serde(default)]
    pub post_render_strategy: PostRenderStrategy,
    /// Labels and annotations for every rendered object.
    #[serde(default)]
    pub common_metadata: Option<CommonMetadata>,
    /// Releases to be ready first.
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    /// Readiness timeout as written.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Install settings.
    #[serde(default)]
    pub install: Option<ActionSettings>,
    /// Upgrade settings.
    #[serde(default)]
    pub upgrade: Option<ActionSettings>,
    /// Drift detection settings, for the applier.
    #[serde(default)]
    pub drift_detection: Option<crate::bundle::DriftDetection>,
}

/// `spec.postRenderStrategy`: which of Helm's streams go through the post-renderers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostRenderStrategy {
    /// Templates and hooks in one stream (helm-controller's default).
    #[default]
    Combined,
    /// Templates and hooks in two streams.
    Separate,
    /// Templates only; hooks are installed as rendered.
    NoHooks,
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
    /// Values files, relative to the source's root, merged into the chart's default values
    /// in place of its `values.yaml`.
    #[serde(default)]
    pub values_files: Vec<String>,
    /// The deprecated single values file of v2beta1/v2beta2, put before `valuesFiles`.
    #[serde(default)]
    pub values_file: Option<String>,
    /// Whether a missing values file is skipped instead of failing.
    #[serde(default)]
    pub ignore_missing_values_files: bool,
    /// `ChartVersion` (default) or `Revision`: the latter stamps the chart's version with
    /// the source revision.
    #[serde(default)]
    pub reconcile_strategy: Option<String>,
    /// The version or semver range of a HelmRepository chart; the latest when absent.
    /// source-controller ignores it for GitRepository charts.
    #[serde(default)]
    pub version: Option<String>,
    /// Whose signature a chart from an OCI HelmRepository must carry.
    #[serde(default)]
    pub verify: Option<OciVerification>,
}

impl ChartSpec {
    /// Reads a `source.toolkit.fluxcd.io` HelmChart's spec (for a HelmRelease whose
    /// `chartRef` names it): the fields of a HelmRelease's `chart.spec`, which is its
    /// template; the others (`interval`, `suspend`, `accessFrom`) do not change the chart.
    pub fn read_helm_chart(object: &Value) -> Result<Self, String> {
        let spec: Self = read_spec(object, "HelmChart", &[])?;
        check_reconcile_strategy(spec.reconcile_strategy.as_deref())?;
        Ok(spec)
    }

    /// How source-controller packages the chart.
    pub fn packaging(&self) -> super::chart::Packaging {
        packaging(
            self.values_file.as_ref(),
            &self.values_files,
            self.ignore_missing_values_files,
            self.reconcile_strategy.as_ref(),
        )
    }
}

/// How source-controller packages a chart: the values files in its order (the deprecated
/// `valuesFile` first).
fn packaging(
    values_file: Option<&String>,
    values_files: &[String],
    ignore_missing_values_files: bool,
    reconcile_strategy: Option<&String>,
) -> super::chart::Packaging {
    super::chart::Packaging {
        values_files: values_file
            .into_iter()
            .chain(values_files)
            .cloned()
            .collect(),
        ignore_missing_values_files,
        reconcile_strategy: reconcile_strategy.cloned(),
    }
}

/// `spec.chartRef`: a chart source-controller already made, an OCIRepository's artifact
/// or a HelmChart.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartReference {
    /// `OCIRepository` or `HelmChart`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace; the HelmRelease's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Refuses a `reconcileStrategy` source-controller does not know.
pub fn check_reconcile_strategy(strategy: Option<&str>) -> Result<(), String> {
    match strategy {
        None | Some("ChartVersion" | "Revision") => Ok(()),
        Some(other) => Err(format!(
            "spec.chart.spec.reconcileStrategy {other:?} is not one of ChartVersion, Revision"
        )),
    }
}

/// `spec.install` or `spec.upgrade`: the fields crunch reads (see [`HelmReleaseSpec`] for
/// the others).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSettings {
    /// CRD policy: `Skip`, `Create` or `CreateReplace`; `Create` when absent.
    #[serde(default)]
    pub crds: Option<crate::bundle::CrdPolicy>,
    /// Whether hooks are skipped.
    #[serde(default)]
    pub disable_hooks: bool,
    /// Whether readiness is not waited for.
    #[serde(default)]
    pub disable_wait: bool,
    /// Whether Jobs are not waited for.
    #[serde(default)]
    pub disable_wait_for_jobs: bool,
    /// Whether the values are not checked against the chart's `values.schema.json`.
    #[serde(default)]
    pub disable_schema_validation: bool,
    /// Whether the target namespace is created (install only).
    #[serde(default)]
    pub create_namespace: bool,
    /// Whether the previous release's values are reused (upgrade only).
    #[serde(default)]
    pub preserve_values: bool,
}

impl ActionSettings {
    /// What the applier does in this action.
    fn action(&self) -> crate::bundle::ReleaseAction {
        crate::bundle::ReleaseAction {
            disable_hooks: self.disable_hooks,
            disable_wait: self.disable_wait,
            disable_wait_for_jobs: self.disable_wait_for_jobs,
        }
    }
}

impl HelmReleaseSpec {
    /// Reads a HelmRelease's spec, refusing what crunch cannot reproduce.
    pub fn read(object: &Value) -> Result<Self, String> {
        let spec = &object["spec"];
        for unsupported in ["kubeConfig", "healthCheckExprs"] {
            if spec.get(unsupported).is_some_and(|v| !v.is_null()) {
                return Err(format!(
                    "HelmRelease spec.{unsupported} is not supported yet"
                ));
            }
        }
        // The API server drops the nulls of fields its schema does not mark nullable:
        // everywhere but in `values`, whose nulls Helm reads.
        let mut spec = spec.clone();
        if let Some(fields) = spec.as_object_mut() {
            for (name, value) in fields.iter_mut() {
                if name != "values" {
                    drop_nulls(value);
                }
            }
            fields.retain(|_, value| !value.is_null());
        }
        let mut spec: Self =
            serde_json::from_value(spec).map_err(|e| format!("HelmRelease spec: {e}"))?;
        match (&mut spec.chart, &spec.chart_ref) {
            (Some(_), Some(_)) => {
                return Err(
                    "HelmRelease spec.chart and spec.chartRef are both given: give one".to_string(),
                );
            }
            (None, None) => {
                return Err("HelmRelease has neither spec.chart nor spec.chartRef".to_string());
            }
            (None, Some(reference)) => {
                if !matches!(reference.kind.as_str(), "OCIRepository" | "HelmChart") {
                    return Err(format!(
                        "HelmRelease spec.chartRef.kind {} is not supported: crunch takes charts from OCIRepository and HelmChart objects",
                        reference.kind
                    ));
                }
            }
            (Some(chart), None) => {
                // v2 has no `valuesFile`: the API server prunes it from a v2 object.
                let version = object["apiVersion"].as_str().unwrap_or_default();
                if version == format!("{}/v2", super::HELM_GROUP) {
                    chart.spec.values_file = None;
                }
                check_reconcile_strategy(chart.spec.reconcile_strategy.as_deref())?;
            }
        }
        if spec.upgrade.as_ref().is_some_and(|u| u.preserve_values) {
            return Err(
                "HelmRelease spec.upgrade.preserveValues is not supported: it reuses the values of \
                 the release in the cluster, which a build cannot know"
                    .to_string(),
            );
        }
        Ok(spec)
    }

    /// The install settings, defaults when absent.
    fn install(&self) -> ActionSettings {
        self.install.clone().unwrap_or_default()
    }

    /// The upgrade settings, defaults when absent.
    fn upgrade(&self) -> ActionSettings {
        self.upgrade.clone().unwrap_or_default()
    }

    /// The CRD policies of install and upgrade. helm-controller defaults both to `Create`
    /// (its `DefaultCRDPolicy`; the API documentation's `Skip` for upgrades is not what
    /// the code does).
    pub fn crd_policies(&self) -> (crate::bundle::CrdPolicy, crate::bundle::CrdPolicy) {
        use crate::bundle::CrdPolicy::Create;
        (
            self.install().crds.unwrap_or(Create),
            self.upgrade().crds.unwrap_or(Create),
        )
    }

    /// Whether the chart's `crds/` may ever be applied (by an install or an upgrade).
    pub fn applies_crds(&self) -> bool {
        let (install, upgrade) = self.crd_policies();
        install != crate::bundle::CrdPolicy::Skip || upgrade != crate::bundle::CrdPolicy::Skip
    }

    /// Whether hooks may ever run (by an install or an upgrade).
    pub fn runs_hooks(&self) -> bool {
        !self.install().disable_hooks || !self.upgrade().disable_hooks
    }

    /// Whether the values are checked against `values.schema.json`: helm-controller renders
    /// an install or an upgrade, and each may skip the check; a bundle serves both, so the
    /// check is made unless both skip it.
    pub fn validates_schema(&self) -> bool {
        !self.install().disable_schema_validation || !self.upgrade().disable_schema_validation
    }

    /// The release as the index records it, for the applier; `crds` are the names of the
    /// chart's `crds/` CustomResourceDefinitions in the bundle.
    pub fn release_entry(
        &self,
        name: String,
        namespace: String,
        crds: Vec<String>,
    ) -> crate::bundle::ReleaseEntry {
        let (install, upgrade) = self.crd_policies();
        crate::bundle::ReleaseEntry {
            name,
            namespace,
            storage_namespace: self.storage_namespace.clone().filter(|s| !s.is_empty()),
            crds: (!crds.is_empty()).then_some(crate::bundle::ChartCrds {
                install,
                upgrade,
                names: crds,
            }),
            install: self.install().action(),
            upgrade: self.upgrade().action(),
            // Helm creates the namespace only when helm-controller asks, which it does only
            // for a `targetNamespace`.
            create_namespace: self.install().create_namespace
                && self
                    .target_namespace
                    .as_ref()
                    .is_some_and(|t| !t.is_empty()),
            drift_detection: self.drift_detection.clone(),
        }
    }
}

/// Removes every map entry holding `null` under `value`.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
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

/// A HelmRelease's or Kustomization's `commonMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::CrdPolicy::{Create, CreateReplace, Skip};
    use serde_json::json;

    fn release(api_version: &str, spec: Value) -> HelmReleaseSpec {
        let mut full = json!({"chart": {"spec": {"chart": "./chart",
            "sourceRef": {"kind": "GitRepository", "name": "x"}}}});
        if let (Some(full), Value::Object(extra)) = (full.as_object_mut(), spec) {
            full.extend(extra);
        }
        HelmReleaseSpec::read(&json!({"apiVersion": api_version, "spec": full})).unwrap()
    }

    fn values_files(spec: HelmReleaseSpec) -> Vec<String> {
        spec.chart.expect("a chart").spec.packaging().values_files
    }

    /// helm-controller's `crdPolicyOrDefault` gives `Create` to both actions.
    #[test]
    fn crd_policies_default_to_create_and_skip_only_when_both_skip() {
        let plain = release("helm.toolkit.fluxcd.io/v2", json!({}));
        assert_eq!(plain.crd_policies(), (Create, Create));
        let install_skip = release(
            "helm.toolkit.fluxcd.io/v2",
            json!({"install": {"crds": "Skip"}}),
        );
        assert_eq!(install_skip.crd_policies(), (Skip, Create));
        assert!(install_skip.applies_crds());
        let both = release(
            "helm.toolkit.fluxcd.io/v2",
            json!({"install": {"crds": "Skip"}, "upgrade": {"crds": "Skip"}}),
        );
        assert!(!both.applies_crds());
        let replace = release(
            "helm.toolkit.fluxcd.io/v2",
            json!({"upgrade": {"crds": "CreateReplace"}}),
        );
        assert_eq!(replace.crd_policies(), (Create, CreateReplace));
    }

    /// v2 has no `valuesFile` (the API server prunes it); v2beta1/v2beta2 put it first.
    #[test]
    fn the_deprecated_values_file_counts_only_before_v2() {
        let chart = json!({"chart": {"spec": {"chart": "./chart", "valuesFile": "a.yaml",
            "valuesFiles": ["b.yaml"], "sourceRef": {"kind": "GitRepository", "name": "x"}}}});
        assert_eq!(
            values_files(release("helm.toolkit.fluxcd.io/v2", chart.clone())),
            ["b.yaml"]
        );
        assert_eq!(
            values_files(release("helm.toolkit.fluxcd.io/v2beta2", chart)),
            ["a.yaml", "b.yaml"]
        );
    }

    /// Nulls are absent fields, but in `values`.
    #[test]
    fn nulls_are_absent_fields_but_in_values() {
        let spec = release(
            "helm.toolkit.fluxcd.io/v2",
            json!({"dependsOn": null, "install": {"crds": null}, "values": {"a": null}}),
        );
        assert!(spec.depends_on.is_empty());
        assert_eq!(spec.crd_policies(), (Create, Create));
        assert_eq!(spec.values, Some(json!({"a": null})));
    }

    /// helm-controller asks Helm to create the namespace only for a `targetNamespace`.
    #[test]
    fn create_namespace_needs_a_target_namespace() {
        let entry = |spec: Value| {
            release("helm.toolkit.fluxcd.io/v2", spec)
                .release_entry("r".into(), "ns".into(), vec![])
                .create_namespace
        };
        assert!(!entry(json!({"install": {"createNamespace": true}})));
        assert!(entry(
            json!({"targetNamespace": "t", "install": {"createNamespace": true}})
        ));
    }
}
