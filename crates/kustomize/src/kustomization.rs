//! A kustomization file, read from its parsed YAML into typed fields. Every field kustomize
//! knows is recognised.

use serde_json::{Map, Value};

use super::builtins::helm_chart_inflation_generator::{
    HelmChart, HelmGlobals, globals_or, parse_legacy,
};
use super::builtins::sort_order_transformer::SortOrder;
use super::error::Error;
use super::gojson::{self, Mode};
use super::gotypes::KUSTOMIZATION_T;
use super::origin::BuildMetadata;
use super::resource::Behavior;
use super::vars::Var;

/// The names kustomize looks for, in its order.
pub(crate) const FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `Kustomization` or `Component`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Kustomization,
    Component,
}

/// One `patches:` entry (or a converted legacy one).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PatchArgs {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Value>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

/// `generatorOptions` or a generator's `options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

impl GeneratorOptions {
    fn parse(v: &Value, what: &str) -> Result<GeneratorOptions, Error> {
        let v = object(v, what)?;
        Ok(GeneratorOptions {
            labels: string_map(v.get("labels"), &format!("{what}.labels"))?,
            annotations: string_map(v.get("annotations"), &format!("{what}.annotations"))?,
            disable_name_suffix_hash: boolean(v.get("disableNameSuffixHash")),
            immutable: boolean(v.get("immutable")),
        })
    }

    /// kustomize's `MergeGlobalOptionsIntoLocal`: global labels/annotations fill in keys
    /// the local options lack; the flags are or-ed.
    pub(crate) fn with_global(mut self, global: Option<&GeneratorOptions>) -> GeneratorOptions {
        let Some(g) = global else {
            return self;
        };
        for (mine, theirs) in [
            (&mut self.labels, &g.labels),
            (&mut self.annotations, &g.annotations),
        ] {
            for (k, v) in theirs {
                if !mine.iter().any(|(mk, _)| mk == k) {
                    mine.push((k.clone(), v.clone()));
                }
            }
        }
        self.disable_name_suffix_hash |= g.disable_name_suffix_hash;
        self.immutable |= g.immutable;
        self
    }
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: Behavior,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: GeneratorOptions,
    /// Secrets only: `type` (default `Opaque`).
    pub secret_type: String,
}

/// A `labels:` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LabelArgs {
    pub pairs: Vec<(String, String)>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<Value>,
}

/// An `images:` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImageArgs {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

/// A `replicas:` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplicaArgs {
    pub name: String,
    pub count: Value,
}

/// A parsed kustomization.
#[derive(Debug, Clone)]
pub(crate) struct Kustomization {
    pub kind: Kind,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub configurations: Vec<String>,
    pub namespace: String,
    pub name_prefix: String,
    pub name_suffix: String,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<LabelArgs>,
    pub common_annotations: Vec<(String, String)>,
    pub patches: Vec<PatchArgs>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<PatchArgs>,
    pub images: Vec<ImageArgs>,
    pub replicas: Vec<ReplicaArgs>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub sort: Option<SortOrder>,
    pub build_metadata: BuildMetadata,
    /// `replacements:` entries, inline (`source`, `targets`) or `{path: file}`.
    pub replacements: Vec<Value>,
    /// `vars:` entries.
    pub vars: Vec<Var>,
    /// `generators:` entries: built-in plugin configs, inline or by path.
    pub generators: Vec<String>,
    /// `transformers:` entries, likewise.
    pub transformers: Vec<String>,
    /// `validators:` entries, likewise.
    pub validators: Vec<String>,
    /// `openapi:`, the schema strategic merge patches and scopes come from.
    pub openapi: OpenApi,
    /// `helmCharts`, then the converted deprecated `helmChartInflationGenerator` entries.
    pub helm_charts: Vec<HelmChart>,
    /// `helmGlobals` (or the deprecated entries' `chartHome`).
    pub helm_globals: HelmGlobals,
}

