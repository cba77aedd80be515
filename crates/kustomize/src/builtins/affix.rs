//! The name affix filter `PrefixTransformer` and `SuffixTransformer` share: the text goes
//! before or after every field a spec names, and a `metadata/name` spec records it on the
//! resource (name references follow it later).

use serde_json::{Map, Value};

use crate::error::Error;
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::gojson::{GoType, Mode};
use crate::resid::Gvk;
use crate::resource::{Resource, scalar_string};

/// Which end of the name an affix goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Prefix,
    Suffix,
}

/// Adds `text` at `end` of every field `specs` name; empty text changes nothing.
pub(super) fn add(
    rs: &mut [Resource],
    end: End,
    text: &str,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    if text.is_empty() {
        return Ok(());
    }
    for r in rs.iter_mut() {
        let org = r.org_id();
        if skips_affixes(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                match end {
                    End::Prefix => r.prefixes.push(text.to_string()),
                    End::Suffix => r.suffixes.push(text.to_string()),
                }
                r.store_previous_id();
            }
            fs.apply(&mut r.obj, CreateKind::Scalar, &mut |node| {
                let cur = scalar_string(node);
                *node = Value::String(match end {
                    End::Prefix => format!("{text}{cur}"),
                    End::Suffix => format!("{cur}{text}"),
                });
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Whether kustomize leaves this type's name alone for prefixes and suffixes.
fn skips_affixes(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
}

/// A prefix or suffix plugin config's body, decoded as the plugins decode it: with kyaml's
/// go-yaml v3, not Go's JSON; `fieldSpecs` must be there.
pub(super) fn read_body(cfg: &Value, ty: &'static GoType) -> Result<Map<String, Value>, Error> {
    let body = super::decode(cfg, ty, Mode::Kyaml)?;
    if !body.contains_key("fieldSpecs") {
        return Err(Error::new("fieldSpecs is not expected to be nil"));
    }
    Ok(body)
}
