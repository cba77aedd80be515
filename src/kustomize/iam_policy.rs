//! The builtin `IAMPolicyGenerator`: a ServiceAccount bound to a cloud identity. Only GKE
//! workload identity exists in kustomize v5.5. kustomize fills a YAML text template with
//! the values as written, so a value YAML reads differently (`a: b`, `{x`) breaks the
//! document as it breaks kustomize's.

use serde_json::{Map, Value};

use super::error::Error;
use super::resource::Resource;

/// The plugin's `kind`.
pub(crate) const KIND: &str = "IAMPolicyGenerator";

/// The objects one `IAMPolicyGenerator` config generates.
pub(crate) fn generate(body: &Map<String, Value>) -> Result<Vec<Resource>, Error> {
    let cloud = string(body, &["cloud"])?;
    if cloud != "gke" {
        return Err(Error::new(format!(
            "cloud provider {cloud} not supported yet"
        )));
    }
    let name = string(body, &["kubernetesService", "name"])?;
    let namespace = string(body, &["kubernetesService", "namespace"])?;
    let account = string(body, &["serviceAccount", "name"])?;
    let project = string(body, &["serviceAccount", "projectId"])?;
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

/// A string field of the config (empty when absent); other types are refused as Go's
/// JSON decoding refuses them.
fn string(body: &Map<String, Value>, path: &[&str]) -> Result<String, Error> {
    let mut at = Some(body);
    let mut value = None;
    for (i, key) in path.iter().enumerate() {
        value = at.and_then(|m| m.get(*key));
        if i + 1 < path.len() {
            at = match value {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) => Some(m),
                Some(other) => return Err(mistyped(&path[..=i], other, "struct")),
            };
        }
    }
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(mistyped(path, other, "string")),
    }
}

fn mistyped(path: &[&str], found: &Value, want: &str) -> Error {
    Error::new(format!(
        "json: cannot unmarshal {} into Go struct field {} of type {want}",
        crate::yaml::json_kind(found),
        path.join(".")
    ))
}
