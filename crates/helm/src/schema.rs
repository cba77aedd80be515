//! `values.schema.json` validation, as Helm v4 runs it (santhosh-tekuri/jsonschema v6):
//! the chart's schema against its values, then each subchart's against its section.
//!
//! Supported: the validation keywords of drafts 4 to 2020-12 (types, enums, numeric,
//! string, array and object constraints, combinators, `if`/`then`/`else`) and local
//! `$ref`s (JSON pointers and anchors). Drafts 4 to 7 assert the `date`, `email`, `hostname`,
//! `ipv4` and `uuid` formats (see `formats`); other formats pass unchecked. A non-local
//! `$ref` is refused as unsupported.
//! Messages follow the library's English wording; Helm lists multiple failures in random
//! order, crunch in schema order.

use serde_json::{Map, Value};

use super::chart::Chart;
use super::error::{Error, ErrorKind};

/// Validates `values` against the schemas of `chart` and its subcharts.
pub(crate) fn validate(chart: &Chart, values: &Map<String, Value>) -> Result<(), Error> {
    let mut report = String::new();
    validate_into(chart, values, &mut report)?;
    if report.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Values,
        format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"
        ),
    ))
}

fn validate_into(
    chart: &Chart,
    values: &Map<String, Value>,
    report: &mut String,
) -> Result<(), Error> {
    if let Some(raw) = &chart.schema {
        let schema: Value = serde_json::from_slice(raw).map_err(|e| {
            Error::new(
                ErrorKind::Values,
                format!("values.schema.json of {}: {e}", chart.name()),
            )
        })?;
        let declared = schema
            .get("$schema")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let old_draft = ["draft-04", "draft-06", "draft-07"]
            .iter()
            .any(|d| declared.contains(d));
        let mut v = Validator {
            root: &schema,
            assert_formats: old_draft,
            ref_overrides_siblings: old_draft,
            active_refs: Vec::new(),
        };
        let instance = Value::Object(values.clone());
        let failures = v.check(&schema, &instance, "")?;
        if !failures.is_empty() {
            report.push_str(&format!("{}:\n", chart.name()));
            // A lone group under the root is printed as its causes.
            let shown = match failures.as_slice() {
                [only] if only.message == GROUP => &only.causes,
                _ => &failures,
            };
            for f in shown {
                f.render(0, report);
            }
            report.push('\n');
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(section)) => validate_into(sub, section, report)?,
            Some(other) => report.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                go_type(other)
            )),
        }
    }
    Ok(())
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The message of a node grouping several failures of one schema.
const GROUP: &str = "validation failed";

/// One failure: where, what, and the failures it groups.
struct Failure {
    at: String,
    message: String,
    causes: Vec<Failure>,
}

impl Failure {
    fn leaf(at: &str, message: impl Into<String>) -> Failure {
        Failure {
            at: at.to_string(),
            message: message.into(),
            causes: Vec::new(),
        }
    }

    fn render(&self, indent: usize, out: &mut String) {
        out.push_str(&format!(
            "{}- at '{}': {}\n",
            "  ".repeat(indent),
            self.at,
            self.message
        ));
        for c in &self.causes {
            c.render(indent + 1, out);
        }
    }
}

struct Validator<'s> {
    root: &'s Value,
    /// Drafts 4 to 7 assert `format`; later drafts treat it as an annotation.
    assert_formats: bool,
    /// Drafts 4 to 7 ignore the keywords beside a `$ref`; later drafts apply both.
    ref_overrides_siblings: bool,
    /// `$ref`s being followed, with the instance location they were followed at: meeting
    /// one again at the same location is a cycle that would never end.
    active_refs: Vec<(String, String)>,
}

/// JSON Schema's name for the type of `v` (integral floats count as numbers, as the
/// library reports Helm's `float64` values).
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    match want {
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => json_type(v) == other,
    }
}

