//! Merge keys (`<<`) as each tool applies them.
//!
//! go-yaml v2 (Helm) merges while decoding. kustomize merges earlier, in kyaml's `DeAnchor`
//! pass over go-yaml v3 nodes, with its own rules: a key is a merge key by its resolved tag
//! (`!!merge`), a mapping may hold only one, and afterwards the first key spelled `<<`
//! is deleted whatever its style, so a quoted `"<<"` key disappears from the output.

use std::rc::Rc;

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Map, Value};

use super::Dialect;
use super::compose::{Node, NodeKind};
use super::decode::Decoder;
use super::error::{Error, Position, Shape};

/// A mapping's entries as the parser delivered them.
type Entries = Vec<(Rc<Node>, Rc<Node>)>;

const MERGE: &str = "<<";

/// go-yaml's `!` non-specific tag: the node is typed as if it had no tag (plain scalars
/// resolve, quoted ones are strings).
pub(crate) fn is_non_specific(tag: &Tag) -> bool {
    tag.handle.is_empty() && tag.suffix == "!"
}

fn is_merge_tag(tag: &Tag) -> bool {
    tag.is_yaml_core_schema() && tag.suffix == "merge"
}

/// The text of a scalar key, whatever its style or tag.
fn scalar_text(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Whether `key` makes its entry a merge in `dialect`.
///
/// go-yaml v2 asks for `<<` that is implicit (plain without a tag, or any style with the
/// `!` tag) or tagged `!!merge`. go-yaml v3 gives a plain `<<` (untagged or `!`) the merge
/// tag and quoted ones the string tag; kyaml then goes by the tag alone, so `!!merge x`
/// is a merge key too.
fn is_merge(key: &Node, dialect: Dialect) -> bool {
    let NodeKind::Scalar {
        value, style, tag, ..
    } = &key.kind
    else {
        return false;
    };
    let plain = *style == ScalarStyle::Plain;
    match (dialect, tag) {
        (_, Some(tag)) if is_merge_tag(tag) => dialect == Dialect::GoYamlV3 || value == MERGE,
        (Dialect::GoYamlV2, Some(tag)) => is_non_specific(tag) && value == MERGE,
        (Dialect::GoYamlV3, Some(tag)) => is_non_specific(tag) && plain && value == MERGE,
        (_, None) => plain && value == MERGE,
    }
}

pub(crate) fn want_map(position: Position) -> Error {
    Error::at(
        position,
        "map merge requires map or sequence of maps as the value",
    )
}

/// kyaml's complaints about a merge value, which carry no position.
fn kyaml_error(message: &str) -> Error {
    Error::new(Shape::Decoder, None, message)
}

impl Decoder {
    /// Decodes a mapping's entries, applying `<<` merges as the dialect's tool does.
    pub(crate) fn mapping(&mut self, entries: Entries) -> Result<Map<String, Value>, Error> {
        match self.dialect {
            Dialect::GoYamlV2 => self.mapping_v2(entries),
            Dialect::GoYamlV3 => self.mapping_kyaml(entries),
        }
    }

    /// go-yaml v2 decodes each merged mapping over what is already there (so a merge
    /// overrides earlier explicit keys) and walks a merge sequence backwards so that earlier
    /// entries win; duplicate keys: the last one wins, or in strict mode an error.
    fn mapping_v2(&mut self, entries: Entries) -> Result<Map<String, Value>, Error> {
        let mut map = Map::with_capacity(entries.len());
        for (key, value) in entries {
            if !is_merge(&key, Dialect::GoYamlV2) {
                let name = self.entry_key(key, &value)?;
                let position = value.position;
                let value = self.value(value)?;
                self.set_v2(&mut map, name, value, position)?;
                continue;
            }
            let items = match &value.kind {
                NodeKind::Sequence(items) => {
                    self.count(&value)?;
                    items.clone()
                }
                _ => vec![value],
            };
            for item in items.into_iter().rev() {
                let position = item.position;
                let Value::Object(source) = self.value(item)? else {
                    return Err(want_map(position));
                };
                for (name, value) in source {
                    self.set_v2(&mut map, name, value, position)?;
                }
            }
        }
        Ok(map)
    }

    /// go-yaml v2's `setMapIndex`: in strict mode a key already in the map is an error at
    /// the value being set.
    fn set_v2(
        &self,
        map: &mut Map<String, Value>,
        name: String,
        value: Value,
        position: Position,
    ) -> Result<(), Error> {
        if self.strict && map.contains_key(&name) {
            let quoted = crunch_gostd::strconv::quote(&name);
            return Err(Error::new(
                Shape::Unmarshal,
                Some(position),
                format!("key {quoted} already set in map"),
            ));
        }
        map.insert(name, value);
        Ok(())
    }

    /// kyaml's `DeAnchor` followed by go-yaml v3's decoding: explicit keys beat merged ones,
    /// earlier merge sources beat later ones, a second merge key or a duplicate explicit key
    /// is an error, and the first key spelled `<<` is dropped.
    fn mapping_kyaml(&mut self, entries: Entries) -> Result<Map<String, Value>, Error> {
        let mut merges = entries
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| is_merge(key, Dialect::GoYamlV3));
        let merge = merges.next();
        if merges.next().is_some() {
            return Err(kyaml_error("duplicate merge key"));
        }
        let sources = match merge {
            Some((_, (_, value))) => self.kyaml_sources(value)?,
            None => Vec::new(),
        };
        let cleared = entries
            .iter()
            .position(|(key, _)| scalar_text(key) == Some(MERGE));
        // A merge key spelled `<<` that survives the deletion (a quoted `"<<"` came first)
        // is merged again by go-yaml v3, which changes nothing; `!!merge x` stays a key.
        let merged_again =
            merge.and_then(|(i, (key, _))| (scalar_text(key) == Some(MERGE)).then_some(i));
        let mut map = Map::with_capacity(entries.len());
        // The line of each explicit key, in the map's order, for the duplicate-key error.
        let mut lines: Vec<usize> = Vec::with_capacity(entries.len());
        let explicit = entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != cleared && Some(*i) != merged_again)
            .map(|(_, entry)| entry);
        for (key, value) in explicit {
            let position = key.position;
            let name = self.entry_key(key, &value)?;
            if map.contains_key(&name) {
                let first = map.keys().position(|k| *k == name).unwrap_or_default();
                return Err(Error::new(
                    Shape::Unmarshal,
                    Some(position),
                    format!(
                        "mapping key {name:?} already defined at line {}",
                        lines.get(first).copied().unwrap_or_default()
                    ),
                ));
            }
            lines.push(position.line);
            let value = self.value(value)?;
            map.insert(name, value);
        }
        for source in sources {
            let position = source.position;
            let Value::Object(merged) = self.value(source)? else {
                return Err(want_map(position));
            };
            for (name, value) in merged {
                map.entry(name).or_insert(value);
            }
        }
        Ok(map)
    }

    /// The mappings a kyaml merge value names, earliest (strongest) first: a mapping, an
    /// alias to one, or a sequence of those.
    fn kyaml_sources(&mut self, value: &Rc<Node>) -> Result<Vec<Rc<Node>>, Error> {
        match &value.kind {
            NodeKind::Sequence(items) => {
                self.count(value)?;
                items.iter().map(kyaml_source).collect()
            }
            _ => kyaml_source(value).map(|source| vec![source]),
        }
    }
}

/// One mapping of a kyaml merge value.
fn kyaml_source(node: &Rc<Node>) -> Result<Rc<Node>, Error> {
    match &node.kind {
        NodeKind::Mapping(_) => Ok(Rc::clone(node)),
        NodeKind::Alias(target) if matches!(target.kind, NodeKind::Mapping(_)) => {
            Ok(Rc::clone(node))
        }
        NodeKind::Alias(_) => Err(kyaml_error(
            "invalid map merge: received alias for a non-map value",
        )),
        NodeKind::Sequence(_) => Err(kyaml_error("invalid map merge: received a nested sequence")),
        NodeKind::Scalar { .. } => Err(want_map(node.position)),
    }
}
