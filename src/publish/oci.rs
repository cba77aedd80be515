//! The bundle as an OCI artifact, so that it travels through the registries an enclave
//! already mirrors (`crunch push BUNDLE oci://REGISTRY/REPO:TAG`; `crunch apply`,
//! `crunch verify` and `crunch diff` read `oci://` references).
//!
//! The artifact (OCI image-spec 1.1, `artifactType` [`ARTIFACT_TYPE`]) is:
//! - its config: the bundle's `index.json` ([`INDEX_MEDIA_TYPE`]), so a registry browser
//!   or `oras manifest fetch-config` shows components, images and sources without the
//!   rest;
//! - one layer: the bundle's archive form, `.tar.zst` ([`ARCHIVE_MEDIA_TYPE`]), the same
//!   bytes `crunch build --archive bundle.tar.zst` writes, signature and sealing key
//!   included;
//! - the bundle digest as the annotation [`DIGEST_ANNOTATION`].
//!
//! One archive layer rather than one layer per object: a Big Bang bundle holds hundreds
//! of objects, and a layer each would mean as many uploads and a manifest near the size
//! registries accept (distribution's 4 MiB), to save re-uploading files of a few
//! kilobytes; and the one layer is the archive form byte for byte, so the bundle read
//! from a registry is checked exactly as one read from disk. The manifest's bytes depend
//! only on the bundle, so pushing the same bundle twice gives the same manifest digest.

use std::path::Path;

use serde_json::json;

use crate::bundle::{self, VerifiedBundle};
use crate::error::Error;
use crate::images::RegistryAccess;
use crate::source::oci::OciReference;

/// The artifact's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.crunch.bundle.v1";
/// The config blob's media type: the bundle's `index.json`.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.crunch.bundle.index.v1+json";
/// The layer's media type: the bundle's deterministic `.tar.zst` archive.
pub const ARCHIVE_MEDIA_TYPE: &str = "application/vnd.crunch.bundle.archive.v1.tar+zstd";
/// The manifest annotation holding the bundle digest.
pub const DIGEST_ANNOTATION: &str = "dev.crunch.bundle.digest";

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Bundles larger than this are refused rather than read into memory.
const MAX_BUNDLE_BYTES: usize = 2 << 30;

/// `oci://host[:port]/repository:tag` or `…@sha256:…`: where a bundle artifact is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRef {
    /// The repository.
    pub repository: OciReference,
    /// The tag or the manifest digest.
    pub reference: String,
}

impl BundleRef {
    /// Whether `text` names an artifact rather than a path.
    pub fn is_oci(text: &str) -> bool {
        text.starts_with("oci://")
    }

    /// Reads `oci://host/repository:tag` or `oci://host/repository@sha256:…`.
    pub fn parse(text: &str) -> Result<BundleRef, String> {
        let (url, reference) = match text.rsplit_once('@') {
            Some((url, digest)) => (url, digest.to_string()),
            None => {
                let after_host = text.strip_prefix("oci://").and_then(|rest| rest.find('/'));
                let tag_at = after_host.and_then(|slash| {
                    let path_start = "oci://".len() + slash;
                    text[path_start..].rfind(':').map(|i| path_start + i)
                });
                match tag_at {
                    Some(at) => (&text[..at], text[at + 1..].to_string()),
                    None => {
                        return Err(format!(
                            "{text}: name the bundle's tag or digest (oci://host/repository:tag)"
                        ));
                    }
                }
            }
        };
        Ok(BundleRef {
            repository: OciReference::parse(url)?,
            reference,
        })
    }
}

impl std::fmt::Display for BundleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let separator = if self.reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        write!(f, "{}{separator}{}", self.repository, self.reference)
    }
}

/// What a push stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The bundle digest.
    pub bundle_digest: String,
    /// The artifact manifest's digest.
    pub manifest_digest: String,
    /// The archive layer's size in bytes.
    pub size: u64,
}

