//! crunch compiles a Flux GitOps deployment (the Big Bang pattern) ahead of time into a
//! static, content-addressed bundle of fully rendered Kubernetes objects.
//!
//! Data flows one way (see `ARCHITECTURE.md`): [`config`] → [`flux`] (asking [`source`]
//! for trees, rendering with [`kustomize`] and [`helm`]) → [`bundle`].

pub mod apply;
pub mod build;
pub mod bundle;
pub mod commands;
pub mod config;
pub mod diff;
pub mod error;
pub mod flux;
pub mod gopath;
pub mod helm;
pub mod jsonnet;
pub mod kustomize;
pub mod object;
pub mod progress;
pub mod schemas;
pub mod semver;
pub mod source;
pub mod template;
pub mod yaml;
