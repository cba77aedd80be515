//! The Go objects Helm hands to templates: `.Files`, `.Capabilities`, and the
//! `common.Values` type of `.`, `.Values` and `.Template`.

use std::rc::Rc;

use crunch_gostd::strconv::quote;
use crunch_template::{self as template, List, Map, MapType, Object, Signature, Type, Value};

use super::caps::{HELM_VERSION, KubeVersion};
use super::chart::File;
use super::funcs::marshal_yaml;
use super::glob::Glob;

/// Helm v4's `common.Values`: a `map[string]interface{}` with methods, the type of `.`,
/// `.Values` and `.Template`. `typeOf` shows it and Sprig's `dig` refuses it, unlike the
/// plain maps inside it; `.Values.AsMap` hands out the plain map.
pub(crate) fn values_type() -> Rc<MapType> {
    let none = || Signature::new(&[]);
    let path = || Signature::new(&[Type::String]);
    let map_type = MapType::new("common.Values")
        .with_method("AsMap", none(), |values, _| {
            // A new map when empty: Go's guard against nil maps.
            Ok(Value::Map(if values.is_empty() {
                Map::new()
            } else {
                values.unnamed()
            }))
        })
        .with_method("YAML", none(), |values, _| {
            marshal_yaml(&Value::Map(values.clone())).map(Value::from)
        })
        .with_method("Table", path(), |values, args| {
            table(values, path_arg(args)).map(Value::Map)
        })
        .with_method("PathValue", path(), |values, args| {
            path_value(values, path_arg(args))
        })
        .with_method(
            "Encode",
            Signature::new(&[Type::Interface("io.Writer")]),
            |values, _| {
                // Only nil reaches the writer (no template value is an `io.Writer`):
                // Helm marshals, then writes to it. Its only result, an `error`, is a
                // value to the template, not a failure.
                match marshal_yaml(&Value::Map(values.clone())) {
                    Ok(_) => Err(
                        "runtime error: invalid memory address or nil pointer dereference".into(),
                    ),
                    Err(e) => Ok(Value::Object(Rc::new(WrappedError(e)))),
                }
            },
        );
    Rc::new(map_type)
}

/// The `*fmt.wrapError` `sigs.k8s.io/yaml` returns, as a value: it prints as its
/// message and marshals as an empty object (it has no exported fields).
struct WrappedError(String);

impl Object for WrappedError {
    fn type_name(&self) -> String {
        "*fmt.wrapError".into()
    }

    fn kind_name(&self) -> &'static str {
        "ptr"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn display(&self) -> String {
        self.0.clone()
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::json!({}))
    }
}

fn path_arg(args: &[Value]) -> &str {
    args.first().and_then(Value::as_str).unwrap_or_default()
}

/// `Values.Table`: the table at the dotted `path`, itself a `common.Values`.
fn table(values: &Map, path: &str) -> Result<Map, String> {
    // A `map[string]interface{}`, or a `common.Values` a template stored.
    let is_table = |m: &Map| m.type_name().is_none() || m.type_name() == values.type_name();
    let mut table = values.clone();
    for key in path.split('.') {
        table = match table.get(key) {
            Some(Value::Map(m)) if is_table(&m) => m,
            _ => return Err(format!("{} is not a table", quote(key))),
        };
    }
    Ok(match values.map_type() {
        Some(map_type) => table.with_type(map_type.clone()),
        None => table,
    })
}

/// `Values.PathValue`: the value (not a table) at the dotted `path`.
fn path_value(values: &Map, path: &str) -> Result<Value, String> {
    if path.is_empty() {
        return Err("YAML path cannot be empty".into());
    }
    let (parents, key) = match path.rsplit_once('.') {
        Some((parents, key)) => (Some(parents), key),
        None => (None, path),
    };
    let no_value = || format!("{} is not a value", quote(key));
    let table = match parents {
        None => values.clone(),
        Some(parents) => table(values, parents).map_err(|_| no_value())?,
    };
    match table.get(key) {
        // Only a plain `map[string]interface{}` counts as a table here.
        Some(Value::Map(m)) if m.type_name().is_none() => Err(no_value()),
        Some(v) => Ok(v),
        None => Err(no_value()),
    }
}

