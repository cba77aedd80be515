//! `vars`: kustomize's deprecated `$(NAME)` substitution. A var names a field of one
//! object; once the whole tree is built (hashes added, name references fixed), every
//! `$(NAME)` in the `varReference` fields is replaced by that field's value.

use std::fmt;

use serde_json::Value;

use super::error::Error;
use super::fieldspec::{CreateKind, FieldSpec};
use super::resid::{Gvk, ResId, namespaced_effective};
use super::resource::Resource;

/// One `vars:` entry, with `fieldref.fieldPath` defaulted to `metadata.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    name: String,
    api_version: String,
    /// `objref`'s own `group`/`version`/`kind` fields.
    declared: Gvk,
    target_name: String,
    target_namespace: String,
    field_path: String,
}

impl Var {
    /// Reads a `vars:` entry of a decoded kustomization (`{name, objref: {apiVersion,
    /// group, version, kind, name, namespace}, fieldref: {fieldPath}}`).
    pub(crate) fn read(v: &Value) -> Var {
        let text = |path: &str| v.pointer(path).and_then(Value::as_str).unwrap_or("");
        let field_path = match text("/fieldref/fieldPath") {
            "" => "metadata.name",
            path => path,
        };
        Var {
            name: text("/name").to_string(),
            api_version: text("/objref/apiVersion").to_string(),
            declared: Gvk {
                group: text("/objref/group").to_string(),
                version: text("/objref/version").to_string(),
                kind: text("/objref/kind").to_string(),
            },
            target_name: text("/objref/name").to_string(),
            target_namespace: text("/objref/namespace").to_string(),
            field_path: field_path.to_string(),
        }
    }

    /// The id the var selects: `apiVersion` wins over `group`/`version` when given.
    fn target_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.target_name.clone(),
            namespace: self.target_namespace.clone(),
        }
    }

    /// kustomize's `Target.GVK()`, which also defaults the var it is called on: an
    /// `apiVersion` of one or two parts sets the version, or the group and the version.
    fn gvk(&self) -> Gvk {
        let mut gvk = self.declared.clone();
        let parts: Vec<&str> = self.api_version.split('/').collect();
        match parts.as_slice() {
            [""] => {}
            [version] => gvk.version = (*version).to_string(),
            [group, version] => {
                gvk.group = (*group).to_string();
                gvk.version = (*version).to_string();
            }
            _ => {}
        }
        gvk
    }
}

/// Go's `%v` of kustomize's `types.Var`, which its error messages print: the object
/// reference shows as its gvk (the method `Target` inherits from `Gvk`), defaulted from
/// its `apiVersion` by then.
impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{} {} {{{}}}}}",
            self.name,
            self.gvk(),
            self.field_path
        )
    }
}

/// kustomize's `MergeVars`, run at the end of each kustomization: the one resource a var
/// selects (by any of its ids) remembers the var, then the var joins the set.
pub(crate) fn merge(
    resources: &mut [Resource],
    known: &mut Vec<Var>,
    incoming: &[Var],
) -> Result<(), Error> {
    for v in incoming {
        let target = v.target_id();
        // Without a namespace the target matches in any namespace. With one, it compares as
        // a namespaced id whatever its type (kustomize reads it without asking for the
        // scope), so it never matches a cluster-scoped resource.
        let selects = |id: &ResId| {
            id.gvk == target.gvk
                && id.name == target.name
                && (target.namespace.is_empty()
                    || namespaced_effective(&target.namespace) == id.effective_namespace())
        };
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.any_id(selects))
            .map(|(i, _)| i)
            .collect();
        match matched.as_slice() {
            [one] => resources[*one].ref_vars.push(v.name.clone()),
            [] => {}
            many => {
                return Err(Error::new(format!(
                    "found {} resId matches for var {v} (unable to disambiguate)",
                    many.len()
                )));
            }
        }
    }
    merge_set(known, incoming.to_vec())
}

/// Adds vars to a set; a name may be declared once in the whole tree.
pub(crate) fn merge_set(known: &mut Vec<Var>, incoming: Vec<Var>) -> Result<(), Error> {
    for v in incoming {
        if known.iter().any(|k| k.name == v.name) {
            return Err(Error::new(format!("var '{}' already encountered", v.name)));
        }
        known.push(v);
    }
    Ok(())
}

