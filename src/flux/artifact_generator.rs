//! Flux's ArtifactGenerator (`source.extensions.fluxcd.io/v1beta1`, run by source-watcher
//! v2.2): new artifacts, ExternalArtifacts, composed from the files of other sources,
//! which Kustomizations and HelmReleases then use as their `sourceRef`/`chartRef`.
//!
//! Three steps, each as source-watcher takes it:
//! 1. [`ArtifactGeneratorSpec::read`]: the spec, checked as the CRD's schema and the
//!    controller's `validateSpec` check it;
//! 2. [`ArtifactGeneratorSpec::artifacts`]: the artifacts it generates, its
//!    `spec.artifacts` as written, or, with `spec.pathPattern`, one per matching
//!    directory of a source for each of them, captures substituted;
//! 3. [`build`]: one artifact's copy operations run into an empty directory, which then
//!    holds the files of the ExternalArtifact's tarball.
//!
//! Fetching the sources, the ExternalArtifact objects and the artifact's revision (a
//! digest of the tarball) are the caller's.

mod build;
mod doublestar;
mod fsglob;
mod path_pattern;
#[cfg(test)]
mod tests;
mod tree;
mod untar;
mod validation;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

pub use build::build;

/// ArtifactGenerator spec fields accepted and not read, because they never change the
/// files of an artifact: `commonMetadata` labels and annotates the ExternalArtifact
/// objects source-watcher creates in the cluster, which are no part of a deployment.
pub const ARTIFACT_GENERATOR_RUNTIME_ONLY: &[&str] = &["commonMetadata"];

/// An ArtifactGenerator's spec: its sources, and the artifacts it makes of them. The
/// fields in [`ARTIFACT_GENERATOR_RUNTIME_ONLY`] are accepted and not read; any other
/// field is refused by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactGeneratorSpec {
    /// The sources whose files the artifacts take, each under an alias.
    pub sources: Vec<SourceReference>,
    /// `@alias/pattern`: directories of that source to make artifacts for, `{name}`
    /// capturing one path segment; `artifacts` are then templates.
    #[serde(default)]
    pub path_pattern: Option<String>,
    /// The artifacts, or with `path_pattern` their templates.
    pub artifacts: Vec<OutputArtifact>,
}

/// A source of an ArtifactGenerator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceReference {
    /// The name copy operations use for it (`@alias/…`).
    pub alias: String,
    /// The source object's name.
    pub name: String,
    /// Its namespace; the ArtifactGenerator's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Its kind.
    pub kind: SourceKind,
}

/// The kinds of source an ArtifactGenerator reads (`source.toolkit.fluxcd.io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SourceKind {
    /// A Bucket's artifact.
    Bucket,
    /// A GitRepository's artifact.
    GitRepository,
    /// An OCIRepository's artifact.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A HelmChart's artifact: the chart's `.tgz`.
    HelmChart,
    /// An ExternalArtifact's, another generator's output among them.
    ExternalArtifact,
}

/// One artifact of `spec.artifacts`, or a template of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputArtifact {
    /// The ExternalArtifact's name (with `{capture}` placeholders under a pathPattern).
    pub name: String,
    /// `@alias`: the source whose revision the artifact takes, instead of
    /// `latest@<digest>`.
    #[serde(default)]
    pub revision: Option<String>,
    /// `@alias`: the source whose origin revision the artifact's metadata records.
    #[serde(default)]
    pub origin_revision: Option<String>,
    /// The copy operations, in order.
    pub copy: Vec<CopyOperation>,
}

/// One copy operation of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyOperation {
    /// `@alias/path` or `@alias/glob`.
    pub from: String,
    /// `@artifact/path`: a file, or a directory when it ends in `/`.
    pub to: String,
    /// Glob patterns (doublestar's) of what `from` selects but is left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// How files land.
    #[serde(default)]
    pub strategy: Strategy,
}

/// How a copy operation's files land in the artifact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Strategy {
    /// Replacing what is there.
    #[default]
    Overwrite,
    /// A YAML file merged into the one already there (Helm's values merge), else copied.
    Merge,
    /// Tarballs (`.tar.gz`, `.tgz`) unpacked.
    Extract,
}

