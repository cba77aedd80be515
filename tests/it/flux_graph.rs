//! `crunch build` of small customer environments whose Flux objects point at test
//! repositories served by a real git daemon: GitRepository artifacts (`spec.ignore`,
//! `.sourceignore`, source-controller's default exclusions) and Flux Kustomizations.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::gitserver::{GitServers, TestRepo};

/// A temporary customer environment, the repositories it points at, and their server.
pub(crate) struct Setup {
    tmp: tempfile::TempDir,
    servers: GitServers,
}

impl Setup {
    /// Serves the repositories `make` creates under the repository root.
    pub(crate) fn new(make: impl FnOnce(&Path)) -> Setup {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repos = tmp.path().join("repos");
        make(&repos);
        let servers = GitServers::start(&repos);
        Setup { tmp, servers }
    }

    /// The customer repository's directory: a test may put a `crunch.yaml` there.
    pub(crate) fn customer(&self) -> PathBuf {
        self.tmp.path().join("customer")
    }

    /// Writes the environment `env` (a kustomization of `objects`, given as YAML with
    /// `{repos}` standing for the repository server's base URL) and builds it.
    pub(crate) fn build(&self, env: &str, objects: &str) -> Result<PathBuf, String> {
        self.build_with(env, objects, &[], &[]).map(|(out, _)| out)
    }

    /// As [`Setup::build`], with environment variables and more arguments; also gives
    /// standard error.
    pub(crate) fn build_with(
        &self,
        env: &str,
        objects: &str,
        vars: &[(&str, &Path)],
        args: &[&str],
    ) -> Result<(PathBuf, String), String> {
        let dir = self.tmp.path().join("customer").join(env);
        fs::create_dir_all(&dir).expect("create the environment");
        let base = self.servers.git_url("");
        let objects = objects.replace("{repos}/", &base);
        fs::write(dir.join("flux.yaml"), objects).expect("write the objects");
        fs::write(
            dir.join("kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [flux.yaml]\n",
        )
        .expect("write the kustomization");
        let out = self.tmp.path().join(format!("out-{env}"));
        let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
            .arg("build")
            .arg(&dir)
            .arg("-o")
            .arg(&out)
            .arg("--cache-dir")
            .arg(self.tmp.path().join("cache"))
            // These environments have no crunch.yaml, so no recipients: the tests read
            // rendered values, sealing has its own tests (build, apply).
            .arg("--plaintext-secrets")
            .args(args)
            // Only the keys a test names: none from the machine running the tests.
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("HOME", self.tmp.path())
            .env("GNUPGHOME", self.tmp.path().join("no-gnupg"))
            .envs(vars.iter().copied())
            .output()
            .expect("run crunch");
        if output.status.success() {
            Ok((out, String::from_utf8_lossy(&output.stderr).into_owned()))
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

/// The text of the one bundle file whose path ends with `suffix`.
pub(crate) fn object(out: &Path, suffix: &str) -> String {
    let mut found = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read the bundle") {
            let path = entry.expect("a bundle entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "files ending with {suffix}: {found:?}");
    fs::read_to_string(&found[0]).expect("read the object")
}

/// A chart that shows which of its files it can see.
fn files_chart(repos: &Path) {
    let mut repo = TestRepo::init(repos, "charts");
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: files\nversion: 0.1.0\n",
    )
    .write(
        "chart/templates/seen.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seen-{{ .Release.Name }}\ndata:\n{{- range $name := list \"notes.md\" \"kept.yaml\" \"logo.png\" \"drop.txt\" \"docs/keep.md\" }}\n  {{ $name | replace \"/\" \"_\" }}: {{ $.Files.Get $name | quote }}\n{{- end }}\n  glob: \"{{ range $path, $_ := $.Files.Glob \"docs/*\" }}{{ $path }},{{ end }}\"\n",
    )
    .write("chart/notes.md", "notes\n")
    .write("chart/kept.yaml", "kept\n")
    .write("chart/logo.png", "png\n")
    .write("chart/drop.txt", "drop\n")
    .write("chart/docs/keep.md", "keep\n")
    .write("chart/docs/other.md", "other\n")
    .write("chart/.sourceignore", "# this directory's own rules\ndrop.txt\n");
    repo.commit("a chart reading its files");
}

const TWO_RELEASES: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: ignoring, namespace: flux-system}
spec:
  url: {repos}/charts
  ref: {branch: main}
  ignore: |
    # no markdown, but one
    /**/*.md
    !/chart/docs/keep.md
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: plain, namespace: flux-system}
spec:
  url: {repos}/charts
  ref: {branch: main}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ignoring, namespace: flux-system}
spec:
  chart:
    spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: ignoring}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: plain, namespace: flux-system}
spec:
  chart:
    spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: plain}}
";

