//! What to apply and in which order, computed from a verified bundle before anything is
//! sent: components in `dependsOn` order, and inside a component CRDs, Namespaces, the
//! rest in Helm's install order, with Helm hooks set apart by phase and weight.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::cluster::ObjectRef;
use super::normalize::{Origin, Schemas, normalize};
use crate::bundle::{
    ApplyPolicy, ComponentEntry, CrdPolicy, ObjectEntry, ReleaseAction, ReleaseEntry,
    VerifiedBundle,
};
use crate::error::{Context, Error};
use crate::object::install_order;

/// How long a component may take when neither the bundle nor the command line says:
/// helm-controller's default `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The whole bundle, ready to apply.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The environment the bundle was built for (inventories are kept per environment).
    pub environment: String,
    /// The bundle digest.
    pub digest: String,
    /// Components that have something to apply, in a dependency-respecting order.
    pub components: Vec<ComponentPlan>,
}

/// One component: its objects by role, and what it waits for.
#[derive(Debug, Clone)]
pub struct ComponentPlan {
    /// The component id (`HelmRelease/bigbang/logging`).
    pub id: String,
    /// Components that must be ready before this one starts: its `dependsOn` and the
    /// component that declared it (whose output holds its namespace and values).
    pub needs: Vec<String>,
    /// How long applying and waiting may take.
    pub timeout: Duration,
    /// sha256 over the component's object entries: equal digests mean equal content.
    pub digest: String,
    /// CustomResourceDefinitions, applied first and waited on until Established.
    pub definitions: Vec<PlannedObject>,
    /// Namespaces, applied next.
    pub namespaces: Vec<PlannedObject>,
    /// Everything else that is not a hook, in Helm's install order.
    pub resources: Vec<PlannedObject>,
    /// Helm hooks, in weight then kind order.
    pub hooks: Vec<Hook>,
    /// Objects outside the component that must be ready too (Flux `healthChecks`).
    pub health_checks: Vec<ObjectRef>,
    /// How a Kustomization component's objects are applied (`None`: Helm's way, or the
    /// bootstrap's).
    pub policy: Option<ApplyPolicy>,
    /// The user the component's objects are applied as (its service account), if not
    /// the applier's own.
    pub service_account: Option<String>,
    /// The Flux controller that would apply the component's objects.
    pub origin: Origin,
    /// The Helm release's settings for the applier, for HelmRelease components.
    pub release: Option<ReleaseEntry>,
}

impl ComponentPlan {
    /// Every object the component keeps in the cluster (hooks are Helm's to manage, as
    /// Helm does not track them in a release either).
    pub fn kept(&self) -> impl Iterator<Item = &PlannedObject> {
        self.definitions
            .iter()
            .chain(&self.namespaces)
            .chain(&self.resources)
    }

    /// Every object of the component, hooks included.
    fn all_mut(&mut self) -> impl Iterator<Item = &mut PlannedObject> {
        self.definitions
            .iter_mut()
            .chain(&mut self.namespaces)
            .chain(&mut self.resources)
            .chain(self.hooks.iter_mut().map(|h| &mut h.object))
    }

    /// What an install (the first apply) or an upgrade (a later one) of the component
    /// skips; nothing for components that are not Helm releases.
    pub fn action(&self, upgrade: bool) -> ReleaseAction {
        self.release
            .as_ref()
            .map(|r| if upgrade { r.upgrade } else { r.install })
            .unwrap_or_default()
    }

    /// Whether the CustomResourceDefinition `target` is one of the chart's `crds/` that its
    /// policies leave alone: helm-controller creates one the cluster lacks unless the
    /// install policy is `Skip`, and updates one it has only under `CreateReplace`. crunch
    /// decides per CRD (absent: installed, present: upgraded), where helm-controller decides
    /// per release (first install or upgrade) and then applies the policy to every CRD.
    pub fn leaves_crd(&self, target: &ObjectRef, present: bool) -> bool {
        let Some(crds) = self.release.as_ref().and_then(|r| r.crds.as_ref()) else {
            return false;
        };
        if !crds.names.contains(&target.name) {
            return false;
        }
        if present {
            crds.upgrade != CrdPolicy::CreateReplace
        } else {
            crds.install == CrdPolicy::Skip
        }
    }

