//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Field sets follow structured-merge-diff's model without its schemas: maps are granular,
//! lists are keyed by the merge keys of the common Kubernetes lists (containers, env,
//! volumes, volumeMounts, ports, ownerReferences, conditions), `finalizers` is a set and
//! every other list, and label selectors, are atomic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::status::ApiError;
use super::store::now_rfc3339;

/// One element of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// A struct field or map key (`f:name`).
    Field(String),
    /// A keyed list item; the canonical JSON of its key fields (`k:{"name":"x"}`).
    Key(String),
    /// A set item; its JSON value (`v:"x"`).
    Value(String),
}

/// A path from the object root.
pub type Path = Vec<Step>;
/// A set of owned paths: leaves and list items.
pub type FieldSet = BTreeSet<Path>;

/// How a list merges.
pub enum ListKind {
    /// Items identified by these fields.
    Keyed(&'static [&'static str]),
    /// Items identified by their value.
    Set,
    /// The list is one value.
    Atomic,
}

/// The merge semantics of a list, by its field name (and, for `ports`, its items).
pub fn list_kind(field: &str, items: &[Value]) -> ListKind {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => ListKind::Keyed(&["name"]),
        "volumeMounts" => ListKind::Keyed(&["mountPath"]),
        "ports" if items.iter().any(|i| i.get("containerPort").is_some()) => {
            ListKind::Keyed(&["containerPort", "protocol"])
        }
        "ports" if items.iter().any(|i| i.get("port").is_some()) => {
            ListKind::Keyed(&["port", "protocol"])
        }
        "ownerReferences" => ListKind::Keyed(&["uid"]),
        "conditions" => ListKind::Keyed(&["type"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// Canonical key of a keyed-list item; `protocol` defaults to TCP as the API defaults it.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut map = BTreeMap::new();
    for k in keys {
        let v = match item.get(*k) {
            Some(v) => v.clone(),
            None if *k == "protocol" => json!("TCP"),
            None => return None,
        };
        map.insert(k.to_string(), v);
    }
    serde_json::to_string(&map).ok()
}

/// A label selector (`matchLabels`/`matchExpressions`) is atomic in the API schema.
fn is_atomic_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        !m.is_empty()
            && m.keys()
                .all(|k| k == "matchLabels" || k == "matchExpressions")
    })
}

