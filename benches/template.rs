//! `cargo bench --bench template`: crunch's template engine against `helm template` (the
//! oracle) on one large generated chart, in the same run: medians and ratios.
//!
//! The chart is written by this benchmark: `SERVICES` services in `values.yaml`, each
//! rendered into a Deployment, a Service, a ConfigMap and a Secret by templates that do
//! what real charts do (`range` over maps and lists, `include` of helpers with a `dict`
//! context piped into `nindent`, `toYaml`/`toJson` of nested values, `merge`/`deepCopy`,
//! `list`/`append`/`keys`/`sortAlpha`, `printf`, `sha256sum`, `b64enc`, `tpl`). Both sides
//! must print the same bytes before anything is timed.
//!
//! Both run as processes from the chart directory (`crunch helm template .` and `helm
//! template .`: chart loading, values, every template, YAML checks and sorting, printing).
//! Helm's fixed cost (process start, chart loading, the same values) is measured on a
//! baseline chart with the same values and one empty template, so the last column
//! compares the template work alone.
//!
//! Prints a Markdown table; record it in BENCHMARKS.md with this command.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "support.rs"]
mod support;

use support::{helm_template, interleaved_medians, peak_kib, run, selected};

const RUNS: usize = 7;
const SERVICES: usize = 400;

const CHART_YAML: &str =
    "apiVersion: v2\nname: bench\nversion: 1.2.3+build.4\nappVersion: \"9.9\"\n";

