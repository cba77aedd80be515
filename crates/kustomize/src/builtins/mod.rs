//! kustomize's builtin generators and transformers, one file each as in kustomize's
//! `api/builtins`: the builtin's configuration, how it is read from a plugin config
//! (`apiVersion: builtin` under `generators`, `transformers` or `validators`), and what it
//! does.
//!
//! This is the one dispatcher both ways of configuring a builtin go through: a
//! kustomization's own fields become builtins in `super::configure` (as kustomize's
//! `kusttarget_configplugin` turns them into plugin configs), plugin configs become
//! builtins in [`read_generator`] and [`read_transformer`], and [`generate`],
//! [`transform`] and [`validate`] run them all, recording each on what it touched.
//!
//! `SortOrderTransformer` is no plugin in kustomize: only `sortOptions` of the top
//! kustomization runs it, once the build is done.

mod affix;
pub(crate) mod annotations_transformer;
pub(crate) mod config_map_generator;
pub(crate) mod hash_transformer;
pub(crate) mod helm_chart_inflation_generator;
pub(crate) mod iam_policy_generator;
pub(crate) mod image_tag_transformer;
pub(crate) mod label_transformer;
pub(crate) mod namespace_transformer;
pub(crate) mod patch_json6902_transformer;
pub(crate) mod patch_strategic_merge_transformer;
pub(crate) mod patch_transformer;
pub(crate) mod prefix_suffix_transformer;
pub(crate) mod prefix_transformer;
pub(crate) mod replacement_transformer;
pub(crate) mod replica_count_transformer;
pub(crate) mod secret_generator;
pub(crate) mod sort_order_transformer;
pub(crate) mod suffix_transformer;
pub(crate) mod value_add_transformer;

use serde_json::{Map, Value};

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::gojson::{self, GoType, Mode};
use super::kustomization::list;
use super::loader::Loader;
use super::origin::Origin;
use super::resid::ResId;
use super::resource::{ResMap, Resource};

use annotations_transformer::AnnotationsTransformer;
use config_map_generator::ConfigMapGenerator;
use hash_transformer::HashTransformer;
use helm_chart_inflation_generator::HelmChartInflationGenerator;
use iam_policy_generator::IamPolicyGenerator;
use image_tag_transformer::ImageTagTransformer;
use label_transformer::LabelTransformer;
use namespace_transformer::NamespaceTransformer;
use patch_json6902_transformer::PatchJson6902Transformer;
use patch_strategic_merge_transformer::PatchStrategicMergeTransformer;
use patch_transformer::PatchTransformer;
use prefix_suffix_transformer::PrefixSuffixTransformer;
use prefix_transformer::PrefixTransformer;
use replacement_transformer::ReplacementTransformer;
use replica_count_transformer::ReplicaCountTransformer;
use secret_generator::SecretGenerator;
use suffix_transformer::SuffixTransformer;
use value_add_transformer::ValueAddTransformer;

/// A builtin that makes resources.
pub(crate) trait Generator {
    /// The resources it generates; files it names are read through `ldr`.
    fn generate(&self, ldr: &Loader) -> Result<Vec<Resource>, Error>;
}

/// A builtin that changes resources.
pub(crate) trait Transformer {
    /// Changes the resources in place (a patch may delete some).
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error>;
}

/// A configured builtin and where it was configured.
pub(crate) struct Configured<B: ?Sized> {
    builtin: Box<B>,
    /// Recorded on what it generates or transforms (`buildMetadata`).
    origin: Origin,
    /// A plugin config's id, which its errors name; a kustomization's own fields have none.
    plugin: Option<String>,
}

impl<B: ?Sized> Configured<B> {
    /// A builtin made from a kustomization's own fields.
    pub(crate) fn field(builtin: Box<B>, origin: Origin) -> Self {
        Configured {
            builtin,
            origin,
            plugin: None,
        }
    }

    /// A builtin read from the plugin config `cfg`.
    pub(crate) fn plugin(builtin: Box<B>, origin: Origin, cfg: &Value) -> Self {
        Configured {
            builtin,
            origin,
            plugin: Some(ResId::of(cfg).to_string()),
        }
    }

    fn context(&self, e: Error) -> Error {
        match &self.plugin {
            Some(id) => in_plugin_config(e, id),
            None => e,
        }
    }
}

/// Names the plugin config (by its id) an error comes from.
pub(crate) fn in_plugin_config(e: Error, id: &str) -> Error {
    Error::new(format!("{} (plugin config {id})", e.message()))
}

/// Runs generators in order: their resources join `res` by their behavior (create,
/// merge, replace), with the generator as their origin.
pub(crate) fn generate(
    generators: &[Configured<dyn Generator>],
    ldr: &Loader,
    res: &mut ResMap,
) -> Result<(), Error> {
    for g in generators {
        for mut r in g.builtin.generate(ldr).map_err(|e| g.context(e))? {
            r.origin = Some(g.origin.clone());
            res.absorb(r)?;
        }
    }
    Ok(())
}

