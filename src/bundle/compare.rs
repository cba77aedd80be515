//! Two verified bundles side by side: which objects each component gained, lost or
//! changed, for `crunch diff OLD NEW`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ComponentEntry, ObjectEntry, VerifiedBundle, holds_sealed_values};
use crate::diff::{Change, Sides};
use crate::object::ObjectRef;
use crate::seal;

/// How `crunch diff OLD NEW` names the two sides of an object.
pub const SIDES: Sides = Sides {
    before: "old",
    after: "new",
};

/// Every object of either bundle, per component: the new bundle's components and objects
/// in its order, then what only the old one had. Objects are matched by group, kind,
/// namespace and name within their component; an object whose bytes are equal on both
/// sides (same sha256) compares unchanged without being looked at. When the two bundles
/// are sealed under different keys ([`sealing_key_changed`]), every sealed value reads
/// `sealed` on both sides: their ciphertexts say nothing about their plaintexts.
///
/// A Secret shows its review on each side (see [`super::SecretEntry::review`]): the
/// value paths that changed, with the values that came from encrypted sources masked.
pub fn compare(old: &VerifiedBundle, new: &VerifiedBundle) -> Vec<(String, Vec<Change>)> {
    let mut changes = pair_components(old, new);
    let key_changed = sealing_key_changed(old, new);
    for (component, component_changes) in &mut changes {
        for change in component_changes.iter_mut() {
            for (side, bundle) in [(&mut change.before, old), (&mut change.after, new)] {
                let Some(object) = side else { continue };
                if let Some(review) = review(bundle, component, &change.object) {
                    show_review(object, review, key_changed);
                    change.reviewed = true;
                } else if key_changed {
                    blank_sealed_values(object);
                }
            }
        }
    }
    changes
}

/// The review a bundle recorded for a Secret of a component.
fn review<'a>(
    bundle: &'a VerifiedBundle,
    component: &str,
    object: &ObjectRef,
) -> Option<&'a BTreeMap<String, Value>> {
    bundle
        .index
        .secrets
        .iter()
        .find(|s| s.component == component && s.object.same_object(object))
        .map(|s| &s.review)
        .filter(|review| !review.is_empty())
}

/// `secret` with its values replaced by their review; masks under a changed sealing key
/// say nothing, so they read `sealed`.
fn show_review(secret: &mut Value, review: &BTreeMap<String, Value>, key_changed: bool) {
    let Some(map) = secret.as_object_mut() else {
        return;
    };
    map.remove("stringData");
    if review.is_empty() {
        return;
    }
    let mut data: serde_json::Map<String, Value> = review.clone().into_iter().collect();
    if key_changed {
        data.values_mut().for_each(blank_masks);
    }
    map.insert("data".to_string(), Value::Object(data));
}

fn blank_masks(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with("sealed:") => {
            *value = Value::String("sealed".into())
        }
        Value::Array(items) => items.iter_mut().for_each(blank_masks),
        Value::Object(map) => map.values_mut().for_each(blank_masks),
        _ => {}
    }
}

/// Whether both bundles hold sealed values, under different keys: the note
/// `crunch diff` prints once instead of flagging every sealed value.
pub fn sealing_key_changed(old: &VerifiedBundle, new: &VerifiedBundle) -> bool {
    match (&old.index.sealing, &new.index.sealing) {
        (Some(old), Some(new)) => old.key_id != new.key_id,
        _ => false,
    }
}

/// What `crunch diff` says once when [`sealing_key_changed`].
pub const SEALING_KEY_CHANGED: &str = "sealing key changed: sealed values cannot be compared";

fn blank_sealed_values(object: &mut Value) {
    if !holds_sealed_values(object) {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(values) = object.get_mut(field).and_then(Value::as_object_mut) {
            for value in values.values_mut() {
                if value.as_str().is_some_and(seal::is_sealed) {
                    *value = Value::String("sealed".to_string());
                }
            }
        }
    }
}

fn pair_components(old: &VerifiedBundle, new: &VerifiedBundle) -> Vec<(String, Vec<Change>)> {
    let old_components: BTreeMap<&str, &ComponentEntry> = old
        .index
        .components
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let mut out: Vec<(String, Vec<Change>)> = new
        .index
        .components
        .iter()
        .map(|component| {
            let before = old_components.get(component.id.as_str());
            let changes = pair(before.map(|c| (old, *c)), Some((new, component)));
            (component.id.clone(), changes)
        })
        .collect();
    for component in &old.index.components {
        if !new.index.components.iter().any(|c| c.id == component.id) {
            out.push((component.id.clone(), pair(Some((old, component)), None)));
        }
    }
    out
}

