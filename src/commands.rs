//! The single-engine commands: `crunch helm template` and `crunch kustomize`, the surfaces
//! that differential tests compare with `helm template` and `kubectl kustomize`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::compile::SourceOptions;
use crate::error::Error;
use crate::helm::ReleaseName;
use crate::source::{self, Lock};
use crate::{gostd, helm, kustomize};

/// `crunch helm template` arguments, named as helm names its flags.
#[derive(Debug, Clone, Default)]
pub struct HelmTemplate {
    /// Release name, or how to make it.
    pub name: ReleaseName,
    /// Chart directory or archive.
    pub chart: PathBuf,
    /// `-n/--namespace`.
    pub namespace: String,
    /// `-f/--values`, in order; `-` reads standard input.
    pub values: Vec<PathBuf>,
    /// `--set`, `--set-string`, `--set-json`, `--set-file` and `--set-literal` lines, each
    /// flag's in command-line order; applied after the values files, flag by flag in
    /// Helm's order ([`helm::SetFlag::HELM_ORDER`]).
    pub set: Vec<(helm::SetFlag, String)>,
    /// `-s/--show-only`: template paths (globs) whose documents alone are printed.
    pub show_only: Vec<String>,
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
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// Seed for random functions.
    pub seed: String,
    /// `--now`: what the clock functions read.
    pub now: gostd::time::Clock,
}

/// What `helm template` would print.
pub fn helm_template(args: &HelmTemplate) -> Result<String, Error> {
    let release_name = args.name.resolve(args.now).map_err(Error::new)?;
    let values = helm_user_values(args)?;
    let chart = helm::load_chart(&args.chart).map_err(Error::new)?;
    let options = helm::RenderOptions {
        release_name,
        namespace: args.namespace.clone(),
        revision: 1,
        is_upgrade: args.is_upgrade,
        capabilities: helm::Capabilities::helm_template(
            args.kube_version.as_deref(),
            &args.api_versions,
        ),
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        no_hooks: args.no_hooks,
        skip_schema_validation: args.skip_schema_validation,
        seed: args.seed.clone(),
        now: args.now,
    };
    let rendered = helm::render_values(chart, &values, &options).map_err(Error::new)?;
    let output = helm::template_output(&rendered, &options);
    if args.show_only.is_empty() {
        return Ok(output);
    }
    helm::show_only(&output, &args.show_only).map_err(Error::new)
}

/// Helm's `MergeValues`: the values files in order, then the `--set` flags in Helm's order.
fn helm_user_values(args: &HelmTemplate) -> Result<Map<String, Value>, Error> {
    let mut values = Map::new();
    for file in &args.values {
        let text = read_input(file)?;
        let loaded = helm::load_values(&text)
            .map_err(|e| Error::new(format!("failed to parse {}: {e}", file.display())))?;
        helm::merge_maps(&mut values, loaded);
    }
    let mut read_file = |path: &str| read_input(Path::new(path)).map_err(|e| e.to_string());
    for flag in helm::SetFlag::HELM_ORDER {
        for (_, line) in args.set.iter().filter(|(f, _)| *f == flag) {
            helm::apply_set(flag, line, &mut values, &mut read_file).map_err(Error::new)?;
        }
    }
    Ok(values)
}

/// What `kubectl kustomize DIR` would print (with `options`: `--load-restrictor`,
/// `--enable-helm`). Remote bases are fetched through the source layer (mirrors, cache),
/// like `crunch build` fetches them, without a lock.
pub fn kustomize(
    dir: &Path,
    options: &kustomize::Options<'_>,
    sources: &SourceOptions,
) -> Result<String, Error> {
    let store = sources.open(&[], Lock::default())?;
    let remote = source::Recorder::new(&store);
    let objects = kustomize::build(dir, &remote, options).map_err(Error::new)?;
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
    std::fs::read_to_string(path).map_err(|e| {
        // Go's `os.ReadFile` wording, which Helm prints.
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        Error::new(format!("open {}: {reason}", path.display()))
    })
}
