//! The write verbs: POST, PUT, PATCH (apply, merge, strategic, JSON) and DELETE, with
//! dry runs, namespace checks, admission, status-subresource rules and managed fields.

use serde_json::{Value, json};

use super::State;
use super::admission::{self, Attempt};
use super::catalog::Resource;
use super::patch;
use super::rest::{Call, Outcome, Target, served};
use super::ssa::{self, Applier, Scope};
use super::status::{self, ApiError};
use super::store::{Key, meta_mut, meta_str, now_rfc3339};
use super::structural;

fn dry_run(call: &Call) -> bool {
    call.param("dryRun") == "All"
}

/// The fieldManager of an Update: the query parameter, else the user agent's first
/// segment as the real server derives it.
fn update_manager(call: &Call) -> String {
    match call.param("fieldManager") {
        "" => call
            .user_agent
            .split('/')
            .next()
            .unwrap_or_default()
            .chars()
            .take(128)
            .collect(),
        m => m.to_string(),
    }
}

fn scope(t: &Target) -> Scope {
    if t.subresource == "status" {
        Scope::Status
    } else {
        Scope::Main {
            has_status: t.resource.status,
        }
    }
}

fn parse_body(call: &Call) -> Result<Value, ApiError> {
    serde_json::from_slice(&call.body).map_err(|e| {
        ApiError::bad_request(&format!("couldn't get version/kind; json parse error: {e}"))
    })
}

/// apiVersion and kind of a body against the URL.
fn check_type(r: &Resource, obj: &Value) -> Result<(), ApiError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    if api_version != r.api_version() {
        return Err(ApiError::bad_request(&format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            r.api_version()
        )));
    }
    let kind = obj["kind"].as_str().unwrap_or_default();
    if kind != r.kind {
        return Err(ApiError::invalid(
            &r.group,
            kind,
            meta_str(obj, "name"),
            "kind",
            (
                "FieldValueInvalid",
                &format!("Invalid value: {kind:?}: must be {}", r.kind),
            ),
        ));
    }
    Ok(())
}

/// Name and namespace of a body against the URL.
fn check_identity(t: &Target, obj: &mut Value) -> Result<(), ApiError> {
    let name = meta_str(obj, "name");
    if !t.name.is_empty() && name != t.name {
        return Err(ApiError::bad_request(&format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            t.name
        )));
    }
    if t.resource.namespaced {
        let ns = meta_str(obj, "namespace");
        if !ns.is_empty() && ns != t.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta_mut(obj).insert("namespace".into(), json!(t.namespace));
    } else {
        meta_mut(obj).remove("namespace");
    }
    Ok(())
}

fn namespace_key(name: &str) -> Key {
    Key {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: String::new(),
        name: name.into(),
    }
}

/// A namespaced create needs an existing, non-terminating namespace.
fn check_namespace(state: &State, t: &Target, name: &str) -> Result<(), ApiError> {
    if !t.resource.namespaced {
        return Ok(());
    }
    let ns = state
        .store
        .get(&namespace_key(&t.namespace))
        .ok_or_else(|| ApiError::not_found("", "namespaces", &t.namespace))?;
    if ns.pointer("/metadata/deletionTimestamp").is_some() {
        let why = format!(
            "unable to create new content in namespace {} because it is being terminated",
            t.namespace
        );
        return Err(ApiError::forbidden(
            &t.resource.group,
            &t.resource.plural,
            name,
            &why,
        ));
    }
    Ok(())
}

fn admit(state: &State, t: &Target, operation: &str, object: &Value) -> Result<(), ApiError> {
    let attempt = Attempt {
        resource: &t.resource,
        subresource: &t.subresource,
        operation,
        namespace: &t.namespace,
        object,
    };
    admission::admit(&state.store, &attempt)
}

