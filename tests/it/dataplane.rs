//! The stand-in data plane (`tests/it/support/dataplane`) against a real control plane, named
//! by `CRUNCH_TEST_KUBECONFIG` (`tools/control-plane`; run inside its network namespace).
//! Without it every test returns at once. Each test that creates objects works in a
//! namespace of its own and starts by deleting what an earlier run left. The webhook test
//! needs the API server's admission webhooks on (`tools/control-plane`'s default, not
//! `CRUNCH_CP_WEBHOOKS=off`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use serde_json::{Value, json};

use crate::support::block::block;
use crate::support::dataplane::{NODES, Node};
use crate::support::{dataplane, real_cluster};

// ---------------------------------------------------------------------------------------
// Harness

/// A real cluster with the data plane beside it, and a namespace of the test's own.
struct Cluster {
    client: kube::Client,
    namespace: String,
}

impl Cluster {
    /// Connects, deletes the namespace a previous run of the test left, and creates it
    /// afresh.
    async fn new(kubeconfig: &std::path::Path, namespace: &str) -> Cluster {
        let cluster = Cluster::connect(kubeconfig, namespace).await;
        cluster.delete("v1", "Namespace", "", namespace).await;
        cluster
            .wait_for(
                "the old namespace to go",
                Duration::from_secs(120),
                async || match cluster.get("v1", "Namespace", "", namespace).await {
                    None => Ok(()),
                    Some(ns) => Err(format!("{}", ns["status"])),
                },
            )
            .await;
        cluster
            .apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            )
            .await;
        cluster
    }

    async fn connect(kubeconfig: &std::path::Path, namespace: &str) -> Cluster {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(kubeconfig).expect("read the kubeconfig"),
            &Default::default(),
        )
        .await
        .expect("kubeconfig");
        Cluster {
            client: kube::Client::try_from(config).expect("client"),
            namespace: namespace.to_string(),
        }
    }

    fn api(&self, api_version: &str, kind: &str, namespace: &str) -> Api<DynamicObject> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        if namespace.is_empty() {
            Api::all_with(self.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, &resource)
        }
    }

    /// Server-side applies `object`; the test's namespace when it names none and is
    /// namespaced (every kind but Namespace, APIService, StorageClass and webhook
    /// configurations).
    async fn apply(&self, mut object: Value) -> Value {
        let kind = object["kind"].as_str().unwrap().to_string();
        let cluster_scoped = matches!(
            kind.as_str(),
            "Namespace" | "APIService" | "ValidatingWebhookConfiguration" | "StorageClass"
        );
        if !cluster_scoped && object["metadata"]["namespace"].is_null() {
            object["metadata"]["namespace"] = json!(self.namespace);
        }
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap();
        let applied = self
            .api(object["apiVersion"].as_str().unwrap(), &kind, namespace)
            .patch(
                name,
                &PatchParams::apply("crunch-dataplane-test").force(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
        serde_json::to_value(applied).unwrap()
    }

    async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        self.api(api_version, kind, namespace)
            .get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("getting {kind} {name}: {e}"))
            .map(|o| serde_json::to_value(o).unwrap())
    }

    /// The test namespace's objects of a kind with the labels `selector`.
    async fn list(&self, api_version: &str, kind: &str, selector: &str) -> Vec<Value> {
        self.api(api_version, kind, &self.namespace)
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap_or_else(|e| panic!("listing {kind}: {e}"))
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect()
    }

    async fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        match self
            .api(api_version, kind, namespace)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => panic!("deleting {kind} {name}: {e}"),
        }
    }

    /// Polls `check` until it returns `Ok`; panics after `timeout` with the last `Err`.
    async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            match check().await {
                Ok(value) => return value,
                Err(last) if Instant::now() > deadline => {
                    panic!(
                        "{}: timed out after {timeout:?} waiting for {what}; last seen: {last}",
                        self.namespace
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }

    async fn wait_ready_replicas(&self, kind: &str, name: &str, replicas: i64) {
        self.wait_for(
            &format!("{kind} {name} to be ready"),
            Duration::from_secs(60),
            async || {
                let live = self.get("apps/v1", kind, &self.namespace, name).await;
                let status = live.map(|l| l["status"].clone()).unwrap_or_default();
                if status["readyReplicas"].as_i64() == Some(replicas) {
                    Ok(())
                } else {
                    Err(status.to_string())
                }
            },
        )
        .await;
    }

    /// Deletes the test namespace without waiting.
    async fn finish(&self) {
        self.delete("v1", "Namespace", "", &self.namespace).await;
    }
}

/// Cluster-scoped objects a test creates (apiVersion, kind, name), deleted before it
/// starts and when it ends, by a panic too: an APIService left behind breaks discovery,
/// and with it namespace deletion, for every later test.
struct ClusterScoped {
    kubeconfig: PathBuf,
    objects: Vec<(String, String, String)>,
}

impl ClusterScoped {
    fn new(kubeconfig: &std::path::Path, objects: &[(&str, &str, &str)]) -> ClusterScoped {
        let scoped = ClusterScoped {
            kubeconfig: kubeconfig.to_path_buf(),
            objects: objects
                .iter()
                .map(|(a, k, n)| (a.to_string(), k.to_string(), n.to_string()))
                .collect(),
        };
        scoped.delete_all();
        scoped
    }

    fn delete_all(&self) {
        block(async {
            let cluster = Cluster::connect(&self.kubeconfig, "").await;
            for (api_version, kind, name) in &self.objects {
                // Never a panic here: this runs while a failed test unwinds.
                let _ = cluster
                    .api(api_version, kind, "")
                    .delete(name, &DeleteParams::background())
                    .await;
            }
        });
    }
}

impl Drop for ClusterScoped {
    fn drop(&mut self) {
        self.delete_all();
    }
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
}

fn deployment(name: &str, port: u16) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "initContainers": [{"name": "setup", "image": "example.test/setup:1"}],
                "containers": [{"name": "app", "image": "example.test/app:1",
                    "ports": [{"name": "https", "containerPort": port}]}]}}}})
}

