//! The check before the first write: would this cluster accept the bundle? A bundle built
//! for one Kubernetes version may reach an older control plane, which refuses fields it
//! does not know and apiVersions it does not serve, and a refusal half-way leaves every
//! dependent component skipped. So the cluster's `/version` and served API groups are read
//! first, and the bundle refused when (a) the cluster runs another version than the
//! bundle's profile and that version would refuse some of its objects, or (b) an object's
//! apiVersion is served neither by the cluster nor by a CustomResourceDefinition or
//! APIService of the bundle. `--force` turns both into warnings.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::bundle::VerifiedBundle;
use crate::validate;

use super::StartError;
use super::cluster::Cluster;

/// Checks `bundle` against `cluster`: `Ok` with notes to print (warnings under `force`,
/// version skew without findings), or the refusal listing what the cluster would refuse.
pub(super) async fn check(
    cluster: &Cluster,
    bundle: &VerifiedBundle,
    force: bool,
) -> Result<Vec<String>, StartError> {
    let unreadable = |what: &str, e: super::cluster::RequestError| {
        StartError::Setup(format!("cannot read the cluster's {what}: {e}"))
    };
    let cluster_version = cluster
        .version()
        .await
        .map_err(|e| unreadable("version", e))?;
    let served = cluster
        .served_api_versions()
        .await
        .map_err(|e| unreadable("API groups", e))?;
    let profile = &bundle.index.kube_version;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let running = validate::parse_version(&cluster_version).map_err(|e| {
        StartError::Setup(format!("the cluster's version {cluster_version:?}: {e}"))
    })?;
    let built_for = validate::parse_version(profile).ok();
    if built_for != Some(running) {
        // Only what this version changes: a field or kind unknown to every version, or
        // missing from a CRD's schema, was the build's warning and stays the server's
        // call, whatever the cluster's version.
        let findings: Vec<_> = validate::verified(bundle, running)
            .into_iter()
            .filter(|found| found.depends_on_version())
            .collect();
        if findings.is_empty() {
            notes.push(format!(
                "the cluster runs Kubernetes {cluster_version}, the bundle was built for {profile}: no object of it uses what {running} lacks"
            ));
        } else {
            notes.extend(validate::coverage_note(running));
        }
        problems.extend(findings.iter().map(ToString::to_string));
    }
    problems.extend(unserved(bundle, &served));
    if problems.is_empty() {
        return Ok(notes);
    }
    let summary = format!(
        "the cluster ({}, Kubernetes {cluster_version}; the bundle was built for {profile}) would refuse {} of the bundle's objects or fields:\n  {}",
        cluster.server,
        problems.len(),
        problems.join("\n  ")
    );
    if force {
        notes.push(format!("--force: applying anyway; {summary}"));
        Ok(notes)
    } else {
        Err(StartError::Setup(format!(
            "{summary}\nnothing was applied; pass --force to apply anyway"
        )))
    }
}

/// The bundle's applied objects whose apiVersion neither the cluster serves nor a
/// CustomResourceDefinition or APIService of the bundle will serve.
fn unserved(bundle: &VerifiedBundle, served: &BTreeSet<String>) -> Vec<String> {
    let applied: Vec<(&str, &Value)> = (bundle.index.components.iter())
        .flat_map(|c| {
            (bundle.objects(c))
                .filter(|(entry, _)| entry.apply)
                .map(|(_, value)| (c.id.as_str(), value))
        })
        .collect();
    let mut provided: BTreeSet<String> = BTreeSet::new();
    for (_, object) in &applied {
        provided.extend(provided_api_versions(object));
    }
    let mut found = Vec::new();
    for (component, object) in applied {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        if served.contains(api_version) || provided.contains(api_version) {
            continue;
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let name = match object["metadata"]["namespace"].as_str() {
            Some(ns) if !ns.is_empty() => format!("{ns}/{}", text(&object["metadata"]["name"])),
            _ => text(&object["metadata"]["name"]),
        };
        found.push(format!(
            "{component}: {} {name}: the cluster does not serve {api_version}, and no CustomResourceDefinition or APIService of the bundle provides it",
            text(&object["kind"]),
        ));
    }
    found
}

/// The apiVersions a CustomResourceDefinition or an APIService will serve once applied.
fn provided_api_versions(object: &Value) -> Vec<String> {
    let spec = &object["spec"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    match object["kind"].as_str() {
        Some("CustomResourceDefinition") => {
            let Some(group) = text(&spec["group"]) else {
                return Vec::new();
            };
            let listed = (spec["versions"].as_array().into_iter().flatten())
                .filter(|v| v["served"] != false)
                .filter_map(|v| text(&v["name"]));
            listed
                .chain(text(&spec["version"]))
                .map(|v| format!("{group}/{v}"))
                .collect()
        }
        Some("APIService") => match (text(&spec["group"]), text(&spec["version"])) {
            (Some(group), Some(version)) => vec![format!("{group}/{version}")],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_and_api_services_provide_their_api_versions() {
        let crd = json!({"kind": "CustomResourceDefinition", "spec": {"group": "kyverno.io",
            "versions": [{"name": "v1", "served": true}, {"name": "v2beta1", "served": false}, {"name": "v2"}]}});
        assert_eq!(
            provided_api_versions(&crd),
            ["kyverno.io/v1", "kyverno.io/v2"]
        );
        let service = json!({"kind": "APIService", "spec": {"group": "metrics.k8s.io", "version": "v1beta1"}});
        assert_eq!(provided_api_versions(&service), ["metrics.k8s.io/v1beta1"]);
        assert!(provided_api_versions(&json!({"kind": "ConfigMap"})).is_empty());
    }
}