/// What the API server's create strategies set on new objects.
fn prepare_create(r: &Resource, obj: &mut Value) {
    if let Some(m) = obj.as_object_mut().filter(|_| r.status) {
        m.remove("status");
    }
    if let Some(m) = obj.pointer_mut("/metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "managedFields",
        ] {
            m.remove(field);
        }
    }
}

/// What the namespace strategy sets on every write, owned by no field manager: the name
/// label, the `kubernetes` finalizer (kept from the stored object on updates) and the
/// phase.
fn namespace_defaults(t: &Target, obj: &mut Value, old: Option<&Value>) {
    if !(t.resource.group.is_empty() && t.resource.plural == "namespaces") {
        return;
    }
    let name = meta_str(obj, "name").to_string();
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    let finalizers = old
        .and_then(|o| o.pointer("/spec/finalizers"))
        .cloned()
        .unwrap_or_else(|| json!(["kubernetes"]));
    obj["spec"] = json!({"finalizers": finalizers});
    if old.is_none() {
        obj["status"] = json!({"phase": "Active"});
    }
}

/// A Secret's `stringData` is write-only: the server folds it into `data` (base64) and
/// stores no `stringData`.
fn fold_string_data(t: &Target, obj: &mut Value) {
    use base64::Engine as _;
    if !(t.resource.group.is_empty() && t.resource.plural == "secrets") {
        return;
    }
    let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    for (key, value) in strings {
        let text = value.as_str().unwrap_or_default();
        obj["data"][key.as_str()] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

/// A Secret's `data` values are bytes, base64 in JSON: converting an applied Secret to its
/// Go type decodes them, and a value that is no base64 (a sealed one, say) fails the
/// request as the real server fails it.
fn check_secret_data(t: &Target, obj: &Value) -> Result<(), ApiError> {
    use base64::Engine as _;
    if !(t.resource.group.is_empty() && t.resource.plural == "secrets") {
        return Ok(());
    }
    let Some(data) = obj.get("data").and_then(Value::as_object) else {
        return Ok(());
    };
    for value in data.values().filter_map(Value::as_str) {
        // Go's decoder skips line breaks; its offsets count them.
        let kept: Vec<usize> = value
            .bytes()
            .enumerate()
            .filter(|(_, b)| !matches!(b, b'\r' | b'\n'))
            .map(|(at, _)| at)
            .collect();
        let stripped: Vec<u8> = kept.iter().map(|&at| value.as_bytes()[at]).collect();
        let at = match base64::engine::general_purpose::STANDARD.decode(&stripped) {
            Ok(_) => continue,
            Err(
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol { offset: at, .. },
            ) => kept[at],
            Err(_) => value.len(),
        };
        let message = format!(
            "failed to convert new object ({}/{}; /v1, Kind=Secret) to proper version: unable to convert unstructured object to /v1, Kind=Secret: error decoding from json: illegal base64 data at input byte {at}",
            meta_str(obj, "namespace"),
            meta_str(obj, "name")
        );
        // The real server answers 500 with no reason.
        return Err(ApiError::new(500, "", &message, None));
    }
    Ok(())
}

/// Store a new object (or not, for dry runs) and answer 201.
fn finish_create(state: &mut State, t: &Target, mut obj: Value, dry: bool) -> Outcome {
    fold_string_data(t, &mut obj);
    namespace_defaults(t, &mut obj, None);
    state.store.stamp_new(&mut obj, t.resource.generation);
    let key = Key::of(&t.resource.group, &t.resource.plural, &obj);
    let stored = if dry {
        obj
    } else {
        state.store.create(key, obj)
    };
    Outcome::Json(201, served(&t.resource, &stored), "application/json")
}

/// POST on a collection.
pub fn create(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let mut obj = parse_body(call)?;
    check_type(r, &obj)?;
    check_identity(t, &mut obj)?;
    if meta_str(&obj, "name").is_empty() {
        let generate = meta_str(&obj, "generateName").to_string();
        if generate.is_empty() {
            let cause = (
                "FieldValueRequired",
                "Required value: name or generateName is required",
            );
            return Err(ApiError::invalid(
                &r.group,
                &r.kind,
                "",
                "metadata.name",
                cause,
            ));
        }
        let name = format!("{generate}{}", state.store.suffix(5));
        meta_mut(&mut obj).insert("name".into(), json!(name));
    }
    let name = meta_str(&obj, "name").to_string();
    check_namespace(state, t, &name)?;
    let key = Key::of(&r.group, &r.plural, &obj);
    if state.store.get(&key).is_some() {
        return Err(ApiError::already_exists(&r.group, &r.plural, &name));
    }
    prepare_create(r, &mut obj);
    if let Some(schema) = structural::schema_of(&state.store, r) {
        structural::prune(&mut obj, &schema);
    }
    admit(state, t, "CREATE", &obj)?;
    ssa::record_update(
        None,
        &mut obj,
        &update_manager(call),
        &r.api_version(),
        scope(t),
    );
    Ok(finish_create(state, t, obj, dry_run(call)))
}

/// Carry over what clients cannot change and apply the status-subresource rules.
fn carry_over(t: &Target, old: &Value, new: &mut Value) {
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(v) => meta_mut(new).insert(field.into(), v.clone()),
            None => meta_mut(new).remove(field),
        };
    }
    if t.subresource == "status" {
        // A status write changes status and nothing else.
        let status = new.get("status").cloned();
        let managed = new.pointer("/metadata/managedFields").cloned();
        *new = old.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let Some(mf) = managed {
            meta_mut(new).insert("managedFields".into(), mf);
        }
    } else if t.resource.status {
        // A main-resource write cannot change status.
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
}

/// Persist an update unless it changes nothing (then the real server skips the write and
/// the resourceVersion stays).
fn finish_update(state: &mut State, t: &Target, old: &Value, mut new: Value, dry: bool) -> Outcome {
    fold_string_data(t, &mut new);
    namespace_defaults(t, &mut new, Some(old));
    let old_rv = meta_str(old, "resourceVersion").to_string();
    meta_mut(&mut new).insert("resourceVersion".into(), json!(old_rv));
    if ssa::same_ignoring_times(old, &new) {
        return Outcome::Json(200, served(&t.resource, old), "application/json");
    }
    state
        .store
        .prepare_update(old, &mut new, t.resource.generation);
    let stored = if dry {
        new
    } else {
        state.store.update(t.key(), new)
    };
    Outcome::Json(200, served(&t.resource, &stored), "application/json")
}

fn existing(state: &State, t: &Target) -> Result<Value, ApiError> {
    let r = &t.resource;
    state
        .store
        .get(&t.key())
        .cloned()
        .ok_or_else(|| ApiError::not_found(&r.group, &r.plural, &t.name))
}

/// PUT on an object.
pub fn replace(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let mut new = parse_body(call)?;
    check_type(r, &new)?;
    check_identity(t, &mut new)?;
    let old = existing(state, t)?;
    let rv = meta_str(&new, "resourceVersion");
    if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
        return Err(ApiError::stale(&r.group, &r.plural, &t.name));
    }
    update(state, call, t, &old, new)
}

