//! `crunch build` end to end on the miniature Big Bang world, served by real git servers.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::world::{World, bundle_text, changed_files, enclave_identity};

#[test]
fn dev_and_prod_bundles() {
    let world = World::new();
    let servers = world.serve();
    for env in ["dev", "prod"] {
        let run = world.build(env, &servers.git_mirror(), &[]);
        assert!(run.ok(), "{env}: {}", run.stderr);
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("build_{env}_bundle"), bundle_text(&run.out));
        });
    }
}

#[test]
fn rebuilds_are_byte_identical() {
    let world = World::new();
    let servers = world.serve();
    let first = world.build("dev", &servers.git_mirror(), &[]);
    assert!(first.ok(), "{}", first.stderr);
    let warm = world.build("dev", &servers.git_mirror(), &[]);
    let one_thread = world.build("dev", &servers.git_mirror(), &[("RAYON_NUM_THREADS", "1")]);
    let elsewhere = World::new();
    let fresh_cache = elsewhere.build("dev", &servers.git_mirror(), &[]);
    for other in [&warm, &one_thread, &fresh_cache] {
        assert!(other.ok(), "{}", other.stderr);
        assert_eq!(first.digest(), other.digest());
        assert_eq!(bundle_text(&first.out), bundle_text(&other.out));
    }
}

