//! Self-test of the in-process API-server double through a real `kube::Client`.

use std::future::Future;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Discovery};
use serde_json::{Value, json};

use crate::support::apiserver::{ApiServer, Fault, FaultKind};

/// A running double, a client for it and a runtime to drive the client.
struct Env {
    server: ApiServer,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

fn env() -> Env {
    env_with(|_| {})
}

fn env_with(tune: impl FnOnce(&mut Config)) -> Env {
    let server = ApiServer::start();
    let path = std::env::temp_dir().join(format!(
        "double-kubeconfig-{}",
        server.url().rsplit(':').next().unwrap_or("0")
    ));
    server.write_kubeconfig(&path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(async {
        let kubeconfig = Kubeconfig::read_from(&path).unwrap();
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap();
        tune(&mut config);
        Client::try_from(config).unwrap()
    });
    Env {
        server,
        client,
        runtime,
    }
}

/// Poll `check` until it holds (10 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn api_error(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other}"),
    }
}

fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8443}]}]}}}})
}

fn apply() -> PatchParams {
    PatchParams::apply("crunch")
}

async fn rollout_done(api: &Api<Deployment>, name: &str, replicas: i32) -> bool {
    let Ok(d) = api.get(name).await else {
        return false;
    };
    let d = serde_json::to_value(&d).unwrap();
    d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation")
        && d.pointer("/status/readyReplicas") == Some(&json!(replicas))
        && d.pointer("/status/updatedReplicas") == Some(&json!(replicas))
        && has_condition(&d, "Progressing", "NewReplicaSetAvailable")
}

/// Whether `obj` has a True condition of `kind` (with `reason`, unless "").
fn has_condition(obj: &Value, kind: &str, reason: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == kind
                    && c["status"] == "True"
                    && (reason.is_empty() || c["reason"] == reason)
            })
        })
}

#[test]
fn discovery_sees_core_and_apps() {
    let env = env();
    env.runtime.block_on(async {
        let discovery = Discovery::new(env.client.clone()).run().await.unwrap();
        assert!(discovery.has_group("apps") && discovery.has_group(""));
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .unwrap();
        assert_eq!(ar.plural, "deployments");
        assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
        let aggregated = Discovery::new(env.client.clone())
            .run_aggregated()
            .await
            .unwrap();
        assert!(aggregated.has_group("apps") && aggregated.has_group(""));
        let (ar, _) = kube::discovery::pinned_kind(
            &env.client,
            &GroupVersionKind::gvk("", "v1", "ConfigMap"),
        )
        .await
        .unwrap();
        assert_eq!(ar.plural, "configmaps");
        assert_eq!(env.client.apiserver_version().await.unwrap().minor, "28");
    });
}

#[test]
fn apply_creates_and_reapply_is_a_no_op() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
        let first = api.patch("a", &apply(), &Patch::Apply(&cm)).await.unwrap();
        let second = api.patch("a", &apply(), &Patch::Apply(&cm)).await.unwrap();
        assert_eq!(first.metadata.resource_version, second.metadata.resource_version);
        let managed = second.metadata.managed_fields.unwrap();
        assert_eq!(managed.len(), 1);
        assert_eq!(managed[0].manager.as_deref(), Some("crunch"));
        assert_eq!(managed[0].operation.as_deref(), Some("Apply"));
        assert_eq!(managed[0].fields_v1.as_ref().unwrap().0, json!({"f:data": {"f:k": {}}}));
    });
}