#[test]
fn charts_see_the_gitrepository_artifact_not_the_checkout() {
    let setup = Setup::new(files_chart);
    let out = setup
        .build("dev", TWO_RELEASES)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    // spec.ignore replaces the default exclusions (logo.png is back), the chart's own
    // .sourceignore still applies, and `!` brings one markdown file back.
    let ignoring = object(&out, "configmap.seen-ignoring.yaml");
    for line in [
        "notes.md: \"\"",
        "kept.yaml: |",
        "logo.png: |",
        "drop.txt: \"\"",
        "docs_keep.md: |",
        "glob: docs/keep.md,\n",
    ] {
        assert!(ignoring.contains(line), "no `{line}` in\n{ignoring}");
    }
    // With no spec.ignore, the .sourceignore's pattern also replaces the defaults.
    let plain = object(&out, "configmap.seen-plain.yaml");
    for line in [
        "notes.md: |",
        "logo.png: |",
        "drop.txt: \"\"",
        "glob: docs/keep.md,docs/other.md,\n",
    ] {
        assert!(plain.contains(line), "no `{line}` in\n{plain}");
    }
}

#[test]
fn without_any_pattern_the_default_exclusions_apply() {
    let setup = Setup::new(|repos| {
        files_chart(repos);
        let mut repo = TestRepo::init(repos, "bare-chart");
        repo.write(
            "chart/Chart.yaml",
            "apiVersion: v2\nname: bare\nversion: 0.1.0\n",
        )
        .write(
            "chart/templates/seen.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\ndata:\n  logo: {{ .Files.Get \"logo.png\" | quote }}\n  ci: {{ .Files.Get \".gitlab-ci.yml\" | quote }}\n  notes: {{ .Files.Get \"notes.md\" | quote }}\n",
        )
        .write("chart/logo.png", "png\n")
        .write("chart/.gitlab-ci.yml", "ci\n")
        .write("chart/notes.md", "notes\n");
        repo.commit("a chart without ignore rules");
    });
    let objects = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: bare, namespace: flux-system}
spec:
  url: {repos}/bare-chart
  ref: {branch: main}
  ignore: \"# only a comment: no pattern\"
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: bare, namespace: flux-system}
spec:
  chart:
    spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: bare}}
";
    let out = setup
        .build("dev", objects)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let seen = object(&out, "configmap.bare.yaml");
    for line in ["logo: \"\"", "ci: \"\"", "notes: |"] {
        assert!(seen.contains(line), "no `{line}` in\n{seen}");
    }
}

