//! Stand-ins for kube-controller-manager, the CRD/APIService controllers and a kubelet
//! with one node (`stand-in`). Each tick advances every object by at most one step, so a
//! client sees the same intermediate states (stale observedGeneration, pending pods) it
//! would see in a real cluster.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Shared;
use super::catalog::{self, condition_true};
use super::selectors::LabelSelector;
use super::store::{Key, Store, meta_str, now_rfc3339};
use super::write::owner_uids;

/// The only node.
const NODE: &str = "stand-in";
/// Image registry host whose pods never become Ready.
const NEVER_READY_HOST: &str = "never-ready.invalid";

/// Objects a fresh cluster has.
pub fn seed(store: &mut Store) {
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        store.stamp_new(&mut ns, false);
        store.create(Key::of("", "namespaces", &ns), ns);
    }
}

/// Tick forever at the configured speed.
pub async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_millis(
            shared.step_ms.load(Ordering::Relaxed),
        ))
        .await;
        step(&mut shared.lock().store);
    }
}

fn step(store: &mut Store) {
    namespaces(store);
    crds(store);
    garbage_collect(store);
    apiservices(store);
    kubelet(store);
    deployments(store);
    replicasets(store);
    statefulsets(store);
    daemonsets(store);
    jobs(store);
    endpoint_slices(store);
}

fn objects(store: &Store, group: &str, plural: &str) -> Vec<(Key, Value)> {
    store.list(group, plural, None)
}

fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
}

/// Write `new` over `old` when it differs.
fn save(store: &mut Store, key: &Key, old: &Value, mut new: Value, generation: bool) {
    if *old != new {
        store.prepare_update(old, &mut new, generation);
        store.update(key.clone(), new);
    }
}

fn set_status(store: &mut Store, key: &Key, obj: &Value, status: Value) {
    let mut new = obj.clone();
    new["status"] = status;
    save(store, key, obj, new, false);
}

/// A condition, keeping the old timestamps when nothing about it changed.
fn condition(
    previous: &Value,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    update_time: bool,
) -> Value {
    let status = if status { "True" } else { "False" };
    let old = previous
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind));
    let now = now_rfc3339();
    let same = old.is_some_and(|o| o["status"] == status && o["reason"] == reason);
    let keep = |field: &str| {
        old.filter(|_| same)
            .and_then(|o| o.get(field).cloned())
            .unwrap_or(json!(now))
    };
    let mut c = Map::new();
    c.insert("type".into(), json!(kind));
    c.insert("status".into(), json!(status));
    if update_time {
        c.insert("lastUpdateTime".into(), keep("lastUpdateTime"));
    }
    c.insert("lastTransitionTime".into(), keep("lastTransitionTime"));
    c.insert("reason".into(), json!(reason));
    c.insert("message".into(), json!(message));
    Value::Object(c)
}

/// Insert `n` unless zero (status counters are `omitempty`).
fn counter(status: &mut Value, field: &str, n: usize) {
    if n > 0 {
        status[field] = json!(n);
    }
}

fn owner_ref(obj: &Value, api_version: &str, kind: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta_str(obj, "name"),
           "uid": meta_str(obj, "uid"), "controller": true, "blockOwnerDeletion": true})
}

/// Objects of `plural` in `namespace` controlled by `owner`.
fn owned(store: &Store, group: &str, plural: &str, owner: &Value) -> Vec<(Key, Value)> {
    let uid = meta_str(owner, "uid");
    store
        .list(group, plural, Some(meta_str(owner, "namespace")))
        .into_iter()
        .filter(|(_, o)| owner_uids(o).any(|u| u == uid))
        .collect()
}

/// The hash Kubernetes puts in `pod-template-hash`: FNV-1a of the template, its decimal
/// digits mapped onto the safe alphabet.
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    for b in template.to_string().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|d| ALPHABET[usize::from(d) % ALPHABET.len()] as char)
        .collect()
}