#[test]
fn apply_conflict_then_force_takes_ownership() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        let created: Deployment = serde_json::from_value(deployment("web", "nginx:1", 1)).unwrap();
        api.create(
            &PostParams {
                field_manager: Some("other".into()),
                ..Default::default()
            },
            &created,
        )
        .await
        .unwrap();
        let err = api_error(
            api.patch(
                "web",
                &apply(),
                &Patch::Apply(deployment("web", "nginx:1", 3)),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "Conflict");
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"other\" using apps/v1: .spec.replicas"
        );
        let causes = err.details.unwrap().causes;
        assert_eq!(causes[0].reason, "FieldManagerConflict");
        assert_eq!(causes[0].field, ".spec.replicas");
        assert_eq!(causes[0].message, "conflict with \"other\" using apps/v1");

        let forced = api
            .patch(
                "web",
                &apply().force(),
                &Patch::Apply(deployment("web", "nginx:1", 3)),
            )
            .await
            .unwrap();
        assert_eq!(forced.spec.replicas, Some(3));
        let other = forced
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .find(|m| m.manager.as_deref() == Some("other"))
            .unwrap();
        assert!(
            other
                .fields_v1
                .unwrap()
                .0
                .pointer("/f:spec/f:replicas")
                .is_none()
        );
    });
}

#[test]
fn reapply_removes_fields_no_longer_applied() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let both = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "labels": {"x": "1", "y": "2"}}, "data": {"a": "1", "b": "2"}});
        api.patch("b", &apply(), &Patch::Apply(&both)).await.unwrap();
        let one = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "labels": {"x": "1"}}, "data": {"a": "1"}});
        let cm = api.patch("b", &apply(), &Patch::Apply(&one)).await.unwrap();
        assert_eq!(cm.data.unwrap().into_keys().collect::<Vec<_>>(), vec!["a".to_string()]);
        assert_eq!(cm.metadata.labels.unwrap().len(), 1);
    });
}

#[test]
fn crd_serves_custom_objects_once_established() {
    let env = env();
    env.runtime.block_on(async {
        let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "widgets");
        let widgets: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), "default", &ar);
        assert_eq!(api_error(widgets.list(&ListParams::default()).await.unwrap_err()).code, 404);

        let crds: Api<DynamicObject> = Api::all_with(
            env.client.clone(),
            &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), "customresourcedefinitions"),
        );
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
        crds.patch("widgets.example.com", &apply(), &Patch::Apply(&crd)).await.unwrap();
        eventually("Established", || async {
            let crd = crds.get("widgets.example.com").await.unwrap();
            crd.data.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|c| c.iter().any(|c| c["type"] == "Established" && c["status"] == "True"))
        })
        .await;
        let discovery = Discovery::new(env.client.clone()).run().await.unwrap();
        assert!(discovery.resolve_gvk(&gvk).is_some());
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}, "status": {"ignored": true}});
        let stored = widgets.patch("w", &apply(), &Patch::Apply(&widget)).await.unwrap();
        assert_eq!(stored.data["spec"]["size"], 2);
        assert!(stored.data.get("status").is_none(), "status subresource: main writes ignore status");
        assert_eq!(widgets.list(&ListParams::default()).await.unwrap().items.len(), 1);

        crds.delete("widgets.example.com", &DeleteParams::default()).await.unwrap();
        eventually("CRD gone", || async { crds.get_opt("widgets.example.com").await.unwrap().is_none() }).await;
        assert_eq!(api_error(widgets.get("w").await.unwrap_err()).code, 404);
    });
}

#[test]
fn deployment_rollout_reaches_ready() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        let applied = api
            .patch(
                "web",
                &apply(),
                &Patch::Apply(deployment("web", "nginx:1", 2)),
            )
            .await
            .unwrap();
        assert!(
            applied.status.is_none(),
            "no status before the controller's first step"
        );
        eventually("rollout", || rollout_done(&api, "web", 2)).await;
        let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap();
        assert_eq!(list.items.len(), 2);
        for pod in &list.items {
            assert!(has_condition(
                &serde_json::to_value(pod).unwrap(),
                "Ready",
                ""
            ));
            assert!(pod.metadata.name.as_ref().unwrap().starts_with("web-"));
            assert!(
                pod.metadata
                    .labels
                    .as_ref()
                    .unwrap()
                    .contains_key("pod-template-hash")
            );
        }
        // A changed template rolls new pods.
        api.patch(
            "web",
            &apply(),
            &Patch::Apply(deployment("web", "nginx:2", 2)),
        )
        .await
        .unwrap();
        eventually("second rollout", || async {
            rollout_done(&api, "web", 2).await
                && pods
                    .list(&ListParams::default().labels("app=web"))
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .all(|p| {
                        serde_json::to_value(p)
                            .unwrap()
                            .pointer("/spec/containers/0/image")
                            == Some(&json!("nginx:2"))
                    })
        })
        .await;
    });
}

