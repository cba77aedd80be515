//! A resource in the build (an object plus the history kustomize tracks for it) and the
//! ordered collection of them.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::Error;
use super::origin::Origin;
use super::resid::{Gvk, ResId};
use super::util::ensure_map;

/// The annotation that marks a resource as input for tools only, never output.
const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";

/// What a generator does when a resource of the same id already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Behavior {
    /// A new resource; an existing one is an error.
    #[default]
    Create,
    /// Merge data, labels and annotations into the existing resource.
    Merge,
    /// Replace the existing resource's content (labels and annotations still merge).
    Replace,
}

impl Behavior {
    /// Reads a generator's `behavior` field; like kustomize, anything but `merge` and
    /// `replace` means create.
    pub(crate) fn parse(s: &str) -> Behavior {
        match s {
            "merge" => Behavior::Merge,
            "replace" => Behavior::Replace,
            _ => Behavior::Create,
        }
    }
}

/// One earlier identity of a resource: kind, name and effective namespace (the group and
/// version are always the current ones, as in kustomize).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PrevId {
    kind: String,
    name: String,
    namespace: String,
}

/// An object with the build-time facts kustomize keeps in internal annotations.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The object itself.
    pub obj: Value,
    prev: Vec<PrevId>,
    /// Name prefixes applied so far, innermost kustomization first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied so far, innermost kustomization first.
    pub suffixes: Vec<String>,
    /// A generated ConfigMap/Secret whose name gets the content hash at the end.
    pub needs_hash: bool,
    /// For generated resources: how they combine with an existing one.
    pub behavior: Behavior,
    /// The `vars` whose object reference selected this resource.
    pub ref_vars: Vec<String>,
    /// The file or generator it came from.
    pub origin: Option<Origin>,
    /// The built-in transformers that ran over it, in order.
    pub transformations: Vec<Origin>,
}

impl Resource {
    /// A resource read from a file or made by a generator.
    pub(crate) fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            ref_vars: Vec::new(),
            origin: None,
            transformations: Vec::new(),
        }
    }

    /// The id made of the object's current fields.
    pub(crate) fn cur_id(&self) -> ResId {
        ResId::of(&self.obj)
    }

    /// Every earlier id, oldest first (without the current one).
    pub(crate) fn prev_ids(&self) -> Vec<ResId> {
        let gvk = Gvk::of(&self.obj);
        self.prev
            .iter()
            .map(|p| ResId {
                gvk: Gvk {
                    kind: p.kind.clone(),
                    ..gvk.clone()
                },
                name: p.name.clone(),
                namespace: p.namespace.clone(),
            })
            .collect()
    }

    /// The id the resource was first seen with.
    pub(crate) fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Whether any id, current or earlier, satisfies `pred`.
    pub(crate) fn any_id(&self, pred: impl Fn(&ResId) -> bool) -> bool {
        pred(&self.cur_id()) || self.prev_ids().iter().any(pred)
    }

    /// Records the current id before a transformation changes it.
    pub(crate) fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev.push(PrevId {
            kind: id.gvk.kind.clone(),
            name: id.name.clone(),
            namespace: id.effective_namespace().to_string(),
        });
    }

    /// The object's `metadata.name`.
    pub(crate) fn name(&self) -> &str {
        super::resid::str_at(&self.obj, &["metadata", "name"])
    }

    /// The object's `metadata.namespace`.
    pub(crate) fn namespace(&self) -> &str {
        super::resid::str_at(&self.obj, &["metadata", "namespace"])
    }

    /// The object's `kind`.
    pub(crate) fn kind(&self) -> &str {
        super::resid::str_at(&self.obj, &["kind"])
    }

    /// `metadata`, created as an empty map when missing or not a map.
    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let meta = ensure_map(&mut self.obj)
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_map(meta)
    }

    /// Sets `metadata.name`.
    pub(crate) fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Sets `metadata.namespace`, removing it when empty.
    pub(crate) fn set_namespace(&mut self, ns: &str) {
        let meta = self.metadata_mut();
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
    }

    /// `metadata.<field>` (labels or annotations) as string pairs, read as kyaml's
    /// `GetLabels`/`GetAnnotations` read them: the field's children taken two by two as
    /// key and value, each as its text (a map or list child reads as empty). A map gives
    /// its entries, a list its items paired up, a scalar or nothing no pairs. An odd last
    /// list item has no value and is left out here; [`Resource::rewrite_annotations`]
    /// refuses it.
    pub(crate) fn string_map(&self, field: &str) -> Vec<(String, String)> {
        match self.obj.get("metadata").and_then(|m| m.get(field)) {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), node_text(v))).collect(),
            Some(Value::Array(items)) => items
                .chunks_exact(2)
                .map(|pair| (node_text(&pair[0]), node_text(&pair[1])))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Replaces `metadata.<field>`, removing it when empty.
    pub(crate) fn set_string_map(&mut self, field: &str, pairs: Vec<(String, String)>) {
        let meta = self.metadata_mut();
        if pairs.is_empty() {
            meta.remove(field);
            return;
        }
        let map = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        meta.insert(field.to_string(), Value::Object(map));
    }

    /// Takes over what kustomize copies from the resource being merged into or replaced:
    /// labels and annotations (this resource's win), name, namespace and history.
    pub(crate) fn copy_merge_metadata_from(&mut self, old: &Resource) {
        for field in ["labels", "annotations"] {
            let merged = merge_pairs(old.string_map(field), self.string_map(field));
            self.set_string_map(field, merged);
        }
        self.set_name(old.name());
        self.set_namespace(old.namespace());
        self.prev = old.prev.clone();
        self.prefixes = old.prefixes.clone();
        self.suffixes = old.suffixes.clone();
        self.ref_vars = old.ref_vars.clone();
        self.transformations = old.transformations.clone();
        self.needs_hash = self.needs_hash && old.needs_hash;
        self.behavior = old.behavior;
    }

    /// Whether kustomize leaves the resource out of a build's output: it carries the
    /// annotation `config.kubernetes.io/local-config` with any value but `false`.
    pub(crate) fn is_local_config(&self) -> bool {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .and_then(|a| a.get(LOCAL_CONFIG_ANNOTATION))
            .is_some_and(|v| node_text(v) != "false")
    }

    /// kustomize's last touch on every annotation map (`RemoveOriginAnnotations` and
    /// `RemoveTransformerAnnotations` at the end of a build, which read the annotations and
    /// set them back): the values become text and an empty map (or `null`, a scalar, an
    /// empty list) leaves the object. With `keep_empty` (both of those steps skipped) an
    /// object without any annotation keeps its field as it is.
    ///
    /// # Errors
    /// An annotation list with an odd number of items (kustomize crashes on it).
    pub(crate) fn rewrite_annotations(&mut self, keep_empty: bool) -> Result<(), Error> {
        if let Some(Value::Array(items)) =
            self.obj.get("metadata").and_then(|m| m.get("annotations"))
            && items.len() % 2 == 1
        {
            return Err(Error::new(format!(
                "metadata.annotations of {} is a list of {} items, not of key and value pairs",
                self.cur_id(),
                items.len()
            )));
        }
        let pairs = self.string_map("annotations");
        if keep_empty && pairs.is_empty() {
            return Ok(());
        }
        self.set_string_map("annotations", pairs);
        Ok(())
    }

    /// Merges `data` and `binaryData` of `old` under this resource's.
    pub(crate) fn merge_data_from(&mut self, old: &Resource) {
        for field in ["data", "binaryData"] {
            let pairs = |r: &Resource| -> Vec<(String, Value)> {
                r.obj
                    .get(field)
                    .and_then(Value::as_object)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default()
            };
            let merged = merge_pairs(pairs(old), pairs(self));
            if let Value::Object(obj) = &mut self.obj {
                if merged.is_empty() {
                    obj.remove(field);
                } else {
                    obj.insert(
                        field.to_string(),
                        Value::Object(merged.into_iter().collect()),
                    );
                }
            }
        }
    }
}

