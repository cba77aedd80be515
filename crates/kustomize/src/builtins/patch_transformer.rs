//! The builtin `PatchTransformer`: one patch, strategic merge or JSON 6902, applied to
//! its target (or, for a strategic merge patch without one, to the resource it names).
//! Each `patches` entry configures one.

use serde_json::Value;

use super::{Transformer, decode};
use crate::error::Error;
use crate::gojson::Mode;
use crate::gotypes::PATCH_TRANSFORMER_T;
use crate::kustomization::parse_patch;
use crate::loader::Loader;
use crate::patch::{self, Patch};
use crate::resource::Resource;

/// A configured `PatchTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct PatchTransformer {
    /// The loaded patch.
    pub patch: Patch,
}

impl PatchTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "PatchTransformer";

    /// Reads a plugin config: `patch` or `path` (read through `ldr`), `target` and
    /// `options`.
    pub(crate) fn read(cfg: &Value, ldr: &Loader) -> Result<PatchTransformer, Error> {
        let body = decode(cfg, &PATCH_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        let args = parse_patch(&Value::Object(body), Self::KIND)?;
        Ok(PatchTransformer {
            patch: Patch::load(&args, Some(ldr))?,
        })
    }
}

impl Transformer for PatchTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        patch::apply(rs, &self.patch)
    }
}
