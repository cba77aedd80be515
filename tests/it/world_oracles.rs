//! The fixture world (`fixtures/world/`) rendered by the real `kubectl kustomize` and
//! `helm template` over the repositories `tools/world-repos` builds, and by crunch on exactly
//! the same inputs: every oracle run is repeated with `crunch kustomize` or `crunch helm
//! template` and the two outputs must be byte-identical. The oracle outputs are kept as
//! snapshots (`snapshots/it__world_oracles__*.snap`); they document the world.
//!
//! The chain is the one Flux walks in a cluster. The customer overlay is built with the
//! umbrella's remote base fetched by git through a `url.<mirror>.insteadOf` rewrite (crunch
//! gets the same rewrite as `--mirror`). The `bigbang` HelmRelease's `valuesFrom`
//! (ConfigMaps and Secrets in order, a Secret's `stringData` folded over its `data`) feeds
//! `helm template` of the umbrella chart at its GitRepository's ref. Every package
//! HelmRelease the umbrella emits is rendered the same way from its own GitRepository, with
//! the `common`/`defaults`/`overlays` layers of its values Secret. The cluster profile of
//! each environment comes from `fixtures/world/customer/crunch.yaml`. The customer repo's
//! SOPS-encrypted files are replaced by their plaintext twins first: the oracles see what
//! kustomize-controller sees once it has decrypted them.

use std::cell::{Cell, RefCell};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use crunch::config::{ClusterProfile, Config};
use crunch::yaml::{self, Dialect, Value};

use crate::support::world::plaintext_customer;
use crate::support::{diff, oracle};

/// The host every remote URL of the world uses.
const HOST: &str = "https://repo1.example.mil/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cluster profile `fixtures/world/customer/crunch.yaml` gives an environment.
fn cluster(env: &str) -> ClusterProfile {
    let path = root().join("fixtures/world/customer/crunch.yaml");
    Config::load(&path, env)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .cluster
}

/// Runs a command to success and returns its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn snapshot(name: &str, description: &str, output: &str) {
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        description => description,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, output);
    });
}

/// The built repositories, a git configuration that mirrors [`HOST`] onto them, an empty
/// home and crunch's cache, all in one temporary directory; and the tally of the
/// comparisons of crunch with the oracles made so far.
struct World {
    tmp: tempfile::TempDir,
    compared: Cell<usize>,
    mismatches: RefCell<Vec<String>>,
}

impl World {
    fn build() -> World {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repos = tmp.path().join("repos");
        run(Command::new(root().join("tools/world-repos")).arg(&repos));
        fs::create_dir(tmp.path().join("home")).expect("home dir");
        let config = format!(
            "[url \"file://{}/\"]\n\tinsteadOf = {HOST}\n",
            repos.display()
        );
        fs::write(tmp.path().join("gitconfig"), config).expect("gitconfig");
        plaintext_customer(&tmp.path().join("customer"));
        World {
            tmp,
            compared: Cell::new(0),
            mismatches: RefCell::new(Vec::new()),
        }
    }

    /// An environment directory of the decrypted customer repo.
    fn environment_dir(&self, env: &str) -> PathBuf {
        self.tmp.path().join("customer").join(env)
    }

