//! Where rendered objects name container images. One walk finds every reference an object
//! holds, with the field that holds it, and the same walk rewrites them: collection and
//! relocation cannot disagree on what an image field is.
//!
//! What counts as an image field:
//! - `image` of every entry of `containers`, `initContainers` and `ephemeralContainers`,
//!   wherever a pod spec sits (Pod, workload templates, Job, CronJob `jobTemplate`, hooks,
//!   custom resources embedding pod specs such as ECK's `podTemplate`);
//! - the `sidecar.istio.io/proxyImage` annotation, which replaces the sidecar Istio
//!   injects into that pod (istio's injection templates read it first);
//! - the fields of well-known custom resources in [`RULES`], whose operators start pods
//!   from them;
//! - the proxy images Istio's sidecar injector puts into every meshed pod, computed from
//!   its ConfigMap's `values` (see [`istio`]).

use serde_json::{Map, Value};

use crate::images::ImageRef;

/// Pod-spec fields that hold containers.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The pod annotation that names the sidecar image Istio injects instead of its own
/// (istio's `injection-template.yaml`: `annotation .ObjectMeta
/// "sidecar.istio.io/proxyImage" .Values.global.proxy.image`).
const ISTIO_PROXY_IMAGE_ANNOTATION: &str = "sidecar.istio.io/proxyImage";

/// Command-line flags by which operators take the images they start, as containers pass
/// them (`--flag=reference`): prometheus-operator's config reloader (a full reference) and
/// its Thanos default base image (a reference, the operator adding a tag only when it has
/// none).
const IMAGE_FLAGS: [&str; 2] = [
    "--prometheus-config-reloader=",
    "--thanos-default-base-image=",
];

/// Whether a container's environment variable names an image an operator starts: a name
/// ending in `_IMAGE` (minio-operator's `OPERATOR_SIDECAR_IMAGE`) or OLM's
/// `RELATED_IMAGE_*` convention.
fn is_image_variable(name: &str) -> bool {
    name.ends_with("_IMAGE") || name.starts_with("RELATED_IMAGE_")
}

/// The image Istio's gateway deployments name for their `istio-proxy` container: a
/// placeholder the injector replaces with its proxy image (found on the injector's
/// ConfigMap), not an image.
const ISTIO_AUTO_IMAGE: &str = "auto";

/// How a custom resource's field names an image.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    /// A string holding the whole reference (`spec.image`).
    Reference(&'static str),
    /// A Helm-values style map `{registry, repository, tag, digest}`, the reference being
    /// `registry/repository` then `@digest` when set (`sha256:` added when missing), else
    /// `:tag`; `registry` is replaced by the second path's string when that is not empty.
    Parts(&'static str, &'static str),
}

/// Custom resources whose operators run images their spec names.
struct Rule {
    /// The API group.
    group: &'static str,
    /// The kinds of that group.
    kinds: &'static [&'static str],
    /// The fields, as dotted paths from the object's root.
    fields: &'static [Spelling],
}