fn collect(v: &Value, field: &str, prefix: &mut Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() && !is_atomic_object(v) => {
            for (k, child) in m {
                prefix.push(Step::Field(k.clone()));
                collect(child, k, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match list_kind(field, items) {
            ListKind::Keyed(keys) => {
                for item in items {
                    let Some(key) = item_key(item, keys) else {
                        continue;
                    };
                    prefix.push(Step::Key(key));
                    out.insert(prefix.clone());
                    if let Value::Object(m) = item {
                        for (k, child) in m {
                            prefix.push(Step::Field(k.clone()));
                            collect(child, k, prefix, out);
                            prefix.pop();
                        }
                    }
                    prefix.pop();
                }
            }
            ListKind::Set => {
                for item in items {
                    prefix.push(Step::Value(item.to_string()));
                    out.insert(prefix.clone());
                    prefix.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

/// Which part of an object a write manages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `status` excluded when the kind has a status subresource.
    Main { has_status: bool },
    /// The `/status` subresource: only `status`.
    Status,
}

impl Scope {
    fn subresource(self) -> &'static str {
        match self {
            Scope::Main { .. } => "",
            Scope::Status => "status",
        }
    }
}

/// The part of `obj` whose fields are tracked: no type meta, no system metadata.
fn tracked(obj: &Value, scope: Scope) -> Value {
    let mut out = Map::new();
    let Some(map) = obj.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in map {
        let keep = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::Status) => true,
            (_, Scope::Status) => false,
            ("status", Scope::Main { has_status }) => !has_status,
            _ => true,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            let meta: Map<String, Value> = v
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(mk, _)| {
                            matches!(
                                mk.as_str(),
                                "labels" | "annotations" | "finalizers" | "ownerReferences"
                            )
                        })
                        .map(|(mk, mv)| (mk.clone(), mv.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if !meta.is_empty() {
                out.insert(k.clone(), Value::Object(meta));
            }
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// The field set of an object.
pub fn fields_of(obj: &Value, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    let root = tracked(obj, scope);
    if let Value::Object(m) = &root {
        for (k, child) in m {
            let mut prefix = vec![Step::Field(k.clone())];
            collect(child, k, &mut prefix, &mut out);
        }
    }
    out
}

fn step_text(step: &Step) -> String {
    match step {
        Step::Field(f) => format!("f:{f}"),
        Step::Key(k) => format!("k:{k}"),
        Step::Value(v) => format!("v:{v}"),
    }
}

#[derive(Default)]
struct Node {
    member: bool,
    children: BTreeMap<String, Node>,
}

fn node_json(node: &Node) -> Value {
    let mut map = Map::new();
    if node.member && !node.children.is_empty() {
        map.insert(".".into(), json!({}));
    }
    for (k, child) in &node.children {
        map.insert(k.clone(), node_json(child));
    }
    Value::Object(map)
}

/// The `fieldsV1` encoding of a set.
pub fn encode(set: &FieldSet) -> Value {
    let mut root = Node::default();
    for path in set {
        let mut node = &mut root;
        for step in path {
            node = node.children.entry(step_text(step)).or_default();
        }
        node.member = true;
    }
    node_json(&root)
}

fn decode_into(v: &Value, prefix: &mut Path, out: &mut FieldSet) {
    let Some(map) = v.as_object() else { return };
    for (k, child) in map {
        if k == "." {
            out.insert(prefix.clone());
            continue;
        }
        let step = match k.split_at_checked(2) {
            Some(("f:", rest)) => Step::Field(rest.into()),
            Some(("k:", rest)) => Step::Key(rest.into()),
            Some(("v:", rest)) => Step::Value(rest.into()),
            // Index paths (`i:`) are never written by the double's own writes.
            _ => continue,
        };
        prefix.push(step);
        if child.as_object().is_some_and(Map::is_empty) {
            out.insert(prefix.clone());
        } else {
            decode_into(child, prefix, out);
        }
        prefix.pop();
    }
}

/// A set from its `fieldsV1` encoding.
pub fn decode(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    decode_into(v, &mut Vec::new(), &mut out);
    out
}

/// A path as structured-merge-diff prints it: `.spec.containers[name="app"].image`.
pub fn display(path: &Path) -> String {
    path.iter()
        .map(|s| match s {
            Step::Field(f) => format!(".{f}"),
            Step::Key(k) => {
                let map: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            Step::Value(v) => format!("[={v}]"),
        })
        .collect()
}

fn matches_key(item: &Value, key: &str) -> bool {
    let Ok(map) = serde_json::from_str::<Map<String, Value>>(key) else {
        return false;
    };
    let tcp = json!("TCP");
    map.iter().all(|(k, v)| {
        item.get(k)
            .unwrap_or(if k == "protocol" { &tcp } else { &Value::Null })
            == v
    })
}

fn child<'a>(v: &'a Value, step: &Step) -> Option<&'a Value> {
    match step {
        Step::Field(f) => v.get(f),
        Step::Key(k) => v.as_array()?.iter().find(|i| matches_key(i, k)),
        Step::Value(j) => {
            let want: Value = serde_json::from_str(j).ok()?;
            v.as_array()?.iter().find(|i| **i == want)
        }
    }
}

/// The value at `path`.
pub fn value_at<'a>(obj: &'a Value, path: &Path) -> Option<&'a Value> {
    path.iter().try_fold(obj, child)
}

/// Remove the field or item at `path`.
fn remove_at(obj: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for step in parents {
        let next = match step {
            Step::Field(f) => cur.get_mut(f),
            Step::Key(k) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| matches_key(i, k))),
            Step::Value(_) => None,
        };
        let Some(next) = next else { return };
        cur = next;
    }
    match last {
        Step::Field(f) => {
            if let Some(m) = cur.as_object_mut() {
                m.remove(f);
            }
        }
        Step::Key(k) => {
            if let Some(a) = cur.as_array_mut() {
                a.retain(|i| !matches_key(i, k));
            }
        }
        Step::Value(j) => {
            if let (Some(a), Ok(want)) = (cur.as_array_mut(), serde_json::from_str::<Value>(j)) {
                a.retain(|i| *i != want);
            }
        }
    }
}

/// Merge `applied` into `live` with the list semantics above.
pub fn merge(live: &mut Value, applied: &Value, field: &str) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) if !is_atomic_object(applied) => {
            for (k, av) in a {
                match l.get_mut(k) {
                    Some(lv) => merge(lv, av, k),
                    None => {
                        l.insert(k.clone(), av.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) => match list_kind(field, a) {
            ListKind::Keyed(keys) => {
                for item in a {
                    let key = item_key(item, keys);
                    let found = key
                        .as_ref()
                        .and_then(|k| l.iter_mut().find(|i| matches_key(i, k)));
                    match found {
                        Some(existing) => merge(existing, item, ""),
                        None => l.push(item.clone()),
                    }
                }
            }
            ListKind::Set => {
                for item in a {
                    if !l.contains(item) {
                        l.push(item.clone());
                    }
                }
            }
            ListKind::Atomic => *l = a.clone(),
        },
        (live, applied) => *live = applied.clone(),
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    set: FieldSet,
}

impl Entry {
    /// How conflict messages name the manager (apiserver's `printManager`).
    fn printed(&self) -> String {
        if self.operation == "Update" {
            format!("{:?} using {}", self.manager, self.api_version)
        } else {
            format!("{:?}", self.manager)
        }
    }
}

fn read_entries(obj: Option<&Value>) -> Vec<Entry> {
    let Some(list) = obj
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
    else {
        return vec![];
    };
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
    list.iter()
        .map(|e| Entry {
            manager: s(e, "manager"),
            operation: s(e, "operation"),
            api_version: s(e, "apiVersion"),
            time: s(e, "time"),
            subresource: s(e, "subresource"),
            set: decode(&e["fieldsV1"]),
        })
        .collect()
}

fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut m = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                               "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": encode(&e.set)});
            if !e.subresource.is_empty() {
                m["subresource"] = json!(e.subresource);
            }
            m
        })
        .collect();
    let meta = super::store::meta_mut(obj);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// The entry of `manager` for `operation` on `subresource`, created when missing.
