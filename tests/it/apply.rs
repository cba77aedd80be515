//! `crunch apply` end to end. One suite, two targets: a real cluster when
//! `CRUNCH_TEST_KUBECONFIG` names one (tests then run one at a time and start by deleting
//! what the suite creates), otherwise the in-process API-server double, a fresh one per
//! test. Every assertion reads the cluster through the Kubernetes API, never the double's
//! insides; tests that need injected faults or the request log run on the double only.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use crunch::apply::Cluster;
use crunch::apply::{
    self, EXIT_APPLY, EXIT_OK, EXIT_TIMEOUT, EXIT_VERIFICATION, Options, Outcome, Report,
    StartError,
};
use crunch::bundle::{
    self, ApplyPolicy, Bundle, Component, ComponentKind, DeletionPolicy, Object, Secrets,
};
use crunch::object::ObjectRef;

use crate::support::apiserver::{ApiServer, Fault, FaultKind};
use crate::support::block::block;
use crate::support::real_cluster::{self, RealCluster};
use crate::support::world::{REMOTE, World, copy_dir, enclave_identity};
use crate::support::{bundles, interrupt};

// ---------------------------------------------------------------------------------------
// Targets

/// The cluster a test runs against.
struct TestCluster {
    double: Option<ApiServer>,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    /// On the real cluster: the suite's lock (its tests run one at a time) and this
    /// test's part in the suite's turn on the cluster.
    _real: Option<(MutexGuard<'static, ()>, RealCluster)>,
}

/// A clean cluster: a new double, or the real cluster with the suite's leftovers deleted.
fn cluster() -> TestCluster {
    let dir = tempfile::tempdir().expect("temp dir");
    match real_cluster::claim("apply") {
        Some(real) => {
            static EXCLUSIVE: Mutex<()> = Mutex::new(());
            let guard = EXCLUSIVE.lock().unwrap_or_else(|e| e.into_inner());
            reset(&real.kubeconfig);
            TestCluster {
                double: None,
                kubeconfig: real.kubeconfig.clone(),
                _dir: dir,
                _real: Some((guard, real)),
            }
        }
        None => {
            let double = ApiServer::start();
            let kubeconfig = dir.path().join("kubeconfig");
            double.write_kubeconfig(&kubeconfig);
            TestCluster {
                double: Some(double),
                kubeconfig,
                _dir: dir,
                _real: None,
            }
        }
    }
}

impl TestCluster {
    fn options(&self, bundle: &Path) -> Options {
        Options {
            bundle: bundle.to_path_buf(),
            kubeconfig: Some(self.kubeconfig.clone()),
            timeout: Some(Duration::from_secs(120)),
            prune: true,
            jobs: 4,
            // The world's bundles seal their Secrets for the fixture enclave.
            identities: vec![enclave_identity()],
            ..Options::default()
        }
    }

    fn apply(&self, options: &Options) -> (Report, Vec<String>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = lines.clone();
        let sink: apply::Sink = Arc::new(move |line: &str| {
            sink_lines.lock().unwrap().push(line.to_string());
        });
        let report = apply::apply(options, sink).expect("apply starts");
        let lines = lines.lock().unwrap().clone();
        (report, lines)
    }

    fn get(&self, target: &ObjectRef) -> Option<Value> {
        block(async {
            let cluster = self.connect().await;
            cluster.get(target).await.expect("get")
        })
    }

    fn list(&self, api_version: &str, kind: &str, namespace: &str, selector: &str) -> Vec<Value> {
        block(async {
            let cluster = self.connect().await;
            cluster
                .list(api_version, kind, namespace, selector)
                .await
                .expect("list")
        })
    }

    /// Deletes an object if it is there.
    fn delete(&self, target: &ObjectRef) {
        block(async {
            let _ = self.connect().await.delete(target).await;
        });
    }

    /// Server-side applies `object` as another field manager.
    fn apply_as(&self, manager: &str, object: &Value) {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).unwrap();
        block(async {
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .unwrap();
            let client = kube::Client::try_from(config).unwrap();
            let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
                client,
                object["metadata"]["namespace"].as_str().unwrap(),
                &kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
            );
            let name = object["metadata"]["name"].as_str().unwrap();
            api.patch(
                name,
                &kube::api::PatchParams::apply(manager),
                &kube::api::Patch::Apply(object),
            )
            .await
            .expect("apply as another manager");
        });
    }

    async fn connect(&self) -> Cluster {
        Cluster::connect(Some(&self.kubeconfig), None, Duration::from_secs(30))
            .await
            .expect("connect")
    }
}

/// An object in the cluster, by apiVersion, kind, namespace ("" when cluster-scoped) and
/// name.
fn target(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// Deletes everything the suite creates from a real cluster and waits until it is gone.
fn reset(kubeconfig: &Path) {
    let bundles = worlds();
    let mut namespaces: BTreeSet<String> = ["crunch-system".to_string()].into();
    namespaces.extend(TEST_NAMESPACES.iter().map(|n| n.to_string()));
    let mut cluster_scoped = Vec::new();
    for path in [&bundles.dev, &bundles.prod] {
        for target in bundles::kept_objects(path) {
            if target.kind == "Namespace" {
                namespaces.insert(target.name.clone());
            } else if target.namespace.is_empty() {
                cluster_scoped.push(target);
            }
        }
    }
    block(async {
        let cluster = Cluster::connect(Some(kubeconfig), None, Duration::from_secs(30))
            .await
            .expect("connect to CRUNCH_TEST_KUBECONFIG");
        let namespace = |name: &str| target("v1", "Namespace", "", name);
        for target in cluster_scoped
            .iter()
            .chain(&namespaces.iter().map(|n| namespace(n)).collect::<Vec<_>>())
        {
            let _ = cluster.delete(target).await;
        }
        for _ in 0..240 {
            let mut left = 0;
            for name in &namespaces {
                if matches!(cluster.get(&namespace(name)).await, Ok(Some(_))) {
                    left += 1;
                }
            }
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("the test namespaces did not go away");
    });
}

// ---------------------------------------------------------------------------------------
// Bundles

/// Namespaces of the bundles the tests write themselves.
const TEST_NAMESPACES: &[&str] = &["crunch-test", "crunch-test-extra"];

struct Worlds {
    _world: World,
    dev: PathBuf,
    prod: PathBuf,
}

/// The world's dev and prod bundles, built once per test process.
fn worlds() -> &'static Worlds {
    static WORLDS: OnceLock<Worlds> = OnceLock::new();
    WORLDS.get_or_init(|| {
        let world = World::new();
        let mirror = format!("{REMOTE}={}/", world.repos.display());
        let dev = world.build("dev", &mirror, &[]);
        assert!(dev.ok(), "{}", dev.stderr);
        let prod = world.build("prod", &mirror, &[]);
        assert!(prod.ok(), "{}", prod.stderr);
        Worlds {
            dev: dev.out,
            prod: prod.out,
            _world: world,
        }
    })
}

/// A one-component bundle of `objects` in namespace `crunch-test`.
fn small_bundle(dir: &Path, name: &str, timeout: &str, objects: Vec<Value>) -> PathBuf {
    checked_bundle(dir, name, timeout, objects, vec![])
}

/// As [`small_bundle`], waiting for `health_checks` too.
fn checked_bundle(
    dir: &Path,
    name: &str,
    timeout: &str,
    objects: Vec<Value>,
    health_checks: Vec<ObjectRef>,
) -> PathBuf {
    bundle_of(
        dir,
        name,
        (ComponentKind::Environment, timeout),
        objects,
        health_checks,
    )
}

/// As [`small_bundle`], the one component being a HelmRelease's render.
fn helm_bundle(dir: &Path, name: &str, timeout: &str, objects: Vec<Value>) -> PathBuf {
    bundle_of(
        dir,
        name,
        (ComponentKind::HelmRelease, timeout),
        objects,
        vec![],
    )
}

fn bundle_of(
    dir: &Path,
    name: &str,
    (kind, timeout): (ComponentKind, &str),
    objects: Vec<Value>,
    health_checks: Vec<ObjectRef>,
) -> PathBuf {
    let mut only = component(name, kind, vec![], timeout, objects);
    only.health_checks = health_checks;
    write_bundle(dir, name, vec![only])
}

/// A component of a test bundle; every object is applied.
fn component(
    id: &str,
    kind: ComponentKind,
    needs: Vec<&str>,
    timeout: &str,
    objects: Vec<Value>,
) -> Component {
    Component {
        depends_on: needs.into_iter().map(String::from).collect(),
        timeout: Some(timeout.into()),
        objects: objects
            .into_iter()
            .map(|value| Object {
                value,
                apply: true,
                source: None,
            })
            .collect(),
        ..Component::new(id, kind, None)
    }
}

/// Writes `components` as the bundle `name`, the first holding namespace `crunch-test`,
/// Secret values in plaintext.
fn write_bundle(dir: &Path, name: &str, components: Vec<Component>) -> PathBuf {
    write_bundle_with(dir, name, components, &Secrets::Plaintext)
}

/// As [`write_bundle`], Secret values as `secrets` says.
fn write_bundle_with(
    dir: &Path,
    name: &str,
    mut components: Vec<Component>,
    secrets: &Secrets,
) -> PathBuf {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "crunch-test"}});
    components[0].objects.insert(
        0,
        Object {
            value: namespace,
            apply: true,
            source: None,
        },
    );
    let out = dir.join(name);
    bundle::write(
        &Bundle {
            environment: name.into(),
            kube_version: "v1.28.15".into(),
            sources: vec![],
            components,
        },
        &out,
        secrets,
    )
    .expect("write bundle");
    out
}

