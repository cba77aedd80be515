//! HelmRepository (HTTP and OCI), OCIRepository and `chartRef`, end to end through
//! `crunch build` against real servers on 127.0.0.1: a chart repository whose index and
//! archives the `helm` oracle made, and Debian's distribution registry holding charts
//! `helm push` pushed, Flux artifacts and cosign signatures. Every build resolves, pins
//! in `crunch.lock`, and builds again `--offline` from the lock and the cache alone, with
//! the same digest; each failure names its cause and leaves no bundle.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::chartrepo::{ChartRepo, Packager, copy_tree};
use crate::support::cosign::Signer;
use crate::support::registry::Registry;

/// The committed P-256 test key the charts are signed with, and another one.
fn test_key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sops/keys")
        .join(name)
}

/// A customer repository in a temporary directory, built with its own cache.
struct Customer {
    tmp: tempfile::TempDir,
}

impl Customer {
    fn new() -> Customer {
        Customer {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("customer")
    }

    /// Writes `crunch.yaml` (its header added) and the environment `env` of `objects`.
    fn write(&self, config: &str, env: &str, objects: &str) {
        let dir = self.root().join(env);
        fs::create_dir_all(&dir).expect("create the environment");
        fs::write(
            self.root().join("crunch.yaml"),
            format!("apiVersion: crunch.dev/v1alpha1\nkind: Config\n{config}"),
        )
        .expect("write crunch.yaml");
        fs::write(dir.join("flux.yaml"), objects).expect("write the objects");
        fs::write(
            dir.join("kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [flux.yaml]\n",
        )
        .expect("write the kustomization");
    }

    /// A file beside the customer repository (a password, a CA).
    fn secret_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        fs::write(&path, contents).expect("write the file");
        path
    }

    fn out(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `crunch build ENV -o OUT` with `args`; the digest, or standard error.
    fn build(
        &self,
        env: &str,
        out: &str,
        ca: Option<&Path>,
        args: &[&str],
    ) -> Result<String, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crunch"));
        command
            .arg("build")
            .arg(self.root().join(env))
            .arg("-o")
            .arg(self.out(out))
            .arg("--cache-dir")
            .arg(self.tmp.path().join("cache"))
            .arg("--plaintext-secrets")
            .args(args)
            .env("HOME", self.tmp.path())
            .env_remove("GIT_SSL_CAINFO");
        if let Some(ca) = ca {
            command.env("GIT_SSL_CAINFO", ca);
        }
        let output = command.output().expect("run crunch");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            assert!(
                !self.out(out).exists(),
                "a failed build left a bundle: {stderr}"
            );
            return Err(stderr);
        }
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("digest "))
            .map(str::to_string)
            .ok_or_else(|| format!("no digest printed: {stdout}"))
    }

    fn lock(&self) -> String {
        fs::read_to_string(self.root().join("crunch.lock")).expect("read crunch.lock")
    }
}

/// The one object of the bundle `out` whose file name ends with `suffix`, as text.
fn object(out: &Path, suffix: &str) -> String {
    crate::flux_graph::object(out, suffix)
}

/// `webapp` packaged by `helm` at each of `versions` into a new directory.
fn webapp_archives(versions: &[&str]) -> (tempfile::TempDir, PathBuf, Packager) {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let work = scratch.path().join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/helm-repo"),
        &work,
    );
    let dir = scratch.path().join("repo");
    fs::create_dir_all(&dir).expect("repository dir");
    let packager = Packager::new();
    for version in versions {
        packager.package(&work.join("webapp"), &dir, Some(version), false);
    }
    (scratch, dir, packager)
}

const HTTP_RELEASE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: stable, namespace: apps}
spec:
  interval: 10m
  url: https://charts.example.mil/stable
  secretRef: {name: chart-auth}
  certSecretRef: {name: chart-ca}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: apps}
spec:
  interval: 10m
  chart:
    spec:
      chart: webapp
      version: VERSION
      sourceRef: {kind: HelmRepository, name: stable}
  values:
    replicas: 3
";