/// An artifact the generator makes, its copy operations concrete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedArtifact {
    /// The ExternalArtifact's name.
    pub name: String,
    /// The pathPattern's captures (lowercased), which label the ExternalArtifact; empty
    /// without a pathPattern.
    pub labels: BTreeMap<String, String>,
    /// The alias of the source whose revision the artifact takes, if any.
    pub revision: Option<String>,
    /// The alias of the source whose origin revision the artifact records, if any.
    pub origin_revision: Option<String>,
    /// The copy operations, in order.
    pub copy: Vec<CopyOperation>,
}

impl ArtifactGeneratorSpec {
    /// Reads an ArtifactGenerator's spec, checked as the API server (the CRD's schema)
    /// and source-watcher (`validateSpec`) check it. Null fields are absent, as the API
    /// server prunes them.
    ///
    /// # Errors
    /// Unknown fields by name, and the checks' failures in their words.
    pub fn read(object: &Value) -> Result<Self, String> {
        let mut spec = object["spec"].clone();
        drop_nulls(&mut spec);
        let mut fields = spec.as_object().cloned().unwrap_or_default();
        fields.retain(|field, _| !ARTIFACT_GENERATOR_RUNTIME_ONLY.contains(&field.as_str()));
        let spec: Self = serde_json::from_value(Value::Object(fields))
            .map_err(|e| format!("ArtifactGenerator spec: {e}"))?;
        validation::check_schema(&spec).map_err(|e| format!("ArtifactGenerator spec: {e}"))?;
        validation::check_spec(&spec)?;
        Ok(spec)
    }

    /// The source an alias names.
    #[must_use]
    pub fn source(&self, alias: &str) -> Option<&SourceReference> {
        self.sources.iter().find(|s| s.alias == alias)
    }

    /// The artifacts the generator makes, in source-watcher's order: `spec.artifacts` as
    /// written, or with a pathPattern each matching directory of its source in walk
    /// order, every template for each. `roots` gives a source's root directory by alias
    /// and is asked only for the pathPattern's.
    ///
    /// # Errors
    /// The pathPattern's (its captures, their values as labels, the rendered names, two
    /// directories giving one name), in source-watcher's words; and an artifact named as
    /// one of the sources, which source-watcher would stage in that source's own
    /// directory.
    pub fn artifacts(
        &self,
        roots: &dyn Fn(&str) -> Option<PathBuf>,
    ) -> Result<Vec<PlannedArtifact>, String> {
        let planned = match &self.path_pattern {
            Some(pattern) => {
                let alias = pattern
                    .strip_prefix('@')
                    .and_then(|rest| rest.split_once('/'))
                    .map_or("", |(alias, _)| alias);
                path_pattern::expand(pattern, roots(alias).as_deref(), &self.artifacts)
                    .map_err(|e| format!("failed to expand path pattern: {e}"))?
            }
            None => self
                .artifacts
                .iter()
                .map(|artifact| PlannedArtifact {
                    name: artifact.name.clone(),
                    labels: BTreeMap::new(),
                    revision: alias_of(artifact.revision.as_deref()),
                    origin_revision: alias_of(artifact.origin_revision.as_deref()),
                    copy: artifact.copy.clone(),
                })
                .collect(),
        };
        for artifact in &planned {
            if self.source(&artifact.name).is_some() {
                return Err(format!(
                    "artifact {} has the name of a source alias: source-watcher stages an artifact in the directory named after it, where it fetched that source, so the artifact would start with the source's files (and copies from it would truncate them); crunch does not reproduce this, rename the artifact or the alias",
                    artifact.name
                ));
            }
        }
        Ok(planned)
    }
}

/// The alias an `@alias` reference names.
fn alias_of(reference: Option<&str>) -> Option<String> {
    reference.map(|r| r.strip_prefix('@').unwrap_or(r).to_string())
}

/// Removes null members of objects, at any depth.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
