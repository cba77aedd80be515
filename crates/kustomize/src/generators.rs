//! What `ConfigMapGenerator` and `SecretGenerator` share: key/value sources (env files,
//! literals, files) turned into a ConfigMap or a Secret.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::Error;
use super::kustomization::GeneratorArgs;
use super::loader::Loader;
use super::resource::Resource;

/// Which object a generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenKind {
    ConfigMap,
    Secret,
}

/// The object one generator entry makes; its options already hold the kustomization's
/// `generatorOptions`.
pub(crate) fn make(kind: GenKind, args: &GeneratorArgs, ldr: &Loader) -> Result<Resource, Error> {
    if args.name.is_empty() {
        return Err(Error::new("a configmap must have a name"));
    }
    let pairs = load_pairs(args, ldr)?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), "v1".into());
    let kind_name = match kind {
        GenKind::ConfigMap => "ConfigMap",
        GenKind::Secret => "Secret",
    };
    obj.insert("kind".into(), kind_name.into());
    let mut meta = Map::new();
    meta.insert("name".into(), args.name.clone().into());
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), args.namespace.clone().into());
    }
    let options = &args.options;
    let sorted = |pairs: &[(String, String)]| -> Map<String, Value> {
        let mut p = pairs.to_vec();
        p.sort();
        p.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
    };
    if !options.labels.is_empty() {
        meta.insert("labels".into(), Value::Object(sorted(&options.labels)));
    }
    if !options.annotations.is_empty() {
        meta.insert(
            "annotations".into(),
            Value::Object(sorted(&options.annotations)),
        );
    }
    obj.insert("metadata".into(), Value::Object(meta));
    match kind {
        GenKind::ConfigMap => {
            let (mut data, mut binary) = (Map::new(), Map::new());
            for (k, v) in pairs {
                match String::from_utf8(v) {
                    Ok(s) => data.insert(k, Value::String(s)),
                    Err(e) => binary.insert(k, Value::String(wrapped_base64(e.as_bytes()))),
                };
            }
            if !data.is_empty() {
                obj.insert("data".into(), Value::Object(data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData".into(), Value::Object(binary));
            }
        }
        GenKind::Secret => {
            let t = if args.secret_type.is_empty() {
                "Opaque"
            } else {
                &args.secret_type
            };
            obj.insert("type".into(), t.into());
            // Unlike a ConfigMap's, a Secret's `data` is there even when empty (kyaml
            // creates the map before it fills it), and the name hash covers it.
            let data: Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(wrapped_base64(&v))))
                .collect();
            obj.insert("data".into(), Value::Object(data));
        }
    }
    if options.immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Object(obj));
    r.needs_hash = !options.disable_name_suffix_hash;
    r.behavior = args.behavior;
    Ok(r)
}

/// A decoded generator plugin config as generator arguments: `metadata.name` and
/// `metadata.namespace` fill in `name` and `namespace` when those are not given.
pub(crate) fn plugin_args(mut args: Map<String, Value>) -> Value {
    let meta = args.remove("metadata");
    for key in ["name", "namespace"] {
        if !args.contains_key(key)
            && let Some(v) = meta.as_ref().and_then(|m| m.get(key))
        {
            args.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(args)
}

/// Env files, then literals, then files, as kustomize orders them; sorted by key after the
/// duplicate check.
fn load_pairs(args: &GeneratorArgs, ldr: &Loader) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for env in &args.envs {
        let (path, text) = ldr.read_text(env)?;
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if !is_env_var_name(key) {
                return Err(Error::new(format!(
                    "env source files: [{env}]: a valid environment variable name must consist of \
                     alphabetic characters, digits, '_', '-', or '.', and must not start with a \
                     digit (key {key:?})"
                ))
                .in_file(&path)
                .at_line(Some(i + 1)));
            }
            pairs.push((key.to_string(), value.as_bytes().to_vec()));
        }
    }
    for lit in &args.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::new(format!(
                "literal sources [{lit}]: invalid literal source {lit}, expected key=value"
            )));
        };
        pairs.push((k.to_string(), remove_quotes(v).as_bytes().to_vec()));
    }
    for src in &args.files {
        let (key, path) = parse_file_source(src)?;
        let (_, bytes) = ldr.read(&path)?;
        pairs.push((key, bytes));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !is_config_map_key(k) {
            return Err(Error::new(format!(
                "\"{k}\" is not a valid key name: a valid config key must consist of \
                 alphanumeric characters, '-', '_' or '.'"
            )));
        }
        if !seen.insert(k.clone()) {
            return Err(Error::new(format!(
                "configmap {} illegally repeats the key `{k}`",
                args.name
            )));
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pairs)
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// `path` (key = its base name) or `key=path`.
fn parse_file_source(src: &str) -> Result<(String, String), Error> {
    match src.matches('=').count() {
        0 => {
            let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
            Ok((base.to_string(), src.to_string()))
        }
        1 if src.starts_with('=') => Err(Error::new(format!(
            "missing key name for file path {:?} in source {src:?}",
            &src[1..]
        ))),
        1 if src.ends_with('=') => Err(Error::new(format!(
            "missing file path for key name {:?} in source {src:?}",
            &src[..src.len() - 1]
        ))),
        1 => {
            let (k, p) = src.split_once('=').unwrap_or((src, ""));
            Ok((k.to_string(), p.to_string()))
        }
        _ => Err(Error::new(format!(
            "source {src:?} key name or file path contains '='"
        ))),
    }
}

fn is_config_map_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && !k.starts_with("..")
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_env_var_name(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Base64 as kyaml stores generated data: one line when short, else 70-character lines
/// each ending in a newline.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sources() {
        assert_eq!(
            parse_file_source("dir/app.conf").expect("ok"),
            ("app.conf".to_string(), "dir/app.conf".to_string())
        );
        assert_eq!(
            parse_file_source("values.yaml=configmap.yaml").expect("ok"),
            ("values.yaml".to_string(), "configmap.yaml".to_string())
        );
        assert!(parse_file_source("=x").is_err());
        assert!(parse_file_source("x=").is_err());
        assert!(parse_file_source("a=b=c").is_err());
    }

    #[test]
    fn literal_quotes() {
        assert_eq!(remove_quotes("\"a b\""), "a b");
        assert_eq!(remove_quotes("'x'"), "x");
        assert_eq!(remove_quotes("\"x'"), "\"x'");
    }
}
