//! Differential tests: every case under `fixtures/kustomize/` is built by `kubectl
//! kustomize` (kustomize v5.5) and by crunch; the outputs must be byte-identical.
//!
//! A case is a directory. It is built at its root, or at the relative directory named in
//! its `BUILD` file. A case with an `EXPECT_ERROR` file must fail in both tools, and both
//! messages must contain that file's (trimmed) text; with a `CRUNCH_ERROR` file, only
//! crunch's (see [`expected_error`]). A case whose name starts with
//! `helm_charts_` is built with Helm enabled: `kubectl kustomize --enable-helm
//! --helm-command` running the helm oracle, crunch with its Helm engine as the chart
//! inflater.

use std::path::{Path, PathBuf};
use std::process::Command;

use crunch::kustomize::{self, ChartInflater, Options, Remote, RemoteTarget};
use crunch::kustomize_helm::HelmInflater;

use crate::support::{diff, oracle};

/// Remote bases in the fixtures are `file://` URLs of git repositories made at test time;
/// crunch reads the same directories without git.
struct LocalRemote;

impl Remote for LocalRemote {
    fn fetch(&self, target: &RemoteTarget) -> Result<PathBuf, String> {
        match target.repo_url.strip_prefix("file://") {
            Some(path) => Ok(PathBuf::from(path)),
            None => Err(format!("no network in tests: {}", target.repo_url)),
        }
    }
}

fn fixture_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/kustomize")
}

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture_root())
        .expect("fixtures/kustomize exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn build_dir(case: &Path) -> PathBuf {
    match std::fs::read_to_string(case.join("BUILD")) {
        Ok(rel) => case.join(rel.trim()),
        Err(_) => case.to_path_buf(),
    }
}

/// Fixtures whose kustomizations inflate Helm charts.
const HELM_PREFIX: &str = "helm_charts_";

/// The `--helm-command` kubectl's kustomize (v5.5) runs. It insists on helm v3 and asks
/// `helm version -c --short`, a flag helm v4 rejects; the shim answers that one question
/// with a v3 version and hands everything else (`helm template`) to the helm v4 oracle,
/// whose output crunch reproduces. kustomize gives helm private `HELM_*_HOME` directories
/// of its own; `KUBECONFIG` names no file, so helm's default namespace is `default`.
struct HelmShim {
    dir: tempfile::TempDir,
}

impl HelmShim {
    fn new() -> HelmShim {
        let dir = tempfile::tempdir().expect("tempdir");
        let helm = oracle::helm().get_program().to_owned();
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in version) echo v3.99.0; exit 0;; esac\nexec '{}' \"$@\"\n",
            helm.to_string_lossy()
        );
        let path = dir.path().join("helm");
        std::fs::write(&path, script).expect("write the helm shim");
        let mut perms = std::fs::metadata(&path).expect("shim").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).expect("chmod the helm shim");
        HelmShim { dir }
    }

    fn args(&self, cmd: &mut Command) {
        cmd.arg("--enable-helm")
            .arg("--helm-command")
            .arg(self.dir.path().join("helm"))
            .env("KUBECONFIG", self.dir.path().join("no-kubeconfig"));
    }
}

fn oracle_build(dir: &Path) -> Result<String, String> {
    oracle_build_with(dir, None)
}

fn oracle_build_with(dir: &Path, helm: Option<&HelmShim>) -> Result<String, String> {
    let mut cmd = oracle::kubectl();
    cmd.arg("kustomize");
    if let Some(shim) = helm {
        shim.args(&mut cmd);
    }
    let out = cmd.arg(dir).output().expect("kubectl runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn crunch_build(dir: &Path) -> Result<String, String> {
    crunch_build_with(dir, &Options::default())
}

fn crunch_build_with(dir: &Path, options: &Options<'_>) -> Result<String, String> {
    kustomize::build(dir, &LocalRemote, options)
        .map(|objs| kustomize::to_output(&objs))
        .map_err(|e| e.to_string())
}

fn check(case: &Path, shim: &HelmShim) -> Result<(), String> {
    let dir = build_dir(case);
    let helm = case
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(HELM_PREFIX));
    let options = Options {
        chart_inflater: helm.then_some(&HelmInflater as &dyn ChartInflater),
        ..Options::default()
    };
    let expected = oracle_build_with(&dir, helm.then_some(shim));
    let actual = crunch_build_with(&dir, &options);
    let Some((want, from_oracle)) = expected_error(case) else {
        return match (expected, actual) {
            (Ok(e), Ok(a)) if e == a => Ok(()),
            (Ok(e), Ok(a)) => Err(diff::unified(&e, &a)),
            (Ok(_), Err(msg)) => Err(format!("crunch failed: {msg}")),
            (Err(msg), _) => Err(format!("kubectl failed: {msg}")),
        };
    };
    match (expected, actual) {
        (Ok(_), _) => Err("kubectl succeeded on an error case".into()),
        (Err(oracle), _) if from_oracle && !oracle.contains(&want) => {
            Err(format!("kubectl's error {oracle:?} lacks {want:?}"))
        }
        (Err(_), Err(msg)) if msg.contains(&want) => Ok(()),
        (Err(_), Err(msg)) => Err(format!("error {msg:?} lacks {want:?}")),
        (Err(_), Ok(_)) => Err(format!("crunch succeeded; expected error {want:?}")),
    }
}