    /// A command that sees only the world's git configuration.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.isolate(&mut cmd);
        cmd
    }

    fn isolate(&self, cmd: &mut Command) {
        cmd.env("HOME", self.tmp.path().join("home"))
            .env("GIT_CONFIG_GLOBAL", self.tmp.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
    }

    /// The `crunch` binary under test, as isolated as the oracles.
    fn crunch(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_crunch"))
    }

    /// Runs crunch and records whether it printed exactly `expected`, the oracle's output
    /// for the same input described by `what`.
    fn compare(&self, what: &str, expected: &str, crunch: &mut Command) {
        self.compared.set(self.compared.get() + 1);
        let out = crunch.output().expect("crunch starts");
        let mismatch = if !out.status.success() {
            format!(
                "crunch failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        } else if out.stdout != expected.as_bytes() {
            diff::unified(expected, &String::from_utf8_lossy(&out.stdout))
        } else {
            return;
        };
        self.mismatches
            .borrow_mut()
            .push(format!("=== {what}\n{crunch:?}\n{mismatch}"));
    }

    /// Fails with every mismatch recorded, if there is any.
    fn finish(self) {
        let mismatches = self.mismatches.into_inner();
        let compared = self.compared.get();
        assert!(
            mismatches.is_empty(),
            "crunch differs from the oracle in {} of {compared} comparisons \
             (- oracle, + crunch):\n\n{}",
            mismatches.len(),
            mismatches.join("\n\n")
        );
        eprintln!("{compared} outputs of crunch byte-identical to the oracle's");
    }

    /// `kubectl kustomize` of a directory, compared with `crunch kustomize` of it.
    fn kustomize(&self, dir: &Path) -> String {
        let output = self.kubectl_kustomize(dir.as_os_str());
        let mut crunch = self.crunch();
        crunch
            .arg("kustomize")
            .arg(dir)
            .arg("--mirror")
            .arg(format!(
                "{HOST}={}/",
                self.tmp.path().join("repos").display()
            ))
            .arg("--cache-dir")
            .arg(self.tmp.path().join("crunch-cache"));
        self.compare(
            &format!("kubectl kustomize {}", dir.display()),
            &output,
            &mut crunch,
        );
        output
    }

    /// `kubectl kustomize` of a directory or remote URL.
    fn kubectl_kustomize(&self, target: &OsStr) -> String {
        let mut cmd = oracle::kubectl();
        self.isolate(&mut cmd);
        run(cmd
            .arg("kustomize")
            .arg(target)
            .current_dir(self.tmp.path()))
    }

    /// A work tree of `url` at `reference`, cloned through the mirror.
    fn checkout(&self, url: &str, reference: &str) -> PathBuf {
        let name = format!("{url}@{reference}").replace(['/', ':'], "_");
        let dir = self.tmp.path().join("checkouts").join(name);
        if !dir.exists() {
            run(self
                .command("git")
                .args(["clone", "-q", "--branch", reference, url])
                .arg(&dir));
        }
        dir
    }

    /// The release tags of a repository (`X.Y.Z-bb.N`), oldest first.
    fn release_tags(&self, url: &str) -> Vec<String> {
        let path = url.strip_prefix(HOST).expect("a world URL");
        let git_dir = self.tmp.path().join("repos").join(path);
        run(self.command("git").arg("--git-dir").arg(git_dir).args([
            "tag",
            "--list",
            "*-bb.*",
            "--sort=v:refname",
        ]))
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// `helm template` of a HelmRelease found in `objects`, as helm-controller would
    /// install it, compared with `crunch helm template` of the same chart and values;
    /// `reference` overrides the ref of its GitRepository.
    fn render(
        &self,
        release: &Value,
        objects: &[Value],
        env: &str,
        reference: Option<&str>,
    ) -> Render {
        let name = text(release, "/metadata/name").expect("HelmRelease name");
        let chart = text(release, "/spec/chart/spec/chart").expect("chart path");
        let source = find(objects, "GitRepository", source_name(release));
        let url = text(source, "/spec/url").expect("GitRepository url");
        let reference = reference
            .or_else(|| text(source, "/spec/ref/tag"))
            .or_else(|| text(source, "/spec/ref/branch"))
            .expect("a tag or branch ref");
        let target = text(release, "/spec/targetNamespace");
        let namespace = target
            .or_else(|| text(release, "/metadata/namespace"))
            .expect("a namespace");
        // helm-controller's default release name is <targetNamespace>-<name>.
        let release_name = match (text(release, "/spec/releaseName"), target) {
            (Some(explicit), _) => explicit.to_owned(),
            (None, Some(target)) => format!("{target}-{name}"),
            (None, None) => name.to_owned(),
        };
        let cluster = cluster(env);

        let values_dir = tempfile::tempdir_in(self.tmp.path()).expect("values dir");
        let mut args: Vec<OsString> = vec![
            release_name.clone().into(),
            self.checkout(url, reference).join(chart).into(),
        ];
        for arg in ["--namespace", namespace, "--kube-version"] {
            args.push(arg.into());
        }
        args.push(cluster.kube_version.clone().into());
        args.push("--include-crds".into());
        for api in &cluster.api_versions {
            args.push("--api-versions".into());
            args.push(api.into());
        }
        let mut labels = Vec::new();
        for (i, (label, content)) in values_from(release, objects).iter().enumerate() {
            let file = values_dir.path().join(format!("{i}.yaml"));
            fs::write(&file, content).expect("values file");
            args.push("--values".into());
            args.push(file.into());
            labels.push(label.clone());
        }
        let description = format!(
            "helm template {release_name} {url}@{reference}:{chart} --namespace {namespace} \
             --kube-version {} --include-crds --api-versions {}\nvalues (in order): {}",
            cluster.kube_version,
            cluster.api_versions.join(","),
            labels.join(", ")
        );
        let output = run(oracle::helm().arg("template").args(&args));
        self.compare(
            &description,
            &output,
            self.crunch().args(["helm", "template"]).args(&args),
        );
        Render {
            output,
            description,
        }
    }
}

/// One `helm template` run: its output and the inputs that produced it.
struct Render {
    output: String,
    description: String,
}

/// The string at a JSON pointer of `value`.
fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The entries of the sequence at a JSON pointer of `value`; none when it is absent.
fn items<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn is(object: &Value, kind: &str, name: &str) -> bool {
    text(object, "/kind") == Some(kind) && text(object, "/metadata/name") == Some(name)
}

/// The objects of a YAML stream as the API server would read them; empty documents dropped.
fn objects(stream: &str) -> Vec<Value> {
    let mut docs = yaml::parse_stream(stream, Dialect::GoYamlV2).expect("oracle output parses");
    docs.retain(|doc| !doc.is_null());
    docs
}

/// The values helm-controller passes to Helm for a HelmRelease: its `valuesFrom` entries in
/// order, each the key `valuesKey` (default `values.yaml`) of a ConfigMap or Secret, a
/// Secret's `stringData` folded over its `data` as the API server does. Absent optional
/// entries are skipped.
fn values_from(release: &Value, objects: &[Value]) -> Vec<(String, String)> {
    let mut layers = Vec::new();
    for entry in items(release, "/spec/valuesFrom") {
        let kind = text(entry, "/kind").expect("valuesFrom kind");
        let name = text(entry, "/name").expect("valuesFrom name");
        let key = text(entry, "/valuesKey").unwrap_or("values.yaml");
        let Some(object) = objects.iter().find(|o| is(o, kind, name)) else {
            assert_eq!(
                entry.pointer("/optional").and_then(Value::as_bool),
                Some(true),
                "valuesFrom {kind}/{name} is missing and not optional"
            );
            continue;
        };
        let field = |map: &str| object.get(map).and_then(|m| m.get(key)?.as_str());
        let content = match (kind, field("stringData")) {
            ("Secret", Some(plain)) => plain.to_owned(),
            ("Secret", None) => secret_data(field("data").expect("Secret key")),
            _ => field("data").expect("ConfigMap key").to_owned(),
        };
        layers.push((format!("{kind}/{name}:{key}"), content));
    }
    layers
}

/// A Secret's `data` entry decoded. kustomize wraps long base64 text in lines, which Go's
/// decoder skips.
fn secret_data(encoded: &str) -> String {
    let joined: String = encoded
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(joined)
        .expect("base64 Secret data");
    String::from_utf8(bytes).expect("UTF-8 values")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| is(o, kind, name))
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

fn source_name(release: &Value) -> &str {
    text(release, "/spec/chart/spec/sourceRef/name").expect("sourceRef name")
}

/// The environments of the customer repo, each built with `kubectl kustomize`.
fn environment(world: &World, env: &str) -> Vec<Value> {
    objects(&world.kustomize(&world.environment_dir(env)))
}

/// The objects the umbrella chart renders for an environment, at the ref its
/// GitRepository pins.
fn umbrella(world: &World, env: &str) -> Vec<Value> {
    let objects = environment(world, env);
    let render = world.render(
        find(&objects, "HelmRelease", "bigbang"),
        &objects,
        env,
        None,
    );
    self::objects(&render.output)
}

fn package_releases(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects
        .iter()
        .filter(|o| text(o, "/kind") == Some("HelmRelease"))
}

fn source_url<'a>(objects: &'a [Value], release: &Value) -> &'a str {
    text(
        find(objects, "GitRepository", source_name(release)),
        "/spec/url",
    )
    .expect("GitRepository url")
}

