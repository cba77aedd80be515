//! kustomize's Go types as `encoding/json` sees them (JSON field names, Go type names,
//! fields promoted from embedded structs), for [`super::gojson`]: the kustomization
//! (`types.Kustomization` and everything in it).

use super::gojson::{
    ANY_MAP, BOOL, BOOL_MAP, GoField, GoStruct, GoType, INT, INT64, STRING, STRING_MAP, STRINGS,
    field, promoted,
};

/// Shorthand for a struct type and the slice, pointer and pointer-slice types around it.
macro_rules! go_struct {
    ($name:ident, $ty:ident, $go:literal, [$($field:expr),* $(,)?]) => {
        static $name: GoStruct = GoStruct {
            name: $go,
            fields: &[$($field),*],
        };
        pub(crate) static $ty: GoType = GoType::Struct(&$name);
    };
}

go_struct!(
    GVK,
    GVK_T,
    "resid.Gvk",
    [
        field("group", &STRING),
        field("version", &STRING),
        field("kind", &STRING),
    ]
);

/// The `group`/`version`/`kind` fields of a struct that embeds `resid.Gvk`.
const GVK_FIELDS: [GoField; 3] = [
    promoted("group", &STRING, &GVK_T),
    promoted("version", &STRING, &GVK_T),
    promoted("kind", &STRING, &GVK_T),
];

go_struct!(
    RES_ID,
    RES_ID_T,
    "resid.ResId",
    [
        GVK_FIELDS[0],
        GVK_FIELDS[1],
        GVK_FIELDS[2],
        field("name", &STRING),
        field("namespace", &STRING),
    ]
);

/// The fields of a struct that embeds `resid.ResId`.
const RES_ID_FIELDS: [GoField; 5] = [
    promoted("group", &STRING, &RES_ID_T),
    promoted("version", &STRING, &RES_ID_T),
    promoted("kind", &STRING, &RES_ID_T),
    promoted("name", &STRING, &RES_ID_T),
    promoted("namespace", &STRING, &RES_ID_T),
];

go_struct!(
    TYPE_META,
    TYPE_META_T,
    "types.TypeMeta",
    [field("kind", &STRING), field("apiVersion", &STRING),]
);

go_struct!(
    OBJECT_META,
    OBJECT_META_T,
    "types.ObjectMeta",
    [
        field("name", &STRING),
        field("namespace", &STRING),
        field("labels", &STRING_MAP),
        field("annotations", &STRING_MAP),
    ]
);
static OBJECT_META_PTR: GoType = GoType::Ptr(&OBJECT_META_T);

go_struct!(
    FIELD_SPEC,
    FIELD_SPEC_T,
    "types.FieldSpec",
    [
        GVK_FIELDS[0],
        GVK_FIELDS[1],
        GVK_FIELDS[2],
        field("path", &STRING),
        field("create", &BOOL),
    ]
);
pub(crate) static FIELD_SPECS: GoType = GoType::Slice(None, &FIELD_SPEC_T);

go_struct!(
    LABEL,
    LABEL_T,
    "types.Label",
    [
        field("pairs", &STRING_MAP),
        field("includeSelectors", &BOOL),
        field("includeTemplates", &BOOL),
        field("fields", &FIELD_SPECS),
    ]
);
static LABELS: GoType = GoType::Slice(None, &LABEL_T);

go_struct!(
    SELECTOR,
    SELECTOR_T,
    "types.Selector",
    [
        RES_ID_FIELDS[0],
        RES_ID_FIELDS[1],
        RES_ID_FIELDS[2],
        RES_ID_FIELDS[3],
        RES_ID_FIELDS[4],
        field("annotationSelector", &STRING),
        field("labelSelector", &STRING),
    ]
);
pub(crate) static SELECTOR_PTR: GoType = GoType::Ptr(&SELECTOR_T);
static SELECTOR_PTRS: GoType = GoType::Slice(None, &SELECTOR_PTR);

go_struct!(
    PATCH,
    PATCH_T,
    "types.Patch",
    [
        field("path", &STRING),
        field("patch", &STRING),
        field("target", &SELECTOR_PTR),
        field("options", &BOOL_MAP),
    ]
);
static PATCHES: GoType = GoType::Slice(None, &PATCH_T);

static PATCH_STRATEGIC_MERGE: GoType = GoType::Str("types.PatchStrategicMerge");
pub(crate) static PATCHES_STRATEGIC_MERGE: GoType = GoType::Slice(None, &PATCH_STRATEGIC_MERGE);

