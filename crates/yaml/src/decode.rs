//! Turns composed nodes into [`Value`]s as `sigs.k8s.io/yaml` (go-yaml v2) or kyaml (go-yaml
//! v3) would after their JSON conversion: explicit tags, merge keys, key stringification,
//! and go-yaml's alias-expansion budget.

use std::borrow::Cow;
use std::rc::Rc;

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

use super::Dialect;
use super::breaks::is_break;
use super::compose::{Node, NodeKind};
use super::emit::Analysis;
use super::error::Error;
use super::merge::{is_non_specific, want_map};
use super::resolve::{Resolved, Timestamp, resolve};
use crunch_gostd::strconv::format_float;

/// Decodes one document's root node; `strict` fails on a key a mapping sets twice (go-yaml
/// v2's `UnmarshalStrict`, which only [`Dialect::GoYamlV2`] reads with).
pub(crate) fn decode(root: Rc<Node>, dialect: Dialect, strict: bool) -> Result<Value, Error> {
    let mut decoder = Decoder {
        dialect,
        strict,
        decoded: 0,
        aliased: 0,
        alias_depth: 0,
    };
    decoder.value(root)
}

/// A decoded scalar before it becomes JSON: keys need the Go type to be stringified the
/// way `sigs.k8s.io/yaml` does.
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

pub(crate) struct Decoder {
    pub(crate) dialect: Dialect,
    /// go-yaml v2's strict mode: a key set twice in one mapping is an error.
    pub(crate) strict: bool,
    /// Nodes decoded so far, and how many of them were reached through an alias: go-yaml
    /// fails a document whose expansion is mostly aliases (billion laughs) this way.
    decoded: u64,
    aliased: u64,
    alias_depth: usize,
}

/// go-yaml's `allowedAliasRatio`: generous for small documents, strict for huge ones.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    match decoded {
        d if d <= LOW => 0.99,
        d if d >= HIGH => 0.10,
        d => 0.99 - 0.89 * ((d - LOW) as f64 / (HIGH - LOW) as f64),
    }
}