#[test]
fn an_invalid_ignore_pattern_names_its_line() {
    let setup = Setup::new(files_chart);
    let objects = TWO_RELEASES.replace("!/chart/docs/keep.md", "{unclosed");
    let Err(stderr) = setup.build("dev", &objects) else {
        panic!("built with an invalid pattern");
    };
    assert!(
        stderr.contains("spec.ignore:3: invalid ignore pattern `{unclosed`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("GitRepository flux-system/ignoring"),
        "{stderr}"
    );
}

/// A kustomize base, a component, and a base that lists a file the artifact leaves out.
fn apps_repo(repos: &Path) {
    let mut repo = TestRepo::init(repos, "apps");
    repo.write(
        "deploy/kustomization.yaml",
        "resources: [deployment.yaml, service.yaml]\n",
    )
    .write(
        "deploy/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.0\n",
    )
    .write(
        "deploy/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
    )
    .write(
        "components/extra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [configmap.yaml]\n",
    )
    .write(
        "components/extra/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  from: component\n",
    )
    .write("docs/kustomization.yaml", "resources: [readme.md]\n")
    .write(
        "docs/readme.md",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: readme\n",
    );
    repo.commit("a base and a component");
}

const WEB: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: apps, namespace: flux-system}
spec:
  url: {repos}/apps
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: apps}
  path: ./deploy
  targetNamespace: web
  namePrefix: pre-
  images: [{name: nginx, newTag: \"1.1\"}]
  patches:
    - patch: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: any}
        spec: {replicas: 3}
      target: {kind: Deployment}
  components: [../components/extra]
  commonMetadata:
    labels: {team: a}
  healthChecks:
    - {apiVersion: apps/v1, kind: Deployment, name: pre-web, namespace: web}
    - {apiVersion: v1, kind: Service, name: elsewhere}
";

#[test]
fn a_flux_kustomization_renders_its_path_as_kustomize_controller_does() {
    let setup = Setup::new(apps_repo);
    let out = setup
        .build("dev", WEB)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let deployment = object(&out, "deployment.pre-web.yaml");
    for line in [
        "name: pre-web",
        "namespace: web",
        "replicas: 3",
        "image: nginx:1.1",
        "team: a",
        // kustomize-controller's ownership labels.
        "kustomize.toolkit.fluxcd.io/name: web",
        "kustomize.toolkit.fluxcd.io/namespace: flux-system",
    ] {
        assert!(deployment.contains(line), "no `{line}` in\n{deployment}");
    }
    // commonMetadata labels objects, never selectors.
    assert!(
        deployment.contains("matchLabels:\n      app: web\n"),
        "{deployment}"
    );
    let service = object(&out, "service.pre-web.yaml");
    assert!(service.contains("namespace: web"), "{service}");
    let extra = object(&out, "configmap.pre-extra.yaml");
    assert!(extra.contains("from: component"), "{extra}");

    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    let index: serde_json::Value = serde_json::from_str(&index).expect("the index is JSON");
    let components = index["components"].as_array().cloned().unwrap_or_default();
    let web = components
        .iter()
        .find(|c| c["id"] == "Kustomization/flux-system/web");
    let Some(web) = web else {
        panic!("no Kustomization component in {components:?}");
    };
    assert_eq!(web["kind"], "Kustomization");
    assert_eq!(web["source"]["path"], "./deploy");
    // The applier waits for health checks; a missing namespace is the Kustomization's.
    assert_eq!(
        web["healthChecks"],
        serde_json::json!([
            {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web", "name": "pre-web"},
            {"apiVersion": "v1", "kind": "Service", "namespace": "flux-system", "name": "elsewhere"}
        ])
    );
    let kinds: Vec<&str> = web["objects"]
        .as_array()
        .map(|objects| objects.iter().filter_map(|o| o["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds.len(), 3, "{web}");
    for kind in ["ConfigMap", "Deployment", "Service"] {
        assert!(kinds.contains(&kind), "{kind} missing from {web}");
    }
}

/// `infra` renders the variables (a ConfigMap and a Secret in `flux-system`); `app`
/// uses them through `postBuild`.
fn post_build_repo(repos: &Path) {
    let mut repo = TestRepo::init(repos, "fleet");
    repo.write(
        "infra/kustomization.yaml",
        "resources: [vars.yaml]\n",
    )
    .write(
        "infra/vars.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-vars}\ndata:\n  REPLICAS: \"3\"\n  REGION: eu-west-1\n  DOMAIN: from-configmap.example\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: cluster-secrets}\nstringData:\n  TOKEN: \"s3cr3t\\n\"\n  DOMAIN: from-secret.example\n",
    )
    .write("app/kustomization.yaml", "resources: [app.yaml]\n")
    .write(
        "app/app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: ${REPLICAS}\n  template:\n    metadata:\n      annotations:\n        region: ${REGION:0:2}\n        domain: ${DOMAIN}\n        tier: ${TIER:=frontend}\n        literal: $${REGION}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: web-token, namespace: apps}\nstringData: {token: \"${TOKEN}-${CLUSTER}\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\n  namespace: flux-system\n  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}\ndata: {script: \"echo ${HOME}\"}\n",
    );
    repo.commit("variables and their user");
}

const POST_BUILD: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  url: {repos}/fleet
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: fleet}
  path: ./infra
  targetNamespace: flux-system
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  dependsOn: [{name: infra}]
  sourceRef: {kind: GitRepository, name: fleet}
  path: ./app
  commonMetadata: {labels: {team: web}}
  postBuild:
    substitute: {CLUSTER: dev}
    substituteFrom:
      - {kind: ConfigMap, name: cluster-vars}
      - {kind: Secret, name: cluster-secrets}
      - {kind: Secret, name: not-there, optional: true}
";

/// Optional sources a dependency renders are there when the dependent renders, as Flux's
/// `dependsOn` has them applied first.
#[test]
fn optional_sources_a_dependency_renders_are_waited_for() {
    let setup = Setup::new(post_build_repo);
    let optional = POST_BUILD
        .replace(
            "{kind: ConfigMap, name: cluster-vars}",
            "{kind: ConfigMap, name: cluster-vars, optional: true}",
        )
        .replace(
            "{kind: Secret, name: cluster-secrets}",
            "{kind: Secret, name: cluster-secrets, optional: true}",
        );
    let out = setup
        .build("dev", &optional)
        .unwrap_or_else(|e| panic!("{e}"));
    let deployment = object(&out, "deployment.web.yaml");
    assert!(deployment.contains("  replicas: 3\n"), "{deployment}");
    assert!(
        deployment.contains("domain: from-secret.example\n"),
        "{deployment}"
    );
}

#[test]
fn post_build_substitutes_variables_from_another_kustomization() {
    let setup = Setup::new(post_build_repo);
    let out = setup
        .build("dev", POST_BUILD)
        .unwrap_or_else(|e| panic!("{e}"));
    let deployment = object(&out, "deployment.web.yaml");
    // The number is a number again; later sources win; defaults and escapes as Flux's.
    assert!(deployment.contains("  replicas: 3\n"), "{deployment}");
    assert!(deployment.contains("region: eu\n"), "{deployment}");
    assert!(
        deployment.contains("domain: from-secret.example\n"),
        "{deployment}"
    );
    assert!(deployment.contains("tier: frontend\n"), "{deployment}");
    assert!(deployment.contains("literal: ${REGION}\n"), "{deployment}");
    let secret = object(&out, "secret.web-token.yaml");
    // The Secret's value lost its newline; the inline variable is used as well.
    assert!(secret.contains("token: s3cr3t-dev\n"), "{secret}");
    let raw = object(&out, "configmap.raw.yaml");
    assert!(raw.contains("script: echo ${HOME}\n"), "{raw}");
}

#[test]
fn post_build_fails_on_an_unset_variable_and_on_its_own_sources() {
    let setup = Setup::new(post_build_repo);
    let unset = POST_BUILD.replace("substitute: {CLUSTER: dev}", "substitute: {OTHER: dev}");
    let Err(stderr) = setup.build("dev", &unset) else {
        panic!("built with an unset variable");
    };
    assert!(
        stderr.contains("post build failed for 'Secret.v1.[noGrp]/web-token': envsubst error: variable substitution failed: variable not set (strict mode): \"CLUSTER\""),
        "{stderr}"
    );
    // A source only the Kustomization itself renders never exists before it.
    let own = POST_BUILD.replace("name: cluster-vars}", "name: raw}");
    let Err(stderr) = setup.build("own", &own) else {
        panic!("built from a source the Kustomization renders itself");
    };
    assert!(
        stderr.contains("never becomes ready: missing ConfigMap flux-system/raw"),
        "{stderr}"
    );
}

#[test]
fn a_kustomization_cannot_list_a_file_the_artifact_leaves_out() {
    let setup = Setup::new(apps_repo);
    let docs = WEB.replace("path: ./deploy", "path: ./docs").replace(
        "  ref: {branch: main}\n",
        "  ref: {branch: main}\n  ignore: \"*.md\"\n",
    );
    let Err(stderr) = setup.build("dev", &docs) else {
        panic!("built from an ignored file");
    };
    assert!(stderr.contains("readme.md"), "{stderr}");
}

/// Two charts: `crds` installs the CustomResourceDefinitions of a cluster-scoped and a
/// namespaced custom kind (one from `crds/`, one from its templates); `policies` renders an
/// object of each, of a built-in kind of each scope, and of a kind no chart defines, none
/// of them naming a namespace.
fn scoped_charts(repos: &Path) {
    let crd = |name: &str, scope: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}s.example.dev\nspec:\n  group: example.dev\n  scope: {scope}\n  names: {{kind: {name}, plural: {name}s}}\n  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object}}}}}}]\n"
        )
    };
    let mut repo = TestRepo::init(repos, "charts");
    repo.write("crds/Chart.yaml", "apiVersion: v2\nname: crds\nversion: 0.1.0\n")
        .write("crds/crds/guard.yaml", &crd("ClusterGuard", "Cluster"))
        .write("crds/templates/guard.yaml", &crd("Guard", "Namespaced"))
        .write(
            "policies/Chart.yaml",
            "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
        )
        .write(
            "policies/templates/objects.yaml",
            "apiVersion: example.dev/v1\nkind: ClusterGuard\nmetadata:\n  name: everywhere\n---\napiVersion: example.dev/v1\nkind: Guard\nmetadata:\n  name: here\n---\napiVersion: other.dev/v1\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
        );
    repo.commit("charts with custom kinds");
}

