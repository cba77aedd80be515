//! Go's builtin template functions.

use super::{FuncMap, Signature, Type};
use crate::Value;
use crate::fmt::{sprint, sprintf, sprintln};

const ANY: Type = Type::Any;

pub(super) fn install(m: &mut FuncMap) {
    let any_rest = Signature::variadic(&[ANY], ANY);
    m.insert("and", any_rest.clone(), |_, a| {
        Ok(a.iter()
            .find(|v| !v.is_true())
            .unwrap_or(&a[a.len() - 1])
            .clone())
    });
    m.insert("or", any_rest.clone(), |_, a| {
        Ok(a.iter()
            .find(|v| v.is_true())
            .unwrap_or(&a[a.len() - 1])
            .clone())
    });
    m.insert("not", Signature::new(&[ANY]), |_, a| {
        Ok(Value::Bool(!a[0].is_true()))
    });
    m.insert("len", Signature::new(&[ANY]), |_, a| {
        length(&a[0]).map(Value::Int)
    });
    m.insert("index", any_rest.clone(), |_, a| index(&a[0], &a[1..]));
    m.insert("slice", any_rest.clone(), |_, a| slice(&a[0], &a[1..]));
    m.insert("print", Signature::variadic(&[], ANY), |_, a| {
        Ok(sprint(a).into())
    });
    m.insert("println", Signature::variadic(&[], ANY), |_, a| {
        Ok(sprintln(a).into())
    });
    m.insert(
        "printf",
        Signature::variadic(&[Type::String], ANY),
        |_, a| Ok(sprintf(a[0].as_str().unwrap_or_default(), &a[1..]).into()),
    );
    m.insert("html", Signature::variadic(&[], ANY), |_, a| {
        Ok(html_escape(&eval_args(a)).into())
    });
    m.insert("js", Signature::variadic(&[], ANY), |_, a| {
        Ok(js_escape(&eval_args(a)).into())
    });
    m.insert("urlquery", Signature::variadic(&[], ANY), |_, a| {
        Ok(query_escape(&eval_args(a)).into())
    });
    m.insert("call", any_rest, |_, a| {
        Err(format!("non-function of type {}", a[0].type_name()))
    });
    m.insert("eq", Signature::variadic(&[ANY], ANY), |_, a| {
        if a.len() < 2 {
            return Err("missing argument for comparison".into());
        }
        for b in &a[1..] {
            if equal(&a[0], b)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    let two = Signature::new(&[ANY, ANY]);
    m.insert("ne", two.clone(), |_, a| {
        Ok(Value::Bool(!equal(&a[0], &a[1])?))
    });
    m.insert("lt", two.clone(), |_, a| {
        less(&a[0], &a[1]).map(Value::Bool)
    });
    m.insert("le", two.clone(), |_, a| {
        Ok(Value::Bool(less(&a[0], &a[1])? || equal(&a[0], &a[1])?))
    });
    m.insert("gt", two.clone(), |_, a| {
        Ok(Value::Bool(!(less(&a[0], &a[1])? || equal(&a[0], &a[1])?)))
    });
    m.insert("ge", two, |_, a| {
        less(&a[0], &a[1]).map(|l| Value::Bool(!l))
    });
}

/// Go's comparison classes (`basicKind`).
#[derive(PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

/// Go's `eq` on two arguments.
pub(crate) fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
            return Err(incompatible(a, b));
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, _) | (_, Value::Nil) => matches!(a, Value::Nil) && matches!(b, Value::Nil),
        (Value::Map(_) | Value::List(_), _) | (_, Value::Map(_) | Value::List(_)) => {
            if a.type_name() != b.type_name() {
                return Err(incompatible(a, b));
            }
            return Err(format!(
                "non-comparable type {}: {}",
                sprintf("%s", std::slice::from_ref(b)),
                b.type_name()
            ));
        }
        (Value::Object(x), Value::Object(y)) => {
            std::ptr::addr_eq(std::rc::Rc::as_ptr(x), std::rc::Rc::as_ptr(y))
        }
        _ => false,
    })
}

fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

/// Go's `lt`.
fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Other || kb == Kind::Other {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(incompatible(a, b));
    }
    match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

fn length(v: &Value) -> Result<i64, String> {
    Ok(match &v.as_collection() {
        Value::String(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for idx in indexes {
        item = item.as_collection();
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                l.items()
                    .get(x)
                    .cloned()
                    .ok_or_else(|| "reflect: slice index out of range".to_string())?
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => match idx {
                Value::String(k) => m.get(k).unwrap_or_else(|| m.zero_elem()),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    match item {
        Value::String(s) => s
            .get(idx[0]..idx[1])
            .map(Value::from)
            .ok_or_else(|| "slice splits a UTF-8 sequence".to_string()),
        Value::List(l) => Ok(Value::List(crate::List::new(
            l.items()[idx[0]..idx[1]].to_vec(),
        ))),
        _ => Ok(Value::Nil),
    }
}

/// The text an escaper works on: a lone string as is, anything else `fmt.Sprint`ed.
fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.to_string(),
        _ => sprint(args),
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            // ASCII controls and unprintable runes; DEL is neither and stays.
            c if c < ' ' || (!c.is_ascii() && !crunch_gostd::strconv::is_print(c)) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
