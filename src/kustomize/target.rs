//! Building one kustomization: accumulate resources (files, sub-kustomizations, remote
//! bases), run generators (Helm charts among them), components, then the built-in
//! transformers in kustomize's order. Names get their hashes and references are fixed
//! once, at the top.

use serde_json::Value;

use super::config::TransformerConfig;
use super::error::Error;
use super::fieldspec::FieldSpec;
use super::generators::{self, GenKind};
use super::gojson::{self, Mode};
use super::gotypes;
use super::kustomization::{FILE_NAMES, Kind, Kustomization, PatchArgs};
use super::loader::Loader;
use super::origin::{BuildMetadata, Origin};
use super::patch::{self, Patch, Selector};
use super::plugins;
use super::replacements::{self, Replacement};
use super::resource::{ResMap, Resource};
use super::transformers::{self, Affix};
use super::vars::{self, Var};
use super::{hash, helm_charts, nameref};
use crate::yaml::{Dialect, parse_stream};

/// Resources plus the transformer configuration gathered so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accumulator {
    pub res: ResMap,
    pub config: TransformerConfig,
    /// `vars` declared so far, resolved once the whole tree is built.
    pub vars: Vec<Var>,
}

impl Accumulator {
    fn absorb_sub(&mut self, sub: Accumulator) -> Result<(), Error> {
        self.res.append_all(sub.res)?;
        self.config.merge(sub.config)?;
        vars::merge_set(&mut self.vars, sub.vars)
    }
}

/// Reads the kustomization file of `ldr`'s root.
pub(crate) fn load_kustomization(ldr: &Loader) -> Result<Kustomization, Error> {
    let found: Vec<&str> = FILE_NAMES
        .iter()
        .copied()
        .filter(|f| ldr.root().join(f).is_file())
        .collect();
    let name = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::new(format!(
                "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                ldr.root().display()
            )));
        }
        _ => {
            return Err(Error::new(format!(
                "Found multiple kustomization files under: {}",
                ldr.root().display()
            )));
        }
    };
    let (path, text) = ldr.read_text(name)?;
    // kustomize decodes its own file through `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1):
    // `yes`, `on`, `y` are booleans there, unlike in the resources kyaml reads.
    let doc = crate::yaml::parse_document(&text, Dialect::GoYamlV2)
        .map_err(|e| Error::yaml(&path, &e))?;
    Kustomization::parse(&doc).map_err(|e| e.in_file(&path))
}

/// Sets the build's schema from a kustomization's `openapi` (see [`super::schema`]):
/// `top` for the kustomization the build starts from, whose schema wins; below it, the
/// first one in build order. A schema file must be readable either way.
pub(crate) fn use_openapi(k: &Kustomization, ldr: &Loader, top: bool) -> Result<(), Error> {
    let file = match &k.openapi.path {
        Some(path) => Some(ldr.read_text(path)?),
        None => None,
    };
    super::schema::set(&k.openapi, file, top)
}

/// Builds the directory of `ldr` (its own kustomization, recursively).
pub(crate) fn build_dir(ldr: &Loader, expect: Kind) -> Result<Accumulator, Error> {
    let k = load_kustomization(ldr)?;
    use_openapi(&k, ldr, false)?;
    if k.kind != expect {
        return Err(Error::new(match expect {
            Kind::Component => format!(
                "expected kind 'Component' for path '{}' but got 'Kustomization'",
                ldr.root().display()
            ),
            Kind::Kustomization => format!(
                "expected kind != 'Component' for path '{}'",
                ldr.root().display()
            ),
        }));
    }
    accumulate(&k, ldr, Accumulator::default())
}

