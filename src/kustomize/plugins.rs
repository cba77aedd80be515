//! `generators`, `transformers` and `validators` with kustomize's built-in plugin configs
//! (`apiVersion: builtin`). Each entry is an inline config or a path (a file, or a
//! directory whose kustomization builds the configs). External plugins and KRM functions
//! (exec, container) are refused by name: crunch runs no foreign code.

use serde_json::{Map, Value};

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::generators::{self, GenKind};
use super::gojson::{self, GoType, Mode};
use super::gotypes::{
    ANNOTATIONS_TRANSFORMER_T, CONFIG_MAP_GENERATOR_T, HELM_CHART_INFLATION_GENERATOR_T,
    IAM_POLICY_GENERATOR_T, IMAGE_TAG_TRANSFORMER_T, LABEL_TRANSFORMER_T, NAMESPACE_TRANSFORMER_T,
    PATCH_JSON6902_TRANSFORMER_T, PATCH_STRATEGIC_MERGE_TRANSFORMER_T, PATCH_TRANSFORMER_T,
    PREFIX_TRANSFORMER_T, REPLACEMENT_TRANSFORMER_T, REPLICA_COUNT_TRANSFORMER_T,
    SECRET_GENERATOR_T, SUFFIX_TRANSFORMER_T, VALUE_ADD_TRANSFORMER_T,
};
use super::hash;
use super::helm_charts;
use super::iam_policy;
use super::kustomization::{
    PatchArgs, list, object, parse_generator, parse_image, parse_patch, parse_replica, string_map,
};
use super::loader::Loader;
use super::origin::Origin;
use super::patch;
use super::replacements::{self, Replacement};
use super::resid::ResId;
use super::resource::{ResMap, Resource};
use super::transformers::{self, Affix, NamespaceOptions, SubjectMode};
use super::value_add::ValueAdd;

/// What a plugin list is for: the error names it and validators must not change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A `generators:` entry.
    Generator,
    /// A `transformers:` entry.
    Transformer,
    /// A `validators:` entry.
    Validator,
}

impl Role {
    fn field(self) -> &'static str {
        match self {
            Role::Generator => "generators",
            Role::Transformer => "transformers",
            Role::Validator => "validators",
        }
    }
}

/// Builds the kustomization directory a plugin entry names, to its resources.
pub(crate) type BuildDir<'b> = dyn Fn(&Loader, &str) -> Result<Vec<Resource>, Error> + 'b;

/// One plugin config and the file it is configured in (relative to the top
/// kustomization), which `buildMetadata` origins name.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    obj: Value,
    configured_in: String,
}

impl Config {
    /// The origin that resources it generates or transforms record.
    fn origin(&self, ldr: &Loader) -> Origin {
        let text = |p: &str| self.obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        Origin::plugin(
            ldr.place(),
            self.configured_in.clone(),
            text("/kind"),
            text("/metadata/name"),
            text("/metadata/namespace"),
        )
    }
}

/// Reads the plugin configs an entry list names: inline YAML, files or kustomization
/// directories (built with `build`).
pub(crate) fn load_configs(
    entries: &[String],
    ldr: &Loader,
    build: &BuildDir<'_>,
) -> Result<Vec<Config>, Error> {
    let mut out = Vec::new();
    let config = |r: Resource, configured_in: String| Config {
        obj: r.obj,
        configured_in,
    };
    for entry in entries {
        // kustomize first tries the entry as inline YAML objects, then as a path.
        if let Ok(inline) = super::target::resources_from_text(entry)
            && !inline.is_empty()
        {
            let file = ldr.place().file(ldr.kustomization_file());
            out.extend(inline.into_iter().map(|r| config(r, file.clone())));
            continue;
        }
        if ldr.is_file(entry) {
            let (file, text) = ldr.read_text(entry)?;
            let rs = super::target::resources_from_text(&text).map_err(|e| e.in_file(&file))?;
            let file = ldr.place().file(entry);
            out.extend(rs.into_iter().map(|r| config(r, file.clone())));
        } else {
            for r in build(ldr, entry)? {
                let file = r
                    .origin
                    .as_ref()
                    .and_then(Origin::file_path)
                    .map_or_else(|| ldr.place().file(entry), str::to_string);
                out.push(config(r, file));
            }
        }
    }
    Ok(out)
}

