//! Sprig's JSON functions, encoding exactly as Go's `encoding/json` does (sorted keys,
//! HTML-safe escapes, Go's float format).

use super::conv::s;
use crate::funcs::{FuncMap, Signature, Type};
use crate::value::JsonCycles;
use crate::{ElemType, Value};
use crunch_gostd::json::{format_float, write_string};

/// How a JSON text is laid out.
#[derive(Clone, Copy)]
struct Style {
    indent: bool,
    escape_html: bool,
}

/// `json.Marshal` (or `MarshalIndent` with two spaces, or an encoder without HTML escaping).
fn encode(v: &Value, style: Style) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0, &mut JsonCycles::default())?;
    Ok(out)
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if style.indent {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
}

fn write_value(
    out: &mut String,
    v: &Value,
    style: Style,
    depth: usize,
    cycles: &mut JsonCycles,
) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f).map_err(|e| e.to_string())?),
        Value::String(text) => write_string(out, text, style.escape_html),
        // A `[]byte` is a base64 string.
        Value::List(l) if l.elem() == ElemType::Byte => {
            use base64::Engine as _;
            let bytes = l.as_bytes().unwrap_or_default();
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            write_string(out, &text, style.escape_html);
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in l.items().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1, cycles)?;
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Map(m) if m.is_nil() => out.push_str("null"),
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            cycles.enter(m)?;
            out.push('{');
            for (i, (k, item)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.indent {
                    out.push(' ');
                }
                write_value(out, item, style, depth + 1, cycles)?;
            }
            cycles.leave();
            newline(out, style, depth);
            out.push('}');
        }
        Value::Object(o) => {
            let json = o.to_json().map_err(|e| e.to_string())?;
            write_value(out, &Value::from_json_floats(&json), style, depth, cycles)?;
        }
    }
    Ok(())
}

/// `json.Unmarshal` into `interface{}`: numbers become `float64`.
fn decode(text: &str) -> Result<Value, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(Value::from_json_floats(&json))
}

pub(super) fn install(m: &mut FuncMap) {
    let styles = [
        ("toJson", false, true),
        ("toPrettyJson", true, true),
        ("toRawJson", false, false),
    ];
    for (name, indent, escape_html) in styles {
        let style = Style {
            indent,
            escape_html,
        };
        // Sprig swallows encoding errors in the plain variants.
        m.insert(name, Signature::new(&[Type::Any]), move |_, a| {
            Ok(encode(&a[0], style).unwrap_or_default().into())
        });
        let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
        m.insert(&must, Signature::new(&[Type::Any]), move |_, a| {
            Ok(encode(&a[0], style)?.into())
        });
    }
    m.insert("fromJson", Signature::new(&[Type::String]), |_, a| {
        Ok(decode(s(&a[0])).unwrap_or_default())
    });
    m.insert("mustFromJson", Signature::new(&[Type::String]), |_, a| {
        decode(s(&a[0]))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{List, Map};

    #[test]
    fn go_json() {
        let m = Map::new();
        m.insert("b", Value::Float(1e21));
        m.insert(
            "a",
            Value::List(List::new(vec![Value::Float(1e-7), Value::from("<&>")])),
        );
        let v = Value::Map(m);
        let plain = Style {
            indent: false,
            escape_html: true,
        };
        assert_eq!(
            encode(&v, plain),
            Ok(r#"{"a":[1e-7,"\u003c\u0026\u003e"],"b":1e+21}"#.to_string())
        );
    }
}