/// kustomize's `accumulateTarget`: resources, configuration, generators, components,
/// transformers. The directories listed under `generators` and `transformers` are built
/// before any generator or transformer of this kustomization runs, as kustomize configures
/// them all first (a schema they set, or a patch they apply, comes first too).
pub(crate) fn accumulate(
    k: &Kustomization,
    ldr: &Loader,
    mut ra: Accumulator,
) -> Result<Accumulator, Error> {
    for path in &k.resources {
        accumulate_resource(&mut ra, ldr, path)?;
    }
    let mut config = TransformerConfig::defaults();
    for c in &k.configurations {
        let (file, text) = ldr.read_text(c)?;
        let doc = crate::yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        config.merge(TransformerConfig::parse(&doc).map_err(|e| e.in_file(&file))?)?;
    }
    ra.config.merge(config)?;
    for c in &k.crds {
        let (file, text) = ldr.read_text(c)?;
        let doc = crate::yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        let found = super::crds::config_from_crds(&doc).map_err(|e| e.in_file(&file))?;
        ra.config.merge(found)?;
    }
    let generator_configs = plugin_configs(&k.generators, ldr)?;
    for (kind, list, builtin) in [
        (
            GenKind::ConfigMap,
            &k.config_map_generator,
            "ConfigMapGenerator",
        ),
        (GenKind::Secret, &k.secret_generator, "SecretGenerator"),
    ] {
        for args in list {
            let mut r = generators::generate(kind, args, k.generator_options.as_ref(), ldr)?;
            r.origin = Some(Origin::builtin(
                ldr.place(),
                ldr.kustomization_file(),
                builtin,
            ));
            ra.res.absorb(r)?;
        }
    }
    for chart in &k.helm_charts {
        let origin = Origin::builtin(
            ldr.place(),
            ldr.kustomization_file(),
            helm_charts::GENERATOR_KIND,
        );
        for mut r in helm_charts::inflate(chart, &k.helm_globals, ldr)? {
            r.origin = Some(origin.clone());
            ra.res.absorb(r)?;
        }
    }
    plugins::generate(&generator_configs, ldr, &mut ra.res)?;
    for path in &k.components {
        let child = ldr.child(path).map_err(|e| e.within(path.clone()))?;
        let ck = load_kustomization(&child).map_err(|e| e.within(path.clone()))?;
        use_openapi(&ck, &child, false).map_err(|e| e.within(path.clone()))?;
        if ck.kind != Kind::Component {
            return Err(Error::new(format!(
                "expected kind 'Component' for path '{}' but got 'Kustomization'",
                child.root().display()
            ))
            .within(path.clone()));
        }
        ra = accumulate(&ck, &child, ra).map_err(|e| e.within(path.clone()))?;
    }
    let transformer_configs = plugin_configs(&k.transformers, ldr)?;
    transform(k, ldr, &mut ra)?;
    plugins::transform(&transformer_configs, ldr, &mut ra.res.resources)?;
    let configs = plugin_configs(&k.validators, ldr)?;
    plugins::validate(&configs, ldr, &ra.res.resources)?;
    vars::merge(&mut ra.res.resources, &mut ra.vars, &k.vars)?;
    Ok(ra)
}

/// The plugin configs of a `generators`/`transformers`/`validators` list; a directory
/// entry is a kustomization whose output is the configs.
fn plugin_configs(entries: &[String], ldr: &Loader) -> Result<Vec<plugins::Config>, Error> {
    plugins::load_configs(entries, ldr, &|ldr, path| {
        let child = ldr.child(path).map_err(|e| e.within(path.to_string()))?;
        let sub = build_dir(&child, Kind::Kustomization).map_err(|e| e.within(path.to_string()))?;
        Ok(sub.res.resources)
    })
}

fn accumulate_resource(ra: &mut Accumulator, ldr: &Loader, path: &str) -> Result<(), Error> {
    if ldr.is_file(path) {
        let (file, text) = ldr.read_text(path)?;
        let mut resources = resources_from_text(&text).map_err(|e| e.in_file(&file))?;
        let origin = Origin::file(ldr.place(), path);
        for r in &mut resources {
            r.origin = Some(origin.clone());
        }
        return ra
            .res
            .append_all(ResMap { resources })
            .map_err(|e| e.in_file(&file));
    }
    let lower = path.to_ascii_lowercase();
    let is_url = lower.starts_with("https://") || lower.starts_with("http://");
    if is_url
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| lower.ends_with(ext))
    {
        return Err(Error::new(format!(
            "{path}: remote file resources (http URLs) are not supported; crunch builds offline"
        )));
    }
    let step = match super::remote::parse(path) {
        Some(_) => format!("remote {path}"),
        None => path.to_string(),
    };
    let child = ldr.child(path).map_err(|e| e.within(step.clone()))?;
    let sub = build_dir(&child, Kind::Kustomization).map_err(|e| e.within(step.clone()))?;
    ra.absorb_sub(sub).map_err(|e| e.within(step))
}

/// The resources of a YAML stream: maps only, empty documents skipped, `List`s expanded.
pub(crate) fn resources_from_text(text: &str) -> Result<Vec<Resource>, Error> {
    let docs = parse_stream(text, Dialect::GoYamlV3)
        .map_err(|e| Error::new(e.message().to_string()).at_line(e.line()))?;
    let mut out = Vec::new();
    for doc in docs {
        collect_resource(doc, &mut out)?;
    }
    Ok(out)
}

/// Objects read as kustomize reads the documents of a resource file: empty ones skipped,
/// `List`s expanded, kind and name required, each id once.
pub(crate) fn resources_from_objects(objects: Vec<Value>) -> Result<Vec<Resource>, Error> {
    let mut resources = Vec::new();
    for object in objects {
        collect_resource(object, &mut resources)?;
    }
    let mut res = ResMap::default();
    res.append_all(ResMap { resources })?;
    Ok(res.resources)
}