/// Runs generator configs: their objects join the resources like a kustomization's own
/// generators' (merge and replace behaviors included).
pub(crate) fn generate(configs: &[Config], ldr: &Loader, res: &mut ResMap) -> Result<(), Error> {
    for config in configs {
        let cfg = &config.obj;
        let kind = builtin_kind(cfg, Role::Generator)?;
        let generated = match kind {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let (gen_kind, ty) = if kind == "SecretGenerator" {
                    (GenKind::Secret, &SECRET_GENERATOR_T)
                } else {
                    (GenKind::ConfigMap, &CONFIG_MAP_GENERATOR_T)
                };
                decode(cfg, ty, Mode::YamlUnmarshal)
                    .and_then(|body| parse_generator(&generator_args(body), kind))
                    .and_then(|args| generators::generate(gen_kind, &args, None, ldr))
                    .map(|r| vec![r])
            }
            helm_charts::GENERATOR_KIND => {
                decode(cfg, &HELM_CHART_INFLATION_GENERATOR_T, Mode::YamlUnmarshal)
                    .and_then(|body| helm_charts::parse_plugin_config(&body))
                    .and_then(|(chart, globals)| helm_charts::inflate(&chart, &globals, ldr))
            }
            iam_policy::KIND => decode(cfg, &IAM_POLICY_GENERATOR_T, Mode::YamlUnmarshal)
                .and_then(|body| iam_policy::generate(&body)),
            other => return Err(unsupported(other, Role::Generator)),
        };
        for mut r in generated.map_err(|e| in_config(e, cfg))? {
            r.origin = Some(config.origin(ldr));
            res.absorb(r)?;
        }
    }
    Ok(())
}

/// Runs transformer configs over the resources, in order; each is recorded on every
/// resource (`buildMetadata: [transformerAnnotations]`).
pub(crate) fn transform(
    configs: &[Config],
    ldr: &Loader,
    rs: &mut Vec<Resource>,
) -> Result<(), Error> {
    for config in configs {
        run_one(&config.obj, ldr, rs, Role::Transformer).map_err(|e| in_config(e, &config.obj))?;
        let origin = config.origin(ldr);
        for r in rs.iter_mut() {
            r.transformations.push(origin.clone());
        }
    }
    Ok(())
}

/// Runs validator configs: a built-in transformer used as a validator must leave every
/// resource as it was.
pub(crate) fn validate(configs: &[Config], ldr: &Loader, rs: &[Resource]) -> Result<(), Error> {
    for Config { obj: cfg, .. } in configs {
        let mut copy = rs.to_vec();
        run_one(cfg, ldr, &mut copy, Role::Validator).map_err(|e| in_config(e, cfg))?;
        if copy.iter().zip(rs).any(|(a, b)| a.obj != b.obj) || copy.len() != rs.len() {
            return Err(in_config(
                Error::new("validator shouldn't modify the resource map"),
                cfg,
            ));
        }
    }
    Ok(())
}

