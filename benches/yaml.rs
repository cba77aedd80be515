//! `cargo bench --bench yaml`: throughput of crunch's YAML layer on a ~50 MB stream of
//! CRD-like and Deployment-like documents, side by side in the same run with the Go tools
//! doing the same read + write work:
//!
//! - crunch: `parse_stream` (go-yaml v2 dialect) and `to_helm_yaml` of every document;
//! - the raw `saphyr-parser` event stream over the same text (the floor for reading);
//! - `helm template` of a chart whose template does `fromYaml | toYaml` on every document
//!   (the stream is split over several files, as Helm limits the size of one chart file);
//! - `kubectl kustomize` of a directory listing the same files as resources.
//!
//! The Go tools' times include process start and their own framing (Helm loads the chart
//! and sorts the rendered manifests; kustomize builds its resource map), which is why each
//! oracle also runs on a tiny input and that time is reported separately. MB/s are input
//! megabytes (10^6 bytes) per second of wall time. crunch's rows are medians of
//! [`RUNS`]; each Go tool runs once, and kustomize only on the first [`KUSTOMIZE_FILES`]
//! files (compared with crunch's v3 read + write of the same files). Prints a table to paste into
//! BENCHMARKS.md.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crunch::yaml::{self, Dialect};
use saphyr_parser::Parser;

/// Runs of crunch's own work; the Go tools run once each (they take minutes on this input).
const RUNS: usize = 3;
/// kustomize slows down far more than linearly with the number of resources (a first run on
/// the whole 50 MB had not finished after 7 minutes), so it gets the first files only.
const KUSTOMIZE_FILES: usize = 2;
const TARGET_BYTES: usize = 50_000_000;
/// Bytes per stream file: below Helm's per-file limit for chart files.
const FILE_BYTES: usize = 4_000_000;

#[path = "../tests/it/support/oracle.rs"]
mod oracle;
#[path = "support.rs"]
mod support;

use support::{median_time, run, selected};

/// A CRD with an OpenAPI schema: deep maps, long descriptions, quoted patterns.
fn crd(i: usize, out: &mut String) {
    let _ = write!(
        out,
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets{i}.example.com\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.16.1\nspec:\n  group: example.com\n  names:\n    kind: Widget{i}\n    listKind: Widget{i}List\n    plural: widgets{i}\n    singular: widget{i}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        description: Widget{i} is the Schema for the widgets API. It describes a fairly long sentence that is folded by the emitter.\n        type: object\n        properties:\n"
    );
    for f in 0..24 {
        let _ = write!(
            out,
            "          field{f}:\n            description: 'Field {f} of the widget: set it to configure behaviour #{f} of the controller when reconciling.'\n            type: object\n            properties:\n              enabled:\n                type: boolean\n                default: false\n              replicas:\n                type: integer\n                format: int32\n                minimum: 0\n                maximum: 1000\n              pattern:\n                type: string\n                pattern: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\n              ratio:\n                type: number\n                default: 0.75\n              items:\n                type: array\n                items:\n                  type: string\n                x-kubernetes-list-type: set\n"
        );
    }
}

/// A Deployment with labels, env, resources and a multi-line script.
fn deployment(i: usize, out: &mut String) {
    let _ = write!(
        out,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  namespace: apps\n  labels:\n    app.kubernetes.io/name: web-{i}\n    app.kubernetes.io/version: \"1.25\"\n    helm.sh/chart: web-1.0.0\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: web-{i}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: web-{i}\n      annotations:\n        checksum/config: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1.25.{i}\n        args: [\"--port=8080\", \"--verbose\", \"yes\"]\n        ports:\n        - containerPort: 8080\n          protocol: TCP\n        env:\n        - name: MODE\n          value: \"on\"\n        - name: UMASK\n          value: \"0755\"\n        - name: RATIO\n          value: \"1e3\"\n        resources:\n          limits: {{cpu: 500m, memory: 128Mi}}\n          requests: {{cpu: 100m, memory: 64Mi}}\n        command:\n        - /bin/sh\n        - -c\n        - |\n          set -e\n          echo starting web-{i}\n          exec /usr/bin/web --config /etc/web/config.yaml\n"
    );
}