fn entry_of<'a>(
    entries: &'a mut Vec<Entry>,
    manager: &str,
    operation: &str,
    api_version: &str,
    sub: &str,
) -> &'a mut Entry {
    let pos = entries
        .iter()
        .position(|e| e.manager == manager && e.operation == operation && e.subresource == sub);
    let index = pos.unwrap_or_else(|| {
        entries.push(Entry {
            manager: manager.into(),
            operation: operation.into(),
            api_version: api_version.into(),
            time: String::new(),
            subresource: sub.into(),
            set: FieldSet::new(),
        });
        entries.len() - 1
    });
    &mut entries[index]
}

/// Who is applying, and how.
pub struct Applier<'a> {
    /// fieldManager.
    pub manager: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// `force=true`.
    pub force: bool,
    /// Main resource or status.
    pub scope: Scope,
}

fn is_item(path: &Path) -> bool {
    matches!(path.last(), Some(Step::Key(_) | Step::Value(_)))
}

/// Server-side apply of `applied` onto `live` (None: create). Returns the merged object
/// with its managed fields, or the 409 the real server answers on conflicts.
pub fn apply(live: Option<&Value>, applied: &Value, who: &Applier) -> Result<Value, ApiError> {
    let sub = who.scope.subresource();
    let mut entries = read_entries(live);
    if let Some(live) = live.filter(|_| entries.is_empty()) {
        // An object nobody owns a field of (created with an empty field set, such as a
        // bare Namespace) gets its fields recorded under `before-first-apply` first, as
        // the real server does: the apply then writes even when nothing else changes.
        let entry = entry_of(
            &mut entries,
            "before-first-apply",
            "Update",
            who.api_version,
            sub,
        );
        entry.set = fields_of(live, who.scope);
        entry.time = now_rfc3339();
    }
    let applied_set = fields_of(applied, who.scope);
    let empty = Value::Null;
    let live_obj = live.unwrap_or(&empty);

    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if (e.manager == who.manager && e.operation == "Apply") || e.subresource != sub {
            continue;
        }
        for p in e.set.intersection(&applied_set) {
            if !is_item(p) && value_at(live_obj, p) != value_at(applied, p) {
                conflicts.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !who.force {
        return Err(conflict_error(&entries, &conflicts));
    }
    for (i, p) in &conflicts {
        entries[*i].set.remove(p);
    }

    let mut result = live.cloned().unwrap_or_else(|| json!({}));
    let previous = entries
        .iter()
        .find(|e| e.manager == who.manager && e.operation == "Apply" && e.subresource == sub)
        .map(|e| e.set.clone())
        .unwrap_or_default();
    for p in previous.difference(&applied_set) {
        let owned_elsewhere = entries.iter().any(|e| {
            !(e.manager == who.manager && e.operation == "Apply" && e.subresource == sub)
                && e.set.iter().any(|q| q.starts_with(p))
        });
        if !owned_elsewhere {
            remove_at(&mut result, p);
        }
    }
    let mut incoming = applied.clone();
    if let Some(m) = incoming.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    merge(&mut result, &incoming, "");

    let entry = entry_of(&mut entries, who.manager, "Apply", who.api_version, sub);
    entry.set = applied_set;
    entry.time = now_rfc3339();
    entry.api_version = who.api_version.to_string();
    write_entries(&mut result, &entries);
    Ok(result)
}

fn conflict_error(entries: &[Entry], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", entries[*i].printed()),
                   "field": display(p)})
        })
        .collect();
    let message = if let [(i, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            entries[*i].printed(),
            display(p)
        )
    } else {
        let mut by_manager: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, p) in conflicts {
            by_manager
                .entry(entries[*i].printed())
                .or_default()
                .push(display(p));
        }
        let lines: Vec<String> = by_manager
            .iter()
            .flat_map(|(m, paths)| {
                std::iter::once(format!("conflicts with {m}:"))
                    .chain(paths.iter().map(|p| format!("- {p}")))
            })
            .collect();
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::apply_conflict(&message, causes)
}

/// Record an Update operation (create, PUT, non-apply PATCH) by `manager`: it takes the
/// fields it changed from every other manager; removed fields leave every set.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    scope: Scope,
) {
    let sub = scope.subresource();
    let mut entries = read_entries(old);
    let old_set = old.map(|o| fields_of(o, scope)).unwrap_or_default();
    let new_set = fields_of(new, scope);
    let empty = Value::Null;
    let old_obj = old.unwrap_or(&empty);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| {
            if is_item(p) {
                !old_set.contains(*p)
            } else {
                value_at(old_obj, p) != value_at(new, p)
            }
        })
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    if changed.is_empty() && removed.is_empty() {
        write_entries(new, &entries);
        return;
    }
    for e in entries.iter_mut() {
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    let entry = entry_of(&mut entries, manager, "Update", api_version, sub);
    entry.set.extend(changed);
    entry.time = now_rfc3339();
    entry.api_version = api_version.to_string();
    write_entries(new, &entries);
}

/// Equal except for managedFields timestamps: the real server then skips the write.
pub fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(list) = v
            .pointer_mut("/metadata/managedFields")
            .and_then(Value::as_array_mut)
        {
            for e in list {
                if let Some(m) = e.as_object_mut() {
                    m.remove("time");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
}
