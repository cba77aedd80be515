//! kustomize-controller's SOPS decryption, run ahead of time: before a Kustomization's
//! build, the files its secret generators and patches read are decrypted (Flux does it in
//! place, crunch hands kustomize the decrypted bytes); after it, every object that carries
//! SOPS metadata, and every Secret value that holds a SOPS file, is decrypted.
//!
//! Keys come from the machine (`crunch.yaml`'s `sops`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`,
//! `GNUPGHOME`), never from the repository. Everything decrypted is recorded in the build's
//! [`Secrets`]: the data keys (the bundle's sealing key derives from them) and the
//! plaintext values (diffs mask what came from them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::config::{Decryption, KeyFiles, SopsKeys};
use crate::error::Error;
use crate::object::ObjectKey;
use crate::progress::{Event, Progress};
use crate::sops::{self, Format, Keys};
use crate::yaml;

/// The annotation that turns decryption off for one object.
const DECRYPT_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/decrypt";
/// kustomize-controller refuses to decrypt larger files.
const MAX_FILE_SIZE: u64 = 5 << 20;
/// What every SOPS-encrypted value starts with.
const ENCRYPTED_VALUE_PREFIX: &str = "ENC[AES256_GCM,";

/// What decryption left for the rest of the build: collected from every node, on any
/// thread. Warnings also go to the build's observer as they are found.
pub struct Secrets<'a> {
    inner: Mutex<Collected>,
    progress: &'a dyn Progress,
}

/// What decryption collected over a build: its data keys, plaintexts and warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The data key of every SOPS file decrypted.
    pub data_keys: BTreeSet<[u8; 32]>,
    /// Every plaintext value decrypted.
    pub plaintexts: BTreeSet<String>,
    /// Encrypted content that stays encrypted, one message each.
    pub warnings: Vec<String>,
}

impl<'a> Secrets<'a> {
    /// Nothing collected yet; warnings are told to `progress`.
    pub fn new(progress: &'a dyn Progress) -> Self {
        Self {
            inner: Mutex::default(),
            progress,
        }
    }

    /// What was collected.
    pub fn take(self) -> Collected {
        self.inner.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, decrypted: &sops::Decrypted) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(key) = decrypted.data_key().try_into() {
            inner.data_keys.insert(key);
        }
        inner
            .plaintexts
            .extend(decrypted.plaintext_values().iter().cloned());
    }

    fn warn(&self, message: String) {
        self.progress.event(&Event::Warning { message: &message });
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.warnings.push(message);
    }
}

/// The keys of one build, loaded when first needed: the machine's, and one set per
/// decryption Secret name that `crunch.yaml` maps.
pub struct KeyRing {
    settings: SopsKeys,
    machine: OnceLock<Result<Arc<Keys>, String>>,
    named: Mutex<BTreeMap<String, Arc<Keys>>>,
}