/// `.Files`: the chart's non-template files (Helm's `engine.files`, a
/// `map[string][]byte` with methods).
pub(crate) struct Files {
    /// Sorted by name, as Go prints and ranges over maps.
    files: Vec<(String, Vec<u8>)>,
}

impl Files {
    pub(crate) fn new(files: &[File]) -> Files {
        let mut files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|f| (f.name.clone(), f.data.clone()))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|later, earlier| later.0 == earlier.0);
        Files { files }
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    fn glob(&self, pattern: &str) -> Files {
        // An invalid pattern matches everything, as Helm falls back to `**`.
        let glob = Glob::gobwas(pattern).ok();
        Files {
            files: self
                .files
                .iter()
                .filter(|(n, _)| glob.as_ref().is_none_or(|g| g.matches(n)))
                .cloned()
                .collect(),
        }
    }

    /// `AsConfig`/`AsSecrets`: base name → content, as `toYaml` prints it.
    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .files
            .iter()
            .map(|(n, d)| {
                let base = n.rsplit('/').next().unwrap_or(n);
                (base.to_string(), serde_json::Value::String(encode(d)))
            })
            .collect();
        let yaml = crunch_yaml::to_helm_yaml(&serde_json::Value::Object(map));
        yaml.strip_suffix('\n').unwrap_or(&yaml).to_string()
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }

    fn kind_name(&self) -> &'static str {
        "map"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(Signature::new(&[Type::String])),
            "AsConfig" | "AsSecrets" => Some(Signature::new(&[])),
            _ => None,
        }
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let text = |d: &[u8]| String::from_utf8_lossy(d).into_owned();
        let arg = args.first().and_then(Value::as_str).unwrap_or_default();
        match name {
            "Get" => Ok(Value::from(self.get(arg).map(text).unwrap_or_default())),
            "GetBytes" => Ok(Value::List(List::bytes(self.get(arg).unwrap_or_default()))),
            "Glob" => Ok(Value::Object(Rc::new(self.glob(arg)))),
            "Lines" => match self.get(arg) {
                None => Ok(Value::List(List::strings(Vec::new()))),
                // Helm reads the last byte of the file unchecked.
                Some([]) => Err("runtime error: index out of range [-1]".into()),
                Some(d) => {
                    let s = text(d);
                    let s = s.strip_suffix('\n').unwrap_or(&s);
                    let lines = s.split('\n').map(str::to_string).collect();
                    Ok(Value::List(List::strings(lines)))
                }
            },
            "AsConfig" => Ok(Value::from(self.as_yaml(|d| text(d)))),
            "AsSecrets" => Ok(Value::from(self.as_yaml(base64))),
            _ => Err(format!("engine.files has no method {name}")),
        }
    }

    fn display(&self) -> String {
        let entries: Vec<String> = self
            .files
            .iter()
            .map(|(n, d)| {
                let bytes: Vec<String> = d.iter().map(u8::to_string).collect();
                format!("{n}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", entries.join(" "))
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::Value::Object(
            self.files
                .iter()
                .map(|(n, d)| (n.clone(), serde_json::Value::String(base64(d))))
                .collect(),
        ))
    }

    /// A `map[string][]byte` of path to content.
    fn collection(&self) -> Option<Value> {
        let entries = self
            .files
            .iter()
            .map(|(name, data)| (name.clone(), Value::List(List::bytes(data))))
            .collect();
        Some(Value::Map(Map::from_entries(entries)))
    }
}

/// Standard base64 with padding (Go's `base64.StdEncoding`).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `.Capabilities` (`*common.Capabilities`).
#[derive(Clone)]
pub(crate) struct Capabilities {
    kube: Rc<KubeVersionObject>,
    api: Rc<VersionSet>,
    helm: Rc<HelmVersion>,
}

