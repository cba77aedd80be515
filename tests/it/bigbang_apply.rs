//! The real Big Bang on a real control plane, run by `tools/bigbang-apply`: from an
//! empty cluster to every component ready beside the stand-in data plane, a re-apply
//! that changes nothing, Kiali switched on and off again, and Kiali switched on once
//! more by an interrupted apply that the next run completes. Without
//! `CRUNCH_TEST_KUBECONFIG`, `CRUNCH_BIGBANG_BUNDLE` and `CRUNCH_BIGBANG_KIALI_BUNDLE` it
//! says it was skipped: the bundles come from fetched snapshots, the cluster from
//! Kubernetes binaries, neither of which a clone has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crunch::apply::{self, EXIT_OK, Options, Outcome, Report};

use crate::support::block::block;
use crate::support::real_cluster::{self, RealCluster};
use crate::support::{bundles, interrupt};

struct Setup {
    cluster: RealCluster,
    dev: PathBuf,
    kiali: PathBuf,
}

fn setup() -> Option<Setup> {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
    if let (Some(dev), Some(kiali)) = (
        var("CRUNCH_BIGBANG_BUNDLE"),
        var("CRUNCH_BIGBANG_KIALI_BUNDLE"),
    ) && let Some(cluster) = real_cluster::claim("bigbang_apply")
    {
        return Some(Setup {
            cluster,
            dev,
            kiali,
        });
    }
    eprintln!(
        "skipped: run by tools/bigbang-apply (needs CRUNCH_TEST_KUBECONFIG, CRUNCH_BIGBANG_BUNDLE, CRUNCH_BIGBANG_KIALI_BUNDLE)"
    );
    None
}

fn options(setup: &Setup, bundle: &Path) -> Options {
    Options {
        bundle: bundle.to_path_buf(),
        kubeconfig: Some(setup.cluster.kubeconfig.clone()),
        prune: true,
        // Switching an add-on off removes its namespace too, as Flux's would.
        prune_scope: apply::PruneScope {
            definitions: false,
            namespaces: true,
        },
        jobs: 4,
        // tools/bigbang-apply seals the bundles' Secrets for the fixture enclave.
        identities: vec![crate::support::world::enclave_identity()],
        ..Options::default()
    }
}

/// Applies in-process, echoing progress, and returns the report.
fn apply(options: &Options) -> Report {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink_lines = lines.clone();
    let sink: apply::Sink = Arc::new(move |line: &str| {
        eprintln!("  {line}");
        sink_lines.lock().unwrap().push(line.to_string());
    });
    let report = apply::apply(options, sink).expect("apply starts");
    eprintln!("{}", report.to_text());
    report
}

fn assert_all_ready(report: &Report) {
    assert_eq!(report.exit_code(), EXIT_OK, "{}", report.to_text());
    assert!(
        report
            .components
            .iter()
            .all(|c| c.outcome == Outcome::Ready)
    );
}

/// Every object a bundle keeps in the cluster, keyed as the report's pruned list names
/// them.
fn kept_objects(path: &Path) -> BTreeSet<String> {
    bundles::kept_objects(path)
        .iter()
        .map(|o| key(&o.kind, &o.namespace, &o.name))
        .collect()
}

fn key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind} {namespace}/{name}")
}

#[test]
fn the_real_big_bang_goes_from_nothing_to_ready_and_stays_converged() {
    let Some(setup) = setup() else {
        return;
    };
    let first = apply(&options(&setup, &setup.dev));
    assert_all_ready(&first);
    eprintln!(
        "from nothing to ready: {:.1}s, {} API requests, {} components",
        first.seconds,
        first.requests,
        first.components.len()
    );

    let again = apply(&options(&setup, &setup.dev));
    assert_all_ready(&again);
    let changed: usize = again
        .components
        .iter()
        .map(|c| c.counts.changed + c.counts.created)
        .sum();
    assert_eq!(
        changed,
        0,
        "a re-apply changes nothing\n{}",
        again.to_text()
    );
    eprintln!(
        "re-apply: {:.1}s, {} API requests",
        again.seconds, again.requests
    );

    let dev = kept_objects(&setup.dev);
    let kiali = kept_objects(&setup.kiali);
    let added: BTreeSet<&String> = kiali.difference(&dev).collect();
    assert!(!added.is_empty(), "the Kiali bundle adds objects");
    let on = apply(&options(&setup, &setup.kiali));
    assert_all_ready(&on);
    let created: usize = on.components.iter().map(|c| c.counts.created).sum();
    assert_eq!(created, added.len(), "{}", on.to_text());

    let off = apply(&options(&setup, &setup.dev));
    assert_all_ready(&off);
    let pruned = off.pruned.as_ref().expect("pruning ran");
    let names =
        |objects: &mut dyn Iterator<Item = &crunch::object::ObjectRef>| -> BTreeSet<String> {
            objects
                .map(|o| key(&o.kind, &o.namespace, &o.name))
                .collect()
        };
    // CRDs stay, as Helm never deletes them, unless --prune-crds says otherwise.
    let (definitions, rest): (BTreeSet<String>, BTreeSet<String>) = added
        .into_iter()
        .cloned()
        .partition(|k| k.starts_with("CustomResourceDefinition "));
    assert_eq!(names(&mut pruned.deleted.iter()), rest, "{}", off.to_text());
    assert_eq!(
        names(&mut pruned.kept.iter().map(|k| &k.object)),
        definitions,
        "{}",
        off.to_text()
    );
    eprintln!(
        "Kiali on: {:.1}s, {} API requests; off again: {:.1}s, {} API requests",
        on.seconds, on.requests, off.seconds, off.requests
    );

    // Kiali on once more, interrupted at the first wait, then completed by the next run.
    let (lines, stdout) =
        interrupt::apply_interrupted_at_first_wait(&setup.kiali, &setup.cluster.kubeconfig);
    eprintln!(
        "interrupted after {} progress lines:\n{stdout}",
        lines.len()
    );
    let resumed = apply(&options(&setup, &setup.kiali));
    assert_all_ready(&resumed);
    let missing = missing_objects(&setup, &setup.kiali);
    assert!(
        missing.is_empty(),
        "missing after the resumed apply: {missing:?}"
    );
}

/// The objects `bundle` keeps in the cluster that the cluster lacks.
fn missing_objects(setup: &Setup, bundle: &Path) -> Vec<String> {
    block(async {
        let cluster = apply::Cluster::connect(
            Some(&setup.cluster.kubeconfig),
            None,
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("connect");
        let mut missing = Vec::new();
        for target in bundles::kept_objects(bundle) {
            if !matches!(cluster.get(&target).await, Ok(Some(_))) {
                missing.push(key(&target.kind, &target.namespace, &target.name));
            }
        }
        missing
    })
}
