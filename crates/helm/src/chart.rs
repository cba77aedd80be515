//! The chart model: `Chart.yaml` metadata, dependencies, templates and files.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::Error;

/// A file of a chart, named by its slash-separated path relative to the chart root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the chart root, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// The bytes, UTF-8 BOM removed as Helm removes it.
    pub data: Vec<u8>,
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintainer {
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
    /// `url`.
    pub url: String,
}

/// One entry of `dependencies` in `Chart.yaml` (or `requirements.yaml` for v1 charts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// Chart name (replaced by the alias once dependencies are processed, as in Helm).
    pub name: String,
    /// Version range the subchart's version must satisfy.
    pub version: String,
    /// Where `helm dependency` fetches it from; unused by rendering.
    pub repository: String,
    /// Comma-separated values paths; the first boolean found enables or disables.
    pub condition: String,
    /// Tags; `tags.<tag>` values enable or disable.
    pub tags: Vec<String>,
    /// Result of tag and condition evaluation.
    pub enabled: bool,
    /// `import-values` entries (strings or `{child, parent}` maps).
    pub import_values: Vec<Value>,
    /// The name the subchart is known by in the parent.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// `name`.
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version`.
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers`.
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` when absent, as Helm defaults it).
    pub api_version: String,
    /// `condition`.
    pub condition: String,
    /// `tags`.
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`; `None` when absent (templates then see a nil map).
    pub annotations: Option<BTreeMap<String, String>>,
    /// `kubeVersion` constraint.
    pub kube_version: String,
    /// `dependencies`; `None` when the key is absent, which Helm treats differently from
    /// an empty list when importing values.
    pub dependencies: Option<Vec<Dependency>>,
    /// `type`: `""`, `application` or `library`.
    pub chart_type: String,
}

/// A loaded chart with its subcharts.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `values.yaml` (all documents merged), numbers as `float64`.
    pub values: Map<String, Value>,
    /// `values.schema.json`, if present.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`, in load order.
    pub templates: Vec<File>,
    /// Every other file (including `crds/`), in load order.
    pub files: Vec<File>,
    /// Subcharts from `charts/`.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (its alias once dependencies are processed).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// True for `type: library` (case-insensitive, as Helm compares it).
    #[must_use]
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }
}

/// Decodes JSON-shaped YAML into Go struct fields, failing as `encoding/json` does.
pub(crate) struct Decoder<'a> {
    /// Go type name of the struct, for error messages (`Metadata`).
    pub(crate) type_name: &'a str,
}

impl Decoder<'_> {
    fn mismatch(&self, path: &str, found: &Value, want: &str) -> Error {
        let kind = crunch_yaml::json_kind(found);
        Error::load(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go struct field {}.{path} of type {want}",
            self.type_name
        ))
    }

    pub(crate) fn string(&self, path: &str, v: &Value) -> Result<String, Error> {
        match v {
            Value::Null => Ok(String::new()),
            // `sigs.k8s.io/yaml` turns scalars into text when the target is a string.
            Value::String(_) | Value::Bool(_) | Value::Number(_) => {
                Ok(super::manifest::go_scalar_string(v))
            }
            other => Err(self.mismatch(path, other, "string")),
        }
    }

    fn boolean(&self, path: &str, v: &Value) -> Result<bool, Error> {
        match v {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            other => Err(self.mismatch(path, other, "bool")),
        }
    }

    pub(crate) fn strings(&self, path: &str, v: &Value) -> Result<Vec<String>, Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items.iter().map(|i| self.string(path, i)).collect(),
            other => Err(self.mismatch(path, other, "[]string")),
        }
    }

    fn object<'v>(
        &self,
        path: &str,
        v: &'v Value,
        want: &str,
    ) -> Result<Option<&'v Map<String, Value>>, Error> {
        match v {
            Value::Null => Ok(None),
            Value::Object(m) => Ok(Some(m)),
            other => Err(self.mismatch(path, other, want)),
        }
    }
}

/// Finds `key` in `obj` as Go's `encoding/json` matches struct fields: exact name first,
/// then case-insensitively.
fn lookup<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

const NULL: Value = Value::Null;

fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> &'v Value {
    lookup(obj, key).unwrap_or(&NULL)
}