go_struct!(
    IMAGE,
    IMAGE_T,
    "types.Image",
    [
        field("name", &STRING),
        field("newName", &STRING),
        field("tagSuffix", &STRING),
        field("newTag", &STRING),
        field("digest", &STRING),
    ]
);
static IMAGES: GoType = GoType::Slice(None, &IMAGE_T);

go_struct!(
    FIELD_OPTIONS,
    FIELD_OPTIONS_T,
    "types.FieldOptions",
    [
        field("delimiter", &STRING),
        field("index", &INT),
        field("encoding", &STRING),
        field("create", &BOOL),
    ]
);
static FIELD_OPTIONS_PTR: GoType = GoType::Ptr(&FIELD_OPTIONS_T);

go_struct!(
    SOURCE_SELECTOR,
    SOURCE_SELECTOR_T,
    "types.SourceSelector",
    [
        RES_ID_FIELDS[0],
        RES_ID_FIELDS[1],
        RES_ID_FIELDS[2],
        RES_ID_FIELDS[3],
        RES_ID_FIELDS[4],
        field("fieldPath", &STRING),
        field("options", &FIELD_OPTIONS_PTR),
    ]
);
static SOURCE_SELECTOR_PTR: GoType = GoType::Ptr(&SOURCE_SELECTOR_T);

go_struct!(
    TARGET_SELECTOR,
    TARGET_SELECTOR_T,
    "types.TargetSelector",
    [
        field("select", &SELECTOR_PTR),
        field("reject", &SELECTOR_PTRS),
        field("fieldPaths", &STRINGS),
        field("options", &FIELD_OPTIONS_PTR),
    ]
);
static TARGET_SELECTOR_PTR: GoType = GoType::Ptr(&TARGET_SELECTOR_T);
static TARGET_SELECTOR_PTRS: GoType = GoType::Slice(None, &TARGET_SELECTOR_PTR);

go_struct!(
    REPLACEMENT,
    REPLACEMENT_T,
    "types.Replacement",
    [
        field("source", &SOURCE_SELECTOR_PTR),
        field("targets", &TARGET_SELECTOR_PTRS),
    ]
);

go_struct!(
    REPLACEMENT_FIELD,
    REPLACEMENT_FIELD_T,
    "types.ReplacementField",
    [
        promoted("source", &SOURCE_SELECTOR_PTR, &REPLACEMENT_T),
        promoted("targets", &TARGET_SELECTOR_PTRS, &REPLACEMENT_T),
        field("path", &STRING),
    ]
);
static REPLACEMENT_FIELDS: GoType = GoType::Slice(None, &REPLACEMENT_FIELD_T);

go_struct!(
    REPLICA,
    REPLICA_T,
    "types.Replica",
    [field("name", &STRING), field("count", &INT64),]
);
static REPLICAS: GoType = GoType::Slice(None, &REPLICA_T);

go_struct!(
    VAR_TARGET,
    VAR_TARGET_T,
    "types.Target",
    [
        field("apiVersion", &STRING),
        GVK_FIELDS[0],
        GVK_FIELDS[1],
        GVK_FIELDS[2],
        field("name", &STRING),
        field("namespace", &STRING),
    ]
);

go_struct!(
    FIELD_SELECTOR,
    FIELD_SELECTOR_T,
    "types.FieldSelector",
    [field("fieldPath", &STRING),]
);

go_struct!(
    VAR,
    VAR_T,
    "types.Var",
    [
        field("name", &STRING),
        field("objref", &VAR_TARGET_T),
        field("fieldref", &FIELD_SELECTOR_T),
    ]
);
static VARS: GoType = GoType::Slice(None, &VAR_T);

go_struct!(
    LEGACY_SORT_OPTIONS,
    LEGACY_SORT_OPTIONS_T,
    "types.LegacySortOptions",
    [field("orderFirst", &STRINGS), field("orderLast", &STRINGS),]
);
static LEGACY_SORT_OPTIONS_PTR: GoType = GoType::Ptr(&LEGACY_SORT_OPTIONS_T);

static SORT_ORDER: GoType = GoType::Str("types.SortOrder");
go_struct!(
    SORT_OPTIONS,
    SORT_OPTIONS_T,
    "types.SortOptions",
    [
        field("order", &SORT_ORDER),
        field("legacySortOptions", &LEGACY_SORT_OPTIONS_PTR),
    ]
);
static SORT_OPTIONS_PTR: GoType = GoType::Ptr(&SORT_OPTIONS_T);

