//! The data plane's CA in the webhook configurations and APIServices that name a Service
//! but trust no CA: what a webhook that manages its own certificate, or cert-manager's CA
//! injector, does once the serving certificate exists. Without it the API server could
//! not verify the certificates `serve` presents. A configuration that brings its own CA
//! keeps it (and cannot reach the data plane's servers).

use base64::Engine;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};

use super::{Error, Log};

/// The field manager of the injected `caBundle`s.
const MANAGER: &str = "crunch-stand-in";

/// The kinds that carry a `caBundle` for a Service: group, version, kind, plural.
const KINDS: [(&str, &str, &str, &str); 3] = [
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
    ),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices"),
];

/// Puts `ca_pem` into every `caBundle` that names a Service and is empty.
pub async fn sync(client: &kube::Client, ca_pem: &str, log: &mut Log) {
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    for (group, version, kind, plural) in KINDS {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let objects = match api.list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(error) => {
                log.error(format!("listing {kind}s"), error);
                continue;
            }
        };
        for object in objects {
            let Ok(object) = serde_json::to_value(&object) else {
                continue;
            };
            let Some(config) = injection(&resource, &object, &ca_bundle) else {
                continue;
            };
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            if let Err(error) = inject(&api, name, &config).await {
                log.error(format!("putting the CA into {kind} {name}"), error);
            }
        }
    }
}

async fn inject(api: &Api<DynamicObject>, name: &str, config: &Value) -> Result<(), Error> {
    api.patch(name, &PatchParams::apply(MANAGER), &Patch::Apply(config))
        .await?;
    Ok(())
}

/// The apply configuration that gives `object` (of `resource`; listed objects come
/// without their kind) the CA where it names a Service without one, or `None` when there
/// is nothing to do.
fn injection(resource: &ApiResource, object: &Value, ca_bundle: &str) -> Option<Value> {
    let lacks_ca = |client_config: &Value| {
        client_config["service"].is_object()
            && client_config["caBundle"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
    };
    let head = json!({"apiVersion": resource.api_version, "kind": resource.kind,
        "metadata": {"name": object["metadata"]["name"]}});
    if resource.kind == "APIService" {
        let spec = &object["spec"];
        if !lacks_ca(spec) || spec["insecureSkipTLSVerify"] == true {
            return None;
        }
        let mut config = head;
        config["spec"] = json!({"caBundle": ca_bundle});
        return Some(config);
    }
    // Webhooks are a list keyed by name: the configuration names only the ones it fills.
    let webhooks: Vec<Value> = object["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|webhook| lacks_ca(&webhook["clientConfig"]))
        .map(|webhook| json!({"name": webhook["name"], "clientConfig": {"caBundle": ca_bundle}}))
        .collect();
    if webhooks.is_empty() {
        return None;
    }
    let mut config = head;
    config["webhooks"] = json!(webhooks);
    Some(config)
}
