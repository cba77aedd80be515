//! Unit tests of the YAML layer: resolution, decoding, limits and the emitters.

use serde_json::json;

use super::*;

fn v2(text: &str) -> Value {
    parse_document(text, Dialect::GoYamlV2).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn v3(text: &str) -> Value {
    parse_document(text, Dialect::GoYamlV3).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn v2_resolves_yaml_1_1_scalars() {
    assert_eq!(
        v2("[yes, No, on, OFF, y, n, true, ~, null, '', 0755, 0x1F, 1_000, 08, 1e3, .5]"),
        json!([
            true, false, true, false, true, false, true, null, null, "", 493, 31, 1000, 8.0,
            1000.0, 0.5
        ])
    );
}

#[test]
fn v3_keeps_yaml_1_1_booleans_as_strings() {
    assert_eq!(
        v3("[yes, on, y, true, 0755, 0o17]"),
        json!(["yes", "on", "y", true, 493, 15])
    );
}

#[test]
fn strings_that_are_not_numbers_stay_strings() {
    assert_eq!(
        v2("[190:20:30, 2001-12-14, 1e400, 0x, 1.2.3, '1', \"2\"]"),
        json!(["190:20:30", "2001-12-14", "1e400", "0x", "1.2.3", "1", "2"])
    );
}

#[test]
fn large_integers_use_u64_then_float() {
    assert_eq!(
        v2("9223372036854775808"),
        json!(9_223_372_036_854_775_808_u64)
    );
    assert_eq!(v2("-9223372036854775808"), json!(i64::MIN));
    assert_eq!(
        v2("18446744073709551616"),
        json!(18_446_744_073_709_551_616.0)
    );
}

#[test]
fn keys_become_strings_as_sigs_yaml_does() {
    assert_eq!(
        v2("{on: a, 1: b, 1.5: c, 3.14159265358979: d, false: e}"),
        json!({"true": "a", "1": "b", "1.5": "c", "3.1415927": "d", "false": "e"})
    );
    let err = parse_document("{1: a}", Dialect::GoYamlV3).unwrap_err();
    assert!(err.to_string().contains("unsupported type"), "{err}");
}

#[test]
fn merge_keys_follow_each_go_yaml() {
    let text = "a: &a {k: 1, m: 1}\nb: &b {k: 2, p: 2}\nx:\n  k: 0\n  <<: [*a, *b]\n";
    // go-yaml v2 lets a merge override an explicit key written before it.
    assert_eq!(v2(text)["x"], json!({"k": 1, "m": 1, "p": 2}));
    assert_eq!(v3(text)["x"], json!({"k": 0, "m": 1, "p": 2}));
}

#[test]
fn kyaml_drops_the_first_key_spelled_merge() {
    let text = "b: &b {a: 1}\nq: {\"<<\": *b, c: 3}\nr: {! <<: *b}\n";
    // go-yaml v2 keeps a quoted `<<` as a key and merges `! <<`.
    assert_eq!(v2(text)["q"], json!({"<<": {"a": 1}, "c": 3}));
    assert_eq!(v2(text)["r"], json!({"a": 1}));
    // kyaml deletes the quoted key; `!` on a plain scalar is no tag at all in go-yaml v3.
    assert_eq!(v3(text)["q"], json!({"c": 3}));
    assert_eq!(v3(text)["r"], json!({"a": 1}));
    assert_eq!(v3("[! 12, ! '12']"), json!([12, "12"]));
    let err = parse_document("{<<: {a: 1}, <<: {b: 2}}", Dialect::GoYamlV3).unwrap_err();
    assert_eq!(err.to_string(), "yaml: duplicate merge key");
}

#[test]
fn nel_is_a_line_break_and_directives_are_yaml_1_1() {
    assert_eq!(
        v2("x: [a\u{85}b, 'c\u{85}\u{85}d']"),
        json!({"x": ["a b", "c\nd"]})
    );
    assert_eq!(
        v2("%YAML 1.1\n%TAG !e! tag:e,2000:\n--- {a: 1}"),
        json!({"a": 1})
    );
    for (text, message) in [
        ("%YAML 1.2\n--- 1", "found incompatible YAML document"),
        ("%FOO\n--- 1", "found unknown directive name"),
        (
            "a\n...\n%YAML 1.2\n--- 1",
            "found incompatible YAML document",
        ),
    ] {
        let err = parse_stream(text, Dialect::GoYamlV2).unwrap_err();
        assert_eq!(err.message(), message, "{text:?}");
    }
}

#[test]
fn continuation_lines_left_of_their_block_read_as_in_go_yaml() {
    let text = "x:\n  a: [1,\n2]\n  b: \"p\r \r,q\"\n  c: 'it''s\nx'\n  d: 1\n";
    assert_eq!(
        v2(text),
        json!({"x": {"a": [1, 2], "b": "p\n,q", "c": "it's x", "d": 1}})
    );
}

#[test]
fn duplicate_keys_last_wins_in_v2_and_fail_in_v3() {
    assert_eq!(v2("a: 1\na: 2\n"), json!({"a": 2}));
    let err = parse_document("a: 1\na: 2\n", Dialect::GoYamlV3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined at line 1"
    );
}

#[test]
fn strict_v2_fails_on_a_key_set_twice() {
    let strict = |text: &str| crate::parse_document_strict(text).map_err(|e| e.to_string());
    assert_eq!(strict("a: 1\nb: [x]\n"), Ok(json!({"a": 1, "b": ["x"]})));
    assert_eq!(
        strict("a: 1\nb: 2\na:\n  - 3\n"),
        Err("yaml: unmarshal errors:\n  line 4: key \"a\" already set in map".to_string())
    );
    // A merged key is set too: explicit before or after the merge, or merged twice.
    for text in [
        "base: &b {a: 1}\nm:\n  a: 2\n  <<: *b\n",
        "base: &b {a: 1}\nm:\n  <<: *b\n  a: 2\n",
        "base: &b {a: 1}\nm:\n  <<: [*b, *b]\n",
    ] {
        let err = strict(text).unwrap_err();
        assert!(
            err.contains("key \"a\" already set in map"),
            "{text}: {err}"
        );
    }
    // Nested mappings are checked, distinct keys are not confused.
    assert!(strict("p:\n  q: 1\n  q: 2\n").is_err());
    assert_eq!(
        strict("p: {q: 1}\nq: {p: 2}\n"),
        Ok(json!({"p": {"q": 1}, "q": {"p": 2}}))
    );
}

#[test]
fn streams_and_first_document() {
    assert_eq!(
        parse_stream("a: 1\n---\n---\nb: 2\n", Dialect::GoYamlV2).ok(),
        Some(vec![json!({"a": 1}), Value::Null, json!({"b": 2})])
    );
    assert_eq!(parse_stream("", Dialect::GoYamlV2).ok(), Some(vec![]));
    assert_eq!(v2("a: 1\n---\nb: [\n"), json!({"a": 1}));
    assert_eq!(v2(""), Value::Null);
}

#[test]
fn non_finite_floats_fail_like_json_marshal() {
    let err = parse_document("x: .inf", Dialect::GoYamlV2).unwrap_err();
    assert_eq!(err.to_string(), "json: unsupported value: +Inf");
}

#[test]
fn kyaml_timestamps_become_rfc3339() {
    assert_eq!(
        v3("[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10]"),
        json!([
            "2001-12-14T00:00:00Z",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10"
        ])
    );
    assert_eq!(
        v3("t: 2001-12-14 21:59:43.10")["t"],
        json!("2001-12-14T21:59:43.1Z")
    );
}

#[test]
fn kyaml_folded_scalars_gain_go_yaml_v3_newline() {
    let text = "x: >\n  a\n    b\n  c\n";
    assert_eq!(v2(text)["x"], json!("a\n  b\nc\n"));
    assert_eq!(v3(text)["x"], json!("a\n\n  b\nc\n"));
}

#[test]
fn billion_laughs_fails_fast() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut previous = 'a';
    for name in 'b'..='k' {
        text.push_str(&format!(
            "{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
        ));
        previous = name;
    }
    let err = parse_document(&text, Dialect::GoYamlV2).unwrap_err();
    assert_eq!(err.message(), "document contains excessive aliasing");
}

#[test]
fn moderate_alias_use_is_fine() {
    let text = "base: &b {a: 1, b: [1, 2, 3]}\nitems: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
    assert_eq!(v2(text)["items"].as_array().map(Vec::len), Some(8));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse_document(&text, Dialect::GoYamlV2).is_err());
    let block: String = (0..1500)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    assert!(parse_document(&block, Dialect::GoYamlV2).is_err());
}

