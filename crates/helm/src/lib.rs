//! Helm charts, rendered natively: what `helm template` (Helm v4.1.4) prints, byte for
//! byte.
//!
//! [`load_chart`] reads a chart directory or archive; [`render`] resolves subcharts,
//! coalesces values, executes the templates through [`crunch_template`] and sorts the
//! result into CRDs, manifests and hooks; [`template_output`] prints that as `helm
//! template` does.

mod caps;
mod chart;
mod deps;
mod engine;
mod error;
mod formats;
mod funcs;
mod glob;
mod ignore;
mod load;
mod manifest;
mod objects;
mod release;
mod schema;
mod show;
mod strvals;
mod tables;
mod values;

pub use caps::Capabilities;
pub use chart::{Chart, Dependency, File, Maintainer, Metadata};
pub use error::{Error, ErrorKind};
pub use load::load_chart;
pub use manifest::Manifest;
pub use release::ReleaseName;
pub use show::show_only;
pub use strvals::{FileReader, SetFlag, apply_set};
pub use values::{float_numbers, load_values, merge_maps};

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

/// The release `helm template` pretends to install, and its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// `.Release.Name`.
    pub release_name: String,
    /// `.Release.Namespace` (`-n`).
    pub namespace: String,
    /// `.Release.Revision` (`helm template` always uses 1).
    pub revision: u32,
    /// `--is-upgrade`: `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    pub is_upgrade: bool,
    /// `--kube-version` and `--api-versions`.
    pub capabilities: Capabilities,
    /// `--include-crds`: print `crds/` files first.
    pub include_crds: bool,
    /// `--skip-tests`: leave out `test` hooks.
    pub skip_tests: bool,
    /// `--no-hooks`: leave out all hooks.
    pub no_hooks: bool,
    /// `--skip-schema-validation`: do not check the values against `values.schema.json`.
    pub skip_schema_validation: bool,
    /// Seed of the random functions (`randAlphaNum`, `uuidv4`, …), combined with the
    /// release name so a render is reproducible.
    pub seed: String,
    /// The instant `now` and the other clock functions see (the Unix epoch by default, so
    /// a render never depends on when it ran).
    pub now: crunch_gostd::time::Clock,
}

impl Default for RenderOptions {
    /// `helm template` without flags: release `release-name` in namespace `default`.
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            capabilities: Capabilities::default(),
            include_crds: false,
            skip_tests: false,
            no_hooks: false,
            skip_schema_validation: false,
            seed: String::new(),
            now: crunch_gostd::time::Clock::default(),
        }
    }
}

/// A rendered chart, sorted as Helm installs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `crds/` files of the chart and its enabled subcharts, verbatim.
    pub crds: Vec<Manifest>,
    /// Ordinary manifests, in Helm's install order.
    pub manifests: Vec<Manifest>,
    /// Hook documents (`helm.sh/hook`), in Helm's install order.
    pub hooks: Vec<Hook>,
    /// The top chart's rendered `templates/NOTES.txt`, if it has one.
    pub notes: Option<String>,
    /// The chart and every subchart that rendered (conditions and tags applied), the
    /// chart first: what their `Chart.yaml` says of them beyond templates (the images
    /// their annotations list, for air-gapped sites).
    pub charts: Vec<RenderedChart>,
}

/// A chart that took part in a render: its name (the alias a parent gave it), version
/// and `Chart.yaml` annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChart {
    /// `name`, or the alias its parent knows it by.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// A hook document and the events it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The document.
    pub manifest: Manifest,
    /// Lower-cased events (`pre-install`, `test`, …; `test-success` reads as `test`).
    pub events: Vec<String>,
}

