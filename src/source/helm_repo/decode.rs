//! The typed half of reading an index: a JSON-shaped tree decoded into Helm's `IndexFile`
//! types as Go's `encoding/json` decodes it, after `sigs.k8s.io/yaml`'s conversion for
//! YAML input.
//!
//! The two ways in differ (`jsonOrYamlUnmarshal`): JSON input is `json.Unmarshal`ed
//! (unknown fields ignored, no type coercion); YAML input goes through `UnmarshalStrict`,
//! so an unknown field anywhere fails the index, and a number or boolean becomes its text
//! where the conversion sees that a string is wanted. The conversion looks through one
//! struct level only: the fields of the `Metadata` a `ChartVersion` embeds by pointer are
//! not seen as strings, so `version: 1.0` in an entry fails the index while
//! `digest: 123` reads as `"123"`. Field names match exactly, else ASCII
//! case-insensitively; a field given twice keeps the value Go decodes last (YAML keys
//! arrive sorted, as Go's JSON encoding of the converted map writes them; JSON keys in
//! document order). The first failure in that order is reported.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::created::Created;

/// A decoding failure, worded as Go's `encoding/json` (the caller adds the prefixes).
pub(super) type DecodeError = String;

/// The decoded `repo.IndexFile`, before entries are validated.
#[derive(Default)]
pub(super) struct RawIndex {
    pub(super) api_version: String,
    pub(super) generated: Created,
    /// An item is `None` for a `null` entry, which Helm drops.
    pub(super) entries: BTreeMap<String, Vec<Option<RawEntry>>>,
}

/// One decoded `repo.ChartVersion`, with the `chart.Metadata` it embeds.
#[derive(Default)]
pub(super) struct RawEntry {
    pub(super) name: String,
    pub(super) home: String,
    pub(super) sources: Vec<String>,
    pub(super) version: String,
    pub(super) description: String,
    pub(super) keywords: Vec<String>,
    /// An item is `None` for `null`, which validation refuses.
    pub(super) maintainers: Vec<Option<RawMaintainer>>,
    pub(super) icon: String,
    pub(super) api_version: String,
    pub(super) condition: String,
    pub(super) tags: String,
    pub(super) app_version: String,
    pub(super) deprecated: bool,
    pub(super) kube_version: String,
    /// An item is `None` for `null`, which validation refuses.
    pub(super) dependencies: Vec<Option<RawDependency>>,
    pub(super) chart_type: String,
    pub(super) urls: Vec<String>,
    pub(super) created: Created,
    pub(super) removed: bool,
    pub(super) digest: String,
}

/// A `chart.Maintainer`.
#[derive(Default)]
pub(super) struct RawMaintainer {
    pub(super) name: String,
    pub(super) email: String,
    pub(super) url: String,
}

/// A `chart.Dependency` (the fields validation reads).
#[derive(Default)]
pub(super) struct RawDependency {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) repository: String,
    pub(super) condition: String,
    pub(super) tags: Vec<String>,
    pub(super) alias: String,
}

const INDEX_FIELDS: &[&str] = &[
    "serverInfo",
    "apiVersion",
    "generated",
    "entries",
    "publicKeys",
    "annotations",
];

/// `ChartVersion`'s own fields.
const OWN_ENTRY_FIELDS: &[&str] = &[
    "urls",
    "created",
    "removed",
    "digest",
    "checksum",
    "engine",
    "tillerVersion",
    "url",
];

/// The fields `ChartVersion` promotes from the `Metadata` it embeds.
const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];

const MAINTAINER_FIELDS: &[&str] = &["name", "email", "url"];

const DEPENDENCY_FIELDS: &[&str] = &[
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
];

