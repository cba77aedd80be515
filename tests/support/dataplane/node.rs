//! The node: registered with its status, heartbeats on the Ready condition and the node
//! Lease, so that the node lifecycle controller keeps it untainted and schedulable.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node as NodeObject;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{Condition, Error, Log, NODE, NODE_IP, conditions, now};

/// Where kubelets keep their node Leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The Lease's duration and how often it is renewed (a kubelet's defaults).
const LEASE_SECONDS: i32 = 40;
const LEASE_RENEWAL: Duration = Duration::from_secs(10);
/// How often the node's status (its Ready condition's heartbeat) is written.
const STATUS_HEARTBEAT: Duration = Duration::from_secs(20);

/// The node's registration and heartbeats.
#[derive(Default)]
pub struct Node {
    /// The node's uid once registered (the Lease's owner).
    uid: Option<String>,
    status_written: Option<Instant>,
    lease_renewed: Option<Instant>,
}

impl Node {
    /// Whether the node exists with a Ready status this data plane wrote.
    pub fn registered(&self) -> bool {
        self.uid.is_some()
    }

    /// Registers the node or writes its heartbeat, and renews its Lease, when they are due.
    pub async fn sync(&mut self, client: &kube::Client, log: &mut Log) {
        if due(self.status_written, STATUS_HEARTBEAT) {
            match heartbeat(client).await {
                Ok(uid) => {
                    self.uid = Some(uid);
                    self.status_written = Some(Instant::now());
                }
                Err(error) => log.error(format!("registering node {NODE}"), error),
            }
        }
        let Some(uid) = &self.uid else {
            return;
        };
        if due(self.lease_renewed, LEASE_RENEWAL) {
            match renew_lease(client, uid).await {
                Ok(()) => self.lease_renewed = Some(Instant::now()),
                Err(error) => log.error(format!("renewing the Lease of node {NODE}"), error),
            }
        }
    }
}

fn due(last: Option<Instant>, every: Duration) -> bool {
    last.is_none_or(|at| at.elapsed() >= every)
}

/// Creates the node with its status, or writes its status; returns its uid.
async fn heartbeat(client: &kube::Client) -> Result<String, Error> {
    let api: Api<NodeObject> = Api::all(client.clone());
    let written = match api.get_opt(NODE).await? {
        None => {
            let version = client.apiserver_version().await?.git_version;
            let node = json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE, "labels": {
                    "kubernetes.io/hostname": NODE,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64"}},
                "status": status(&Value::Null, &version)});
            api.create(&PostParams::default(), &serde_json::from_value(node)?)
                .await?
        }
        Some(existing) => {
            let existing = serde_json::to_value(&existing)?;
            let version = existing["status"]["nodeInfo"]["kubeletVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let patch = json!({"status": status(&existing["status"]["conditions"], &version)});
            api.patch_status(NODE, &PatchParams::default(), &Patch::Merge(&patch))
                .await?
        }
    };
    written
        .metadata
        .uid
        .ok_or_else(|| format!("node {NODE} has no uid").into())
}

/// The node's status: a healthy, roomy Linux machine at [`NODE_IP`] whose kubelet reports
/// `kubelet_version` (the API server's own version).
fn status(existing_conditions: &Value, kubelet_version: &str) -> Value {
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
            {"type": "InternalIP", "address": NODE_IP.to_string()},
            {"type": "Hostname", "address": NODE},
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

/// Renews the node's Lease, creating it (owned by the node) when it is missing.
async fn renew_lease(client: &kube::Client, node_uid: &str) -> Result<(), Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let renew_time = serde_json::to_value(MicroTime(jiff::Timestamp::now()))?;
    let spec = json!({"holderIdentity": NODE, "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": renew_time});
    let patched = api
        .patch(
            NODE,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await;
    match patched {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": NODE, "namespace": LEASE_NAMESPACE,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                        "name": NODE, "uid": node_uid}]},
                "spec": spec});
            api.create(&PostParams::default(), &serde_json::from_value(lease)?)
                .await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