/// The fixture enclave's recipient, which [`enclave_identity`] opens.
const ENCLAVE_RECIPIENT: &str = "age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c";

/// A bundle of two Secrets in `crunch-test` (one with `stringData`), sealed for the
/// fixture enclave.
fn sealed_bundle(dir: &Path, name: &str) -> PathBuf {
    let registry = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "registry", "namespace": "crunch-test"},
        "data": {"username": "cm9ib3Q="}, "stringData": {"password": "hunter2"}});
    let tls = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tls", "namespace": "crunch-test"},
        "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}});
    let secrets = Secrets::Sealed {
        recipients: crunch::seal::Recipients::parse(&[ENCLAVE_RECIPIENT.to_string()]).unwrap(),
        material: vec![],
    };
    let only = component(
        name,
        ComponentKind::Environment,
        vec![],
        "30s",
        vec![registry, tls],
    );
    write_bundle_with(dir, name, vec![only], &secrets)
}

/// `text` with the temporary directory `dir` written as `[TMP]`.
fn scrub(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "[TMP]")
}

fn deployment(name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "crunch-test"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}}}})
}

fn versions(cluster: &TestCluster, targets: &[ObjectRef]) -> Vec<(ObjectRef, Option<String>)> {
    targets
        .iter()
        .map(|t| {
            let live = cluster.get(t);
            let version = live.and_then(|v| {
                v["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string)
            });
            (t.clone(), version)
        })
        .collect()
}

/// The message of the first component, which must have timed out.
fn timed_out(report: &Report) -> &str {
    match &report.components[0].outcome {
        Outcome::TimedOut(message) => message,
        _ => panic!("{}", report.to_text()),
    }
}

fn assert_ready(report: &Report, lines: &[String]) {
    assert_eq!(
        report.exit_code(),
        EXIT_OK,
        "{}\nprogress:\n{}",
        report.to_text(),
        lines.join("\n")
    );
    assert!(
        report
            .components
            .iter()
            .all(|c| c.outcome == Outcome::Ready)
    );
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[test]
fn dev_bundle_goes_from_nothing_to_ready() {
    let cluster = cluster();
    let dev = &worlds().dev;
    let (report, lines) = cluster.apply(&cluster.options(dev));
    assert_ready(&report, &lines);
    assert_eq!(report.components.len(), 5);
    // The registry credentials went out sealed and arrive in plaintext.
    let pull = cluster
        .get(&target("v1", "Secret", "logging", "private-registry"))
        .expect("the pull Secret");
    let config = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        pull["data"][".dockerconfigjson"].as_str().unwrap(),
    )
    .unwrap();
    assert!(
        String::from_utf8(config)
            .unwrap()
            .contains("\"password\":\"dev-password\""),
        "{pull}"
    );
    let logging = report
        .components
        .iter()
        .find(|c| c.id == "HelmRelease/bigbang/logging")
        .unwrap();
    assert_eq!(logging.hooks, 1, "the post-install hook ran");
    for target in bundles::kept_objects(dev) {
        let live = cluster.get(&target);
        let Some(live) = live else {
            panic!("{target} is missing after apply");
        };
        if target.kind == "Deployment" {
            let wanted = live["spec"]["replicas"].as_i64().unwrap_or(1);
            assert_eq!(
                live["status"]["readyReplicas"].as_i64(),
                Some(wanted),
                "{target}"
            );
            let selector = live["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",");
            let pods = cluster.list("v1", "Pod", &target.namespace, &selector);
            assert!(!pods.is_empty(), "{target} has pods");
            for pod in pods {
                let ready = pod["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                assert!(
                    ready,
                    "pod {} of {target} is ready",
                    pod["metadata"]["name"]
                );
            }
        }
    }
    // The hook's delete policy (hook-succeeded) removed it once it completed.
    let hook = target(
        "batch/v1",
        "Job",
        "logging",
        "logging-logging-logstore-bootstrap",
    );
    assert!(cluster.get(&hook).is_none());
    let inventories = cluster.list(
        "v1",
        "ConfigMap",
        "crunch-system",
        "crunch.dev/inventory=true",
    );
    assert_eq!(inventories.len(), 5);
}

#[test]
fn applying_the_same_bundle_again_changes_nothing() {
    let cluster = cluster();
    let dev = &worlds().dev;
    let (first, lines) = cluster.apply(&cluster.options(dev));
    assert_ready(&first, &lines);
    let targets = bundles::kept_objects(dev);
    let before = versions(&cluster, &targets);
    // The second time from an archive of the same bundle, as it reaches an enclave.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("dev.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(&archive).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("dev", dev).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let (second, lines) = cluster.apply(&cluster.options(&archive));
    assert_ready(&second, &lines);
    assert_eq!(second.bundle, first.bundle);
    for component in &second.components {
        assert_eq!(
            component.counts.created + component.counts.changed,
            0,
            "{}",
            second.to_text()
        );
        assert_eq!(component.hooks, 0, "an unchanged component runs no hooks");
    }
    assert_eq!(versions(&cluster, &targets), before);
}

#[test]
fn prod_after_dev_prunes_exactly_what_disappeared() {
    let cluster = cluster();
    let worlds = worlds();
    let (first, lines) = cluster.apply(&cluster.options(&worlds.dev));
    assert_ready(&first, &lines);
    let (second, lines) = cluster.apply(&cluster.options(&worlds.prod));
    assert_ready(&second, &lines);
    let dev = bundles::kept_objects(&worlds.dev);
    let prod = bundles::kept_objects(&worlds.prod);
    let vanished: BTreeSet<ObjectRef> = dev
        .iter()
        .filter(|d| !prod.iter().any(|p| p.same_object(d)))
        .cloned()
        .collect();
    assert!(!vanished.is_empty(), "dev and prod differ");
    let pruned = second.pruned.as_ref().expect("pruning ran");
    let deleted: BTreeSet<ObjectRef> = pruned.deleted.iter().cloned().collect();
    assert_eq!(deleted, vanished, "{}", second.to_text());
    for target in &vanished {
        assert!(cluster.get(target).is_none(), "{target} was pruned");
    }
    for target in &prod {
        assert!(cluster.get(target).is_some(), "{target} is there");
    }
}

#[test]
fn pods_that_never_become_ready_time_out_with_their_names() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = small_bundle(
        tmp.path(),
        "stuck",
        "8s",
        vec![deployment("stuck", "never-ready.invalid/app:1")],
    );
    let mut options = cluster.options(&bundle);
    options.timeout = None;
    let (report, _) = cluster.apply(&options);
    assert_eq!(report.exit_code(), EXIT_TIMEOUT, "{}", report.to_text());
    let message = timed_out(&report);
    assert!(message.contains("not ready after 8s"), "{message}");
    assert!(
        message.contains("Deployment crunch-test/stuck"),
        "{message}"
    );
    assert!(message.contains("pod crunch-test/stuck-"), "{message}");
    assert!(
        message.contains("never-ready.invalid/app:1") || message.contains("ImagePull"),
        "{message}"
    );
}

#[test]
fn an_interrupted_apply_is_completed_by_the_next_run() {
    let cluster = cluster();
    if let Some(double) = &cluster.double {
        // Slow rollouts, so that the interrupt lands while components are still waiting.
        double.set_speed(Duration::from_millis(1000));
    }
    let dev = &worlds().dev;
    interrupt::apply_interrupted_at_first_wait(dev, &cluster.kubeconfig);
    if let Some(double) = &cluster.double {
        double.set_speed(Duration::from_millis(50));
    }
    let (report, lines) = cluster.apply(&cluster.options(dev));
    assert_ready(&report, &lines);
    for target in bundles::kept_objects(dev) {
        assert!(cluster.get(&target).is_some(), "{target} is there");
    }
}

#[test]
fn a_tampered_bundle_is_refused_before_any_request() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("dev");
    copy_dir(&worlds().dev, &copy);
    let file = copy.join(
        "objects/helmrelease.bigbang.logging/logging/deployment.logging-logging-logstore.yaml",
    );
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replacen("replicas: 1", "replicas: 9", 1)).unwrap();
    if let Some(double) = &cluster.double {
        double.clear_requests();
    }
    let lines: apply::Sink = Arc::new(|_: &str| {});
    let error = apply::apply(&cluster.options(&copy), lines).unwrap_err();
    let StartError::Verification(message) = &error else {
        panic!("{error}");
    };
    assert!(
        message.contains("deployment.logging-logging-logstore.yaml: sha256 is"),
        "{message}"
    );
    if let Some(double) = &cluster.double {
        assert_eq!(double.requests(), vec![], "nothing was sent");
    }
    let cli = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("apply")
        .arg(&copy)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(i32::from(EXIT_VERIFICATION)));
    assert!(String::from_utf8_lossy(&cli.stderr).contains("bundle verification failed"));
    if let Some(double) = &cluster.double {
        assert_eq!(double.requests(), vec![], "nothing was sent");
    }
}

