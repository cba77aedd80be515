//! Splitting rendered templates into manifests and hooks, in Helm's install order.

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::error::{Error, ErrorKind};
use crunch_object::install_order;

/// One rendered document and the template it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Template path as `# Source:` prints it, e.g. `chart/templates/x.yaml`.
    pub source: String,
    /// The document text, trimmed, without its `---` separator.
    pub content: String,
}

/// A classified document: its `kind` orders it, `hook_events` marks hooks.
struct Entry {
    manifest: Manifest,
    kind: String,
    hook: Option<Vec<String>>,
}

/// Manifests and hooks in the order `helm template` prints them.
pub(crate) struct Sorted {
    pub(crate) manifests: Vec<Manifest>,
    /// Hooks with their events (`test` marks test hooks).
    pub(crate) hooks: Vec<(Manifest, Vec<String>)>,
}

/// The hook events Helm knows; a document naming any other event is dropped.
const EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// Reads rendered files into classified documents as they arrive, from any thread, and
/// then orders them as Helm's `SortManifests` does.
#[derive(Default)]
pub(crate) struct Sorter {
    files: Mutex<Vec<ReadFile>>,
}

/// A rendered file's path and its documents (or the first one that failed to read).
type ReadFile = (String, Result<Vec<Entry>, Error>);

impl Sorter {
    /// Splits one rendered file into documents and classifies them; partials and blank
    /// files have none.
    pub(crate) fn add(&self, path: String, text: &str) {
        let base = path.rsplit('/').next().unwrap_or(&path);
        if base.starts_with('_') || text.trim().is_empty() {
            return;
        }
        // Reading a document is independent of every other; the results are gathered in
        // document order, so the first failing document is the one reported.
        let classified: Vec<Result<Option<Entry>, Error>> = split_manifests(text)
            .into_par_iter()
            .map(|doc| classify(&path, doc))
            .collect();
        let entries = classified
            .into_iter()
            .collect::<Result<Vec<Option<Entry>>, Error>>()
            .map(|entries| entries.into_iter().flatten().collect());
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((path, entries));
    }

    /// Manifests and hooks in Helm's order: files by path, then kinds in install order;
    /// fails with the first unreadable document in that order.
    pub(crate) fn finish(self) -> Result<Sorted, Error> {
        let mut files = self
            .files
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries = Vec::new();
        for (_, file) in files {
            entries.extend(file?);
        }
        let (hooks, manifests): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.hook.is_some());
        Ok(Sorted {
            manifests: by_kind(manifests).into_iter().map(|e| e.manifest).collect(),
            hooks: by_kind(hooks)
                .into_iter()
                .map(|e| (e.manifest, e.hook.unwrap_or_default()))
                .collect(),
        })
    }
}

fn by_kind(mut entries: Vec<Entry>) -> Vec<Entry> {
    // Stable: equal kinds keep file and document order.
    entries.sort_by(|a, b| install_order(&a.kind, &b.kind));
    entries
}

/// Helm's `SplitManifests`: splits on `(?:^|\s*\n)---\s*`, trims each piece, drops empty
/// pieces.
pub(crate) fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    // Go's `\s`, which leaves out `\v`.
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let skip_space = |mut at: usize| {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        at
    };
    let mut pieces = Vec::new();
    // Where the next search starts; a separator never reaches back before it.
    let mut from = 0;
    if text.starts_with("---") {
        from = skip_space(3);
    }
    let mut piece_start = from;
    // Every separator after the start is a newline directly before `---`, with the run of
    // whitespace before that newline (as far back as the search start) included.
    while let Some(found) = text[from..].find("\n---") {
        let newline = from + found;
        let mut start = newline;
        while start > from && is_space(bytes[start - 1]) {
            start -= 1;
        }
        pieces.push(&text[piece_start..start]);
        from = skip_space(newline + 4);
        piece_start = from;
    }
    pieces.push(&text[piece_start..]);
    // As Helm: a piece of only `\v` and spaces is kept, and trims to an empty manifest.
    pieces
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

