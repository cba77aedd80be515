//! Unified diffs of Kubernetes objects, as `crunch diff` prints them: one per object that
//! differs, grouped by component, Secret values masked as `kubectl diff` masks them and
//! sealed ones shown by their fingerprint.
//! Where the two sides come from (the live cluster, another bundle) is the caller's
//! business.

use serde::Serialize;
use serde_json::Value;

use crate::object::ObjectRef;
use crate::seal;

/// One object on both sides of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The object.
    pub object: ObjectRef,
    /// The object before (live, or in the old bundle), if there is one.
    pub before: Option<Value>,
    /// The object after (as applying would leave it, or in the new bundle), if known.
    pub after: Option<Value>,
    /// Why a side is missing, or other remarks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether Secret values on both sides are already what a review may show (the
    /// bundles' reviews), so that they are shown as they are.
    #[serde(skip)]
    pub reviewed: bool,
}

impl Change {
    /// Whether the two sides differ.
    pub fn changes(&self) -> bool {
        self.before.is_none() || self.after.is_none() || self.before != self.after
    }
}

/// What the two sides are called in diff headers (`live` / `bundle`, `old` / `new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    /// The name of the `before` side.
    pub before: &'static str,
    /// The name of the `after` side.
    pub after: &'static str,
}

/// A unified diff per changed object, `before` first; empty when nothing changes. Secret
/// values are masked: `***`, or `*** (before)` / `*** (after)` where they differ; a
/// sealed value shows as its fingerprint (`sealed:<12 hex>`), which changes with it.
pub fn render(components: &[(String, Vec<Change>)], sides: Sides) -> String {
    let mut out = String::new();
    for (component, changes) in components {
        for change in changes.iter().filter(|c| c.changes()) {
            let (mut before, mut after) = (change.before.clone(), change.after.clone());
            if !change.reviewed
                && change.object.kind == "Secret"
                && change.object.group().is_empty()
            {
                mask_secrets(before.as_mut(), after.as_mut());
            }
            let as_yaml =
                |v: &Option<Value>| v.as_ref().map(crate::yaml::to_kyaml).unwrap_or_default();
            let (before_text, after_text) = (as_yaml(&before), as_yaml(&after));
            let title = format!("{} ({component})", change.object);
            if let Some(note) = &change.note {
                out.push_str(&format!("# {title}: {note}\n"));
            }
            let label = |name: &str, value: &Option<Value>| match value {
                Some(_) => format!("{name} {title}"),
                None => format!("{name} (absent) {title}"),
            };
            let diff = similar::TextDiff::from_lines(&before_text, &after_text);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&label(sides.before, &before), &label(sides.after, &after))
                    .to_string(),
            );
        }
    }
    out
}

/// Replaces every value under `data` and `stringData` with a marker that says only
/// whether it changed: a sealed value with its fingerprint, any other with `***`.
fn mask_secrets(before: Option<&mut Value>, after: Option<&mut Value>) {
    let values = |v: &Option<&mut Value>, field: &str| -> serde_json::Map<String, Value> {
        v.as_ref()
            .and_then(|v| v.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mark =
        |side: Option<&mut Value>, other: &dyn Fn(&str, &str) -> Option<Value>, tag: &str| {
            let Some(side) = side else { return };
            for field in ["data", "stringData"] {
                if let Some(map) = side.get_mut(field).and_then(Value::as_object_mut) {
                    for (key, value) in map.iter_mut() {
                        if let Some(sealed) = value.as_str().filter(|v| seal::is_sealed(v)) {
                            *value = Value::String(seal::fingerprint(sealed));
                            continue;
                        }
                        let same = other(field, key).as_ref() == Some(&*value);
                        *value = Value::String(if same {
                            "***".into()
                        } else {
                            format!("*** ({tag})")
                        });
                    }
                }
            }
        };
    let (old_data, old_strings) = (values(&before, "data"), values(&before, "stringData"));
    let (new_data, new_strings) = (values(&after, "data"), values(&after, "stringData"));
    let lookup = |data: &serde_json::Map<String, Value>,
                  strings: &serde_json::Map<String, Value>| {
        let (data, strings) = (data.clone(), strings.clone());
        move |field: &str, key: &str| -> Option<Value> {
            if field == "data" {
                data.get(key).cloned()
            } else {
                strings.get(key).cloned()
            }
        }
    };
    let in_after = lookup(&new_data, &new_strings);
    let in_before = lookup(&old_data, &old_strings);
    mark(before, &in_after, "before");
    mark(after, &in_before, "after");
}
