//! `index.json`: the table of contents of a bundle. The writer fills it, the reader checks
//! every file against it, and its sha256 is the bundle digest.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ComponentKind, Provenance, SourceRecord};
use crate::object::ObjectRef;

/// Where the index's JSON Schema is published (`schemas/index.schema.json` here).
pub const INDEX_SCHEMA_URL: &str = "https://crunch.dev/schemas/index.schema.json";

/// The whole index, as written to `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "crunch bundle index",
    description = "index.json of a bundle written by `crunch build`: every component and object with its file and sha256; the bundle digest is the sha256 of this file."
)]
pub struct Index {
    /// The URL of this file's JSON Schema, for editors; bundles written before crunch
    /// named it have none.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Always [`super::INDEX_API_VERSION`].
    #[schemars(extend("const" = super::INDEX_API_VERSION))]
    pub api_version: String,
    /// Always `Bundle`.
    #[schemars(extend("const" = super::BUNDLE_KIND))]
    pub kind: String,
    /// The environment the bundle was built from.
    pub environment: String,
    /// The Kubernetes version it was rendered for.
    pub kube_version: String,
    /// Every git source the build used, sorted.
    pub sources: Vec<SourceRecord>,
    /// Every component, sorted by id.
    pub components: Vec<ComponentEntry>,
    /// Every image the bundle needs, sorted by image: those its applied objects run, those
    /// its charts' annotations list and those `crunch.yaml` adds, each with its users.
    pub images: Vec<ImageEntry>,
    /// Where the images were relocated (`crunch build --relocate`); absent when they were
    /// not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocation: Option<RelocationEntry>,
    /// Every core Secret in the bundle, applied or not, in component and object order.
    #[serde(default)]
    pub secrets: Vec<SecretEntry>,
    /// How the Secret values are sealed; `null` when they are in plaintext
    /// (`--plaintext-secrets`, bundles written before sealing) or there are none.
    #[serde(default)]
    pub sealing: Option<SealingEntry>,
}

/// One image of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    /// The reference as the bundle's objects name it, normalized as Docker normalizes it
    /// (`docker.io/library/nginx:1.27`); as written when it does not parse (the build
    /// warned).
    pub image: String,
    /// The reference it was relocated from, normalized and pinned by digest where it is
    /// pinned: where `crunch images pull` takes it from. Only when relocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The manifest digest the image is pinned to, by its reference or by `crunch.lock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// What uses it, sorted.
    pub used_by: Vec<ImageUse>,
}

/// A user of an image: a field of an applied object (`component`, `kind`, `namespace`,
/// `name`, `field`), or a list that names it (`note`: a chart's annotation, with its
/// `component`, or `crunch.yaml images.extra`).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageUse {
    /// The component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The object's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The object's namespace (none for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The field naming the image: `spec.template.spec.containers[0].image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What lists it, when no object field does: `chart annotation artifacthub.io/images
    /// of chart <name> <version>`, `crunch.yaml images.extra`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a bundle's images were relocated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelocationEntry {
    /// The registry (host, port, path prefix) every image was moved below.
    pub registry: String,
}

/// Whom a bundle's Secret values are sealed to, and under which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealingEntry {
    /// The age X25519 recipients `sealing-key.age` is encrypted to, sorted.
    pub recipients: Vec<String>,
    /// The sealing key's id (16 hex digits of an HMAC under the key): two bundles sealed
    /// under the same key have the same id, and a decrypted key must have it.
    #[schemars(regex(pattern = "^[0-9a-f]{16}$"))]
    pub key_id: String,
}

/// One core Secret of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretEntry {
    /// The component that holds it.
    pub component: String,
    /// The Secret.
    pub object: ObjectRef,
    /// Whether its values are sealed or in plaintext.
    pub values: SecretValues,
    /// The source file it came from, where that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What a review shows of each value, by key: a document (a YAML or JSON mapping)
    /// with every leaf that came from a SOPS-encrypted source masked, or the value masked
    /// whole (`sealed:<12 hex>` under the sealing key, `sha256:<12 hex>` in a plaintext
    /// bundle). `crunch diff` shows these instead of the values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub review: BTreeMap<String, Value>,
}

/// How a Secret's values are written in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SecretValues {
    /// Every value is sealed (`crunch-sealed:v1:…`).
    Sealed,
    /// The values are in plaintext.
    Plaintext,
    /// It has no values.
    None,
}