fn short_tag(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

impl Decoder {
    pub(crate) fn count(&mut self, node: &Node) -> Result<(), Error> {
        self.decoded += 1;
        if self.alias_depth > 0 {
            self.aliased += 1;
        }
        if self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
        {
            return Err(Error::at(
                node.position,
                "document contains excessive aliasing",
            ));
        }
        Ok(())
    }

    /// Decodes `node`, moving its text out when no alias shares it.
    pub(crate) fn value(&mut self, node: Rc<Node>) -> Result<Value, Error> {
        self.count(&node)?;
        let node = Rc::unwrap_or_clone(node);
        match node.kind {
            NodeKind::Alias(target) => {
                self.alias_depth += 1;
                let result = self.value(target);
                self.alias_depth -= 1;
                result
            }
            NodeKind::Scalar { .. } => self.scalar(node).and_then(to_json),
            NodeKind::Sequence(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.value(item)?);
                }
                Ok(Value::Array(values))
            }
            NodeKind::Mapping(entries) => self.mapping(entries).map(Value::Object),
        }
    }

    /// A mapping key as the string `sigs.k8s.io/yaml` makes of it (go-yaml v2), or as
    /// kustomize accepts it (go-yaml v3: strings only, since anything else makes its JSON
    /// conversion fail).
    fn key(&mut self, node: Rc<Node>) -> Result<String, KeyError> {
        self.count(&node).map_err(KeyError::Fatal)?;
        let unsupported = |go_type: &str, key: String| {
            KeyError::Unsupported(format!(
                "unsupported map key of type: {go_type}, key: {key}"
            ))
        };
        let node = Rc::unwrap_or_clone(node);
        match node.kind {
            NodeKind::Scalar { .. } => {
                match (self.scalar(node).map_err(KeyError::Fatal)?, self.dialect) {
                    (Scalar::Str(s), _) => Ok(s),
                    (_, Dialect::GoYamlV3) => Err(KeyError::Fatal(Error::verbatim(
                        "json: unsupported type: map[interface {}]interface {}",
                    ))),
                    (Scalar::Bool(b), Dialect::GoYamlV2) => Ok(b.to_string()),
                    (Scalar::Int(i), Dialect::GoYamlV2) => Ok(i.to_string()),
                    (Scalar::Float(f), Dialect::GoYamlV2) => Ok(float_key(f)),
                    (Scalar::Uint(u), Dialect::GoYamlV2) => {
                        Err(unsupported("uint64", format!("{u:#x}")))
                    }
                    (Scalar::Null, Dialect::GoYamlV2) => {
                        Err(unsupported("%!s(<nil>)", "<nil>".to_owned()))
                    }
                }
            }
            NodeKind::Alias(target) => {
                self.alias_depth += 1;
                let key = self.key(target);
                self.alias_depth -= 1;
                key
            }
            NodeKind::Sequence(_) | NodeKind::Mapping(_) => Err(KeyError::Fatal(Error::at(
                node.position,
                "invalid map key: a mapping key must be a scalar",
            ))),
        }
    }

    /// An entry's key as a string; an unsupported key's error names the entry's value.
    pub(crate) fn entry_key(&mut self, key: Rc<Node>, value: &Rc<Node>) -> Result<String, Error> {
        self.key(key)
            .map_err(|e| e.into_error(&self.value_repr(Rc::clone(value))))
    }

    /// The value of an entry with an unsupported key as Go's `%+#v` shows scalars.
    fn value_repr(&mut self, value: Rc<Node>) -> String {
        match self.value(value) {
            Ok(Value::String(s)) => format!("{s:?}"),
            Ok(Value::Null) => "<nil>".to_owned(),
            Ok(Value::Bool(b)) => b.to_string(),
            Ok(Value::Number(n)) => n.to_string(),
            _ => "…".to_owned(),
        }
    }

    /// go-yaml keeps a timestamp's text when decoding into `interface{}`; kustomize's JSON
    /// round trip of go-yaml v3 nodes makes it a `time.Time` printed in RFC 3339.
    fn timestamp(&self, stamp: Timestamp, text: String) -> Scalar {
        match self.dialect {
            Dialect::GoYamlV2 => Scalar::Str(text),
            Dialect::GoYamlV3 => Scalar::Str(stamp.rfc3339()),
        }
    }

    fn scalar(&self, node: Node) -> Result<Scalar, Error> {
        let Node { kind, position, .. } = node;
        let NodeKind::Scalar {
            value,
            style,
            tag,
            in_flow,
        } = kind
        else {
            return Err(want_map(position));
        };
        // go-yaml v3 types a plain scalar tagged `!` as if it had no tag; v2 keeps its text.
        let tag = tag.as_ref().filter(|tag| {
            !(self.dialect == Dialect::GoYamlV3
                && style == ScalarStyle::Plain
                && is_non_specific(tag))
        });
        let Some(tag) = tag else {
            if style == ScalarStyle::Folded && self.dialect == Dialect::GoYamlV3 {
                if let Cow::Owned(folded) = kyaml_folded(&value) {
                    return Ok(Scalar::Str(folded));
                }
                return Ok(Scalar::Str(value));
            }
            if style != ScalarStyle::Plain {
                return Ok(Scalar::Str(value));
            }
            // Observed kustomize behaviour inside flow collections: an empty value is an
            // empty string and a timestamp with a time of day keeps its text.
            let kyaml_flow = in_flow && self.dialect == Dialect::GoYamlV3;
            return Ok(match resolve(&value, self.dialect) {
                Resolved::Null if kyaml_flow && value.is_empty() => Scalar::Str(String::new()),
                Resolved::Timestamp(stamp) if kyaml_flow && stamp.has_time() => Scalar::Str(value),
                Resolved::Timestamp(stamp) => self.timestamp(stamp, value),
                resolved => from_resolved(resolved, value),
            });
        };
        if !tag.is_yaml_core_schema() {
            // Local tags (`!foo`, `!`) are not resolvable: go-yaml keeps the text.
            return Ok(Scalar::Str(value));
        }
        let resolved = resolve(&value, self.dialect);
        let mismatch = || {
            let got = match resolved {
                Resolved::Null => "!!null",
                Resolved::Bool(_) => "!!bool",
                Resolved::Int(_) | Resolved::Uint(_) => "!!int",
                Resolved::Float(_) => "!!float",
                Resolved::Timestamp(_) => "!!timestamp",
                Resolved::Merge => "!!merge",
                Resolved::Str => "!!str",
            };
            Error::at(
                position,
                format!("cannot decode {got} `{value}` as a {}", short_tag(tag)),
            )
        };
        match tag.suffix.as_str() {
            "str" => Ok(Scalar::Str(value.clone())),
            "binary" => crunch_gostd::base64::decode_std(value.as_bytes())
                .ok()
                .map(|bytes| Scalar::Str(String::from_utf8_lossy(&bytes).into_owned()))
                .ok_or_else(|| Error::at(position, "!!binary value contains invalid base64 data")),
            "int" => match resolved {
                Resolved::Int(_) | Resolved::Uint(_) => Ok(from_resolved(resolved, value.clone())),
                _ => Err(mismatch()),
            },
            "float" => match resolved {
                Resolved::Int(i) => Ok(Scalar::Float(i as f64)),
                Resolved::Float(_) => Ok(from_resolved(resolved, value.clone())),
                _ => Err(mismatch()),
            },
            "bool" => match resolved {
                Resolved::Bool(_) => Ok(from_resolved(resolved, value.clone())),
                _ => Err(mismatch()),
            },
            "timestamp" => match resolved {
                Resolved::Timestamp(stamp) => Ok(self.timestamp(stamp, value.clone())),
                _ => Err(mismatch()),
            },
            "null" => match resolved {
                Resolved::Null => Ok(Scalar::Null),
                _ => Err(mismatch()),
            },
            _ => Ok(Scalar::Str(value.clone())),
        }
    }
}

