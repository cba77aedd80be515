//! Repositories in the `flux bootstrap` layout, built from a cluster's `flux-system`
//! directory (`fixtures/flux/fleet`), and Big Bang's bootstrap manifest: the repository
//! being built is the GitRepository that names it, read from the working tree.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::gitserver::{GitServers, TestRepo};
use crate::support::world::{self, World};

/// How the fleet's GitRepository `flux-system` names the repository.
const FLEET_URL: &str = "ssh://git@github.com/example/fleet";

/// The fleet committed to a repository whose `origin` is another spelling of
/// [`FLEET_URL`], under a temporary directory.
struct Fleet {
    tmp: tempfile::TempDir,
    repo: TestRepo,
}

impl Fleet {
    fn new() -> Fleet {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut repo = TestRepo::init(&tmp.path().join("repos"), "fleet");
        world::copy_dir(&fixture(), &tmp.path().join("repos/fleet"));
        repo.commit("bootstrap");
        repo.git(&[
            "remote",
            "add",
            "origin",
            "git@github.com:example/fleet.git",
        ]);
        Fleet { tmp, repo }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("repos/fleet")
    }

    /// `crunch build ENTRY --offline` into a new directory; its output, or standard error.
    fn build(&self, entry: &Path, args: &[&str]) -> Result<PathBuf, String> {
        let n = fs::read_dir(self.tmp.path()).map_or(0, Iterator::count);
        let out = self.tmp.path().join(format!("out-{n}"));
        let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
            .arg("build")
            .arg(entry)
            .arg("-o")
            .arg(&out)
            .arg("--cache-dir")
            .arg(self.tmp.path().join("cache"))
            .args(args)
            .env("HOME", self.tmp.path())
            .output()
            .expect("run crunch");
        if output.status.success() {
            Ok(out)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/flux/fleet")
}

fn index(out: &Path) -> serde_json::Value {
    let text = fs::read_to_string(out.join("index.json")).expect("read the index");
    serde_json::from_str(&text).expect("the index is JSON")
}

/// Each component's objects: `kind namespace/name` → sha256.
fn components(out: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let index = index(out);
    let mut result = BTreeMap::new();
    for component in index["components"].as_array().expect("components") {
        let objects = component["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| {
                let name = format!("{} {}/{}", o["kind"], o["namespace"], o["name"]);
                (name, o["sha256"].as_str().unwrap_or_default().to_string())
            })
            .collect();
        result.insert(
            component["id"].as_str().unwrap_or_default().to_string(),
            objects,
        );
    }
    result
}

fn object(out: &Path, component: &str, file: &str) -> String {
    let dir = out.join("objects").join(component);
    for entry in walk(&dir) {
        if entry.ends_with(file) {
            return fs::read_to_string(entry).expect("read the object");
        }
    }
    panic!("no {file} in {}", dir.display())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_cluster_builds_from_its_flux_system_directory_without_network() {
    let fleet = Fleet::new();
    let out = fleet
        .build(
            &fleet.dir().join("clusters/staging/flux-system"),
            &["--offline"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let components = components(&out);
    let ids: Vec<&str> = components.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "HelmRelease/apps/podinfo",
            "Kustomization/flux-system/apps",
            "Kustomization/flux-system/flux-system",
            "Kustomization/flux-system/infra-configs",
            "Kustomization/flux-system/infra-controllers",
            // The environment is named after the cluster; the Kustomization flux-system
            // took over everything the bootstrap applied.
            "staging",
        ]
    );
    assert!(components["staging"].is_empty(), "{components:?}");
    let index = index(&out);
    let flux_system = index["components"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["id"] == "Kustomization/flux-system/flux-system")
        })
        .expect("the flux-system component");
    for object in flux_system["objects"].as_array().expect("objects") {
        // Flux's controllers are applied; its custom resources are there for review.
        let is_flux = object["apiVersion"]
            .as_str()
            .is_some_and(|v| v.contains(".toolkit.fluxcd.io/"));
        assert_eq!(object["apply"], !is_flux, "{object}");
    }
    // The working tree is the source, at HEAD: it is clean.
    assert_eq!(
        index["sources"],
        serde_json::json!([{"url": FLEET_URL, "reference": "branch main",
            "commit": fleet.repo.head(), "tree": fleet.repo.git(&["rev-parse", "HEAD^{tree}"])}])
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("bootstrap_fleet_staging_bundle", world::bundle_text(&out));
    });
}

