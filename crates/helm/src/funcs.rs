//! Helm's template functions on top of Sprig: `include`, `tpl`, `required`, `fail`,
//! `lookup`, and the YAML/JSON converters.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crunch_gostd::{self as gostd, strconv::quote};
use crunch_template::{Context, ErrorKind, FuncMap, List, Map, Signature, Type, Value};
use crunch_yaml::{self as yaml, Dialect, JsonStyle};

/// Helm wraps `required`/`fail` messages so its error formatter can find them.
pub(crate) const WARN_START: &str = "HELM_ERR_START";
pub(crate) const WARN_END: &str = "HELM_ERR_END";

/// How deep one named template may include itself before Helm gives up.
const MAX_INCLUDE_DEPTH: usize = 1000;

/// The name Helm gives `tpl` text (its root template's name).
pub(crate) const ROOT_NAME: &str = "gotpl";

/// Sprig plus Helm's functions, as Helm v4's engine installs them for `helm template`.
pub(crate) fn helm_funcs() -> FuncMap {
    let mut f = FuncMap::sprig();
    let includes: Rc<RefCell<HashMap<String, usize>>> = Rc::default();
    install_include_and_tpl(&mut f, &includes);
    f.insert(
        "required",
        Signature::new(&[Type::String, Type::Any]),
        |_, a| {
            let (warn, val) = (arg(a, 0), arg(a, 1));
            match val {
                Value::Nil => Err(wrap_warning(warn)),
                Value::String(s) if s.is_empty() => Err(wrap_warning(warn)),
                other => Ok(other.clone()),
            }
        },
    );
    f.insert("fail", Signature::new(&[Type::String]), |_, a| {
        Err(wrap_warning(arg(a, 0)))
    });
    f.insert(
        "lookup",
        Signature::new(&[Type::String, Type::String, Type::String, Type::String]),
        // `helm template` has no cluster: every lookup finds nothing.
        |_, _| Ok(Value::Map(Map::new())),
    );
    f.insert("getHostByName", Signature::new(&[Type::String]), |_, _| {
        Ok(Value::from(""))
    });
    f.insert("toYaml", Signature::new(&[Type::Any]), |_, a| {
        Ok(Value::from(to_yaml(arg(a, 0)).unwrap_or_default()))
    });
    f.insert("mustToYaml", Signature::new(&[Type::Any]), |_, a| {
        to_yaml(arg(a, 0)).map(Value::from)
    });
    f.insert("toJson", Signature::new(&[Type::Any]), |_, a| {
        Ok(Value::from(to_json(arg(a, 0)).unwrap_or_default()))
    });
    f.insert("mustToJson", Signature::new(&[Type::Any]), |_, a| {
        to_json(arg(a, 0)).map(Value::from)
    });
    f.insert("fromYaml", Signature::new(&[Type::String]), |_, a| {
        Ok(from_yaml(str_arg(arg(a, 0))))
    });
    f.insert("fromYamlArray", Signature::new(&[Type::String]), |_, a| {
        Ok(from_yaml_array(str_arg(arg(a, 0))))
    });
    f.insert("fromJson", Signature::new(&[Type::String]), |_, a| {
        Ok(from_json(str_arg(arg(a, 0))))
    });
    f.insert("fromJsonArray", Signature::new(&[Type::String]), |_, a| {
        Ok(from_json_array(str_arg(arg(a, 0))))
    });
    for name in ["toToml", "fromToml", "toYamlPretty"] {
        f.insert(name, Signature::new(&[Type::Any]), move |_, _| {
            Err(format!("{name} is not supported yet by crunch"))
        });
    }
    f
}

/// The `i`th argument; the engine checks arity against the signature, so a missing one
/// only reads as nil defensively.
fn arg(args: &[Value], i: usize) -> &Value {
    const NIL: &Value = &Value::Nil;
    args.get(i).unwrap_or(NIL)
}

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn wrap_warning(msg: &Value) -> String {
    format!("{WARN_START}{}{WARN_END}", str_arg(msg))
}

