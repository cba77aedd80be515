//! Admission webhooks: a matching webhook whose Service has no ready endpoints fails the
//! write as kube-apiserver's webhook dispatcher does (failurePolicy Fail) or lets it pass
//! (Ignore). Reachable webhooks admit writes unchanged: the double never calls them.

use serde_json::Value;

use super::catalog::Resource;
use super::selectors::LabelSelector;
use super::status::ApiError;
use super::store::{Key, Store};

/// The write being admitted.
pub struct Attempt<'a> {
    /// Target resource.
    pub resource: &'a Resource,
    /// Subresource ("" or "status").
    pub subresource: &'a str,
    /// CREATE, UPDATE or DELETE.
    pub operation: &'a str,
    /// Namespace ("" when cluster-scoped).
    pub namespace: &'a str,
    /// The object (new for CREATE/UPDATE, old for DELETE).
    pub object: &'a Value,
}

/// `Internal error occurred: failed calling webhook "NAME": failed to call webhook: REASON`.
pub fn call_failed(webhook: &str, reason: &str) -> ApiError {
    ApiError::internal(&format!(
        "failed calling webhook {webhook:?}: failed to call webhook: {reason}"
    ))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn rule_matches(rule: &Value, a: &Attempt) -> bool {
    let has = |field: &str, want: &str| strs(&rule[field]).iter().any(|x| *x == "*" || *x == want);
    let resource_ok = strs(&rule["resources"]).iter().any(|res| {
        let (plural, sub) = res.split_once('/').unwrap_or((res, ""));
        (plural == "*" || plural == a.resource.plural) && (sub == "*" || sub == a.subresource)
    });
    let scope_ok = match rule["scope"].as_str().unwrap_or("*") {
        "Cluster" => !a.resource.namespaced,
        "Namespaced" => a.resource.namespaced,
        _ => true,
    };
    has("operations", a.operation)
        && has("apiGroups", &a.resource.group)
        && has("apiVersions", &a.resource.version)
        && resource_ok
        && scope_ok
}

fn selector_matches(store: &Store, hook: &Value, a: &Attempt) -> bool {
    let non_empty = |v: &Value| v.as_object().is_some_and(|m| !m.is_empty());
    if non_empty(&hook["objectSelector"])
        && !LabelSelector::from_object(&hook["objectSelector"]).matches_object(a.object)
    {
        return false;
    }
    if non_empty(&hook["namespaceSelector"]) {
        let ns_labels = if a.resource.plural == "namespaces" && a.resource.group.is_empty() {
            a.object.pointer("/metadata/labels").cloned()
        } else if a.resource.namespaced {
            let key = Key {
                group: String::new(),
                plural: "namespaces".into(),
                namespace: String::new(),
                name: a.namespace.into(),
            };
            store
                .get(&key)
                .and_then(|ns| ns.pointer("/metadata/labels").cloned())
        } else {
            return true;
        };
        return LabelSelector::from_object(&hook["namespaceSelector"]).matches(ns_labels.as_ref());
    }
    true
}

/// Why a webhook cannot be called, or None when its Service has a ready endpoint.
fn unreachable(store: &Store, hook: &Value) -> Option<String> {
    let client = &hook["clientConfig"];
    let timeout = hook["timeoutSeconds"].as_u64().unwrap_or(10);
    let Some(svc) = client.get("service") else {
        let url = client["url"].as_str().unwrap_or_default();
        return Some(format!(
            "Post \"{url}?timeout={timeout}s\": the double does not call webhook URLs"
        ));
    };
    let (name, ns) = (
        svc["name"].as_str().unwrap_or_default(),
        svc["namespace"].as_str().unwrap_or_default(),
    );
    let port = svc["port"].as_u64().unwrap_or(443);
    let path = svc["path"].as_str().unwrap_or("/");
    let url = format!("https://{name}.{ns}.svc:{port}{path}?timeout={timeout}s");
    let service = Key {
        group: String::new(),
        plural: "services".into(),
        namespace: ns.into(),
        name: name.into(),
    };
    if store.get(&service).is_none() {
        return Some(format!("Post \"{url}\": service {name:?} not found"));
    }
    let ready = store
        .list("discovery.k8s.io", "endpointslices", Some(ns))
        .iter()
        .any(|(_, slice)| {
            slice
                .pointer("/metadata/labels/kubernetes.io~1service-name")
                .and_then(Value::as_str)
                == Some(name)
                && slice["endpoints"].as_array().is_some_and(|eps| {
                    eps.iter()
                        .any(|e| e.pointer("/conditions/ready") != Some(&Value::Bool(false)))
                })
        });
    if ready {
        None
    } else {
        Some(format!(
            "Post \"{url}\": no endpoints available for service {name:?}"
        ))
    }
}

/// Run mutating then validating webhooks for `a`.
pub fn admit(store: &Store, a: &Attempt) -> Result<(), ApiError> {
    // Webhook configurations are never subject to webhooks, so a broken one can be fixed.
    if a.resource.group == "admissionregistration.k8s.io" {
        return Ok(());
    }
    for plural in [
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
    ] {
        for (_, config) in store.list("admissionregistration.k8s.io", plural, None) {
            for hook in config["webhooks"].as_array().into_iter().flatten() {
                let matched = hook["rules"]
                    .as_array()
                    .is_some_and(|rules| rules.iter().any(|r| rule_matches(r, a)));
                if !matched || !selector_matches(store, hook, a) {
                    continue;
                }
                let Some(reason) = unreachable(store, hook) else {
                    continue;
                };
                if hook["failurePolicy"] == "Ignore" {
                    continue;
                }
                return Err(call_failed(
                    hook["name"].as_str().unwrap_or_default(),
                    &reason,
                ));
            }
        }
    }
    Ok(())
}