#[test]
fn never_ready_pods_stay_not_ready() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        api.patch(
            "stuck",
            &apply(),
            &Patch::Apply(deployment("stuck", "never-ready.invalid/app:1", 1)),
        )
        .await
        .unwrap();
        let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
        eventually("image pull back-off", || async {
            pods.list(&ListParams::default().labels("app=stuck"))
                .await
                .unwrap()
                .items
                .iter()
                .any(|p| {
                    let p = serde_json::to_value(p).unwrap();
                    p.pointer("/status/containerStatuses/0/state/waiting/reason")
                        == Some(&json!("ImagePullBackOff"))
                })
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let d = serde_json::to_value(api.get("stuck").await.unwrap()).unwrap();
        assert_eq!(d.pointer("/status/readyReplicas"), None);
    });
}

#[test]
fn job_completes() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<Job> = Api::namespaced(env.client.clone(), "default");
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
        api.patch("once", &apply(), &Patch::Apply(&job)).await.unwrap();
        eventually("job complete", || async {
            let job = serde_json::to_value(api.get("once").await.unwrap()).unwrap();
            job.pointer("/status/succeeded") == Some(&json!(1)) && has_condition(&job, "Complete", "")
        })
        .await;
    });
}

#[test]
fn endpoint_slices_follow_services() {
    let env = env();
    env.runtime.block_on(async {
        let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        deployments.patch("api", &apply(), &Patch::Apply(deployment("api", "nginx:1", 2))).await.unwrap();
        let services: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), "default", &ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()));
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
                         "spec": {"selector": {"app": "api"}, "ports": [{"port": 443, "targetPort": 8443}]}});
        services.patch("api", &apply(), &Patch::Apply(&svc)).await.unwrap();
        let slices: Api<EndpointSlice> = Api::namespaced(env.client.clone(), "default");
        eventually("two ready endpoints", || async {
            let list = slices.list(&ListParams::default().labels("kubernetes.io/service-name=api")).await.unwrap();
            list.items.first().map(|s| serde_json::to_value(s).unwrap()).is_some_and(|s| {
                let endpoints = s["endpoints"].as_array().cloned().unwrap_or_default();
                endpoints.iter().filter(|e| e["conditions"]["ready"] == true).count() == 2 && s["ports"][0]["port"] == 8443
            })
        })
        .await;
    });
}

#[test]
fn webhook_without_endpoints_refuses_then_admits() {
    let env = env();
    env.runtime.block_on(async {
        let hooks: Api<DynamicObject> = Api::all_with(
            env.client.clone(),
            &ApiResource::erase::<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration>(&()),
        );
        let hook = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "guard"},
            "webhooks": [{"name": "guard.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                          "clientConfig": {"service": {"name": "guard", "namespace": "default", "path": "/validate"}},
                          "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
        hooks.patch("guard", &apply(), &Patch::Apply(&hook)).await.unwrap();
        let services: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), "default", &ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()));
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "guard"},
                         "spec": {"selector": {"app": "guard"}, "ports": [{"port": 443, "targetPort": 8443}]}});
        services.patch("guard", &apply(), &Patch::Apply(&svc)).await.unwrap();

        let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let err = api_error(cms.patch("c", &apply(), &Patch::Apply(&cm)).await.unwrap_err());
        assert_eq!(err.code, 500);
        assert_eq!(err.reason, "InternalError");
        assert_eq!(
            err.message,
            "Internal error occurred: failed calling webhook \"guard.example.com\": failed to call webhook: Post \"https://guard.default.svc:443/validate?timeout=10s\": no endpoints available for service \"guard\""
        );

        let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        deployments.patch("guard", &apply(), &Patch::Apply(deployment("guard", "guard:1", 1))).await.unwrap();
        eventually("webhook backend ready", || rollout_done(&deployments, "guard", 1)).await;
        eventually("admitted", || async { cms.patch("c", &apply(), &Patch::Apply(&cm)).await.is_ok() }).await;
    });
}

