//! What stands between an ArtifactGenerator and a build: the CRD's schema (the API server
//! refuses an object that breaks it) and source-watcher's `validateSpec`, in their words;
//! and the Kubernetes name rules both use (`k8s.io/apimachinery`'s validation).

use std::collections::BTreeSet;

use super::{ArtifactGeneratorSpec, CopyOperation, OutputArtifact, SourceReference};

/// The CRD's pattern for an alias.
const ALIAS_PATTERN: &str = "^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$";
/// The CRD's pattern for `from` and `pathPattern`.
const SOURCE_PATH_PATTERN: &str = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$";
/// The CRD's pattern for `to`.
const ARTIFACT_PATH_PATTERN: &str = "^@(artifact)/(.*)$";
/// The CRD's pattern for `revision` and `originRevision`.
const REVISION_PATTERN: &str = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$";

/// Checks what the CRD's OpenAPI schema and its CEL rule check at admission: list sizes,
/// string lengths (in characters, as the API server counts) and patterns. Enums and
/// required fields are the deserializer's.
pub(super) fn check_schema(spec: &ArtifactGeneratorSpec) -> Result<(), String> {
    check_items("spec.sources", spec.sources.len(), 1, 1000)?;
    for (i, source) in spec.sources.iter().enumerate() {
        check_source(&format!("spec.sources[{i}]"), source)?;
    }
    if let Some(pattern) = &spec.path_pattern {
        check_string("spec.pathPattern", pattern, 0, 1024)?;
        check_pattern(
            "spec.pathPattern",
            pattern,
            SOURCE_PATH_PATTERN,
            is_source_path(pattern),
        )?;
    }
    check_items("spec.artifacts", spec.artifacts.len(), 1, 1000)?;
    for (i, artifact) in spec.artifacts.iter().enumerate() {
        check_artifact(&format!("spec.artifacts[{i}]"), artifact)?;
    }
    if spec.path_pattern.as_deref().is_none_or(str::is_empty)
        && !spec.artifacts.iter().all(|a| is_dns_subdomain(&a.name))
    {
        return Err(
            "spec: Invalid value: \"object\": artifact names must be valid Kubernetes object names when pathPattern is not set"
                .into(),
        );
    }
    Ok(())
}

fn check_source(path: &str, source: &SourceReference) -> Result<(), String> {
    let field = format!("{path}.alias");
    check_string(&field, &source.alias, 0, 63)?;
    check_pattern(
        &field,
        &source.alias,
        ALIAS_PATTERN,
        is_alias(&source.alias),
    )?;
    let field = format!("{path}.name");
    check_string(&field, &source.name, 0, 253)?;
    check_pattern(
        &field,
        &source.name,
        "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        is_dns_label(&source.name),
    )?;
    if let Some(namespace) = &source.namespace {
        let field = format!("{path}.namespace");
        check_string(&field, namespace, 1, 63)?;
        check_pattern(
            &field,
            namespace,
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            is_dns_label(namespace),
        )?;
    }
    Ok(())
}

fn check_artifact(path: &str, artifact: &OutputArtifact) -> Result<(), String> {
    check_string(&format!("{path}.name"), &artifact.name, 1, 253)?;
    for (field, value) in [
        ("revision", &artifact.revision),
        ("originRevision", &artifact.origin_revision),
    ] {
        if let Some(value) = value {
            let field = format!("{path}.{field}");
            check_string(&field, value, 0, 64)?;
            let ok = value.strip_prefix('@').is_some_and(is_alias);
            check_pattern(&field, value, REVISION_PATTERN, ok)?;
        }
    }
    check_items(&format!("{path}.copy"), artifact.copy.len(), 1, usize::MAX)?;
    for (i, operation) in artifact.copy.iter().enumerate() {
        check_copy(&format!("{path}.copy[{i}]"), operation)?;
    }
    Ok(())
}

fn check_copy(path: &str, operation: &CopyOperation) -> Result<(), String> {
    let field = format!("{path}.from");
    check_string(&field, &operation.from, 1, 1024)?;
    check_pattern(
        &field,
        &operation.from,
        SOURCE_PATH_PATTERN,
        is_source_path(&operation.from),
    )?;
    let field = format!("{path}.to");
    check_string(&field, &operation.to, 1, 1024)?;
    let to_ok = operation
        .to
        .strip_prefix("@artifact/")
        .is_some_and(|rest| !rest.contains('\n'));
    check_pattern(&field, &operation.to, ARTIFACT_PATH_PATTERN, to_ok)?;
    check_items(&format!("{path}.exclude"), operation.exclude.len(), 0, 100)
}

fn check_items(path: &str, count: usize, min: usize, max: usize) -> Result<(), String> {
    if count < min {
        return Err(format!(
            "{path}: Invalid value: {count}: {path} in body should have at least {min} items"
        ));
    }
    if count > max {
        return Err(format!(
            "{path}: Too many: {count}: must have at most {max} items"
        ));
    }
    Ok(())
}

