//! Building one kustomization: accumulate resources (files, sub-kustomizations, remote
//! bases), run its generators (its fields' and its plugin configs', Helm charts among
//! them), components, then its transformers (fields first, in kustomize's order, then
//! plugin configs) and validators, all through `builtins`. Names get their hashes and
//! references are fixed once, at the top.

use serde_json::Value;

use super::builtins::hash_transformer::HashTransformer;
use super::builtins::image_tag_transformer::ImageTagTransformer;
use super::builtins::patch_transformer::PatchTransformer;
use super::builtins::{self, Transformer};
use super::config::TransformerConfig;
use super::error::Error;
use super::kustomization::{FILE_NAMES, Kind, Kustomization};
use super::loader::Loader;
use super::origin::{BuildMetadata, Origin};
use super::patch::Patch;
use super::plugins::{self, Role};
use super::resource::{ResMap, Resource};
use super::vars::{self, Var};
use super::{configure, nameref};
use crunch_yaml::{Dialect, parse_stream};

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
    let doc = crunch_yaml::parse_document(&text, Dialect::GoYamlV2)
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
        let doc = crunch_yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        config.merge(TransformerConfig::parse(&doc).map_err(|e| e.in_file(&file))?)?;
    }
    ra.config.merge(config)?;
    for c in &k.crds {
        let (file, text) = ldr.read_text(c)?;
        let doc = crunch_yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        let found = super::crds::config_from_crds(&doc).map_err(|e| e.in_file(&file))?;
        ra.config.merge(found)?;
    }
    let mut generators = configure::generators(k, ldr)?;
    generators.extend(plugins::generators(&k.generators, ldr, &build_plugin_dir)?);
    builtins::generate(&generators, ldr, &mut ra.res)?;
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
    let mut transformers = configure::transformers(k, ldr, &ra.config)?;
    transformers.extend(plugins::transformers(
        &k.transformers,
        ldr,
        &build_plugin_dir,
        Role::Transformer,
    )?);
    builtins::transform(&transformers, &mut ra.res.resources)?;
    let validators = plugins::transformers(&k.validators, ldr, &build_plugin_dir, Role::Validator)?;
    builtins::validate(&validators, &ra.res.resources)?;
    vars::merge(&mut ra.res.resources, &mut ra.vars, &k.vars)?;
    Ok(ra)
}

/// Builds a directory named under `generators`, `transformers` or `validators`: a
/// kustomization whose output is plugin configs.
fn build_plugin_dir(ldr: &Loader, path: &str) -> Result<Vec<Resource>, Error> {
    let child = ldr.child(path).map_err(|e| e.within(path.to_string()))?;
    let sub = build_dir(&child, Kind::Kustomization).map_err(|e| e.within(path.to_string()))?;
    Ok(sub.res.resources)
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
        let patch = Patch::load(args, None)?;
        PatchTransformer { patch }.transform(rs)?;
    }
    for image in &k.images {
        let t = ImageTagTransformer {
            image: image.clone(),
            field_specs: ra.config.images.clone(),
        };
        t.transform(rs)?;
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

/// The steps kustomize runs once, after the whole tree is accumulated: hash suffixes, name
/// references, vars; local-config resources leave; annotations get their last rewrite and
/// the build metadata.
pub(crate) fn finish(ra: &mut Accumulator, metadata: BuildMetadata) -> Result<(), Error> {
    HashTransformer.transform(&mut ra.res.resources)?;
    nameref::fix(&mut ra.res.resources, &ra.config.name_reference)?;
    vars::resolve(&mut ra.res.resources, &ra.vars, &ra.config.var_reference)?;
    ra.res.resources.retain(|r| !r.is_local_config());
    for r in &mut ra.res.resources {
        r.rewrite_annotations(metadata.keeps_annotations())?;
        metadata.apply(r);
    }
    Ok(())
}
