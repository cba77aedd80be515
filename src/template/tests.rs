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
    let mut funcs = with_include(FuncMap::sprig());
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

/// `include` as Helm defines it, for the recursion tests.
fn with_include(mut funcs: FuncMap) -> FuncMap {
    funcs.insert(
        "include",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            ctx.execute_template(a[0].as_str().unwrap_or_default(), a[1].clone())
                .map(Value::from)
                .map_err(|e| e.to_string())
        },
    );
    funcs
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    // A nesting limit of 1000 on a thread with the stack the docs promise it needs;
    // each recursion wraps its call in blocks and a pipeline, as real charts do.
    let options = Options {
        max_nesting: 1000,
        ..Options::helm()
    };
    let cases = [
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
        r#"{{ define "r" }}{{ if true }}{{ range until 1 }}{{ with $ }}{{ include "r" . | indent 2 | trim }}{{ end }}{{ end }}{{ end }}{{ end }}{{ include "r" . }}"#,
    ];
    for text in cases {
        let out = std::thread::Builder::new()
            .stack_size(options.max_nesting * super::STACK_PER_NESTING)
            .spawn(move || {
                let mut set = Templates::new("root", with_include(FuncMap::sprig()), options);
                set.parse("t", text)?;
                set.execute("t", Value::Bool(true))
            })
            .map(|h| h.join());
        let Ok(Ok(Err(e))) = out else {
            panic!("recursion did not end in an error: {text}");
        };
        let message = e.to_string();
        assert!(
            message.ends_with("exceeded crunch's maximum nesting of templates and includes (1000)"),
            "{message}"
        );
    }
}

#[test]
fn template_depth_is_per_execution_as_in_go() {
    let options = Options {
        max_depth: 50,
        ..Options::helm()
    };
    let run = |text: &str| {
        let mut set = Templates::new("root", with_include(FuncMap::sprig()), options);
        set.parse("t", text)?;
        set.execute("t", Value::Int(0))
    };
    let err = run(r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#)
        .map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err(r#"template: t:1:28: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (50)"#.to_string())
    );
    // Each `include` is a fresh execution: 80 nested includes pass a depth limit of 50.
    let text = r#"{{ define "r" }}{{ if lt . 80 }}{{ include "r" (add1 .) }}{{ else }}{{ . }}{{ end }}{{ end }}{{ include "r" . }}"#;
    assert_eq!(run(text), Ok("80".to_string()));
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