fn service(name: &str, target_port: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 443, "targetPort": target_port}]}})
}

/// The data plane's node `pod` is bound to.
fn node_of(pod: &Value) -> Node {
    let name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    Node::named(name).unwrap_or_else(|| panic!("{name:?} is not a data plane node: {pod}"))
}

/// A client that dials `ip:port` for `host` and trusts only `ca`.
fn pod_client(ca: &str, host: &str, ip: Ipv4Addr, port: u16) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .resolve(host, SocketAddr::from((ip, port)))
        .build()
        .unwrap()
}

/// The status of `GET https://host:port/healthz` from the pod at `ip`.
fn health(ca: &str, host: &str, ip: Ipv4Addr, port: u16) -> reqwest::StatusCode {
    pod_client(ca, host, ip, port)
        .get(format!("https://{host}:{port}/healthz"))
        .send()
        .unwrap_or_else(|e| panic!("{ip}: {e:?}"))
        .status()
}

/// The pod addresses on `dummy0`.
fn dummy_addresses() -> Vec<Ipv4Addr> {
    let output = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", "dummy0"])
        .output()
        .expect("ip addr show");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_suffix("/32")?.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[test]
fn a_deployment_gets_ready_pods_that_are_served_and_listed_as_endpoints() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    let ca = real.data_plane.ca_bundle().to_string();
    let namespace = "crunch-dataplane-web";
    let ips = block(async {
        let cluster = Cluster::new(&real.kubeconfig, namespace).await;
        cluster.apply(deployment("web", 8443)).await;
        cluster.apply(service("web", 8443)).await;
        cluster.wait_ready_replicas("Deployment", "web", 2).await;
        let pods = cluster.list("v1", "Pod", "app=web").await;
        assert_eq!(pods.len(), 2);
        let mut ips = Vec::new();
        for pod in &pods {
            assert_eq!(pod["status"]["phase"], "Running", "{pod}");
            assert_eq!(condition(pod, "Ready"), Some("True"), "{pod}");
            assert_eq!(pod["status"]["hostIP"], node_of(pod).ip().to_string());
            assert_eq!(
                pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"],
                0
            );
            let ip: Ipv4Addr = pod["status"]["podIP"].as_str().unwrap().parse().unwrap();
            assert!(
                ip >= Ipv4Addr::new(10, 231, 1, 0) && ip <= Ipv4Addr::new(10, 231, 255, 254),
                "{ip}"
            );
            ips.push(ip);
        }
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 2, "distinct addresses");
        cluster
            .wait_for("the EndpointSlice", Duration::from_secs(30), async || {
                let slices = cluster
                    .list(
                        "discovery.k8s.io/v1",
                        "EndpointSlice",
                        "kubernetes.io/service-name=web",
                    )
                    .await;
                let mut ready: Vec<Ipv4Addr> = slices
                    .iter()
                    .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                    .filter(|e| e["conditions"]["ready"] == true)
                    .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
                    .filter_map(|a| a.as_str()?.parse().ok())
                    .collect();
                ready.sort();
                if ready == ips {
                    Ok(())
                } else {
                    Err(format!("{slices:?}"))
                }
            })
            .await;
        ips
    });

    // Each pod answers HTTPS on its own address with a certificate for the service's name.
    let host = format!("web.{namespace}.svc");
    for ip in &ips {
        assert!(dummy_addresses().contains(ip), "{ip} is on dummy0");
        assert_eq!(health(&ca, &host, *ip, 8443), 200, "{ip}");
        let discovery = pod_client(&ca, &host, *ip, 8443)
            .get(format!("https://{host}:8443/apis/example.test/v1"))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let discovery: Value = serde_json::from_slice(&discovery).unwrap();
        assert_eq!(
            discovery,
            json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "example.test/v1", "resources": []})
        );
    }

    // Deleted pods go for good, and so do their addresses.
    block(async {
        let cluster = Cluster::connect(&real.kubeconfig, namespace).await;
        cluster
            .delete("apps/v1", "Deployment", namespace, "web")
            .await;
        cluster
            .wait_for("the pods to go", Duration::from_secs(60), async || {
                let pods = cluster.list("v1", "Pod", "app=web").await;
                if pods.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{pods:?}"))
                }
            })
            .await;
        cluster
            .wait_for("the addresses to go", Duration::from_secs(10), async || {
                let left: Vec<_> = dummy_addresses()
                    .into_iter()
                    .filter(|ip| ips.contains(ip))
                    .collect();
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{left:?}"))
                }
            })
            .await;
        cluster.finish().await;
    });
}

