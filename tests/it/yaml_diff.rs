//! Differential tests of crunch's YAML layer against the real tools.
//!
//! Cases live in `fixtures/yaml/cases.yaml`: each is a YAML document whose key `x` holds the
//! value under test. Helm reads every case (as `sigs.k8s.io/yaml` reads values) and prints it
//! with `toYaml`, `toJson`, `toPrettyJson` and `toRawJson` in one `helm template` run;
//! kustomize round-trips each case as a ConfigMap's data in one `kubectl kustomize` run.
//! Whole multi-document resource files (`kustomize_streams`) go to kustomize as they are;
//! files ending without a line break (`file_ends`) go to Helm as values files and to
//! kustomize as resource files, their last line still without one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crunch::yaml::{self, Dialect, JsonStyle, Value};

use crate::support::oracle;

struct Cases {
    /// Case name to the YAML document text.
    all: BTreeMap<String, String>,
    /// Inputs Helm rejects, by name.
    errors: BTreeMap<String, String>,
    /// Inputs kustomize rejects, by name.
    kustomize_errors: BTreeMap<String, String>,
    /// Cases kustomize cannot take (non-string keys, duplicates, several documents).
    helm_only: Vec<String>,
    /// Whole multi-document resource files for kustomize, by name.
    kustomize_streams: BTreeMap<String, String>,
    /// Whole files whose last line has no line break, by name.
    file_ends: BTreeMap<String, String>,
}

fn load_cases() -> Cases {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/yaml/cases.yaml");
    let text = fs::read_to_string(&path).expect("fixtures/yaml/cases.yaml is readable");
    let doc = yaml::parse_document(&text, Dialect::GoYamlV3).expect("cases.yaml parses");
    let table = |key: &str| -> BTreeMap<String, String> {
        doc[key]
            .as_object()
            .expect("a mapping of cases")
            .iter()
            .map(|(name, body)| (name.clone(), body.as_str().expect("a string").to_owned()))
            .collect()
    };
    let all = table("cases");
    let errors = table("errors");
    let kustomize_errors = table("kustomize_errors");
    let kustomize_streams = table("kustomize_streams");
    let file_ends = table("file_ends");
    let helm_only = doc["helm_only"]
        .as_array()
        .expect("helm_only is a list")
        .iter()
        .map(|n| n.as_str().expect("name").to_owned())
        .collect();
    Cases {
        all,
        errors,
        kustomize_errors,
        helm_only,
        kustomize_streams,
        file_ends,
    }
}