#[test]
fn a_sealed_bundle_is_opened_in_memory_with_its_identity() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = sealed_bundle(tmp.path(), "secrets");
    let on_disk =
        fs::read_to_string(bundle.join("objects/secrets/crunch-test/secret.registry.yaml"))
            .unwrap();
    assert!(
        !on_disk.contains("hunter2") && !on_disk.contains("aHVudGVyMg=="),
        "{on_disk}"
    );
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
    let live = |name: &str| {
        cluster
            .get(&target("v1", "Secret", "crunch-test", name))
            .unwrap()["data"]
            .clone()
    };
    assert_eq!(
        live("registry"),
        json!({"username": "cm9ib3Q=", "password": "aHVudGVyMg=="})
    );
    assert_eq!(
        live("tls"),
        json!({"tls.crt": "Y2VydA==", "tls.key": "a2V5"})
    );
    // Compared with what is live through the identity, nothing differs.
    let changes = apply::diff(&cluster.options(&bundle)).expect("diff");
    assert_eq!(crunch::diff::render(&changes, apply::SIDES), "");
    // Without it, the Secrets are said to be beyond comparison, and nothing else.
    let mut blind = cluster.options(&bundle);
    blind.identities.clear();
    let changes = apply::diff(&blind).expect("diff");
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("diff_cluster_sealed_without_identity", crunch::diff::render(&changes, apply::SIDES));
    });
}

/// A sealed Secret sent as it is in the bundle, by another tool than crunch, is refused by
/// the API server: a sealed value is no base64.
#[test]
fn a_sealed_secret_applied_by_another_tool_is_refused() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = sealed_bundle(tmp.path(), "secrets");
    let (report, lines) =
        cluster.apply(&cluster.options(&small_bundle(tmp.path(), "namespace", "30s", vec![])));
    assert_ready(&report, &lines);
    let text =
        fs::read_to_string(bundle.join("objects/secrets/crunch-test/secret.tls.yaml")).unwrap();
    let sealed = crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let error = block(async {
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
            client,
            "crunch-test",
            &kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
        );
        api.patch(
            "tls",
            &kube::api::PatchParams::apply("kubectl"),
            &kube::api::Patch::Apply(&sealed),
        )
        .await
        .expect_err("a sealed value is no base64")
    });
    let message = error.to_string();
    assert!(
        message.contains("illegal base64 data at input byte 6"),
        "{message}"
    );
    assert!(
        cluster
            .get(&target("v1", "Secret", "crunch-test", "tls"))
            .is_none()
    );
}

/// Applies `options` expecting it to fail on the bundle's sealed Secrets before any
/// request; the CLI given `cli_args` fails the same way, with the verification exit code.
fn refused_before_any_request(
    cluster: &TestCluster,
    options: &Options,
    cli_args: &[&std::ffi::OsStr],
) -> String {
    if let Some(double) = &cluster.double {
        double.clear_requests();
    }
    let error = apply::apply(options, Arc::new(|_: &str| {})).unwrap_err();
    let StartError::Sealed(message) = &error else {
        panic!("{error}");
    };
    let cli = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("apply")
        .arg(&options.bundle)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(cli_args)
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(i32::from(EXIT_VERIFICATION)));
    assert_eq!(
        String::from_utf8_lossy(&cli.stderr),
        format!("error: {message}\n")
    );
    if let Some(double) = &cluster.double {
        assert_eq!(double.requests(), vec![], "nothing was sent");
    }
    message.clone()
}

#[test]
fn a_sealed_bundle_without_an_identity_is_refused_before_any_request() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = sealed_bundle(tmp.path(), "secrets");
    let mut options = cluster.options(&bundle);
    options.identities.clear();
    let message = refused_before_any_request(&cluster, &options, &[]);
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("apply_sealed_without_identity", scrub(&message, tmp.path()));
    });
}

#[test]
fn a_wrong_identity_is_refused_naming_the_recipients() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = sealed_bundle(tmp.path(), "secrets");
    let stranger = tmp.path().join("stranger.txt");
    let key = age::x25519::Identity::generate();
    fs::write(
        &stranger,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&key.to_string())
        ),
    )
    .unwrap();
    let mut options = cluster.options(&bundle);
    options.identities = vec![stranger.clone()];
    let message = refused_before_any_request(
        &cluster,
        &options,
        &["--identity".as_ref(), stranger.as_os_str()],
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("apply_sealed_wrong_identity", scrub(&message, tmp.path()));
    });
}

/// A sealed value copied over another Secret's, the bundle's digests made to match again
/// (as whoever rewrites a bundle can): it does not open at its new place.
#[test]
fn a_sealed_value_moved_to_another_secret_is_refused_naming_it() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = sealed_bundle(tmp.path(), "secrets");
    let dir = bundle.join("objects/secrets/crunch-test");
    let registry = fs::read_to_string(dir.join("secret.registry.yaml")).unwrap();
    let password = registry
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap()
        .to_string();
    let tls_path = dir.join("secret.tls.yaml");
    let tls = fs::read_to_string(&tls_path).unwrap();
    let key_line = tls
        .lines()
        .find(|l| l.trim().starts_with("tls.key: "))
        .unwrap();
    let moved = tls.replace(key_line, &format!("  tls.key: {password}"));
    fs::write(&tls_path, &moved).unwrap();
    let index_path = bundle.join("index.json");
    let index = fs::read_to_string(&index_path).unwrap().replace(
        &crunch::gostd::sha256::hex(&tls),
        &crunch::gostd::sha256::hex(&moved),
    );
    fs::write(&index_path, &index).unwrap();
    fs::write(
        bundle.join("digest"),
        format!("sha256:{}\n", crunch::gostd::sha256::hex(&index)),
    )
    .unwrap();
    let options = cluster.options(&bundle);
    let identity = enclave_identity();
    let message = refused_before_any_request(
        &cluster,
        &options,
        &["--identity".as_ref(), identity.as_os_str()],
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("apply_sealed_value_moved", scrub(&message, tmp.path()));
    });
}

