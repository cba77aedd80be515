//! Go's `encoding/json` output: sorted keys, Go's escaping and float formatting.

use serde_json::{Number, Value};

use super::JsonStyle;
use crunch_gostd::json::{format_float, write_string};

pub(crate) fn to_go_json(v: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    let mut writer = Writer {
        out: &mut out,
        escape_html: style != JsonStyle::Raw,
        pretty: style == JsonStyle::Pretty,
    };
    writer.value(v, 0);
    out
}

struct Writer<'a> {
    out: &'a mut String,
    escape_html: bool,
    pretty: bool,
}

impl Writer<'_> {
    fn value(&mut self, v: &Value, depth: usize) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.out.push_str(&number(n)),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    self.separator(i, depth + 1);
                    self.value(item, depth + 1);
                }
                self.close(items.is_empty(), depth);
                self.out.push(']');
            }
            Value::Object(map) => {
                self.out.push('{');
                // Go maps have no order; encoding/json sorts keys bytewise.
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                for (i, (key, item)) in entries.iter().enumerate() {
                    self.separator(i, depth + 1);
                    self.string(key);
                    self.out.push(':');
                    if self.pretty {
                        self.out.push(' ');
                    }
                    self.value(item, depth + 1);
                }
                self.close(map.is_empty(), depth);
                self.out.push('}');
            }
        }
    }

    /// Before element `i` of a collection: a comma, and in pretty mode a new indented line.
    fn separator(&mut self, i: usize, depth: usize) {
        if i > 0 {
            self.out.push(',');
        }
        self.newline(depth);
    }

    fn close(&mut self, empty: bool, depth: usize) {
        if !empty {
            self.newline(depth);
        }
    }

    fn newline(&mut self, depth: usize) {
        if self.pretty {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n("  ", depth));
        }
    }

    fn string(&mut self, s: &str) {
        write_string(self.out, s, self.escape_html);
    }
}

/// A JSON number as Go prints it: integers verbatim, floats by `encoding/json`'s rules.
pub(crate) fn number(n: &Number) -> String {
    match n.as_f64() {
        // serde_json holds finite floats only.
        Some(f) if n.is_f64() => format_float(f).unwrap_or_default(),
        _ => n.to_string(),
    }
}
