//! The single-engine commands: `crunch helm template` and `crunch kustomize`, the surfaces
//! that differential tests compare with `helm template` and `kubectl kustomize`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::build::SourceOptions;
use crate::error::Error;
use crate::flux::SourceRemote;
use crate::source::Lock;
use crate::{helm, kustomize, template};

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
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// Seed for random functions.
    pub seed: String,
}

/// Where `helm template`'s release name comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseName {
    /// `NAME` as given (`release-name` when omitted).
    Given(String),
    /// `--name-template`: Go template text with Sprig's functions, executed without data.
    Template(String),
}

impl Default for ReleaseName {
    /// Helm's name when neither `NAME` nor `--name-template` is given.
    fn default() -> Self {
        ReleaseName::Given("release-name".to_owned())
    }
}

impl ReleaseName {
    /// Helm's reading of `helm template [NAME] CHART` (`positional` holds one or two
    /// arguments) with `--name-template` and `--generate-name`: the release name and the
    /// chart. An empty template counts as absent, as in Helm.
    ///
    /// # Errors
    /// `--generate-name` (a name from the clock would make the output irreproducible),
    /// and `NAME` together with `--name-template`, which Helm refuses too.
    pub fn from_args(
        positional: &[PathBuf],
        name_template: Option<&str>,
        generate_name: bool,
    ) -> Result<(ReleaseName, PathBuf), Error> {
        if generate_name {
            return Err(Error::new(
                "--generate-name is not supported: a name made up from the clock is not \
                 reproducible; give NAME or --name-template",
            ));
        }
        let template = name_template.filter(|t| !t.is_empty());
        match (positional, template) {
            ([name, chart], None) => Ok((
                ReleaseName::Given(name.to_string_lossy().into_owned()),
                chart.clone(),
            )),
            ([_, _], Some(_)) => Err(Error::new(
                "cannot set --name-template and also specify a name",
            )),
            ([chart], Some(text)) => Ok((ReleaseName::Template(text.to_owned()), chart.clone())),
            ([chart], None) => Ok((ReleaseName::default(), chart.clone())),
            _ => Err(Error::new("expected [NAME] CHART")),
        }
    }

    /// The name itself, checked as Helm checks release names.
    ///
    /// # Errors
    /// The template's parse or execution error, or a name Helm would refuse.
    pub fn resolve(&self) -> Result<String, Error> {
        let name = match self {
            ReleaseName::Given(name) => name.clone(),
            ReleaseName::Template(text) => execute_name_template(text)?,
        };
        check_release_name(&name)?;
        Ok(name)
    }
}

/// Helm's `TemplateName`: a fresh Go template named `name-template` with Sprig's text
/// functions (none of Helm's own), Go's default options, and nil data.
fn execute_name_template(text: &str) -> Result<String, Error> {
    const NAME: &str = "name-template";
    let options = template::Options {
        // A name template runs on the caller's stack, not on a render thread.
        max_nesting: 64,
        ..template::Options::default()
    };
    let mut set = template::Templates::new(NAME, template::FuncMap::sprig(), options);
    set.parse(NAME, text).map_err(Error::new)?;
    set.execute(NAME, template::Value::Nil).map_err(Error::new)
}

/// Helm's `ValidateReleaseName`: a DNS-1123 subdomain of at most 53 characters.
fn check_release_name(name: &str) -> Result<(), Error> {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes.iter().all(|b| alnum(b) || *b == b'-')
    };
    let problem = if name.is_empty() {
        "no name provided"
    } else if name.len() > 53 || !name.split('.').all(label_ok) {
        "invalid release name, must match regex \
         ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length \
         must not be longer than 53"
    } else {
        return Ok(());
    };
    Err(Error::new(format!(
        "release name check failed: release name {name:?}: {problem}"
    )))
}

/// What `helm template` would print.
pub fn helm_template(args: &HelmTemplate) -> Result<String, Error> {
    let release_name = args.name.resolve()?;
    let values = helm_user_values(args)?;
    let chart = helm::load_chart(&args.chart).map_err(Error::new)?;
    let options = helm::RenderOptions {
        release_name,
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
    let rendered = helm::render_values(&chart, &values, &options).map_err(Error::new)?;
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
        values = helm::merge_maps(values, loaded);
    }
    let mut read_file = |path: &str| read_input(Path::new(path)).map_err(|e| e.to_string());
    for flag in helm::SetFlag::HELM_ORDER {
        for (_, line) in args.set.iter().filter(|(f, _)| *f == flag) {
            helm::apply_set(flag, line, &mut values, &mut read_file).map_err(Error::new)?;
        }
    }
    Ok(values)
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