    /// The hooks that run at `event`, in order.
    pub fn hooks_at(&self, event: HookEvent) -> impl Iterator<Item = &Hook> {
        self.hooks.iter().filter(move |h| h.events.contains(&event))
    }
}

/// An object to apply.
#[derive(Debug, Clone)]
pub struct PlannedObject {
    /// What it is in the cluster.
    pub target: ObjectRef,
    /// The object as it is sent: the bundle's, once [`Plan::normalize`] made it what
    /// Flux's apply would store.
    pub value: Value,
}

impl PlannedObject {
    fn new(entry: &ObjectEntry, value: &Value) -> Self {
        Self {
            target: ObjectRef {
                api_version: entry.api_version.clone(),
                kind: entry.kind.clone(),
                namespace: entry.namespace.clone(),
                name: entry.name.clone(),
            },
            value: value.clone(),
        }
    }
}

/// The hook events an applier runs; `test` hooks never reach a bundle and delete and
/// rollback hooks belong to operations crunch does not perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookEvent {
    /// `pre-install`: before a component's first apply.
    PreInstall,
    /// `post-install`: after it, once everything is ready.
    PostInstall,
    /// `pre-upgrade`: before an apply that changes an applied component.
    PreUpgrade,
    /// `post-upgrade`: after it.
    PostUpgrade,
}

/// Helm's `helm.sh/hook-delete-policy` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletePolicy {
    /// `before-hook-creation` (Helm's default when no policy is given).
    pub before_creation: bool,
    /// `hook-succeeded`.
    pub on_success: bool,
    /// `hook-failed`.
    pub on_failure: bool,
}

/// A Helm hook object.
#[derive(Debug, Clone)]
pub struct Hook {
    /// The object.
    pub object: PlannedObject,
    /// The events it runs at, among those crunch runs.
    pub events: BTreeSet<HookEvent>,
    /// `helm.sh/hook-weight`.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`.
    pub delete: DeletePolicy,
}

impl Plan {
    /// The schemas of the bundle's own custom kinds (its CustomResourceDefinitions).
    pub fn schemas(&self) -> Schemas {
        let mut schemas = Schemas::default();
        for component in &self.components {
            for crd in &component.definitions {
                schemas.add(&crd.value);
            }
        }
        schemas
    }

    /// The kinds (`apiVersion`, `kind`) of objects whose schema `schemas` lacks.
    pub fn unknown_kinds(&self, schemas: &Schemas) -> BTreeSet<(String, String)> {
        self.components
            .iter()
            .flat_map(|c| c.kept().chain(c.hooks.iter().map(|h| &h.object)))
            .filter(|o| !schemas.knows(&o.target.api_version, &o.target.kind))
            .map(|o| (o.target.api_version.clone(), o.target.kind.clone()))
            .collect()
    }

    /// Makes every object what its Flux controller would have the API server store
    /// ([`normalize`](super::normalize)).
    pub fn normalize(&mut self, schemas: &Schemas) {
        for component in &mut self.components {
            let origin = component.origin;
            for object in component.all_mut() {
                normalize(&mut object.value, origin, schemas);
            }
        }
    }
}

/// Orders the bundle's components and sorts every component's objects.
pub fn plan(bundle: &VerifiedBundle, timeout_override: Option<Duration>) -> Result<Plan, Error> {
    let components = &bundle.index.components;
    let known: BTreeSet<&str> = components.iter().map(|c| c.id.as_str()).collect();
    let mut planned = BTreeMap::new();
    for component in components {
        let mut needs: Vec<String> = component.depends_on.clone();
        if let Some(parent) = &component.parent {
            needs.push(parent.clone());
        }
        for need in &needs {
            if !known.contains(need.as_str()) {
                return Err(
                    Error::new(format!("depends on {need}, which is not in the bundle"))
                        .within(&component.id),
                );
            }
        }
        needs.sort();
        needs.dedup();
        let timeout = match (timeout_override, &component.timeout) {
            (Some(t), _) => t,
            (None, Some(written)) => parse_duration(written).map_err(|e| {
                Error::new(format!("timeout {written:?}: {e}")).within(&component.id)
            })?,
            (None, None) => DEFAULT_TIMEOUT,
        };
        planned.insert(
            component.id.clone(),
            component_plan(bundle, component, needs, timeout)?,
        );
    }
    Ok(Plan {
        environment: bundle.index.environment.clone(),
        digest: bundle.digest.clone(),
        components: dependency_order(planned)?,
    })
}