/// The crunch.yaml of the HTTP tests: the repository mirrored to `url`, its Secrets on
/// this machine.
fn http_config(url: &str, password: &Path, ca: &Path) -> String {
    format!(
        "mirrors:\n  - {{from: https://charts.example.mil/stable, to: \"{}\"}}\ncredentials:\n  secrets:\n    chart-auth: {{username: chart-reader, passwordFile: {}}}\n    chart-ca: {{caFile: {}}}\n",
        url.trim_end_matches('/'),
        password.display(),
        ca.display()
    )
}

/// `webapp` at some versions, packaged and indexed by `helm`, served over HTTPS with
/// basic auth, and a customer repository whose `crunch.yaml` reaches it through a mirror
/// with the server's password and CA.
struct Served {
    scratch: tempfile::TempDir,
    dir: PathBuf,
    packager: Packager,
    repo: ChartRepo,
    customer: Customer,
    password: PathBuf,
    ca: PathBuf,
}

impl Served {
    fn webapp(versions: &[&str]) -> Served {
        let (scratch, dir, packager) = webapp_archives(versions);
        let repo = ChartRepo::start_https(&dir);
        packager.index(&dir, Some(&repo.url()));
        let customer = Customer::new();
        let (_, password) = repo.credentials.clone().expect("the server's credentials");
        let password = customer.secret_file("password", &format!("{password}\n"));
        let ca = customer.secret_file("ca.pem", repo.ca_pem.as_deref().expect("a CA"));
        Served {
            scratch,
            dir,
            packager,
            repo,
            customer,
            password,
            ca,
        }
    }

    /// Writes the environment `dev` of `objects` with the mirror and credentials, the
    /// password read from `password` (the right one when `None`).
    fn write(&self, objects: &str, password: Option<&Path>) {
        let config = http_config(
            &self.repo.url(),
            password.unwrap_or(&self.password),
            &self.ca,
        );
        self.customer.write(&config, "dev", objects);
    }

    /// Serves the directory again on a new port with a new CA, indexed again.
    fn restart(&mut self) {
        self.repo = ChartRepo::start_https(&self.dir);
        self.packager.index(&self.dir, Some(&self.repo.url()));
        self.ca = self
            .customer
            .secret_file("ca.pem", self.repo.ca_pem.as_deref().expect("a CA"));
    }
}

#[test]
fn http_repository_charts_are_resolved_pinned_and_built_offline() {
    let mut served = Served::webapp(&["1.2.0", "1.2.3", "2.0.0-rc.1"]);
    let release = HTTP_RELEASE.replace("VERSION", "1.2.x");
    served.write(&release, None);
    let customer = &served.customer;
    let online = customer
        .build("dev", "online", None, &[])
        .expect("online build");
    let deployment = object(&customer.out("online"), "deployment.web-webapp.yaml");
    assert!(
        deployment.contains("helm.sh/chart: webapp-1.2.3\n"),
        "{deployment}"
    );
    assert!(deployment.contains("replicas: 3\n"), "{deployment}");
    let archive = fs::read(served.dir.join("webapp-1.2.3.tgz")).expect("the served archive");
    let digest = crate::support::registry::sha256_digest(&archive);
    let lock = customer.lock();
    assert!(
        lock.contains(&format!(
            "charts:\n  - url: \"https://charts.example.mil/stable\"\n    chart: \"webapp\"\n    version: \"1.2.x\"\n    resolved: \"1.2.3\"\n    digest: \"{digest}\"\n"
        )),
        "{lock}"
    );
    // A newer release in range is not taken while the lock pins 1.2.3.
    served.packager.package(
        &served.scratch.path().join("work/webapp"),
        &served.dir,
        Some("1.2.9"),
        false,
    );
    served.packager.index(&served.dir, Some(&served.repo.url()));
    let pinned = customer
        .build("dev", "pinned", None, &[])
        .expect("pinned build");
    assert_eq!(pinned, online);
    assert!(served.repo.requests() > 0);
    // Offline, with the server gone: the same bundle from the lock and the cache.
    served.repo = ChartRepo::start(&served.scratch.path().join("nothing"));
    let offline = customer
        .build("dev", "offline", None, &["--offline"])
        .expect("offline build");
    assert_eq!(offline, online);
    // `--update` takes the newest release in range.
    served.restart();
    served.write(&release, None);
    served
        .customer
        .build("dev", "updated", None, &["--update"])
        .expect("updated build");
    assert!(served.customer.lock().contains("resolved: \"1.2.9\""));
}