#[test]
fn every_node_is_registered_ready_with_its_labels_address_and_lease() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    block(async {
        let cluster = Cluster::connect(&real.kubeconfig, "").await;
        let mut addresses = Vec::new();
        for node in Node::all() {
            let name = node.name();
            let live = cluster.get("v1", "Node", "", &name).await.unwrap();
            assert_eq!(condition(&live, "Ready"), Some("True"), "{live}");
            let labels = &live["metadata"]["labels"];
            assert_eq!(labels["kubernetes.io/hostname"], name.as_str(), "{live}");
            assert_eq!(labels["topology.kubernetes.io/zone"], node.zone(), "{live}");
            assert!(live["spec"]["taints"].is_null(), "{live}");
            assert_eq!(
                live["status"]["addresses"][0],
                json!({"type": "InternalIP", "address": node.ip().to_string()})
            );
            addresses.push(node.ip());
            let lease = cluster
                .get("coordination.k8s.io/v1", "Lease", "kube-node-lease", &name)
                .await
                .unwrap();
            assert_eq!(lease["spec"]["holderIdentity"], name.as_str(), "{lease}");
            assert_eq!(
                lease["metadata"]["ownerReferences"][0]["uid"],
                live["metadata"]["uid"]
            );
        }
        let expected: Vec<Ipv4Addr> = (1..=NODES as u8)
            .map(|n| Ipv4Addr::new(10, 231, 0, n))
            .collect();
        assert_eq!(addresses, expected);
    });
}

