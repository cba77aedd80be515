//! Differential tests: `helm template` (the oracle) against crunch's `helm::render` +
//! `helm::template_output` on the fixture charts in `fixtures/charts/`.
//!
//! Successful renders must match byte for byte; failures must carry Helm's message.
//! Set `HELM_DIFF_CASE=<substring>` to run only matching cases; a substring that matches
//! none fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crunch::helm::{self, Capabilities, RenderOptions, SetFlag};

use crate::support::{diff, oracle};

/// One `helm template RELEASE fixtures/charts/CHART FLAGS…` invocation.
struct Case {
    chart: &'static str,
    release: &'static str,
    flags: &'static [&'static str],
}

const fn case(chart: &'static str, release: &'static str, flags: &'static [&'static str]) -> Case {
    Case {
        chart,
        release,
        flags,
    }
}

const CASES: &[Case] = &[
    case("basic", "release-name", &[]),
    case("basic", "web", &["-n", "prod", "-f", "override.yaml"]),
    case("basic", "up", &["--is-upgrade"]),
    case("subchart-dir", "rel", &[]),
    case(
        "subchart-dir",
        "rel",
        &["-f", "override.yaml", "-n", "kube-system"],
    ),
    case("subchart-tgz", "rel", &[]),
    case("subchart-tgz", "rel", &["--include-crds"]),
    case("library", "lib", &[]),
    case("alias", "al", &[]),
    case("conditions", "cond", &[]),
    case("conditions", "cond", &["-f", "flip.yaml"]),
    case("crds", "c", &[]),
    case("crds", "c", &["--include-crds"]),
    case("hooks", "h", &[]),
    case("hooks", "h", &["--skip-tests"]),
    case("hooks", "h", &["--no-hooks"]),
    case("files", "f", &[]),
    case("tpl", "t", &["-n", "tplns"]),
    case("lookup", "l", &[]),
    case("coalesce", "co", &[]),
    case("coalesce", "co", &["-f", "override.yaml"]),
    case(
        "coalesce",
        "co",
        &["-f", "override.yaml", "-f", "override2.yaml"],
    ),
    case("null-values", "nv", &[]),
    case("null-values", "nv", &["-f", "user.yaml"]),
    case(
        "null-values",
        "nv",
        &["-f", "earlier.yaml", "-f", "later.yaml"],
    ),
    case(
        "null-values",
        "nv",
        &["-f", "later.yaml", "-f", "earlier.yaml"],
    ),
    case("null-values", "nv", &["-f", "drop.yaml"]),
    case("null-values", "nv", &["-f", "imports.yaml"]),
    case("null-values", "nv", &["-f", "dig-nil.yaml"]),
    case("null-values", "nv", &["-f", "required-nil.yaml"]),
    case("null-values", "nv", &["--set", "digValues=true"]),
    case(
        "null-values",
        "nv",
        &[
            "--set",
            "baseConfig.preflight-check.image=null,nested.table=null,sub.key=null,global.tbl.deep=null,list[1]=null",
        ],
    ),
    case(
        "null-values",
        "nv",
        &[
            "--set",
            "twin.enabled=null,tags.twins=null,nullDefault.a=null",
        ],
    ),
    case(
        "null-values",
        "nv",
        &[
            "--set-json",
            r#"{"nested": {"table": null}, "sub": {"key": null}}"#,
            "--set-string",
            "baseConfig.preflight-check.image=null",
        ],
    ),
    // strvals walks into the null a values file left: Go's failed type assertion.
    case(
        "null-values",
        "nv",
        &["-f", "user.yaml", "--set", "nested.table.a=1"],
    ),
    case(
        "null-values",
        "nv",
        &[
            "-f",
            "earlier.yaml",
            "--set",
            "baseConfig.preflight-check.image=null",
        ],
    ),
    case("capabilities", "cap", &[]),
    case(
        "capabilities",
        "cap",
        &[
            "--kube-version",
            "1.29.3",
            "--api-versions",
            "monitoring.coreos.com/v1",
        ],
    ),
    case(
        "capabilities",
        "cap",
        &[
            "--kube-version",
            "v1.31",
            "--api-versions",
            "monitoring.coreos.com/v1/ServiceMonitor,policy/v1",
        ],
    ),
    case("capabilities", "cap", &["--kube-version", "1.24.0"]),
    case("capabilities", "cap", &["--kube-version", "1.30.2-gke.100"]),
    case("notes", "n", &["--kube-version", "1"]),
    case("notes", "n", &["--kube-version", "abc"]),
    case("notes", "n", &[]),
    case("kinds", "k", &[]),
    case("err-required", "e", &[]),
    case("err-required", "e", &["-f", "given.yaml"]),
    case("err-parse", "e", &[]),
    case("err-fail", "e", &[]),
    case("err-yaml", "e", &[]),
    case("err-nested", "e", &[]),
    case("import-values", "iv", &[]),
    case("v1-requirements", "v1", &[]),
    case("v1-requirements", "v1", &["-f", "off.yaml"]),
    case("quirks", "q", &[]),
    case("ignore-rules", "ig", &[]),
    case("globals-shared", "g", &[]),
    case("globals-shared", "g", &["-f", "user.yaml"]),
    case("archives/top-0.1.0.tgz", "a", &["--include-crds"]),
    case("umbrella", "bigbang", &["-n", "bigbang"]),
    case(
        "umbrella",
        "bigbang",
        &["-n", "bigbang", "-f", "customer.yaml"],
    ),
    case("umbrella", "bigbang", &["-f", "broken.yaml"]),
    case("deps-advanced", "adv", &[]),
    case(
        "deps-advanced",
        "adv",
        &["-f", "enable.yaml", "--include-crds"],
    ),
    case(
        "deps-advanced",
        "adv",
        &["-f", "enable.yaml", "-f", "backend-explicit.yaml"],
    ),
    case("err-type-mismatch", "e", &[]),
    // Go's `%t` of a list, a map inside it, `nil`, an int64 and a large float64.
    case(
        "err-type-mismatch",
        "e",
        &["--set-json", r#"sub=["a",null,{"k":1.5,"j":[true]}]"#],
    ),
    case("err-type-mismatch", "e", &["--set", "sub=5"]),
    case("err-type-mismatch", "e", &["--set-json", "sub=100000000"]),
    case("err-type-mismatch", "e", &["--set", "sub=null"]),
    case("err-tpl-parse", "e", &[]),
    case("err-tpl-exec", "e", &[]),
    case("err-no-template", "e", &[]),
    case("err-no-chart-yaml", "e", &[]),
    case("err-bad-chart-yaml", "e", &[]),
    case("err-no-version", "e", &[]),
    case("err-bad-values", "e", &[]),
    case("schema", "s", &[]),
    case("schema", "s", &["-f", "good.yaml"]),
    case("schema", "s", &["-f", "bad-minimum.yaml"]),
    case("schema", "s", &["-f", "bad-enum.yaml"]),
    case("schema", "s", &["-f", "bad-nested.yaml"]),
    case("schema", "s", &["-f", "bad-ref.yaml"]),
    case("schema", "s", &["-f", "bad-required.yaml"]),
    case("schema", "s", &["-f", "bad-sub.yaml"]),
    case("schema", "s", &["-f", "bad-anyof.yaml"]),
    case("schema", "s", &["-f", "bad-pattern.yaml"]),
    case("schema-draft7", "d", &[]),
    case("go-quoting", "q", &[]),
    case("go-quoting", "q", &["--set", "mode=tpl"]),
    case("go-quoting", "q", &["--set", "mode=tpl-exec"]),
    case("schema-draft7", "d", &["-f", "bad-port.yaml"]),
    case("schema-draft7", "d", &["-f", "bad-limit.yaml"]),
    case("schema-draft7", "d", &["-f", "bad-email.yaml"]),
    // Go quotes what it reports: C1 controls, separators and format characters escaped
    // (one failure per file: the library reports properties in Go's map order).
    case("schema-draft7", "d", &["-f", "bad-unprintable-email.yaml"]),
    case("schema-draft7", "d", &["-f", "bad-unprintable-date.yaml"]),
    case("schema-draft7", "d", &["-f", "bad-unprintable-ipv4.yaml"]),
    case(
        "schema-draft7",
        "d",
        &["-f", "bad-unprintable-pattern.yaml"],
    ),
    case("err-library", "e", &[]),
    case("err-missing-dep", "e", &[]),
    case("set-values", "s", &[]),
    case(
        "set-values",
        "s",
        &[
            "--set",
            r"replicas=5,big=2500000,extra.list={a,1,true},extra.map.k\.dot=v\,w",
            "-f",
            "override.yaml",
            "--set",
            "ports[1]=8443,sub.count=7,global.env=prod,ratio=007,enabled=TRUE",
        ],
    ),
    case(
        "set-values",
        "s",
        &[
            "--set-string",
            "replicas=5,enabled=true",
            "--set",
            "replicas=6,labels=null,image.tag=null",
            "--set-literal",
            "sub.greeting=a,b=c",
        ],
    ),
    case(
        "set-values",
        "s",
        &[
            "--set",
            "extra.a[0][1]=x,extra.b[1].c=y,extra.e=,extra.n=-12,extra.z=0",
            "--set",
            "extra.a[2]",
        ],
    ),
    case(
        "set-values",
        "s",
        &[
            "--set-json",
            r#"extra={"j":[1,2.5,{"k":null}]}, ports=[8080] ,big=3000000"#,
            "--set",
            "big=4000000",
            "--set-json",
            r#"{"sub": {"count": 9}, "extra": {"o": true}}"#,
        ],
    ),
    case(
        "set-values",
        "s",
        &[
            "--set-file",
            "motd=motd.txt,extra.blob=blob.json",
            "-f",
            "override.yaml",
        ],
    ),
    case("set-values", "s", &["--set", "a"]),
    case("set-values", "s", &["--set", "a,"]),
    case("set-values", "s", &["--set", "a.=1"]),
    case("set-values", "s", &["--set", "a[x]=1"]),
    case("set-values", "s", &["--set", "a[0]x=1"]),
    case("set-values", "s", &["--set", "a[-1]=1"]),
    case("set-values", "s", &["--set", "a[70000]=1"]),
    case("set-values", "s", &["--set", "a={1,2"]),
    case("set-values", "s", &["--set", "big.x=1"]),
    case("set-values", "s", &["--set", "ports.x=1"]),
    case("set-values", "s", &["--set", "image[0]=1"]),
    case("set-values", "s", &["--set-string", "a=1,b"]),
    case("set-values", "s", &["--set-literal", "image.tag.x=1"]),
    case("set-values", "s", &["--set-json", "a=nope"]),
    case("set-values", "s", &["--set-json", r#"{"a": 1"#]),
    case("set-values", "s", &["--set-file", "motd=missing.txt"]),
    case("set-values", "s", &["--set", "a\u{85}b"]),
    case("set-values", "s", &["--set", "a[0]\u{85}\u{2028}\u{7}=1"]),
    case("set-values", "s", &["--set", "a[\u{a0}]=1"]),
    case("set-values", "s", &["--set", "a.b\u{200b},"]),
    case("set-values", "s", &["--show-only", "templates/values.yaml"]),
    case(
        "set-values",
        "s",
        &[
            "--show-only",
            "charts/*/templates/*.yaml",
            "--show-only",
            "templates/v*",
            "--set",
            "motd=hi",
        ],
    ),
    case("set-values", "s", &["--show-only", "templates/motd.yaml"]),
    case("hooks", "h", &["--show-only", "templates/*"]),
    case("crds", "c", &["--include-crds", "--show-only", "crds/*"]),
    case("crds", "c", &["--include-crds", "--skip-crds"]),
    // Methods of Helm's objects: common.Values (`.Values.AsMap`, …), `.Files`,
    // `.Capabilities`; `.Chart.Annotations` as Go's `map[string]string`.
    case("values-methods", "vm", &[]),
    case("values-methods", "vm", &["--set", "case=table-missing"]),
    case("values-methods", "vm", &["--set", "case=table-scalar"]),
    case("values-methods", "vm", &["--set", "case=table-string-map"]),
    case("values-methods", "vm", &["--set", "case=table-arg-type"]),
    case("values-methods", "vm", &["--set", "case=table-value-type"]),
    case("values-methods", "vm", &["--set", "case=path-empty"]),
    case("values-methods", "vm", &["--set", "case=path-table"]),
    case("values-methods", "vm", &["--set", "case=path-missing"]),
    case("values-methods", "vm", &["--set", "case=yaml-args"]),
    case("values-methods", "vm", &["--set", "case=table-unprintable"]),
    case("values-methods", "vm", &["--set", "case=path-unprintable"]),
    case("values-methods", "vm", &["--set", "case=yaml-nan"]),
    case("values-methods", "vm", &["--set", "case=must-to-yaml-nan"]),
    case("values-methods", "vm", &["--set", "case=encode-no-writer"]),
    case("values-methods", "vm", &["--set", "case=encode-nil"]),
    case("values-methods", "vm", &["--set", "case=encode-missing"]),
    case("values-methods", "vm", &["--set", "case=encode-dot"]),
    case("values-methods", "vm", &["--set", "case=encode-string"]),
    case(
        "values-methods",
        "vm",
        &["--set", "case=encode-marshal-error"],
    ),
    case("values-methods", "vm", &["--set", "case=merged-dig"]),
    case("values-methods", "vm", &["--set", "case=plain-map-args"]),
    case("values-methods", "vm", &["--set", "case=files-get-args"]),
    case(
        "values-methods",
        "vm",
        &["--set", "case=files-as-config-args"],
    ),
    case("values-methods", "vm", &["--set", "case=files-lines-empty"]),
    case("values-methods", "vm", &["--set", "case=has-arg-type"]),
    case("values-methods", "vm", &["--set", "case=git-version-args"]),
    case("values-methods", "vm", &["--set", "case=annotations-dig"]),
    case("values-methods", "vm", &["--set", "case=annotation-field"]),
    case("many-subcharts", "big", &[]),
    case(
        "many-subcharts",
        "big",
        &[
            "-n",
            "platform",
            "-f",
            "disable.yaml",
            "--set",
            "global.registry=r.local,bravo.replicaCount=5,kilo.settings.key3=007",
        ],
    ),
    case(
        "many-subcharts",
        "big",
        &["--show-only", "charts/bravo/templates/*"],
    ),
];

fn charts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/charts")
}

/// Where `-f` files are looked up: the chart directory, or the fixtures root for archives.
fn values_dir(chart: &Path) -> PathBuf {
    if chart.is_dir() {
        chart.to_path_buf()
    } else {
        charts_dir()
    }
}

/// What a run produced: stdout on success, the error message on failure.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Output(String),
    Error(String),
}

/// `helm` with its config, cache and data homes under `scratch`, so that nothing of the
/// user's helm setup reaches the oracle.
fn helm_in(scratch: &Path) -> Command {
    let mut helm = oracle::helm();
    helm.env("HELM_CONFIG_HOME", scratch.join("config"))
        .env("HELM_CACHE_HOME", scratch.join("cache"))
        .env("HELM_DATA_HOME", scratch.join("data"));
    helm
}

fn run_oracle(case: &Case, chart: &Path, scratch: &Path) -> Outcome {
    let mut cmd = helm_in(scratch);
    cmd.arg("template")
        .arg(case.release)
        .arg(chart)
        .args(case.flags)
        .current_dir(values_dir(chart));
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => return Outcome::Error(format!("cannot run helm: {e}")),
    };
    if out.status.success() {
        return Outcome::Output(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr.strip_prefix("Error: ").unwrap_or(&stderr);
    let message = message.trim_end_matches('\n');
    let message = message
        .strip_suffix("\n\nUse --debug flag to render out invalid YAML")
        .unwrap_or(message);
    Outcome::Error(message.to_string())
}

fn run_crunch(case: &Case, chart_dir: &Path) -> Outcome {
    match render_with_crunch(case, chart_dir) {
        Ok(out) => Outcome::Output(out),
        // Helm's CLI adds newlines around messages; compare the text.
        Err(e) => Outcome::Error(e.to_string().trim_end_matches('\n').to_string()),
    }
}

fn render_with_crunch(case: &Case, chart_dir: &Path) -> Result<String, helm::Error> {
    let mut opts = RenderOptions {
        release_name: case.release.to_string(),
        ..RenderOptions::default()
    };
    let mut values = serde_json::Map::new();
    let mut sets = Vec::new();
    let mut show_only = Vec::new();
    let mut kube_version = None;
    let mut api_versions = Vec::new();
    let mut flags = case.flags.iter();
    while let Some(flag) = flags.next() {
        let mut arg = || flags.next().copied().unwrap_or_default();
        match *flag {
            "-n" => opts.namespace = arg().to_string(),
            "-f" => {
                let file = arg();
                let text =
                    std::fs::read_to_string(values_dir(chart_dir).join(file)).unwrap_or_default();
                let loaded = helm::load_values(&text).map_err(|e| {
                    helm::Error::new(e.kind(), format!("failed to parse {file}: {e}"))
                })?;
                helm::merge_maps(&mut values, loaded);
            }
            "--set" => sets.push((SetFlag::Set, arg())),
            "--set-string" => sets.push((SetFlag::SetString, arg())),
            "--set-json" => sets.push((SetFlag::SetJson, arg())),
            "--set-file" => sets.push((SetFlag::SetFile, arg())),
            "--set-literal" => sets.push((SetFlag::SetLiteral, arg())),
            "--show-only" => show_only.push(arg().to_string()),
            "--kube-version" => kube_version = Some(arg().to_string()),
            "--api-versions" => api_versions.push(arg().to_string()),
            "--include-crds" => opts.include_crds = true,
            "--skip-tests" => opts.skip_tests = true,
            "--no-hooks" => opts.no_hooks = true,
            "--skip-schema-validation" => opts.skip_schema_validation = true,
            "--is-upgrade" => opts.is_upgrade = true,
            // `helm template` prints the same with it: it only affects installs.
            "--skip-crds" => {}
            other => panic!("flag {other} is not supported by the harness"),
        }
    }
    let mut read_file = |path: &str| {
        std::fs::read_to_string(values_dir(chart_dir).join(path))
            .map_err(|_| format!("open {path}: no such file or directory"))
    };
    for flag in SetFlag::HELM_ORDER {
        for (_, line) in sets.iter().filter(|(f, _)| *f == flag) {
            helm::apply_set(flag, line, &mut values, &mut read_file)?;
        }
    }
    opts.capabilities = Capabilities::helm_template(kube_version.as_deref(), &api_versions);
    let chart = helm::load_chart(chart_dir)?;
    let rendered = helm::render_values(chart, &values, &opts)?;
    let output = helm::template_output(&rendered, &opts);
    if show_only.is_empty() {
        return Ok(output);
    }
    helm::show_only(&output, &show_only)
}

/// Every case list a test of this suite runs.
const SUITES: &[&[Case]] = &[CASES, FILES_RANGE, INCLUDE_RECURSION];

/// A case as `HELM_DIFF_CASE` filters it and failures name it.
fn label(case: &Case) -> String {
    format!("{} {} {}", case.chart, case.release, case.flags.join(" "))
}

/// Runs `cases` against the oracle and fails with every mismatch; fails too when
/// `HELM_DIFF_CASE` is set and matches no case of the suite at all.
fn check_cases(cases: &[Case]) {
    let filter = std::env::var("HELM_DIFF_CASE").unwrap_or_default();
    let scratch = std::env::temp_dir().join(format!("crunch-helm-diff-{}", std::process::id()));
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in cases {
        let label = label(case);
        if !label.contains(&filter) {
            continue;
        }
        let chart = charts_dir().join(case.chart);
        let expected = run_oracle(case, &chart, &scratch);
        let actual = run_crunch(case, &chart);
        if expected == actual {
            passed += 1;
            continue;
        }
        let detail = match (&expected, &actual) {
            (Outcome::Output(e), Outcome::Output(a)) => diff::unified(e, a),
            _ => format!("helm:   {expected:?}\ncrunch: {actual:?}\n"),
        };
        failures.push(format!("=== {label}\n{detail}"));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let matches_any = |cases: &[Case]| cases.iter().any(|case| label(case).contains(&filter));
    assert!(
        matches_any(cases) || SUITES.iter().any(|suite| matches_any(suite)),
        "HELM_DIFF_CASE={filter:?} matches no case of the suite"
    );
    eprintln!("{passed} differential cases match helm");
    assert!(
        failures.is_empty(),
        "{passed} cases passed, {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn helm_template_matches_oracle() {
    check_cases(CASES);
}

/// `range`, `len`, `index` and truth over `.Files`, `.Files.Glob` and
/// `.Capabilities.APIVersions`, which are Go maps and slices with methods.
#[test]
fn helm_template_matches_oracle_files_range() {
    check_cases(FILES_RANGE);
}

const FILES_RANGE: &[Case] = &[case("files-range", "fr", &[])];

/// Helm stops a self-including template after 1000 nested `include`s with its own
/// message (each `include` is a fresh execution for the engine's depth limit), also when
/// the recursion runs through `tpl` copies of the template set, which share the count,
/// or includes a `tpl` text by its name, `gotpl`.
#[test]
fn helm_template_matches_oracle_include_recursion() {
    check_cases(INCLUDE_RECURSION);
}

const INCLUDE_RECURSION: &[Case] = &[
    case("err-recursion", "e", &[]),
    case("err-tpl-recursion", "e", &[]),
    case("err-tpl-self-include", "e", &[]),
];

fn fixture(name: &str) -> helm::Chart {
    match helm::load_chart(&charts_dir().join(name)) {
        Ok(chart) => chart,
        Err(e) => panic!("fixture {name} does not load: {e}"),
    }
}

#[test]
fn notes_are_rendered_for_the_top_chart_only() {
    let opts = RenderOptions {
        release_name: "n".into(),
        ..RenderOptions::default()
    };
    let rendered = helm::render(fixture("notes"), serde_json::Value::Null, &opts);
    let notes = rendered.map(|r| r.notes);
    assert_eq!(
        notes,
        Ok(Some("Thank you for installing notes as n.\n".to_string()))
    );
    let quirks = helm::render(fixture("quirks"), serde_json::Value::Null, &opts);
    assert_eq!(quirks.map(|r| r.notes), Ok(None));
}

#[test]
fn remote_schema_refs_are_reported_as_unsupported() {
    let mut chart = fixture("basic");
    chart.schema = Some(br#"{"$ref": "https://example.com/schema.json"}"#.to_vec());
    let result = helm::render(chart, serde_json::Value::Null, &RenderOptions::default());
    assert_eq!(
        result.map_err(|e| e.kind()),
        Err(helm::ErrorKind::Unsupported)
    );
}

#[test]
fn schema_reference_cycles_fail_instead_of_recursing() {
    let mut chart = fixture("basic");
    chart.schema = Some(br##"{"allOf": [{"$ref": "#"}]}"##.to_vec());
    let result = helm::render(chart, serde_json::Value::Null, &RenderOptions::default());
    assert_eq!(result.map_err(|e| e.kind()), Err(helm::ErrorKind::Values));
}

#[test]
fn random_functions_follow_the_seed() {
    let template = |name: &str| helm::File {
        name: format!("templates/{name}.yaml"),
        data: format!("{name}: {{{{ randAlphaNum 16 }}}}").into_bytes(),
    };
    let render = |names: &[&str], seed: &str| {
        let mut chart = fixture("notes");
        chart.templates = names.iter().map(|n| template(n)).collect();
        let opts = RenderOptions {
            seed: seed.into(),
            ..RenderOptions::default()
        };
        let rendered =
            helm::render(chart, serde_json::Value::Null, &opts).unwrap_or_else(|e| panic!("{e}"));
        // `name: value` per template, by template name.
        let mut drawn: Vec<(String, String)> = rendered
            .manifests
            .iter()
            .filter_map(|m| {
                let (k, v) = m.content.trim().split_once(": ")?;
                Some((k.to_string(), v.to_string()))
            })
            .collect();
        drawn.sort();
        drawn
    };
    assert_eq!(render(&["r"], "one"), render(&["r"], "one"));
    assert_ne!(render(&["r"], "one"), render(&["r"], "two"));
    // Each template has its own seed: two templates draw different strings, and adding
    // a template does not change what another one draws.
    let both = render(&["r", "s"], "one");
    assert_eq!(both.len(), 2, "{both:?}");
    assert_ne!(both[0].1, both[1].1);
    assert_eq!(both[..1], render(&["r"], "one")[..]);
}

/// `helm template CHART --name-template TEXT` (no NAME): the release name comes from a Go
/// template with Sprig's functions; bad templates and bad names fail with Helm's message.
#[test]
fn name_template_matches_oracle() {
    use crunch::commands::{self, HelmTemplate};
    use crunch::helm::ReleaseName;

    const TEMPLATES: &[&str] = &[
        r#"{{ "rel" | lower }}-{{ add 1 2 }}"#,
        "plain-name",
        r#"{{ "a" }}{{/* comment */}}b"#,
        r#"{{ list "x" "y" | join "-" }}.{{ "Z" | lower }}"#,
        r#"{{ define "n" }}inner{{ end }}{{ template "n" }}-{{ "abcdef" | trunc 3 }}"#,
        r#"{{ "x" | sha256sum | trunc 8 }}-{{ "v1.2" | replace "." "-" }}"#,
        // Helm runs the template, then refuses the name.
        r#"{{ "x" | upper }}"#,
        "{{ . }}",
        r#"{{ "" }}"#,
        "a..b",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        // Parse and execution errors, and Helm's own functions, which it does not offer.
        "{{ .Foo }",
        r#"{{ fail "no" }}"#,
        r#"{{ include "x" . }}"#,
        r#"{{ toYaml "x" }}"#,
    ];
    let chart = charts_dir().join("basic");
    let scratch = std::env::temp_dir().join(format!("crunch-name-tpl-{}", std::process::id()));
    let mut failures = Vec::new();
    for text in TEMPLATES {
        let out = helm_in(&scratch)
            .arg("template")
            .arg(&chart)
            .args(["--name-template", text])
            .output()
            .expect("helm runs");
        let expected = if out.status.success() {
            Outcome::Output(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            // Helm logs the failed name check first; its last line is the error.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.trim_end().lines().last().unwrap_or_default();
            Outcome::Error(last.strip_prefix("Error: ").unwrap_or(last).to_owned())
        };
        let args = HelmTemplate {
            name: ReleaseName::Template((*text).to_owned()),
            chart: chart.clone(),
            namespace: "default".to_owned(),
            ..HelmTemplate::default()
        };
        let actual = match commands::helm_template(&args) {
            Ok(out) => Outcome::Output(out),
            Err(e) => Outcome::Error(e.to_string()),
        };
        if expected != actual {
            failures.push(format!(
                "=== {text}\nhelm:   {expected:?}\ncrunch: {actual:?}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!(
        "{} name templates match helm",
        TEMPLATES.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// NAME together with `--name-template`, and `--generate-name`, are refused before any
/// rendering; an empty template means no template, as in Helm.
#[test]
fn release_name_arguments() {
    use crunch::helm::ReleaseName;
    use std::path::PathBuf;

    let chart = PathBuf::from("c");
    let both = [PathBuf::from("n"), chart.clone()];
    let err = ReleaseName::from_args(&both, Some("x"), false).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "cannot set --name-template and also specify a name"
    );
    let err =
        ReleaseName::from_args(std::slice::from_ref(&chart), None, true).expect_err("refused");
    assert!(err.to_string().contains("not reproducible"), "{err}");
    assert_eq!(
        ReleaseName::from_args(std::slice::from_ref(&chart), Some(""), false).expect("ok"),
        (ReleaseName::default(), chart.clone())
    );
    assert_eq!(
        ReleaseName::from_args(&both, None, false).expect("ok"),
        (ReleaseName::Given("n".to_owned()), chart)
    );
}

/// Clock functions read `--now` (its offset as the local zone) in the release name and in
/// templates, and the Unix epoch without it: never the wall clock.
#[test]
fn the_clock_is_an_input() {
    use crunch::commands::{self, HelmTemplate};
    use crunch::helm::ReleaseName;
    use crunch::template::Clock;

    let chart = std::env::temp_dir().join(format!("crunch-clock-{}", std::process::id()));
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: clock\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(
        chart.join("templates/at.yaml"),
        "at: {{ now | date \"2006-01-02T15:04:05Z07:00\" | quote }}\n",
    )
    .expect("template");
    let render = |now: Clock| {
        commands::helm_template(&HelmTemplate {
            name: ReleaseName::Template(r#"{{ now | date "2006-01-02t15-04" }}"#.to_owned()),
            chart: chart.clone(),
            namespace: "default".to_owned(),
            now,
            ..HelmTemplate::default()
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let at = Clock::parse_rfc3339("2026-05-01T12:30:00+02:00").expect("timestamp");
    assert_eq!(
        render(at),
        "---\n# Source: clock/templates/at.yaml\nat: \"2026-05-01T12:30:00+02:00\"\n"
    );
    assert_eq!(
        render(Clock::default()),
        "---\n# Source: clock/templates/at.yaml\nat: \"1970-01-01T00:00:00Z\"\n"
    );
    let name = ReleaseName::Template(r#"{{ now | date "2006-01-02t15-04" }}"#.into());
    assert_eq!(name.resolve(at).expect("name"), "2026-05-01t12-30");
    let _ = std::fs::remove_dir_all(&chart);
}

/// The `crunch helm template` binary and `helm template` on the same chart and flags:
/// the defaults the CLI fills in (Kubernetes version, Helm's API versions) are helm's.
#[test]
fn cli_defaults_match_oracle() {
    let chart = charts_dir().join("capabilities");
    let scratch = std::env::temp_dir().join(format!("crunch-cli-caps-{}", std::process::id()));
    let flag_sets: &[&[&str]] = &[
        &[],
        &["--kube-version", "1.29.3"],
        &[
            "--api-versions",
            "example.com/v1",
            "-a",
            "example.com/v1/Widget",
        ],
    ];
    for flags in flag_sets {
        let helm = helm_in(&scratch)
            .args(["template", "caps"])
            .arg(&chart)
            .args(*flags)
            .output()
            .expect("helm runs");
        let crunch = Command::new(env!("CARGO_BIN_EXE_crunch"))
            .args(["helm", "template", "caps"])
            .arg(&chart)
            .args(*flags)
            .output()
            .expect("crunch runs");
        assert!(
            helm.status.success(),
            "{}",
            String::from_utf8_lossy(&helm.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&crunch.stdout),
            String::from_utf8_lossy(&helm.stdout),
            "flags {flags:?}: {}",
            String::from_utf8_lossy(&crunch.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
