//! The kubelets' side of the pods bound to the nodes: addresses, container states, phases,
//! conditions, and final deletion.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use serde_json::{Value, json};

use super::addresses::{Dummy, FIRST_POD_IP, LAST_POD_IP, is_pod_ip};
use super::{Condition, Log, Node, conditions, now};

/// A pod that runs and is ready (or is about to be reported so): what to serve.
pub struct ReadyPod {
    pub ip: Ipv4Addr,
    pub namespace: String,
    /// Its labels, which Services select it by.
    pub labels: Value,
    /// Its containers' TCP ports.
    pub ports: BTreeSet<u16>,
}

/// What one pass over the nodes' pods found.
pub struct Pass {
    /// The pods that run, ready once `updates` are written.
    pub ready: Vec<ReadyPod>,
    /// Statuses to write.
    pub updates: Vec<Update>,
}

/// A pod status to write.
pub struct Update {
    namespace: String,
    name: String,
    status: Value,
}

/// The pods' addresses, by pod uid, and where they live.
pub struct Pods {
    /// Besides the pods' own addresses, it carries the address of a node other than the
    /// first while a host-network pod runs there: the pod's servers listen on it.
    dummy: Dummy,
    addresses: HashMap<String, Ipv4Addr>,
    /// Where the search for a free address starts: a released address comes round again
    /// only after all others, so a stale endpoint rarely names a new pod.
    next: u32,
}

/// What becomes of a pod.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its containers run and are ready.
    Runs,
    /// A Job's pod: its containers exit 0.
    Completes,
    /// An image comes from a `.invalid` registry: it waits for the pull forever.
    WaitsForImage,
}

impl Pods {
    pub fn new(dummy: Dummy) -> Pods {
        Pods {
            dummy,
            addresses: HashMap::new(),
            next: u32::from(FIRST_POD_IP),
        }
    }

    /// One pass over the nodes' pods: deletes terminating ones, hands out and releases
    /// addresses, and says which statuses to write ([`Pods::report`]); `None` when the pods
    /// could not be listed.
    pub async fn sync(&mut self, client: &kube::Client, log: &mut Log) -> Option<Pass> {
        // Every pod, keeping those bound to one of the nodes: a field selector can name
        // only one node.
        let listed = Api::<Pod>::all(client.clone())
            .list(&ListParams::default())
            .await;
        let pods: Vec<(Node, Value)> = match listed {
            Ok(list) => list
                .items
                .iter()
                .filter_map(|pod| serde_json::to_value(pod).ok())
                .filter_map(|pod| Some((Node::named(text(&pod, "/spec/nodeName"))?, pod)))
                .collect(),
            Err(error) => {
                log.error("listing the nodes' pods", error);
                return None;
            }
        };
        self.adopt(pods.iter().map(|(_, pod)| pod));
        let mut live = HashSet::new();
        let mut hosts = BTreeSet::new();
        let mut ready = Vec::new();
        let mut updates = Vec::new();
        for (node, pod) in &pods {
            let node = *node;
            let uid = text(pod, "/metadata/uid").to_string();
            if !pod["metadata"]["deletionTimestamp"].is_null() {
                delete(client, pod, log).await;
                continue;
            }
            if terminal(pod) {
                continue;
            }
            live.insert(uid);
            let fate = fate(pod);
            let ip = match fate {
                Fate::Completes => None,
                Fate::Runs | Fate::WaitsForImage if host_network(pod) => {
                    Some(self.host_address(node, &mut hosts, pod, log))
                }
                Fate::Runs | Fate::WaitsForImage => match self.address(pod, log) {
                    Some(ip) => Some(ip),
                    None => continue,
                },
            };
            let desired = status(pod, node, fate, ip);
            if differs(&pod["status"], &desired) {
                updates.push(Update {
                    namespace: text(pod, "/metadata/namespace").to_string(),
                    name: text(pod, "/metadata/name").to_string(),
                    status: desired,
                });
            }
            if let (Fate::Runs, Some(ip)) = (fate, ip) {
                ready.push(ReadyPod {
                    ip,
                    namespace: text(pod, "/metadata/namespace").to_string(),
                    labels: pod["metadata"]["labels"].clone(),
                    ports: container_ports(pod),
                });
            }
        }
        self.addresses.retain(|uid, _| live.contains(uid));
        let in_use = self.addresses.values().copied().chain(hosts).collect();
        self.dummy.retain(&in_use, log);
        Some(Pass { ready, updates })
    }

