//! The builtin `HelmChartInflationGenerator`: charts inflated exactly as kustomize v5.5
//! inflates them by running `helm template`, here through the build's
//! [`ChartInflater`](crate::ChartInflater) (crunch's Helm engine). Each `helmCharts` entry (with `helmGlobals`)
//! and each deprecated `helmChartInflationGenerator` entry configures one.
//!
//! kustomize hands helm its values files (`-f`): the chart's `values.yaml` (or
//! `valuesFile`) as is, or — with `valuesInline` — that file merged with the inline
//! values through kyaml (`override`: inline wins, `merge`: the file wins, `replace`: the
//! inline values alone), then every `additionalValuesFiles` entry. The output is parsed
//! into resources (hooks and tests included, as plain objects) that join the
//! kustomization's generated resources and go through its transformers.
//!
//! Nothing is pulled: a chart that is not already under its chart home is an error.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Generator, decode};
use crate::error::Error;
use crate::gojson::Mode;
use crate::gotypes::HELM_CHART_INFLATION_GENERATOR_T;
use crate::kustomization::{list, object, scalar, strings};
use crate::loader::Loader;
use crate::resource::Resource;
use crate::{ChartInflation, ValuesFile};
use crunch_yaml::Dialect;

/// kustomize's default chart home, relative to the kustomization.
const DEFAULT_CHART_HOME: &str = "charts";

/// `helmGlobals`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HelmGlobals {
    /// `chartHome`: the directory holding one sub-directory per chart (default `charts`),
    /// relative to the kustomization unless absolute.
    chart_home: Option<String>,
}

impl HelmGlobals {
    /// Reads `helmGlobals`. `configHome` only tells helm where its repositories
    /// configuration lives, which matters for pulls; crunch never pulls, so it is read and
    /// has no effect.
    pub(crate) fn parse(v: &Value, what: &str) -> Result<HelmGlobals, Error> {
        let m = object(v, what)?;
        text(m, "configHome", what)?;
        Ok(HelmGlobals {
            chart_home: Some(text(m, "chartHome", what)?).filter(|s| !s.is_empty()),
        })
    }
}

/// How `valuesInline` combines with the values file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ValuesMerge {
    /// Inline values win over the file's.
    #[default]
    Override,
    /// The file's values win; inline values fill in what it lacks.
    Merge,
    /// Inline values alone; the file is not read.
    Replace,
}

impl ValuesMerge {
    fn parse(s: &str) -> Result<ValuesMerge, Error> {
        match s {
            "" | "override" => Ok(ValuesMerge::Override),
            "merge" => Ok(ValuesMerge::Merge),
            "replace" => Ok(ValuesMerge::Replace),
            _ => Err(Error::new(
                "valuesMerge must be one of [merge override replace]",
            )),
        }
    }
}

/// One `helmCharts` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HelmChart {
    name: String,
    version: String,
    repo: String,
    release_name: String,
    namespace: String,
    name_template: String,
    values_file: String,
    additional_values_files: Vec<String>,
    values_inline: Map<String, Value>,
    values_merge: ValuesMerge,
    include_crds: bool,
    skip_hooks: bool,
    skip_tests: bool,
    api_versions: Vec<String>,
    kube_version: String,
}

impl HelmChart {
    /// Reads a `helmCharts` entry.
    pub(crate) fn parse(v: &Value, what: &str) -> Result<HelmChart, Error> {
        let m = object(v, what)?;
        HelmChart::from_map(m, what)
    }

    fn from_map(m: &Map<String, Value>, what: &str) -> Result<HelmChart, Error> {
        flag(m, "debug", what)?;
        Ok(HelmChart {
            name: text(m, "name", what)?,
            version: text(m, "version", what)?,
            repo: text(m, "repo", what)?,
            release_name: text(m, "releaseName", what)?,
            namespace: text(m, "namespace", what)?,
            name_template: text(m, "nameTemplate", what)?,
            values_file: text(m, "valuesFile", what)?,
            additional_values_files: strings(
                m.get("additionalValuesFiles"),
                &format!("{what}.additionalValuesFiles"),
            )?,
            values_inline: inline_values(m.get("valuesInline"), &format!("{what}.valuesInline"))?,
            values_merge: ValuesMerge::parse(&text(m, "valuesMerge", what)?)?,
            include_crds: flag(m, "includeCRDs", what)?,
            skip_hooks: flag(m, "skipHooks", what)?,
            skip_tests: flag(m, "skipTests", what)?,
            api_versions: strings(m.get("apiVersions"), &format!("{what}.apiVersions"))?,
            kube_version: text(m, "kubeVersion", what)?,
        })
    }
}

