//! Applying one component: record the inventory, apply CRDs (and wait until they are
//! Established), run the pre hooks, apply Namespaces and the rest in install order, wait
//! until everything is ready, run the post hooks, mark the inventory applied.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::cluster::{Cluster, FIELD_MANAGER, ObjectRef, RequestError};
use super::inventory::{self, Inventory, State};
use super::plan::{ComponentPlan, Hook, HookEvent, PlannedObject};
use super::progress::Progress;
use super::retry::{Backoff, Failure, Pause, Stop, retry};
use super::wait::{self, WaitError};
use super::webhooks::Gate;

/// What the run shares with every component.
pub struct Run {
    /// The cluster.
    pub cluster: Cluster,
    /// Take over fields other managers own.
    pub force_conflicts: bool,
    /// The environment of the bundle.
    pub environment: String,
    /// The bundle digest.
    pub bundle: String,
    /// The user's stop request.
    pub stop: Stop,
    /// Webhooks applied so far.
    pub webhooks: Gate,
}

/// How a component ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "message", rename_all = "camelCase")]
pub enum Outcome {
    /// Everything applied and ready.
    Ready,
    /// A request failed for good (conflict, rejected object, failed hook).
    Failed(String),
    /// Not everything was ready in time; what was still awaited.
    TimedOut(String),
    /// Not started because a component it needs did not become ready.
    Skipped(String),
    /// The run was interrupted.
    Interrupted,
}

/// How an applied object compares with what was there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Objects that did not exist.
    pub created: usize,
    /// Objects the apply changed.
    pub changed: usize,
    /// Objects already as the bundle has them.
    pub unchanged: usize,
    /// Objects a Flux mark keeps from being applied (`ssa: IfNotPresent` and present,
    /// `ssa: Ignore`, `reconcile: disabled`).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The result of applying one component.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentReport {
    /// The component id.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Objects in the component (hooks not counted).
    pub objects: usize,
    /// What applying changed.
    pub counts: Counts,
    /// Hooks run.
    pub hooks: usize,
    /// Wall time, in seconds.
    pub seconds: f64,
}

/// What one component knows before it starts.
#[derive(Clone, Copy)]
pub struct Start<'a> {
    /// The plan.
    pub plan: &'a ComponentPlan,
    /// Its inventory from the last run, if any.
    pub previous: Option<&'a Inventory>,
    /// Objects any inventory of the environment records (adoption test).
    pub recorded: &'a BTreeSet<ObjectRef>,
}

/// Applies a component and waits for it; returns its report and, unless nothing was
/// recorded, the inventory as written.
pub async fn apply(
    run: &Run,
    start: Start<'_>,
    progress: &Progress,
) -> (ComponentReport, Option<Inventory>) {
    let began = Instant::now();
    let plan = start.plan;
    let impersonated = match &plan.service_account {
        Some(user) => match run.cluster.impersonating(user) {
            Ok(cluster) => Some(cluster),
            Err(e) => {
                let report = ComponentReport {
                    id: plan.id.clone(),
                    outcome: Outcome::Failed(format!("cannot act as {user}: {e}")),
                    objects: plan.kept().count(),
                    counts: Counts::default(),
                    hooks: 0,
                    seconds: 0.0,
                };
                return (report, None);
            }
        },
        None => None,
    };
    let mut work = Work {
        run,
        impersonated,
        plan,
        deadline: began + plan.timeout,
        progress,
        counts: Counts::default(),
        hooks: 0,
        applied: 0,
        said_at: began,
    };
    let mut inventory = None;
    let outcome = match work.run(start, &mut inventory).await {
        Ok(()) => Outcome::Ready,
        Err(e) => e,
    };
    let report = ComponentReport {
        id: plan.id.clone(),
        outcome,
        objects: plan.kept().count(),
        counts: work.counts,
        hooks: work.hooks,
        seconds: round_seconds(began.elapsed()),
    };
    (report, inventory)
}

/// Whether `target` is a Job, which `disableWaitForJobs` leaves out of the wait.
fn is_job(target: &ObjectRef) -> bool {
    target.kind == "Job" && target.api_version == "batch/v1"
}

