//! The builtin `LabelTransformer`: labels set at every field spec (`metadata/labels`,
//! selectors and templates as configured). `commonLabels` and `labels` configure it, as
//! does helm-controller's label post-renderer.

use serde_json::Value;

use super::{Transformer, decode, field_specs};
use crate::error::Error;
use crate::fieldspec::{FieldSpec, set_entries};
use crate::gojson::Mode;
use crate::gotypes::LABEL_TRANSFORMER_T;
use crate::kustomization::string_map;
use crate::resource::Resource;

/// A configured `LabelTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct LabelTransformer {
    /// The labels, as written.
    pub labels: Vec<(String, String)>,
    /// Where they go.
    pub field_specs: Vec<FieldSpec>,
}

impl LabelTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "LabelTransformer";

    /// Reads a plugin config: `labels` and `fieldSpecs`.
    pub(crate) fn read(cfg: &Value) -> Result<LabelTransformer, Error> {
        let body = decode(cfg, &LABEL_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        Ok(LabelTransformer {
            labels: string_map(body.get("labels"), "labels")?,
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for LabelTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        if self.labels.is_empty() {
            return Ok(());
        }
        rs.iter_mut()
            .try_for_each(|r| set_entries(&mut r.obj, &self.field_specs, &self.labels))
    }
}
