//! Rendering a chart tree through the template engine, as Helm's `engine.Render` does:
//! one template set for the chart and all its subcharts, each chart seeing its own scope.

use std::rc::Rc;

use crunch_template::{List, Map, MapType, Options, STACK_PER_NESTING, Templates, Value};

use super::RenderOptions;
use super::caps::KubeVersion;
use super::chart::Chart;
use super::error::Error;
use super::funcs::{self, ROOT_NAME, WARN_END, WARN_START};
use super::objects::{Capabilities, Files, values_type};

/// A template to parse and (unless a partial) execute, with the scope it runs in.
struct Renderable {
    path: String,
    text: String,
    /// The chart's top-level object (`.Values`, `.Chart`, …), shared by the chart's
    /// templates: `.Template` is set on it before each execution.
    scope: Map,
    base_path: String,
}

/// Stack for the rendering thread: enough for the engine's nesting guard, which lets
/// Helm's own limit (1000 nested `include`s of one template) fire first. The stack is
/// reserved, not committed: only what a render touches costs memory.
fn render_stack_bytes() -> usize {
    Options::helm().max_nesting * STACK_PER_NESTING
}

/// Where each rendered template goes, as `(path, output)`, in Helm's execution order
/// (partials excluded) and as soon as it is rendered, so that its documents can be read
/// while later templates still render.
pub(crate) type Sink<'a> = dyn Fn(String, String) + Sync + 'a;

/// Renders every template of `chart` (and its enabled subcharts) with the coalesced
/// `values`, handing each output to `sink`.
///
/// Runs on a dedicated thread with a large (lazily committed) stack so deep template
/// recursion fails with Helm's error instead of overflowing.
pub(crate) fn render(
    chart: &Chart,
    values: &serde_json::Map<String, serde_json::Value>,
    opts: &RenderOptions,
    kube: &KubeVersion,
    sink: &Sink<'_>,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("helm-render".into())
            .stack_size(render_stack_bytes())
            .spawn_scoped(scope, || render_here(chart, values, opts, kube, sink))
            .map_err(|e| Error::render(format!("cannot start the rendering thread: {e}")))?
            .join()
            .unwrap_or_else(|_| {
                Err(Error::render(
                    "rendering template failed: the engine panicked",
                ))
            })
    })
}

fn render_here(
    chart: &Chart,
    values: &serde_json::Map<String, serde_json::Value>,
    opts: &RenderOptions,
    kube: &KubeVersion,
    sink: &Sink<'_>,
) -> Result<(), Error> {
    let release = Map::new();
    release.insert("Name", Value::from(opts.release_name.as_str()));
    release.insert("Namespace", Value::from(opts.namespace.as_str()));
    release.insert("IsUpgrade", Value::Bool(opts.is_upgrade));
    release.insert("IsInstall", Value::Bool(!opts.is_upgrade));
    release.insert("Revision", Value::Int(i64::from(opts.revision)));
    release.insert("Service", Value::from("Helm"));
    let shared = Shared {
        values_type: values_type(),
        release: Value::Map(release),
        capabilities: Value::Object(Rc::new(Capabilities::new(
            kube.clone(),
            opts.capabilities.api_versions.clone(),
        ))),
    };
    let root_values = typed_map(values);
    let mut renderables = Vec::new();
    collect(chart, None, "", &root_values, &shared, &mut renderables);

    // Helm parses and executes deeper paths first, then reverse-lexically, so the
    // parent's `define`s (parsed last) win over its subcharts'.
    renderables.sort_by(|a, b| {
        let depth = |p: &str| p.matches('/').count();
        depth(&b.path)
            .cmp(&depth(&a.path))
            .then_with(|| b.path.cmp(&a.path))
    });

    let options = Options {
        now: opts.now,
        ..Options::helm()
    };
    let mut set = Templates::new(ROOT_NAME, funcs::helm_funcs(), options);
    for r in &renderables {
        set.parse(&r.path, &r.text)
            .map_err(|e| Error::render(parse_error(&r.path, e.message())))?;
    }
    for r in &renderables {
        let base = r.path.rsplit('/').next().unwrap_or(&r.path);
        if base.starts_with('_') {
            continue;
        }
        let template = Map::new();
        template.insert("Name", Value::from(r.path.as_str()));
        template.insert("BasePath", Value::from(r.base_path.as_str()));
        r.scope.insert(
            "Template",
            Value::Map(template.with_type(shared.values_type.clone())),
        );
        let seed = seed(&opts.seed, &opts.release_name, &r.path);
        let text = set
            .execute_with_seed(
                &r.path,
                Value::Map(r.scope.with_type(shared.values_type.clone())),
                seed,
            )
            .map_err(|e| Error::render(exec_error(&r.path, e.message())))?;
        sink(r.path.clone(), text);
    }
    Ok(())
}

