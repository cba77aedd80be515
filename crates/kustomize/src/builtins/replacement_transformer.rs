//! The builtin `ReplacementTransformer`: values copied from one resource's field into
//! others', replacement by replacement. `replacements` configures one for all its entries.

use serde_json::Value;

use super::{Transformer, decode};
use crate::error::Error;
use crate::gojson::{self, Mode};
use crate::gotypes::{self, REPLACEMENT_TRANSFORMER_T};
use crate::kustomization::list;
use crate::loader::Loader;
use crate::replacements::{self, Replacement};
use crate::resource::Resource;
use crunch_yaml::Dialect;

/// A configured `ReplacementTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct ReplacementTransformer {
    replacements: Vec<Replacement>,
}

impl ReplacementTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "ReplacementTransformer";

    /// Reads decoded `replacements:` entries, inline or from the files they name.
    pub(crate) fn from_entries(
        entries: &[Value],
        ldr: &Loader,
    ) -> Result<ReplacementTransformer, Error> {
        Ok(ReplacementTransformer {
            replacements: load(entries, ldr)?,
        })
    }

    /// Reads a plugin config: the replacements under `omitempty` (kustomize's name for the
    /// inline ones), then those of `replacements`, inline or from files.
    pub(crate) fn read(cfg: &Value, ldr: &Loader) -> Result<ReplacementTransformer, Error> {
        let body = decode(cfg, &REPLACEMENT_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        // Those under "omitempty" come first: the plugin appends the others to them.
        let mut replacements = list(body.get("omitempty"), "omitempty")?
            .iter()
            .map(Replacement::parse)
            .collect::<Result<Vec<_>, _>>()?;
        replacements.extend(load(list(body.get("replacements"), "replacements")?, ldr)?);
        Ok(ReplacementTransformer { replacements })
    }
}

impl Transformer for ReplacementTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        replacements::apply(rs, &self.replacements)
    }
}

/// Reads `replacements` entries; a `path` entry names a file holding one replacement or a
/// list of them, which kustomize reads with `sigs.k8s.io/yaml` (YAML 1.1, Go's JSON
/// decoding).
fn load(entries: &[Value], ldr: &Loader) -> Result<Vec<Replacement>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        let Some(path) = entry.get("path").and_then(Value::as_str) else {
            out.push(Replacement::parse(entry)?);
            continue;
        };
        if entry.get("source").is_some()
            || entry
                .get("targets")
                .is_some_and(|t| t != &Value::Array(Vec::new()))
        {
            return Err(Error::new(
                "cannot specify both path and inline replacement",
            ));
        }
        let (file, text) = ldr.read_text(path)?;
        let doc = crunch_yaml::parse_document(&text, Dialect::GoYamlV2)
            .map_err(|e| Error::yaml(&file, &e))?;
        let list = match &doc {
            Value::Array(_) => true,
            Value::Object(_) => false,
            other => {
                return Err(Error::new(format!(
                    "unsupported replacement type encountered within replacement path: {}",
                    go_kind(other)
                ))
                .in_file(&file));
            }
        };
        let decoded = gojson::decode(&doc, gotypes::replacement_file(list), Mode::YamlUnmarshal)
            .map_err(|e| Error::new(e).in_file(&file))?;
        let items = match decoded {
            Value::Array(items) => items,
            one => vec![one],
        };
        for item in &items {
            out.push(Replacement::parse(item).map_err(|e| e.in_file(&file))?);
        }
    }
    Ok(out)
}

/// The `reflect.Kind` of what `sigs.k8s.io/yaml` decodes a document into (numbers become
/// `float64` in an `interface{}`).
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}
