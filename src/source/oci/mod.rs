//! OCI registries, as Flux's source-controller reads them for a HelmRepository of
//! `type: oci` (Helm charts) and an OCIRepository (`flux push artifact` artifacts):
//!
//! - [`OciReference`]: `oci://host[:port]/path` URLs;
//! - [`RegistryAuth`] and [`docker_config_auth`]: credentials, also from a
//!   `dockerconfigjson` Secret;
//! - [`RegistryClient`]: a blocking client (tags, manifests, blobs), each piece of
//!   content checked against its sha256 digest, with errors ([`OciError`]) that tell an
//!   unreachable registry, refused credentials, missing content and altered content apart;
//! - [`helm_chart_layer`] and [`select_layer`]: which layer of a manifest is the chart,
//!   or the artifact;
//! - [`latest_chart_tag`], [`chart_version_tag`] and [`latest_artifact_tag`]: which tag a
//!   chart version or a semver range picks.
//!
//! Caching, locking and mirrors are the [`Store`](super::Store)'s.

mod auth;
mod client;
mod error;
pub(crate) mod gojson;
mod layout;
mod reference;
mod tags;

pub use auth::{RegistryAuth, docker_config_auth, docker_config_entry};
pub use client::RegistryClient;
pub use error::OciError;
pub use layout::{
    Descriptor, HELM_CHART_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE, HELM_PROVENANCE_MEDIA_TYPE,
    helm_chart_layer, select_layer,
};
pub(crate) use layout::{config_and_layers, descriptor};
pub use reference::OciReference;
pub(crate) use reference::check_digest;
pub use tags::{chart_version_tag, latest_artifact_tag, latest_chart_tag};

/// A manifest as the registry stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest's bytes, exactly as served (its digest is theirs).
    pub bytes: Vec<u8>,
    /// `sha256:` and the hex sha256 of [`bytes`](Self::bytes).
    pub digest: String,
    /// The `mediaType` the manifest declares, if it declares one (Helm's chart manifests
    /// do not).
    pub media_type: Option<String>,
}