/// Objects every chart scope shares.
struct Shared {
    /// `common.Values`, the type of `.`, `.Values` and `.Template`.
    values_type: Rc<MapType>,
    release: Value,
    capabilities: Value,
}

/// Builds `chart`'s scope and its templates, recursing into subcharts first as Helm's
/// `recAllTpls` does. Returns the scope (which becomes `.Subcharts.<name>` above).
fn collect(
    chart: &Chart,
    parent_scope: Option<&Map>,
    parent_path: &str,
    root_values: &Value,
    shared: &Shared,
    out: &mut Vec<Renderable>,
) -> Map {
    let is_root = parent_scope.is_none();
    let full_path = if is_root {
        chart.name().to_string()
    } else {
        format!("{parent_path}/charts/{}", chart.name())
    };
    // `.Subcharts.<name>` shows this scope as a plain map; `.` is the same map as
    // `common.Values`.
    let scope = Map::new();
    scope.insert("Chart", chart_object(chart, is_root));
    scope.insert("Files", Value::Object(Rc::new(Files::new(&chart.files))));
    scope.insert("Release", shared.release.clone());
    scope.insert("Capabilities", shared.capabilities.clone());
    let values = match parent_scope {
        None => root_values.clone(),
        // The subchart's `.Values` is the very table under its name in the parent's
        // values (Helm's `Values.Table`), so `set` on one is seen by the other.
        Some(parent) => {
            let found = chart.name().split('.').try_fold(
                parent.get("Values").unwrap_or_default(),
                |table, key| {
                    table
                        .as_map()
                        .and_then(|m| m.get(key))
                        .filter(|v| v.as_map().is_some())
                },
            );
            let values = found.unwrap_or_else(|| Value::Map(Map::new()));
            if let Some(parent_values) = parent.get("Values") {
                share_globals(&parent_values, &values);
            }
            values
        }
    };
    // Helm's `Values.Table` answers `common.Values`, and the root's values are one too.
    let values = match values {
        Value::Map(map) => Value::Map(map.with_type(shared.values_type.clone())),
        other => other,
    };
    scope.insert("Values", values);
    let subcharts = Map::new();
    scope.insert("Subcharts", Value::Map(subcharts.clone()));
    for sub in &chart.dependencies {
        let sub_scope = collect(sub, Some(&scope), &full_path, root_values, shared, out);
        subcharts.insert(sub.name(), Value::Map(sub_scope));
    }
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            path: format!("{full_path}/{}", t.name),
            text: String::from_utf8_lossy(&t.data).into_owned(),
            scope: scope.clone(),
            base_path: format!("{full_path}/templates"),
        });
    }
    scope
}

/// Makes the tables two levels below `global` the same maps in a subchart's values as in
/// its parent's (their contents are already equal after coalescing), as Go shares them:
/// `set` on one is seen through the other.
fn share_globals(parent: &Value, sub: &Value) {
    let global = |v: &Value| v.as_map().and_then(|m| m.get("global"));
    let (Some(Value::Map(parent_globals)), Some(Value::Map(sub_globals))) =
        (global(parent), global(sub))
    else {
        return;
    };
    for (key, parent_table) in parent_globals.entries() {
        let (Value::Map(parent_table), Some(Value::Map(sub_table))) =
            (parent_table, sub_globals.get(&key))
        else {
            continue;
        };
        for (inner, shared) in parent_table.entries() {
            if shared.as_map().is_some()
                && sub_table.get(&inner).is_some_and(|v| v.as_map().is_some())
            {
                sub_table.insert(inner, shared);
            }
        }
    }
}

