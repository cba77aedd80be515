//! kustomize v5 (as `kubectl kustomize` v5.5 builds) as a pure function of a directory.
//!
//! [`build`] reads a kustomization tree and returns its objects in kustomize's output
//! order; [`to_output`] prints them exactly as `kubectl kustomize` does. Nothing here
//! touches the network: remote bases are fetched by the caller through [`Remote`]. Nor
//! does anything here render a Helm chart: `helmCharts` are inflated by the caller's
//! [`ChartInflater`], given with the [`Options`].
//!
//! The pieces, in build order: `loader` (files, load restrictor, sub-roots, cycles),
//! `kustomization` (the file's fields, decoded as Go decodes them by `gojson` into the
//! types of `gotypes`), `target` (accumulation), `config` + `crds` (field specs), then
//! the builtin generators and transformers: `builtins` (one file per builtin and the one
//! dispatcher), configured from the kustomization's fields by `configure` and from plugin
//! configs in `generators`/`transformers`/`validators` by `plugins`, on the shared
//! machinery `generators` (ConfigMaps and Secrets), `patch` (+ `smp` driven by `schema`:
//! kyaml's one schema per build, built in or from an `openapi` field, + `json6902`) and
//! `replacements`; then once at the top: the `HashTransformer`, `nameref`, `vars`,
//! `origin` (`buildMetadata`) and the `SortOrderTransformer`.
//!
//! ```
//! use std::path::PathBuf;
//! use crunch_kustomize::{Options, Remote, RemoteTarget, build, to_output};
//!
//! /// This example has no remote bases.
//! struct Offline;
//! impl Remote for Offline {
//!     fn fetch(&self, target: &RemoteTarget) -> Result<PathBuf, String> {
//!         Err(format!("{} is remote", target.repo_url))
//!     }
//! }
//!
//! let dir = std::env::temp_dir().join(format!("kustomize-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("kustomization.yaml"), "namePrefix: dev-\nconfigMapGenerator:\n- name: app\n  literals: [mode=fast]\n").unwrap();
//! let objects = build(&dir, &Offline, &Options::default()).unwrap();
//! assert_eq!(
//!     to_output(&objects),
//!     "apiVersion: v1\ndata:\n  mode: fast\nkind: ConfigMap\nmetadata:\n  name: dev-app-t82mkhg8fd\n"
//! );
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod builtins;
mod config;
mod configure;
mod crds;
mod error;
mod fieldspec;
mod generators;
mod gojson;
mod gotypes;
mod json6902;
mod kustomization;
mod loader;
mod nameref;
mod origin;
mod patch;
mod plugins;
mod remote;
mod replacements;
mod resid;
mod resource;
mod schema;
mod smp;
mod target;
mod util;
mod vars;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use error::Error;

use builtins::Transformer;
use builtins::annotations_transformer::AnnotationsTransformer;
use builtins::label_transformer::LabelTransformer;
use builtins::sort_order_transformer::SortOrder;
use kustomization::{Kind, Kustomization};
use loader::Loader;
use target::Accumulator;

/// A remote base, as kustomize parses its URL forms
/// (`https://host/org/repo.git//path?ref=v1`, `github.com/org/repo/path?ref=v1`, `git::`,
/// `ssh://`, `git@host:org/repo`, `?version=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The repository to clone, e.g. `https://repo1.dso.mil/big-bang/bigbang.git`.
    pub repo_url: String,
    /// The directory inside the repository; may be empty.
    pub path: String,
    /// `?ref=` (or `?version=`), when given.
    pub reference: Option<String>,
}

/// Fetches remote bases for the build; crunch's source layer implements it.
pub trait Remote: Sync {
    /// Returns the root directory of a checked-out copy of `target.repo_url` at
    /// `target.reference`.
    ///
    /// # Errors
    /// Whatever made the repository unavailable, as text.
    fn fetch(&self, target: &RemoteTarget) -> Result<PathBuf, String>;
}