#[test]
fn a_host_network_daemon_set_runs_on_every_node_at_its_address() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    let ca = real.data_plane.ca_bundle().to_string();
    let namespace = "crunch-dataplane-agent";
    let port = 9443;
    let pods = block(async {
        let cluster = Cluster::new(&real.kubeconfig, namespace).await;
        cluster
            .apply(
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                    "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                        "hostNetwork": true,
                        "containers": [{"name": "agent", "image": "example.test/agent:1",
                            "ports": [{"containerPort": port}]}]}}}}),
            )
            .await;
        cluster
            .wait_for(
                "a ready pod on every node",
                Duration::from_secs(60),
                async || {
                    let live = cluster
                        .get("apps/v1", "DaemonSet", namespace, "agent")
                        .await
                        .unwrap();
                    let status = &live["status"];
                    if status["desiredNumberScheduled"] == NODES && status["numberReady"] == NODES {
                        Ok(())
                    } else {
                        Err(status.to_string())
                    }
                },
            )
            .await;
        let mut pods: Vec<(Node, Ipv4Addr)> = cluster
            .list("v1", "Pod", "app=agent")
            .await
            .iter()
            .map(|pod| {
                let node = node_of(pod);
                assert_eq!(pod["status"]["hostIP"], node.ip().to_string(), "{pod}");
                let ip = pod["status"]["podIP"].as_str().unwrap().parse().unwrap();
                (node, ip)
            })
            .collect();
        pods.sort();
        pods
    });
    let expected: Vec<(Node, Ipv4Addr)> = Node::all().map(|node| (node, node.ip())).collect();
    assert_eq!(pods, expected, "one pod per node, at the node's address");

    // Each answers at its node's address; the other nodes' addresses are on dummy0 only
    // while their pods run.
    for (node, ip) in &pods {
        if *node != Node::FIRST {
            assert!(dummy_addresses().contains(ip), "{ip} is on dummy0");
        }
        assert_eq!(health(&ca, "agent.test", *ip, port), 200, "{ip}");
    }
    block(async {
        let cluster = Cluster::connect(&real.kubeconfig, namespace).await;
        cluster.finish().await;
        cluster
            .wait_for(
                "the node addresses to go",
                Duration::from_secs(60),
                async || {
                    let left: Vec<_> = dummy_addresses()
                        .into_iter()
                        .filter(|ip| {
                            pods.iter()
                                .any(|(node, at)| *node != Node::FIRST && at == ip)
                        })
                        .collect();
                    if left.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("{left:?}"))
                    }
                },
            )
            .await;
    });
}

#[test]
fn a_job_completes() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-job").await;
        cluster
            .apply(
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "work", "image": "example.test/work:1"}]}}}}),
            )
            .await;
        cluster
            .wait_for("the Job to complete", Duration::from_secs(60), async || {
                let job = cluster
                    .get("batch/v1", "Job", &cluster.namespace, "once")
                    .await
                    .unwrap();
                if condition(&job, "Complete") == Some("True") {
                    Ok(())
                } else {
                    Err(job["status"].to_string())
                }
            })
            .await;
        let pods = cluster
            .list("v1", "Pod", "batch.kubernetes.io/job-name=once")
            .await;
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["status"]["phase"], "Succeeded");
        assert_eq!(
            pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            0
        );
        cluster.finish().await;
    });
}