impl KeyRing {
    /// The key ring `settings` describe.
    pub fn new(settings: SopsKeys) -> Self {
        Self {
            settings,
            machine: OnceLock::new(),
            named: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether `crunch.yaml` maps the decryption Secret `name` to key files.
    fn maps(&self, name: &str) -> bool {
        self.settings.secrets.contains_key(name)
    }

    /// The keys `decryption` decrypts with.
    fn keys(&self, decryption: &Decryption) -> Result<Arc<Keys>, Error> {
        let name = decryption.secret_ref.as_ref().map(|r| r.name.as_str());
        if let Some(name) = name
            && let Some(files) = self.settings.secrets.get(name)
        {
            let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(keys) = named.get(name) {
                return Ok(keys.clone());
            }
            let keys = Arc::new(load(files, false).map_err(|e| {
                Error::new(format!(
                    "the keys crunch.yaml maps to decryption Secret {name}: {e}"
                ))
            })?);
            named.insert(name.to_string(), keys.clone());
            return Ok(keys);
        }
        self.machine
            .get_or_init(|| load(&self.settings.keys, true).map(Arc::new))
            .clone()
            .map_err(|e| Error::new(format!("the machine's SOPS keys: {e}")))
    }
}

/// Loads the keys `files` name; with `machine`, also those SOPS itself finds in the
/// environment.
fn load(files: &KeyFiles, machine: bool) -> Result<Keys, String> {
    let mut keys = Keys::default();
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let mut age_files = files.age.clone();
    let mut gnupg_home = files.gnupg_home.clone();
    if machine {
        if let Some(text) = std::env::var_os("SOPS_AGE_KEY") {
            keys.add_age_identities("SOPS_AGE_KEY", &text.to_string_lossy())
                .map_err(|e| e.to_string())?;
        }
        if let Some(path) = std::env::var_os("SOPS_AGE_KEY_FILE") {
            age_files.push(PathBuf::from(path));
        } else if let Some(path) = default_age_key_file().filter(|p| p.is_file()) {
            age_files.push(path);
        }
        if gnupg_home.is_none() {
            gnupg_home = std::env::var_os("GNUPGHOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".gnupg")))
                .filter(|p| p.is_dir());
        }
    }
    for path in &age_files {
        let text = String::from_utf8_lossy(&read(path)?).into_owned();
        keys.add_age_identities(&path.display().to_string(), &text)
            .map_err(|e| e.to_string())?;
    }
    for path in &files.pgp {
        keys.add_pgp_keyring(&path.display().to_string(), &read(path)?)
            .map_err(|e| e.to_string())?;
    }
    if let Some(home) = gnupg_home {
        let program = std::env::var("SOPS_GPG_EXEC").unwrap_or_else(|_| "gpg".to_string());
        keys.add_gnupg_home(&format!("GnuPG home {}", home.display()), home, &program);
    }
    Ok(keys)
}

/// Where SOPS looks for age keys when `SOPS_AGE_KEY_FILE` is unset.
fn default_age_key_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(config.join("sops/age/keys.txt"))
}

/// Decryption for one build of a kustomization directory: the environment, or one Flux
/// Kustomization.
pub struct Decryptor<'a> {
    /// The Kustomization's `spec.decryption` (the environment's from `crunch.yaml`).
    decryption: Option<&'a Decryption>,
    ring: &'a KeyRing,
    secrets: &'a Secrets<'a>,
    /// What is being built, for messages (`environment dev`, `Kustomization flux-system/apps`).
    what: &'a str,
}

impl<'a> Decryptor<'a> {
    /// Decryption as `decryption` asks for it (none when `None`).
    pub fn new(
        decryption: Option<&'a Decryption>,
        ring: &'a KeyRing,
        secrets: &'a Secrets<'a>,
        what: &'a str,
    ) -> Self {
        Self {
            decryption: decryption.filter(|d| !d.provider.is_empty()),
            ring,
            secrets,
            what,
        }
    }

    /// The keys to decrypt with; only called once something needs decrypting.
    fn keys(&self) -> Result<Arc<Keys>, Error> {
        match self.decryption {
            Some(d) if d.provider == "sops" => self.ring.keys(d),
            Some(d) => Err(Error::new(format!(
                "spec.decryption.provider {:?} is not supported; Flux knows only \"sops\"",
                d.provider
            ))),
            None => Err(Error::new("decryption is not configured")),
        }
    }

