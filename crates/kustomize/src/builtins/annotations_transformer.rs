//! The builtin `AnnotationsTransformer`: annotations set at every field spec
//! (`metadata/annotations` and pod templates). `commonAnnotations` configures it.

use serde_json::Value;

use super::{Transformer, decode, field_specs};
use crate::error::Error;
use crate::fieldspec::{FieldSpec, set_entries};
use crate::gojson::Mode;
use crate::gotypes::ANNOTATIONS_TRANSFORMER_T;
use crate::kustomization::string_map;
use crate::resource::Resource;

/// A configured `AnnotationsTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct AnnotationsTransformer {
    /// The annotations, as written.
    pub annotations: Vec<(String, String)>,
    /// Where they go.
    pub field_specs: Vec<FieldSpec>,
}

impl AnnotationsTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "AnnotationsTransformer";

    /// Reads a plugin config: `annotations` and `fieldSpecs`.
    pub(crate) fn read(cfg: &Value) -> Result<AnnotationsTransformer, Error> {
        let body = decode(cfg, &ANNOTATIONS_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        Ok(AnnotationsTransformer {
            annotations: string_map(body.get("annotations"), "annotations")?,
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for AnnotationsTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        if self.annotations.is_empty() {
            return Ok(());
        }
        rs.iter_mut()
            .try_for_each(|r| set_entries(&mut r.obj, &self.field_specs, &self.annotations))
    }
}
