//! A bundle's Secrets sealed on the way out ([`super::write`]) and opened on the way in
//! ([`VerifiedBundle::unseal`]), with the primitives of [`crate::seal`].
//!
//! A sealed Secret holds all its values in `data`: `stringData` is folded over `data`
//! (base64) first, as the API server folds it on write, so that every sealed value sits
//! where the API server refuses it (a sealed value is no base64). Each value is sealed as
//! the text it would have in `data`, bound to its namespace, name, field and key.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value};

use super::{Bundle, Index, SealingEntry, Taint, VerifiedBundle};
use crate::error::{Context, Error};
use crate::object::ObjectRef;
use crate::seal::{self, Identities, KEY_FILE, KeyFileError, Place, Recipients, SealingKey};

/// How [`super::write`] writes Secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secrets {
    /// As rendered (`crunch build --plaintext-secrets`).
    Plaintext,
    /// Sealed, the sealing key encrypted to `recipients`.
    Sealed {
        /// The enclave's age X25519 recipients (at least one).
        recipients: Recipients,
        /// Secret 32-byte keys the sealing key derives from (the data keys of the SOPS
        /// files the build decrypted); with none, it derives from the values sealed.
        material: Vec<[u8; 32]>,
    },
}

/// Whether `object` is a core Secret (`v1`, `Secret`), the kind whose values are sealed.
pub(super) fn is_core_secret(object: &Value) -> bool {
    object["apiVersion"] == "v1" && object["kind"] == "Secret"
}

/// Whether a Secret has a value in `data` or `stringData` (a null is none).
pub(super) fn has_values(secret: &Value) -> bool {
    any_value(secret, |v| !v.is_null())
}

/// Whether any value of `data` or `stringData` passes `test`.
fn any_value(secret: &Value, test: impl Fn(&Value) -> bool) -> bool {
    ["data", "stringData"].into_iter().any(|field| {
        secret
            .get(field)
            .and_then(Value::as_object)
            .is_some_and(|values| values.values().any(&test))
    })
}

/// Whether `object` is a core Secret that holds sealed values (not yet opened).
pub fn holds_sealed_values(object: &Value) -> bool {
    is_core_secret(object) && any_value(object, |v| v.as_str().is_some_and(seal::is_sealed))
}

/// The first Secret with values, in component and object order: the one a refusal to
/// write plaintext names.
pub fn first_secret_with_values(bundle: &Bundle) -> Option<(&str, ObjectRef)> {
    bundle.components.iter().find_map(|component| {
        component
            .objects
            .iter()
            .find(|o| is_core_secret(&o.value) && has_values(&o.value))
            .map(|o| (component.id.as_str(), reference(&o.value)))
    })
}

fn reference(secret: &Value) -> ObjectRef {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    ObjectRef {
        api_version: text(&secret["apiVersion"]),
        kind: text(&secret["kind"]),
        namespace: text(&secret["metadata"]["namespace"]),
        name: text(&secret["metadata"]["name"]),
    }
}

/// A Secret's `data` as it will be sealed: `data` as written with `stringData` folded
/// over it (base64-encoded). Nulls in `data` stay (they hold nothing); a `stringData`
/// null is the empty string, as Go decodes it.
fn folded_data(secret: &Value) -> Result<Map<String, Value>, String> {
    let name = reference(secret);
    let map_of = |field: &str| match secret.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(format!(
            "Secret {}/{}: {field} is not a map",
            name.namespace, name.name
        )),
    };
    let mut data = map_of("data")?;
    for (key, value) in &data {
        if !value.is_string() && !value.is_null() {
            return Err(format!(
                "Secret {}/{}: data.{key} is not a string",
                name.namespace, name.name
            ));
        }
    }
    for (key, value) in map_of("stringData")? {
        let text = match value {
            Value::String(text) => text,
            Value::Null => String::new(),
            _ => {
                return Err(format!(
                    "Secret {}/{}: stringData.{key} is not a string",
                    name.namespace, name.name
                ));
            }
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        data.insert(key, Value::String(encoded));
    }
    Ok(data)
}

