//! The GitRepository fields that change an artifact, end to end over a real git daemon:
//! `spec.include` (other GitRepositories' artifacts moved in), `spec.sparseCheckout`
//! (go-git's directories) and `spec.recurseSubmodules` (submodules fetched through the
//! store at the commits the superproject records).

use std::fs;
use std::path::Path;

use crate::flux_graph::{Setup, object};
use crate::support::gitserver::TestRepo;

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  from: FROM\n";

fn config_map(name: &str, from: &str) -> String {
    CONFIG_MAP.replace("NAME", name).replace("FROM", from)
}

/// `apps` deploys `./deploy`, which uses `../vendor/base`: a directory only an include
/// provides. `library` has that base, a file its own `.sourceignore` drops, and docs.
fn include_repos(repos: &Path) {
    let mut apps = TestRepo::init(repos, "apps");
    apps.write(
        "deploy/kustomization.yaml",
        "resources: [../vendor/base, app.yaml]\n",
    )
    .write("deploy/app.yaml", &config_map("app", "apps"))
    // The include's parent directory may exist.
    .write("vendor/README.md", "vendored bases land here\n");
    apps.commit("apps over a vendored base");
    let mut library = TestRepo::init(repos, "library");
    library
        .write("base/kustomization.yaml", "resources: [lib.yaml]\n")
        .write("base/lib.yaml", &config_map("lib", "library"))
        .write("extra/kept.yaml", &config_map("kept", "library"))
        .write("extra/dropped.yaml", &config_map("dropped", "library"))
        .write(".sourceignore", "extra/dropped.yaml\n");
    library.commit("a base");
}

const INCLUDING: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 1m
  timeout: 60s
  url: {repos}/apps
  ref: {branch: main}
  include:
    - repository: {name: library}
      fromPath: base
      toPath: vendor/base
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  sourceRef: {kind: GitRepository, name: apps}
  path: ./deploy
  prune: true
";

const LIBRARY: &str = "\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: library, namespace: flux-system}
spec:
  interval: 1m
  url: {repos}/library
  ref: {branch: main}
";

#[test]
fn an_included_artifact_lands_at_its_path() {
    let setup = Setup::new(include_repos);
    let out = setup
        .build("dev", &format!("{INCLUDING}{LIBRARY}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.lib.yaml").contains("from: library"));
    assert!(object(&out, "configmap.app.yaml").contains("from: apps"));
}

#[test]
fn an_include_waits_for_its_gitrepository_and_fails_when_it_never_comes() {
    let setup = Setup::new(include_repos);
    let Err(stderr) = setup.build("dev", INCLUDING) else {
        panic!("built without the included GitRepository");
    };
    assert!(
        stderr.contains("never becomes ready: missing GitRepository flux-system/library"),
        "{stderr}"
    );
}

#[test]
fn an_included_artifact_keeps_its_own_exclusions() {
    let setup = Setup::new(include_repos);
    // Flux generates a kustomization of every manifest under `./extra`: the library's
    // `.sourceignore` left `dropped.yaml` out of its artifact, so out of this one too.
    let objects = format!("{INCLUDING}{LIBRARY}")
        .replace(
            "fromPath: base\n      toPath: vendor/base",
            "fromPath: extra\n      toPath: extra",
        )
        .replace("  path: ./deploy\n", "  path: ./extra\n");
    let out = setup
        .build("dev", &objects)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.kept.yaml").contains("from: library"));
    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    assert!(!index.contains("dropped"), "{index}");
}

#[test]
fn includes_that_form_a_cycle_are_an_error() {
    let setup = Setup::new(include_repos);
    let cyclic = LIBRARY.replace(
        "  ref: {branch: main}\n",
        "  ref: {branch: main}\n  include: [{repository: {name: apps}}]\n",
    );
    let Err(stderr) = setup.build("dev", &format!("{INCLUDING}{cyclic}")) else {
        panic!("built a cycle of includes");
    };
    assert!(
        stderr.contains(
            "spec.include cycle: GitRepository flux-system/apps → GitRepository flux-system/library → GitRepository flux-system/apps"
        ),
        "{stderr}"
    );
}

