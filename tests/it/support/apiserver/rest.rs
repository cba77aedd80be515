//! Routing of API paths and the read verbs (GET, LIST, WATCH); writes are in `write.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::State;
use super::catalog::{self, Resource};
use super::discovery;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Event, Key};
use super::write;

/// One HTTP request, read whole.
pub struct Call {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// Request body.
    pub body: Bytes,
    /// Content-Type header.
    pub content_type: String,
    /// Accept header.
    pub accept: String,
    /// User-Agent header.
    pub user_agent: String,
    /// `Impersonate-User` header: whom the client acts as ("" for the caller itself).
    pub impersonate: String,
}

impl Call {
    /// A query parameter, "" when absent.
    pub fn param(&self, name: &str) -> &str {
        self.query.get(name).map_or("", String::as_str)
    }
}

/// What the server sends back.
pub enum Outcome {
    /// A JSON body with a code and content type.
    Json(u16, Value, &'static str),
    /// A plain-text body (the mux's own 404).
    Text(u16, &'static str),
    /// A failure `Status`.
    Error(ApiError),
    /// A watch stream.
    Watch(WatchPlan),
}

/// Encodes a live event for one watch, or None when the event does not concern it.
pub type EventFilter = Box<dyn Fn(&Event) -> Option<Value> + Send>;

/// Watch events to stream: a backlog, then live events that pass the filter.
pub struct WatchPlan {
    /// Encoded events to send first.
    pub backlog: Vec<Value>,
    /// Live events.
    pub rx: broadcast::Receiver<Arc<Event>>,
    /// Encodes a live event, or None when it does not concern this watch.
    pub filter: EventFilter,
    /// When the server ends the watch.
    pub timeout: Duration,
}

/// The resource a path names.
pub struct Target {
    /// Served resource.
    pub resource: Resource,
    /// Namespace from the path, "" when none.
    pub namespace: String,
    /// Object name, "" for collections.
    pub name: String,
    /// "" or "status".
    pub subresource: String,
}

impl Target {
    /// Store key of the named object.
    pub fn key(&self) -> Key {
        Key {
            group: self.resource.group.clone(),
            plural: self.resource.plural.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

const PAGE_NOT_FOUND: Outcome = Outcome::Text(404, "404 page not found");

/// Answer one request.
pub fn handle(state: &mut State, call: &Call, server_url: &str) -> Outcome {
    let segments: Vec<&str> = call
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let resources = catalog::all(&state.store);
    let aggregated = discovery::wants_aggregated(&call.accept);
    let json = |v: Value| Outcome::Json(200, v, "application/json");
    let agg = |v: Value| Outcome::Json(200, v, discovery::AGGREGATED_CONTENT_TYPE);
    match segments.as_slice() {
        ["version"] => json(discovery::version(&state.version)),
        ["api"] if aggregated => agg(discovery::aggregated(&resources, true)),
        ["api"] => json(discovery::core_versions(server_url)),
        ["apis"] if aggregated => agg(discovery::aggregated(&resources, false)),
        ["apis"] => json(discovery::group_list(&resources)),
        ["apis", group] => discovery::group(&resources, group).map_or(PAGE_NOT_FOUND, json),
        ["api", version] => {
            discovery::resource_list(&resources, "", version).map_or(PAGE_NOT_FOUND, json)
        }
        ["apis", group, version] => {
            discovery::resource_list(&resources, group, version).map_or(PAGE_NOT_FOUND, json)
        }
        ["api", version, rest @ ..] => resource_call(state, call, "", version, rest),
        ["apis", group, version, rest @ ..] => resource_call(state, call, group, version, rest),
        _ => PAGE_NOT_FOUND,
    }
}

fn resource_call(
    state: &mut State,
    call: &Call,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Outcome {
    let result = target(state, group, version, rest).and_then(|t| {
        authorize(state, call, &t)?;
        dispatch(state, call, &t)
    });
    result.unwrap_or_else(Outcome::Error)
}

/// The double's RBAC, for impersonated service accounts only (the caller itself may do
/// anything): a service account may act in a namespace where a RoleBinding names it as a
/// subject, whatever the role, and nowhere else.
fn authorize(state: &State, call: &Call, t: &Target) -> Result<(), ApiError> {
    let Some(account) = call.impersonate.strip_prefix("system:serviceaccount:") else {
        return Ok(());
    };
    let (account_namespace, account_name) = account.split_once(':').unwrap_or((account, ""));
    let bound = !t.namespace.is_empty()
        && state
            .store
            .list(
                "rbac.authorization.k8s.io",
                "rolebindings",
                Some(&t.namespace),
            )
            .iter()
            .flat_map(|(_, binding)| binding["subjects"].as_array().cloned().unwrap_or_default())
            .any(|subject| {
                subject["kind"] == "ServiceAccount"
                    && subject["name"] == account_name
                    && subject["namespace"] == account_namespace
            });
    if bound {
        return Ok(());
    }
    let r = &t.resource;
    let verb = match (call.method.as_str(), t.name.is_empty()) {
        ("GET", false) => "get",
        ("GET", true) if matches!(call.param("watch"), "true" | "1") => "watch",
        ("GET", true) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        (other, _) => other,
    };
    let scope = if t.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", t.namespace)
    };
    let subject = if t.name.is_empty() {
        format!("{} is forbidden", r.plural)
    } else {
        format!("{} \"{}\" is forbidden", r.plural, t.name)
    };
    Err(ApiError::new(
        403,
        "Forbidden",
        &format!(
            "{subject}: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            call.impersonate, r.plural, r.group
        ),
        None,
    ))
}

/// Resolve `[namespaces/NS/]PLURAL[/NAME[/SUB]]` to a served resource.
fn target(state: &State, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    // `namespaces/x/status` is the Namespace's own status, not a resource named "status".
    let namespace_sub =
        rest.len() == 3 && rest[0] == "namespaces" && group.is_empty() && rest[2] == "status";
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() && !namespace_sub => {
            (ns.to_string(), tail)
        }
        _ => (String::new(), rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, "", ""),
        [plural, name] => (*plural, *name, ""),
        [plural, name, sub] => (*plural, *name, *sub),
        _ => return Err(ApiError::no_route()),
    };
    let resource =
        catalog::find(&state.store, group, version, plural).ok_or_else(ApiError::no_route)?;
    if (!resource.namespaced && !namespace.is_empty())
        || !(sub.is_empty() || (sub == "status" && resource.status))
    {
        return Err(ApiError::no_route());
    }
    Ok(Target {
        resource,
        namespace,
        name: name.into(),
        subresource: sub.into(),
    })
}

fn dispatch(state: &mut State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = &t.resource;
    let named = !t.name.is_empty();
    let value = match (call.method.as_str(), named) {
        ("GET", true) => get(state, t)?,
        ("GET", false) if matches!(call.param("watch"), "true" | "1") => {
            return watch(state, call, t);
        }
        ("GET", false) => list(state, call, t)?,
        ("POST", false) => return write::create(state, call, t),
        ("PUT", true) => return write::replace(state, call, t),
        ("PATCH", true) => return write::patch(state, call, t),
        ("DELETE", true) => return write::delete(state, call, t),
        ("DELETE", false) => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the double does not implement deletecollection",
                None,
            ));
        }
        (verb, _) => return Err(ApiError::method_not_supported(&r.group, &r.plural, verb)),
    };
    Ok(Outcome::Json(200, value, "application/json"))
}

/// `obj` as served at the target's version.
pub fn served(r: &Resource, obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.shift_insert(0, "kind".into(), json!(r.kind));
        m.shift_insert(0, "apiVersion".into(), json!(r.api_version()));
    }
    out
}

