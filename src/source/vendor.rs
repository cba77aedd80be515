//! `crunch vendor`: everything a build took from its sources, as one deterministic
//! archive that rebuilds the same bundle offline (`crunch build --vendor FILE
//! --offline`), in an enclave that has the customer repository but no network.
//!
//! The archive holds the cache entries the build used ([`Store::used`]) and the lock:
//!
//! ```text
//! crunch.lock                         the pins the build used
//! cache/trees/<tree id>/…             git trees at their pinned commits, as checked out
//! cache/blobs/sha256/<hex>            chart archives, OCI manifests and layers,
//!                                     cosign signature manifests and payloads
//! cache/signatures/<hex>              which signature verified which artifact
//! ```
//!
//! What a build derives from these (Flux artifacts, recursive checkouts, extracted
//! layers) is derived again. Importing checks every entry's name, every blob against its
//! digest and every symlink against its tree, and adds only what the cache lacks.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::blobs::sha256_digest;
use super::error::Error;
use super::lock::Lock;
use super::store::Store;
use crate::archive::{ArchiveFile, decompress};

/// The lock's name inside the archive.
const LOCK_ENTRY: &str = "crunch.lock";
/// Where cache entries sit inside the archive.
const CACHE_PREFIX: &str = "cache/";

/// What a vendor archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Vendored {
    /// Git trees.
    pub trees: usize,
    /// Blobs (charts, manifests, layers, signatures).
    pub blobs: usize,
    /// Files in all, the lock included.
    pub files: usize,
}

/// Writes the archive of what `store` used, with `lock`, to `out` (compressed as its
/// name says), through a temporary sibling.
pub fn write(store: &Store, lock: &Lock, out: &Path) -> Result<Vendored, Error> {
    let fail = |message: String| Error::Vendor {
        archive: out.to_path_buf(),
        message,
    };
    let cache = store.cache_dir();
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut summary = Vendored::default();
    for used in store.used() {
        let path = cache.join(&used);
        if used.starts_with("trees/") {
            if !path.is_dir() {
                return Err(fail(format!("the cache lost {used} during the build")));
            }
            summary.trees += 1;
            collect_tree(&path, &format!("{CACHE_PREFIX}{used}"), &mut entries)
                .map_err(|e| fail(format!("{used}: {e}")))?;
        } else if path.is_file() {
            summary.blobs += usize::from(used.starts_with("blobs/"));
            entries.insert(format!("{CACHE_PREFIX}{used}"), Entry::File(path, false));
        }
    }
    entries.insert(
        LOCK_ENTRY.to_string(),
        Entry::Bytes(lock.render().into_bytes()),
    );
    summary.files = entries.len();
    let (file, mut writer) = ArchiveFile::create(out).map_err(fail)?;
    for (name, entry) in &entries {
        let written = match entry {
            Entry::File(path, executable) => fs::File::open(path).and_then(|f| {
                let size = f.metadata()?.len();
                writer.file(name, size, f, *executable)
            }),
            Entry::Bytes(bytes) => writer.file(name, bytes.len() as u64, bytes.as_slice(), false),
            Entry::Symlink(target) => writer.symlink(name, target),
        };
        written.map_err(|e| fail(format!("{name}: {e}")))?;
    }
    file.commit(writer).map_err(fail)?;
    Ok(summary)
}

/// One archive entry, by where its content comes from.
enum Entry {
    File(PathBuf, bool),
    Bytes(Vec<u8>),
    Symlink(PathBuf),
}