/// The rest of a PUT or non-apply PATCH: carry over what clients cannot change, admit,
/// record the update manager's fields, store.
fn update(
    state: &mut State,
    call: &Call,
    t: &Target,
    old: &Value,
    mut new: Value,
) -> Result<Outcome, ApiError> {
    carry_over(t, old, &mut new);
    admit(state, t, "UPDATE", &new)?;
    ssa::record_update(
        Some(old),
        &mut new,
        &update_manager(call),
        &t.resource.api_version(),
        scope(t),
    );
    Ok(finish_update(state, t, old, new, dry_run(call)))
}

/// PATCH on an object.
pub fn patch(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let content_type = call
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if content_type == "application/apply-patch+yaml" {
        return apply(state, call, t);
    }
    if !call.param("force").is_empty() {
        let cause = (
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch",
        );
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            "force",
            cause,
        ));
    }
    let body = parse_body(call)?;
    let old = existing(state, t)?;
    let mut new = old.clone();
    let outcome = match content_type {
        "application/merge-patch+json" => {
            patch::merge_patch(&mut new, &body);
            Ok(())
        }
        "application/strategic-merge-patch+json" if r.custom => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                None,
            ));
        }
        "application/strategic-merge-patch+json" => patch::strategic_patch(&mut new, &body),
        "application/json-patch+json" => patch::json_patch(&mut new, &body),
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
                ),
                None,
            ));
        }
    };
    outcome.map_err(|e| ApiError::new(422, "Invalid", &e, None))?;
    check_identity(t, &mut new)?;
    let rv = meta_str(&new, "resourceVersion");
    if rv != meta_str(&old, "resourceVersion") {
        return Err(ApiError::stale(&r.group, &r.plural, &t.name));
    }
    update(state, call, t, &old, new)
}

