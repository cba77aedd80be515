//! The chart helm-controller installs from a chart directory in a GitRepository: the
//! artifact source-controller's HelmChart reconciler packages from it
//! (`internal/helm/chart/builder_local.go`). Packaging changes two things a template can
//! see: the default values, when `valuesFiles` are given, and the version, which gets
//! build metadata: the commit under the `Revision` reconcile strategy, the HelmChart's
//! generation when `valuesFiles` are given.

use std::path::{Component as PathPart, Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::Error;
use crate::{helm, semver, yaml};

/// The generation of the HelmChart helm-controller creates for a HelmRelease: a bundle is
/// a first install, so its HelmChart is at its first generation.
const HELM_CHART_GENERATION: u64 = 1;

/// The fields of a HelmRelease's `chart.spec`, or of a HelmChart, that change the package
/// source-controller makes.
#[derive(Debug, Clone, Default)]
pub struct Packaging {
    /// Values files merged in place of the chart's `values.yaml`, in order.
    pub values_files: Vec<String>,
    /// Whether a missing values file is skipped.
    pub ignore_missing_values_files: bool,
    /// `Revision` stamps a GitRepository chart's version with the commit.
    pub reconcile_strategy: Option<String>,
}

impl Packaging {
    /// The values files that change anything: source-controller's `GetValuesFiles`, for
    /// which the chart's own `values.yaml` alone is none.
    fn values_files(&self) -> &[String] {
        match self.values_files.as_slice() {
            [only] if crate::gostd::path::clean(only) == "values.yaml" => &[],
            files => files,
        }
    }
}

/// Loads the chart at `chart_dir` inside the source tree at `root` (checked out at
/// `commit`) as source-controller packages it (`builder_local.go`).
pub fn load(
    root: &Path,
    chart_dir: &Path,
    packaging: &Packaging,
    commit: &str,
) -> Result<helm::Chart, Error> {
    let files = packaging.values_files();
    let mut chart = helm::load_chart(chart_dir).map_err(Error::new)?;
    let mut metadata = Vec::new();
    if packaging.reconcile_strategy.as_deref() == Some("Revision") {
        // The first 12 hex digits of the commit, to leave room in labels.
        metadata.push(commit.chars().take(12).collect::<String>());
    }
    if !files.is_empty() {
        metadata.push(HELM_CHART_GENERATION.to_string());
    }
    stamp_version(&mut chart, &metadata.join("."))?;
    if files.is_empty() {
        return Ok(chart);
    }
    let merged = merge_values_files(root, files, packaging.ignore_missing_values_files)?;
    if !chart_dir.join("values.yaml").is_file() {
        return Err(Error::new("failed to locate values file: values.yaml"));
    }
    replace_values(&mut chart, merged)?;
    Ok(chart)
}

/// Loads a chart archive of a Helm repository as source-controller packages it
/// (`builder_remote.go`): with values files, which are files of the chart itself, merged
/// into its default values and the version stamped with the HelmChart's generation.
pub fn load_package(archive: &Path, packaging: &Packaging) -> Result<helm::Chart, Error> {
    let mut chart = helm::load_chart(archive).map_err(Error::new)?;
    let files = packaging.values_files();
    if files.is_empty() {
        return Ok(chart);
    }
    stamp_version(&mut chart, &HELM_CHART_GENERATION.to_string())?;
    let mut merged = Map::new();
    for file in files {
        let cleaned = crate::gostd::path::clean(file);
        if cleaned == "values.yaml" {
            helm::merge_maps(&mut merged, chart.values.clone());
            continue;
        }
        let Some(found) = chart.files.iter().find(|f| f.name == cleaned) else {
            if packaging.ignore_missing_values_files {
                continue;
            }
            return Err(Error::new(format!(
                "failed to merge chart values: no values file found at path '{file}'"
            )));
        };
        let text = String::from_utf8_lossy(&found.data);
        helm::merge_maps(&mut merged, values_map(&text, file)?);
    }
    replace_values(&mut chart, merged)?;
    Ok(chart)
}

/// Loads the chart of an OCIRepository artifact (`chartRef`) as helm-controller does: its
/// version gets the first 12 digits of the manifest digest as build metadata, so that a
/// moved tag is seen; a tag that reads as a version must be the chart's.
pub fn load_oci(archive: &Path, tag: &str, digest: &str) -> Result<helm::Chart, Error> {
    let mut chart = helm::load_chart(archive).map_err(Error::new)?;
    let version = semver::Version::parse(&chart.metadata.version)
        .map_err(|_| Error::new(format!("invalid chart version {}", chart.metadata.version)))?;
    if !tag.is_empty()
        && let Ok(tagged) = semver::Version::parse(&tag.replace('_', "+"))
        && tagged != version
    {
        return Err(Error::new(format!(
            "artifact revision {tag} does not match chart version {}",
            chart.metadata.version
        )));
    }
    let hex = digest.split_once(':').map_or("", |(_, hex)| hex);
    if hex.len() < 12 {
        return Err(Error::new(format!("invalid artifact revision {digest}")));
    }
    stamp_version(&mut chart, &hex[..12])?;
    Ok(chart)
}

/// Sets `metadata` (when not empty) as the build metadata of the chart's version.
fn stamp_version(chart: &mut helm::Chart, metadata: &str) -> Result<(), Error> {
    if metadata.is_empty() {
        return Ok(());
    }
    let version = semver::Version::parse(&chart.metadata.version)
        .and_then(|v| v.with_metadata(metadata))
        .map_err(|e| {
            Error::new(format!(
                "failed to parse version from chart metadata as SemVer: {e}"
            ))
        })?;
    chart.metadata.version = version.to_string();
    Ok(())
}

/// Replaces the chart's default values with `merged`, written as `sigs.k8s.io/yaml`
/// writes the packaged `values.yaml` (nothing when empty) and read back by Helm.
fn replace_values(chart: &mut helm::Chart, merged: Map<String, Value>) -> Result<(), Error> {
    let text = if merged.is_empty() {
        String::new()
    } else {
        yaml::marshal(&Value::Object(merged)).map_err(|e| Error::new(e.to_string()))?
    };
    chart.values = helm::load_values(&text).map_err(Error::new)?;
    Ok(())
}

/// A values file's map, as source-controller reads it (`sigs.k8s.io/yaml` into a map).
fn values_map(text: &str, file: &str) -> Result<Map<String, Value>, Error> {
    let failed = |e: String| Error::new(format!("unmarshaling values from '{file}' failed: {e}"));
    match yaml::parse_document(text, yaml::Dialect::GoYamlV2) {
        Ok(Value::Object(values)) => Ok(values),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(failed(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            yaml::json_kind(&other)
        ))),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// source-controller's `mergeFileValues`: each file, relative to the source's root, read
/// as a map and merged over the ones before it.
fn merge_values_files(
    root: &Path,
    files: &[String],
    ignore_missing: bool,
) -> Result<Map<String, Value>, Error> {
    let mut merged = Map::new();
    for file in files {
        let (path, shown) = secure_join(root, file);
        if ignore_missing && !path.exists() {
            continue;
        }
        let leaves = path
            .canonicalize()
            .ok()
            .zip(root.canonicalize().ok())
            .is_some_and(|(path, root)| !path.starts_with(root));
        if !path.is_file() || leaves {
            return Err(Error::new(format!(
                "no values file found at path '{shown}' (reference '{file}')"
            )));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::new(format!("could not read values from file '{file}': {e}")))?;
        helm::merge_maps(&mut merged, values_map(&text, file)?);
    }
    Ok(merged)
}

/// `filepath-securejoin`'s lexical part: `file` under `root`, `..` never climbing above it;
/// also the joined path as source-controller's messages show it (from the root, with a
/// leading `/`).
fn secure_join(root: &Path, file: &str) -> (PathBuf, String) {
    let mut parts: Vec<String> = Vec::new();
    for part in Path::new(file).components() {
        match part {
            PathPart::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            PathPart::ParentDir => {
                parts.pop();
            }
            PathPart::CurDir | PathPart::RootDir | PathPart::Prefix(_) => {}
        }
    }
    let joined = parts
        .iter()
        .fold(root.to_path_buf(), |p, part| p.join(part));
    (joined, format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// source-controller's `mergeFileValues`: in order, later files winning; a missing
    /// file is an error unless ignored; a file must hold a map.
    #[test]
    fn values_files_merge_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("a.yaml"), "x: {a: 1, b: 2}\n").unwrap();
        std::fs::write(root.join("b.yaml"), "x: {b: 3}\nz: null\n").unwrap();
        std::fs::write(root.join("list.yaml"), "- 1\n").unwrap();
        let files = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let merged =
            merge_values_files(root, &files(&["a.yaml", "b.yaml", "c.yaml"]), true).unwrap();
        assert_eq!(
            Value::Object(merged),
            serde_json::json!({"x": {"a": 1, "b": 3}, "z": null})
        );
        let e = merge_values_files(root, &files(&["a.yaml", "../c.yaml"]), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no values file found at path '/c.yaml' (reference '../c.yaml')"
        );
        let e = merge_values_files(root, &files(&["list.yaml"]), false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unmarshaling values from 'list.yaml' failed: "),
            "{e}"
        );
    }

    #[test]
    fn joins_stay_under_the_root() {
        let root = Path::new("/src");
        assert_eq!(
            secure_join(root, "../../etc/values.yaml"),
            (
                PathBuf::from("/src/etc/values.yaml"),
                "/etc/values.yaml".into()
            )
        );
        assert_eq!(
            secure_join(root, "./charts/app/../app/prod.yaml"),
            (
                PathBuf::from("/src/charts/app/prod.yaml"),
                "/charts/app/prod.yaml".into()
            )
        );
        assert_eq!(
            secure_join(root, "/abs.yaml"),
            (PathBuf::from("/src/abs.yaml"), "/abs.yaml".into())
        );
    }
}
