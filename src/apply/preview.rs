//! What applying would change, from the server's own dry run: every object is
//! server-side applied with `dryRun=All` and the answer compared with the live object.

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::cluster::{ObjectRef, RequestError};
use super::component::{Counts, Run};
use super::plan::{ComponentPlan, PlannedObject};
use super::retry::{Failure, retry};

/// What applying would do to one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The object.
    pub object: ObjectRef,
    /// The live object (server-maintained metadata removed), if there is one.
    pub before: Option<Value>,
    /// The object after applying, as the server computed it, if it could (not when its
    /// CRD or namespace is created by the same bundle first).
    pub after: Option<Value>,
    /// Why `after` is missing, or other remarks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Change {
    /// Whether applying would change the object.
    pub fn changes(&self) -> bool {
        self.before.is_none() || self.after.is_none() || self.before != self.after
    }
}

/// Dry-runs every object of a component (hooks are not previewed: Helm's own dry run
/// does not run them either).
pub async fn preview(
    run: &Run,
    plan: &ComponentPlan,
    deadline: Instant,
) -> Result<(Vec<Change>, Counts), String> {
    let mut changes = Vec::new();
    let mut counts = Counts::default();
    for object in plan.kept() {
        let change = preview_one(run, object, deadline)
            .await
            .map_err(|e| format!("cannot dry-run {}: {e}", object.target))?;
        match (&change.before, change.changes()) {
            (None, _) => counts.created += 1,
            (Some(_), true) => counts.changed += 1,
            (Some(_), false) => counts.unchanged += 1,
        }
        changes.push(change);
    }
    Ok((changes, counts))
}

async fn preview_one(
    run: &Run,
    object: &PlannedObject,
    deadline: Instant,
) -> Result<Change, Failure> {
    let target = &object.target;
    let before = retry(deadline, &run.stop, || run.cluster.get_if_served(target)).await?;
    let after = retry(deadline, &run.stop, || async {
        match run
            .cluster
            .apply(target, &object.value, run.force_conflicts, true)
            .await
        {
            Ok(v) => Ok(Ok(v)),
            // The kind or namespace comes from this bundle: the server cannot say yet.
            Err(RequestError::NoKind { .. }) => Ok(Err(
                "its kind is defined by a CustomResourceDefinition not yet applied",
            )),
            Err(RequestError::NotFound(_)) => Ok(Err("its namespace is not created yet")),
            Err(e) => Err(e),
        }
    })
    .await?;
    let (after, note) = match after {
        Ok(v) => (Some(comparable(v)), None),
        Err(why) => (None, Some(why.to_string())),
    };
    Ok(Change {
        object: target.clone(),
        before: before.map(comparable),
        after,
        note,
    })
}

/// `crunch diff --cluster`: a unified diff per object that applying would change, live
/// object first; empty when nothing would change. Secret values are masked as `kubectl
/// diff` masks them: `***`, or `*** (before)` / `*** (after)` where they differ.
pub fn render(components: &[(String, Vec<Change>)]) -> String {
    let mut out = String::new();
    for (component, changes) in components {
        for change in changes.iter().filter(|c| c.changes()) {
            let (mut before, mut after) = (change.before.clone(), change.after.clone());
            if change.object.kind == "Secret" && change.object.group().is_empty() {
                mask_secrets(before.as_mut(), after.as_mut());
            }
            let as_yaml =
                |v: &Option<Value>| v.as_ref().map(crate::yaml::to_kyaml).unwrap_or_default();
            let (before_text, after_text) = (as_yaml(&before), as_yaml(&after));
            let title = format!("{} ({component})", change.object);
            if let Some(note) = &change.note {
                out.push_str(&format!("# {title}: {note}\n"));
            }
            let live = if before.is_some() {
                "live"
            } else {
                "live (absent)"
            };
            let diff = similar::TextDiff::from_lines(&before_text, &after_text);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{live} {title}"), &format!("bundle {title}"))
                    .to_string(),
            );
        }
    }
    out
}

/// Replaces every value under `data` and `stringData` with a marker that says only
/// whether it changed.
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

/// The object without what the server maintains on every write, so that a dry run of
/// an unchanged object compares equal to the live one.
fn comparable(mut object: Value) -> Value {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["managedFields", "resourceVersion", "generation"] {
            metadata.remove(field);
        }
    }
    object
}
