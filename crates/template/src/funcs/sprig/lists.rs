//! Sprig's list functions. Each `mustX` returns the error its `X` panics with; through a
//! template call both read `error calling X: …`.

use super::conv::{NIL_DEREF, empty, i, to_int64};
use crate::funcs::{FuncMap, Signature, Type};
use crate::{List, Value};

const A: Type = Type::Any;
const I: Type = Type::Int;

/// The items of a list argument, or Sprig's error naming the operation and Go kind.
fn items<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], String> {
    match v {
        Value::List(l) => Ok(l.items()),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot {what} on type {}", other.kind_name())),
    }
}

fn list(v: Vec<Value>) -> Value {
    Value::List(List::new(v))
}

/// Registers `name` and `mustName` with one body.
fn both(m: &mut FuncMap, name: &str, sig: Signature, body: fn(&[Value]) -> Result<Value, String>) {
    m.insert(name, sig.clone(), move |_, a| body(a));
    let mut must = String::from("must");
    must.push_str(&name[..1].to_uppercase());
    must.push_str(&name[1..]);
    m.insert(&must, sig, move |_, a| body(a));
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("list", Signature::variadic(&[], A), |_, a| {
        Ok(list(a.to_vec()))
    });
    let one = Signature::new(&[A]);
    let two = Signature::new(&[A, A]);
    both(m, "first", one.clone(), |a| {
        Ok(items(&a[0], "find first")?
            .first()
            .cloned()
            .unwrap_or_default())
    });
    both(m, "last", one.clone(), |a| {
        Ok(items(&a[0], "find last")?
            .last()
            .cloned()
            .unwrap_or_default())
    });
    both(m, "rest", one.clone(), |a| {
        let l = items(&a[0], "find rest")?;
        // Go returns a nil `[]interface{}`, which prints as `[]`.
        Ok(list(l.get(1..).unwrap_or_default().to_vec()))
    });
    both(m, "initial", one.clone(), |a| {
        let l = items(&a[0], "find initial")?;
        Ok(list(l[..l.len().saturating_sub(1)].to_vec()))
    });
    both(m, "reverse", one.clone(), |a| {
        let mut l = items(&a[0], "find reverse")?.to_vec();
        l.reverse();
        Ok(list(l))
    });
    both(m, "uniq", one.clone(), |a| {
        let mut out: Vec<Value> = Vec::new();
        for v in items(&a[0], "find uniq")? {
            if !out.iter().any(|o| o.deep_equal(v)) {
                out.push(v.clone());
            }
        }
        Ok(list(out))
    });
    both(m, "compact", one.clone(), |a| {
        Ok(list(
            items(&a[0], "compact")?
                .iter()
                .filter(|v| !empty(v))
                .cloned()
                .collect(),
        ))
    });
    for name in ["append", "push"] {
        both(m, name, two.clone(), |a| {
            let mut l = items(&a[0], "append")?.to_vec();
            l.push(a[1].clone());
            Ok(list(l))
        });
    }
    both(m, "prepend", two.clone(), |a| {
        let mut l = vec![a[1].clone()];
        l.extend_from_slice(items(&a[0], "prepend")?);
        Ok(list(l))
    });
    both(m, "without", Signature::variadic(&[A], A), |a| {
        let omit = &a[1..];
        Ok(list(
            items(&a[0], "find without")?
                .iter()
                .filter(|v| !omit.iter().any(|o| o.deep_equal(v)))
                .cloned()
                .collect(),
        ))
    });
    both(m, "has", two.clone(), |a| {
        if matches!(a[1], Value::Nil) {
            return Ok(Value::Bool(false));
        }
        let found = items(&a[1], "find has")?
            .iter()
            .any(|v| v.deep_equal(&a[0]));
        Ok(Value::Bool(found))
    });
    both(m, "slice", Signature::variadic(&[A], A), |a| {
        let l = match &a[0] {
            Value::List(l) => l.items(),
            Value::Nil => return Err(NIL_DEREF.into()),
            other => {
                return Err(format!(
                    "list should be type of slice or array but {}",
                    other.kind_name()
                ));
            }
        };
        if l.is_empty() {
            return Ok(Value::Nil);
        }
        let start = a.get(1).map_or(0, to_int64);
        let end = a.get(2).map_or(l.len() as i64, to_int64);
        if start < 0 || end < start || end as usize > l.len() {
            return Err("reflect: slice index out of range".into());
        }
        Ok(list(l[start as usize..end as usize].to_vec()))
    });
    both(m, "chunk", Signature::new(&[I, A]), |a| {
        let size = i(&a[0]).max(1) as usize;
        let l = items(&a[1], "chunk")?;
        Ok(list(l.chunks(size).map(|c| list(c.to_vec())).collect()))
    });
    m.insert("concat", Signature::variadic(&[], A), |_, a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                Value::List(l) => out.extend_from_slice(l.items()),
                other => {
                    return Err(format!("Cannot concat type {} as list", other.kind_name()));
                }
            }
        }
        Ok(list(out))
    });
    m.insert("until", Signature::new(&[I]), |_, a| {
        Ok(until_step(0, i(&a[0]), if i(&a[0]) < 0 { -1 } else { 1 }))
    });
    m.insert("untilStep", Signature::new(&[I, I, I]), |_, a| {
        Ok(until_step(i(&a[0]), i(&a[1]), i(&a[2])))
    });
    m.insert("seq", Signature::variadic(&[], I), |_, a| seq(a));
}

/// Sprig's `untilStep`: an `[]int` from `start` towards `stop`.
fn until_step(start: i64, stop: i64, step: i64) -> Value {
    let mut v = Vec::new();
    if step == 0 || (stop < start && step > 0) || (stop > start && step < 0) {
        return Value::List(List::ints(v));
    }
    let mut k = start;
    while (step > 0 && k < stop) || (step < 0 && k > stop) {
        v.push(k);
        // Go's loop wraps around and never ends (until memory runs out); stop instead.
        let Some(next) = k.checked_add(step) else {
            break;
        };
        k = next;
    }
    Value::List(List::ints(v))
}

/// Sprig's `seq`, modelled on the Unix tool: the numbers joined by spaces.
fn seq(a: &[Value]) -> Result<Value, String> {
    let p: Vec<i64> = a.iter().map(i).collect();
    let (start, step, end) = match p.as_slice() {
        [] => return Ok(Value::from("")),
        [end] => (1, if *end < 1 { -1 } else { 1 }, *end),
        [start, end] => (*start, if end < start { -1 } else { 1 }, *end),
        [start, step, end] => {
            if (end < start && *step > 0) || (end > start && *step < 0) || *step == 0 {
                return Ok(Value::from(""));
            }
            (*start, *step, *end)
        }
        _ => return Ok(Value::from("")),
    };
    // Go computes the bound in wrapping arithmetic (`seq MaxInt64 MinInt64` is empty).
    let end_inclusive = end.wrapping_add(step.signum());
    let mut out = Vec::new();
    let mut k = start;
    while (step > 0 && k < end_inclusive) || (step < 0 && k > end_inclusive) {
        out.push(k.to_string());
        // Go's loop wraps around and never ends (until memory runs out); stop instead.
        let Some(next) = k.checked_add(step) else {
            break;
        };
        k = next;
    }
    Ok(Value::from(out.join(" ")))
}
