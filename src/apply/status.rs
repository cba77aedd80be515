//! Readiness of live Kubernetes objects by the rules of kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status`), reduced to what an applier waits on.
//!
//! Every function is pure: it reads the object as the API server returned it and nothing
//! else (no clock, no cluster). The applier fetches the objects; this module judges them.
//!
//! The order of the rules is kstatus's: a deletion timestamp, then an unobserved
//! generation, then the standard `Stalled`/`Reconciling` conditions decide for every kind;
//! only then do the rules of a built-in kind apply, and a kind without rules of its own
//! falls back to its `Ready` condition. Where crunch departs from kstatus, the rule says
//! why (Pods and Jobs that must finish, LoadBalancer ingress, APIServices).

use std::fmt::{self, Write as _};

use serde_json::Value;

use crate::object::api_group;

/// What kstatus calls the status of a resource, reduced to what an applier waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// kstatus `Current`: the cluster has reconciled the object's latest spec.
    Ready,
    /// kstatus `InProgress` (or `Terminating`): not there yet; the message says what is
    /// still awaited, e.g. "Deployment rollout: 1 of 2 updated replicas are available".
    InProgress(String),
    /// kstatus `Failed`: the controller reports that it cannot get there on its own; the
    /// message says why.
    Failed(String),
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Readiness::Ready => f.write_str("ready"),
            Readiness::InProgress(message) => write!(f, "in progress: {message}"),
            Readiness::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

/// The readiness of `object`, a live object as the API server returns it, by the kstatus
/// rules for its API group and kind (any version).
pub fn readiness(object: &Value) -> Readiness {
    let kind = Kind::of(object);
    if let Some(verdict) = generic(object, kind) {
        return verdict;
    }
    match kind {
        Kind::Deployment => deployment(object),
        Kind::StatefulSet => stateful_set(object),
        Kind::DaemonSet => daemon_set(object),
        Kind::ReplicaSet => replica_set(object),
        Kind::Pod => pod(object),
        Kind::Job => job(object),
        Kind::CustomResourceDefinition => custom_resource_definition(object),
        Kind::PersistentVolumeClaim => persistent_volume_claim(object),
        Kind::Service => service(object),
        Kind::ApiService => api_service(object),
        // A CronJob only schedules Jobs, and a PodDisruptionBudget whose generation its
        // controller observed has computed its allowed disruptions: kstatus counts both
        // as current once the generic rules pass.
        Kind::CronJob | Kind::PodDisruptionBudget => Readiness::Ready,
        Kind::Other => ready_condition(object),
    }
}

/// Why the pods of a workload are not ready, for timeout messages: one line per pod not
/// ready, e.g. `pod logging/web-7d9c-abcde: container web waiting: ImagePullBackOff (Back-off
/// pulling image "never-ready.invalid/app:1")`. Ready and succeeded pods give no line.
pub fn pod_problems(pods: &[Value]) -> Vec<String> {
    pods.iter()
        .filter_map(|pod| {
            // Messages quoted from the cluster may span lines; a report line must not.
            let problem = pod_problem(pod)?.replace('\n', " ");
            let name = text(pod, &["metadata", "name"]).unwrap_or("(unnamed)");
            Some(match text(pod, &["metadata", "namespace"]) {
                Some(namespace) => format!("pod {namespace}/{name}: {problem}"),
                None => format!("pod {name}: {problem}"),
            })
        })
        .collect()
}

/// The label selector of a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job)
/// as a Kubernetes label-selector query string (`matchLabels` and `matchExpressions` with
/// `In`, `NotIn`, `Exists`, `DoesNotExist`), e.g. `app=web,tier in (a,b),!canary`.
///
/// `None` for kinds without pods, and for a selector that is missing, empty (it would
/// select every pod of the namespace) or malformed (an unknown operator, `In` without
/// values): the API server never returns such a selector for a workload.
pub fn pod_selector(object: &Value) -> Option<String> {
    if !Kind::of(object).has_pods() {
        return None;
    }
    let selector = field(object, &["spec", "selector"])?;
    let mut terms = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            terms.push(format!("{key}={}", value.as_str()?));
        }
    }
    if let Some(expressions) = selector.get("matchExpressions").and_then(Value::as_array) {
        for expression in expressions {
            terms.push(requirement(expression)?);
        }
    }
    (!terms.is_empty()).then(|| terms.join(","))
}

/// Whether EndpointSlices (`discovery.k8s.io/v1`) of a Service have at least one ready
/// endpoint. An endpoint's `conditions.ready` that is absent counts as ready, as the
/// EndpointSlice API documents ("unknown state should be interpreted as ready").
pub fn has_ready_endpoint(slices: &[Value]) -> bool {
    slices
        .iter()
        .filter_map(|slice| slice.get("endpoints").and_then(Value::as_array))
        .flatten()
        .any(|endpoint| {
            field(endpoint, &["conditions", "ready"])
                .and_then(Value::as_bool)
                .unwrap_or(true)
        })
}

/// The kinds with rules of their own, told apart by API group and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Pod,
    Job,
    CronJob,
    CustomResourceDefinition,
    PersistentVolumeClaim,
    Service,
    PodDisruptionBudget,
    ApiService,
    Other,
}

impl Kind {
    fn of(object: &Value) -> Kind {
        let api_version = text(object, &["apiVersion"]).unwrap_or_default();
        match (
            api_group(api_version),
            text(object, &["kind"]).unwrap_or_default(),
        ) {
            ("apps" | "extensions", "Deployment") => Kind::Deployment,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps" | "extensions", "DaemonSet") => Kind::DaemonSet,
            ("apps" | "extensions", "ReplicaSet") => Kind::ReplicaSet,
            ("", "Pod") => Kind::Pod,
            ("batch", "Job") => Kind::Job,
            ("batch", "CronJob") => Kind::CronJob,
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Kind::CustomResourceDefinition,
            ("", "PersistentVolumeClaim") => Kind::PersistentVolumeClaim,
            ("", "Service") => Kind::Service,
            ("policy", "PodDisruptionBudget") => Kind::PodDisruptionBudget,
            ("apiregistration.k8s.io", "APIService") => Kind::ApiService,
            _ => Kind::Other,
        }
    }

    /// Whether the kind runs pods it selects by `spec.selector`.
    fn has_pods(self) -> bool {
        matches!(
            self,
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job
        )
    }
}

/// The rules every kind shares; `None` when they do not decide.
fn generic(object: &Value, kind: Kind) -> Option<Readiness> {
    if is_deleting(object) {
        return Some(Readiness::InProgress(
            "terminating: scheduled for deletion".into(),
        ));
    }
    let generation = int(object, &["metadata", "generation"]);
    let observed = int(object, &["status", "observedGeneration"]);
    if let (Some(desired), Some(observed)) = (generation, observed)
        && observed < desired
    {
        return Some(Readiness::InProgress(format!(
            "observed generation {observed}, desired {desired}"
        )));
    }
    // The DaemonSet controller always sets both generations, so their absence means it has
    // not acted yet; other kinds may lack the fields for good.
    if kind == Kind::DaemonSet && (generation.is_none() || observed.is_none()) {
        return Some(Readiness::InProgress(
            "DaemonSet rollout: not yet observed by its controller".into(),
        ));
    }
    // kstatus takes whichever of the two comes first in the list; crunch lets a stall
    // win, since it is the news a user waits for.
    if let Some(stalled) = condition(object, "Stalled").filter(|c| c.status == Truth::True) {
        return Some(Readiness::Failed(stalled.describe("Stalled")));
    }
    condition(object, "Reconciling")
        .filter(|c| c.status == Truth::True)
        .map(|reconciling| Readiness::InProgress(reconciling.describe("Reconciling")))
}

