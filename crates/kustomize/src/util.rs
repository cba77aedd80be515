//! Small helpers on `serde_json` values shared by the transformers.

use serde_json::{Map, Value};

/// Makes `v` a map (replacing anything else with an empty one) and returns it.
pub(crate) fn ensure_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        // Just made a map above.
        _ => unreachable!("ensure_map made the value a map"),
    }
}
