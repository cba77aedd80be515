//! The Go objects Helm hands to templates: `.Files` and `.Capabilities`.

use std::rc::Rc;

use crate::template::{self, List, Map, Object, Value};

use super::caps::{HELM_VERSION, KubeVersion};
use super::chart::File;
use super::glob::Glob;

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
        let yaml = crate::yaml::to_helm_yaml(&serde_json::Value::Object(map));
        yaml.strip_suffix('\n').unwrap_or(&yaml).to_string()
    }
}

fn one_string<'a>(method: &str, args: &'a [Value]) -> Result<&'a str, String> {
    match args {
        [Value::String(s)] => Ok(s),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        )),
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

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let text = |d: &[u8]| String::from_utf8_lossy(d).into_owned();
        Some(match name {
            "Get" | "GetBytes" => one_string(name, args)
                .map(|path| Value::from(self.get(path).map(text).unwrap_or_default())),
            "Glob" => {
                one_string(name, args).map(|pattern| Value::Object(Rc::new(self.glob(pattern))))
            }
            "Lines" => one_string(name, args).map(|path| {
                let lines = match self.get(path) {
                    None => Vec::new(),
                    Some(d) => {
                        let s = text(d);
                        let s = s.strip_suffix('\n').unwrap_or(&s).to_string();
                        s.split('\n').map(str::to_string).collect()
                    }
                };
                Value::List(List::strings(lines))
            }),
            "AsConfig" => Ok(Value::from(self.as_yaml(|d| text(d)))),
            "AsSecrets" => Ok(Value::from(self.as_yaml(base64))),
            _ => return None,
        })
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

    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }

    fn display(&self) -> String {
        format!(
            "&{{{} {} {}}}",
            self.kube.struct_display(),
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

/// `.Capabilities.KubeVersion` (`common.KubeVersion`, printed through `String()`).
struct KubeVersionObject(KubeVersion);

impl KubeVersionObject {
    fn struct_display(&self) -> String {
        let k = &self.0;
        format!("{{{} {} {} {}}}", k.version, k.normalized, k.major, k.minor)
    }
}

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

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let value = match name {
            "String" => &self.0.normalized,
            "GitVersion" => &self.0.version,
            _ => return None,
        };
        Some(if args.is_empty() {
            Ok(Value::from(value.as_str()))
        } else {
            Err(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))
        })
    }

    fn display(&self) -> String {
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

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has")
            .then(|| one_string(name, args).map(|v| Value::Bool(self.0.iter().any(|a| a == v))))
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

    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
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
