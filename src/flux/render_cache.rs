//! Rendered HelmReleases, cached by content: the key hashes everything a render reads
//! (the engine, the HelmRelease, its chart's artifact, the composed values, the cluster
//! profile, the seed and the clock), so a warm build re-renders only what changed and a
//! hit gives exactly the objects a render would.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

/// Changes whenever what an entry holds changes shape.
const FORMAT: &str = "render-v3";

/// The cache's directory under the source cache.
pub struct RenderCache {
    dir: PathBuf,
}

/// What names one render.
pub struct Key(String);

impl Key {
    /// The key of the parts, in order; each part is length-prefixed so that no two
    /// different lists of parts hash alike.
    pub fn of(parts: &[&[u8]]) -> Key {
        let mut hasher = Sha256::new();
        for part in [FORMAT.as_bytes(), env!("CRUNCH_ENGINE_ID").as_bytes()]
            .iter()
            .chain(parts)
        {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Key(crate::gostd::hex::encode(hasher.finalize()))
    }
}

impl RenderCache {
    /// The cache kept under `cache_dir`.
    pub fn new(cache_dir: &Path) -> RenderCache {
        RenderCache {
            dir: cache_dir.join("renders"),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(&key.0[..2]).join(format!("{}.json", key.0))
    }

    /// The render cached under `key`; `None` when absent or unreadable (an entry cut short
    /// by a crash is a miss, never an error).
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        let bytes = fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores `rendered` under `key`, through a temporary file and a rename. Failing to
    /// cache costs only time, so errors are ignored.
    pub fn put<T: Serialize>(&self, key: &Key, rendered: &T) {
        let path = self.path(key);
        let Some(dir) = path.parent() else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(rendered) else {
            return;
        };
        let temp = dir.join(format!(".{}.tmp-{}", key.0, std::process::id()));
        let stored = fs::create_dir_all(dir)
            .and_then(|()| fs::write(&temp, bytes))
            .and_then(|()| fs::rename(&temp, &path));
        if stored.is_err() {
            let _ = fs::remove_file(&temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn parts_are_kept_apart() {
        assert_ne!(Key::of(&[b"ab", b"c"]).0, Key::of(&[b"a", b"bc"]).0);
        assert_eq!(Key::of(&[b"a"]).0, Key::of(&[b"a"]).0);
    }

    #[test]
    fn entries_round_trip_and_broken_ones_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = RenderCache::new(tmp.path());
        let key = Key::of(&[b"release"]);
        assert!(cache.get::<Vec<Value>>(&key).is_none());
        let objects = vec![json!({"kind": "ConfigMap", "data": {"b": 1.5, "a": null}})];
        cache.put(&key, &objects);
        assert_eq!(cache.get(&key), Some(objects));
        fs::write(cache.path(&key), "[{").unwrap();
        assert!(cache.get::<Vec<Value>>(&key).is_none());
    }
}