    /// kustomize-controller's `DecryptSources`: the decrypted contents of the files that
    /// secret generators (`files`, `envs`) and `patches` (`path`) read, in the
    /// kustomization at `dir` and every local kustomization it reaches through
    /// `resources` and `components`, keyed by canonical path. Files outside `root`, or
    /// without SOPS metadata, are left alone. `top` is the kustomization `dir` is built
    /// with when it is not the one on disk (Flux's generated one).
    pub fn decrypt_sources(
        &self,
        root: &Path,
        dir: &Path,
        top: Option<&Value>,
    ) -> Result<BTreeMap<PathBuf, Vec<u8>>, Error> {
        let mut replaced = BTreeMap::new();
        if self.decryption.is_none() {
            return Ok(replaced);
        }
        let root = root
            .canonicalize()
            .map_err(|e| Error::new(format!("cannot read {}: {e}", root.display())))?;
        let mut visited_dirs = BTreeSet::new();
        let mut pending = vec![dir.to_path_buf()];
        let mut top = top;
        while let Some(dir) = pending.pop() {
            let Ok(dir) = dir.canonicalize() else {
                continue;
            };
            if !dir.is_dir() || !dir.starts_with(&root) || !visited_dirs.insert(dir.clone()) {
                continue;
            }
            let refs = match top.take() {
                Some(document) => kustomization_refs(document),
                None => match read_kustomization(&dir)? {
                    Some(document) => kustomization_refs(&document),
                    None => continue,
                },
            };
            for (file, format) in refs.decrypt {
                let Ok(path) = dir.join(&file).canonicalize() else {
                    continue;
                };
                if !path.starts_with(&root) || replaced.contains_key(&path) {
                    continue;
                }
                if let Some(bytes) = self.decrypt_file(&path, format)? {
                    replaced.insert(path, bytes);
                }
            }
            for child in &refs.children {
                let path = dir.join(child);
                if path.is_file() {
                    self.verify_resource_file(&path)?;
                }
            }
            pending.extend(refs.children.iter().rev().map(|child| dir.join(child)));
        }
        Ok(replaced)
    }