/// Replaces `$(NAME)` in the `varReference` fields of every resource.
pub(crate) fn resolve(
    resources: &mut [Resource],
    vars: &[Var],
    specs: &[FieldSpec],
) -> Result<(), Error> {
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values = Vec::new();
    for v in sorted {
        let holder = resources
            .iter()
            .find(|r| r.ref_vars.contains(&v.name))
            .ok_or_else(|| {
                Error::new(format!(
                    "var '{v}' cannot be mapped to a field in the set of known resources"
                ))
            })?;
        let value = field_value(&holder.obj, &v.field_path).ok_or_else(|| {
            Error::new(format!(
                "field specified in var '{v}' not found in corresponding resource"
            ))
        })?;
        values.push((v.name.as_str(), value));
    }
    if values.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        for fs in specs {
            fs.apply(&mut r.obj, CreateKind::None, &mut |node| {
                substitute(node, &values)
            })?;
        }
    }
    Ok(())
}

/// kyaml's `GetFieldValue`: a dotted path where `name[2]` indexes a list and `[k=v]`
/// selects the list element whose `k` is `v`.
fn field_value(obj: &Value, path: &str) -> Option<Value> {
    let mut node = obj;
    for part in path.split('.').flat_map(split_index) {
        node = match node {
            Value::Object(m) => m.get(part)?,
            Value::Array(items) => element(items, part)?,
            _ => return None,
        };
    }
    Some(node.clone())
}

/// `ports[0]` is the two steps `ports` and `0`.
fn split_index(part: &str) -> Vec<&str> {
    let indexed = part
        .strip_suffix(']')
        .and_then(|p| p.rsplit_once('['))
        .filter(|(_, idx)| !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()));
    match indexed {
        Some(("", idx)) => vec![idx],
        Some((field, idx)) => vec![field, idx],
        None => vec![part],
    }
}

fn element<'a>(items: &'a [Value], part: &str) -> Option<&'a Value> {
    if let Some((k, v)) = part
        .strip_prefix('[')
        .and_then(|p| p.strip_suffix(']'))
        .and_then(|p| p.split_once('='))
    {
        return items
            .iter()
            .find(|i| i.get(k).and_then(Value::as_str) == Some(v));
    }
    items.get(part.parse::<usize>().ok()?)
}

/// kustomize's `refvar` filter on one field: strings are expanded; in a map, the string
/// values; in a list, every item, which must be a string.
fn substitute(node: &mut Value, values: &[(&str, Value)]) -> Result<(), Error> {
    match node {
        Value::String(s) => *node = expand(s, values),
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let Value::String(s) = item else {
                    return Err(Error::new("invalid value type expect a string"));
                };
                *item = expand(s, values);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Kubernetes' `$(VAR)` expansion as kustomize forked it: `$$` is a literal `$`, an
/// unknown or non-scalar var stays `$(VAR)`, and a string that is exactly one `$(VAR)`
/// takes the var's value with its type (a number stays a number).
fn expand(input: &str, values: &[(&str, Value)]) -> Value {
    let scalar = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .filter(|v| v.is_string() || v.is_number() || v.is_boolean())
    };
    if let Some(name) = input.strip_prefix("$(").and_then(|s| s.strip_suffix(')'))
        && !name.contains(')')
        && let Some(v) = scalar(name)
    {
        return v.clone();
    }
    let mut out = String::new();
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if after.is_empty() {
            out.push('$');
            rest = after;
            break;
        }
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('(') {
            match body.find(')') {
                Some(end) => {
                    let name = &body[..end];
                    match scalar(name) {
                        Some(v) => out.push_str(&plain(v)),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &body[end + 1..];
                }
                // An unclosed reference keeps its text.
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Value::String(out)
}

/// Go's `%v` of a var's value inside a longer string.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_like_kustomize() {
        let vars = [("A", json!("x")), ("N", json!(3)), ("M", json!({"k": 1}))];
        let l = &vars[..];
        assert_eq!(expand("$(A)-$(N)", l), json!("x-3"));
        assert_eq!(expand("$(N)", l), json!(3));
        assert_eq!(expand("$$(A) $(B) $(M)", l), json!("$(A) $(B) $(M)"));
        assert_eq!(expand("$(A", l), json!("$(A"));
        assert_eq!(expand("a$b$", l), json!("a$b$"));
    }

    #[test]
    fn field_paths_index_lists() {
        let obj =
            json!({"spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}});
        assert_eq!(field_value(&obj, "spec.ports[1].port"), Some(json!(81)));
        assert_eq!(
            field_value(&obj, "spec.ports.[name=a].port"),
            Some(json!(80))
        );
        assert_eq!(field_value(&obj, "spec.missing"), None);
    }
}
