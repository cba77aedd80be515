//! What each component applied, recorded in the cluster so that the next apply knows what
//! to prune: one ConfigMap per component in the `crunch-system` namespace.
//!
//! Records belong to the cluster, not to an environment: a cluster runs one deployment,
//! and applying another environment's bundle (prod after dev, a new release after the
//! last) must prune what the earlier bundle had and the new one lacks.
//!
//! A record is written *before* a component's objects are sent, listing everything it
//! held before plus everything it is about to create (state `applying`), and narrowed to
//! what the bundle holds only after pruning. An interrupted run therefore never loses
//! track of an object it may have created.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::cluster::{Cluster, ObjectRef, RequestError};
use crate::bundle::ApplyPolicy;

/// The namespace holding inventories.
pub const NAMESPACE: &str = "crunch-system";

/// The label every inventory ConfigMap carries.
const LABEL: &str = "crunch.dev/inventory";

/// Whether the component's last apply finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Objects were (perhaps partly) sent; the run did not finish.
    Applying,
    /// Every object was applied and ready.
    Applied,
}

/// One component's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The environment of the bundle that wrote the record.
    pub environment: String,
    /// The component id.
    pub component: String,
    /// The bundle the record was written for.
    pub bundle: String,
    /// The component's content digest in that bundle.
    pub content: String,
    /// Whether that apply finished.
    pub state: State,
    /// Objects crunch applied for the component and may prune.
    pub objects: BTreeSet<ObjectRef>,
    /// Objects that existed before crunch first applied them: never pruned.
    pub adopted: BTreeSet<ObjectRef>,
    /// How a Kustomization component applied them, for pruning once it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ApplyPolicy>,
}

impl Inventory {
    /// The ConfigMap name: readable where possible, always a valid, unique name.
    fn name(&self) -> String {
        let digest = crate::gostd::sha256::hex(&self.component);
        let suffix = &digest[..10];
        let readable: String = self
            .component
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        let readable = readable.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let readable: String = readable.chars().take(200).collect();
        format!("{readable}-{suffix}")
    }

    fn to_config_map(&self) -> Result<Value, RequestError> {
        let record = serde_json::to_string(self)
            .map_err(|e| RequestError::Rejected(format!("cannot encode the inventory: {e}")))?;
        Ok(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name(),
                "namespace": NAMESPACE,
                "labels": {LABEL: "true", "app.kubernetes.io/managed-by": "crunch"},
            },
            "data": {"inventory": record},
        }))
    }
}

fn config_map_ref(name: String) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: NAMESPACE.into(),
        name,
    }
}

/// Every inventory in the cluster.
pub async fn load(cluster: &Cluster) -> Result<Vec<Inventory>, RequestError> {
    let maps = cluster
        .list("v1", "ConfigMap", NAMESPACE, &format!("{LABEL}=true"))
        .await?;
    let mut found = Vec::new();
    for map in maps {
        let name = map["metadata"]["name"].as_str().unwrap_or_default();
        let record = map["data"]["inventory"].as_str().ok_or_else(|| {
            RequestError::Rejected(format!(
                "inventory ConfigMap {NAMESPACE}/{name} has no inventory key"
            ))
        })?;
        let inventory: Inventory = serde_json::from_str(record).map_err(|e| {
            RequestError::Rejected(format!("inventory ConfigMap {NAMESPACE}/{name}: {e}"))
        })?;
        found.push(inventory);
    }
    Ok(found)
}

/// Creates the inventory namespace if needed.
pub async fn prepare(cluster: &Cluster) -> Result<(), RequestError> {
    let namespace = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "crunch"}},
    });
    let target = ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: String::new(),
        name: NAMESPACE.into(),
    };
    cluster
        .apply(&target, &namespace, true, false)
        .await
        .map(drop)
}

/// Writes (creates or replaces) a record.
pub async fn save(cluster: &Cluster, inventory: &Inventory) -> Result<(), RequestError> {
    let map = inventory.to_config_map()?;
    let target = config_map_ref(inventory.name());
    cluster.apply(&target, &map, true, false).await.map(drop)
}

/// Deletes a record whose component is gone and whose objects are all pruned.
pub async fn remove(cluster: &Cluster, inventory: &Inventory) -> Result<(), RequestError> {
    cluster
        .delete(&config_map_ref(inventory.name()))
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        let record = |component: &str| Inventory {
            environment: "dev".into(),
            component: component.into(),
            bundle: String::new(),
            content: String::new(),
            state: State::Applying,
            objects: BTreeSet::new(),
            adopted: BTreeSet::new(),
            policy: None,
        };
        let a = record("HelmRelease/bigbang/logging").name();
        let b = record("HelmRelease/bigbang.logging").name();
        assert!(a.starts_with("helmrelease.bigbang.logging-"), "{a}");
        assert_ne!(a, b);
        let long = record(&"x".repeat(400)).name();
        assert!(long.len() <= 253);
    }
}
