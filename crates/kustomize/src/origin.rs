//! `buildMetadata`: where each resource came from (`config.kubernetes.io/origin`), which
//! built-in transformers ran over it (`alpha.config.kubernetes.io/transformations`), and
//! the `app.kubernetes.io/managed-by` label. Origins are recorded on every build and only
//! written out when the top kustomization asks for them.

use serde_json::Value;

use super::resource::Resource;
use crunch_gostd::path;

/// kustomize's `config.kubernetes.io/origin` annotation.
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
/// kustomize's `alpha.config.kubernetes.io/transformations` annotation.
const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";
/// The label `managedByLabel` adds.
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// kubectl's embedded kustomize reports no release version of its own.
const MANAGED_BY_VALUE: &str = "kustomize-(devel)";

/// Where a kustomization lives, relative to the top one (or inside a remote repository).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Place {
    /// The directory, joined and cleaned as Go's `filepath.Join` does (kustomize's
    /// `Origin.Append`); empty at the top.
    pub dir: String,
    /// The repository URL and ref of a remote base.
    pub repo: Option<(String, String)>,
}

impl Place {
    /// The path of `rel` (a file in this place) relative to the top kustomization.
    pub(crate) fn file(&self, rel: &str) -> String {
        path::join([self.dir.as_str(), rel])
    }

    /// The place of a sub-directory `rel` of this one.
    pub(crate) fn join(&self, rel: &str) -> Place {
        Place {
            dir: path::join([self.dir.as_str(), rel]),
            repo: self.repo.clone(),
        }
    }
}

/// One origin: a file (`path`), or a built-in generator/transformer configured in a
/// kustomization file (`configuredIn` + `configuredBy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    place: Place,
    source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    File(String),
    Builtin {
        file: String,
        kind: String,
        /// A plugin config's own `metadata.name` and `metadata.namespace`.
        name: String,
        namespace: String,
    },
}

impl Origin {
    /// A resource read from `file` (relative to `place`).
    pub(crate) fn file(place: &Place, file: &str) -> Origin {
        Origin {
            place: place.clone(),
            source: Source::File(path::join([place.dir.as_str(), file])),
        }
    }

    /// A built-in generator or transformer `kind`, configured in the kustomization file
    /// `kust_file` of `place`.
    pub(crate) fn builtin(place: &Place, kust_file: &str, kind: &str) -> Origin {
        Origin::plugin(place, place.file(kust_file), kind, "", "")
    }

    /// A built-in plugin config (`generators:`/`transformers:`) read from
    /// `configured_in` (already relative to the top), with its own name and namespace.
    pub(crate) fn plugin(
        place: &Place,
        configured_in: String,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Origin {
        Origin {
            place: place.clone(),
            source: Source::Builtin {
                file: configured_in,
                kind: kind.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
            },
        }
    }

    /// The file a resource was read from, relative to the top kustomization.
    pub(crate) fn file_path(&self) -> Option<&str> {
        match &self.source {
            Source::File(path) => Some(path),
            Source::Builtin { .. } => None,
        }
    }

    /// The origin in one line: `path` or `repo?ref=R//path`, or `Kind in` either for
    /// a generator.
    pub(crate) fn describe(&self) -> String {
        let (kind, file) = match &self.source {
            Source::File(path) => (String::new(), path),
            Source::Builtin { file, kind, .. } => (format!("{kind} in "), file),
        };
        match &self.place.repo {
            Some((repo, reference)) if reference.is_empty() => format!("{kind}{repo}//{file}"),
            Some((repo, reference)) => format!("{kind}{repo}?ref={reference}//{file}"),
            None => format!("{kind}{file}"),
        }
    }

    /// The origin as kyaml writes it: `path`, `repo`, `ref`, `configuredIn`,
    /// `configuredBy`, each line prefixed by `first` then `rest`.
    fn lines(&self, first: &str, rest: &str) -> Vec<String> {
        let mut fields = Vec::new();
        if let Source::File(path) = &self.source {
            fields.push(format!("path: {}", quote(path)));
        }
        if let Some((repo, reference)) = &self.place.repo {
            fields.push(format!("repo: {}", quote(repo)));
            if !reference.is_empty() {
                fields.push(format!("ref: {}", quote(reference)));
            }
        }
        if let Source::Builtin {
            file,
            kind,
            name,
            namespace,
        } = &self.source
        {
            fields.push(format!("configuredIn: {}", quote(file)));
            fields.push("configuredBy:".to_string());
            fields.push("  apiVersion: builtin".to_string());
            fields.push(format!("  kind: {}", quote(kind)));
            for (key, value) in [("name", name), ("namespace", namespace)] {
                if !value.is_empty() {
                    fields.push(format!("  {key}: {}", quote(value)));
                }
            }
        }
        fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| format!("{}{f}", if i == 0 { first } else { rest }))
            .collect()
    }
}

/// The `buildMetadata` options of the top kustomization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BuildMetadata {
    managed_by_label: bool,
    origin_annotations: bool,
    transformer_annotations: bool,
}

impl BuildMetadata {
    /// Reads the `buildMetadata` list; kustomize knows three options and ignores any
    /// other word.
    pub(crate) fn parse(options: &[String]) -> BuildMetadata {
        let has = |name: &str| options.iter().any(|o| o == name);
        BuildMetadata {
            managed_by_label: has("managedByLabel"),
            origin_annotations: has("originAnnotations"),
            transformer_annotations: has("transformerAnnotations"),
        }
    }

    /// Whether kustomize leaves every annotation map as it is at the end of the build:
    /// only when both annotation options are on does it skip both steps that rewrite
    /// them (and clear empty ones).
    pub(crate) fn keeps_annotations(self) -> bool {
        self.origin_annotations && self.transformer_annotations
    }

    /// Writes the requested annotations and label onto a finished resource.
    pub(crate) fn apply(self, r: &mut Resource) {
        let origin = self
            .origin_annotations
            .then(|| r.origin.as_ref().map(|o| o.lines("", "").join("\n") + "\n"))
            .flatten();
        let transformations =
            (self.transformer_annotations && !r.transformations.is_empty()).then(|| {
                r.transformations
                    .iter()
                    .flat_map(|o| o.lines("- ", "  "))
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n"
            });
        for (key, value) in [
            (TRANSFORMATIONS_ANNOTATION, transformations),
            (ORIGIN_ANNOTATION, origin),
        ] {
            if let Some(v) = value {
                insert(r, "annotations", key, v);
            }
        }
        if self.managed_by_label {
            insert(r, "labels", MANAGED_BY_LABEL, MANAGED_BY_VALUE.to_string());
        }
    }
}

fn insert(r: &mut Resource, field: &str, key: &str, value: String) {
    let meta = r.metadata_mut();
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !map.is_object() {
        *map = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(m) = map {
        m.insert(key.to_string(), Value::String(value));
    }
}

/// Quotes a value the way a YAML emitter must for a plain scalar to read back as text.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~".contains(c))
        && !s.starts_with(['-', '~'])
        && s != "~";
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}
