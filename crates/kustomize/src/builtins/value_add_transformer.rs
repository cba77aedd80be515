//! kustomize's built-in `ValueAddTransformer`: writes one string (by default the name of
//! the kustomization's directory) into a field of selected resources, creating the field
//! when missing, or inserts it into a file path the field holds (`filePathPosition`).
//! The path `metadata/namespace` is special: it sets the namespace as the namespace
//! transformer does, without its field specs.

use serde_json::{Map, Value};

use super::namespace_transformer::{self, NamespaceOptions};
use super::{Transformer, decode};
use crate::error::Error;
use crate::fieldspec::split_path;
use crate::gojson::{self, Mode};
use crate::gotypes::{VALUE_ADD_TARGET_FILE_T, VALUE_ADD_TRANSFORMER_T};
use crate::kustomization::list;
use crate::loader::Loader;
use crate::patch::Selector;
use crate::resource::{Resource, scalar_string};
use crunch_yaml::{Dialect, parse_document};

/// The path that means "the namespace" rather than a field to write.
const NAMESPACE_PATH: &str = "metadata/namespace";

/// One `targets` entry.
#[derive(Debug, Clone)]
struct Target {
    /// Which resources; `None` selects every resource.
    selector: Option<Selector>,
    /// The field, as slash-separated map keys (`\/` escapes a slash).
    field_path: String,
    /// 0: replace the field; n > 0: insert the value as the n-th part of a file path.
    file_path_position: usize,
}

/// A configured `ValueAddTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct ValueAddTransformer {
    value: String,
    targets: Vec<Target>,
}

impl ValueAddTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "ValueAddTransformer";

    /// Reads a plugin config: `value` (trimmed; empty means the base name of the
    /// kustomization's directory), `targets` and the targets in `targetFilePath` (a file
    /// kustomize decodes with `sigs.k8s.io/yaml`).
    pub(crate) fn read(cfg: &Value, ldr: &Loader) -> Result<ValueAddTransformer, Error> {
        let body = decode(cfg, &VALUE_ADD_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let mut value = text("value").trim().to_string();
        if value.is_empty() {
            value = ldr
                .root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let mut targets = list(body.get("targets"), "targets")?
            .iter()
            .map(Target::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let file = text("targetFilePath");
        if !file.is_empty() {
            let (path, text) = ldr.read_text(file)?;
            let doc = parse_document(&text, Dialect::GoYamlV2)
                .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
            let decoded = gojson::decode(&doc, &VALUE_ADD_TARGET_FILE_T, Mode::YamlUnmarshal)
                .map_err(|e| Error::new(e).in_file(&path))?;
            for t in list(decoded.get("targets"), "targets")? {
                targets.push(Target::parse(t)?);
            }
        }
        if targets.is_empty() {
            return Err(Error::new("must specify at least one target"));
        }
        Ok(ValueAddTransformer { value, targets })
    }
}

impl Transformer for ValueAddTransformer {
    /// Writes the value into every target field, target by target.
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        for t in &self.targets {
            let selected = rs
                .iter_mut()
                .filter(|r| t.selector.as_ref().is_none_or(|s| s.matches(r)));
            for r in selected {
                if t.field_path == NAMESPACE_PATH {
                    namespace_transformer::set_fields(
                        r,
                        &self.value,
                        &[],
                        NamespaceOptions::default(),
                    )?;
                } else {
                    t.add(&mut r.obj, &self.value)?;
                }
            }
        }
        Ok(())
    }
}

impl Target {
    /// Reads a decoded `targets` entry.
    fn parse(v: &Value) -> Result<Target, Error> {
        let selector = v.get("selector").map(Selector::parse).transpose()?;
        let field_path = v
            .get("fieldPath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if field_path.is_empty() {
            return Err(Error::new("fieldPath cannot be empty"));
        }
        let position = v
            .get("filePathPosition")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let file_path_position = usize::try_from(position).map_err(|_| {
            Error::new(format!(
                "value of FilePathPosition ({position}) cannot be negative"
            ))
        })?;
        Ok(Target {
            selector,
            field_path,
            file_path_position,
        })
    }

    /// kyaml's `LookupCreate` of a scalar at the path, then the value written into it.
    fn add(&self, obj: &mut Value, value: &str) -> Result<(), Error> {
        // kyaml drops blank path parts.
        let parts: Vec<String> = split_path(&self.field_path)
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let Some((last, dirs)) = parts.split_last() else {
            return Err(Error::new("fieldPath cannot be empty"));
        };
        if let Some(part) = parts.iter().find(|p| is_list_part(p)) {
            return Err(Error::new(format!(
                "ValueAddTransformer: the list part {part:?} of fieldPath {:?} is not supported",
                self.field_path
            )));
        }
        let mut node = obj;
        for part in dirs {
            node = self
                .map_at(node)?
                .entry(part.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let node = self
            .map_at(node)?
            .entry(last.clone())
            .or_insert(Value::Null);
        if node.is_object() || node.is_array() {
            return Err(Error::new(format!(
                "ValueAddTransformer: fieldPath {:?} holds a map or list, not a scalar",
                self.field_path
            )));
        }
        let old = if node.is_null() {
            String::new()
        } else {
            scalar_string(node)
        };
        let text = if self.file_path_position > 0 {
            insert_path_part(&old, self.file_path_position - 1, value)
        } else {
            value.to_string()
        };
        *node = typed(node, text);
        Ok(())
    }

    fn map_at<'v>(&self, node: &'v mut Value) -> Result<&'v mut Map<String, Value>, Error> {
        match node {
            Value::Object(map) => Ok(map),
            _ => Err(Error::new(format!(
                "ValueAddTransformer: fieldPath {:?} goes through a value that is not a map",
                self.field_path
            ))),
        }
    }
}

/// Whether a path part addresses list elements (an index, `-`, `*` or `[k=v]`), which
/// kyaml's path getter supports and crunch does not.
fn is_list_part(part: &str) -> bool {
    part == "-" || part == "*" || part.starts_with('[') || part.parse::<i64>().is_ok()
}

/// The new scalar as it prints: kyaml swaps in an untagged node that keeps the old node's
/// style, so plain text is re-resolved (numbers, booleans) unless the old value was a
/// string that only a quoted scalar could hold.
fn typed(old: &Value, text: String) -> Value {
    let was_quoted = matches!(old, Value::String(s) if !resolves_to_string(s));
    if was_quoted || text.is_empty() {
        return Value::String(text);
    }
    match parse_document(&text, Dialect::GoYamlV3) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::String(text),
    }
}