/// The deprecated `helmChartInflationGenerator` entries, converted as kustomize converts
/// them: each becomes a chart (after the `helmCharts` ones), and their last non-empty
/// `chartHome` becomes the globals when `helmGlobals` is absent. kustomize ignores
/// `chartRepoName`, `helmBin`, `releaseNamespace` and `extraArgs`, and so does crunch.
pub(crate) fn parse_legacy(v: Option<&Value>) -> Result<(Vec<HelmChart>, HelmGlobals), Error> {
    const WHAT: &str = "helmChartInflationGenerator";
    let mut charts = Vec::new();
    let mut globals = HelmGlobals::default();
    for entry in list(v, WHAT)? {
        let m = object(entry, WHAT)?;
        let renamed: Map<String, Value> = [
            ("chartName", "name"),
            ("chartVersion", "version"),
            ("chartRepoUrl", "repo"),
            ("values", "valuesFile"),
            ("valuesLocal", "valuesInline"),
            ("valuesMerge", "valuesMerge"),
            ("releaseName", "releaseName"),
        ]
        .iter()
        .filter_map(|(old, new)| m.get(*old).map(|v| ((*new).to_string(), v.clone())))
        .collect();
        charts.push(HelmChart::from_map(&renamed, WHAT)?);
        let home = text(m, "chartHome", WHAT)?;
        if !home.is_empty() {
            globals.chart_home = Some(home);
        }
    }
    Ok((charts, globals))
}

/// `helmGlobals` as given, or else the globals of the deprecated entries.
pub(crate) fn globals_or(given: Option<HelmGlobals>, legacy: HelmGlobals) -> HelmGlobals {
    given.unwrap_or(legacy)
}

/// A configured `HelmChartInflationGenerator`: one chart and the globals it is found by.
#[derive(Debug, Clone)]
pub(crate) struct HelmChartInflationGenerator {
    chart: HelmChart,
    globals: HelmGlobals,
}

impl HelmChartInflationGenerator {
    /// The plugin's `kind`, which kustomize's errors name too.
    pub(crate) const KIND: &'static str = "HelmChartInflationGenerator";

    /// The generator of a `helmCharts` entry, found by the kustomization's globals.
    pub(crate) fn new(chart: HelmChart, globals: HelmGlobals) -> HelmChartInflationGenerator {
        HelmChartInflationGenerator { chart, globals }
    }

    /// Reads a plugin config: the globals' fields (`chartHome`, `configHome`) and the
    /// chart's side by side.
    pub(crate) fn read(cfg: &Value) -> Result<HelmChartInflationGenerator, Error> {
        let body = decode(cfg, &HELM_CHART_INFLATION_GENERATOR_T, Mode::YamlUnmarshal)?;
        let (globals, chart): (Map<String, Value>, Map<String, Value>) = body
            .into_iter()
            .partition(|(k, _)| matches!(k.as_str(), "chartHome" | "configHome"));
        Ok(HelmChartInflationGenerator {
            chart: HelmChart::from_map(&chart, Self::KIND)?,
            globals: HelmGlobals::parse(&Value::Object(globals), Self::KIND)?,
        })
    }
}

impl Generator for HelmChartInflationGenerator {
    fn generate(&self, ldr: &Loader) -> Result<Vec<Resource>, Error> {
        inflate(&self.chart, &self.globals, ldr)
    }
}

