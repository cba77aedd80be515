//! Reading a bundle back — a directory or a tar archive of one — and proving it is the
//! bundle its digest names before anything uses it.
//!
//! Verification is all or nothing: the digest file must match `index.json`, every object
//! file must match its sha256 and say what the index says it is, and no file may be
//! there that the index does not list, but `sealing-key.age`: its age encryption is
//! randomized, so it stays outside the digest, and the key it holds is checked against the
//! index's key id when it is opened.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Component, Path};

use crate::gostd::sha256;
use serde_json::Value;

use super::{BUNDLE_KIND, ComponentEntry, INDEX_API_VERSION, Index, ObjectEntry};
use crate::object::ObjectKey;
use crate::yaml::{self, Dialect};

/// Archives larger than this are refused rather than read into memory.
const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// Why a bundle cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The bundle could not be read at all (missing, unreadable, not an archive).
    Unreadable(String),
    /// The bundle was read but does not match its own digests or index: it was changed
    /// after it was built, or is damaged.
    Tampered(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(m) => write!(f, "cannot read the bundle: {m}"),
            Self::Tampered(m) => write!(f, "bundle verification failed: {m}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A bundle whose every byte was checked against its digest.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// `sha256:<hex>` of `index.json`.
    pub digest: String,
    /// The index.
    pub index: Index,
    /// The parsed objects, `objects[c][o]` for `index.components[c].objects[o]`.
    pub(super) objects: Vec<Vec<Value>>,
    /// `sealing-key.age`, outside the digest: checked only by opening it.
    pub(super) key_file: Option<Vec<u8>>,
    /// `digest.sig`, outside the digest: a signature of the `digest` file, checked only
    /// when a key is given.
    pub signature: Option<Vec<u8>>,
}

impl VerifiedBundle {
    /// The objects of one component, with their index entries.
    pub fn objects<'a>(
        &'a self,
        component: &'a ComponentEntry,
    ) -> impl Iterator<Item = (&'a ObjectEntry, &'a Value)> + 'a {
        let values = self
            .index
            .components
            .iter()
            .position(|c| c.id == component.id)
            .map(|i| self.objects[i].as_slice())
            .unwrap_or_default();
        component.objects.iter().zip(values)
    }
}

/// Reads and verifies the bundle at `path`: a bundle directory, or a `.tar`, `.tar.gz`
/// or `.tar.zst` archive holding one (at its root or in a single top-level directory).
pub fn read(path: &Path) -> Result<VerifiedBundle, ReadError> {
    verify(raw_files(path)?)
}

