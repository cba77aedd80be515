//! The builtin `ReplicaCountTransformer`: the replica count of the named workloads at
//! every field spec; no match at all is an error. Each `replicas` entry configures one.

use serde_json::Value;

use super::{Transformer, decode, field_specs};
use crate::error::Error;
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::gojson::Mode;
use crate::gotypes::REPLICA_COUNT_TRANSFORMER_T;
use crate::kustomization::{ReplicaArgs, parse_replica};
use crate::resource::Resource;

/// A configured `ReplicaCountTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaCountTransformer {
    /// The workloads' name and their count.
    pub replica: ReplicaArgs,
    /// The count fields, per kind.
    pub field_specs: Vec<FieldSpec>,
}

impl ReplicaCountTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "ReplicaCountTransformer";

    /// Reads a plugin config: `replica` and `fieldSpecs`.
    pub(crate) fn read(cfg: &Value) -> Result<ReplicaCountTransformer, Error> {
        let body = decode(cfg, &REPLICA_COUNT_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        let replica = body.get("replica").cloned().unwrap_or(Value::Null);
        Ok(ReplicaCountTransformer {
            replica: parse_replica(&replica)?,
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for ReplicaCountTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        let args = &self.replica;
        let count = match &args.count {
            Value::Number(n) if n.is_i64() => Value::Number(n.clone()),
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| Error::new(format!("replicas: count {s:?} is not an integer")))?,
            other => {
                return Err(Error::new(format!(
                    "replicas: count {other} is not an integer"
                )));
            }
        };
        let mut found = false;
        for fs in &self.field_specs {
            for r in rs.iter_mut() {
                if !r.any_id(|id| id.name == args.name && id.gvk.is_selected_by(&fs.gvk)) {
                    continue;
                }
                found = true;
                fs.apply(&mut r.obj, CreateKind::Scalar, &mut |node| {
                    *node = count.clone();
                    Ok(())
                })?;
            }
        }
        if !found {
            let gvks: Vec<String> = self.field_specs.iter().map(|f| f.gvk.to_string()).collect();
            return Err(Error::new(format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                args.name,
                gvks.join(" ")
            )));
        }
        Ok(())
    }
}