#[test]
fn conflicts_are_reported_per_field_and_force_takes_over() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "namespace": "crunch-test"},
        "data": {"shared": "from-crunch"}});
    let bundle = small_bundle(tmp.path(), "conflict", "30s", vec![config_map]);
    let namespace_only = small_bundle(tmp.path(), "namespace", "30s", vec![]);
    let (report, lines) = cluster.apply(&cluster.options(&namespace_only));
    assert_ready(&report, &lines);
    cluster.apply_as(
        "other",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": "crunch-test"},
            "data": {"shared": "from-other"}}),
    );
    let (report, _) = cluster.apply(&cluster.options(&bundle));
    assert_eq!(report.exit_code(), EXIT_APPLY, "{}", report.to_text());
    let Outcome::Failed(message) = &report.components[0].outcome else {
        panic!("{}", report.to_text());
    };
    assert!(
        message.contains("ConfigMap crunch-test/shared"),
        "{message}"
    );
    assert!(
        message.contains(".data.shared: conflict with \"other\""),
        "{message}"
    );
    assert!(message.contains("--force-conflicts"), "{message}");
    let mut force = cluster.options(&bundle);
    force.force_conflicts = true;
    let (report, lines) = cluster.apply(&force);
    assert_ready(&report, &lines);
    let live = cluster
        .get(&target("v1", "ConfigMap", "crunch-test", "shared"))
        .unwrap();
    assert_eq!(live["data"]["shared"], "from-crunch");
}

fn guard_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "guard", "namespace": "crunch-test"},
        "spec": {"selector": {"app": "guard"}, "ports": [{"port": 443, "targetPort": 8443}]}})
}

/// A webhook on creating Secrets (crunch's own writes, ConfigMaps, stay admissible),
/// served by `namespace`/`guard`.
fn guard_webhook(namespace: &str, failure_policy: &str) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "crunch-test-guard"},
        "webhooks": [{"name": "guard.crunch.test", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "failurePolicy": failure_policy,
            "clientConfig": {"service": {"name": "guard", "namespace": namespace, "path": "/validate"}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["secrets"], "scope": "Namespaced"}]}]})
}

fn secret(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "crunch-test"}, "data": {"a": "YQ=="}})
}

/// The webhook configuration is cluster-wide: remove it so it does not outlive the test.
fn remove_guard_webhook(cluster: &TestCluster) {
    cluster.delete(&target(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "",
        "crunch-test-guard",
    ));
}

/// Writes a bundle of several components: (id, depends on, timeout, objects).
type ComponentSpec<'a> = (&'a str, Vec<&'a str>, &'a str, Vec<Value>);

fn components_bundle(dir: &Path, name: &str, components: Vec<ComponentSpec>) -> PathBuf {
    let components = components
        .into_iter()
        .map(|(id, needs, timeout, objects)| {
            component(id, ComponentKind::HelmRelease, needs, timeout, objects)
        })
        .collect();
    write_bundle(dir, name, components)
}

#[test]
fn an_intercepted_object_waits_for_its_webhooks_endpoints() {
    // The backend's component is ready (its Service exists) but nothing serves it yet.
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = components_bundle(
        tmp.path(),
        "webhook",
        vec![
            (
                "server",
                vec![],
                "10s",
                vec![guard_service(), guard_webhook("crunch-test", "Ignore")],
            ),
            ("users", vec!["server"], "4s", vec![secret("guarded")]),
        ],
    );
    let mut options = cluster.options(&bundle);
    options.timeout = None;
    let (report, lines) = cluster.apply(&options);
    remove_guard_webhook(&cluster);
    assert_eq!(report.exit_code(), EXIT_TIMEOUT, "{}", report.to_text());
    assert!(
        report.to_text().contains(
            "cannot apply Secret crunch-test/guarded within 4s: gave up after"
        ) && report.to_text().contains(
            "webhook service crunch-test/guard of ValidatingWebhookConfiguration crunch-test-guard has no ready endpoints"
        ),
        "{}",
        report.to_text()
    );
    assert!(
        lines.iter().any(|l| l.contains(
            "holding Secret crunch-test/guarded until webhook service crunch-test/guard"
        )),
        "{}",
        lines.join("\n")
    );
    // Held, not let through unvalidated.
    let guarded = target("v1", "Secret", "crunch-test", "guarded");
    assert!(cluster.get(&guarded).is_none());
}

#[test]
fn a_webhook_whose_backend_comes_later_does_not_hold_its_own_component() {
    // As istio-crds declares the validator that istiod, which needs istio-crds, serves.
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = components_bundle(
        tmp.path(),
        "later",
        vec![
            (
                "crds",
                vec![],
                "30s",
                vec![guard_webhook("crunch-test", "Fail")],
            ),
            (
                "server",
                vec!["crds"],
                "30s",
                vec![
                    deployment("guard", "registry.crunch.test/guard:1"),
                    guard_service(),
                ],
            ),
            ("users", vec!["server"], "30s", vec![secret("late")]),
        ],
    );
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    remove_guard_webhook(&cluster);
    assert_ready(&report, &lines);
}

#[test]
fn a_webhook_served_from_outside_the_bundle_is_left_to_the_api_server() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = small_bundle(
        tmp.path(),
        "outside",
        "10s",
        vec![
            guard_webhook("crunch-test-extra", "Ignore"),
            secret("passes"),
        ],
    );
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    remove_guard_webhook(&cluster);
    assert_ready(&report, &lines);
}

#[test]
fn dry_run_changes_nothing_and_diff_shows_what_would() {
    let cluster = cluster();
    let worlds = worlds();
    let (report, lines) = cluster.apply(&cluster.options(&worlds.dev));
    assert_ready(&report, &lines);
    let targets = bundles::kept_objects(&worlds.dev);
    let before = versions(&cluster, &targets);
    let mut dry = cluster.options(&worlds.prod);
    dry.dry_run = true;
    let (report, lines) = cluster.apply(&dry);
    assert_ready(&report, &lines);
    assert!(report.dry_run);
    let changed: usize = report
        .components
        .iter()
        .map(|c| c.counts.changed + c.counts.created)
        .sum();
    assert!(changed > 0, "{}", report.to_text());
    assert_eq!(
        versions(&cluster, &targets),
        before,
        "a dry run changes nothing"
    );
    let changes = apply::diff(&cluster.options(&worlds.prod)).expect("diff");
    let text = crunch::diff::render(&changes, apply::SIDES);
    assert!(text.contains("live Deployment haproxy/haproxy"), "{text}");
    assert!(text.contains("-  replicas: 1\n+  replicas: 3"), "{text}");
    let same = apply::diff(&cluster.options(&worlds.dev)).expect("diff");
    assert_eq!(
        crunch::diff::render(&same, apply::SIDES),
        "",
        "dev is what is live"
    );
}

#[test]
fn health_checks_are_waited_for() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = target("apps/v1", "Deployment", "crunch-test", "elsewhere");
    let bundle = checked_bundle(tmp.path(), "checked", "4s", vec![], vec![elsewhere]);
    let mut options = cluster.options(&bundle);
    options.timeout = None;
    let (report, _) = cluster.apply(&options);
    let message = timed_out(&report);
    assert!(
        message.contains("Deployment crunch-test/elsewhere: not found"),
        "{message}"
    );
}