impl Capabilities {
    pub(crate) fn new(kube: KubeVersion, api_versions: Vec<String>) -> Capabilities {
        Capabilities {
            kube: Rc::new(KubeVersionObject(kube)),
            api: Rc::new(VersionSet(api_versions)),
            helm: Rc::new(HelmVersion),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }

    fn kind_name(&self) -> &'static str {
        "ptr"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(self.kube.clone())),
            "APIVersions" => Some(Value::Object(self.api.clone())),
            "HelmVersion" => Some(Value::Object(self.helm.clone())),
            _ => None,
        }
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Copy").then(|| Signature::new(&[]))
    }

    /// `Copy`: a new pointer to the same capabilities.
    fn call_method(&self, _name: &str, _args: &[Value]) -> Result<Value, String> {
        Ok(Value::Object(Rc::new(self.clone())))
    }

    fn display(&self) -> String {
        format!("&{}", self.action_display())
    }

    /// The struct the pointer points to.
    fn action_display(&self) -> String {
        format!(
            "{{{} {} {}}}",
            self.kube.display(),
            self.api.display(),
            self.helm.display()
        )
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::json!({
            "KubeVersion": self.kube.to_json()?,
            "APIVersions": self.api.to_json()?,
            "HelmVersion": self.helm.to_json()?,
        }))
    }
}

/// `.Capabilities.KubeVersion` (`common.KubeVersion`, whose pointer has `String()`).
struct KubeVersionObject(KubeVersion);

impl Object for KubeVersionObject {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::from(self.0.version.as_str())),
            "Major" => Some(Value::from(self.0.major.as_str())),
            "Minor" => Some(Value::from(self.0.minor.as_str())),
            _ => None,
        }
    }

    fn method(&self, name: &str) -> Option<Signature> {
        matches!(name, "String" | "GitVersion").then(|| Signature::new(&[]))
    }

    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Ok(Value::from(match name {
            "String" => self.0.normalized.as_str(),
            _ => self.0.version.as_str(),
        }))
    }

    /// A copy, as functions receive it, prints as a struct.
    fn display(&self) -> String {
        let k = &self.0;
        format!("{{{} {} {} {}}}", k.version, k.normalized, k.major, k.minor)
    }

    /// A field of `*Capabilities` is addressable: its pointer's `String()` prints it.
    fn action_display(&self) -> String {
        self.0.normalized.clone()
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::json!({
            "Version": self.0.version,
            "Major": self.0.major,
            "Minor": self.0.minor,
        }))
    }
}

/// `.Capabilities.APIVersions` (`common.VersionSet`, a `[]string` with `Has`).
struct VersionSet(Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }

    fn kind_name(&self) -> &'static str {
        "slice"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then(|| Signature::new(&[Type::String]))
    }

    fn call_method(&self, _name: &str, args: &[Value]) -> Result<Value, String> {
        let wanted = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(Value::Bool(self.0.iter().any(|a| a == wanted)))
    }

    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::json!(self.0))
    }

    /// A `[]string`.
    fn collection(&self) -> Option<Value> {
        Some(Value::List(List::strings(self.0.clone())))
    }
}

/// `.Capabilities.HelmVersion` (`version.BuildInfo`).
struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> String {
        "version.BuildInfo".into()
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let key = match name {
            "Version" => "version",
            "GitCommit" => "git_commit",
            "GitTreeState" => "git_tree_state",
            "GoVersion" => "go_version",
            "KubeClientVersion" => "kube_client_version",
            _ => return None,
        };
        HELM_VERSION
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Value::from(*v))
    }

    fn display(&self) -> String {
        let values: Vec<&str> = HELM_VERSION.iter().map(|(_, v)| *v).collect();
        format!("{{{}}}", values.join(" "))
    }

    fn to_json(&self) -> Result<serde_json::Value, template::Error> {
        Ok(serde_json::Value::Object(
            HELM_VERSION
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_std() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }
}
