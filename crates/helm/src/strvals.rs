//! Helm's `strvals`: the `key.path[0]=value,…` lines of `--set`, `--set-string`,
//! `--set-json`, `--set-file` and `--set-literal`, merged into the user values with Helm's
//! typing and Helm's error messages.

use serde_json::{Map, Value};

use super::error::{Error, ErrorKind};
use super::values::{float_numbers, merge_maps};
use crunch_gostd::strconv::{quote, quote_rune};

/// Highest list index a line may set (Helm's `MaxIndex`).
const MAX_INDEX: i64 = 65536;
/// Deepest `a.b.c…` nesting a line may use (Helm's `MaxNestedNameLevel`).
const MAX_NESTING: usize = 30;

/// The flag a strvals line came from; it decides how values are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetFlag {
    /// `--set`: `true`/`false`/`null` and decimal integers (`int64`) are typed.
    Set,
    /// `--set-string`: every value is a string.
    SetString,
    /// `--set-json`: values are JSON (numbers `float64`), or the line is one JSON object.
    SetJson,
    /// `--set-file`: values are paths; the files' contents become strings.
    SetFile,
    /// `--set-literal`: one `key=value`, the value taken verbatim (commas and all).
    SetLiteral,
}

impl SetFlag {
    /// Every flag, in the order Helm applies them (after all `-f` files).
    pub const HELM_ORDER: [SetFlag; 5] = [
        SetFlag::SetJson,
        SetFlag::Set,
        SetFlag::SetString,
        SetFlag::SetFile,
        SetFlag::SetLiteral,
    ];

    /// The flag as typed on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SetFlag::Set => "--set",
            SetFlag::SetString => "--set-string",
            SetFlag::SetJson => "--set-json",
            SetFlag::SetFile => "--set-file",
            SetFlag::SetLiteral => "--set-literal",
        }
    }
}

/// Reads a `--set-file` path; `Err` is the message Helm would print (`open PATH: …`).
pub type FileReader<'a> = dyn FnMut(&str) -> Result<String, String> + 'a;

/// Parses one strvals `line` given to `flag` and merges it into `values`, as Helm's
/// `MergeValues` does for each occurrence of the flag. `read_file` is used by
/// [`SetFlag::SetFile`] only.
///
/// # Errors
/// Helm's messages: `failed parsing --set data: key "a" has no value`, bad list indexes,
/// a path through a value of the wrong type, unreadable files, malformed JSON.
pub fn apply_set(
    flag: SetFlag,
    line: &str,
    values: &mut Map<String, Value>,
    read_file: &mut FileReader<'_>,
) -> Result<(), Error> {
    let fail = |message: String| Error::new(ErrorKind::Values, message);
    if flag == SetFlag::SetJson {
        let trimmed = line.trim();
        if trimmed.starts_with('{') {
            let object: Map<String, Value> = serde_json::from_str(trimmed)
                .map_err(|_| fail(format!("failed parsing --set-json data JSON: {line}")))?;
            if let Value::Object(object) = float_numbers(Value::Object(object)) {
                merge_maps(values, object);
            }
            return Ok(());
        }
    }
    let mode = match flag {
        SetFlag::Set => Mode::Typed,
        SetFlag::SetString => Mode::Strings,
        SetFlag::SetJson => Mode::Json,
        SetFlag::SetFile => Mode::File(read_file),
        SetFlag::SetLiteral => Mode::Literal,
    };
    let mut parser = Parser {
        chars: line.chars().collect(),
        pos: 0,
        mode,
    };
    loop {
        match parser.key(values, 0) {
            Ok(()) => {}
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Failed(message)) => {
                return Err(fail(match flag {
                    // Helm drops the parser's reason for JSON lines.
                    SetFlag::SetJson => format!("failed parsing --set-json data {line}"),
                    _ => format!("failed parsing {} data: {message}", flag.name()),
                }));
            }
        }
    }
}

/// Why parsing stopped: the end of the line (success, even mid-key, as in Helm) or an error.
enum Stop {
    Eof,
    Failed(String),
}

/// Outcome of looking for a `{a,b}` list value.
enum ListValue {
    List(Vec<Value>),
    NotList,
}

enum Mode<'r, 'a> {
    Typed,
    Strings,
    Json,
    File(&'r mut FileReader<'a>),
    Literal,
}

struct Parser<'r, 'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode<'r, 'a>,
}

