//! An OCI image layout pushed into a registry (the enclave's): each image goes where
//! [`ImageRef::relocated`] puts it, with the same bytes, so the same digests.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::ImageRef;
use super::access::{RegistryAccess, repository};
use super::layout::{BlobState, CONTAINERD_NAME_ANNOTATION, Layout, REF_NAME_ANNOTATION};
use super::manifest::{Content, Manifest};
use super::pull::Transfer;
use crate::progress::Progress;
use crate::source::oci::{Descriptor, OciReference, RegistryAuth};

/// How deep indexes may nest (as pulled).
const MAX_INDEX_DEPTH: usize = 4;

/// One image pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    /// The image's full reference in the layout.
    pub source: String,
    /// Where it went.
    pub target: String,
    /// The digest of its manifest (or index), the same in the registry as in the layout.
    pub digest: String,
    /// Blobs uploaded.
    pub pushed_blobs: usize,
    /// Blobs the registry already had.
    pub existing_blobs: usize,
}

/// The images a push stored, in the layout's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Each image.
    pub images: Vec<PushedImage>,
}

/// Pushes every image of the OCI image layout `dir` into `registry` (`host[:port]`,
/// maybe with a path prefix): each entry's full reference
/// (`io.containerd.image.name`, else `org.opencontainers.image.ref.name`) relocated
/// there ([`ImageRef::relocated`]), with its tag (or, without one, by digest). Per
/// image: every blob of the layout it needs is checked against its digest first, so a
/// missing or corrupt one fails the image before anything of it is pushed; then blobs
/// the registry lacks are uploaded, manifests an index lists are put before the index,
/// and the digest the registry stored the top manifest under is checked to be the
/// layout's. An image that fails does not stop the others; the error names every
/// failed image.
pub fn push(
    dir: &Path,
    registry: &str,
    access: &RegistryAccess,
    progress: &dyn Progress,
) -> Result<PushReport, String> {
    let layout = Layout::open(dir)?;
    let entries = layout.entries()?;
    if entries.is_empty() {
        return Err(format!("{}: the layout holds no images", dir.display()));
    }
    let pusher = Pusher {
        layout,
        access,
        progress,
    };
    let mut images = Vec::new();
    let mut failures = Vec::new();
    for entry in &entries {
        match pusher.push(entry, registry) {
            Ok(image) => images.push(image),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        let pushed: Vec<&str> = images.iter().map(|i| i.target.as_str()).collect();
        return Err(format!(
            "{}{}",
            failures.join("\n"),
            if pushed.is_empty() {
                String::new()
            } else {
                format!("\n(pushed: {})", pushed.join(", "))
            }
        ));
    }
    Ok(PushReport { images })
}

/// A push under way.
struct Pusher<'a> {
    layout: Layout,
    access: &'a RegistryAccess,
    progress: &'a dyn Progress,
}

/// What one image has in the layout, checked.
#[derive(Default)]
struct Tree {
    /// Manifests an index lists, children before parents: digest, media type, bytes.
    children: Vec<(String, String, Vec<u8>)>,
    /// Config and layer blobs, each once.
    blobs: Vec<Descriptor>,
}

