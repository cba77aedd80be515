//! kustomize's `helmCharts` inflated by crunch's Helm engine: the [`ChartInflater`] that
//! `crunch kustomize --enable-helm` hands kustomize. Neither engine knows the other; this
//! bridge knows both.

use serde_json::{Map, Value};

use crate::gostd::time::Clock;
use crate::helm::{self, ReleaseName};
use crate::kustomize::{ChartInflater, ChartInflation, ValuesFile};

/// Inflates charts with crunch's Helm engine, as `helm template` would for kustomize.
#[derive(Debug, Clone, Copy, Default)]
pub struct HelmInflater;

impl ChartInflater for HelmInflater {
    /// Reads and merges the values files as helm does its `-f` files, loads the chart and
    /// renders it with the flags kustomize passes; returns `helm template`'s output.
    fn inflate(&self, chart: &ChartInflation<'_>) -> Result<String, String> {
        let mut values = Map::new();
        for file in chart.values {
            let loaded = match file {
                ValuesFile::Text { path, text } => helm::load_values(text)
                    .map_err(|e| format!("failed to parse {}: {e}", path.display()))?,
                ValuesFile::Merged(merged) => merged.clone(),
            };
            helm::merge_maps(&mut values, loaded);
        }
        let loaded = helm::load_chart(chart.chart_dir).map_err(|e| e.to_string())?;
        let options = render_options(chart)?;
        let rendered =
            helm::render(loaded, Value::Object(values), &options).map_err(|e| e.to_string())?;
        Ok(helm::template_output(&rendered, &options))
    }
}

/// The `helm template` flags kustomize passes, as render options. Without `releaseName`
/// kustomize passes `--generate-name`, which `helm template` answers with `release-name`.
fn render_options(chart: &ChartInflation<'_>) -> Result<helm::RenderOptions, String> {
    let name = match (chart.release_name, chart.name_template) {
        ("", "") => ReleaseName::default(),
        ("", template) => ReleaseName::Template(template.to_string()),
        (given, "") => ReleaseName::Given(given.to_string()),
        _ => return Err("cannot set --name-template and also specify a name".to_string()),
    };
    let kube_version = Some(chart.kube_version).filter(|k| !k.is_empty());
    Ok(helm::RenderOptions {
        // A name template's clock functions read crunch's fixed clock, not the wall clock
        // helm would read: the build stays reproducible.
        release_name: name.resolve(Clock::default()).map_err(|e| e.to_string())?,
        namespace: if chart.namespace.is_empty() {
            // helm's namespace without `-n` and without a kubeconfig.
            "default".to_string()
        } else {
            chart.namespace.to_string()
        },
        capabilities: helm::Capabilities::helm_template(kube_version, chart.api_versions),
        include_crds: chart.include_crds,
        skip_tests: chart.skip_tests,
        no_hooks: chart.skip_hooks,
        ..helm::RenderOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn release_name(release_name: &str, name_template: &str) -> Result<String, String> {
        let chart = ChartInflation {
            chart_dir: Path::new("/charts/a"),
            release_name,
            name_template,
            namespace: "",
            values: &[],
            kube_version: "",
            api_versions: &[],
            include_crds: false,
            skip_hooks: false,
            skip_tests: false,
        };
        render_options(&chart).map(|o| o.release_name)
    }

    #[test]
    fn release_names_follow_helm_template() {
        assert_eq!(release_name("", "").ok().as_deref(), Some("release-name"));
        assert_eq!(
            release_name("", "{{ \"t\" }}-x").ok().as_deref(),
            Some("t-x")
        );
        assert!(release_name("r", "t").is_err());
        assert!(release_name("Bad_Name", "").is_err());
    }
}