impl Hook {
    /// True for test hooks, which `--skip-tests` leaves out.
    #[must_use]
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// Renders `chart` with `user_values` (already merged from values files) as `helm
/// template` does.
///
/// # Errors
/// Helm's errors, with Helm's messages: uninstallable (library) charts, missing
/// dependencies, values type mismatches, an incompatible `kubeVersion`, template parse and
/// execution errors, manifests that are not valid YAML, and values that fail the charts'
/// `values.schema.json` (a non-local `$ref` there is [`ErrorKind::Unsupported`]).
pub fn render(chart: Chart, user_values: Value, opts: &RenderOptions) -> Result<Rendered, Error> {
    // JSON values reach Helm through `encoding/json`: every number is a `float64`.
    let user = match values::float_numbers(user_values) {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        other => {
            return Err(Error::new(
                ErrorKind::Values,
                format!(
                    "values must be a map, got {}",
                    crunch_yaml::json_kind(&other)
                ),
            ));
        }
    };
    render_values(chart, &user, opts)
}

/// Renders `chart` with user values typed as Helm types them on its command line: numbers
/// from values files ([`load_values`]) and `--set-json` are `float64`, integers from
/// `--set` ([`apply_set`]) stay `int64`.
///
/// # Errors
/// As [`render`].
pub fn render_values(
    mut chart: Chart,
    user: &serde_json::Map<String, Value>,
    opts: &RenderOptions,
) -> Result<Rendered, Error> {
    let kube = caps::KubeVersion::parse(&opts.capabilities.kube_version)?;
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(Error::load(format!(
            "{} charts are not installable",
            chart.metadata.chart_type
        )));
    }
    deps::check_dependencies(&chart)?;
    deps::process(&mut chart, user)?;
    let coalesced = values::coalesce_chart(&chart, user, values::Mode::Coalesce)?;
    if !opts.skip_schema_validation {
        schema::validate(&chart, &coalesced)?;
    }
    if !chart.metadata.kube_version.is_empty()
        && !crunch_semver::satisfies(&chart.metadata.kube_version, &kube.normalized)
    {
        return Err(Error::render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, kube.version
        )));
    }
    // Documents are read on rayon's threads while later templates still render.
    let notes_path = format!("{}/templates/NOTES.txt", chart.name());
    let notes = Mutex::new(None);
    let sorter = manifest::Sorter::default();
    rayon::in_place_scope(|scope| {
        engine::render(&chart, &coalesced, opts, &kube, &|path, text| {
            if path.ends_with("NOTES.txt") {
                if path == notes_path {
                    *notes.lock().unwrap_or_else(PoisonError::into_inner) = Some(text);
                }
                return;
            }
            let sorter = &sorter;
            scope.spawn(move |_| sorter.add(path, &text));
        })
    })?;
    let notes = notes.into_inner().unwrap_or_else(PoisonError::into_inner);
    let sorted = sorter.finish()?;
    Ok(Rendered {
        crds: crds(&chart, chart.name()),
        manifests: sorted.manifests,
        hooks: sorted
            .hooks
            .into_iter()
            .map(|(manifest, events)| Hook { manifest, events })
            .collect(),
        notes,
        charts: rendered_charts(&chart),
    })
}

/// `chart` and its subcharts, depth first, as [`RenderedChart`]s (disabled subcharts are
/// gone by now).
fn rendered_charts(chart: &Chart) -> Vec<RenderedChart> {
    let mut out = vec![RenderedChart {
        name: chart.metadata.name.clone(),
        version: chart.metadata.version.clone(),
        annotations: chart.metadata.annotations.clone().unwrap_or_default(),
    }];
    for sub in &chart.dependencies {
        out.extend(rendered_charts(sub));
    }
    out
}

/// `crds/*.{yaml,yml,json}` of the chart, then of its subcharts (Helm's `CRDObjects`).
fn crds(chart: &Chart, full_path: &str) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = chart
        .files
        .iter()
        .filter(|f| {
            let ext = f.name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            f.name.starts_with("crds/") && matches!(ext.as_deref(), Some("yaml" | "yml" | "json"))
        })
        .map(|f| Manifest {
            source: format!("{full_path}/{}", f.name),
            content: String::from_utf8_lossy(&f.data).into_owned(),
        })
        .collect();
    for sub in &chart.dependencies {
        out.extend(crds(sub, &format!("{full_path}/charts/{}", sub.name())));
    }
    out
}

/// Exactly what `helm template` prints on stdout for `r`.
#[must_use]
pub fn template_output(r: &Rendered, opts: &RenderOptions) -> String {
    let mut body = String::new();
    let mut section = |m: &Manifest| {
        body.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    };
    if opts.include_crds {
        r.crds.iter().for_each(&mut section);
    }
    r.manifests.iter().for_each(&mut section);
    let mut out = format!("{}\n", body.trim());
    if !opts.no_hooks {
        for hook in &r.hooks {
            if opts.skip_tests && hook.is_test() {
                continue;
            }
            let m = &hook.manifest;
            out.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
        }
    }
    out
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