go_struct!(
    GENERATOR_OPTIONS,
    GENERATOR_OPTIONS_T,
    "types.GeneratorOptions",
    [
        field("labels", &STRING_MAP),
        field("annotations", &STRING_MAP),
        field("disableNameSuffixHash", &BOOL),
        field("immutable", &BOOL),
    ]
);
static GENERATOR_OPTIONS_PTR: GoType = GoType::Ptr(&GENERATOR_OPTIONS_T);

go_struct!(
    KV_PAIR_SOURCES,
    KV_PAIR_SOURCES_T,
    "types.KvPairSources",
    [
        field("literals", &STRINGS),
        field("files", &STRINGS),
        field("envs", &STRINGS),
        field("env", &STRING),
    ]
);

go_struct!(
    GENERATOR_ARGS,
    GENERATOR_ARGS_T,
    "types.GeneratorArgs",
    [
        field("namespace", &STRING),
        field("name", &STRING),
        field("behavior", &STRING),
        promoted("literals", &STRINGS, &KV_PAIR_SOURCES_T),
        promoted("files", &STRINGS, &KV_PAIR_SOURCES_T),
        promoted("envs", &STRINGS, &KV_PAIR_SOURCES_T),
        promoted("env", &STRING, &KV_PAIR_SOURCES_T),
        field("options", &GENERATOR_OPTIONS_PTR),
    ]
);

/// The fields of a struct that embeds `types.GeneratorArgs`.
const GENERATOR_ARGS_FIELDS: [GoField; 8] = [
    promoted("namespace", &STRING, &GENERATOR_ARGS_T),
    promoted("name", &STRING, &GENERATOR_ARGS_T),
    promoted("behavior", &STRING, &GENERATOR_ARGS_T),
    promoted("literals", &STRINGS, &GENERATOR_ARGS_T),
    promoted("files", &STRINGS, &GENERATOR_ARGS_T),
    promoted("envs", &STRINGS, &GENERATOR_ARGS_T),
    promoted("env", &STRING, &GENERATOR_ARGS_T),
    promoted("options", &GENERATOR_OPTIONS_PTR, &GENERATOR_ARGS_T),
];
go_struct!(
    CONFIG_MAP_ARGS,
    CONFIG_MAP_ARGS_T,
    "types.ConfigMapArgs",
    [
        GENERATOR_ARGS_FIELDS[0],
        GENERATOR_ARGS_FIELDS[1],
        GENERATOR_ARGS_FIELDS[2],
        GENERATOR_ARGS_FIELDS[3],
        GENERATOR_ARGS_FIELDS[4],
        GENERATOR_ARGS_FIELDS[5],
        GENERATOR_ARGS_FIELDS[6],
        GENERATOR_ARGS_FIELDS[7],
    ]
);
static CONFIG_MAP_ARGS_LIST: GoType = GoType::Slice(None, &CONFIG_MAP_ARGS_T);

go_struct!(
    SECRET_ARGS,
    SECRET_ARGS_T,
    "types.SecretArgs",
    [
        GENERATOR_ARGS_FIELDS[0],
        GENERATOR_ARGS_FIELDS[1],
        GENERATOR_ARGS_FIELDS[2],
        GENERATOR_ARGS_FIELDS[3],
        GENERATOR_ARGS_FIELDS[4],
        GENERATOR_ARGS_FIELDS[5],
        GENERATOR_ARGS_FIELDS[6],
        GENERATOR_ARGS_FIELDS[7],
        field("type", &STRING),
    ]
);
static SECRET_ARGS_LIST: GoType = GoType::Slice(None, &SECRET_ARGS_T);

go_struct!(
    HELM_GLOBALS,
    HELM_GLOBALS_T,
    "types.HelmGlobals",
    [field("chartHome", &STRING), field("configHome", &STRING),]
);
static HELM_GLOBALS_PTR: GoType = GoType::Ptr(&HELM_GLOBALS_T);

go_struct!(
    HELM_CHART,
    HELM_CHART_T,
    "types.HelmChart",
    [
        field("name", &STRING),
        field("version", &STRING),
        field("repo", &STRING),
        field("releaseName", &STRING),
        field("namespace", &STRING),
        field("additionalValuesFiles", &STRINGS),
        field("valuesFile", &STRING),
        field("valuesInline", &ANY_MAP),
        field("valuesMerge", &STRING),
        field("includeCRDs", &BOOL),
        field("skipHooks", &BOOL),
        field("apiVersions", &STRINGS),
        field("kubeVersion", &STRING),
        field("nameTemplate", &STRING),
        field("skipTests", &BOOL),
        field("debug", &BOOL),
    ]
);
static HELM_CHARTS: GoType = GoType::Slice(None, &HELM_CHART_T);