#[test]
fn status_faults_carry_real_status_bodies() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let fault = |code| Fault {
            method: Some("GET".into()),
            path_contains: "/configmaps/x".into(),
            times: 1,
            kind: FaultKind::Status(code),
        };
        env.server.inject(fault(500));
        let err = api_error(api.get("x").await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (500, "InternalError"));
        env.server.inject(fault(409));
        let err = api_error(api.get("x").await.unwrap_err());
        assert_eq!(err.reason, "Conflict");
        assert!(
            err.message
                .starts_with("Operation cannot be fulfilled on configmaps \"x\"")
        );
        // Fault spent: the real answer.
        assert_eq!(
            api_error(api.get("x").await.unwrap_err()).message,
            "configmaps \"x\" not found"
        );
    });
}

#[test]
fn too_many_requests_is_retried_after_retry_after() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        env.server.clear_requests();
        env.server.inject(Fault {
            method: None,
            path_contains: "/configmaps".into(),
            times: 1,
            kind: FaultKind::Status(429),
        });
        let started = Instant::now();
        api.list(&ListParams::default()).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "kube waits Retry-After: 1"
        );
        let lists = env
            .server
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/configmaps"))
            .count();
        assert_eq!(lists, 2);
    });
}

#[test]
fn latency_and_hang_faults() {
    let env = env_with(|c| c.read_timeout = Some(Duration::from_millis(500)));
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        env.server.inject(Fault {
            method: Some("GET".into()),
            path_contains: "/configmaps".into(),
            times: 1,
            kind: FaultKind::Latency(Duration::from_millis(200)),
        });
        let started = Instant::now();
        api.list(&ListParams::default()).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200));
        env.server.inject(Fault {
            method: Some("GET".into()),
            path_contains: "/configmaps".into(),
            times: 1,
            kind: FaultKind::Hang,
        });
        assert!(
            api.list(&ListParams::default()).await.is_err(),
            "a hung request times out"
        );
    });
}

#[test]
fn webhook_down_fault() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        env.server.inject(Fault {
            method: Some("PATCH".into()),
            path_contains: "".into(),
            times: 1,
            kind: FaultKind::WebhookDown,
        });
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}});
        let err = api_error(
            api.patch("d", &apply(), &Patch::Apply(&cm))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 500);
        assert!(
            err.message
                .starts_with("Internal error occurred: failed calling webhook")
        );
        assert!(
            err.message
                .ends_with("no endpoints available for service \"webhook\"")
        );
    });
}

#[test]
fn watch_delivers_events() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let rv = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        let url = format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5"
        );
        let request = http_request(&url);
        let response = env.client.send(request).await.unwrap();
        let mut body = response.into_body();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}});
        api.patch("w", &apply(), &Patch::Apply(&cm)).await.unwrap();
        api.delete("w", &DeleteParams::default()).await.unwrap();
        let mut text = String::new();
        while text.lines().count() < 2 {
            let frame = body.frame().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(frame.data_ref().unwrap()));
        }
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events[0]["type"], "ADDED");
        assert_eq!(events[1]["type"], "DELETED");
        assert_eq!(events[1]["object"]["metadata"]["name"], "w");
    });
}

fn http_request(path: &str) -> hyper::Request<kube::client::Body> {
    hyper::Request::get(path)
        .body(kube::client::Body::empty())
        .unwrap()
}