/// Every file and symlink under `dir`, named `prefix/<relative path>`.
fn collect_tree(
    dir: &Path,
    prefix: &str,
    entries: &mut BTreeMap<String, Entry>,
) -> std::io::Result<()> {
    for child in fs::read_dir(dir)? {
        let child = child?;
        let name = child.file_name();
        let Some(name) = name.to_str() else {
            return Err(std::io::Error::other(format!(
                "{} is not UTF-8",
                child.path().display()
            )));
        };
        let entry_name = format!("{prefix}/{name}");
        let kind = child.file_type()?;
        if kind.is_symlink() {
            entries.insert(entry_name, Entry::Symlink(fs::read_link(child.path())?));
        } else if kind.is_dir() {
            collect_tree(&child.path(), &entry_name, entries)?;
        } else {
            entries.insert(
                entry_name,
                Entry::File(child.path(), is_executable(&child.metadata()?)),
            );
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

/// Adds the cache entries of the vendor archive `archive` to the cache at `cache_dir`
/// and returns its lock. Nothing is added unless every entry checks out.
pub fn import(archive: &Path, cache_dir: &Path) -> Result<Lock, Error> {
    let fail = |message: String| Error::Vendor {
        archive: archive.to_path_buf(),
        message,
    };
    let bytes = fs::read(archive).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let reader = decompress(&bytes).map_err(|e| fail(e.to_string()))?;
    let staging = super::remote::tempdir_beside(&cache_dir.join("vendor"));
    let result = (|| {
        let lock = unpack(reader, &staging, &fail)?;
        for area in ["trees", "signatures", "blobs/sha256"] {
            let from = staging.join(area);
            let Ok(children) = fs::read_dir(&from) else {
                continue;
            };
            let into = cache_dir.join(area);
            fs::create_dir_all(&into).map_err(|e| fail(format!("{}: {e}", into.display())))?;
            for child in children {
                let child = child.map_err(|e| fail(e.to_string()))?;
                let target = into.join(child.file_name());
                if !target.exists() {
                    fs::rename(child.path(), &target)
                        .map_err(|e| fail(format!("{}: {e}", target.display())))?;
                }
            }
        }
        let text = String::from_utf8(lock).map_err(|_| fail("crunch.lock is not UTF-8".into()))?;
        Lock::parse(&text, &archive.join(LOCK_ENTRY))
    })();
    // Best effort: whatever was not moved into the cache is abandoned staging.
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Unpacks and checks every entry into `staging`; the lock's bytes.
fn unpack(
    reader: Box<dyn Read + '_>,
    staging: &Path,
    fail: &dyn Fn(String) -> Error,
) -> Result<Vec<u8>, Error> {
    let mut tar = tar::Archive::new(reader);
    let mut lock = None;
    for entry in tar.entries().map_err(|e| fail(e.to_string()))? {
        let mut entry = entry.map_err(|e| fail(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| fail(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if name == LOCK_ENTRY {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| fail(format!("{name}: {e}")))?;
            lock = Some(bytes);
            continue;
        }
        let relative = checked_name(&name).map_err(|e| fail(format!("entry {name}: {e}")))?;
        let path = staging.join(&relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| fail(format!("{name}: {e}")))?;
        }
        if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(|e| fail(format!("{name}: {e}")))?
                .ok_or_else(|| fail(format!("{name}: a symlink without a target")))?;
            if !stays_in_tree(&relative, &target) {
                return Err(fail(format!(
                    "{name}: its symlink points to {}, outside its tree",
                    target.display()
                )));
            }
            std::os::unix::fs::symlink(&target, &path).map_err(|e| fail(format!("{name}: {e}")))?;
            continue;
        }
        if !kind.is_file() {
            return Err(fail(format!("{name}: not a file or a symlink")));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("{name}: {e}")))?;
        if let Some(hex) = relative.strip_prefix("blobs/sha256/")
            && sha256_digest(&bytes) != format!("sha256:{hex}")
        {
            return Err(fail(format!(
                "{name} holds {}, not the blob it is named for: the archive was altered",
                sha256_digest(&bytes)
            )));
        }
        fs::write(&path, &bytes).map_err(|e| fail(format!("{name}: {e}")))?;
        let mode = entry.header().mode().unwrap_or(0o644);
        set_mode(&path, if mode & 0o111 != 0 { 0o755 } else { 0o644 })
            .map_err(|e| fail(format!("{name}: {e}")))?;
    }
    lock.ok_or_else(|| fail("no crunch.lock: not a crunch vendor archive".into()))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The cache path an archive entry names (`cache/…` without its prefix), when it is one
/// a vendor archive may hold: a tree's file, a blob or a signature record.
fn checked_name(name: &str) -> Result<String, String> {
    let relative = name.strip_prefix(CACHE_PREFIX).ok_or("not under cache/")?;
    if Path::new(relative)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err("not a plain relative path".into());
    }
    let hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let parts: Vec<&str> = relative.split('/').collect();
    let fits = match parts.as_slice() {
        ["trees", id, _, ..] => hex(id, 40) || hex(id, 64),
        ["blobs", "sha256", digest] => hex(digest, 64),
        ["signatures", record] => hex(record, 64),
        _ => false,
    };
    if fits {
        Ok(relative.to_string())
    } else {
        Err("not a tree file, blob or signature record".into())
    }
}

/// Whether the symlink at `link` (`trees/<id>/…`) pointing to `target` resolves inside
/// its tree.
fn stays_in_tree(link: &str, target: &Path) -> bool {
    let in_tree = link.splitn(3, '/').nth(2).unwrap_or_default();
    super::worktree::stays_inside(in_tree, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cache_entries_are_accepted() {
        let tree = "a".repeat(40);
        let blob = "b".repeat(64);
        assert_eq!(
            checked_name(&format!("cache/trees/{tree}/dir/file")).unwrap(),
            format!("trees/{tree}/dir/file")
        );
        assert!(checked_name(&format!("cache/blobs/sha256/{blob}")).is_ok());
        assert!(checked_name(&format!("cache/signatures/{blob}")).is_ok());
        for bad in [
            format!("trees/{tree}/file"),
            format!("cache/trees/{tree}"),
            format!("cache/trees/{tree}/../../etc/passwd"),
            "cache/trees/xyz/file".to_string(),
            format!("cache/blobs/sha256/{}", "B".repeat(64)),
            "cache/git/repo/HEAD".to_string(),
            "/cache/blobs".to_string(),
        ] {
            assert!(checked_name(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn symlinks_must_stay_in_their_tree() {
        let link = "trees/t/dir/link";
        assert!(stays_in_tree(link, Path::new("../other/file")));
        assert!(stays_in_tree(link, Path::new("sibling")));
        assert!(!stays_in_tree(link, Path::new("../../escape")));
        assert!(!stays_in_tree(link, Path::new("/etc/passwd")));
        assert!(!stays_in_tree("trees/t/link", Path::new("..")));
    }
}
