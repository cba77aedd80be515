//! `generators`, `transformers` and `validators` with kustomize's built-in plugin configs
//! (`apiVersion: builtin`), read into builtins (see `builtins`). Each entry is an inline
//! config or a path (a file, or a directory whose kustomization builds the configs).
//! External plugins and KRM functions (exec, container) are refused by name: crunch runs
//! no foreign code.

use serde_json::Value;

use super::builtins::{self, Configured, Generator, Transformer};
use super::error::Error;
use super::kustomization::object;
use super::loader::Loader;
use super::origin::Origin;
use super::resid::ResId;
use super::resource::Resource;

/// What a plugin list is for: the errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A `generators:` entry.
    Generator,
    /// A `transformers:` entry.
    Transformer,
    /// A `validators:` entry.
    Validator,
}

impl Role {
    fn field(self) -> &'static str {
        match self {
            Role::Generator => "generators",
            Role::Transformer => "transformers",
            Role::Validator => "validators",
        }
    }
}

/// Builds the kustomization directory a plugin entry names, to its resources.
pub(crate) type BuildDir<'b> = dyn Fn(&Loader, &str) -> Result<Vec<Resource>, Error> + 'b;

/// One plugin config and the file it is configured in (relative to the top
/// kustomization), which `buildMetadata` origins name.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    obj: Value,
    configured_in: String,
}

impl Config {
    /// The origin that resources it generates or transforms record.
    fn origin(&self, ldr: &Loader) -> Origin {
        let text = |p: &str| self.obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        Origin::plugin(
            ldr.place(),
            self.configured_in.clone(),
            text("/kind"),
            text("/metadata/name"),
            text("/metadata/namespace"),
        )
    }
}

/// Reads the plugin configs an entry list names: inline YAML, files or kustomization
/// directories (built with `build`).
fn load_configs(
    entries: &[String],
    ldr: &Loader,
    build: &BuildDir<'_>,
) -> Result<Vec<Config>, Error> {
    let mut out = Vec::new();
    let config = |r: Resource, configured_in: String| Config {
        obj: r.obj,
        configured_in,
    };
    for entry in entries {
        // kustomize first tries the entry as inline YAML objects, then as a path.
        if let Ok(inline) = super::target::resources_from_text(entry)
            && !inline.is_empty()
        {
            let file = ldr.place().file(ldr.kustomization_file());
            out.extend(inline.into_iter().map(|r| config(r, file.clone())));
            continue;
        }
        if ldr.is_file(entry) {
            let (file, text) = ldr.read_text(entry)?;
            let rs = super::target::resources_from_text(&text).map_err(|e| e.in_file(&file))?;
            let file = ldr.place().file(entry);
            out.extend(rs.into_iter().map(|r| config(r, file.clone())));
        } else {
            for r in build(ldr, entry)? {
                let file = r
                    .origin
                    .as_ref()
                    .and_then(Origin::file_path)
                    .map_or_else(|| ldr.place().file(entry), str::to_string);
                out.push(config(r, file));
            }
        }
    }
    Ok(out)
}

/// The generators a `generators` list configures, in order.
///
/// # Errors
/// A config that cannot be read or is no builtin generator.
pub(crate) fn generators(
    entries: &[String],
    ldr: &Loader,
    build: &BuildDir<'_>,
) -> Result<Vec<Configured<dyn Generator>>, Error> {
    let mut out = Vec::new();
    for config in load_configs(entries, ldr, build)? {
        let cfg = &config.obj;
        let kind = builtin_kind(cfg, Role::Generator)?;
        let Some(read) = builtins::read_generator(kind, cfg) else {
            return Err(Error::new(format!(
                "{}: the builtin plugin {kind:?} is not supported here",
                Role::Generator.field()
            )));
        };
        let generator = read.map_err(|e| in_config(e, cfg))?;
        out.push(Configured::plugin(generator, config.origin(ldr), cfg));
    }
    Ok(out)
}

/// The transformers a `transformers` (or `validators`) list configures, in order.
///
/// # Errors
/// A config that cannot be read or is no builtin transformer.
pub(crate) fn transformers(
    entries: &[String],
    ldr: &Loader,
    build: &BuildDir<'_>,
    role: Role,
) -> Result<Vec<Configured<dyn Transformer>>, Error> {
    let mut out = Vec::new();
    for config in load_configs(entries, ldr, build)? {
        let cfg = &config.obj;
        let transformer = builtin_kind(cfg, role)
            .and_then(|kind| builtins::read_transformer(kind, cfg, ldr))
            .map_err(|e| in_config(e, cfg))?;
        out.push(Configured::plugin(transformer, config.origin(ldr), cfg));
    }
    Ok(out)
}

/// The built-in kind of a config, or why it cannot run here.
fn builtin_kind(cfg: &Value, role: Role) -> Result<&str, Error> {
    object(cfg, role.field())?;
    let annotations = cfg.pointer("/metadata/annotations");
    let is_function = ["config.kubernetes.io/function", "config.k8s.io/function"]
        .iter()
        .any(|a| annotations.and_then(|m| m.get(a)).is_some());
    let id = ResId::of(cfg);
    if is_function {
        return Err(Error::new(format!(
            "{}: KRM functions (exec and container) are not supported: {id}",
            role.field()
        )));
    }
    let api_version = cfg.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != "builtin" {
        return Err(Error::new(format!(
            "{}: external plugins are not supported (only apiVersion: builtin): {id}",
            role.field()
        )));
    }
    Ok(cfg.get("kind").and_then(Value::as_str).unwrap_or(""))
}

fn in_config(e: Error, cfg: &Value) -> Error {
    builtins::in_plugin_config(e, &ResId::of(cfg).to_string())
}