fn component_plan(
    bundle: &VerifiedBundle,
    component: &ComponentEntry,
    needs: Vec<String>,
    timeout: Duration,
) -> Result<ComponentPlan, Error> {
    let mut plan = ComponentPlan {
        id: component.id.clone(),
        needs,
        timeout,
        digest: component_digest(component),
        definitions: Vec::new(),
        namespaces: Vec::new(),
        resources: Vec::new(),
        hooks: Vec::new(),
        health_checks: component.health_checks.clone(),
        policy: component.kustomization,
        service_account: component.service_account.as_ref().map(|a| a.username()),
        origin: component.kind.into(),
        release: component.release.clone(),
    };
    for (entry, value) in bundle.objects(component) {
        if !entry.apply {
            continue;
        }
        let object = PlannedObject::new(entry, value);
        let annotations = &value["metadata"]["annotations"];
        if let Some(events) = annotations.get("helm.sh/hook").and_then(Value::as_str) {
            if let Some(hook) = hook(object, events, annotations).within(&component.id)? {
                plan.hooks.push(hook);
            }
            continue;
        }
        match (entry.api_version.as_str(), entry.kind.as_str()) {
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
                plan.definitions.push(object)
            }
            ("v1", "Namespace") => plan.namespaces.push(object),
            _ => plan.resources.push(object),
        }
    }
    // Stable sorts: the bundle's own order (by identity) breaks ties.
    plan.resources
        .sort_by(|a, b| install_order(&a.target.kind, &b.target.kind));
    plan.hooks.sort_by(|a, b| {
        a.weight
            .cmp(&b.weight)
            .then_with(|| install_order(&a.object.target.kind, &b.object.target.kind))
    });
    Ok(plan)
}

/// Parses a hook's annotations; `None` for a hook that runs at no event crunch runs.
fn hook(object: PlannedObject, events: &str, annotations: &Value) -> Result<Option<Hook>, String> {
    let events: BTreeSet<HookEvent> = events
        .split(',')
        .filter_map(|event| match event.trim() {
            "pre-install" => Some(HookEvent::PreInstall),
            "post-install" => Some(HookEvent::PostInstall),
            "pre-upgrade" => Some(HookEvent::PreUpgrade),
            "post-upgrade" => Some(HookEvent::PostUpgrade),
            _ => None,
        })
        .collect();
    if events.is_empty() {
        return Ok(None);
    }
    // Helm reads the weight with strconv.Atoi and uses 0 when that fails.
    let weight = annotations
        .get("helm.sh/hook-weight")
        .and_then(Value::as_str)
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0);
    let mut delete = DeletePolicy::default();
    match annotations
        .get("helm.sh/hook-delete-policy")
        .and_then(Value::as_str)
    {
        None => delete.before_creation = true,
        Some(policies) => {
            for policy in policies.split(',').map(str::trim) {
                match policy {
                    "before-hook-creation" => delete.before_creation = true,
                    "hook-succeeded" => delete.on_success = true,
                    "hook-failed" => delete.on_failure = true,
                    "" => {}
                    other => {
                        return Err(format!(
                            "{}: unknown helm.sh/hook-delete-policy {other:?}",
                            object.target
                        ));
                    }
                }
            }
        }
    }
    Ok(Some(Hook {
        object,
        events,
        weight,
        delete,
    }))
}

/// The digest of a component's content: its entries' paths and hashes, and whether each
/// is applied.
fn component_digest(component: &ComponentEntry) -> String {
    let mut hasher = Sha256::new();
    for entry in &component.objects {
        hasher.update(entry.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(entry.sha256.as_bytes());
        hasher.update(if entry.apply { b"\x01" } else { b"\x00" });
    }
    format!("sha256:{}", crate::gostd::hex::encode(hasher.finalize()))
}

/// Kahn's algorithm with ties broken by id, so the order is stable; a cycle is an error
/// naming its members.
fn dependency_order(
    mut planned: BTreeMap<String, ComponentPlan>,
) -> Result<Vec<ComponentPlan>, Error> {
    let mut ordered = Vec::with_capacity(planned.len());
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !planned.is_empty() {
        let ready: Vec<String> = planned
            .values()
            .filter(|c| c.needs.iter().all(|n| done.contains(n)))
            .map(|c| c.id.clone())
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = planned.keys().map(String::as_str).collect();
            return Err(Error::new(format!(
                "dependency cycle among {}",
                stuck.join(", ")
            )));
        }
        for id in ready {
            if let Some(component) = planned.remove(&id) {
                ordered.push(component);
            }
            done.insert(id);
        }
    }
    Ok(ordered)
}

