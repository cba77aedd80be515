//! The bundle's image list and `crunch build --relocate`, on a chart of its own: a
//! Deployment, a CronJob, a hook Job and a Prometheus, a `Chart.yaml` that lists images in
//! its annotations, and `crunch.yaml` `images.extra`; relocation pinned by a `crunch.lock`
//! image pin.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::flux_graph::Setup;
use crate::support::gitserver::TestRepo;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn images_chart(repos: &Path) {
    let mut repo = TestRepo::init(repos, "images");
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: shop\nversion: 1.2.3\nannotations:\n  artifacthub.io/images: |\n    - name: web\n      image: nginx:1.27\n    - name: debug\n      image: quay.io/example/debug-tools:2.0\n      platforms: [linux/amd64]\n",
    )
    .write(
        "chart/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      initContainers: [{name: init, image: 'busybox:1.36'}]\n      containers: [{name: web, image: 'nginx:1.27'}]\n",
    )
    .write(
        "chart/templates/cronjob.yaml",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: backup, image: 'registry.example.com/jobs/backup:3.1'}]\n",
    )
    .write(
        "chart/templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: migrate, image: 'quay.io/example/migrate:1.0'}]\n",
    )
    .write(
        "chart/templates/prometheus.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: main}\nspec:\n  image: quay.io/prometheus/prometheus:v3.1.0\n  thanos: {image: 'quay.io/thanos/thanos:v0.37.0'}\n",
    );
    repo.commit("a chart running images");
}

const RELEASE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: images, namespace: flux-system}
spec:
  url: {repos}/images
  ref: {branch: main}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: shop, namespace: shop}
spec:
  chart:
    spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: images, namespace: flux-system}}
";

const COMPONENT: &str = "HelmRelease/shop/shop";

fn setup() -> Setup {
    let setup = Setup::new(images_chart);
    let customer = setup.customer();
    fs::create_dir_all(&customer).unwrap();
    fs::write(
        customer.join("crunch.yaml"),
        "apiVersion: crunch.dev/v1alpha1\nkind: Config\ncluster:\n  kinds:\n    monitoring.coreos.com/Prometheus: Namespaced\nimages:\n  extra: ['registry.example.com/tools/shell:1']\n",
    )
    .unwrap();
    fs::write(
        customer.join("crunch.lock"),
        format!(
            "version: 1\nimages:\n  - image: docker.io/library/nginx:1.27\n    digest: {DIGEST}\n"
        ),
    )
    .unwrap();
    setup
}

fn index(out: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(out.join("index.json")).unwrap()).unwrap()
}

fn entry<'a>(index: &'a Value, image: &str) -> &'a Value {
    index["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["image"] == image)
        .unwrap_or_else(|| panic!("no {image} in {:#}", index["images"]))
}

fn user(kind: &str, name: &str, field: &str) -> Value {
    json!({"component": COMPONENT, "kind": kind, "namespace": "shop", "name": name, "field": field})
}

