//! A kustomization's own fields as builtins, as kustomize's `kusttarget_configplugin`
//! turns them into builtin plugin configs: the generators (`configMapGenerator`,
//! `secretGenerator`, `helmCharts`) and the transformers, in kustomize's order, each with
//! the field specs of the transformer configuration and the kustomization as its origin.
//! They run through the same dispatcher as plugin configs (see `builtins`).

use super::builtins::annotations_transformer::AnnotationsTransformer;
use super::builtins::config_map_generator::ConfigMapGenerator;
use super::builtins::helm_chart_inflation_generator::HelmChartInflationGenerator;
use super::builtins::image_tag_transformer::ImageTagTransformer;
use super::builtins::label_transformer::LabelTransformer;
use super::builtins::namespace_transformer::{NamespaceOptions, NamespaceTransformer};
use super::builtins::patch_json6902_transformer::PatchJson6902Transformer;
use super::builtins::patch_strategic_merge_transformer::PatchStrategicMergeTransformer;
use super::builtins::patch_transformer::PatchTransformer;
use super::builtins::prefix_transformer::PrefixTransformer;
use super::builtins::replacement_transformer::ReplacementTransformer;
use super::builtins::replica_count_transformer::ReplicaCountTransformer;
use super::builtins::secret_generator::SecretGenerator;
use super::builtins::suffix_transformer::SuffixTransformer;
use super::builtins::{Configured, Generator, Transformer};
use super::config::{TransformerConfig, merge_specs};
use super::error::Error;
use super::fieldspec::FieldSpec;
use super::kustomization::{GeneratorArgs, Kustomization, LabelArgs};
use super::loader::Loader;
use super::origin::Origin;
use super::patch::Patch;

/// The generators of `k`'s fields: ConfigMaps, Secrets, then Helm charts.
pub(crate) fn generators(
    k: &Kustomization,
    ldr: &Loader,
) -> Result<Vec<Configured<dyn Generator>>, Error> {
    let origin = |kind: &str| Origin::builtin(ldr.place(), ldr.kustomization_file(), kind);
    let with_global_options = |args: &GeneratorArgs| GeneratorArgs {
        options: args
            .options
            .clone()
            .with_global(k.generator_options.as_ref()),
        ..args.clone()
    };
    let mut out: Vec<Configured<dyn Generator>> = Vec::new();
    for args in &k.config_map_generator {
        let args = with_global_options(args);
        let g = Box::new(ConfigMapGenerator { args });
        out.push(Configured::field(g, origin(ConfigMapGenerator::KIND)));
    }
    for args in &k.secret_generator {
        let args = with_global_options(args);
        let g = Box::new(SecretGenerator { args });
        out.push(Configured::field(g, origin(SecretGenerator::KIND)));
    }
    for chart in &k.helm_charts {
        let g = HelmChartInflationGenerator::new(chart.clone(), k.helm_globals.clone());
        out.push(Configured::field(
            Box::new(g),
            origin(HelmChartInflationGenerator::KIND),
        ));
    }
    Ok(out)
}

/// The transformers of `k`'s fields, in kustomize's order, driven by the field specs of
/// `tc`; patch and replacement files are read here. kustomize configures the
/// `commonLabels` transformer, empty or not, whenever either label field is set.
pub(crate) fn transformers(
    k: &Kustomization,
    ldr: &Loader,
    tc: &TransformerConfig,
) -> Result<Vec<Configured<dyn Transformer>>, Error> {
    let mut out: Vec<Configured<dyn Transformer>> = Vec::new();
    let mut add = |t: Box<dyn Transformer>, kind: &str| {
        let origin = Origin::builtin(ldr.place(), ldr.kustomization_file(), kind);
        out.push(Configured::field(t, origin));
    };
    if !k.patches_strategic_merge.is_empty() {
        let t = PatchStrategicMergeTransformer::from_entries(&k.patches_strategic_merge, ldr)?;
        add(Box::new(t), PatchStrategicMergeTransformer::KIND);
    }
    for args in &k.patches {
        let patch = Patch::load(args, Some(ldr))?;
        add(Box::new(PatchTransformer { patch }), PatchTransformer::KIND);
    }
    if !k.namespace.is_empty() {
        let t = NamespaceTransformer {
            namespace: k.namespace.clone(),
            field_specs: tc.namespace.clone(),
            options: NamespaceOptions::default(),
        };
        add(Box::new(t), NamespaceTransformer::KIND);
    }
    if !k.name_prefix.is_empty() {
        let t = PrefixTransformer {
            prefix: k.name_prefix.clone(),
            field_specs: tc.name_prefix.clone(),
        };
        add(Box::new(t), PrefixTransformer::KIND);
    }
    if !k.name_suffix.is_empty() {
        let t = SuffixTransformer {
            suffix: k.name_suffix.clone(),
            field_specs: tc.name_suffix.clone(),
        };
        add(Box::new(t), SuffixTransformer::KIND);
    }
    for l in &k.labels {
        let t = LabelTransformer {
            labels: l.pairs.clone(),
            field_specs: label_specs(l, tc)?,
        };
        add(Box::new(t), LabelTransformer::KIND);
    }
    if !k.labels.is_empty() || !k.common_labels.is_empty() {
        let t = LabelTransformer {
            labels: k.common_labels.clone(),
            field_specs: tc.common_labels.clone(),
        };
        add(Box::new(t), LabelTransformer::KIND);
    }
    if !k.common_annotations.is_empty() {
        let t = AnnotationsTransformer {
            annotations: k.common_annotations.clone(),
            field_specs: tc.common_annotations.clone(),
        };
        add(Box::new(t), AnnotationsTransformer::KIND);
    }
    for args in &k.patches_json6902 {
        let t = PatchJson6902Transformer::new(Patch::load(args, Some(ldr))?)?;
        add(Box::new(t), PatchJson6902Transformer::KIND);
    }
    for replica in &k.replicas {
        let t = ReplicaCountTransformer {
            replica: replica.clone(),
            field_specs: tc.replicas.clone(),
        };
        add(Box::new(t), ReplicaCountTransformer::KIND);
    }
    for image in &k.images {
        let t = ImageTagTransformer {
            image: image.clone(),
            field_specs: tc.images.clone(),
        };
        add(Box::new(t), ImageTagTransformer::KIND);
    }
    if !k.replacements.is_empty() {
        let t = ReplacementTransformer::from_entries(&k.replacements, ldr)?;
        add(Box::new(t), ReplacementTransformer::KIND);
    }
    Ok(out)
}

/// The field specs of a `labels` entry: its own `fields`, the transformer
/// configuration's `labels`, then selectors (`includeSelectors`, which cover templates)
/// or else templates (`includeTemplates`) and `metadata/labels`.
fn label_specs(l: &LabelArgs, tc: &TransformerConfig) -> Result<Vec<FieldSpec>, Error> {
    let mut specs: Vec<FieldSpec> = l
        .fields
        .iter()
        .map(FieldSpec::parse)
        .collect::<Result<_, _>>()?;
    merge_specs(&mut specs, tc.labels.clone())?;
    if l.include_selectors {
        merge_specs(&mut specs, tc.common_labels.clone())?;
    } else {
        if l.include_templates {
            merge_specs(&mut specs, tc.template_labels.clone())?;
        }
        merge_specs(&mut specs, vec![FieldSpec::any("metadata/labels", true)])?;
    }
    Ok(specs)
}