#[test]
fn claims_are_provisioned_once_their_pods_are_scheduled() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-volumes").await;
        let ns = cluster.namespace.clone();
        cluster
            .apply(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}))
            .await;
        // The default class waits for the first consumer: nothing is provisioned yet.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let claim = cluster
            .get("v1", "PersistentVolumeClaim", &ns, "data")
            .await
            .unwrap();
        assert_eq!(claim["spec"]["storageClassName"], "crunch-stand-in");
        assert_eq!(claim["status"]["phase"], "Pending", "{claim}");
        assert!(claim["spec"]["volumeName"].is_null(), "{claim}");

        cluster
            .apply(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
                "spec": {"containers": [{"name": "app", "image": "example.test/app:1",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                    "volumes": [{"name": "data",
                        "persistentVolumeClaim": {"claimName": "data"}}]}}),
            )
            .await;
        let volume = cluster
            .wait_for("the claim to bind", Duration::from_secs(60), async || {
                let claim = cluster
                    .get("v1", "PersistentVolumeClaim", &ns, "data")
                    .await
                    .unwrap();
                match claim["spec"]["volumeName"].as_str() {
                    Some(volume) if claim["status"]["phase"] == "Bound" => Ok(volume.to_string()),
                    _ => Err(claim.to_string()),
                }
            })
            .await;
        let pv = cluster
            .get("v1", "PersistentVolume", "", &volume)
            .await
            .unwrap();
        assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
        assert_eq!(pv["spec"]["storageClassName"], "crunch-stand-in");
        let path = pv["spec"]["hostPath"]["path"].as_str().unwrap().to_string();
        assert!(path.starts_with("/tmp/crunch-stand-in/"), "{path}");
        cluster
            .wait_for("the pod to run", Duration::from_secs(60), async || {
                let pod = cluster.get("v1", "Pod", &ns, "user").await.unwrap();
                if condition(&pod, "Ready") == Some("True") {
                    Ok(())
                } else {
                    Err(pod["status"].to_string())
                }
            })
            .await;

        // A StatefulSet's claim templates are claims like any other.
        cluster
            .apply(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                        "containers": [{"name": "db", "image": "example.test/db:1",
                            "volumeMounts": [{"name": "state", "mountPath": "/state"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "state"},
                        "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "2Gi"}}}}]}}))
            .await;
        cluster.wait_ready_replicas("StatefulSet", "db", 1).await;
        let claim = cluster
            .get("v1", "PersistentVolumeClaim", &ns, "state-db-0")
            .await
            .unwrap();
        assert_eq!(claim["status"]["phase"], "Bound", "{claim}");

        // Once its claim is gone, the volume is deleted with its directory.
        cluster.delete("v1", "Pod", &ns, "user").await;
        cluster
            .delete("v1", "PersistentVolumeClaim", &ns, "data")
            .await;
        cluster
            .wait_for(
                "the volume to go",
                Duration::from_secs(60),
                async || match cluster.get("v1", "PersistentVolume", "", &volume).await {
                    None => Ok(()),
                    Some(pv) => Err(pv["status"].to_string()),
                },
            )
            .await;
        assert!(!std::path::Path::new(&path).exists(), "{path} is removed");
        cluster.finish().await;
    });
}

#[test]
fn replicas_with_required_anti_affinity_and_claims_get_a_node_each() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-spread").await;
        let ns = cluster.namespace.clone();
        // As Loki's backend: no two replicas on one host, a volume each that waits for
        // its pod.
        cluster
            .apply(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "backend"},
                "spec": {"replicas": NODES, "serviceName": "backend",
                    "selector": {"matchLabels": {"app": "backend"}},
                    "template": {"metadata": {"labels": {"app": "backend"}}, "spec": {
                        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {"matchLabels": {"app": "backend"}},
                                "topologyKey": "kubernetes.io/hostname"}]}},
                        "containers": [{"name": "backend", "image": "example.test/backend:1",
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}]}}))
            .await;
        cluster
            .wait_ready_replicas("StatefulSet", "backend", NODES as i64)
            .await;
        let pods = cluster.list("v1", "Pod", "app=backend").await;
        let mut nodes = Vec::new();
        for pod in &pods {
            assert_eq!(condition(pod, "Ready"), Some("True"), "{pod}");
            let node = node_of(pod);
            assert_eq!(pod["status"]["hostIP"], node.ip().to_string(), "{pod}");
            nodes.push(node);

            let pod_name = pod["metadata"]["name"].as_str().unwrap();
            let claim = cluster
                .get(
                    "v1",
                    "PersistentVolumeClaim",
                    &ns,
                    &format!("data-{pod_name}"),
                )
                .await
                .unwrap();
            assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
            assert_eq!(
                claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"],
                node.name(),
                "{claim}"
            );
            let volume = claim["spec"]["volumeName"].as_str().unwrap();
            let pv = cluster
                .get("v1", "PersistentVolume", "", volume)
                .await
                .unwrap();
            assert_eq!(
                pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"],
                json!([{"matchExpressions": [{"key": "kubernetes.io/hostname",
                    "operator": "In", "values": [node.name()]}]}]),
                "{pv}"
            );
        }
        nodes.sort();
        assert_eq!(nodes, Node::all().collect::<Vec<_>>(), "a node each");
        cluster.finish().await;
    });
}