impl Kustomization {
    /// Reads a kustomization document as kustomize does: decoded by Go's `encoding/json`
    /// rules into its Go type ([`gojson`]: keys matched case-insensitively, unknown
    /// fields and values of the wrong type refused), then checked for emptiness and for
    /// its `kind` and `apiVersion`.
    pub(crate) fn parse(doc: &Value) -> Result<Kustomization, Error> {
        let decoded = gojson::decode(doc, &KUSTOMIZATION_T, Mode::Strict)
            .map_err(|e| Error::new(format!("invalid Kustomization: {e}")))?;
        let empty = Map::new();
        let map = decoded.as_object().unwrap_or(&empty);
        if is_empty(map) {
            return Err(Error::new("kustomization.yaml is empty"));
        }
        let kind = enforce_kind(map)?;
        let mut resources = strings(map.get("resources"), "resources")?;
        resources.extend(strings(map.get("bases"), "bases")?);
        let mut images = list(map.get("images"), "images")?
            .iter()
            .map(parse_image)
            .collect::<Result<Vec<_>, _>>()?;
        for i in list(map.get("imageTags"), "imageTags")? {
            images.push(parse_image(i)?);
        }
        let mut helm_charts = list(map.get("helmCharts"), "helmCharts")?
            .iter()
            .map(|c| HelmChart::parse(c, "helmCharts"))
            .collect::<Result<Vec<_>, _>>()?;
        let (legacy_charts, legacy_globals) = parse_legacy(map.get("helmChartInflationGenerator"))?;
        helm_charts.extend(legacy_charts);
        let helm_globals = match map.get("helmGlobals") {
            None | Some(Value::Null) => None,
            Some(v) => Some(HelmGlobals::parse(v, "helmGlobals")?),
        };
        let k = Kustomization {
            kind,
            resources,
            components: strings(map.get("components"), "components")?,
            crds: strings(map.get("crds"), "crds")?,
            configurations: strings(map.get("configurations"), "configurations")?,
            namespace: str_field(map, "namespace")?,
            name_prefix: str_field(map, "namePrefix")?,
            name_suffix: str_field(map, "nameSuffix")?,
            common_labels: string_map(map.get("commonLabels"), "commonLabels")?,
            labels: list(map.get("labels"), "labels")?
                .iter()
                .map(parse_label)
                .collect::<Result<_, _>>()?,
            common_annotations: string_map(map.get("commonAnnotations"), "commonAnnotations")?,
            patches: list(map.get("patches"), "patches")?
                .iter()
                .map(|p| parse_patch(p, "patches"))
                .collect::<Result<_, _>>()?,
            patches_strategic_merge: strings(
                map.get("patchesStrategicMerge"),
                "patchesStrategicMerge",
            )?,
            patches_json6902: list(map.get("patchesJson6902"), "patchesJson6902")?
                .iter()
                .map(|p| parse_patch(p, "patchesJson6902"))
                .collect::<Result<_, _>>()?,
            images,
            replicas: list(map.get("replicas"), "replicas")?
                .iter()
                .map(parse_replica)
                .collect::<Result<_, _>>()?,
            config_map_generator: list(map.get("configMapGenerator"), "configMapGenerator")?
                .iter()
                .map(|g| parse_generator(g, "configMapGenerator"))
                .collect::<Result<_, _>>()?,
            secret_generator: list(map.get("secretGenerator"), "secretGenerator")?
                .iter()
                .map(|g| parse_generator(g, "secretGenerator"))
                .collect::<Result<_, _>>()?,
            generator_options: match map.get("generatorOptions") {
                None | Some(Value::Null) => None,
                Some(v) => Some(GeneratorOptions::parse(v, "generatorOptions")?),
            },
            sort: match map.get("sortOptions") {
                None | Some(Value::Null) => None,
                Some(v) => Some(SortOrder::parse(v)?),
            },
            build_metadata: BuildMetadata::parse(&strings(
                map.get("buildMetadata"),
                "buildMetadata",
            )?),
            replacements: list(map.get("replacements"), "replacements")?.to_vec(),
            vars: list(map.get("vars"), "vars")?
                .iter()
                .map(Var::read)
                .collect(),
            generators: strings(map.get("generators"), "generators")?,
            transformers: strings(map.get("transformers"), "transformers")?,
            validators: strings(map.get("validators"), "validators")?,
            openapi: OpenApi::parse(map.get("openapi"))?,
            helm_charts,
            helm_globals: globals_or(helm_globals, legacy_globals),
        };
        Ok(k)
    }
}

/// kustomize's `CheckEmpty` after `FixKustomization`: nothing but `kind` and `apiVersion`
/// is set. `bases`, `imageTags` and `helmChartInflationGenerator` are moved into
/// `resources`, `images` and `helmCharts` before the check, so as empty lists they set
/// nothing.
fn is_empty(map: &Map<String, Value>) -> bool {
    map.iter().all(|(k, v)| match k.as_str() {
        "kind" | "apiVersion" => true,
        "bases" | "imageTags" | "helmChartInflationGenerator" => {
            v.as_array().is_some_and(Vec::is_empty)
        }
        _ => false,
    })
}

/// kustomize's `EnforceFields`: `kind` (default `Kustomization`) is `Kustomization` or
/// `Component`, and a given `apiVersion` is the one of that kind.
fn enforce_kind(map: &Map<String, Value>) -> Result<Kind, Error> {
    let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("");
    let kind = match text("kind") {
        "" => "Kustomization",
        kind => kind,
    };
    let mut errors = Vec::new();
    if kind != "Kustomization" && kind != "Component" {
        errors.push("kind should be Kustomization or Component".to_string());
    }
    let required = if kind == "Component" {
        "kustomize.config.k8s.io/v1alpha1"
    } else {
        "kustomize.config.k8s.io/v1beta1"
    };
    let api_version = text("apiVersion");
    if !api_version.is_empty() && api_version != required {
        errors.push(format!("apiVersion for {kind} should be {required}"));
    }
    if !errors.is_empty() {
        return Err(Error::new(format!(
            "Failed to read kustomization file:\n{}",
            errors.join("\n")
        )));
    }
    Ok(if kind == "Component" {
        Kind::Component
    } else {
        Kind::Kustomization
    })
}

