//! A stand-in data plane beside a real control plane (kube-apiserver, etcd,
//! kube-controller-manager, kube-scheduler) that has no kubelet, no cloud and no storage:
//! what the real-cluster suites (`apply`, `dataplane`, `bigbang_apply`) run beside
//! `tools/control-plane`'s cluster, one for all of them (`super::real_cluster`).
//!
//! One thread with its own tokio runtime polls the API server every 300 ms and plays
//! - the kubelets of [`NODES`] nodes, `crunch-stand-in-0`, `-1`, … at 10.231.0.1, .2, …,
//!   one per zone `zone-0`, `zone-1`, … (`node`, [`Node`]): each registered Ready, its
//!   Lease renewed, so the node lifecycle controller never taints it; required
//!   anti-affinity on `kubernetes.io/hostname` (Loki's backend) or zone spreading places
//!   up to that many replicas;
//! - the pods the scheduler binds to any of them (`pods`): running and ready with an
//!   address from the one pool 10.231.1.0–10.231.255.254 put on `dummy0` (`addresses`),
//!   whichever node they are on; a Job's pods succeed; pods with an image from a
//!   `.invalid` registry (`never-ready.invalid/app:1`) wait for their image forever;
//!   terminating pods are deleted for good;
//! - every ready pod's servers (`serve`): HTTPS on each container port and each target
//!   port of the Services that select it, answering API discovery, admission reviews and
//!   health checks, so aggregated APIs become Available and webhooks admit; the CA
//!   behind their certificates goes into the webhook configurations and APIServices
//!   that trust none (`trust`);
//! - a storage provisioner (`volumes`) behind the default StorageClass `crunch-stand-in`:
//!   hostPath PersistentVolumes, on the node the scheduler chose for the claim's first
//!   consumer, which the controller-manager then binds;
//! - a load balancer (`services`): LoadBalancer Services get 10.231.0.200 and up.
//!
//! It must run as root inside the control plane's network namespace, where `dummy0`
//! carries 10.231.0.1/16, the API server's address and the first node's. The other nodes'
//! addresses are only reported (as their InternalIP and their pods' hostIP); one goes on
//! `dummy0` only while a host-network pod on that node is to be served. Errors are logged
//! to stderr and retried on the next pass. One data plane drives a cluster at a time; a new one adopts what an earlier
//! one left (pod addresses in the pods' status, stale addresses on `dummy0`).

mod addresses;
mod node;
mod pods;
mod serve;
mod services;
mod trust;
mod volumes;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};

/// How many nodes the data plane plays the kubelets of.
pub const NODES: usize = 3;
// Node addresses run from 10.231.0.1 up and must stay below the load balancer's.
const _: () = assert!(NODES >= 1 && NODES < services::FIRST_INGRESS as usize);
/// The default StorageClass the data plane creates and provisions for.
pub const STORAGE_CLASS: &str = "crunch-stand-in";
/// The provisioner name of [`STORAGE_CLASS`]; any class naming it is provisioned.
pub const PROVISIONER: &str = "crunch.test/stand-in";

/// Time between two passes over the cluster.
const PASS_INTERVAL: Duration = Duration::from_millis(300);
/// How long [`DataPlane::start`] waits for the nodes and the StorageClass.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Any error a pass meets; it is logged and the step retried on the next pass.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// The running data plane; stops (and removes the addresses it added) on drop.
pub struct DataPlane {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    ca_pem: String,
}

