//! `replacements`: copy a field of one resource into fields of others, with kustomize's
//! path syntax (`spec.containers.[name=app].image`, `*`, indexes, `create`) and the
//! `delimiter`/`index` options.

use regex::Regex;
use serde_json::{Map, Value};

use super::error::Error;
use super::patch::MetaSelector;
use super::resid::{Gvk, ResId, namespaced_effective};
use super::resource::{Resource, scalar_string};
use crunch_yaml::{Dialect, parse_document};

/// kustomize's `ResId` used as a selector: empty parts match anything, the rest exactly.
#[derive(Debug, Clone, Default)]
struct IdSelector {
    gvk: Gvk,
    name: String,
    namespace: String,
}

impl IdSelector {
    fn parse(v: &Value) -> IdSelector {
        let s = |k: &str| v.get(k).map(scalar_string).unwrap_or_default();
        IdSelector {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            name: s("name"),
            namespace: s("namespace"),
        }
    }

    fn is_empty(&self) -> bool {
        self.gvk == Gvk::default() && self.name.is_empty() && self.namespace.is_empty()
    }

    /// kyaml's `IsSelectedBy`. Neither the selector nor the ids replacements make of a
    /// resource know their type's scope, so namespaces compare as if every type were
    /// namespaced.
    fn selects(&self, id: &ResId) -> bool {
        (self.name.is_empty() || self.name == id.name)
            && (self.namespace.is_empty()
                || namespaced_effective(&self.namespace) == namespaced_effective(&id.namespace))
            && id.gvk.is_selected_by(&self.gvk)
    }

    /// Whether any id (current or earlier) of `r` is selected.
    fn selects_resource(&self, r: &Resource) -> bool {
        r.any_id(|id| self.selects(id))
    }
}

/// A selector with label and annotation requirements.
#[derive(Debug, Clone, Default)]
struct Selector {
    id: IdSelector,
    meta: MetaSelector,
}

impl Selector {
    fn parse(v: &Value) -> Result<Selector, Error> {
        Ok(Selector {
            id: IdSelector::parse(v),
            meta: match v.as_object() {
                Some(m) => MetaSelector::parse(m)?,
                None => MetaSelector::default(),
            },
        })
    }
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default)]
struct FieldOptions {
    delimiter: String,
    index: i64,
    create: bool,
}

