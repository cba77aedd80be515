//! Differential tests of `crunch::template` against `helm template` (Helm v4).
//!
//! Cases expected to render are run in one chart per batch: one template file per case,
//! wrapped in markers, plus a file of invalid YAML so that `helm template --debug` prints
//! every rendered file raw. Cases expected to fail each get their own chart, and the
//! error helm prints is compared with crunch's after undoing Helm's reformatting.

use std::fs;
use std::path::{Path, PathBuf};

use crunch::template::{ErrorKind, FuncMap, Options, Signature, Templates, Type, Value};

use crate::support::oracle;

/// One case of `fixtures/template/cases.txt`: `=== name` (or `=== name !err` for a
/// case that must fail) followed by the template text up to the next `=== ` line.
struct Case {
    name: String,
    text: String,
    fails: bool,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/template")
}

fn load_cases() -> Vec<Case> {
    let src = fs::read_to_string(fixtures().join("cases.txt")).expect("read cases.txt");
    let mut cases: Vec<Case> = Vec::new();
    for line in src.split_inclusive('\n') {
        if let Some(head) = line.strip_prefix("=== ") {
            let head = head.trim_end();
            let (name, fails) = match head.strip_suffix(" !err") {
                Some(n) => (n, true),
                None => (head, false),
            };
            assert!(
                !cases.iter().any(|c| c.name == name),
                "duplicate case name {name}"
            );
            cases.push(Case {
                name: name.to_string(),
                text: String::new(),
                fails,
            });
        } else if let Some(c) = cases.last_mut() {
            c.text.push_str(line);
        }
    }
    for c in &mut cases {
        if c.text.ends_with('\n') {
            c.text.pop();
        }
    }
    cases
}

const BEGIN: &str = "\u{27e6}BEGIN\u{27e7}";
const END: &str = "\u{27e6}END\u{27e7}";

/// The functions Helm adds that these cases use, reduced to what the engine must offer.
fn funcs() -> FuncMap {
    let mut f = FuncMap::sprig();
    f.insert(
        "include",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            let name = a[0].as_str().unwrap_or_default();
            ctx.execute_template(name, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.to_string())
        },
    );
    // Helm's `tpl` words parse and execution failures differently.
    f.insert(
        "tpl",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            let text = a[0].as_str().unwrap_or_default();
            ctx.execute_text(text, a[1].clone())
                .map(|s| Value::from(s.replace("<no value>", "")))
                .map_err(|e| match e.kind() {
                    ErrorKind::Parse => {
                        format!("cannot parse template {text:?}: {}", e.message())
                    }
                    ErrorKind::Exec => format!(
                        "error during tpl function execution for {text:?}: {}",
                        e.message()
                    ),
                })
        },
    );
    f
}

fn data(values: &Value, file: &str) -> Value {
    let json = serde_json::json!({
        "Release": {"Name": "release-name", "Namespace": "default", "Service": "Helm",
                    "IsInstall": true, "IsUpgrade": false},
        "Template": {"Name": file, "BasePath": "c/templates"},
    });
    // Helm v4 passes `.`, `.Values` and `.Template` as `common.Values`.
    let Value::Map(top) = Value::from(&json) else {
        unreachable!("a JSON object converts to a map")
    };
    if let Value::Map(v) = values.deep_copy() {
        top.insert("Values", Value::Map(v.named("common.Values")));
    }
    if let Some(Value::Map(t)) = top.get("Template") {
        top.insert("Template", Value::Map(t.named("common.Values")));
    }
    Value::Map(top.named("common.Values"))
}

/// Renders one case with crunch: Ok(output) or Err(Go's message).
fn crunch_render(name: &str, text: &str, values: &Value) -> Result<String, String> {
    let file = format!("c/templates/{name}.yaml");
    let mut set = Templates::new("gotpl", funcs(), Options::helm());
    set.parse(&file, text).map_err(|e| e.to_string())?;
    set.execute(&file, data(values, &file))
        .map_err(|e| e.to_string())
}