/// The error a failing case expects, and whether it is kubectl's own text. A case's
/// `EXPECT_ERROR` holds part of kubectl's message, which crunch's must contain too.
/// `CRUNCH_ERROR` is for the few where kubectl fails without a message to compare
/// (kustomize panics) or crunch refuses by design (KRM functions, pulling charts): the
/// oracle must fail, and crunch with that text.
fn expected_error(case: &Path) -> Option<(String, bool)> {
    [("EXPECT_ERROR", true), ("CRUNCH_ERROR", false)]
        .into_iter()
        .find_map(|(file, from_oracle)| {
            let want = std::fs::read_to_string(case.join(file)).ok()?;
            Some((want.trim().to_string(), from_oracle))
        })
}

#[test]
fn every_fixture_matches_kubectl_kustomize() {
    let cases = cases();
    assert!(!cases.is_empty(), "no kustomize fixtures");
    let shim = HelmShim::new();
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(case, &shim) {
            let name = case
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            failures.push(format!("{name}: {why}"));
        }
    }
    let passed = cases.len() - failures.len();
    eprintln!(
        "kustomize differential cases: {passed} passed, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A remote base through a `file://` git URL with `?ref=`: kubectl clones it with git,
/// crunch reads it through [`Remote`].
#[test]
fn remote_base_matches_kubectl_kustomize() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let base = repo.join("deploy/base");
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::write(
        base.join("kustomization.yaml"),
        "namePrefix: remote-\nresources:\n- cm.yaml\nconfigMapGenerator:\n- name: gen\n  literals:\n  - a=b\n",
    )
    .expect("write");
    std::fs::write(
        base.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  k: v\n",
    )
    .expect("write");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .expect("git runs")
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    git(&["tag", "v1"]);
    let overlay = tmp.path().join("overlay");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "namespace: remote\nresources:\n- file://{}//deploy/base?ref=v1\n",
            repo.display()
        ),
    )
    .expect("write");
    let expected = oracle_build(&overlay).expect("kubectl builds the remote base");
    let actual = crunch_build(&overlay).expect("crunch builds the remote base");
    assert_eq!(expected, actual, "{}", diff::unified(&expected, &actual));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Writes `kustomization` (YAML text) into a fresh directory and builds it with kubectl.
fn oracle_build_text(dir: &Path, kustomization: &str) -> String {
    std::fs::write(dir.join("kustomization.yaml"), kustomization).expect("write");
    oracle_build(dir).expect("kubectl builds")
}

/// A kustomization handed in through `Options::kustomization` (as Flux edits one in place:
/// decoded leniently, fields set) is built as kubectl builds the directory with that
/// document written as its kustomization file.
#[test]
fn a_given_kustomization_replaces_the_file() {
    let edits = "\
namespace: flux-target
namePrefix: fx-
nameSuffix: -sfx
images:
- name: nginx
  newTag: \"1.99\"
patches:
- target:
    kind: HelmRelease
  patch: |-
    - op: add
      path: /spec/timeout
      value: 20m
";
    let edits: serde_json::Value =
        crunch::yaml::parse_document(edits, crunch::yaml::Dialect::GoYamlV2).expect("edits");
    for case in [
        "bigbang_customer_dev",
        "nameref_hashed",
        "multilayer_prefixes",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        copy_dir(&fixture_root().join(case), tmp.path());
        let dir = build_dir(tmp.path());
        let file = dir.join("kustomization.yaml");
        let text = std::fs::read_to_string(&file).expect("kustomization");
        let original =
            crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).expect("parse");
        let mut document = kustomize::decode_kustomization(&original).expect("decode");
        for (key, value) in edits.as_object().expect("map") {
            document[key] = value.clone();
        }
        let options = Options {
            kustomization: Some(&document),
            ..Options::default()
        };
        let actual = kustomize::build(&dir, &LocalRemote, &options)
            .map(|o| kustomize::to_output(&o))
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let written = crunch::yaml::marshal(&document).expect("yaml");
        std::fs::write(&file, written).expect("write");
        let expected = oracle_build(&dir).expect("kubectl builds");
        assert_eq!(
            expected,
            actual,
            "{case}: {}",
            diff::unified(&expected, &actual)
        );
    }
}

