//! A bundle built for one Kubernetes version and a cluster of another: `crunch build`
//! warns about (or with `--strict` refuses) what the profile's version would refuse, and
//! `crunch apply` refuses a cluster that would refuse part of the bundle before its first
//! write, unless `--force`. The fixture (`fixtures/kube-versions`) needs Kubernetes 1.30:
//! a CRD version with `selectableFields`, a pod with `securityContext.appArmorProfile`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crunch::apply::{self, EXIT_OK, Options, StartError};

use crate::support::apiserver::ApiServer;
use crate::support::real_cluster;

/// The fixture copied into a temporary directory, with a `crunch.yaml` for `kube_version`.
struct Environment {
    dir: tempfile::TempDir,
}

impl Environment {
    fn new(kube_version: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kube-versions/env");
        let env = dir.path().join("env");
        fs::create_dir(&env).expect("create env");
        for entry in fs::read_dir(&fixture).expect("read the fixture") {
            let path = entry.expect("fixture entry").path();
            fs::copy(&path, env.join(path.file_name().expect("file name"))).expect("copy");
        }
        let config = format!(
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\ncluster:\n  kubeVersion: {kube_version}\n"
        );
        fs::write(dir.path().join("crunch.yaml"), config).expect("write crunch.yaml");
        Self { dir }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Adds `text` as one more resource of the environment.
    fn add_resource(&self, name: &str, text: &str) {
        let env = self.dir.path().join("env");
        fs::write(env.join(name), text).expect("write the resource");
        let kustomization = env.join("kustomization.yaml");
        let listed = fs::read_to_string(&kustomization).expect("read the kustomization");
        fs::write(&kustomization, format!("{listed}  - {name}\n")).expect("write it back");
    }

    fn build(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_crunch"))
            .arg("build")
            .arg(self.dir.path().join("env"))
            .arg("-o")
            .arg(self.out())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .expect("run crunch build")
    }

    /// The bundle, built; panics when the build fails.
    fn bundle(&self) -> PathBuf {
        let built = self.build(&[]);
        assert!(built.status.success(), "{}", text(&built.stderr));
        self.out()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SELECTABLE: &str = "env: CustomResourceDefinition widgets.shop.example.com: .spec.versions[1].selectableFields: field not in Kubernetes 1.28: introduced in 1.30";
const APPARMOR: &str = "env: Deployment shop/web: .spec.template.spec.securityContext.appArmorProfile: field not in Kubernetes 1.28: introduced in 1.30";

#[test]
fn build_for_an_older_profile_warns_and_strict_refuses() {
    let env = Environment::new("v1.28.0");
    let built = env.build(&["--output", "json"]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let stderr = text(&built.stderr);
    assert!(stderr.contains(SELECTABLE), "{stderr}");
    assert!(stderr.contains(APPARMOR), "{stderr}");
    let report: Value = serde_json::from_slice(&built.stdout).expect("JSON report");
    let warnings: Vec<&str> = (report["warnings"].as_array().expect("warnings").iter())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.contains("introduced in 1.30")));

    fs::remove_dir_all(env.out()).expect("remove the bundle");
    let strict = env.build(&["--strict"]);
    assert!(!strict.status.success());
    let stderr = text(&strict.stderr);
    assert!(stderr.contains("--strict"), "{stderr}");
    assert!(
        stderr.contains(SELECTABLE) && stderr.contains(APPARMOR),
        "{stderr}"
    );
    assert!(!env.out().exists(), "--strict wrote a bundle");
}

#[test]
fn build_for_the_version_the_fixture_needs_is_clean() {
    for version in ["v1.30.0", "v1.36.2"] {
        let env = Environment::new(version);
        let built = env.build(&["--output", "json", "--strict"]);
        assert!(built.status.success(), "{version}: {}", text(&built.stderr));
        let report: Value = serde_json::from_slice(&built.stdout).expect("JSON report");
        assert_eq!(report["warnings"], serde_json::json!([]), "{version}");
    }
}

/// Options to apply `bundle` to the cluster of `kubeconfig`.
fn options(bundle: &Path, kubeconfig: &Path) -> Options {
    Options {
        bundle: bundle.to_path_buf(),
        kubeconfig: Some(kubeconfig.to_path_buf()),
        timeout: Some(Duration::from_secs(60)),
        jobs: 2,
        ..Options::default()
    }
}

/// A sink that keeps the lines it is given.
fn recording() -> (apply::Sink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = lines.clone();
    let sink: apply::Sink = Arc::new(move |line: &str| {
        kept.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_string())
    });
    (sink, lines)
}

/// A double reporting `version`, with its kubeconfig.
fn double(version: &str) -> (ApiServer, tempfile::TempDir, PathBuf) {
    let server = ApiServer::start();
    server.set_version(version);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    (server, dir, kubeconfig)
}

fn writes(server: &ApiServer) -> Vec<String> {
    (server.requests().into_iter())
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn apply_to_an_older_cluster_is_refused_before_any_write_unless_forced() {
    let env = Environment::new("v1.36.2");
    let bundle = env.bundle();
    let (server, _dir, kubeconfig) = double("v1.28.15");
    for dry_run in [false, true] {
        let (sink, _) = recording();
        let refused = apply::apply(
            &Options {
                dry_run,
                ..options(&bundle, &kubeconfig)
            },
            sink,
        );
        let Err(StartError::Setup(message)) = refused else {
            panic!("dry run {dry_run}: not refused: {refused:?}");
        };
        assert!(message.contains("Kubernetes v1.28.15"), "{message}");
        assert!(message.contains(SELECTABLE), "{message}");
        assert!(message.contains(APPARMOR), "{message}");
        assert!(message.contains("--force"), "{message}");
        assert_eq!(writes(&server), Vec::<String>::new());
        assert!(server.requests().iter().any(|r| r.path == "/version"));
    }

    let (sink, lines) = recording();
    let forced = apply::apply(
        &Options {
            force: true,
            ..options(&bundle, &kubeconfig)
        },
        sink,
    )
    .expect("--force applies");
    assert_eq!(forced.exit_code(), EXIT_OK, "{}", forced.to_text());
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    assert!(
        lines.contains("--force: applying anyway") && lines.contains(SELECTABLE),
        "{lines}"
    );
    assert!(
        writes(&server)
            .iter()
            .any(|w| w.ends_with("/namespaces/shop/deployments/web")),
        "{:?}",
        writes(&server)
    );
}

#[test]
fn apply_with_version_skew_and_nothing_refused_goes_ahead() {
    let env = Environment::new("v1.36.2");
    let bundle = env.bundle();
    let (_server, _dir, kubeconfig) = double("v1.31.4");
    let (sink, lines) = recording();
    let report = apply::apply(&options(&bundle, &kubeconfig), sink).expect("applied");
    assert_eq!(report.exit_code(), EXIT_OK, "{}", report.to_text());
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    assert!(
        lines.contains("no object of it uses what 1.31 lacks"),
        "{lines}"
    );
}

/// What no version knows (a field of no Kubernetes version) is the build's warning and
/// the server's call: version skew does not turn it into a refusal.
#[test]
fn apply_with_version_skew_refuses_only_what_the_version_changes() {
    let env = Environment::new("v1.36.2");
    env.add_resource(
        "odd.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n  namespace: shop\nbogus: 1\n",
    );
    let bundle = env.bundle();
    let (_server, _dir, kubeconfig) = double("v1.31.4");
    let (sink, _) = recording();
    let report = apply::apply(&options(&bundle, &kubeconfig), sink).expect("applied");
    assert_eq!(report.exit_code(), EXIT_OK, "{}", report.to_text());
}

#[test]
fn apply_of_an_api_version_nothing_serves_is_refused() {
    let env = Environment::new("v1.28.15");
    env.add_resource(
        "gadget.yaml",
        "apiVersion: gadgets.example.org/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: shop\n",
    );
    env.add_resource(
        "metrics.yaml",
        "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata:\n  name: v1beta1.metrics.k8s.io\nspec:\n  group: metrics.k8s.io\n  version: v1beta1\n  groupPriorityMinimum: 100\n  versionPriority: 100\n",
    );
    env.add_resource(
        "metric.yaml",
        "apiVersion: metrics.k8s.io/v1beta1\nkind: NodeMetrics\nmetadata:\n  name: n\n",
    );
    // The profile's own version: only the API groups are compared.
    let built = env.build(&[]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let (server, _dir, kubeconfig) = double("v1.28.15");
    let (sink, _) = recording();
    let refused = apply::apply(&options(&env.out(), &kubeconfig), sink);
    let Err(StartError::Setup(message)) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert!(
        message.contains("env: Gadget shop/g: the cluster does not serve gadgets.example.org/v1"),
        "{message}"
    );
    // The CRD and the APIService of the bundle provide theirs.
    assert!(!message.contains("shop.example.com/v1"), "{message}");
    assert!(!message.contains("metrics.k8s.io/v1beta1"), "{message}");
    assert_eq!(writes(&server), Vec::<String>::new());
}

/// On a real control plane (v1.36, `tools/control-plane`), a bundle built for it passes
/// the check: a server-side dry run gets past it.
#[test]
fn a_real_cluster_of_the_bundles_version_passes_the_check() {
    let Some(real) = real_cluster::claim("kube_versions") else {
        return;
    };
    let env = Environment::new("v1.36.2");
    let bundle = env.bundle();
    let (sink, _) = recording();
    let run = apply::apply(
        &Options {
            dry_run: true,
            ..options(&bundle, &real.kubeconfig)
        },
        sink,
    );
    assert!(run.is_ok(), "{run:?}");
}