fn number_text(f: f64) -> String {
    let text = if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    };
    let (sign, rest) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    // The library's message printer groups thousands: `70,000`.
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The library's `quote`: Go's `%q` with single quotes outside.
fn quote_str(s: &str) -> String {
    let go = crunch_gostd::strconv::quote(s);
    let inner = &go[1..go.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

/// How the library displays a primitive value in messages (`None` for arrays and
/// objects, which it does not print).
fn display(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(quote_str(s)),
        Value::Number(n) => Some(n.as_f64().map_or_else(|| n.to_string(), go_number)),
        Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// Go's `%v` of a `float64`.
fn go_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

fn pointer(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}

impl<'s> Validator<'s> {
    /// Checks `v` at instance location `at` against `schema`; returns the failures.
    fn check(&mut self, schema: &'s Value, v: &Value, at: &str) -> Result<Vec<Failure>, Error> {
        let obj = match schema {
            Value::Bool(true) => return Ok(Vec::new()),
            Value::Bool(false) => return Ok(vec![Failure::leaf(at, "false schema")]),
            Value::Object(o) => o,
            _ => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        if let Some(Value::String(r)) = obj.get("$ref") {
            let target = self.resolve(r)?;
            let key = (r.clone(), at.to_string());
            if self.active_refs.contains(&key) {
                return Err(Error::new(
                    ErrorKind::Values,
                    format!("values.schema.json: $ref {r:?} causes a reference cycle"),
                ));
            }
            self.active_refs.push(key);
            let result = self.check(target, v, at);
            self.active_refs.pop();
            out.extend(result?);
            if self.ref_overrides_siblings {
                return Ok(out);
            }
        }
        self.check_type(obj, v, at, &mut out);
        if let Some(Value::Array(options)) = obj.get("enum")
            && !options.iter().any(|o| equal(o, v))
        {
            let shown: Option<Vec<String>> = options.iter().map(display).collect();
            let message = match shown.as_deref() {
                Some([one]) => format!("value must be {one}"),
                Some(all) => format!("value must be one of {}", all.join(", ")),
                None => "enum failed".to_string(),
            };
            out.push(Failure::leaf(at, message));
        }
        if let Some(c) = obj.get("const")
            && !equal(c, v)
        {
            let message = display(c).map_or_else(
                || "const failed".to_string(),
                |shown| format!("value must be {shown}"),
            );
            out.push(Failure::leaf(at, message));
        }
        match v {
            Value::Number(n) => self.check_number(obj, n.as_f64().unwrap_or(0.0), at, &mut out),
            Value::String(s) => self.check_string(obj, s, at, &mut out)?,
            Value::Array(items) => self.check_array(obj, items, at, &mut out)?,
            Value::Object(map) => self.check_object(obj, map, at, &mut out)?,
            _ => {}
        }
        self.check_combinators(obj, v, at, &mut out)?;
        Ok(out)
    }

    /// Checks a property or item; several failures are grouped as "validation failed".
    fn check_child(
        &mut self,
        schema: &'s Value,
        v: &Value,
        at: &str,
        out: &mut Vec<Failure>,
    ) -> Result<(), Error> {
        let failures = self.check(schema, v, at)?;
        if let Some(f) = group(at, failures) {
            out.push(f);
        }
        Ok(())
    }

    fn resolve(&self, reference: &str) -> Result<&'s Value, Error> {
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(Error::unsupported(&format!(
                "the non-local $ref {reference:?} in values.schema.json"
            )));
        };
        if !fragment.is_empty() && !fragment.starts_with('/') {
            return find_anchor(self.root, fragment).ok_or_else(|| {
                Error::new(
                    ErrorKind::Values,
                    format!("values.schema.json: $ref {reference:?} does not resolve"),
                )
            });
        }
        let mut node = self.root;
        for token in fragment.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Value::Object(m) => m.get(&token),
                Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Values,
                    format!("values.schema.json: $ref {reference:?} does not resolve"),
                )
            })?;
        }
        Ok(node)
    }

    fn check_type(&self, obj: &Map<String, Value>, v: &Value, at: &str, out: &mut Vec<Failure>) {
        let wants: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        if !wants.iter().any(|w| type_matches(w, v)) {
            let mut wants = wants;
            wants.sort_unstable();
            out.push(Failure::leaf(
                at,
                format!("got {}, want {}", json_type(v), wants.join(" or ")),
            ));
        }
    }

    fn check_number(&self, obj: &Map<String, Value>, f: f64, at: &str, out: &mut Vec<Failure>) {
        let limit = |k: &str| obj.get(k).and_then(Value::as_f64);
        let mut fail = |k: &str, want: f64| {
            out.push(Failure::leaf(
                at,
                format!("{k}: got {}, want {}", number_text(f), number_text(want)),
            ));
        };
        // Draft 4 spells exclusive bounds as booleans beside minimum/maximum.
        let exclusive = |k: &str| obj.get(k) == Some(&Value::Bool(true));
        if let Some(m) = limit("minimum")
            && (f < m || (exclusive("exclusiveMinimum") && f <= m))
        {
            fail("minimum", m);
        }
        if let Some(m) = limit("maximum")
            && (f > m || (exclusive("exclusiveMaximum") && f >= m))
        {
            fail("maximum", m);
        }
        if let Some(m) = limit("exclusiveMinimum")
            && f <= m
        {
            fail("exclusiveMinimum", m);
        }
        if let Some(m) = limit("exclusiveMaximum")
            && f >= m
        {
            fail("exclusiveMaximum", m);
        }
        if let Some(m) = limit("multipleOf")
            && m != 0.0
            && (f / m).fract() != 0.0
        {
            out.push(Failure::leaf(
                at,
                format!(
                    "multipleOf: got {}, want {}",
                    number_text(f),
                    number_text(m)
                ),
            ));
        }
    }

    fn check_string(
        &mut self,
        obj: &Map<String, Value>,
        s: &str,
        at: &str,
        out: &mut Vec<Failure>,
    ) -> Result<(), Error> {
        let len = s.chars().count();
        if let Some(m) = obj.get("minLength").and_then(Value::as_u64)
            && (len as u64) < m
        {
            out.push(Failure::leaf(at, format!("minLength: got {len}, want {m}")));
        }
        if let Some(m) = obj.get("maxLength").and_then(Value::as_u64)
            && (len as u64) > m
        {
            out.push(Failure::leaf(at, format!("maxLength: got {len}, want {m}")));
        }
        if self.assert_formats
            && let Some(Value::String(format)) = obj.get("format")
            && let Some(reason) = super::formats::check(format, s)
        {
            out.push(Failure::leaf(
                at,
                format!("{} is not valid {format}: {reason}", quote_str(s)),
            ));
        }
        if let Some(Value::String(p)) = obj.get("pattern") {
            let re = regex::Regex::new(p).map_err(|e| {
                Error::new(
                    ErrorKind::Values,
                    format!("values.schema.json: invalid pattern {p:?}: {e}"),
                )
            })?;
            if !re.is_match(s) {
                out.push(Failure::leaf(
                    at,
                    format!("{} does not match pattern {}", quote_str(s), quote_str(p)),
                ));
            }
        }
        Ok(())
    }

    fn check_array(
        &mut self,
        obj: &'s Map<String, Value>,
        items: &[Value],
        at: &str,
        out: &mut Vec<Failure>,
    ) -> Result<(), Error> {
        let n = items.len() as u64;
        if let Some(m) = obj.get("minItems").and_then(Value::as_u64)
            && n < m
        {
            out.push(Failure::leaf(at, format!("minItems: got {n}, want {m}")));
        }
        if let Some(m) = obj.get("maxItems").and_then(Value::as_u64)
            && n > m
        {
            out.push(Failure::leaf(at, format!("maxItems: got {n}, want {m}")));
        }
        if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if let Some(j) = items[..i].iter().position(|b| equal(a, b)) {
                    out.push(Failure::leaf(at, format!("items at {j} and {i} are equal")));
                    break;
                }
            }
        }
        // Positional schemas: `prefixItems` (2020-12) or an `items` array (older drafts).
        let (positional, rest): (&[Value], Option<&'s Value>) =
            match (obj.get("prefixItems"), obj.get("items")) {
                (Some(Value::Array(p)), rest) => (p, rest),
                (None, Some(Value::Array(p))) => (p, obj.get("additionalItems")),
                (_, rest) => (&[], rest),
            };
        for (i, item) in items.iter().enumerate() {
            let schema = positional
                .get(i)
                .or(if i >= positional.len() { rest } else { None });
            if let Some(schema) = schema {
                self.check_child(schema, item, &pointer(at, &i.to_string()), out)?;
            }
        }
        if let Some(contains) = obj.get("contains") {
            let mut any = false;
            for item in items {
                any |= self.check(contains, item, at)?.is_empty();
            }
            if !any {
                out.push(Failure::leaf(at, "no items match contains schema"));
            }
        }
        Ok(())
    }

    fn check_object(
        &mut self,
        obj: &'s Map<String, Value>,
        map: &Map<String, Value>,
        at: &str,
        out: &mut Vec<Failure>,
    ) -> Result<(), Error> {
        if let Some(Value::Array(req)) = obj.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| !map.contains_key(*k))
                .map(quote_str)
                .collect();
            match missing.len() {
                0 => {}
                1 => out.push(Failure::leaf(
                    at,
                    format!("missing property {}", missing[0]),
                )),
                _ => out.push(Failure::leaf(
                    at,
                    format!("missing properties {}", missing.join(", ")),
                )),
            }
        }
        // `dependentRequired` (2019-09+) and the array form of draft-7 `dependencies`;
        // the schema form of `dependencies` is `dependentSchemas`.
        for key in ["dependentRequired", "dependencies"] {
            let Some(Value::Object(deps)) = obj.get(key) else {
                continue;
            };
            for (prop, dep) in deps {
                if !map.contains_key(prop) {
                    continue;
                }
                match dep {
                    Value::Array(names) => {
                        let missing: Vec<String> = names
                            .iter()
                            .filter_map(Value::as_str)
                            .filter(|k| !map.contains_key(*k))
                            .map(quote_str)
                            .collect();
                        if !missing.is_empty() {
                            out.push(Failure::leaf(
                                at,
                                format!(
                                    "properties {} required, if {} exists",
                                    missing.join(", "),
                                    quote_str(prop)
                                ),
                            ));
                        }
                    }
                    schema @ (Value::Object(_) | Value::Bool(_)) => {
                        out.extend(self.check(schema, &Value::Object(map.clone()), at)?);
                    }
                    _ => {}
                }
            }
        }
        if let Some(Value::Object(deps)) = obj.get("dependentSchemas") {
            for (prop, schema) in deps {
                if map.contains_key(prop) {
                    out.extend(self.check(schema, &Value::Object(map.clone()), at)?);
                }
            }
        }
        let n = map.len() as u64;
        if let Some(m) = obj.get("minProperties").and_then(Value::as_u64)
            && n < m
        {
            out.push(Failure::leaf(
                at,
                format!("minProperties: got {n}, want {m}"),
            ));
        }
        if let Some(m) = obj.get("maxProperties").and_then(Value::as_u64)
            && n > m
        {
            out.push(Failure::leaf(
                at,
                format!("maxProperties: got {n}, want {m}"),
            ));
        }
        let properties = obj.get("properties").and_then(Value::as_object);
        let patterns: Vec<(regex::Regex, &'s Value)> = match obj.get("patternProperties") {
            Some(Value::Object(p)) => p
                .iter()
                .map(|(k, s)| {
                    regex::Regex::new(k).map(|re| (re, s)).map_err(|e| {
                        Error::new(
                            ErrorKind::Values,
                            format!("values.schema.json: invalid pattern {k:?}: {e}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        let mut additional = Vec::new();
        for key in keys {
            let value = &map[key.as_str()];
            let here = pointer(at, key);
            let mut matched = false;
            if let Some(schema) = properties.and_then(|p| p.get(key.as_str())) {
                matched = true;
                self.check_child(schema, value, &here, out)?;
            }
            for (re, schema) in &patterns {
                if re.is_match(key) {
                    matched = true;
                    self.check_child(schema, value, &here, out)?;
                }
            }
            if let Some(names) = obj.get("propertyNames")
                && !self
                    .check(names, &Value::String(key.clone()), &here)?
                    .is_empty()
            {
                out.push(Failure::leaf(
                    at,
                    format!("invalid propertyName {}", quote_str(key)),
                ));
            }
            if !matched {
                match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => additional.push(quote_str(key)),
                    Some(schema @ Value::Object(_)) => {
                        self.check_child(schema, value, &here, out)?
                    }
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            out.push(Failure::leaf(
                at,
                format!(
                    "additional properties {} not allowed",
                    additional.join(", ")
                ),
            ));
        }
        Ok(())
    }

    fn check_combinators(
        &mut self,
        obj: &'s Map<String, Value>,
        v: &Value,
        at: &str,
        out: &mut Vec<Failure>,
    ) -> Result<(), Error> {
        let subschemas = |k: &str| match obj.get(k) {
            Some(Value::Array(list)) => Some(list),
            _ => None,
        };
        let node = |message: &str, causes| Failure {
            at: at.to_string(),
            message: message.to_string(),
            causes,
        };
        if let Some(all) = subschemas("allOf") {
            let mut causes = Vec::new();
            for s in all {
                self.check_child(s, v, at, &mut causes)?;
            }
            if !causes.is_empty() {
                out.push(node("'allOf' failed", causes));
            }
        }
        if let Some(any) = subschemas("anyOf") {
            let mut causes = Vec::new();
            let mut ok = false;
            for s in any {
                let before = causes.len();
                self.check_child(s, v, at, &mut causes)?;
                ok |= causes.len() == before;
            }
            if !ok {
                out.push(node("'anyOf' failed", causes));
            }
        }
        if let Some(one) = subschemas("oneOf") {
            let mut causes = Vec::new();
            let mut matched = Vec::new();
            for (i, s) in one.iter().enumerate() {
                let before = causes.len();
                self.check_child(s, v, at, &mut causes)?;
                if causes.len() == before {
                    matched.push(i.to_string());
                }
            }
            match matched.len() {
                1 => {}
                0 => out.push(node("'oneOf' failed, none matched", causes)),
                _ => out.push(Failure::leaf(
                    at,
                    format!("'oneOf' failed, subschemas {} matched", matched.join(", ")),
                )),
            }
        }
        if let Some(not) = obj.get("not")
            && self.check(not, v, at)?.is_empty()
        {
            out.push(Failure::leaf(at, "'not' failed"));
        }
        if let Some(cond) = obj.get("if") {
            let branch = if self.check(cond, v, at)?.is_empty() {
                "then"
            } else {
                "else"
            };
            if let Some(s) = obj.get(branch) {
                out.extend(self.check(s, v, at)?);
            }
        }
        Ok(())
    }
}

/// The subschema named `anchor` by `$anchor` (2019-09+) or an `$id` of `#anchor`.
fn find_anchor<'s>(schema: &'s Value, anchor: &str) -> Option<&'s Value> {
    match schema {
        Value::Object(m) => {
            let named = m.get("$anchor").and_then(Value::as_str) == Some(anchor)
                || m.get("$id").and_then(Value::as_str) == Some(&format!("#{anchor}"));
            if named {
                return Some(schema);
            }
            m.values().find_map(|v| find_anchor(v, anchor))
        }
        Value::Array(items) => items.iter().find_map(|v| find_anchor(v, anchor)),
        _ => None,
    }
}

/// One schema's failures as one node: nothing, the single failure, or a group.
fn group(at: &str, mut causes: Vec<Failure>) -> Option<Failure> {
    match causes.len() {
        0 => None,
        1 => causes.pop(),
        _ => Some(Failure {
            at: at.to_string(),
            message: GROUP.to_string(),
            causes,
        }),
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| equal(p, q)))
        }
        _ => a == b,
    }
}