impl DataPlane {
    /// Starts the data plane against the cluster `kubeconfig` names and returns once all its
    /// nodes are registered and its StorageClass exists. Panics if that takes over a minute.
    pub fn start(kubeconfig: &Path) -> DataPlane {
        let certificates = Arc::new(serve::Certificates::new());
        let ca_pem = certificates.ca_pem().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (started, wait_started) = mpsc::channel();
        let kubeconfig = kubeconfig.to_path_buf();
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("crunch-stand-in".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the data plane's runtime");
                runtime.block_on(run(kubeconfig, certificates, stopping, started));
            })
            .expect("the data plane's thread");
        if wait_started.recv_timeout(START_TIMEOUT).is_err() {
            let nodes: Vec<String> = Node::all().map(Node::name).collect();
            panic!(
                "the stand-in data plane did not register nodes {} and StorageClass \
                 {STORAGE_CLASS} within {START_TIMEOUT:?} (its errors are on stderr)",
                nodes.join(", ")
            );
        }
        DataPlane {
            stop,
            thread: Some(thread),
            ca_pem,
        }
    }

    /// The CA (PEM) that signs every pod's serving certificate, for a webhook's
    /// `caBundle` or a client that dials a pod.
    pub fn ca_bundle(&self) -> &str {
        &self.ca_pem
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One of the [`NODES`] nodes: `crunch-stand-in-<i>` at 10.231.0.<i + 1> in zone
/// `zone-<i>`, for `i` from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node(usize);

impl Node {
    /// The first node: its address is the one `tools/control-plane` puts on `dummy0`, and
    /// volumes that bind before any pod uses them are on it.
    pub const FIRST: Node = Node(0);

    /// Every node, the first first.
    pub fn all() -> impl Iterator<Item = Node> {
        (0..NODES).map(Node)
    }

    /// The data plane's node named `name`, if it is one.
    pub fn named(name: &str) -> Option<Node> {
        Node::all().find(|node| node.name() == name)
    }

    /// Its name, also its `kubernetes.io/hostname` label.
    pub fn name(self) -> String {
        format!("crunch-stand-in-{}", self.0)
    }

    /// Its InternalIP, the hostIP of its pods.
    pub fn ip(self) -> Ipv4Addr {
        let first = u32::from(Ipv4Addr::new(10, 231, 0, 1));
        // NODES is checked to fit below the load balancer's addresses.
        Ipv4Addr::from(first + self.0 as u32)
    }

    /// Its `topology.kubernetes.io/zone` label.
    pub fn zone(self) -> String {
        format!("zone-{}", self.0)
    }
}

/// The data plane's loop: connect, then one pass every [`PASS_INTERVAL`] until stopped.
async fn run(
    kubeconfig: PathBuf,
    certificates: Arc<serve::Certificates>,
    stop: Arc<AtomicBool>,
    started: mpsc::Sender<()>,
) {
    let mut log = Log::default();
    let client = loop {
        match connect(&kubeconfig).await {
            Ok(client) => break client,
            Err(error) => log.error(format!("connecting with {}", kubeconfig.display()), error),
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(PASS_INTERVAL).await;
    };
    let mut plane = Plane {
        ca_pem: certificates.ca_pem().to_string(),
        nodes: node::Nodes::new(),
        pods: pods::Pods::new(addresses::Dummy::open(&mut log)),
        volumes: volumes::Volumes::default(),
        serving: serve::Serving::new(certificates),
        client,
        log,
    };
    let mut started = Some(started);
    while !stop.load(Ordering::Relaxed) {
        plane.pass().await;
        if plane.nodes.registered()
            && plane.volumes.class_exists()
            && let Some(started) = started.take()
        {
            let _ = started.send(());
        }
        tokio::time::sleep(PASS_INTERVAL).await;
    }
    plane.serving.stop_all();
    plane.pods.release_all(&mut plane.log);
}

async fn connect(kubeconfig: &Path) -> Result<kube::Client, Error> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Everything one pass works with.
struct Plane {
    client: kube::Client,
    ca_pem: String,
    log: Log,
    nodes: node::Nodes,
    pods: pods::Pods,
    volumes: volumes::Volumes,
    serving: serve::Serving,
}

impl Plane {
    async fn pass(&mut self) {
        let (client, log) = (&self.client, &mut self.log);
        self.nodes.sync(client, log).await;
        if !self.nodes.registered() {
            return;
        }
        self.volumes.sync(client, log).await;
        let services = match Api::<Service>::all(client.clone())
            .list(&ListParams::default())
            .await
        {
            Ok(list) => list.items,
            Err(error) => return log.error("listing Services", error),
        };
        services::sync(client, &services, log).await;
        trust::sync(client, &self.ca_pem, log).await;
        // A failed listing leaves the servers as they are rather than stopping them all.
        let Some(pass) = self.pods.sync(client, log).await else {
            return;
        };
        let mut wanted = BTreeSet::new();
        for pod in &pass.ready {
            let targets = services::target_ports(&services, &pod.namespace, &pod.labels);
            let ports = pod.ports.iter().chain(&targets);
            wanted.extend(ports.map(|&port| SocketAddrV4::new(pod.ip, port)));
        }
        // Servers first, as a kubelet's readiness probes would have it: a pod's endpoints
        // are published within milliseconds of its Ready condition.
        self.serving.reconcile(&wanted, log).await;
        self.pods.report(client, pass.updates, log).await;
    }
}

/// Errors on stderr, each distinct one at most once a minute: a failing step fails again
/// on every pass.
#[derive(Default)]
struct Log {
    printed: HashMap<String, Instant>,
}

impl Log {
    const QUIET: Duration = Duration::from_secs(60);

    /// Logs `error` with its chain of causes (kube-rs's own texts leave out what failed).
    fn error(&mut self, context: impl Display, error: impl Into<Error>) {
        let error = error.into();
        let mut line = format!("crunch-stand-in: {context}: {error}");
        let mut cause = error.source();
        while let Some(next) = cause {
            line.push_str(&format!(": {next}"));
            cause = next.source();
        }
        let now = Instant::now();
        if self
            .printed
            .get(&line)
            .is_some_and(|at| now.duration_since(*at) < Self::QUIET)
        {
            return;
        }
        print_error(&line);
        self.printed.insert(line, now);
    }
}

/// Writes a line to the process's stderr itself: the test harness would capture
/// `eprintln!` into the output of whichever test started the data plane, and drop it.
fn print_error(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The current time as a Kubernetes `Time` (RFC 3339, seconds).
fn now() -> serde_json::Value {
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::now(),
    ))
    .unwrap_or_default()
}

/// `conditions` of `kind` status (`True`/`False`) for an object whose current conditions
/// are `existing`: each keeps its `lastTransitionTime` while its status stays the same.
fn conditions(
    existing: &serde_json::Value,
    wanted: &[Condition],
    now: &serde_json::Value,
) -> serde_json::Value {
    let list: Vec<serde_json::Value> = wanted
        .iter()
        .map(|c| {
            let status = if c.status { "True" } else { "False" };
            let old = existing
                .as_array()
                .and_then(|l| l.iter().find(|o| o["type"] == c.kind));
            let since = match old {
                Some(old) if old["status"] == status && !old["lastTransitionTime"].is_null() => {
                    old["lastTransitionTime"].clone()
                }
                _ => now.clone(),
            };
            let mut condition = serde_json::json!({"type": c.kind, "status": status,
                "lastTransitionTime": since});
            if let Some(reason) = &c.reason {
                condition["reason"] = reason.as_str().into();
            }
            if let Some(message) = &c.message {
                condition["message"] = message.as_str().into();
            }
            condition
        })
        .collect();
    serde_json::Value::Array(list)
}

/// One condition [`conditions`] writes.
struct Condition {
    kind: &'static str,
    status: bool,
    reason: Option<String>,
    message: Option<String>,
}

impl Condition {
    fn met(kind: &'static str) -> Condition {
        Condition {
            kind,
            status: true,
            reason: None,
            message: None,
        }
    }

    fn with(kind: &'static str, status: bool, reason: &str, message: &str) -> Condition {
        Condition {
            kind,
            status,
            reason: Some(reason.into()),
            message: (!message.is_empty()).then(|| message.into()),
        }
    }
}
