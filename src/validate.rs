//! Whether a bundle's objects suit a Kubernetes version: each object the bundle applies
//! checked by [`crate::object::validate`] (served apiVersions, known fields), custom
//! resources against the CustomResourceDefinitions the bundle itself installs. `crunch
//! build` checks against the cluster profile's version, `crunch apply` against the
//! cluster's when they differ.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::bundle::{Bundle, VerifiedBundle};
use crate::error::Error;
use crate::object::{CustomResources, Finding, KubeVersion, Problem, known_versions, validate};
use crate::progress::{Event, Progress};

/// One finding in one object of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFinding {
    /// The chain of components that holds the object, outermost first
    /// (`dev → HelmRelease bigbang/bigbang → HelmRelease kyverno/kyverno`).
    pub component: String,
    /// The object, `Kind namespace/name`.
    pub object: String,
    /// What the version would refuse.
    pub finding: Finding,
}

impl ObjectFinding {
    /// Whether another Kubernetes version would not find it: a kind the version does not
    /// serve, or a field other versions have.
    pub fn depends_on_version(&self) -> bool {
        matches!(
            self.finding.problem,
            Problem::NotServed { .. } | Problem::FieldNotInVersion { .. }
        )
    }
}

impl fmt::Display for ObjectFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.component, self.object, self.finding)
    }
}

/// Reads a version as `crunch.yaml`'s `cluster.kubeVersion` or a cluster's `/version`
/// writes it.
pub fn parse_version(text: &str) -> Result<KubeVersion, Error> {
    text.parse().map_err(Error::new)
}

/// A note when `version` lies outside the versions the API data covers (it is then checked
/// as the nearest one), else `None`.
pub fn coverage_note(version: KubeVersion) -> Option<String> {
    let known = known_versions();
    let (first, last) = (known.first()?, known.last()?);
    if version < *first || version > *last {
        let nearest = if version < *first { first } else { last };
        Some(format!(
            "Kubernetes {version} is outside the API data crunch has ({first}–{last}): objects are checked as for {nearest}"
        ))
    } else {
        None
    }
}

/// `crunch build`'s check of the rendered bundle against its profile's Kubernetes version:
/// each finding is a warning told to `progress` and returned; with `strict`, findings fail
/// the build instead, listed in the error.
pub fn at_build(
    bundle: &Bundle,
    strict: bool,
    progress: &dyn Progress,
) -> Result<Vec<String>, Error> {
    let version = parse_version(&bundle.kube_version)?;
    let parents = bundle
        .components
        .iter()
        .map(|c| (c.id.as_str(), c.parent.as_deref()));
    let objects: Vec<(&str, &Value)> = (bundle.components.iter())
        .flat_map(|c| {
            (c.objects.iter())
                .filter(|o| o.apply)
                .map(|o| (c.id.as_str(), &o.value))
        })
        .collect();
    let findings = check(parents, &objects, version);
    let mut warnings: Vec<String> = coverage_note(version).into_iter().collect();
    warnings.extend(findings.iter().map(|f| {
        format!(
            "{f} (the bundle is built for Kubernetes {})",
            bundle.kube_version
        )
    }));
    if strict && !findings.is_empty() {
        return Err(Error::new(format!(
            "--strict: Kubernetes {} would refuse {} field(s) or kind(s) of the bundle:\n  {}",
            bundle.kube_version,
            findings.len(),
            findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )));
    }
    for warning in &warnings {
        progress.event(&Event::Warning { message: warning });
    }
    Ok(warnings)
}

/// The findings of a verified bundle's applied objects against `version`.
pub fn verified(bundle: &VerifiedBundle, version: KubeVersion) -> Vec<ObjectFinding> {
    let components = &bundle.index.components;
    let parents = components
        .iter()
        .map(|c| (c.id.as_str(), c.parent.as_deref()));
    let objects: Vec<(&str, &Value)> = (components.iter())
        .flat_map(|c| {
            bundle
                .objects(c)
                .filter(|(entry, _)| entry.apply)
                .map(|(_, value)| (c.id.as_str(), value))
        })
        .collect();
    check(parents, &objects, version)
}

/// The CustomResourceDefinitions among a bundle's applied objects.
pub fn definitions<'a>(objects: impl IntoIterator<Item = &'a Value>) -> CustomResources {
    let mut crds = CustomResources::new();
    for object in objects {
        crds.add(object);
    }
    crds
}

/// Checks `objects` (each with its component's id) against `version`; `parents` gives each
/// component's parent, for the chain findings name.
fn check<'a>(
    parents: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    objects: &[(&'a str, &'a Value)],
    version: KubeVersion,
) -> Vec<ObjectFinding> {
    let parents: HashMap<&str, Option<&str>> = parents.into_iter().collect();
    let crds = definitions(objects.iter().map(|(_, o)| *o));
    let mut chains: HashMap<&str, String> = HashMap::new();
    let mut found = Vec::new();
    for &(component, object) in objects {
        for finding in validate(object, version, &crds) {
            let chain = chains
                .entry(component)
                .or_insert_with(|| chain(&parents, component))
                .clone();
            found.push(ObjectFinding {
                component: chain,
                object: describe(object),
                finding,
            });
        }
    }
    found
}

/// `dev → HelmRelease bigbang/bigbang → HelmRelease kyverno/kyverno`, as error chains
/// name components.
fn chain(parents: &HashMap<&str, Option<&str>>, id: &str) -> String {
    let mut steps = vec![id];
    let mut at = id;
    while let Some(Some(parent)) = parents.get(at) {
        if steps.contains(parent) {
            break; // a cycle is the planner's error to report
        }
        steps.push(parent);
        at = parent;
    }
    steps
        .iter()
        .rev()
        .map(|id| id.replacen('/', " ", 1))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `Kind namespace/name`, or `Kind name` for cluster-scoped objects.
fn describe(object: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let kind = text(&object["kind"]);
    let name = text(&object["metadata"]["name"]);
    match object["metadata"]["namespace"].as_str() {
        Some(namespace) if !namespace.is_empty() => format!("{kind} {namespace}/{name}"),
        _ => format!("{kind} {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn findings_name_the_component_chain_and_the_object() {
        let parents = [
            ("dev", None),
            ("HelmRelease/bigbang/bigbang", Some("dev")),
            (
                "HelmRelease/kyverno/kyverno",
                Some("HelmRelease/bigbang/bigbang"),
            ),
        ];
        let service = json!({"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": "s", "namespace": "kyverno"},
                             "spec": {"trafficDistribution": "PreferClose"}});
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kyverno"}});
        let objects = [
            ("dev", &namespace),
            ("HelmRelease/kyverno/kyverno", &service),
        ];
        let found = check(parents, &objects, parse_version("v1.28.0").unwrap());
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "dev → HelmRelease bigbang/bigbang → HelmRelease kyverno/kyverno: Service kyverno/s: .spec.trafficDistribution: field not in Kubernetes 1.28: introduced in 1.30"
            ]
        );
        assert!(check(parents, &objects, parse_version("1.30").unwrap()).is_empty());
    }

    #[test]
    fn versions_outside_the_data_are_noted() {
        assert!(coverage_note(parse_version("1.28").unwrap()).is_none());
        assert!(coverage_note(parse_version("1.19").unwrap()).is_some());
        assert!(parse_version("latest").is_err());
    }
}