#[test]
fn world_repos_are_reproducible() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let build = |name: &str| {
        let listing =
            run(Command::new(root().join("tools/world-repos")).arg(tmp.path().join(name)));
        // The listing names repositories relative to OUT_DIR, so two builds compare equal.
        assert!(
            !listing.contains(&tmp.path().display().to_string()),
            "{listing}"
        );
        listing
    };
    let first = build("a");
    assert_eq!(first, build("b"));
    // Rebuilding into an existing OUT_DIR replaces it.
    assert_eq!(first, build("a"));
    snapshot("world_repos_refs", "tools/world-repos OUT_DIR", &first);
}

#[test]
fn customer_overlays_build_with_the_remote_base() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let output = world.kustomize(&world.environment_dir(env));
        let objects = objects(&output);
        let release = find(&objects, "HelmRelease", "bigbang");
        // Every generated ConfigMap and Secret reaches valuesFrom under its hashed name.
        for entry in items(release, "/spec/valuesFrom") {
            let name = text(entry, "/name").expect("name");
            let generated = ["common-", "environment-"]
                .iter()
                .any(|p| name.starts_with(p));
            if generated {
                assert!(
                    objects
                        .iter()
                        .any(|o| text(o, "/metadata/name") == Some(name)),
                    "{env}: valuesFrom {name} has no object"
                );
            }
        }
        snapshot(
            &format!("kustomize_{env}"),
            &format!("kubectl kustomize fixtures/world/customer/{env}"),
            &output,
        );
    }
    let base = format!("{HOST}big-bang/bigbang.git//base?ref=3.0.0");
    snapshot(
        "kustomize_umbrella_base_3_0_0",
        &format!("kubectl kustomize {base}"),
        &world.kubectl_kustomize(base.as_ref()),
    );
    // crunch kustomize builds only directories: both tools get one whose only resource is
    // the remote base.
    let dir = tempfile::tempdir_in(world.tmp.path()).expect("kustomization dir");
    fs::write(
        dir.path().join("kustomization.yaml"),
        format!("resources:\n  - {base}\n"),
    )
    .expect("kustomization.yaml");
    world.kustomize(dir.path());
    world.finish();
}

