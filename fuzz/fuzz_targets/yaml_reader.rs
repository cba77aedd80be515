//! Fuzz target for crunch's YAML reader: arbitrary input through `parse_stream` in both
//! dialects must never panic, and every stream that parses must survive a write/read round
//! trip (`to_helm_yaml` read back as go-yaml v2, `to_kyaml` read back as go-yaml v3).
#![no_main]

use libfuzzer_sys::fuzz_target;

use crunch_yaml::{self as yaml, Dialect, Value};

/// Helm reads numbers through JSON, but the round trip here is crunch's own: a value
/// written by the emitter must read back as the same value, except that a float with an
/// integral value (`1.0`) prints as `1` and reads back as an integer.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Values whose round trip is a documented difference rather than a bug: NEL (U+0085),
/// which JSON leaves raw and go-yaml then reads as a line break (Helm's `toYaml` folds it
/// too); and a `<<` key (from a quoted `"<<"`), which go-yaml v2 prints plain, as crunch
/// does, so it reads back as a merge key.
fn is_known_lossy(v: &Value) -> bool {
    let odd = |s: &str| s.contains('\u{85}');
    match v {
        Value::String(s) => odd(s),
        Value::Array(items) => items.iter().any(is_known_lossy),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| odd(k) || k == "<<" || is_known_lossy(v)),
        _ => false,
    }
}

fn round_trip(doc: &Value, write: fn(&Value) -> String, dialect: Dialect) {
    if is_known_lossy(doc) {
        return;
    }
    let text = write(doc);
    if text.is_empty() {
        // `to_helm_yaml` prints nothing for strings go-yaml's reader rejects.
        return;
    }
    let back = yaml::parse_document(&text, dialect)
        .unwrap_or_else(|e| panic!("{dialect:?} cannot read back {text:?}: {e}"));
    assert!(
        same(doc, &back),
        "{dialect:?} round trip changed {doc:?} into {back:?} via {text:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for dialect in [Dialect::GoYamlV2, Dialect::GoYamlV3] {
        let Ok(docs) = yaml::parse_stream(text, dialect) else {
            continue;
        };
        for doc in &docs {
            round_trip(doc, yaml::to_helm_yaml, Dialect::GoYamlV2);
            round_trip(doc, yaml::to_kyaml, Dialect::GoYamlV3);
        }
    }
});
