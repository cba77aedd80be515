//! `cargo bench --bench kustomize`: `crunch kustomize DIR` against `kubectl kustomize DIR`
//! (kustomize v5.5, the oracle) on a large overlay tree generated at run time, shaped like
//! a platform repository:
//!
//! - [`TEAMS`] team bases of [`APPS`] apps each; every app is its own kustomization (a
//!   Deployment, Service, ServiceAccount, ConfigMap and Ingress, plus a
//!   `configMapGenerator`); every team base adds a ConfigMap and a Secret generator,
//!   `labels` and `commonAnnotations`;
//! - three layers of overlays above them: `platform` (`namePrefix`, `labels`, a shared
//!   ConfigMap and Secret generator, a strategic merge patch targeting a label selector),
//!   `env/staging` (`namespace`, `commonLabels`, `images`, `replicas`, a generator merge, a
//!   component), `clusters/staging-east` (a second component, generator merges of both
//!   kinds, a JSON 6902 patch targeting a name regex, `replacements`, `commonAnnotations`);
//! - two components: `monitoring` (a targeted strategic merge patch and a generator) and
//!   `hardening` (a JSON 6902 patch on every Deployment).
//!
//! Both tools run as processes and must print the same bytes before anything is timed;
//! runs are interleaved so that load on the shared machine hits both alike. Peak memory is
//! the maximum resident set size `/usr/bin/time` reports for one run of each.
//!
//! Prints a Markdown table; record it in BENCHMARKS.md with this command.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

// The integration tests' oracle locator; this benchmark runs `kubectl` only, not `helm`.
#[allow(dead_code)]
#[path = "../tests/it/support/oracle.rs"]
mod oracle;
#[path = "support.rs"]
mod support;

use support::{interleaved_medians, peak_kib, run, selected};

const RUNS: usize = 11;
/// Team bases under `bases/`.
const TEAMS: &[&str] = &[
    "payments", "search", "identity", "catalog", "ledger", "notify",
];
/// Apps of every team; each is a kustomization of five objects and a generator.
const APPS: &[&str] = &[
    "api",
    "worker",
    "gateway",
    "scheduler",
    "indexer",
    "cache",
    "auth",
    "billing",
    "export",
    "import",
    "reports",
    "webhook",
    "events",
    "audit",
    "search",
    "admin",
];

