//! `generators`, `transformers` and `validators` with kustomize's built-in plugin configs
//! (`apiVersion: builtin`). Each entry is an inline config or a path (a file, or a
//! directory whose kustomization builds the configs). External plugins and KRM functions
//! (exec, container) are refused by name: crunch runs no foreign code.

use serde_json::{Map, Value};

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::generators::{self, GenKind};
use super::hash;
use super::helm_charts;
use super::iam_policy;
use super::kustomization::{
    PatchArgs, list, object, parse_generator, parse_image, parse_patch, parse_replica, scalar,
    string_map,
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
        let (kind, body) = builtin_kind(cfg, Role::Generator)?;
        let generated = match kind {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let gen_kind = if kind == "SecretGenerator" {
                    GenKind::Secret
                } else {
                    GenKind::ConfigMap
                };
                parse_generator(&generator_args(body), kind)
                    .and_then(|args| generators::generate(gen_kind, &args, None, ldr))
                    .map(|r| vec![r])
            }
            helm_charts::GENERATOR_KIND => helm_charts::parse_plugin_config(body)
                .and_then(|(chart, globals)| helm_charts::inflate(&chart, &globals, ldr)),
            iam_policy::KIND => iam_policy::generate(body),
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
    let (kind, body) = builtin_kind(cfg, role)?;
    let specs = field_specs(body)?;
    match kind {
        "LabelTransformer" => {
            transformers::labels(rs, &string_map(body.get("labels"), "labels")?, &specs)
        }
        "AnnotationsTransformer" => transformers::annotations(
            rs,
            &string_map(body.get("annotations"), "annotations")?,
            &specs,
        ),
        "NamespaceTransformer" => {
            let ns = cfg
                .pointer("/metadata/namespace")
                .map_or(Ok(String::new()), |v| scalar(v, "metadata.namespace"))?;
            transformers::namespace_with(rs, &ns, &specs, namespace_options(body)?)
        }
        "HashTransformer" => {
            hash::add_suffixes(rs);
            Ok(())
        }
        "ValueAddTransformer" => ValueAdd::parse(body, ldr)?.apply(rs),
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let text = |k: &str| body.get(k).map_or(Ok(String::new()), |v| scalar(v, k));
            if kind != "SuffixTransformer" {
                transformers::affix(rs, Affix::Prefix, &text("prefix")?, &specs)?;
            }
            if kind != "PrefixTransformer" {
                transformers::affix(rs, Affix::Suffix, &text("suffix")?, &specs)?;
            }
            Ok(())
        }
        "ImageTagTransformer" => {
            let tag = body.get("imageTag").cloned().unwrap_or(Value::Null);
            transformers::images(rs, &parse_image(&tag)?, &specs)
        }
        "ReplicaCountTransformer" => {
            let replica = body.get("replica").cloned().unwrap_or(Value::Null);
            transformers::replicas(rs, &parse_replica(&replica)?, &specs)
        }
        "PatchTransformer" => {
            let mut fields = body.clone();
            fields.remove("apiVersion");
            fields.remove("kind");
            fields.remove("metadata");
            let args = parse_patch(&Value::Object(fields), kind)?;
            patch::apply(rs, &super::target::load_patch(&args, Some(ldr))?)
        }
        "PatchJson6902Transformer" => {
            let args = PatchArgs {
                path: optional_text(body, "path")?,
                patch: optional_text(body, "jsonOp")?,
                target: body.get("target").filter(|t| !t.is_null()).cloned(),
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
            let mut patches = Vec::new();
            for path in list(body.get("paths"), "paths")? {
                patches.push(PatchArgs {
                    path: Some(scalar(path, "paths")?),
                    ..no_patch()
                });
            }
            if let Some(text) = optional_text(body, "patches")? {
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
            let reps = list(body.get("replacements"), "replacements")?
                .iter()
                .map(Replacement::parse)
                .collect::<Result<Vec<_>, _>>()?;
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

/// The `NamespaceTransformer` options `unsetOnly` and `setRoleBindingSubjects`.
fn namespace_options(body: &Map<String, Value>) -> Result<NamespaceOptions, Error> {
    let unset_only = match body.get("unsetOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(Error::new(format!(
                "unmarshalling NamespaceTransformer config: unsetOnly: cannot unmarshal {v} into a bool"
            )));
        }
    };
    let mode = body
        .get("setRoleBindingSubjects")
        .map_or(Ok(String::new()), |v| scalar(v, "setRoleBindingSubjects"))?;
    let subjects = match mode.as_str() {
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
fn builtin_kind(cfg: &Value, role: Role) -> Result<(&str, &Map<String, Value>), Error> {
    let body = object(cfg, role.field())?;
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
    Ok((cfg.get("kind").and_then(Value::as_str).unwrap_or(""), body))
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

fn optional_text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(scalar(v, key)?).filter(|s| !s.is_empty())),
    }
}

/// A generator config as `configMapGenerator` arguments: `metadata.name` and
/// `metadata.namespace` fill in `name` and `namespace` when those are not given.
fn generator_args(body: &Map<String, Value>) -> Value {
    let mut args = body.clone();
    let meta = args.remove("metadata");
    args.remove("apiVersion");
    args.remove("kind");
    for key in ["name", "namespace"] {
        let missing = args
            .get(key)
            .is_none_or(|v| v.as_str().is_none_or(str::is_empty));
        if missing && let Some(v) = meta.as_ref().and_then(|m| m.get(key)) {
            args.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(args)
}
