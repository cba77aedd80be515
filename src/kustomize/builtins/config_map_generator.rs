//! The builtin `ConfigMapGenerator`: a ConfigMap from env files, literals and files (see
//! `generators`). Each `configMapGenerator` entry configures one.

use serde_json::Value;

use super::{Generator, decode};
use crate::kustomize::error::Error;
use crate::kustomize::generators::{self, GenKind};
use crate::kustomize::gojson::Mode;
use crate::kustomize::gotypes::CONFIG_MAP_GENERATOR_T;
use crate::kustomize::kustomization::{GeneratorArgs, parse_generator};
use crate::kustomize::loader::Loader;
use crate::kustomize::resource::Resource;

/// A configured `ConfigMapGenerator`.
#[derive(Debug, Clone)]
pub(crate) struct ConfigMapGenerator {
    /// The entry, its options merged with the kustomization's `generatorOptions`.
    pub args: GeneratorArgs,
}

impl ConfigMapGenerator {
    /// The plugin's `kind`.
    pub const KIND: &'static str = "ConfigMapGenerator";

    /// Reads a plugin config: a `configMapGenerator` entry whose name and namespace may
    /// come from its `metadata`.
    pub fn read(cfg: &Value) -> Result<ConfigMapGenerator, Error> {
        let body = decode(cfg, &CONFIG_MAP_GENERATOR_T, Mode::YamlUnmarshal)?;
        Ok(ConfigMapGenerator {
            args: parse_generator(&generators::plugin_args(body), Self::KIND)?,
        })
    }
}

impl Generator for ConfigMapGenerator {
    fn generate(&self, ldr: &Loader) -> Result<Vec<Resource>, Error> {
        Ok(vec![generators::make(GenKind::ConfigMap, &self.args, ldr)?])
    }
}