#[test]
fn delete_collects_dependents() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
        api.patch(
            "gc",
            &apply(),
            &Patch::Apply(deployment("gc", "nginx:1", 1)),
        )
        .await
        .unwrap();
        let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
        let gc_pods = ListParams::default().labels("app=gc");
        eventually("pod created", || async {
            !pods.list(&gc_pods).await.unwrap().items.is_empty()
        })
        .await;
        api.delete("gc", &DeleteParams::background()).await.unwrap();
        eventually("pods collected", || async {
            pods.list(&gc_pods).await.unwrap().items.is_empty()
        })
        .await;
    });
}

#[test]
fn namespace_terminates_with_its_contents() {
    let env = env();
    env.runtime.block_on(async {
        let namespaces: Api<Namespace> = Api::all(env.client.clone());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}});
        namespaces
            .patch("doomed", &apply(), &Patch::Apply(&ns))
            .await
            .unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "doomed");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        cms.patch("x", &apply(), &Patch::Apply(&cm)).await.unwrap();
        env.server.set_speed(Duration::from_millis(300));
        namespaces
            .delete("doomed", &DeleteParams::default())
            .await
            .unwrap();
        let terminating = serde_json::to_value(namespaces.get("doomed").await.unwrap()).unwrap();
        assert_eq!(terminating["status"]["phase"], "Terminating");
        let err = api_error(
            cms.patch(
                "y",
                &apply(),
                &Patch::Apply(
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}),
                ),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(err.reason, "Forbidden");
        eventually("namespace gone", || async {
            namespaces.get_opt("doomed").await.unwrap().is_none()
        })
        .await;
        let err = api_error(
            cms.patch("x", &apply(), &Patch::Apply(&cm))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.message, "namespaces \"doomed\" not found");
    });
}

#[test]
fn dry_run_stores_nothing() {
    let env = env();
    env.runtime.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "b"}});
        let answered = api.patch("dry", &apply().dry_run(), &Patch::Apply(&cm)).await.unwrap();
        assert_eq!(answered.data.unwrap()["a"], "b");
        assert!(api.get_opt("dry").await.unwrap().is_none());
    });
}

/// Status code and body of a raw request.
async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Value,
) -> (u16, Value) {
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(kube::client::Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let response = client.send(request).await.unwrap();
    let code = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[test]
fn refusals_use_the_real_messages() {
    let env = env();
    env.runtime.block_on(async {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let (code, body) = raw(&env.client, "PATCH", "/api/v1/namespaces/default/configmaps/a", "application/apply-patch+yaml", cm.clone()).await;
        assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
        assert_eq!(body["message"], "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");

        let (code, body) = raw(&env.client, "POST", "/api/v1/namespaces/missing/configmaps", "application/json", cm.clone()).await;
        assert_eq!((code, body["message"].as_str()), (404, Some("namespaces \"missing\" not found")));

        let (code, body) = raw(&env.client, "POST", "/apis/apps/v1/namespaces/default/deployments", "application/json", cm.clone()).await;
        assert_eq!(code, 400);
        assert_eq!(body["message"], "the API version in the data (v1) does not match the expected API version (apps/v1)");

        raw(&env.client, "POST", "/api/v1/namespaces/default/configmaps", "application/json", cm.clone()).await;
        let renamed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
        let (code, body) = raw(&env.client, "PUT", "/api/v1/namespaces/default/configmaps/a", "application/json", renamed).await;
        assert_eq!(code, 400);
        assert_eq!(body["message"], "the name of the object (b) does not match the name on the URL (a)");

        let stale = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "1"}});
        let (code, body) = raw(&env.client, "PUT", "/api/v1/namespaces/default/configmaps/a", "application/json", stale).await;
        assert_eq!(code, 409);
        assert_eq!(
            body["message"],
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
        );

        let (code, body) = raw(&env.client, "GET", "/apis/example.com/v1/widgets", "application/json", Value::Null).await;
        assert_eq!((code, body["message"].as_str()), (404, Some("the server could not find the requested resource")));
    });
}