fn create_pod(
    store: &mut Store,
    owner: &Value,
    name: &str,
    template: &Value,
    owner_ref: Value,
    extra: &[(&str, String)],
) {
    // The ServiceAccount admission plugin refuses a pod whose service account is missing
    // ("error looking up service account"); the owner's controller tries again later.
    let account = template
        .pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty() && *a != "default");
    if let Some(account) = account {
        let key = Key {
            group: String::new(),
            plural: "serviceaccounts".into(),
            namespace: meta_str(owner, "namespace").into(),
            name: account.into(),
        };
        if store.get(&key).is_none() {
            let message = format!(
                "Error creating: pods {name:?} is forbidden: error looking up service account {}/{account}: serviceaccount {account:?} not found",
                key.namespace
            );
            warn(store, owner, &owner_ref, "FailedCreate", &message);
            return;
        }
    }
    let mut labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    for (k, v) in extra {
        labels[*k] = json!(v);
    }
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": meta_str(owner, "namespace"), "labels": labels,
                     "ownerReferences": [owner_ref]},
        "spec": template.get("spec").cloned().unwrap_or(json!({}))});
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        pod["metadata"]["annotations"] = annotations.clone();
    }
    store.stamp_new(&mut pod, false);
    store.create(Key::of("", "pods", &pod), pod);
}

/// Records a Warning event about `owner` once (the real controllers count repeats).
fn warn(store: &mut Store, owner: &Value, owner_ref: &Value, reason: &str, message: &str) {
    let namespace = meta_str(owner, "namespace").to_string();
    let name = format!("{}.{}", meta_str(owner, "name"), reason.to_lowercase());
    let key = Key {
        group: String::new(),
        plural: "events".into(),
        namespace: namespace.clone(),
        name: name.clone(),
    };
    if store.get(&key).is_some() {
        return;
    }
    let mut event = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"apiVersion": owner_ref["apiVersion"], "kind": owner_ref["kind"],
            "name": meta_str(owner, "name"), "namespace": namespace,
            "uid": meta_str(owner, "uid")},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339()});
    store.stamp_new(&mut event, false);
    store.create(key, event);
}

fn pod_ready(pod: &Value) -> bool {
    !deleting(pod)
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

fn replicas(obj: &Value) -> usize {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize
}

fn namespaces(store: &mut Store) {
    for (key, ns) in objects(store, "", "namespaces") {
        if !deleting(&ns) {
            continue;
        }
        let contents: Vec<Key> = store
            .all()
            .filter(|(k, _)| k.namespace == key.name)
            .map(|(k, _)| k.clone())
            .collect();
        for k in contents {
            store.remove(&k);
        }
        store.remove(&key);
    }
}

fn crds(store: &mut Store) {
    for (key, crd) in objects(store, "apiextensions.k8s.io", "customresourcedefinitions") {
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if deleting(&crd) {
            for (k, _) in store.list(&group, &plural, None) {
                store.remove(&k);
            }
            let mut new = crd.clone();
            new["metadata"]["finalizers"] = json!([]);
            store.update(key, new);
            continue;
        }
        let previous = crd
            .pointer("/status/conditions")
            .cloned()
            .unwrap_or(json!([]));
        let mut status = crd.get("status").cloned().unwrap_or(json!({}));
        let mut new = crd.clone();
        if !condition_true(&crd, "NamesAccepted") {
            let mut names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
            let kind = names["kind"].as_str().unwrap_or_default().to_string();
            if names.get("singular").is_none() {
                names["singular"] = json!(kind.to_lowercase());
            }
            if names.get("listKind").is_none() {
                names["listKind"] = json!(format!("{kind}List"));
            }
            status["acceptedNames"] = names;
            status["conditions"] = json!([condition(
                &previous,
                "NamesAccepted",
                true,
                "NoConflicts",
                "no conflicts found",
                false
            )]);
            let storage: Vec<Value> = crd
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|v| v["storage"] == true)
                .map(|v| v["name"].clone())
                .collect();
            status["storedVersions"] = json!(storage);
            new["metadata"]["finalizers"] = json!(["customresourcecleanup.apiextensions.k8s.io"]);
        } else if !condition_true(&crd, "Established") {
            let mut conditions = previous.as_array().cloned().unwrap_or_default();
            conditions.push(condition(
                &previous,
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted",
                false,
            ));
            status["conditions"] = json!(conditions);
        }
        new["status"] = status;
        save(store, &key, &crd, new, false);
    }
    // Objects of custom resources whose definition is gone go with it.
    let served = catalog::all(store);
    let builtin_or_served = |k: &Key| {
        served
            .iter()
            .any(|r| r.group == k.group && r.plural == k.plural)
    };
    let orphans: Vec<Key> = store
        .all()
        .filter(|(k, _)| !builtin_or_served(k))
        .map(|(k, _)| k.clone())
        .collect();
    for k in orphans {
        store.remove(&k);
    }
}