const SCOPED: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: charts, namespace: flux-system}
spec:
  url: {repos}/charts
  ref: {branch: main}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: crds, namespace: flux-system}
spec:
  chart:
    spec: {chart: ./crds, sourceRef: {kind: GitRepository, name: charts}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: policies, namespace: flux-system}
spec:
  targetNamespace: guarded
  chart:
    spec: {chart: ./policies, sourceRef: {kind: GitRepository, name: charts}}
";

#[test]
fn a_custom_kind_takes_its_scope_from_its_crd_anywhere_in_the_bundle() {
    let setup = Setup::new(scoped_charts);
    fs::create_dir_all(setup.tmp.path().join("customer")).expect("create the customer repo");
    fs::write(
        setup.tmp.path().join("customer/crunch.yaml"),
        "apiVersion: crunch.dev/v1alpha1\nkind: Config\ncluster:\n  kinds:\n    other.dev/Widget: Namespaced\n",
    )
    .expect("write crunch.yaml");
    let out = setup
        .build("dev", SCOPED)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let policies = "helmrelease.flux-system.policies";
    for (file, namespaced) in [
        ("_cluster/clusterguard.everywhere.yaml", false),
        ("guarded/guard.here.yaml", true),
        ("guarded/widget.w.yaml", true),
        ("_cluster/clusterrole.reader.yaml", false),
        ("guarded/configmap.settings.yaml", true),
    ] {
        let text = object(&out, &format!("{policies}/{file}"));
        assert_eq!(
            text.contains("namespace: guarded"),
            namespaced,
            "{file}:\n{text}"
        );
    }
}

#[test]
fn a_custom_kind_of_unknown_scope_is_an_error_naming_it() {
    let setup = Setup::new(scoped_charts);
    let stderr = setup.build("dev", SCOPED).expect_err("the build must fail");
    for part in [
        "HelmRelease flux-system/policies",
        "Widget.other.dev w",
        "other.dev/Widget",
        "cluster.kinds",
    ] {
        assert!(stderr.contains(part), "no `{part}` in\n{stderr}");
    }
}