/// `.Chart`: the metadata as Helm's `structToMap` builds it (Go field names).
fn chart_object(chart: &Chart, is_root: bool) -> Value {
    let md = &chart.metadata;
    let m = Map::new();
    let s = |v: &str| Value::from(v);
    let strings = |v: &[String]| Value::List(List::new(v.iter().map(|x| s(x)).collect()));
    m.insert("Name", s(&md.name));
    m.insert("Home", s(&md.home));
    m.insert("Sources", strings(&md.sources));
    m.insert("Version", s(&md.version));
    m.insert("Description", s(&md.description));
    m.insert("Keywords", strings(&md.keywords));
    let maintainers = md
        .maintainers
        .iter()
        .map(|mt| {
            let e = Map::new();
            e.insert("Name", s(&mt.name));
            e.insert("Email", s(&mt.email));
            e.insert("URL", s(&mt.url));
            Value::Map(e)
        })
        .collect();
    m.insert("Maintainers", Value::List(List::new(maintainers)));
    m.insert("Icon", s(&md.icon));
    m.insert("APIVersion", s(&md.api_version));
    m.insert("Condition", s(&md.condition));
    m.insert("Tags", s(&md.tags));
    m.insert("AppVersion", s(&md.app_version));
    m.insert("Deprecated", Value::Bool(md.deprecated));
    let strings_type = Rc::new(MapType::strings());
    // A `map[string]string`, nil when Chart.yaml has no annotations.
    let annotations = match &md.annotations {
        None => Map::nil_of(strings_type.clone()),
        Some(entries) => string_map(
            &strings_type,
            entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ),
    };
    m.insert("Annotations", Value::Map(annotations));
    m.insert("KubeVersion", s(&md.kube_version));
    let deps = md
        .dependencies
        .iter()
        .flatten()
        .map(|d| {
            let e = Map::new();
            e.insert("Name", s(&d.name));
            e.insert("Version", s(&d.version));
            e.insert("Repository", s(&d.repository));
            e.insert("Condition", s(&d.condition));
            e.insert("Tags", strings(&d.tags));
            e.insert("Enabled", Value::Bool(d.enabled));
            // Helm rewrites each entry as a `map[string]string` of child and parent.
            let import_values = d
                .import_values
                .iter()
                .map(|entry| match entry {
                    serde_json::Value::Object(entries) => Value::Map(string_map(
                        &strings_type,
                        entries
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
                    )),
                    other => Value::from(other),
                })
                .collect();
            e.insert("ImportValues", Value::List(List::new(import_values)));
            e.insert("Alias", s(&d.alias));
            Value::Map(e)
        })
        .collect();
    m.insert("Dependencies", Value::List(List::new(deps)));
    m.insert("Type", s(&md.chart_type));
    m.insert("IsRoot", Value::Bool(is_root));
    Value::Map(m)
}

/// A Go `map[string]string` (`strings_type`) of `entries`.
fn string_map<'a>(
    strings_type: &Rc<MapType>,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Map {
    let map = Map::new().with_type(strings_type.clone());
    for (k, v) in entries {
        map.insert(k, Value::from(v));
    }
    map
}

/// A template's random seed: FNV-1a over the user's seed, the release name and the
/// template's path, so a template draws the same "random" values whatever else the
/// chart holds, and two templates draw different ones.
fn seed(user_seed: &str, release: &str, template: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [user_seed, release, template];
    for b in parts.join("\0").bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Helm's `cleanupParseError`: `parse error at (<file:line>): <last message part>`.
fn parse_error(path: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.split(": ").collect();
    match tokens.as_slice() {
        [_, location, .., last] => format!("parse error at ({location}): {last}"),
        _ => format!("parse error in ({path}): {message}"),
    }
}

/// One level of a `text/template` execution error chain.
#[derive(PartialEq)]
struct Trace {
    location: String,
    executing: String,
    message: String,
}

/// Helm's `reformatExecErrorMsg`: `required`/`fail` messages become `execution error at
/// (<location>): <msg>`; chains of template errors become an indented trace; anything
/// else is passed through.
fn exec_error(path: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    let [_, location, rest] = tokens.as_slice() else {
        return format!("execution error in ({path}): {message}");
    };
    if let Some(start) = rest.find(WARN_START) {
        let after = &rest[start + WARN_START.len()..];
        if let Some(end) = after.rfind(WARN_END) {
            return format!("execution error at ({location}): {}", &after[..end]);
        }
    }
    let mut traces: Vec<Trace> = Vec::new();
    let mut current = message;
    loop {
        let Some(trace) = parse_trace(current) else {
            return message.to_string();
        };
        let inner = nested_error(trace.message_full);
        if traces.last() != Some(&trace.trace) {
            traces.push(trace.trace);
        }
        match inner {
            Some(next) if next.starts_with("template: ") => current = next,
            Some(_) => return message.to_string(),
            None => break,
        }
    }
    let mut out = String::new();
    for t in &traces {
        if !t.location.is_empty() {
            out.push_str(&format!("{}\n  ", t.location));
        }
        if !t.executing.is_empty() {
            out.push_str(&format!("{}\n    ", t.executing));
        }
        if !t.message.is_empty() {
            out.push_str(&format!("{}\n", t.message));
        }
    }
    out.trim().to_string()
}

struct ParsedTrace<'a> {
    trace: Trace,
    /// The error message after the location, uncut (to find the wrapped error).
    message_full: &'a str,
}

