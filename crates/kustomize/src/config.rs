//! The transformer configuration: which fields each built-in transformer touches. The
//! defaults (`defaults.txt`) are kustomize's; a kustomization's `configurations:` files and
//! `crds:` add to them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::Value;

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::gojson::{self, Mode};
use super::gotypes::TRANSFORMER_CONFIG_T;
use super::resid::Gvk;

const DEFAULTS: &str = include_str!("defaults.txt");

/// The referrers of one referenced type: the fields holding names of objects of `gvk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameBackRefs {
    pub gvk: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// Field specs per built-in transformer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRefs>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

impl TransformerConfig {
    /// kustomize's built-in configuration.
    pub(crate) fn defaults() -> TransformerConfig {
        let mut t = TransformerConfig::default();
        let mut section = String::new();
        for line in DEFAULTS.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(name) = trimmed.strip_suffix(':') {
                section = name.to_string();
                continue;
            }
            if let Some(sel) = trimmed.strip_prefix("> ") {
                t.name_reference.push(NameBackRefs {
                    gvk: parse_selector(sel),
                    referrers: Vec::new(),
                });
                continue;
            }
            let mut parts = trimmed.split_whitespace();
            let (Some(sel), Some(path)) = (parts.next(), parts.next()) else {
                continue;
            };
            let fs = FieldSpec {
                gvk: parse_selector(sel),
                path: path.to_string(),
                create: parts.next() == Some("+"),
            };
            if section == "nameReference" {
                if let Some(last) = t.name_reference.last_mut() {
                    last.referrers.push(fs);
                }
            } else if let Some(list) = t.list_mut(&section) {
                list.push(fs);
            }
        }
        t
    }

    fn list_mut(&mut self, section: &str) -> Option<&mut Vec<FieldSpec>> {
        Some(match section {
            "namePrefix" => &mut self.name_prefix,
            "nameSuffix" => &mut self.name_suffix,
            "namespace" => &mut self.namespace,
            "commonLabels" => &mut self.common_labels,
            "templateLabels" => &mut self.template_labels,
            "labels" => &mut self.labels,
            "commonAnnotations" => &mut self.common_annotations,
            "varReference" => &mut self.var_reference,
            "images" => &mut self.images,
            "replicas" => &mut self.replicas,
            _ => return None,
        })
    }

    /// Reads a `configurations:` file (already parsed), decoded as kustomize decodes it
    /// (`sigs.k8s.io/yaml.UnmarshalStrict`: field names in any case, unknown ones refused).
    pub(crate) fn parse(doc: &Value) -> Result<TransformerConfig, Error> {
        let mut t = TransformerConfig::default();
        let decoded = gojson::decode(doc, &TRANSFORMER_CONFIG_T, Mode::YamlUnmarshalStrict)
            .map_err(Error::new)?;
        let Value::Object(map) = decoded else {
            return Ok(t);
        };
        for (key, value) in &map {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if key == "nameReference" {
                for item in items {
                    let referrers = item
                        .get("fieldSpecs")
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(FieldSpec::parse)
                        .collect::<Result<_, _>>()?;
                    let s = |k: &str| {
                        item.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    t.name_reference.push(NameBackRefs {
                        gvk: Gvk {
                            group: s("group"),
                            version: s("version"),
                            kind: s("kind"),
                        },
                        referrers,
                    });
                }
            } else if let Some(list) = t.list_mut(key) {
                // Every other field of the decoded configuration is a field-spec list.
                for item in items {
                    list.push(FieldSpec::parse(item)?);
                }
            }
        }
        Ok(t)
    }

    /// Adds `other` to this configuration: new specs are appended, duplicates ignored,
    /// and a spec that differs only in `create` is a conflict, as in kustomize.
    pub(crate) fn merge(&mut self, other: TransformerConfig) -> Result<(), Error> {
        merge_specs(&mut self.name_prefix, other.name_prefix)?;
        merge_specs(&mut self.name_suffix, other.name_suffix)?;
        merge_specs(&mut self.namespace, other.namespace)?;
        merge_specs(&mut self.common_labels, other.common_labels)?;
        merge_specs(&mut self.template_labels, other.template_labels)?;
        merge_specs(&mut self.labels, other.labels)?;
        merge_specs(&mut self.common_annotations, other.common_annotations)?;
        merge_specs(&mut self.var_reference, other.var_reference)?;
        merge_specs(&mut self.images, other.images)?;
        merge_specs(&mut self.replicas, other.replicas)?;
        for nbr in other.name_reference {
            match self.name_reference.iter_mut().find(|n| n.gvk == nbr.gvk) {
                Some(existing) => merge_specs(&mut existing.referrers, nbr.referrers)?,
                None => self.name_reference.push(nbr),
            }
        }
        Ok(())
    }
}

/// Merges field specs as kustomize's `FsSlice.MergeAll` does.
///
/// Every kustomization merges the defaults into its parent's specs, so the lookup of the
/// first spec with the same target is indexed rather than a scan per spec.
pub(crate) fn merge_specs(into: &mut Vec<FieldSpec>, specs: Vec<FieldSpec>) -> Result<(), Error> {
    let mut first: HashMap<(Gvk, String), bool> = HashMap::with_capacity(into.len());
    for x in into.iter() {
        first
            .entry((x.gvk.clone(), x.path.clone()))
            .or_insert(x.create);
    }
    for fs in specs {
        match first.entry((fs.gvk.clone(), fs.path.clone())) {
            Entry::Occupied(e) if *e.get() != fs.create => {
                return Err(Error::new(format!(
                    "conflicting fieldspecs for path {}",
                    fs.path
                )));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert(fs.create);
                into.push(fs);
            }
        }
    }
    Ok(())
}

/// `*` or `Kind/version/group` (empty parts allowed).
fn parse_selector(s: &str) -> Gvk {
    if s == "*" {
        return Gvk::default();
    }
    let mut parts = s.splitn(3, '/');
    let mut next = || parts.next().unwrap_or("").to_string();
    let kind = next();
    let version = next();
    let group = next();
    Gvk {
        group,
        version,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_every_section() {
        let t = TransformerConfig::defaults();
        assert_eq!(t.name_prefix.len(), 1);
        assert!(
            t.common_labels
                .iter()
                .any(|f| f.path == "spec/selector" && f.gvk.kind == "Service" && f.create)
        );
        let cm = t
            .name_reference
            .iter()
            .find(|n| n.gvk.kind == "ConfigMap")
            .expect("ConfigMap back references");
        assert!(
            cm.referrers.iter().any(|f| f.gvk.kind == "Deployment"
                && f.path == "spec/template/spec/volumes/configMap/name")
        );
        assert_eq!(t.replicas.len(), 4);
        assert_eq!(t.images.len(), 4);
    }
}