/// A folded scalar's value after kustomize's round trip through go-yaml v3, whose folded
/// emitter misplaces a lookahead (it inspects the value's first character instead of the
/// text after the line break): unless the value starts with a blank, every line break that
/// ends an ordinary line and leads (past further breaks) to a more-indented line, or to the
/// end of a value ending in two or more breaks (kept with `>+`), gains an extra newline once
/// read back.
fn kyaml_folded(value: &str) -> Cow<'_, str> {
    let chars: Vec<char> = value.chars().collect();
    let starts_blank = chars
        .first()
        .is_none_or(|&c| matches!(c, ' ' | '\t') || is_break(c));
    // The emitter only writes folded style where libyaml allows a block scalar.
    if starts_blank || !Analysis::of(value).block_allowed {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    let mut breaks = true;
    let mut leading_spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if is_break(c) {
            // LS and PS are breaks to the emitter too, but only `\n` gains the extra one.
            if c == '\n' && !breaks && !leading_spaces {
                let next = chars[i..].iter().find(|&&n| !is_break(n));
                // Trailing breaks are kept (`>+`) when there are two or more; the extra
                // one then survives too.
                let kept_tail = next.is_none() && chars.len() - i >= 2;
                if matches!(next, Some(' ' | '\t')) || kept_tail {
                    out.push('\n');
                }
            }
            breaks = true;
        } else {
            if breaks {
                leading_spaces = matches!(c, ' ' | '\t');
            }
            breaks = false;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Why a key cannot become a string.
enum KeyError {
    /// `sigs.k8s.io/yaml`'s message so far; it goes on to name the value.
    Unsupported(String),
    Fatal(Error),
}

impl KeyError {
    fn into_error(self, repr: &str) -> Error {
        match self {
            KeyError::Unsupported(message) => Error::verbatim(format!("{message}, value: {repr}")),
            KeyError::Fatal(error) => error,
        }
    }
}

fn from_resolved(resolved: Resolved, text: String) -> Scalar {
    match resolved {
        Resolved::Null => Scalar::Null,
        Resolved::Bool(b) => Scalar::Bool(b),
        Resolved::Int(i) => Scalar::Int(i),
        Resolved::Uint(u) => Scalar::Uint(u),
        Resolved::Float(f) => Scalar::Float(f),
        Resolved::Merge | Resolved::Timestamp(_) | Resolved::Str => Scalar::Str(text),
    }
}

/// A float mapping key as `sigs.k8s.io/yaml` stringifies it: `FormatFloat(f, 'g', -1, 32)`,
/// with go-yaml's spellings for the non-finite values.
fn float_key(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else {
        format_float(f, 'g', -1, 32)
    }
}

fn to_json(scalar: Scalar) -> Result<Value, Error> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => Value::from(u),
        Scalar::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(Error::verbatim(format!(
                    "json: unsupported value: {}",
                    format_float(f, 'g', -1, 64)
                )));
            }
        },
        Scalar::Str(s) => Value::String(s),
    })
}
