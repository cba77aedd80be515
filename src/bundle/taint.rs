//! Where values decrypted from SOPS sources end up. Templates copy, quote, indent and
//! concatenate them, so a value is recognized by its text: a rendered string is tainted
//! when it holds a decrypted value. Decrypted values that are documents themselves (a
//! `values.yaml` in an encrypted Secret) count leaf by leaf, and base64 is seen through.
//!
//! Reviews use it to show which value paths changed while never showing a value that
//! came from an encrypted source.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::AhoCorasick;
use serde_json::Value;

use crate::gostd::base64;
use crate::yaml;

/// Decrypted values shorter than this are not looked for: they would match everywhere
/// (`true`, `dev`), and hide nothing worth hiding.
const MIN_LEN: usize = 4;
/// How deep decrypted documents nest documents of their own.
const MAX_DEPTH: usize = 4;

/// The decrypted values of one build, ready to be looked for.
#[derive(Debug, Default)]
pub struct Taint {
    matcher: Option<AhoCorasick>,
}

impl Taint {
    /// Looks for `plaintexts` (every value decryption produced).
    pub fn new<'a>(plaintexts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut patterns = BTreeSet::new();
        for text in plaintexts {
            collect(text, 0, &mut patterns);
        }
        if patterns.is_empty() {
            return Self::default();
        }
        Self {
            // Only fails beyond size limits no realistic set of secrets reaches; then
            // every string counts as tainted, which hides too much but never too little.
            matcher: AhoCorasick::new(&patterns).ok(),
        }
    }

    /// Whether nothing was decrypted.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// Whether `text` holds a decrypted value, or is the base64 of text that does
    /// (`b64enc` of `user:password` in a registry config).
    pub fn taints(&self, text: &str) -> bool {
        let Some(matcher) = &self.matcher else {
            return false;
        };
        matcher.is_match(text)
            || decode_base64(text).is_some_and(|decoded| self.taints_decoded(&decoded, 1))
    }

    fn taints_decoded(&self, text: &str, depth: usize) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(text))
            || (depth < MAX_DEPTH
                && decode_base64(text)
                    .is_some_and(|decoded| self.taints_decoded(&decoded, depth + 1)))
    }

    /// `text` as a review may show it, when it holds a decrypted value: each decrypted
    /// value in it replaced by `mask(value)`, so that the rest (an image's repository and
    /// tag around a registry host) still shows; the whole text masked when it is base64 of
    /// something that holds one. `None` when it holds none.
    pub fn mask_text(&self, text: &str, mask: &dyn Fn(&[u8]) -> String) -> Option<String> {
        let matcher = self.matcher.as_ref()?;
        let mut out = String::new();
        let mut last = 0;
        for found in matcher.find_iter(text) {
            out.push_str(&text[last..found.start()]);
            out.push_str(&mask(&text.as_bytes()[found.range()]));
            last = found.end();
        }
        if last > 0 {
            out.push_str(&text[last..]);
            return Some(out);
        }
        self.taints(text).then(|| mask(text.as_bytes()))
    }

    /// Each string leaf of `value` that holds a decrypted value, by its path (a JSON
    /// pointer), as [`Taint::mask_text`] shows it.
    pub fn masked_leaves(
        &self,
        value: &Value,
        mask: &dyn Fn(&[u8]) -> String,
    ) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        if !self.is_empty() {
            self.walk(value, &mut String::new(), mask, &mut found);
        }
        found
    }

    fn walk(
        &self,
        value: &Value,
        path: &mut String,
        mask: &dyn Fn(&[u8]) -> String,
        found: &mut BTreeMap<String, String>,
    ) {
        let len = path.len();
        match value {
            Value::String(text) => {
                if let Some(masked) = self.mask_text(text, mask) {
                    found.insert(path.clone(), masked);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push_str(&format!("/{i}"));
                    self.walk(item, path, mask, found);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    path.push('/');
                    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    self.walk(item, path, mask, found);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// What a reviewer may see of a Secret value: a document (a YAML or JSON mapping)
    /// with each leaf that holds a decrypted value replaced by `mask(leaf)`; anything
    /// else, `mask` of the whole value, tainted or not, since a bare secret value may be
    /// a password or a key of any origin.
    pub fn review(&self, value: &[u8], mask: &dyn Fn(&[u8]) -> String) -> Value {
        let document = std::str::from_utf8(value)
            .ok()
            .and_then(|text| yaml::parse_document(text, yaml::Dialect::GoYamlV2).ok())
            .filter(|doc| doc.is_object() && doc.as_object().is_some_and(|m| !m.is_empty()));
        match document {
            Some(mut document) => {
                self.mask_leaves(&mut document, mask);
                document
            }
            None => Value::String(mask(value)),
        }
    }

    fn mask_leaves(&self, value: &mut Value, mask: &dyn Fn(&[u8]) -> String) {
        match value {
            Value::String(text) => {
                if let Some(masked) = self.mask_text(text, mask) {
                    *text = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_leaves(v, mask)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_leaves(v, mask)),
            _ => {}
        }
    }
}

/// Adds `text` and what it holds (base64-decoded text, a document's string leaves) to
/// `patterns`.
fn collect(text: &str, depth: usize, patterns: &mut BTreeSet<String>) {
    if text.trim().len() < MIN_LEN
        || depth > MAX_DEPTH
        || is_not_a_string(text.trim())
        || !patterns.insert(text.to_string())
    {
        return;
    }
    if let Some(decoded) = decode_base64(text) {
        collect(&decoded, depth + 1, patterns);
    }
    if text.contains(['\n', ':', '{', '['])
        && let Ok(document) = yaml::parse_document(text, yaml::Dialect::GoYamlV2)
    {
        leaves(&document, depth, patterns);
    }
}

/// `text` as base64 of UTF-8 text, as Go decodes base64.
fn decode_base64(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() < MIN_LEN {
        return None;
    }
    base64::decode_std(text.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Booleans, nulls and numbers as text: values like these are everywhere.
fn is_not_a_string(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off"
    ) || text.parse::<f64>().is_ok()
}

fn leaves(value: &Value, depth: usize, patterns: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => collect(text, depth + 1, patterns),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, depth, patterns)),
        Value::Object(map) => map.values().for_each(|v| leaves(v, depth, patterns)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use ::base64::Engine as _;
    use ::base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    use super::*;

    fn mask(bytes: &[u8]) -> String {
        format!("<{} bytes>", bytes.len())
    }

    #[test]
    fn decrypted_documents_taint_leaf_by_leaf() {
        let values =
            "registryCredentials:\n  username: robot$dev\n  password: hunter2-dev\nreplicas: 3\n";
        let taint = Taint::new([values]);
        assert!(taint.taints("hunter2-dev"));
        assert!(taint.taints("Basic cm9ib3QkZGV2: hunter2-dev!"));
        assert!(!taint.taints("3"), "numbers are not looked for");
        assert!(!taint.taints("robot$prod"));
    }

    #[test]
    fn base64_is_seen_through() {
        let taint = Taint::new(["cGFzc3dvcmQ6IHMzY3JldC12YWx1ZQ=="]);
        assert!(taint.taints("s3cret-value"));
        // b64enc of "robot:s3cret-value", as a registry config's `auth` holds it.
        let auth = STANDARD.encode("robot:s3cret-value");
        assert!(taint.taints(&auth));
        assert!(!taint.taints(&STANDARD.encode("robot:other")));
    }

    #[test]
    fn short_values_are_not_looked_for() {
        let taint = Taint::new(["dev", "true", "1234", "False", ""]);
        assert!(taint.is_empty());
        assert!(!taint.taints("dev"));
    }

    #[test]
    fn leaves_are_masked_where_they_hold_decrypted_values_by_path() {
        let taint = Taint::new(["hunter2-dev", "registry1.example.mil"]);
        let object = json!({
            "data": {"a/b": "x hunter2-dev"},
            "spec": {"env": [{"value": "plain"}, {"value": "hunter2-dev"}],
                "image": "registry1.example.mil/web:1.2"},
        });
        let masked = taint.masked_leaves(&object, &mask);
        assert_eq!(
            masked.into_iter().collect::<Vec<_>>(),
            [
                ("/data/a~1b".to_string(), "x <11 bytes>".to_string()),
                ("/spec/env/1/value".to_string(), "<11 bytes>".to_string()),
                ("/spec/image".to_string(), "<21 bytes>/web:1.2".to_string()),
            ]
        );
        let auth = STANDARD.encode("robot:hunter2-dev");
        assert_eq!(
            taint.mask_text(&auth, &mask),
            Some("<24 bytes>".to_string())
        );
        assert_eq!(taint.mask_text("plain", &mask), None);
    }

    #[test]
    fn reviews_show_documents_but_mask_decrypted_leaves_and_bare_values() {
        let taint = Taint::new(["hunter2-dev"]);
        let review = taint.review(
            b"user: robot\npassword: hunter2-dev\nurl: https://u:hunter2-dev@h\n",
            &mask,
        );
        assert_eq!(
            review,
            json!({"user": "robot", "password": "<11 bytes>", "url": "https://u:<11 bytes>@h"})
        );
        assert_eq!(taint.review(b"plain-password", &mask), json!("<14 bytes>"));
        assert_eq!(taint.review(b"\xff\xfe", &mask), json!("<2 bytes>"));
    }

    proptest::proptest! {
        /// Whatever surrounds decrypted values, a review never shows one of them.
        #[test]
        fn masked_text_never_shows_a_decrypted_value(
            secrets in proptest::collection::vec("[a-zA-Z0-9_./:@-]{4,16}", 1..4),
            parts in proptest::collection::vec("[ -~]{0,12}", 1..6),
            picks in proptest::collection::vec(0usize..4, 1..6),
        ) {
            // Numbers, booleans and nulls are never taints (see `is_not_a_string`).
            proptest::prop_assume!(!secrets.iter().any(|s| is_not_a_string(s)));
            let taint = Taint::new(secrets.iter().map(String::as_str));
            let mut text = String::new();
            for (part, pick) in parts.iter().zip(&picks) {
                text.push_str(part);
                text.push_str(&secrets[pick % secrets.len()]);
            }
            let masked = taint
                .mask_text(&text, &|bytes| format!("<{}>", bytes.len()))
                .expect("the text holds a decrypted value");
            for secret in &secrets {
                proptest::prop_assert!(!masked.contains(secret.as_str()), "{masked:?} shows {secret:?}");
            }
            let document = serde_json::json!({"a": {"b": [text.clone()]}});
            let shown = taint.masked_leaves(&document, &|bytes| format!("<{}>", bytes.len()));
            proptest::prop_assert_eq!(shown.get("/a/b/0"), Some(&masked));
        }
    }
}