fn garbage_collect(store: &mut Store) {
    let uids: std::collections::BTreeSet<String> = store
        .all()
        .map(|(_, o)| meta_str(o, "uid").to_string())
        .collect();
    let mut doomed = Vec::new();
    let mut foreground_done = Vec::new();
    for (key, obj) in store.all() {
        let owners: Vec<&str> = owner_uids(obj).collect();
        if !owners.is_empty() && owners.iter().all(|u| !uids.contains(*u)) {
            doomed.push(key.clone());
        }
        let foreground = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.contains(&json!("foregroundDeletion")));
        if foreground && deleting(obj) {
            let uid = meta_str(obj, "uid");
            let dependents: Vec<Key> = store
                .all()
                .filter(|(_, o)| owner_uids(o).any(|u| u == uid))
                .map(|(k, _)| k.clone())
                .collect();
            if dependents.is_empty() {
                foreground_done.push(key.clone());
            }
            doomed.extend(dependents);
        }
    }
    for key in doomed {
        let Some(obj) = store.get(&key).cloned() else {
            continue;
        };
        let finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if finalizers {
            if !deleting(&obj) {
                let mut new = obj.clone();
                new["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                store.update(key, new);
            }
        } else {
            store.remove(&key);
        }
    }
    for key in foreground_done {
        let Some(mut obj) = store.get(&key).cloned() else {
            continue;
        };
        if let Some(f) = obj
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            f.retain(|x| x != "foregroundDeletion");
        }
        store.update(key, obj);
    }
}

fn apiservices(store: &mut Store) {
    for (key, svc) in objects(store, "apiregistration.k8s.io", "apiservices") {
        let previous = svc
            .pointer("/status/conditions")
            .cloned()
            .unwrap_or(json!([]));
        let (reason, message) = if svc.pointer("/spec/service").is_some_and(|s| !s.is_null()) {
            ("Passed", "all checks passed")
        } else {
            ("Local", "Local APIServices are always available")
        };
        let status = json!({"conditions": [condition(&previous, "Available", true, reason, message, false)]});
        set_status(store, &key, &svc, status);
    }
}

fn never_ready_image(pod: &Value) -> Option<String> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .find(|image| {
            image
                .split_once('/')
                .is_some_and(|(host, _)| host == NEVER_READY_HOST)
        })
        .map(String::from)
}

fn container_statuses(pod: &Value, state: &Value, ready: bool) -> Value {
    let list: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "state": state, "ready": ready, "restartCount": 0,
                        "image": c["image"], "imageID": "", "started": ready})
        })
        .collect();
    json!(list)
}