/// Two directories and a file whose name starts like one of them.
fn monorepo(repos: &Path) {
    let mut repo = TestRepo::init(repos, "mono");
    repo.write("apps/kustomization.yaml", "resources: [app.yaml]\n")
        .write("apps/app.yaml", &config_map("app", "apps"))
        .write("apps.yaml", &config_map("prefix", "go-git"))
        .write("infra/kustomization.yaml", "resources: [infra.yaml]\n")
        .write("infra/infra.yaml", &config_map("infra", "infra"));
    repo.commit("two directories");
}

const SPARSE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: mono, namespace: flux-system}
spec:
  url: {repos}/mono
  ref: {branch: main}
  sparseCheckout: [./apps]
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: mono, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: mono}
  path: PATH
";

#[test]
fn a_sparse_checkout_has_only_its_directories() {
    let setup = Setup::new(monorepo);
    // Flux's generated kustomization of the root lists every manifest it finds: the
    // sparse checkout's directory and, as go-git matches by prefix, `apps.yaml`.
    let out = setup
        .build("dev", &SPARSE.replace("PATH", "./"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.app.yaml").contains("from: apps"));
    assert!(object(&out, "configmap.prefix.yaml").contains("from: go-git"));
    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    assert!(!index.contains("infra"), "{index}");

    let Err(stderr) = setup.build("dev", &SPARSE.replace("PATH", "./infra")) else {
        panic!("built a directory the sparse checkout leaves out");
    };
    assert!(stderr.contains("./infra is not a directory"), "{stderr}");

    let missing = SPARSE.replace("[./apps]", "[./apps, nowhere]");
    let Err(stderr) = setup.build("dev", &missing.replace("PATH", "./apps")) else {
        panic!("a sparse checkout of a missing directory built");
    };
    assert!(
        stderr.contains("sparse checkout dir 'nowhere' does not exist in repository"),
        "{stderr}"
    );
}

#[test]
fn unknown_gitrepository_fields_are_refused_by_name() {
    let setup = Setup::new(monorepo);
    let typo = SPARSE
        .replace("  sparseCheckout: [./apps]\n", "  recurseSubmodule: true\n")
        .replace("PATH", "./apps");
    let Err(stderr) = setup.build("dev", &typo) else {
        panic!("built with an unknown field");
    };
    assert!(
        stderr.contains("unknown field `recurseSubmodule`"),
        "{stderr}"
    );
    let tags = SPARSE
        .replace(
            "  sparseCheckout: [./apps]\n",
            "  verify: {mode: Tag, secretRef: {name: keys}}\n",
        )
        .replace("PATH", "./apps");
    let Err(stderr) = setup.build("dev", &tags) else {
        panic!("built without verifying the tag");
    };
    assert!(
        stderr.contains("GitRepository spec.verify.mode Tag is not supported yet"),
        "{stderr}"
    );
}

/// The test keys (public, see fixtures/sops/keys/README.md).
fn test_key(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sops/keys")
        .join(file)
}

/// `signed` has its commit signed by the test key `pgp` (through gpg, as `git commit -S`
/// signs), `unsigned` has none.
fn signed_repos(repos: &Path) {
    let gnupg = repos.join("../gnupg");
    fs::create_dir_all(&gnupg).expect("mkdir");
    let gpg = |args: &[&str]| {
        let status = std::process::Command::new("gpg")
            .arg("--batch")
            .arg("--homedir")
            .arg(&gnupg)
            .args(args)
            .output()
            .expect("run gpg");
        assert!(
            status.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    };
    gpg(&["--import", test_key("pgp.asc").to_str().expect("UTF-8")]);
    let fingerprint = fs::read_to_string(test_key("pgp.fpr")).expect("fingerprint");
    for name in ["signed", "unsigned"] {
        let mut repo = TestRepo::init(repos, name);
        repo.write("app/kustomization.yaml", "resources: [app.yaml]\n")
            .write("app/app.yaml", &config_map("app", name));
        repo.commit("an app");
        if name == "signed" {
            let status = std::process::Command::new("git")
                .current_dir(repos.join(name))
                .env("GNUPGHOME", &gnupg)
                .env("GIT_COMMITTER_DATE", "1600000000 +0000")
                .args([
                    "-c",
                    "user.name=crunch",
                    "-c",
                    "user.email=crunch@example.com",
                ])
                .args(["-c", &format!("user.signingkey={}", fingerprint.trim())])
                .args(["commit", "--quiet", "--amend", "--no-edit", "-S"])
                .output()
                .expect("run git");
            assert!(
                status.status.success(),
                "{}",
                String::from_utf8_lossy(&status.stderr)
            );
        }
    }
}

fn verified(name: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: {name}, namespace: flux-system}}
spec:
  url: {{repos}}/{name}
  ref: {{branch: main}}
  verify: {{mode: HEAD, secretRef: {{name: team-keys}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: {name}}}
  path: ./app
"
    )
}

#[test]
fn commits_are_verified_with_the_keys_the_secret_stands_for() {
    let setup = Setup::new(signed_repos);
    let Err(stderr) = setup.build("dev", &verified("signed")) else {
        panic!("verified without keys");
    };
    assert!(
        stderr.contains("spec.verify names Secret team-keys: map it to public key files in crunch.yaml under verify.secrets.team-keys"),
        "{stderr}"
    );
    let config = |key: &str| {
        let text = format!(
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nverify:\n  secrets:\n    team-keys: [{}]\n",
            test_key(key).display()
        );
        fs::write(setup.customer().join("crunch.yaml"), text).expect("write crunch.yaml");
    };
    config("pgp.pub.asc");
    let out = setup
        .build("dev", &verified("signed"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.app.yaml").contains("from: signed"));
    let Err(stderr) = setup.build("dev", &verified("unsigned")) else {
        panic!("built an unsigned commit");
    };
    assert!(
        stderr.contains("GitRepository flux-system/unsigned")
            && stderr.contains("cannot be verified: it is not signed"),
        "{stderr}"
    );
    config("pgp-other.pub.asc");
    let Err(stderr) = setup.build("dev", &verified("signed")) else {
        panic!("verified with the wrong key");
    };
    assert!(
        stderr.contains(
            "no key verifies its signature; tried: B376826CDB75CBA2A740A61AD8F179EAB4E34602"
        ),
        "{stderr}"
    );
}

/// `super` has `lib` as a submodule at `vendor/lib` by a relative URL, and `lib` has
/// `leaf` as its own submodule at `leaf`. Each repository is committed before its
/// superproject records it; `lib` moves on after being recorded, so the recorded commit
/// is not its branch's.
fn submodule_repos(repos: &Path) {
    let mut leaf = TestRepo::init(repos, "leaf");
    leaf.write("leaf.yaml", &config_map("leaf", "leaf"));
    leaf.commit("a leaf");
    let mut lib = TestRepo::init(repos, "lib");
    lib.write(
        "kustomization.yaml",
        "resources: [lib.yaml, leaf/leaf.yaml]\n",
    )
    .write("lib.yaml", &config_map("lib", "recorded"));
    add_submodule(&lib, repos, "leaf", "leaf", "../leaf");
    lib.commit("a library with a leaf");
    let mut superproject = TestRepo::init(repos, "super");
    superproject.write("deploy/kustomization.yaml", "resources: [../vendor/lib]\n");
    add_submodule(&superproject, repos, "lib", "vendor/lib", "../lib");
    superproject.commit("a superproject");
    lib.write("lib.yaml", &config_map("lib", "moved on"));
    lib.commit("after the superproject recorded it");
}

/// Adds the repository `name` under `repos` as a submodule at `path`, recorded with `url`.
fn add_submodule(repo: &TestRepo, repos: &Path, name: &str, path: &str, url: &str) {
    let source = repos.join(name);
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "--quiet",
        "add",
        "--name",
        name,
        &source.to_string_lossy(),
        path,
    ]);
    repo.git(&[
        "config",
        "-f",
        ".gitmodules",
        &format!("submodule.{name}.url"),
        url,
    ]);
}

const RECURSIVE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: super, namespace: flux-system}
spec:
  url: {repos}/super
  ref: {branch: main}
  recurseSubmodules: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: super, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: super}
  path: ./deploy
