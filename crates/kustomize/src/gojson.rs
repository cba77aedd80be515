//! Go's `encoding/json` decoding into kustomize's Go types, as kustomize reads its
//! kustomization files and builtin plugin configs: YAML turned into JSON (object keys in
//! sorted order, as Go marshals maps), then decoded into typed structs.
//!
//! What Go's decoder does, and this module with it:
//! - a key names a struct field by its exact JSON name, else case-insensitively (Go's
//!   simple case folding, under which `K` (Kelvin) is `k` and `ſ` is `s`); a key that
//!   names no field is an error only with `DisallowUnknownFields` ([`Mode::Strict`]);
//! - two keys naming one field decode one after the other into the same value: scalars
//!   and `interface{}` values are replaced, maps gain entries, structs and pointers to
//!   structs are filled field by field, and a list decodes its items into the items
//!   already there; `null` empties a map, list or pointer and leaves anything else as it
//!   is;
//! - a value of the wrong kind is an error naming the struct, the path of JSON field
//!   names and the Go type (`json: cannot unmarshal number into Go struct field
//!   Image.images.newTag of type string`); decoding goes on and the first error is the
//!   one reported.
//!
//! [`Mode::YamlUnmarshal`] adds what `sigs.k8s.io/yaml.Unmarshal` does before decoding:
//! a YAML number or boolean bound for a string field becomes a string. Its walk of the
//! target type looks only one level into embedded structs, so fields promoted from them
//! get no such conversion.
//!
//! The result is the document with every struct's keys renamed to the fields they decode
//! into and merged as Go merges them: a field at its zero value (`""`, `false`, `0`, a nil
//! map, list or pointer) is left out.

use serde_json::{Map, Value};

use crunch_gostd::strconv::quote;
use crunch_yaml::{JsonStyle, json_kind, to_go_json};

