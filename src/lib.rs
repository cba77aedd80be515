//! crunch compiles a Flux GitOps deployment (the Big Bang pattern) ahead of time into a
//! static, content-addressed bundle of fully rendered Kubernetes objects.
//!
//! Data flows one way (see `ARCHITECTURE.md`): [`config`] → [`flux`] (asking [`source`]
//! for trees, rendering with [`kustomize`] and [`helm`]) → [`bundle`].

pub mod apply;
pub mod archive;
pub mod bundle;
pub mod commands;
pub mod compile;
pub mod config;
pub mod diff;
pub mod error;
pub mod flux;
pub mod images;
pub mod jsonnet;
pub mod kustomize_helm;
#[cfg(test)]
mod layering;
pub mod progress;
pub mod publish;
pub mod schemas;
pub mod seal;
pub mod source;
pub mod validate;

// Engines that are crates of their own (`crates/`), under the names the modules had.
pub use crunch_envsubst as envsubst;
pub use crunch_gostd as gostd;
pub use crunch_helm as helm;
pub use crunch_kustomize as kustomize;
pub use crunch_object as object;
pub use crunch_semver as semver;
pub use crunch_sops as sops;
pub use crunch_template as template;
pub use crunch_yaml as yaml;
