//! The builtin `SecretGenerator`: a Secret from env files, literals and files (see
//! `generators`). Each `secretGenerator` entry configures one.

use serde_json::Value;

use super::{Generator, decode};
use crate::error::Error;
use crate::generators::{self, GenKind};
use crate::gojson::Mode;
use crate::gotypes::SECRET_GENERATOR_T;
use crate::kustomization::{GeneratorArgs, parse_generator};
use crate::loader::Loader;
use crate::resource::Resource;

/// A configured `SecretGenerator`.
#[derive(Debug, Clone)]
pub(crate) struct SecretGenerator {
    /// The entry, its options merged with the kustomization's `generatorOptions`.
    pub args: GeneratorArgs,
}

impl SecretGenerator {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "SecretGenerator";

    /// Reads a plugin config: a `secretGenerator` entry whose name and namespace may
    /// come from its `metadata`.
    pub(crate) fn read(cfg: &Value) -> Result<SecretGenerator, Error> {
        let body = decode(cfg, &SECRET_GENERATOR_T, Mode::YamlUnmarshal)?;
        Ok(SecretGenerator {
            args: parse_generator(&generators::plugin_args(body), Self::KIND)?,
        })
    }
}

impl Generator for SecretGenerator {
    fn generate(&self, ldr: &Loader) -> Result<Vec<Resource>, Error> {
        Ok(vec![generators::make(GenKind::Secret, &self.args, ldr)?])
    }
}