    /// Writes the statuses a [`Pods::sync`] decided on.
    pub async fn report(&self, client: &kube::Client, updates: Vec<Update>, log: &mut Log) {
        for update in updates {
            let patched = Api::<Pod>::namespaced(client.clone(), &update.namespace)
                .patch_status(
                    &update.name,
                    &PatchParams::default(),
                    &Patch::Strategic(json!({"status": update.status})),
                )
                .await;
            if let Err(error) = patched {
                let pod = format!("{}/{}", update.namespace, update.name);
                log.error(format!("writing the status of pod {pod}"), error);
            }
        }
    }

    /// Removes every address from `dummy0` (the data plane stops).
    pub fn release_all(&mut self, log: &mut Log) {
        self.addresses.clear();
        self.dummy.retain(&BTreeSet::new(), log);
    }

    /// Takes over the addresses live pods' statuses name (from an earlier data plane)
    /// before any new address is handed out.
    fn adopt<'a>(&mut self, pods: impl Iterator<Item = &'a Value>) {
        for pod in pods {
            let uid = text(pod, "/metadata/uid");
            if self.addresses.contains_key(uid)
                || !pod["metadata"]["deletionTimestamp"].is_null()
                || terminal(pod)
                || host_network(pod)
            {
                continue;
            }
            let Ok(ip) = text(pod, "/status/podIP").parse::<Ipv4Addr>() else {
                continue;
            };
            if is_pod_ip(ip) && !self.addresses.values().any(|a| *a == ip) {
                self.addresses.insert(uid.to_string(), ip);
            }
        }
    }

    /// The address of a host-network pod on `node`: the node's, put on `dummy0` (and into
    /// `hosts`, the node addresses in use) unless it is the first node's, which is there.
    fn host_address(
        &mut self,
        node: Node,
        hosts: &mut BTreeSet<Ipv4Addr>,
        pod: &Value,
        log: &mut Log,
    ) -> Ipv4Addr {
        let ip = node.ip();
        if node != Node::FIRST {
            hosts.insert(ip);
            if let Err(error) = self.dummy.add(ip) {
                log.error(format!("the address of pod {}", describe(pod)), error);
            }
        }
        ip
    }

    /// The address of a pod on the pod network, handed out and put on `dummy0` if need
    /// be; `None` when the range is exhausted.
    fn address(&mut self, pod: &Value, log: &mut Log) -> Option<Ipv4Addr> {
        let uid = text(pod, "/metadata/uid");
        let ip = match self.addresses.get(uid) {
            Some(ip) => *ip,
            None => {
                let Some(ip) = self.free_address() else {
                    log.error(
                        format!("pod {}", describe(pod)),
                        format!("no free address from {FIRST_POD_IP} to {LAST_POD_IP}"),
                    );
                    return None;
                };
                self.addresses.insert(uid.to_string(), ip);
                ip
            }
        };
        if let Err(error) = self.dummy.add(ip) {
            log.error(format!("the address of pod {}", describe(pod)), error);
        }
        Some(ip)
    }

    fn free_address(&mut self) -> Option<Ipv4Addr> {
        let taken: HashSet<Ipv4Addr> = self.addresses.values().copied().collect();
        let (first, last) = (u32::from(FIRST_POD_IP), u32::from(LAST_POD_IP));
        let size = last - first + 1;
        (0..size)
            .map(|step| first + (self.next - first + step) % size)
            .map(Ipv4Addr::from)
            .find(|ip| !taken.contains(ip))
            .inspect(|ip| self.next = first + (u32::from(*ip) - first + 1) % size)
    }
}