fn check_string(path: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length < min {
        return Err(format!(
            "{path}: Invalid value: {value:?}: {path} in body should be at least {min} chars long"
        ));
    }
    if length > max {
        return Err(format!(
            "{path}: Too long: may not be more than {max} characters"
        ));
    }
    Ok(())
}

fn check_pattern(path: &str, value: &str, pattern: &str, ok: bool) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path}: Invalid value: {value:?}: {path} in body should match '{pattern}'"
        ))
    }
}

/// `@alias/anything` (no line break: the pattern's `.` does not match one).
fn is_source_path(value: &str) -> bool {
    value
        .strip_prefix('@')
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(alias, rest)| is_alias(alias) && !rest.contains('\n'))
}

/// `[a-z0-9]([a-z0-9_-]*[a-z0-9])?`.
pub(super) fn is_alias(value: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
        && bytes.iter().all(|&c| alnum(c) || c == b'_' || c == b'-')
}

/// A DNS-1123 label's pattern, `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (no length limit).
fn is_dns_label(value: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
        && bytes.iter().all(|&c| alnum(c) || c == b'-')
}

/// A DNS-1123 subdomain's pattern: labels joined by dots (no length limit).
fn is_dns_subdomain(value: &str) -> bool {
    value.split('.').all(is_dns_label)
}

/// `apimachinery`'s `RegexError`: the message, its examples, the pattern.
fn regex_error(message: &str, pattern: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{pattern}')",
        examples.join(" or ")
    )
}

/// `NameIsDNSSubdomain`: what is wrong with an object name, if anything.
pub(super) fn dns_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 253 {
        errors.push("must be no more than 253 characters".to_string());
    }
    if !is_dns_subdomain(value) {
        errors.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errors
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the name part of a qualified name.
fn is_qualified_name_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsLabelKey` for a key without a prefix (a capture name has no `/`).
pub(super) fn label_key_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if value.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(value) {
        errors.push(format!(
            "name part {}",
            regex_error(
                "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
                &["MyName", "my.name", "123-abc"],
            )
        ));
    }
    errors
}

/// `IsLabelValue`.
pub(super) fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    if !(value.is_empty() || is_qualified_name_part(value)) {
        errors.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// source-watcher's `validateSpec` (without `--no-cross-namespace-refs`, a controller
/// flag): aliases unique, artifact names unique and, without a pathPattern, object names;
/// a `revision` names a source.
pub(super) fn check_spec(spec: &ArtifactGeneratorSpec) -> Result<(), String> {
    let mut aliases = BTreeSet::new();
    for source in &spec.sources {
        if !aliases.insert(source.alias.as_str()) {
            return Err(format!("duplicate source alias '{}' found", source.alias));
        }
    }
    let mut names = BTreeSet::new();
    for artifact in &spec.artifacts {
        if names.contains(artifact.name.as_str()) {
            return Err(format!("duplicate artifact name '{}' found", artifact.name));
        }
        if spec.path_pattern.is_none() {
            let errors = dns_subdomain_errors(&artifact.name);
            if !errors.is_empty() {
                return Err(format!(
                    "artifact name {:?} is not a valid Kubernetes object name: {}",
                    artifact.name,
                    errors.join("; ")
                ));
            }
        }
        if let Some(revision) = &artifact.revision {
            let alias = revision.strip_prefix('@').unwrap_or(revision);
            if !aliases.contains(alias) {
                return Err(format!(
                    "artifact {} revision source alias '{alias}' not found",
                    artifact.name
                ));
            }
        }
        names.insert(artifact.name.as_str());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert!(dns_subdomain_errors("apps.example-1").is_empty());
        assert_eq!(
            dns_subdomain_errors("Apps"),
            [
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert_eq!(dns_subdomain_errors(&"a".repeat(254)).len(), 1);
        assert!(label_key_errors("app").is_empty());
        assert_eq!(
            label_key_errors("_app"),
            [
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert_eq!(
            label_key_errors(&"a".repeat(64)),
            ["name part must be no more than 63 characters"]
        );
        assert!(label_value_errors("my_value.1").is_empty());
        assert_eq!(label_value_errors(".hidden").len(), 1);
        assert_eq!(
            label_value_errors(&"a".repeat(64)),
            ["must be no more than 63 characters"]
        );
    }

    #[test]
    fn patterns() {
        assert!(is_alias("mono_repo-1"));
        assert!(!is_alias("Mono"));
        assert!(!is_alias("a-"));
        assert!(!is_alias(""));
        assert!(is_source_path("@repo/"));
        assert!(is_source_path("@repo/a/**"));
        assert!(!is_source_path("@repo"));
        assert!(!is_source_path("repo/x"));
        assert!(!is_source_path("@repo/a\nb"));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
    }
}