pub(crate) fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| Error::new(format!("{what} must be a map")))
}

pub(crate) fn list<'a>(v: Option<&'a Value>, what: &str) -> Result<&'a [Value], Error> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(Error::new(format!("{what} must be a list"))),
    }
}

/// A scalar as kustomize's YAML-to-JSON-to-string reading sees it.
pub(crate) fn scalar(v: &Value, what: &str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Bool(_) | Value::Number(_) => Err(Error::new(format!(
            "{what}: json: cannot unmarshal {} into Go value of type string",
            if v.is_boolean() { "bool" } else { "number" }
        ))),
        _ => Err(Error::new(format!("{what} must be a string"))),
    }
}

pub(crate) fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, Error> {
    list(v, what)?.iter().map(|s| scalar(s, what)).collect()
}

fn str_field(m: &Map<String, Value>, key: &str) -> Result<String, Error> {
    m.get(key).map_or(Ok(String::new()), |v| scalar(v, key))
}

pub(crate) fn string_map(v: Option<&Value>, what: &str) -> Result<Vec<(String, String)>, Error> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), scalar(v, &format!("{what}.{k}"))?)))
            .collect(),
        Some(_) => Err(Error::new(format!("{what} must be a map"))),
    }
}

fn boolean(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool).unwrap_or(false)
}

/// `openapi:` as kustomize reads it, a map of strings: `path` names a schema file,
/// `version` one of the built-in schemas; other keys mean nothing. A key that is present
/// counts, even with an empty value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OpenApi {
    pub path: Option<String>,
    pub version: Option<String>,
}

impl OpenApi {
    fn parse(v: Option<&Value>) -> Result<OpenApi, Error> {
        let mut openapi = OpenApi::default();
        for (key, value) in string_map(v, "openapi")? {
            match key.as_str() {
                "path" => openapi.path = Some(value),
                "version" => openapi.version = Some(value),
                _ => {}
            }
        }
        Ok(openapi)
    }
}

pub(crate) fn parse_patch(v: &Value, what: &str) -> Result<PatchArgs, Error> {
    let m = object(v, what)?;
    let opt = |k: &str| {
        m.get("options")
            .and_then(|o| o.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let text = |k: &str| -> Result<Option<String>, Error> {
        Ok(match m.get(k) {
            None | Some(Value::Null) => None,
            Some(v) => Some(scalar(v, &format!("{what}.{k}"))?).filter(|s| !s.is_empty()),
        })
    };
    Ok(PatchArgs {
        path: text("path")?,
        patch: text("patch")?,
        target: m.get("target").filter(|t| !t.is_null()).cloned(),
        allow_name_change: opt("allowNameChange"),
        allow_kind_change: opt("allowKindChange"),
    })
}

fn parse_label(v: &Value) -> Result<LabelArgs, Error> {
    let m = object(v, "labels")?;
    Ok(LabelArgs {
        pairs: string_map(m.get("pairs"), "labels.pairs")?,
        include_selectors: boolean(m.get("includeSelectors")),
        include_templates: boolean(m.get("includeTemplates")),
        fields: list(m.get("fields"), "labels.fields")?.to_vec(),
    })
}

pub(crate) fn parse_image(v: &Value) -> Result<ImageArgs, Error> {
    let m = object(v, "images")?;
    let s = |k: &str| -> Result<String, Error> {
        m.get(k)
            .map_or(Ok(String::new()), |v| scalar(v, &format!("images.{k}")))
    };
    Ok(ImageArgs {
        name: s("name")?,
        new_name: s("newName")?,
        new_tag: s("newTag")?,
        digest: s("digest")?,
        tag_suffix: s("tagSuffix")?,
    })
}

pub(crate) fn parse_replica(v: &Value) -> Result<ReplicaArgs, Error> {
    let m = object(v, "replicas")?;
    Ok(ReplicaArgs {
        name: str_field(m, "name")?,
        count: m.get("count").cloned().unwrap_or(Value::from(0)),
    })
}

pub(crate) fn parse_generator(v: &Value, what: &str) -> Result<GeneratorArgs, Error> {
    let m = object(v, what)?;
    let mut envs = strings(m.get("envs"), &format!("{what}.envs"))?;
    let env = str_field(m, "env")?;
    if !env.is_empty() {
        envs.push(env);
    }
    Ok(GeneratorArgs {
        name: str_field(m, "name")?,
        namespace: str_field(m, "namespace")?,
        behavior: Behavior::parse(&str_field(m, "behavior")?),
        literals: strings(m.get("literals"), &format!("{what}.literals"))?,
        files: strings(m.get("files"), &format!("{what}.files"))?,
        envs,
        options: match m.get("options") {
            None | Some(Value::Null) => GeneratorOptions::default(),
            Some(o) => GeneratorOptions::parse(o, &format!("{what}.options"))?,
        },
        secret_type: str_field(m, "type")?,
    })
}
