//! Sprig's defaults, type inspection and control functions.

use super::conv::{empty, s};
use crate::Value;
use crate::funcs::{FuncMap, Signature, Type};

const A: Type = Type::Any;
const S: Type = Type::String;

pub(super) fn install(m: &mut FuncMap) {
    m.insert("default", Signature::variadic(&[A], A), |_, a| {
        Ok(match a.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    });
    m.insert("empty", Signature::new(&[A]), |_, a| {
        Ok(Value::Bool(empty(&a[0])))
    });
    m.insert("coalesce", Signature::variadic(&[], A), |_, a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or_default())
    });
    m.insert("all", Signature::variadic(&[], A), |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    m.insert("any", Signature::variadic(&[], A), |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    m.insert("ternary", Signature::new(&[A, A, Type::Bool]), |_, a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    m.insert("fail", Signature::new(&[S]), |_, a| {
        Err(s(&a[0]).to_string())
    });
    m.insert("typeOf", Signature::new(&[A]), |_, a| {
        Ok(a[0].type_name().into())
    });
    m.insert("typeIs", Signature::new(&[S, A]), |_, a| {
        Ok(Value::Bool(s(&a[0]) == a[1].type_name()))
    });
    m.insert("typeIsLike", Signature::new(&[S, A]), |_, a| {
        let t = a[1].type_name();
        let target = s(&a[0]);
        Ok(Value::Bool(target == t || target == format!("*{t}")))
    });
    m.insert("kindOf", Signature::new(&[A]), |_, a| {
        Ok(a[0].kind_name().into())
    });
    m.insert("kindIs", Signature::new(&[S, A]), |_, a| {
        Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
    });
    m.insert("deepEqual", Signature::new(&[A, A]), |_, a| {
        Ok(Value::Bool(a[0].deep_equal(&a[1])))
    });
}