/// Decodes the whole index tree; `from_yaml` selects Go's YAML reading (see the module
/// docs) over its JSON one.
pub(super) fn index(tree: &Value, from_yaml: bool) -> Result<RawIndex, DecodeError> {
    let decoder = Decoder { from_yaml };
    let top = Place {
        structure: "IndexFile",
        fields: Vec::new(),
    };
    let mut index = RawIndex::default();
    let Some(fields) = object(tree, &top, "repo.IndexFile")? else {
        return Ok(index);
    };
    decoder.fields(fields, &[INDEX_FIELDS], |name, value| {
        let place = top.field("IndexFile", name);
        match name {
            "serverInfo" => object(value, &place, "map[string]interface {}").map(drop),
            "apiVersion" => decoder.string(value, &place, Coerce::Yes, &mut index.api_version),
            "generated" => time(value, &mut index.generated),
            "entries" => decoder.entries(value, &place, &mut index.entries),
            "publicKeys" => decoder.strings(value, &place, Coerce::Yes).map(drop),
            _ => decoder.string_map(value, &place, Coerce::Yes),
        }
    })?;
    Ok(index)
}

/// Whether `sigs.k8s.io/yaml` sees that a field wants a string (and so turns a YAML
/// number or boolean into its text).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coerce {
    Yes,
    No,
}

/// Where in the Go types a value is decoded, for error messages: the innermost struct
/// and the struct fields walked from the top (`ChartVersion`, `entries.version`).
#[derive(Clone)]
struct Place {
    structure: &'static str,
    fields: Vec<&'static str>,
}

impl Place {
    fn field(&self, structure: &'static str, name: &'static str) -> Place {
        let mut fields = self.fields.clone();
        fields.push(name);
        Place { structure, fields }
    }

    /// Go's `UnmarshalTypeError` text.
    fn mismatch(&self, found: &Value, go_type: &str) -> DecodeError {
        let kind = crate::yaml::json_kind(found);
        if self.fields.is_empty() {
            return format!("json: cannot unmarshal {kind} into Go value of type {go_type}");
        }
        format!(
            "json: cannot unmarshal {kind} into Go struct field {}.{} of type {go_type}",
            self.structure,
            self.fields.join(".")
        )
    }
}

/// `value` as a JSON object, `None` for `null`.
fn object<'v>(
    value: &'v Value,
    place: &Place,
    go_type: &str,
) -> Result<Option<&'v Map<String, Value>>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        Value::Object(object) => Ok(Some(object)),
        other => Err(place.mismatch(other, go_type)),
    }
}

/// `time.Time.UnmarshalJSON`: `null` keeps the value, a string must be RFC 3339.
fn time(value: &Value, slot: &mut Created) -> Result<(), DecodeError> {
    match value {
        Value::Null => Ok(()),
        Value::String(text) => {
            *slot = Created::parse_rfc3339(text)?;
            Ok(())
        }
        _ => Err("Time.UnmarshalJSON: input is not a JSON string".into()),
    }
}

struct Decoder {
    from_yaml: bool,
}