/// The stream, cut into files of about [`FILE_BYTES`] at document boundaries.
fn stream_files() -> Vec<String> {
    let mut files = Vec::new();
    let mut current = String::new();
    let mut total = 0;
    let mut i = 0;
    while total < TARGET_BYTES {
        let before = current.len();
        if !current.is_empty() {
            current.push_str("---\n");
        }
        if i % 4 == 0 {
            crd(i, &mut current);
        } else {
            deployment(i, &mut current);
        }
        total += current.len() - before;
        i += 1;
        if current.len() >= FILE_BYTES {
            files.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        files.push(current);
    }
    files
}

fn write_chart(dir: &Path, files: &[String]) {
    fs::create_dir_all(dir.join("templates")).expect("chart dir");
    fs::create_dir_all(dir.join("stream")).expect("stream dir");
    fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: big\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    fs::write(
        dir.join("templates/all.yaml"),
        "{{- range $path, $_ := .Files.Glob \"stream/*.yaml\" }}\n{{- range $doc := splitList \"\\n---\\n\" ($.Files.Get $path) }}\n---\n{{ fromYaml $doc | toYaml }}\n{{- end }}\n{{- end }}\n",
    )
    .expect("template");
    for (n, text) in files.iter().enumerate() {
        fs::write(dir.join(format!("stream/part{n:03}.yaml")), text).expect("stream file");
    }
}

/// A kustomization listing every file of `files` as a resource.
fn write_kustomization(dir: &Path, files: &[String]) {
    fs::create_dir_all(dir).expect("kustomize dir");
    let mut k = String::from("resources:\n");
    for (n, text) in files.iter().enumerate() {
        let name = format!("part{n:03}.yaml");
        fs::write(dir.join(&name), text).expect("resource file");
        let _ = writeln!(k, "- {name}");
    }
    fs::write(dir.join("kustomization.yaml"), k).expect("kustomization.yaml");
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

fn main() {
    if !selected("yaml") {
        return;
    }
    let files = stream_files();
    let bytes: usize = files.iter().map(String::len).sum();
    let docs: usize = files.iter().map(|f| f.matches("\n---\n").count() + 1).sum();
    let tmp = tempfile::tempdir().expect("tempdir");

    let raw = median_time(RUNS, || {
        for text in &files {
            for event in Parser::new_from_str(text) {
                event.expect("raw parse");
            }
        }
    });
    let parsed: Vec<Vec<yaml::Value>> = files
        .iter()
        .map(|t| yaml::parse_stream(t, Dialect::GoYamlV2).expect("crunch parse"))
        .collect();
    let read = median_time(RUNS, || {
        for text in &files {
            std::hint::black_box(yaml::parse_stream(text, Dialect::GoYamlV2).expect("parse"));
        }
    });
    let write = median_time(RUNS, || {
        for doc in parsed.iter().flatten() {
            std::hint::black_box(yaml::to_helm_yaml(doc));
        }
    });
    let both = median_time(RUNS, || {
        for text in &files {
            for doc in yaml::parse_stream(text, Dialect::GoYamlV2).expect("parse") {
                std::hint::black_box(yaml::to_helm_yaml(&doc));
            }
        }
    });

    let chart = tmp.path().join("chart");
    write_chart(&chart, &files);
    let helm = median_time(1, || {
        run(oracle::helm().arg("template").arg("big").arg(&chart))
    });
    let tiny_chart = tmp.path().join("tiny-chart");
    write_chart(&tiny_chart, &files[..0]);
    let helm_start = median_time(1, || {
        run(oracle::helm().arg("template").arg("big").arg(&tiny_chart))
    });

    let kdir = tmp.path().join("kustomize");
    let kfiles = &files[..KUSTOMIZE_FILES.min(files.len())];
    let kbytes: usize = kfiles.iter().map(String::len).sum();
    write_kustomization(&kdir, kfiles);
    let crunch_kfiles = median_time(RUNS, || {
        for text in kfiles {
            for doc in yaml::parse_stream(text, Dialect::GoYamlV3).expect("parse") {
                std::hint::black_box(yaml::to_kyaml(&doc));
            }
        }
    });
    let kustomize = median_time(1, || run(oracle::kubectl().arg("kustomize").arg(&kdir)));
    let tiny_dir = tmp.path().join("tiny-kustomize");
    // kustomize rejects a kustomization without resources: one small ConfigMap.
    let tiny = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n".to_owned();
    write_kustomization(&tiny_dir, &[tiny]);
    let kustomize_start = median_time(1, || run(oracle::kubectl().arg("kustomize").arg(&tiny_dir)));

    println!(
        "input: {:.1} MB, {docs} documents in {} files; median of {RUNS} runs",
        bytes as f64 / 1e6,
        files.len()
    );
    println!("| work | time | MB/s |");
    println!("|---|---:|---:|");
    let row = |name: &str, t: Duration| {
        println!(
            "| {name} | {:.2} s | {:.1} |",
            t.as_secs_f64(),
            mb_per_s(bytes, t)
        );
    };
    row("saphyr-parser events only (raw floor)", raw);
    row("crunch read (`parse_stream`, GoYamlV2)", read);
    row("crunch write (`to_helm_yaml`)", write);
    row("crunch read + write", both);
    row("`helm template` (fromYaml, toYaml)", helm);
    println!(
        "kustomize side, on the first {:.1} MB only:",
        kbytes as f64 / 1e6
    );
    let krow = |name: &str, t: Duration| {
        println!(
            "| {name} | {:.2} s | {:.1} |",
            t.as_secs_f64(),
            mb_per_s(kbytes, t)
        );
    };
    krow("crunch read (GoYamlV3) + write (`to_kyaml`)", crunch_kfiles);
    krow("`kubectl kustomize` of the same files", kustomize);
    println!(
        "process start + framing on an empty input: helm {:.2} s, kustomize {:.2} s",
        helm_start.as_secs_f64(),
        kustomize_start.as_secs_f64()
    );
    println!(
        "ratios: read+write vs helm {:.1}x faster, vs kustomize {:.1}x faster; read vs raw events {:.1}x slower",
        helm.as_secs_f64() / both.as_secs_f64(),
        kustomize.as_secs_f64() / crunch_kfiles.as_secs_f64(),
        read.as_secs_f64() / raw.as_secs_f64()
    );
}