go_struct!(
    HELM_CHART_ARGS,
    HELM_CHART_ARGS_T,
    "types.HelmChartArgs",
    [
        field("chartName", &STRING),
        field("chartVersion", &STRING),
        field("chartRepoUrl", &STRING),
        field("chartHome", &STRING),
        field("chartRepoName", &STRING),
        field("helmBin", &STRING),
        field("helmHome", &STRING),
        field("values", &STRING),
        field("valuesLocal", &ANY_MAP),
        field("valuesMerge", &STRING),
        field("releaseName", &STRING),
        field("releaseNamespace", &STRING),
        field("extraArgs", &STRINGS),
    ]
);
static HELM_CHART_ARGS_LIST: GoType = GoType::Slice(None, &HELM_CHART_ARGS_T);

go_struct!(
    KUSTOMIZATION,
    KUSTOMIZATION_T,
    "types.Kustomization",
    [
        promoted("kind", &STRING, &TYPE_META_T),
        promoted("apiVersion", &STRING, &TYPE_META_T),
        field("metadata", &OBJECT_META_PTR),
        field("openapi", &STRING_MAP),
        field("namePrefix", &STRING),
        field("nameSuffix", &STRING),
        field("namespace", &STRING),
        field("commonLabels", &STRING_MAP),
        field("labels", &LABELS),
        field("commonAnnotations", &STRING_MAP),
        field("patchesStrategicMerge", &PATCHES_STRATEGIC_MERGE),
        field("patchesJson6902", &PATCHES),
        field("patches", &PATCHES),
        field("images", &IMAGES),
        field("imageTags", &IMAGES),
        field("replacements", &REPLACEMENT_FIELDS),
        field("replicas", &REPLICAS),
        field("vars", &VARS),
        field("sortOptions", &SORT_OPTIONS_PTR),
        field("resources", &STRINGS),
        field("components", &STRINGS),
        field("crds", &STRINGS),
        field("bases", &STRINGS),
        field("configMapGenerator", &CONFIG_MAP_ARGS_LIST),
        field("secretGenerator", &SECRET_ARGS_LIST),
        field("helmGlobals", &HELM_GLOBALS_PTR),
        field("helmCharts", &HELM_CHARTS),
        field("helmChartInflationGenerator", &HELM_CHART_ARGS_LIST),
        field("generatorOptions", &GENERATOR_OPTIONS_PTR),
        field("configurations", &STRINGS),
        field("generators", &STRINGS),
        field("transformers", &STRINGS),
        field("validators", &STRINGS),
        field("buildMetadata", &STRINGS),
    ]
);

// The files kustomize decodes besides kustomizations.

static REPLACEMENTS: GoType = GoType::Slice(None, &REPLACEMENT_T);

/// What a replacement file holds: one replacement or a list of them.
pub(crate) fn replacement_file(list: bool) -> &'static GoType {
    if list { &REPLACEMENTS } else { &REPLACEMENT_T }
}

static FS_SLICE: GoType = GoType::Slice(Some("types.FsSlice"), &FIELD_SPEC_T);

go_struct!(
    NAME_BACK_REFERENCES,
    NAME_BACK_REFERENCES_T,
    "builtinconfig.NameBackReferences",
    [
        GVK_FIELDS[0],
        GVK_FIELDS[1],
        GVK_FIELDS[2],
        field("fieldSpecs", &FS_SLICE),
    ]
);
static NBR_SLICE: GoType = GoType::Slice(Some("builtinconfig.nbrSlice"), &NAME_BACK_REFERENCES_T);

go_struct!(
    TRANSFORMER_CONFIG,
    TRANSFORMER_CONFIG_T,
    "builtinconfig.TransformerConfig",
    [
        field("namePrefix", &FS_SLICE),
        field("nameSuffix", &FS_SLICE),
        field("namespace", &FS_SLICE),
        field("commonLabels", &FS_SLICE),
        field("labels", &FS_SLICE),
        field("templateLabels", &FS_SLICE),
        field("commonAnnotations", &FS_SLICE),
        field("nameReference", &NBR_SLICE),
        field("varReference", &FS_SLICE),
        field("images", &FS_SLICE),
        field("replicas", &FS_SLICE),
    ]
);