/// Rendered objects as a chart may leave them: empty and `null` annotation maps (the
/// post-renderer drops them), a `List`, a local-config object, an image to replace.
const RENDERED_EXTRAS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: dashboard
  annotations: {}
  labels:
    grafana_dashboard: \"1\"
data: {}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
  annotations:
  labels: {}
spec:
  group: metrics.k8s.io
  version: v1beta1
---
apiVersion: v1
kind: ServiceList
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: listed
    annotations:
      port: 80
  spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: values-only
  annotations:
    config.kubernetes.io/local-config: \"true\"
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    metadata:
      annotations: {}
    spec:
      containers:
      - name: migrate
        image: registry.example.com/tools/migrate:1.0
";

/// `post_render` equals kubectl building the kustomization helm-controller's kustomize
/// post-renderer writes: the rendered stream as its one resource, `images` and `patches`.
#[test]
fn post_render_matches_kubectl_kustomize() {
    let dir = build_dir(&fixture_root().join("prefix_suffix_namerefs"));
    let built = kustomize::build(&dir, &LocalRemote, &Options::default()).expect("build");
    let rendered = format!("{}---\n{RENDERED_EXTRAS}", kustomize::to_output(&built));
    let objects = crunch::yaml::parse_stream(&rendered, crunch::yaml::Dialect::GoYamlV3)
        .expect("rendered objects");
    let patches_text = "\
- target:
    kind: Deployment
    name: \"pre-.*\"
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: web
            securityContext:
              runAsNonRoot: true
- target:
    kind: Service
    labelSelector: \"!nothing\"
  patch: |-
    - op: add
      path: /metadata/labels
      value:
        post-rendered: \"true\"
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: pre-web-config-suf
    data:
      extra: value
- target:
    kind: ConfigMap
    name: dashboard
  patch: |-
    - op: remove
      path: /metadata/labels/grafana_dashboard
";
    let images_text = "\
- name: registry.example.com/tools/migrate
  newName: mirror.example.com/migrate
  newTag: \"2.0\"
";
    let list = |text: &str| -> Vec<serde_json::Value> {
        crunch::yaml::parse_document(text, crunch::yaml::Dialect::GoYamlV3)
            .expect("list")
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let actual = kustomize::to_output(
        &kustomize::post_render(objects, &list(patches_text), &list(images_text))
            .expect("post-render"),
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("helm-output.yaml"), rendered).expect("write");
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources:\n- helm-output.yaml\nimages:\n{images_text}patches:\n{patches_text}"
    );
    let expected = oracle_build_text(tmp.path(), &text);
    assert_eq!(expected, actual, "{}", diff::unified(&expected, &actual));
}

/// `LoadRestrictor::None` reads files outside the root, as
/// `kubectl kustomize --load-restrictor LoadRestrictionsNone` does.
#[test]
fn load_restrictor_none_matches_kubectl_kustomize() {
    let dir = build_dir(&fixture_root().join("error_outside_root"));
    let out = oracle::kubectl()
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(&dir)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = String::from_utf8_lossy(&out.stdout).into_owned();
    let options = Options {
        load_restrictor: kustomize::LoadRestrictor::None,
        ..Options::default()
    };
    let actual = kustomize::build(&dir, &LocalRemote, &options)
        .map(|o| kustomize::to_output(&o))
        .expect("crunch builds without the restrictor");
    assert_eq!(expected, actual, "{}", diff::unified(&expected, &actual));
}

/// Errors name the file, the line and the kustomizations that led there.
#[test]
fn errors_carry_file_line_and_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::create_dir_all(&dev).expect("mkdir");
    std::fs::write(base.join("kustomization.yaml"), "resources:\n- bad.yaml\n").expect("write");
    std::fs::write(
        base.join("bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
    )
    .expect("write");
    std::fs::write(dev.join("kustomization.yaml"), "resources:\n- ../base\n").expect("write");
    let err =
        kustomize::build(&dev, &LocalRemote, &Options::default()).expect_err("bad YAML fails");
    assert_eq!(
        err.chain().get(1).map(String::as_str),
        Some("../base"),
        "{err}"
    );
    assert!(err.chain()[0].ends_with("dev/kustomization.yaml"), "{err}");
    assert!(
        err.file().is_some_and(|f| f.ends_with("base/bad.yaml")),
        "{err}"
    );
    assert!(err.line().is_some(), "{err}");
}