#[test]
fn umbrella_chart_renders_at_every_ref() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let objects = environment(&world, env);
        let release = find(&objects, "HelmRelease", "bigbang");
        for reference in ["3.0.0", "3.1.0", "main"] {
            let render = world.render(release, &objects, env, Some(reference));
            let name = format!("umbrella_{}_{env}", reference.replace('.', "_"));
            snapshot(&name, &render.description, &render.output);
        }
    }
    world.finish();
}

#[test]
fn package_charts_render_at_every_tag() {
    let world = World::build();
    // The dev layers exercise every package: all three are enabled there.
    let objects = umbrella(&world, "dev");
    for release in package_releases(&objects) {
        let name = text(release, "/metadata/name").expect("name");
        let tags = world.release_tags(source_url(&objects, release));
        assert!(tags.len() >= 2, "{name}: {tags:?}");
        for tag in tags {
            let render = world.render(release, &objects, "dev", Some(&tag));
            let snap = format!("package_{name}_{}", tag.replace('.', "_"));
            snapshot(&snap, &render.description, &render.output);
        }
    }
    world.finish();
}

#[test]
fn environments_render_end_to_end() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let objects = umbrella(&world, env);
        let mut names = Vec::new();
        for release in package_releases(&objects) {
            let name = text(release, "/metadata/name").expect("name");
            let render = world.render(release, &objects, env, None);
            snapshot(
                &format!("chain_{env}_{name}"),
                &render.description,
                &render.output,
            );
            names.push(name);
        }
        assert_eq!(names, ["haproxy", "logging", "monitoring"], "{env}");
    }
    world.finish();
}