// Builtin plugin configs, as each plugin's `Config` decodes them.

go_struct!(
    LABEL_TRANSFORMER,
    LABEL_TRANSFORMER_T,
    "builtins.LabelTransformerPlugin",
    [
        field("labels", &STRING_MAP),
        field("fieldSpecs", &FIELD_SPECS),
    ]
);

go_struct!(
    ANNOTATIONS_TRANSFORMER,
    ANNOTATIONS_TRANSFORMER_T,
    "builtins.AnnotationsTransformerPlugin",
    [
        field("annotations", &STRING_MAP),
        field("fieldSpecs", &FIELD_SPECS),
    ]
);

static ROLE_BINDING_SUBJECT_MODE: GoType = GoType::Str("namespace.RoleBindingSubjectMode");
go_struct!(
    NAMESPACE_TRANSFORMER,
    NAMESPACE_TRANSFORMER_T,
    "builtins.NamespaceTransformerPlugin",
    [
        field("metadata", &OBJECT_META_T),
        field("fieldSpecs", &FIELD_SPECS),
        field("unsetOnly", &BOOL),
        field("setRoleBindingSubjects", &ROLE_BINDING_SUBJECT_MODE),
    ]
);

go_struct!(
    PREFIX_TRANSFORMER,
    PREFIX_TRANSFORMER_T,
    "builtins.PrefixTransformerPlugin",
    [field("prefix", &STRING), field("fieldSpecs", &FS_SLICE),]
);

go_struct!(
    SUFFIX_TRANSFORMER,
    SUFFIX_TRANSFORMER_T,
    "builtins.SuffixTransformerPlugin",
    [field("suffix", &STRING), field("fieldSpecs", &FS_SLICE),]
);

go_struct!(
    IMAGE_TAG_TRANSFORMER,
    IMAGE_TAG_TRANSFORMER_T,
    "builtins.ImageTagTransformerPlugin",
    [
        field("imageTag", &IMAGE_T),
        field("fieldSpecs", &FIELD_SPECS),
    ]
);

go_struct!(
    REPLICA_COUNT_TRANSFORMER,
    REPLICA_COUNT_TRANSFORMER_T,
    "builtins.ReplicaCountTransformerPlugin",
    [
        field("replica", &REPLICA_T),
        field("fieldSpecs", &FIELD_SPECS),
    ]
);

go_struct!(
    PATCH_TRANSFORMER,
    PATCH_TRANSFORMER_T,
    "builtins.PatchTransformerPlugin",
    [
        field("path", &STRING),
        field("patch", &STRING),
        field("target", &SELECTOR_PTR),
        field("options", &BOOL_MAP),
    ]
);

go_struct!(
    PATCH_JSON6902_TRANSFORMER,
    PATCH_JSON6902_TRANSFORMER_T,
    "builtins.PatchJson6902TransformerPlugin",
    [
        field("target", &SELECTOR_PTR),
        field("path", &STRING),
        field("jsonOp", &STRING),
    ]
);

go_struct!(
    PATCH_STRATEGIC_MERGE_TRANSFORMER,
    PATCH_STRATEGIC_MERGE_TRANSFORMER_T,
    "builtins.PatchStrategicMergeTransformerPlugin",
    [
        field("paths", &PATCHES_STRATEGIC_MERGE),
        field("patches", &STRING),
    ]
);

// The plugin's second list has the JSON name "omitempty" (its tag lacks a name).
go_struct!(
    REPLACEMENT_TRANSFORMER,
    REPLACEMENT_TRANSFORMER_T,
    "builtins.ReplacementTransformerPlugin",
    [
        field("replacements", &REPLACEMENT_FIELDS),
        field("omitempty", &REPLACEMENTS),
    ]
);

go_struct!(
    VALUE_ADD_TARGET,
    VALUE_ADD_TARGET_T,
    "builtins.Target",
    [
        field("selector", &SELECTOR_PTR),
        field("fieldPath", &STRING),
        field("filePathPosition", &INT),
    ]
);
static VALUE_ADD_TARGETS: GoType = GoType::Slice(None, &VALUE_ADD_TARGET_T);

go_struct!(
    VALUE_ADD_TRANSFORMER,
    VALUE_ADD_TRANSFORMER_T,
    "builtins.ValueAddTransformerPlugin",
    [
        field("value", &STRING),
        field("targets", &VALUE_ADD_TARGETS),
        field("targetFilePath", &STRING),
    ]
);