/// What reviewers see of each value of `secret` (by key, `stringData` folded over
/// `data`): documents with the leaves that came from encrypted sources masked, anything
/// else masked whole (see [`Taint::review`]).
pub(super) fn review(
    secret: &Value,
    taint: &Taint,
    mask: &dyn Fn(&[u8]) -> String,
) -> Result<BTreeMap<String, Value>, String> {
    let data = folded_data(secret)?;
    Ok(data
        .into_iter()
        .filter_map(|(key, value)| {
            let text = value.as_str()?;
            let bytes = crate::gostd::base64::decode_std(text.as_bytes())
                .unwrap_or_else(|_| text.as_bytes().to_vec());
            Some((key, taint.review(&bytes, mask)))
        })
        .collect())
}

/// How a review of a plaintext bundle masks: the values are in the bundle anyway.
pub(super) fn plaintext_mask(plaintext: &[u8]) -> String {
    format!("sha256:{}", &crate::gostd::sha256::hex(plaintext)[..12])
}

/// The place of a value of `secret`.
fn place<'a>(secret: &'a Value, field: &'a str, key: &'a str) -> Place<'a> {
    Place {
        namespace: secret["metadata"]["namespace"].as_str().unwrap_or_default(),
        name: secret["metadata"]["name"].as_str().unwrap_or_default(),
        field,
        key,
    }
}

/// Seals the Secrets of one bundle.
pub(super) struct Sealer {
    key: SealingKey,
    recipients: Recipients,
}

impl Sealer {
    /// The sealer for `bundle` as `secrets` asks, none when its values stay plaintext or
    /// it has no Secret values.
    pub(super) fn new(bundle: &Bundle, secrets: &Secrets) -> Result<Option<Self>, Error> {
        let Secrets::Sealed {
            recipients,
            material,
        } = secrets
        else {
            return Ok(None);
        };
        if recipients.is_empty() {
            return Err(Error::new(
                "sealing Secret values needs at least one age recipient",
            ));
        }
        let mut values = Vec::new();
        for component in &bundle.components {
            for object in &component.objects {
                if is_core_secret(&object.value) {
                    let data = folded_data(&object.value)
                        .map_err(Error::new)
                        .within(&component.id)?;
                    values.push((&object.value, data));
                }
            }
        }
        let places: Vec<(Place<'_>, &[u8])> = values
            .iter()
            .flat_map(|(secret, data)| {
                data.iter().filter_map(|(key, value)| {
                    let text = value.as_str()?;
                    Some((place(secret, "data", key), text.as_bytes()))
                })
            })
            .collect();
        if places.is_empty() {
            return Ok(None);
        }
        let key = if material.is_empty() {
            SealingKey::convergent(places, recipients)
        } else {
            SealingKey::from_material(material, recipients)
        };
        Ok(Some(Self {
            key,
            recipients: recipients.clone(),
        }))
    }

    /// `secret` with every value sealed in `data`.
    pub(super) fn seal(&self, secret: &Value) -> Result<Value, Error> {
        let data = folded_data(secret).map_err(Error::new)?;
        let mut sealed = secret.clone();
        let Some(map) = sealed.as_object_mut() else {
            return Ok(sealed);
        };
        map.remove("stringData");
        if data.is_empty() {
            return Ok(sealed);
        }
        let data: Map<String, Value> = data
            .into_iter()
            .map(|(key, value)| {
                let value = match value.as_str() {
                    Some(text) => {
                        Value::String(self.key.seal(place(secret, "data", &key), text.as_bytes()))
                    }
                    None => value,
                };
                (key, value)
            })
            .collect();
        map.insert("data".to_string(), Value::Object(data));
        Ok(sealed)
    }

    /// How a review shows a value, or the part of one, that it must not show.
    pub(super) fn mask(&self, plaintext: &[u8]) -> String {
        self.key.review_mask(plaintext)
    }

    /// What the index records.
    pub(super) fn entry(&self) -> SealingEntry {
        SealingEntry {
            recipients: self.recipients.as_slice().to_vec(),
            key_id: self.key.id(),
        }
    }

    /// A new `sealing-key.age`.
    pub(super) fn new_key_file(&self) -> Result<Vec<u8>, String> {
        self.key
            .encrypt_to(&self.recipients)
            .map(String::into_bytes)
    }

    /// The `sealing-key.age` of the earlier bundle in `out`, when its index says it holds
    /// this key for these recipients.
    pub(super) fn earlier_key_file(&self, out: &Path) -> Option<Vec<u8>> {
        let index = std::fs::read(out.join("index.json")).ok()?;
        self.same_key(&index)
            .then(|| std::fs::read(out.join(KEY_FILE)).ok())
            .flatten()
    }

    /// As [`earlier_key_file`](Self::earlier_key_file), from an earlier bundle archive's
    /// bytes.
    pub(super) fn earlier_archived_key_file(&self, archive: &[u8]) -> Option<Vec<u8>> {
        let mut files = super::read::archive_files(archive).ok()?;
        self.same_key(files.get("index.json")?)
            .then(|| files.remove(KEY_FILE))
            .flatten()
    }

    /// Whether the index `index` (its bytes) records this sealer's key.
    fn same_key(&self, index: &[u8]) -> bool {
        serde_json::from_slice::<Index>(index)
            .ok()
            .and_then(|index| index.sealing)
            .is_some_and(|entry| entry == self.entry())
    }
}

/// How many Secret values a bundle holds, sealed and in plaintext.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretCounts {
    /// Secrets in the bundle.
    pub secrets: usize,
    /// Values sealed.
    pub sealed: usize,
    /// Values in plaintext.
    pub plaintext: usize,
}