/// A kustomization without a directory whose one resource file holds `objects`, as
/// helm-controller's post-renderer writes it: the resources, then its inline `patches` and
/// its `images` (the only fields helm-controller sets), in kustomize's order.
pub(crate) fn accumulate_objects(
    objects: Vec<Value>,
    k: &Kustomization,
) -> Result<Accumulator, Error> {
    let mut ra = Accumulator {
        config: TransformerConfig::defaults(),
        ..Accumulator::default()
    };
    ra.res.resources = resources_from_objects(objects)?;
    let rs = &mut ra.res.resources;
    for args in &k.patches {
        patch::apply(rs, &load_patch(args, None)?)?;
    }
    for i in &k.images {
        transformers::images(rs, i, &ra.config.images)?;
    }
    Ok(ra)
}

fn collect_resource(doc: Value, out: &mut Vec<Resource>) -> Result<(), Error> {
    match doc {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        Value::Object(m) => {
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("List")
                && let Some(Value::Array(items)) = m.get("items")
            {
                for item in items.clone() {
                    collect_resource(item, out)?;
                }
                return Ok(());
            }
            let obj = Value::Object(m);
            let id = super::resid::ResId::of(&obj);
            if id.gvk.kind.is_empty() {
                return Err(Error::new(format!("missing kind in object {id}")));
            }
            if id.name.is_empty() {
                return Err(Error::new(format!("missing metadata.name in object {id}")));
            }
            out.push(Resource::new(obj));
            Ok(())
        }
        other => Err(Error::new(format!(
            "expected a map for a resource, got {}",
            serde_json::to_string(&other).unwrap_or_default()
        ))),
    }
}

/// Loads a `patches`-style entry.
pub(crate) fn load_patch(args: &PatchArgs, ldr: Option<&Loader>) -> Result<Patch, Error> {
    let (text, source) = match (&args.patch, &args.path) {
        (Some(_), Some(_)) => {
            return Err(Error::new("patch and path can't be set at the same time"));
        }
        (Some(p), None) => (p.trim().to_owned(), format!("[patch: {p:?}]")),
        (None, Some(path)) => {
            let Some(ldr) = ldr else {
                return Err(Error::new(format!(
                    "patch path {path:?}: only inline patches are possible here"
                )));
            };
            let (_, text) = ldr.read_text(path).map_err(|e| {
                Error::new(format!(
                    "failed to get the patch file from path({path}): {e}"
                ))
            })?;
            (text, format!("[path: {path:?}]"))
        }
        (None, None) => return Err(Error::new("must specify one of patch and path")),
    };
    Ok(Patch {
        body: patch::classify(&text, &source)?,
        target: args.target.as_ref().map(Selector::parse).transpose()?,
        allow_name_change: args.allow_name_change,
        allow_kind_change: args.allow_kind_change,
        source,
    })
}

/// A `patchesStrategicMerge` entry: a file path, or the patch itself inline.
fn load_legacy_smp(entry: &str, ldr: &Loader) -> Result<Patch, Error> {
    let inline = entry.contains('\n') || !ldr.is_file(entry);
    let args = PatchArgs {
        path: (!inline).then(|| entry.to_string()),
        patch: inline.then(|| entry.to_string()),
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
    };
    let p = load_patch(&args, Some(ldr))?;
    match p.body {
        patch::Body::Smp(_) => Ok(p),
        patch::Body::Json(_) => Err(Error::new(format!(
            "patchesStrategicMerge entry {} is a JSON patch",
            p.source
        ))),
    }
}

