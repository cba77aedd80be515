//! The kustomization kustomize-controller writes into a Kustomization's path before it
//! builds it (fluxcd/pkg/kustomize `Generator`): the path's own kustomization file, read
//! into kustomize's Go type and edited in place, or one generated from the manifests the
//! path holds. The Kustomization's `targetNamespace`, `namePrefix`, `nameSuffix`,
//! `patches`, `components`, `images` and `buildMetadata` become fields of that one
//! kustomization; they are not an overlay on top of it.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::{kustomize, yaml};

const API_VERSION: &str = "kustomize.config.k8s.io/v1beta1";

/// The kustomization Flux builds `dir` with for the Kustomization `object`.
pub fn kustomization(dir: &Path, object: &Value) -> Result<Value, Error> {
    let spec = &object["spec"];
    let mut document = match existing(dir)? {
        Some(mut document) => {
            // Flux's workaround for kustomize's "kustomization.yaml is empty".
            let resources = document.get("resources").and_then(Value::as_array);
            if resources.is_none_or(Vec::is_empty) {
                document["buildMetadata"] = json!(["originAnnotations"]);
            }
            document
        }
        None => generated(dir)?,
    };
    let fields = document
        .as_object_mut()
        .ok_or_else(|| Error::new("the kustomization is not a map"))?;
    for (from, to) in [
        ("targetNamespace", "namespace"),
        ("namePrefix", "namePrefix"),
        ("nameSuffix", "nameSuffix"),
    ] {
        if let Some(value) = spec.get(from) {
            let text = value
                .as_str()
                .ok_or_else(|| Error::new(format!("spec.{from} is not a string")))?;
            set_string(fields, to, text);
        }
    }
    for (index, patch) in list(spec, "patches")?.iter().enumerate() {
        let text = patch
            .get("patch")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(format!("spec.patches[{index}].patch is not a string")))?;
        let mut entry = Map::new();
        set_string(&mut entry, "patch", text);
        if let Some(target) = patch.get("target").filter(|t| !t.is_null()) {
            entry.insert("target".into(), selector(target));
        }
        push(fields, "patches", Value::Object(entry));
    }
    let ignore_missing = spec["ignoreMissingComponents"].as_bool() == Some(true);
    for component in strings(spec, "components")? {
        if !is_local_relative(&component) {
            return Err(Error::new(format!(
                "component path '{component}' must be local and relative"
            )));
        }
        if ignore_missing && !dir.join(&component).exists() {
            continue;
        }
        push(fields, "components", Value::String(component));
    }
    for patch in list(spec, "patchesStrategicMerge")? {
        let text = serde_json::to_string(patch).map_err(|e| Error::new(e.to_string()))?;
        push(fields, "patchesStrategicMerge", Value::String(text));
    }
    for patch in list(spec, "patchesJson6902")? {
        let text = serde_json::to_string(&patch["patch"]).map_err(|e| Error::new(e.to_string()))?;
        let mut entry = Map::new();
        set_string(&mut entry, "patch", &text);
        entry.insert("target".into(), selector(&patch["target"]));
        push(fields, "patchesJson6902", Value::Object(entry));
    }
    for image in list(spec, "images")? {
        merge_image(fields, image);
    }
    let build_metadata = strings(spec, "buildMetadata")?;
    if !build_metadata.is_empty() {
        fields.insert("buildMetadata".into(), json!(build_metadata));
    }
    Ok(document)
}

/// The path's own kustomization file as Flux reads it into kustomize's type, if it has
/// one: the first of kustomize's file names that is a file.
fn existing(dir: &Path) -> Result<Option<Value>, Error> {
    let Some(path) = kustomize::KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    let fail = |e: String| Error::new(format!("{}: {e}", path.display()));
    let document =
        yaml::parse_document(&text, yaml::Dialect::GoYamlV2).map_err(|e| fail(e.to_string()))?;
    let mut decoded =
        kustomize::decode_kustomization(&document).map_err(|e| fail(e.to_string()))?;
    if decoded.is_null() {
        decoded = json!({});
    }
    // The Go value Flux decodes into starts with these set.
    let fields = decoded
        .as_object_mut()
        .ok_or_else(|| fail("not a map".into()))?;
    for (key, default) in [("apiVersion", API_VERSION), ("kind", "Kustomization")] {
        fields
            .entry(key)
            .or_insert_with(|| Value::String(default.into()));
    }
    Ok(Some(decoded))
}

/// The kustomization Flux generates for a path without one: every `.yaml`/`.yml` file
/// below it and every subdirectory with a kustomization file of its own (not descended
/// into), in the order of a lexical walk; a placeholder namespace when there is nothing.
fn generated(dir: &Path) -> Result<Value, Error> {
    let mut resources = Vec::new();
    scan(dir, ".", &mut resources)?;
    let mut document = json!({"apiVersion": API_VERSION, "kind": "Kustomization"});
    if resources.is_empty() {
        document["namespace"] = json!("_placeholder");
    } else {
        document["resources"] = json!(resources);
    }
    Ok(document)
}

fn scan(dir: &Path, shown: &str, resources: &mut Vec<String>) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::new(format!("cannot read {}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    // Go's filepath.Walk visits names in byte order.
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let shown = format!("{shown}/{name}");
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            let has_kustomization = kustomize::KUSTOMIZATION_FILE_NAMES
                .iter()
                .any(|file| path.join(file).is_file());
            if has_kustomization {
                resources.push(shown);
            } else {
                scan(&path, &shown, resources)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            resources.push(shown);
        }
    }
    Ok(())
}

