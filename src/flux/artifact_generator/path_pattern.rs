//! `spec.pathPattern`, source-watcher's directory discovery: the pattern's `{name}`
//! captures each match one path segment (`[^/]+`), the rest is literal; every directory
//! of the source (walked in name order, symlinks not followed) whose path matches yields
//! one artifact per template in `spec.artifacts`, its captures substituted: lowercased in
//! the name and the labels, as written in `from` and `to`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use regex::bytes::Regex;

use super::tree::go_error_text;
use super::validation::{dns_subdomain_errors, label_key_errors, label_value_errors};
use super::{CopyOperation, OutputArtifact, PlannedArtifact, alias_of};

/// Expands the templates for each directory of `root` that `path_pattern`
/// (`@alias/pattern`) matches.
pub(super) fn expand(
    path_pattern: &str,
    root: Option<&Path>,
    templates: &[OutputArtifact],
) -> Result<Vec<PlannedArtifact>, String> {
    let (alias, pattern) = path_pattern
        .strip_prefix('@')
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| format!("invalid pathPattern format: {path_pattern}"))?;
    let root = root.ok_or_else(|| {
        format!("pathPattern {path_pattern:?}: source alias {alias} not found in local sources")
    })?;
    let captures = capture_names(path_pattern, pattern)?;
    for name in &captures {
        let errors = label_key_errors(name);
        if !errors.is_empty() {
            return Err(format!(
                "pathPattern {path_pattern:?}: capture variable {name:?} is not a valid Kubernetes label key: {}",
                errors.join("; ")
            ));
        }
    }
    let matcher = compile(pattern).map_err(|e| {
        format!("pathPattern {path_pattern:?}: failed to compile path pattern: {e}")
    })?;
    let mut expansion = Expansion {
        path_pattern,
        matcher,
        captures,
        templates,
        seen: BTreeMap::new(),
        planned: Vec::new(),
    };
    walk(root, b"", &mut expansion)?;
    Ok(expansion.planned)
}

/// The capture names of the pattern in order, checked as `validatePathPatternCaptures`
/// checks them: braces balanced, names `[A-Za-z_][A-Za-z0-9_]*`, none twice.
fn capture_names(path_pattern: &str, pattern: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut seen = BTreeSet::new();
    let mut rest = pattern;
    let mut offset = 0;
    while let Some(at) = rest.find(['{', '}']) {
        if rest.as_bytes()[at] == b'}' {
            return Err(format!(
                "pathPattern {path_pattern:?}: invalid capture ending at offset {}: missing opening brace",
                offset + at
            ));
        }
        let Some(length) = rest[at + 1..].find('}') else {
            return Err(format!(
                "pathPattern {path_pattern:?}: invalid capture starting at offset {}: missing closing brace",
                offset + at
            ));
        };
        let name = &rest[at + 1..at + 1 + length];
        if name.is_empty() {
            return Err(format!(
                "pathPattern {path_pattern:?}: empty capture variable"
            ));
        }
        if !is_capture_name(name) {
            return Err(format!(
                "pathPattern {path_pattern:?}: capture variable {name:?} must be a valid capture name matching [A-Za-z_][A-Za-z0-9_]*"
            ));
        }
        if !seen.insert(name) {
            return Err(format!(
                "pathPattern {path_pattern:?}: duplicate capture variable {name:?}"
            ));
        }
        names.push(name.to_string());
        let consumed = at + length + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    Ok(names)
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_capture_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The pattern as source-watcher's regular expression: literal text quoted, each
/// `{name}` a named group of one segment, anchored at both ends. Paths are matched as
/// bytes, as Go matches them.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    let mut expression = String::from("^");
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        expression.push_str(&regex::escape(&rest[..open]));
        let close = open + rest[open..].find('}').unwrap_or(rest.len() - open);
        let name = &rest[open + 1..close];
        expression.push_str(&format!("(?P<{name}>(?-u:[^/])+)"));
        rest = rest.get(close + 1..).unwrap_or("");
    }
    expression.push_str(&regex::escape(rest));
    expression.push('$');
    Regex::new(&expression)
}

struct Expansion<'a> {
    path_pattern: &'a str,
    matcher: Regex,
    captures: Vec<String>,
    templates: &'a [OutputArtifact],
    /// Rendered artifact names and the directory each came from.
    seen: BTreeMap<String, String>,
    planned: Vec<PlannedArtifact>,
}

/// `filepath.WalkDir` over the directories below `root` (`rel` the one being read, empty
/// for the root itself), in name order; names are bytes, as Go walks them.
fn walk(root: &Path, rel: &[u8], expansion: &mut Expansion<'_>) -> Result<(), String> {
    let dir = root.join(OsStr::from_bytes(rel));
    let read = |e: std::io::Error| {
        format!(
            "failed to walk source directory: open {}: {}",
            dir.display(),
            go_error_text(&e)
        )
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        if entry.file_type().map_err(read)?.is_dir() {
            names.push(entry.file_name().as_bytes().to_vec());
        }
    }
    names.sort();
    for name in names {
        let mut path = rel.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&name);
        expansion.visit(&path)?;
        walk(root, &path, expansion)?;
    }
    Ok(())
}