#[test]
fn pruning_spares_what_crunch_did_not_create_and_namespaces_without_the_flag() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let config_map = |name: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "crunch-test"}, "data": {"from": "bundle"}})
    };
    let extra =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crunch-test-extra"}});
    let first = small_bundle(
        tmp.path(),
        "first",
        "30s",
        vec![extra, config_map("owned"), config_map("adopted")],
    );
    let second = small_bundle(tmp.path(), "second", "30s", vec![]);
    let namespace_only = small_bundle(tmp.path(), "namespace", "30s", vec![]);
    let (report, lines) = cluster.apply(&cluster.options(&namespace_only));
    assert_ready(&report, &lines);
    // Someone else created "adopted" before crunch applied it.
    cluster.apply_as("someone-else", &config_map("adopted"));
    let (report, lines) = cluster.apply(&cluster.options(&first));
    assert_ready(&report, &lines);
    let (report, lines) = cluster.apply(&cluster.options(&second));
    assert_ready(&report, &lines);
    let owned = target("v1", "ConfigMap", "crunch-test", "owned");
    let adopted = target("v1", "ConfigMap", "crunch-test", "adopted");
    let namespace = target("v1", "Namespace", "", "crunch-test-extra");
    let pruned = report.pruned.as_ref().unwrap();
    assert_eq!(pruned.deleted, vec![owned.clone()], "{}", report.to_text());
    assert!(cluster.get(&owned).is_none());
    assert!(cluster.get(&adopted).is_some(), "crunch did not create it");
    assert!(
        cluster.get(&namespace).is_some(),
        "namespaces need --prune-namespaces"
    );
    assert!(
        pruned
            .kept
            .iter()
            .any(|k| k.object == namespace && k.reason.contains("--prune-namespaces")),
        "{}",
        report.to_text()
    );
    let mut with_flag = cluster.options(&second);
    with_flag.prune_scope.namespaces = true;
    let (report, lines) = cluster.apply(&with_flag);
    assert_ready(&report, &lines);
    assert_eq!(
        report.pruned.as_ref().unwrap().deleted,
        vec![namespace],
        "{}",
        report.to_text()
    );
    let records = cluster.list(
        "v1",
        "ConfigMap",
        "crunch-system",
        "crunch.dev/inventory=true",
    );
    let components: Vec<&str> = records
        .iter()
        .filter_map(|r| r["data"]["inventory"].as_str())
        .filter_map(|r| r.split("\"component\":\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        !components.contains(&"first"),
        "the emptied record is gone: {components:?}"
    );
}

#[test]
fn the_cli_reports_in_json_and_text() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "report", "namespace": "crunch-test"}, "data": {"a": "b"}});
    let bundle = small_bundle(tmp.path(), "report", "30s", vec![config_map]);
    let run = |format: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
            .arg("apply")
            .arg(&bundle)
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .args(["--output", format])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let mut json: Value = serde_json::from_str(&run("json")).expect("JSON report");
    json["seconds"] = json!(0);
    assert!(json["requests"].as_u64().is_some_and(|n| n > 0), "{json}");
    json["requests"] = json!(0);
    for component in json["components"].as_array_mut().unwrap() {
        component["seconds"] = json!(0);
    }
    let text = run("text");
    let seconds = regex::Regex::new(r"\d+\.\d(\n|s, )").unwrap();
    let requests = regex::Regex::new(r"\d+ API requests").unwrap();
    let text = requests.replace_all(&text, "[N] API requests");
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("apply_report_json", serde_json::to_string_pretty(&json).unwrap());
        insta::assert_snapshot!("apply_report_text_rerun", seconds.replace_all(&text, "[SECONDS]$1"));
    });
}

#[test]
fn transient_faults_are_retried() {
    let cluster = cluster();
    let Some(double) = &cluster.double else {
        return; // Faults are injected into the double only.
    };
    for (path, kind, times) in [
        ("/deployments", FaultKind::Status(503), 2),
        ("/configmaps", FaultKind::Status(500), 2),
        ("/services", FaultKind::Status(409), 1),
        ("/secrets", FaultKind::Status(429), 1),
        (
            "/namespaces",
            FaultKind::Latency(Duration::from_millis(300)),
            3,
        ),
        ("/serviceaccounts", FaultKind::WebhookDown, 2),
        ("/jobs", FaultKind::Hang, 1),
    ] {
        double.inject(Fault {
            method: Some("PATCH".into()),
            path_contains: path.into(),
            times,
            kind,
        });
    }
    let mut options = cluster.options(&worlds().dev);
    options.request_timeout = Some(Duration::from_secs(2));
    let (report, lines) = cluster.apply(&options);
    assert_ready(&report, &lines);
}

#[test]
fn a_kind_without_its_definition_fails_with_a_clear_message() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let custom = json!({"apiVersion": "example.crunch.dev/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "crunch-test"}});
    let bundle = small_bundle(tmp.path(), "nokind", "3s", vec![custom]);
    let mut options = cluster.options(&bundle);
    options.timeout = None;
    // Refused before anything is sent: nothing in the cluster or the bundle serves it.
    let refused = apply::apply(&options, Arc::new(|_: &str| {}));
    let Err(StartError::Setup(message)) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert!(
        message.contains("Widget crunch-test/w: the cluster does not serve example.crunch.dev/v1"),
        "{message}"
    );
    // Forced, the component fails as the API server answers.
    options.force = true;
    let (report, _) = cluster.apply(&options);
    assert_eq!(report.exit_code(), EXIT_TIMEOUT, "{}", report.to_text());
    let message = timed_out(&report);
    assert!(
        message.contains("no matches for kind \"Widget\" in version \"example.crunch.dev/v1\""),
        "{message}"
    );
}

/// A custom resource with a schema, and a null where the schema wants a list.
fn policy_definition_and_policy() -> (Value, Value) {
    let definition = json!({"apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "policies.example.crunch.dev"},
        "spec": {"group": "example.crunch.dev", "scope": "Cluster",
            "names": {"kind": "Policy", "plural": "policies", "singular": "policy",
                "listKind": "PolicyList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "match": {"type": "array", "items": {"type": "object", "properties": {
                            "kinds": {"type": "array", "items": {"type": "string"}},
                            "names": {"type": "array", "items": {"type": "string"}}}}}}}}}}}]}});
    let policy = json!({"apiVersion": "example.crunch.dev/v1", "kind": "Policy",
        "metadata": {"name": "crunch-test-nodeports"},
        "spec": {"match": [{"kinds": ["Service"], "names": null}], "stale": true}});
    (definition, policy)
}

fn remove_definition(cluster: &TestCluster, name: &str) {
    cluster.delete(&target(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        name,
    ));
}

#[test]
fn helm_objects_are_stored_as_helms_create_would_store_them() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let (definition, policy) = policy_definition_and_policy();
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "crunch-test", "annotations": null},
        "data": {"a": "1"}, "bogus": {"x": 1}});
    let bundle = helm_bundle(tmp.path(), "nulls", "20s", vec![definition, policy, config]);
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
    let stored = cluster
        .get(&target(
            "example.crunch.dev/v1",
            "Policy",
            "",
            "crunch-test-nodeports",
        ))
        .expect("the policy is stored");
    assert_eq!(stored["spec"], json!({"match": [{"kinds": ["Service"]}]}));
    let stored = cluster
        .get(&target("v1", "ConfigMap", "crunch-test", "settings"))
        .expect("the config map is stored");
    assert!(stored.get("bogus").is_none(), "{stored}");
    assert!(stored["metadata"].get("annotations").is_none(), "{stored}");
    // Again: nothing to change.
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
    assert_eq!(
        report.components[0].counts.changed,
        0,
        "{}",
        report.to_text()
    );
    assert_eq!(
        report.components[0].counts.created,
        0,
        "{}",
        report.to_text()
    );
    remove_definition(&cluster, "policies.example.crunch.dev");
}