fn pod_conditions(ready: bool, reason: Option<&str>) -> Value {
    let now = now_rfc3339();
    let flag = |b: bool| if b { "True" } else { "False" };
    let mut out = vec![
        json!({"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}),
        json!({"type": "Ready", "status": flag(ready), "lastProbeTime": null, "lastTransitionTime": now}),
        json!({"type": "ContainersReady", "status": flag(ready), "lastProbeTime": null, "lastTransitionTime": now}),
        json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}),
    ];
    if let Some(reason) = reason {
        for c in &mut out[1..3] {
            c["reason"] = json!(reason);
        }
    }
    json!(out)
}

fn owned_by_job(pod: &Value) -> bool {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|r| r["kind"] == "Job"))
}

fn kubelet(store: &mut Store) {
    let pods = objects(store, "", "pods");
    for (index, (key, pod)) in pods.into_iter().enumerate() {
        if deleting(&pod) {
            store.remove(&key);
            continue;
        }
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut new = pod.clone();
        match phase.as_str() {
            "" => {
                new["spec"]["nodeName"] = json!(NODE);
                new["status"] = json!({"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}],
                    "qosClass": "BestEffort"});
            }
            "Pending" => {
                let mut status = new["status"].clone();
                status["hostIP"] = json!("10.0.0.10");
                status["podIP"] = json!(format!("10.244.{}.{}", index / 250, index % 250 + 2));
                status["podIPs"] = json!([{"ip": status["podIP"]}]);
                status["startTime"] = json!(now_rfc3339());
                if let Some(image) = never_ready_image(&pod) {
                    if pod.pointer("/status/containerStatuses").is_some() {
                        continue;
                    }
                    let waiting = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}});
                    status["conditions"] = pod_conditions(false, Some("ContainersNotReady"));
                    status["containerStatuses"] = container_statuses(&pod, &waiting, false);
                } else {
                    status["phase"] = json!("Running");
                    status["conditions"] = pod_conditions(true, None);
                    let running = json!({"running": {"startedAt": now_rfc3339()}});
                    status["containerStatuses"] = container_statuses(&pod, &running, true);
                }
                new["status"] = status;
            }
            "Running" if owned_by_job(&pod) => {
                let mut status = new["status"].clone();
                status["phase"] = json!("Succeeded");
                status["conditions"] = pod_conditions(false, Some("PodCompleted"));
                let done = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": status["startTime"], "finishedAt": now_rfc3339()}});
                status["containerStatuses"] = container_statuses(&pod, &done, false);
                new["status"] = status;
            }
            _ => continue,
        }
        save(store, &key, &pod, new, false);
    }
}

