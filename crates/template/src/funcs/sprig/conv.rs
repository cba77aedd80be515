//! Sprig's value conversions (`strval`, `strslice`, spf13/cast's `To*`) and emptiness.

use crate::Value;
use crate::fmt::sprint_value;
use crate::num::{parse_float, parse_int};
use crate::value::ElemType;

/// The string argument of a checked `string` parameter.
pub(super) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The integer of a checked `int`/`int64` parameter.
pub(super) fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

/// Sprig's `strval`: strings as is, anything else as `%v` prints it.
pub(super) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        // Go's `string(b)` of a `[]byte`.
        Value::List(l) if l.elem() == ElemType::Byte => {
            String::from_utf8_lossy(&l.as_bytes().unwrap_or_default()).into_owned()
        }
        other => sprint_value(other),
    }
}

/// Sprig's `strslice`: a list's non-nil items as strings; a scalar as a one-item list.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .items()
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// spf13/cast's `trimZeroDecimal`: "3.000" → "3".
fn trim_zero_decimal(s: &str) -> &str {
    match s.split_once('.') {
        Some((head, tail))
            if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b == b'0') =>
        {
            head
        }
        _ => s,
    }
}

/// spf13/cast's `ToInt64` (errors become 0, as Sprig ignores them).
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// spf13/cast's `ToFloat64`.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, false, 0, and empty strings, lists and maps.
pub(super) fn empty(v: &Value) -> bool {
    !v.is_true()
}

/// The message of a Go runtime panic on a nil interface dereference.
pub(super) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";
