//! The builtin `IAMPolicyGenerator`: a ServiceAccount bound to a cloud identity. Only GKE
//! workload identity exists in kustomize v5.5. kustomize fills a YAML text template with
//! the values as written, so a value YAML reads differently (`a: b`, `{x`) breaks the
//! document as it breaks kustomize's.

use serde_json::{Map, Value};

use super::error::Error;
use super::resource::Resource;

/// The plugin's `kind`.
pub(crate) const KIND: &str = "IAMPolicyGenerator";

/// The objects one decoded `IAMPolicyGenerator` config generates.
pub(crate) fn generate(body: &Map<String, Value>) -> Result<Vec<Resource>, Error> {
    let text = |path: &str| {
        Value::Object(body.clone())
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let cloud = text("/cloud");
    if cloud != "gke" {
        return Err(Error::new(format!(
            "cloud provider {cloud} not supported yet"
        )));
    }
    let name = text("/kubernetesService/name");
    let namespace = text("/kubernetesService/namespace");
    let account = text("/serviceAccount/name");
    let project = text("/serviceAccount/projectId");
    let mut text = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    \
         iam.gke.io/gcp-service-account: {account}@{project}.iam.gserviceaccount.com\n  \
         name: {name}\n"
    );
    if !namespace.is_empty() {
        text.push_str(&format!("  namespace: {namespace}\n"));
    }
    let resources = super::target::resources_from_text(&text)
        .map_err(|e| Error::new(format!("the generated ServiceAccount: {}", e.message())))?;
    if name.is_empty() {
        return Err(Error::new(
            "missing metadata.name in the generated ServiceAccount (kubernetesService.name)",
        ));
    }
    Ok(resources)
}
