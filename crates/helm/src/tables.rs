//! Values tables held by reference, as Go holds maps. Helm's `processImportValues` puts a
//! subchart's tables into the imported values without copying them, and its merges write
//! through those references: a later import merged over the same place adds keys to the
//! subchart's own values, and the imported values' `null`s are written into the tables
//! merged under them. [`Tables`] keeps every table once, so that those writes land where
//! Helm's land.

use serde_json::{Map, Value};

/// One table of a [`Tables`] heap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableId(usize);

/// What a key holds: a table by reference, or any other value (never an object).
#[derive(Clone)]
enum Entry {
    Table(TableId),
    Value(Value),
}

/// A heap of values tables; keys keep their insertion order.
#[derive(Default)]
pub(crate) struct Tables {
    tables: Vec<Vec<(String, Entry)>>,
}

/// A table reached from itself: Helm recurses without end on it.
#[derive(Debug)]
pub(crate) struct Cycle;

impl Tables {
    /// Adds `map` as a new table, each map inside it a new table of its own.
    pub(crate) fn add(&mut self, map: Map<String, Value>) -> TableId {
        let entries = map
            .into_iter()
            .map(|(key, value)| {
                let entry = match value {
                    Value::Object(inner) => Entry::Table(self.add(inner)),
                    other => Entry::Value(other),
                };
                (key, entry)
            })
            .collect();
        self.tables.push(entries);
        TableId(self.tables.len() - 1)
    }

    /// Helm's `Values.Table`: the table at a dotted path below `root`.
    pub(crate) fn table(&self, root: TableId, path: &str) -> Option<TableId> {
        path.split('.')
            .try_fold(root, |table, key| match self.get(table, key) {
                Some(Entry::Table(inner)) => Some(*inner),
                _ => None,
            })
    }

    /// Helm's `Values.AsMap`: the table itself, or a new one when it is empty.
    pub(crate) fn as_map(&mut self, table: TableId) -> TableId {
        if self.tables[table.0].is_empty() {
            return self.add(Map::new());
        }
        table
    }

    /// Helm's `pathToMap`: `table` under new tables named by a dotted path; `.` is the
    /// table itself.
    pub(crate) fn nest(&mut self, path: &str, table: TableId) -> TableId {
        if path == "." {
            return table;
        }
        path.rsplit('.').fold(table, |inner, key| {
            self.tables
                .push(vec![(key.to_string(), Entry::Table(inner))]);
            TableId(self.tables.len() - 1)
        })
    }

    /// Helm's `MergeTables` (`coalesceTablesFullKey` keeping `null`s): fills `dst` from
    /// `src` recursively, `dst` winning. Keys `dst` lacks take `src`'s value, tables by
    /// reference; first every `null` of `dst` is written into `src`, as Helm does.
    ///
    /// # Errors
    /// [`Cycle`] when the merge would recurse without end.
    pub(crate) fn merge(&mut self, dst: TableId, src: TableId) -> Result<(), Cycle> {
        self.merge_within(dst, src, &mut Vec::new())
    }

    fn merge_within(
        &mut self,
        dst: TableId,
        src: TableId,
        active: &mut Vec<(TableId, TableId)>,
    ) -> Result<(), Cycle> {
        // Merging a table into itself changes nothing.
        if dst == src {
            return Ok(());
        }
        // The same pair again below itself: Helm's recursion never ends.
        if active.contains(&(dst, src)) {
            return Err(Cycle);
        }
        let nulls: Vec<String> = self.tables[dst.0]
            .iter()
            .filter(|(_, entry)| matches!(entry, Entry::Value(Value::Null)))
            .map(|(key, _)| key.clone())
            .collect();
        for key in nulls {
            self.set(src, key, Entry::Value(Value::Null));
        }
        active.push((dst, src));
        for (key, incoming) in self.tables[src.0].clone() {
            match (self.get(dst, &key).cloned(), incoming) {
                (None, incoming) => self.set(dst, key, incoming),
                (Some(Entry::Table(inner_dst)), Entry::Table(inner_src)) => {
                    self.merge_within(inner_dst, inner_src, active)?;
                }
                // `dst` wins, `null`s included (Helm only warns of a table against a
                // non-table).
                (Some(_), _) => {}
            }
        }
        active.pop();
        Ok(())
    }

    /// A deep copy of `table` as a JSON map, each reference copied where it appears.
    ///
    /// # Errors
    /// [`Cycle`] when the table contains itself: Helm's deep copy recurses without end.
    pub(crate) fn to_map(&self, table: TableId) -> Result<Map<String, Value>, Cycle> {
        self.copy_within(table, &mut Vec::new())
    }

    fn copy_within(
        &self,
        table: TableId,
        active: &mut Vec<TableId>,
    ) -> Result<Map<String, Value>, Cycle> {
        if active.contains(&table) {
            return Err(Cycle);
        }
        active.push(table);
        let mut map = Map::new();
        for (key, entry) in &self.tables[table.0] {
            let value = match entry {
                Entry::Table(inner) => Value::Object(self.copy_within(*inner, active)?),
                Entry::Value(value) => value.clone(),
            };
            map.insert(key.clone(), value);
        }
        active.pop();
        Ok(map)
    }

    fn get(&self, table: TableId, key: &str) -> Option<&Entry> {
        self.tables[table.0]
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, entry)| entry)
    }

    fn set(&mut self, table: TableId, key: String, entry: Entry) {
        let entries = &mut self.tables[table.0];
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = entry,
            None => entries.push((key, entry)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn merged_tables_are_shared_with_their_source() {
        let mut tables = Tables::default();
        let values = tables.add(map(json!({"a": {"x": 1}, "b": {"y": null, "z": 2}})));
        let imported = tables.add(Map::new());
        let a = tables.table(values, "a").unwrap();
        let b = tables.table(values, "b").unwrap();
        let under_a = tables.nest("p", a);
        tables.merge(imported, under_a).unwrap();
        let under_b = tables.nest("p", b);
        tables.merge(imported, under_b).unwrap();
        // `a` itself took `b`'s keys; `b` kept its own.
        assert_eq!(
            Value::Object(tables.to_map(values).unwrap()),
            json!({"a": {"x": 1, "y": null, "z": 2}, "b": {"y": null, "z": 2}})
        );
    }

    #[test]
    fn nulls_of_the_destination_are_written_into_the_source() {
        let mut tables = Tables::default();
        let values = tables.add(map(json!({"a": {"n": null}, "b": {"n": 1, "m": 2}})));
        let imported = tables.add(Map::new());
        for path in ["a", "b"] {
            let found = tables.table(values, path).unwrap();
            tables.merge(imported, found).unwrap();
        }
        assert_eq!(
            Value::Object(tables.to_map(values).unwrap()),
            json!({"a": {"n": null}, "b": {"n": null, "m": 2}})
        );
    }

    #[test]
    fn empty_tables_are_copied_and_cycles_refused() {
        let mut tables = Tables::default();
        let values = tables.add(map(json!({"e": {}, "t": {"k": 1}})));
        let empty = tables.table(values, "e").unwrap();
        assert!(tables.as_map(empty) != empty);
        let t = tables.table(values, "t").unwrap();
        let imported = tables.add(Map::new());
        let first = tables.nest("p", t);
        tables.merge(imported, first).unwrap();
        let second = tables.nest("p.inner", t);
        tables.merge(imported, second).unwrap();
        assert!(tables.to_map(values).is_err());
    }
}