/// Reads a document's head (`apiVersion`, `kind`, `metadata.name`, annotations) the way
/// `yaml.Unmarshal` into Helm's `SimpleHead` does, and classifies it.
fn classify(path: &str, doc: String) -> Result<Option<Entry>, Error> {
    let fail = |msg: String| {
        Error::new(
            ErrorKind::Manifest,
            format!("YAML parse error on {path}: {msg}"),
        )
    };
    let parsed = crunch_yaml::parse_document(&doc, crunch_yaml::Dialect::GoYamlV2)
        .map_err(|e| fail(format!("error converting YAML to JSON: {e}")))?;
    let mismatch = |found: &Value, field: &str, want: &str| {
        fail(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {want}",
            crunch_yaml::json_kind(found)
        ))
    };
    let head = match parsed {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => {
            return Err(fail(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                crunch_yaml::json_kind(&other)
            )));
        }
    };
    let string_field = |v: Option<&Value>, field: &str| -> Result<String, Error> {
        match v {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::Array(_) | Value::Object(_)) => {
                Err(mismatch(v.unwrap_or(&Value::Null), field, "string"))
            }
            Some(scalar) => Ok(go_scalar_string(scalar)),
        }
    };
    string_field(head.get("apiVersion"), "SimpleHead.apiVersion")?;
    let kind = string_field(head.get("kind"), "SimpleHead.kind")?;
    let mut annotations: Option<&Map<String, Value>> = None;
    match head.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(meta)) => {
            string_field(meta.get("name"), ".metadata.name")?;
            match meta.get("annotations") {
                None | Some(Value::Null) => {}
                Some(Value::Object(a)) => {
                    for v in a.values() {
                        string_field(Some(v), ".metadata.annotations")?;
                    }
                    annotations = Some(a);
                }
                Some(other) => {
                    return Err(mismatch(
                        other,
                        ".metadata.annotations",
                        "map[string]string",
                    ));
                }
            }
        }
        Some(other) => {
            return Err(mismatch(
                other,
                "SimpleHead.metadata",
                "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
            ));
        }
    }
    let manifest = Manifest {
        source: path.to_string(),
        content: doc,
    };
    let hook_value = annotations
        .and_then(|a| a.get("helm.sh/hook"))
        .map(go_scalar_string);
    let Some(hook_value) = hook_value else {
        return Ok(Some(Entry {
            manifest,
            kind,
            hook: None,
        }));
    };
    let mut events = Vec::new();
    for event in hook_value.split(',') {
        let event = event.trim().to_lowercase();
        if !EVENTS.contains(&event.as_str()) {
            // Helm logs "skipping unknown hooks" and drops the document.
            return Ok(None);
        }
        events.push(if event == "test-success" {
            "test".into()
        } else {
            event
        });
    }
    Ok(Some(Entry {
        manifest,
        kind,
        hook: Some(events),
    }))
}

/// A YAML scalar read into a Go `string` field by `sigs.k8s.io/yaml`, which turns numbers
/// and booleans into their text.
pub(crate) fn go_scalar_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            // `sigs.k8s.io/yaml` writes a float bound for a string at 32-bit precision.
            (None, None, Some(f)) => crunch_gostd::strconv::format_float(f, 'g', -1, 32),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n--- \n\n---\n# c\n"),
            vec!["a: 1", "b: 2", "---\n# c"]
        );
        assert_eq!(split_manifests("---\na: 1\n---\n"), vec!["a: 1"]);
        assert_eq!(split_manifests("a: 1\n---b: 2"), vec!["a: 1", "b: 2"]);
        assert_eq!(split_manifests("a: '---'"), vec!["a: '---'"]);
        assert_eq!(split_manifests("a\n \t\n---\r\n b"), vec!["a", "b"]);
        assert_eq!(split_manifests("a\n---\x0b\n---\nb"), vec!["a", "", "b"]);
        assert_eq!(split_manifests("---\n---\na"), vec!["---\na"]);
    }
}
