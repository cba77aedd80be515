//! JSON Schemas of the files crunch reads and writes, for editors (yaml-language-server)
//! and other tools: `crunch.yaml`, `crunch.lock` and a bundle's `index.json`. Each is
//! generated from the serde types that read the file, so it cannot drift from them;
//! `crunch schemas DIR` writes them, `schemas/*.schema.json` are the committed copies
//! (`tests/it/schemas.rs` checks that they are current), and each names its URL
//! as its `$id`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::bundle::{INDEX_SCHEMA_URL, Index};
use crate::config::{ConfigFile, SCHEMA_URL as CONFIG_SCHEMA_URL};
use crate::source::{LOCK_SCHEMA_URL, LockFile};

/// Every schema as (file name, schema): the file name is the last segment of its URL.
pub fn all() -> Vec<(String, Value)> {
    vec![
        schema::<ConfigFile>(CONFIG_SCHEMA_URL),
        schema::<LockFile>(LOCK_SCHEMA_URL),
        schema::<Index>(INDEX_SCHEMA_URL),
    ]
}

/// `T`'s schema in JSON Schema draft 7, the draft every yaml-language-server reads.
fn schema<T: JsonSchema>(url: &str) -> (String, Value) {
    let generated = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    // `$schema` and `$id` first, where a reader looks for them.
    let mut schema = serde_json::Map::new();
    if let Some(draft) = generated.get("$schema") {
        schema.insert("$schema".to_string(), draft.clone());
    }
    schema.insert("$id".to_string(), url.into());
    if let Value::Object(rest) = generated.to_value() {
        for (key, value) in rest {
            schema.entry(key).or_insert(value);
        }
    }
    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    (name, Value::Object(schema))
}

/// The text of a schema file: pretty JSON with a final newline.
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_published_side_by_side() {
        let names: Vec<String> = all().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "crunch.yaml.schema.json",
                "crunch.lock.schema.json",
                "index.schema.json"
            ]
        );
        for url in [CONFIG_SCHEMA_URL, LOCK_SCHEMA_URL, INDEX_SCHEMA_URL] {
            assert!(url.starts_with("https://crunch.dev/schemas/"), "{url}");
        }
    }

    #[test]
    fn the_config_schema_refuses_unknown_fields() {
        let (_, config) = &all()[0];
        assert_eq!(config["additionalProperties"], false);
        assert_eq!(config["properties"]["kind"]["const"], "Config");
        assert_eq!(
            config["required"],
            serde_json::json!(["apiVersion", "kind"])
        );
    }
}
