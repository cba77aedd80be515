//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: loading a patch, telling a
//! strategic merge patch from a JSON 6902 one as kustomize does, selecting targets, and
//! applying.

use regex::Regex;
use serde_json::{Map, Value};

use super::error::Error;
use super::json6902::{self, Op};
use super::kustomization::PatchArgs;
use super::loader::Loader;
use super::resid::{Gvk, ResId};
use super::resource::Resource;
use super::smp;
use crunch_yaml::{Dialect, parse_stream};

/// A patch target selector; name, namespace and gvk parts are anchored regular expressions.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    meta: MetaSelector,
}

/// The `labelSelector` and `annotationSelector` of a target or replacement selector.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetaSelector {
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

impl MetaSelector {
    /// Reads the two selector strings of a target object.
    pub(crate) fn parse(target: &Map<String, Value>) -> Result<MetaSelector, Error> {
        let reqs = |k: &str| {
            target
                .get(k)
                .and_then(Value::as_str)
                .map_or(Ok(Vec::new()), parse_requirements)
        };
        Ok(MetaSelector {
            labels: reqs("labelSelector")?,
            annotations: reqs("annotationSelector")?,
        })
    }

    /// Whether `r`'s labels and annotations meet every requirement.
    pub(crate) fn matches(&self, r: &Resource) -> bool {
        self.labels
            .iter()
            .all(|q| q.matches(&r.string_map("labels")))
            && self
                .annotations
                .iter()
                .all(|q| q.matches(&r.string_map("annotations")))
    }

    /// Whether there is no requirement at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty()
    }
}

/// One requirement of a label (or annotation) selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Requirement {
    pub(crate) fn matches(&self, pairs: &[(String, String)]) -> bool {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        match self {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
        }
    }
}

/// Parses a Kubernetes label selector string (`a=b,c!=d,e in (x,y),!f,g`).
pub(crate) fn parse_requirements(s: &str) -> Result<Vec<Requirement>, Error> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let set = |rest: &str| -> Result<Vec<String>, Error> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| Error::new(format!("invalid label selector {s:?}")))?;
            Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        let req = if let Some(k) = part.strip_prefix('!') {
            Requirement::NotExists(k.trim().to_string())
        } else if let Some((k, v)) = part.split_once("!=") {
            Requirement::NotIn(k.trim().to_string(), vec![v.trim().to_string()])
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement::In(k.trim().to_string(), vec![v.trim().to_string()])
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            Requirement::NotIn(k.trim().to_string(), set(rest)?)
        } else if let Some((k, rest)) = part.split_once(" in ") {
            Requirement::In(k.trim().to_string(), set(rest)?)
        } else {
            Requirement::Exists(part.to_string())
        };
        out.push(req);
    }
    Ok(out)
}

impl Selector {
    /// Reads a decoded `target:` map.
    pub(crate) fn parse(v: &Value) -> Result<Selector, Error> {
        let Some(m) = v.as_object() else {
            return Err(Error::new("a patch target must be a map"));
        };
        let re = |k: &str| -> Result<Option<Regex>, Error> {
            match m.get(k).map(super::resource::scalar_string) {
                None => Ok(None),
                Some(p) if p.is_empty() => Ok(None),
                Some(p) => Regex::new(&format!("^(?:{p})$"))
                    .map(Some)
                    .map_err(|e| Error::new(format!("patch target {k} {p:?}: {e}"))),
            }
        };
        Ok(Selector {
            group: re("group")?,
            version: re("version")?,
            kind: re("kind")?,
            name: re("name")?,
            namespace: re("namespace")?,
            meta: MetaSelector::parse(m)?,
        })
    }