/// Every file of the bundle directory or archive at `path`, unverified.
pub(super) fn raw_files(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, ReadError> {
    if path.is_dir() {
        read_dir(path)
    } else {
        read_archive(path)
    }
}

/// Reads and verifies a bundle archive held in memory (a pulled OCI layer).
pub fn read_archive_bytes(bytes: &[u8]) -> Result<VerifiedBundle, ReadError> {
    verify(archive_files(bytes)?)
}

/// Every file of a bundle directory, by its `/`-separated relative path.
fn read_dir(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, ReadError> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir)
            .map_err(|e| ReadError::Unreadable(format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| ReadError::Unreadable(format!("{}: {e}", dir.display())))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| ReadError::Unreadable(format!("{}: {e}", path.display())))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = relative_name(root, &path);
            if !kind.is_file() {
                return Err(ReadError::Tampered(format!(
                    "{relative} is not a regular file"
                )));
            }
            let bytes = fs::read(&path)
                .map_err(|e| ReadError::Unreadable(format!("{}: {e}", path.display())))?;
            files.insert(relative, bytes);
        }
    }
    Ok(files)
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Every regular file of a bundle archive on disk.
fn read_archive(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, ReadError> {
    let bytes =
        fs::read(path).map_err(|e| ReadError::Unreadable(format!("{}: {e}", path.display())))?;
    archive_files(&bytes).map_err(|e| match e {
        ReadError::Unreadable(m) => ReadError::Unreadable(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Every regular file of a tar archive, plain or compressed with gzip or zstd (told
/// apart by their magic numbers), named relative to the bundle's root.
pub(super) fn archive_files(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, ReadError> {
    let unreadable = |e: &dyn fmt::Display| ReadError::Unreadable(e.to_string());
    let reader = crate::archive::decompress(bytes).map_err(|e| unreadable(&e))?;
    let mut archive = tar::Archive::new(reader.take(MAX_ARCHIVE_BYTES));
    let mut files = BTreeMap::new();
    let entries = archive.entries().map_err(|e| unreadable(&e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| unreadable(&e))?;
        let kind = entry.header().entry_type();
        let name = entry.path().map_err(|e| unreadable(&e))?.into_owned();
        let mut parts = Vec::new();
        for part in name.components() {
            match part {
                Component::CurDir => {}
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                _ => {
                    return Err(ReadError::Tampered(format!(
                        "archive entry {} leaves the bundle",
                        name.display()
                    )));
                }
            }
        }
        if kind.is_dir() || parts.is_empty() {
            continue;
        }
        let name = parts.join("/");
        if !kind.is_file() {
            return Err(ReadError::Tampered(format!(
                "archive entry {name} is not a regular file"
            )));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| unreadable(&e))?;
        files.insert(name, content);
    }
    Ok(strip_top_dir(files))
}

/// An archive of `out/` holds `out/index.json`: the bundle is that directory.
fn strip_top_dir(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    if files.contains_key("index.json") {
        return files;
    }
    let tops: std::collections::BTreeSet<&str> = files
        .keys()
        .map(|name| name.split('/').next().unwrap_or_default())
        .collect();
    let [top] = tops.into_iter().collect::<Vec<_>>()[..] else {
        return files;
    };
    let prefix = format!("{top}/");
    files
        .into_iter()
        .map(|(name, bytes)| {
            (
                name.strip_prefix(&prefix).unwrap_or(&name).to_string(),
                bytes,
            )
        })
        .collect()
}

pub(super) fn verify(mut files: BTreeMap<String, Vec<u8>>) -> Result<VerifiedBundle, ReadError> {
    let tampered = |m: String| ReadError::Tampered(m);
    let digest_file = files
        .remove("digest")
        .ok_or_else(|| ReadError::Unreadable("no digest file: not a crunch bundle".into()))?;
    let index_bytes = files
        .remove("index.json")
        .ok_or_else(|| ReadError::Unreadable("no index.json: not a crunch bundle".into()))?;
    let written = String::from_utf8_lossy(&digest_file).trim().to_string();
    let digest = format!("sha256:{}", sha256::hex(&index_bytes));
    if written != digest {
        return Err(tampered(format!(
            "index.json hashes to {digest} but the digest file says {written}"
        )));
    }
    let index: Index =
        serde_json::from_slice(&index_bytes).map_err(|e| tampered(format!("index.json: {e}")))?;
    if index.api_version != INDEX_API_VERSION || index.kind != BUNDLE_KIND {
        return Err(ReadError::Unreadable(format!(
            "index.json is {} {}, this crunch reads {INDEX_API_VERSION} {BUNDLE_KIND}",
            index.api_version, index.kind
        )));
    }
    let key_file = files.remove(crate::seal::KEY_FILE);
    let signature = files.remove(super::SIGNATURE_FILE);
    let mut objects = Vec::with_capacity(index.components.len());
    for component in &index.components {
        let mut values = Vec::with_capacity(component.objects.len());
        for entry in &component.objects {
            let bytes = files.remove(&entry.path).ok_or_else(|| {
                tampered(format!(
                    "{} (listed for {}) is missing",
                    entry.path, component.id
                ))
            })?;
            values.push(verify_object(entry, &bytes)?);
        }
        objects.push(values);
    }
    if let Some(extra) = files.keys().next() {
        return Err(tampered(format!("{extra} is not listed in index.json")));
    }
    Ok(VerifiedBundle {
        digest,
        index,
        objects,
        key_file,
        signature,
    })
}

/// Checks one object file against its index entry and parses it.
fn verify_object(entry: &ObjectEntry, bytes: &[u8]) -> Result<Value, ReadError> {
    let tampered = |m: String| ReadError::Tampered(format!("{}: {m}", entry.path));
    let actual = sha256::hex(bytes);
    if actual != entry.sha256 {
        return Err(tampered(format!(
            "sha256 is {actual}, index.json says {}",
            entry.sha256
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| tampered(e.to_string()))?;
    let value =
        yaml::parse_document(text, Dialect::GoYamlV2).map_err(|e| tampered(e.to_string()))?;
    let key = ObjectKey::of(&value).map_err(tampered)?;
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    if api_version != entry.api_version
        || key.kind != entry.kind
        || key.namespace != entry.namespace
        || key.name != entry.name
    {
        return Err(tampered(format!(
            "holds {key} but index.json lists {} {} {}/{}",
            entry.api_version, entry.kind, entry.namespace, entry.name
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::write;
    use serde_json::json;

    fn sample(dir: &Path) -> std::path::PathBuf {
        let out = dir.join("bundle");
        let bundle = crate::bundle::environment_bundle(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "yes"}}),
        ]);
        write(&bundle, &out, &crate::bundle::Secrets::Plaintext).unwrap();
        out
    }

    #[test]
    fn a_written_bundle_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = sample(tmp.path());
        let bundle = read(&out).unwrap();
        let component = &bundle.index.components[0];
        let objects: Vec<_> = bundle.objects(component).collect();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].1["data"]["a"], "yes");
        assert_eq!(
            bundle.digest,
            fs::read_to_string(out.join("digest")).unwrap().trim()
        );
    }

    /// Bundles written before the index named its JSON Schema still verify and read.
    #[test]
    fn an_index_without_its_schema_url_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = sample(tmp.path());
        let text = fs::read_to_string(out.join("index.json")).unwrap();
        let schema_line = "  \"$schema\": \"https://crunch.dev/schemas/index.schema.json\",\n";
        assert!(text.contains(schema_line), "{text}");
        let older = text.replace(schema_line, "");
        fs::write(out.join("index.json"), &older).unwrap();
        let digest = format!("sha256:{}", crate::gostd::sha256::hex(older.as_bytes()));
        fs::write(out.join("digest"), format!("{digest}\n")).unwrap();
        let bundle = read(&out).unwrap();
        assert_eq!(bundle.index.schema, None);
        assert_eq!(bundle.digest, digest);
    }

    #[test]
    fn an_archive_with_a_top_directory_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = sample(tmp.path());
        let archive = tmp.path().join("bundle.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&archive).unwrap(),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(gz);
        tar.append_dir_all("bundle", &out).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        assert_eq!(read(&archive).unwrap().digest, read(&out).unwrap().digest);
    }

    #[test]
    fn changes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = sample(tmp.path());
        let file = out.join("objects/dev/n/configmap.c.yaml");
        let original = fs::read_to_string(&file).unwrap();
        fs::write(&file, original.replace("yes", "no")).unwrap();
        let e = read(&out).unwrap_err();
        assert!(
            matches!(&e, ReadError::Tampered(m) if m.contains("sha256 is")),
            "{e}"
        );
        fs::write(&file, &original).unwrap();
        fs::write(out.join("objects/dev/n/extra.yaml"), "x: 1").unwrap();
        let e = read(&out).unwrap_err();
        assert!(e.to_string().contains("extra.yaml is not listed"), "{e}");
        fs::remove_file(out.join("objects/dev/n/extra.yaml")).unwrap();
        let index = fs::read_to_string(out.join("index.json")).unwrap();
        fs::write(out.join("index.json"), index.replace("\"c\"", "\"d\"")).unwrap();
        let e = read(&out).unwrap_err();
        assert!(e.to_string().contains("but the digest file says"), "{e}");
    }

    proptest::proptest! {
        /// Any bytes, plain or behind a gzip or zstd magic number, read as a bundle or
        /// an error: never a panic (an archive is read from a registry or a USB stick).
        #[test]
        fn any_archive_bytes_read_or_fail(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
            magic in 0usize..3,
        ) {
            let prefix: &[u8] = match magic {
                0 => &[],
                1 => &[0x1f, 0x8b],
                _ => &[0x28, 0xb5, 0x2f, 0xfd],
            };
            let bytes = [prefix, body.as_slice()].concat();
            let _ = read_archive_bytes(&bytes);
        }
    }
}