#[test]
fn http_repository_failures_name_their_cause() {
    let served = Served::webapp(&["1.2.3"]);
    let customer = &served.customer;
    let release = HTTP_RELEASE.replace("VERSION", "1.2.x");

    served.write(&HTTP_RELEASE.replace("VERSION", "3.x"), None);
    let error = customer.build("dev", "missing", None, &[]).unwrap_err();
    assert!(
        error.contains("no 'webapp' chart with version matching '3.x' found"),
        "{error}"
    );
    assert!(
        error.contains("HelmRelease apps/web → HelmRepository apps/stable"),
        "{error}"
    );

    let wrong = customer.secret_file("wrong", "not-the-password");
    served.write(&release, Some(&wrong));
    let error = customer
        .build("dev", "unauthorized", None, &[])
        .unwrap_err();
    assert!(error.contains("401"), "{error}");

    customer.write("credentials:\n  secrets: {}\n", "dev", &release);
    let error = customer.build("dev", "no-secret", None, &[]).unwrap_err();
    assert!(
        error.contains(
            "spec.secretRef names Secret apps/chart-auth, which the deployment does not render"
        ),
        "{error}"
    );

    // The archive no longer matches the index's digest.
    let mut archive = fs::OpenOptions::new()
        .append(true)
        .open(served.dir.join("webapp-1.2.3.tgz"))
        .expect("open the archive");
    archive
        .write_all(b"tampered")
        .expect("tamper with the archive");
    served.write(&release, None);
    let error = customer.build("dev", "tampered", None, &[]).unwrap_err();
    assert!(
        error.contains("webapp-1.2.3.tgz has sha256")
            && error.contains("but the repository index says"),
        "{error}"
    );

    let error = customer
        .build("dev", "offline", None, &["--offline"])
        .unwrap_err();
    assert!(
        error.contains(
            "offline: chart webapp 1.2.x of https://charts.example.mil/stable is not in crunch.lock"
        ),
        "{error}"
    );
}

const HELM_CHART: &str = "\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: webapp-small, namespace: apps}
spec:
  interval: 10m
  chart: webapp
  version: 1.2.0
  sourceRef: {kind: HelmRepository, name: stable}
  valuesFiles: [values.yaml, values-small.yaml]
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: small, namespace: apps}
spec:
  interval: 10m
  chartRef: {kind: HelmChart, name: webapp-small}
";

#[test]
fn a_helm_chart_object_packages_its_values_files() {
    let served = Served::webapp(&["1.2.0", "1.2.3"]);
    let objects = format!("{}{HELM_CHART}", HTTP_RELEASE.replace("VERSION", "1.2.x"));
    served.write(&objects, None);
    let customer = &served.customer;
    customer.build("dev", "out", None, &[]).expect("build");
    // The chart's own values-small.yaml over values.yaml; the version stamped with the
    // HelmChart's generation, as source-controller packages it.
    let deployment = object(&customer.out("out"), "deployment.small-webapp.yaml");
    assert!(
        deployment.contains("helm.sh/chart: webapp-1.2.0_1\n"),
        "{deployment}"
    );
    assert!(deployment.contains("replicas: 2\n"), "{deployment}");
    assert!(deployment.contains("containerPort: 9090\n"), "{deployment}");
    let web = object(&customer.out("out"), "deployment.web-webapp.yaml");
    assert!(web.contains("helm.sh/chart: webapp-1.2.3\n"), "{web}");
}

/// A chart of `registry`'s `charts/` path at `version`, pushed by `helm push`, and its
/// manifest digest.
fn push_webapp(registry: &Registry, version: &str) -> String {
    let (_scratch, dir, _) = webapp_archives(&[version]);
    registry.push_chart(&dir.join(format!("webapp-{version}.tgz")), "charts")
}

const OCI_RELEASE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: registry, namespace: apps}
spec:
  type: oci
  interval: 10m
  url: oci://registry.example.mil/charts
  secretRef: {name: registry-auth}
---
apiVersion: v1
kind: Secret
metadata: {name: cosign-pub, namespace: apps}
stringData:
  cosign.pub: |
KEY
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: apps}
spec:
  interval: 10m
  chart:
    spec:
      chart: webapp
      version: VERSION
      sourceRef: {kind: HelmRepository, name: registry}
      verify:
        provider: cosign
        secretRef: {name: cosign-pub}