/// Wall time in seconds, to a tenth, as reports print it.
pub(super) fn round_seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

struct Work<'a> {
    run: &'a Run,
    /// The cluster as the component's service account, when it has one.
    impersonated: Option<Cluster>,
    plan: &'a ComponentPlan,
    deadline: Instant,
    progress: &'a Progress,
    counts: Counts,
    hooks: usize,
    /// Objects applied so far, and when progress was last reported.
    applied: usize,
    said_at: Instant,
}

/// How often a long apply reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

impl Work<'_> {
    /// The client the component's objects are read, applied, deleted and waited for
    /// with: as its service account when it has one. The inventory is the applier's own.
    fn cluster(&self) -> &Cluster {
        self.impersonated.as_ref().unwrap_or(&self.run.cluster)
    }

    async fn run(
        &mut self,
        start: Start<'_>,
        recorded_inventory: &mut Option<Inventory>,
    ) -> Result<(), Outcome> {
        let plan = self.plan;
        let upgrade = start.previous.is_some_and(|p| p.state == State::Applied);
        let action = plan.action(upgrade);
        let mut kept: Vec<&PlannedObject> = plan.kept().collect();
        let live = self.inspect(&kept).await?;
        // A chart CRD its install policy skips is not in the cluster, and stays out of it.
        kept.retain(|o| !plan.leaves_crd(&o.target, false) || live.contains_key(&o.target));
        self.progress
            .note(&format!("applying {} objects", kept.len()));
        let mut record = self.pending_record(start, &kept, &live);
        self.save(&record).await?;
        *recorded_inventory = Some(record.clone());

        let unchanged_since_last = start
            .previous
            .is_some_and(|p| p.state == State::Applied && p.content == plan.digest);
        let (pre, post) = if upgrade {
            (HookEvent::PreUpgrade, HookEvent::PostUpgrade)
        } else {
            (HookEvent::PreInstall, HookEvent::PostInstall)
        };
        // CRDs first, as Helm installs a chart's crds/ before anything else, hooks included;
        // those of the chart's crds/ as their policies say.
        let (left, definitions): (Vec<&PlannedObject>, Vec<&PlannedObject>) = plan
            .definitions
            .iter()
            .filter(|o| kept.iter().any(|k| k.target == o.target))
            .partition(|o| plan.leaves_crd(&o.target, live.contains_key(&o.target)));
        self.counts.unchanged += left.len();
        self.apply_all(&definitions, &live).await?;
        if !definitions.is_empty() {
            let targets: Vec<ObjectRef> = definitions.iter().map(|o| o.target.clone()).collect();
            self.wait(&targets).await?;
        }
        if !upgrade && let Some(namespace) = plan.release.as_ref().filter(|r| r.create_namespace) {
            self.create_namespace(&namespace.namespace).await?;
        }
        // As helm-controller does not upgrade a release whose chart and values did not
        // change, an unchanged component runs no hooks.
        let run_hooks = !unchanged_since_last && !action.disable_hooks;
        if run_hooks {
            self.hooks(pre).await?;
        }
        let namespaces: Vec<&PlannedObject> = plan.namespaces.iter().collect();
        self.apply_all(&namespaces, &live).await?;
        let resources: Vec<&PlannedObject> = plan.resources.iter().collect();
        self.apply_all(&resources, &live).await?;
        self.progress.note(&format!(
            "applied {} objects ({} created, {} changed, {} unchanged)",
            kept.len(),
            self.counts.created,
            self.counts.changed,
            self.counts.unchanged
        ));
        if !action.disable_wait {
            // A Kustomization without `wait` is ready once applied and its health checks are.
            let mut awaited: Vec<ObjectRef> = match plan.policy {
                Some(policy) if !policy.wait => Vec::new(),
                _ => kept
                    .iter()
                    .filter(|o| !(action.disable_wait_for_jobs && is_job(&o.target)))
                    .map(|o| o.target.clone())
                    .collect(),
            };
            awaited.extend(plan.health_checks.iter().cloned());
            self.wait(&awaited).await?;
        }
        if run_hooks {
            self.hooks(post).await?;
        }
        record.state = State::Applied;
        self.save(&record).await?;
        *recorded_inventory = Some(record);
        self.progress.note("ready");
        Ok(())
    }

    /// Helm's `--create-namespace`: the release namespace, created when the cluster lacks
    /// it, and never recorded (helm-controller does not delete it either).
    async fn create_namespace(&mut self, name: &str) -> Result<(), Outcome> {
        let target = ObjectRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: name.to_string(),
        };
        let run = self.run;
        let found = retry(self.deadline, &run.stop, || run.cluster.get(&target))
            .await
            .map_err(|e| self.failed(&target, "read", e))?;
        if found.is_some() {
            return Ok(());
        }
        self.progress
            .note(&format!("creating the release namespace {name}"));
        let namespace = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
        });
        retry(self.deadline, &run.stop, || {
            run.cluster
                .apply(&target, &namespace, run.force_conflicts, false)
        })
        .await
        .map_err(|e| self.failed(&target, "apply", e))?;
        Ok(())
    }

    /// The live objects, before anything is sent (for adoption and change counting).
    async fn inspect(
        &self,
        kept: &[&PlannedObject],
    ) -> Result<BTreeMap<ObjectRef, Value>, Outcome> {
        let mut live = BTreeMap::new();
        for object in kept {
            let found = retry(self.deadline, &self.run.stop, || {
                self.cluster().get_if_served(&object.target)
            })
            .await
            .map_err(|e| self.failed(&object.target, "read", e))?;
            if let Some(value) = found {
                live.insert(object.target.clone(), value);
            }
        }
        Ok(live)
    }

    /// The record to write before sending anything: everything the component held
    /// before and everything it is about to hold.
    fn pending_record(
        &self,
        start: Start<'_>,
        kept: &[&PlannedObject],
        live: &BTreeMap<ObjectRef, Value>,
    ) -> Inventory {
        let mut objects = start
            .previous
            .map(|p| p.objects.clone())
            .unwrap_or_default();
        let mut adopted = start
            .previous
            .map(|p| p.adopted.clone())
            .unwrap_or_default();
        for object in kept {
            let target = &object.target;
            let ours = start.recorded.iter().any(|r| r.same_object(target));
            if live.contains_key(target) && !ours {
                adopted.insert(target.clone());
            } else if !adopted.iter().any(|a| a.same_object(target)) {
                objects.insert(target.clone());
            }
        }
        Inventory {
            environment: self.run.environment.clone(),
            component: self.plan.id.clone(),
            bundle: self.run.bundle.clone(),
            content: self.plan.digest.clone(),
            state: State::Applying,
            objects,
            adopted,
            policy: self.plan.policy,
        }
    }

    async fn save(&self, record: &Inventory) -> Result<(), Outcome> {
        retry(self.deadline, &self.run.stop, || {
            inventory::save(&self.run.cluster, record)
        })
        .await
        .map_err(|e| match e {
            Failure::Stopped => Outcome::Interrupted,
            e => Outcome::Failed(format!("cannot record the inventory: {e}")),
        })
    }

    async fn apply_all(
        &mut self,
        objects: &[&PlannedObject],
        live: &BTreeMap<ObjectRef, Value>,
    ) -> Result<(), Outcome> {
        for object in objects {
            let before = live.get(&object.target);
            if self.plan.policy.is_some() && skipped_by_flux(&object.value, before) {
                self.counts.skipped += 1;
                continue;
            }
            let applied = self.apply_one(object).await?;
            match before {
                None => self.counts.created += 1,
                Some(b) if same_content(b, &applied) => self.counts.unchanged += 1,
                Some(_) => self.counts.changed += 1,
            }
            self.applied += 1;
            if self.said_at.elapsed() >= PROGRESS_EVERY {
                self.progress.note(&format!(
                    "applied {}/{}",
                    self.applied,
                    self.plan.kept().count()
                ));
                self.said_at = Instant::now();
            }
        }
        Ok(())
    }

    async fn apply_one(&self, object: &PlannedObject) -> Result<Value, Outcome> {
        let run = self.run;
        let target = &object.target;
        let resolved = retry(self.deadline, &run.stop, || {
            self.cluster().resolve(&target.api_version, &target.kind)
        })
        .await
        .map_err(|e| self.failed(target, "apply", e))?;
        run.webhooks
            .admit(
                run,
                &self.plan.id,
                target,
                &resolved.resource.plural,
                self.deadline,
                self.progress,
            )
            .await
            .map_err(|e| self.failed(target, "apply", e))?;
        let send = || async {
            retry(self.deadline, &run.stop, || {
                self.cluster()
                    .apply(target, &object.value, run.force_conflicts, false)
            })
            .await
        };
        let mut applied = match send().await {
            Err(Failure::Request(e)) if e.is_immutable_change() && self.forced(object).await => {
                // kustomize-controller's `force`: what cannot be changed is made anew.
                self.progress.note(&format!("recreating {target}: {e}"));
                self.delete_and_forget(target).await?;
                send().await
            }
            other => other,
        }
        .map_err(|e| self.failed(target, "apply", e))?;
        if target.kind == "Namespace" && applied["metadata"]["deletionTimestamp"].is_string() {
            // Still going from an earlier prune: nothing can be created in it until it
            // is gone, so it is created anew then.
            self.progress.waiting(&format!(
                "{target} is being deleted; creating it again once it is gone"
            ));
            self.until_gone(target).await?;
            applied = send().await.map_err(|e| self.failed(target, "apply", e))?;
        }
        if matches!(
            target.kind.as_str(),
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
        ) {
            run.webhooks.register(target, &object.value);
        }
        Ok(applied)
    }

    /// Whether kustomize-controller would force `object` (recreate it when an apply is
    /// refused): its Kustomization's `force`, or the object's `force: enabled` mark, on
    /// the bundle's object or the live one.
    async fn forced(&self, object: &PlannedObject) -> bool {
        if self.plan.policy.is_some_and(|p| p.force) {
            return true;
        }
        if self.plan.policy.is_none() {
            return false;
        }
        if flux_marked(&object.value, "force", "enabled") {
            return true;
        }
        let live = self.cluster().get_if_served(&object.target).await;
        matches!(live, Ok(Some(live)) if flux_marked(&live, "force", "enabled"))
    }

    async fn wait(&self, targets: &[ObjectRef]) -> Result<(), Outcome> {
        wait::until_ready(
            self.cluster(),
            targets,
            self.deadline,
            &self.run.stop,
            self.progress,
        )
        .await
        .map_err(|e| match e {
            WaitError::Timeout(lines) => Outcome::TimedOut(format!(
                "not ready after {}:\n{}",
                humanize(self.plan.timeout),
                lines.join("\n")
            )),
            WaitError::Failed(m) => Outcome::Failed(m),
            WaitError::Interrupted(Failure::Stopped) => Outcome::Interrupted,
            WaitError::Interrupted(f) => Outcome::Failed(f.to_string()),
        })
    }

    /// Runs the hooks of `event` in order, as Helm does: each is created and waited for;
    /// those whose policy says `hook-succeeded` are deleted only once every hook of the
    /// event succeeded (later hooks may use earlier ones: a Job its ServiceAccount), in
    /// reverse order; when one fails, it goes by `hook-failed` and the ones before it by
    /// `hook-succeeded`.
    async fn hooks(&mut self, event: HookEvent) -> Result<(), Outcome> {
        let hooks: Vec<&Hook> = self.plan.hooks_at(event).collect();
        for (ran, hook) in hooks.iter().enumerate() {
            let target = &hook.object.target;
            self.progress.note(&format!("running hook {target}"));
            if hook.delete.before_creation {
                self.delete_and_forget(target).await?;
            }
            self.apply_one(&hook.object).await?;
            self.hooks += 1;
            let Err(outcome) = self.wait(std::slice::from_ref(target)).await else {
                continue;
            };
            if matches!(outcome, Outcome::Failed(_) | Outcome::TimedOut(_)) {
                if hook.delete.on_failure {
                    self.delete_and_forget(target).await?;
                }
                self.delete_succeeded(&hooks[..ran]).await?;
            }
            return Err(match outcome {
                Outcome::Failed(m) => Outcome::Failed(format!("hook {target} failed: {m}")),
                Outcome::TimedOut(m) => Outcome::TimedOut(format!("hook {target}: {m}")),
                other => other,
            });
        }
        self.delete_succeeded(&hooks).await
    }

    /// Deletes the hooks whose policy is `hook-succeeded`, last first.
    async fn delete_succeeded(&self, hooks: &[&Hook]) -> Result<(), Outcome> {
        for hook in hooks.iter().rev().filter(|h| h.delete.on_success) {
            self.delete_and_forget(&hook.object.target).await?;
        }
        Ok(())
    }

    /// Deletes an object and waits until it is gone.
    async fn delete_and_forget(&self, target: &ObjectRef) -> Result<(), Outcome> {
        let run = self.run;
        let existed = retry(self.deadline, &run.stop, || async {
            match self.cluster().delete(target).await {
                Err(RequestError::NoKind { .. }) => Ok(false),
                other => other,
            }
        })
        .await
        .map_err(|e| self.failed(target, "delete", e))?;
        if !existed {
            return Ok(());
        }
        self.until_gone(target).await
    }

    /// Waits until an object being deleted is gone.
    async fn until_gone(&self, target: &ObjectRef) -> Result<(), Outcome> {
        let run = self.run;
        let mut backoff = Backoff::polling();
        loop {
            let live = retry(self.deadline, &run.stop, || self.cluster().get(target))
                .await
                .map_err(|e| self.failed(target, "delete", e))?;
            if live.is_none() {
                return Ok(());
            }
            backoff
                .pause(self.deadline, &run.stop)
                .await
                .map_err(|p| match p {
                    Pause::Deadline => {
                        Outcome::TimedOut(format!("{target} was deleted but is still there"))
                    }
                    Pause::Stopped => Outcome::Interrupted,
                })?;
        }
    }

    fn failed(&self, target: &ObjectRef, what: &str, failure: Failure) -> Outcome {
        match failure {
            Failure::Stopped => Outcome::Interrupted,
            Failure::Deadline { .. } => Outcome::TimedOut(format!(
                "cannot {what} {target} within {}: {failure}",
                humanize(self.plan.timeout)
            )),
            Failure::Request(RequestError::Conflict { message, fields }) => {
                let mut text = format!(
                    "cannot {what} {target}: {message}\n  fields owned by other managers (apply with --force-conflicts to take them over as {FIELD_MANAGER:?}):"
                );
                for field in fields {
                    text.push_str(&format!("\n    {}: {}", field.field, field.message));
                }
                Outcome::Failed(text)
            }
            Failure::Request(e) => Outcome::Failed(format!("cannot {what} {target}: {e}")),
        }
    }
}

