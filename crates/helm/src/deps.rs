//! Subchart resolution before rendering (Helm's `ProcessDependencies`): aliases,
//! `condition`/`tags` enabling, and `import-values`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::chart::Chart;
use super::error::{Error, ErrorKind};
use super::tables::Tables;
use super::values::{Mode, coalesce_chart, coalesce_tables};
use crunch_semver::{Constraints, Version};

/// Fails like `helm template` when a declared dependency has no chart in `charts/`.
pub(crate) fn check_dependencies(chart: &Chart) -> Result<(), Error> {
    let Some(reqs) = &chart.metadata.dependencies else {
        return Ok(());
    };
    let missing: Vec<&str> = reqs
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Dependencies,
        format!(
            "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ),
    ))
}

/// Applies aliases, drops disabled subcharts and imports values, mutating `chart`.
pub(crate) fn process(chart: &mut Chart, user: &Map<String, Value>) -> Result<(), Error> {
    let wrap = |e: Error| {
        Error::new(
            ErrorKind::Dependencies,
            format!("chart dependencies processing failed: {e}"),
        )
    };
    process_enabled(chart, user, "").map_err(wrap)?;
    import_values_recursive(chart).map_err(wrap)
}

fn process_enabled(
    chart: &mut Chart,
    values: &Map<String, Value>,
    path: &str,
) -> Result<(), Error> {
    let Some(reqs) = chart.metadata.dependencies.as_mut() else {
        return Ok(());
    };
    let existing = std::mem::take(&mut chart.dependencies);
    // Each requirement takes the first chart in `charts/` with its name whose version
    // its range admits; charts no requirement admits stay as they are. A chart taken by
    // several requirements (aliases) is copied for all but its last taker.
    let ranges: Vec<Option<Constraints>> = reqs
        .iter()
        .map(|r| Constraints::parse(&r.version).ok())
        .collect();
    let versions: Vec<Option<Version>> = existing
        .iter()
        .map(|c| Version::parse(&c.metadata.version).ok())
        .collect();
    let admits = |req: usize, chart: usize| {
        existing[chart].name() == reqs[req].name
            && matches!(
                (&ranges[req], &versions[chart]),
                (Some(range), Some(version)) if range.check(version)
            )
    };
    let mut undeclared = vec![true; existing.len()];
    let taken: Vec<Option<usize>> = (0..reqs.len())
        .map(|r| {
            let mut first = None;
            for c in (0..existing.len()).filter(|&c| admits(r, c)) {
                undeclared[c] = false;
                first.get_or_insert(c);
            }
            first
        })
        .collect();
    let mut takers = vec![0_usize; existing.len()];
    for &c in taken.iter().flatten() {
        takers[c] += 1;
    }
    let mut slots: Vec<Option<Chart>> = existing.into_iter().map(Some).collect();
    let mut resolved: Vec<Chart> = slots
        .iter_mut()
        .zip(&undeclared)
        .filter(|(_, undeclared)| **undeclared)
        .filter_map(|(slot, _)| slot.take())
        .collect();
    for (req, taken) in reqs.iter_mut().zip(taken) {
        if let Some(c) = taken {
            takers[c] -= 1;
            let found = if takers[c] == 0 {
                slots[c].take()
            } else {
                slots[c].clone()
            };
            if let Some(mut found) = found {
                if !req.alias.is_empty() {
                    found.metadata.name = req.alias.clone();
                }
                resolved.push(found);
            }
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    chart.dependencies = resolved;

    let cvals = coalesce_chart(chart, values, Mode::Coalesce)?;
    let reqs = chart.metadata.dependencies.as_mut().into_iter().flatten();
    let mut disabled = HashSet::new();
    for req in reqs {
        apply_tags(req, &cvals);
        apply_condition(req, &cvals, path);
        if !req.enabled {
            disabled.insert(req.name.clone());
        }
    }
    chart.dependencies.retain(|d| !disabled.contains(d.name()));
    if let Some(reqs) = chart.metadata.dependencies.as_mut() {
        reqs.retain(|r| !disabled.contains(&r.name));
    }
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        process_enabled(sub, &cvals, &sub_path)?;
    }
    Ok(())
}

/// `tags`: any true tag enables, otherwise any false tag disables.
fn apply_tags(req: &mut super::chart::Dependency, cvals: &Map<String, Value>) {
    let Some(Value::Object(tags)) = cvals.get("tags") else {
        return;
    };
    let (mut any_true, mut any_false) = (false, false);
    for tag in &req.tags {
        match tags.get(tag) {
            Some(Value::Bool(true)) => any_true = true,
            Some(Value::Bool(false)) => any_false = true,
            _ => {}
        }
    }
    req.enabled = any_true || !any_false;
}

/// `condition`: the first path (of a comma-separated list) holding a boolean decides.
fn apply_condition(req: &mut super::chart::Dependency, cvals: &Map<String, Value>, path: &str) {
    let condition = req.condition.trim().to_string();
    for cond in condition.split(',').filter(|c| !c.is_empty()) {
        if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
            req.enabled = *b;
            break;
        }
    }
}

