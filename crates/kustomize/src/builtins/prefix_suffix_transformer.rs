//! The builtin `PrefixSuffixTransformer`: one config read as a `PrefixTransformer`'s and
//! as a `SuffixTransformer`'s, both then run, prefix first.

use serde_json::Value;

use super::Transformer;
use super::prefix_transformer::PrefixTransformer;
use super::suffix_transformer::SuffixTransformer;
use crate::error::Error;
use crate::resource::Resource;

/// A configured `PrefixSuffixTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct PrefixSuffixTransformer {
    prefix: PrefixTransformer,
    suffix: SuffixTransformer,
}

impl PrefixSuffixTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "PrefixSuffixTransformer";

    /// Reads a plugin config: `prefix`, `suffix` and the `fieldSpecs` both use.
    pub(crate) fn read(cfg: &Value) -> Result<PrefixSuffixTransformer, Error> {
        Ok(PrefixSuffixTransformer {
            prefix: PrefixTransformer::read(cfg)?,
            suffix: SuffixTransformer::read(cfg)?,
        })
    }
}

impl Transformer for PrefixSuffixTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        self.prefix.transform(rs)?;
        self.suffix.transform(rs)
    }
}