fn run_one(cfg: &Value, ldr: &Loader, rs: &mut Vec<Resource>, role: Role) -> Result<(), Error> {
    let kind = builtin_kind(cfg, role)?;
    let body = |ty: &'static GoType| decode(cfg, ty, Mode::YamlUnmarshal);
    match kind {
        "LabelTransformer" => {
            let body = body(&LABEL_TRANSFORMER_T)?;
            transformers::labels(
                rs,
                &string_map(body.get("labels"), "labels")?,
                &field_specs(&body)?,
            )
        }
        "AnnotationsTransformer" => {
            let body = body(&ANNOTATIONS_TRANSFORMER_T)?;
            let annotations = string_map(body.get("annotations"), "annotations")?;
            transformers::annotations(rs, &annotations, &field_specs(&body)?)
        }
        "NamespaceTransformer" => {
            let body = body(&NAMESPACE_TRANSFORMER_T).map_err(|e| {
                Error::new(format!(
                    "unmarshalling NamespaceTransformer config: {}",
                    e.message()
                ))
            })?;
            let ns = text(&body, "/metadata/namespace");
            transformers::namespace_with(rs, &ns, &field_specs(&body)?, namespace_options(&body)?)
        }
        "HashTransformer" => {
            hash::add_suffixes(rs);
            Ok(())
        }
        "ValueAddTransformer" => ValueAdd::parse(&body(&VALUE_ADD_TRANSFORMER_T)?, ldr)?.apply(rs),
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            // Both read their configs with kyaml's go-yaml v3, not Go's JSON.
            for (affix, ty, key) in [
                (Affix::Prefix, &PREFIX_TRANSFORMER_T, "prefix"),
                (Affix::Suffix, &SUFFIX_TRANSFORMER_T, "suffix"),
            ] {
                let wanted = match affix {
                    Affix::Prefix => kind != "SuffixTransformer",
                    Affix::Suffix => kind != "PrefixTransformer",
                };
                if !wanted {
                    continue;
                }
                let body = decode(cfg, ty, Mode::Kyaml)?;
                if !body.contains_key("fieldSpecs") {
                    return Err(Error::new("fieldSpecs is not expected to be nil"));
                }
                transformers::affix(
                    rs,
                    affix,
                    &text(&body, &format!("/{key}")),
                    &field_specs(&body)?,
                )?;
            }
            Ok(())
        }
        "ImageTagTransformer" => {
            let body = body(&IMAGE_TAG_TRANSFORMER_T)?;
            let tag = body.get("imageTag").cloned().unwrap_or(Value::Null);
            transformers::images(rs, &parse_image(&tag)?, &field_specs(&body)?)
        }
        "ReplicaCountTransformer" => {
            let body = body(&REPLICA_COUNT_TRANSFORMER_T)?;
            let replica = body.get("replica").cloned().unwrap_or(Value::Null);
            transformers::replicas(rs, &parse_replica(&replica)?, &field_specs(&body)?)
        }
        "PatchTransformer" => {
            let args = parse_patch(&Value::Object(body(&PATCH_TRANSFORMER_T)?), kind)?;
            patch::apply(rs, &super::target::load_patch(&args, Some(ldr))?)
        }
        "PatchJson6902Transformer" => {
            let body = body(&PATCH_JSON6902_TRANSFORMER_T)?;
            let args = PatchArgs {
                path: optional_text(&body, "path"),
                patch: optional_text(&body, "jsonOp"),
                target: body.get("target").cloned(),
                allow_name_change: false,
                allow_kind_change: false,
            };
            let p = super::target::load_patch(&args, Some(ldr))?;
            if p.target.is_none() {
                return Err(Error::new("must specify a target for JSON patch"));
            }
            patch::apply(rs, &p)
        }
        "PatchStrategicMergeTransformer" => {
            let body = body(&PATCH_STRATEGIC_MERGE_TRANSFORMER_T)?;
            let mut patches = Vec::new();
            for path in list(body.get("paths"), "paths")? {
                patches.push(PatchArgs {
                    path: path.as_str().map(str::to_string),
                    ..no_patch()
                });
            }
            if let Some(text) = optional_text(&body, "patches") {
                patches.push(PatchArgs {
                    patch: Some(text),
                    ..no_patch()
                });
            }
            if patches.is_empty() {
                return Err(Error::new("empty file path and empty patch content"));
            }
            for args in &patches {
                patch::apply(rs, &super::target::load_patch(args, Some(ldr))?)?;
            }
            Ok(())
        }
        "ReplacementTransformer" => {
            let body = body(&REPLACEMENT_TRANSFORMER_T)?;
            // Those under "omitempty" come first: the plugin appends the others to them.
            let mut reps = list(body.get("omitempty"), "omitempty")?
                .iter()
                .map(Replacement::parse)
                .collect::<Result<Vec<_>, _>>()?;
            reps.extend(super::target::load_replacements(
                list(body.get("replacements"), "replacements")?,
                ldr,
            )?);
            replacements::apply(rs, &reps)
        }
        "ConfigMapGenerator"
        | "SecretGenerator"
        | "IAMPolicyGenerator"
        | "HelmChartInflationGenerator" => Err(Error::new(format!(
            "plugin {} not a transformer",
            ResId::of(cfg)
        ))),
        // kustomize keeps SortOrderTransformer out of its builtins: only a top-level
        // `sortOptions` runs it.
        other => Err(Error::new(format!("unable to load builtin {other}"))),
    }
}

