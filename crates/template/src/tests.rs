//! Executor tests that need no oracle: objects, missing-key modes, shared maps, depth.

use std::rc::Rc;

use super::{
    Budget, Error, FuncMap, List, Map, MapType, MissingKey, Object, Options, Signature, Templates,
    Type, Value,
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

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Get").then(|| Signature::new(&[Type::String]))
    }

    fn call_method(&self, _name: &str, args: &[Value]) -> Result<Value, String> {
        match args.first().and_then(Value::as_str) {
            Some("a.txt") => Ok(Value::from("content")),
            path => Err(format!("no file {}", path.unwrap_or_default())),
        }
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
fn object_methods_check_their_arguments_as_go_does() {
    let err = |text: &str| render(text, data(), Options::helm()).unwrap_err();
    assert_eq!(
        err("{{ .Files.Get }}"),
        r#"template: t:1:9: executing "t" at <.Files.Get>: wrong number of args for Get: want 1 got 0"#
    );
    assert_eq!(
        err("{{ .Files.Get 1 }}"),
        r#"template: t:1:14: executing "t" at <1>: expected string; found 1"#
    );
    assert_eq!(
        err("{{ .Files.Count 1 }}"),
        r#"template: t:1:9: executing "t" at <.Files.Count>: Count has arguments but cannot be invoked as function"#
    );
}

/// A named map type with methods, as an embedding program declares one: `Get` returns
/// `(interface{}, error)`, `Keys` shadows the key of the same name.
fn typed_data() -> Value {
    let map_type = MapType::new("pkg.Table")
        .with_method("Keys", Signature::new(&[]), |m, _| {
            Ok(Value::List(List::strings(m.keys())))
        })
        .with_method("Get", Signature::new(&[Type::String]), |m, args| {
            let key = args[0].as_str().unwrap_or_default();
            m.get(key).ok_or_else(|| format!("no key {key:?}"))
        });
    let table = Map::new();
    table.insert("Keys", Value::from("a key"));
    table.insert("n", Value::Int(1));
    let top = Map::new();
    top.insert("t", Value::Map(table.with_type(Rc::new(map_type))));
    top.insert(
        "strings",
        Value::Map(Map::nil_of(Rc::new(MapType::strings()))),
    );
    Value::Map(top)
}

#[test]
fn named_map_types_have_methods_that_shadow_keys() {
    let ok = |text: &str| render(text, typed_data(), Options::helm());
    let err = |text: &str| ok(text).unwrap_err();
    assert_eq!(
        ok(r#"{{ .t.Keys }} {{ index .t "Keys" }} {{ .t.Get "n" }} {{ "n" | .t.Get }} {{ .t.n }}"#),
        Ok("[Keys n] a key 1 1 1".to_string())
    );
    // The type travels with the map through `dict`; `merge` returns a plain map.
    assert_eq!(
        ok(
            r#"{{ (dict "v" .t).v.Keys }} {{ typeOf (merge (dict) .t) }} {{ (merge (dict) .t).Keys }}"#
        ),
        Ok("[Keys n] map[string]interface {} a key".to_string())
    );
    assert_eq!(
        err(r#"{{ .t.Get "x" }}"#),
        r#"template: t:1:5: executing "t" at <.t.Get>: error calling Get: no key "x""#
    );
    assert_eq!(
        err("{{ .t.Keys 1 }}"),
        r#"template: t:1:5: executing "t" at <.t.Keys>: wrong number of args for Keys: want 0 got 1"#
    );
    assert_eq!(
        err("{{ .t.Get .t }}"),
        r#"template: t:1:10: executing "t" at <.t>: wrong type for value; expected string; got pkg.Table"#
    );
    assert_eq!(
        err("{{ .t.n 1 }}"),
        r#"template: t:1:5: executing "t" at <.t.n>: n is not a method but has arguments"#
    );
}

#[test]
fn string_maps_read_missing_keys_as_empty_strings_and_nil_maps_marshal_as_null() {
    assert_eq!(
        render(
            r#"{{ .strings.x | quote }} {{ typeOf (index .strings "x") }} {{ toJson .strings }} {{ printf "%#v" .strings }} {{ len .strings }}"#,
            typed_data(),
            Options::helm(),
        ),
        Ok(r#""" string null map[string]string(nil) 0"#.to_string())
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

/// `tpl` as Helm defines it (without its error wording).
fn with_tpl(mut funcs: FuncMap) -> FuncMap {
    funcs.insert(
        "tpl",
        Signature::new(&[Type::String, Type::Any]),
        |ctx, a| {
            ctx.execute_text(a[0].as_str().unwrap_or_default(), a[1].clone())
                .map(Value::from)
                .map_err(|e| e.to_string())
        },
    );
    funcs
}

#[test]
fn caller_functions_reach_the_running_set() {
    let funcs = with_tpl(with_include(FuncMap::sprig()));
    let mut set = Templates::new("root", funcs, Options::helm());
    let text = r#"{{ define "d" }}[{{ . }}]{{ end }}{{ include "d" 1 }}{{ tpl "{{ define \"x\" }}{{ end }}{{ include \"d\" 2 }}" . }}"#;
    assert_eq!(set.parse("t", text), Ok(()));
    assert_eq!(set.execute("t", Value::Nil), Ok("[1][2]".to_string()));
    // `tpl` parsed into a copy: the set itself did not gain "x".
    assert!(!set.contains("x"));
}

#[test]
fn tpl_text_runs_itself_even_when_empty() {
    // Each text becomes the copy's template "root"; an empty or blank one must not leave
    // the calling text under that name to run again. A low nesting limit turns such a
    // recursion into an error within the test thread's stack.
    let options = Options {
        max_nesting: 50,
        ..Options::helm()
    };
    let mut set = Templates::new("root", with_tpl(with_include(FuncMap::sprig())), options);
    let text = r#"[{{ tpl "{{ tpl \"\" . }}" . }}|{{ tpl "{{ tpl \" \" . }}" . }}|{{ tpl "{{ tpl \"{{/* c */}}\" . }}" . }}]"#;
    assert_eq!(set.parse("t", text), Ok(()));
    assert_eq!(set.execute("t", Value::Nil), Ok("[| |]".to_string()));
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

fn budgeted(max_steps: u64, max_bytes: usize) -> Options {
    Options {
        budget: Budget {
            max_steps,
            max_bytes,
        },
        ..Options::default()
    }
}

#[test]
fn range_over_a_huge_integer_runs_lazily_within_the_budget() {
    // Found by fuzzing: the executor used to collect all n iterations first.
    let err = render(
        "{{ range 1000000000000 }}x{{ end }}",
        Value::Nil,
        budgeted(1000, 1 << 20),
    );
    assert_eq!(
        err.unwrap_err(),
        "template: t:1:9: executing \"t\" at <1000000000000>: exceeded crunch's execution \
         budget of 1000 steps"
    );
    let out = render(
        "{{ range $i := 1000000000000 }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
        Value::Nil,
        Options::default(),
    );
    assert_eq!(out.unwrap(), "012");
}

#[test]
fn the_budget_bounds_output_and_function_results() {
    let big = "{{ range 100 }}0123456789{{ end }}";
    assert_eq!(
        render(big, Value::Nil, budgeted(1000, 1000)).unwrap().len(),
        1000
    );
    let err = render(big, Value::Nil, budgeted(1000, 999)).unwrap_err();
    assert!(
        err.ends_with("output exceeds crunch's execution budget of 999 bytes"),
        "{err}"
    );
    let doubling = r#"{{ $s := "ab" }}{{ range 64 }}{{ $s = cat $s $s }}{{ end }}"#;
    let err = render(doubling, Value::Nil, budgeted(1000, 1 << 10)).unwrap_err();
    assert!(
        err.ends_with("error calling cat: result exceeds crunch's execution budget of 1024 bytes"),
        "{err}"
    );
}

#[test]
fn the_budget_counts_recursion_and_is_unlimited_by_default() {
    // 2^40 calls, none deeper than 40 levels.
    let tree = r#"{{ define "a" }}{{ if lt . 40 }}{{ template "a" (add . 1) }}{{ template "a" (add . 1) }}{{ end }}{{ end }}{{ template "a" 0 }}"#;
    let nested = "{{ range 1000 }}{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}{{ end }}";
    for text in [tree, nested] {
        let err = render(text, Value::Nil, budgeted(10_000, 1 << 20)).unwrap_err();
        assert!(
            err.ends_with("exceeded crunch's execution budget of 10000 steps"),
            "{err}"
        );
    }
    assert_eq!(Options::default().budget, Budget::UNLIMITED);
    assert_eq!(Options::helm().budget, Budget::UNLIMITED);
}

/// Found by fuzzing (see fuzz/README.md); expected texts from helm v4.
fn go(text: &str) -> Result<String, String> {
    render(text, Value::Nil, Options::default())
}

#[test]
fn repeat_overflow_is_gos_error_not_a_panic() {
    assert_eq!(
        go(r#"{{ repeat 4611686018427387904 "xx" }}"#).unwrap_err(),
        "template: t:1:3: executing \"t\" at <repeat 4611686018427387904 \"xx\">: error \
         calling repeat: strings: Repeat output length overflow"
    );
    assert_eq!(go(r#"{{ repeat 9223372036854775807 "" }}"#).unwrap(), "");
}

#[test]
fn printf_widths_beyond_a_million_are_gos_format_errors() {
    assert_eq!(
        go(r#"{{ printf "%100000000d|%9999999d|x" 1 }}"#).unwrap(),
        "%!(NOVERB)%!(EXTRA int=1)"
    );
    assert_eq!(
        go(r#"{{ printf "%*d|%.*d|" 1000001 1 2000000 2 }}"#).unwrap(),
        "%!(BADWIDTH)1|%!(BADPREC)2|"
    );
    assert_eq!(
        go(r#"{{ printf "%*d|%.*d|" 1000000 1 2 2 | len }}"#).unwrap(),
        "1000004"
    );
}

#[test]
fn json_of_a_cyclic_map_is_gos_cycle_error() {
    let text = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}{{ toJson $d | quote }} {{ $d.self.self.a }} {{ mustToJson $d }}"#;
    assert_eq!(
        go(text).unwrap_err(),
        "template: t:1:98: executing \"t\" at <mustToJson $d>: error calling mustToJson: \
         json: unsupported value: encountered a cycle via map[string]interface {}"
    );
    // `Value::to_json` (Helm's `toJson`, `toYaml`) checks the same way; 1000 levels
    // deep, on a stack like the render thread's.
    let encoded = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let d = Map::new();
            d.insert("self", Value::Map(d.clone()));
            let encoded = Value::Map(d.clone()).to_json().map_err(|e| e.to_string());
            d.remove("self");
            encoded
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        encoded.unwrap_err(),
        "json: unsupported value: encountered a cycle via map[string]interface {}"
    );
}

#[test]
fn integer_edges_of_sprig_are_gos_not_overflow_panics() {
    assert_eq!(
        go("{{ randInt -9223372036854775808 9223372036854775807 }}").unwrap_err(),
        "template: t:1:3: executing \"t\" at <randInt -9223372036854775808 \
         9223372036854775807>: error calling randInt: invalid argument to Intn"
    );
    let seqs = "{{ seq 9223372036854775807 -9223372036854775808 }}|{{ seq 1 1 3 4 }}|\
                {{ seq 9223372036854775804 5 9223372036854775806 }}";
    // Go's loops in the last `seq` and in this `untilStep` wrap around and run until
    // memory runs out; crunch stops at the overflow.
    assert_eq!(go(seqs).unwrap(), "||9223372036854775804");
    let until = "{{ untilStep -9223372036854775808 9223372036854775807 4611686018427387904 }}";
    assert_eq!(
        go(until).unwrap(),
        "[-9223372036854775808 -4611686018427387904 0 4611686018427387904]"
    );
}

#[test]
fn printf_precisions_past_rusts_limit_print_like_go() {
    let out = go(r#"{{ printf "%.1000000f" 1.5 }}"#).unwrap();
    assert_eq!(out.len(), 1_000_002);
    assert!(out.starts_with("1.5000") && out.bytes().skip(2).all(|b| b == b'0' || b == b'5'));
    // sha256 of helm's output.
    assert_eq!(
        go(r#"{{ printf "%.70000f" 0.1 | sha256sum }}|{{ printf "%.1100f" 5e-324 | sha256sum }}"#)
            .unwrap(),
        "4af298c39dfef62e44f64f8fbf505acb81cd8712259bfb111e48bb6edf4f42b3|\
         efbe9d8d9be26a02dc675f0b2c31287dbc91f42936ab4be919b4bb063c5fdfb6"
    );
    assert_eq!(
        go(r#"{{ printf "%.100000e" 0.1 | sha256sum }}|{{ printf "%.100000g" 0.1 | sha256sum }}"#)
            .unwrap(),
        "ebe90b72682630efeaa6f277b744d4315dee0204fa135a6d39c79d48118fd24b|\
         96db2f78fe4cd6af75a1ad444060e0f5bc0c712c17e8356f0355e09980b10716"
    );
}
