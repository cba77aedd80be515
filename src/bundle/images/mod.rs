//! The bundle's images: every image its applied objects run (found by [`catalogue`]), the
//! ones its charts' annotations list and the ones `crunch.yaml` adds, each with what uses
//! it, for the index; and their relocation into an enclave registry.

mod catalogue;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::index::{ImageEntry, ImageUse, RelocationEntry};
use super::{Bundle, Object};
use crate::error::{Context, Error};
use crate::images::ImageRef;
use crate::object::ObjectKey;
use crate::yaml;

pub use catalogue::{Found, RewriteError, find, rewrite};

/// The `Chart.yaml` annotations that list the images a chart runs, each a YAML list of
/// `{name, image, platforms?}` (Artifact Hub's `artifacthub.io/images`, and
/// `helm.sh/images` in the same shape).
pub const IMAGE_LIST_ANNOTATIONS: [&str; 2] = ["artifacthub.io/images", "helm.sh/images"];

/// The note on an image `crunch.yaml` adds.
pub const EXTRA_NOTE: &str = "crunch.yaml images.extra";

/// An image list from a rendered chart's `Chart.yaml` annotations, as its component
/// carries it (read when the index is made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartImageList {
    /// The chart's name (the alias its parent gives it).
    pub chart: String,
    /// The chart's version.
    pub version: String,
    /// The annotation, one of [`IMAGE_LIST_ANNOTATIONS`].
    pub annotation: String,
    /// The annotation's text.
    pub list: String,
}

impl ChartImageList {
    /// How the index names this list as an image's user.
    fn note(&self) -> String {
        format!(
            "chart annotation {} of chart {} {}",
            self.annotation, self.chart, self.version
        )
    }

    /// The images listed; an error when the text is not a YAML list of maps each with an
    /// `image` string.
    fn images(&self) -> Result<Vec<String>, String> {
        let bad = |why: String| format!("{} is not a list of images: {why}", self.note());
        let list = yaml::parse_document(&self.list, yaml::Dialect::GoYamlV2)
            .map_err(|e| bad(e.to_string()))?;
        let entries = match list {
            Value::Null => return Ok(Vec::new()),
            Value::Array(entries) => entries,
            other => return Err(bad(format!("it is a {}", yaml::json_kind(&other)))),
        };
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                entry["image"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("entry {} has no image string", index + 1)))
            })
            .collect()
    }
}

/// What a build knows of images beside its objects: the images `crunch.yaml` adds, the
/// digests `crunch.lock` pins images to, and, once [`ImageSettings::relocate`] ran, where
/// they were relocated.
#[derive(Debug, Clone, Default)]
pub struct ImageSettings {
    extra: Vec<String>,
    pins: BTreeMap<String, String>,
    relocation: Option<Relocation>,
}

impl ImageSettings {
    /// Settings with `extra` images (`crunch.yaml` `images.extra`) and `pins` (image by
    /// its normalized tag reference → manifest digest, from `crunch.lock`).
    pub fn new(extra: Vec<String>, pins: BTreeMap<String, String>) -> ImageSettings {
        ImageSettings {
            extra,
            pins,
            relocation: None,
        }
    }

    /// Rewrites every image reference of every applied object of `bundle` into
    /// `registry` ([`ImageRef::relocated`]), pinned by digest where `crunch.lock` pins the
    /// image, and relocates the listed images (chart annotations, `images.extra`) for the
    /// index the same way. Fails on a reference that does not parse, naming the object and
    /// field, and on two different images that would land on one name.
    pub fn relocate(&mut self, bundle: &mut Bundle, registry: &str) -> Result<(), Error> {
        let mut relocation = Relocation::new(registry);
        for component in &mut bundle.components {
            for object in component.objects.iter_mut().filter(|o| o.apply) {
                let what = describe(&object.value);
                rewrite(&mut object.value, |found| {
                    relocation
                        .target(&found.reference, &self.pins)
                        .map(Some)
                        .map_err(|e| format!("{what}, field {}: {e}", found.field))
                })
                .map_err(|e| match e {
                    RewriteError::Refused(message) => message,
                    RewriteError::NotRewritten { field, replacement } => {
                        format!("{what}: field {field} cannot be made to name {replacement}")
                    }
                })
                .within(&component.id)?;
            }
            for list in &component.chart_images {
                for image in list.images().within(&component.id)? {
                    relocation
                        .target(&image, &self.pins)
                        .map_err(|e| format!("{}: {e}", list.note()))
                        .within(&component.id)?;
                }
            }
        }
        for image in &self.extra {
            relocation
                .target(image, &self.pins)
                .map_err(|e| Error::new(format!("{EXTRA_NOTE}: {e}")))?;
        }
        self.relocation = Some(relocation);
        Ok(())
    }
}