/// A chart whose template shows what a `null` in the HelmRelease's values did.
fn nulls_chart(repos: &Path) {
    let mut repo = TestRepo::init(repos, "nulls");
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: nulls\nversion: 0.1.0\n",
    )
    .write(
        "chart/values.yaml",
        "baseConfig:\n  preflight-check:\n    image: \"\"\n    tag: v1\naddons:\n  alloy-operator:\n    crds:\n      deploy: true\n",
    )
    .write(
        "chart/templates/nulls.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nulls\ndata:\n  image: {{ dig \"preflight-check\" \"image\" \"dflt\" .Values.baseConfig | quote }}\n  tag: {{ dig \"preflight-check\" \"tag\" \"dflt\" .Values.baseConfig | quote }}\n  deploy: {{ dig \"alloy-operator\" \"crds\" \"deploy\" \"dflt\" .Values.addons | quote }}\n  extra: {{ dig \"alloy-operator\" \"crds\" \"extra\" \"dflt\" .Values.addons | toJson | quote }}\n  values: {{ toJson .Values | quote }}\n",
    );
    repo.commit("a chart printing its values");
}

const NULLS_RELEASE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: nulls, namespace: flux-system}
spec:
  url: {repos}/nulls
  ref: {branch: main}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: defaults, namespace: flux-system}
data:
  values.yaml: |
    baseConfig:
      preflight-check:
        image: pinned
        tag: null
    addons:
      alloy-operator:
        crds:
          extra: from-configmap
---
apiVersion: v1
kind: Secret
metadata: {name: overrides, namespace: flux-system}
stringData:
  values.yaml: |
    baseConfig:
      preflight-check:
        image: null
    addons:
      alloy-operator:
        crds:
          extra: null
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: nulls, namespace: flux-system}
spec:
  chart:
    spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: nulls}}
  valuesFrom:
    - {kind: ConfigMap, name: defaults}
    - {kind: Secret, name: overrides}
  values:
    baseConfig:
      preflight-check:
        tag: v3
    addons:
      alloy-operator:
        crds:
          deploy: null
";

/// helm-controller merges `valuesFrom` in order and `spec.values` last with
/// `chartutil.MergeMaps` (fluxcd/pkg `chartutil/merge.go`, called by
/// `ChartValuesFromReferences` in `chartutil/values.go`), which keeps a later `null` over
/// an earlier value and a later value over an earlier `null`. Helm then coalesces: a `null`
/// over a chart default deletes the key, one without a default stays. The expected lines are
/// `helm template` v4.1.4's output with those merged values as its one `-f` file.
#[test]
fn nulls_in_helmrelease_values_reach_helm_and_delete_chart_defaults() {
    let setup = Setup::new(nulls_chart);
    let out = setup
        .build("dev", NULLS_RELEASE)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let nulls = object(&out, "configmap.nulls.yaml");
    for line in [
        "image: dflt\n",
        "tag: v3\n",
        "deploy: dflt\n",
        "extra: \"null\"\n",
        r#"values: '{"addons":{"alloy-operator":{"crds":{"extra":null}}},"baseConfig":{"preflight-check":{"tag":"v3"}}}'"#,
    ] {
        assert!(nulls.contains(line), "no `{line}` in\n{nulls}");
    }
}

/// A chart that prints its values and a key generated from the seeded random source.
fn echo_chart(repos: &Path) {
    let mut repo = TestRepo::init(repos, "echo");
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: echo\nversion: 0.1.0\n",
    )
    .write("chart/values.yaml", "greeting: hello\n")
    .write(
        "chart/templates/echo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: echo\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  key: {{ genPrivateKey \"ecdsa\" | sha256sum | quote }}\n",
    );
    repo.commit("an echoing chart");
}

fn echo_release(values: &str) -> String {
    format!(
        "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: echo, namespace: flux-system}}
spec:
  url: {{repos}}/echo
  ref: {{branch: main}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: echo, namespace: flux-system}}
spec:
  chart:
    spec: {{chart: ./chart, sourceRef: {{kind: GitRepository, name: echo}}}}
  values: {values}
"
    )
}

