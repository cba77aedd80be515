//! The single-engine commands: `crunch helm template` and `crunch kustomize`, the surfaces
//! that differential tests compare with `helm template` and `kubectl kustomize`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::build::SourceOptions;
use crate::error::Error;
use crate::flux::SourceRemote;
use crate::object::merge_maps;
use crate::source::Lock;
use crate::{helm, kustomize, yaml};

/// `crunch helm template` arguments, named as helm names its flags.
#[derive(Debug, Clone, Default)]
pub struct HelmTemplate {
    /// Release name.
    pub name: String,
    /// Chart directory or archive.
    pub chart: PathBuf,
    /// `-n/--namespace`.
    pub namespace: String,
    /// `-f/--values`, in order; `-` reads standard input.
    pub values: Vec<PathBuf>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--no-hooks`.
    pub no_hooks: bool,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// Seed for random functions.
    pub seed: String,
}

/// What `helm template` would print.
pub fn helm_template(args: &HelmTemplate) -> Result<String, Error> {
    let mut values = Map::new();
    for file in &args.values {
        let text = read_input(file)?;
        match yaml::parse_document(&text, yaml::Dialect::GoYamlV2)
            .map_err(|e| Error::new(format!("{}: {e}", file.display())))?
        {
            Value::Object(map) => merge_maps(&mut values, map),
            Value::Null => {}
            _ => {
                return Err(Error::new(format!(
                    "{}: values must be a map",
                    file.display()
                )));
            }
        }
    }
    let chart = helm::load_chart(&args.chart).map_err(Error::new)?;
    let options = helm::RenderOptions {
        release_name: args.name.clone(),
        namespace: args.namespace.clone(),
        revision: 1,
        is_upgrade: args.is_upgrade,
        capabilities: helm::Capabilities {
            kube_version: args
                .kube_version
                .clone()
                .unwrap_or_else(|| crate::config::ClusterProfile::default().kube_version),
            api_versions: args.api_versions.clone(),
        },
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        no_hooks: args.no_hooks,
        seed: args.seed.clone(),
    };
    let rendered = helm::render(&chart, &Value::Object(values), &options).map_err(Error::new)?;
    Ok(helm::template_output(&rendered, &options))
}

/// What `kubectl kustomize DIR` would print. Remote bases are fetched through the source
/// layer (mirrors, cache), like `crunch build` fetches them, without a lock.
pub fn kustomize(
    dir: &Path,
    load_restrictor: kustomize::LoadRestrictor,
    sources: &SourceOptions,
) -> Result<String, Error> {
    let store = sources.open(&[], Lock::default())?;
    let remote = SourceRemote::new(&store);
    let options = kustomize::Options { load_restrictor };
    let objects = kustomize::build(dir, &remote, &options).map_err(Error::new)?;
    Ok(kustomize::to_output(&objects))
}

fn read_input(path: &Path) -> Result<String, Error> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::new(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}