/// Flux's `IsLocalRelativePath`: no remote URL prefix, not absolute.
fn is_local_relative(path: &str) -> bool {
    const REMOTE: [&str; 8] = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    let lower = path.to_lowercase();
    let remote = REMOTE
        .iter()
        .any(|prefix| prefix.len() < path.len() && lower.starts_with(prefix));
    !remote
        && !path.starts_with('/')
        && !lower
            .strip_prefix("file://")
            .unwrap_or(&lower)
            .starts_with('/')
}

/// A Flux selector as kustomize's `types.Selector` marshals it: its seven fields, empty
/// ones left out.
fn selector(target: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "annotationSelector",
        "labelSelector",
    ] {
        if let Some(text) = target.get(key).and_then(Value::as_str) {
            set_string(&mut out, key, text);
        }
    }
    Value::Object(out)
}

/// A Kustomization's image override merged into the kustomization's `images`: an entry
/// with the same name gets the fields the override sets (tag and digest as one), a new
/// name is appended.
fn merge_image(fields: &mut Map<String, Value>, image: &Value) {
    let field = |key: &str| image.get(key).and_then(Value::as_str).unwrap_or("");
    let images = fields
        .entry("images")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(images) = images.as_array_mut() else {
        return;
    };
    let name = field("name");
    match images
        .iter_mut()
        .find(|entry| entry["name"].as_str().unwrap_or("") == name)
        .and_then(Value::as_object_mut)
    {
        Some(entry) => {
            if !field("newName").is_empty() {
                set_string(entry, "newName", field("newName"));
            }
            if !field("newTag").is_empty() || !field("digest").is_empty() {
                set_string(entry, "newTag", field("newTag"));
                set_string(entry, "digest", field("digest"));
            }
        }
        None => {
            let mut entry = Map::new();
            for key in ["name", "newName", "newTag", "digest"] {
                set_string(&mut entry, key, field(key));
            }
            images.push(Value::Object(entry));
        }
    }
}

/// Sets a string field as Go marshals it with `omitempty`: an empty one is absent.
fn set_string(fields: &mut Map<String, Value>, key: &str, value: &str) {
    if value.is_empty() {
        fields.remove(key);
    } else {
        fields.insert(key.into(), Value::String(value.into()));
    }
}

fn push(fields: &mut Map<String, Value>, key: &str, value: Value) {
    match fields.get_mut(key).and_then(Value::as_array_mut) {
        Some(items) => items.push(value),
        None => {
            fields.insert(key.into(), Value::Array(vec![value]));
        }
    }
}

fn list<'a>(spec: &'a Value, key: &str) -> Result<&'a [Value], Error> {
    match spec.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Error::new(format!("spec.{key} is not a list"))),
    }
}

fn strings(spec: &Value, key: &str) -> Result<Vec<String>, Error> {
    list(spec, key)?
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::new(format!("spec.{key} holds a value that is not a string")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    #[test]
    fn a_path_without_kustomization_lists_its_manifests() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            &[
                ("b.yaml", ""),
                ("a.yml", ""),
                ("notes.txt", ""),
                ("sub/c.yaml", ""),
                ("sub/base/kustomization.yaml", "resources: []"),
                ("sub/base/ignored.yaml", ""),
            ],
        );
        let k = kustomization(tmp.path(), &json!({"spec": {}})).unwrap();
        assert_eq!(
            k["resources"],
            json!(["./a.yml", "./b.yaml", "./sub/base", "./sub/c.yaml"])
        );
        let empty = tempfile::tempdir().unwrap();
        let k = kustomization(empty.path(), &json!({"spec": {}})).unwrap();
        assert_eq!(k["namespace"], "_placeholder");
    }

    #[test]
    fn spec_fields_edit_the_kustomization_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            &[(
                "kustomization.yaml",
                "resources: [a.yaml]\nnamespace: old\nunknownField: 1\nimages:\n- name: app\n  newTag: v1\n  digest: sha256:0\n",
            )],
        );
        let spec = json!({"spec": {
            "targetNamespace": "new",
            "namePrefix": "p-",
            "patches": [{"patch": "x", "target": {"kind": "Deployment", "extra": 1}}],
            "images": [{"name": "app", "newTag": "v2"}, {"name": "other", "newName": "o"}],
            "components": ["../comp"],
        }});
        let k = kustomization(tmp.path(), &spec).unwrap();
        assert_eq!(k["namespace"], "new");
        assert_eq!(k["namePrefix"], "p-");
        assert!(k.get("unknownField").is_none());
        assert_eq!(
            k["patches"],
            json!([{"patch": "x", "target": {"kind": "Deployment"}}])
        );
        assert_eq!(
            k["images"],
            json!([{"name": "app", "newTag": "v2"}, {"name": "other", "newName": "o"}])
        );
        assert_eq!(k["components"], json!(["../comp"]));
        assert_eq!(k["kind"], "Kustomization");
    }

    #[test]
    fn components_must_be_local() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), &[("kustomization.yaml", "resources: []")]);
        let spec = json!({"spec": {"components": ["https://example.com/c"]}});
        let e = kustomization(tmp.path(), &spec).unwrap_err();
        assert!(e.to_string().contains("must be local and relative"), "{e}");
        let spec = json!({"spec": {"components": ["missing"], "ignoreMissingComponents": true}});
        let k = kustomization(tmp.path(), &spec).unwrap();
        assert!(k.get("components").is_none());
        assert_eq!(k["buildMetadata"], json!(["originAnnotations"]));
    }
}