/// `base` overlaid by `top`, keeping first-seen key order.
fn merge_pairs<V>(base: Vec<(String, V)>, top: Vec<(String, V)>) -> Vec<(String, V)> {
    let mut out = base;
    for (k, v) in top {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// A node's text as kyaml reads a label or annotation: a scalar's text, empty for a map
/// or a list. A `null` reads as empty (kyaml keeps its spelling, `null` or `~`, which the
/// parsed value no longer has).
fn node_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => String::new(),
        scalar => scalar_string(scalar),
    }
}

/// A scalar as text (how kustomize reads a label value of any scalar type).
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Resources in accumulation order, unique by current id.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResMap {
    pub resources: Vec<Resource>,
}

impl ResMap {
    /// Adds a resource; an id already present is an error, as in kustomize.
    pub(crate) fn append(&mut self, r: Resource) -> Result<(), Error> {
        let id = r.cur_id();
        if self.resources.iter().any(|o| o.cur_id().equals(&id)) {
            return Err(Error::new(format!(
                "may not add resource with an already registered id: {id}"
            )));
        }
        self.resources.push(r);
        Ok(())
    }

    /// Adds every resource of `other` (one id index for the whole batch).
    pub(crate) fn append_all(&mut self, other: ResMap) -> Result<(), Error> {
        let mut seen: HashSet<_> = self.resources.iter().map(|r| r.cur_id().key()).collect();
        for r in other.resources {
            let id = r.cur_id();
            if !seen.insert(id.key()) {
                return Err(Error::new(format!(
                    "may not add resource with an already registered id: {id}"
                )));
            }
            self.resources.push(r);
        }
        Ok(())
    }

    /// Adds a generated resource according to its behavior (create, merge, replace).
    pub(crate) fn absorb(&mut self, mut r: Resource) -> Result<(), Error> {
        let id = r.cur_id();
        let matches: Vec<usize> = self
            .resources
            .iter()
            .enumerate()
            .filter(|(_, o)| o.any_id(|oid| oid.equals(&id)))
            .map(|(i, _)| i)
            .collect();
        match (matches.as_slice(), r.behavior) {
            ([], Behavior::Create) => self.append(r),
            ([], _) => Err(Error::new(format!(
                "id {id} does not exist; cannot merge or replace"
            ))),
            ([_], Behavior::Create) => Err(Error::new(format!(
                "id {id} exists; behavior must be merge or replace"
            ))),
            ([i], behavior) => {
                let old = &self.resources[*i];
                if behavior == Behavior::Merge {
                    r.merge_data_from(old);
                    // A merged generator keeps the origin of the one it merged into.
                    r.origin = old.origin.clone();
                }
                r.copy_merge_metadata_from(old);
                self.resources[*i] = r;
                Ok(())
            }
            (_, _) => Err(Error::new(format!(
                "found multiple objects that could accept merge of {id}"
            ))),
        }
    }
}
