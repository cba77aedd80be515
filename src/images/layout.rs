//! An OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` and `blobs/sha256/<hex>`, as skopeo's `oci:` transport, `crane` and
//! `ctr import` read one.
//!
//! Every blob is written to a temporary file beside its place and renamed only once its
//! digest checks, and `index.json` is replaced the same way, so an interrupted writer
//! leaves no bad blob and no half-written index.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::source::oci::check_digest;

/// The annotation skopeo's (containers/image) `oci:DIR:REF` looks up an image by.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd's importer (`ctr images import`) names an image by.
pub const CONTAINERD_NAME_ANNOTATION: &str = "io.containerd.image.name";

/// The content of `oci-layout`.
const LAYOUT_VERSION: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// What a blob of the layout is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlobState {
    /// There, and its bytes are its digest's.
    Verified,
    /// Not there.
    Missing,
    /// There with other bytes: their digest.
    Corrupt(String),
}

/// A layout directory.
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout at `dir`, created (with an empty index) when the directory is missing
    /// or empty.
    pub(crate) fn create(dir: &Path) -> Result<Layout, String> {
        let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| io(&blobs, e))?;
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        let marker = dir.join("oci-layout");
        if marker.exists() {
            layout.check_marker()?;
        } else {
            write_atomically(&marker, LAYOUT_VERSION.as_bytes())?;
        }
        if !dir.join("index.json").exists() {
            layout.write_entries(Vec::new())?;
        }
        Ok(layout)
    }

    /// The existing layout at `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Layout, String> {
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        layout.check_marker()?;
        Ok(layout)
    }

    fn check_marker(&self) -> Result<(), String> {
        let marker = self.dir.join("oci-layout");
        let text = std::fs::read(&marker).map_err(|e| {
            format!(
                "{} is not an OCI image layout: {}: {e}",
                self.dir.display(),
                marker.display()
            )
        })?;
        let version = serde_json::from_slice::<Value>(&text).ok().and_then(|v| {
            v.get("imageLayoutVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match version.as_deref() {
            Some("1.0.0") => Ok(()),
            _ => Err(format!(
                "{}: imageLayoutVersion is not 1.0.0",
                marker.display()
            )),
        }
    }

    /// Where the blob `digest` is (or goes).
    pub(crate) fn blob_path(&self, digest: &str) -> Result<PathBuf, String> {
        check_digest(digest)?;
        Ok(self
            .dir
            .join("blobs/sha256")
            .join(&digest["sha256:".len()..]))
    }

    /// Whether the blob `digest` is there with the right bytes.
    pub(crate) fn blob_state(&self, digest: &str) -> Result<BlobState, String> {
        let path = self.blob_path(digest)?;
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BlobState::Missing),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        loop {
            let read = file
                .read(&mut buffer)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        let actual = format!("sha256:{}", crate::gostd::hex::encode(hasher.finalize()));
        Ok(if actual == digest {
            BlobState::Verified
        } else {
            BlobState::Corrupt(actual)
        })
    }

    /// The bytes of the blob `digest`, checked against it (manifests).
    pub(crate) fn read_blob(&self, digest: &str) -> Result<Vec<u8>, String> {
        let path = self.blob_path(digest)?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = format!("sha256:{}", crate::gostd::sha256::hex(&bytes));
        if actual != digest {
            return Err(format!(
                "the layout's blob {digest} ({}) is corrupt: its sha256 is {actual}",
                path.display()
            ));
        }
        Ok(bytes)
    }

    /// Stores `bytes` as the blob `digest`, which they must hash to.
    pub(crate) fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), String> {
        let actual = format!("sha256:{}", crate::gostd::sha256::hex(bytes));
        if actual != digest {
            return Err(format!(
                "the bytes given for blob {digest} hash to {actual}"
            ));
        }
        write_atomically(&self.blob_path(digest)?, bytes)
    }

    /// The descriptors of `index.json`'s `manifests`, in file order.
    pub(crate) fn entries(&self) -> Result<Vec<Value>, String> {
        let path = self.dir.join("index.json");
        let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let index: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        match index.get("manifests") {
            Some(Value::Array(entries)) => Ok(entries.clone()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(format!("{}: manifests is not an array", path.display())),
        }
    }

    /// Replaces `index.json` with an index of `entries`, sorted by their reference
    /// name (so that the file depends only on what the layout holds).
    pub(crate) fn write_entries(&self, mut entries: Vec<Value>) -> Result<(), String> {
        entries.sort_by_key(|entry| ref_name(entry).unwrap_or_default().to_string());
        let index = json!({
            "schemaVersion": 2,
            "mediaType": super::manifest::OCI_INDEX,
            "manifests": entries,
        });
        let mut text = serde_json::to_vec_pretty(&index)
            .map_err(|e| format!("cannot encode index.json: {e}"))?;
        text.push(b'\n');
        write_atomically(&self.dir.join("index.json"), &text)
    }
}

/// An entry's `org.opencontainers.image.ref.name`.
pub(crate) fn ref_name(entry: &Value) -> Option<&str> {
    entry
        .get("annotations")
        .and_then(|a| a.get(REF_NAME_ANNOTATION))
        .and_then(Value::as_str)
}

/// Writes `bytes` to a temporary sibling of `path`, syncs it, and renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let temp = crate::source::tempdir_beside(path);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_checked_and_the_index_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("oci-layout")).unwrap(),
            LAYOUT_VERSION
        );
        assert!(layout.entries().unwrap().is_empty());
        let digest = format!("sha256:{}", crate::gostd::sha256::hex(b"hello"));
        assert_eq!(layout.blob_state(&digest).unwrap(), BlobState::Missing);
        assert!(layout.write_blob(&digest, b"other").is_err());
        layout.write_blob(&digest, b"hello").unwrap();
        assert_eq!(layout.blob_state(&digest).unwrap(), BlobState::Verified);
        assert_eq!(layout.read_blob(&digest).unwrap(), b"hello");
        std::fs::write(layout.blob_path(&digest).unwrap(), b"HELLO").unwrap();
        let altered = format!("sha256:{}", crate::gostd::sha256::hex(b"HELLO"));
        assert_eq!(
            layout.blob_state(&digest).unwrap(),
            BlobState::Corrupt(altered)
        );
        assert!(
            layout
                .read_blob(&digest)
                .unwrap_err()
                .contains("is corrupt")
        );
        let entry = |name: &str| json!({"annotations": {REF_NAME_ANNOTATION: name}});
        layout
            .write_entries(vec![entry("r.io/b:1"), entry("r.io/a:1")])
            .unwrap();
        let names: Vec<String> = Layout::open(dir.path())
            .unwrap()
            .entries()
            .unwrap()
            .iter()
            .map(|e| ref_name(e).unwrap().to_string())
            .collect();
        assert_eq!(names, ["r.io/a:1", "r.io/b:1"]);
        // Nothing but the blob, the index and the marker: no temporary files left.
        let files = walk(dir.path());
        assert_eq!(files.len(), 3, "{files:?}");
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("oci-layout"), "{}").unwrap();
        assert!(Layout::create(other.path()).is_err());
        assert!(Layout::open(&other.path().join("none")).is_err());
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