/// Inflates `chart` as `kubectl kustomize --enable-helm` does: the resources of `helm
/// template`'s output, in its order.
///
/// Errors: no chart inflater (kustomize's message for a missing `--enable-helm`), an
/// empty chart name, a chart missing from its chart home (with `repo` set, kustomize
/// would pull it: crunch builds offline and says so), values files outside the load
/// restrictor's reach or not valid YAML, and Helm's own errors.
fn inflate(chart: &HelmChart, globals: &HelmGlobals, ldr: &Loader) -> Result<Vec<Resource>, Error> {
    let configuring = |e: Error| {
        Error::new(format!(
            "trouble configuring builtin {} for chart {:?}: {}",
            HelmChartInflationGenerator::KIND,
            chart.name,
            e.message()
        ))
    };
    let Some(inflater) = ldr.chart_inflater() else {
        return Err(configuring(Error::new("must specify --enable-helm")));
    };
    if chart.name.is_empty() {
        return Err(configuring(Error::new("chart name cannot be empty")));
    }
    let home = chart_home(chart, globals, ldr.root());
    // Checked before anything runs, as kustomize checks them when it configures the
    // generator.
    let additional = chart
        .additional_values_files
        .iter()
        .map(|f| {
            ldr.read_text(f).map_err(|e| {
                configuring(Error::new(format!(
                    "could not load additionalValuesFile: {}",
                    e.message()
                )))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dir = home.join(&chart.name);
    if !dir.is_dir() {
        return Err(missing_chart(chart, &dir));
    }
    let mut values = vec![base_values(chart, &home, ldr)?];
    values.extend(
        additional
            .into_iter()
            .map(|(path, text)| ValuesFile::Text { path, text }),
    );
    let output = inflater
        .inflate(&ChartInflation {
            chart_dir: &dir,
            release_name: &chart.release_name,
            name_template: &chart.name_template,
            namespace: &chart.namespace,
            values: &values,
            kube_version: &chart.kube_version,
            api_versions: &chart.api_versions,
            include_crds: chart.include_crds,
            skip_hooks: chart.skip_hooks,
            skip_tests: chart.skip_tests,
        })
        .map_err(Error::new)?;
    crate::target::resources_from_text(&output)
        .map_err(|e| Error::new(format!("could not parse the output of chart {dir:?}: {e}")))
}

/// kustomize's `absChartHome`: the chart home against the kustomization root, and, for a
/// chart pulled from a repository at a version, its `<name>-<version>` sub-directory.
fn chart_home(chart: &HelmChart, globals: &HelmGlobals, root: &Path) -> PathBuf {
    let home = root.join(globals.chart_home.as_deref().unwrap_or(DEFAULT_CHART_HOME));
    if !chart.version.is_empty() && !chart.repo.is_empty() {
        return home.join(format!("{}-{}", chart.name, chart.version));
    }
    home
}

fn missing_chart(chart: &HelmChart, dir: &Path) -> Error {
    if chart.repo.is_empty() {
        // kustomize's message, whose path is always empty.
        return Error::new("no repo specified for pull, no chart found at ''");
    }
    Error::new(format!(
        "helm chart {:?} is not in {}: kustomize would pull it from {}, but crunch builds \
         offline; put the chart there",
        chart.name,
        dir.display(),
        chart.repo
    ))
}

/// The first values file kustomize passes with `-f`: the chart's values file as written,
/// or, with `valuesInline`, the values it merges them with (or replaces them by).
fn base_values(chart: &HelmChart, home: &Path, ldr: &Loader) -> Result<ValuesFile, Error> {
    let file = if chart.values_file.is_empty() {
        home.join(&chart.name).join("values.yaml")
    } else {
        PathBuf::from(&chart.values_file)
    };
    let file = file.to_string_lossy();
    // Go's `len(map) > 0`: an empty `valuesInline` copies the file.
    if chart.values_inline.is_empty() {
        let (path, text) = ldr.read_text(&file)?;
        return Ok(ValuesFile::Text { path, text });
    }
    if chart.values_merge == ValuesMerge::Replace {
        return Ok(ValuesFile::Merged(chart.values_inline.clone()));
    }
    let inline = Value::Object(chart.values_inline.clone());
    // kyaml reads the file here (YAML 1.2: `yes` stays a string), and finds no document in
    // a file of blank and comment lines.
    let (path, text) = ldr.read_text(&file)?;
    let has_document = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    });
    if !has_document {
        return Err(Error::new("could not parse values file into rnode: EOF").in_file(&path));
    }
    let from_file = crunch_yaml::parse_document(&text, Dialect::GoYamlV3)
        .map_err(|e| Error::yaml(&path, &e))?;
    let (dest, patch) = match chart.values_merge {
        ValuesMerge::Merge => (inline, from_file),
        _ => (from_file, inline),
    };
    let merged = crate::smp::merge(&dest, &patch)
        .map_err(|e| Error::new(format!("could not merge values: {}", e.message())))?;
    match merged {
        Some(Value::Object(m)) => Ok(ValuesFile::Merged(m)),
        None | Some(Value::Null) => Ok(ValuesFile::Merged(Map::new())),
        Some(other) => Err(Error::new(format!(
            "could not parse merged values into map: {} is not a map",
            serde_json::to_string(&other).unwrap_or_default()
        ))),
    }
}

fn text(m: &Map<String, Value>, key: &str, what: &str) -> Result<String, Error> {
    m.get(key)
        .map_or(Ok(String::new()), |v| scalar(v, &format!("{what}.{key}")))
}

fn flag(m: &Map<String, Value>, key: &str, what: &str) -> Result<bool, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::new(format!(
            "{what}.{key}: json: cannot unmarshal {} into Go value of type bool",
            crunch_yaml::json_kind(other)
        ))),
    }
}