impl Expansion<'_> {
    /// One directory: when it matches, its captures are checked and the templates
    /// rendered.
    fn visit(&mut self, rel: &[u8]) -> Result<(), String> {
        let Some(found) = self.matcher.captures(rel) else {
            return Ok(());
        };
        let path_pattern = self.path_pattern;
        let shown_rel = String::from_utf8_lossy(rel).into_owned();
        let mut raw = BTreeMap::new();
        let mut normalized = BTreeMap::new();
        for name in &self.captures {
            let value = found.name(name).map_or(&b""[..], |m| m.as_bytes());
            let value = String::from_utf8_lossy(value).into_owned();
            let lower = value.to_lowercase();
            let errors = label_value_errors(&lower);
            if !errors.is_empty() {
                return Err(format!(
                    "pathPattern {path_pattern:?}: captured value {lower:?} for variable {name:?} is not a valid Kubernetes label value: {}",
                    errors.join("; ")
                ));
            }
            raw.insert(name.clone(), value);
            normalized.insert(name.clone(), lower);
        }
        for template in self.templates {
            let planned = render(template, &normalized, &raw).map_err(|e| {
                format!(
                    "pathPattern {path_pattern:?}: failed to render artifact {} for match {shown_rel}: {e}",
                    template.name
                )
            })?;
            let errors = dns_subdomain_errors(&planned.name);
            if !errors.is_empty() {
                return Err(format!(
                    "pathPattern {path_pattern:?}: rendered artifact name {:?} is not a valid Kubernetes object name: {}",
                    planned.name,
                    errors.join("; ")
                ));
            }
            if let Some(previous) = self.seen.get(&planned.name) {
                return Err(format!(
                    "pathPattern {path_pattern:?}: directories {previous:?} and {shown_rel:?} both resolve to artifact name {:?}",
                    planned.name
                ));
            }
            self.seen.insert(planned.name.clone(), shown_rel.clone());
            self.planned.push(planned);
        }
        Ok(())
    }
}

/// `renderArtifactRequest`: the name from the lowercased captures, the copy operations'
/// `from` and `to` from the captures as the directories spell them.
fn render(
    template: &OutputArtifact,
    normalized: &BTreeMap<String, String>,
    raw: &BTreeMap<String, String>,
) -> Result<PlannedArtifact, String> {
    let name = substitute(&template.name, normalized)?;
    let mut copy = Vec::with_capacity(template.copy.len());
    for operation in &template.copy {
        copy.push(CopyOperation {
            from: substitute(&operation.from, raw)?,
            to: substitute(&operation.to, raw)?,
            exclude: operation.exclude.clone(),
            strategy: operation.strategy,
        });
    }
    Ok(PlannedArtifact {
        name,
        labels: normalized.clone(),
        revision: alias_of(template.revision.as_deref()),
        origin_revision: alias_of(template.origin_revision.as_deref()),
        copy,
    })
}

/// `renderTemplateString`: each `{name}` replaced by its capture.
fn substitute(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut offset = 0;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        if rest.as_bytes()[at] == b'}' {
            return Err(format!(
                "invalid template {template:?}: capture ending at offset {} is missing opening brace",
                offset + at
            ));
        }
        let Some(length) = rest[at + 1..].find('}') else {
            return Err(format!(
                "invalid template {template:?}: capture starting at offset {} is missing closing brace",
                offset + at
            ));
        };
        let name = &rest[at + 1..at + 1 + length];
        if name.is_empty() {
            return Err(format!(
                "invalid template {template:?}: empty capture variable"
            ));
        }
        if !is_capture_name(name) {
            return Err(format!(
                "invalid template {template:?}: capture variable {name:?} must be a valid capture name matching [A-Za-z_][A-Za-z0-9_]*"
            ));
        }
        let Some(value) = values.get(name) else {
            return Err(format!(
                "invalid template {template:?}: capture variable {name:?} is not defined by pathPattern"
            ));
        };
        out.push_str(value);
        let consumed = at + length + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_checked() {
        assert_eq!(
            capture_names("@s/apps/{app}/{env}", "apps/{app}/{env}").unwrap(),
            ["app", "env"]
        );
        assert_eq!(
            capture_names("@s/a/{app", "a/{app").unwrap_err(),
            "pathPattern \"@s/a/{app\": invalid capture starting at offset 2: missing closing brace"
        );
        assert_eq!(
            capture_names("@s/a}", "a}").unwrap_err(),
            "pathPattern \"@s/a}\": invalid capture ending at offset 1: missing opening brace"
        );
        assert!(
            capture_names("@s/{}", "{}")
                .unwrap_err()
                .ends_with("empty capture variable")
        );
        assert!(
            capture_names("@s/{1a}", "{1a}")
                .unwrap_err()
                .contains("must be a valid capture name")
        );
        assert!(
            capture_names("@s/{a}/{a}", "{a}/{a}")
                .unwrap_err()
                .contains("duplicate capture variable \"a\"")
        );
    }

    #[test]
    fn matching_is_literal_but_for_captures() {
        let re = compile("apps/{app}/envs.{env}").unwrap();
        let found = re.captures(b"apps/Auth/envs.prod").unwrap();
        assert_eq!(&found["app"], b"Auth");
        assert_eq!(&found["env"], b"prod");
        assert!(re.captures(b"apps/a/b/envs.prod").is_none());
        assert!(re.captures(b"apps/a/envsXprod").is_none());
        // Greedy first capture, as Go's leftmost-first matching.
        let re = compile("{a}-{b}").unwrap();
        let found = re.captures(b"x-y-z").unwrap();
        assert_eq!((&found["a"], &found["b"]), (&b"x-y"[..], &b"z"[..]));
    }

    #[test]
    fn templates_rendered() {
        let values = BTreeMap::from([("app".to_string(), "auth".to_string())]);
        assert_eq!(substitute("{app}-prod", &values).unwrap(), "auth-prod");
        assert_eq!(
            substitute("{env}", &values).unwrap_err(),
            "invalid template \"{env}\": capture variable \"env\" is not defined by pathPattern"
        );
        assert_eq!(
            substitute("x}", &values).unwrap_err(),
            "invalid template \"x}\": capture ending at offset 1 is missing opening brace"
        );
    }
}