/// Inflates Helm charts, as kustomize runs `helm template` for `helmCharts` and
/// `HelmChartInflationGenerator` configs; crunch's Helm engine implements it.
pub trait ChartInflater: Sync {
    /// Renders a chart as `helm template` does with the flags kustomize passes for it.
    ///
    /// # Errors
    /// Helm's error, as text.
    fn inflate(&self, chart: &ChartInflation<'_>) -> Result<String, String>;
}

/// One chart to inflate: what kustomize hands `helm template`.
#[derive(Debug, Clone, Copy)]
pub struct ChartInflation<'a> {
    /// The chart's directory under its chart home, known to exist.
    pub chart_dir: &'a Path,
    /// `releaseName`; empty when not set, for which kustomize passes `--generate-name`.
    pub release_name: &'a str,
    /// `nameTemplate` (`--name-template`); empty when not set.
    pub name_template: &'a str,
    /// `namespace` (`--namespace`); empty when not set.
    pub namespace: &'a str,
    /// The values files (`-f`), in order: the chart's values (or `valuesFile`, or those
    /// merged with `valuesInline`), then the `additionalValuesFiles`.
    pub values: &'a [ValuesFile],
    /// `kubeVersion` (`--kube-version`); empty when not set.
    pub kube_version: &'a str,
    /// `apiVersions` (`--api-versions`).
    pub api_versions: &'a [String],
    /// `includeCRDs` (`--include-crds`).
    pub include_crds: bool,
    /// `skipHooks` (`--no-hooks`).
    pub skip_hooks: bool,
    /// `skipTests` (`--skip-tests`).
    pub skip_tests: bool,
}

/// A values file kustomize passes to `helm template` with `-f`.
#[derive(Debug, Clone, PartialEq)]
pub enum ValuesFile {
    /// A file as written, for helm to read.
    Text {
        /// Where it was read from, for messages.
        path: PathBuf,
        /// Its content.
        text: String,
    },
    /// Values kustomize merged itself (`valuesInline` with the values file), which it
    /// writes to a file of its own for helm.
    Merged(Map<String, Value>),
}

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadRestrictor {
    /// Only files in or below the kustomization's own directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any file (`--load-restrictor LoadRestrictionsNone`).
    None,
}

/// The names of a kustomization file, in the order kustomize looks for them.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = kustomization::FILE_NAMES;

/// Build options.
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// The load restrictor; remote bases are always restricted to their own root.
    pub load_restrictor: LoadRestrictor,
    /// `--enable-helm`: what inflates `helmCharts` (and `HelmChartInflationGenerator`
    /// configs). Without one, as in kustomize without the flag, such a kustomization
    /// fails with kustomize's `must specify --enable-helm`.
    pub chart_inflater: Option<&'a dyn ChartInflater>,
    /// Contents the build reads instead of what some files hold, keyed by the file's
    /// canonical path: Flux decrypts generator sources and patch files in place before it
    /// builds, and its callers hand the decrypted bytes in here instead of writing them.
    pub replaced_files: Option<&'a BTreeMap<PathBuf, Vec<u8>>>,
    /// The top kustomization, used instead of the directory's kustomization file (which
    /// need not exist): Flux writes its own kustomization into a Kustomization's path
    /// before it builds, and its callers hand that document in here instead. Kustomize
    /// reads it as it reads a file (strictly, `kind` and `apiVersion` checked).
    pub kustomization: Option<&'a Value>,
}

impl fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("load_restrictor", &self.load_restrictor)
            .field("enable_helm", &self.chart_inflater.is_some())
            .field(
                "replaced_files",
                &self
                    .replaced_files
                    .map(|files| files.keys().collect::<Vec<_>>()),
            )
            .field("kustomization", &self.kustomization)
            .finish()
    }
}

/// A built object and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Traced {
    /// The object as the build prints it.
    pub object: Value,
    /// Its origin as kustomize's `config.kubernetes.io/origin` records it, in one line: the
    /// file it was read from (relative to the top kustomization, or `repo?ref=R//path` in
    /// a remote base), or the generator that made it and the file that configures it
    /// (`SecretGenerator in base/kustomization.yaml`).
    pub origin: Option<String>,
}

fn untraced(traced: Vec<Traced>) -> Vec<Value> {
    traced.into_iter().map(|t| t.object).collect()
}

/// Builds the kustomization in `dir` as `kubectl kustomize dir` does.
///
/// # Errors
/// Any failure, with the file (and line) it concerns and the chain of kustomizations that
/// led there.
pub fn build(dir: &Path, remote: &dyn Remote, options: &Options<'_>) -> Result<Vec<Value>, Error> {
    build_traced(dir, remote, options).map(untraced)
}

/// As [`build`], with each object's origin.
///
/// # Errors
/// As [`build`].
pub fn build_traced(
    dir: &Path,
    remote: &dyn Remote,
    options: &Options<'_>,
) -> Result<Vec<Traced>, Error> {
    let top = top_step(dir);
    schema::in_build(|| {
        let ldr = Loader::new(dir, options, remote)?;
        let k = match options.kustomization {
            Some(doc) => Kustomization::parse(doc)
                .map_err(|e| e.in_file(&ldr.root().join(ldr.kustomization_file())))?,
            None => target::load_kustomization(&ldr)?,
        };
        target::use_openapi(&k, &ldr, true)?;
        if k.kind == Kind::Component {
            return Err(Error::new(format!(
                "expected kind != 'Component' for path '{}'",
                dir.display()
            )));
        }
        let ra = target::accumulate(&k, &ldr, Accumulator::default())?;
        finish_traced(ra, k.sort.as_ref(), k.build_metadata)
    })
    .map_err(|e| e.within(top))
}

