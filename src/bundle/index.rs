//! `index.json`: the table of contents of a bundle. The writer fills it, the reader checks
//! every file against it, and its sha256 is the bundle digest.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Every image any object names, sorted.
    pub images: BTreeSet<String>,
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
    /// The component's objects, sorted by identity.
    pub objects: Vec<ObjectEntry>,
    /// The images its objects name.
    pub images: BTreeSet<String>,
}

/// A Helm release name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseEntry {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
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
}