/// Where each image went.
#[derive(Debug, Clone)]
struct Relocation {
    registry: String,
    /// Normalized source (as written) → relocated reference.
    targets: BTreeMap<String, String>,
    /// Relocated reference → the source, pinned where it is pinned.
    sources: BTreeMap<String, String>,
    /// Relocated name with its tag (or digest, without one) → the pinned source there.
    slots: BTreeMap<String, String>,
}

impl Relocation {
    fn new(registry: &str) -> Relocation {
        Relocation {
            registry: registry.to_string(),
            targets: BTreeMap::new(),
            sources: BTreeMap::new(),
            slots: BTreeMap::new(),
        }
    }

    /// Where `reference` goes.
    fn target(
        &mut self,
        reference: &str,
        pins: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let source = ImageRef::parse(reference)?;
        let normalized = source.to_string();
        if let Some(target) = self.targets.get(&normalized) {
            return Ok(target.clone());
        }
        let pinned = match (source.digest(), pins.get(&normalized)) {
            (None, Some(digest)) => source.with_digest(digest),
            _ => source,
        };
        let relocated = pinned.relocated(&self.registry)?;
        let slot = match relocated.tag() {
            Some(tag) => format!("{}:{tag}", relocated.name()),
            None => relocated.to_string(),
        };
        let pinned = pinned.to_string();
        if let Some(other) = self.slots.get(&slot)
            && *other != pinned
        {
            let (a, b) = if *other < pinned {
                (other.as_str(), pinned.as_str())
            } else {
                (pinned.as_str(), other.as_str())
            };
            return Err(format!(
                "images {a} and {b} would both be relocated to {slot}"
            ));
        }
        let relocated = relocated.to_string();
        self.slots.insert(slot, pinned.clone());
        self.targets.insert(normalized, relocated.clone());
        self.sources.insert(relocated.clone(), pinned);
        Ok(relocated)
    }
}

/// `Deployment logging/web`, as errors name an object.
fn describe(object: &Value) -> String {
    match ObjectKey::of(object) {
        Ok(key) if key.namespace.is_empty() => format!("{} {}", key.kind, key.name),
        Ok(key) => format!("{} {}/{}", key.kind, key.namespace, key.name),
        Err(_) => "an object without kind or name".to_string(),
    }
}

/// The index's image list as it is gathered, component by component.
pub(super) struct Collector<'a> {
    settings: &'a ImageSettings,
    entries: BTreeMap<String, BTreeSet<ImageUse>>,
    warnings: Vec<String>,
}

