//! The builtin `ConfigMapGenerator`: a ConfigMap from env files, literals and files (see
//! `generators`). Each `configMapGenerator` entry configures one.

use serde_json::Value;

use super::{Generator, decode};
use crate::error::Error;
use crate::generators::{self, GenKind};
use crate::gojson::Mode;
use crate::gotypes::CONFIG_MAP_GENERATOR_T;
use crate::kustomization::{GeneratorArgs, parse_generator};
use crate::loader::Loader;
use crate::resource::Resource;

/// A configured `ConfigMapGenerator`.
#[derive(Debug, Clone)]
pub(crate) struct ConfigMapGenerator {
    /// The entry, its options merged with the kustomization's `generatorOptions`.
    pub args: GeneratorArgs,
}

impl ConfigMapGenerator {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "ConfigMapGenerator";

    /// Reads a plugin config: a `configMapGenerator` entry whose name and namespace may
    /// come from its `metadata`.
    pub(crate) fn read(cfg: &Value) -> Result<ConfigMapGenerator, Error> {
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
