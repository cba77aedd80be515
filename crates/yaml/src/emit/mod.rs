//! The YAML writer of `sigs.k8s.io/yaml.Marshal`: a value goes through JSON, is read back
//! by go-yaml v2 and printed by go-yaml v2's emitter (a port of libyaml). Helm's `toYaml`
//! and `kubectl kustomize` both print this way.
//!
//! The emitter here follows libyaml's column/indent bookkeeping so that folding, quoting
//! and block-scalar decisions land on the same bytes.

mod analyze;
pub(crate) mod v3;
mod writer;

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::Dialect;
use super::error::{Error, Shape};
use super::json;
use super::resolve::{Resolved, is_base60_float, resolve};
pub(crate) use analyze::Analysis;
use writer::Writer;

/// Prints `v` as one YAML document, ending with a newline.
pub(crate) fn write(v: &Value) -> String {
    let mut writer = Writer::default();
    emit_node(&mut writer, v, Context::Root);
    writer.finish()
}

/// Fails where `sigs.k8s.io/yaml.Marshal` fails: a string holding a character that JSON
/// leaves raw but go-yaml's reader rejects (DEL, C1 controls, U+FFFE, U+FFFF), or a key
/// holding NEL (U+0085), which go-yaml reads as a line break inside a flow mapping key.
pub(crate) fn check_readable(v: &Value) -> Result<(), Error> {
    if has_unreadable_character(v) {
        return Err(Error::new(
            Shape::Decoder,
            None,
            "control characters are not allowed",
        ));
    }
    if has_key_with_nel(v) {
        return Err(Error::new(
            Shape::Parser,
            None,
            "did not find expected ',' or '}'",
        ));
    }
    Ok(())
}

fn has_key_with_nel(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_key_with_nel),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\u{85}') || has_key_with_nel(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

/// Whether go-yaml v2 would refuse to read `v` back from its JSON form.
fn has_unreadable_character(v: &Value) -> bool {
    let unreadable = |s: &str| {
        s.chars().any(
            |c| matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}'),
        )
    };
    match v {
        Value::String(s) => unreadable(s),
        Value::Array(items) => items.iter().any(has_unreadable_character),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| unreadable(k) || has_unreadable_character(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Where a node sits; libyaml's `root_context`, `sequence_context`, `mapping_context` and
/// `simple_key_context` flags, of which exactly one combination holds at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingValue,
    SimpleKey,
    /// A key too long or multi-line for `key: value`, written after `? `.
    ComplexKey,
}

/// The requested style before libyaml's checks (go-yaml's `stringv` choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

fn emit_node(w: &mut Writer, v: &Value, ctx: Context) {
    match v {
        Value::Null => emit_scalar(w, "null", Style::Plain, ctx),
        Value::Bool(b) => emit_scalar(w, if *b { "true" } else { "false" }, Style::Plain, ctx),
        Value::Number(n) => emit_scalar(w, &number_text(n), Style::Plain, ctx),
        Value::String(s) => emit_string(w, &through_json(s), ctx),
        Value::Array(items) if items.is_empty() => w.empty_flow("[]"),
        Value::Object(map) if map.is_empty() => w.empty_flow("{}"),
        Value::Array(items) => {
            // A sequence that is a mapping's value is not indented under its key.
            let indentless = ctx == Context::MappingValue && !w.indention();
            w.increase_indent(false, indentless);
            for item in items {
                w.write_indent();
                w.write_indicator("-", true, false, true);
                emit_node(w, item, Context::SequenceItem);
            }
            w.pop_indent();
        }
        Value::Object(map) => {
            w.increase_indent(false, false);
            // Keys are compared as go-yaml reads them back; their characters are collected
            // once since the comparison needs random access.
            let keys: Vec<(Cow<'_, str>, &Value)> = map
                .iter()
                .map(|(key, value)| (through_json(key), value))
                .collect();
            let chars: Vec<Vec<char>> = keys.iter().map(|(key, _)| key.chars().collect()).collect();
            let mut order: Vec<usize> = (0..keys.len()).collect();
            merge_sort(&mut order, |a, b| {
                key_order(&chars[a], &chars[b]) == Ordering::Less
            });
            for (key, value) in order.into_iter().map(|i| &keys[i]) {
                w.write_indent();
                if is_simple_key(key) {
                    emit_string(w, key, Context::SimpleKey);
                    w.write_indicator(":", false, false, false);
                } else {
                    w.write_indicator("?", true, false, true);
                    emit_string(w, key, Context::ComplexKey);
                    w.write_indent();
                    w.write_indicator(":", true, false, true);
                }
                emit_node(w, value, Context::MappingValue);
            }
            w.pop_indent();
        }
    }
}

/// A string as go-yaml v2 reads it back from `encoding/json`'s text. JSON escapes every
/// break but NEL (U+0085), which YAML 1.1 takes for a line break inside the double-quoted
/// scalar and folds: the spaces around a run of NELs go, and the run becomes one space
/// (a single NEL) or one newline per further NEL.
fn through_json(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ' ' && c != '\u{85}' {
            out.push(c);
            continue;
        }
        // A run of spaces and NELs: folded only if it holds a NEL.
        let mut run = String::from(c);
        while let Some(&next) = chars.peek().filter(|&&n| n == ' ' || n == '\u{85}') {
            run.push(next);
            chars.next();
        }
        match run.matches('\u{85}').count() {
            0 => out.push_str(&run),
            1 => out.push(' '),
            breaks => out.extend(std::iter::repeat_n('\n', breaks - 1)),
        }
    }
    Cow::Owned(out)
}

fn emit_string(w: &mut Writer, s: &str, ctx: Context) {
    emit_scalar(w, s, string_style(s), ctx);
}

/// libyaml's `check_simple_key` for a string key: one line and at most 128 bytes.
fn is_simple_key(key: &str) -> bool {
    key.len() <= 128 && !Analysis::of(key).multiline
}

/// A JSON number's text as `encoding/json` prints it, re-read by go-yaml v2 and printed by
/// its encoder: integers verbatim, floats in Go's `%g` (`1e+06` only for floats that JSON
/// printed with an exponent, since `1000000` reads back as an integer).
fn number_text(n: &serde_json::Number) -> String {
    let text = json::number(n);
    match resolve(&text, Dialect::GoYamlV2) {
        Resolved::Int(i) => i.to_string(),
        Resolved::Uint(u) => u.to_string(),
        Resolved::Float(f) => crunch_gostd::strconv::format_float(f, 'g', -1, 64),
        _ => text,
    }
}

/// go-yaml v2's `stringv`: literal for multi-line strings, double quotes for strings a
/// YAML 1.1 reader would take for another type, plain otherwise.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        return Style::Literal;
    }
    let plain_is_string = matches!(
        resolve(s, Dialect::GoYamlV2),
        Resolved::Str | Resolved::Merge
    );
    if plain_is_string && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