";

fn oci_release(version: &str, key: &str) -> String {
    let pem = fs::read_to_string(test_key(key)).expect("read the public key");
    let indented: String = pem.lines().map(|line| format!("    {line}\n")).collect();
    OCI_RELEASE
        .replace("VERSION", version)
        .replace("KEY\n", &indented)
}

fn oci_config(registry: &Registry, password: &Path) -> String {
    format!(
        "mirrors:\n  - {{from: oci://registry.example.mil/, to: \"oci://{}/\"}}\ncredentials:\n  secrets:\n    registry-auth: {{username: \"{}\", passwordFile: {}}}\n",
        registry.host(),
        registry.username,
        password.display()
    )
}

#[test]
fn oci_repository_charts_are_verified_pinned_and_built_offline() {
    let mut registry = Registry::start();
    let digest = push_webapp(&registry, "1.2.3");
    push_webapp(&registry, "1.2.0");
    Signer::from_pem_file(&test_key("cosign.key")).sign(&registry, "charts/webapp", &digest);
    let customer = Customer::new();
    let password = customer.secret_file("password", &registry.password);
    customer.write(
        &oci_config(&registry, &password),
        "dev",
        &oci_release("1.2.x", "cosign.pub"),
    );
    let ca = registry.ca_file();
    let online = customer
        .build("dev", "online", Some(&ca), &[])
        .expect("online build");
    let deployment = object(&customer.out("online"), "deployment.web-webapp.yaml");
    assert!(
        deployment.contains("helm.sh/chart: webapp-1.2.3\n"),
        "{deployment}"
    );
    assert!(
        customer.lock().contains(&format!(
            "  - url: \"oci://registry.example.mil/charts\"\n    chart: \"webapp\"\n    version: \"1.2.x\"\n    resolved: \"1.2.3\"\n    digest: \"{digest}\"\n"
        )),
        "{}",
        customer.lock()
    );
    registry.stop();
    // Offline, the chart and its signature come from the cache and are verified again.
    let offline = customer
        .build("dev", "offline", Some(&ca), &["--offline"])
        .expect("offline build");
    assert_eq!(offline, online);
    customer.write(
        &oci_config(&registry, &password),
        "dev",
        &oci_release("1.2.x", "cosign-other.pub"),
    );
    let error = customer
        .build("dev", "wrong-key-offline", Some(&ca), &["--offline"])
        .unwrap_err();
    assert!(error.contains("signature verification failed"), "{error}");
}

#[test]
fn oci_repository_failures_name_their_cause() {
    let mut registry = Registry::start();
    let signed = push_webapp(&registry, "1.2.3");
    Signer::from_pem_file(&test_key("cosign.key")).sign(&registry, "charts/webapp", &signed);
    push_webapp(&registry, "1.3.0");
    let customer = Customer::new();
    let password = customer.secret_file("password", &registry.password);
    let config = oci_config(&registry, &password);
    let ca = registry.ca_file();

    customer.write(&config, "dev", &oci_release("1.2.3", "cosign-other.pub"));
    let error = customer
        .build("dev", "wrong-key", Some(&ca), &[])
        .unwrap_err();
    assert!(
        error.contains("signature verification failed: no cosign signature of"),
        "{error}"
    );
    assert!(
        error.contains("verifies with the keys Secret apps/cosign-pub key cosign.pub"),
        "{error}"
    );

    customer.write(&config, "dev", &oci_release("1.3.0", "cosign.pub"));
    let error = customer
        .build("dev", "unsigned", Some(&ca), &[])
        .unwrap_err();
    assert!(error.contains("no cosign signature found for"), "{error}");

    customer.write(&config, "dev", &oci_release("9.x", "cosign.pub"));
    let error = customer
        .build("dev", "missing", Some(&ca), &[])
        .unwrap_err();
    assert!(
        error.contains("could not locate a version matching provided version string 9.x"),
        "{error}"
    );

    let wrong = customer.secret_file("wrong", "not-the-password");
    customer.write(
        &oci_config(&registry, &wrong),
        "dev",
        &oci_release("1.2.3", "cosign.pub"),
    );
    let error = customer
        .build("dev", "unauthorized", Some(&ca), &[])
        .unwrap_err();
    assert!(
        error.contains("refused user `crunch` access to charts/webapp (401 Unauthorized)"),
        "{error}"
    );

    customer.write(&config, "dev", &oci_release("1.2.3", "cosign.pub"));
    registry.stop();
    let error = customer
        .build("dev", "unreachable", Some(&ca), &[])
        .unwrap_err();
    assert!(error.contains("cannot reach"), "{error}");
}

