//! Flux's postBuild substitution, crunch's against an oracle built apart from it: each
//! case of `fixtures/flux/postbuild` is substituted twice, once by `crunch build` (a
//! Kustomization with `spec.postBuild` over the case, the repository being built as its
//! source) and once by real tools around `tools/flux-envsubst` (Flux's envsubst, written
//! independently in Python from fluxcd/pkg's Go), and the objects must be equal, or both
//! must fail with the same message. A property test compares the two envsubst engines on
//! random templates.
//!
//! The oracle's pipeline, step by step as kustomize-controller's `SubstituteVariables`:
//! - `kubectl kustomize` builds the case. Its output is kustomize's `ResMap.AsYaml`: every
//!   resource's `Resource.AsYAML` (its JSON through `sigs.k8s.io/yaml.JSONToYAML`) joined
//!   by `---` lines, and `AsYAML` is the very call Flux makes to print the object it
//!   substitutes (kustomize_varsub.go's `res.AsYAML()`), so each document is already the
//!   text Flux substitutes.
//! - `tools/flux-envsubst` substitutes each document not labelled or annotated
//!   `kustomize.toolkit.fluxcd.io/substitute: disabled`.
//! - Flux reads the result back with `sigs.k8s.io/yaml.YAMLToJSON` (go-yaml v2: `yes` is a
//!   boolean, `0777` an octal number) and Go's `encoding/json` into kustomize's resource
//!   (every number a float64). `kubectl kustomize` cannot stand for that reader, since
//!   kustomize reads with go-yaml v3 (`yes` stays a string). Helm's `fromYaml` is
//!   `sigs.k8s.io/yaml.Unmarshal` into `map[string]any`, which is that same YAMLToJSON and
//!   json.Unmarshal, so a chart whose template prints `.Files.Get doc | fromYaml | toJson`
//!   for every document reads them back as Flux does, errors included.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use crate::support::gitserver::TestRepo;
use crate::support::oracle;
use crate::support::world;

/// The label or annotation that keeps Flux from substituting an object, and its value.
const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// How the Kustomization's GitRepository names the repository crunch builds.
const FLEET_URL: &str = "ssh://git@github.com/example/fleet";

/// The labels kustomize-controller adds after the substitution, left out of comparisons.
const OWNER_LABELS: [&str; 2] = [
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One directory of `fixtures/flux/postbuild`.
struct Case {
    name: String,
    dir: PathBuf,
    /// `vars.json`: the variables, as Flux merges them (sources, then the inline map).
    vars: Map<String, Value>,
    /// `STRICT`: kustomize-controller's `--feature-gates=StrictPostBuildSubstitutions`.
    strict: bool,
    /// `ALWAYS`: `spec.postBuild.substituteStrategy: Always`.
    always: bool,
    /// `EXPECT_ERROR`: the message (as Flux's `varSubstitution` returns it) both must fail with.
    expect_error: Option<String>,
}

impl Case {
    fn load(dir: PathBuf) -> Case {
        let vars = fs::read_to_string(dir.join("vars.json")).expect("read vars.json");
        let vars = match serde_json::from_str(&vars).expect("vars.json is JSON") {
            Value::Object(map) => map,
            other => panic!("{}: vars.json is not an object: {other}", dir.display()),
        };
        Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            strict: dir.join("STRICT").exists(),
            always: dir.join("ALWAYS").exists(),
            expect_error: fs::read_to_string(dir.join("EXPECT_ERROR"))
                .ok()
                .map(|text| text.trim_end().to_string()),
            vars,
            dir,
        }
    }

    /// The tool's flags for this case.
    fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.strict {
            flags.push("--strict");
        }
        if self.always {
            flags.push("--always");
        }
        flags
    }
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("fixtures/flux/postbuild"))
        .expect("read the corpus")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter().map(Case::load).collect()
}

fn tool() -> Command {
    Command::new(root().join("tools/flux-envsubst"))
}

