//! The content-addressed blob cache: chart archives, OCI manifests and layers, cosign
//! payloads, each stored once under `<cache>/blobs/sha256/<hex>` and checked against its
//! name whenever it is read, so a damaged cache entry is never used.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::error::Error;
use super::lock::is_digest;
use super::remote::tempdir_beside;

/// The cache entries a build used, by their `/`-separated paths below the cache
/// directory (`blobs/sha256/<hex>`, `trees/<id>`): what `crunch vendor` carries.
pub(crate) type Used = Arc<Mutex<BTreeSet<String>>>;

/// The blob cache under one cache directory.
pub(crate) struct Blobs {
    dir: PathBuf,
    used: Option<Used>,
}

impl Blobs {
    /// The blobs of the cache at `cache_dir`.
    pub(crate) fn new(cache_dir: &Path) -> Blobs {
        Blobs {
            dir: cache_dir.join("blobs").join("sha256"),
            used: None,
        }
    }

    /// As [`new`](Self::new), noting in `used` every blob read or stored.
    pub(crate) fn noting(cache_dir: &Path, used: Used) -> Blobs {
        Blobs {
            used: Some(used),
            ..Blobs::new(cache_dir)
        }
    }

    fn note(&self, digest: &str) {
        if let (Some(used), Some(hex)) = (&self.used, digest.strip_prefix("sha256:")) {
            used.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(format!("blobs/sha256/{hex}"));
        }
    }

    /// Where the blob with `digest` (`sha256:<hex>`) is kept, present or not.
    pub(crate) fn path(&self, digest: &str) -> Option<PathBuf> {
        is_digest(digest).then(|| self.dir.join(&digest["sha256:".len()..]))
    }

    /// The blob's content when the cache holds it intact; a damaged entry is removed and
    /// reads as absent.
    pub(crate) fn read(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.path(digest)?;
        let bytes = std::fs::read(&path).ok()?;
        if sha256_digest(&bytes) == digest {
            self.note(digest);
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    /// The blob's path when the cache holds it intact.
    pub(crate) fn existing(&self, digest: &str) -> Option<PathBuf> {
        self.read(digest)?;
        self.path(digest)
    }

    /// Stores `bytes` (written beside and renamed: never half-written) and returns their
    /// digest.
    pub(crate) fn put(&self, bytes: &[u8]) -> Result<String, Error> {
        let digest = sha256_digest(bytes);
        let path = self
            .path(&digest)
            .expect("a computed digest is well-formed");
        self.note(&digest);
        if path.is_file() {
            return Ok(digest);
        }
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let temp = tempdir_beside(&path);
        std::fs::write(&temp, bytes).map_err(io)?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            io(e)
        })?;
        Ok(digest)
    }

    /// Moves the verified file at `file` (whose digest is `digest`) into the cache.
    pub(crate) fn adopt(&self, file: &Path, digest: &str) -> Result<PathBuf, Error> {
        let path = self.path(digest).ok_or_else(|| Error::Io {
            path: file.to_path_buf(),
            source: std::io::Error::other(format!("{digest} is not a sha256 digest")),
        })?;
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        std::fs::rename(file, &path).map_err(io)?;
        self.note(digest);
        Ok(path)
    }

    /// A fresh path beside the cache for a download in progress.
    pub(crate) fn download_path(&self, name: &str) -> Result<PathBuf, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            source,
        })?;
        Ok(tempdir_beside(&self.dir.join(name)))
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        crate::gostd::hex::encode(Sha256::digest(bytes))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_named_by_their_digest_and_checked_when_read() {
        let cache = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(cache.path());
        let digest = blobs.put(b"chart").unwrap();
        assert_eq!(digest, sha256_digest(b"chart"));
        assert_eq!(blobs.read(&digest).as_deref(), Some(&b"chart"[..]));
        let path = blobs.path(&digest).unwrap();
        std::fs::write(&path, b"damaged").unwrap();
        assert_eq!(blobs.read(&digest), None);
        assert!(!path.exists());
        assert_eq!(blobs.path("sha256:short"), None);
    }
}
