//! Picking a tag from a repository's tags, as source-controller does for a HelmRepository
//! of `type: oci` (a HelmChart's or HelmRelease's chart version) and for an
//! OCIRepository's `spec.ref.semver`.
//!
//! A version's build metadata (`+build.1`) cannot be in an OCI tag, so Helm pushes
//! `1.0.0+build.1` as the tag `1.0.0_build.1` and reads `_` back as `+`. Versions are
//! read as `fluxcd/pkg/version.ParseVersion` reads them: strict semantic versions, with
//! an optional leading `v`; other tags are skipped. Among versions of equal precedence
//! (differing only in build metadata or the `v`), the first in the registry's order
//! wins, as Go's sort keeps them for short lists.

use regex::Regex;

use super::layout::HELM_CHART_MEDIA_TYPE;
use crate::semver::{Constraints, Version};

/// The tag of the chart version `version` asks for in a HelmRepository of `type: oci`,
/// as source-controller's `getLastMatchingVersionOrConstraint` picks it from the tags
/// Helm's registry client lists (strict semantic versions only, `_` read as `+`):
///
/// 1. a version equal to `version` as written;
/// 2. else the highest version satisfying `version` as a Masterminds constraint, where
///    an empty `version` or `*` means the latest stable (non-prerelease) version.
///
/// Returns the tag as the registry has it (`1.0.0_build.1`); the chart version is the
/// tag with `_` read as `+`. (source-controller skips the listing when `version` is
/// itself a version: see [`chart_version_tag`].)
pub fn latest_chart_tag(tags: &[String], version: &str) -> Result<String, String> {
    let charts: Vec<(&String, String)> = tags
        .iter()
        .map(|tag| (tag, tag.replace('_', "+")))
        .filter(|(_, text)| Version::parse_strict(text).is_ok())
        .collect();
    if charts.is_empty() {
        return Err("unable to locate any tags in provided repository".into());
    }
    if let Some((tag, _)) = charts
        .iter()
        .find(|(_, text)| !version.is_empty() && text == version)
    {
        return Ok((*tag).clone());
    }
    let constraint = if version.is_empty() { "*" } else { version };
    let constraint = Constraints::parse(constraint).map_err(|e| e.to_string())?;
    highest(
        charts.iter().map(|(tag, text)| (*tag, text.as_str())),
        &constraint,
    )
    .ok_or_else(|| format!("could not locate a version matching provided version string {version}"))
}

/// The tag source-controller pulls for a HelmRepository chart whose `version` is itself a
/// version (`fluxcd/pkg/version.ParseVersion`): it lists no tags then, and Helm writes
/// the version's `+` as `_`. `None` when `version` is a range or not a version.
pub fn chart_version_tag(version: &str) -> Option<String> {
    parse_version(version).map(|_| version.replace('+', "_"))
}

/// The tag an OCIRepository's `spec.ref.semver` picks, as source-controller's
/// `getTagBySemver` does: tags matching `filter` (`spec.ref.semverFilter`) are read as
/// versions (`_` as `+` when `layer_media_type`, the `layerSelector.mediaType`, is Helm's
/// chart layer), and the highest satisfying the constraint `semver` wins.
pub fn latest_artifact_tag(
    tags: &[String],
    semver: &str,
    filter: Option<&Regex>,
    layer_media_type: Option<&str>,
) -> Result<String, String> {
    let constraint =
        Constraints::parse(semver).map_err(|e| format!("semver '{semver}' parse error: {e}"))?;
    let helm_tags = layer_media_type == Some(HELM_CHART_MEDIA_TYPE);
    let candidates: Vec<(&String, String)> = tags
        .iter()
        .filter(|tag| filter.is_none_or(|filter| filter.is_match(tag)))
        .map(|tag| {
            let text = if helm_tags {
                tag.replace('_', "+")
            } else {
                tag.clone()
            };
            (tag, text)
        })
        .collect();
    highest(
        candidates.iter().map(|(tag, text)| (*tag, text.as_str())),
        &constraint,
    )
    .ok_or_else(|| format!("no match found for semver: {semver}"))
}

/// The tag of the highest version satisfying `constraint`, of `(tag, version text)`
/// pairs; the first of equal versions.
fn highest<'a>(
    candidates: impl Iterator<Item = (&'a String, &'a str)>,
    constraint: &Constraints,
) -> Option<String> {
    let mut best: Option<(Version, &String)> = None;
    for (tag, text) in candidates {
        let Some(version) = parse_version(text) else {
            continue;
        };
        if !constraint.check(&version) {
            continue;
        }
        if best.as_ref().is_none_or(|(top, _)| version > *top) {
            best = Some((version, tag));
        }
    }
    best.map(|(_, tag)| tag.clone())
}