#[test]
fn a_cached_render_is_the_render_and_any_input_change_renders_again() {
    let setup = Setup::new(echo_chart);
    let file = "helmrelease.flux-system.echo/flux-system/configmap.echo.yaml";
    let first = setup
        .build("dev", &echo_release("{greeting: hi}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let cold = object(&first, file);
    let renders = setup.tmp.path().join("cache/renders");
    assert!(renders.is_dir(), "no render cache at {}", renders.display());
    // The same inputs again: the cached render, byte for byte what rendering gave.
    let again = setup
        .build("dev", &echo_release("{greeting: hi}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert_eq!(object(&again, file), cold);
    // Changed values render anew.
    let changed = setup
        .build("dev", &echo_release("{greeting: bye}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let text = object(&changed, file);
    assert!(text.contains("greeting: bye"), "{text}");
    // A cache entry that cannot be read is a miss, never an error or a wrong render.
    let mut stack = vec![renders];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read the render cache") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                fs::write(&path, "[{").expect("break an entry");
            }
        }
    }
    let broken = setup
        .build("dev", &echo_release("{greeting: hi}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert_eq!(object(&broken, file), cold);
}

/// The SOPS test fixtures (`fixtures/sops/`).
fn sops_fixture(path: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sops")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A repository whose kustomization reads SOPS files in every way kustomize-controller
/// decrypts them: an encrypted Secret resource, and secret generator `envs` and `files`.
fn encrypted_repo(repos: &Path) {
    let mut repo = TestRepo::init(repos, "secrets");
    repo.write(
        "app/kustomization.yaml",
        "namePrefix: app-\nresources: [secret.enc.yaml]\ngeneratorOptions: {disableNameSuffixHash: true}\nsecretGenerator:\n  - name: env\n    envs: [creds.enc.env]\n  - name: files\n    files: [values.yaml=values.enc.yaml]\n",
    )
    .write_bytes("app/secret.enc.yaml", &sops_fixture("cases/secret.enc.yaml"))
    .write_bytes("app/creds.enc.env", &sops_fixture("cases/dotenv-basic.enc.env"))
    .write_bytes("app/values.enc.yaml", &sops_fixture("cases/yaml-basic.enc.yaml"));
    repo.commit("encrypted secrets");
}

fn encrypted_kustomization(decryption: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: secrets, namespace: flux-system}}
spec:
  url: {{repos}}/secrets
  ref: {{branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: app, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: secrets}}
  path: ./app
  targetNamespace: apps
{decryption}"
    )
}

/// A Secret value of a bundle object, base64-decoded.
fn secret_value(out: &Path, suffix: &str, key: &str) -> Vec<u8> {
    let text = object(out, suffix);
    let object = crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).unwrap();
    let encoded = object["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no data.{key} in\n{text}"));
    crunch::gostd::base64::decode_std(encoded.as_bytes()).unwrap()
}

#[test]
fn a_flux_kustomization_decrypts_with_the_machines_keys() {
    let setup = Setup::new(encrypted_repo);
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sops/keys/age.key");
    let objects = encrypted_kustomization("  decryption: {provider: sops}\n");
    let (out, _) = setup
        .build_with("dev", &objects, &[("SOPS_AGE_KEY_FILE", &keys)], &[])
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    // The resource: decrypted after kustomize renamed and moved it (its MAC was checked
    // at the source file, before that).
    let secret = object(&out, "secret.app-app-credentials.yaml");
    assert!(
        !secret.contains("sops") && !secret.contains("ENC["),
        "{secret}"
    );
    assert!(
        secret.contains("namespace: apps") && secret.contains("token: plain-token"),
        "{secret}"
    );
    assert_eq!(
        secret_value(&out, "secret.app-app-credentials.yaml", "password"),
        b"s3cr3t-password"
    );
    // The generators read the decrypted files, as sops prints them.
    assert_eq!(
        secret_value(&out, "secret.app-files.yaml", "values.yaml"),
        sops_fixture("cases/yaml-basic.plain.yaml")
    );
    let plain_env = String::from_utf8(sops_fixture("cases/dotenv-basic.plain.env")).unwrap();
    let (key, value) = plain_env
        .lines()
        .find_map(|l| l.split_once('='))
        .expect("a key=value line");
    assert_eq!(
        secret_value(&out, "secret.app-env.yaml", key),
        value.as_bytes()
    );

    // Without decryption everything stays as Flux leaves it, and crunch says so.
    let (out, stderr) = setup
        .build_with("plain", &encrypted_kustomization(""), &[], &[])
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "secret.app-app-credentials.yaml").contains("ENC[AES256_GCM,"));
    assert!(
        stderr.contains("warning: Secret apps/app-app-credentials (Kustomization flux-system/app) holds SOPS-encrypted values that stay encrypted: the Kustomization has no spec.decryption"),
        "{stderr}"
    );

    // Without a key: the error names the file and the keys it was encrypted for.
    let stderr = setup
        .build_with("nokey", &objects, &[], &[])
        .expect_err("built without a key");
    assert!(stderr.contains("Kustomization flux-system/app"), "{stderr}");
    assert!(
        stderr.contains("age1fhw4ccp7ugqgwd3p8ujgupvqgsavs64cjltgtsn73d2ztj70ng5slqz0yl"),
        "{stderr}"
    );
}

/// A chart with default values, a production values file beside them, a `crds/` that also
/// holds a ConfigMap, a hook, and a template printing what it sees.
fn layered_chart(repos: &Path) -> String {
    let mut repo = TestRepo::init(repos, "layered");
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: layered\nversion: 0.1.0\n",
    )
    .write(
        "chart/values.yaml",
        "greeting: hello\nonlyDefault: kept\nport: 80\nnested: {a: 1, b: 2}\nimage: {tag: latest}\n",
    )
    .write(
        "chart/values-prod.yaml",
        "greeting: prod\nnested: {b: 20, c: 30.5}\nbig: 12345678901234567890\n",
    )
    .write(
        "chart/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.layered.dev}\nspec:\n  group: layered.dev\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-a-crd}\n",
    )
    .write(
        "chart/templates/seen.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seen\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  onlyDefault: {{ .Values.onlyDefault | default \"gone\" | quote }}\n  port: {{ printf \"%v %s\" .Values.port (kindOf .Values.port) | quote }}\n  tag: {{ with .Values.image }}{{ printf \"%v %s\" .tag (kindOf .tag) | quote }}{{ else }}none{{ end }}\n  nested: {{ toJson .Values.nested | quote }}\n  big: {{ .Values.big | toJson | quote }}\n  valuesFile: {{ .Files.Get \"values.yaml\" | quote }}\n  version: {{ .Chart.Version | quote }}\n",
    )
    .write(
        "chart/templates/hook.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\n  annotations: {helm.sh/hook: pre-install}\n",
    )
    .write(
        "chart/templates/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx:1.0}]}\n",
    );
    repo.commit("a chart with layered values")
}