#[test]
fn kustomization_custom_resources_with_nulls_fail_as_kustomize_controller_fails() {
    // kustomize-controller sends custom resources as they are: the server refuses an
    // undeclared field first, then a null where the schema wants a list.
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let (definition, policy) = policy_definition_and_policy();
    let mut declared = policy.clone();
    declared["spec"].as_object_mut().unwrap().remove("stale");
    for (name, policy, error) in [
        (
            "undeclared",
            policy,
            ".spec.stale: field not declared in schema",
        ),
        (
            "nulls",
            declared,
            "spec.match[0].names: Invalid value: \"null\"",
        ),
    ] {
        let bundle = small_bundle(tmp.path(), name, "20s", vec![definition.clone(), policy]);
        let (report, _) = cluster.apply(&cluster.options(&bundle));
        assert_eq!(report.exit_code(), EXIT_APPLY, "{}", report.to_text());
        let text = report.to_text();
        assert!(text.contains(error), "{text}");
    }
    remove_definition(&cluster, "policies.example.crunch.dev");
}

#[test]
fn hooks_succeeded_are_deleted_once_every_hook_of_the_event_ran() {
    // As kyverno-policies' wait Job runs as a ServiceAccount that is a hook of its own.
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let hook = |weight: &str| {
        json!({"helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-weight": weight,
               "helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation"})
    };
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "waiter", "namespace": "crunch-test", "annotations": hook("-5")}});
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "wait", "namespace": "crunch-test", "annotations": hook("10")},
        "spec": {"backoffLimit": 0, "template": {"spec": {"serviceAccountName": "waiter",
            "restartPolicy": "Never",
            "containers": [{"name": "wait", "image": "registry.crunch.test/wait:1"}]}}}});
    let bundle = helm_bundle(tmp.path(), "hooks", "20s", vec![account, job]);
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
    assert_eq!(report.components[0].hooks, 2);
    for (kind, api_version, name) in [
        ("ServiceAccount", "v1", "waiter"),
        ("Job", "batch/v1", "wait"),
    ] {
        let hook = target(api_version, kind, "crunch-test", name);
        assert!(cluster.get(&hook).is_none(), "{hook} was deleted");
    }
}

#[test]
fn a_namespace_still_being_deleted_is_created_again_once_gone() {
    // An add-on switched off and at once on again: its namespace is still terminating.
    let cluster = cluster();
    if let Some(double) = &cluster.double {
        double.set_speed(Duration::from_millis(1000));
    }
    let tmp = tempfile::tempdir().unwrap();
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "crunch-test-extra"}});
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "addon", "namespace": "crunch-test-extra"}, "data": {"a": "1"}});
    let on = small_bundle(tmp.path(), "addon", "60s", vec![namespace, config]);
    let off = small_bundle(tmp.path(), "addon-off", "60s", vec![]);
    let options = |bundle: &Path| {
        let mut options = cluster.options(bundle);
        options.prune_scope.namespaces = true;
        options
    };
    for bundle in [&on, &off, &on] {
        let (report, lines) = cluster.apply(&options(bundle));
        assert_ready(&report, &lines);
    }
    let config = target("v1", "ConfigMap", "crunch-test-extra", "addon");
    assert!(cluster.get(&config).is_some());
}

#[test]
fn a_workload_without_pods_times_out_with_its_controllers_reason() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "orphan", "namespace": "crunch-test"},
        "spec": {"backoffLimit": 0, "template": {"spec": {"serviceAccountName": "nobody",
            "restartPolicy": "Never",
            "containers": [{"name": "run", "image": "registry.crunch.test/run:1"}]}}}});
    let bundle = small_bundle(tmp.path(), "orphan", "5s", vec![job]);
    let mut options = cluster.options(&bundle);
    options.timeout = None;
    let (report, _) = cluster.apply(&options);
    let message = timed_out(&report);
    assert!(
        message.contains("event FailedCreate: ")
            && message.contains("error looking up service account crunch-test/nobody"),
        "{message}"
    );
}

/// A chart's `crds/` CustomResourceDefinition, labelled with its revision.
fn gadget_crd(revision: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.crunch.dev", "labels": {"revision": revision}},
        "spec": {"group": "crunch.dev", "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

/// A HelmRelease bundle of the gadget CRD at `revision` under CRD policies `install` and
/// `upgrade`, a ConfigMap in a release namespace only `createNamespace` makes, and a
/// pre-install hook that `install.disableHooks` skips.
fn release_bundle(
    dir: &Path,
    name: &str,
    revision: &str,
    (install, upgrade): (bundle::CrdPolicy, bundle::CrdPolicy),
) -> PathBuf {
    let settings = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "crunch-test-extra"}});
    let hook = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "hook", "namespace": "crunch-test",
            "annotations": {"helm.sh/hook": "pre-install,pre-upgrade"}}});
    let mut only = component(
        "HelmRelease/crunch-test/gadgets",
        ComponentKind::HelmRelease,
        vec![],
        "60s",
        vec![gadget_crd(revision), settings, hook],
    );
    only.release = Some(bundle::ReleaseEntry {
        name: "gadgets".into(),
        namespace: "crunch-test-extra".into(),
        crds: Some(bundle::ChartCrds {
            install,
            upgrade,
            names: vec!["gadgets.crunch.dev".into()],
        }),
        install: bundle::ReleaseAction {
            disable_hooks: true,
            ..bundle::ReleaseAction::default()
        },
        create_namespace: true,
        ..bundle::ReleaseEntry::default()
    });
    write_bundle(dir, name, vec![only])
}

/// helm-controller's CRD policies, per CRD: one the cluster lacks is created unless the
/// install policy is `Skip`; one it has is updated only under `CreateReplace`. The release
/// namespace is created (`install.createNamespace`), and `install.disableHooks` runs no
/// hooks while an upgrade runs them.
#[test]
fn chart_crds_follow_their_policies_and_the_release_namespace_is_created() {
    use bundle::CrdPolicy::{Create, CreateReplace, Skip};
    let cluster = cluster();
    let crd = target(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        "gadgets.crunch.dev",
    );
    cluster.delete(&crd);
    for _ in 0..120 {
        if cluster.get(&crd).is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let tmp = tempfile::tempdir().unwrap();
    let revision = |cluster: &TestCluster| {
        cluster
            .get(&crd)
            .map(|live| live["metadata"]["labels"]["revision"].clone())
    };

    let skipped = release_bundle(tmp.path(), "skipped", "one", (Skip, CreateReplace));
    let (report, lines) = cluster.apply(&cluster.options(&skipped));
    assert_ready(&report, &lines);
    assert_eq!(
        revision(&cluster),
        None,
        "install policy Skip created the CRD"
    );
    assert_eq!(report.components[0].hooks, 0, "{}", lines.join("\n"));
    let settings = target("v1", "ConfigMap", "crunch-test-extra", "settings");
    assert!(cluster.get(&settings).is_some());

    let created = release_bundle(tmp.path(), "created", "one", (Create, Create));
    let (report, lines) = cluster.apply(&cluster.options(&created));
    assert_ready(&report, &lines);
    assert_eq!(revision(&cluster), Some(json!("one")));

    let kept = release_bundle(tmp.path(), "kept", "two", (Create, Create));
    // `crunch diff --cluster` shows what the policy does: nothing to the CRD.
    let changes = apply::diff(&cluster.options(&kept)).expect("diff");
    assert!(
        !crunch::diff::render(&changes, apply::SIDES).contains("gadgets.crunch.dev"),
        "{}",
        crunch::diff::render(&changes, apply::SIDES)
    );
    let (report, lines) = cluster.apply(&cluster.options(&kept));
    assert_ready(&report, &lines);
    assert_eq!(
        revision(&cluster),
        Some(json!("one")),
        "Create updated the CRD"
    );

    let replaced = release_bundle(tmp.path(), "replaced", "two", (Skip, CreateReplace));
    let (report, lines) = cluster.apply(&cluster.options(&replaced));
    assert_ready(&report, &lines);
    assert_eq!(revision(&cluster), Some(json!("two")));
}

// ---------------------------------------------------------------------------------------
// Flux Kustomization policies

/// A Kustomization component applied as `policy` says; all but the first of a bundle
/// (which holds the test namespace) depend on `Kustomization/flux-system/pruned`.
fn kustomization_component(id: &str, policy: ApplyPolicy, objects: Vec<Value>) -> Component {
    const FIRST: &str = "Kustomization/flux-system/pruned";
    let needs = if id == FIRST { vec![] } else { vec![FIRST] };
    let mut component = component(id, ComponentKind::Kustomization, needs, "30s", objects);
    component.kustomization = Some(policy);
    component
}

fn policy(prune: bool, deletion_policy: DeletionPolicy) -> ApplyPolicy {
    ApplyPolicy {
        wait: true,
        prune,
        force: false,
        deletion_policy,
    }
}

fn marked_config_map(name: &str, data: &str, mark: Option<(&str, &str)>) -> Value {
    let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "crunch-test"}, "data": {"v": data}});
    if let Some((key, value)) = mark {
        object["metadata"]["annotations"] =
            json!({ format!("kustomize.toolkit.fluxcd.io/{key}"): value });
    }
    object
}