fn install_include_and_tpl(f: &mut FuncMap, includes: &Rc<RefCell<HashMap<String, usize>>>) {
    let counter = includes.clone();
    f.insert(
        "include",
        Signature::new(&[Type::String, Type::Any]),
        move |ctx: &mut Context<'_>, a| {
            let name = str_arg(arg(a, 0)).to_string();
            {
                let mut depths = counter.borrow_mut();
                let depth = depths.entry(name.clone()).or_insert(0);
                if *depth > MAX_INCLUDE_DEPTH {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *depth += 1;
            }
            let result = ctx.execute_template(&name, arg(a, 1).clone());
            if let Some(depth) = counter.borrow_mut().get_mut(&name) {
                *depth = depth.saturating_sub(1);
            }
            result.map(Value::from).map_err(|e| e.message().to_string())
        },
    );
    f.insert(
        "tpl",
        Signature::new(&[Type::String, Type::Any]),
        |ctx: &mut Context<'_>, a| {
            let text = str_arg(arg(a, 0));
            match ctx.execute_text(text, arg(a, 1).clone()) {
                Ok(out) => Ok(Value::from(out.replace("<no value>", ""))),
                Err(e) if e.kind() == ErrorKind::Exec => Err(format!(
                    "error during tpl function execution for {}: {}",
                    quote(text),
                    e.message()
                )),
                Err(e) => Err(format!(
                    "cannot parse template {}: {}",
                    quote(text),
                    e.message()
                )),
            }
        },
    );
}

/// Helm's `toYaml`: `sigs.k8s.io/yaml.Marshal` minus one trailing newline.
fn to_yaml(v: &Value) -> Result<String, String> {
    let text = marshal_yaml(v)?;
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// `sigs.k8s.io/yaml.Marshal`: through `encoding/json`, whose errors it wraps.
pub(crate) fn marshal_yaml(v: &Value) -> Result<String, String> {
    let json = v
        .to_json()
        .map_err(|e| format!("error marshaling into JSON: {}", e.message()))?;
    Ok(yaml::to_helm_yaml(&json))
}

fn to_json(v: &Value) -> Result<String, String> {
    let json = v.to_json().map_err(|e| e.message().to_string())?;
    Ok(yaml::to_go_json(&json, JsonStyle::Compact))
}

/// A parsed document as Helm's converters see it: every number a `float64`.
fn json_to_value(json: &serde_json::Value) -> Value {
    Value::from_json_floats(json)
}

fn from_yaml(text: &str) -> Value {
    let parsed = yaml::parse_document(text, Dialect::GoYamlV2);
    let error = |msg: String| {
        let m = Map::new();
        m.insert("Error", Value::from(msg));
        Value::Map(m)
    };
    match parsed {
        Ok(serde_json::Value::Null) => Value::Map(Map::new()),
        Ok(doc @ serde_json::Value::Object(_)) => json_to_value(&doc),
        Ok(other) => error(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            crunch_yaml::json_kind(&other)
        )),
        Err(e) => error(format!("error converting YAML to JSON: {e}")),
    }
}

fn from_yaml_array(text: &str) -> Value {
    let parsed = yaml::parse_document(text, Dialect::GoYamlV2);
    let error = |msg: String| Value::List(List::new(vec![Value::from(msg)]));
    match parsed {
        Ok(serde_json::Value::Null) => Value::List(List::new(Vec::new())),
        Ok(doc @ serde_json::Value::Array(_)) => json_to_value(&doc),
        Ok(other) => error(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            crunch_yaml::json_kind(&other)
        )),
        Err(e) => error(format!("error converting YAML to JSON: {e}")),
    }
}

fn from_json(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(doc @ serde_json::Value::Object(_)) => json_to_value(&doc),
        Ok(serde_json::Value::Null) => Value::Map(Map::new()),
        Ok(other) => {
            let m = Map::new();
            m.insert(
                "Error",
                Value::from(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    crunch_yaml::json_kind(&other)
                )),
            );
            Value::Map(m)
        }
        Err(e) => {
            let m = Map::new();
            m.insert("Error", Value::from(go_json_error(text, &e)));
            Value::Map(m)
        }
    }
}

fn from_json_array(text: &str) -> Value {
    let error = |msg: String| Value::List(List::new(vec![Value::from(msg)]));
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(doc @ serde_json::Value::Array(_)) => json_to_value(&doc),
        Ok(serde_json::Value::Null) => Value::List(List::new(Vec::new())),
        Ok(other) => error(format!(
            "json: cannot unmarshal {} into Go value of type []interface {{}}",
            crunch_yaml::json_kind(&other)
        )),
        Err(e) => error(go_json_error(text, &e)),
    }
}

/// Approximates `encoding/json`'s syntax error text for the common cases.
fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    // JSON's whitespace, not Unicode's: to Go, U+2028 is an invalid character.
    if e.is_eof() || text.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        return "unexpected end of JSON input".into();
    }
    // serde_json counts lines at `\n` and columns in bytes; Go names the offending byte.
    let byte = text
        .split('\n')
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.as_bytes().get(e.column().saturating_sub(1)).copied())
        .unwrap_or(b' ');
    format!(
        "invalid character {} looking for beginning of value",
        gostd::json::quote_char(byte)
    )
}