fn deployments(store: &mut Store) {
    for (key, d) in objects(store, "apps", "deployments") {
        if deleting(&d) {
            continue;
        }
        let desired = replicas(&d);
        let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let rs_name = format!("{}-{hash}", key.name);
        let sets = owned(store, "apps", "replicasets", &d);
        let pods_of = |rs: &Value| {
            owned(store, "", "pods", rs)
                .into_iter()
                .filter(|(_, p)| !deleting(p))
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
        };
        let all_pods: Vec<Value> = sets.iter().flat_map(|(_, rs)| pods_of(rs)).collect();
        let new_pods: Vec<Value> = sets
            .iter()
            .filter(|(k, _)| k.name == rs_name)
            .flat_map(|(_, rs)| pods_of(rs))
            .collect();
        let ready = all_pods.iter().filter(|p| pod_ready(p)).count();
        let old_pods = all_pods.len() - new_pods.len();

        let previous = d
            .pointer("/status/conditions")
            .cloned()
            .unwrap_or(json!([]));
        let mut status = json!({"observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
        counter(&mut status, "replicas", all_pods.len());
        counter(&mut status, "updatedReplicas", new_pods.len());
        counter(&mut status, "readyReplicas", ready);
        counter(&mut status, "availableReplicas", ready);
        counter(
            &mut status,
            "unavailableReplicas",
            all_pods.len().max(desired).saturating_sub(ready),
        );
        let available = ready >= desired;
        let complete = available
            && new_pods.len() == desired
            && old_pods == 0
            && new_pods.iter().all(pod_ready);
        let (progress_reason, progress_message) = if complete {
            (
                "NewReplicaSetAvailable",
                format!("ReplicaSet {rs_name:?} has successfully progressed."),
            )
        } else {
            (
                "ReplicaSetUpdated",
                format!("ReplicaSet {rs_name:?} is progressing."),
            )
        };
        status["conditions"] = json!([
            if available {
                condition(
                    &previous,
                    "Available",
                    true,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    true,
                )
            } else {
                condition(
                    &previous,
                    "Available",
                    false,
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    true,
                )
            },
            condition(
                &previous,
                "Progressing",
                true,
                progress_reason,
                &progress_message,
                true
            ),
        ]);
        set_status(store, &key, &d, status);

        // Children: the ReplicaSet of the current template, older ones scaled to zero.
        for (rs_key, rs) in &sets {
            let want = if rs_key.name == rs_name { desired } else { 0 };
            if replicas(rs) != want {
                let mut scaled = rs.clone();
                scaled["spec"]["replicas"] = json!(want);
                save(store, rs_key, rs, scaled, true);
            }
        }
        if !sets.iter().any(|(k, _)| k.name == rs_name) {
            let mut labels = template
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            labels["pod-template-hash"] = json!(hash);
            let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let mut rs_template = template.clone();
            rs_template["metadata"]["labels"] = labels.clone();
            let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": key.namespace, "labels": labels,
                             "annotations": {"deployment.kubernetes.io/desired-replicas": desired.to_string()},
                             "ownerReferences": [owner_ref(&d, "apps/v1", "Deployment")]},
                "spec": {"replicas": desired, "selector": selector, "template": rs_template}});
            store.stamp_new(&mut rs, true);
            store.create(Key::of("apps", "replicasets", &rs), rs);
        }
    }
}

