//! crunch's integration tests, one test binary (`it`) so that crunch is linked once rather
//! than once per suite. Each module is a suite; `support` holds what several share. Run one
//! suite alone with a filter on its module path, e.g. `cargo test --test it helm_diff::`.
//!
//! The suites run in parallel threads of one process: a test sets no process-wide state
//! (environment, current directory, global thread pool), passing environment variables to
//! the child processes that need them instead; the real cluster of `CRUNCH_TEST_KUBECONFIG`
//! is handed out by [`support::real_cluster`].

mod support;

mod apiserver_double;
mod apply;
mod bigbang_apply;
mod bootstrap;
mod build;
mod bundle_forms;
mod cli;
mod dataplane;
mod flux_graph;
mod git_sources;
mod helm_diff;
mod helm_repo;
mod helm_sources;
mod images;
mod images_transport;
mod kube_versions;
mod kustomize_diff;
mod oci_registry;
mod postbuild_diff;
mod schemas;
mod sops;
mod source_git;
mod template_diff;
mod world_helmrepo;
mod world_oracles;
mod yaml_diff;
