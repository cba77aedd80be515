//! The builtin `SuffixTransformer`: a suffix for names (and the other fields its specs
//! name). `nameSuffix` configures it.

use serde_json::Value;

use super::affix::{self, End};
use super::{Transformer, field_specs, text};
use crate::error::Error;
use crate::fieldspec::FieldSpec;
use crate::gotypes::SUFFIX_TRANSFORMER_T;
use crate::resource::Resource;

/// A configured `SuffixTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct SuffixTransformer {
    /// The suffix; empty changes nothing.
    pub suffix: String,
    /// The fields it goes after.
    pub field_specs: Vec<FieldSpec>,
}

impl SuffixTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "SuffixTransformer";

    /// Reads a plugin config: `suffix` and `fieldSpecs`, which must be given.
    pub(crate) fn read(cfg: &Value) -> Result<SuffixTransformer, Error> {
        let body = affix::read_body(cfg, &SUFFIX_TRANSFORMER_T)?;
        Ok(SuffixTransformer {
            suffix: text(&body, "/suffix"),
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for SuffixTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        affix::add(rs, End::Suffix, &self.suffix, &self.field_specs)
    }
}
