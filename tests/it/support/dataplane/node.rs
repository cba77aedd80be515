//! The nodes: each registered with its status, heartbeats on its Ready condition and its
//! node Lease, so that the node lifecycle controller keeps it untainted and schedulable.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node as NodeObject;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{Condition, Error, Log, Node, conditions, now};

/// Where kubelets keep their node Leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The Lease's duration and how often it is renewed (a kubelet's defaults).
const LEASE_SECONDS: i32 = 40;
const LEASE_RENEWAL: Duration = Duration::from_secs(10);
/// How often a node's status (its Ready condition's heartbeat) is written.
const STATUS_HEARTBEAT: Duration = Duration::from_secs(20);

/// Every node's registration and heartbeats.
pub struct Nodes {
    kubelets: Vec<Kubelet>,
}

/// One node's registration and heartbeats.
struct Kubelet {
    node: Node,
    /// The node's uid once registered (the Lease's owner).
    uid: Option<String>,
    status_written: Option<Instant>,
    lease_renewed: Option<Instant>,
}

impl Nodes {
    pub fn new() -> Nodes {
        let kubelets = Node::all()
            .map(|node| Kubelet {
                node,
                uid: None,
                status_written: None,
                lease_renewed: None,
            })
            .collect();
        Nodes { kubelets }
    }

    /// Whether every node exists with a Ready status this data plane wrote.
    pub fn registered(&self) -> bool {
        self.kubelets.iter().all(|kubelet| kubelet.uid.is_some())
    }

    /// Registers each node or writes its heartbeat, and renews its Lease, when they are
    /// due.
    pub async fn sync(&mut self, client: &kube::Client, log: &mut Log) {
        for kubelet in &mut self.kubelets {
            kubelet.sync(client, log).await;
        }
    }
}

impl Kubelet {
    async fn sync(&mut self, client: &kube::Client, log: &mut Log) {
        let name = self.node.name();
        if due(self.status_written, STATUS_HEARTBEAT) {
            match heartbeat(client, self.node).await {
                Ok(uid) => {
                    self.uid = Some(uid);
                    self.status_written = Some(Instant::now());
                }
                Err(error) => log.error(format!("registering node {name}"), error),
            }
        }
        let Some(uid) = &self.uid else {
            return;
        };
        if due(self.lease_renewed, LEASE_RENEWAL) {
            match renew_lease(client, &name, uid).await {
                Ok(()) => self.lease_renewed = Some(Instant::now()),
                Err(error) => log.error(format!("renewing the Lease of node {name}"), error),
            }
        }
    }
}

fn due(last: Option<Instant>, every: Duration) -> bool {
    last.is_none_or(|at| at.elapsed() >= every)
}

/// Creates `node` with its status, or writes its status; returns its uid.
async fn heartbeat(client: &kube::Client, node: Node) -> Result<String, Error> {
    let api: Api<NodeObject> = Api::all(client.clone());
    let name = node.name();
    let written = match api.get_opt(&name).await? {
        None => {
            let version = client.apiserver_version().await?.git_version;
            let object = json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name,
                    "topology.kubernetes.io/zone": node.zone(),
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64"}},
                "status": status(node, &Value::Null, &version)});
            api.create(&PostParams::default(), &serde_json::from_value(object)?)
                .await?
        }
        Some(existing) => {
            let existing = serde_json::to_value(&existing)?;
            let version = existing["status"]["nodeInfo"]["kubeletVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let conditions = &existing["status"]["conditions"];
            let patch = json!({"status": status(node, conditions, &version)});
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?
        }
    };
    written
        .metadata
        .uid
        .ok_or_else(|| format!("node {name} has no uid").into())
}

/// `node`'s status: a healthy, roomy Linux machine at its address whose kubelet reports
/// `kubelet_version` (the API server's own version).
fn status(node: Node, existing_conditions: &Value, kubelet_version: &str) -> Value {
    let now = now();
    let mut conditions = conditions(
        existing_conditions,
        &[
            Condition::with(
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            Condition::with(
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            ),
            Condition::with(
                "PIDPressure",
                false,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            Condition::with(
                "Ready",
                true,
                "KubeletReady",
                "kubelet is posting ready status",
            ),
        ],
        &now,
    );
    for condition in conditions.as_array_mut().into_iter().flatten() {
        condition["lastHeartbeatTime"] = now.clone();
    }
    let resources = json!({"cpu": "64", "memory": "256Gi", "pods": "1000",
        "ephemeral-storage": "1Ti"});
    json!({
        "capacity": resources,
        "allocatable": resources,
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": node.ip().to_string()},
            {"type": "Hostname", "address": node.name()},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "",
            "osImage": "crunch stand-in data plane",
            "containerRuntimeVersion": "crunch-stand-in://1",
            "kubeletVersion": kubelet_version, "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": "amd64",
        },
    })
}

/// Renews the Lease of the node `name`, creating it (owned by the node) when it is
/// missing.
async fn renew_lease(client: &kube::Client, name: &str, node_uid: &str) -> Result<(), Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let renew_time = serde_json::to_value(MicroTime(jiff::Timestamp::now()))?;
    let spec = json!({"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": renew_time});
    let patched = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await;
    match patched {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": LEASE_NAMESPACE,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                        "name": name, "uid": node_uid}]},
                "spec": spec});
            api.create(&PostParams::default(), &serde_json::from_value(lease)?)
                .await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