/// Deletes a terminating pod for good (grace period 0), as a kubelet does once its
/// containers are gone.
async fn delete(client: &kube::Client, pod: &Value, log: &mut Log) {
    // Already deleted at once; it waits for its finalizers.
    if pod["metadata"]["deletionGracePeriodSeconds"] == 0 {
        return;
    }
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(text(pod, "/metadata/uid").to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let deleted = Api::<Pod>::namespaced(client.clone(), text(pod, "/metadata/namespace"))
        .delete(text(pod, "/metadata/name"), &params)
        .await;
    match deleted {
        Ok(_) => {}
        // Gone already, or another pod of that name.
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
        Err(error) => log.error(format!("deleting pod {}", describe(pod)), error),
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn describe(pod: &Value) -> String {
    format!(
        "{}/{}",
        text(pod, "/metadata/namespace"),
        text(pod, "/metadata/name")
    )
}

fn terminal(pod: &Value) -> bool {
    matches!(text(pod, "/status/phase"), "Succeeded" | "Failed")
}

fn host_network(pod: &Value) -> bool {
    pod["spec"]["hostNetwork"] == true
}

fn containers<'a>(pod: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    pod["spec"][field].as_array().into_iter().flatten()
}

/// An init container that keeps running beside the others.
fn is_sidecar(container: &Value) -> bool {
    container["restartPolicy"] == "Always"
}

/// Whether the image comes from a registry whose host is in `.invalid`, the suite's
/// name for an image that can never be pulled (`never-ready.invalid/app:1`).
fn unpullable(container: &Value) -> bool {
    let image = container["image"].as_str().unwrap_or_default();
    image
        .split_once('/')
        .and_then(|(registry, _)| registry.split(':').next())
        .is_some_and(|host| host.ends_with(".invalid"))
}

fn fate(pod: &Value) -> Fate {
    let owned_by_job = pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|owners| owners.iter().any(|o| o["kind"] == "Job"));
    if containers(pod, "initContainers")
        .chain(containers(pod, "containers"))
        .any(unpullable)
    {
        Fate::WaitsForImage
    } else if owned_by_job {
        Fate::Completes
    } else {
        Fate::Runs
    }
}

/// The TCP ports the pod's long-running containers declare.
fn container_ports(pod: &Value) -> BTreeSet<u16> {
    containers(pod, "containers")
        .chain(containers(pod, "initContainers").filter(|c| is_sidecar(c)))
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .filter(|p| p["protocol"].as_str().unwrap_or("TCP") == "TCP")
        .filter_map(|p| p["containerPort"].as_u64())
        .filter_map(|n| u16::try_from(n).ok())
        .collect()
}

/// The status `node`'s kubelet would report for `pod` meeting `fate`, with address `ip`.
fn status(pod: &Value, node: Node, fate: Fate, ip: Option<Ipv4Addr>) -> Value {
    let now = now();
    let current = &pod["status"];
    let started = if current["startTime"].is_null() {
        now.clone()
    } else {
        current["startTime"].clone()
    };
    let uid = text(pod, "/metadata/uid");
    let report = |container: &Value, state: State| {
        let name = container["name"].as_str().unwrap_or_default();
        let image = container["image"].as_str().unwrap_or_default();
        let (state, ready, began) = match state {
            State::Running => (json!({"running": {"startedAt": started}}), true, true),
            State::Completed => (
                json!({"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": started, "finishedAt": now}}),
                true,
                false,
            ),
            State::Exited => (
                json!({"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": started, "finishedAt": now}}),
                false,
                false,
            ),
            State::Initializing => (
                json!({"waiting": {"reason": "PodInitializing"}}),
                false,
                false,
            ),
            State::PullBackOff => (
                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!(
                    "Back-off pulling image \"{image}\": ErrImagePull: failed to resolve \
                     reference \"{image}\": no such host")}}),
                false,
                false,
            ),
        };
        let mut status = json!({"name": name, "image": image, "imageID": "",
            "state": state, "lastState": {}, "ready": ready, "started": began,
            "restartCount": 0});
        if status["state"].get("waiting").is_none() {
            status["imageID"] = json!(format!("sha256:{}", crunch::gostd::sha256::hex(image)));
            status["containerID"] = json!(format!(
                "crunch-stand-in://{}",
                crunch::gostd::sha256::hex(format!("{uid}/{name}"))
            ));
        }
        (name.to_string(), ready, status)
    };

    // An init container waiting for its image holds back the ones after it and every
    // app container.
    let mut blocked = false;
    let init: Vec<(String, bool, Value)> = containers(pod, "initContainers")
        .map(|c| {
            let state = if blocked {
                State::Initializing
            } else if unpullable(c) {
                blocked = true;
                State::PullBackOff
            } else if is_sidecar(c) && fate != Fate::Completes {
                State::Running
            } else {
                State::Completed
            };
            report(c, state)
        })
        .collect();
    let apps: Vec<(String, bool, Value)> = containers(pod, "containers")
        .map(|c| {
            let state = if blocked {
                State::Initializing
            } else if unpullable(c) {
                State::PullBackOff
            } else if fate == Fate::Completes {
                State::Exited
            } else {
                State::Running
            };
            report(c, state)
        })
        .collect();
    let unready = |list: &[(String, bool, Value)]| {
        let names: Vec<&str> = list
            .iter()
            .filter(|(_, ready, _)| !ready)
            .map(|(name, _, _)| name.as_str())
            .collect();
        format!("[{}]", names.join(" "))
    };

    let mut wanted = vec![Condition::met("PodReadyToStartContainers")];
    wanted.push(if blocked {
        let message = format!("containers with incomplete status: {}", unready(&init));
        Condition::with("Initialized", false, "ContainersNotInitialized", &message)
    } else {
        Condition::met("Initialized")
    });
    let all_ready = apps.iter().all(|(_, ready, _)| *ready);
    for kind in ["Ready", "ContainersReady"] {
        wanted.push(if fate == Fate::Completes {
            Condition::with(kind, false, "PodCompleted", "")
        } else if all_ready {
            Condition::met(kind)
        } else {
            let message = format!("containers with unready status: {}", unready(&apps));
            Condition::with(kind, false, "ContainersNotReady", &message)
        });
    }
    // A pod created with its node set never met the scheduler.
    let scheduled = current["conditions"]
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c["type"] == "PodScheduled"));
    if !scheduled {
        wanted.push(Condition::met("PodScheduled"));
    }

    let phase = match fate {
        Fate::Completes => "Succeeded",
        Fate::WaitsForImage => "Pending",
        Fate::Runs => "Running",
    };
    let mut status = json!({
        "phase": phase,
        "conditions": conditions(&current["conditions"], &wanted, &now),
        "hostIP": node.ip().to_string(),
        "hostIPs": [{"ip": node.ip().to_string()}],
        "startTime": started,
        "initContainerStatuses": init.into_iter().map(|(_, _, s)| s).collect::<Vec<_>>(),
        "containerStatuses": apps.into_iter().map(|(_, _, s)| s).collect::<Vec<_>>(),
    });
    if let Some(ip) = ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{"ip": ip.to_string()}]);
    }
    if let Some(generation) = pod["metadata"]["generation"].as_i64() {
        status["observedGeneration"] = json!(generation);
    }
    status
}

