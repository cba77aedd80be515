//! Pruning: deleting what earlier bundles applied and this one no longer holds, newest
//! kinds first (reverse install order), and never anything crunch did not create.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio::time::Instant;

use super::cluster::{FIELD_MANAGER, ObjectRef};
use super::component::{Run, flux_marked};
use super::inventory::{self, Inventory};
use super::plan::ComponentPlan;
use super::progress::Progress;
use super::retry::{Backoff, Failure, retry};
use crate::bundle::{ApplyPolicy, DeletionPolicy};
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

/// What pruning does with an object the bundle lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// Deleted.
    Delete,
    /// Deleted, and gone before pruning goes on (`deletionPolicy: WaitForTermination`).
    DeleteAndWait,
    /// Left in place and forgotten: its Kustomization says so.
    Orphan(String),
}

/// Deletes every object the inventories record that the bundle lacks (`components`: the
/// plan), as the policy of the component that applied it says, then narrows every record
/// to its component's objects plus what pruning left in place.
///
/// Helm releases and the environment delete what they no longer hold. A Kustomization
/// deletes what left it when it has `prune`, and a Kustomization that left the bundle
/// deletes its objects as its last `deletionPolicy` says; an object marked
/// `kustomize.toolkit.fluxcd.io/prune: disabled` in the cluster stays.
pub async fn prune(
    run: &Run,
    inventories: Vec<Inventory>,
    components: &[ComponentPlan],
    scope: Scope,
    deadline: Instant,
    progress: &Progress,
) -> Result<Pruned, String> {
    let bundle: BTreeMap<&str, (BTreeSet<ObjectRef>, Option<ApplyPolicy>)> = components
        .iter()
        .map(|c| {
            let objects = c.kept().map(|o| o.target.clone()).collect();
            (c.id.as_str(), (objects, c.policy))
        })
        .collect();
    let in_bundle = |o: &ObjectRef| {
        bundle
            .values()
            .any(|(b, _)| b.iter().any(|b| b.same_object(o)))
    };
    let mut fates: BTreeMap<ObjectRef, (Fate, Option<ApplyPolicy>)> = BTreeMap::new();
    for record in &inventories {
        let policy = match bundle.get(record.component.as_str()) {
            Some((_, policy)) => policy.map(|p| (p, true)),
            None => record.policy.map(|p| (p, false)),
        };
        let fate = match policy {
            None => Fate::Delete,
            Some((p, _)) if p.prune && p.deletion_policy == DeletionPolicy::MirrorPrune => {
                Fate::Delete
            }
            Some((_, true)) => Fate::Orphan(format!("{} has prune: false", record.component)),
            Some((p, false)) => match p.deletion_policy {
                DeletionPolicy::Delete => Fate::Delete,
                DeletionPolicy::WaitForTermination => Fate::DeleteAndWait,
                DeletionPolicy::Orphan => {
                    Fate::Orphan(format!("{} has deletionPolicy: Orphan", record.component))
                }
                DeletionPolicy::MirrorPrune => Fate::Orphan(format!(
                    "{} has prune: false and deletionPolicy: MirrorPrune",
                    record.component
                )),
            },
        };
        for object in record.objects.iter().filter(|o| !in_bundle(o)) {
            // Left in place if any component that applied it says so.
            let entry = fates
                .entry(object.clone())
                .or_insert((fate.clone(), record.policy));
            if matches!(fate, Fate::Orphan(_)) {
                *entry = (fate.clone(), record.policy);
            }
        }
    }
    let mut candidates: Vec<(ObjectRef, (Fate, Option<ApplyPolicy>))> = fates.into_iter().collect();
    candidates.sort_by(|(a, _), (b, _)| install_order(&b.kind, &a.kind));
    let mut pruned = Pruned::default();
    let mut gone = BTreeSet::new();
    for (object, (fate, policy)) in candidates {
        let keep = |reason: &str| Kept {
            object: object.clone(),
            reason: reason.to_string(),
        };
        if let Fate::Orphan(reason) = &fate {
            pruned.kept.push(keep(reason));
            gone.insert(object);
            continue;
        }
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
        if policy.is_some() && flux_marked(&live, "prune", "disabled") {
            pruned
                .kept
                .push(keep("marked kustomize.toolkit.fluxcd.io/prune: disabled"));
            gone.insert(object);
            continue;
        }
        retry(deadline, &run.stop, || run.cluster.delete(&object))
            .await
            .map_err(|e| describe(&object, e))?;
        if fate == Fate::DeleteAndWait {
            until_gone(run, &object, deadline).await?;
        }
        progress.note(&format!("pruned {object}"));
        gone.insert(object.clone());
        pruned.deleted.push(object);
    }
    for mut record in inventories {
        let own = bundle.get(record.component.as_str()).map(|(own, _)| own);
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

/// Waits until a deleted object is gone from the cluster.
async fn until_gone(run: &Run, object: &ObjectRef, deadline: Instant) -> Result<(), String> {
    let mut backoff = Backoff::polling();
    loop {
        let live = retry(deadline, &run.stop, || run.cluster.get_if_served(object))
            .await
            .map_err(|e| describe(object, e))?;
        if live.is_none() {
            return Ok(());
        }
        backoff
            .pause(deadline, &run.stop)
            .await
            .map_err(|_| format!("{object} was deleted but is still there"))?;
    }
}

fn describe(object: &ObjectRef, failure: Failure) -> String {
    format!("cannot prune {object}: {failure}")
}