/// Server-side apply.
fn apply(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let manager = call.param("fieldManager");
    if manager.is_empty() {
        let cause = (
            "FieldValueRequired",
            "Required value: is required for apply patch",
        );
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            "fieldManager",
            cause,
        ));
    }
    let mut applied: Value = serde_json::from_slice(&call.body).map_err(|e| {
        ApiError::bad_request(&format!(
            "error decoding YAML: the double accepts JSON apply bodies only: {e}"
        ))
    })?;
    let api_version = applied["apiVersion"].as_str().unwrap_or_default();
    if api_version != r.api_version() {
        return Err(ApiError::bad_request(&format!(
            "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {}",
            r.api_version()
        )));
    }
    if applied.pointer("/metadata/managedFields").is_some() {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    check_type(r, &applied)?;
    check_identity(t, &mut applied)?;
    if let Some(schema) = structural::schema_of(&state.store, r) {
        structural::check_declared(r, &applied, &schema)?;
        structural::check_nulls(r, &applied, &schema)?;
    }
    let who = Applier {
        manager,
        api_version: &r.api_version(),
        force: call.param("force") == "true",
        scope: scope(t),
    };
    let dry = dry_run(call);
    match state.store.get(&t.key()).cloned() {
        None if t.subresource == "status" => Err(ApiError::not_found(&r.group, &r.plural, &t.name)),
        None => {
            check_namespace(state, t, &t.name)?;
            prepare_create(r, &mut applied);
            let obj = ssa::apply(None, &applied, &who)?;
            check_secret_data(t, &obj)?;
            admit(state, t, "CREATE", &obj)?;
            Ok(finish_create(state, t, obj, dry))
        }
        Some(old) => {
            let incoming = if t.subresource == "status" {
                json!({"apiVersion": r.api_version(), "kind": r.kind, "status": applied["status"]})
            } else {
                if let Some(m) = applied.as_object_mut().filter(|_| r.status) {
                    m.remove("status");
                }
                if let Some(m) = applied
                    .pointer_mut("/metadata")
                    .and_then(Value::as_object_mut)
                {
                    for field in [
                        "uid",
                        "resourceVersion",
                        "creationTimestamp",
                        "generation",
                        "deletionTimestamp",
                    ] {
                        m.remove(field);
                    }
                }
                applied
            };
            let mut new = ssa::apply(Some(&old), &incoming, &who)?;
            carry_over(t, &old, &mut new);
            check_secret_data(t, &new)?;
            check_immutable(t, &old, &new)?;
            admit(state, t, "UPDATE", &new)?;
            Ok(finish_update(state, t, &old, new, dry))
        }
    }
}