    /// Checks the MAC of every SOPS-encrypted document of a resource file, before
    /// kustomize's transformers change the values the MAC covers (the objects are
    /// decrypted after the build, when only each encrypted value can still be checked).
    /// kustomize-controller checks no MAC at all; crunch refuses a file whose MAC fails.
    fn verify_resource_file(&self, path: &Path) -> Result<(), Error> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
        if !Format::Yaml.marks(&bytes) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes);
        for (index, document) in yaml_documents(&text).into_iter().enumerate() {
            let disabled = yaml::parse_document(document, yaml::Dialect::GoYamlV2)
                .is_ok_and(|object| decryption_disabled(&object));
            if disabled || !Format::Yaml.marks(document.as_bytes()) {
                continue;
            }
            let keys = self.keys()?;
            let decrypted =
                sops::decrypt(document.as_bytes(), Format::Yaml, &keys).map_err(|e| {
                    let e = self.explain(e, &keys);
                    Error::new(format!("{} (document {}): {e}", path.display(), index + 1))
                        .within(format!("decrypting for {}", self.what))
                })?;
            self.secrets.record(&decrypted);
        }
        Ok(())
    }

    /// A decryption failure, with where the keys should have come from when there were
    /// none.
    fn explain(&self, error: sops::Error, keys: &Keys) -> String {
        if !keys.is_empty() {
            return error.to_string();
        }
        let source = match self.decryption.and_then(|d| d.secret_ref.as_ref()) {
            Some(secret) if self.ring.maps(&secret.name) => {
                format!("the key files crunch.yaml maps to decryption Secret {} hold none", secret.name)
            }
            Some(secret) => format!(
                "decryption Secret {} is not mapped under `sops.secrets` in crunch.yaml, and this machine has no SOPS key (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, GNUPGHOME, crunch.yaml `sops.keys`)",
                secret.name
            ),
            None => "this machine has no SOPS key (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, GNUPGHOME, crunch.yaml `sops.keys`)".to_string(),
        };
        format!("{error}; {source}")
    }

    /// One file, decrypted in `format` if it holds that format's SOPS metadata.
    fn decrypt_file(&self, path: &Path, format: Format) -> Result<Option<Vec<u8>>, Error> {
        let in_file = |e: &dyn std::fmt::Display| {
            Error::new(format!("{}: {e}", path.display()))
                .within(format!("decrypting for {}", self.what))
        };
        let size = std::fs::metadata(path).map_err(|e| in_file(&e))?.len();
        if size > MAX_FILE_SIZE {
            return Err(in_file(&format!(
                "cannot decrypt file with size ({size} bytes) exceeding limit ({MAX_FILE_SIZE})"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| in_file(&e))?;
        if !format.marks(&bytes) {
            return Ok(None);
        }
        let keys = self.keys()?;
        let decrypted =
            sops::decrypt(&bytes, format, &keys).map_err(|e| in_file(&self.explain(e, &keys)))?;
        let out = decrypted.emit(format).map_err(|e| in_file(&e))?;
        self.secrets.record(&decrypted);
        Ok(Some(out))
    }

    /// kustomize-controller's `DecryptResource` over every built object, then a warning
    /// for each object that still holds encrypted values.
    pub fn decrypt_objects(&self, objects: &mut [Value]) -> Result<(), Error> {
        for object in objects.iter_mut() {
            if self.decryption.is_some() && !decryption_disabled(object) {
                self.decrypt_object(object)
                    .map_err(|e| e.within(format!("decryption of {}", describe(object))))?;
            }
            if holds_encrypted_values(object) {
                let why = match (self.decryption, self.what.starts_with("environment ")) {
                    (None, true) => "the environment has no `decryption` in crunch.yaml",
                    (None, false) => {
                        "the Kustomization has no spec.decryption, so Flux leaves them"
                    }
                    (Some(_), _) => {
                        "kustomize-controller decrypts only objects with SOPS metadata, Secret \
                         values and the files of secret generators and patches"
                    }
                };
                self.secrets.warn(format!(
                    "{} ({}) holds SOPS-encrypted values that stay encrypted: {why}",
                    describe(object),
                    self.what,
                ));
            }
        }
        Ok(())
    }

    fn decrypt_object(&self, object: &mut Value) -> Result<(), Error> {
        let has_mac = object
            .get("sops")
            .and_then(|s| s.get("mac"))
            .is_some_and(|mac| !is_nil_or_empty(mac));
        if has_mac {
            let json = serde_json::to_vec(object).map_err(|e| Error::new(e.to_string()))?;
            let keys = self.keys()?;
            let decrypted = sops::decrypt_transformed(&json, Format::Json, &keys)
                .map_err(|e| Error::new(self.explain(e, &keys)))?;
            let out = decrypted
                .emit(Format::Json)
                .map_err(|e| Error::new(e.to_string()))?;
            *object = serde_json::from_slice(&out)
                .map_err(|e| Error::new(format!("decrypted object is not JSON: {e}")))?;
            self.secrets.record(&decrypted);
            return Ok(());
        }
        if object.get("kind").and_then(Value::as_str) != Some("Secret") {
            return Ok(());
        }
        let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for (key, value) in data.iter_mut() {
            let Some(bytes) = value
                .as_str()
                .and_then(|text| crate::gostd::base64::decode_std(text.as_bytes()).ok())
            else {
                continue;
            };
            let Some(format) = Format::detect(&bytes) else {
                continue;
            };
            let keys = self.keys()?;
            let decrypted = sops::decrypt(&bytes, format, &keys).map_err(|e| {
                Error::new(format!("Secret field '{key}': {}", self.explain(e, &keys)))
            })?;
            let out = decrypted
                .emit(Format::for_path(key))
                .map_err(|e| Error::new(format!("Secret field '{key}': {e}")))?;
            *value = Value::String(STANDARD.encode(out));
            self.secrets.record(&decrypted);
        }
        Ok(())
    }
}

/// What a kustomization file refers to, as kustomize-controller's walk reads it.
struct KustomizationRefs {
    /// Files to decrypt, with the format each is decrypted in.
    decrypt: Vec<(String, Format)>,
    /// `resources` and `components` entries: the walk continues into the directories.
    children: Vec<String>,
}

/// The references of the kustomization file in `dir`, or `None` when it has none.
fn read_kustomization(dir: &Path) -> Result<Option<Value>, Error> {
    let Some(file) = crate::kustomize::KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", file.display())))?;
    yaml::parse_document(&text, yaml::Dialect::GoYamlV2)
        .map(Some)
        .map_err(|e| Error::new(format!("{}: {e}", file.display())))
}

/// What a kustomization document refers to.
fn kustomization_refs(value: &Value) -> KustomizationRefs {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut decrypt = Vec::new();
    for generator in value["secretGenerator"].as_array().into_iter().flatten() {
        for source in strings(generator.get("files")) {
            let (key, path) = source.split_once('=').unwrap_or((&source, &source));
            decrypt.push((path.to_string(), Format::for_path(key)));
        }
        for env in strings(generator.get("envs")) {
            let format = match Format::for_path(&env) {
                Format::Binary => Format::Dotenv,
                format => format,
            };
            decrypt.push((env, format));
        }
    }
    for patch in value["patches"].as_array().into_iter().flatten() {
        if let Some(path) = patch.get("path").and_then(Value::as_str)
            && !path.is_empty()
            && !is_remote_url(path)
        {
            decrypt.push((path.to_string(), Format::for_path(path)));
        }
    }
    let mut children = strings(value.get("resources"));
    children.extend(strings(value.get("components")));
    KustomizationRefs { decrypt, children }
}

/// The documents of a YAML stream, split at `---` lines.
fn yaml_documents(text: &str) -> Vec<&str> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let marker = line.trim_end();
        if marker == "---" || marker.starts_with("--- ") {
            documents.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    documents.push(&text[start..]);
    documents.retain(|d| !d.trim().is_empty());
    documents
}

/// Go's `url.Parse` finding both a scheme and a host.
fn is_remote_url(path: &str) -> bool {
    path.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty() && !rest.is_empty() && !rest.starts_with('/')
    })
}