impl VerifiedBundle {
    /// Every core Secret with its component.
    fn secrets_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.index
            .components
            .iter()
            .zip(self.objects.iter_mut())
            .flat_map(|(component, values)| {
                values
                    .iter_mut()
                    .filter(|v| is_core_secret(v))
                    .map(|v| (component.id.as_str(), v))
            })
    }

    /// Counts the Secret values by what the objects hold (not what the index claims).
    pub fn secret_counts(&self) -> SecretCounts {
        let mut counts = SecretCounts::default();
        for secret in self.objects.iter().flatten().filter(|v| is_core_secret(v)) {
            counts.secrets += 1;
            for field in ["data", "stringData"] {
                let values = secret.get(field).and_then(Value::as_object);
                for value in values.into_iter().flat_map(Map::values) {
                    match value.as_str() {
                        Some(text) if seal::is_sealed(text) => counts.sealed += 1,
                        Some(_) => counts.plaintext += 1,
                        None => {}
                    }
                }
            }
        }
        counts
    }

    /// The bundle's `sealing-key.age`, if it has one.
    pub fn key_file(&self) -> Option<&[u8]> {
        self.key_file.as_deref()
    }

    /// The sealing key, opened from `sealing-key.age` with `identities` and checked
    /// against the key id the index records.
    pub fn sealing_key(&self, identities: &Identities) -> Result<SealingKey, String> {
        let Some(sealing) = &self.index.sealing else {
            return Err("the bundle holds no sealed Secrets".to_string());
        };
        let recipients = sealing.recipients.join(", ");
        let file = self.key_file().ok_or_else(|| {
            format!("{KEY_FILE} is missing: the Secrets sealed for {recipients} cannot be opened")
        })?;
        let key = SealingKey::decrypt(file, identities).map_err(|e| match e {
            KeyFileError::NoMatchingIdentity => {
                let files: Vec<String> = identities
                    .files()
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect();
                format!(
                    "no identity in {} opens {KEY_FILE}: the bundle's Secrets are sealed for {recipients}",
                    files.join(", ")
                )
            }
            KeyFileError::Malformed(m) => format!("{KEY_FILE}: {m}"),
        })?;
        if key.id() != sealing.key_id {
            return Err(format!(
                "{KEY_FILE} holds the key {}, but index.json says the Secrets are sealed under {}: the key file is another bundle's",
                key.id(),
                sealing.key_id
            ));
        }
        Ok(key)
    }

    /// Replaces every sealed value with its plaintext, in memory; returns how many it
    /// opened. A value that does not open fails naming its Secret and key.
    pub fn unseal(&mut self, key: &SealingKey) -> Result<usize, String> {
        let mut opened = 0;
        for (component, secret) in self.secrets_mut() {
            let snapshot = secret.clone();
            for field in ["data", "stringData"] {
                let Some(values) = secret.get_mut(field).and_then(Value::as_object_mut) else {
                    continue;
                };
                for (name, value) in values.iter_mut() {
                    let Some(text) = value.as_str().filter(|t| seal::is_sealed(t)) else {
                        continue;
                    };
                    let at = place(&snapshot, field, name);
                    let plaintext = key
                        .open(at, text)
                        .map_err(|e| format!("{at} (in {component}) {e}"))?;
                    let plaintext = String::from_utf8(plaintext)
                        .map_err(|_| format!("{at} (in {component}) opens to no text"))?;
                    *value = Value::String(plaintext);
                    opened += 1;
                }
            }
        }
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{SecretValues, read, write};
    use serde_json::json;

    const RECIPIENT: &str = "age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c";
    const IDENTITY: &str =
        "AGE-SECRET-KEY-1MER5FF7WCGLAEZKUQN52D90A9XGRAYP5UYYYCKLRE2J6FW6QN80SVUMD9T";

    fn sealed_to(recipients: &[&str]) -> Secrets {
        Secrets::Sealed {
            recipients: Recipients::parse(
                &recipients.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            )
            .unwrap(),
            material: vec![],
        }
    }

    fn secret(name: &str, data: Value, string_data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "bigbang"},
            "data": data, "stringData": string_data})
    }

    fn bundle(password: &str) -> Bundle {
        let mut bundle = crate::bundle::environment_bundle(vec![
            secret(
                "registry",
                json!({"username": "cm9ib3Q="}),
                json!({"password": password}),
            ),
            secret("tls", json!({"tls.key": "a2V5"}), json!({})),
            secret("empty", json!({}), Value::Null),
        ]);
        for object in &mut bundle.components[0].objects {
            let name = object.value["metadata"]["name"]
                .as_str()
                .unwrap_or_default();
            object.source = Some(format!("secrets/{name}.enc.yaml"));
        }
        bundle
    }

    fn identities(dir: &Path, text: &str) -> Identities {
        let path = dir.join("key.txt");
        std::fs::write(&path, text).unwrap();
        Identities::load(&[path]).unwrap()
    }

    #[test]
    fn sealed_values_open_with_the_identity_only() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let written = write(&bundle("hunter2"), &out, &sealed_to(&[RECIPIENT])).unwrap();
        let text =
            std::fs::read_to_string(out.join("objects/dev/bigbang/secret.registry.yaml")).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg=="),
            "{text}"
        );
        assert!(!text.contains("stringData"), "{text}");
        assert!(text.contains("password: crunch-sealed:v1:"), "{text}");
        let sealing = written.index.sealing.clone().unwrap();
        assert_eq!(sealing.recipients, [RECIPIENT]);
        let values: Vec<_> = written
            .index
            .secrets
            .iter()
            .map(|s| (s.object.name.as_str(), s.values, s.source.as_deref()))
            .collect();
        assert_eq!(
            values,
            [
                ("empty", SecretValues::None, Some("secrets/empty.enc.yaml")),
                (
                    "registry",
                    SecretValues::Sealed,
                    Some("secrets/registry.enc.yaml")
                ),
                ("tls", SecretValues::Sealed, Some("secrets/tls.enc.yaml")),
            ]
        );
        let mut read_back = read(&out).unwrap();
        assert_eq!(
            read_back.secret_counts(),
            SecretCounts {
                secrets: 3,
                sealed: 3,
                plaintext: 0
            }
        );
        let key = read_back
            .sealing_key(&identities(tmp.path(), IDENTITY))
            .unwrap();
        assert_eq!(read_back.unseal(&key).unwrap(), 3);
        let component = read_back.index.components[0].clone();
        let registry = read_back
            .objects(&component)
            .find(|(e, _)| e.name == "registry")
            .unwrap()
            .1
            .clone();
        assert_eq!(
            registry["data"],
            json!({"username": "cm9ib3Q=", "password": "aHVudGVyMg=="})
        );
        let stranger = age::x25519::Identity::generate();
        let wrong = identities(
            tmp.path(),
            age::secrecy::ExposeSecret::expose_secret(&stranger.to_string()),
        );
        let e = read(&out).unwrap().sealing_key(&wrong).unwrap_err();
        assert!(
            e.ends_with(&format!(
                "opens sealing-key.age: the bundle's Secrets are sealed for {RECIPIENT}"
            )),
            "{e}"
        );
    }

    /// A sealed value copied into another Secret (and the bundle digested again, as only
    /// someone rewriting the bundle can) does not open there.
    #[test]
    fn a_value_moved_to_another_secret_fails_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write(&bundle("hunter2"), &out, &sealed_to(&[RECIPIENT])).unwrap();
        let mut bundle = read(&out).unwrap();
        let key = bundle
            .sealing_key(&identities(tmp.path(), IDENTITY))
            .unwrap();
        let password = bundle.objects[0][1]["data"]["password"].clone();
        bundle.objects[0][2]["data"]["tls.key"] = password;
        let e = bundle.unseal(&key).unwrap_err();
        assert_eq!(
            e,
            "Secret bigbang/tls data.tls.key (in dev) does not open with the bundle's sealing key: it was changed, or moved from another Secret or key"
        );
    }

    #[test]
    fn the_same_inputs_seal_to_the_same_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let digest = |name: &str, bundle: &Bundle, secrets: &Secrets| {
            write(bundle, &tmp.path().join(name), secrets)
                .unwrap()
                .digest
        };
        let to_one = sealed_to(&[RECIPIENT]);
        let first = digest("a", &bundle("hunter2"), &to_one);
        assert_eq!(digest("b", &bundle("hunter2"), &to_one), first);
        // The key files differ (age is randomized) but are outside the digest.
        assert_ne!(
            std::fs::read(tmp.path().join("a").join(KEY_FILE)).unwrap(),
            std::fs::read(tmp.path().join("b").join(KEY_FILE)).unwrap()
        );
        // Another recipient list: another key, another digest.
        let second = age::x25519::Identity::generate().to_public().to_string();
        let to_two = sealed_to(&[RECIPIENT, &second]);
        assert_ne!(digest("c", &bundle("hunter2"), &to_two), first);
        // Convergent: another value changes the key, so every sealed value changes.
        let other = write(&bundle("hunter3"), &tmp.path().join("d"), &to_one).unwrap();
        let again = read(&tmp.path().join("a")).unwrap();
        assert_ne!(other.index.sealing, again.index.sealing);
        let tls = |dir: &str| {
            std::fs::read_to_string(
                tmp.path()
                    .join(dir)
                    .join("objects/dev/bigbang/secret.tls.yaml"),
            )
            .unwrap()
        };
        assert_ne!(tls("a"), tls("d"));
        // Key material instead: the key no longer follows the values.
        let with_material = |password: &str, name: &str| {
            let secrets = Secrets::Sealed {
                recipients: Recipients::parse(&[RECIPIENT.to_string()]).unwrap(),
                material: vec![[9; 32]],
            };
            write(&bundle(password), &tmp.path().join(name), &secrets)
                .unwrap()
                .index
                .sealing
        };
        assert_eq!(with_material("hunter2", "e"), with_material("hunter3", "f"));
        assert_eq!(tls("e"), tls("f"));
    }

    /// Rebuilding over a bundle keeps its key file while the key is the same, and
    /// replaces it when the key changes.
    #[test]
    fn an_unchanged_key_keeps_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let to_one = sealed_to(&[RECIPIENT]);
        write(&bundle("hunter2"), &out, &to_one).unwrap();
        let key_file = std::fs::read(out.join(KEY_FILE)).unwrap();
        write(&bundle("hunter2"), &out, &to_one).unwrap();
        assert_eq!(std::fs::read(out.join(KEY_FILE)).unwrap(), key_file);
        write(&bundle("hunter3"), &out, &to_one).unwrap();
        assert_ne!(std::fs::read(out.join(KEY_FILE)).unwrap(), key_file);
        let opened = read(&out).unwrap();
        opened
            .sealing_key(&identities(tmp.path(), IDENTITY))
            .unwrap();
        // Plaintext again: no key file, and nothing sealed.
        let plain = write(&bundle("hunter3"), &out, &Secrets::Plaintext).unwrap();
        assert!(!out.join(KEY_FILE).exists());
        assert_eq!(plain.index.sealing, None);
        assert_eq!(read(&out).unwrap().secret_counts().plaintext, 3);
    }
}