/// The built-in transformers of one kustomization, in kustomize's order. Each one that is
/// configured is recorded on every resource (`buildMetadata: [transformerAnnotations]`),
/// whether or not it changed it, as kustomize does.
fn transform(k: &Kustomization, ldr: &Loader, ra: &mut Accumulator) -> Result<(), Error> {
    let tc = ra.config.clone();
    let rs = &mut ra.res.resources;
    let kust_file = ldr.kustomization_file();
    let mark = |rs: &mut Vec<Resource>, kind: &'static str| {
        let origin = Origin::builtin(ldr.place(), kust_file, kind);
        for r in rs.iter_mut() {
            r.transformations.push(origin.clone());
        }
    };
    if !k.patches_strategic_merge.is_empty() {
        for entry in &k.patches_strategic_merge {
            let p = load_legacy_smp(entry, ldr)?;
            patch::apply(rs, &p)?;
        }
        mark(rs, "PatchStrategicMergeTransformer");
    }
    for args in &k.patches {
        let p = load_patch(args, Some(ldr))?;
        patch::apply(rs, &p)?;
        mark(rs, "PatchTransformer");
    }
    if !k.namespace.is_empty() {
        transformers::namespace(rs, &k.namespace, &tc.namespace)?;
        mark(rs, "NamespaceTransformer");
    }
    if !k.name_prefix.is_empty() {
        transformers::affix(rs, Affix::Prefix, &k.name_prefix, &tc.name_prefix)?;
        mark(rs, "PrefixTransformer");
    }
    if !k.name_suffix.is_empty() {
        transformers::affix(rs, Affix::Suffix, &k.name_suffix, &tc.name_suffix)?;
        mark(rs, "SuffixTransformer");
    }
    for l in &k.labels {
        let mut specs: Vec<FieldSpec> = l
            .fields
            .iter()
            .map(FieldSpec::parse)
            .collect::<Result<_, _>>()?;
        super::config::merge_specs(&mut specs, tc.labels.clone())?;
        if l.include_selectors {
            super::config::merge_specs(&mut specs, tc.common_labels.clone())?;
        } else {
            if l.include_templates {
                super::config::merge_specs(&mut specs, tc.template_labels.clone())?;
            }
            super::config::merge_specs(&mut specs, vec![FieldSpec::any("metadata/labels", true)])?;
        }
        transformers::labels(rs, &l.pairs, &specs)?;
        mark(rs, "LabelTransformer");
    }
    // kustomize configures the commonLabels transformer, empty or not, whenever either
    // label field is set.
    if !k.labels.is_empty() || !k.common_labels.is_empty() {
        transformers::labels(rs, &k.common_labels, &tc.common_labels)?;
        mark(rs, "LabelTransformer");
    }
    if !k.common_annotations.is_empty() {
        transformers::annotations(rs, &k.common_annotations, &tc.common_annotations)?;
        mark(rs, "AnnotationsTransformer");
    }
    for args in &k.patches_json6902 {
        let p = load_patch(args, Some(ldr))?;
        if p.target.is_none() {
            return Err(Error::new(format!(
                "must specify a target for JSON patch {}",
                p.source
            )));
        }
        patch::apply(rs, &p)?;
        mark(rs, "PatchJson6902Transformer");
    }
    for r in &k.replicas {
        transformers::replicas(rs, r, &tc.replicas)?;
        mark(rs, "ReplicaCountTransformer");
    }
    for i in &k.images {
        transformers::images(rs, i, &tc.images)?;
        mark(rs, "ImageTagTransformer");
    }
    if !k.replacements.is_empty() {
        let reps = load_replacements(&k.replacements, ldr)?;
        replacements::apply(rs, &reps)?;
        mark(rs, "ReplacementTransformer");
    }
    Ok(())
}

/// Reads decoded `replacements:` entries (of a kustomization or a `ReplacementTransformer`
/// config); a `path` entry names a file holding one replacement or a list of them, which
/// kustomize reads with `sigs.k8s.io/yaml` (YAML 1.1, Go's JSON decoding).
pub(crate) fn load_replacements(
    entries: &[Value],
    ldr: &Loader,
) -> Result<Vec<Replacement>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        let Some(path) = entry.get("path").and_then(Value::as_str) else {
            out.push(Replacement::parse(entry)?);
            continue;
        };
        if entry.get("source").is_some()
            || entry
                .get("targets")
                .is_some_and(|t| t != &Value::Array(Vec::new()))
        {
            return Err(Error::new(
                "cannot specify both path and inline replacement",
            ));
        }
        let (file, text) = ldr.read_text(path)?;
        let doc = crate::yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        let list = match &doc {
            Value::Array(_) => true,
            Value::Object(_) => false,
            other => {
                return Err(Error::new(format!(
                    "unsupported replacement type encountered within replacement path: {}",
                    go_kind(other)
                ))
                .in_file(&file));
            }
        };
        let decoded = gojson::decode(&doc, gotypes::replacement_file(list), Mode::YamlUnmarshal)
            .map_err(|e| Error::new(e).in_file(&file))?;
        let items = match decoded {
            Value::Array(items) => items,
            one => vec![one],
        };
        for item in &items {
            out.push(Replacement::parse(item).map_err(|e| e.in_file(&file))?);
        }
    }
    Ok(out)
}

/// The `reflect.Kind` of what `sigs.k8s.io/yaml` decodes a document into (numbers become
/// `float64` in an `interface{}`).
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// The steps kustomize runs once, after the whole tree is accumulated: hash suffixes, name
/// references, vars; local-config resources leave; annotations get their last rewrite and
/// the build metadata.
pub(crate) fn finish(ra: &mut Accumulator, metadata: BuildMetadata) -> Result<(), Error> {
    hash::add_suffixes(&mut ra.res.resources);
    nameref::fix(&mut ra.res.resources, &ra.config.name_reference)?;
    vars::resolve(&mut ra.res.resources, &ra.vars, &ra.config.var_reference)?;
    ra.res.resources.retain(|r| !r.is_local_config());
    for r in &mut ra.res.resources {
        r.rewrite_annotations(metadata.keeps_annotations())?;
        metadata.apply(r);
    }
    Ok(())
}