/// Whether kustomize-controller leaves an object alone: marked `reconcile: disabled` or
/// `ssa: Ignore` (on the bundle's object or the live one), or marked `ssa: IfNotPresent`
/// and present.
fn skipped_by_flux(object: &Value, live: Option<&Value>) -> bool {
    let excluded =
        |o: &Value| flux_marked(o, "reconcile", "disabled") || flux_marked(o, "ssa", "Ignore");
    excluded(object)
        || live.is_some_and(excluded)
        || (live.is_some() && flux_marked(object, "ssa", "IfNotPresent"))
}

/// Whether `kustomize.toolkit.fluxcd.io/<key>: <value>` is among the object's labels or
/// annotations (fluxcd/pkg/ssa `AnyInMetadata`).
pub(super) fn flux_marked(object: &Value, key: &str, value: &str) -> bool {
    let key = format!("kustomize.toolkit.fluxcd.io/{key}");
    ["labels", "annotations"]
        .iter()
        .any(|field| object["metadata"][field][&key] == value)
}

/// Whether two states of an object hold the same content: bookkeeping the server keeps
/// (resource version, managed fields: a first apply to an object nobody owned a field of
/// records them) and status (controllers write it at any time) aside.
fn same_content(before: &Value, after: &Value) -> bool {
    let content = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("status");
        }
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        v
    };
    content(before) == content(after)
}

/// `10m`, `1h30m`, `45s`.
pub fn humanize(d: Duration) -> String {
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}