/// A Go type as `encoding/json` decodes into it.
#[derive(Debug)]
pub(crate) enum GoType {
    /// A string kind, named as Go prints it (`string`, `types.SortOrder`).
    Str(&'static str),
    /// `bool`.
    Bool,
    /// A signed integer kind (`int`, `int64`).
    Int(&'static str),
    /// `interface{}`: any value, taken as it is.
    Any,
    /// `map[string]T`.
    Map(&'static GoType),
    /// `[]T`, or a named slice type (its name, its element type).
    Slice(Option<&'static str>, &'static GoType),
    /// `*T`.
    Ptr(&'static GoType),
    /// A struct.
    Struct(&'static GoStruct),
}

/// A Go struct as `encoding/json` sees it.
#[derive(Debug)]
pub(crate) struct GoStruct {
    /// The type as Go prints it (`types.Patch`).
    pub name: &'static str,
    /// Its fields in Go's order, those promoted from embedded structs among them.
    pub fields: &'static [GoField],
}

/// One JSON field of a struct.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GoField {
    /// The JSON name.
    pub name: &'static str,
    /// What it decodes into.
    pub ty: &'static GoType,
    /// For a field promoted from an embedded struct: the type of that embedded field, which
    /// is where `sigs.k8s.io/yaml` looks for the field's type.
    pub via: Option<&'static GoType>,
}

/// A field of the struct itself.
pub(crate) const fn field(name: &'static str, ty: &'static GoType) -> GoField {
    GoField {
        name,
        ty,
        via: None,
    }
}

/// A field promoted from the embedded struct field of type `via`.
pub(crate) const fn promoted(
    name: &'static str,
    ty: &'static GoType,
    via: &'static GoType,
) -> GoField {
    GoField {
        name,
        ty,
        via: Some(via),
    }
}

/// `string`.
pub(crate) static STRING: GoType = GoType::Str("string");
/// `bool`.
pub(crate) static BOOL: GoType = GoType::Bool;
/// `int`.
pub(crate) static INT: GoType = GoType::Int("int");
/// `int64`.
pub(crate) static INT64: GoType = GoType::Int("int64");
/// `[]string`.
pub(crate) static STRINGS: GoType = GoType::Slice(None, &STRING);
/// `map[string]string`.
pub(crate) static STRING_MAP: GoType = GoType::Map(&STRING);
/// `map[string]bool`.
pub(crate) static BOOL_MAP: GoType = GoType::Map(&BOOL);
/// `map[string]interface{}`.
pub(crate) static ANY_MAP: GoType = GoType::Map(&ANY);
/// `interface{}`.
pub(crate) static ANY: GoType = GoType::Any;

/// How a document reaches the Go decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `yaml.YAMLToJSON`, then a `json.Decoder` with `DisallowUnknownFields`
    /// (kustomization files).
    Strict,
    /// `sigs.k8s.io/yaml.Unmarshal`: unknown fields ignored, numbers and booleans bound
    /// for string fields turned into strings (most builtin plugin configs, replacement
    /// files).
    YamlUnmarshal,
    /// `sigs.k8s.io/yaml.UnmarshalStrict`: as [`Mode::YamlUnmarshal`], but unknown fields
    /// are errors (`configurations` files).
    YamlUnmarshalStrict,
    /// kyaml's `yaml.Unmarshal` (go-yaml v3 with `yaml` tags, which here name fields as
    /// the `json` tags do): names matched exactly, in document order, unknown fields
    /// ignored, any number or boolean read as its text for a string field (the
    /// `PrefixTransformer` and `SuffixTransformer` configs).
    Kyaml,
}

impl Mode {
    fn refuses_unknown_fields(self) -> bool {
        matches!(self, Mode::Strict | Mode::YamlUnmarshalStrict)
    }
}

/// Decodes `doc` into `ty` as Go would; see the module docs for the result.
///
/// # Errors
/// The first error Go's decoder reports, in its words (`json: unknown field "x"`), after
/// the prefix `sigs.k8s.io/yaml` puts before it in the modes that go through it.
pub(crate) fn decode(doc: &Value, ty: &'static GoType, mode: Mode) -> Result<Value, String> {
    let mut d = Decoder {
        mode,
        error: None,
        within: None,
        path: Vec::new(),
    };
    let mut out = Value::Null;
    match mode {
        Mode::Strict | Mode::Kyaml => d.decode_into(&mut out, doc, ty),
        Mode::YamlUnmarshal | Mode::YamlUnmarshalStrict => {
            d.decode_into(&mut out, &yaml_to_json(doc, Some(ty)), ty);
        }
    }
    match d.error {
        None => Ok(out),
        Some(e) if mode == Mode::Strict || mode == Mode::Kyaml => Err(e),
        Some(e) => Err(format!("error unmarshaling JSON: while decoding JSON: {e}")),
    }
}

/// Go's `foldName` for a key compared with ASCII field names: ASCII letters upper-cased,
/// and the only other runes whose case-folding orbit holds an ASCII letter, U+212A KELVIN
/// SIGN (`K`, `k`) and U+017F LATIN SMALL LETTER LONG S (`S`, `s`), folded to it. Any
/// other rune folds to a non-ASCII one and can match no field: `None`.
fn fold_ascii(key: &str) -> Option<String> {
    key.chars()
        .map(|c| match c {
            '\u{212A}' => Some('K'),
            '\u{017F}' => Some('S'),
            c if c.is_ascii() => Some(c.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

impl GoStruct {
    /// The field a key decodes into: its exact name, else (with `fold`) the first field
    /// whose name folds to the key's fold.
    fn lookup(&self, key: &str, fold: bool) -> Option<&GoField> {
        if let Some(f) = self.fields.iter().find(|f| f.name == key) {
            return Some(f);
        }
        if !fold {
            return None;
        }
        let folded = fold_ascii(key)?;
        self.fields
            .iter()
            .find(|f| f.name.to_ascii_uppercase() == folded)
    }

    /// The name `reflect.Type.Name` gives: without the package, empty for an anonymous
    /// struct.
    fn short_name(&self) -> &'static str {
        if self.name.starts_with("struct {") {
            return "";
        }
        self.name.rsplit('.').next().unwrap_or(self.name)
    }
}

impl GoType {
    /// The type as `reflect.Type.String` prints it.
    fn go_name(&self) -> String {
        match self {
            GoType::Str(name) | GoType::Int(name) => (*name).to_string(),
            GoType::Bool => "bool".to_string(),
            GoType::Any => "interface {}".to_string(),
            GoType::Map(elem) => format!("map[string]{}", elem.go_name()),
            GoType::Slice(Some(name), _) => (*name).to_string(),
            GoType::Slice(None, elem) => format!("[]{}", elem.go_name()),
            GoType::Ptr(elem) => format!("*{}", elem.go_name()),
            GoType::Struct(s) => s.name.to_string(),
        }
    }

    /// Through pointers, as Go's decoder and `sigs.k8s.io/yaml` follow them.
    fn indirect(&'static self) -> &'static GoType {
        match self {
            GoType::Ptr(inner) => inner.indirect(),
            other => other,
        }
    }

    /// The value a scalar of this type holds before anything is decoded into it.
    fn zero(&self) -> Value {
        match self {
            GoType::Str(_) => Value::String(String::new()),
            GoType::Bool => Value::Bool(false),
            GoType::Int(_) => Value::from(0),
            _ => Value::Null,
        }
    }

    /// Whether `v` is this type's zero value (a struct field holding it is left out).
    fn is_zero(&self, v: &Value) -> bool {
        v.is_null() || *v == self.zero()
    }
}

struct Decoder {
    mode: Mode,
    /// The first error met; decoding goes on after it, as Go's does.
    error: Option<String>,
    /// The struct whose field is being decoded (Go's `errorContext.Struct`).
    within: Option<&'static GoStruct>,
    /// The JSON names of the fields leading here (Go's `errorContext.FieldStack`).
    path: Vec<&'static str>,
}

impl Decoder {
    /// Records that `src` cannot go into `ty`, in the words of Go's `UnmarshalTypeError`
    /// (go-yaml v3's for [`Mode::Kyaml`], which has no line to name here).
    fn type_error(&mut self, src: &Value, ty: &GoType) {
        if self.error.is_some() {
            return;
        }
        let literal = || to_go_json(src, JsonStyle::Compact);
        if self.mode == Mode::Kyaml {
            let found = match src {
                Value::Array(_) => "!!seq".to_string(),
                Value::Object(_) => "!!map".to_string(),
                Value::String(s) => format!("!!str `{s}`"),
                Value::Number(n) if n.is_f64() => format!("!!float `{}`", literal()),
                Value::Number(_) => format!("!!int `{}`", literal()),
                _ => format!("!!{} `{}`", json_kind(src), literal()),
            };
            self.error = Some(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal {found} into {}",
                ty.go_name()
            ));
            return;
        }
        // A number that is no integer names itself; any other mismatch names its kind.
        let found = match (src, ty) {
            (Value::Number(_), GoType::Int(_)) => format!("number {}", literal()),
            _ => json_kind(src).to_string(),
        };
        self.error = Some(match self.within {
            Some(s) => format!(
                "json: cannot unmarshal {found} into Go struct field {}.{} of type {}",
                s.short_name(),
                self.path.join("."),
                ty.go_name()
            ),
            None => format!(
                "json: cannot unmarshal {found} into Go value of type {}",
                ty.go_name()
            ),
        });
    }

    /// Decodes `src` into `slot`, which holds what earlier keys decoded there (`Null` for
    /// nothing).
    fn decode_into(&mut self, slot: &mut Value, src: &Value, ty: &'static GoType) {
        if src.is_null() {
            // Go empties pointers, maps, lists and interfaces and leaves the rest.
            if matches!(
                ty,
                GoType::Ptr(_) | GoType::Map(_) | GoType::Slice(..) | GoType::Any
            ) {
                *slot = Value::Null;
            }
            return;
        }
        match ty.indirect() {
            GoType::Any => *slot = src.clone(),
            GoType::Str(_) => match src {
                Value::String(_) => *slot = src.clone(),
                Value::Bool(_) | Value::Number(_) if self.mode == Mode::Kyaml => {
                    *slot = Value::String(to_go_json(src, JsonStyle::Compact));
                }
                _ => self.type_error(src, ty.indirect()),
            },
            GoType::Bool => match src {
                Value::Bool(_) => *slot = src.clone(),
                _ => self.type_error(src, ty.indirect()),
            },
            GoType::Int(_) => match src {
                Value::Number(_) => {
                    let literal = to_go_json(src, JsonStyle::Compact);
                    match literal.parse::<i64>() {
                        Ok(n) => *slot = Value::from(n),
                        Err(_) => self.type_error(src, ty.indirect()),
                    }
                }
                _ => self.type_error(src, ty.indirect()),
            },
            GoType::Map(elem) => {
                let Value::Object(entries) = src else {
                    return self.type_error(src, ty.indirect());
                };
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                for (key, value) in sorted(entries) {
                    // Each entry starts from the element type's zero value.
                    let mut item = elem.zero();
                    self.decode_into(&mut item, value, elem);
                    if let Value::Object(m) = slot {
                        m.insert(key.clone(), item);
                    }
                }
            }
            GoType::Slice(_, elem) => {
                let Value::Array(items) = src else {
                    return self.type_error(src, ty.indirect());
                };
                let old = match slot.take() {
                    Value::Array(old) => old,
                    _ => Vec::new(),
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    // Go decodes into the item already at this index.
                    let mut into = old.get(i).cloned().unwrap_or_else(|| elem.zero());
                    self.decode_into(&mut into, item, elem);
                    out.push(into);
                }
                *slot = Value::Array(out);
            }
            GoType::Struct(s) => {
                let Value::Object(entries) = src else {
                    return self.type_error(src, ty.indirect());
                };
                self.decode_struct(slot, entries, s);
            }
            GoType::Ptr(_) => unreachable!("indirect follows every pointer"),
        }
    }

    fn decode_struct(
        &mut self,
        slot: &mut Value,
        entries: &Map<String, Value>,
        s: &'static GoStruct,
    ) {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        // go-yaml v3 decodes in document order, Go's JSON in sorted key order.
        let entries = if self.mode == Mode::Kyaml {
            entries.iter().collect()
        } else {
            sorted(entries)
        };
        for (key, value) in entries {
            let Some(f) = s.lookup(key, self.mode != Mode::Kyaml) else {
                if self.mode.refuses_unknown_fields() && self.error.is_none() {
                    self.error = Some(format!("json: unknown field {}", quote(key)));
                }
                continue;
            };
            let (outer, depth) = (self.within.replace(s), self.path.len());
            self.path.push(f.name);
            let Value::Object(fields) = slot else {
                unreachable!("made a map above")
            };
            let mut current = fields.remove(f.name).unwrap_or_else(|| f.ty.zero());
            self.decode_into(&mut current, value, f.ty);
            if !f.ty.is_zero(&current) {
                fields.insert(f.name.to_string(), current);
            }
            self.path.truncate(depth);
            self.within = outer;
        }
    }
}

/// `sigs.k8s.io/yaml`'s conversion of YAML to JSON for a known target: it follows the
/// target type through the document (struct fields by the decoder's own matching, but
/// only one level into embedded structs; map and list elements) and writes a number or
/// boolean bound for a string kind as a string. Everything else stays as it is.
fn yaml_to_json(src: &Value, target: Option<&'static GoType>) -> Value {
    let target = target.map(GoType::indirect);
    match src {
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let inner = match target {
                        Some(GoType::Struct(s)) => s.lookup(k, true).map(|f| f.via.unwrap_or(f.ty)),
                        Some(GoType::Map(elem)) => Some(*elem),
                        _ => None,
                    };
                    (k.clone(), yaml_to_json(v, inner))
                })
                .collect(),
        ),
        Value::Array(items) => {
            let inner = match target {
                Some(GoType::Slice(_, elem)) => Some(*elem),
                _ => None,
            };
            Value::Array(items.iter().map(|v| yaml_to_json(v, inner)).collect())
        }
        Value::Bool(_) | Value::Number(_) if matches!(target, Some(GoType::Str(_))) => {
            Value::String(yaml_scalar_text(src))
        }
        other => other.clone(),
    }
}

/// Object entries in the order Go marshals a map's keys: sorted bytewise.
fn sorted(entries: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut out: Vec<_> = entries.iter().collect();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// A YAML number or boolean as `sigs.k8s.io/yaml` writes it for a string field: integers
/// in decimal, floats by `strconv.FormatFloat(f, 'g', -1, 32)`.
fn yaml_scalar_text(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => {
            crunch_gostd::strconv::format_float(n.as_f64().unwrap_or_default(), 'g', -1, 32)
        }
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static GVK: GoStruct = GoStruct {
        name: "resid.Gvk",
        fields: &[field("kind", &STRING), field("version", &STRING)],
    };
    static GVK_T: GoType = GoType::Struct(&GVK);
    static ITEM: GoStruct = GoStruct {
        name: "types.Item",
        fields: &[
            promoted("kind", &STRING, &GVK_T),
            field("name", &STRING),
            field("count", &INT64),
            field("labels", &STRING_MAP),
        ],
    };
    static ITEM_T: GoType = GoType::Struct(&ITEM);
    static ITEMS: GoType = GoType::Slice(None, &ITEM_T);
    static TOP: GoStruct = GoStruct {
        name: "types.Top",
        fields: &[field("items", &ITEMS), field("tags", &STRINGS)],
    };
    static TOP_T: GoType = GoType::Struct(&TOP);

    #[test]
    fn keys_fold_as_go_folds_them() {
        let out = decode(
            &json!({"ITEMS": [{"\u{212A}ind": "k", "Name": "n"}], "tag\u{17F}": null}),
            &TOP_T,
            Mode::Strict,
        );
        assert_eq!(out.unwrap(), json!({"items": [{"kind": "k", "name": "n"}]}));
        // A dotless capital I folds to itself, not to an ASCII letter.
        let err = decode(&json!({"\u{130}tems": []}), &TOP_T, Mode::Strict).unwrap_err();
        assert_eq!(err, "json: unknown field \"\u{130}tems\"");
    }

    #[test]
    fn unknown_keys_are_quoted_as_go_quotes_them() {
        let err = decode(&json!({"a\"b\\\u{7}\t\u{2028}é": 1}), &TOP_T, Mode::Strict).unwrap_err();
        assert_eq!(err, r#"json: unknown field "a\"b\\\a\t\u2028é""#);
    }

    #[test]
    fn later_keys_decode_into_what_earlier_ones_left() {
        let out = decode(
            &json!({
                "items": [{"name": "b", "labels": {"y": "2"}}],
                "Items": [{"count": 3, "labels": {"x": "1"}}, {"name": "c"}],
            }),
            &TOP_T,
            Mode::Strict,
        )
        .unwrap();
        // "Items" sorts first; "items" then decodes into its first element.
        assert_eq!(
            out,
            json!({"items": [{"count": 3, "labels": {"x": "1", "y": "2"}, "name": "b"}]})
        );
    }

    #[test]
    fn type_errors_name_struct_path_and_type() {
        let err = decode(
            &json!({"items": [{"count": 1.5}], "tags": [1]}),
            &TOP_T,
            Mode::Strict,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "json: cannot unmarshal number 1.5 into Go struct field Item.items.count of type int64"
        );
        let err = decode(&json!([1]), &TOP_T, Mode::Strict).unwrap_err();
        assert_eq!(
            err,
            "json: cannot unmarshal array into Go value of type types.Top"
        );
    }

    #[test]
    fn yaml_unmarshal_ignores_unknown_fields_and_stringifies_direct_fields() {
        let out = decode(
            &json!({"items": [{"name": 1.21, "labels": {"a": true}, "other": 1}]}),
            &TOP_T,
            Mode::YamlUnmarshal,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"items": [{"name": "1.21", "labels": {"a": "true"}}]})
        );
        // A promoted field is looked for in its embedded struct: no conversion.
        let err = decode(
            &json!({"items": [{"kind": 1}]}),
            &TOP_T,
            Mode::YamlUnmarshal,
        );
        assert_eq!(
            err.unwrap_err(),
            "error unmarshaling JSON: while decoding JSON: \
             json: cannot unmarshal number into Go struct field Item.items.kind of type string"
        );
    }

    #[test]
    fn kyaml_matches_names_exactly_and_reads_scalars_as_text() {
        let out = decode(
            &json!({"items": [{"name": 12, "Count": 3}], "Tags": ["x"]}),
            &TOP_T,
            Mode::Kyaml,
        )
        .unwrap();
        assert_eq!(out, json!({"items": [{"name": "12"}]}));
        let err = decode(&json!({"tags": [[1]]}), &TOP_T, Mode::Kyaml).unwrap_err();
        assert_eq!(
            err,
            "yaml: unmarshal errors:\n  cannot unmarshal !!seq into string"
        );
    }
}