go_struct!(
    VALUE_ADD_TARGET_FILE,
    VALUE_ADD_TARGET_FILE_T,
    "struct { Targets []builtins.Target \"json:\\\"targets,omitempty\\\" yaml:\\\"targets,omitempty\\\"\" }",
    [field("targets", &VALUE_ADD_TARGETS),]
);

/// The fields of a plugin that embeds `types.ConfigMapArgs` or `types.SecretArgs`
/// (through `via`), next to its `metadata`.
macro_rules! generator_plugin {
    ($name:ident, $ty:ident, $go:literal, $via:ident, [$($extra:expr),*]) => {
        go_struct!($name, $ty, $go, [
            field("metadata", &OBJECT_META_T),
            promoted("namespace", &STRING, &$via),
            promoted("name", &STRING, &$via),
            promoted("behavior", &STRING, &$via),
            promoted("literals", &STRINGS, &$via),
            promoted("files", &STRINGS, &$via),
            promoted("envs", &STRINGS, &$via),
            promoted("env", &STRING, &$via),
            promoted("options", &GENERATOR_OPTIONS_PTR, &$via),
            $($extra),*
        ]);
    };
}
generator_plugin!(
    CONFIG_MAP_GENERATOR,
    CONFIG_MAP_GENERATOR_T,
    "builtins.ConfigMapGeneratorPlugin",
    CONFIG_MAP_ARGS_T,
    []
);
generator_plugin!(
    SECRET_GENERATOR,
    SECRET_GENERATOR_T,
    "builtins.SecretGeneratorPlugin",
    SECRET_ARGS_T,
    [promoted("type", &STRING, &SECRET_ARGS_T)]
);

go_struct!(
    HELM_CHART_INFLATION_GENERATOR,
    HELM_CHART_INFLATION_GENERATOR_T,
    "builtins.HelmChartInflationGeneratorPlugin",
    [
        promoted("chartHome", &STRING, &HELM_GLOBALS_T),
        promoted("configHome", &STRING, &HELM_GLOBALS_T),
        promoted("name", &STRING, &HELM_CHART_T),
        promoted("version", &STRING, &HELM_CHART_T),
        promoted("repo", &STRING, &HELM_CHART_T),
        promoted("releaseName", &STRING, &HELM_CHART_T),
        promoted("namespace", &STRING, &HELM_CHART_T),
        promoted("additionalValuesFiles", &STRINGS, &HELM_CHART_T),
        promoted("valuesFile", &STRING, &HELM_CHART_T),
        promoted("valuesInline", &ANY_MAP, &HELM_CHART_T),
        promoted("valuesMerge", &STRING, &HELM_CHART_T),
        promoted("includeCRDs", &BOOL, &HELM_CHART_T),
        promoted("skipHooks", &BOOL, &HELM_CHART_T),
        promoted("apiVersions", &STRINGS, &HELM_CHART_T),
        promoted("kubeVersion", &STRING, &HELM_CHART_T),
        promoted("nameTemplate", &STRING, &HELM_CHART_T),
        promoted("skipTests", &BOOL, &HELM_CHART_T),
        promoted("debug", &BOOL, &HELM_CHART_T),
    ]
);

go_struct!(
    KUBERNETES_SERVICE,
    KUBERNETES_SERVICE_T,
    "types.KubernetesService",
    [field("name", &STRING), field("namespace", &STRING),]
);
go_struct!(
    SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_T,
    "types.ServiceAccount",
    [field("name", &STRING), field("projectId", &STRING),]
);
static CLOUD: GoType = GoType::Str("types.Cloud");
go_struct!(
    IAM_POLICY_GENERATOR_ARGS,
    IAM_POLICY_GENERATOR_ARGS_T,
    "types.IAMPolicyGeneratorArgs",
    [
        field("cloud", &CLOUD),
        field("kubernetesService", &KUBERNETES_SERVICE_T),
        field("serviceAccount", &SERVICE_ACCOUNT_T),
    ]
);
go_struct!(
    IAM_POLICY_GENERATOR,
    IAM_POLICY_GENERATOR_T,
    "builtins.IAMPolicyGeneratorPlugin",
    [
        promoted("cloud", &CLOUD, &IAM_POLICY_GENERATOR_ARGS_T),
        promoted(
            "kubernetesService",
            &KUBERNETES_SERVICE_T,
            &IAM_POLICY_GENERATOR_ARGS_T
        ),
        promoted(
            "serviceAccount",
            &SERVICE_ACCOUNT_T,
            &IAM_POLICY_GENERATOR_ARGS_T
        ),
    ]
);