/// A kustomization document as a Go program reads it into kustomize's
/// `types.Kustomization` with `sigs.k8s.io/yaml.Unmarshal` and writes it back with
/// `yaml.Marshal` (as Flux's kustomize-controller does before it edits one): keys renamed
/// to the fields they decode into, unknown fields and zero values dropped, numbers and
/// booleans bound for string fields made strings. [`Options::kustomization`] takes the
/// result, edited or not.
///
/// # Errors
/// A value Go cannot decode into its field, in Go's words.
pub fn decode_kustomization(doc: &Value) -> Result<Value, Error> {
    gojson::decode(doc, &gotypes::KUSTOMIZATION_T, gojson::Mode::YamlUnmarshal).map_err(Error::new)
}

/// helm-controller's kustomize post-renderer: kustomize's whole build of a kustomization
/// holding the rendered objects as its one resource file, `images` and `patches` (inline
/// strategic merge or JSON 6902, with target selectors), as helm-controller writes it. The
/// objects come out as that build prints them: `List`s expanded, local-config objects
/// dropped, annotations as text (empty maps gone), in kustomize's legacy order.
///
/// # Errors
/// An object without kind or name, two objects with one id, a malformed patch or image, a
/// patch with a `path` (there is no directory here), or a failed application.
pub fn post_render(
    objects: Vec<Value>,
    patches: &[Value],
    images: &[Value],
) -> Result<Vec<Value>, Error> {
    let doc = serde_json::json!({ "patches": patches, "images": images });
    let k = Kustomization::parse(&doc)?;
    schema::in_build(|| {
        let ra = target::accumulate_objects(objects, &k)?;
        finish(ra, k.sort.as_ref(), k.build_metadata)
    })
}

/// helm-controller's origin labels post-renderer: kustomize's resource map of the rendered
/// objects (`List`s expanded, kind and name required, ids unique) and its label transformer
/// on `metadata/labels`, which creates the map where it is missing or `null`. Nothing else
/// of a build happens.
///
/// # Errors
/// An object without kind or name, two objects with one id, or labels that are not a map.
pub fn add_labels(objects: Vec<Value>, labels: &[(String, String)]) -> Result<Vec<Value>, Error> {
    add_metadata(objects, labels, &[])
}

/// helm-controller's `commonMetadata` post-renderer: as [`add_labels`], then kustomize's
/// annotations transformer on `metadata/annotations` alone. Empty lists change nothing.
///
/// # Errors
/// As [`add_labels`], and annotations that are not a map.
pub fn add_metadata(
    objects: Vec<Value>,
    labels: &[(String, String)],
    annotations: &[(String, String)],
) -> Result<Vec<Value>, Error> {
    schema::in_build(|| {
        let mut rs = target::resources_from_objects(objects)?;
        LabelTransformer {
            labels: labels.to_vec(),
            field_specs: vec![fieldspec::FieldSpec::any("metadata/labels", true)],
        }
        .transform(&mut rs)?;
        AnnotationsTransformer {
            annotations: annotations.to_vec(),
            field_specs: vec![fieldspec::FieldSpec::any("metadata/annotations", true)],
        }
        .transform(&mut rs)?;
        Ok(rs.into_iter().map(|r| r.obj).collect())
    })
}

/// Prints objects exactly as `kubectl kustomize` writes them to stdout.
#[must_use]
pub fn to_output(objects: &[Value]) -> String {
    objects
        .iter()
        .map(crunch_yaml::to_kyaml)
        .collect::<Vec<_>>()
        .join("---\n")
}

fn top_step(dir: &Path) -> String {
    let name = kustomization::FILE_NAMES
        .iter()
        .find(|f| dir.join(f).is_file())
        .unwrap_or(&kustomization::FILE_NAMES[0]);
    dir.join(name).display().to_string()
}

fn finish(
    ra: Accumulator,
    sort: Option<&SortOrder>,
    metadata: origin::BuildMetadata,
) -> Result<Vec<Value>, Error> {
    finish_traced(ra, sort, metadata).map(untraced)
}

fn finish_traced(
    mut ra: Accumulator,
    sort: Option<&SortOrder>,
    metadata: origin::BuildMetadata,
) -> Result<Vec<Traced>, Error> {
    target::finish(&mut ra, metadata)?;
    let mut rs = ra.res.resources;
    sort.cloned().unwrap_or_default().apply(&mut rs);
    Ok(rs
        .into_iter()
        .map(|r| Traced {
            origin: r.origin.as_ref().map(origin::Origin::describe),
            object: r.obj,
        })
        .collect())
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
