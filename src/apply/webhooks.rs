//! Admission webhooks applied during a run gate the objects they intercept: such an object
//! is sent only once the webhook's service has ready endpoints, so that it is neither
//! refused (`failurePolicy: Fail`) nor let through unmutated (`Ignore`).

use std::sync::Mutex;

use serde_json::Value;
use tokio::time::Instant;

use super::cluster::{Cluster, ObjectRef};
use super::progress::Progress;
use super::retry::{Backoff, Failure, Pause, Stop, retry};
use super::wait::{service_has_endpoints, webhook_services};

/// One webhook of a configuration applied in this run.
#[derive(Debug, Clone)]
struct Webhook {
    configuration: String,
    rules: Vec<Value>,
    service: (String, String),
}

/// The webhooks applied so far in this run.
#[derive(Debug, Default)]
pub struct Gate {
    webhooks: Mutex<Vec<Webhook>>,
}

impl Gate {
    /// Records a webhook configuration that was just applied.
    pub fn register(&self, target: &ObjectRef, configuration: &Value) {
        let Ok(mut webhooks) = self.webhooks.lock() else {
            return;
        };
        for hook in configuration["webhooks"].as_array().into_iter().flatten() {
            let wrapped = serde_json::json!({"webhooks": [hook]});
            for service in webhook_services(&wrapped) {
                webhooks.push(Webhook {
                    configuration: target.to_string(),
                    rules: hook["rules"].as_array().cloned().unwrap_or_default(),
                    service,
                });
            }
        }
    }

    /// Waits until every registered webhook that intercepts creating `target` (whose
    /// REST resource is `plural`) has a ready endpoint.
    pub async fn admit(
        &self,
        cluster: &Cluster,
        target: &ObjectRef,
        plural: &str,
        deadline: Instant,
        stop: &Stop,
        progress: &Progress,
    ) -> Result<(), Failure> {
        let relevant: Vec<Webhook> = match self.webhooks.lock() {
            Ok(webhooks) => webhooks
                .iter()
                .filter(|w| w.rules.iter().any(|r| intercepts(r, target, plural)))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        for webhook in relevant {
            let (namespace, name) = &webhook.service;
            let mut backoff = Backoff::polling();
            let mut told = false;
            while !retry(deadline, stop, || {
                service_has_endpoints(cluster, namespace, name)
            })
            .await?
            {
                if !told {
                    progress.waiting(&format!(
                        "holding {target} until webhook service {namespace}/{name} of {} has ready endpoints",
                        webhook.configuration
                    ));
                    told = true;
                }
                backoff.pause(deadline, stop).await.map_err(|p| match p {
                    Pause::Deadline => Failure::Deadline {
                        last: None,
                        attempts: 0,
                    },
                    Pause::Stopped => Failure::Stopped,
                })?;
            }
        }
        Ok(())
    }
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