/// Runs transformers in order; each is recorded on every resource
/// (`buildMetadata: [transformerAnnotations]`), whether or not it changed it, as
/// kustomize does.
pub(crate) fn transform(
    transformers: &[Configured<dyn Transformer>],
    rs: &mut Vec<Resource>,
) -> Result<(), Error> {
    for t in transformers {
        t.builtin.transform(rs).map_err(|e| t.context(e))?;
        for r in rs.iter_mut() {
            r.transformations.push(t.origin.clone());
        }
    }
    Ok(())
}

/// Runs transformers as validators: each must leave every resource as it was.
pub(crate) fn validate(
    validators: &[Configured<dyn Transformer>],
    rs: &[Resource],
) -> Result<(), Error> {
    for v in validators {
        let mut copy = rs.to_vec();
        v.builtin.transform(&mut copy).map_err(|e| v.context(e))?;
        if copy.len() != rs.len() || copy.iter().zip(rs).any(|(a, b)| a.obj != b.obj) {
            return Err(v.context(Error::new("validator shouldn't modify the resource map")));
        }
    }
    Ok(())
}

/// The generator a plugin config of builtin `kind` configures; `None` when `kind` is no
/// generator. Generators read their files when they run, so configuring one reads none.
pub(crate) fn read_generator(kind: &str, cfg: &Value) -> Option<Result<Box<dyn Generator>, Error>> {
    fn boxed<G: Generator + 'static>(g: Result<G, Error>) -> Result<Box<dyn Generator>, Error> {
        g.map(|g| Box::new(g) as Box<dyn Generator>)
    }
    Some(match kind {
        ConfigMapGenerator::KIND => boxed(ConfigMapGenerator::read(cfg)),
        SecretGenerator::KIND => boxed(SecretGenerator::read(cfg)),
        HelmChartInflationGenerator::KIND => boxed(HelmChartInflationGenerator::read(cfg)),
        IamPolicyGenerator::KIND => boxed(IamPolicyGenerator::read(cfg)),
        _ => return None,
    })
}

/// The transformer a plugin config of builtin `kind` configures.
///
/// # Errors
/// A generator's kind, a kind that is no builtin transformer, or the config's own errors.
pub(crate) fn read_transformer(
    kind: &str,
    cfg: &Value,
    ldr: &Loader,
) -> Result<Box<dyn Transformer>, Error> {
    fn boxed<T: Transformer + 'static>(t: Result<T, Error>) -> Result<Box<dyn Transformer>, Error> {
        t.map(|t| Box::new(t) as Box<dyn Transformer>)
    }
    match kind {
        AnnotationsTransformer::KIND => boxed(AnnotationsTransformer::read(cfg)),
        HashTransformer::KIND => boxed(Ok(HashTransformer)),
        ImageTagTransformer::KIND => boxed(ImageTagTransformer::read(cfg)),
        LabelTransformer::KIND => boxed(LabelTransformer::read(cfg)),
        NamespaceTransformer::KIND => boxed(NamespaceTransformer::read(cfg)),
        PatchJson6902Transformer::KIND => boxed(PatchJson6902Transformer::read(cfg, ldr)),
        PatchStrategicMergeTransformer::KIND => {
            boxed(PatchStrategicMergeTransformer::read(cfg, ldr))
        }
        PatchTransformer::KIND => boxed(PatchTransformer::read(cfg, ldr)),
        PrefixSuffixTransformer::KIND => boxed(PrefixSuffixTransformer::read(cfg)),
        PrefixTransformer::KIND => boxed(PrefixTransformer::read(cfg)),
        ReplacementTransformer::KIND => boxed(ReplacementTransformer::read(cfg, ldr)),
        ReplicaCountTransformer::KIND => boxed(ReplicaCountTransformer::read(cfg)),
        SuffixTransformer::KIND => boxed(SuffixTransformer::read(cfg)),
        ValueAddTransformer::KIND => boxed(ValueAddTransformer::read(cfg, ldr)),
        ConfigMapGenerator::KIND
        | SecretGenerator::KIND
        | HelmChartInflationGenerator::KIND
        | IamPolicyGenerator::KIND => Err(Error::new(format!(
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

/// The text of a top-level field of a decoded config, `None` when absent or empty.
fn optional_text(body: &Map<String, Value>, key: &str) -> Option<String> {
    Some(text(body, &format!("/{key}"))).filter(|s| !s.is_empty())
}

/// The `fieldSpecs` of a decoded config.
fn field_specs(body: &Map<String, Value>) -> Result<Vec<FieldSpec>, Error> {
    list(body.get("fieldSpecs"), "fieldSpecs")?
        .iter()
        .map(FieldSpec::parse)
        .collect()
}