fn get(state: &State, t: &Target) -> Result<Value, ApiError> {
    let r = &t.resource;
    let obj = state
        .store
        .get(&t.key())
        .ok_or_else(|| ApiError::not_found(&r.group, &r.plural, &t.name))?;
    Ok(served(r, obj))
}

/// Label and field selectors of a list or watch.
fn selectors(call: &Call) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels =
        LabelSelector::parse(call.param("labelSelector")).map_err(|e| ApiError::bad_request(&e))?;
    let fields =
        FieldSelector::parse(call.param("fieldSelector")).map_err(|e| ApiError::bad_request(&e))?;
    Ok((labels, fields))
}

fn list(state: &State, call: &Call, t: &Target) -> Result<Value, ApiError> {
    let r = &t.resource;
    let (labels, fields) = selectors(call)?;
    let ns = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
    let items: Vec<Value> = state
        .store
        .list(&r.group, &r.plural, ns)
        .into_iter()
        .filter(|(_, o)| labels.matches_object(o) && fields.matches(o))
        .map(|(_, o)| {
            // Built-in lists carry no type meta on their items; custom resources do.
            let mut item = served(r, &o);
            if !r.custom
                && let Some(m) = item.as_object_mut()
            {
                m.remove("apiVersion");
                m.remove("kind");
            }
            item
        })
        .collect();
    Ok(json!({
        "kind": format!("{}List", r.kind), "apiVersion": r.api_version(),
        "metadata": {"resourceVersion": state.store.rv().to_string()}, "items": items,
    }))
}

fn event_json(kind: &str, object: Value) -> Value {
    json!({"type": kind, "object": object})
}

fn watch(state: &State, call: &Call, t: &Target) -> Result<Outcome, ApiError> {
    let r = t.resource.clone();
    let (labels, fields) = selectors(call)?;
    let namespace = t.namespace.clone();
    let timeout = Duration::from_secs(call.param("timeoutSeconds").parse().unwrap_or(1800));
    let concerns = move |key: &Key, obj: &Value| {
        key.group == r.group
            && key.plural == r.plural
            && (namespace.is_empty() || key.namespace == namespace)
            && labels.matches_object(obj)
            && fields.matches(obj)
    };
    let since = call.param("resourceVersion");
    let (backlog, rx, expired) = match since {
        "" | "0" => {
            let (_, rx) = state.store.watch_from(state.store.rv());
            let current = state
                .store
                .all()
                .filter(|(k, o)| concerns(k, o))
                .map(|(_, o)| event_json("ADDED", served(&t.resource, o)))
                .collect();
            (current, rx, false)
        }
        rv => {
            let since: u64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request(&format!("invalid resource version: {rv}")))?;
            match state.store.watch_from(since) {
                (Some(events), rx) => {
                    let backlog = events
                        .iter()
                        .filter(|e| concerns(&e.key, &e.object))
                        .map(|e| event_json(e.kind.as_str(), served(&t.resource, &e.object)))
                        .collect();
                    (backlog, rx, false)
                }
                (None, rx) => {
                    let gone = ApiError::new(
                        410,
                        "Expired",
                        &format!("too old resource version: {since} ({})", state.store.rv()),
                        None,
                    );
                    (vec![event_json("ERROR", gone.body)], rx, true)
                }
            }
        }
    };
    let resource = t.resource.clone();
    let filter = Box::new(move |e: &Event| {
        concerns(&e.key, &e.object)
            .then(|| event_json(e.kind.as_str(), served(&resource, &e.object)))
    });
    // An expired watch ends right after its ERROR event.
    let timeout = if expired { Duration::ZERO } else { timeout };
    Ok(Outcome::Watch(WatchPlan {
        backlog,
        rx,
        filter,
        timeout,
    }))
}
