//! Waiting until applied objects are ready: kstatus rules for each object, and what the
//! pods say when time runs out.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::cluster::{Cluster, ObjectRef, RequestError};
use super::progress::Progress;
use super::retry::{Backoff, Failure, Pause, Stop, retry};
use super::status::{self, Readiness};

/// Kinds whose objects are ready as soon as they exist: no controller acts on them.
const INERT: &[&str] = &[
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "LimitRange",
    "ResourceQuota",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
];

/// How often the waiting set is printed when it does not change.
const REMIND_EVERY: Duration = Duration::from_secs(15);

/// Why waiting ended without every object ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// Time ran out; one line per object not ready, with pod details where there are pods.
    Timeout(Vec<String>),
    /// An object failed in a way that waiting cannot fix (a Job out of retries).
    Failed(String),
    /// A request failed for good, or the run was stopped.
    Interrupted(Failure),
}

/// Waits until every object in `targets` is ready.
pub async fn until_ready(
    cluster: &Cluster,
    targets: &[ObjectRef],
    deadline: Instant,
    stop: &Stop,
    progress: &Progress,
) -> Result<(), WaitError> {
    let mut pending: BTreeMap<&ObjectRef, String> = targets
        .iter()
        .filter(|t| !INERT.contains(&t.kind.as_str()))
        .map(|t| (t, "not checked yet".to_string()))
        .collect();
    let mut backoff = Backoff::polling();
    let mut last_said = String::new();
    let mut said_at = Instant::now();
    loop {
        let mut still = BTreeMap::new();
        for (target, _) in pending {
            let check = retry(deadline, stop, || check(cluster, target)).await;
            match check {
                Ok(Readiness::Ready) => {}
                Ok(Readiness::Failed(why)) if is_final(target) => {
                    return Err(WaitError::Failed(format!("{target}: {why}")));
                }
                Ok(Readiness::InProgress(why) | Readiness::Failed(why)) => {
                    still.insert(target, why);
                }
                Err(Failure::Deadline { .. }) => {
                    still.insert(target, "could not be read before the deadline".into());
                }
                Err(other) => return Err(WaitError::Interrupted(other)),
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        let summary = describe(&pending);
        if summary != last_said || said_at.elapsed() >= REMIND_EVERY {
            progress.waiting(&summary);
            last_said = summary;
            said_at = Instant::now();
        }
        match backoff.pause(deadline, stop).await {
            Ok(()) => {}
            Err(Pause::Deadline) => {
                return Err(WaitError::Timeout(explain(cluster, &pending).await));
            }
            Err(Pause::Stopped) => return Err(WaitError::Interrupted(Failure::Stopped)),
        }
    }
}

/// Failures that no amount of waiting repairs.
fn is_final(target: &ObjectRef) -> bool {
    matches!(target.kind.as_str(), "Job" | "CustomResourceDefinition")
}

fn describe(pending: &BTreeMap<&ObjectRef, String>) -> String {
    let mut parts: Vec<String> = pending
        .iter()
        .take(3)
        .map(|(target, why)| format!("{target} ({why})"))
        .collect();
    if pending.len() > 3 {
        parts.push(format!("and {} more", pending.len() - 3));
    }
    format!("waiting for {}", parts.join(", "))
}

/// The readiness of one object. A webhook configuration is ready once stored, as kstatus
/// has it: its backend may come with a later component (istio's CRDs declare the
/// validator istiod serves), so only the objects it intercepts wait for it ([`Gate`]).
///
/// [`Gate`]: super::webhooks::Gate
async fn check(cluster: &Cluster, target: &ObjectRef) -> Result<Readiness, RequestError> {
    let Some(live) = cluster.get(target).await? else {
        return Ok(Readiness::InProgress("not found".into()));
    };
    Ok(status::readiness(&live))
}

/// One line per object still not ready, followed by its pods' problems.
async fn explain(cluster: &Cluster, pending: &BTreeMap<&ObjectRef, String>) -> Vec<String> {
    let mut lines = Vec::new();
    for (target, why) in pending {
        lines.push(format!("{target}: {why}"));
        let Ok(Some(live)) = cluster.get(target).await else {
            continue;
        };
        let pods = match status::pod_selector(&live) {
            Some(selector) => cluster
                .list("v1", "Pod", &target.namespace, &selector)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        if pods.is_empty() {
            lines.extend(warnings(cluster, target).await);
        }
        lines.extend(
            status::pod_problems(&pods)
                .into_iter()
                .map(|p| format!("  {p}")),
        );
    }
    lines
}

/// What the cluster says about an object without pods: its latest warning events, or a
/// Deployment's ReplicaSets' (`FailedCreate`: a missing ServiceAccount, a quota, an
/// admission webhook).
async fn warnings(cluster: &Cluster, target: &ObjectRef) -> Vec<String> {
    let Ok(events) = cluster.list("v1", "Event", &target.namespace, "").await else {
        return Vec::new();
    };
    let about = |event: &Value| {
        let object = &event["involvedObject"];
        let name = object["name"].as_str().unwrap_or_default();
        match object["kind"].as_str().unwrap_or_default() {
            kind if kind == target.kind => name == target.name,
            "ReplicaSet" => {
                target.kind == "Deployment"
                    && name
                        .strip_prefix(target.name.as_str())
                        .is_some_and(|r| r.starts_with('-'))
            }
            _ => false,
        }
    };
    let mut messages: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "Warning" && about(e))
        .map(|e| {
            format!(
                "  event {}: {}",
                e["reason"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    messages.dedup();
    let keep = messages.len().saturating_sub(2);
    messages.split_off(keep)
}
