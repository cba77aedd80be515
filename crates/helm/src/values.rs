//! Values: reading values files and Helm's coalescing of user values over chart defaults.

use serde_json::{Map, Value};

use super::chart::Chart;
use super::error::{Error, ErrorKind};

/// The key whose table propagates from a chart to all its subcharts.
const GLOBAL: &str = "global";

/// Reads a values file as Helm's `LoadValues`: the text is cut into documents at `---`
/// lines, each document must be a map (or empty), and later documents are merged over
/// earlier ones. Numbers become `float64`, as Helm's JSON round trip makes them.
///
/// # Errors
/// Malformed separators, YAML syntax errors (lines counted within the document, as Helm
/// counts them) and documents that are not maps, with Helm's wording.
pub fn load_values(text: &str) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for chunk in split_documents(text)? {
        let doc =
            crunch_yaml::parse_document(&chunk, crunch_yaml::Dialect::GoYamlV2).map_err(|e| {
                Error::new(
                    ErrorKind::Values,
                    format!("cannot unmarshal yaml document: error converting YAML to JSON: {e}"),
                )
            })?;
        match float_numbers(doc) {
            Value::Null => {}
            Value::Object(map) => merge_maps(&mut out, map),
            other => {
                return Err(Error::new(
                    ErrorKind::Values,
                    format!(
                        "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        crunch_yaml::json_kind(&other)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Cuts a stream into documents as `k8s.io/apimachinery`'s `YAMLReader` does: a line
/// starting with `---` followed only by blanks or a comment separates documents; empty
/// documents are skipped.
///
/// The reader hands go-yaml its lines as `bufio.Reader.ReadLine` returns them, each given
/// a `\n`: a `\r\n` ending becomes `\n`, and a last line without a line break gains one,
/// so a block scalar ending the file keeps its final line break (`a: |` then `  x` at
/// the very end reads as `"x\n"`, where go-yaml alone reads `"x"`).
fn split_documents(text: &str) -> Result<Vec<String>, Error> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for piece in text.split_inclusive('\n') {
        let line = piece
            .strip_suffix('\n')
            .map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(Error::new(
                    ErrorKind::Values,
                    format!("error reading yaml document: invalid Yaml document separator: {rest}"),
                ));
            }
            if !current.is_empty() {
                docs.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.is_empty() {
        docs.push(current);
    }
    Ok(docs)
}

/// Turns every number into a `float64`, as Helm's YAML → JSON → `interface{}` path does.
#[must_use]
pub fn float_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(float_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, float_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Deep merge as Helm's `mergeMaps` (values files, `--set`) and Flux's
/// `chartutil.MergeMaps` (`valuesFrom`, `spec.values`) do it: maps merge recursively,
/// anything else in `overlay` replaces what `base` has. A `null` in `overlay` is a value
/// like any other, never a deletion: Helm's coalescing later decides what it removes.
pub fn merge_maps(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge_maps(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Whether `null` in the higher-priority side deletes a key (`Coalesce`) or is kept
/// (`Merge`, used when Helm folds subchart defaults into a parent's values).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Coalesce,
    Merge,
}

/// Helm's `CoalesceValues` / `MergeValues`: `user` over the chart's defaults, then each
/// subchart's defaults under its name, with `global` pushed down.
pub(crate) fn coalesce_chart(
    chart: &Chart,
    user: &Map<String, Value>,
    mode: Mode,
) -> Result<Map<String, Value>, Error> {
    let mut dest = user.clone();
    coalesce(chart, &mut dest, mode)?;
    Ok(dest)
}

fn coalesce(chart: &Chart, dest: &mut Map<String, Value>, mode: Mode) -> Result<(), Error> {
    coalesce_values(chart, dest, mode);
    coalesce_deps(chart, dest, mode)
}

fn coalesce_deps(chart: &Chart, dest: &mut Map<String, Value>, mode: Mode) -> Result<(), Error> {
    for sub in &chart.dependencies {
        let name = sub.name();
        let mut sub_values = match dest.shift_remove(name) {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::Values,
                    format!("type mismatch on {name}: {}", go_percent_t(&other)),
                ));
            }
        };
        coalesce_globals(&mut sub_values, dest.get(GLOBAL));
        let result = coalesce(sub, &mut sub_values, mode);
        share_nested_globals(dest, &sub_values);
        dest.insert(name.to_string(), Value::Object(sub_values));
        result?;
    }
    Ok(())
}

/// Helm copies the parent's `global` tables into a subchart only one level deep: tables
/// two levels below `global` are the very same Go maps in parent and subchart, so every
/// key the subchart's coalescing adds there shows up in the parent too. Copying those
/// tables back reproduces that sharing.
fn share_nested_globals(parent: &mut Map<String, Value>, sub: &Map<String, Value>) {
    let (Some(Value::Object(parent_globals)), Some(Value::Object(sub_globals))) =
        (parent.get_mut(GLOBAL), sub.get(GLOBAL))
    else {
        return;
    };
    for (key, parent_table) in parent_globals.iter_mut() {
        let (Value::Object(parent_table), Some(Value::Object(sub_table))) =
            (parent_table, sub_globals.get(key))
        else {
            continue;
        };
        for (inner, parent_inner) in parent_table.iter_mut() {
            if let (Value::Object(_), Some(shared @ Value::Object(_))) =
                (&*parent_inner, sub_table.get(inner))
            {
                *parent_inner = shared.clone();
            }
        }
    }
}

/// How Go's `%t` prints a non-table value in Helm's type-mismatch error: lists element
/// by element (`[%!t(string=a) <nil>]`), numbers with their Go type.
fn go_percent_t(v: &Value) -> String {
    crunch_template::sprintf("%t", &[super::engine::typed_values(v)])
}

/// Pushes the parent's `global` table into a subchart's values: parent globals win,
/// nested tables are merged.
fn coalesce_globals(dest: &mut Map<String, Value>, parent_globals: Option<&Value>) {
    let source = match parent_globals {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        // Helm warns and skips globals that are not a table.
        Some(_) => return,
    };
    let mut globals = match dest.get(GLOBAL) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in source {
        match val {
            Value::Object(mut table) => match globals.get_mut(&key) {
                None => {
                    globals.insert(key, Value::Object(table));
                }
                Some(Value::Object(existing)) => {
                    coalesce_tables(&mut table, existing.clone(), Mode::Merge);
                    *existing = table;
                }
                // A table cannot replace a scalar: Helm warns and keeps the scalar.
                Some(_) => {}
            },
            scalar => {
                if !globals.get(&key).is_some_and(Value::is_object) {
                    globals.insert(key, scalar);
                }
            }
        }
    }
    dest.insert(GLOBAL.to_string(), Value::Object(globals));
}

/// Coalesces the chart's own defaults under `values` (higher priority).
fn coalesce_values(chart: &Chart, values: &mut Map<String, Value>, mode: Mode) {
    for (key, default) in chart.values.clone() {
        match values.get_mut(&key) {
            None => {
                values.insert(key, default);
            }
            Some(Value::Null) if mode == Mode::Coalesce => {
                values.shift_remove(&key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(src) = default {
                    // Values addressed to a subchart keep their nulls here: the
                    // subchart's own coalescing deletes them against its defaults.
                    let is_subchart = chart.dependencies.iter().any(|d| d.name() == key);
                    let mode = if is_subchart { Mode::Merge } else { mode };
                    coalesce_tables(dest, src, mode);
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's `coalesceTablesFullKey`: fills `dst` from `src` recursively; `dst` wins.
pub(crate) fn coalesce_tables(
    dst: &mut Map<String, Value>,
    mut src: Map<String, Value>,
    mode: Mode,
) {
    let src_non_null: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (k, v) in dst.iter() {
        if v.is_null() {
            src.insert(k.clone(), Value::Null);
        }
    }
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Value::Null) if mode == Mode::Coalesce && src_non_null.contains(&key) => {
                dst.shift_remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(Value::Object(dv)) => {
                if let Value::Object(sv) = val {
                    coalesce_tables(dv, sv, mode);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn coalesce_tables_deletes_nulls_and_keeps_dst() {
        let mut dst = obj(json!({"a": null, "b": {"c": 1}, "d": 2}));
        let src = obj(json!({"a": 1, "b": {"c": 2, "e": 3}, "f": 4}));
        coalesce_tables(&mut dst, src, Mode::Coalesce);
        assert_eq!(
            Value::Object(dst),
            json!({"b": {"c": 1, "e": 3}, "d": 2, "f": 4})
        );
    }

    #[test]
    fn documents_split_like_yaml_reader() {
        let docs = split_documents("a: 1\n--- # c\nb: 2\n---\n---\n").unwrap_or_default();
        assert_eq!(docs, vec!["a: 1\n".to_string(), "b: 2\n".to_string()]);
        assert!(split_documents("a: 1\n--- x\n").is_err());
        let docs = split_documents("a: |\r\n  x\r\n---\r\nb: |\n  y").unwrap_or_default();
        assert_eq!(
            docs,
            vec!["a: |\n  x\n".to_string(), "b: |\n  y\n".to_string()]
        );
    }

    #[test]
    fn merge_maps_recurses() {
        let a = obj(json!({"x": {"y": 1, "z": 2}, "k": 1}));
        let b = obj(json!({"x": {"y": 3}, "k": {"n": 1}}));
        assert_eq!(
            Value::Object({
                let mut merged = a;
                merge_maps(&mut merged, b);
                merged
            }),
            json!({"x": {"y": 3, "z": 2}, "k": {"n": 1}})
        );
    }
}