/// Kinds without rules of their own: a `Ready` condition decides if there is one, and an
/// object without one (most have no status at all) is current.
fn ready_condition(object: &Value) -> Readiness {
    match condition(object, "Ready") {
        Some(ready) if ready.status != Truth::True => {
            Readiness::InProgress(ready.describe("not Ready"))
        }
        _ => Readiness::Ready,
    }
}

fn deployment(object: &Value) -> Readiness {
    let progressing = condition(object, "Progressing");
    if let Some(deadline) = progressing.filter(|c| c.reason == "ProgressDeadlineExceeded") {
        return Readiness::Failed(
            deadline.with_message("Deployment rollout: progress deadline exceeded"),
        );
    }
    let desired = int(object, &["spec", "replicas"]).unwrap_or(1);
    let replicas = count(object, "replicas");
    let updated = count(object, "updatedReplicas");
    let ready = count(object, "readyReplicas");
    let available = count(object, "availableReplicas");
    let waiting = |what: String| Readiness::InProgress(format!("Deployment rollout: {what}"));
    if replicas < desired {
        return waiting(format!("{replicas} of {desired} replicas created"));
    }
    if updated < desired {
        return waiting(format!("{updated} of {desired} new replicas updated"));
    }
    if replicas > desired {
        let old = replicas - desired;
        return waiting(format!("{old} old replicas are pending termination"));
    }
    if available < updated {
        return waiting(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    if ready < desired {
        return waiting(format!("{ready} of {desired} replicas are ready"));
    }
    // Without a progress deadline (absent, or the controller's "never" of i32::MAX) the
    // controller never sets Progressing, so there is nothing to wait for.
    let deadline = int(object, &["spec", "progressDeadlineSeconds"]);
    let needs_progressing = deadline.is_some_and(|seconds| seconds != i64::from(i32::MAX));
    let new_set_available = progressing
        .is_some_and(|c| c.status == Truth::True && c.reason == "NewReplicaSetAvailable");
    if needs_progressing && !new_set_available {
        return waiting("new ReplicaSet not yet available".into());
    }
    match condition(object, "Available") {
        Some(available) if available.status == Truth::True => Readiness::Ready,
        Some(available) => waiting(available.describe("not Available")),
        None => waiting("Available condition not yet reported".into()),
    }
}

fn stateful_set(object: &Value) -> Readiness {
    // With OnDelete the user replaces pods; the controller never finishes a rollout.
    if text(object, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Readiness::Ready;
    }
    let desired = int(object, &["spec", "replicas"]).unwrap_or(1);
    let replicas = count(object, "replicas");
    let ready = count(object, "readyReplicas");
    let current = count(object, "currentReplicas");
    let updated = count(object, "updatedReplicas");
    let waiting = |what: String| Readiness::InProgress(format!("StatefulSet rollout: {what}"));
    if replicas < desired {
        return waiting(format!("{replicas} of {desired} replicas created"));
    }
    if ready < desired {
        return waiting(format!("{ready} of {desired} replicas are ready"));
    }
    if replicas > desired {
        let extra = replicas - desired;
        return waiting(format!("{extra} extra replicas are pending termination"));
    }
    // A partitioned rolling update only replaces the pods with an ordinal at or above the
    // partition; the rest keep the old revision for good.
    if let Some(partition) = int(
        object,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    ) {
        let target = desired - partition;
        return if updated < target {
            waiting(format!(
                "{updated} of {target} replicas at or above partition {partition} updated"
            ))
        } else {
            Readiness::Ready
        };
    }
    if current < desired {
        return waiting(format!(
            "{current} of {desired} replicas at the current revision"
        ));
    }
    let current_revision = text(object, &["status", "currentRevision"]).unwrap_or_default();
    let update_revision = text(object, &["status", "updateRevision"]).unwrap_or_default();
    if current_revision != update_revision {
        return waiting(format!(
            "{updated} of {desired} replicas at update revision {update_revision}"
        ));
    }
    Readiness::Ready
}

fn daemon_set(object: &Value) -> Readiness {
    let Some(desired) = int(object, &["status", "desiredNumberScheduled"]) else {
        return Readiness::InProgress(
            "DaemonSet rollout: desired number of pods not yet computed".into(),
        );
    };
    let stages = [
        ("currentNumberScheduled", "scheduled"),
        ("updatedNumberScheduled", "updated"),
        ("numberAvailable", "available"),
        ("numberReady", "ready"),
    ];
    stages
        .iter()
        .map(|&(field, what)| (count(object, field), what))
        .find(|&(done, _)| done < desired)
        .map_or(Readiness::Ready, |(done, what)| {
            Readiness::InProgress(format!(
                "DaemonSet rollout: {done} of {desired} pods are {what}"
            ))
        })
}

fn replica_set(object: &Value) -> Readiness {
    // kstatus keeps waiting: a quota or admission refusal may clear on its own.
    if let Some(failure) = condition(object, "ReplicaFailure").filter(|c| c.status == Truth::True) {
        return Readiness::InProgress(failure.describe("ReplicaSet: replica failure"));
    }
    let desired = int(object, &["spec", "replicas"]).unwrap_or(1);
    let stages = [
        ("fullyLabeledReplicas", "fully labeled"),
        ("availableReplicas", "available"),
        ("readyReplicas", "ready"),
    ];
    if let Some((done, what)) = stages
        .iter()
        .map(|&(field, what)| (count(object, field), what))
        .find(|&(done, _)| done < desired)
    {
        return Readiness::InProgress(format!(
            "ReplicaSet: {done} of {desired} replicas are {what}"
        ));
    }
    let replicas = count(object, "replicas");
    if replicas > desired {
        let extra = replicas - desired;
        return Readiness::InProgress(format!(
            "ReplicaSet: {extra} extra replicas are pending termination"
        ));
    }
    Readiness::Ready
}

/// A Pod is ready when it succeeded or runs with its Ready condition true. Unlike kstatus,
/// which counts a failed pod as current (it is done), crunch reports it failed: an applier
/// waits on a bare Pod only to see it work.
fn pod(object: &Value) -> Readiness {
    let Some(problem) = pod_problem(object) else {
        return Readiness::Ready;
    };
    if text(object, &["status", "phase"]) == Some("Failed") {
        return Readiness::Failed(format!("Pod {problem}"));
    }
    if container_statuses(object).any(|(_, status)| {
        text(status, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff")
    }) {
        return Readiness::Failed(format!("Pod crash looping: {problem}"));
    }
    Readiness::InProgress(format!("Pod not ready: {problem}"))
}

/// What keeps a pod from being ready, or `None` when it is ready or succeeded.
fn pod_problem(pod: &Value) -> Option<String> {
    if is_deleting(pod) {
        return Some("terminating".into());
    }
    let phase = text(pod, &["status", "phase"]);
    let pod_ready = condition(pod, "Ready").is_some_and(|c| c.status == Truth::True);
    match phase {
        Some("Succeeded") => return None,
        Some("Running") if pod_ready => return None,
        _ => {}
    }
    let containers = container_statuses(pod)
        .filter_map(|(sort, status)| container_problem(sort, status))
        .collect::<Vec<_>>()
        .join("; ");
    if phase == Some("Failed") {
        let mut failed = "failed".to_string();
        if let Some(reason) = text(pod, &["status", "reason"]) {
            let _ = write!(failed, " ({reason})");
        }
        let detail = text(pod, &["status", "message"]).unwrap_or(&containers);
        if !detail.is_empty() {
            let _ = write!(failed, ": {detail}");
        }
        return Some(failed);
    }
    if !containers.is_empty() {
        return Some(containers);
    }
    if let Some(unscheduled) = condition(pod, "PodScheduled").filter(|c| c.status == Truth::False) {
        return Some(unscheduled.with_message("unschedulable"));
    }
    Some(match phase {
        Some("Running") => "running, not ready".into(),
        Some(phase) => phase.to_lowercase(),
        None => "phase not yet reported".into(),
    })
}

/// Which list of a pod's status a container status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerSort {
    /// `initContainerStatuses`: run to completion before the others start.
    Init,
    /// `containerStatuses`.
    Main,
}

impl ContainerSort {
    fn label(self) -> &'static str {
        match self {
            ContainerSort::Init => "init container",
            ContainerSort::Main => "container",
        }
    }
}

/// The statuses of a pod's init containers, then of its containers.
fn container_statuses(pod: &Value) -> impl Iterator<Item = (ContainerSort, &Value)> {
    let of = |key, sort| {
        field(pod, &["status", key])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(move |status| (sort, status))
    };
    of("initContainerStatuses", ContainerSort::Init)
        .chain(of("containerStatuses", ContainerSort::Main))
}

/// What is wrong with one container, from its status; `None` when nothing is.
fn container_problem(sort: ContainerSort, status: &Value) -> Option<String> {
    let name = text(status, &["name"]).unwrap_or("(unnamed)");
    let state = status.get("state")?;
    let label = sort.label();
    let init = sort == ContainerSort::Init;
    let mut problem = if let Some(waiting) = state.get("waiting") {
        format!("{label} {name} waiting{}", reason_and_message(waiting))
    } else if let Some(terminated) = state.get("terminated") {
        let exit_code = int(terminated, &["exitCode"]).unwrap_or_default();
        // An init container that exited 0 did its job.
        if init && exit_code == 0 {
            return None;
        }
        let reason = text(terminated, &["reason"]).unwrap_or("terminated");
        format!("{label} {name} terminated: {reason} (exit code {exit_code})")
    } else if status.get("ready").and_then(Value::as_bool) == Some(false) {
        // A running init container is simply not done yet; a running container that is not
        // ready fails its readiness probe.
        let what = if init {
            "running"
        } else {
            "running, not ready"
        };
        format!("{label} {name} {what}")
    } else {
        return None;
    };
    // After a crash the current state says little ("CrashLoopBackOff"); the last
    // termination says why.
    if let Some(last) = field(status, &["lastState", "terminated"]) {
        let reason = text(last, &["reason"]).unwrap_or("terminated");
        let exit_code = int(last, &["exitCode"]).unwrap_or_default();
        let _ = write!(
            problem,
            ", last terminated: {reason} (exit code {exit_code})"
        );
    }
    Some(problem)
}

/// `: Reason (message)` of a container state, or whichever part it has.
fn reason_and_message(state: &Value) -> String {
    match (text(state, &["reason"]), text(state, &["message"])) {
        (Some(reason), Some(message)) => format!(": {reason} ({message})"),
        (Some(only), None) | (None, Some(only)) => format!(": {only}"),
        (None, None) => String::new(),
    }
}

/// A Job is ready when it completed (or is deliberately suspended). kstatus already counts
/// a started Job as current; crunch waits for completion, as Helm does for hook Jobs,
/// because what follows may depend on what the Job did.
fn job(object: &Value) -> Readiness {
    if condition(object, "Complete").is_some_and(|c| c.status == Truth::True) {
        return Readiness::Ready;
    }
    if let Some(failed) = condition(object, "Failed").filter(|c| c.status == Truth::True) {
        return Readiness::Failed(failed.describe("Job failed"));
    }
    let suspend = field(object, &["spec", "suspend"]).and_then(Value::as_bool) == Some(true);
    if suspend && condition(object, "Suspended").is_some_and(|c| c.status == Truth::True) {
        return Readiness::Ready;
    }
    let parallelism = int(object, &["spec", "parallelism"]).unwrap_or(1);
    let completions = int(object, &["spec", "completions"]).unwrap_or(parallelism);
    let succeeded = count(object, "succeeded");
    let active = count(object, "active");
    let failed = count(object, "failed");
    Readiness::InProgress(format!(
        "Job: {succeeded} of {completions} completions succeeded, {active} active, {failed} failed"
    ))
}

fn custom_resource_definition(object: &Value) -> Readiness {
    if let Some(names) = condition(object, "NamesAccepted").filter(|c| c.status == Truth::False) {
        return Readiness::Failed(names.describe("CRD names not accepted"));
    }
    match condition(object, "Established") {
        Some(established) if established.status == Truth::True => Readiness::Ready,
        // `Installing` is the API server still setting up storage; anything else is stuck.
        Some(established)
            if established.status == Truth::False && established.reason != "Installing" =>
        {
            Readiness::Failed(established.describe("CRD not established"))
        }
        _ => Readiness::InProgress("CRD not yet established".into()),
    }
}

fn persistent_volume_claim(object: &Value) -> Readiness {
    match text(object, &["status", "phase"]) {
        Some("Bound") => Readiness::Ready,
        Some(phase) => {
            Readiness::InProgress(format!("PersistentVolumeClaim is {phase}, not Bound"))
        }
        None => Readiness::InProgress("PersistentVolumeClaim phase not yet reported".into()),
    }
}

/// A LoadBalancer Service waits for its ingress address, as `helm --wait` does (kstatus
/// only checks the cluster IP, which the API server assigns at once); other types are ready.
fn service(object: &Value) -> Readiness {
    if text(object, &["spec", "type"]) != Some("LoadBalancer") {
        return Readiness::Ready;
    }
    let ingress = field(object, &["status", "loadBalancer", "ingress"]).and_then(Value::as_array);
    if ingress.is_some_and(|addresses| !addresses.is_empty()) {
        Readiness::Ready
    } else {
        Readiness::InProgress("Service: waiting for a load balancer ingress address".into())
    }
}

/// An aggregated API (not a kstatus rule): until `Available` is true, discovery of its
/// group fails and so would applying objects of its kinds.
fn api_service(object: &Value) -> Readiness {
    match condition(object, "Available") {
        Some(available) if available.status == Truth::True => Readiness::Ready,
        Some(available) => Readiness::InProgress(available.describe("APIService not Available")),
        None => Readiness::InProgress("APIService: Available condition not yet reported".into()),
    }
}

/// One Kubernetes label-selector requirement as query syntax, `None` when malformed.
fn requirement(expression: &Value) -> Option<String> {
    let key = text(expression, &["key"])?;
    let values = || {
        let values = expression
            .get("values")?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()?;
        (!values.is_empty()).then(|| values.join(","))
    };
    match text(expression, &["operator"])? {
        "In" => Some(format!("{key} in ({})", values()?)),
        "NotIn" => Some(format!("{key} notin ({})", values()?)),
        "Exists" => Some(key.to_string()),
        "DoesNotExist" => Some(format!("!{key}")),
        _ => None,
    }
}

/// A condition's status; any value other than `True` or `False` counts as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown,
}