/// Pushes the bundle at `path` (a directory or an archive, verified first) as the
/// artifact `target` (which names a tag).
pub fn push(path: &Path, target: &BundleRef, access: &RegistryAccess) -> Result<Pushed, Error> {
    let fail = |e: String| Error::new(format!("push to {target}: {e}"));
    if target.reference.starts_with("sha256:") {
        return Err(fail(
            "push to a tag: the digest is the registry's to compute".into(),
        ));
    }
    let bundle::ArchivedBundle {
        bundle: verified,
        index,
        archive,
    } = bundle::read_as_archive(path, bundle::Compression::Zstd)?;
    let blob = |bytes: &[u8]| format!("sha256:{}", crate::gostd::sha256::hex(bytes));
    // index.json is what the bundle digest is of: the config's digest is the bundle's.
    let (index_digest, archive_digest) = (verified.digest.clone(), blob(&archive));

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": INDEX_MEDIA_TYPE, "digest": index_digest, "size": index.len()},
        "layers": [{
            "mediaType": ARCHIVE_MEDIA_TYPE,
            "digest": archive_digest,
            "size": archive.len(),
            "annotations": {"org.opencontainers.image.title": "bundle.tar.zst"},
        }],
        "annotations": {DIGEST_ANNOTATION: verified.digest},
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| fail(e.to_string()))?;
    let client = access.client();
    let auth = access.auth(&target.repository.registry).map_err(fail)?;
    let scratch = scratch_dir(path).map_err(|e| fail(e.to_string()))?;
    let pushed = (|| {
        for (digest, bytes) in [(&index_digest, &index), (&archive_digest, &archive)] {
            if client
                .blob_exists(&target.repository, digest, &auth)
                .map_err(|e| fail(e.to_string()))?
            {
                continue;
            }
            let file = scratch.join(&digest["sha256:".len()..]);
            std::fs::write(&file, bytes).map_err(|e| fail(e.to_string()))?;
            client
                .push_blob(&target.repository, digest, &file, &auth, &mut |_| {})
                .map_err(|e| fail(e.to_string()))?;
        }
        client
            .push_manifest(
                &target.repository,
                &target.reference,
                MANIFEST_MEDIA_TYPE,
                &manifest,
                &auth,
            )
            .map_err(|e| fail(e.to_string()))
    })();
    // Best effort: the scratch files are copies.
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Pushed {
        bundle_digest: verified.digest,
        manifest_digest: pushed?,
        size: archive.len() as u64,
    })
}

/// Reads the bundle artifact `source` and verifies it as a bundle read from disk is
/// verified; the manifest must be a crunch bundle's and name the digest the bundle has.
pub fn pull(source: &BundleRef, access: &RegistryAccess) -> Result<VerifiedBundle, Error> {
    let fail = |e: String| Error::new(format!("{source}: {e}"));
    let client = access.client();
    let auth = access.auth(&source.repository.registry).map_err(fail)?;
    let manifest = client
        .manifest(&source.repository, &source.reference, &auth)
        .map_err(|e| fail(e.to_string()))?;
    let parsed: serde_json::Value = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| fail(format!("the manifest is not JSON: {e}")))?;
    if parsed["artifactType"] != ARTIFACT_TYPE {
        return Err(fail(format!(
            "not a crunch bundle: its artifactType is {}, not {ARTIFACT_TYPE}",
            parsed["artifactType"]
        )));
    }
    let layers = parsed["layers"].as_array().cloned().unwrap_or_default();
    let layer = match layers.as_slice() {
        [layer] if layer["mediaType"] == ARCHIVE_MEDIA_TYPE => layer,
        _ => {
            return Err(fail(format!(
                "a crunch bundle has one layer of type {ARCHIVE_MEDIA_TYPE}"
            )));
        }
    };
    let digest = layer["digest"]
        .as_str()
        .ok_or_else(|| fail("its layer has no digest".into()))?;
    let archive = client
        .blob_bytes(&source.repository, digest, MAX_BUNDLE_BYTES, &auth)
        .map_err(|e| fail(e.to_string()))?;
    let bundle = bundle::read_archive_bytes(&archive).map_err(|e| fail(e.to_string()))?;
    let named = &parsed["annotations"][DIGEST_ANNOTATION];
    if *named != bundle.digest {
        return Err(fail(format!(
            "the manifest names the bundle {named}, but its layer holds {}",
            bundle.digest
        )));
    }
    Ok(bundle)
}

/// A scratch directory in the system's temporary directory for the blob files of one
/// push (the registry client uploads files), named by this process and the bundle's path.
fn scratch_dir(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "crunch-push-{}-{}",
        std::process::id(),
        crate::gostd::sha256::hex(path.as_os_str().as_encoded_bytes())
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_tag_or_a_digest() {
        let tagged = BundleRef::parse("oci://127.0.0.1:5000/bundles/dev:1.0").unwrap();
        assert_eq!(tagged.repository.registry, "127.0.0.1:5000");
        assert_eq!(tagged.repository.repository, "bundles/dev");
        assert_eq!(tagged.reference, "1.0");
        assert_eq!(tagged.to_string(), "oci://127.0.0.1:5000/bundles/dev:1.0");
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = BundleRef::parse(&format!("oci://reg.example/b@{digest}")).unwrap();
        assert_eq!(pinned.reference, digest);
        assert_eq!(pinned.to_string(), format!("oci://reg.example/b@{digest}"));
        for bad in [
            "oci://reg.example:5000/b",
            "oci://reg.example",
            "https://r/b:1",
        ] {
            assert!(BundleRef::parse(bad).is_err(), "{bad}");
        }
    }
}