#[test]
fn changing_one_component_tag_changes_only_that_component() {
    let world = World::new();
    let servers = world.serve();
    let before = world.build("dev", &servers.git_mirror(), &[]);
    assert!(before.ok(), "{}", before.stderr);
    let values = world.customer.join("dev/configmap.yaml");
    let text = fs::read_to_string(&values).unwrap();
    let pinned = text.replacen("logging:\n", "logging:\n  git:\n    tag: 1.0.0-bb.0\n", 1);
    assert_ne!(text, pinned);
    fs::write(&values, pinned).unwrap();
    let after = world.build("dev", &servers.git_mirror(), &[]);
    assert!(after.ok(), "{}", after.stderr);
    let changed = changed_files(&before.out, &after.out);
    let outside: Vec<&String> = changed
        .iter()
        .filter(|path| {
            !path.starts_with("objects/helmrelease.bigbang.logging/")
                && path.as_str() != "index.json"
                && path.as_str() != "digest"
                && !path.contains("logging")
        })
        .filter(|path| !is_environment_values(path))
        .collect();
    assert!(outside.is_empty(), "changed outside logging: {outside:?}");
    assert!(
        changed
            .iter()
            .any(|p| p.starts_with("objects/helmrelease.bigbang.logging/")),
        "logging's own objects did not change: {changed:?}"
    );
    let same = crunch_diff(&before.out, &before.out);
    assert_eq!(
        (same.status.code(), same.stdout.as_slice()),
        (Some(0), &b""[..])
    );
    let diff = crunch_diff(&before.out, &after.out);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("diff_logging_tag", String::from_utf8_lossy(&diff.stdout));
    });

    // On a terminal the diff is coloured, unless NO_COLOR says otherwise.
    let mut on_tty = Command::new(env!("CARGO_BIN_EXE_crunch"));
    on_tty.arg("diff").args([&before.out, &after.out]);
    let coloured = on_terminal(on_tty.env_remove("NO_COLOR"));
    assert!(
        coloured.contains("\x1b[31m-    tag: 1.1.0-bb.0"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\x1b[32m+    tag: 1.0.0-bb.0"),
        "{coloured}"
    );
    let plain = on_terminal(on_tty.env("NO_COLOR", "1"));
    assert_eq!(
        plain.replace("\r\n", "\n"),
        String::from_utf8_lossy(&diff.stdout)
    );
}

/// Runs `command` with a pseudo-terminal for its standard input, output and error
/// (util-linux `script`) and returns everything the terminal was sent. `TERM` is `xterm`
/// unless `command` sets it.
fn on_terminal(command: &mut Command) -> String {
    let quote =
        |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', "'\\''"));
    let line: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect();
    let mut script = Command::new("script");
    script
        .args(["--quiet", "--return", "--command"])
        .arg(line.join(" "))
        .arg("/dev/null")
        .env("TERM", "xterm");
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    let output = script.output().expect("util-linux script runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether `text` holds an SGR escape sequence (colour, bold, dim…); cursor movements
/// and line erasing are not colour.
fn has_colour(text: &str) -> bool {
    regex::Regex::new("\x1b\\[[0-9;]*m").unwrap().is_match(text)
}

/// `-v` without a terminal: one line per source fetched and component rendered. Nodes of
/// one wave finish in any order, so the lines are sorted; times are redacted. Without
/// `-v`, or with `-q`, a build off a terminal says nothing on standard error.
#[test]
fn verbose_lines_without_a_terminal() {
    let world = World::new();
    let servers = world.serve();
    let verbose = world.build_with("dev", &servers.git_mirror(), &[], &["-v"]);
    assert!(verbose.ok(), "{}", verbose.stderr);
    let times = regex::Regex::new(r"\(\d+\.\d\d s\)").unwrap();
    let mut lines: Vec<String> = verbose
        .stderr
        .lines()
        .map(|line| times.replace(line, "([SECONDS] s)").into_owned())
        .collect();
    assert_eq!(lines.last().unwrap(), "wrote the bundle ([SECONDS] s)");
    lines.sort();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("build_verbose", lines.join("\n"));
    });
    for args in [&[][..], &["--quiet"]] {
        let run = world.build_with("dev", &servers.git_mirror(), &[], args);
        assert!(run.ok(), "{}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?}");
    }
}

/// On a terminal: live counts of sources fetched and components rendered, coloured unless
/// NO_COLOR is set (and not empty), cleared at the end for the summary; nothing with `-q`.
#[test]
fn progress_on_a_terminal() {
    let world = World::new();
    let servers = world.serve();
    let mirror = servers.git_mirror();
    let show = |vars: &[(&str, &str)], args: &[&str]| {
        let (mut command, out) = world.command("dev", &mirror, args, &world.cache);
        command.env_remove("NO_COLOR").envs(vars.iter().copied());
        let shown = on_terminal(&mut command);
        assert!(out.join("digest").is_file(), "{shown}");
        shown
    };
    let live = show(&[], &[]);
    for counts in ["fetched 5/5 sources", "rendered 5/5 components"] {
        assert!(live.contains(counts), "{live}");
    }
    assert!(has_colour(&live), "{live}");
    assert!(live.contains("wrote "), "{live}");
    let plain = show(&[("NO_COLOR", "1")], &[]);
    assert!(plain.contains("rendered 5/5 components"), "{plain}");
    assert!(!has_colour(&plain), "{plain:?}");
    // A dumb terminal gets no colour (nor, from indicatif, cursor movements).
    assert!(!has_colour(&show(&[("TERM", "dumb")], &[])));
    // NO_COLOR set but empty does not count.
    assert!(has_colour(&show(&[("NO_COLOR", "")], &[])));
    let quiet = show(&[], &["-q"]);
    assert!(!quiet.contains("rendered"), "{quiet}");
    assert!(!quiet.contains('\x1b'), "{quiet:?}");
}

/// `--output json`: the report on standard output, its times redacted.
#[test]
fn json_report() {
    let world = World::new();
    let servers = world.serve();
    let run = world.build_with("dev", &servers.git_mirror(), &[], &["--output", "json"]);
    assert!(run.ok(), "{}", run.stderr);
    let mut report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["digest"], run.digest().trim_end());
    let timings = report["timings"].as_object_mut().unwrap();
    for phase in ["load", "render", "write", "total"] {
        let seconds = timings[phase].as_f64().unwrap();
        assert!(seconds >= 0.0, "{phase}: {seconds}");
        timings[phase] = "[SECONDS]".into();
    }
    let text = serde_json::to_string_pretty(&report).unwrap();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("build_json_report", world.scrub(&text));
    });
}

/// `crunch diff OLD NEW`.
fn crunch_diff(old: &Path, new: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("diff")
        .args([old, new])
        .output()
        .expect("crunch runs")
}