impl Decoder {
    /// Walks `object`'s keys in the order Go decodes them, handing each known field to
    /// `decode` under its canonical name (exact spelling first, else ASCII
    /// case-insensitively). Unknown keys fail when reading YAML.
    fn fields(
        &self,
        object: &Map<String, Value>,
        known: &[&[&'static str]],
        mut decode: impl FnMut(&'static str, &Value) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut keys: Vec<&String> = object.keys().collect();
        if self.from_yaml {
            keys.sort_unstable();
        }
        let names = || known.iter().flat_map(|group| group.iter());
        for key in keys {
            let field = names()
                .find(|name| **name == key.as_str())
                .or_else(|| names().find(|name| name.eq_ignore_ascii_case(key)));
            match field {
                Some(name) => decode(name, &object[key.as_str()])?,
                None if self.from_yaml => {
                    let quoted = crate::gostd::strconv::quote(key);
                    return Err(format!("json: unknown field {quoted}"));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// A string field: `null` keeps the value; a number or boolean becomes its text only
    /// where YAML input is coerced.
    fn string(
        &self,
        value: &Value,
        place: &Place,
        coerce: Coerce,
        slot: &mut String,
    ) -> Result<(), DecodeError> {
        match value {
            Value::Null => {}
            Value::String(text) => slot.clone_from(text),
            Value::Number(_) | Value::Bool(_) if coerce == Coerce::Yes && self.from_yaml => {
                *slot = scalar_text(value);
            }
            other => return Err(place.mismatch(other, "string")),
        }
        Ok(())
    }

    /// A `[]string` field (`null` items decode to `""`).
    fn strings(
        &self,
        value: &Value,
        place: &Place,
        coerce: Coerce,
    ) -> Result<Vec<String>, DecodeError> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    let mut text = String::new();
                    self.string(item, place, coerce, &mut text)?;
                    Ok(text)
                })
                .collect(),
            other => Err(place.mismatch(other, "[]string")),
        }
    }

    /// A `map[string]string` field, checked and dropped: nothing downstream reads one.
    fn string_map(&self, value: &Value, place: &Place, coerce: Coerce) -> Result<(), DecodeError> {
        let Some(map) = object(value, place, "map[string]string")? else {
            return Ok(());
        };
        let mut text = String::new();
        map.values()
            .try_for_each(|item| self.string(item, place, coerce, &mut text))
    }

    fn boolean(&self, value: &Value, place: &Place, slot: &mut bool) -> Result<(), DecodeError> {
        match value {
            Value::Null => Ok(()),
            Value::Bool(b) => {
                *slot = *b;
                Ok(())
            }
            other => Err(place.mismatch(other, "bool")),
        }
    }

    /// A list of `*T` structs: `null` items stay (as `None`) for validation to refuse.
    fn pointer_list<T>(
        &self,
        value: &Value,
        place: &Place,
        element: &str,
        decode: impl Fn(&Map<String, Value>) -> Result<T, DecodeError>,
    ) -> Result<Vec<Option<T>>, DecodeError> {
        let items = match value {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            other => return Err(place.mismatch(other, &format!("[]*{element}"))),
        };
        items
            .iter()
            .map(|item| match item {
                Value::Null => Ok(None),
                Value::Object(fields) => decode(fields).map(Some),
                other => Err(place.mismatch(other, element)),
            })
            .collect()
    }

    fn entries(
        &self,
        value: &Value,
        place: &Place,
        slot: &mut BTreeMap<String, Vec<Option<RawEntry>>>,
    ) -> Result<(), DecodeError> {
        let Some(charts) = object(value, place, "map[string]repo.ChartVersions")? else {
            slot.clear();
            return Ok(());
        };
        let mut names: Vec<&String> = charts.keys().collect();
        if self.from_yaml {
            names.sort_unstable();
        }
        for name in names {
            let versions = match &charts[name.as_str()] {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::Null => Ok(None),
                        Value::Object(fields) => self.entry(fields, place).map(Some),
                        other => Err(place.mismatch(other, "repo.ChartVersion")),
                    })
                    .collect::<Result<_, DecodeError>>()?,
                other => return Err(place.mismatch(other, "repo.ChartVersions")),
            };
            slot.insert(name.clone(), versions);
        }
        Ok(())
    }

    fn entry(&self, fields: &Map<String, Value>, entries: &Place) -> Result<RawEntry, DecodeError> {
        let mut entry = RawEntry::default();
        let metadata = entries.field("ChartVersion", "Metadata");
        self.fields(
            fields,
            &[OWN_ENTRY_FIELDS, METADATA_FIELDS],
            |name, value| {
                // Go's error path names the embedded `Metadata` on the way to its fields.
                let place = if OWN_ENTRY_FIELDS.contains(&name) {
                    entries.field("ChartVersion", name)
                } else {
                    metadata.field("ChartVersion", name)
                };
                // `ChartVersion`'s own fields are coerced, `Metadata`'s are not.
                let own = Coerce::Yes;
                let promoted = Coerce::No;
                let e = &mut entry;
                match name {
                    "urls" => e.urls = self.strings(value, &place, own)?,
                    "created" => time(value, &mut e.created)?,
                    "removed" => self.boolean(value, &place, &mut e.removed)?,
                    "digest" => self.string(value, &place, own, &mut e.digest)?,
                    "checksum" | "engine" | "tillerVersion" | "url" => {
                        self.string(value, &place, own, &mut String::new())?;
                    }
                    "name" => self.string(value, &place, promoted, &mut e.name)?,
                    "home" => self.string(value, &place, promoted, &mut e.home)?,
                    "sources" => e.sources = self.strings(value, &place, promoted)?,
                    "version" => self.string(value, &place, promoted, &mut e.version)?,
                    "description" => self.string(value, &place, promoted, &mut e.description)?,
                    "keywords" => e.keywords = self.strings(value, &place, promoted)?,
                    "maintainers" => {
                        e.maintainers = self.pointer_list(value, &place, "v2.Maintainer", |m| {
                            self.maintainer(m, &place)
                        })?;
                    }
                    "icon" => self.string(value, &place, promoted, &mut e.icon)?,
                    "apiVersion" => self.string(value, &place, promoted, &mut e.api_version)?,
                    "condition" => self.string(value, &place, promoted, &mut e.condition)?,
                    "tags" => self.string(value, &place, promoted, &mut e.tags)?,
                    "appVersion" => self.string(value, &place, promoted, &mut e.app_version)?,
                    "deprecated" => self.boolean(value, &place, &mut e.deprecated)?,
                    "annotations" => self.string_map(value, &place, promoted)?,
                    "kubeVersion" => self.string(value, &place, promoted, &mut e.kube_version)?,
                    "dependencies" => {
                        e.dependencies =
                            self.pointer_list(value, &place, "v2.Dependency", |d| {
                                self.dependency(d, &place)
                            })?;
                    }
                    _ => self.string(value, &place, promoted, &mut e.chart_type)?,
                }
                Ok(())
            },
        )?;
        Ok(entry)
    }

    fn maintainer(
        &self,
        fields: &Map<String, Value>,
        list: &Place,
    ) -> Result<RawMaintainer, DecodeError> {
        let mut maintainer = RawMaintainer::default();
        self.fields(fields, &[MAINTAINER_FIELDS], |name, value| {
            let place = list.field("Maintainer", name);
            let slot = match name {
                "name" => &mut maintainer.name,
                "email" => &mut maintainer.email,
                _ => &mut maintainer.url,
            };
            self.string(value, &place, Coerce::No, slot)
        })?;
        Ok(maintainer)
    }

    fn dependency(
        &self,
        fields: &Map<String, Value>,
        list: &Place,
    ) -> Result<RawDependency, DecodeError> {
        let mut dependency = RawDependency::default();
        self.fields(fields, &[DEPENDENCY_FIELDS], |name, value| {
            let place = list.field("Dependency", name);
            let d = &mut dependency;
            match name {
                "name" => self.string(value, &place, Coerce::No, &mut d.name),
                "version" => self.string(value, &place, Coerce::No, &mut d.version),
                "repository" => self.string(value, &place, Coerce::No, &mut d.repository),
                "condition" => self.string(value, &place, Coerce::No, &mut d.condition),
                "tags" => {
                    d.tags = self.strings(value, &place, Coerce::No)?;
                    Ok(())
                }
                "enabled" => self.boolean(value, &place, &mut false),
                "import-values" => match value {
                    Value::Null | Value::Array(_) => Ok(()),
                    other => Err(place.mismatch(other, "[]interface {}")),
                },
                _ => self.string(value, &place, Coerce::No, &mut d.alias),
            }
        })?;
        Ok(dependency)
    }
}

/// A YAML number or boolean as `sigs.k8s.io/yaml` writes it for a string field: integers
/// in decimal, floats with `FormatFloat(f, 'g', -1, 32)`.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => crate::gostd::strconv::format_float(f, 'g', -1, 32),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}