#[test]
fn nesting_below_the_limit_works_on_a_small_stack() {
    const DEPTH: usize = 250;
    let block: String = (0..DEPTH)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let flow = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    // Test threads have 2 MiB stacks; decoding and printing recurse once per level.
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for text in [block, flow] {
                let v = parse_document(&text, Dialect::GoYamlV2).map_err(|e| e.to_string())?;
                let printed = to_helm_yaml(&v);
                let _ = to_go_json(&v, JsonStyle::Pretty);
                parse_document(&printed, Dialect::GoYamlV2).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
    let result = worker.map(|handle| handle.join());
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse_document("a: 1\n b: 2\n", Dialect::GoYamlV2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "yaml: line 2: mapping values are not allowed in this context"
    );
    assert_eq!((err.line(), err.column()), (Some(2), Some(3)));
    let err = parse_document("a:\n  b: 1\n c: 2\n", Dialect::GoYamlV2).unwrap_err();
    // go-yaml's parser errors name the line before the problem.
    assert_eq!(err.to_string(), "yaml: line 2: did not find expected key");
    assert_eq!(err.line(), Some(3));
}

#[test]
fn go_yaml_leniency_and_strictness_beyond_saphyr() {
    // A tab may separate `:` from its value in go-yaml; saphyr alone rejects it.
    assert_eq!(v2("a:\tb\nc:\t\td e\n"), json!({"a": "b", "c": "d e"}));
    // `\/` is YAML 1.2 only; go-yaml rejects it.
    let err = parse_document("x: \"a\\/b\"\n", Dialect::GoYamlV2).unwrap_err();
    assert_eq!(err.to_string(), "yaml: found unknown escape character");
    assert_eq!(v2("x: \"a\\\\/b\"\n"), json!({"x": "a\\/b"}));
}

#[test]
fn helm_yaml_folds_nel_as_go_yaml_reads_it_back() {
    assert_eq!(to_helm_yaml(&json!("a \u{85} b")), "a b\n");
    assert_eq!(to_helm_yaml(&json!("a\u{85}\u{85}b")), "|-\n  a\n  b\n");
    assert_eq!(to_helm_yaml(&json!({"k\u{85}": 1})), "");
}

#[test]
fn malformed_inputs_never_panic() {
    for text in [
        "\t",
        "[",
        "{",
        "&",
        "*",
        "!",
        "'",
        "\"",
        "|",
        ">",
        "? ",
        ": ",
        "- - -",
        "a: &x",
        "*x: 1",
        "!!binary",
        "!!int",
        "--- |\n\t",
        "%TAG",
        "{a: [}",
        "\u{feff}a: 1",
        "a: \"\\u12\"",
        "a: !<x> b",
        "<<: *x",
        "<<: [1]",
        "x: !!float 1.5e999",
        "? [a]: 1",
    ] {
        let _ = parse_stream(text, Dialect::GoYamlV2);
        let _ = parse_stream(text, Dialect::GoYamlV3);
    }
}

#[test]
fn helm_yaml_layout() {
    let v = json!({"b": [1, {"c": "yes", "d": []}], "a": {"x": "multi\nline\n", "e": {}}});
    assert_eq!(
        to_helm_yaml(&v),
        "a:\n  e: {}\n  x: |\n    multi\n    line\nb:\n- 1\n- c: \"yes\"\n  d: []\n"
    );
    assert_eq!(to_helm_yaml(&Value::Null), "null\n");
    assert_eq!(to_helm_yaml(&json!("")), "\"\"\n");
    assert_eq!(to_helm_yaml(&json!("a\u{7f}")), "");
    assert!(marshal(&json!("a\u{7f}")).is_err());
}

#[test]
fn helm_yaml_numbers_go_through_json() {
    let v = json!([
        1_000_000.0,
        1e21,
        0.00001,
        1.5,
        -0.0,
        12_345_678_901_234_567_890.0_f64,
        7
    ]);
    assert_eq!(
        to_helm_yaml(&v),
        "- 1000000\n- 1e+21\n- 1e-05\n- 1.5\n- 0\n- 12345678901234567000\n- 7\n"
    );
}

#[test]
fn helm_yaml_quoting() {
    let v = json!([
        "yes",
        "0755",
        "a: b",
        "x ",
        "",
        "-",
        "2001-12-14",
        "1:20",
        "<<",
        "a\tb"
    ]);
    assert_eq!(
        to_helm_yaml(&v),
        "- \"yes\"\n- \"0755\"\n- 'a: b'\n- 'x '\n- \"\"\n- '-'\n- \"2001-12-14\"\n- \"1:20\"\n- <<\n- \"a\\tb\"\n"
    );
}

#[test]
fn go_json_styles() {
    let v = json!({"b": "<&>", "a": [1.0, 1e21, 1e-7], "c": {}, "d": "\u{2028}"});
    assert_eq!(
        to_go_json(&v, JsonStyle::Compact),
        r#"{"a":[1,1e+21,1e-7],"b":"\u003c\u0026\u003e","c":{},"d":"\u2028"}"#
    );
    assert_eq!(
        to_go_json(&v, JsonStyle::Raw),
        r#"{"a":[1,1e+21,1e-7],"b":"<&>","c":{},"d":"\u2028"}"#
    );
    assert_eq!(
        to_go_json(&json!({"a": [1, {}], "b": []}), JsonStyle::Pretty),
        "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"
    );
}

#[test]
fn line_and_paragraph_separators_are_line_breaks() {
    assert_eq!(
        v2("x: [a\u{2028}  b, 'c \u{2029} d', \"e\n  \u{2028}f\"]\nz: |\n  g\u{2028}  h\n"),
        json!({"x": ["a\u{2028}b", "c\u{2029}d", "e\u{2028}f"], "z": "g\u{2028}h\n"})
    );
    assert_eq!(v2("x: 1 # c\u{2028}z: 2"), json!({"x": 1, "z": 2}));
    assert_eq!(
        v3("x: >\n  a\u{2028}  b\n  c\n"),
        json!({"x": "a\u{2028}b c\n"})
    );
}

/// Rebuilding a scalar from its source, as done for scalars holding LS or PS, gives
/// saphyr's own value on text without them.
#[test]
fn rebuilt_scalars_agree_with_saphyr() {
    use saphyr_parser::{Event, Parser};
    let text = "a: plain  text\n  continued\n\n  after blank\nb: 'it''s\n  folded\n\n  x'\nc: \"esc \\t\\u00e9\\\n  joined \\\"q\\\"\n\n  end \"\nd: |+\n  lit\n\n   more\n\n\ne: >-\n\n  fold\n  ed\n\n   indented\n  back\n  tail\nf: > # c > d\n  g\n  h\n";
    let mut parser = Parser::new_from_str(text);
    let mut previous_end = 0;
    let mut checked = 0;
    while let Some(Ok((event, span))) = parser.next_event() {
        let byte = |i: usize| text.char_indices().nth(i).map_or(text.len(), |(b, _)| b);
        if let Event::Scalar(value, style, ..) = event {
            let source = breaks::Source {
                text,
                after: byte(previous_end),
                start: byte(span.start.index()),
                end: byte(span.end.index()),
            };
            assert_eq!(
                breaks::rebuild(&source, style, &value).as_deref(),
                Some(value.as_ref()),
                "{style:?} at {}",
                span.start.index()
            );
            checked += 1;
        }
        previous_end = span.end.index();
    }
    assert_eq!(checked, 12);
}

#[test]
fn byte_order_marks_as_go_yaml_reads_them() {
    assert_eq!(v2("\u{feff}x: 1"), json!({"x": 1}));
    assert_eq!(
        v2("x: [a\u{feff}b, \u{feff}c]\n\u{feff}y: 1 # \u{feff}"),
        json!({"x": ["a\u{feff}b", "\u{feff}c"], "\u{feff}y": 1})
    );
    assert_eq!(v3("\u{feff}\u{feff}x: 1"), json!({"\u{feff}x": 1}));
    let stream = parse_stream(
        "a: 1\n---\n\u{feff}b: 2\n--- # c\n\u{feff}c: 3\n",
        Dialect::GoYamlV3,
    );
    assert_eq!(
        stream,
        Ok(vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})])
    );
    // `\u{feff}---` is no document marker but a plain scalar.
    assert!(parse_stream("a: 1\n\u{feff}---\nb: 2\n", Dialect::GoYamlV2).is_err());
}