#[test]
fn uncommitted_changes_are_built_and_ignored_files_are_not() {
    let fleet = Fleet::new();
    let dir = fleet.dir();
    // A change to a tracked file, a new untracked file the build reads, a deleted file,
    // and an ignored one that Flux's generated kustomization would otherwise list.
    let values = dir.join("apps/staging/podinfo-values.yaml");
    let text = fs::read_to_string(&values).expect("read");
    fs::write(
        &values,
        text.replace("podinfo.staging.example.com", "pr-42.example.com"),
    )
    .expect("write");
    fs::write(
        dir.join("infrastructure/controllers/ingress/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ingress-tuning, namespace: ingress-system}\n",
    )
    .expect("write");
    fs::remove_file(dir.join("infrastructure/controllers/namespace.yaml")).expect("remove");
    fs::write(dir.join(".gitignore"), "scratch.yaml\n").expect("write");
    fs::write(
        dir.join("infrastructure/controllers/scratch.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: scratch, namespace: default}\n",
    )
    .expect("write");
    let out = fleet
        .build(&dir.join("clusters/staging/flux-system"), &["--offline"])
        .unwrap_or_else(|e| panic!("{e}"));
    let ingress = object(&out, "helmrelease.apps.podinfo", "ingress.podinfo.yaml");
    assert!(ingress.contains("host: pr-42.example.com"), "{ingress}");
    let controllers = &components(&out)["Kustomization/flux-system/infra-controllers"];
    let names: Vec<&str> = controllers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "\"ConfigMap\" \"ingress-system\"/\"ingress-tuning\"",
            "\"Deployment\" \"ingress-system\"/\"ingress-controller\"",
            "\"Deployment\" \"kube-system\"/\"metrics-server\"",
            "\"Service\" \"ingress-system\"/\"ingress-controller\"",
        ]
    );
    let commit = index(&out)["sources"][0]["commit"].clone();
    assert_eq!(commit, format!("{}-dirty", fleet.repo.head()));
}