/// One entry of `status.conditions`, with absent strings empty.
#[derive(Debug, Clone, Copy)]
struct Condition<'a> {
    status: Truth,
    reason: &'a str,
    message: &'a str,
}

impl Condition<'_> {
    /// `label (Reason): message`, leaving out what the condition lacks.
    fn describe(&self, label: &str) -> String {
        let mut out = label.to_string();
        if !self.reason.is_empty() {
            let _ = write!(out, " ({})", self.reason);
        }
        self.append_message(out)
    }

    /// `label: message`, for a label that already says what the reason would.
    fn with_message(&self, label: &str) -> String {
        self.append_message(label.to_string())
    }

    fn append_message(&self, mut out: String) -> String {
        if !self.message.is_empty() {
            let _ = write!(out, ": {}", self.message);
        }
        out
    }
}

/// The first condition of type `kind` in `status.conditions`.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<Condition<'a>> {
    let entry = field(object, &["status", "conditions"])?
        .as_array()?
        .iter()
        .find(|entry| text(entry, &["type"]) == Some(kind))?;
    let status = match text(entry, &["status"]) {
        Some("True") => Truth::True,
        Some("False") => Truth::False,
        _ => Truth::Unknown,
    };
    Some(Condition {
        status,
        reason: text(entry, &["reason"]).unwrap_or_default(),
        message: text(entry, &["message"]).unwrap_or_default(),
    })
}