/// A container's state in [`status`].
#[derive(Clone, Copy)]
enum State {
    Running,
    /// An init container that finished.
    Completed,
    /// An app container of a finished Job pod.
    Exited,
    Initializing,
    PullBackOff,
}

/// Whether the `current` status differs from the `desired` one in what anyone reads:
/// phase, address, the desired conditions' statuses and reasons, container states and
/// readiness (not timestamps, which would make every pass write).
fn differs(current: &Value, desired: &Value) -> bool {
    let states = |status: &Value, field: &str| -> Vec<(Value, Value, Value, Value)> {
        status[field]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let state = s["state"].as_object();
                let kind = state.and_then(|m| m.keys().next().cloned());
                let reason = state
                    .and_then(|m| m.values().next())
                    .map(|v| v["reason"].clone());
                (
                    s["name"].clone(),
                    json!(kind),
                    json!(reason),
                    s["ready"].clone(),
                )
            })
            .collect()
    };
    let condition_differs = desired["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|wanted| {
            let found = current["conditions"]
                .as_array()
                .and_then(|l| l.iter().find(|c| c["type"] == wanted["type"]));
            found.is_none_or(|c| c["status"] != wanted["status"] || c["reason"] != wanted["reason"])
        });
    // Servers without pod generation tracking drop observedGeneration: compare it only
    // where the server keeps it.
    let generation_differs = !current["observedGeneration"].is_null()
        && current["observedGeneration"] != desired["observedGeneration"];
    current["phase"] != desired["phase"]
        || (!desired["podIP"].is_null() && current["podIP"] != desired["podIP"])
        || condition_differs
        || generation_differs
        || states(current, "initContainerStatuses") != states(desired, "initContainerStatuses")
        || states(current, "containerStatuses") != states(desired, "containerStatuses")
}
