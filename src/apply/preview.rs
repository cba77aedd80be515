//! What applying would change, from the server's own dry run: every object is
//! server-side applied with `dryRun=All` and the answer compared with the live object.

use serde_json::Value;
use tokio::time::Instant;

use super::cluster::RequestError;
use super::component::{Counts, Run};
use super::plan::{ComponentPlan, PlannedObject};
use super::retry::{Failure, retry};
use crate::diff::{Change, Sides};

/// How `crunch diff --cluster` names the two sides of an object.
pub const SIDES: Sides = Sides {
    before: "live",
    after: "bundle",
};

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
        let change = preview_one(run, plan, object, deadline)
            .await
            .map_err(|e| format!("cannot dry-run {}: {e}", object.target))?;
        let left = plan.leaves_crd(&object.target, change.before.is_some());
        match (&change.before, change.changes()) {
            (None, _) if left => {}
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
    plan: &ComponentPlan,
    object: &PlannedObject,
    deadline: Instant,
) -> Result<Change, Failure> {
    let target = &object.target;
    if crate::bundle::holds_sealed_values(&object.value) {
        // Without the identity the values are ciphertext: sending them would only show
        // every value as changed (or be refused as no base64).
        return Ok(Change {
            object: target.clone(),
            before: None,
            after: None,
            note: Some(
                "its values are sealed: pass --identity to compare it with the live Secret"
                    .to_string(),
            ),
            reviewed: false,
        });
    }
    let before = retry(deadline, &run.stop, || run.cluster.get_if_served(target)).await?;
    if plan.leaves_crd(target, before.is_some()) {
        let note = if before.is_some() {
            "left as it is: the chart's upgrade CRD policy is not CreateReplace"
        } else {
            "not created: the chart's install CRD policy is Skip"
        };
        let before = before.map(comparable);
        return Ok(Change {
            object: target.clone(),
            after: before.clone(),
            before,
            note: Some(note.to_string()),
            reviewed: false,
        });
    }
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
        reviewed: false,
    })
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