const LAYERED_RELEASES: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: layered, namespace: flux-system}
spec:
  url: {repos}/layered
  ref: {branch: main}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: flux-system}
data:
  port: \"8080\"
---
apiVersion: v1
kind: Secret
metadata: {name: image, namespace: flux-system}
stringData:
  tag: \"'1.0'\"
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: layered, namespace: flux-system}
spec:
  targetNamespace: a
  chart:
    spec:
      chart: ./chart
      reconcileStrategy: Revision
      sourceRef: {kind: GitRepository, name: layered}
      valuesFiles: [chart/values.yaml, chart/values-prod.yaml, chart/missing.yaml]
      ignoreMissingValuesFiles: true
  valuesFrom:
    - {kind: ConfigMap, name: settings, valuesKey: port, targetPath: port}
    - {kind: Secret, name: image, valuesKey: tag, targetPath: image.tag}
  commonMetadata:
    labels: {team: blue, helm.toolkit.fluxcd.io/name: overridden}
    annotations: {owner: platform}
  postRenderers:
    - kustomize:
        images: [{name: nginx, newTag: '2.0'}]
  install: {crds: CreateReplace, createNamespace: true, disableWait: true}
  upgrade: {disableHooks: true}
  driftDetection: {mode: warn, ignore: [{paths: [/spec/replicas], target: {kind: Deployment}}]}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: replaced, namespace: flux-system}
spec:
  targetNamespace: b
  chart:
    spec:
      chart: ./chart
      sourceRef: {kind: GitRepository, name: layered}
      valuesFiles: [./chart/values-prod.yaml]
  postRenderStrategy: nohooks
  install: {crds: Skip}
  upgrade: {crds: Skip}
";

/// `data` of the ConfigMap `name` in a stream of documents.
fn config_map_data(stream: &str, name: &str) -> serde_json::Value {
    let docs = crunch::yaml::parse_stream(stream, crunch::yaml::Dialect::GoYamlV3).unwrap();
    let found = docs
        .into_iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == name);
    found.unwrap_or_else(|| panic!("no ConfigMap {name} in\n{stream}"))["data"].clone()
}

/// `helm template` of `chart` with `args`, its output.
fn helm_template(chart: &Path, args: &[&str]) -> String {
    let scratch = tempfile::tempdir().expect("scratch");
    let out = crate::support::oracle::helm()
        .env("HELM_CONFIG_HOME", scratch.path().join("config"))
        .env("HELM_CACHE_HOME", scratch.path().join("cache"))
        .env("HELM_DATA_HOME", scratch.path().join("data"))
        .args(["template", "r"])
        .arg(chart)
        .args(args)
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// source-controller packages a chart with its `valuesFiles` merged in place of its
/// values.yaml (which then holds nothing a template can read through `.Files`), and stamps
/// the version with the commit (`Revision`) and the HelmChart's generation; a
/// `targetPath` sets a value as `--set` does (`--set-string` when quoted). The same chart
/// and values through `helm template` give the same data, but for the version.
#[test]
fn values_files_and_target_paths_render_as_helm_does_with_the_same_values() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut commit = String::new();
    let setup = Setup::new(|repos| commit = layered_chart(repos));
    let out = setup
        .build("dev", LAYERED_RELEASES)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let checkout = setup.tmp.path().join("repos/layered/chart");

    let layered = object(
        &out,
        "helmrelease.flux-system.layered/a/configmap.seen.yaml",
    );
    let mut crunch_data = config_map_data(&layered, "seen");
    let version = crunch_data["version"].take();
    assert_eq!(version, format!("0.1.0+{}.1", &commit[..12]));
    let helm = helm_template(
        &checkout,
        &[
            "-f",
            &checkout.join("values-prod.yaml").display().to_string(),
            "--set",
            "port=8080",
            "--set-string",
            "image.tag=1.0",
        ],
    );
    let mut helm_data = config_map_data(&helm, "seen");
    helm_data["version"].take();
    assert_eq!(crunch_data, helm_data);
    assert_eq!(crunch_data["port"], "8080 int64");
    assert_eq!(crunch_data["tag"], "1.0 string");
    assert_eq!(crunch_data["valuesFile"], "");

    // Only the production file: the chart's own defaults are gone.
    let replaced = object(
        &out,
        "helmrelease.flux-system.replaced/b/configmap.seen.yaml",
    );
    let mut crunch_data = config_map_data(&replaced, "seen");
    assert_eq!(crunch_data["version"].take(), "0.1.0+1");
    let chart = tmp.path().join("chart");
    fs::create_dir_all(chart.join("templates")).expect("chart copy");
    for file in ["Chart.yaml", "templates/seen.yaml"] {
        fs::copy(checkout.join(file), chart.join(file)).expect("copy");
    }
    fs::copy(checkout.join("values-prod.yaml"), chart.join("values.yaml")).expect("copy");
    let mut helm_data = config_map_data(&helm_template(&chart, &[]), "seen");
    helm_data["version"].take();
    assert_eq!(crunch_data, helm_data);
    assert_eq!(crunch_data["onlyDefault"], "gone");
}