/// Runs `command` with `input` on its standard input: its standard output, or its
/// standard error when it fails.
fn run(mut command: Command, input: &[u8]) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let output = child.wait_with_output().expect("wait for the child");
    writer.join().expect("the writer").expect("write stdin");
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).expect("UTF-8 output"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr)
            .trim_end()
            .to_string())
    }
}

/// Whether Flux leaves the object printed as `document` alone.
fn disabled(document: &str) -> bool {
    let object = crunch::yaml::parse_document(document, crunch::yaml::Dialect::GoYamlV2)
        .expect("kustomize prints YAML");
    ["labels", "annotations"]
        .iter()
        .any(|field| object["metadata"][field][DISABLE_KEY] == "disabled")
}

/// The case's objects as the oracle's pipeline substitutes them (see the module's docs),
/// or Flux's message.
fn oracle_objects(case: &Case) -> Result<Vec<Value>, String> {
    let built = run(
        {
            let mut kubectl = oracle::kubectl();
            kubectl.arg("kustomize").arg(&case.dir);
            kubectl
        },
        b"",
    )
    .unwrap_or_else(|e| panic!("{}: kubectl kustomize: {e}", case.name));
    flux_substitute(&built, &case.dir.join("vars.json"), &case.flags())
}

/// `kubectl kustomize`'s output `built` as kustomize-controller's postBuild leaves it: each
/// document substituted by `tools/flux-envsubst` with the variables of `vars_file` and
/// `flags` (the ones Flux leaves alone kept as they are), read back as Flux reads it; or
/// Flux's message.
pub(crate) fn flux_substitute(
    built: &str,
    vars_file: &Path,
    flags: &[&str],
) -> Result<Vec<Value>, String> {
    let mut documents = Vec::new();
    for document in built.split("\n---\n") {
        let document = format!("{}\n", document.trim_end_matches('\n'));
        if disabled(&document) {
            documents.push(document);
            continue;
        }
        let mut envsubst = tool();
        envsubst.arg("--vars").arg(vars_file).args(flags);
        documents.push(run(envsubst, document.as_bytes())?);
    }
    read_back(&documents)
}

/// Reads each document back as `sigs.k8s.io/yaml.YAMLToJSON` and `json.Unmarshal` into
/// a map do, through Helm's `fromYaml`; Flux's message for the first that fails.
fn read_back(documents: &[String]) -> Result<Vec<Value>, String> {
    let chart = tempfile::tempdir().expect("temp dir");
    fs::create_dir_all(chart.path().join("templates")).unwrap();
    fs::create_dir_all(chart.path().join("docs")).unwrap();
    fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: read-back\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(
        chart.path().join("templates/read.yaml"),
        "{{- range $path, $_ := .Files.Glob \"docs/*.yaml\" }}\n# DOC {{ $.Files.Get $path | fromYaml | toJson }}\n{{- end }}\n",
    )
    .unwrap();
    for (i, document) in documents.iter().enumerate() {
        fs::write(chart.path().join(format!("docs/{i:04}.yaml")), document).unwrap();
    }
    let mut helm = oracle::helm();
    helm.arg("template").arg("read-back").arg(chart.path());
    let rendered = run(helm, b"").unwrap_or_else(|e| panic!("helm template: {e}"));
    let objects: Vec<Value> = rendered
        .lines()
        .filter_map(|line| line.strip_prefix("# DOC "))
        .map(|json| serde_json::from_str(json).expect("toJson prints JSON"))
        .collect();
    assert_eq!(objects.len(), documents.len(), "{rendered}");
    objects
        .into_iter()
        .map(|object| match object["Error"].as_str() {
            Some(error) => Err(flux_read_error(error)),
            None => Ok(object),
        })
        .collect()
}