    /// kustomize's `Select`: name and namespace match the original or the current id.
    pub(crate) fn matches(&self, r: &Resource) -> bool {
        let (cur, org) = (r.cur_id(), r.org_id());
        let ok = |re: &Option<Regex>, a: &str, b: &str| {
            re.as_ref()
                .is_none_or(|re| re.is_match(a) || re.is_match(b))
        };
        let gvk = Gvk::of(&r.obj);
        let one = |re: &Option<Regex>, a: &str| re.as_ref().is_none_or(|re| re.is_match(a));
        ok(
            &self.namespace,
            org.effective_namespace(),
            cur.effective_namespace(),
        ) && ok(&self.name, &org.name, &cur.name)
            && one(&self.group, &gvk.group)
            && one(&self.version, &gvk.version)
            && one(&self.kind, &gvk.kind)
            && self.meta.matches(r)
    }
}

/// What a patch turned out to be.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Strategic merge patches (one per document).
    Smp(Vec<Value>),
    /// JSON 6902 operations.
    Json(Vec<Op>),
}

/// A loaded patch with its target and options.
#[derive(Debug, Clone)]
pub(crate) struct Patch {
    pub body: Body,
    pub target: Option<Selector>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
    /// `[path: "..."]` or `[patch: "..."]`, for messages.
    pub source: String,
}

impl Patch {
    /// Loads a `patches`-style entry: the patch inline or from its file (read through
    /// `ldr`; without one, only inline patches are possible), classified, with its target.
    pub(crate) fn load(args: &PatchArgs, ldr: Option<&Loader>) -> Result<Patch, Error> {
        let (text, source) = match (&args.patch, &args.path) {
            (Some(_), Some(_)) => {
                return Err(Error::new("patch and path can't be set at the same time"));
            }
            (Some(p), None) => (p.trim().to_owned(), format!("[patch: {p:?}]")),
            (None, Some(path)) => {
                let Some(ldr) = ldr else {
                    return Err(Error::new(format!(
                        "patch path {path:?}: only inline patches are possible here"
                    )));
                };
                let (_, text) = ldr.read_text(path).map_err(|e| {
                    Error::new(format!(
                        "failed to get the patch file from path({path}): {e}"
                    ))
                })?;
                (text, format!("[path: {path:?}]"))
            }
            (None, None) => return Err(Error::new("must specify one of patch and path")),
        };
        Ok(Patch {
            body: classify(&text, &source)?,
            target: args.target.as_ref().map(Selector::parse).transpose()?,
            allow_name_change: args.allow_name_change,
            allow_kind_change: args.allow_kind_change,
            source,
        })
    }
}

/// Classifies patch text: all-map documents are strategic merge patches, a single list is
/// JSON 6902.
pub(crate) fn classify(text: &str, source: &str) -> Result<Body, Error> {
    if text.trim().is_empty() {
        return Err(Error::new(format!("empty patch {source}")));
    }
    let docs = parse_stream(text, Dialect::GoYamlV3).map_err(|e| {
        Error::new(format!(
            "unable to parse SM or JSON patch from {source}: {e}"
        ))
    })?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    match docs.as_slice() {
        [Value::Array(_)] => {
            // kustomize converts JSON patch YAML with sigs.k8s.io/yaml (go-yaml v2): `y`
            // in an operation's value is `true` there.
            let ops = crunch_yaml::parse_document(text, Dialect::GoYamlV2).map_err(|e| {
                Error::new(format!("unable to parse JSON patch from {source}: {e}"))
            })?;
            Ok(Body::Json(json6902::decode(&ops)?))
        }
        d if !d.is_empty() && d.iter().all(Value::is_object) => Ok(Body::Smp(docs)),
        _ => Err(Error::new(format!(
            "unable to parse SM or JSON patch from {source}"
        ))),
    }
}

