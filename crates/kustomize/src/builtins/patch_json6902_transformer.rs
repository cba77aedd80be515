//! The builtin `PatchJson6902Transformer`: one patch applied to the resources its
//! (required) target selects. Each `patchesJson6902` entry configures one.

use serde_json::Value;

use super::{Transformer, decode, optional_text};
use crate::error::Error;
use crate::gojson::Mode;
use crate::gotypes::PATCH_JSON6902_TRANSFORMER_T;
use crate::kustomization::PatchArgs;
use crate::loader::Loader;
use crate::patch::{self, Patch};
use crate::resource::Resource;

/// A configured `PatchJson6902Transformer`.
#[derive(Debug, Clone)]
pub(crate) struct PatchJson6902Transformer {
    patch: Patch,
}

impl PatchJson6902Transformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "PatchJson6902Transformer";

    /// The transformer of a loaded patch, which must have a target.
    pub(crate) fn new(patch: Patch) -> Result<PatchJson6902Transformer, Error> {
        if patch.target.is_none() {
            return Err(Error::new(format!(
                "must specify a target for JSON patch {}",
                patch.source
            )));
        }
        Ok(PatchJson6902Transformer { patch })
    }

    /// Reads a plugin config: `jsonOp` or `path` (read through `ldr`), and `target`.
    pub(crate) fn read(cfg: &Value, ldr: &Loader) -> Result<PatchJson6902Transformer, Error> {
        let body = decode(cfg, &PATCH_JSON6902_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        let args = PatchArgs {
            path: optional_text(&body, "path"),
            patch: optional_text(&body, "jsonOp"),
            target: body.get("target").cloned(),
            ..PatchArgs::default()
        };
        PatchJson6902Transformer::new(Patch::load(&args, Some(ldr))?)
    }
}

impl Transformer for PatchJson6902Transformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        patch::apply(rs, &self.patch)
    }
}
