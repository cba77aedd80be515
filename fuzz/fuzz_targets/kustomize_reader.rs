//! Fuzz target for crunch's kustomize reader and strategic merge patches: arbitrary input,
//! read as a YAML stream, must never panic. The first document is used twice: read as
//! Flux reads a kustomization (leniently, into kustomize's type) and built as the top
//! kustomization of a small fixed directory (the kustomization reader, generators,
//! transformers, patches, replacements, vars), and, when it is a list, as post-render
//! `patches` applied to the other documents (SMP, JSON 6902, target selection).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use crunch_kustomize::{self as kustomize, Options, Remote, RemoteTarget};
use crunch_yaml::{self as yaml, Dialect, Value};

/// No network while fuzzing: every remote base is unavailable.
struct Offline;

impl Remote for Offline {
    fn fetch(&self, target: &RemoteTarget) -> Result<PathBuf, String> {
        Err(format!("offline: {}", target.repo_url))
    }
}

const BASE: &str = "\
resources:
- objects.yaml
configMapGenerator:
- name: settings
  literals:
  - mode=base
";

const OBJECTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        envFrom:
        - configMapRef:
            name: settings
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
";

/// The fixed directory the kustomization builds, written once per process.
fn base_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("crunch-fuzz-kustomize-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("kustomization.yaml"), BASE);
        let _ = std::fs::write(dir.join("objects.yaml"), OBJECTS);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut docs) = yaml::parse_stream(text, Dialect::GoYamlV3) else {
        return;
    };
    if docs.is_empty() {
        return;
    }
    let first = docs.remove(0);
    if first.is_object()
        && let Ok(decoded) = kustomize::decode_kustomization(&first)
    {
        // Errors are fine; panics are not. Output must print.
        let options = Options {
            kustomization: Some(&decoded),
            ..Options::default()
        };
        if let Ok(objects) = kustomize::build(base_dir(), &Offline, &options) {
            let _ = kustomize::to_output(&objects);
        }
    }
    if let Value::Array(patches) = first {
        let objects: Vec<Value> = docs.into_iter().filter(Value::is_object).collect();
        if let Ok(out) = kustomize::post_render(objects, &patches, &[]) {
            let _ = kustomize::to_output(&out);
        }
    }
});