/// A builtin plugin config decoded into its plugin's Go struct, as the plugin's `Config`
/// decodes it (see [`gojson`]); fields the struct lacks are gone.
fn decode(cfg: &Value, ty: &'static GoType, mode: Mode) -> Result<Map<String, Value>, Error> {
    match gojson::decode(cfg, ty, mode).map_err(Error::new)? {
        Value::Object(body) => Ok(body),
        _ => Ok(Map::new()),
    }
}

/// The text at a JSON pointer of a decoded config, empty when absent.
fn text(body: &Map<String, Value>, pointer: &str) -> String {
    let mut parts = pointer.trim_start_matches('/').splitn(2, '/');
    let first = parts.next().and_then(|k| body.get(k));
    let found = match parts.next() {
        Some(rest) => first.and_then(|v| v.pointer(&format!("/{rest}"))),
        None => first,
    };
    found.and_then(Value::as_str).unwrap_or("").to_string()
}

/// The `NamespaceTransformer` options `unsetOnly` and `setRoleBindingSubjects`.
fn namespace_options(body: &Map<String, Value>) -> Result<NamespaceOptions, Error> {
    let unset_only = body
        .get("unsetOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let subjects = match text(body, "/setRoleBindingSubjects").as_str() {
        "" | "defaultOnly" => SubjectMode::DefaultOnly,
        "allServiceAccounts" => SubjectMode::AllServiceAccounts,
        "none" => SubjectMode::None,
        other => {
            return Err(Error::new(format!(
                "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
            )));
        }
    };
    Ok(NamespaceOptions {
        unset_only,
        subjects,
    })
}

fn no_patch() -> PatchArgs {
    PatchArgs {
        path: None,
        patch: None,
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
    }
}

/// The built-in kind of a config, or why it cannot run here.
fn builtin_kind(cfg: &Value, role: Role) -> Result<&str, Error> {
    object(cfg, role.field())?;
    let annotations = cfg.pointer("/metadata/annotations");
    let is_function = ["config.kubernetes.io/function", "config.k8s.io/function"]
        .iter()
        .any(|a| annotations.and_then(|m| m.get(a)).is_some());
    let id = ResId::of(cfg);
    if is_function {
        return Err(Error::new(format!(
            "{}: KRM functions (exec and container) are not supported: {id}",
            role.field()
        )));
    }
    let api_version = cfg.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != "builtin" {
        return Err(Error::new(format!(
            "{}: external plugins are not supported (only apiVersion: builtin): {id}",
            role.field()
        )));
    }
    Ok(cfg.get("kind").and_then(Value::as_str).unwrap_or(""))
}

fn unsupported(kind: &str, role: Role) -> Error {
    Error::new(format!(
        "{}: the builtin plugin {kind:?} is not supported here",
        role.field()
    ))
}

fn in_config(e: Error, cfg: &Value) -> Error {
    Error::new(format!(
        "{} (plugin config {})",
        e.message(),
        ResId::of(cfg)
    ))
}

fn field_specs(body: &Map<String, Value>) -> Result<Vec<FieldSpec>, Error> {
    list(body.get("fieldSpecs"), "fieldSpecs")?
        .iter()
        .map(FieldSpec::parse)
        .collect()
}

fn optional_text(body: &Map<String, Value>, key: &str) -> Option<String> {
    Some(text(body, &format!("/{key}"))).filter(|s| !s.is_empty())
}

/// A decoded generator config as `configMapGenerator` arguments: `metadata.name` and
/// `metadata.namespace` fill in `name` and `namespace` when those are empty.
fn generator_args(mut args: Map<String, Value>) -> Value {
    let meta = args.remove("metadata");
    for key in ["name", "namespace"] {
        if !args.contains_key(key)
            && let Some(v) = meta.as_ref().and_then(|m| m.get(key))
        {
            args.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(args)
}