/// `fluxcd/pkg/version.ParseVersion`: a strict semantic version after an optional `v`.
fn parse_version(text: &str) -> Option<Version> {
    Version::parse_strict(text.strip_prefix('v').unwrap_or(text)).ok()?;
    Version::parse(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn chart_versions_match_exactly_first() {
        let list = tags(&[
            "1.0.0",
            "1.2.0",
            "2.0.0-rc.1",
            "1.5.0_build.7",
            "latest",
            "v3.0.0",
        ]);
        assert_eq!(latest_chart_tag(&list, "1.0.0").unwrap(), "1.0.0");
        // Exact matches compare the version text, with `_` read as `+`.
        assert_eq!(
            latest_chart_tag(&list, "1.5.0+build.7").unwrap(),
            "1.5.0_build.7"
        );
        // A prerelease named exactly is found, though `*` would not pick it.
        assert_eq!(latest_chart_tag(&list, "2.0.0-rc.1").unwrap(), "2.0.0-rc.1");
    }

    #[test]
    fn chart_versions_default_to_the_latest_stable() {
        // `v3.0.0` and `latest` are no strict versions: Helm's registry client drops them.
        let list = tags(&[
            "1.0.0",
            "1.2.0",
            "2.0.0-rc.1",
            "1.5.0_build.7",
            "latest",
            "v3.0.0",
        ]);
        assert_eq!(latest_chart_tag(&list, "").unwrap(), "1.5.0_build.7");
        assert_eq!(latest_chart_tag(&list, "*").unwrap(), "1.5.0_build.7");
        assert_eq!(latest_chart_tag(&list, "~1.2").unwrap(), "1.2.0");
        assert_eq!(latest_chart_tag(&list, ">=1.0.0 <1.2.0").unwrap(), "1.0.0");
        assert_eq!(latest_chart_tag(&list, ">=2.0.0-0").unwrap(), "2.0.0-rc.1");
    }

    #[test]
    fn chart_version_errors_are_source_controllers() {
        let list = tags(&["1.0.0"]);
        assert_eq!(
            latest_chart_tag(&list, "~5").unwrap_err(),
            "could not locate a version matching provided version string ~5"
        );
        assert_eq!(
            latest_chart_tag(&tags(&["latest", "v1.0.0", "1.0"]), "").unwrap_err(),
            "unable to locate any tags in provided repository"
        );
        assert!(latest_chart_tag(&list, "not a range").is_err());
    }

    #[test]
    fn exact_chart_versions_need_no_listing() {
        assert_eq!(
            chart_version_tag("1.0.0+build.1").as_deref(),
            Some("1.0.0_build.1")
        );
        assert_eq!(chart_version_tag("v1.2.3").as_deref(), Some("v1.2.3"));
        assert_eq!(chart_version_tag("1.2"), None);
        assert_eq!(chart_version_tag("~1.2.0"), None);
        assert_eq!(chart_version_tag(""), None);
    }

    #[test]
    fn artifact_tags_follow_semver_and_the_filter() {
        let list = tags(&[
            "v1.0.0",
            "1.1.0",
            "1.2.0-rc.1",
            "2.0.0",
            "latest",
            "1.3.0_x",
        ]);
        assert_eq!(
            latest_artifact_tag(&list, "1.x", None, None).unwrap(),
            "1.1.0"
        );
        assert_eq!(
            latest_artifact_tag(&list, ">=1.0.0", None, None).unwrap(),
            "2.0.0"
        );
        assert_eq!(
            latest_artifact_tag(&list, "<1.1.0", None, None).unwrap(),
            "v1.0.0"
        );
        assert_eq!(
            latest_artifact_tag(&list, ">=1.2.0-0 <2.0.0", None, None).unwrap(),
            "1.2.0-rc.1"
        );
        let filter = Regex::new("^v").unwrap();
        assert_eq!(
            latest_artifact_tag(&list, ">=0.0.0", Some(&filter), None).unwrap(),
            "v1.0.0"
        );
        // `_` is `+` only for Helm charts stored as artifacts.
        assert_eq!(
            latest_artifact_tag(&list, "~1.3", None, Some(HELM_CHART_MEDIA_TYPE)).unwrap(),
            "1.3.0_x"
        );
        assert_eq!(
            latest_artifact_tag(&list, "~1.3", None, None).unwrap_err(),
            "no match found for semver: ~1.3"
        );
        assert!(
            latest_artifact_tag(&list, "bad range", None, None)
                .unwrap_err()
                .starts_with("semver 'bad range' parse error: ")
        );
    }

    #[test]
    fn equal_versions_keep_the_registry_order() {
        let list = tags(&["1.0.0", "v1.0.0"]);
        assert_eq!(
            latest_artifact_tag(&list, "*", None, None).unwrap(),
            "1.0.0"
        );
        let list = tags(&["v1.0.0", "1.0.0"]);
        assert_eq!(
            latest_artifact_tag(&list, "*", None, None).unwrap(),
            "v1.0.0"
        );
    }
}
