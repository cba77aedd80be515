//! Where trees and charts come from: git repositories fetched with gix (blocking client,
//! run from rayon threads), checked out into a content-addressed cache; charts of Helm
//! repositories, HTTP and OCI ([`Store::helm_chart`]), and OCIRepository artifacts
//! ([`Store::oci_artifact`]); all pinned by `crunch.lock`, optionally through URL mirrors,
//! and available `--offline` from lock and cache alone.
//!
//! The source layer renders nothing: it returns immutable [`Tree`]s and the [`Origin`]
//! that provenance and the lock record.
//!
//! Cache layout (`<cache>` defaults to [`default_cache_dir`]):
//! - `<cache>/git/<sha256 of the requested URL>/`: a bare repository per source URL,
//!   fetched into (depth 1) and reused across runs; `<...>.lock` beside it serialises
//!   processes sharing the cache;
//! - `<cache>/trees/<tree id>/`: checked-out trees, written to a temporary directory and
//!   renamed, so never half-written; shared by every source with the same tree;
//! - `<cache>/recursive/<sha256 of the trees>/`: a checkout with its submodules'
//!   checkouts in place (`spec.recurseSubmodules`);
//! - `<cache>/blobs/sha256/<hex>`: chart archives, OCI manifests and layers, cosign
//!   payloads, each named by its digest and checked against it when read;
//! - `<cache>/artifacts/<sha256 of the checkout and the recipe>/`: a checkout as Flux's
//!   source-controller archives it (sparse checkout, included artifacts,
//!   `.sourceignore`, `spec.ignore`, default exclusions applied), written the same way.
//!
//! Every directory handed out is named by a digest of its content, so a directory's name
//! keys whatever is derived from it.
//!
//! A GitRepository whose URL names the repository being built is its [`WorkingTree`]
//! instead, snapshotted into `<cache>/trees/` under its git tree id.
//!
//! OCI registries (HelmRepository `type: oci`, OCIRepository) are reached through
//! [`oci`] (a blocking registry client, Helm's and Flux's layouts and tag choice), and
//! their artifacts' cosign signatures checked with public keys through [`cosign`].
//!
//! [`helm_repo`] reads Helm HTTP chart repositories (index, version resolution, chart
//! URLs, downloads) as source-controller does.

mod artifact;
mod blobs;
mod charts;
mod checkout;
mod compose;
pub mod cosign;
mod error;
pub mod helm_repo;
mod lock;
mod mirror;
pub mod oci;
mod recorder;
mod reference;
mod remote;
mod signature;
mod store;
mod url;
pub mod vendor;
mod worktree;

pub use charts::{
    Access, Auth, ChartArchive, ChartOrigin, ChartRequest, Credential, OciArtifact,
    OciArtifactRequest, OciOrigin, OciRef,
};
pub use compose::{ArtifactRecipe, Include};
pub use error::{Error, Location};
pub use lock::{
    ChartEntry, ChartKey, ChartPin, GitPin, ImageEntry, ImagePin, Lock, LockFile, OciEntry, OciPin,
    Pin, SCHEMA_URL as LOCK_SCHEMA_URL,
};
pub use mirror::Mirrors;
pub use recorder::{Fetched, Recorder};
pub use reference::{FLUX_DEFAULT_BRANCH, GitRef, Reference};
pub use remote::BasicAuth;
pub(crate) use remote::tempdir_beside;
pub use signature::Keyring;
pub use store::{Origin, PlacedSubmodule, Store, StoreConfig, Submodule, Tree, default_cache_dir};
pub use worktree::{WorkingTree, repository_key};
