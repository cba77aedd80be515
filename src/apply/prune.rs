//! Pruning: deleting what earlier bundles applied and this one no longer holds, newest
//! kinds first (reverse install order), and never anything crunch did not create.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio::time::Instant;

use super::cluster::{FIELD_MANAGER, ObjectRef};
use super::component::Run;
use super::inventory::{self, Inventory};
use super::progress::Progress;
use super::retry::{Failure, retry};
use crate::object::install_order;

/// Which cluster-wide kinds pruning may delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Delete CustomResourceDefinitions (and with them every custom object of their kind).
    pub definitions: bool,
    /// Delete Namespaces (and everything in them).
    pub namespaces: bool,
}

/// An object pruning left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// The object.
    pub object: ObjectRef,
    /// Why it was not deleted.
    pub reason: String,
}

/// What pruning did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    /// Objects deleted.
    pub deleted: Vec<ObjectRef>,
    /// Objects left in place.
    pub kept: Vec<Kept>,
}

/// Deletes every object the inventories record that the bundle lacks (`bundle`: each
/// component's objects), then narrows every record to its component's objects plus what
/// pruning left in place.
pub async fn prune(
    run: &Run,
    inventories: Vec<Inventory>,
    bundle: &BTreeMap<String, BTreeSet<ObjectRef>>,
    scope: Scope,
    deadline: Instant,
    progress: &Progress,
) -> Result<Pruned, String> {
    let in_bundle = |o: &ObjectRef| bundle.values().flatten().any(|b| b.same_object(o));
    let mut candidates: Vec<ObjectRef> = inventories
        .iter()
        .flat_map(|i| i.objects.iter())
        .filter(|o| !in_bundle(o))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    candidates.sort_by(|a, b| install_order(&b.kind, &a.kind));
    let mut pruned = Pruned::default();
    let mut gone = BTreeSet::new();
    for object in candidates {
        let keep = |reason: &str| Kept {
            object: object.clone(),
            reason: reason.to_string(),
        };
        match object.kind.as_str() {
            "CustomResourceDefinition" if !scope.definitions => {
                pruned.kept.push(keep(
                    "CustomResourceDefinitions are pruned only with --prune-crds",
                ));
                continue;
            }
            "Namespace" if !scope.namespaces => {
                pruned
                    .kept
                    .push(keep("Namespaces are pruned only with --prune-namespaces"));
                continue;
            }
            _ => {}
        }
        let live = retry(deadline, &run.stop, || run.cluster.get_if_served(&object))
            .await
            .map_err(|e| describe(&object, e))?;
        let Some(live) = live else {
            gone.insert(object);
            continue;
        };
        if !managed_by_crunch(&live) {
            pruned.kept.push(keep(
                "no longer managed by crunch (another field manager owns it)",
            ));
            continue;
        }
        retry(deadline, &run.stop, || run.cluster.delete(&object))
            .await
            .map_err(|e| describe(&object, e))?;
        progress.note(&format!("pruned {object}"));
        gone.insert(object.clone());
        pruned.deleted.push(object);
    }
    for mut record in inventories {
        let own = bundle.get(&record.component);
        // An object another component now holds is recorded there.
        record.objects.retain(|o| {
            !gone.contains(o)
                && (!in_bundle(o) || own.is_some_and(|own| own.iter().any(|b| b.same_object(o))))
        });
        let result = if record.objects.is_empty() && own.is_none() {
            retry(deadline, &run.stop, || {
                inventory::remove(&run.cluster, &record)
            })
            .await
        } else {
            retry(deadline, &run.stop, || {
                inventory::save(&run.cluster, &record)
            })
            .await
        };
        result.map_err(|e| format!("cannot update the inventory of {}: {e}", record.component))?;
    }
    Ok(pruned)
}

/// Whether the object is still crunch's: the inventory says crunch created it, and no
/// other manager has taken all of its fields over. An object with no managed fields at all
/// (a Namespace applied with nothing but its name records none) stays crunch's.
fn managed_by_crunch(live: &serde_json::Value) -> bool {
    match live["metadata"]["managedFields"].as_array() {
        None => true,
        Some(entries) if entries.is_empty() => true,
        Some(entries) => entries
            .iter()
            .any(|e| e["manager"] == FIELD_MANAGER && e["operation"] == "Apply"),
    }
}

fn describe(object: &ObjectRef, failure: Failure) -> String {
    format!("cannot prune {object}: {failure}")
}