impl FieldOptions {
    fn parse(v: Option<&Value>) -> FieldOptions {
        let Some(v) = v else {
            return FieldOptions::default();
        };
        FieldOptions {
            delimiter: v.get("delimiter").map(scalar_string).unwrap_or_default(),
            index: v.get("index").and_then(Value::as_i64).unwrap_or(0),
            create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

#[derive(Debug, Clone)]
struct Target {
    select: Selector,
    reject: Vec<Selector>,
    field_paths: Vec<String>,
    options: FieldOptions,
}

/// One replacement: where the value comes from and where it goes.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    source: IdSelector,
    source_path: String,
    source_options: FieldOptions,
    targets: Vec<Target>,
}

const DEFAULT_PATH: &str = "metadata.name";

impl Replacement {
    /// Reads one inline replacement (`source` and `targets`).
    pub(crate) fn parse(v: &Value) -> Result<Replacement, Error> {
        let (Some(source), Some(targets)) = (v.get("source"), v.get("targets")) else {
            return Err(Error::new(
                "replacements must specify a source and at least one target",
            ));
        };
        let targets = targets
            .as_array()
            .ok_or_else(|| Error::new("replacement targets must be a list"))?
            .iter()
            .map(|t| {
                let select = t
                    .get("select")
                    .ok_or_else(|| Error::new("target must specify resources to select"))?;
                let mut field_paths: Vec<String> = t
                    .get("fieldPaths")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(scalar_string).collect())
                    .unwrap_or_default();
                if field_paths.is_empty() {
                    field_paths.push(DEFAULT_PATH.to_string());
                }
                Ok(Target {
                    select: Selector::parse(select)?,
                    reject: t
                        .get("reject")
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(Selector::parse)
                        .collect::<Result<_, _>>()?,
                    field_paths,
                    options: FieldOptions::parse(t.get("options")),
                })
            })
            .collect::<Result<_, Error>>()?;
        let path = source
            .get("fieldPath")
            .map(scalar_string)
            .unwrap_or_default();
        Ok(Replacement {
            source: IdSelector::parse(source),
            source_path: if path.is_empty() {
                DEFAULT_PATH.to_string()
            } else {
                path
            },
            source_options: FieldOptions::parse(source.get("options")),
            targets,
        })
    }
}

/// kustomize's `SmarterPathSplitter`: split on `.`, keeping `[a.b=c]` together (and
/// unwrapping brackets without `=`), with `\.` escaping a dot.
fn split_path(path: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    for (i, part) in path.split('.').enumerate() {
        match raw.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(part);
            }
            _ if i == 0 && part.is_empty() && path.len() > 1 => {}
            _ => raw.push(part.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let elem = &raw[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut joined = vec![elem.clone()];
            while i + 1 < raw.len() {
                i += 1;
                joined.push(raw[i].clone());
                if raw[i].ends_with(']') {
                    break;
                }
            }
            let s = joined.join(".");
            out.push(if s.contains('=') {
                s
            } else {
                s.trim_matches(['[', ']']).to_string()
            });
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

/// `[field=value]` split into field and value.
fn list_selector(seg: &str) -> Option<(&str, &str)> {
    seg.strip_prefix('[')?.strip_suffix(']')?.split_once('=')
}

fn is_index(seg: &str) -> bool {
    !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())
}

/// The source value at `path` (kyaml's `Lookup`: fields, `[k=v]` exact matches, indexes).
fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((head, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = if let Some((k, want)) = list_selector(head) {
        v.as_array()?
            .iter()
            .find(|e| e.get(k).is_some_and(|x| scalar_string(x) == want))?
    } else if is_index(head) && v.is_array() {
        v.as_array()?.get(head.parse::<usize>().ok()?)?
    } else {
        v.get(head.as_str())?
    };
    lookup(next, rest)
}

/// What kind of node `create` makes for a missing part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Make {
    Map,
    List,
    Leaf,
}

fn part_kind(next: Option<&String>) -> Make {
    match next {
        None => Make::Leaf,
        Some(n) if n.starts_with('[') || is_index(n) => Make::List,
        Some(_) => Make::Map,
    }
}

fn new_node(kind: Make) -> Value {
    match kind {
        Make::Map => Value::Object(Map::new()),
        Make::List => Value::Array(Vec::new()),
        Make::Leaf => Value::Null,
    }
}

/// kyaml's `PathMatcher`: calls `set` on every node the path matches, creating missing
/// parts when asked. Returns how many nodes matched.
fn walk_targets(
    v: &mut Value,
    path: &[String],
    create: bool,
    set: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<usize, Error> {
    let Some((head, rest)) = path.split_first() else {
        set(v)?;
        return Ok(1);
    };
    if is_index(head) {
        let Value::Array(items) = v else {
            return Err(Error::new(format!("wrong node kind for index {head}")));
        };
        let idx: usize = head.parse().map_err(|_| Error::new("bad index"))?;
        if create && items.len() == idx {
            items.push(new_node(part_kind(rest.first())));
        }
        let Some(item) = items.get_mut(idx) else {
            return Err(Error::new(format!(
                "index {idx} specified but only {} elements found",
                items.len()
            )));
        };
        return walk_targets(item, rest, create, set);
    }
    if let Some((field, pattern)) = list_selector(head) {
        let Value::Array(items) = v else {
            return Ok(0);
        };
        let re =
            Regex::new(pattern).map_err(|e| Error::new(format!("invalid selector {head}: {e}")))?;
        let hit = |e: &Value| -> bool {
            let text = if field.is_empty() {
                Some(scalar_string(e))
            } else {
                e.get(field).map(scalar_string)
            };
            text.is_some_and(|t| re.is_match(t.trim()))
        };
        if create && !items.iter().any(hit) {
            let value = Value::String(pattern.to_string());
            items.push(if field.is_empty() {
                value
            } else {
                Value::Object(Map::from_iter([(field.to_string(), value)]))
            });
        }
        let mut n = 0;
        for item in items.iter_mut().filter(|e| hit(e)) {
            n += walk_targets(item, rest, create, set)?;
        }
        return Ok(n);
    }
    if head == "*" {
        let Value::Array(items) = v else {
            return Err(Error::new("wildcard `*` needs a list"));
        };
        let mut n = 0;
        for item in items.iter_mut() {
            n += walk_targets(item, rest, create, set)?;
        }
        return Ok(n);
    }
    let Value::Object(map) = v else {
        return Ok(0);
    };
    if !map.contains_key(head.as_str()) {
        if !create {
            return Ok(0);
        }
        map.insert(head.clone(), new_node(part_kind(rest.first())));
    }
    match map.get_mut(head.as_str()) {
        Some(next) => walk_targets(next, rest, create, set),
        None => Ok(0),
    }
}

/// A scalar's text as YAML shows it.
fn scalar_text(v: &Value) -> String {
    scalar_string(v)
}

/// Plain-scalar resolution (go-yaml v3): what an untyped or non-string node with this text
/// prints as.
fn resolve_plain(text: &str) -> Value {
    if text.is_empty() {
        return Value::String(String::new());
    }
    match parse_document(text, Dialect::GoYamlV3) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(text.to_string()),
    }
}

/// Sets a target node to the replacement value as kyaml does: a scalar target keeps its
/// type and takes the value's text; anything else is replaced by the value.
fn set_value(target: &mut Value, value: &Value, opts: &FieldOptions) -> Result<(), Error> {
    let mut value = value.clone();
    if !opts.delimiter.is_empty() {
        if target.is_object() || target.is_array() {
            return Err(Error::new(
                "delimiter option can only be used with scalar nodes",
            ));
        }
        let mut parts: Vec<String> = scalar_text(target)
            .split(opts.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = scalar_text(&value);
        match usize::try_from(opts.index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        value = Value::String(parts.join(&opts.delimiter));
    }
    match target {
        Value::String(_) if !value.is_object() && !value.is_array() => {
            *target = Value::String(scalar_text(&value));
        }
        Value::Number(_) | Value::Bool(_) | Value::Null
            if !value.is_object() && !value.is_array() =>
        {
            *target = resolve_plain(&scalar_text(&value));
        }
        _ => *target = value,
    }
    Ok(())
}

/// Runs the replacements, in order, over the resources.
pub(crate) fn apply(rs: &mut [Resource], reps: &[Replacement]) -> Result<(), Error> {
    for rep in reps {
        let sources: Vec<&Resource> = rs
            .iter()
            .filter(|r| rep.source.selects_resource(r))
            .collect();
        let source = match sources.as_slice() {
            [one] => *one,
            [] => return Err(Error::new("nothing selected by replacement source")),
            _ => {
                return Err(Error::new(
                    "multiple matches for replacement source selector",
                ));
            }
        };
        let path = split_path(&rep.source_path);
        let mut value = match lookup(&source.obj, &path) {
            None | Some(Value::Null) => {
                return Err(Error::new(format!(
                    "fieldPath `{}` is missing for replacement source {}",
                    rep.source_path,
                    source.cur_id()
                )));
            }
            Some(v) => v.clone(),
        };
        let o = &rep.source_options;
        if !o.delimiter.is_empty() {
            if value.is_object() || value.is_array() {
                return Err(Error::new(
                    "delimiter option can only be used with scalar nodes",
                ));
            }
            let text = scalar_text(&value);
            let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
            let part = usize::try_from(o.index)
                .ok()
                .and_then(|i| parts.get(i))
                .ok_or_else(|| {
                    Error::new(format!(
                        "options.index {} is out of bounds for value {text}",
                        o.index
                    ))
                })?;
            value = Value::String((*part).to_string());
        }
        for t in &rep.targets {
            for r in rs.iter_mut() {
                if !t.select.meta.matches(r)
                    || t.reject
                        .iter()
                        .any(|x| !x.meta.is_empty() && x.meta.matches(r))
                    || !t.select.id.selects_resource(r)
                    || t.reject
                        .iter()
                        .any(|x| !x.id.is_empty() && x.id.selects_resource(r))
                {
                    continue;
                }
                for fp in &t.field_paths {
                    let n =
                        walk_targets(&mut r.obj, &split_path(fp), t.options.create, &mut |node| {
                            set_value(node, &value, &t.options)
                        })?;
                    if n == 0 {
                        return Err(Error::new(format!(
                            "unable to find field \"{fp}\" in replacement target"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_splitting_keeps_selectors() {
        assert_eq!(
            split_path("spec.template.spec.containers.[name=app.v1].image"),
            vec![
                "spec",
                "template",
                "spec",
                "containers",
                "[name=app.v1]",
                "image"
            ]
        );
        assert_eq!(
            split_path("metadata.annotations.[example.com/x]"),
            vec!["metadata", "annotations", "example.com/x"]
        );
        assert_eq!(split_path(r"data.a\.b"), vec!["data", "a.b"]);
    }

    #[test]
    fn scalar_targets_keep_their_type() {
        let mut n = serde_json::json!(1);
        set_value(&mut n, &serde_json::json!("3"), &FieldOptions::default()).expect("set");
        assert_eq!(n, serde_json::json!(3));
        let mut s = serde_json::json!("x");
        set_value(&mut s, &serde_json::json!(5), &FieldOptions::default()).expect("set");
        assert_eq!(s, serde_json::json!("5"));
    }
}