/// Parses one `template: …` error string as Helm's `parseTemplateExecErrorString`.
fn parse_trace(s: &str) -> Option<ParsedTrace<'_>> {
    let rest = s.strip_prefix("template: ")?;
    let cut = |m: &str| m.find(" template:").map_or(m, |i| &m[..i]).to_string();
    if rest.starts_with("no template ") {
        return Some(ParsedTrace {
            trace: Trace {
                location: String::new(),
                executing: String::new(),
                message: s.to_string(),
            },
            message_full: "",
        });
    }
    if let Some(idx) = rest.find(": executing \"") {
        let name = &rest[..idx];
        let after = &rest[idx + ": executing ".len()..];
        let end_quote = after[1..].find('"')? + 1;
        let function = &after[1..end_quote];
        let after_fn = after[end_quote + 1..].strip_prefix(" at <")?;
        let end_loc = after_fn.find(">: ")?;
        let context = &after_fn[..end_loc];
        let msg = &after_fn[end_loc + 3..];
        return Some(ParsedTrace {
            trace: Trace {
                location: name.to_string(),
                executing: format!("executing \"{function}\" at <{context}>:"),
                message: cut(msg),
            },
            message_full: msg,
        });
    }
    let sep = rest.rfind(": ")?;
    let msg = &rest[sep + 2..];
    Some(ParsedTrace {
        trace: Trace {
            location: rest[..sep].to_string(),
            executing: String::new(),
            message: cut(msg),
        },
        message_full: msg,
    })
}

/// The error a function call wrapped (`error calling NAME: <inner>`), if any.
fn nested_error(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("error calling ")?;
    let colon = rest.find(": ")?;
    Some(&rest[colon + 2..])
}

/// Values as Helm's templates see them. Numbers arrive typed: values files' and JSON's as
/// `float64` (stored as JSON floats), `--set` integers as Go `int64` (JSON integers).
pub(super) fn typed_values(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::string(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::List(List::new(items.iter().map(typed_values).collect()))
        }
        serde_json::Value::Object(entries) => typed_map(entries),
    }
}

/// A values table as the templates see it (see [`typed_values`]).
fn typed_map(entries: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::Map(Map::from_entries(
        entries
            .iter()
            .map(|(k, v)| (k.clone(), typed_values(v)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{exec_error, parse_error};

    #[test]
    fn parse_errors_like_helm() {
        assert_eq!(
            parse_error(
                "c/templates/a.yaml",
                "template: c/templates/a.yaml:3: unexpected \"}\" in operand"
            ),
            "parse error at (c/templates/a.yaml:3): unexpected \"}\" in operand"
        );
    }

    #[test]
    fn exec_errors_like_helm() {
        assert_eq!(
            exec_error(
                "c/t/a.yaml",
                "template: c/t/a.yaml:1:3: executing \"c/t/a.yaml\" at <fail \"boom\">: error calling fail: HELM_ERR_STARTboomHELM_ERR_END"
            ),
            "execution error at (c/t/a.yaml:1:3): boom"
        );
        assert_eq!(
            exec_error(
                "a",
                "template: a:1:3: executing \"a\" at <include \"x\" .>: error calling include: template: h:2:4: executing \"x\" at <.a.b>: nil pointer evaluating interface {}.b"
            ),
            "a:1:3\n  executing \"a\" at <include \"x\" .>:\n    error calling include:\nh:2:4\n  executing \"x\" at <.a.b>:\n    nil pointer evaluating interface {}.b"
        );
        assert_eq!(
            exec_error(
                "a",
                "template: a:1:3: executing \"a\" at <int .x>: error calling int: boom"
            ),
            "template: a:1:3: executing \"a\" at <int .x>: error calling int: boom"
        );
    }
}