#[test]
fn kustomization_policies_decide_what_is_pruned() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let cm = |name: &str| marked_config_map(name, "1", None);
    let first = write_bundle(
        tmp.path(),
        "first",
        vec![
            kustomization_component(
                "Kustomization/flux-system/pruned",
                policy(true, DeletionPolicy::MirrorPrune),
                vec![
                    cm("pruned"),
                    marked_config_map("marked", "1", Some(("prune", "disabled"))),
                ],
            ),
            kustomization_component(
                "Kustomization/flux-system/kept",
                policy(false, DeletionPolicy::MirrorPrune),
                vec![cm("kept")],
            ),
            kustomization_component(
                "Kustomization/flux-system/deleted",
                policy(false, DeletionPolicy::Delete),
                vec![cm("deleted")],
            ),
            kustomization_component(
                "Kustomization/flux-system/waited",
                policy(false, DeletionPolicy::WaitForTermination),
                vec![cm("waited")],
            ),
            kustomization_component(
                "Kustomization/flux-system/orphaned",
                policy(true, DeletionPolicy::Orphan),
                vec![cm("orphaned")],
            ),
        ],
    );
    let (report, lines) = cluster.apply(&cluster.options(&first));
    assert_ready(&report, &lines);
    // The first two lose their objects; the last three leave the bundle.
    let second = write_bundle(
        tmp.path(),
        "second",
        vec![
            kustomization_component(
                "Kustomization/flux-system/pruned",
                policy(true, DeletionPolicy::MirrorPrune),
                vec![],
            ),
            kustomization_component(
                "Kustomization/flux-system/kept",
                policy(false, DeletionPolicy::MirrorPrune),
                vec![],
            ),
        ],
    );
    let (report, lines) = cluster.apply(&cluster.options(&second));
    assert_ready(&report, &lines);
    let pruned = report.pruned.as_ref().unwrap();
    let config_map = |name: &str| target("v1", "ConfigMap", "crunch-test", name);
    let mut deleted = pruned.deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            config_map("deleted"),
            config_map("pruned"),
            config_map("waited")
        ],
        "{}",
        report.to_text()
    );
    for name in ["deleted", "pruned", "waited"] {
        assert!(cluster.get(&config_map(name)).is_none(), "{name}");
    }
    for (name, reason) in [
        ("kept", "has prune: false"),
        ("orphaned", "deletionPolicy: Orphan"),
        ("marked", "prune: disabled"),
    ] {
        assert!(cluster.get(&config_map(name)).is_some(), "{name}");
        assert!(
            pruned
                .kept
                .iter()
                .any(|k| k.object == config_map(name) && k.reason.contains(reason)),
            "{name}: {}",
            report.to_text()
        );
    }
    // What a policy left behind is forgotten: a later run does not consider it again.
    let (report, lines) = cluster.apply(&cluster.options(&second));
    assert_ready(&report, &lines);
    let pruned = report.pruned.as_ref().unwrap();
    assert!(
        pruned.deleted.is_empty() && pruned.kept.is_empty(),
        "{}",
        report.to_text()
    );
}

#[test]
fn flux_marks_skip_objects_and_if_not_present_creates_once() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = |name: &str, data: &str| {
        write_bundle(
            tmp.path(),
            name,
            vec![kustomization_component(
                "Kustomization/flux-system/pruned",
                policy(true, DeletionPolicy::MirrorPrune),
                vec![
                    marked_config_map("once", data, Some(("ssa", "IfNotPresent"))),
                    marked_config_map("ignored", data, Some(("ssa", "Ignore"))),
                    marked_config_map("disabled", data, Some(("reconcile", "disabled"))),
                    marked_config_map("plain", data, None),
                ],
            )],
        )
    };
    let (report, lines) = cluster.apply(&cluster.options(&bundle("first", "1")));
    assert_ready(&report, &lines);
    let (report, lines) = cluster.apply(&cluster.options(&bundle("second", "2")));
    assert_ready(&report, &lines);
    let data = |name: &str| {
        cluster
            .get(&target("v1", "ConfigMap", "crunch-test", name))
            .map(|o| o["data"]["v"].clone())
    };
    assert_eq!(
        data("once"),
        Some(json!("1")),
        "created once, never updated"
    );
    assert_eq!(data("plain"), Some(json!("2")));
    assert_eq!(data("ignored"), None);
    assert_eq!(data("disabled"), None);
    assert_eq!(
        report.components[0].counts.skipped,
        3,
        "{}",
        report.to_text()
    );
}

#[test]
fn without_wait_a_kustomization_is_ready_once_applied() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let mut no_wait = policy(true, DeletionPolicy::MirrorPrune);
    no_wait.wait = false;
    let mut stuck = kustomization_component(
        "Kustomization/flux-system/pruned",
        no_wait,
        vec![deployment("stuck", "never-ready.invalid/app:1")],
    );
    stuck.timeout = Some("5s".into());
    let bundle = write_bundle(tmp.path(), "no-wait", vec![stuck]);
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
}

#[test]
fn force_recreates_what_cannot_be_changed() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let frozen = |data: &str| {
        let mut object = marked_config_map("frozen", data, None);
        object["immutable"] = json!(true);
        object
    };
    let bundle = |name: &str, data: &str, force: bool| {
        let mut policy = policy(true, DeletionPolicy::MirrorPrune);
        policy.force = force;
        write_bundle(
            tmp.path(),
            name,
            vec![kustomization_component(
                "Kustomization/flux-system/pruned",
                policy,
                vec![frozen(data)],
            )],
        )
    };
    let (report, lines) = cluster.apply(&cluster.options(&bundle("first", "1", false)));
    assert_ready(&report, &lines);
    let (report, _) = cluster.apply(&cluster.options(&bundle("refused", "2", false)));
    assert_eq!(report.exit_code(), EXIT_APPLY, "{}", report.to_text());
    assert!(
        report.to_text().contains("immutable"),
        "{}",
        report.to_text()
    );
    let (report, lines) = cluster.apply(&cluster.options(&bundle("forced", "2", true)));
    assert_ready(&report, &lines);
    let live = cluster
        .get(&target("v1", "ConfigMap", "crunch-test", "frozen"))
        .expect("recreated");
    assert_eq!(live["data"]["v"], "2");
}