";

#[test]
fn submodules_are_checked_out_recursively_at_the_recorded_commits() {
    let setup = Setup::new(submodule_repos);
    let out = setup
        .build("dev", RECURSIVE)
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.lib.yaml").contains("from: recorded"));
    assert!(object(&out, "configmap.leaf.yaml").contains("from: leaf"));
    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    let index: serde_json::Value = serde_json::from_str(&index).expect("the index is JSON");
    let urls: Vec<&str> = index["sources"]
        .as_array()
        .map(|sources| sources.iter().filter_map(|s| s["url"].as_str()).collect())
        .unwrap_or_default();
    for name in ["super", "lib", "leaf"] {
        assert!(
            urls.iter().any(|url| url.ends_with(&format!("/{name}"))),
            "{name} not among the sources {urls:?}"
        );
    }

    // Without recursion the gitlinks are empty directories: nothing to build.
    let plain = RECURSIVE.replace("  recurseSubmodules: true\n", "");
    let Err(stderr) = setup.build("plain", &plain) else {
        panic!("built a submodule that was not checked out");
    };
    assert!(stderr.contains("vendor/lib"), "{stderr}");
}

/// Flux's own example layout (fluxcd/flux2-kustomize-helm-example): an ArtifactGenerator
/// composes artifacts of a monorepo's directories, Kustomizations read them as
/// ExternalArtifacts.
const GENERATED: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: monorepo, namespace: flux-system}
spec:
  interval: 1m
  url: {repos}/apps
  ref: {branch: main}