fn resolves_to_string(text: &str) -> bool {
    text.is_empty()
        || !matches!(
            parse_document(text, Dialect::GoYamlV3),
            Ok(Value::Number(_) | Value::Bool(_) | Value::Null)
        )
}

/// kustomize's `InsertPathPart`: `part` becomes the `pos`-th element of the file path
/// (clamped to the ends); a leading `/` stays leading; the result is cleaned as Go's
/// `filepath.Join` does.
fn insert_path_part(path: &str, pos: usize, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let mut parts = path_split(path);
    let absolute = parts.first().is_some_and(String::is_empty);
    let mut pos = pos.min(parts.len());
    if absolute && pos < parts.len() {
        pos += 1;
    }
    parts.insert(pos, part.to_string());
    path_join(&parts)
}

/// kustomize's `PathSplit`: the path's elements; a leading empty element marks an
/// absolute path.
fn path_split(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let (dir, file) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    if dir == "/" {
        return if file.is_empty() {
            vec![String::new()]
        } else {
            vec![String::new(), file.to_string()]
        };
    }
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    if dir.is_empty() {
        return vec![file.to_string()];
    }
    let mut out = path_split(dir);
    out.push(file.to_string());
    out
}

/// kustomize's `PathJoin`: Go's `filepath.Join` of the elements; when the first is empty,
/// `/` followed by the join of the rest (not cleaned again: `/../a` stays).
fn path_join(parts: &[String]) -> String {
    let join = |parts: &[String]| crunch_gostd::path::join(parts.iter().map(String::as_str));
    match parts.split_first() {
        Some((first, rest)) if first.is_empty() => format!("/{}", join(rest)),
        _ => join(parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_path_parts_as_kustomize_documents() {
        let cases = [
            ("", 0, "PEACH"),
            ("/", 0, "/PEACH"),
            ("pie", 0, "PEACH/pie"),
            ("/pie", 0, "/PEACH/pie"),
            ("raw", 1, "raw/PEACH"),
            ("/raw", 1, "/raw/PEACH"),
            ("a/nice/warm/pie", 3, "a/nice/warm/PEACH/pie"),
            ("/a/nice/warm/pie", 3, "/a/nice/warm/PEACH/pie"),
            ("a/b", 9999, "a/b/PEACH"),
        ];
        for (path, pos, want) in cases {
            assert_eq!(
                insert_path_part(path, pos, "PEACH"),
                want,
                "{path} at {pos}"
            );
        }
    }

    #[test]
    fn splits_paths_like_path_split() {
        assert_eq!(path_split("a//b"), ["a", "", "b"]);
        assert_eq!(path_split("/"), [""]);
        assert_eq!(path_split("/x/y"), ["", "x", "y"]);
    }

    #[test]
    fn new_values_resolve_unless_the_old_one_was_quoted() {
        assert_eq!(typed(&Value::Null, "12".into()), serde_json::json!(12));
        assert_eq!(typed(&Value::Null, "abc".into()), serde_json::json!("abc"));
        assert_eq!(
            typed(&serde_json::json!("7"), "12".into()),
            serde_json::json!("12")
        );
    }
}
