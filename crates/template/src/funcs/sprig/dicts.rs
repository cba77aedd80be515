//! Sprig's dictionary functions. `set`, `unset`, `merge` and `mergeOverwrite` mutate
//! their first argument in place, as Go maps are shared.

use super::conv::{s, strval};
use crate::funcs::{FuncMap, Signature, Type};
use crate::{List, Map, Value};

const A: Type = Type::Any;
const S: Type = Type::String;
const M: Type = Type::Map;

/// A checked `map[string]interface {}` parameter; nil maps fail like Go's nil map writes.
fn map_arg(v: &Value) -> Option<&Map> {
    v.as_map()
}

const NIL_MAP: &str = "assignment to entry in nil map";

pub(super) fn install(m: &mut FuncMap) {
    m.insert("dict", Signature::variadic(&[], A), |_, a| {
        let map = Map::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            map.insert(strval(&pair[0]), value);
        }
        Ok(Value::Map(map))
    });
    m.insert("get", Signature::new(&[M, S]), |_, a| {
        Ok(map_arg(&a[0])
            .and_then(|d| d.get(s(&a[1])))
            .unwrap_or_else(|| Value::from("")))
    });
    m.insert("set", Signature::new(&[M, S, A]), |_, a| {
        let d = map_arg(&a[0]).ok_or(NIL_MAP)?;
        d.insert(s(&a[1]), a[2].clone());
        Ok(a[0].clone())
    });
    m.insert("unset", Signature::new(&[M, S]), |_, a| {
        if let Some(d) = map_arg(&a[0]) {
            d.remove(s(&a[1]));
        }
        Ok(a[0].clone())
    });
    m.insert("hasKey", Signature::new(&[M, S]), |_, a| {
        Ok(Value::Bool(
            map_arg(&a[0]).is_some_and(|d| d.contains_key(s(&a[1]))),
        ))
    });
    m.insert("pick", Signature::variadic(&[M], S), |_, a| {
        let out = Map::new();
        if let Some(d) = map_arg(&a[0]) {
            for k in &a[1..] {
                if let Some(v) = d.get(s(k)) {
                    out.insert(s(k), v);
                }
            }
        }
        Ok(Value::Map(out))
    });
    m.insert("omit", Signature::variadic(&[M], S), |_, a| {
        let out = Map::new();
        if let Some(d) = map_arg(&a[0]) {
            for (k, v) in d.borrow().iter() {
                if !a[1..].iter().any(|o| s(o) == k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Value::Map(out))
    });
    // Go's map order is random; sorted keys are one of the orders Helm can produce.
    m.insert("keys", Signature::variadic(&[], M), |_, a| {
        let mut keys = Vec::new();
        for d in a.iter().filter_map(map_arg) {
            keys.extend(d.keys());
        }
        Ok(Value::List(List::strings(keys)))
    });
    m.insert("values", Signature::new(&[M]), |_, a| {
        let vals = map_arg(&a[0])
            .map(|d| d.borrow().values().cloned().collect())
            .unwrap_or_default();
        Ok(Value::List(List::new(vals)))
    });
    m.insert("pluck", Signature::variadic(&[S], M), |_, a| {
        let key = s(&a[0]);
        let found = a[1..]
            .iter()
            .filter_map(map_arg)
            .filter_map(|d| d.get(key))
            .collect();
        Ok(Value::List(List::new(found)))
    });
    m.insert("dig", Signature::variadic(&[], A), |_, a| dig(a));
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        m.insert(name, Signature::variadic(&[M], M), move |_, a| {
            let dst = match map_arg(&a[0]) {
                Some(d) => d.clone(),
                None => Map::new(),
            };
            for src in a[1..].iter().filter_map(map_arg) {
                merge_into(&dst, src, overwrite);
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.insert(name, Signature::new(&[A]), |_, a| match &a[0] {
            Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
            v => Ok(v.deep_copy()),
        });
    }
}

/// Go's panic text for a failed type assertion to a map.
fn not_a_map(v: &Value) -> String {
    let t = match v {
        Value::Nil => "nil".to_string(),
        other => other.type_name(),
    };
    format!("interface conversion: interface {{}} is {t}, not map[string]interface {{}}")
}

fn dig(a: &[Value]) -> Result<Value, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let mut dict = match &a[a.len() - 1] {
        Value::Map(d) if d.type_name().is_none() => d.clone(),
        other => return Err(not_a_map(other)),
    };
    let default = &a[a.len() - 2];
    let keys = &a[..a.len() - 2];
    for (n, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not string",
                if matches!(k, Value::Nil) {
                    "nil".into()
                } else {
                    k.type_name()
                }
            ));
        };
        let Some(step) = dict.get(k) else {
            return Ok(default.clone());
        };
        if n + 1 == keys.len() {
            return Ok(step);
        }
        dict = match step {
            Value::Map(d) if d.type_name().is_none() => d,
            other => return Err(not_a_map(&other)),
        };
    }
    Ok(default.clone())
}

/// mergo's emptiness, dereferencing interfaces.
fn is_empty(v: &Value) -> bool {
    !v.is_true()
}

/// dario.cat/mergo's `Merge`/`MergeWithOverwrite` of two `map[string]interface{}`.
fn merge_into(dst: &Map, src: &Map, overwrite: bool) {
    for (key, sv) in src.entries() {
        let dv = dst.get(&key);
        match &sv {
            Value::Nil => {
                if overwrite {
                    dst.insert(key, Value::Nil);
                }
                continue;
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    merge_into(dm, sm, overwrite);
                }
            }
            Value::List(_) => {
                // mergo decides on the emptiness of the whole maps here: the source list
                // wins when overwriting or when the destination map is empty.
                let kept = if overwrite || dst.is_empty() {
                    sv.clone()
                } else {
                    dv.clone()
                        .unwrap_or_else(|| Value::List(List::new(Vec::new())))
                };
                dst.insert(key.clone(), kept);
            }
            _ => {}
        }
        // A non-empty destination keeps its list, and its map when both are maps (the
        // maps were merged above).
        if let Some(d) = &dv
            && !is_empty(d)
            && (matches!(sv, Value::List(_)) || matches!((&sv, d), (Value::Map(_), Value::Map(_))))
        {
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            dst.insert(key, sv);
        }
    }
}