/// kyaml's `IsNilOrEmpty`: null, or an empty string, map or list.
fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn decryption_disabled(object: &Value) -> bool {
    object["metadata"]["annotations"][DECRYPT_ANNOTATION]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// Whether an object still carries SOPS metadata or encrypted values (in a Secret's
/// `data`, after base64).
fn holds_encrypted_values(object: &Value) -> bool {
    if object.get("sops").is_some_and(|s| !is_nil_or_empty(s)) {
        return true;
    }
    let is_secret = object.get("kind").and_then(Value::as_str) == Some("Secret");
    any_string(object, &mut |path_is_data, text| {
        if text.contains(ENCRYPTED_VALUE_PREFIX) {
            return true;
        }
        path_is_data
            && is_secret
            && crate::gostd::base64::decode_std(text.as_bytes()).is_ok_and(|bytes| {
                Format::detect(&bytes).is_some()
                    || String::from_utf8_lossy(&bytes).contains(ENCRYPTED_VALUE_PREFIX)
            })
    })
}

/// Whether `check` holds for a string leaf of `object`; its first argument says whether
/// the leaf is a value of the top-level `data` map.
fn any_string(object: &Value, check: &mut dyn FnMut(bool, &str) -> bool) -> bool {
    fn walk(value: &Value, in_data: bool, check: &mut dyn FnMut(bool, &str) -> bool) -> bool {
        match value {
            Value::String(s) => check(in_data, s),
            Value::Array(items) => items.iter().any(|v| walk(v, false, check)),
            Value::Object(map) => map.values().any(|v| walk(v, false, check)),
            _ => false,
        }
    }
    match object {
        Value::Object(map) => map.iter().any(|(key, value)| match (key.as_str(), value) {
            ("data", Value::Object(data)) => data.values().any(|v| walk(v, true, check)),
            _ => walk(value, false, check),
        }),
        _ => false,
    }
}

/// `Secret dev/common-bb`, as messages name an object.
fn describe(object: &Value) -> String {
    ObjectKey::of(object).map_or_else(
        |_| "an object without kind or name".to_string(),
        |key| key.to_string(),
    )
}