/// Parses `Chart.yaml` text (or `requirements.yaml`, which only sets `dependencies`) into
/// `md`, as `yaml.Unmarshal` into Helm's `Metadata` does: present keys overwrite.
pub(crate) fn decode_metadata(text: &[u8], md: &mut Metadata) -> Result<(), Error> {
    let text = String::from_utf8_lossy(text);
    let doc = crunch_yaml::parse_document(&text, crunch_yaml::Dialect::GoYamlV2)
        .map_err(|e| Error::load(format!("error converting YAML to JSON: {e}")))?;
    let d = Decoder {
        type_name: "Metadata",
    };
    let obj = match &doc {
        Value::Null => return Ok(()),
        Value::Object(obj) => obj,
        // Helm's loader first reads Chart.yaml into its `chartBase` to find the version.
        other => {
            return Err(Error::load(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type loader.chartBase",
                crunch_yaml::json_kind(other)
            )));
        }
    };
    let set_string = |key: &str, slot: &mut String| -> Result<(), Error> {
        if let Some(v) = lookup(obj, key) {
            *slot = d.string(key, v)?;
        }
        Ok(())
    };
    set_string("name", &mut md.name)?;
    set_string("home", &mut md.home)?;
    set_string("version", &mut md.version)?;
    set_string("description", &mut md.description)?;
    set_string("icon", &mut md.icon)?;
    set_string("apiVersion", &mut md.api_version)?;
    set_string("condition", &mut md.condition)?;
    set_string("tags", &mut md.tags)?;
    set_string("appVersion", &mut md.app_version)?;
    set_string("kubeVersion", &mut md.kube_version)?;
    set_string("type", &mut md.chart_type)?;
    if let Some(v) = lookup(obj, "sources") {
        md.sources = d.strings("sources", v)?;
    }
    if let Some(v) = lookup(obj, "keywords") {
        md.keywords = d.strings("keywords", v)?;
    }
    if let Some(v) = lookup(obj, "deprecated") {
        md.deprecated = d.boolean("deprecated", v)?;
    }
    if let Some(v) = lookup(obj, "annotations") {
        md.annotations = match d.object("annotations", v, "map[string]string")? {
            None => None,
            Some(m) => Some(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), d.string("annotations", v)?)))
                    .collect::<Result<_, Error>>()?,
            ),
        };
    }
    if let Some(v) = lookup(obj, "maintainers") {
        let e = Decoder {
            type_name: "Maintainer",
        };
        md.maintainers = decode_list(&d, "maintainers", "Maintainer", v, |m| {
            Ok(Maintainer {
                name: e.string("maintainers.name", field(m, "name"))?,
                email: e.string("maintainers.email", field(m, "email"))?,
                url: e.string("maintainers.url", field(m, "url"))?,
            })
        })?;
    }
    if let Some(v) = lookup(obj, "dependencies") {
        let e = Decoder {
            type_name: "Dependency",
        };
        let deps = decode_list(&d, "dependencies", "Dependency", v, |m| {
            decode_dependency(&e, m)
        })?;
        md.dependencies = match v {
            Value::Null => None,
            _ => Some(deps),
        };
    }
    Ok(())
}

/// Decodes a list of `*v2.<elem>` structs at `path` of `Metadata`.
fn decode_list<T>(
    d: &Decoder<'_>,
    path: &str,
    elem: &str,
    v: &Value,
    item: impl Fn(&Map<String, Value>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let Value::Array(items) = v else {
        return match v {
            Value::Null => Ok(Vec::new()),
            other => Err(d.mismatch(path, other, &format!("[]*v2.{elem}"))),
        };
    };
    items
        .iter()
        .map(|i| match i {
            Value::Object(m) => item(m),
            Value::Null => Err(Error::load(format!(
                "validation: {path} must not contain empty or null nodes"
            ))),
            other => Err(d.mismatch(path, other, &format!("v2.{elem}"))),
        })
        .collect()
}

fn decode_dependency(d: &Decoder<'_>, m: &Map<String, Value>) -> Result<Dependency, Error> {
    let import_values = match field(m, "import-values") {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => return Err(d.mismatch("dependencies.import-values", other, "[]interface {}")),
    };
    Ok(Dependency {
        name: d.string("dependencies.name", field(m, "name"))?,
        version: d.string("dependencies.version", field(m, "version"))?,
        repository: d.string("dependencies.repository", field(m, "repository"))?,
        condition: d.string("dependencies.condition", field(m, "condition"))?,
        tags: d.strings("dependencies.tags", field(m, "tags"))?,
        enabled: d.boolean("dependencies.enabled", field(m, "enabled"))?,
        import_values,
        alias: d.string("dependencies.alias", field(m, "alias"))?,
    })
}

/// Helm's `sanitizeString`: whitespace becomes a space, unprintable characters vanish.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Helm's `Metadata.Validate` (sanitising fields as a side effect, as Helm does).
pub(crate) fn validate(md: &mut Metadata) -> Result<(), Error> {
    let fail = |msg: String| Err(Error::load(format!("validation: {msg}")));
    for s in [
        &mut md.name,
        &mut md.description,
        &mut md.home,
        &mut md.icon,
        &mut md.condition,
        &mut md.tags,
        &mut md.app_version,
        &mut md.kube_version,
    ] {
        *s = sanitize(s);
    }
    if md.api_version.is_empty() {
        return fail("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return fail("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." {
        return fail(format!("chart.metadata.name {:?} is not allowed", md.name));
    }
    if md.name.contains('/') {
        return fail(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return fail("chart.metadata.version is required".into());
    }
    if crunch_semver::Version::parse(&md.version).is_err() {
        return fail(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return fail("chart.metadata.type must be application or library".into());
    }
    let mut seen = std::collections::HashSet::new();
    for dep in md.dependencies.iter_mut().flatten() {
        dep.name = sanitize(&dep.name);
        dep.version = sanitize(&dep.version);
        dep.condition = sanitize(&dep.condition);
        let alias_ok = dep
            .alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !alias_ok {
            return fail(format!(
                "dependency {:?} has disallowed characters in the alias",
                dep.name
            ));
        }
        let key = if dep.alias.is_empty() {
            &dep.name
        } else {
            &dep.alias
        };
        if !seen.insert(key.clone()) {
            return fail(format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}