#[test]
fn the_index_lists_every_image_with_its_users() {
    let setup = setup();
    let out = setup
        .build("dev", RELEASE)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let index = index(&out);
    let images: Vec<&str> = index["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "docker.io/library/busybox:1.36",
            "docker.io/library/nginx:1.27",
            "quay.io/example/debug-tools:2.0",
            "quay.io/example/migrate:1.0",
            "quay.io/prometheus/prometheus:v3.1.0",
            "quay.io/thanos/thanos:v0.37.0",
            "registry.example.com/jobs/backup:3.1",
            "registry.example.com/tools/shell:1",
        ]
    );
    let note = json!({"component": COMPONENT,
        "note": "chart annotation artifacthub.io/images of chart shop 1.2.3"});
    assert_eq!(
        entry(&index, "docker.io/library/nginx:1.27"),
        &json!({"image": "docker.io/library/nginx:1.27", "digest": DIGEST, "usedBy": [
            note, user("Deployment", "web", "spec.template.spec.containers[0].image")]})
    );
    assert_eq!(
        entry(&index, "quay.io/example/debug-tools:2.0")["usedBy"],
        json!([note])
    );
    assert_eq!(
        entry(&index, "registry.example.com/jobs/backup:3.1")["usedBy"],
        json!([user(
            "CronJob",
            "backup",
            "spec.jobTemplate.spec.template.spec.containers[0].image"
        )])
    );
    assert_eq!(
        entry(&index, "quay.io/example/migrate:1.0")["usedBy"],
        json!([user(
            "Job",
            "migrate",
            "spec.template.spec.containers[0].image"
        )])
    );
    assert_eq!(
        entry(&index, "quay.io/thanos/thanos:v0.37.0")["usedBy"],
        json!([user("Prometheus", "main", "spec.thanos.image")])
    );
    assert_eq!(
        entry(&index, "registry.example.com/tools/shell:1")["usedBy"],
        json!([{"note": "crunch.yaml images.extra"}])
    );
    assert!(index.get("relocation").is_none());
    // `crunch images list` reads the verified bundle.
    let list = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(["images", "list"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let text = String::from_utf8(list.stdout).unwrap();
    let nginx = text
        .lines()
        .find(|l| l.starts_with("docker.io/library/nginx:1.27 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(nginx.contains(DIGEST) && nginx.ends_with(" 2"), "{nginx}");
}

#[test]
fn relocation_rewrites_every_reference_and_is_deterministic() {
    let setup = setup();
    let registry = "registry.enclave.example:5000";
    let relocated = |env: &str| {
        setup
            .build_with(env, RELEASE, &[], &["--relocate", registry])
            .map(|(out, _)| out)
            .unwrap_or_else(|stderr| panic!("{stderr}"))
    };
    let first = relocated("dev");
    let digest = fs::read_to_string(first.join("digest")).unwrap();
    assert_eq!(
        fs::read_to_string(relocated("dev").join("digest")).unwrap(),
        digest
    );
    let index = index(&first);
    assert_eq!(index["relocation"], json!({"registry": registry}));
    let nginx = format!("{registry}/library/nginx:1.27@{DIGEST}");
    assert_eq!(
        entry(&index, &nginx)["source"],
        format!("docker.io/library/nginx:1.27@{DIGEST}")
    );
    assert_eq!(
        entry(&index, &format!("{registry}/example/debug-tools:2.0"))["source"],
        "quay.io/example/debug-tools:2.0"
    );
    assert_eq!(
        entry(&index, &format!("{registry}/tools/shell:1"))["source"],
        "registry.example.com/tools/shell:1"
    );
    for image in index["images"].as_array().unwrap() {
        assert!(
            image["image"].as_str().unwrap().starts_with(registry),
            "{image}"
        );
    }
    // Every applied object names only the enclave registry; the review-only HelmRelease
    // is left as written.
    let mut seen = 0;
    for component in index["components"].as_array().unwrap() {
        for object in component["objects"].as_array().unwrap() {
            let text = fs::read_to_string(first.join(object["path"].as_str().unwrap())).unwrap();
            let value =
                crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).unwrap();
            let mut images = Vec::new();
            image_strings(&value, &mut images);
            for image in images {
                let applied = object["apply"] == true;
                assert!(
                    image.starts_with(registry) == applied,
                    "{image} in {object}"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 6, "images in the objects");
    let deployment = crate::flux_graph::object(&first, "deployment.web.yaml");
    assert!(deployment.contains(&nginx), "{deployment}");
    // Two images landing on one name are refused, naming both.
    let colliding = RELEASE.to_string()
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: twin, namespace: shop}\nspec:\n  containers: [{name: a, image: 'docker.io/example/migrate:1.0'}]\n";
    let error = setup
        .build_with("dev3", &colliding, &[], &["--relocate", registry])
        .unwrap_err();
    assert!(
        error.contains("images docker.io/example/migrate:1.0 and quay.io/example/migrate:1.0 would both be relocated"),
        "{error}"
    );
}

/// Every string under an `image` key.
fn image_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child.as_str() {
                    Some(image) if key == "image" => found.push(image.to_string()),
                    _ => image_strings(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| image_strings(item, found)),
        _ => {}
    }
}