/// The customer's generated `environment` ConfigMap (its content and hashed name) and the
/// umbrella HelmRelease that points at it change with any customer value.
fn is_environment_values(path: &str) -> bool {
    path.starts_with("objects/dev/bigbang/configmap.environment-")
        || path == "objects/dev/bigbang/helmrelease.bigbang.yaml"
}

/// The bigbang GitRepository's `spec.ignore` (`/**/*.md`, `*.txt`, `*.sh`) shapes the
/// artifact its HelmRelease renders from; the checkout itself keeps every file.
#[test]
fn the_umbrella_renders_from_its_filtered_artifact() {
    let world = World::new();
    let servers = world.serve();
    let run = world.build("dev", &servers.git_mirror(), &[]);
    assert!(run.ok(), "{}", run.stderr);
    let index = fs::read_to_string(run.out.join("index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let tree = index["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reference"] == "tag 3.1.0")
        .unwrap()["tree"]
        .as_str()
        .unwrap()
        .to_string();
    let checkout = world.cache.join("trees").join(tree);
    assert!(checkout.join("README.md").is_file());
    assert!(checkout.join("docs/upgrade-notes.txt").is_file());
    let artifacts: Vec<PathBuf> = fs::read_dir(world.cache.join("artifacts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("base/gitrepository.yaml").is_file())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let artifact = &artifacts[0];
    assert!(artifact.join("chart/Chart.yaml").is_file());
    assert!(!artifact.join("README.md").exists());
    assert!(!artifact.join("docs/upgrade-notes.txt").exists());
}

#[test]
fn offline_rebuild_needs_only_lock_and_cache() {
    let world = World::new();
    let mirror = {
        let servers = world.serve();
        let online = world.build("dev", &servers.git_mirror(), &[]);
        assert!(online.ok(), "{}", online.stderr);
        (servers.git_mirror(), online.digest())
    };
    let offline = world.build_with("dev", &mirror.0, &[], &["--offline"]);
    assert!(offline.ok(), "{}", offline.stderr);
    assert_eq!(offline.digest(), mirror.1);

    let empty_cache = world.tmp.path().join("empty-cache");
    let failed = world.run("dev", &mirror.0, &[], &["--offline"], &empty_cache);
    assert!(!failed.ok());
    assert!(
        !failed.out.join("digest").exists(),
        "a failed build left a bundle"
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("build_error_offline_without_cache", world.scrub(&failed.stderr));
    });
}

#[test]
fn https_with_basic_auth_and_a_test_ca() {
    let world = World::new();
    let servers = world.serve();
    let https = world.build_with(
        "dev",
        &servers.https_mirror(),
        &[("GIT_SSL_CAINFO", servers.ca_file().to_str().unwrap())],
        &[],
    );
    assert!(https.ok(), "{}", https.stderr);
    let git = world.build("dev", &servers.git_mirror(), &[]);
    assert_eq!(https.digest(), git.digest());
}

/// Each error case: what to change in a fresh copy of the customer repo, and the snapshot.
#[test]
fn errors_name_the_chain() {
    type Edit = fn(&Path);
    let cases: BTreeMap<&str, Edit> = BTreeMap::from([
        (
            "bad_ref",
            (|c: &Path| replace(c, "base/kustomization.yaml", "?ref=3.1.0", "?ref=9.9.9")) as Edit,
        ),
        ("missing_repo", |c| {
            replace(
                c,
                "dev/configmap.yaml",
                "logging:\n",
                "logging:\n  git:\n    repo: https://repo1.example.mil/big-bang/packages/nope.git\n",
            )
        }),
        ("malformed_yaml", |c| {
            fs::write(
                c.join("dev/configmap.yaml"),
                "haproxy:\n  enabled: true\n   values: [\n",
            )
            .unwrap()
        }),
        ("template_error", |c| {
            replace(
                c,
                "dev/configmap.yaml",
                "haproxy:\n",
                "istio:\n  enabled: true\nhaproxy:\n",
            )
        }),
        ("dependency_cycle", |c| {
            replace(
                c,
                "dev/configmap.yaml",
                "monitoring:\n",
                "monitoring:\n  flux:\n    dependsOn:\n      - name: logging\n        namespace: bigbang\n",
            )
        }),
    ]);
    let world = World::new();
    let servers = world.serve();
    let mut report = String::new();
    for (name, edit) in cases {
        let case = World::new();
        edit(&case.customer);
        let run = case.build("dev", &servers.git_mirror(), &[]);
        assert!(!run.ok(), "{name} built");
        assert!(!run.out.join("digest").exists(), "{name} left a bundle");
        report.push_str(&format!("== {name}\n{}\n", case.scrub(&run.stderr)));
    }
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("build_errors", report);
    });
}

fn replace(customer: &Path, file: &str, from: &str, to: &str) {
    let path = customer.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_cli_rejects_a_missing_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(["build", "/nonexistent/env", "-o"])
        .arg(PathBuf::from("/tmp/crunch-never-written"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: /nonexistent/env does not exist\n"
    );
}

/// The fixture's crunch.yaml as crunch.jsonnet (the cluster profile read through
/// `std.parseYaml`, whose `[a, b]` flow list go-yaml v2 reads as YAML does).
const CRUNCH_JSONNET: &str = "\
local env(seed) = { seed: seed };
local sops(secret) = { provider: 'sops', secretRef: { name: secret } };
{
  apiVersion: 'crunch.dev/v1alpha1',
  kind: 'Config',
  mirrors: [{ from: 'https://repo1.example.mil/', to: '../../../.cache/world/' }],
  cluster: std.parseYaml(|||
    kubeVersion: v1.28.15
    apiVersions: [monitoring.coreos.com/v1, monitoring.coreos.com/v1/ServiceMonitor]
  |||),
  seed: 'world',
  secrets: { recipients: ['age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c'] },
  decryption: sops('sops-gpg'),
  sops: { secrets: { 'sops-gpg': { pgp: ['../keys/pgp.asc'] }, 'sops-age': { age: ['../keys/age.key'] } } },
  environments: { dev: { decryption: sops('sops-age') }, prod: env('world-prod') },
}
";

/// A crunch.jsonnet equivalent to crunch.yaml builds the same bundles, found by the same
/// upward lookup; an error in it names its file and line.
#[test]
fn jsonnet_config() {
    let world = World::new();
    let servers = world.serve();
    let from_yaml: Vec<String> = ["dev", "prod"]
        .map(|env| world.build(env, &servers.git_mirror(), &[]).digest())
        .to_vec();
    fs::remove_file(world.customer.join("crunch.yaml")).unwrap();
    fs::write(world.customer.join("crunch.jsonnet"), CRUNCH_JSONNET).unwrap();
    for (env, digest) in ["dev", "prod"].into_iter().zip(&from_yaml) {
        let run = world.build(env, &servers.git_mirror(), &[]);
        assert!(run.ok(), "{env}: {}", run.stderr);
        assert_eq!(&run.digest(), digest, "{env}");
    }
    fs::write(
        world.customer.join("crunch.jsonnet"),
        CRUNCH_JSONNET.replace("seed: 'world',", "seed: std.parseYaml('a: [').a,"),
    )
    .unwrap();
    let failed = world.build("dev", &servers.git_mirror(), &[]);
    assert!(!failed.ok());
    assert_eq!(
        world.scrub(&failed.stderr),
        "error: [TMP]/customer/crunch.jsonnet:11:9: std.parseYaml: yaml: line 1: did not find expected node content\n"
    );
}

/// `crunch verify BUNDLE` with `args`: its exit code, standard output and error.
fn crunch_verify(bundle: &Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("verify")
        .arg(bundle)
        .args(args)
        .output()
        .expect("crunch runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The world's bundles are sealed for the fixture enclave: `crunch verify` says so, opens
/// every value with the enclave's identity, and refuses a sealed bundle whose key file
/// is gone.
#[test]
fn sealed_bundles_verify_and_open_with_the_enclave_identity() {
    let world = World::new();
    let servers = world.serve();
    let run = world.build("dev", &servers.git_mirror(), &[]);
    assert!(run.ok(), "{}", run.stderr);
    let identity = enclave_identity();
    let with_identity = ["--identity".as_ref(), identity.as_os_str()];
    let (code, text, stderr) = crunch_verify(&run.out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, opened, stderr) = crunch_verify(&run.out, &with_identity);
    assert_eq!(code, Some(0), "{stderr}");
    let json_args = [&with_identity[..], &["--output".as_ref(), "json".as_ref()]].concat();
    let (code, json, stderr) = crunch_verify(&run.out, &json_args);
    assert_eq!(code, Some(0), "{stderr}");
    fs::remove_file(run.out.join(crunch::seal::KEY_FILE)).unwrap();
    let (code, _, missing) = crunch_verify(&run.out, &[]);
    assert_eq!(code, Some(i32::from(crunch::apply::EXIT_VERIFICATION)));
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("verify_sealed", world.scrub(&text));
        insta::assert_snapshot!("verify_sealed_with_identity", world.scrub(&opened));
        insta::assert_snapshot!("verify_sealed_json", world.scrub(&json));
        insta::assert_snapshot!("verify_sealed_without_key_file", world.scrub(&missing));
    });
}

/// Without recipients a build with Secret values is refused before anything is written,
/// naming both ways out; `--plaintext-secrets` is the explicit one, and verify says so.
#[test]
fn plaintext_secrets_must_be_asked_for() {
    let world = World::new();
    let servers = world.serve();
    replace(
        &world.customer,
        "crunch.yaml",
        "secrets:\n  recipients: [age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c]\n",
        "",
    );
    let refused = world.build("dev", &servers.git_mirror(), &[]);
    assert!(!refused.ok());
    assert!(!refused.out.exists(), "nothing was written");
    let plain = world.build_with("dev", &servers.git_mirror(), &[], &["--plaintext-secrets"]);
    assert!(plain.ok(), "{}", plain.stderr);
    assert!(!plain.out.join(crunch::seal::KEY_FILE).exists());
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(plain.out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["sealing"], serde_json::Value::Null);
    assert!(
        index["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["values"] == "plaintext"),
        "{index}"
    );
    let (code, text, stderr) = crunch_verify(&plain.out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("build_refuses_plaintext_secrets", world.scrub(&refused.stderr));
        insta::assert_snapshot!("verify_plaintext", world.scrub(&text));
    });
}

/// A changed value keeps the sealing key (it derives from the SOPS files' data keys), and
/// `crunch diff` shows, through the Secrets' reviews, which value paths changed, while no
/// value that came from a SOPS file shows anywhere.
#[test]
fn reviews_show_which_secret_value_paths_changed_but_no_decrypted_value() {
    let world = World::new();
    let servers = world.serve();
    let before = world.build("dev", &servers.git_mirror(), &[]);
    assert!(before.ok(), "{}", before.stderr);
    // A plaintext value that reaches the logging package through its values Secret.
    replace(
        &world.customer,
        "dev/configmap.yaml",
        "size: 2Gi",
        "size: 5Gi",
    );
    let after = world.build("dev", &servers.git_mirror(), &[]);
    assert!(after.ok(), "{}", after.stderr);
    let key_id = |out: &Path| -> serde_json::Value {
        let index: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
        index["sealing"]["keyId"].clone()
    };
    assert_eq!(key_id(&before.out), key_id(&after.out));
    let diff = crunch_diff(&before.out, &after.out);
    assert_eq!(diff.status.code(), Some(1));
    let text = String::from_utf8_lossy(&diff.stdout);
    for plaintext in [
        "dev-password",
        "robot$dev",
        "logging-dev",
        "dev-logging-password",
        "registry1.example.mil",
    ] {
        assert!(!text.contains(plaintext), "{plaintext} shows in:\n{text}");
    }
    assert!(
        text.contains("-      size: 2Gi\n+      size: 5Gi"),
        "{text}"
    );
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("diff_secret_review", text);
    });
}
