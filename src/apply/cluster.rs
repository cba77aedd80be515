//! The only code in crunch that talks to a Kubernetes API server: dynamic objects through
//! kube-rs, kinds resolved through discovery, server-side apply with crunch's field
//! manager, and every failure sorted into what retrying can fix and what it cannot.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{self, ApiResource, Scope};
use kube::{Client, Config};
use serde::Serialize;
use serde_json::Value;

pub use crate::object::ObjectRef;
use crate::object::api_group;

/// The field manager of every crunch write.
pub const FIELD_MANAGER: &str = "crunch";

/// A request that takes longer than this by default is abandoned and retried (a hung API
/// server must not hang the applier).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A field another manager owns that crunch's apply would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldConflict {
    /// The field path as the API server names it (`.spec.replicas`).
    pub field: String,
    /// The server's words (`conflict with "kubectl" using apps/v1`).
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Server-side apply conflicts with fields other managers own; `--force-conflicts`
    /// takes them over. Retrying does not help.
    Conflict {
        /// The server's summary.
        message: String,
        /// One entry per conflicting field.
        fields: Vec<FieldConflict>,
    },
    /// Discovery does not know the kind (yet: its CRD may still be on its way).
    NoKind {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The kind asked for.
        kind: String,
    },
    /// An admission webhook could not be called (its service is not ready yet).
    Webhook(String),
    /// A failure that may pass: connection trouble, timeouts, throttling, 5xx,
    /// optimistic-concurrency conflicts.
    Transient(String),
    /// The object or its namespace does not exist.
    NotFound(String),
    /// The server refused the request for good (invalid, forbidden, …).
    Rejected(String),
}

impl RequestError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::NoKind { .. } | Self::Webhook(_) | Self::Transient(_)
        )
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict { message, .. } => {
                write!(
                    f,
                    "{message} (crunch applies with field manager {FIELD_MANAGER:?}; --force-conflicts takes the fields over)"
                )
            }
            Self::NoKind { api_version, kind } => write!(
                f,
                "no matches for kind {kind:?} in version {api_version:?}: the API server does not serve it (is its CustomResourceDefinition installed?)"
            ),
            Self::Webhook(m) | Self::Transient(m) | Self::NotFound(m) | Self::Rejected(m) => {
                f.write_str(m)
            }
        }
    }
}

impl RequestError {
    /// Whether recreating the object may get it applied, as fluxcd/pkg/ssa's
    /// `IsImmutableError` judges: a conflict, an invalid object, or a webhook's or CEL
    /// rule's complaint about an immutable field.
    pub fn is_immutable_change(&self) -> bool {
        match self {
            Self::Conflict { .. } => true,
            Self::Rejected(message) => {
                message.contains(" is invalid")
                    || message.contains(" is immutable")
                    || message.contains("immutable field")
            }
            _ => false,
        }
    }
}

impl From<kube::Error> for RequestError {
    fn from(error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) => from_status(*status),
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                Self::Transient(error.to_string())
            }
            other => Self::Rejected(other.to_string()),
        }
    }
}

fn from_status(status: kube::core::Status) -> RequestError {
    let message = status.message.clone();
    let conflicts: Vec<FieldConflict> = status
        .details
        .iter()
        .flat_map(|d| &d.causes)
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| FieldConflict {
            field: c.field.clone(),
            message: c.message.clone(),
        })
        .collect();
    match status.code {
        409 if !conflicts.is_empty() => RequestError::Conflict {
            message,
            fields: conflicts,
        },
        409 | 429 | 502 | 503 | 504 => RequestError::Transient(message),
        // A namespace an earlier prune deletes: gone (and created anew) soon.
        403 if message.contains("because it is being terminated") => {
            RequestError::Transient(message)
        }
        500 if message.contains("failed calling webhook") => RequestError::Webhook(message),
        // The server could not type the object against its schema (a field this API
        // version does not have): the object is wrong for this cluster, not the moment.
        500 if message.contains("failed to create typed patch object") => {
            RequestError::Rejected(message)
        }
        500 => RequestError::Transient(message),
        404 => RequestError::NotFound(message),
        _ => RequestError::Rejected(message),
    }
}

/// A resolved kind: its REST resource and scope.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The resource as kube-rs addresses it.
    pub resource: ApiResource,
    /// Whether objects of the kind live in namespaces.
    pub namespaced: bool,
}

/// A connection to one cluster.
pub struct Cluster {
    client: Client,
    /// How the client was made, for clients that impersonate.
    config: Config,
    /// Kinds resolved so far; misses are not cached, because CRDs arrive while we work.
    /// Shared with the impersonating clients made from this one.
    kinds: Arc<Mutex<HashMap<(String, String), Resolved>>>,
    /// Where the kubeconfig pointed, for messages.
    pub server: String,
    /// How long one request may take.
    request_timeout: Duration,
    /// Requests sent so far (discovery included), by this client and those made from it.
    requests: Arc<AtomicU64>,
}