/// The well-known custom resources. Their `containers`/`initContainers` lists are pod-spec
/// containers already; these are the fields beside them.
const RULES: &[Rule] = &[
    // prometheus-operator (`monitoring.coreos.com/v1`, types `PrometheusSpec`,
    // `AlertmanagerSpec`, `ThanosRulerSpec`, `PrometheusAgentSpec`: `image`; `ThanosSpec`
    // inside `PrometheusSpec`: `image`).
    Rule {
        group: "monitoring.coreos.com",
        kinds: &["Prometheus"],
        fields: &[
            Spelling::Reference("spec.image"),
            Spelling::Reference("spec.thanos.image"),
        ],
    },
    Rule {
        group: "monitoring.coreos.com",
        kinds: &["Alertmanager", "ThanosRuler", "PrometheusAgent"],
        fields: &[Spelling::Reference("spec.image")],
    },
    // ECK (elastic/cloud-on-k8s, every kind's spec has `image`, overriding the image the
    // operator derives from `version`).
    Rule {
        group: "elasticsearch.k8s.elastic.co",
        kinds: &["Elasticsearch"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "kibana.k8s.elastic.co",
        kinds: &["Kibana"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "apm.k8s.elastic.co",
        kinds: &["ApmServer"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "enterprisesearch.k8s.elastic.co",
        kinds: &["EnterpriseSearch"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "beat.k8s.elastic.co",
        kinds: &["Beat"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "agent.k8s.elastic.co",
        kinds: &["Agent"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "maps.k8s.elastic.co",
        kinds: &["ElasticMapsServer"],
        fields: &[Spelling::Reference("spec.image")],
    },
    Rule {
        group: "logstash.k8s.elastic.co",
        kinds: &["Logstash"],
        fields: &[Spelling::Reference("spec.image")],
    },
    // MinIO's operator (`minio.min.io/v2` `Tenant`, types `TenantSpec.Image` and
    // `KESConfig.Image`).
    Rule {
        group: "minio.min.io",
        kinds: &["Tenant"],
        fields: &[
            Spelling::Reference("spec.image"),
            Spelling::Reference("spec.kes.image"),
        ],
    },
    // Grafana's alloy-operator (`collectors.grafana.com/v1alpha1` `Alloy`, CRD
    // `collectors.grafana.com_alloy.yaml` of the k8s-monitoring chart): the spec is the
    // values of the grafana/alloy chart, whose templates spell the Alloy and
    // config-reloader images from `image` and `configReloader.image`, the registry
    // overridden by `global.image.registry`.
    Rule {
        group: "collectors.grafana.com",
        kinds: &["Alloy"],
        fields: &[
            Spelling::Parts("spec.image", "spec.global.image.registry"),
            Spelling::Parts("spec.configReloader.image", "spec.global.image.registry"),
        ],
    },
];

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where a reference is held, and so how it is rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// The string at this path.
    Field(Vec<Step>),
    /// The string at this path, after this prefix (a command-line flag).
    Flag(Vec<Step>, &'static str),
    /// A [`Spelling::Parts`] map at this path, the registry override at the second.
    Parts(Vec<Step>, Vec<Step>),
    /// A proxy image of Istio's sidecar injector.
    Istio(istio::Proxy),
}

/// An image reference an object holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The field, as a reader finds it: `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The reference, as written (or as the object's consumer computes it).
    pub reference: String,
    place: Place,
}

/// Every image reference `object` holds, in the walk's order.
pub fn find(object: &Value) -> Vec<Found> {
    let mut found = Vec::new();
    let mut path = Vec::new();
    pod_specs(object, &mut path, &mut found);
    for rule in rules_for(object) {
        for spelling in rule.fields {
            match *spelling {
                Spelling::Reference(at) => {
                    let steps = dotted(at);
                    if let Some(reference) = get(object, &steps).and_then(Value::as_str) {
                        found.push(Found {
                            field: at.to_string(),
                            reference: reference.to_string(),
                            place: Place::Field(steps),
                        });
                    }
                }
                Spelling::Parts(at, registry) => {
                    let (steps, registry) = (dotted(at), dotted(registry));
                    if let Some(reference) = parts_reference(object, &steps, &registry) {
                        found.push(Found {
                            field: at.to_string(),
                            reference,
                            place: Place::Parts(steps, registry),
                        });
                    }
                }
            }
        }
    }
    found.extend(istio::find(object));
    found
}

/// Rewrites every image reference of `object`: `new` gives each one's replacement, or
/// `None` to keep it. A replacement equal to the reference changes nothing. The object is
/// then walked again, and must name exactly the new images (and the kept ones) in the same
/// fields: a rewrite that also changed another reference (Istio's init image follows the
/// sidecar's) or did not take is an error.
pub fn rewrite<E>(
    object: &mut Value,
    mut new: impl FnMut(&Found) -> Result<Option<String>, E>,
) -> Result<(), RewriteError<E>> {
    let before = find(object);
    let mut expected = Vec::with_capacity(before.len());
    for found in &before {
        let replacement = match new(found).map_err(RewriteError::Refused)? {
            Some(replacement) if replacement != found.reference => replacement,
            _ => {
                expected.push(found.reference.clone());
                continue;
            }
        };
        let written = match &found.place {
            Place::Field(steps) => {
                set(object, steps, Value::String(replacement.clone())).then_some(())
            }
            Place::Flag(steps, flag) => {
                set(object, steps, Value::String(format!("{flag}{replacement}"))).then_some(())
            }
            Place::Parts(steps, registry) => set_parts(object, steps, registry, &replacement),
            Place::Istio(proxy) => istio::set(object, *proxy, &replacement),
        };
        if written.is_none() {
            return Err(RewriteError::NotRewritten {
                field: found.field.clone(),
                replacement,
            });
        }
        expected.push(replacement);
    }
    let after = find(object);
    for (index, (found, expected)) in before.iter().zip(expected).enumerate() {
        let took = after
            .get(index)
            .is_some_and(|now| now.field == found.field && same_image(&now.reference, &expected));
        if !took || after.len() != before.len() {
            return Err(RewriteError::NotRewritten {
                field: found.field.clone(),
                replacement: expected,
            });
        }
    }
    Ok(())
}

/// Why [`rewrite`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteError<E> {
    /// The caller's function refused a reference.
    Refused(E),
    /// The field could not be made to name the replacement (a shape the rewrite does not
    /// know how to set).
    NotRewritten {
        /// The field.
        field: String,
        /// What it should have named.
        replacement: String,
    },
}

/// Whether two spellings pull the same image: equal, or the same name and digest (a
/// digest wins over a tag, so a spelling that drops the tag pulls the same manifest).
fn same_image(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (ImageRef::parse(a), ImageRef::parse(b)) {
        (Ok(a), Ok(b)) => {
            a == b || (a.name() == b.name() && a.digest().is_some() && a.digest() == b.digest())
        }
        _ => false,
    }
}

/// The [`RULES`] that apply to `object`, by its `apiVersion`'s group and its kind.
fn rules_for(object: &Value) -> impl Iterator<Item = &'static Rule> {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map_or("", |(group, _)| group)
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    RULES
        .iter()
        .filter(move |rule| rule.group == group && rule.kinds.contains(&kind.as_str()))
}

/// Every container `image` under `value`, and every Istio proxy image annotation.
fn pod_specs(value: &Value, path: &mut Vec<Step>, found: &mut Vec<Found>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                if CONTAINER_LISTS.contains(&key.as_str()) {
                    for (index, container) in child.as_array().into_iter().flatten().enumerate() {
                        path.push(Step::Index(index));
                        container_images(container, path, found);
                        path.pop();
                    }
                }
                if key == "annotations"
                    && let Some(image) = child
                        .get(ISTIO_PROXY_IMAGE_ANNOTATION)
                        .and_then(Value::as_str)
                {
                    path.push(Step::Key(ISTIO_PROXY_IMAGE_ANNOTATION.to_string()));
                    found.push(Found {
                        field: display(path),
                        reference: image.to_string(),
                        place: Place::Field(path.clone()),
                    });
                    path.pop();
                }
                pod_specs(child, path, found);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Index(index));
                pod_specs(item, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The images of one container at `path`: its `image` (but Istio's `auto`), its
/// environment variables that name images, its flags that do.
fn container_images(container: &Value, path: &mut Vec<Step>, found: &mut Vec<Found>) {
    let mut add =
        |path: &mut Vec<Step>, steps: &[Step], reference: &str, flag: Option<&'static str>| {
            path.extend_from_slice(steps);
            found.push(Found {
                field: display(path),
                reference: reference.to_string(),
                place: match flag {
                    Some(flag) => Place::Flag(path.clone(), flag),
                    None => Place::Field(path.clone()),
                },
            });
            path.truncate(path.len() - steps.len());
        };
    let istio_proxy = container["name"] == "istio-proxy";
    if let Some(image) = container.get("image").and_then(Value::as_str)
        && !(istio_proxy && image == ISTIO_AUTO_IMAGE)
    {
        add(path, &[Step::Key("image".into())], image, None);
    }
    for (index, variable) in container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = variable["name"].as_str().unwrap_or_default();
        if let Some(value) = variable["value"]
            .as_str()
            .filter(|_| is_image_variable(name))
        {
            let steps = [
                Step::Key("env".into()),
                Step::Index(index),
                Step::Key("value".into()),
            ];
            add(path, &steps, value, None);
        }
    }
    for (index, arg) in container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(arg) = arg.as_str() else { continue };
        for flag in IMAGE_FLAGS {
            if let Some(reference) = arg.strip_prefix(flag) {
                let steps = [Step::Key("args".into()), Step::Index(index)];
                add(path, &steps, reference, Some(flag));
            }
        }
    }
}

/// `a.b.c` as steps.
fn dotted(path: &str) -> Vec<Step> {
    path.split('.')
        .map(|key| Step::Key(key.to_string()))
        .collect()
}

/// Steps as a reader writes them: `spec.containers[0].image`, keys with dots quoted
/// (`metadata.annotations["sidecar.istio.io/proxyImage"]`).
fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Index(index) => out.push_str(&format!("[{index}]")),
            Step::Key(key) if key.contains(['.', '[', ']', '"']) => {
                out.push_str(&format!("[{key:?}]"));
            }
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
        }
    }
    out
}