fn write_chart(dir: &Path, files: &[(String, String)], values: &str) {
    let templates = dir.join("c/templates");
    fs::create_dir_all(&templates).expect("create chart dir");
    fs::write(
        dir.join("c/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("write Chart.yaml");
    fs::write(dir.join("c/values.yaml"), values).expect("write values.yaml");
    for (name, text) in files {
        fs::write(templates.join(format!("{name}.yaml")), text).expect("write template");
    }
}

fn helm(dir: &Path, debug: bool) -> (bool, String) {
    let mut cmd = oracle::helm();
    cmd.arg("template").arg("c").current_dir(dir);
    if debug {
        cmd.arg("--debug");
    }
    let out = cmd.output().expect("run helm");
    // The rendered files land on stdout, the error on stderr.
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Helm v4 reformats Go's errors; both sides are brought to one shape.
fn normalize(msg: &str) -> String {
    let msg = msg.replace("template: ", "");
    let mut out = String::new();
    let mut lines = msg.lines().peekable();
    while let Some(line) = lines.next() {
        out.push_str(line.trim_start());
        if lines.peek().is_some() {
            if !out.ends_with(':') {
                out.push(':');
            }
            out.push(' ');
        }
    }
    out
}

fn helm_error(stderr: &str) -> String {
    let body = stderr
        .split_once("Error: ")
        .map_or(stderr, |(_, rest)| rest);
    let body = body.split("\n\nUse --debug").next().unwrap_or(body);
    body.trim_end().to_string()
}

fn errors_match(helm: &str, ours: &str) -> bool {
    for prefix in ["execution error at (", "parse error at ("] {
        if let Some(rest) = helm.strip_prefix(prefix)
            && let Some((loc, msg)) = rest.split_once("): ")
        {
            return ours.starts_with(&format!("template: {loc}:")) && ours.ends_with(msg);
        }
    }
    normalize(helm) == normalize(ours)
}

#[test]
fn template_matches_helm() {
    let cases = load_cases();
    let values_text = fs::read_to_string(fixtures().join("values.json")).expect("values.json");
    let values_json: serde_json::Value =
        serde_json::from_str(&values_text).expect("values.json is valid JSON");
    let values = Value::from_json_floats(&values_json);
    let mut failures = Vec::new();
    let tmp = tempfile::tempdir().expect("temp dir");

    // Rendering cases: one chart.
    let ok_cases: Vec<&Case> = cases.iter().filter(|c| !c.fails).collect();
    let mut files: Vec<(String, String)> = ok_cases
        .iter()
        .map(|c| (c.name.clone(), format!("{BEGIN}{}{END}", c.text)))
        .collect();
    files.push(("zz-invalid".into(), ": [".into()));
    let batch = tmp.path().join("batch");
    write_chart(&batch, &files, &values_text);
    let (_, stderr) = helm(&batch, true);
    for c in &ok_cases {
        let marker = format!("# Source: c/templates/{}.yaml\n{BEGIN}", c.name);
        let expected = stderr
            .split_once(&marker)
            .and_then(|(_, rest)| rest.split_once(END).map(|(content, _)| content.to_string()));
        let ours = crunch_render(&c.name, &format!("{BEGIN}{}", c.text), &values);
        let ours = ours.map(|s| s.trim_start_matches(BEGIN).to_string());
        match (expected, ours) {
            (Some(e), Ok(o)) if e == o => {}
            (e, o) => failures.push(format!(
                "case {}: {:?}\n  helm:   {:?}\n  crunch: {:?}",
                c.name, c.text, e, o
            )),
        }
    }

    // Failing cases: one chart each, run two at a time.
    let err_cases: Vec<&Case> = cases.iter().filter(|c| c.fails).collect();
    let results: Vec<(usize, String)> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<usize>> = (0..2)
            .map(|k| (0..err_cases.len()).filter(|i| i % 2 == k).collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|idx| {
                let cases = &err_cases;
                let root = tmp.path();
                let values_text = &values_text;
                scope.spawn(move || {
                    idx.into_iter()
                        .map(|i| {
                            let c = cases[i];
                            let dir = root.join(format!("err-{i}"));
                            write_chart(&dir, &[(c.name.clone(), c.text.clone())], values_text);
                            let (ok, stderr) = helm(&dir, false);
                            let msg = if ok {
                                String::from("<rendered>")
                            } else {
                                helm_error(&stderr)
                            };
                            (i, msg)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("helm thread"))
            .collect()
    });
    for (i, helm_msg) in results {
        let c = err_cases[i];
        match crunch_render(&c.name, &c.text, &values) {
            Err(ours) if errors_match(&helm_msg, &ours) => {}
            other => failures.push(format!(
                "error case {}: {:?}\n  helm:   {helm_msg}\n  crunch: {other:?}",
                c.name, c.text
            )),
        }
    }

    let total = cases.len();
    eprintln!("{} of {total} cases match helm", total - failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ from helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