/// `ValidateConfigMapUpdate` and `ValidateSecretUpdate`: once `immutable` is true, the
/// data and the flag itself may not change.
fn check_immutable(t: &Target, old: &Value, new: &Value) -> Result<(), ApiError> {
    let r = &t.resource;
    if !(r.group.is_empty() && matches!(r.plural.as_str(), "configmaps" | "secrets")) {
        return Ok(());
    }
    if old["immutable"] != true {
        return Ok(());
    }
    for field in ["immutable", "data", "binaryData", "stringData"] {
        if old.get(field) != new.get(field) {
            let cause = (
                "FieldValueForbidden",
                "Forbidden: field is immutable when `immutable` is set",
            );
            return Err(ApiError::invalid(&r.group, &r.kind, &t.name, field, cause));
        }
    }
    Ok(())
}

/// How dependents are handled when their owner goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Propagation {
    /// Delete the owner now; the garbage collector removes dependents afterwards.
    Background,
    /// Keep the owner (finalizer `foregroundDeletion`) until its dependents are gone.
    Foreground,
    /// Cut the dependents loose.
    Orphan,
}

fn propagation(call: &Call) -> Result<Propagation, ApiError> {
    let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
    let policy = body["propagationPolicy"]
        .as_str()
        .unwrap_or(call.param("propagationPolicy"))
        .to_string();
    let orphan = body["orphanDependents"]
        .as_bool()
        .or_else(|| call.query.get("orphanDependents").map(|v| v == "true"));
    match (policy.as_str(), orphan) {
        ("Foreground", _) => Ok(Propagation::Foreground),
        ("Orphan", _) | ("", Some(true)) => Ok(Propagation::Orphan),
        ("Background" | "", _) => Ok(Propagation::Background),
        (other, _) => Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            "propagationPolicy",
            (
                "FieldValueNotSupported",
                &format!(
                    "Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
                ),
            ),
        )),
    }
}

/// DELETE on an object.
pub fn delete(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let old = existing(state, t)?;
    let policy = propagation(call)?;
    admit(state, t, "DELETE", &old)?;
    let uid = meta_str(&old, "uid").to_string();
    if dry_run(call) {
        return Ok(Outcome::Json(
            200,
            status::deleted(&r.group, &r.plural, &t.name, &uid),
            "application/json",
        ));
    }
    if policy == Propagation::Orphan {
        orphan_dependents(state, &uid);
    }
    let mut marked = old.clone();
    let is_namespace = r.group.is_empty() && r.plural == "namespaces";
    let finalizers = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if finalizers || is_namespace || policy == Propagation::Foreground {
        if old.pointer("/metadata/deletionTimestamp").is_none() {
            let meta = meta_mut(&mut marked);
            meta.insert("deletionTimestamp".into(), json!(now_rfc3339()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        if policy == Propagation::Foreground {
            let list = marked["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !list.contains(&json!("foregroundDeletion")) {
                let mut list = list;
                list.push(json!("foregroundDeletion"));
                marked["metadata"]["finalizers"] = Value::Array(list);
            }
        }
        if is_namespace {
            marked["status"]["phase"] = json!("Terminating");
        }
        let stored = state.store.update(t.key(), marked);
        return Ok(Outcome::Json(200, served(r, &stored), "application/json"));
    }
    let removed = state.store.remove(&t.key()).unwrap_or(old);
    // Pods answer with the deleted object, most kinds with a success Status.
    let body = if r.group.is_empty() && r.plural == "pods" {
        served(r, &removed)
    } else {
        status::deleted(&r.group, &r.plural, &t.name, &uid)
    };
    Ok(Outcome::Json(200, body, "application/json"))
}

/// Remove ownerReferences to `uid` from every object.
fn orphan_dependents(state: &mut State, uid: &str) {
    let dependents: Vec<(Key, Value)> = state
        .store
        .all()
        .filter(|(_, o)| owner_uids(o).any(|u| u == uid))
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    for (key, mut obj) in dependents {
        if let Some(refs) = obj
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| r["uid"] != uid);
        }
        state.store.update(key, obj);
    }
}

/// The uids an object's ownerReferences point at.
pub fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}