/// `sigs.k8s.io/yaml.Unmarshal`'s error as Flux's `varSubstitution` and the resource's
/// `UnmarshalJSON` word it: YAMLToJSON's own error under Flux's prefix, json's under its.
fn flux_read_error(error: &str) -> String {
    if let Some(cause) = error.strip_prefix("error converting YAML to JSON: ") {
        return format!("YAMLToJSON: {cause}");
    }
    match error.find("json: ") {
        Some(at) => format!("UnmarshalJSON: {}", &error[at..]),
        None => error.to_string(),
    }
}

/// The case's objects as `crunch build` substitutes them, without the labels added after
/// the substitution, or its standard error.
fn crunch_objects(case: &Case) -> Result<Vec<Value>, String> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repos = tmp.path().join("repos");
    let mut repo = TestRepo::init(&repos, "fleet");
    let fleet = repos.join("fleet");
    world::copy_dir(&case.dir, &fleet.join("app"));
    let mut post_build = json!({"substitute": case.vars});
    if case.always {
        post_build["substituteStrategy"] = json!("Always");
    }
    let sync = [
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "flux-system", "namespace": "flux-system"},
               "spec": {"interval": "1m", "ref": {"branch": "main"}, "url": FLEET_URL}}),
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
               "metadata": {"name": "app", "namespace": "flux-system"},
               "spec": {"interval": "10m", "path": "./app", "prune": true,
                        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                        "postBuild": post_build}}),
    ]
    .iter()
    .map(|object| object.to_string())
    .collect::<Vec<_>>()
    .join("\n---\n");
    repo.write("flux/sync.yaml", &sync).write(
        "flux/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [sync.yaml]\n",
    );
    if !case.strict {
        repo.write(
            "crunch.yaml",
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nflux: {strictSubstitutions: false}\n",
        );
    }
    repo.commit("the case");
    repo.git(&[
        "remote",
        "add",
        "origin",
        "git@github.com:example/fleet.git",
    ]);
    let out = tmp.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("build")
        .arg(fleet.join("flux"))
        .arg("-o")
        .arg(&out)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .arg("--offline")
        .arg("--plaintext-secrets")
        .env("HOME", tmp.path())
        .output()
        .expect("run crunch");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut objects = Vec::new();
    for path in files(&out.join("objects")) {
        let text = fs::read_to_string(&path).expect("read an object");
        let mut object = crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV2)
            .expect("the bundle's objects are YAML");
        if object["kind"] == "Kustomization" || object["kind"] == "GitRepository" {
            continue;
        }
        let metadata = object["metadata"].as_object_mut().expect("metadata");
        if let Some(Value::Object(labels)) = metadata.get_mut("labels") {
            OWNER_LABELS.iter().for_each(|key| {
                labels.shift_remove(*key);
            });
            if labels.is_empty() {
                metadata.shift_remove("labels");
            }
        }
        objects.push(object);
    }
    Ok(objects)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Objects in a stable order: kind, namespace, name.
fn sorted(mut objects: Vec<Value>) -> Vec<Value> {
    let key = |o: &Value| {
        let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
        (
            field(&o["kind"]),
            field(&o["metadata"]["namespace"]),
            field(&o["metadata"]["name"]),
        )
    };
    objects.sort_by_key(key);
    objects
}