type Side<'a> = Option<(&'a VerifiedBundle, &'a ComponentEntry)>;

/// The objects of one component on both sides: `after`'s order, then what only
/// `before` had.
fn pair(before: Side<'_>, after: Side<'_>) -> Vec<Change> {
    let (before, after) = (objects(before), objects(after));
    let mut unmatched: BTreeMap<ObjectRef, (&ObjectEntry, &Value)> = before
        .iter()
        .map(|&(entry, value)| (reference(entry), (entry, value)))
        .collect();
    let mut changes = Vec::new();
    for (entry, value) in after {
        let object = reference(entry);
        let old = unmatched
            .keys()
            .find(|k| k.same_object(&object))
            .cloned()
            .and_then(|k| unmatched.remove(&k));
        let before = match old {
            Some((old_entry, _)) if old_entry.sha256 == entry.sha256 => Some(masked(entry, value)),
            Some((old_entry, old_value)) => Some(masked(old_entry, old_value)),
            None => None,
        };
        changes.push(Change {
            object,
            before,
            after: Some(masked(entry, value)),
            note: None,
            reviewed: false,
        });
    }
    for (entry, value) in before {
        if unmatched.remove(&reference(entry)).is_some() {
            changes.push(Change {
                object: reference(entry),
                before: Some(masked(entry, value)),
                after: None,
                note: None,
                reviewed: false,
            });
        }
    }
    changes
}

/// `object` with the strings its entry records as holding values decrypted from SOPS
/// files shown as the entry's reviews of them (plaintext in the bundle, but not printed).
fn masked(entry: &ObjectEntry, object: &Value) -> Value {
    let mut object = object.clone();
    for (pointer, review) in &entry.decrypted {
        if let Some(Value::String(text)) = object.pointer_mut(pointer) {
            text.clone_from(review);
        }
    }
    object
}

fn objects(side: Side<'_>) -> Vec<(&ObjectEntry, &Value)> {
    side.map(|(bundle, component)| bundle.objects(component).collect())
        .unwrap_or_default()
}

fn reference(entry: &ObjectEntry) -> ObjectRef {
    ObjectRef {
        api_version: entry.api_version.clone(),
        kind: entry.kind.clone(),
        namespace: entry.namespace.clone(),
        name: entry.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Secrets, read, write};
    use crate::seal::Recipients;
    use serde_json::json;

    /// A bundle of one Secret, sealed under a key derived from `material`.
    fn sealed(dir: &std::path::Path, password: &str, material: u8) -> VerifiedBundle {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "registry", "namespace": "bigbang"},
            "stringData": {"username": "robot", "password": password}});
        let bundle = crate::bundle::environment_bundle(vec![secret]);
        let recipient = "age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c";
        let secrets = Secrets::Sealed {
            recipients: Recipients::parse(&[recipient.to_string()]).unwrap(),
            material: vec![[material; 32]],
        };
        let out = dir.join(format!("{password}-{material}"));
        write(&bundle, &out, &secrets).unwrap();
        read(&out).unwrap()
    }

    #[test]
    fn sealed_values_show_by_fingerprint_under_one_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = (sealed(tmp.path(), "one", 1), sealed(tmp.path(), "two", 1));
        assert!(!sealing_key_changed(&old, &new));
        let text = crate::diff::render(&compare(&old, &new), SIDES);
        let removed: Vec<&str> = text.lines().filter(|l| l.starts_with("-  ")).collect();
        let added: Vec<&str> = text.lines().filter(|l| l.starts_with("+  ")).collect();
        assert_eq!(removed.len(), 1, "{text}");
        assert_eq!(added.len(), 1, "{text}");
        assert!(removed[0].starts_with("-  password: sealed:"), "{text}");
        assert!(added[0].starts_with("+  password: sealed:"), "{text}");
        assert_ne!(removed[0][1..], added[0][1..]);
        // The unchanged username shows alike on both sides, as its fingerprint.
        assert!(text.contains("\n   username: sealed:"), "{text}");
        assert!(!text.contains("crunch-sealed:"), "{text}");
    }

    #[test]
    fn another_key_is_said_once_not_per_value() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = (sealed(tmp.path(), "one", 1), sealed(tmp.path(), "one", 2));
        assert!(sealing_key_changed(&old, &new));
        assert_eq!(crate::diff::render(&compare(&old, &new), SIDES), "");
        let changed = sealed(tmp.path(), "two", 2);
        assert_eq!(crate::diff::render(&compare(&old, &changed), SIDES), "");
    }
}