/// Helm's `Values.PathValue`: a dotted path to a non-table value.
fn path_value<'v>(vals: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let (table_path, key) = match path.rsplit_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, path),
    };
    let table = match table_path {
        Some(t) => table(vals, t)?,
        None => vals,
    };
    table.get(key).filter(|v| !v.is_object())
}

/// Helm's `Values.Table`: a dotted path to a table.
fn table<'v>(vals: &'v Map<String, Value>, path: &str) -> Option<&'v Map<String, Value>> {
    path.split('.')
        .try_fold(vals, |t, part| t.get(part).and_then(Value::as_object))
}

fn import_values_recursive(chart: &mut Chart) -> Result<(), Error> {
    for sub in &mut chart.dependencies {
        import_values_recursive(sub)?;
    }
    import_values(chart)
}

/// Go's `%v` of an `import-values` field.
fn sprint(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Folds subchart defaults (and imported `exports`) into the chart's own values, as
/// Helm's `processImportValues` does in merge mode: the chart's values win. Helm merges the
/// imports without copying the subcharts' tables, so its writes through them show in the
/// chart's values too ([`Tables`]), until its deep copy of those values ends the sharing.
fn import_values(chart: &mut Chart) -> Result<(), Error> {
    if chart.metadata.dependencies.is_none() {
        return Ok(());
    }
    let cvals = coalesce_chart(chart, &Map::new(), Mode::Merge)?;
    let imports = chart.metadata.dependencies.iter().flatten();
    if imports.map(|req| req.import_values.len()).sum::<usize>() == 0 {
        // Nothing to import: Helm's merge of an empty table changes nothing.
        chart.values = cvals;
        return Ok(());
    }
    let mut tables = Tables::default();
    let cvals = tables.add(cvals);
    let imported = tables.add(Map::new());
    let name = chart.name().to_string();
    let cycle = |_| {
        Error::new(
            ErrorKind::Dependencies,
            format!(
                "import-values of chart {name} make a table contain itself (helm overflows its stack on it)"
            ),
        )
    };
    for req in chart.metadata.dependencies.iter_mut().flatten() {
        let mut rewritten = Vec::new();
        for entry in &req.import_values {
            let (child, parent) = match entry {
                Value::Object(m) => (sprint(m.get("child")), sprint(m.get("parent"))),
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            rewritten.push(serde_json::json!({"child": child, "parent": parent}));
            let Some(found) = tables.table(cvals, &format!("{}.{child}", req.name)) else {
                continue;
            };
            let found = tables.as_map(found);
            let nested = tables.nest(&parent, found);
            tables.merge(imported, nested).map_err(cycle)?;
        }
        req.import_values = rewritten;
    }
    let mut values = tables.to_map(cvals).map_err(cycle)?;
    coalesce_tables(
        &mut values,
        tables.to_map(imported).map_err(cycle)?,
        Mode::Merge,
    );
    chart.values = values;
    Ok(())
}