fn get<'a>(value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get(key.as_str()),
        Step::Index(index) => value.get(*index),
    })
}

fn get_mut<'a>(value: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    steps.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::Index(index) => value.get_mut(*index),
    })
}

/// Replaces the value at `steps`, which must exist; false when it does not.
fn set(object: &mut Value, steps: &[Step], new: Value) -> bool {
    match get_mut(object, steps) {
        Some(slot) => {
            *slot = new;
            true
        }
        None => false,
    }
}

/// A non-empty string at `steps`.
fn string_at<'a>(object: &'a Value, steps: &[Step]) -> Option<&'a str> {
    get(object, steps)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The reference a [`Spelling::Parts`] map spells, when it names a repository.
fn parts_reference(object: &Value, steps: &[Step], registry: &[Step]) -> Option<String> {
    let map = get(object, steps)?;
    let repository = map.get("repository").and_then(Value::as_str)?;
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let registry = string_at(object, registry)
        .map(str::to_string)
        .or_else(|| text("registry"));
    let mut reference = match registry {
        Some(registry) => format!("{registry}/{repository}"),
        None => repository.to_string(),
    };
    if let Some(digest) = text("digest") {
        let prefix = if digest.starts_with("sha256:") {
            ""
        } else {
            "sha256:"
        };
        reference.push_str(&format!("@{prefix}{digest}"));
    } else if let Some(tag) = text("tag") {
        reference.push_str(&format!(":{tag}"));
    }
    Some(reference)
}

