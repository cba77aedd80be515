//! Admission webhooks applied during a run gate the objects they intercept: such an object
//! is sent only once the webhook's service has ready endpoints, so that it is neither
//! refused (`failurePolicy: Fail`) nor let through unmutated (`Ignore`).
//!
//! Only a backend from a component the intercepted object's component needs is waited
//! for: that component is ready, so its endpoints are at most moments away. A backend
//! from the same component (applied after the objects in Helm's install order), from a
//! later or unrelated one, or from outside the bundle is not waited for: Flux does not
//! wait either, the API server applies the webhook's `failurePolicy`, and a refusal is
//! retried until the component's deadline like any webhook that is not ready.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::Value;
use tokio::time::Instant;

use super::cluster::{Cluster, ObjectRef, RequestError};
use super::component::Run;
use super::plan::Plan;
use super::progress::Progress;
use super::retry::{Backoff, Failure, Pause, retry};
use super::status;

/// One webhook of a configuration applied in this run.
#[derive(Debug, Clone)]
struct Webhook {
    configuration: String,
    rules: Vec<Value>,
    service: (String, String),
}

/// The webhooks applied so far in this run, and which component provides each Service.
#[derive(Debug)]
pub struct Gate {
    webhooks: Mutex<Vec<Webhook>>,
    /// The component whose objects include each Service (namespace, name).
    providers: BTreeMap<(String, String), String>,
    /// Every component each component needs, directly or not.
    before: BTreeMap<String, BTreeSet<String>>,
}

impl Gate {
    /// A gate for `plan`'s components.
    pub fn new(plan: &Plan) -> Self {
        let mut providers = BTreeMap::new();
        for component in &plan.components {
            for object in component.kept().filter(|o| o.target.kind == "Service") {
                let service = (object.target.namespace.clone(), object.target.name.clone());
                providers.insert(service, component.id.clone());
            }
        }
        let needs: BTreeMap<&str, &[String]> = plan
            .components
            .iter()
            .map(|c| (c.id.as_str(), c.needs.as_slice()))
            .collect();
        let before = plan
            .components
            .iter()
            .map(|c| {
                let mut all = BTreeSet::new();
                let mut next: Vec<&String> = c.needs.iter().collect();
                while let Some(id) = next.pop() {
                    if all.insert(id.clone()) {
                        next.extend(needs.get(id.as_str()).copied().unwrap_or_default());
                    }
                }
                (c.id.clone(), all)
            })
            .collect();
        Self {
            webhooks: Mutex::default(),
            providers,
            before,
        }
    }

    /// Whether the Service `service` comes with a component `component` needs.
    fn comes_first(&self, service: &(String, String), component: &str) -> bool {
        self.providers.get(service).is_some_and(|provider| {
            self.before
                .get(component)
                .is_some_and(|before| before.contains(provider))
        })
    }

    /// Records a webhook configuration that was just applied.
    pub fn register(&self, target: &ObjectRef, configuration: &Value) {
        let Ok(mut webhooks) = self.webhooks.lock() else {
            return;
        };
        for hook in configuration["webhooks"].as_array().into_iter().flatten() {
            let service = &hook["clientConfig"]["service"];
            if let (Some(namespace), Some(name)) =
                (service["namespace"].as_str(), service["name"].as_str())
            {
                webhooks.push(Webhook {
                    configuration: target.to_string(),
                    rules: hook["rules"].as_array().cloned().unwrap_or_default(),
                    service: (namespace.to_string(), name.to_string()),
                });
            }
        }
    }

    /// Waits until every registered webhook that intercepts creating `target` (whose
    /// REST resource is `plural`, in `component`) and whose backend comes first has a
    /// ready endpoint.
    pub async fn admit(
        &self,
        run: &Run,
        component: &str,
        target: &ObjectRef,
        plural: &str,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<(), Failure> {
        let (cluster, stop) = (&run.cluster, &run.stop);
        let relevant: Vec<Webhook> = match self.webhooks.lock() {
            Ok(webhooks) => webhooks
                .iter()
                .filter(|w| w.rules.iter().any(|r| intercepts(r, target, plural)))
                .filter(|w| self.comes_first(&w.service, component))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        for webhook in relevant {
            let (namespace, name) = &webhook.service;
            let mut backoff = Backoff::polling();
            let mut checks = 0;
            while !retry(deadline, stop, || {
                service_has_endpoints(cluster, namespace, name)
            })
            .await?
            {
                if checks == 0 {
                    progress.waiting(&format!(
                        "holding {target} until webhook service {namespace}/{name} of {} has ready endpoints",
                        webhook.configuration
                    ));
                }
                checks += 1;
                backoff.pause(deadline, stop).await.map_err(|p| match p {
                    Pause::Deadline => Failure::Deadline {
                        last: Some(RequestError::Transient(format!(
                            "webhook service {namespace}/{name} of {} has no ready endpoints",
                            webhook.configuration
                        ))),
                        attempts: checks,
                    },
                    Pause::Stopped => Failure::Stopped,
                })?;
            }
        }
        Ok(())
    }
}

/// Whether a Service has a ready endpoint in its EndpointSlices.
async fn service_has_endpoints(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<bool, RequestError> {
    let slices = cluster
        .list(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            namespace,
            &format!("kubernetes.io/service-name={name}"),
        )
        .await?;
    Ok(status::has_ready_endpoint(&slices))
}

/// Whether a webhook rule matches creating or updating `target`.
fn intercepts(rule: &Value, target: &ObjectRef, plural: &str) -> bool {
    let listed = |field: &str, value: &str| {
        rule[field]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i == "*" || i == value))
    };
    let version = target
        .api_version
        .rsplit_once('/')
        .map_or(target.api_version.as_str(), |(_, v)| v);
    let operation = rule["operations"].as_array().is_some_and(|ops| {
        ops.iter()
            .any(|op| op == "*" || op == "CREATE" || op == "UPDATE")
    });
    let scope = match rule["scope"].as_str().unwrap_or("*") {
        "Namespaced" => !target.namespace.is_empty(),
        "Cluster" => target.namespace.is_empty(),
        _ => true,
    };
    operation
        && scope
        && listed("apiGroups", target.group())
        && listed("apiVersions", version)
        && listed("resources", plural)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_match_group_version_resource_and_operation() {
        let target = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "x".into(),
            name: "d".into(),
        };
        let rule = json!({"apiGroups": ["apps"], "apiVersions": ["*"],
            "operations": ["CREATE"], "resources": ["deployments"]});
        assert!(intercepts(&rule, &target, "deployments"));
        assert!(!intercepts(&rule, &target, "statefulsets"));
        let delete_only = json!({"apiGroups": ["*"], "apiVersions": ["*"],
            "operations": ["DELETE"], "resources": ["*"]});
        assert!(!intercepts(&delete_only, &target, "deployments"));
        let cluster_only = json!({"apiGroups": ["*"], "apiVersions": ["*"],
            "operations": ["*"], "resources": ["*"], "scope": "Cluster"});
        assert!(!intercepts(&cluster_only, &target, "deployments"));
    }
}