/// Writes `text` to `root/rel`, creating directories.
fn put(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

/// One app: its objects and its kustomization (with a generated env ConfigMap).
fn app(root: &Path, team: &str, app: &str, index: usize) {
    let name = format!("{team}-{app}");
    let dir = format!("bases/{team}/{app}");
    let tier = if index.is_multiple_of(3) {
        "backend"
    } else {
        "frontend"
    };
    let mut deploy = String::new();
    let _ = write!(
        deploy,
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
    tier: {tier}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
        tier: {tier}
    spec:
      serviceAccountName: {name}
      containers:
      - name: app
        image: registry.example.com/{team}/{app}:1.{index}.0
        args: [\"--port=8080\", \"--log-level=info\"]
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        env:
        - name: TEAM
          value: {team}
        - name: REGION
          valueFrom:
            configMapKeyRef:
              name: platform-settings
              key: region
        envFrom:
        - configMapRef:
            name: {name}-env
        - configMapRef:
            name: {team}-settings
        - secretRef:
            name: {team}-credentials
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
          requests: {{cpu: 50m, memory: 64Mi}}
        volumeMounts:
        - name: config
          mountPath: /etc/{app}
      - name: proxy
        image: envoyproxy/envoy:v1.30.1
        ports:
        - containerPort: 9901
      volumes:
      - name: config
        configMap:
          name: {name}-config
      - name: platform-credentials
        secret:
          secretName: platform-credentials
"
    );
    put(root, &format!("{dir}/deployment.yaml"), &deploy);
    put(
        root,
        &format!("{dir}/service.yaml"),
        &format!(
            "apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
  - name: http
    port: 80
    targetPort: http
"
        ),
    );
    put(
        root,
        &format!("{dir}/serviceaccount.yaml"),
        &format!(
            "apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/{name}
"
        ),
    );
    put(
        root,
        &format!("{dir}/configmap.yaml"),
        &format!(
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  config.yaml: |
    server:
      port: 8080
      name: {name}
    features:
      tracing: true
      retries: {index}
  LOG_FORMAT: json
"
        ),
    );
    put(
        root,
        &format!("{dir}/ingress.yaml"),
        &format!(
            "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  ingressClassName: nginx
  tls:
  - hosts:
    - {name}.apps.example.com
    secretName: {name}-tls
  rules:
  - host: {name}.apps.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {name}
            port:
              name: http
"
        ),
    );
    put(
        root,
        &format!("{dir}/kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
- serviceaccount.yaml
- configmap.yaml
- ingress.yaml
configMapGenerator:
- name: {name}-env
  literals:
  - APP_NAME={name}
  - WORKERS={index}
  - FEATURE_FLAGS=a,b,c
"
        ),
    );
}

/// A team base: its apps, a settings ConfigMap and a credentials Secret generator.
fn team(root: &Path, team: &str) {
    let mut k = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for (i, a) in APPS.iter().enumerate() {
        app(root, team, a, i);
        let _ = writeln!(k, "- {a}");
    }
    let _ = write!(
        k,
        "labels:
- pairs:
    team: {team}
  includeSelectors: false
commonAnnotations:
  owner: team-{team}@example.com
configMapGenerator:
- name: {team}-settings
  literals:
  - TEAM={team}
  - QUEUE={team}-queue
  - TIMEOUT=30s
secretGenerator:
- name: {team}-credentials
  literals:
  - username={team}
  - password=changeme-{team}
"
    );
    put(root, &format!("bases/{team}/kustomization.yaml"), &k);
}

/// The components and the three overlay layers.
fn overlays(root: &Path) {
    put(
        root,
        "components/monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target:
    kind: Deployment
    labelSelector: tier=backend
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        metadata:
          annotations:
            prometheus.io/scrape: \"true\"
            prometheus.io/port: \"9901\"
configMapGenerator:
- name: monitoring-settings
  literals:
  - SCRAPE_INTERVAL=30s
",
    );
    put(
        root,
        "components/hardening/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /spec/template/spec/securityContext
      value:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
    - op: add
      path: /spec/template/spec/automountServiceAccountToken
      value: false
",
    );
    let mut platform = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for t in TEAMS {
        let _ = writeln!(platform, "- ../bases/{t}");
    }
    platform.push_str(
        "namePrefix: plat-
labels:
- pairs:
    app.kubernetes.io/part-of: platform
  includeTemplates: true
configMapGenerator:
- name: platform-settings
  literals:
  - region=us-east-1
  - domain=example.com
secretGenerator:
- name: platform-credentials
  literals:
  - token=platform
patches:
- target:
    kind: Deployment
    labelSelector: tier=frontend
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: app
            resources:
              limits:
                memory: 512Mi
",
    );
    put(root, "platform/kustomization.yaml", &platform);
    let mut env = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../platform
components:
- ../../components/monitoring
namespace: staging
commonLabels:
  env: staging
images:
- name: envoyproxy/envoy
  newName: mirror.example.com/envoy
  newTag: v1.31.0
",
    );
    for t in TEAMS {
        let _ = write!(
            env,
            "- name: registry.example.com/{t}/api\n  newTag: 2.0.0-staging\n"
        );
    }
    env.push_str("replicas:\n");
    for t in TEAMS {
        let _ = write!(env, "- name: plat-{t}-worker\n  count: 4\n");
    }
    env.push_str(
        "configMapGenerator:
- name: platform-settings
  behavior: merge
  literals:
  - region=us-west-2
  - tier=staging
",
    );
    put(root, "env/staging/kustomization.yaml", &env);
    put(
        root,
        "clusters/staging-east/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../env/staging
components:
- ../../components/hardening
commonAnnotations:
  cluster: staging-east
configMapGenerator:
- name: platform-settings
  behavior: merge
  literals:
  - region=us-east-2
  - domain=east.example.net
secretGenerator:
- name: platform-credentials
  behavior: merge
  literals:
  - cluster-token=east
patches:
- target:
    kind: Deployment
    name: .*-api
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/env/-
      value:
        name: API_MODE
        value: strict
replacements:
- source:
    kind: ConfigMap
    name: platform-settings
    fieldPath: data.domain
  targets:
  - select:
      kind: Ingress
    fieldPaths:
    - spec.rules.0.host
    - spec.tls.0.hosts.0
    options:
      delimiter: .
      index: 2
",
    );
}

/// Generates the tree under `root` and returns the directory to build.
fn generate(root: &Path) -> std::path::PathBuf {
    for t in TEAMS {
        team(root, t);
    }
    overlays(root);
    root.join("clusters/staging-east")
}

fn main() {
    if !selected("kustomize") {
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = generate(&scratch.path().join("repo"));
    let mut crunch = Command::new(env!("CARGO_BIN_EXE_crunch"));
    crunch.arg("kustomize").arg(&dir);
    let mut kubectl = oracle::kubectl();
    kubectl.arg("kustomize").arg(&dir);
    let expected = run(&mut kubectl);
    let actual = run(&mut crunch);
    assert!(
        expected == actual,
        "crunch and kubectl kustomize print different output for {}",
        dir.display()
    );
    let objects = expected
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"kind: "))
        .count();
    let [crunch_median, kubectl_median] = interleaved_medians(RUNS, [&mut crunch, &mut kubectl]);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| tree | objects out | output | crunch median | kubectl kustomize median | kubectl / crunch | crunch peak RSS | kubectl peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} teams x {} apps, 3 overlay layers, 2 components | {objects} | {:.0} KiB | {:.1} ms | {:.1} ms | {:.1}x | {:.1} MiB | {:.1} MiB |",
        TEAMS.len(),
        APPS.len(),
        expected.len() as f64 / 1024.0,
        ms(crunch_median),
        ms(kubectl_median),
        kubectl_median.as_secs_f64() / crunch_median.as_secs_f64(),
        peak_kib(&crunch, scratch.path()) as f64 / 1024.0,
        peak_kib(&kubectl, scratch.path()) as f64 / 1024.0,
    );
}