impl Pusher<'_> {
    fn push(&self, entry: &Value, registry: &str) -> Result<PushedImage, String> {
        let text = |name: &str| entry.get(name).and_then(Value::as_str);
        let digest = text("digest").unwrap_or_default().to_string();
        let name = entry
            .get("annotations")
            .and_then(|a| {
                a.get(CONTAINERD_NAME_ANNOTATION)
                    .or_else(|| a.get(REF_NAME_ANNOTATION))
            })
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "cannot push the layout's entry {digest}: it has no image name \
                     ({CONTAINERD_NAME_ANNOTATION} or {REF_NAME_ANNOTATION})"
                )
            })?;
        let failed = |e: String| format!("cannot push {name}: {e}");
        // A bare tag (what other tools often put in ref.name) would read as a Docker Hub
        // image.
        if !name.contains('/') {
            return Err(failed(format!(
                "its name {name:?} is not a full image reference (registry/repository:tag)"
            )));
        }
        let image = ImageRef::parse(name).map_err(failed)?;
        if let Some(named) = image.digest()
            && named != digest
        {
            return Err(failed(format!(
                "its name pins {named} but its entry is {digest}"
            )));
        }
        let target = image.relocated(registry).map_err(failed)?;
        let top = self.layout.read_blob(&digest).map_err(failed)?;
        let manifest = Manifest::parse(&top, text("mediaType"))
            .map_err(|e| failed(format!("manifest {digest}: {e}")))?;
        let mut tree = Tree::default();
        self.collect(&manifest, &mut tree, 0).map_err(failed)?;
        self.check_blobs(&tree).map_err(failed)?;
        let repo = repository(&target);
        let auth = self.access.auth(target.registry()).map_err(failed)?;
        let shown = target.to_string();
        let total = tree.blobs.iter().map(|b| b.size).sum::<u64>()
            + tree
                .children
                .iter()
                .map(|(_, _, b)| b.len() as u64)
                .sum::<u64>()
            + top.len() as u64;
        let mut transfer = Transfer::start(&shown, total, self.progress);
        let pushed = self.upload(&repo, &auth, &tree, &mut transfer);
        let put = pushed.and_then(|counts| {
            let reference = target.tag().unwrap_or(&digest);
            let stored = self
                .access
                .client()
                .push_manifest(&repo, reference, &manifest.media_type, &top, &auth)
                .map_err(|e| e.to_string())?;
            transfer.moved(top.len() as u64);
            if stored != digest {
                return Err(format!(
                    "the registry stored it as {stored}, not the layout's {digest}"
                ));
            }
            Ok(counts)
        });
        transfer.finish();
        let (pushed_blobs, existing_blobs) = put.map_err(failed)?;
        Ok(PushedImage {
            source: name.to_string(),
            target: shown,
            digest,
            pushed_blobs,
            existing_blobs,
        })
    }

    /// Adds what `manifest` refers to, from the layout, to the tree.
    fn collect(&self, manifest: &Manifest, tree: &mut Tree, depth: usize) -> Result<(), String> {
        match &manifest.content {
            Content::Image { config, layers } => {
                for blob in std::iter::once(config).chain(layers) {
                    if !tree.blobs.iter().any(|b| b.digest == blob.digest) {
                        tree.blobs.push(blob.clone());
                    }
                }
            }
            Content::Index(children) => {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(format!("its indexes nest deeper than {MAX_INDEX_DEPTH}"));
                }
                for (child, _) in children {
                    let bytes = self.layout_blob(&child.digest)?;
                    let parsed = Manifest::parse(&bytes, Some(&child.media_type))
                        .map_err(|e| format!("manifest {}: {e}", child.digest))?;
                    self.collect(&parsed, tree, depth + 1)?;
                    if !tree.children.iter().any(|(d, _, _)| *d == child.digest) {
                        tree.children
                            .push((child.digest.clone(), parsed.media_type, bytes));
                    }
                }
            }
        }
        Ok(())
    }

    /// The layout's blob `digest`, read and checked, or an error naming it.
    fn layout_blob(&self, digest: &str) -> Result<Vec<u8>, String> {
        match self.layout.blob_state(digest)? {
            BlobState::Missing => Err(self.missing(digest)),
            _ => self.layout.read_blob(digest),
        }
    }

    fn missing(&self, digest: &str) -> String {
        let path = self.layout.blob_path(digest).unwrap_or_default();
        format!(
            "the layout's blob {digest} is missing ({}); pull the image again",
            path.display()
        )
    }

    /// Every config and layer blob of the tree is in the layout with its bytes.
    fn check_blobs(&self, tree: &Tree) -> Result<(), String> {
        for blob in &tree.blobs {
            match self.layout.blob_state(&blob.digest)? {
                BlobState::Verified => {}
                BlobState::Missing => return Err(self.missing(&blob.digest)),
                BlobState::Corrupt(actual) => {
                    return Err(format!(
                        "the layout's blob {} ({}) is corrupt: its sha256 is {actual}; pull \
                         the image again",
                        blob.digest,
                        self.layout.blob_path(&blob.digest)?.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Uploads the blobs the registry lacks, then the manifests an index lists; how
    /// many blobs were uploaded and how many the registry had.
    fn upload(
        &self,
        repo: &OciReference,
        auth: &RegistryAuth,
        tree: &Tree,
        transfer: &mut Transfer<'_>,
    ) -> Result<(usize, usize), String> {
        let client = self.access.client();
        let (mut pushed, mut existing) = (0, 0);
        let mut done = HashSet::new();
        for blob in &tree.blobs {
            if !done.insert(&blob.digest) {
                continue;
            }
            if client
                .blob_exists(repo, &blob.digest, auth)
                .map_err(|e| e.to_string())?
            {
                existing += 1;
                transfer.found(blob.size);
                continue;
            }
            let path = self.layout.blob_path(&blob.digest)?;
            client
                .push_blob(repo, &blob.digest, &path, auth, &mut |n| transfer.moved(n))
                .map_err(|e| e.to_string())?;
            pushed += 1;
        }
        for (digest, media_type, bytes) in &tree.children {
            client
                .push_manifest(repo, digest, media_type, bytes, auth)
                .map_err(|e| e.to_string())?;
            transfer.moved(bytes.len() as u64);
        }
        Ok((pushed, existing))
    }
}