/// Helm's values rule: every number becomes a float64 after the JSON round trip.
fn helm_numbers(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(helm_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), helm_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

const TEMPLATE: &str = r#"{{- range $path, $_ := .Files.Glob "cases/*.yaml" }}
#### case {{ base $path | trimSuffix ".yaml" }}
{{- $v := $.Files.Get $path | fromYaml }}
{{- if $v.Error }}
#### error
{{ $v.Error }}
{{- else }}
#### yaml
{{ toYaml $v.x }}
#### json
{{ toJson $v.x }}
#### pretty
{{ toPrettyJson $v.x }}
#### raw
{{ toRawJson $v.x }}
{{- end }}
{{- end }}
#### end
"#;

/// Runs Helm once over every case; returns case name -> (section -> text).
fn helm_outputs(cases: &Cases) -> BTreeMap<String, BTreeMap<String, String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("chart");
    fs::create_dir_all(chart.join("templates")).expect("mkdir");
    fs::create_dir_all(chart.join("cases")).expect("mkdir");
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: yamldiff\nversion: 0.1.0\n",
    )
    .expect("write");
    fs::write(chart.join("templates/out.yaml"), TEMPLATE).expect("write");
    for (name, text) in cases.all.iter().chain(&cases.errors) {
        fs::write(chart.join("cases").join(format!("{name}.yaml")), text).expect("write");
    }
    // --debug makes Helm print the output even though it is not valid YAML.
    let out = oracle::helm()
        .args(["template", "t"])
        .arg(&chart)
        .arg("--debug")
        .output()
        .expect("helm runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let mut result: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut case = String::new();
    let mut section = String::new();
    let mut body = String::new();
    let mut flush = |case: &str, section: &str, body: &mut String| {
        if !case.is_empty() && !section.is_empty() {
            // The template adds one newline after each function's output.
            let text = body.strip_suffix('\n').unwrap_or(body).to_owned();
            result
                .entry(case.to_owned())
                .or_default()
                .insert(section.to_owned(), text);
        }
        body.clear();
    };
    for line in stdout.split_inclusive('\n') {
        if let Some(marker) = line.strip_prefix("#### ") {
            flush(&case, &section, &mut body);
            let marker = marker.trim_end();
            if let Some(name) = marker.strip_prefix("case ") {
                case = name.to_owned();
                section.clear();
            } else {
                section = marker.to_owned();
            }
        } else if !section.is_empty() {
            body.push_str(line);
        }
    }
    assert!(
        !result.is_empty(),
        "helm printed no cases: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    result
}

fn crunch_helm(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let doc = match yaml::parse_document(text, Dialect::GoYamlV2) {
        Ok(doc) => doc,
        Err(e) => {
            out.insert(
                "error".to_owned(),
                format!("error converting YAML to JSON: {e}"),
            );
            return out;
        }
    };
    let v = helm_numbers(doc.get("x").unwrap_or(&Value::Null));
    let toyaml = yaml::to_helm_yaml(&v);
    out.insert(
        "yaml".to_owned(),
        toyaml.strip_suffix('\n').unwrap_or(&toyaml).to_owned(),
    );
    out.insert("json".to_owned(), yaml::to_go_json(&v, JsonStyle::Compact));
    out.insert("pretty".to_owned(), yaml::to_go_json(&v, JsonStyle::Pretty));
    out.insert("raw".to_owned(), yaml::to_go_json(&v, JsonStyle::Raw));
    out
}

#[test]
fn helm_to_yaml_and_json_match() {
    let cases = load_cases();
    let oracle = helm_outputs(&cases);
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, text) in cases.all.iter().chain(&cases.errors) {
        let Some(want) = oracle.get(name) else {
            failures.push(format!("{name}: helm printed nothing"));
            continue;
        };
        let got = crunch_helm(text);
        for (section, want_text) in want {
            compared += 1;
            let got_text = got.get(section).map_or("<missing>", String::as_str);
            if got_text != want_text {
                failures.push(format!(
                    "{name} [{section}]\n--- helm\n{want_text}\n--- crunch\n{got_text}\n"
                ));
            }
        }
    }
    for name in cases.errors.keys() {
        if !oracle.get(name).is_some_and(|o| o.contains_key("error")) {
            failures.push(format!(
                "{name}: helm accepted an input listed under errors"
            ));
        }
    }
    eprintln!(
        "helm: {} cases, {compared} outputs compared, {} differ",
        cases.all.len() + cases.errors.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `text` indented by two spaces under `header`.
fn nest(header: &str, text: &str) -> String {
    let mut out = String::from(header);
    for line in text.lines() {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A chart in `dir/chart` whose one template is `template`.
fn one_template_chart(dir: &Path, template: &str) -> PathBuf {
    let chart = dir.join("chart");
    fs::create_dir_all(chart.join("templates")).expect("mkdir");
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: values\nversion: 0.1.0\n",
    )
    .expect("write");
    fs::write(chart.join("templates/out.yaml"), template).expect("write");
    chart
}

#[test]
fn helm_values_file_reads_like_crunch() {
    let cases = load_cases();
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = one_template_chart(dir.path(), "{{ toJson .Values }}\n");
    let values: String = cases
        .all
        .iter()
        .filter(|(name, _)| !cases.helm_only.contains(name))
        .map(|(name, text)| nest(&format!("{name}:\n"), text))
        .collect();
    let values_file = dir.path().join("values.yaml");
    fs::write(&values_file, &values).expect("write");
    let out = oracle::helm()
        .args(["template", "t"])
        .arg(&chart)
        .arg("-f")
        .arg(&values_file)
        .arg("--debug")
        .output()
        .expect("helm runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let want = stdout
        .lines()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line: {}", String::from_utf8_lossy(&out.stderr)));
    let parsed = yaml::parse_document(&values, Dialect::GoYamlV2).expect("values parse");
    let got = yaml::to_go_json(&helm_numbers(&parsed), JsonStyle::Compact);
    assert_eq!(got, want);
}

/// `text` indented by two spaces under `header` line for line: line endings stay as they
/// are (a last line without a line break keeps none, `\r\n` stays), and document markers
/// (`---`, `...`) stay at the left margin.
fn nest_to_end(header: &str, text: &str) -> String {
    let mut out = String::from(header);
    for line in text.split_inclusive('\n') {
        let blank = line.trim_end_matches(['\r', '\n']).is_empty();
        let marker = line.starts_with("---") || line.starts_with("...");
        if !blank && !marker {
            out.push_str("  ");
        }
        out.push_str(line);
    }
    out
}

/// The first lines of a ConfigMap whose `data` the case text follows.
fn resource_header(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n")
}

fn resource(name: &str, text: &str) -> String {
    nest(&resource_header(name), text)
}

/// Runs `kubectl kustomize` once over resource files (object name, file text), each
/// holding one ConfigMap, and compares what it prints with crunch's kyaml round trip of
/// each file; returns the differences.
fn kustomize_resources_differ(mut resources: Vec<(String, String)>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut kustomization = String::from("resources:\n");
    for (object, text) in &resources {
        let file = format!("{object}.yaml");
        fs::write(dir.path().join(&file), text).expect("write");
        kustomization.push_str(&format!("- {file}\n"));
    }
    fs::write(dir.path().join("kustomization.yaml"), kustomization).expect("write");
    let out = oracle::kubectl()
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let printed: Vec<&str> = stdout.split("\n---\n").collect();
    // kustomize prints ConfigMaps ordered by name.
    resources.sort();
    assert_eq!(printed.len(), resources.len(), "one document per resource");
    let mut failures = Vec::new();
    for (want, (object, text)) in printed.iter().zip(&resources) {
        let got = kyaml_round_trip(text);
        let want = format!("{}\n", want.trim_end_matches('\n'));
        if got != want {
            failures.push(format!("{object}\n--- kustomize\n{want}--- crunch\n{got}"));
        }
    }
    eprintln!(
        "kustomize: {} resources compared, {} differ",
        resources.len(),
        failures.len()
    );
    failures
}

#[test]
fn kustomize_round_trip_matches() {
    let cases = load_cases();
    let resources = cases
        .all
        .iter()
        .filter(|(name, _)| !cases.helm_only.contains(name))
        .map(|(name, text)| {
            let object = name.replace('_', "-");
            let file = resource(&object, text);
            (object, file)
        })
        .collect();
    let failures = kustomize_resources_differ(resources);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Files ending without a line break: Helm reads each as a values file (`-f`, one per
/// case, each nested under its case name), kustomize as a resource file.
#[test]
fn file_ends_read_like_the_tools() {
    let cases = load_cases();
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = one_template_chart(
        dir.path(),
        "{{- range $name, $v := .Values }}\n#### case {{ $name }}\n{{ toJson $v }}\n{{- end }}\n",
    );
    let mut helm = oracle::helm();
    helm.args(["template", "t"]).arg(&chart).arg("--debug");
    let mut crunch = BTreeMap::new();
    for (name, text) in &cases.file_ends {
        assert!(
            !text.ends_with(['\n', '\r']),
            "{name}: a file_ends case ends without a line break"
        );
        let file = dir.path().join(format!("{name}.yaml"));
        let values = nest_to_end(&format!("{name}:\n"), text);
        fs::write(&file, &values).expect("write");
        helm.arg("-f").arg(&file);
        let got = match crunch::helm::load_values(&values) {
            Ok(map) => yaml::to_go_json(&map[name.as_str()], JsonStyle::Compact),
            Err(e) => format!("error: {e}"),
        };
        crunch.insert(name.clone(), got);
    }
    let out = helm.output().expect("helm runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let mut helm_printed = BTreeMap::new();
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("#### case ") {
            helm_printed.insert(name.to_owned(), lines.next().unwrap_or_default().to_owned());
        }
    }
    let mut failures = Vec::new();
    for (name, got) in &crunch {
        let want = helm_printed.get(name).map_or_else(
            || format!("<nothing>: {}", String::from_utf8_lossy(&out.stderr)),
            String::clone,
        );
        if *got != want {
            failures.push(format!(
                "{name} [helm -f]\n--- helm\n{want}\n--- crunch\n{got}"
            ));
        }
    }
    let resources = cases
        .file_ends
        .iter()
        .map(|(name, text)| {
            let object = format!("end-{}", name.replace('_', "-"));
            let file = nest_to_end(&resource_header(&object), text);
            (object, file)
        })
        .collect();
    failures.extend(kustomize_resources_differ(resources));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `kubectl kustomize` on a directory holding `r.yaml` with `text` as its only resource.
fn kustomize_one(name: &str, text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("r.yaml"), text).expect("write");
    fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\n",
    )
    .expect("write");
    oracle::kubectl()
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{name}: kubectl runs: {e}"))
}

#[test]
fn kustomize_streams_match() {
    let cases = load_cases();
    let mut failures = Vec::new();
    for (name, text) in &cases.kustomize_streams {
        let out = kustomize_one(name, text);
        let want = String::from_utf8_lossy(&out.stdout);
        let got = kyaml_round_trip(text);
        if !out.status.success() || got != want {
            failures.push(format!(
                "{name}\n--- kustomize\n{want}{}--- crunch\n{got}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kustomize_rejects_what_crunch_rejects() {
    let cases = load_cases();
    let mut failures = Vec::new();
    for (name, text) in &cases.kustomize_errors {
        let object = resource(&name.replace('_', "-"), text);
        let out = kustomize_one(name, &object);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match yaml::parse_stream(&object, Dialect::GoYamlV3) {
            Ok(_) => failures.push(format!("{name}: crunch accepted it; kustomize: {stderr}")),
            Err(_) if out.status.success() => {
                failures.push(format!("{name}: kustomize accepted it"));
            }
            // kustomize indents its messages differently and go-yaml v3 counts some lines
            // differently from v2; the wording must match.
            Err(e) if !stderr.contains(e.message()) => {
                failures.push(format!("{name}: kustomize said {stderr}\ncrunch said {e}"));
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

mod round_trip {
    //! `parse(print(v)) == v` on generated JSON-like values, for both writers.

    use super::helm_numbers;
    use crunch::yaml::{self, Dialect, Value};
    use proptest::prelude::*;

    /// Strings biased towards what YAML printers must quote or escape.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 :#'\"\\-.,_{}\\[\\]&*!|>%@`?~\\\\/=<+]{0,12}",
            "\\PC{0,20}",
            "[a-z ]{70,120}",
            prop::sample::select(vec![
                "yes",
                "No",
                "on",
                "~",
                "null",
                "0755",
                "0x1F",
                "1e3",
                "1_000",
                ".5",
                "-",
                "2001-12-14",
                "190:20:30",
                "a\nb",
                "a\nb\n",
                "a\n\n",
                " a",
                "a ",
                "a \nb",
                "\t",
                "\r\n",
                "\u{feff}",
                "a\u{2028}b",
                " \u{2029}\n\u{2028} ",
                "😀",
                "é",
                "",
                "---",
                "...",
                "#x",
            ])
            .prop_map(str::to_owned),
        ]
        // "<<" reads back as a merge key: go-yaml v2 prints it plain and so does crunch.
        .prop_filter("merge key", |s| s != "<<")
        // Strings go-yaml cannot read back from JSON (toYaml prints nothing for them), and
        // NEL, which JSON leaves raw and go-yaml then folds as a line break.
        .prop_filter("unreadable", |s| {
            !s.chars()
                .any(|c| matches!(c, '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}'))
        })
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(text(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn helm_yaml_reads_back(v in value()) {
            let printed = yaml::to_helm_yaml(&v);
            let back = yaml::parse_document(&printed, Dialect::GoYamlV2)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
            prop_assert_eq!(helm_numbers(&back), helm_numbers(&v), "{}", printed);
        }

        #[test]
        fn arbitrary_text_never_panics(
            text in "([a-z0-9 :#'\"\\-.,{}\\[\\]&*!|>%@?~\t\n\r]|\u{85}|\u{feff}|\u{2028}){0,60}"
        ) {
            for dialect in [Dialect::GoYamlV2, Dialect::GoYamlV3] {
                if let Ok(docs) = yaml::parse_stream(&text, dialect) {
                    for doc in &docs {
                        let _ = yaml::to_helm_yaml(doc);
                    }
                }
            }
        }

        #[test]
        fn kyaml_reads_back(v in value()) {
            let printed = yaml::to_kyaml(&v);
            let back = yaml::parse_document(&printed, Dialect::GoYamlV3)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
            prop_assert_eq!(helm_numbers(&back), helm_numbers(&v), "{}", printed);
        }
    }
}

/// A stream read in the go-yaml v3 dialect and printed as kustomize prints it (empty
/// documents skipped), or the error.
fn kyaml_round_trip(text: &str) -> String {
    yaml::parse_stream(text, Dialect::GoYamlV3)
        .map(|docs| {
            docs.iter()
                .filter(|doc| !doc.is_null())
                .map(yaml::to_kyaml)
                .collect::<Vec<_>>()
                .join("---\n")
        })
        .unwrap_or_else(|e| format!("error: {e}"))
}