/// A Flux artifact (`flux push artifact`): the files as a gzipped tarball layer.
fn push_flux_artifact(
    registry: &Registry,
    repository: &str,
    tag: &str,
    files: &[(&str, &str)],
) -> String {
    let mut tarball = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tarball, flate2::Compression::default());
        let mut archive = tar::Builder::new(gz);
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive
                .append_data(&mut header, path, text.as_bytes())
                .expect("add a file");
        }
        archive
            .into_inner()
            .expect("finish the tarball")
            .finish()
            .expect("finish the gzip stream");
    }
    let layer = registry.push_blob(repository, &tarball);
    let config = registry.push_blob(repository, b"{}");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json", "size": 2, "digest": config},
        "layers": [{"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip", "size": tarball.len(), "digest": layer}],
    })
    .to_string();
    registry.push_manifest(
        repository,
        tag,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    crate::support::registry::sha256_digest(manifest.as_bytes())
}

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {release: RELEASE}\n";

const ARTIFACTS: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: manifests, namespace: apps}
spec:
  interval: 5m
  url: oci://registry.example.mil/manifests/app
  ref: {semver: '>=1.0.0'}
  secretRef: {name: registry-auth}
  ignore: notes.txt
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: apps}
spec:
  interval: 10m
  sourceRef: {kind: OCIRepository, name: manifests}
  path: ./
  prune: true
  targetNamespace: apps
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: webapp-chart, namespace: apps}
spec:
  interval: 5m
  url: oci://registry.example.mil/charts/webapp
  ref: {tag: 1.2.3}
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  secretRef: {name: registry-auth}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: apps}
spec:
  interval: 10m
  chartRef: {kind: OCIRepository, name: webapp-chart}
";

#[test]
fn oci_repositories_feed_kustomizations_and_chart_refs() {
    let mut registry = Registry::start();
    for (tag, release) in [("1.0.0", "one"), ("1.1.0", "two"), ("2.0.0-rc.1", "pre")] {
        let config_map = CONFIG_MAP.replace("RELEASE", release);
        push_flux_artifact(
            &registry,
            "manifests/app",
            tag,
            &[
                ("kustomization.yaml", "resources: [settings.yaml]\n"),
                ("settings.yaml", &config_map),
                ("notes.txt", "not a manifest\n"),
            ],
        );
    }
    let chart = push_webapp(&registry, "1.2.3");
    let customer = Customer::new();
    let password = customer.secret_file("password", &registry.password);
    customer.write(&oci_config(&registry, &password), "dev", ARTIFACTS);
    let ca = registry.ca_file();
    let online = customer
        .build("dev", "online", Some(&ca), &[])
        .expect("online build");
    let out = customer.out("online");
    let settings = object(&out, "configmap.settings.yaml");
    assert!(settings.contains("release: two"), "{settings}");
    // helm-controller stamps an OCIRepository chart's version with its digest.
    let hex = chart.trim_start_matches("sha256:");
    let deployment = object(&out, "deployment.web-webapp.yaml");
    assert!(
        deployment.contains(&format!("helm.sh/chart: webapp-1.2.3_{}\n", &hex[..12])),
        "{deployment}"
    );
    let lock = customer.lock();
    assert!(
        lock.contains("oci:\n  - url: \"oci://registry.example.mil/charts/webapp\"\n    ref: \"tag=1.2.3\"\n    tag: \"1.2.3\"\n"),
        "{lock}"
    );
    assert!(
        lock.contains("ref: \"semver=>=1.0.0\"\n    tag: \"1.1.0\"\n"),
        "{lock}"
    );
    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    assert!(
        index.contains(&format!("\"digest\": \"{chart}\"")),
        "{index}"
    );
    registry.stop();
    let offline = customer
        .build("dev", "offline", Some(&ca), &["--offline"])
        .expect("offline build");
    assert_eq!(offline, online);
}