---
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: composed, namespace: flux-system}
spec:
  sources:
    - {alias: mono, kind: GitRepository, name: monorepo}
    - {alias: lib, kind: GitRepository, name: library}
  artifacts:
    - name: app
      originRevision: '@mono'
      copy:
        - {from: '@mono/deploy/**', to: '@artifact/deploy/'}
        - {from: '@lib/base/**', to: '@artifact/vendor/base/'}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  interval: 10m
  sourceRef: {kind: ExternalArtifact, name: app}
  path: ./deploy
  prune: true
";

#[test]
fn an_artifact_generator_composes_what_a_kustomization_builds() {
    let setup = Setup::new(include_repos);
    // deploy's files under deploy/ and the library's base under vendor/base/: the
    // kustomization in deploy/ finds its `../vendor/base` in the generated artifact.
    let out = setup
        .build("dev", &format!("{GENERATED}{LIBRARY}"))
        .unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(object(&out, "configmap.lib.yaml").contains("from: library"));
    assert!(object(&out, "configmap.app.yaml").contains("from: apps"));
    let index = fs::read_to_string(out.join("index.json")).expect("read the index");
    assert!(index.contains("\"kind\": \"ArtifactGenerator\""), "{index}");
}

#[test]
fn an_external_artifact_nothing_generates_never_becomes_ready() {
    let setup = Setup::new(include_repos);
    let objects = GENERATED.replace(
        "sourceRef: {kind: ExternalArtifact, name: app}",
        "sourceRef: {kind: ExternalArtifact, name: other}",
    );
    let Err(stderr) = setup.build("dev", &format!("{objects}{LIBRARY}")) else {
        panic!("built from an artifact nothing generates");
    };
    assert!(
        stderr.contains("ExternalArtifact flux-system/other not found: no ArtifactGenerator of namespace flux-system generates it"),
        "{stderr}"
    );
}