#[test]
fn a_claim_of_a_class_that_binds_immediately_needs_no_pod() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    let class = "crunch-dataplane-immediate";
    let _class = ClusterScoped::new(
        &real.kubeconfig,
        &[("storage.k8s.io/v1", "StorageClass", class)],
    );
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-immediate").await;
        cluster
            .apply(
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": class}, "provisioner": dataplane::PROVISIONER,
                "volumeBindingMode": "Immediate"}),
            )
            .await;
        cluster
            .apply(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "shared"},
                "spec": {"storageClassName": class, "accessModes": ["ReadWriteMany"],
                    "resources": {"requests": {"storage": "500Mi"}}}}))
            .await;
        let volume = cluster
            .wait_for("the claim to bind", Duration::from_secs(30), async || {
                let claim = cluster
                    .get("v1", "PersistentVolumeClaim", &cluster.namespace, "shared")
                    .await
                    .unwrap();
                match claim["spec"]["volumeName"].as_str() {
                    Some(volume) if claim["status"]["phase"] == "Bound" => Ok(volume.to_string()),
                    _ => Err(claim.to_string()),
                }
            })
            .await;
        let pv = cluster
            .get("v1", "PersistentVolume", "", &volume)
            .await
            .unwrap();
        assert_eq!(pv["spec"]["capacity"]["storage"], "500Mi");
        assert_eq!(pv["spec"]["accessModes"], json!(["ReadWriteMany"]));
        assert_eq!(pv["spec"]["storageClassName"], class);
        // No scheduler chose a node: the volume is on the first.
        assert_eq!(
            pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
            json!([Node::FIRST.name()])
        );
        cluster.finish().await;
    });
}

#[test]
fn load_balancers_get_ingress_addresses() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-lb").await;
        let mut addresses = Vec::new();
        for name in ["front", "back"] {
            let mut lb = service(name, 8443);
            lb["spec"]["type"] = json!("LoadBalancer");
            cluster.apply(lb).await;
            let ip = cluster
                .wait_for("an ingress address", Duration::from_secs(30), async || {
                    let live = cluster
                        .get("v1", "Service", &cluster.namespace, name)
                        .await
                        .unwrap();
                    match live["status"]["loadBalancer"]["ingress"][0]["ip"].as_str() {
                        Some(ip) => Ok(ip.parse::<Ipv4Addr>().unwrap()),
                        None => Err(live["status"].to_string()),
                    }
                })
                .await;
            let [10, 231, 0, n] = ip.octets() else {
                panic!("{ip}");
            };
            assert!(n >= 200, "{ip}");
            addresses.push(ip);
        }
        assert_ne!(addresses[0], addresses[1]);
        cluster.finish().await;
    });
}

