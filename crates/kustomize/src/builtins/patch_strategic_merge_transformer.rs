//! The builtin `PatchStrategicMergeTransformer`: strategic merge patches, each applied to
//! the one resource it names. `patchesStrategicMerge` configures one for all its entries.

use serde_json::Value;

use super::{Transformer, decode, optional_text};
use crate::error::Error;
use crate::gojson::Mode;
use crate::gotypes::PATCH_STRATEGIC_MERGE_TRANSFORMER_T;
use crate::kustomization::{PatchArgs, list};
use crate::loader::Loader;
use crate::patch::{self, Body, Patch};
use crate::resource::Resource;

/// A configured `PatchStrategicMergeTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct PatchStrategicMergeTransformer {
    patches: Vec<Patch>,
}

impl PatchStrategicMergeTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "PatchStrategicMergeTransformer";

    /// Reads `patchesStrategicMerge` entries: each a file path, or the patch itself
    /// inline; a JSON patch among them is an error.
    pub(crate) fn from_entries(
        entries: &[String],
        ldr: &Loader,
    ) -> Result<PatchStrategicMergeTransformer, Error> {
        let mut patches = Vec::new();
        for entry in entries {
            let inline = entry.contains('\n') || !ldr.is_file(entry);
            let args = PatchArgs {
                path: (!inline).then(|| entry.to_string()),
                patch: inline.then(|| entry.to_string()),
                ..PatchArgs::default()
            };
            let p = Patch::load(&args, Some(ldr))?;
            if let Body::Json(_) = p.body {
                return Err(Error::new(format!(
                    "patchesStrategicMerge entry {} is a JSON patch",
                    p.source
                )));
            }
            patches.push(p);
        }
        Ok(PatchStrategicMergeTransformer { patches })
    }

    /// Reads a plugin config: the files in `paths` (read through `ldr`), then the inline
    /// `patches`.
    pub(crate) fn read(cfg: &Value, ldr: &Loader) -> Result<PatchStrategicMergeTransformer, Error> {
        let body = decode(
            cfg,
            &PATCH_STRATEGIC_MERGE_TRANSFORMER_T,
            Mode::YamlUnmarshal,
        )?;
        let mut entries = Vec::new();
        for path in list(body.get("paths"), "paths")? {
            entries.push(PatchArgs {
                path: path.as_str().map(str::to_string),
                ..PatchArgs::default()
            });
        }
        if let Some(text) = optional_text(&body, "patches") {
            entries.push(PatchArgs {
                patch: Some(text),
                ..PatchArgs::default()
            });
        }
        if entries.is_empty() {
            return Err(Error::new("empty file path and empty patch content"));
        }
        let patches = entries
            .iter()
            .map(|args| Patch::load(args, Some(ldr)))
            .collect::<Result<_, _>>()?;
        Ok(PatchStrategicMergeTransformer { patches })
    }
}

impl Transformer for PatchStrategicMergeTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        self.patches.iter().try_for_each(|p| patch::apply(rs, p))
    }
}