fn replicasets(store: &mut Store) {
    for (key, rs) in objects(store, "apps", "replicasets") {
        if deleting(&rs) {
            continue;
        }
        let desired = replicas(&rs);
        let pods: Vec<(Key, Value)> = owned(store, "", "pods", &rs)
            .into_iter()
            .filter(|(_, p)| !deleting(p))
            .collect();
        let ready = pods.iter().filter(|(_, p)| pod_ready(p)).count();
        let mut status = json!({"replicas": pods.len(), "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
        counter(&mut status, "fullyLabeledReplicas", pods.len());
        counter(&mut status, "readyReplicas", ready);
        counter(&mut status, "availableReplicas", ready);
        set_status(store, &key, &rs, status);
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        for _ in pods.len()..desired {
            let name = format!("{}-{}", key.name, store.suffix(5));
            create_pod(
                store,
                &rs,
                &name,
                &template,
                owner_ref(&rs, "apps/v1", "ReplicaSet"),
                &[],
            );
        }
        for (pod_key, _) in pods.iter().skip(desired) {
            store.remove(pod_key);
        }
    }
}

fn statefulsets(store: &mut Store) {
    for (key, sts) in objects(store, "apps", "statefulsets") {
        if deleting(&sts) {
            continue;
        }
        let desired = replicas(&sts);
        let template = sts.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let revision = format!("{}-{}", key.name, template_hash(&template));
        let pods: Vec<(Key, Value)> = owned(store, "", "pods", &sts)
            .into_iter()
            .filter(|(_, p)| !deleting(p))
            .collect();
        let revision_of = |p: &Value| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let ready = pods.iter().filter(|(_, p)| pod_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|(_, p)| revision_of(p) == revision)
            .count();
        let current_revision = match sts
            .pointer("/status/currentRevision")
            .and_then(Value::as_str)
        {
            Some(current) if updated < desired => current.to_string(),
            _ => revision.clone(),
        };
        let current = pods
            .iter()
            .filter(|(_, p)| revision_of(p) == current_revision)
            .count();
        let mut status = json!({"observedGeneration": sts.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
            "replicas": pods.len(), "currentRevision": current_revision, "updateRevision": revision, "collisionCount": 0});
        counter(&mut status, "readyReplicas", ready);
        counter(&mut status, "currentReplicas", current);
        counter(&mut status, "updatedReplicas", updated);
        counter(&mut status, "availableReplicas", ready);
        set_status(store, &key, &sts, status);

        // OrderedReady: one change at a time, only while every existing pod is ready.
        let all_ready = ready == pods.len();
        let ordinal = |k: &Key| {
            k.name
                .rsplit('-')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        };
        if let Some((extra, _)) = pods
            .iter()
            .filter(|(k, _)| ordinal(k) >= desired)
            .max_by_key(|(k, _)| ordinal(k))
        {
            store.remove(extra);
        } else if let Some(missing) =
            (0..desired).find(|i| !pods.iter().any(|(k, _)| ordinal(k) == *i))
        {
            if all_ready {
                let name = format!("{}-{missing}", key.name);
                let extra = [
                    ("controller-revision-hash", revision.clone()),
                    ("statefulset.kubernetes.io/pod-name", name.clone()),
                ];
                create_pod(
                    store,
                    &sts,
                    &name,
                    &template,
                    owner_ref(&sts, "apps/v1", "StatefulSet"),
                    &extra,
                );
            }
        } else if all_ready
            && let Some((stale, _)) = pods
                .iter()
                .filter(|(_, p)| revision_of(p) != revision)
                .max_by_key(|(k, _)| ordinal(k))
        {
            store.remove(stale);
        }
    }
}

fn daemonsets(store: &mut Store) {
    for (key, ds) in objects(store, "apps", "daemonsets") {
        if deleting(&ds) {
            continue;
        }
        let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let pods: Vec<(Key, Value)> = owned(store, "", "pods", &ds)
            .into_iter()
            .filter(|(_, p)| !deleting(p))
            .collect();
        let is_current = |p: &Value| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                == Some(hash.as_str())
        };
        let ready = pods.iter().filter(|(_, p)| pod_ready(p)).count();
        let updated = pods.iter().filter(|(_, p)| is_current(p)).count();
        let mut status = json!({"currentNumberScheduled": pods.len(), "desiredNumberScheduled": 1, "numberMisscheduled": 0,
            "numberReady": ready, "observedGeneration": ds.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
        counter(&mut status, "updatedNumberScheduled", updated);
        counter(&mut status, "numberAvailable", ready);
        counter(
            &mut status,
            "numberUnavailable",
            1usize.saturating_sub(ready),
        );
        set_status(store, &key, &ds, status);
        for (pod_key, _) in pods.iter().filter(|(_, p)| !is_current(p)) {
            store.remove(pod_key);
        }
        if updated == 0 {
            let name = format!("{}-{}", key.name, store.suffix(5));
            create_pod(
                store,
                &ds,
                &name,
                &template,
                owner_ref(&ds, "apps/v1", "DaemonSet"),
                &[("controller-revision-hash", hash.clone())],
            );
        }
    }
}

fn jobs(store: &mut Store) {
    for (key, job) in objects(store, "batch", "jobs") {
        if deleting(&job) {
            continue;
        }
        let completions = job
            .pointer("/spec/completions")
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize;
        let pods: Vec<Value> = owned(store, "", "pods", &job)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let phase = |p: &Value| {
            p.pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count();
        let active = pods.len() - succeeded;
        let previous = job.get("status").cloned().unwrap_or(json!({}));
        let mut status = json!({});
        status["startTime"] = previous
            .get("startTime")
            .cloned()
            .unwrap_or(json!(now_rfc3339()));
        counter(&mut status, "active", active);
        counter(&mut status, "succeeded", succeeded);
        status["ready"] = json!(pods.iter().filter(|p| pod_ready(p)).count());
        let done = succeeded >= completions;
        if done {
            status["completionTime"] = previous
                .get("completionTime")
                .cloned()
                .unwrap_or(json!(now_rfc3339()));
            let conditions = previous.get("conditions").cloned().unwrap_or(json!([]));
            status["conditions"] = json!([{
                "type": "Complete", "status": "True",
                "lastProbeTime": conditions.pointer("/0/lastProbeTime").cloned().unwrap_or(json!(now_rfc3339())),
                "lastTransitionTime": conditions.pointer("/0/lastTransitionTime").cloned().unwrap_or(json!(now_rfc3339())),
            }]);
        }
        status["uncountedTerminatedPods"] = json!({});
        set_status(store, &key, &job, status);
        if !done && active == 0 {
            let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
            let uid = meta_str(&job, "uid").to_string();
            let name = format!("{}-{}", key.name, store.suffix(5));
            let extra = [
                ("batch.kubernetes.io/controller-uid", uid.clone()),
                ("batch.kubernetes.io/job-name", key.name.clone()),
                ("controller-uid", uid),
                ("job-name", key.name.clone()),
            ];
            create_pod(
                store,
                &job,
                &name,
                &template,
                owner_ref(&job, "batch/v1", "Job"),
                &extra,
            );
        }
    }
}

/// The port an EndpointSlice lists for a Service port: a numeric targetPort, a named one
/// looked up in the pods' containers, else the Service port.
fn target_port(port: &Value, pods: &[Value]) -> Value {
    match &port["targetPort"] {
        Value::Number(n) => Value::Number(n.clone()),
        Value::String(name) => pods
            .iter()
            .flat_map(|p| {
                p.pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|cp| cp["name"] == *name)
            .map_or(port["port"].clone(), |cp| cp["containerPort"].clone()),
        _ => port["port"].clone(),
    }
}

fn endpoint_slices(store: &mut Store) {
    for (_, svc) in objects(store, "", "services") {
        let Some(selector) = svc
            .pointer("/spec/selector")
            .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
        else {
            continue;
        };
        let selector = LabelSelector::from_map(selector);
        let name = meta_str(&svc, "name").to_string();
        let ns = meta_str(&svc, "namespace").to_string();
        let pods: Vec<Value> = store
            .list("", "pods", Some(&ns))
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| selector.matches_object(p) && p.pointer("/status/podIP").is_some())
            .collect();
        let endpoints: Vec<Value> = pods.iter().map(|p| {
            let ready = pod_ready(p);
            json!({"addresses": [p.pointer("/status/podIP")], "conditions": {"ready": ready, "serving": ready, "terminating": deleting(p)},
                   "nodeName": NODE, "targetRef": {"kind": "Pod", "namespace": ns, "name": meta_str(p, "name"), "uid": meta_str(p, "uid")}})
        }).collect();
        let ports: Vec<Value> = svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten().map(|p| {
            json!({"name": p.get("name").cloned().unwrap_or(json!("")), "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP")),
                   "port": target_port(p, &pods)})
        }).collect();
        let existing = owned(store, "discovery.k8s.io", "endpointslices", &svc)
            .into_iter()
            .next();
        match existing {
            Some((key, slice)) => {
                let mut new = slice.clone();
                new["endpoints"] = json!(endpoints);
                new["ports"] = json!(ports);
                save(store, &key, &slice, new, false);
            }
            None => {
                let mut slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": format!("{name}-{}", store.suffix(5)), "generateName": format!("{name}-"), "namespace": ns,
                                 "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                                 "ownerReferences": [owner_ref(&svc, "v1", "Service")]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": ports});
                store.stamp_new(&mut slice, false);
                store.create(Key::of("discovery.k8s.io", "endpointslices", &slice), slice);
            }
        }
    }
}