/// commonMetadata before the origin labels (which win a clash), image post-rendering, the
/// `nohooks` post-render strategy, `crds/` reduced to its CRDs, and the release settings
/// the index carries for the applier.
#[test]
fn helm_release_settings_reach_the_objects_and_the_index() {
    let setup = Setup::new(|repos| {
        layered_chart(repos);
    });
    let out = setup
        .build("dev", LAYERED_RELEASES)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    let parse = |text: String| {
        crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2).unwrap()
    };
    let web = parse(object(
        &out,
        "helmrelease.flux-system.layered/a/deployment.web.yaml",
    ));
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2.0"
    );
    let labels = &web["metadata"]["labels"];
    assert_eq!(labels["team"], "blue");
    assert_eq!(labels["helm.toolkit.fluxcd.io/name"], "layered");
    assert_eq!(web["metadata"]["annotations"]["owner"], "platform");
    // Pod templates are not metadata/labels.
    assert_eq!(
        web["spec"]["template"]["metadata"]["labels"],
        serde_json::json!({"app": "web"})
    );
    // Post-rendered hooks carry the origin labels; with `nohooks` they are as rendered.
    let hook = parse(object(
        &out,
        "helmrelease.flux-system.layered/a/configmap.hook.yaml",
    ));
    assert_eq!(
        hook["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
        "layered"
    );
    let bare = parse(object(
        &out,
        "helmrelease.flux-system.replaced/b/configmap.hook.yaml",
    ));
    assert!(bare["metadata"].get("labels").is_none(), "{bare}");
    // crds/ gives its CRD, labelled, not its ConfigMap.
    let crd = parse(object(
        &out,
        "customresourcedefinition.widgets.layered.dev.yaml",
    ));
    assert_eq!(
        crd["metadata"]["labels"]["helm.toolkit.fluxcd.io/namespace"],
        "flux-system"
    );
    let index: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    let components = index["components"].as_array().unwrap();
    let release = |id: &str| {
        components
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))["release"]
            .clone()
    };
    let layered = release("HelmRelease/flux-system/layered");
    assert_eq!(
        layered,
        serde_json::json!({
            "name": "a-layered", "namespace": "a",
            "crds": {"install": "CreateReplace", "upgrade": "Create", "names": ["widgets.layered.dev"]},
            "install": {"disableWait": true}, "upgrade": {"disableHooks": true},
            "createNamespace": true,
            "driftDetection": {"mode": "warn", "ignore": [{"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}]}
        })
    );
    assert_eq!(
        release("HelmRelease/flux-system/replaced"),
        serde_json::json!({"name": "b-replaced", "namespace": "b"})
    );
    let names = components
        .iter()
        .flat_map(|c| c["objects"].as_array().unwrap())
        .filter(|o| o["name"] == "not-a-crd")
        .count();
    assert_eq!(names, 0);
}

/// Fields crunch cannot reproduce are refused by name.
#[test]
fn helm_release_fields_crunch_cannot_reproduce_are_named() {
    let setup = Setup::new(|repos| {
        layered_chart(repos);
    });
    for (field, yaml) in [
        (
            "spec.chart and spec.chartRef",
            "  chartRef: {kind: OCIRepository, name: x}\n",
        ),
        (
            "spec.kubeConfig",
            "  kubeConfig: {secretRef: {name: remote}}\n",
        ),
        (
            "spec.upgrade.preserveValues",
            "  upgrade: {preserveValues: true}\n",
        ),
        (
            "spec.healthCheckExprs",
            "  healthCheckExprs: [{apiVersion: v1, kind: X, current: 'true'}]\n",
        ),
    ] {
        let objects = format!(
            "{}  valuesFrom: []\n{yaml}",
            LAYERED_RELEASES.split("---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: replaced").next().unwrap()
                .replace("  valuesFrom:\n    - {kind: ConfigMap, name: settings, valuesKey: port, targetPath: port}\n    - {kind: Secret, name: image, valuesKey: tag, targetPath: image.tag}\n", "")
                .replace("  upgrade: {disableHooks: true}\n", "")
        );
        let stderr = setup.build("dev", &objects).expect_err(field);
        assert!(
            stderr.contains(&format!("HelmRelease {field}")),
            "{field}: {stderr}"
        );
    }
}