impl Parser<'_, '_> {
    fn next_char(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Characters up to one of `stops` (consumed and returned; `None` at the end). A
    /// backslash takes the next character literally, except in `--set-literal` lines.
    fn until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut text = String::new();
        while let Some(c) = self.next_char() {
            if stops.contains(&c) {
                return (text, Some(c));
            }
            if c == '\\' && !matches!(self.mode, Mode::Literal) {
                match self.next_char() {
                    Some(escaped) => text.push(escaped),
                    None => return (text, None),
                }
            } else {
                text.push(c);
            }
        }
        (text, None)
    }

    /// The rest of the line (`--set-literal`) or up to the next comma.
    fn value_text(&mut self) -> String {
        if matches!(self.mode, Mode::Literal) {
            let rest: String = self.chars[self.pos..].iter().collect();
            self.pos = self.chars.len();
            rest
        } else {
            self.until(&[',']).0
        }
    }

    fn key_stops(&self) -> &'static [char] {
        if matches!(self.mode, Mode::Literal) {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, nesting: usize) -> Result<(), Stop> {
        let (key, last) = self.until(self.key_stops());
        match last {
            None if key.is_empty() => Err(Stop::Eof),
            None => Err(Stop::Failed(format!("key {} has no value", quote(&key)))),
            Some('[') => {
                let index = self.index()?;
                let list = match data.get_mut(&key) {
                    None => Vec::new(),
                    Some(Value::Array(items)) => std::mem::take(items),
                    Some(other) => return Err(conversion(other, "[]interface {}")),
                };
                let (list, result) = self.list_item(list, index, nesting);
                set(data, key, Value::Array(list));
                result
            }
            Some('=') => self.assign(data, key),
            Some(',') => {
                set(data, key.clone(), Value::String(String::new()));
                Err(Stop::Failed(format!(
                    "key {} has no value (cannot end with ,)",
                    quote(&key)
                )))
            }
            Some(_) => {
                let nesting = nesting + 1;
                if nesting > MAX_NESTING {
                    return Err(Stop::Failed(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTING}"
                    )));
                }
                let existed = data.contains_key(&key);
                let mut inner = match data.get_mut(&key) {
                    None => Map::new(),
                    Some(Value::Object(map)) => std::mem::take(map),
                    Some(other) => return Err(conversion(other, "map[string]interface {}")),
                };
                let result = self.key(&mut inner, nesting);
                if result.is_ok() && inner.is_empty() {
                    return Err(Stop::Failed(format!(
                        "key map {} has no value",
                        quote(&key)
                    )));
                }
                if existed || !inner.is_empty() {
                    set(data, key, Value::Object(inner));
                }
                result
            }
        }
    }

    /// `key=` seen: reads and stores the value.
    fn assign(&mut self, data: &mut Map<String, Value>, key: String) -> Result<(), Stop> {
        match self.mode {
            Mode::Json => {
                let value = self.json_value()?;
                set(data, key, value);
                Ok(())
            }
            Mode::Literal => {
                let text = self.value_text();
                set(data, key, Value::String(text));
                Ok(())
            }
            _ => match self.list_value() {
                Ok(ListValue::List(items)) => {
                    set(data, key, Value::Array(items));
                    Ok(())
                }
                Err(Stop::Eof) => {
                    set(data, key, Value::String(String::new()));
                    Err(Stop::Eof)
                }
                Err(failed) => Err(failed),
                Ok(ListValue::NotList) => {
                    let text = self.value_text();
                    let value = self.read(text)?;
                    set(data, key, value);
                    Ok(())
                }
            },
        }
    }

    /// `[` seen: the index up to `]`, as Go's `strconv.Atoi` reads it.
    fn index(&mut self) -> Result<i64, Stop> {
        let (text, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        text.parse::<i64>().map_err(|e| {
            let reason = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            Stop::Failed(format!(
                "error parsing index: strconv.Atoi: parsing {}: {reason}",
                quote(&text)
            ))
        })
    }

    /// After `list[index]`: what follows (`=value`, `[i]…`, `.key…`) and the updated list.
    /// The list is returned on failure too, as Helm stores it either way.
    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        index: i64,
        nesting: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        if index < 0 {
            let message = format!("negative {index} index not allowed");
            return (list, Err(Stop::Failed(message)));
        }
        let (extra, last) = self.until(&['[', '.', '=']);
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.chars().map(quote_rune).collect();
            let message = format!(
                "unexpected data at end of array index: [{}]",
                quoted.join(" ")
            );
            return (list, Err(Stop::Failed(message)));
        }
        let slot = usize::try_from(index).ok().filter(|&i| i < list.len());
        let value = match last {
            None => return (list, Err(Stop::Eof)),
            Some('=') => match self.mode {
                Mode::Json => self.json_value(),
                Mode::Literal => Ok(Value::String(self.value_text())),
                _ => match self.list_value() {
                    Ok(ListValue::List(items)) => Ok(Value::Array(items)),
                    Err(Stop::Eof) => Ok(Value::String(String::new())),
                    Err(failed) => Err(failed),
                    Ok(ListValue::NotList) => {
                        let text = self.value_text();
                        self.read(text)
                    }
                },
            },
            Some('[') => {
                let inner_index = match self.index() {
                    Ok(i) => i,
                    Err(stop) => return (list, Err(stop)),
                };
                let inner = match slot.map(|i| &mut list[i]) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => std::mem::take(items),
                    Some(other) => {
                        let failed = conversion(other, "[]interface {}");
                        return (list, Err(failed));
                    }
                };
                let (inner, result) = self.list_item(inner, inner_index, nesting);
                result.map(|()| Value::Array(inner))
            }
            Some(_) => {
                let mut inner = match slot.map(|i| &mut list[i]) {
                    Some(Value::Object(map)) => std::mem::take(map),
                    _ => Map::new(),
                };
                let result = self.key(&mut inner, nesting);
                if let Some(i) = slot {
                    // Helm edits the element's map in place, so it keeps what was set.
                    list[i] = Value::Object(inner.clone());
                }
                result.map(|()| Value::Object(inner))
            }
        };
        match value {
            Ok(value) => set_index(list, index, value),
            Err(stop) => (list, Err(stop)),
        }
    }

    /// `{a,b,c}` (each item read like a value) or [`ListValue::NotList`] (nothing consumed).
    fn list_value(&mut self) -> Result<ListValue, Stop> {
        match self.chars.get(self.pos) {
            None => return Err(Stop::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(ListValue::NotList),
        }
        let mut items = Vec::new();
        loop {
            let (text, last) = self.until(&[',', '}']);
            match last {
                None => return Err(Stop::Failed("list must terminate with '}'".into())),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    items.push(self.read(text)?);
                    return Ok(ListValue::List(items));
                }
                Some(_) => items.push(self.read(text)?),
            }
        }
    }

    /// A `--set-json` value: `null` when empty, else one JSON value (numbers `float64`),
    /// then blanks and one comma.
    fn json_value(&mut self) -> Result<Value, Stop> {
        if self.skip_blanks_and_comma() {
            return Ok(Value::Null);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => return Err(Stop::Failed(e.to_string())),
            None => return Err(Stop::Eof),
        };
        self.pos += rest[..stream.byte_offset()].chars().count();
        self.skip_blanks_and_comma();
        Ok(float_numbers(value))
    }

    /// Skips blanks; true at the end of the line or after a comma (an empty value).
    fn skip_blanks_and_comma(&mut self) -> bool {
        while let Some(&c) = self.chars.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    /// A scalar value's text turned into a value by the flag's rules.
    fn read(&mut self, text: String) -> Result<Value, Stop> {
        match &mut self.mode {
            Mode::Typed => Ok(typed_value(text)),
            Mode::File(reader) => reader(&text).map(Value::String).map_err(Stop::Failed),
            Mode::Strings | Mode::Json | Mode::Literal => Ok(Value::String(text)),
        }
    }
}