#[test]
fn flow_plain_scalars_end_as_in_go_yaml() {
    assert_eq!(
        v2("x: [12:, a:b, a::, {a:}, {m: n:, o: p}, ?q, {?r: s}]"),
        json!({"x": ["12:", "a:b", "a::", {"a:": null}, {"m": "n:", "o": "p"}, {"q": null}, {"r": "s"}]})
    );
    assert_eq!(v2("x: a:,b"), json!({"x": "a:,b"}));
    for (text, message) in [
        ("x: [:a]", "yaml: did not find expected node content"),
        ("x: [: b]", "yaml: did not find expected node content"),
        ("x: [a?b]", "yaml: did not find expected ',' or ']'"),
        ("x: {a: b?c}", "yaml: did not find expected ',' or '}'"),
        ("x: [a: b: c]", "yaml: did not find expected ',' or ']'"),
    ] {
        let error = parse_document(text, Dialect::GoYamlV3)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(error, Err(message.to_owned()), "{text}");
    }
}

/// go-yaml v3's node tree: read with comments, written back by the v3 emitter.
mod v3_tree {
    use crate::tree::{self, Kind, Node};

    /// Text that go-yaml v3's encoder (indent `indent`) writes as it is.
    fn round_trip(text: &str, indent: usize) {
        let docs = tree::read(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(tree::write(&docs, indent), text);
    }

    #[test]
    fn sequences_are_indented_under_their_key() {
        round_trip("a:\n    - 1\n    - b: 2\n      c: 3\nd: {}\ne: []\n", 4);
        round_trip(
            "sops:\n  age:\n    - recipient: age1x\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n        YWdl\n        -----END AGE ENCRYPTED FILE-----\n  version: 3.10.2\n",
            2,
        );
    }

    #[test]
    fn block_scalars_keep_their_hints_with_the_indent() {
        round_trip(
            "a: |-\n    no final break\nb: |4+\n      leading space\n\n",
            4,
        );
    }

    #[test]
    fn comments_stay_where_v3_puts_them() {
        round_trip(
            "# head of a\na: 1 # line of 1\nb:\n    # head of c\n    c: 2\n    # foot of the inner mapping\nd:\n    - x\n    # head of y\n    - y\n",
            4,
        );
        let docs = tree::read("a:\n    b: 1\n    # tail\nc: 2 # inline\n").unwrap();
        let Kind::Mapping(entries) = &docs[0].kind else {
            panic!("{docs:?}")
        };
        let Kind::Mapping(inner) = &entries[0].1.kind else {
            panic!("{docs:?}")
        };
        assert_eq!(inner[0].0.foot_comment, "# tail");
        assert_eq!(entries[1].1.line_comment, "# inline");
    }

    #[test]
    fn a_hash_inside_a_block_scalar_is_text() {
        round_trip(
            "m: |\n    block # not a comment\n    # nor this\nn: x # this is\n",
            4,
        );
        let docs = tree::read("m: |\n  a # b\nn: x\n").unwrap();
        let Kind::Mapping(entries) = &docs[0].kind else {
            panic!()
        };
        assert!(
            entries
                .iter()
                .all(|(k, v)| k.line_comment.is_empty() && v.line_comment.is_empty())
        );
    }

    #[test]
    fn the_first_comment_after_a_sequence_is_its_foot() {
        // As go-yaml v3 reads it (sops 3.11 moves such a comment into the list): the
        // first comment line after the last item belongs to the sequence however little
        // it is indented; a later, shallower line goes to the enclosing mapping.
        let docs = tree::read("a:\n    c:\n        - x\n    # first\n  # second\nd: 1\n").unwrap();
        let Kind::Mapping(top) = &docs[0].kind else {
            panic!()
        };
        let Kind::Mapping(a) = &top[0].1.kind else {
            panic!()
        };
        let Kind::Sequence(items) = &a[0].1.kind else {
            panic!()
        };
        assert_eq!(items[0].foot_comment, "# first");
        assert_eq!(top[0].0.foot_comment, "# second");
    }

    #[test]
    fn documents_are_separated_by_dashes() {
        round_trip("a: 1\n---\nb: 2\n", 4);
    }

    #[test]
    fn strings_are_quoted_as_v3_quotes_them() {
        let docs = vec![Node::mapping(vec![
            (Node::string("n"), Node::string("yes")),
            (Node::string("when"), Node::string("2024-01-01T00:00:00Z")),
            (Node::string("empty"), Node::string("")),
            (Node::string("num"), Node::string("0755")),
            (Node::string("float"), Node::float(1.0)),
            (Node::string("big"), Node::float(1e21)),
            (Node::string("text"), Node::string("two\nlines")),
            (Node::string("plain"), Node::string("a b: c")),
            (Node::string("at"), Node::time("2024-01-01T00:00:00Z")),
            (Node::string("merge"), Node::string("<<")),
            (
                Node::string("long"),
                Node::string(
                    "v3 sets no line width, so a long plain scalar like this one stays on one line however far it goes past the eightieth column",
                ),
            ),
        ])];
        assert_eq!(
            tree::write(&docs, 4),
            "\"n\": \"yes\"\nwhen: \"2024-01-01T00:00:00Z\"\nempty: \"\"\nnum: \"0755\"\nfloat: 1\nbig: 1e+21\ntext: |-\n    two\n    lines\nplain: 'a b: c'\nat: 2024-01-01T00:00:00Z\nmerge: !!merge <<\nlong: v3 sets no line width, so a long plain scalar like this one stays on one line however far it goes past the eightieth column\n"
        );
    }

    #[test]
    fn scalars_decode_as_v3_decodes_into_interface() {
        use crate::tree::Decoded;
        let docs = tree::read("[1, 1.5, true, yes, ~, '1', 2001-12-14, !!float 2]").unwrap();
        let Kind::Sequence(items) = &docs[0].kind else {
            panic!()
        };
        let decoded: Vec<Decoded> = items
            .iter()
            .map(|n| match &n.kind {
                Kind::Scalar(s) => s.decode().unwrap(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            decoded,
            [
                Decoded::Int(1),
                Decoded::Float(1.5),
                Decoded::Bool(true),
                Decoded::Str("yes".into()),
                Decoded::Null,
                Decoded::Str("1".into()),
                Decoded::Timestamp("2001-12-14T00:00:00Z".into()),
                Decoded::Float(2.0),
            ]
        );
    }
}