/// Makes a [`Spelling::Parts`] map spell `replacement`.
fn set_parts(
    object: &mut Value,
    steps: &[Step],
    registry: &[Step],
    replacement: &str,
) -> Option<()> {
    let image = ImageRef::parse(replacement).ok()?;
    if string_at(object, registry).is_some() {
        set(
            object,
            registry,
            Value::String(image.registry().to_string()),
        );
    }
    let map: &mut Map<String, Value> = get_mut(object, steps)?.as_object_mut()?;
    map.insert("registry".into(), image.registry().into());
    map.insert("repository".into(), image.repository().into());
    if let Some(tag) = image.tag() {
        map.insert("tag".into(), tag.into());
    }
    match image.digest() {
        Some(digest) => {
            map.insert("digest".into(), digest.into());
        }
        None => {
            if map.get("digest").is_some_and(|d| !d.is_null()) {
                map.insert("digest".into(), "".into());
            }
        }
    }
    Some(())
}

/// Istio's sidecar injector: the `istio-sidecar-injector` ConfigMap (one per revision,
/// `istio-sidecar-injector-<revision>`) holds in `data.values` the Helm values istiod's
/// injection templates see (JSON); istiod's `values` ConfigMap holds the same values. Every template (`injection-template.yaml`,
/// `gateway-injection-template.yaml`, `grpc-agent.yaml`, `waypoint.yaml`,
/// `kube-gateway.yaml`) spells the proxy container's image, and the init container's, as
/// ```text
/// {{- if contains "/" (annotation .ObjectMeta `sidecar.istio.io/proxyImage` .Values.global.proxy.image) }}
///   image: "{{ annotation .ObjectMeta `sidecar.istio.io/proxyImage` .Values.global.proxy.image }}"
/// {{- else }}
///   image: "{{ .ProxyImage }}"
/// ```
/// (`proxy_init.image` for the init container), and istiod computes `.ProxyImage`
/// (`pkg/kube/inject`'s `ProxyImage`) as `{global.hub}/{global.proxy.image or
/// "proxyv2"}:{global.tag}`, `global.variant` (`distroless`, `debug`, `default`) replacing
/// a known variant suffix of the tag. Both images come from `proxy.image` unless
/// `proxy_init.image` holds a `/`. Not covered: the mesh config's
/// `defaultConfig.image.imageType` (another ConfigMap) and per-pod annotations
/// (`sidecar.istio.io/proxyImage` is found where a pod template carries it).
pub mod istio {
    use serde_json::Value;

    use super::{Found, Place};