impl<'a> Collector<'a> {
    pub(super) fn new(settings: &'a ImageSettings) -> Collector<'a> {
        Collector {
            settings,
            entries: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// How the index names `reference`: normalized, or as written (with a warning) when
    /// it does not parse.
    fn name(&mut self, reference: &str, user: &str) -> String {
        match ImageRef::parse(reference) {
            Ok(image) => image.to_string(),
            Err(e) => {
                self.warnings
                    .push(format!("{e} (used by {user}): listed as written"));
                reference.to_string()
            }
        }
    }

    /// Records the images `object` of `component` runs (none for a review-only object),
    /// and returns them.
    pub(super) fn object(
        &mut self,
        component: &str,
        key: &ObjectKey,
        object: &Object,
    ) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if !object.apply {
            return names;
        }
        for found in find(&object.value) {
            let user = ImageUse {
                component: Some(component.to_string()),
                kind: Some(key.kind.clone()),
                namespace: Some(key.namespace.clone()).filter(|n| !n.is_empty()),
                name: Some(key.name.clone()),
                field: Some(found.field.clone()),
                note: None,
            };
            let what = format!(
                "{component} {}, field {}",
                describe(&object.value),
                found.field
            );
            let name = self.name(&found.reference, &what);
            self.entries.entry(name.clone()).or_default().insert(user);
            names.insert(name);
        }
        names
    }

    /// Records the images a component's charts list in their annotations; a list that
    /// does not read is a warning.
    pub(super) fn chart_lists(&mut self, component: &str, lists: &[ChartImageList]) {
        for list in lists {
            let images = match list.images() {
                Ok(images) => images,
                Err(e) => {
                    self.warnings.push(format!("{component}: {e}"));
                    continue;
                }
            };
            for image in images {
                let user = ImageUse {
                    component: Some(component.to_string()),
                    note: Some(list.note()),
                    ..ImageUse::default()
                };
                self.listed(&image, user, &format!("{component}, {}", list.note()));
            }
        }
    }

    /// Records an image no object names, relocated as the objects' images are.
    fn listed(&mut self, image: &str, user: ImageUse, what: &str) {
        let name = self.name(image, what);
        let name = match &self.settings.relocation {
            Some(relocation) => relocation.targets.get(&name).cloned().unwrap_or(name),
            None => name,
        };
        self.entries.entry(name).or_default().insert(user);
    }

    /// The index's images, with `crunch.yaml`'s extra ones, and the warnings; the
    /// relocation, when there was one.
    pub(super) fn finish(mut self) -> (Vec<ImageEntry>, Option<RelocationEntry>, Vec<String>) {
        let settings = self.settings;
        for image in &settings.extra {
            let user = ImageUse {
                note: Some(EXTRA_NOTE.to_string()),
                ..ImageUse::default()
            };
            self.listed(image, user, EXTRA_NOTE);
        }
        let relocation = settings.relocation.as_ref();
        let entries = self
            .entries
            .into_iter()
            .map(|(image, used_by)| {
                let digest = ImageRef::parse(&image)
                    .ok()
                    .and_then(|i| i.digest().map(str::to_string))
                    .or_else(|| settings.pins.get(&image).cloned());
                ImageEntry {
                    source: relocation.and_then(|r| r.sources.get(&image).cloned()),
                    digest,
                    used_by: used_by.into_iter().collect(),
                    image,
                }
            })
            .collect();
        let relocation = relocation.map(|r| RelocationEntry {
            registry: r.registry.clone(),
        });
        (entries, relocation, self.warnings)
    }
}

/// `crunch images list`'s table: each image, its digest (or `-`) and how many use it;
/// with `verbose`, each user on a line of its own below it.
pub fn image_table(images: &[ImageEntry], verbose: bool) -> String {
    let width = |column: &dyn Fn(&ImageEntry) -> usize, title: &str| {
        images
            .iter()
            .map(column)
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let image_width = width(&|e| e.image.len(), "IMAGE");
    let digest_width = width(&|e| e.digest.as_deref().map_or(1, str::len), "DIGEST");
    let mut out = format!(
        "{:image_width$}  {:digest_width$}  USERS\n",
        "IMAGE", "DIGEST"
    );
    for entry in images {
        out.push_str(&format!(
            "{:image_width$}  {:digest_width$}  {}\n",
            entry.image,
            entry.digest.as_deref().unwrap_or("-"),
            entry.used_by.len()
        ));
        if verbose {
            if let Some(source) = &entry.source {
                out.push_str(&format!("  from {source}\n"));
            }
            for user in &entry.used_by {
                out.push_str(&format!("  {}\n", describe_use(user)));
            }
        }
    }
    out
}

/// A user as one line: `HelmRelease/bigbang/web: Deployment web/web
/// spec.template.spec.containers[0].image`, or the list's note.
fn describe_use(user: &ImageUse) -> String {
    let mut parts = Vec::new();
    if let Some(component) = &user.component {
        parts.push(format!("{component}:"));
    }
    if let (Some(kind), Some(name)) = (&user.kind, &user.name) {
        parts.push(match &user.namespace {
            Some(namespace) => format!("{kind} {namespace}/{name}"),
            None => format!("{kind} {name}"),
        });
    }
    parts.extend(user.field.iter().cloned());
    parts.extend(user.note.iter().cloned());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Component, ComponentKind, Taint, layout};
    use serde_json::json;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn deployment(name: &str, images: &[&str]) -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"template": {"spec": {"containers": containers}}}})
    }

    fn bundle(objects: Vec<(Value, bool)>, chart_images: Vec<ChartImageList>) -> Bundle {
        let mut bundle = crate::bundle::environment_bundle(Vec::new());
        bundle.components.push(Component {
            objects: objects
                .into_iter()
                .map(|(value, apply)| Object {
                    value,
                    apply,
                    source: None,
                })
                .collect(),
            chart_images,
            ..Component::new("HelmRelease/apps/web", ComponentKind::HelmRelease, None)
        });
        bundle
    }

    fn annotated(list: &str) -> ChartImageList {
        ChartImageList {
            chart: "web".into(),
            version: "1.0.0".into(),
            annotation: "artifacthub.io/images".into(),
            list: list.into(),
        }
    }

    fn index(bundle: &Bundle, settings: &ImageSettings) -> (Value, Vec<String>) {
        let (_, written) = layout(bundle, None, &Taint::default(), settings).unwrap();
        (
            serde_json::to_value(&written.index).unwrap(),
            written.warnings,
        )
    }

    #[test]
    fn the_index_lists_each_image_with_its_users() {
        let hr = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"values": {"containers": [{"image": "review/only:1"}]}}});
        let bundle = bundle(
            vec![
                (deployment("web", &["nginx:1.27", "Bad Ref"]), true),
                (deployment("api", &["docker.io/library/nginx:1.27"]), true),
                (hr, false),
            ],
            vec![
                annotated(
                    "- name: web\n  image: nginx:1.27\n- name: side\n  image: quay.io/x/side:2\n",
                ),
                annotated("{not: a list}"),
            ],
        );
        let pins = BTreeMap::from([(
            "docker.io/library/nginx:1.27".to_string(),
            DIGEST.to_string(),
        )]);
        let settings = ImageSettings::new(vec!["registry.example/extra:3".into()], pins);
        let (index, warnings) = index(&bundle, &settings);
        let web = |field: &str, name: &str| {
            json!({"component": "HelmRelease/apps/web", "kind": "Deployment",
                "namespace": "apps", "name": name, "field": field})
        };
        let note = "chart annotation artifacthub.io/images of chart web 1.0.0";
        assert_eq!(
            index["images"],
            json!([
                {"image": "Bad Ref", "usedBy": [web("spec.template.spec.containers[1].image", "web")]},
                {"image": "docker.io/library/nginx:1.27", "digest": DIGEST, "usedBy": [
                    {"component": "HelmRelease/apps/web", "note": note},
                    web("spec.template.spec.containers[0].image", "api"),
                    web("spec.template.spec.containers[0].image", "web"),
                ]},
                {"image": "quay.io/x/side:2", "usedBy": [{"component": "HelmRelease/apps/web", "note": note}]},
                {"image": "registry.example/extra:3", "usedBy": [{"note": EXTRA_NOTE}]},
            ])
        );
        assert_eq!(
            index["components"][0]["images"],
            json!(["Bad Ref", "docker.io/library/nginx:1.27"])
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("\"Bad Ref\"")
                && warnings[0]
                    .contains("Deployment apps/web, field spec.template.spec.containers[1].image"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("is not a list of images"),
            "{warnings:?}"
        );
        assert!(index.get("relocation").is_none());
    }

    #[test]
    fn relocation_rewrites_applied_objects_and_records_sources() {
        let hr = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"values": {"containers": [{"image": "review/only:1"}]}}});
        let mut bundle = bundle(
            vec![
                (
                    deployment("web", &["nginx:1.27", &format!("quay.io/x/y:1@{DIGEST}")]),
                    true,
                ),
                (hr.clone(), false),
            ],
            vec![annotated("- name: side\n  image: quay.io/x/side:2\n")],
        );
        let pins = BTreeMap::from([(
            "docker.io/library/nginx:1.27".to_string(),
            DIGEST.to_string(),
        )]);
        let mut settings = ImageSettings::new(vec!["registry.example/extra:3".into()], pins);
        settings
            .relocate(&mut bundle, "enclave.example:5000")
            .unwrap();
        let objects = &bundle.components[1].objects;
        let containers = &objects[0].value["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            containers[0]["image"],
            format!("enclave.example:5000/library/nginx:1.27@{DIGEST}")
        );
        assert_eq!(
            containers[1]["image"],
            format!("enclave.example:5000/x/y:1@{DIGEST}")
        );
        assert_eq!(objects[1].value, hr, "review-only objects are left alone");
        let (index, warnings) = index(&bundle, &settings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            index["relocation"],
            json!({"registry": "enclave.example:5000"})
        );
        let entries: Vec<(String, String)> = index["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["image"].as_str().unwrap().into(),
                    e["source"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                (
                    "enclave.example:5000/extra:3".into(),
                    "registry.example/extra:3".into()
                ),
                (
                    format!("enclave.example:5000/library/nginx:1.27@{DIGEST}"),
                    format!("docker.io/library/nginx:1.27@{DIGEST}")
                ),
                (
                    "enclave.example:5000/x/side:2".into(),
                    "quay.io/x/side:2".into()
                ),
                (
                    format!("enclave.example:5000/x/y:1@{DIGEST}"),
                    format!("quay.io/x/y:1@{DIGEST}")
                ),
            ]
        );
    }

    #[test]
    fn relocation_refuses_collisions_and_bad_references() {
        let mut colliding = bundle(
            vec![(
                deployment("web", &["quay.io/a/b:1", "docker.io/a/b:1"]),
                true,
            )],
            vec![],
        );
        let error = ImageSettings::default()
            .relocate(&mut colliding, "enclave.example")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "images docker.io/a/b:1 and quay.io/a/b:1 would both be relocated to enclave.example/a/b:1"
            ) && error.contains("Deployment apps/web, field spec.template.spec.containers[1].image"),
            "{error}"
        );
        // The same image spelled twice is one image.
        let mut same = bundle(
            vec![(
                deployment("web", &["nginx:1", "docker.io/library/nginx:1"]),
                true,
            )],
            vec![],
        );
        ImageSettings::default()
            .relocate(&mut same, "enclave.example")
            .unwrap();
        let mut bad = bundle(vec![(deployment("web", &["Bad Ref"]), true)], vec![]);
        let error = ImageSettings::default()
            .relocate(&mut bad, "enclave.example")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Deployment apps/web, field spec.template.spec.containers[0].image: image reference \"Bad Ref\" is not valid"),
            "{error}"
        );
        let mut listed = bundle(vec![], vec![annotated("- image: Bad\n")]);
        let error = ImageSettings::default()
            .relocate(&mut listed, "enclave.example")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("chart annotation artifacthub.io/images of chart web 1.0.0"),
            "{error}"
        );
    }

    #[test]
    fn the_table_counts_users() {
        let entries = vec![ImageEntry {
            image: "docker.io/library/nginx:1".into(),
            source: None,
            digest: None,
            used_by: vec![
                ImageUse {
                    component: Some("dev".into()),
                    kind: Some("Deployment".into()),
                    namespace: Some("apps".into()),
                    name: Some("web".into()),
                    field: Some("spec.template.spec.containers[0].image".into()),
                    note: None,
                },
                ImageUse {
                    note: Some(EXTRA_NOTE.into()),
                    ..ImageUse::default()
                },
            ],
        }];
        assert_eq!(
            image_table(&entries, false),
            "IMAGE                      DIGEST  USERS\ndocker.io/library/nginx:1  -       2\n"
        );
        assert_eq!(
            image_table(&entries, true),
            "IMAGE                      DIGEST  USERS\ndocker.io/library/nginx:1  -       2\n  dev: Deployment apps/web spec.template.spec.containers[0].image\n  crunch.yaml images.extra\n"
        );
    }
}
