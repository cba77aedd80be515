//! The builtin `PrefixTransformer`: a prefix for names (and the other fields its specs
//! name). `namePrefix` configures it.

use serde_json::Value;

use super::affix::{self, End};
use super::{Transformer, field_specs, text};
use crate::error::Error;
use crate::fieldspec::FieldSpec;
use crate::gotypes::PREFIX_TRANSFORMER_T;
use crate::resource::Resource;

/// A configured `PrefixTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct PrefixTransformer {
    /// The prefix; empty changes nothing.
    pub prefix: String,
    /// The fields it goes in front of.
    pub field_specs: Vec<FieldSpec>,
}

impl PrefixTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "PrefixTransformer";

    /// Reads a plugin config: `prefix` and `fieldSpecs`, which must be given.
    pub(crate) fn read(cfg: &Value) -> Result<PrefixTransformer, Error> {
        let body = affix::read_body(cfg, &PREFIX_TRANSFORMER_T)?;
        Ok(PrefixTransformer {
            prefix: text(&body, "/prefix"),
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for PrefixTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        affix::add(rs, End::Prefix, &self.prefix, &self.field_specs)
    }
}