/// One component of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentEntry {
    /// Stable identifier, e.g. `HelmRelease/bigbang/logging`.
    pub id: String,
    /// What kind of component it is.
    pub kind: ComponentKind,
    /// The component whose output declared this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Components that must be ready first.
    pub depends_on: Vec<String>,
    /// How long the applier waits for readiness, as Flux writes durations (`10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The Helm release, for HelmRelease components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseEntry>,
    /// Where the rendered source came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Provenance>,
    /// Objects that must be ready before the component is (Flux `healthChecks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<ObjectRef>,
    /// How kustomize-controller applies a Kustomization component's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomization: Option<ApplyPolicy>,
    /// The service account the component's objects are applied as (Flux's
    /// `serviceAccountName`): the applier impersonates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccount>,
    /// The component's objects, sorted by identity.
    pub objects: Vec<ObjectEntry>,
    /// The images its applied objects run, as the index's `images` name them.
    pub images: BTreeSet<String>,
}

/// How kustomize-controller applies a Kustomization's objects: the fields of its spec
/// that change what an applier does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyPolicy {
    /// `wait`: the component is ready once every object is, not only its health checks.
    pub wait: bool,
    /// `prune`: objects that leave the component are deleted.
    pub prune: bool,
    /// `force`: an object whose immutable fields changed is deleted and created again.
    pub force: bool,
    /// `deletionPolicy`: what becomes of the objects when the component leaves the bundle.
    pub deletion_policy: DeletionPolicy,
}

/// A Kustomization's `deletionPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// As `prune` says (Flux's default).
    #[default]
    MirrorPrune,
    /// Deleted, whatever `prune` says.
    Delete,
    /// Deleted, and the deletion waited for.
    WaitForTermination,
    /// Left in the cluster.
    Orphan,
}

/// A service account, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl ServiceAccount {
    /// The user name the API server knows it by, as impersonation names it.
    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// A Helm release: its name and namespace, and the HelmRelease settings that decide what
/// the applier does with it (the ones that decide what is rendered are in the objects).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseEntry {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// `spec.storageNamespace`: where helm-controller keeps the release's records. crunch's
    /// applier keeps its own inventory instead, so this is for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// The chart's `crds/` CustomResourceDefinitions and the policies for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<ChartCrds>,
    /// `spec.install`: what the first apply of the component does.
    #[serde(default, skip_serializing_if = "ReleaseAction::is_default")]
    pub install: ReleaseAction,
    /// `spec.upgrade`: what a later apply that changes the component does.
    #[serde(default, skip_serializing_if = "ReleaseAction::is_default")]
    pub upgrade: ReleaseAction,
    /// `spec.install.createNamespace` with a `targetNamespace`: the applier creates the
    /// release namespace when it does not exist, and never deletes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_namespace: bool,
    /// `spec.driftDetection`, for a drift check to follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
}

/// The CustomResourceDefinitions from a chart's `crds/` directory (helm-controller applies
/// them apart from the release, by policy), by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartCrds {
    /// `spec.install.crds`, for a CRD the cluster does not have yet.
    pub install: CrdPolicy,
    /// `spec.upgrade.crds`, for a CRD the cluster has.
    pub upgrade: CrdPolicy,
    /// The CRDs' names, sorted.
    pub names: Vec<String>,
}

/// helm-controller's CRD policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CrdPolicy {
    /// Neither create nor update.
    Skip,
    /// Create when absent, leave when present.
    Create,
    /// Create when absent, update when present.
    CreateReplace,
}

/// The settings of one Helm action (`spec.install` or `spec.upgrade`) the applier follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseAction {
    /// `disableHooks`: run no hooks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_hooks: bool,
    /// `disableWait`: do not wait for the objects to be ready.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait: bool,
    /// `disableWaitForJobs`: wait, but not for Jobs to complete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait_for_jobs: bool,
}

impl ReleaseAction {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `spec.driftDetection` of a HelmRelease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftDetection {
    /// `enabled`, `warn` or `disabled` (the default).
    #[serde(default)]
    pub mode: DriftMode,
    /// Differences to disregard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<DriftIgnoreRule>,
}

/// How drift is handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DriftMode {
    /// Corrected.
    Enabled,
    /// Reported.
    Warn,
    /// Not looked for.
    #[default]
    Disabled,
}

/// One `driftDetection.ignore` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftIgnoreRule {
    /// JSON pointers (RFC 6901) into the objects.
    pub paths: Vec<String>,
    /// The objects the rule applies to; every object of the release when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// A kustomize selector of objects (`target` of patches and ignore rules).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Annotation selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// One object of a component: where its file is and what its bytes hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectEntry {
    /// `apiVersion` of the object.
    pub api_version: String,
    /// `kind` of the object.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The file holding it, relative to the bundle root.
    pub path: String,
    /// Lowercase hex sha256 of the file's bytes.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// False for objects kept for review only (Flux objects crunch consumed).
    pub apply: bool,
    /// The strings that hold values decrypted from SOPS files, in an object that is not a
    /// Secret (only Secrets are sealed, so these are plaintext in the bundle), by JSON
    /// pointer, each as a review shows it: the decrypted values in it masked. `crunch
    /// diff` shows these instead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decrypted: BTreeMap<String, String>,
}