#[test]
fn crunch_substitutes_every_case_as_the_oracle_does() {
    let mut failures = Vec::new();
    for case in cases() {
        let expected = oracle_objects(&case);
        let actual = crunch_objects(&case);
        match (&case.expect_error, expected, actual) {
            (Some(want), Err(oracle), Err(crunch)) => {
                if oracle != *want {
                    failures.push(format!(
                        "{}: the oracle failed with {oracle:?}, EXPECT_ERROR says {want:?}",
                        case.name
                    ));
                } else if !crunch.contains(&format!("envsubst error: {oracle}")) {
                    failures.push(format!(
                        "{}: crunch failed otherwise than Flux ({oracle}):\n{crunch}",
                        case.name
                    ));
                }
            }
            (None, Ok(expected), Ok(actual)) => {
                let (expected, actual) = (sorted(expected), sorted(actual));
                if expected != actual {
                    failures.push(format!(
                        "{}: objects differ\n{}",
                        case.name,
                        crate::support::diff::unified(
                            &serde_json::to_string_pretty(&expected).unwrap(),
                            &serde_json::to_string_pretty(&actual).unwrap()
                        )
                    ));
                }
            }
            (want, expected, actual) => failures.push(format!(
                "{}: EXPECT_ERROR {want:?}, oracle {expected:?}, crunch {actual:?}",
                case.name
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The variables the random templates use: a path for the patterns, an empty one, and
/// one with multi-byte characters for the byte-wise operators.
const FUZZ_VARS: &str =
    r#"{"A": "opt/lib/app.tar.gz", "B": "", "C": "ÉtÉ ß ǅ", "D": "a$b\\c}d", "N": "-2"}"#;

/// Pieces random templates are made of: the dialect's delimiters and operators, names,
/// numbers, pattern characters and multi-byte text.
const PIECES: &[&str] = &[
    "${", "}", "$", "$$", "{", ":", "=", "-", "?", "+", "#", "%", "/", "\\", ",", "^", "A", "B",
    "C", "D", "N", "Z", "x", "1", "3", "-1", "é", "*", "[a-z]", "[!", "]", " ", "\n", "${A}",
    "${A:", "${#", "${A/", "${A//", "${A%", "${A#",
];

fn template() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..16)
        .prop_map(|pieces| pieces.concat())
}

/// What one engine made of a template: its text, non-UTF-8 bytes, or its message.
#[derive(Debug, PartialEq)]
enum Outcome {
    Text(String),
    NotUtf8,
    Error(String),
}

fn crunch_outcome(vars: &Map<String, Value>, text: &str, strict: bool) -> Outcome {
    let lookup = |name: &str| vars.get(name).and_then(Value::as_str);
    match crunch::envsubst::substitute(text, lookup, strict) {
        Ok(text) => Outcome::Text(text),
        Err(crunch::envsubst::Error::NotUtf8) => Outcome::NotUtf8,
        Err(e) => Outcome::Error(format!("variable substitution failed: {e}")),
    }
}

/// The tool's outcome for every template, in one run.
fn tool_outcomes(vars_file: &Path, templates: &[String], strict: bool) -> Vec<Outcome> {
    let mut command = tool();
    command.arg("--batch").arg(vars_file);
    if strict {
        command.arg("--strict");
    }
    let input = serde_json::to_vec(templates).unwrap();
    let output = run(command, &input).unwrap_or_else(|e| panic!("flux-envsubst --batch: {e}"));
    let results: Vec<Value> = serde_json::from_str(&output).expect("a JSON list");
    results
        .into_iter()
        .map(|result| {
            if let Some(text) = result["ok"].as_str() {
                Outcome::Text(text.to_string())
            } else if result.get("ok_bytes").is_some() {
                Outcome::NotUtf8
            } else {
                Outcome::Error(result["error"].as_str().expect("an error").to_string())
            }
        })
        .collect()
}

#[test]
fn random_templates_substitute_as_the_oracle_does() {
    let vars_dir = tempfile::tempdir().expect("temp dir");
    let vars_file = vars_dir.path().join("vars.json");
    fs::write(&vars_file, FUZZ_VARS).unwrap();
    let vars: Map<String, Value> = serde_json::from_str(FUZZ_VARS).unwrap();
    let mut runner = TestRunner::new(Config::default());
    let strategy = template();
    let templates: Vec<String> = (0..3000)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("a template")
                .current()
        })
        .collect();
    let mut failures = Vec::new();
    for strict in [false, true] {
        let expected = tool_outcomes(&vars_file, &templates, strict);
        for (text, expected) in templates.iter().zip(expected) {
            let actual = crunch_outcome(&vars, text, strict);
            if actual != expected {
                failures.push(format!(
                    "{text:?} (strict {strict}): oracle {expected:?}, crunch {actual:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        templates.len() * 2,
        failures[..failures.len().min(40)].join("\n")
    );
}