/// libyaml's `select_scalar_style`, then the write.
fn emit_scalar(w: &mut Writer, value: &str, requested: Style, ctx: Context) {
    let analysis = Analysis::of(value);
    let simple_key = ctx == Context::SimpleKey;
    let mut style = requested;
    if simple_key && analysis.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!analysis.block_plain_allowed || (value.is_empty() && simple_key))
    {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!analysis.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    w.increase_indent(true, false);
    let allow_breaks = !simple_key;
    match style {
        Style::Plain => w.write_plain(value, allow_breaks),
        Style::SingleQuoted => w.write_single_quoted(value, allow_breaks),
        Style::DoubleQuoted => w.write_double_quoted(value, allow_breaks),
        Style::Literal => w.write_literal(value, ""),
    }
    w.pop_indent();
}

/// A stable merge sort that tolerates a comparison that is not a total order: go-yaml's
/// key order is not transitive for some key sets (`a10`, `a1b`, `a01`, `a9`), where Go's
/// result depends on map iteration order anyway; the standard sort may panic there.
fn merge_sort<T: Copy>(items: &mut [T], less: impl Fn(T, T) -> bool + Copy) {
    if items.len() < 2 {
        return;
    }
    let mid = items.len() / 2;
    merge_sort(&mut items[..mid], less);
    merge_sort(&mut items[mid..], less);
    let mut merged = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < items.len() {
        if less(items[j], items[i]) {
            merged.push(items[j]);
            j += 1;
        } else {
            merged.push(items[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&items[i..mid]);
    merged.extend_from_slice(&items[j..]);
    items.copy_from_slice(&merged);
}

/// go-yaml v2's key order (`keyList.Less` for strings): runs of digits compare as numbers,
/// non-letters sort before letters, letters compare by code point.
fn key_order(a: &[char], b: &[char]) -> Ordering {
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            continue;
        }
        let (a_letter, b_letter) = (a[i].is_alphabetic(), b[i].is_alphabetic());
        if a_letter && b_letter {
            return a[i].cmp(&b[i]);
        }
        if a_letter || b_letter {
            return if b_letter {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Both non-letters: compare the digit runs starting here as numbers. A zero digit
        // after a non-zero digit run keeps both sides equal-weighted (Go's `an = bn = 1`).
        let mut a_num: i64 = 0;
        let mut b_num: i64 = 0;
        if a[i] == '0' || b[i] == '0' {
            let mut j = i;
            while j > 0 && a[j - 1].is_ascii_digit() {
                j -= 1;
                if a[j] != '0' {
                    a_num = 1;
                    b_num = 1;
                    break;
                }
            }
        }
        let run = |s: &[char], mut n: i64| {
            let mut end = i;
            while end < s.len() && s[end].is_ascii_digit() {
                n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(s[end] as u8 - b'0'));
                end += 1;
            }
            (n, end)
        };
        let (a_num, a_end) = run(a, a_num);
        let (b_num, b_end) = run(b, b_num);
        if a_num != b_num {
            return a_num.cmp(&b_num);
        }
        if a_end != b_end {
            return a_end.cmp(&b_end);
        }
        return a[i].cmp(&b[i]);
    }
    a.len().cmp(&b.len())
}
