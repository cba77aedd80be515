//! What several suites share.

pub mod apiserver;
pub mod block;
pub mod bundles;
pub mod chartrepo;
pub mod cosign;
pub mod dataplane;
pub mod diff;
pub mod gitserver;
pub mod images;
pub mod interrupt;
pub mod oracle;
pub mod real_cluster;
pub mod registry;
pub mod tls;
pub mod world;