    /// The two images the injector adds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Proxy {
        /// `istio-proxy`, from `global.proxy.image`.
        Sidecar,
        /// `istio-init`, from `global.proxy_init.image`.
        Init,
    }

    impl Proxy {
        fn key(self) -> &'static str {
            match self {
                Proxy::Sidecar => "proxy",
                Proxy::Init => "proxy_init",
            }
        }
    }

    /// Image variants istio publishes, which `global.variant` replaces in a tag.
    const KNOWN_VARIANTS: [&str; 2] = ["distroless", "debug"];

    /// The ConfigMaps that hold istiod's values as JSON, by name (with a `-<revision>`
    /// suffix for a revision), and the key that holds them: the sidecar injector's, and
    /// the chart's `values` ConfigMap (`merged-values`, which istioctl reads as the
    /// installed values; relocated with the injector so that nothing in the bundle still
    /// points outside the enclave).
    const VALUES_CONFIGMAPS: [(&str, &str); 2] = [
        ("istio-sidecar-injector", "values"),
        ("values", "merged-values"),
    ];

    /// The data key of `object` that holds Istio values, when it is one of
    /// [`VALUES_CONFIGMAPS`].
    fn values_key(object: &Value) -> Option<&'static str> {
        if object["apiVersion"] != "v1" || object["kind"] != "ConfigMap" {
            return None;
        }
        let name = object["metadata"]["name"].as_str()?;
        VALUES_CONFIGMAPS.iter().find_map(|(prefix, key)| {
            let named = name == *prefix
                || name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-'));
            (named && object["data"].get(*key).is_some()).then_some(*key)
        })
    }

    fn values(object: &Value) -> Option<(&'static str, Value)> {
        let key = values_key(object)?;
        let values = serde_json::from_str(object["data"][key].as_str()?).ok()?;
        Some((key, values))
    }

    /// The proxy images of an injector ConfigMap: none for any other object, or when its
    /// values are not JSON.
    pub(super) fn find(object: &Value) -> Vec<Found> {
        let Some((key, values)) = values(object) else {
            return Vec::new();
        };
        [Proxy::Sidecar, Proxy::Init]
            .into_iter()
            .filter_map(|proxy| {
                Some(Found {
                    field: format!("data.{key}:global.{}.image", proxy.key()),
                    reference: image(&values, proxy)?,
                    place: Place::Istio(proxy),
                })
            })
            .collect()
    }

    /// Go's `fmt.Sprint` of a JSON scalar, as istiod prints `global.tag`.
    fn text(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// The image from the values, as the templates spell it.
    fn image(values: &Value, proxy: Proxy) -> Option<String> {
        let global = values.get("global")?;
        let own = text(&global[proxy.key()]["image"]);
        if own.contains('/') {
            return Some(own);
        }
        // `.ProxyImage`: always from `proxy.image`, whichever container asks.
        let name = match text(&global["proxy"]["image"]) {
            name if name.is_empty() => "proxyv2".to_string(),
            name => name,
        };
        let hub = text(&global["hub"]);
        let tag = with_variant(&text(&global["tag"]), &text(&global["variant"]));
        Some(format!("{hub}/{name}:{tag}"))
    }

    /// The tag for image type `variant`: a known variant suffix replaced, `default`
    /// meaning none.
    fn with_variant(tag: &str, variant: &str) -> String {
        if variant.is_empty() {
            return tag.to_string();
        }
        let base = KNOWN_VARIANTS
            .iter()
            .find_map(|known| tag.strip_suffix(&format!("-{known}")))
            .unwrap_or(tag);
        if variant == "default" {
            base.to_string()
        } else {
            format!("{base}-{variant}")
        }
    }

    /// Makes the injector give `proxy` the image `replacement`, through the templates'
    /// `/` branch: `global.<proxy>.image` holds the full reference.
    pub(super) fn set(object: &mut Value, proxy: Proxy, replacement: &str) -> Option<()> {
        let (key, mut values) = values(object)?;
        let global = values.get_mut("global")?.as_object_mut()?;
        let entry = global
            .entry(proxy.key())
            .or_insert_with(|| Value::Object(Default::default()));
        entry
            .as_object_mut()?
            .insert("image".into(), replacement.into());
        // Helm's `toPrettyJson`, as the chart wrote it: two-space indentation.
        let text = serde_json::to_string_pretty(&values).ok()?;
        object["data"][key] = Value::String(text);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn references(object: &Value) -> Vec<(String, String)> {
        find(object)
            .into_iter()
            .map(|f| (f.field, f.reference))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, r)| (f.to_string(), r.to_string()))
            .collect()
    }

    /// Rewrites every reference to `prefix/` + itself, then checks that the object names
    /// exactly those.
    fn round_trip(mut object: Value, prefix: &str) -> Value {
        let before = references(&object);
        rewrite(&mut object, |found| {
            Ok::<_, ()>(Some(format!("{prefix}/{}", found.reference)))
        })
        .unwrap();
        let after = references(&object);
        let expected: Vec<(String, String)> = before
            .into_iter()
            .map(|(field, reference)| (field, format!("{prefix}/{reference}")))
            .collect();
        assert_eq!(after, expected);
        object
    }

    #[test]
    fn containers_of_nested_pod_specs() {
        let cronjob = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {"sidecar.istio.io/proxyImage": "reg.example/proxy:1"}},
                "spec": {
                "initContainers": [{"name": "i", "image": "reg/init:1"}],
                "containers": [{"name": "c", "image": "reg/app:2"}, {"name": "noimage"}],
                "ephemeralContainers": [{"name": "e", "image": "busybox"}]
            }}}}}
        });
        let t = "spec.jobTemplate.spec.template";
        assert_eq!(
            references(&cronjob),
            pairs(&[
                (
                    &format!("{t}.metadata.annotations[\"sidecar.istio.io/proxyImage\"]"),
                    "reg.example/proxy:1"
                ),
                (&format!("{t}.spec.initContainers[0].image"), "reg/init:1"),
                (&format!("{t}.spec.containers[0].image"), "reg/app:2"),
                (&format!("{t}.spec.ephemeralContainers[0].image"), "busybox"),
            ])
        );
        round_trip(cronjob, "enclave.example");
    }

    #[test]
    fn operators_take_images_in_variables_and_flags() {
        let operator = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [
                {"name": "operator", "image": "reg.example/operator:1",
                 "env": [{"name": "OPERATOR_SIDECAR_IMAGE", "value": "reg.example/sidecar:1"},
                         {"name": "RELATED_IMAGE_DB", "value": "reg.example/db:2"},
                         {"name": "LOG_LEVEL", "value": "reg.example/not-an-image:1"},
                         {"name": "OTHER_IMAGE", "valueFrom": {"configMapKeyRef": {}}}],
                 "args": ["--prometheus-config-reloader=reg.example/reloader:3",
                          "--thanos-default-base-image=reg.example/thanos:4",
                          "--log-level=info", 5]},
                // Istio's gateways: the injector replaces this placeholder.
                {"name": "istio-proxy", "image": "auto"}]}}}
        });
        let c = "spec.template.spec.containers[0]";
        assert_eq!(
            references(&operator),
            pairs(&[
                (&format!("{c}.image"), "reg.example/operator:1"),
                (&format!("{c}.env[0].value"), "reg.example/sidecar:1"),
                (&format!("{c}.env[1].value"), "reg.example/db:2"),
                (&format!("{c}.args[0]"), "reg.example/reloader:3"),
                (&format!("{c}.args[1]"), "reg.example/thanos:4"),
            ])
        );
        let relocated = round_trip(operator, "enclave.example");
        assert_eq!(
            relocated["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--prometheus-config-reloader=enclave.example/reg.example/reloader:3"
        );
        assert_eq!(
            relocated["spec"]["template"]["spec"]["containers"][1]["image"],
            "auto"
        );
    }

    #[test]
    fn pod_templates_of_custom_resources() {
        let elasticsearch = json!({
            "apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch",
            "spec": {"image": "docker.elastic.co/elasticsearch/elasticsearch:8.1.0",
                "nodeSets": [{"podTemplate": {"spec": {"containers": [
                    {"name": "elasticsearch"},
                    {"name": "side", "image": "reg.example/side:1"}]}}}]}
        });
        assert_eq!(
            references(&elasticsearch),
            pairs(&[
                (
                    "spec.nodeSets[0].podTemplate.spec.containers[1].image",
                    "reg.example/side:1"
                ),
                (
                    "spec.image",
                    "docker.elastic.co/elasticsearch/elasticsearch:8.1.0"
                ),
            ])
        );
        round_trip(elasticsearch, "enclave.example");
        for (group, kind) in [
            ("kibana.k8s.elastic.co/v1", "Kibana"),
            ("apm.k8s.elastic.co/v1", "ApmServer"),
            ("enterprisesearch.k8s.elastic.co/v1", "EnterpriseSearch"),
            ("beat.k8s.elastic.co/v1beta1", "Beat"),
            ("agent.k8s.elastic.co/v1alpha1", "Agent"),
            ("maps.k8s.elastic.co/v1alpha1", "ElasticMapsServer"),
            ("logstash.k8s.elastic.co/v1alpha1", "Logstash"),
        ] {
            let object = json!({"apiVersion": group, "kind": kind, "spec": {"image": "x/y:1"}});
            assert_eq!(
                references(&object),
                pairs(&[("spec.image", "x/y:1")]),
                "{kind}"
            );
        }
        // The same field of another group is no image.
        let other =
            json!({"apiVersion": "example.com/v1", "kind": "Kibana", "spec": {"image": "x/y:1"}});
        assert!(find(&other).is_empty());
    }

    #[test]
    fn prometheus_operator_kinds() {
        let prometheus = json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "spec": {"image": "quay.io/prometheus/prometheus:v3.1.0",
                "thanos": {"image": "quay.io/thanos/thanos:v0.37.0"},
                "containers": [{"name": "config-reloader", "image": "quay.io/p/reloader:1"}]}
        });
        assert_eq!(
            references(&prometheus),
            pairs(&[
                ("spec.containers[0].image", "quay.io/p/reloader:1"),
                ("spec.image", "quay.io/prometheus/prometheus:v3.1.0"),
                ("spec.thanos.image", "quay.io/thanos/thanos:v0.37.0"),
            ])
        );
        round_trip(prometheus, "enclave.example");
        for kind in ["Alertmanager", "ThanosRuler", "PrometheusAgent"] {
            let object = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": kind,
                "spec": {"image": "quay.io/x:1", "thanos": {"image": "not/an-image-field:1"}}});
            assert_eq!(
                references(&object),
                pairs(&[("spec.image", "quay.io/x:1")]),
                "{kind}"
            );
        }
    }

    #[test]
    fn minio_tenants() {
        let tenant = json!({"apiVersion": "minio.min.io/v2", "kind": "Tenant",
            "spec": {"image": "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z",
                "kes": {"image": "quay.io/minio/kes:2025-03-12T09-35-18Z"}}});
        assert_eq!(
            references(&tenant),
            pairs(&[
                (
                    "spec.image",
                    "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"
                ),
                ("spec.kes.image", "quay.io/minio/kes:2025-03-12T09-35-18Z"),
            ])
        );
        round_trip(tenant, "enclave.example");
    }

    #[test]
    fn alloy_spells_images_in_parts() {
        let alloy = json!({
            "apiVersion": "collectors.grafana.com/v1alpha1", "kind": "Alloy",
            "spec": {
                "global": {"image": {"registry": "registry1.example"}},
                "image": {"registry": "docker.io", "repository": "grafana/alloy", "tag": "v1.12.2", "digest": null},
                "configReloader": {"image": {"registry": "quay.io", "repository": "p/reloader",
                    "tag": "v0.88.0", "digest": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}
            }
        });
        assert_eq!(
            references(&alloy),
            pairs(&[
                ("spec.image", "registry1.example/grafana/alloy:v1.12.2"),
                (
                    "spec.configReloader.image",
                    "registry1.example/p/reloader@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                ),
            ])
        );
        let mut relocated = alloy.clone();
        rewrite(&mut relocated, |found| {
            let image = ImageRef::parse(&found.reference).unwrap();
            Ok::<_, ()>(Some(
                image.relocated("enclave.example:5000").unwrap().to_string(),
            ))
        })
        .unwrap();
        assert_eq!(
            relocated["spec"]["global"]["image"]["registry"],
            "enclave.example:5000"
        );
        assert_eq!(relocated["spec"]["image"]["repository"], "grafana/alloy");
        assert_eq!(
            references(&relocated)[0].1,
            "enclave.example:5000/grafana/alloy:v1.12.2"
        );
        // Without the global override, each map's own registry.
        let mut plain = alloy;
        plain["spec"]["global"] = json!({});
        assert_eq!(references(&plain)[0].1, "docker.io/grafana/alloy:v1.12.2");
        round_trip(plain, "enclave.example");
    }

    fn injector(values: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system"},
            "data": {"config": "templates: {}", "values": serde_json::to_string_pretty(&values).unwrap()}})
    }

    #[test]
    fn istio_injector_builds_the_proxy_from_hub_and_tag() {
        let hub = json!({"global": {"hub": "registry1.dso.mil/ironbank/opensource/istio",
            "tag": "1.28.2", "variant": "",
            "proxy": {"image": "proxyv2"}, "proxy_init": {"image": "proxyv2"}}});
        let expected = "registry1.dso.mil/ironbank/opensource/istio/proxyv2:1.28.2";
        assert_eq!(
            references(&injector(hub.clone())),
            pairs(&[
                ("data.values:global.proxy.image", expected),
                ("data.values:global.proxy_init.image", expected),
            ])
        );
        // The init container takes `.ProxyImage`, built from proxy.image, unless its own
        // image has a `/`; variants replace known suffixes; a numeric tag prints as Go does.
        let mut values = hub.clone();
        values["global"]["proxy"]["image"] = json!("custom");
        values["global"]["proxy_init"]["image"] = json!("ignored");
        values["global"]["variant"] = json!("distroless");
        values["global"]["tag"] = json!("1.28.2-debug");
        let built = "registry1.dso.mil/ironbank/opensource/istio/custom:1.28.2-distroless";
        assert_eq!(
            references(&injector(values.clone())),
            pairs(&[
                ("data.values:global.proxy.image", built),
                ("data.values:global.proxy_init.image", built),
            ])
        );
        values["global"]["variant"] = json!("default");
        values["global"]["tag"] = json!(1.5);
        values["global"]["proxy"] = json!({});
        assert_eq!(
            references(&injector(values))[0].1,
            "registry1.dso.mil/ironbank/opensource/istio/proxyv2:1.5"
        );
        // istiod's `values` ConfigMap records the same values, under `merged-values`.
        let mut recorded = injector(hub.clone());
        recorded["metadata"]["name"] = json!("values");
        recorded["data"] = json!({"merged-values": serde_json::to_string(&hub).unwrap()});
        assert_eq!(
            references(&recorded),
            pairs(&[
                ("data.merged-values:global.proxy.image", expected),
                ("data.merged-values:global.proxy_init.image", expected),
            ])
        );
        round_trip(recorded, "enclave.example");
        // Another ConfigMap, or values that are not JSON, hold no injector images.
        let mut other = injector(hub.clone());
        other["metadata"]["name"] = json!("istio");
        assert!(find(&other).is_empty());
        let mut unrelated = injector(hub.clone());
        unrelated["metadata"]["name"] = json!("values-of-mine");
        unrelated["data"] = json!({"values": serde_json::to_string(&hub).unwrap()});
        assert!(find(&unrelated).is_empty());
        let mut broken = injector(hub.clone());
        broken["data"]["values"] = json!("{");
        assert!(find(&broken).is_empty());
        let relocated = round_trip(injector(hub), "enclave.example");
        let values: Value =
            serde_json::from_str(relocated["data"]["values"].as_str().unwrap()).unwrap();
        assert_eq!(
            values["global"]["proxy"]["image"],
            format!("enclave.example/{expected}")
        );
        assert_eq!(
            values["global"]["hub"],
            "registry1.dso.mil/ironbank/opensource/istio"
        );
    }

    #[test]
    fn istio_injector_uses_a_full_reference_as_is() {
        let values = json!({"global": {"hub": "docker.io/istio", "tag": "1.2",
            "proxy": {"image": "reg.example/mesh/proxy:9"},
            "proxy_init": {"image": "reg.example/mesh/init:9"}}});
        let mut revisioned = injector(values);
        revisioned["metadata"]["name"] = json!("istio-sidecar-injector-1-28");
        assert_eq!(
            references(&revisioned),
            pairs(&[
                ("data.values:global.proxy.image", "reg.example/mesh/proxy:9"),
                (
                    "data.values:global.proxy_init.image",
                    "reg.example/mesh/init:9"
                ),
            ])
        );
        round_trip(revisioned, "enclave.example");
    }

    #[test]
    fn a_rewrite_that_cannot_take_is_an_error() {
        let mut alloy = json!({"apiVersion": "collectors.grafana.com/v1alpha1", "kind": "Alloy",
            "spec": {"image": {"repository": "grafana/alloy", "tag": "1"}}});
        let error =
            rewrite(&mut alloy, |_| Ok::<_, ()>(Some("Not A Reference".into()))).unwrap_err();
        assert_eq!(
            error,
            RewriteError::NotRewritten {
                field: "spec.image".into(),
                replacement: "Not A Reference".into()
            }
        );
        let refused = rewrite(&mut alloy, |_| Err::<Option<String>, _>("no")).unwrap_err();
        assert_eq!(refused, RewriteError::Refused("no"));
    }

    /// Any JSON value, a few levels deep, biased towards the shapes the walk looks for.
    fn any_json() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec![
            "image",
            "containers",
            "initContainers",
            "spec",
            "kind",
            "apiVersion",
            "data",
            "values",
            "metadata",
            "name",
            "annotations",
            "global",
            "proxy",
            "repository",
            "registry",
            "tag",
            "digest",
            "thanos",
            "x",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "nginx:1",
                "v1",
                "ConfigMap",
                "Prometheus",
                "monitoring.coreos.com/v1",
                "collectors.grafana.com/v1alpha1",
                "istio-sidecar-injector",
                "{\"global\": {\"hub\": \"h\", \"proxy\": {\"image\": \"a/b\"}}}",
                "",
            ])
            .prop_map(Value::from),
            ".*".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..5).prop_map(|entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_walk_never_panics_and_identity_changes_nothing(value in any_json()) {
            let found = find(&value);
            let mut copy = value.clone();
            let same = rewrite(&mut copy, |f| Ok::<_, ()>(Some(f.reference.clone())));
            prop_assert!(same.is_ok());
            prop_assert_eq!(&copy, &value);
            prop_assert_eq!(find(&copy), found);
        }
    }
}
