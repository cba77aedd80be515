//! The builtin `IAMPolicyGenerator`: a ServiceAccount bound to a cloud identity. Only GKE
//! workload identity exists in kustomize v5.5. kustomize fills a YAML text template with
//! the values as written, so a value YAML reads differently (`a: b`, `{x`) breaks the
//! document as it breaks kustomize's.

use serde_json::Value;

use super::{Generator, decode, text};
use crate::error::Error;
use crate::gojson::Mode;
use crate::gotypes::IAM_POLICY_GENERATOR_T;
use crate::loader::Loader;
use crate::resource::Resource;

/// A configured `IAMPolicyGenerator`.
#[derive(Debug, Clone)]
pub(crate) struct IamPolicyGenerator {
    /// `cloud`: `gke` is the only one.
    cloud: String,
    /// `kubernetesService.name` and `.namespace`: the ServiceAccount.
    name: String,
    namespace: String,
    /// `serviceAccount.name` and `.projectId`: the cloud identity.
    account: String,
    project: String,
}

impl IamPolicyGenerator {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "IAMPolicyGenerator";

    /// Reads a plugin config.
    pub(crate) fn read(cfg: &Value) -> Result<IamPolicyGenerator, Error> {
        let body = decode(cfg, &IAM_POLICY_GENERATOR_T, Mode::YamlUnmarshal)?;
        Ok(IamPolicyGenerator {
            cloud: text(&body, "/cloud"),
            name: text(&body, "/kubernetesService/name"),
            namespace: text(&body, "/kubernetesService/namespace"),
            account: text(&body, "/serviceAccount/name"),
            project: text(&body, "/serviceAccount/projectId"),
        })
    }
}

impl Generator for IamPolicyGenerator {
    fn generate(&self, _: &Loader) -> Result<Vec<Resource>, Error> {
        if self.cloud != "gke" {
            return Err(Error::new(format!(
                "cloud provider {} not supported yet",
                self.cloud
            )));
        }
        let IamPolicyGenerator {
            name,
            namespace,
            account,
            project,
            ..
        } = self;
        let mut text = format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    \
             iam.gke.io/gcp-service-account: {account}@{project}.iam.gserviceaccount.com\n  \
             name: {name}\n"
        );
        if !namespace.is_empty() {
            text.push_str(&format!("  namespace: {namespace}\n"));
        }
        let resources = crate::target::resources_from_text(&text)
            .map_err(|e| Error::new(format!("the generated ServiceAccount: {}", e.message())))?;
        if name.is_empty() {
            return Err(Error::new(
                "missing metadata.name in the generated ServiceAccount (kubernetesService.name)",
            ));
        }
        Ok(resources)
    }
}