/// Whether the object carries a deletion timestamp: only finalizers or a pod's grace
/// period keep it.
fn is_deleting(object: &Value) -> bool {
    text(object, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_empty())
}

fn field<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

fn text<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    field(object, path).and_then(Value::as_str)
}

fn int(object: &Value, path: &[&str]) -> Option<i64> {
    field(object, path).and_then(Value::as_i64)
}

/// A replica or pod count under `status`; controllers omit counts that are zero.
fn count(object: &Value, key: &str) -> i64 {
    int(object, &["status", key]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn in_progress(message: &str) -> Readiness {
        Readiness::InProgress(message.into())
    }

    fn failed(message: &str) -> Readiness {
        Readiness::Failed(message.into())
    }

    /// Runs every case and reports all that disagree at once.
    fn check(cases: &[(&str, Value, Readiness)]) {
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(name, object, expected)| {
                let actual = readiness(object);
                (actual != *expected)
                    .then(|| format!("{name}:\n  want {expected}\n  got  {actual}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// `base` with `overlay` merged in, objects key by key, so a case states only what
    /// differs from a realistic object.
    fn with(base: &Value, overlay: Value) -> Value {
        let mut merged = base.clone();
        merge(&mut merged, overlay);
        merged
    }

    fn merge(target: &mut Value, overlay: Value) {
        match (target, overlay) {
            (Value::Object(target), Value::Object(overlay)) => {
                for (key, value) in overlay {
                    merge(target.entry(key).or_insert(Value::Null), value);
                }
            }
            (target, overlay) => *target = overlay,
        }
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "logging", "generation": 3},
            "spec": {
                "replicas": 2,
                "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate"}
            },
            "status": {
                "observedGeneration": 3,
                "replicas": 2,
                "updatedReplicas": 2,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": "ReplicaSet \"web-7d9c\" has successfully progressed."}
                ]
            }
        })
    }

    #[test]
    fn generic_rules() {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "b"}});
        let release = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "loki", "namespace": "logging", "generation": 2},
            "status": {"observedGeneration": 2, "conditions": []}
        });
        let condition = |kind: &str, status: &str, reason: &str, message: &str| {
            json!({"status": {"conditions": [
                {"type": kind, "status": status, "reason": reason, "message": message}
            ]}})
        };
        check(&[
            (
                "object without status",
                config_map.clone(),
                Readiness::Ready,
            ),
            (
                "deletion timestamp",
                with(
                    &config_map,
                    json!({"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}}),
                ),
                in_progress("terminating: scheduled for deletion"),
            ),
            (
                "custom resource, no conditions",
                release.clone(),
                Readiness::Ready,
            ),
            (
                "stale observedGeneration",
                with(&release, json!({"status": {"observedGeneration": 1}})),
                in_progress("observed generation 1, desired 2"),
            ),
            (
                "generation without observedGeneration is not judged",
                with(&release, json!({"status": {"observedGeneration": null}})),
                Readiness::Ready,
            ),
            (
                "Reconciling=True",
                with(
                    &release,
                    condition(
                        "Reconciling",
                        "True",
                        "Progressing",
                        "Running 'install' action",
                    ),
                ),
                in_progress("Reconciling (Progressing): Running 'install' action"),
            ),
            (
                "Reconciling=False is normal",
                with(&release, condition("Reconciling", "False", "", "")),
                Readiness::Ready,
            ),
            (
                "Stalled=True",
                with(
                    &release,
                    condition(
                        "Stalled",
                        "True",
                        "InstallFailed",
                        "install retries exhausted",
                    ),
                ),
                failed("Stalled (InstallFailed): install retries exhausted"),
            ),
            (
                "Ready=False",
                with(
                    &release,
                    condition("Ready", "False", "ArtifactFailed", "chart not found"),
                ),
                in_progress("not Ready (ArtifactFailed): chart not found"),
            ),
            (
                "Ready=Unknown",
                with(&release, condition("Ready", "Unknown", "Progressing", "")),
                in_progress("not Ready (Progressing)"),
            ),
            (
                "Ready=True",
                with(
                    &release,
                    condition("Ready", "True", "InstallSucceeded", "done"),
                ),
                Readiness::Ready,
            ),
            (
                "generic rules apply before kind rules",
                with(&deployment(), json!({"status": {"observedGeneration": 2}})),
                in_progress("observed generation 2, desired 3"),
            ),
        ]);
    }

    #[test]
    fn stalled_wins_over_reconciling() {
        let object = json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [
                {"type": "Reconciling", "status": "True", "reason": "Progressing"},
                {"type": "Stalled", "status": "True", "reason": "Broken"}
            ]}
        });
        assert_eq!(readiness(&object), failed("Stalled (Broken)"));
    }

    #[test]
    fn deployments() {
        let base = deployment();
        let conditions = |available: &str, progressing_status: &str, reason: &str| {
            json!({"status": {"conditions": [
                {"type": "Available", "status": available, "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": progressing_status, "reason": reason,
                 "message": "ReplicaSet \"web-7d9c\" has timed out progressing."}
            ]}})
        };
        check(&[
            ("rolled out", base.clone(), Readiness::Ready),
            (
                "replicas not yet created",
                with(
                    &base,
                    json!({"status": {"replicas": 1, "updatedReplicas": 1}}),
                ),
                in_progress("Deployment rollout: 1 of 2 replicas created"),
            ),
            (
                "rolling: new replicas not yet updated",
                with(
                    &base,
                    json!({"status": {"replicas": 3, "updatedReplicas": 1}}),
                ),
                in_progress("Deployment rollout: 1 of 2 new replicas updated"),
            ),
            (
                "old pods still terminating",
                with(&base, json!({"status": {"replicas": 3}})),
                in_progress("Deployment rollout: 1 old replicas are pending termination"),
            ),
            (
                "updated but not available",
                with(
                    &base,
                    json!({"status": {"availableReplicas": 1, "readyReplicas": 1}}),
                ),
                in_progress("Deployment rollout: 1 of 2 updated replicas are available"),
            ),
            (
                "available but not ready",
                with(&base, json!({"status": {"readyReplicas": 1}})),
                in_progress("Deployment rollout: 1 of 2 replicas are ready"),
            ),
            (
                "progress deadline exceeded",
                with(
                    &base,
                    conditions("False", "False", "ProgressDeadlineExceeded"),
                ),
                failed(
                    "Deployment rollout: progress deadline exceeded: \
                     ReplicaSet \"web-7d9c\" has timed out progressing.",
                ),
            ),
            (
                "new ReplicaSet not yet available",
                with(&base, conditions("True", "True", "ReplicaSetUpdated")),
                in_progress("Deployment rollout: new ReplicaSet not yet available"),
            ),
            (
                "Available=False",
                with(&base, conditions("False", "True", "NewReplicaSetAvailable")),
                in_progress(
                    "Deployment rollout: not Available (MinimumReplicasUnavailable): \
                     Deployment does not have minimum availability.",
                ),
            ),
            (
                "no progress deadline: Progressing not needed",
                with(
                    &base,
                    json!({"spec": {"progressDeadlineSeconds": 2147483647},
                           "status": {"conditions": [{"type": "Available", "status": "True"}]}}),
                ),
                Readiness::Ready,
            ),
            (
                "replicas default to 1",
                with(
                    &base,
                    json!({"spec": {"replicas": null},
                           "status": {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}),
                ),
                Readiness::Ready,
            ),
            (
                "replicas default to 1: none yet",
                with(&base, json!({"spec": {"replicas": null}, "status": null})),
                in_progress("Deployment rollout: 0 of 1 replicas created"),
            ),
            (
                "scaled to zero",
                with(
                    &base,
                    json!({"spec": {"replicas": 0},
                           "status": {"replicas": null, "updatedReplicas": null, "readyReplicas": null, "availableReplicas": null}}),
                ),
                Readiness::Ready,
            ),
            (
                "scaled to zero, controller not yet done",
                with(&base, json!({"spec": {"replicas": 0}, "status": null})),
                in_progress("Deployment rollout: new ReplicaSet not yet available"),
            ),
            (
                "extensions group",
                with(
                    &base,
                    json!({"apiVersion": "extensions/v1beta1", "status": {"readyReplicas": 0}}),
                ),
                in_progress("Deployment rollout: 0 of 2 replicas are ready"),
            ),
        ]);
    }

    #[test]
    fn stateful_sets() {
        let base = json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "data", "generation": 4},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "db"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
            },
            "status": {
                "observedGeneration": 4,
                "replicas": 3,
                "readyReplicas": 3,
                "currentReplicas": 3,
                "updatedReplicas": 3,
                "currentRevision": "db-5b8f",
                "updateRevision": "db-5b8f"
            }
        });
        let unpartitioned = with(
            &base,
            json!({"spec": {"updateStrategy": {"rollingUpdate": null}}}),
        );
        check(&[
            ("rolled out", base.clone(), Readiness::Ready),
            (
                "replicas not yet created",
                with(&base, json!({"status": {"replicas": 2}})),
                in_progress("StatefulSet rollout: 2 of 3 replicas created"),
            ),
            (
                "not ready",
                with(&base, json!({"status": {"readyReplicas": 1}})),
                in_progress("StatefulSet rollout: 1 of 3 replicas are ready"),
            ),
            (
                "scale down pending",
                with(&base, json!({"status": {"replicas": 4}})),
                in_progress("StatefulSet rollout: 1 extra replicas are pending termination"),
            ),
            (
                "partition 0 rolling",
                with(
                    &base,
                    json!({"status": {"updatedReplicas": 1, "updateRevision": "db-6c9a"}}),
                ),
                in_progress("StatefulSet rollout: 1 of 3 replicas at or above partition 0 updated"),
            ),
            (
                "partition 2: only the top replica updates",
                with(
                    &base,
                    json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}},
                           "status": {"updatedReplicas": 0, "currentReplicas": 3, "updateRevision": "db-6c9a"}}),
                ),
                in_progress("StatefulSet rollout: 0 of 1 replicas at or above partition 2 updated"),
            ),
            (
                "partition 2 done while revisions differ",
                with(
                    &base,
                    json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}},
                           "status": {"updatedReplicas": 1, "currentReplicas": 2, "updateRevision": "db-6c9a"}}),
                ),
                Readiness::Ready,
            ),
            (
                "no partition: old revision pods remain",
                with(
                    &unpartitioned,
                    json!({"status": {"currentReplicas": 2, "updatedReplicas": 1, "updateRevision": "db-6c9a"}}),
                ),
                in_progress("StatefulSet rollout: 2 of 3 replicas at the current revision"),
            ),
            (
                "no partition: revision not yet current",
                with(
                    &unpartitioned,
                    json!({"status": {"updatedReplicas": 3, "updateRevision": "db-6c9a"}}),
                ),
                in_progress("StatefulSet rollout: 3 of 3 replicas at update revision db-6c9a"),
            ),
            (
                "no partition: rolled out",
                unpartitioned.clone(),
                Readiness::Ready,
            ),
            (
                "OnDelete is the user's business",
                with(
                    &base,
                    json!({"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": null}},
                           "status": {"readyReplicas": 0, "updateRevision": "db-6c9a"}}),
                ),
                Readiness::Ready,
            ),
            (
                "no status yet",
                with(&base, json!({"status": null})),
                in_progress("StatefulSet rollout: 0 of 3 replicas created"),
            ),
            (
                "zero replicas",
                with(
                    &unpartitioned,
                    json!({"spec": {"replicas": 0},
                           "status": {"replicas": 0, "readyReplicas": null, "currentReplicas": null, "updatedReplicas": null}}),
                ),
                Readiness::Ready,
            ),
        ]);
    }

    #[test]
    fn daemon_sets() {
        let base = json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "fluent-bit", "namespace": "logging", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "fluent-bit"}}},
            "status": {
                "observedGeneration": 1,
                "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3,
                "updatedNumberScheduled": 3,
                "numberAvailable": 3,
                "numberReady": 3,
                "numberMisscheduled": 0
            }
        });
        check(&[
            ("rolled out", base.clone(), Readiness::Ready),
            (
                "no status yet",
                with(&base, json!({"status": null})),
                in_progress("DaemonSet rollout: not yet observed by its controller"),
            ),
            (
                "no desired number",
                with(&base, json!({"status": {"desiredNumberScheduled": null}})),
                in_progress("DaemonSet rollout: desired number of pods not yet computed"),
            ),
            (
                "not scheduled",
                with(&base, json!({"status": {"currentNumberScheduled": 2}})),
                in_progress("DaemonSet rollout: 2 of 3 pods are scheduled"),
            ),
            (
                "not updated",
                with(&base, json!({"status": {"updatedNumberScheduled": 1}})),
                in_progress("DaemonSet rollout: 1 of 3 pods are updated"),
            ),
            (
                "not available",
                with(
                    &base,
                    json!({"status": {"numberAvailable": 2, "numberReady": 2}}),
                ),
                in_progress("DaemonSet rollout: 2 of 3 pods are available"),
            ),
            (
                "not ready",
                with(&base, json!({"status": {"numberReady": 0}})),
                in_progress("DaemonSet rollout: 0 of 3 pods are ready"),
            ),
            (
                "no matching nodes",
                with(
                    &base,
                    json!({"status": {"desiredNumberScheduled": 0, "currentNumberScheduled": 0,
                           "updatedNumberScheduled": null, "numberAvailable": null, "numberReady": 0}}),
                ),
                Readiness::Ready,
            ),
        ]);
    }

    #[test]
    fn replica_sets() {
        let base = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web-7d9c", "namespace": "logging", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d9c"}}},
            "status": {"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 2,
                       "readyReplicas": 2, "availableReplicas": 2}
        });
        check(&[
            ("ready", base.clone(), Readiness::Ready),
            (
                "replica failure",
                with(
                    &base,
                    json!({"status": {"conditions": [{"type": "ReplicaFailure", "status": "True",
                        "reason": "FailedCreate", "message": "pods \"web-7d9c-x\" is forbidden: exceeded quota"}]}}),
                ),
                in_progress(
                    "ReplicaSet: replica failure (FailedCreate): \
                     pods \"web-7d9c-x\" is forbidden: exceeded quota",
                ),
            ),
            (
                "not labeled",
                with(&base, json!({"status": {"fullyLabeledReplicas": 1}})),
                in_progress("ReplicaSet: 1 of 2 replicas are fully labeled"),
            ),
            (
                "not available",
                with(&base, json!({"status": {"availableReplicas": 0}})),
                in_progress("ReplicaSet: 0 of 2 replicas are available"),
            ),
            (
                "not ready",
                with(&base, json!({"status": {"readyReplicas": 1}})),
                in_progress("ReplicaSet: 1 of 2 replicas are ready"),
            ),
            (
                "extra",
                with(&base, json!({"status": {"replicas": 3}})),
                in_progress("ReplicaSet: 1 extra replicas are pending termination"),
            ),
            (
                "zero replicas",
                with(
                    &base,
                    json!({"spec": {"replicas": 0}, "status": {"replicas": 0, "fullyLabeledReplicas": null,
                    "readyReplicas": null, "availableReplicas": null}}),
                ),
                Readiness::Ready,
            ),
        ]);
    }

    fn pod(phase: &str, ready: &str, containers: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-7d9c-abcde", "namespace": "logging",
                         "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "web", "image": "never-ready.invalid/app:1"}]},
            "status": {
                "phase": phase,
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": ready}
                ],
                "containerStatuses": containers
            }
        })
    }

    fn waiting(reason: &str, message: &str) -> Value {
        json!([{"name": "web", "ready": false, "restartCount": 0,
                "image": "never-ready.invalid/app:1",
                "state": {"waiting": {"reason": reason, "message": message}}}])
    }

    fn running(ready: bool) -> Value {
        json!([{"name": "web", "ready": ready, "restartCount": 0,
                "state": {"running": {"startedAt": "2025-01-01T00:00:05Z"}}}])
    }

    fn crash_looping() -> Value {
        json!([{"name": "web", "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": "back-off 1m20s restarting failed container=web pod=web-7d9c-abcde_logging"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}])
    }

    const PULL_BACK_OFF: &str = "container web waiting: ImagePullBackOff \
        (Back-off pulling image \"never-ready.invalid/app:1\")";

    fn image_pull_back_off() -> Value {
        waiting(
            "ImagePullBackOff",
            "Back-off pulling image \"never-ready.invalid/app:1\"",
        )
    }

    #[test]
    fn pods() {
        let unschedulable = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}
        });
        let evicted = with(
            &pod("Failed", "False", json!([])),
            json!({"status": {"reason": "Evicted", "message": "The node was low on resource: memory."}}),
        );
        let exited = with(
            &pod(
                "Failed",
                "False",
                json!([{"name": "web", "ready": false,
                "state": {"terminated": {"reason": "Error", "exitCode": 2}}}]),
            ),
            json!({}),
        );
        check(&[
            (
                "running and ready",
                pod("Running", "True", running(true)),
                Readiness::Ready,
            ),
            (
                "succeeded",
                pod(
                    "Succeeded",
                    "False",
                    json!([{"name": "web", "ready": false,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]),
                ),
                Readiness::Ready,
            ),
            (
                "running, probe failing",
                pod("Running", "False", running(false)),
                in_progress("Pod not ready: container web running, not ready"),
            ),
            (
                "image pull back-off",
                pod("Pending", "False", image_pull_back_off()),
                in_progress(&format!("Pod not ready: {PULL_BACK_OFF}")),
            ),
            (
                "err image pull",
                pod(
                    "Pending",
                    "False",
                    waiting("ErrImagePull", "rpc error: not found"),
                ),
                in_progress(
                    "Pod not ready: container web waiting: ErrImagePull (rpc error: not found)",
                ),
            ),
            (
                "crash loop",
                pod("Running", "False", crash_looping()),
                failed(
                    "Pod crash looping: container web waiting: CrashLoopBackOff \
                     (back-off 1m20s restarting failed container=web pod=web-7d9c-abcde_logging), \
                     last terminated: Error (exit code 1)",
                ),
            ),
            (
                "unschedulable",
                unschedulable,
                in_progress(
                    "Pod not ready: unschedulable: 0/1 nodes are available: 1 Insufficient cpu.",
                ),
            ),
            (
                "evicted",
                evicted,
                failed("Pod failed (Evicted): The node was low on resource: memory."),
            ),
            (
                "container exited",
                exited,
                failed("Pod failed: container web terminated: Error (exit code 2)"),
            ),
            (
                "no status yet",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
                in_progress("Pod not ready: phase not yet reported"),
            ),
            (
                "pending without container statuses",
                pod("Pending", "False", json!([])),
                in_progress("Pod not ready: pending"),
            ),
        ]);
    }

    #[test]
    fn pod_problems_name_each_pod_not_ready() {
        let mut init = pod("Pending", "False", json!([]));
        merge(
            &mut init,
            json!({"metadata": {"name": "web-7d9c-fghij"}, "status": {"initContainerStatuses": [
                {"name": "setup", "ready": true, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                {"name": "migrate", "ready": false, "state": {"running": {}}}
            ]}}),
        );
        let mut cluster_scoped = pod("Running", "False", running(false));
        merge(
            &mut cluster_scoped,
            json!({"metadata": {"name": "solo", "namespace": null}}),
        );
        let pods = [
            pod("Running", "True", running(true)),
            pod("Pending", "False", image_pull_back_off()),
            init,
            pod("Succeeded", "False", json!([])),
            cluster_scoped,
        ];
        assert_eq!(
            pod_problems(&pods),
            [
                format!("pod logging/web-7d9c-abcde: {PULL_BACK_OFF}"),
                "pod logging/web-7d9c-fghij: init container migrate running".into(),
                "pod solo: container web running, not ready".into(),
            ]
        );
    }

    #[test]
    fn pod_problems_of_terminating_and_multi_container_pods() {
        let mut terminating = pod("Running", "True", running(true));
        merge(
            &mut terminating,
            json!({"metadata": {"deletionTimestamp": "2025-01-01T00:01:00Z"}}),
        );
        let two = pod(
            "Running",
            "False",
            json!([
                {"name": "web", "ready": false, "state": {"running": {}}},
                {"name": "proxy", "ready": false,
                 "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
            ]),
        );
        let config_error = pod(
            "Pending",
            "False",
            waiting(
                "CreateContainerConfigError",
                "secret \"db\" not found\nretrying",
            ),
        );
        assert_eq!(
            pod_problems(&[terminating, two, config_error]),
            [
                "pod logging/web-7d9c-abcde: terminating",
                "pod logging/web-7d9c-abcde: container web running, not ready; \
                 container proxy terminated: OOMKilled (exit code 137)",
                "pod logging/web-7d9c-abcde: container web waiting: CreateContainerConfigError \
                 (secret \"db\" not found retrying)",
            ]
        );
    }

    #[test]
    fn jobs() {
        let base = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "db", "generation": 1},
            "spec": {"backoffLimit": 2, "completions": 1, "parallelism": 1,
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "0f1e"}}},
            "status": {"startTime": "2025-01-01T00:00:00Z", "active": 1}
        });
        let condition = |kind: &str, reason: &str, message: &str| {
            json!({"status": {"conditions": [
                {"type": kind, "status": "True", "reason": reason, "message": message}
            ]}})
        };
        check(&[
            (
                "running",
                base.clone(),
                in_progress("Job: 0 of 1 completions succeeded, 1 active, 0 failed"),
            ),
            (
                "not started",
                with(&base, json!({"status": null})),
                in_progress("Job: 0 of 1 completions succeeded, 0 active, 0 failed"),
            ),
            (
                "complete",
                with(
                    &base,
                    json!({"status": {"active": null, "succeeded": 1, "completionTime": "2025-01-01T00:01:00Z",
                        "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                       {"type": "Complete", "status": "True"}]}}),
                ),
                Readiness::Ready,
            ),
            (
                "backoff limit exceeded",
                with(
                    &with(&base, json!({"status": {"active": null, "failed": 3}})),
                    condition(
                        "Failed",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    ),
                ),
                failed(
                    "Job failed (BackoffLimitExceeded): Job has reached the specified backoff limit",
                ),
            ),
            (
                "retrying under the backoff limit",
                with(&base, json!({"status": {"failed": 2}})),
                in_progress("Job: 0 of 1 completions succeeded, 1 active, 2 failed"),
            ),
            (
                "suspended",
                with(
                    &with(
                        &base,
                        json!({"spec": {"suspend": true}, "status": {"active": null}}),
                    ),
                    condition("Suspended", "JobSuspended", "Job suspended"),
                ),
                Readiness::Ready,
            ),
            (
                "resumed, Suspended condition not yet cleared",
                with(
                    &base,
                    condition("Suspended", "JobSuspended", "Job suspended"),
                ),
                in_progress("Job: 0 of 1 completions succeeded, 1 active, 0 failed"),
            ),
            (
                "completions default to parallelism",
                with(
                    &base,
                    json!({"spec": {"completions": null, "parallelism": 3}, "status": {"active": 3}}),
                ),
                in_progress("Job: 0 of 3 completions succeeded, 3 active, 0 failed"),
            ),
        ]);
    }

    #[test]
    fn crds() {
        let base = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "helmreleases.helm.toolkit.fluxcd.io", "generation": 1},
            "spec": {"group": "helm.toolkit.fluxcd.io", "names": {"kind": "HelmRelease", "plural": "helmreleases"}},
            "status": {"conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
            ]}
        });
        let conditions = |names: Value, established: Value| json!({"status": {"conditions": [names, established]}});
        let accepted = json!({"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"});
        check(&[
            ("established", base.clone(), Readiness::Ready),
            (
                "no status yet",
                with(&base, json!({"status": null})),
                in_progress("CRD not yet established"),
            ),
            (
                "installing",
                with(
                    &base,
                    conditions(
                        accepted.clone(),
                        json!({"type": "Established", "status": "False",
                        "reason": "Installing", "message": "the initial names have been accepted"}),
                    ),
                ),
                in_progress("CRD not yet established"),
            ),
            (
                "names conflict",
                with(
                    &base,
                    conditions(
                        json!({"type": "NamesAccepted", "status": "False", "reason": "MultipleNamesConflict",
                               "message": "\"HelmRelease\" is already in use"}),
                        json!({"type": "Established", "status": "False", "reason": "NotAccepted",
                               "message": "not all names are accepted"}),
                    ),
                ),
                failed(
                    "CRD names not accepted (MultipleNamesConflict): \"HelmRelease\" is already in use",
                ),
            ),
            (
                "not established for another reason",
                with(
                    &base,
                    conditions(
                        accepted,
                        json!({"type": "Established", "status": "False",
                        "reason": "NotAccepted", "message": "not all names are accepted"}),
                    ),
                ),
                failed("CRD not established (NotAccepted): not all names are accepted"),
            ),
        ]);
    }

    #[test]
    fn persistent_volume_claims() {
        let claim = |phase: Value| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data", "namespace": "db"},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                   "status": {"phase": phase}})
        };
        check(&[
            ("bound", claim(json!("Bound")), Readiness::Ready),
            (
                "pending",
                claim(json!("Pending")),
                in_progress("PersistentVolumeClaim is Pending, not Bound"),
            ),
            (
                "lost",
                claim(json!("Lost")),
                in_progress("PersistentVolumeClaim is Lost, not Bound"),
            ),
            (
                "no phase",
                claim(Value::Null),
                in_progress("PersistentVolumeClaim phase not yet reported"),
            ),
        ]);
    }

    #[test]
    fn services() {
        let service = |kind: &str, status: Value| {
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "gateway", "namespace": "istio-system"},
                   "spec": {"type": kind, "clusterIP": "10.0.0.12", "ports": [{"port": 443}]},
                   "status": status})
        };
        let waiting = in_progress("Service: waiting for a load balancer ingress address");
        check(&[
            (
                "ClusterIP",
                service("ClusterIP", json!({})),
                Readiness::Ready,
            ),
            ("NodePort", service("NodePort", json!({})), Readiness::Ready),
            (
                "type defaults to ClusterIP",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}),
                Readiness::Ready,
            ),
            (
                "LoadBalancer with ingress",
                service(
                    "LoadBalancer",
                    json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}),
                ),
                Readiness::Ready,
            ),
            (
                "LoadBalancer pending",
                service("LoadBalancer", json!({"loadBalancer": {}})),
                waiting.clone(),
            ),
            (
                "LoadBalancer with empty ingress",
                service("LoadBalancer", json!({"loadBalancer": {"ingress": []}})),
                waiting,
            ),
        ]);
    }

    #[test]
    fn cron_jobs_and_disruption_budgets() {
        check(&[
            (
                "CronJob",
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "generation": 1},
                       "spec": {"schedule": "*/5 * * * *"}, "status": {}}),
                Readiness::Ready,
            ),
            (
                "PodDisruptionBudget observed",
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "web", "generation": 2},
                       "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
                       "status": {"observedGeneration": 2, "currentHealthy": 0, "desiredHealthy": 1,
                                  "disruptionsAllowed": 0, "expectedPods": 1,
                                  "conditions": [{"type": "DisruptionAllowed", "status": "False",
                                                  "reason": "InsufficientPods"}]}}),
                Readiness::Ready,
            ),
            (
                "PodDisruptionBudget not yet observed",
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "web", "generation": 2}, "status": {"observedGeneration": 1}}),
                in_progress("observed generation 1, desired 2"),
            ),
        ]);
    }

    #[test]
    fn api_services() {
        let service = |conditions: Value| {
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                   "metadata": {"name": "v1beta1.metrics.k8s.io"},
                   "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                            "service": {"name": "metrics-server", "namespace": "kube-system"}},
                   "status": {"conditions": conditions}})
        };
        check(&[
            (
                "available",
                service(json!([{"type": "Available", "status": "True", "reason": "Passed"}])),
                Readiness::Ready,
            ),
            (
                "not available",
                service(
                    json!([{"type": "Available", "status": "False", "reason": "MissingEndpoints",
                    "message": "endpoints for service/metrics-server in \"kube-system\" have no addresses"}]),
                ),
                in_progress(
                    "APIService not Available (MissingEndpoints): \
                     endpoints for service/metrics-server in \"kube-system\" have no addresses",
                ),
            ),
            (
                "no conditions yet",
                service(json!([])),
                in_progress("APIService: Available condition not yet reported"),
            ),
        ]);
    }

    #[test]
    fn selectors_of_workloads() {
        let workload = |api_version: &str, kind: &str, selector: Value| {
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"},
                   "spec": {"selector": selector}})
        };
        let full = json!({
            "matchLabels": {"app": "web", "tier": "front"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "staging"]},
                {"key": "zone", "operator": "NotIn", "values": ["a"]},
                {"key": "managed", "operator": "Exists"},
                {"key": "canary", "operator": "DoesNotExist"}
            ]
        });
        let simple = json!({"matchLabels": {"app": "web"}});
        let cases = [
            (
                workload("apps/v1", "Deployment", full),
                Some("app=web,tier=front,env in (prod,staging),zone notin (a),managed,!canary"),
            ),
            (
                workload("apps/v1", "StatefulSet", simple.clone()),
                Some("app=web"),
            ),
            (
                workload("apps/v1", "DaemonSet", simple.clone()),
                Some("app=web"),
            ),
            (
                workload("apps/v1", "ReplicaSet", simple.clone()),
                Some("app=web"),
            ),
            (
                workload(
                    "batch/v1",
                    "Job",
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "0f1e"}}),
                ),
                Some("batch.kubernetes.io/controller-uid=0f1e"),
            ),
            (workload("batch/v1", "CronJob", simple.clone()), None),
            (
                workload("policy/v1", "PodDisruptionBudget", simple.clone()),
                None,
            ),
            (workload("v1", "Service", simple), None),
            (workload("apps/v1", "Deployment", json!({})), None),
            (
                workload(
                    "apps/v1",
                    "Deployment",
                    json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
                ),
                None,
            ),
            (
                workload(
                    "apps/v1",
                    "Deployment",
                    json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
                ),
                None,
            ),
        ];
        for (object, expected) in cases {
            assert_eq!(pod_selector(&object).as_deref(), expected, "{object}");
        }
        let no_selector =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}});
        assert_eq!(pod_selector(&no_selector), None);
    }

    #[test]
    fn ready_endpoints() {
        let slice = |endpoints: Value| {
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"name": "webhook-abc12", "namespace": "gatekeeper-system",
                                "labels": {"kubernetes.io/service-name": "webhook"}},
                   "addressType": "IPv4", "ports": [{"port": 8443}], "endpoints": endpoints})
        };
        let endpoint =
            |conditions: Value| json!({"addresses": ["10.1.2.3"], "conditions": conditions});
        let not_ready = slice(json!([endpoint(
            json!({"ready": false, "serving": false, "terminating": true})
        )]));
        let cases = [
            ("no slices", vec![], false),
            ("slice without endpoints", vec![slice(Value::Null)], false),
            ("empty slice", vec![slice(json!([]))], false),
            (
                "ready endpoint",
                vec![slice(json!([endpoint(json!({"ready": true}))]))],
                true,
            ),
            (
                "ready absent counts as ready",
                vec![slice(json!([endpoint(json!({}))]))],
                true,
            ),
            (
                "conditions absent",
                vec![slice(json!([{"addresses": ["10.1.2.3"]}]))],
                true,
            ),
            ("only not ready", vec![not_ready.clone()], false),
            (
                "one ready among slices",
                vec![not_ready, slice(json!([endpoint(json!({"ready": true}))]))],
                true,
            ),
        ];
        for (name, slices, expected) in cases {
            assert_eq!(has_ready_endpoint(&slices), expected, "{name}");
        }
    }

    #[test]
    fn malformed_input_does_not_panic() {
        let odd = [
            json!(null),
            json!([]),
            json!("Deployment"),
            json!({"apiVersion": 3, "kind": ["Pod"]}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "status": "broken"}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "two"},
                   "status": {"conditions": "none"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"containerStatuses": [1, null, {"state": 4}]}}),
        ];
        for object in &odd {
            let _ = readiness(object);
            let _ = pod_selector(object);
        }
        // Whatever is passed as a pod is judged as one: without a phase it is not ready.
        assert_eq!(pod_problems(&odd).len(), odd.len());
        assert!(!has_ready_endpoint(&odd));
    }
}