const HELPERS: &str = r#"{{- define "bench.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- range $k, $v := .root.Values.global.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "bench.env" -}}
{{- $env := list -}}
{{- range .root.Values.global.env }}{{ $env = append $env . }}{{ end -}}
{{- range $k := keys .svc.env | sortAlpha }}
{{- $env = append $env (dict "name" (upper $k) "value" (index $.svc.env $k | toString)) }}
{{- end -}}
{{ toYaml $env }}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"{{- range $name, $svc := .Values.services }}
{{- $ctx := dict "root" $ "name" $name "svc" $svc }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bench.fullname" $ctx }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
  annotations:
    checksum/config: {{ toYaml $svc.config | sha256sum }}
    {{- with $svc.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  replicas: {{ $svc.replicas | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ $name }}
  template:
    metadata:
      labels:
        {{- include "bench.labels" $ctx | nindent 8 }}
    spec:
      containers:
        - name: {{ $name }}
          image: {{ printf "%s/%s:%s" $.Values.global.registry $svc.image.repository ($svc.image.tag | toString) | quote }}
          args: {{ toJson (concat (list "--name" $name) $svc.args) }}
          ports:
            {{- range $svc.ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: {{ .protocol | default "TCP" }}
            {{- end }}
          env:
            {{- include "bench.env" $ctx | nindent 12 }}
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
{{- end }}
"#;

const SERVICE: &str = r#"{{- range $name, $svc := .Values.services }}
{{- $ctx := dict "root" $ "name" $name "svc" $svc }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "bench.fullname" $ctx }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  type: {{ ternary "LoadBalancer" "ClusterIP" (hasKey $svc "public") }}
  ports:
  {{- range $i, $p := $svc.ports }}
    - name: {{ $p.name }}
      port: {{ add 10000 (mul $i 10) $p.port }}
      targetPort: {{ $p.name }}
  {{- end }}
  selector:
    app.kubernetes.io/name: {{ $name }}
{{- end }}
"#;

const CONFIGMAP: &str = r#"{{- range $name, $svc := .Values.services }}
{{- $cfg := merge (deepCopy $svc.config) (dict "service" $name "ports" (pluck "port" (first $svc.ports))) $.Values.global.defaults }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-config" $name }}
data:
  banner: {{ tpl $.Values.global.banner $ | quote }}
  config.yaml: |
    {{- toYaml $cfg | nindent 4 }}
  config.json: {{ toJson $cfg | quote }}
  features: {{ keys $cfg.features | sortAlpha | join "," }}
{{- end }}
"#;

const SECRET: &str = r#"{{- range $name, $svc := .Values.services }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ printf "%s-secret" $name }}
type: Opaque
data:
  {{- range $k, $v := $svc.env }}
  {{ lower $k }}: {{ printf "%s=%v" $k $v | b64enc }}
  {{- end }}
  token: {{ list $name $svc.image.tag | join ":" | sha256sum | trunc 32 | b64enc }}
{{- end }}
"#;

/// `values.yaml` with `n` services, varied so that `with`, `default`, `hasKey` and
/// `ternary` take both branches.
fn values_yaml(n: usize) -> String {
    let mut v = String::from(
        "global:\n  registry: registry.example.com\n  banner: \"release {{ .Release.Name }} of {{ .Chart.Name }}\"\n  labels:\n    team: platform\n    tier: backend\n    cost-center: \"4711\"\n  env:\n    - name: LOG_LEVEL\n      value: info\n    - name: REGION\n      value: us-east-1\n  defaults:\n    retries: 3\n    features:\n      tracing: true\n      metrics: true\nservices:\n",
    );
    for i in 0..n {
        let _ = write!(
            v,
            "  svc-{i:03}:\n    replicas: {replicas}\n    image:\n      repository: apps/svc-{i:03}\n      tag: \"1.{minor}.{i}\"\n    args: [\"--port\", \"8080\", \"--verbose={verbose}\"]\n",
            replicas = i % 4,
            minor = i % 7,
            verbose = i % 2 == 0,
        );
        v.push_str("    ports:\n      - name: http\n        port: 8080\n      - name: metrics\n        port: 9090\n");
        if i % 3 == 0 {
            v.push_str(
                "      - name: dns\n        port: 53\n        protocol: UDP\n    public: true\n",
            );
        }
        v.push_str("    env:\n");
        for k in 0..6 {
            let _ = writeln!(v, "      key_{k}: value-{i}-{k}");
        }
        let _ = writeln!(v, "      threads: {}", i % 16 + 1);
        v.push_str("    resources:\n      limits:\n        cpu: 500m\n        memory: 256Mi\n      requests:\n        cpu: 100m\n        memory: 128Mi\n");
        if i % 2 == 1 {
            let _ = write!(
                v,
                "    annotations:\n      prometheus.io/scrape: \"true\"\n      owner: team-{}\n",
                i % 5
            );
        }
        let _ = write!(
            v,
            "    config:\n      timeouts:\n        read: {}\n        write: 30\n      features:\n        beta: {}\n        legacy: false\n      hosts: [a-{i}.example.com, b-{i}.example.com]\n      ratio: {}.5\n",
            10 + i % 50,
            i % 2 == 0,
            i % 9,
        );
    }
    v
}

/// Writes the chart: the workload in `dir`, and the baseline (same chart and values,
/// one empty template) in `baseline`.
fn write_charts(dir: &Path, baseline: &Path) {
    let values = values_yaml(SERVICES);
    for (chart, templates) in [
        (
            dir,
            vec![
                ("_helpers.tpl", HELPERS),
                ("deployment.yaml", DEPLOYMENT),
                ("service.yaml", SERVICE),
                ("configmap.yaml", CONFIGMAP),
                ("secret.yaml", SECRET),
            ],
        ),
        (baseline, vec![("empty.yaml", "")]),
    ] {
        std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
        std::fs::write(chart.join("Chart.yaml"), CHART_YAML).expect("Chart.yaml");
        std::fs::write(chart.join("values.yaml"), &values).expect("values.yaml");
        for (name, text) in templates {
            std::fs::write(chart.join("templates").join(name), text).expect("template");
        }
    }
}

/// `crunch helm template .` from the chart directory.
fn crunch_command(dir: &Path) -> Command {
    let mut crunch = Command::new(env!("CARGO_BIN_EXE_crunch"));
    crunch.args(["helm", "template", "."]).current_dir(dir);
    crunch
}

fn helm_command(dir: &Path, scratch: &Path) -> Command {
    let mut helm = helm_template(scratch);
    helm.arg(".").current_dir(dir);
    helm
}

fn main() {
    if !selected("template") {
        return;
    }
    // For profiling: write the charts where asked and stop.
    if let Some(out) = std::env::var_os("CRUNCH_BENCH_CHARTS") {
        let out = Path::new(&out);
        write_charts(&out.join("bench"), &out.join("baseline"));
        println!("charts written to {}", out.display());
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let (dir, baseline) = (
        scratch.path().join("bench"),
        scratch.path().join("baseline"),
    );
    write_charts(&dir, &baseline);
    let mut crunch = crunch_command(&dir);
    let mut helm = helm_command(&dir, scratch.path());
    let mut helm_base = helm_command(&baseline, scratch.path());
    let expected = run(&mut helm);
    let ours = String::from_utf8(run(&mut crunch)).expect("crunch prints UTF-8");
    assert!(
        ours.as_bytes() == expected.as_slice(),
        "crunch and helm print different output"
    );
    let [crunch_m, helm_m, base_m] =
        interleaved_medians(RUNS, [&mut crunch, &mut helm, &mut helm_base]);
    let (crunch_kib, helm_kib) = (
        peak_kib(&crunch, scratch.path()),
        peak_kib(&helm, scratch.path()),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let documents = ours.matches("# Source: ").count();
    println!(
        "{SERVICES} services: {documents} documents, {:.1} MB of output",
        ours.len() as f64 / 1e6
    );
    println!(
        "| crunch helm template | helm template | helm baseline (empty template) | helm / crunch | (helm - baseline) / crunch | crunch peak RSS | helm peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {:.1} ms | {:.1} ms | {:.1} ms | {:.1}x | {:.1}x | {:.1} MiB | {:.1} MiB |",
        ms(crunch_m),
        ms(helm_m),
        ms(base_m),
        helm_m.as_secs_f64() / crunch_m.as_secs_f64(),
        helm_m.saturating_sub(base_m).as_secs_f64() / crunch_m.as_secs_f64(),
        crunch_kib as f64 / 1024.0,
        helm_kib as f64 / 1024.0,
    );
}