/// Parses a Go/Flux duration (`1h30m`, `90s`, `1.5m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            unit => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|e| format!("duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Bundle, Component, ComponentKind, Object, read, write};
    use serde_json::json;

    fn component(
        id: &str,
        depends_on: &[&str],
        parent: Option<&str>,
        objects: Vec<Value>,
    ) -> Component {
        Component {
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            timeout: Some("90s".into()),
            objects: objects
                .into_iter()
                .map(|value| Object {
                    value,
                    apply: true,
                    source: None,
                })
                .collect(),
            ..Component::new(id, ComponentKind::HelmRelease, parent.map(str::to_string))
        }
    }

    fn object(kind: &str, name: &str, annotations: Value) -> Value {
        let api_version = match kind {
            "Deployment" => "apps/v1",
            "Job" => "batch/v1",
            "CustomResourceDefinition" => "apiextensions.k8s.io/v1",
            _ => "v1",
        };
        json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "x", "annotations": annotations}})
    }

    fn planned(components: Vec<Component>) -> Result<Plan, Error> {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("b");
        let bundle = Bundle {
            environment: "dev".into(),
            kube_version: "v1.28.15".into(),
            sources: vec![],
            components,
        };
        write(&bundle, &out, &crate::bundle::Secrets::Plaintext).unwrap();
        plan(&read(&out).unwrap(), None)
    }

    #[test]
    fn components_follow_dependencies_and_parents() {
        let plan = planned(vec![
            component("b", &["c"], Some("a"), vec![]),
            component("a", &[], None, vec![]),
            component("c", &[], Some("a"), vec![]),
        ])
        .unwrap();
        let order: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(order, ["a", "c", "b"]);
        assert_eq!(plan.components[2].needs, ["a", "c"]);
        assert_eq!(plan.components[0].timeout, Duration::from_secs(90));
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_refused() {
        let e = planned(vec![
            component("a", &["b"], None, vec![]),
            component("b", &["a"], None, vec![]),
        ])
        .unwrap_err();
        assert_eq!(e.to_string(), "dependency cycle among a, b");
        let e = planned(vec![component("a", &["nope"], None, vec![])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a → depends on nope, which is not in the bundle"
        );
    }

    #[test]
    fn objects_are_sorted_by_role_install_order_and_hook_weight() {
        let plan = planned(vec![component(
            "a",
            &[],
            None,
            vec![
                object("Deployment", "web", json!({})),
                object("ConfigMap", "conf", json!({})),
                object("CustomResourceDefinition", "crd", json!({})),
                object(
                    "Job",
                    "late",
                    json!({"helm.sh/hook": "post-install", "helm.sh/hook-weight": "5"}),
                ),
                object(
                    "Job",
                    "early",
                    json!({"helm.sh/hook": "post-install,post-upgrade",
                    "helm.sh/hook-weight": "-1", "helm.sh/hook-delete-policy": "hook-succeeded"}),
                ),
                object("Pod", "test", json!({"helm.sh/hook": "test"})),
            ],
        )])
        .unwrap();
        let c = &plan.components[0];
        let names = |objects: &[PlannedObject]| -> Vec<String> {
            objects.iter().map(|o| o.target.name.clone()).collect()
        };
        assert_eq!(names(&c.definitions), ["crd"]);
        assert_eq!(names(&c.resources), ["conf", "web"]);
        let post: Vec<&str> = c
            .hooks_at(HookEvent::PostInstall)
            .map(|h| h.object.target.name.as_str())
            .collect();
        assert_eq!(post, ["early", "late"]);
        assert_eq!(c.hooks_at(HookEvent::PostUpgrade).count(), 1);
        let early = &c.hooks[0];
        assert_eq!(
            early.delete,
            DeletePolicy {
                before_creation: false,
                on_success: true,
                on_failure: false
            }
        );
        assert!(c.hooks[1].delete.before_creation, "Helm's default policy");
    }

    #[test]
    fn durations_parse_as_go_does() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10d").is_err());
        assert!(parse_duration("").is_err());
    }
}