#[test]
fn a_kustomization_with_a_service_account_applies_as_that_account() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().unwrap();
    let namespace =
        |name: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    // The platform grants the tenant's account admin in crunch-test only.
    let platform = kustomization_component(
        "Kustomization/flux-system/pruned",
        policy(true, DeletionPolicy::MirrorPrune),
        vec![
            namespace("crunch-test-other"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "tenant", "namespace": "crunch-test"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "tenant-admin", "namespace": "crunch-test"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": "crunch-test"}]}),
        ],
    );
    let tenant = |objects: Vec<Value>| {
        let mut tenant = kustomization_component(
            "Kustomization/crunch-test/tenant",
            policy(true, DeletionPolicy::MirrorPrune),
            objects,
        );
        tenant.service_account = Some(bundle::ServiceAccount {
            namespace: "crunch-test".into(),
            name: "tenant".into(),
        });
        tenant
    };
    let own = marked_config_map("own", "1", None);
    let bundle = write_bundle(
        tmp.path(),
        "allowed",
        vec![platform.clone(), tenant(vec![own.clone()])],
    );
    let (report, lines) = cluster.apply(&cluster.options(&bundle));
    assert_ready(&report, &lines);
    assert!(
        cluster
            .get(&target("v1", "ConfigMap", "crunch-test", "own"))
            .is_some()
    );
    let mut elsewhere = marked_config_map("elsewhere", "1", None);
    elsewhere["metadata"]["namespace"] = json!("crunch-test-other");
    let bundle = write_bundle(
        tmp.path(),
        "denied",
        vec![platform, tenant(vec![own, elsewhere])],
    );
    let (report, _) = cluster.apply(&cluster.options(&bundle));
    assert_eq!(report.exit_code(), EXIT_APPLY, "{}", report.to_text());
    let text = report.to_text();
    assert!(
        text.contains("User \"system:serviceaccount:crunch-test:tenant\" cannot")
            && text.contains("crunch-test-other"),
        "{text}"
    );
    assert!(
        cluster
            .get(&target("v1", "ConfigMap", "crunch-test-other", "elsewhere"))
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------
// Air gap

/// Every `image` string anywhere in `value` (an independent walk, not crunch's catalogue).
fn image_strings(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("image", Value::String(image)) => {
                        found.insert(image.clone());
                    }
                    _ => image_strings(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| image_strings(item, found)),
        _ => {}
    }
}

/// The whole air-gap flow, as an operator runs it: the world's images live in a "source"
/// registry (registry1's stand-in); `crunch images resolve` pins them, `crunch build
/// --relocate` points every object at the enclave registry by digest, `crunch images
/// pull` and `push` carry the images over, and the signed bundle goes through the
/// enclave registry too; `crunch apply oci://… --key` then runs pods that name only the
/// enclave registry.
#[test]
fn an_air_gapped_enclave_gets_its_images_and_a_signed_bundle_through_its_registry() {
    use crate::support::images::publish_test_image;
    use crate::support::registry::Registry;
    let cluster = cluster();
    let world = World::new();
    let source = Registry::start();
    let enclave = Registry::start();
    let tmp = world.tmp.path();
    let keys = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sops/keys");

    // Credentials and CAs of both registries, as an operator's docker config and CA bundle.
    let auth = |r: &Registry| {
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", r.username, r.password),
        )
    };
    let config = tmp.join("docker-config.json");
    fs::write(
        &config,
        json!({"auths": {
            source.host(): {"auth": auth(&source)},
            enclave.host(): {"auth": auth(&enclave)},
        }})
        .to_string(),
    )
    .unwrap();
    let cas = tmp.join("cas.pem");
    let pem = |r: &Registry| fs::read_to_string(r.ca_file()).unwrap();
    fs::write(&cas, pem(&source) + &pem(&enclave)).unwrap();
    let git = format!("{REMOTE}={}/", world.repos.display());
    let images_mirror = format!("oci://registry1.example.mil/=oci://{}/", source.host());
    // Commands that reach a registry get its credentials and CAs.
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crunch"));
        command.args(args);
        if !["build", "sign"].contains(&args[0]) {
            command
                .args(["--registry-config", config.to_str().unwrap()])
                .args(["--ca-file", cas.to_str().unwrap()]);
        }
        let output = command
            .env_remove("COSIGN_PASSWORD")
            .output()
            .expect("crunch runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?}:\n{stdout}\n{stderr}");
        stdout
    };
    let customer = world.customer.join("dev");
    let customer = customer.to_str().unwrap();
    let cache = world.cache.to_str().unwrap();

    // The images the world's dev bundle names, published as tiny test images.
    let plain = world.build("dev", &git, &[]);
    assert!(plain.ok(), "{}", plain.stderr);
    let listed = bundle::read(&plain.out).unwrap().index.images;
    assert!(listed.len() >= 5, "{listed:?}");
    let mut published = Vec::new();
    for image in &listed {
        let image = image.image.clone();
        let path = image
            .strip_prefix("registry1.example.mil/")
            .expect("the world's images are registry1's");
        published.push((image.clone(), publish_test_image(&source, path)));
    }

    // Pin, relocate, pull, push, sign, push the bundle.
    let resolved = run(&[
        "images",
        "resolve",
        customer,
        "--mirror",
        &git,
        "--mirror",
        &images_mirror,
        "--cache-dir",
        cache,
    ]);
    for (image, digest) in &published {
        assert!(
            resolved.contains(&format!("{image} {digest}")),
            "{resolved}"
        );
    }
    let out = tmp.join("relocated");
    let out = out.to_str().unwrap();
    run(&[
        "build",
        customer,
        "-o",
        out,
        "--mirror",
        &git,
        "--cache-dir",
        cache,
        "--relocate",
        &enclave.host(),
    ]);
    let layout = tmp.join("layout");
    let layout = layout.to_str().unwrap();
    run(&[
        "images",
        "pull",
        out,
        "--to",
        layout,
        "--mirror",
        &images_mirror,
    ]);
    run(&["images", "push", layout, "--to", &enclave.host()]);
    run(&[
        "sign",
        out,
        "--key",
        keys.join("cosign.key").to_str().unwrap(),
    ]);
    let artifact = format!("oci://{}/bundles/dev:1.0", enclave.host());
    run(&["push", out, &artifact]);

    // In the enclave: the artifact applied with its key, pods name only the enclave.
    let applied = run(&[
        "apply",
        &artifact,
        "--key",
        keys.join("cosign.pub").to_str().unwrap(),
        "--identity",
        enclave_identity().to_str().unwrap(),
        "--kubeconfig",
        cluster.kubeconfig.to_str().unwrap(),
        "--timeout",
        "120s",
    ]);
    assert!(!applied.is_empty());
    let mut live_images = BTreeSet::new();
    for target in bundles::kept_objects(Path::new(out)) {
        let live = cluster
            .get(&target)
            .unwrap_or_else(|| panic!("{target} missing"));
        image_strings(&live, &mut live_images);
    }
    let pods = cluster.list("v1", "Pod", "", "");
    assert!(!pods.is_empty(), "no pods ran");
    for pod in &pods {
        image_strings(pod, &mut live_images);
    }
    assert!(!live_images.is_empty());
    for image in &live_images {
        assert!(
            image.starts_with(&format!("{}/", enclave.host())) && image.contains("@sha256:"),
            "{image} is not the enclave's, by digest"
        );
    }
    // Each image the objects used is there relocated, by digest, and in the enclave
    // registry under that digest.
    let mut used = BTreeSet::new();
    let plain_bundle = bundle::read(&plain.out).unwrap();
    for component in &plain_bundle.index.components {
        for (entry, value) in plain_bundle.objects(component) {
            // Hooks run and may be deleted: the objects that stay are compared.
            if entry.apply && value["metadata"]["annotations"]["helm.sh/hook"].is_null() {
                image_strings(value, &mut used);
            }
        }
    }
    for (image, digest) in &published {
        let path = image.strip_prefix("registry1.example.mil/").unwrap();
        if used.contains(image) {
            let relocated = format!("{}/{path}@{digest}", enclave.host());
            assert!(
                live_images.contains(&relocated),
                "{relocated} not in {live_images:?}"
            );
        }
        let inspected = crate::support::images::skopeo_digest(&enclave, path);
        assert_eq!(&inspected, digest, "{image} in the enclave");
    }
}
