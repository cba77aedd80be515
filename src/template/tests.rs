//! Executor tests that need no oracle: objects, missing-key modes, shared maps, depth.

use std::rc::Rc;

use super::{
    Error, FuncMap, List, Map, MissingKey, Object, Options, Signature, Templates, Type, Value,
};

/// A stand-in for Helm's `.Files`: a `Get` method and a `Count` field.
struct Files;

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }

    fn kind_name(&self) -> &'static str {
        "map"
    }

    fn field(&self, name: &str) -> Option<Value> {
        (name == "Count").then_some(Value::Int(2))
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Get").then(|| match args {
            [Value::String(path)] if path.as_ref() == "a.txt" => Ok(Value::from("content")),
            [Value::String(path)] => Err(format!("no file {path}")),
            _ => Err(format!(
                "wrong number of args for Get: want 1 got {}",
                args.len()
            )),
        })
    }

    fn display(&self) -> String {
        "files".into()
    }

    fn to_json(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::Value::Null)
    }
}

fn render(text: &str, data: Value, options: Options) -> Result<String, String> {
    let mut set = Templates::new("root", FuncMap::sprig(), options);
    set.parse("t", text).map_err(|e| e.to_string())?;
    set.execute("t", data).map_err(|e| e.to_string())
}

fn data() -> Value {
    let top = Map::new();
    top.insert("Files", Value::Object(Rc::new(Files)));
    top.insert("m", Value::Map(Map::new()));
    Value::Map(top)
}

#[test]
fn objects_expose_methods_and_fields() {
    let out = render(
        r#"{{ .Files.Get "a.txt" }}|{{ .Files.Count }}|{{ .Files }}"#,
        data(),
        Options::helm(),
    );
    assert_eq!(out, Ok("content|2|files".to_string()));
    let err = render(r#"{{ .Files.Get "b" }}"#, data(), Options::helm());
    assert_eq!(
        err,
        Err(
            r#"template: t:1:9: executing "t" at <.Files.Get>: error calling Get: no file b"#
                .to_string()
        )
    );
    let err = render("{{ .Files.Nope }}", data(), Options::helm());
    assert_eq!(
        err,
        Err(r#"template: t:1:9: executing "t" at <.Files.Nope>: can't evaluate field Nope in type interface {}"#.to_string())
    );
}

#[test]
fn missing_key_modes() {
    let go_default = Options::default();
    assert_eq!(
        render("{{ .x.y }}", data(), go_default),
        Ok("<no value>".to_string())
    );
    let helm = render("{{ .x.y }}", data(), Options::helm());
    assert_eq!(
        helm,
        Err(
            r#"template: t:1:5: executing "t" at <.x.y>: nil pointer evaluating interface {}.y"#
                .to_string()
        )
    );
    let strict = Options {
        missing_key: MissingKey::Error,
        ..Options::default()
    };
    assert_eq!(
        render("{{ .x }}", data(), strict),
        Err(r#"template: t:1:3: executing "t" at <.x>: map has no entry for key "x""#.to_string())
    );
}

#[test]
fn maps_are_shared_with_the_caller() {
    let d = data();
    assert_eq!(
        render(r#"{{ $_ := set .m "k" 1 }}"#, d.clone(), Options::helm()),
        Ok(String::new())
    );
    let Value::Map(top) = d else { unreachable!() };
    let Some(Value::Map(m)) = top.get("m") else {
        unreachable!()
    };
    assert!(m.get("k").is_some_and(|v| v.deep_equal(&Value::Int(1))));
}

#[test]
fn caller_functions_reach_the_running_set() {
    let mut funcs = FuncMap::sprig();
    funcs.insert(
        "include",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            ctx.execute_template(a[0].as_str().unwrap_or_default(), a[1].clone())
                .map(Value::from)
                .map_err(|e| e.to_string())
        },
    );
    funcs.insert(
        "tpl",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            ctx.execute_text("tpl", a[0].as_str().unwrap_or_default(), a[1].clone())
                .map(Value::from)
                .map_err(|e| e.to_string())
        },
    );
    let mut set = Templates::new("root", funcs, Options::helm());
    let text = r#"{{ define "d" }}[{{ . }}]{{ end }}{{ include "d" 1 }}{{ tpl "{{ define \"x\" }}{{ end }}{{ include \"d\" 2 }}" . }}"#;
    assert_eq!(set.parse("t", text), Ok(()));
    assert_eq!(set.execute("t", Value::Nil), Ok("[1][2]".to_string()));
    // `tpl` parsed into a copy: the set itself did not gain "x".
    assert!(!set.contains("x"));
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let text = r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#;
    let out = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || render(text, Value::Nil, Options::helm()))
        .map(|h| h.join());
    let Ok(Ok(Err(message))) = out else {
        panic!("recursion did not end in an error");
    };
    assert!(
        message.contains("exceeded maximum template depth"),
        "{message}"
    );
}

#[test]
fn typed_slices_print_and_type_like_go() {
    let l = Value::List(List::strings(vec!["a".into(), "b".into()]));
    let top = Map::new();
    top.insert("l", l);
    assert_eq!(
        render(
            "{{ .l }} {{ typeOf .l }} {{ printf \"%q\" .l }}",
            Value::Map(top),
            Options::helm()
        ),
        Ok(r#"[a b] []string ["a" "b"]"#.to_string())
    );
}
