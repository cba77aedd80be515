//! The storage provisioner: the default StorageClass `crunch-stand-in`, hostPath
//! PersistentVolumes for the claims of any class it provisions, each on the node the
//! scheduler chose for the claim's first consumer or, for a class that binds at once, the
//! first node (the controller-manager's PV controller then binds them), and the volumes'
//! deletion once their claims are gone.

use std::collections::HashSet;
use std::path::Path;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Error, Log, Node, PROVISIONER, STORAGE_CLASS};

/// Where the volumes' directories are.
const ROOT: &str = "/tmp/crunch-stand-in";
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The scheduler's choice of node for a claim that waits for its first consumer.
const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

#[derive(Default)]
pub struct Volumes {
    class_exists: bool,
}

impl Volumes {
    /// Whether the StorageClass `crunch-stand-in` exists.
    pub fn class_exists(&self) -> bool {
        self.class_exists
    }

    /// Creates the StorageClass if it is missing, provisions pending claims and deletes
    /// released volumes.
    pub async fn sync(&mut self, client: &kube::Client, log: &mut Log) {
        let classes = match list::<StorageClass>(client).await {
            Ok(classes) => classes,
            Err(error) => return log.error("listing StorageClasses", error),
        };
        self.class_exists = classes.iter().any(|c| name(c) == STORAGE_CLASS);
        if !self.class_exists {
            match create_class(client).await {
                Ok(()) => self.class_exists = true,
                Err(error) => log.error(format!("creating StorageClass {STORAGE_CLASS}"), error),
            }
        }
        let (volumes, claims) = match (
            list::<PersistentVolume>(client).await,
            list::<PersistentVolumeClaim>(client).await,
        ) {
            (Ok(volumes), Ok(claims)) => (volumes, claims),
            (Err(error), _) | (_, Err(error)) => {
                return log.error("listing PersistentVolumes and claims", error);
            }
        };
        let provisioned: HashSet<&str> = volumes
            .iter()
            .filter_map(|v| v["spec"]["claimRef"]["uid"].as_str())
            .collect();
        for claim in &claims {
            if provisioned.contains(text(claim, "/metadata/uid")) {
                continue;
            }
            let Some((class, node)) = class_to_provision(claim, &classes) else {
                continue;
            };
            if let Err(error) = provision(client, claim, class, node).await {
                let (namespace, claim) = (text(claim, "/metadata/namespace"), name(claim));
                log.error(format!("provisioning claim {namespace}/{claim}"), error);
            }
        }
        for volume in &volumes {
            if let Err(error) = delete_if_released(client, volume).await {
                log.error(format!("deleting PersistentVolume {}", name(volume)), error);
            }
        }
    }
}

async fn list<K>(client: &kube::Client) -> Result<Vec<Value>, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let items = Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    Ok(items
        .iter()
        .filter_map(|item| serde_json::to_value(item).ok())
        .collect())
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn name(object: &Value) -> &str {
    text(object, "/metadata/name")
}

async fn create_class(client: &kube::Client) -> Result<(), Error> {
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer"});
    let created = Api::<StorageClass>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(class)?)
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The class to provision `claim` of and the node of its volume, when the class is this
/// provisioner's and the claim is due: pending, unbound, without a selector (those are for
/// existing volumes), and, when the class waits for the first consumer, placed on one of
/// the data plane's nodes by the scheduler (the node); otherwise the first node.
fn class_to_provision<'a>(claim: &Value, classes: &'a [Value]) -> Option<(&'a Value, Node)> {
    let pending = matches!(text(claim, "/status/phase"), "" | "Pending");
    if !pending
        || !claim["metadata"]["deletionTimestamp"].is_null()
        || !text(claim, "/spec/volumeName").is_empty()
        || !claim["spec"]["selector"].is_null()
    {
        return None;
    }
    let class = match claim["spec"]["storageClassName"].as_str() {
        // "" asks for no class at all.
        Some("") => return None,
        Some(wanted) => classes.iter().find(|c| name(c) == wanted)?,
        // The default class, once there is one, as the PV controller assigns it.
        None => classes
            .iter()
            .find(|c| c["metadata"]["annotations"][DEFAULT_CLASS] == "true")?,
    };
    if text(class, "/provisioner") != PROVISIONER {
        return None;
    }
    let node = if text(class, "/volumeBindingMode") == "WaitForFirstConsumer" {
        let selected = &claim["metadata"]["annotations"][SELECTED_NODE];
        Node::named(selected.as_str()?)?
    } else {
        Node::FIRST
    };
    Some((class, node))
}

/// Creates a hostPath volume on `node` for `claim`, bound to it by `claimRef`.
async fn provision(
    client: &kube::Client,
    claim: &Value,
    class: &Value,
    node: Node,
) -> Result<(), Error> {
    let uid = text(claim, "/metadata/uid");
    let size = &claim["spec"]["resources"]["requests"]["storage"];
    if size.is_null() {
        return Err("it requests no storage".into());
    }
    let access_modes = match &claim["spec"]["accessModes"] {
        Value::Null => json!(["ReadWriteOnce"]),
        modes => modes.clone(),
    };
    let path = Path::new(ROOT).join(uid);
    std::fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut spec = json!({
        "capacity": {"storage": size},
        "accessModes": access_modes,
        "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"),
        "storageClassName": name(class),
        "volumeMode": claim["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "namespace": text(claim, "/metadata/namespace"), "name": name(claim), "uid": uid},
        "hostPath": {"path": path.to_string_lossy(), "type": "DirectoryOrCreate"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node.name()]}]}]}},
    });
    if !class["mountOptions"].is_null() {
        spec["mountOptions"] = class["mountOptions"].clone();
    }
    let volume = json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": format!("pvc-{uid}"), "annotations": {PROVISIONED_BY: PROVISIONER}},
        "spec": spec});
    let created = Api::<PersistentVolume>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(volume)?)
        .await;
    match created {
        Ok(_) => Ok(()),
        // Created on an earlier pass that did not see it listed yet.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a volume this provisioner created once its claim is gone (phase `Released`)
/// and its class says `Delete`, with its directory.
async fn delete_if_released(client: &kube::Client, volume: &Value) -> Result<(), Error> {
    if volume["metadata"]["annotations"][PROVISIONED_BY] != PROVISIONER
        || text(volume, "/status/phase") != "Released"
        || text(volume, "/spec/persistentVolumeReclaimPolicy") != "Delete"
        || !volume["metadata"]["deletionTimestamp"].is_null()
    {
        return Ok(());
    }
    let path = Path::new(text(volume, "/spec/hostPath/path"));
    if path.starts_with(ROOT) && path.exists() {
        std::fs::remove_dir_all(path).map_err(|e| format!("removing {}: {e}", path.display()))?;
    }
    let deleted = Api::<PersistentVolume>::all(client.clone())
        .delete(name(volume), &DeleteParams::default())
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}