/// Runs `f` with `metadata.annotations` present: kustomize records a patched resource's
/// previous id in annotations first, so a JSON patch may add to that map even when the
/// object had none. A map still empty afterwards is dropped again, as kustomize drops its
/// own annotations.
fn with_annotations(
    r: &mut Resource,
    f: impl FnOnce(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let meta = r.metadata_mut();
    let added = !meta.contains_key("annotations");
    if added {
        meta.insert("annotations".into(), Value::Object(Map::new()));
    }
    let result = f(&mut r.obj);
    if added
        && let Some(Value::Object(meta)) = r.obj.get_mut("metadata")
        && meta
            .get("annotations")
            .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
    {
        meta.shift_remove("annotations");
    }
    result
}

/// Applies one patch to the resources.
pub(crate) fn apply(rs: &mut Vec<Resource>, p: &Patch) -> Result<(), Error> {
    match (&p.body, &p.target) {
        (Body::Json(_), None) => Err(Error::new(format!(
            "must specify a target for JSON patch {}",
            p.source
        ))),
        (Body::Json(ops), Some(sel)) => {
            for r in rs.iter_mut().filter(|r| sel.matches(r)) {
                r.store_previous_id();
                with_annotations(r, |obj| json6902::apply(obj, ops))?;
            }
            Ok(())
        }
        (Body::Smp(docs), Some(sel)) => {
            let [doc] = docs.as_slice() else {
                return Err(Error::new(format!(
                    "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {}",
                    p.source
                )));
            };
            let selected: Vec<bool> = rs.iter().map(|r| sel.matches(r)).collect();
            let mut out = Vec::with_capacity(rs.len());
            for (mut r, hit) in std::mem::take(rs).into_iter().zip(selected) {
                if hit {
                    let mut patch = doc.clone();
                    let api_version = Gvk::of(&r.obj).api_version();
                    if let Value::Object(m) = &mut patch {
                        m.insert("apiVersion".into(), Value::String(api_version));
                    }
                    if !apply_smp(&mut r, &patch, p)? {
                        continue;
                    }
                }
                out.push(r);
            }
            *rs = out;
            Ok(())
        }
        (Body::Smp(docs), None) => {
            for doc in docs {
                let id = ResId::of(doc);
                let hits: Vec<usize> = rs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.any_id(|rid| rid.equals(&id)))
                    .map(|(i, _)| i)
                    .collect();
                let i = match hits.as_slice() {
                    [i] => *i,
                    [] => {
                        return Err(Error::new(format!(
                            "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
                        )));
                    }
                    _ => {
                        return Err(Error::new(format!(
                            "no resource matches strategic merge patch \"{id}\": multiple matches for Id {id}; failed to find unique target for patch {id}"
                        )));
                    }
                };
                if !apply_smp(&mut rs[i], doc, p)? {
                    rs.remove(i);
                }
            }
            Ok(())
        }
    }
}

/// kustomize's `Resource.ApplySmPatch`; false when the patch deleted the resource.
fn apply_smp(r: &mut Resource, patch: &Value, p: &Patch) -> Result<bool, Error> {
    let (name, ns, kind) = (
        r.name().to_string(),
        r.namespace().to_string(),
        r.kind().to_string(),
    );
    if p.allow_name_change || p.allow_kind_change {
        r.store_previous_id();
    }
    let Some(merged) = smp::merge(&r.obj, patch)? else {
        return Ok(false);
    };
    if merged.as_object().is_none_or(|m| m.is_empty()) {
        return Ok(false);
    }
    r.obj = merged;
    if !p.allow_kind_change
        && let Value::Object(m) = &mut r.obj
    {
        m.insert("kind".into(), Value::String(kind));
    }
    if !p.allow_name_change {
        r.set_name(&name);
    }
    r.set_namespace(&ns);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors() {
        let reqs = parse_requirements("app=web, tier in (a,b),!old,env!=prod").expect("parse");
        let pairs = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "b".to_string()),
        ];
        assert!(reqs.iter().all(|r| r.matches(&pairs)));
        let other = vec![("app".to_string(), "db".to_string())];
        assert!(!reqs.iter().all(|r| r.matches(&other)));
    }
}