/// Helm's `set`: an empty key is ignored.
fn set(data: &mut Map<String, Value>, key: String, value: Value) {
    if !key.is_empty() {
        data.insert(key, value);
    }
}

/// Helm's `setIndex`: grows the list with nulls up to `index`.
fn set_index(mut list: Vec<Value>, index: i64, value: Value) -> (Vec<Value>, Result<(), Stop>) {
    if index > MAX_INDEX {
        let message =
            format!("index of {index} is greater than maximum supported index of {MAX_INDEX}");
        return (list, Err(Stop::Failed(message)));
    }
    // 0 <= index <= MAX_INDEX here, so the conversion cannot fail.
    let at = usize::try_from(index).unwrap_or_default();
    if list.len() <= at {
        list.resize(at + 1, Value::Null);
    }
    list[at] = value;
    (list, Ok(()))
}

/// `--set`'s typing: booleans and `null` (any case), decimal `int64` not starting with
/// `0` (except `0` itself), everything else a string.
fn typed_value(text: String) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::from(0_i64);
    }
    if !text.is_empty()
        && !text.starts_with('0')
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::from(n);
    }
    Value::String(text)
}

/// Helm recovers the panic of a failed Go type assertion into this message.
fn conversion(found: &Value, wanted: &str) -> Stop {
    let found = match found {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    };
    Stop::Failed(format!(
        "unable to parse key: interface conversion: interface {{}} is {found}, not {wanted}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(flag: SetFlag, line: &str, start: Value) -> Result<Value, String> {
        let Value::Object(mut values) = start else {
            return Err("start must be a map".into());
        };
        let mut reader = |path: &str| Ok(format!("<{path}>"));
        apply_set(flag, line, &mut values, &mut reader).map_err(|e| e.message().to_string())?;
        Ok(Value::Object(values))
    }

    fn set(line: &str) -> Result<Value, String> {
        parse(SetFlag::Set, line, json!({}))
    }

    #[test]
    fn types_like_helm() {
        assert_eq!(
            set("a=1,b=007,c=TRUE,d=null,e=,f=0,g=-3,h=1e6"),
            Ok(
                json!({"a": 1, "b": "007", "c": true, "d": null, "e": "", "f": 0, "g": -3, "h": "1e6"})
            )
        );
        assert!(set("a=1").is_ok_and(|v| v["a"].is_i64()));
    }

    #[test]
    fn paths_lists_and_escapes() {
        assert_eq!(
            set("a.b[1].c=x,l={1,two},e=\\,x\\.y,k\\.z=1"),
            Ok(json!({"a": {"b": [null, {"c": "x"}]}, "l": [1, "two"], "e": ",x.y", "k.z": 1}))
        );
        assert_eq!(set("a[0][1]=x"), Ok(json!({"a": [[null, "x"]]})));
        assert_eq!(set("a[0]"), Ok(json!({"a": []})));
        assert_eq!(set("a[0"), Ok(json!({})));
        assert_eq!(set("a="), Ok(json!({"a": ""})));
    }

    #[test]
    fn merges_into_existing_values() {
        let start = json!({"a": {"x": 1.5, "y": 2.5}, "l": [1.5, 2.5]});
        assert_eq!(
            parse(SetFlag::Set, "a.y=3,l[1]=z", start),
            Ok(json!({"a": {"x": 1.5, "y": 3}, "l": [1.5, "z"]}))
        );
    }

    #[test]
    fn other_flags() {
        assert_eq!(
            parse(SetFlag::SetString, "a=1,b=true", json!({})),
            Ok(json!({"a": "1", "b": "true"}))
        );
        assert_eq!(
            parse(SetFlag::SetLiteral, "a.b=x,y=\\z", json!({})),
            Ok(json!({"a": {"b": "x,y=\\z"}}))
        );
        assert_eq!(
            parse(SetFlag::SetFile, "a=f.txt", json!({})),
            Ok(json!({"a": "<f.txt>"}))
        );
        assert_eq!(
            parse(SetFlag::SetJson, r#"a={"b":[1,2]} , c=,d="x""#, json!({})),
            Ok(json!({"a": {"b": [1.0, 2.0]}, " c": null, "d": "x"}))
        );
        assert_eq!(
            parse(
                SetFlag::SetJson,
                r#" {"a": {"c": 1}}"#,
                json!({"a": {"b": 2}})
            ),
            Ok(json!({"a": {"b": 2, "c": 1.0}}))
        );
    }

    #[test]
    fn errors_carry_helms_messages() {
        let cases = [
            ("a", "key \"a\" has no value"),
            ("a,", "key \"a\" has no value (cannot end with ,)"),
            ("a.=1", "key map \"a\" has no value"),
            (
                "a[x]=1",
                "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            ("a[0]x=1", "unexpected data at end of array index: ['x']"),
            ("a[-1]=1", "negative -1 index not allowed"),
            (
                "a[70000]=1",
                "index of 70000 is greater than maximum supported index of 65536",
            ),
            ("a={1,2", "list must terminate with '}'"),
            (
                "a=1,a.b=2",
                "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}",
            ),
        ];
        for (line, message) in cases {
            assert_eq!(
                set(line),
                Err(format!("failed parsing --set data: {message}")),
                "{line}"
            );
        }
        assert_eq!(
            parse(SetFlag::SetJson, "a=nope", json!({})),
            Err("failed parsing --set-json data a=nope".into())
        );
        assert_eq!(
            parse(SetFlag::SetJson, "{nope", json!({})),
            Err("failed parsing --set-json data JSON: {nope".into())
        );
    }
}