fn inline_values(v: Option<&Value>, what: &str) -> Result<Map<String, Value>, Error> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(Error::new(format!(
            "{what}: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            crunch_yaml::json_kind(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomization::Kustomization;
    use serde_json::json;

    fn chart(v: Value) -> Result<HelmChart, Error> {
        HelmChart::parse(&v, "helmCharts")
    }

    #[test]
    fn values_merge_is_one_of_three() {
        let ok = |mode: &str| chart(json!({"name": "a", "valuesMerge": mode}));
        assert_eq!(
            ok("").map(|c| c.values_merge).ok(),
            Some(ValuesMerge::Override)
        );
        assert_eq!(
            ok("merge").map(|c| c.values_merge).ok(),
            Some(ValuesMerge::Merge)
        );
        assert_eq!(
            ok("replace").map(|c| c.values_merge).ok(),
            Some(ValuesMerge::Replace)
        );
        let err = ok("deep").expect_err("unknown mode");
        assert_eq!(
            err.message(),
            "valuesMerge must be one of [merge override replace]"
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_are_errors() {
        let err = |entry: Value| {
            Kustomization::parse(&json!({ "helmCharts": [entry] }))
                .expect_err("refused")
                .to_string()
        };
        assert!(
            err(json!({"name": "a", "devel": true})).contains("unknown field \"devel\""),
            "unknown field"
        );
        assert!(
            err(json!({"name": "a", "includeCRDs": "yes"})).contains(
                "cannot unmarshal string into Go struct field HelmChart.helmCharts.includeCRDs of type bool"
            ),
            "not a bool"
        );
        assert!(
            err(json!({"name": "a", "valuesInline": [1]})).contains(
                "cannot unmarshal array into Go struct field HelmChart.helmCharts.valuesInline of type map[string]interface {}"
            ),
            "not a map"
        );
    }

    #[test]
    fn versioned_layout_needs_repo_and_version() {
        let root = Path::new("/k");
        let globals = HelmGlobals::default();
        let plain = chart(json!({"name": "a", "version": "1.0.0"})).expect("chart");
        assert_eq!(chart_home(&plain, &globals, root), Path::new("/k/charts"));
        let pulled =
            chart(json!({"name": "a", "version": "1.0.0", "repo": "https://r"})).expect("chart");
        assert_eq!(
            chart_home(&pulled, &globals, root),
            Path::new("/k/charts/a-1.0.0")
        );
        let vendored =
            HelmGlobals::parse(&json!({"chartHome": "/abs/home"}), "helmGlobals").expect("globals");
        assert_eq!(chart_home(&plain, &vendored, root), Path::new("/abs/home"));
    }

    #[test]
    fn legacy_entries_become_charts_and_globals() {
        let legacy = json!([
            {"chartName": "a", "chartHome": "one", "valuesLocal": {"x": 1}, "extraArgs": ["--x"]},
            {"chartName": "b", "chartHome": "two", "releaseNamespace": "ignored"},
        ]);
        let (charts, globals) = parse_legacy(Some(&legacy)).expect("legacy");
        let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(charts[0].values_inline.get("x"), Some(&json!(1)));
        assert_eq!(charts[1].namespace, "");
        assert_eq!(globals.chart_home.as_deref(), Some("two"));
        let given = HelmGlobals::parse(&json!({}), "helmGlobals").expect("globals");
        assert_eq!(globals_or(Some(given.clone()), globals.clone()), given);
        assert_eq!(globals_or(None, globals.clone()), globals);
    }

    #[test]
    fn plugin_config_splits_globals_from_chart() {
        let cfg = json!({
            "apiVersion": "builtin",
            "kind": "HelmChartInflationGenerator",
            "metadata": {"name": "x"},
            "chartHome": "vendor",
            "name": "app",
            "releaseName": "r",
        });
        let g = HelmChartInflationGenerator::read(&cfg).expect("config");
        let (c, g) = (g.chart, g.globals);
        assert_eq!((c.name.as_str(), c.release_name.as_str()), ("app", "r"));
        assert_eq!(g.chart_home.as_deref(), Some("vendor"));
    }
}