#[test]
fn api_services_backed_by_a_pod_become_available() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    let ca = real.data_plane.ca_bundle().to_string();
    // One skips verifying the pod's certificate; the other is given the data plane's CA.
    let insecure = "v1alpha1.stand-in.crunch.test";
    let verified = "v1beta1.stand-in.crunch.test";
    let _api_services = ClusterScoped::new(
        &real.kubeconfig,
        &[
            ("apiregistration.k8s.io/v1", "APIService", insecure),
            ("apiregistration.k8s.io/v1", "APIService", verified),
        ],
    );
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-api").await;
        cluster.apply(deployment("api", 8443)).await;
        cluster.apply(service("api", 8443)).await;
        for (name, version, skip_verify) in
            [(insecure, "v1alpha1", true), (verified, "v1beta1", false)]
        {
            cluster
                .apply(
                    json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                    "metadata": {"name": name},
                    "spec": {"group": "stand-in.crunch.test", "version": version,
                        "service": {"namespace": cluster.namespace, "name": "api", "port": 443},
                        "insecureSkipTLSVerify": skip_verify,
                        "groupPriorityMinimum": 1000, "versionPriority": 15}}),
                )
                .await;
        }
        for name in [insecure, verified] {
            cluster
                .wait_for(
                    &format!("APIService {name} to be Available"),
                    Duration::from_secs(90),
                    async || {
                        let live = cluster
                            .get("apiregistration.k8s.io/v1", "APIService", "", name)
                            .await
                            .unwrap();
                        if condition(&live, "Available") == Some("True") {
                            Ok(())
                        } else {
                            Err(live["status"].to_string())
                        }
                    },
                )
                .await;
        }
        let live = cluster
            .get("apiregistration.k8s.io/v1", "APIService", "", verified)
            .await
            .unwrap();
        assert_eq!(live["spec"]["caBundle"], base64(&ca));
        cluster.finish().await;
    });
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn a_webhook_is_given_the_data_planes_ca_and_admits() {
    let Some(real) = real_cluster::claim("dataplane") else {
        return;
    };
    let ca = real.data_plane.ca_bundle().to_string();
    let name = "crunch-dataplane-guard";
    let _webhook = ClusterScoped::new(
        &real.kubeconfig,
        &[(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            name,
        )],
    );
    block(async {
        let cluster = Cluster::new(&real.kubeconfig, "crunch-dataplane-webhook").await;
        let ns = cluster.namespace.clone();
        cluster.apply(service("guard", 8443)).await;
        cluster
            .apply(json!({"apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration", "metadata": {"name": name},
                "webhooks": [{"name": "guard.crunch.test", "sideEffects": "None",
                    "admissionReviewVersions": ["v1"], "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                    "clientConfig": {"service": {"name": "guard", "namespace": ns, "path": "/validate"}},
                    "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                        "resources": ["configmaps"], "scope": "Namespaced"}]}]}))
            .await;
        let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(cluster.client.clone(), &ns);
        let mut attempt = 0;
        let mut create = async || {
            attempt += 1;
            let config_map =
                serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("probe-{attempt}")}}))
                .unwrap();
            configmaps.create(&PostParams::default(), &config_map).await
        };
        // Without a server the webhook refuses: it is in force.
        cluster
            .wait_for(
                "the webhook to refuse",
                Duration::from_secs(30),
                async || match create().await {
                    Err(e) if e.to_string().contains("failed calling webhook") => Ok(()),
                    other => Err(format!("{other:?}")),
                },
            )
            .await;
        cluster.apply(deployment("guard", 8443)).await;
        cluster.wait_ready_replicas("Deployment", "guard", 2).await;
        cluster
            .wait_for(
                "the webhook to admit",
                Duration::from_secs(60),
                async || create().await.map(|_| ()).map_err(|e| e.to_string()),
            )
            .await;
        let live = cluster
            .get(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                name,
            )
            .await
            .unwrap();
        assert_eq!(live["webhooks"][0]["clientConfig"]["caBundle"], base64(&ca));
        cluster.finish().await;
    });
}
