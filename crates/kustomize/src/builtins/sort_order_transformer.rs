//! The builtin `SortOrderTransformer`: the output order, kustomize's `legacy` order (the
//! default) or `fifo`. Only the top kustomization's `sortOptions` configures it; it runs
//! once the build is done, and no plugin config can name it.

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::Error;
use crate::resid::{Gvk, ResId};
use crate::resource::Resource;

/// Kinds placed first by the legacy order, in this order.
const DEFAULT_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds placed last by the legacy order, in this order.
const DEFAULT_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// A kustomization's `sortOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SortOrder {
    /// Keep the order resources were accumulated in.
    Fifo,
    /// Sort by kind rank (the two lists), then gvk, namespace and name.
    Legacy {
        first: Vec<String>,
        last: Vec<String>,
    },
}

impl Default for SortOrder {
    fn default() -> Self {
        SortOrder::Legacy {
            first: DEFAULT_FIRST.iter().map(|s| s.to_string()).collect(),
            last: DEFAULT_LAST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl SortOrder {
    /// Reads `sortOptions` (`order: legacy|fifo`, `legacySortOptions: {orderFirst, orderLast}`).
    pub(crate) fn parse(v: &Value) -> Result<SortOrder, Error> {
        let order = v.get("order").and_then(Value::as_str).unwrap_or("");
        let legacy = v.get("legacySortOptions");
        match order {
            "fifo" if legacy.is_some() => Err(Error::new(
                "sortOptions: legacySortOptions must not be set when order is fifo",
            )),
            "fifo" => Ok(SortOrder::Fifo),
            "legacy" => {
                let list = |key: &str, default: &[&str]| -> Vec<String> {
                    match legacy.and_then(|l| l.get(key)).and_then(Value::as_array) {
                        Some(items) => items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        None => default.iter().map(|s| s.to_string()).collect(),
                    }
                };
                Ok(SortOrder::Legacy {
                    first: list("orderFirst", &DEFAULT_FIRST),
                    last: list("orderLast", &DEFAULT_LAST),
                })
            }
            other => Err(Error::new(format!(
                "sortOptions: the field order must be one of [legacy, fifo], got {other:?}"
            ))),
        }
    }

    /// Orders `resources` in place.
    pub(crate) fn apply(&self, resources: &mut [Resource]) {
        let SortOrder::Legacy { first, last } = self else {
            return;
        };
        let rank = |kind: &str| -> i64 {
            if let Some(i) = first.iter().position(|k| k == kind) {
                return i as i64 - first.len() as i64;
            }
            if let Some(i) = last.iter().position(|k| k == kind) {
                return i as i64 + 1;
            }
            0
        };
        resources.sort_by(|a, b| {
            let (a, b) = (a.cur_id(), b.cur_id());
            if a.gvk != b.gvk {
                return gvk_cmp(&a.gvk, &b.gvk, &rank);
            }
            id_sort_string(&a).cmp(&id_sort_string(&b))
        });
    }
}

fn gvk_cmp(a: &Gvk, b: &Gvk, rank: &dyn Fn(&str) -> i64) -> Ordering {
    let (ra, rb) = (rank(&a.kind), rank(&b.kind));
    if ra != rb {
        return ra.cmp(&rb);
    }
    // kustomize puts a core Namespace after same-ranked grouped ones: it compares reversed.
    if a.kind == "Namespace" && b.kind == "Namespace" && (a.group.is_empty() || b.group.is_empty())
    {
        return gvk_sort_string(b).cmp(&gvk_sort_string(a));
    }
    gvk_sort_string(a).cmp(&gvk_sort_string(b))
}

fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{}|{}", id.gvk, ns, name)
}