#[test]
fn a_clean_working_tree_builds_as_its_remote_does() {
    let fleet = Fleet::new();
    let local = fleet
        .build(&fleet.dir().join("clusters/staging/flux-system"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    // The same entry outside any repository: the GitRepository is fetched.
    let servers = GitServers::start(&fleet.tmp.path().join("repos"));
    let elsewhere = fleet
        .tmp
        .path()
        .join("elsewhere/clusters/staging/flux-system");
    world::copy_dir(
        &fleet.dir().join("clusters/staging/flux-system"),
        &elsewhere,
    );
    let mirror = format!("{FLEET_URL}={}", servers.git_url("fleet"));
    let remote = fleet
        .build(&elsewhere, &["--mirror", &mirror])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(world::changed_files(&local, &remote), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(local.join("digest")).expect("digest"),
        fs::read_to_string(remote.join("digest")).expect("digest")
    );
}

#[test]
fn two_clusters_share_their_bases_and_differ_where_they_say() {
    let fleet = Fleet::new();
    let build = |cluster: &str| {
        fleet
            .build(
                &fleet.dir().join(format!("clusters/{cluster}/flux-system")),
                &["--offline"],
            )
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (staging, production) = (build("staging"), build("production"));
    let settings = |out: &Path| {
        let dir = out.join("objects/kustomization.flux-system.infra-configs/flux-system");
        let file = walk(&dir).pop().expect("the settings ConfigMap");
        fs::read_to_string(file).expect("read")
    };
    assert!(settings(&staging).contains("environment: staging"));
    assert!(settings(&production).contains("environment: production"));
    let cache = object(
        &production,
        "kustomization.flux-system.apps",
        "deployment.cache.yaml",
    );
    assert!(cache.contains("image: redis:7.4"), "{cache}");
    assert!(
        cache.contains("fleet.example.com/cluster: production"),
        "{cache}"
    );
    let podinfo = object(
        &production,
        "helmrelease.apps.podinfo",
        "deployment.podinfo.yaml",
    );
    assert!(podinfo.contains("replicas: 3"), "{podinfo}");
    // The metrics-server base is shared and unchanged.
    let metrics = |out: &Path| {
        object(
            out,
            "kustomization.flux-system.infra-controllers",
            "deployment.metrics-server.yaml",
        )
    };
    assert_eq!(metrics(&staging), metrics(&production));
}

#[test]
fn a_bootstrap_manifest_builds_what_its_kustomization_builds() {
    let world = World::new();
    let servers = world.serve();
    // The customer repository, whose remote the manifest's GitRepository names.
    let customer = &world.customer;
    for args in [
        vec!["init", "--quiet", "--initial-branch=main"],
        vec![
            "remote",
            "add",
            "origin",
            "git@git.example.mil:customer/environment.git",
        ],
    ] {
        let status = Command::new("git")
            .current_dir(customer)
            .args(&args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    }
    let short = world.build("dev", &servers.git_mirror(), &[]);
    assert!(short.ok(), "{}", short.stderr);
    let manifest = world.build("dev/bigbang.yaml", &servers.git_mirror(), &[]);
    assert!(manifest.ok(), "{}", manifest.stderr);
    let (short, manifest) = (components(&short.out), components(&manifest.out));
    // The Kustomization builds ./dev from the working tree (its own labels on each
    // object); everything its HelmReleases render is what `crunch build dev` renders.
    let environment = &manifest["Kustomization/bigbang/environment"];
    assert_eq!(
        environment.keys().collect::<Vec<_>>(),
        short["dev"].keys().collect::<Vec<_>>()
    );
    let releases = |components: &BTreeMap<String, BTreeMap<String, String>>| {
        components
            .iter()
            .filter(|(id, _)| id.starts_with("HelmRelease/"))
            .map(|(id, objects)| (id.clone(), objects.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(releases(&short), releases(&manifest));
    let env = &manifest["dev"];
    assert_eq!(
        env.keys().collect::<Vec<_>>(),
        [
            "\"GitRepository\" \"bigbang\"/\"environment-repo\"",
            "\"Kustomization\" \"bigbang\"/\"environment\"",
        ],
        "the manifest's Namespace is taken over by the Kustomization, which builds it too"
    );
}

/// The kustomization kustomize-controller writes into a Kustomization's path, made here
/// from the Kustomization's spec for kubectl: the path's own kustomization with the
/// spec's fields set (or appended), or a list of the manifests below it.
fn flux_kustomization(dir: &Path, spec: &serde_json::Value) -> serde_json::Value {
    let file = dir.join("kustomization.yaml");
    let mut document = if file.is_file() {
        let text = fs::read_to_string(&file).expect("read");
        crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).expect("parse")
    } else {
        let mut resources = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            let mut entries: Vec<PathBuf> = fs::read_dir(&at)
                .expect("read_dir")
                .map(|e| e.expect("entry").path())
                .collect();
            entries.sort();
            for path in entries.into_iter().rev() {
                if path.is_dir() && !path.join("kustomization.yaml").is_file() {
                    pending.push(path);
                } else if path.is_dir()
                    || path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                {
                    let relative = path.strip_prefix(dir).expect("inside");
                    resources.push(format!("./{}", relative.display()));
                }
            }
        }
        resources.sort();
        serde_json::json!({"apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization", "resources": resources})
    };
    if let Some(namespace) = spec.get("targetNamespace") {
        document["namespace"] = namespace.clone();
    }
    for field in ["namePrefix", "nameSuffix"] {
        if let Some(value) = spec.get(field) {
            document[field] = value.clone();
        }
    }
    for field in ["patches", "components"] {
        if let Some(items) = spec.get(field).and_then(|v| v.as_array()) {
            let list = document[field].as_array().cloned().unwrap_or_default();
            document[field] = serde_json::Value::Array([list, items.clone()].concat());
        }
    }
    if let Some(images) = spec.get("images").and_then(|v| v.as_array()) {
        let mut list = document["images"].as_array().cloned().unwrap_or_default();
        for image in images {
            match list.iter_mut().find(|i| i["name"] == image["name"]) {
                Some(existing) => {
                    for (key, value) in image.as_object().expect("image") {
                        existing[key] = value.clone();
                    }
                }
                None => list.push(image.clone()),
            }
        }
        document["images"] = serde_json::Value::Array(list);
    }
    document
}

/// The variables a Kustomization's `postBuild` substitutes: its `substituteFrom`
/// ConfigMaps (as the bundle holds them, in the flux-system namespace) in order, then its
/// `substitute` map.
fn post_build_variables(
    post_build: &serde_json::Value,
    objects: &[serde_json::Value],
) -> serde_json::Map<String, serde_json::Value> {
    let mut vars = serde_json::Map::new();
    for source in post_build["substituteFrom"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let config_map = objects
            .iter()
            .find(|o| {
                o["kind"] == "ConfigMap"
                    && o["metadata"]["name"] == source["name"]
                    && o["metadata"]["namespace"] == "flux-system"
            })
            .expect("a substituteFrom ConfigMap in the bundle");
        vars.extend(config_map["data"].as_object().cloned().unwrap_or_default());
    }
    vars.extend(
        post_build["substitute"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    vars
}

/// Every Kustomization crunch built for a cluster of the fleet matches kubectl kustomize
/// building the kustomization Flux would write, substituted by `tools/flux-envsubst` when
/// it has a `postBuild`, with kustomize-controller's labels and the spec's
/// `commonMetadata` set on each object, object for object.
#[test]
fn every_kustomization_matches_kubectl_on_the_kustomization_flux_writes() {
    let fleet = Fleet::new();
    for cluster in ["staging", "production"] {
        let out = fleet
            .build(
                &fleet.dir().join(format!("clusters/{cluster}/flux-system")),
                &["--offline"],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let index = index(&out);
        let read = |path: &str| {
            let text = fs::read_to_string(out.join(path)).expect("read an object");
            crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).expect("parse")
        };
        let all_objects: Vec<serde_json::Value> = index["components"]
            .as_array()
            .expect("components")
            .iter()
            .flat_map(|c| c["objects"].as_array().cloned().unwrap_or_default())
            .map(|o| read(o["path"].as_str().expect("path")))
            .collect();
        let flux_objects: Vec<&serde_json::Value> = all_objects
            .iter()
            .filter(|o| o["kind"] == "Kustomization")
            .collect();
        assert_eq!(flux_objects.len(), 4, "{cluster}");
        for kustomization in flux_objects {
            let name = kustomization["metadata"]["name"].as_str().expect("name");
            let spec = &kustomization["spec"];
            let copy = tempfile::tempdir().expect("temp dir");
            world::copy_dir(&fleet.dir(), copy.path());
            let path = copy.path().join(spec["path"].as_str().expect("path"));
            let document = flux_kustomization(&path, spec);
            fs::write(
                path.join("kustomization.yaml"),
                crunch::yaml::marshal(&document).expect("yaml"),
            )
            .expect("write");
            let output = crate::support::oracle::kubectl()
                .arg("kustomize")
                .arg(&path)
                .output()
                .expect("run kubectl");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let built = String::from_utf8_lossy(&output.stdout).into_owned();
            let built = match spec.get("postBuild") {
                // kustomize-controller's postBuild, strict as crunch is by default.
                Some(post_build) => {
                    let vars = post_build_variables(post_build, &all_objects);
                    let file = copy.path().join("vars.json");
                    fs::write(&file, serde_json::to_string(&vars).expect("JSON")).expect("write");
                    crate::postbuild_diff::flux_substitute(&built, &file, &["--strict"])
                        .unwrap_or_else(|e| panic!("{cluster}: {name}: {e}"))
                }
                None => crunch::yaml::parse_stream(&built, crunch::yaml::Dialect::GoYamlV2)
                    .expect("kubectl's output parses"),
            };
            let mut expected = BTreeMap::new();
            for mut object in built.into_iter().filter(|o| !o.is_null()) {
                let metadata = &mut object["metadata"];
                for (field, extra) in [
                    ("labels", spec["commonMetadata"]["labels"].clone()),
                    ("annotations", spec["commonMetadata"]["annotations"].clone()),
                ] {
                    for (key, value) in extra.as_object().into_iter().flatten() {
                        metadata[field][key] = value.clone();
                    }
                }
                metadata["labels"]["kustomize.toolkit.fluxcd.io/name"] = name.into();
                metadata["labels"]["kustomize.toolkit.fluxcd.io/namespace"] = "flux-system".into();
                let key = format!("{} {}", object["kind"], object["metadata"]["name"]);
                expected.insert(key, object);
            }
            let component = index["components"]
                .as_array()
                .and_then(|c| {
                    c.iter()
                        .find(|c| c["id"] == format!("Kustomization/flux-system/{name}"))
                })
                .expect("a component per Kustomization");
            // The flux-system Kustomization also holds what it took over from the
            // bootstrap, which it builds itself.
            let actual: BTreeMap<String, serde_json::Value> = component["objects"]
                .as_array()
                .expect("objects")
                .iter()
                .map(|o| {
                    let object = read(o["path"].as_str().expect("path"));
                    (
                        format!("{} {}", object["kind"], object["metadata"]["name"]),
                        object,
                    )
                })
                .collect();
            assert_eq!(
                expected.keys().collect::<Vec<_>>(),
                actual.keys().collect::<Vec<_>>(),
                "{cluster}: Kustomization {name}"
            );
            for (key, object) in &expected {
                assert_eq!(
                    object, &actual[key],
                    "{cluster}: Kustomization {name}: {key}"
                );
            }
        }
    }
}

#[test]
fn another_branch_of_the_repository_is_fetched_not_read_from_the_working_tree() {
    let fleet = Fleet::new();
    let apps = fleet.dir().join("clusters/staging/apps.yaml");
    let text = fs::read_to_string(&apps).expect("read");
    let other = format!(
        "{text}---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: experiments, namespace: flux-system}}
spec:
  url: {FLEET_URL}
  ref: {{branch: experiments}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: experiments, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: experiments}}
  path: ./apps/staging
  prune: true
"
    );
    fs::write(&apps, other).expect("write");
    let Err(stderr) = fleet.build(
        &fleet.dir().join("clusters/staging/flux-system"),
        &["--offline"],
    ) else {
        panic!("built a branch that is not checked out from the working tree");
    };
    assert!(
        stderr.contains(&format!(
            "offline: {FLEET_URL} at branch experiments is not in crunch.lock"
        )),
        "{stderr}"
    );
}

#[test]
fn the_working_tree_is_verified_only_when_clean() {
    let mut fleet = Fleet::new();
    let sync = fleet
        .dir()
        .join("clusters/staging/flux-system/gotk-sync.yaml");
    let text = fs::read_to_string(&sync).expect("read");
    let verified = text.replace(
        "  url: ssh://git@github.com/example/fleet\n",
        "  url: ssh://git@github.com/example/fleet\n  verify: {mode: HEAD, secretRef: {name: fleet-keys}}\n",
    );
    fs::write(&sync, verified).expect("write");
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sops/keys/pgp.pub.asc");
    fs::write(
        fleet.dir().join("crunch.yaml"),
        format!(
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nverify:\n  secrets:\n    fleet-keys: [{}]\n",
            keys.display()
        ),
    )
    .expect("write crunch.yaml");
    let entry = fleet.dir().join("clusters/staging/flux-system");
    let Err(stderr) = fleet.build(&entry, &["--offline"]) else {
        panic!("verified uncommitted changes");
    };
    assert!(
        stderr.contains(
            "it has changes that are not committed, so there is no signed commit to verify"
        ),
        "{stderr}"
    );
    fleet.repo.commit("verify the fleet");
    let Err(stderr) = fleet.build(&entry, &["--offline"]) else {
        panic!("verified an unsigned commit");
    };
    assert!(
        stderr.contains("cannot be verified: it is not signed"),
        "{stderr}"
    );
}