impl Cluster {
    /// Connects as kubectl would: `kubeconfig` if given, else `KUBECONFIG`, the default
    /// file or the in-cluster service account; `context` picks a kubeconfig context.
    /// A request taking longer than `request_timeout` is abandoned.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        request_timeout: Duration,
    ) -> Result<Self, String> {
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..KubeConfigOptions::default()
        };
        let mut config = match kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
                Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
            }
            None if context.is_some() => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| format!("kubeconfig: {e}"))?,
            None => Config::infer()
                .await
                .map_err(|e| format!("no cluster configuration: {e}"))?,
        };
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(request_timeout);
        config.write_timeout = Some(request_timeout);
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config.clone()).map_err(|e| format!("kube client: {e}"))?;
        Ok(Self {
            client,
            config,
            kinds: Arc::default(),
            server,
            request_timeout,
            requests: Arc::default(),
        })
    }

    /// The same cluster, every request made as `user` (`Impersonate-User`), as Flux's
    /// controllers act for a `serviceAccountName`: what that user may not do fails.
    pub fn impersonating(&self, user: &str) -> Result<Self, String> {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        let client = Client::try_from(config.clone()).map_err(|e| format!("kube client: {e}"))?;
        Ok(Self {
            client,
            config,
            kinds: self.kinds.clone(),
            server: self.server.clone(),
            request_timeout: self.request_timeout,
            requests: self.requests.clone(),
        })
    }

    /// How many requests were sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Resolves `kind` in `api_version` through discovery.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, RequestError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().ok().and_then(|k| k.get(&key).cloned()) {
            return Ok(found);
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let no_kind = || RequestError::NoKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        };
        let (resource, capabilities) = match self
            .bounded(discovery::pinned_kind(&self.client, &gvk))
            .await
        {
            Ok(found) => found,
            Err(RequestError::NotFound(_)) => return Err(no_kind()),
            Err(RequestError::Rejected(m)) if m.contains("Missing") => return Err(no_kind()),
            Err(e) => return Err(e),
        };
        let resolved = Resolved {
            resource,
            namespaced: capabilities.scope == Scope::Namespaced,
        };
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.insert(key, resolved.clone());
        }
        Ok(resolved)
    }

    async fn api(&self, target: &ObjectRef) -> Result<Api<DynamicObject>, RequestError> {
        let resolved = self.resolve(&target.api_version, &target.kind).await?;
        Ok(self.api_in(&resolved, &target.namespace))
    }

    fn api_in(&self, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
        if resolved.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        }
    }

    /// Runs one request with crunch's own deadline on top of the client's.
    async fn bounded<T>(
        &self,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, RequestError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(result) => result.map_err(RequestError::from),
            Err(_) => Err(RequestError::Transient(format!(
                "the API server did not answer within {:.1}s",
                self.request_timeout.as_secs_f64()
            ))),
        }
    }

    /// The `gitVersion` the cluster reports at `/version` (`v1.28.15`).
    pub async fn version(&self) -> Result<String, RequestError> {
        let info = self.bounded(self.client.apiserver_version()).await?;
        Ok(info.git_version)
    }

    /// Every apiVersion the cluster serves (`v1`, `apps/v1`, …), from discovery.
    pub async fn served_api_versions(&self) -> Result<BTreeSet<String>, RequestError> {
        let core = self.bounded(self.client.list_core_api_versions()).await?;
        let groups = self.bounded(self.client.list_api_groups()).await?;
        let grouped = (groups.groups.into_iter())
            .flat_map(|g| g.versions)
            .map(|v| v.group_version);
        Ok(core.versions.into_iter().chain(grouped).collect())
    }

    /// The live object, or `None` if there is none.
    pub async fn get(&self, target: &ObjectRef) -> Result<Option<Value>, RequestError> {
        let api = self.api(target).await?;
        let found = self.bounded(api.get_opt(&target.name)).await?;
        found.map(to_value).transpose()
    }

    /// As [`Self::get`], with an object whose kind the server does not serve (yet: its CRD
    /// may come with the same bundle) or whose namespace is missing counted as absent.
    pub async fn get_if_served(&self, target: &ObjectRef) -> Result<Option<Value>, RequestError> {
        match self.get(target).await {
            Err(RequestError::NoKind { .. } | RequestError::NotFound(_)) => Ok(None),
            other => other,
        }
    }

    /// The CustomResourceDefinition behind a kind the cluster serves, if it has one
    /// (aggregated APIs have none; a failed lookup counts as none).
    pub async fn definition(&self, api_version: &str, kind: &str) -> Option<Value> {
        let group = api_group(api_version);
        if group.is_empty() {
            return None;
        }
        let resolved = self.resolve(api_version, kind).await.ok()?;
        let target = ObjectRef {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: String::new(),
            name: format!("{}.{group}", resolved.resource.plural),
        };
        self.get(&target).await.ok().flatten()
    }

    /// Server-side applies `object` as crunch (`force` takes conflicting fields over;
    /// `dry_run` asks the server to compute the result without storing it).
    pub async fn apply(
        &self,
        target: &ObjectRef,
        object: &Value,
        force: bool,
        dry_run: bool,
    ) -> Result<Value, RequestError> {
        let api = self.api(target).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        if dry_run {
            params = params.dry_run();
        }
        let applied = self
            .bounded(api.patch(&target.name, &params, &Patch::Apply(object)))
            .await?;
        to_value(applied)
    }

    /// Deletes an object (its dependents in the background, as kubectl does); `false` if
    /// it was already gone.
    pub async fn delete(&self, target: &ObjectRef) -> Result<bool, RequestError> {
        let api = self.api(target).await?;
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match self.bounded(api.delete(&target.name, &params)).await {
            Ok(_) => Ok(true),
            Err(RequestError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists objects of a kind in a namespace (all namespaces when empty) matching a
    /// label selector.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Value>, RequestError> {
        let resolved = self.resolve(api_version, kind).await?;
        let api = self.api_in(&resolved, namespace);
        let list = self
            .bounded(api.list(&ListParams::default().labels(selector)))
            .await?;
        list.items.into_iter().map(to_value).collect()
    }
}

fn to_value(object: DynamicObject) -> Result<Value, RequestError> {
    serde_json::to_value(object)
        .map_err(|e| RequestError::Rejected(format!("cannot read the server's answer: {e}")))
}
