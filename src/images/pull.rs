//! Images from their registries: a tag resolved to the digest of its manifest
//! ([`resolve`]), and images pulled into an OCI image layout ([`pull`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{Value, json};

use super::access::RegistryAccess;
use super::layout::{BlobState, CONTAINERD_NAME_ANNOTATION, Layout, REF_NAME_ANNOTATION, ref_name};
use super::manifest::{Content, Manifest};
use super::{ImageRef, Platform};
use crate::progress::{Event, Progress};
use crate::source::oci::{Descriptor, OciReference, RegistryAuth};

/// How deep indexes may nest (an index of indexes of manifests is two).
const MAX_INDEX_DEPTH: usize = 4;

/// How many images are pulled at once: transfers wait on the network more than on the
/// processor, so this does not follow the number of cores.
const PARALLEL_IMAGES: usize = 4;

/// The digest the image's tag names (or its digest, when the reference has one): of the
/// manifest or index exactly as the registry serves it, as `crane digest` and `skopeo
/// inspect --format {{.Digest}}` report it. With `platform`, and an index, the digest of
/// that platform's manifest in the index.
pub fn resolve(
    image: &ImageRef,
    platform: Option<&Platform>,
    access: &RegistryAccess,
) -> Result<String, String> {
    let failed = |e: String| format!("cannot resolve {image}: {e}");
    let repo = access.locate(image).map_err(failed)?;
    let auth = access.auth(&repo.registry).map_err(failed)?;
    let reference = image.digest().or(image.tag()).unwrap_or("latest");
    let served = access
        .client()
        .manifest(&repo, reference, &auth)
        .map_err(|e| failed(e.to_string()))?;
    let Some(platform) = platform else {
        return Ok(served.digest);
    };
    let manifest = Manifest::parse(&served.bytes, served.media_type.as_deref()).map_err(failed)?;
    match &manifest.content {
        Content::Index(children) => select(children, platform, image).map(|d| d.digest.clone()),
        Content::Image { .. } => Ok(served.digest),
    }
}

/// One image to pull: the reference it is pulled from, and the manifest digest it is
/// pinned to, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The image, as the registry that serves it names it.
    pub image: ImageRef,
    /// The pinned digest (the lock's, or the bundle's); `None` pulls the tag.
    pub digest: Option<String>,
}

/// One image pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    /// The image's full reference: its layout entry's name.
    pub image: String,
    /// The digest of the manifest (or index) its entry names.
    pub digest: String,
    /// Blobs (manifests included) downloaded.
    pub fetched_blobs: usize,
    /// Bytes downloaded.
    pub fetched_bytes: u64,
    /// Blobs that were already in the layout, checked against their digests.
    pub present_blobs: usize,
}

/// The images a pull wrote into the layout, in the order asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// Each image.
    pub images: Vec<PulledImage>,
}

/// Pulls each image into the OCI image layout `dir` (created if need be): its manifest
/// (or index, and every manifest the index lists), config and layers, each blob checked
/// against its digest and stored once however many images share it. A blob already in
/// the layout with the right bytes is not downloaded again, so a pull that was stopped
/// resumes. The image's entry in `index.json` names it by its full reference
/// (`org.opencontainers.image.ref.name`, which `skopeo … oci:DIR:REF` looks up, and
/// `io.containerd.image.name`); an entry of the same name is replaced.
///
/// Images are pulled a few at a time; a blob that several need is downloaded once.
/// Each comes from its registry, or the mirror `access` gives for it
/// ([`RegistryAccess::with_mirrors`]), and is named by its own reference either way.
///
/// A pinned image is pulled by its digest, never by its tag; an unpinned one by its
/// tag, its entry recording the digest it got. With `platform`, an index is narrowed to
/// that platform's manifest, which is what the entry names; an image pinned to an index
/// is then refused, as the entry's digest would not be the pinned one.
pub fn pull(
    requests: &[PullRequest],
    dir: &Path,
    platform: Option<&Platform>,
    access: &RegistryAccess,
    progress: &dyn Progress,
) -> Result<PullReport, String> {
    let layout = Layout::create(dir)?;
    let puller = Puller {
        layout,
        access,
        progress,
        verified: Mutex::default(),
        index: Mutex::default(),
        claims: Mutex::default(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(PARALLEL_IMAGES)
        .thread_name(|i| format!("crunch-pull-{i}"))
        .build()
        .map_err(|e| format!("cannot start the pull's threads: {e}"))?;
    let pulled: Vec<Result<PulledImage, String>> = pool.install(|| {
        requests
            .par_iter()
            .map(|request| {
                puller
                    .pull(request, platform)
                    .map_err(|e| format!("cannot pull {}: {e}", request.image))
            })
            .collect()
    });
    let (images, failures): (Vec<_>, Vec<_>) = pulled.into_iter().partition(Result::is_ok);
    if !failures.is_empty() {
        let failures: Vec<String> = failures.into_iter().filter_map(Result::err).collect();
        return Err(failures.join("\n"));
    }
    Ok(PullReport {
        images: images.into_iter().filter_map(Result::ok).collect(),
    })
}

/// The platform's manifest among an index's, or an error naming those on offer.
fn select<'m>(
    children: &'m [(Descriptor, Option<Platform>)],
    platform: &Platform,
    image: &ImageRef,
) -> Result<&'m Descriptor, String> {
    children
        .iter()
        .find(|(_, offered)| offered.as_ref().is_some_and(|o| platform.matches(o)))
        .map(|(descriptor, _)| descriptor)
        .ok_or_else(|| {
            let offered: Vec<String> = children
                .iter()
                .filter_map(|(_, p)| p.as_ref().map(Platform::to_string))
                .collect();
            format!(
                "{image} has no manifest for {platform}; its index offers {}",
                if offered.is_empty() {
                    "no platforms".to_string()
                } else {
                    offered.join(", ")
                }
            )
        })
}

/// A pull under way.
struct Puller<'a> {
    layout: Layout,
    access: &'a RegistryAccess,
    progress: &'a dyn Progress,
    /// Blobs checked (or written) during this pull.
    verified: Mutex<HashSet<String>>,
    /// Held while `index.json` is rewritten.
    index: Mutex<()>,
    /// A lock per blob, held while it is checked or downloaded.
    claims: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// Where one image's manifests come from and what they refer to.
struct Source<'a> {
    image: &'a ImageRef,
    repo: OciReference,
    auth: RegistryAuth,
}

/// What one image needs in the layout.
#[derive(Default)]
struct Plan {
    /// Manifests, with their sizes and whether they were downloaded.
    manifests: Vec<(u64, bool)>,
    /// Config and layer blobs, each once.
    blobs: Vec<Descriptor>,
}

impl Puller<'_> {
    /// Whether the blob `digest` was checked or written during this pull.
    fn marked(&self, digest: &str) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(digest)
    }

    /// The lock of the blob `digest`.
    fn claim(&self, digest: &str) -> Arc<Mutex<()>> {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(digest.to_string())
            .or_default()
            .clone()
    }

    /// Records that the blob `digest` is in the layout with its bytes.
    fn mark(&self, digest: &str) {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest.to_string());
    }

    /// Pulls one image and records its entry.
    fn pull(
        &self,
        request: &PullRequest,
        platform: Option<&Platform>,
    ) -> Result<PulledImage, String> {
        let image = &request.image;
        let pinned = match (request.digest.as_deref(), image.digest()) {
            (Some(given), Some(named)) if given != named => {
                return Err(format!(
                    "it is pinned to {given} but its reference names {named}"
                ));
            }
            (given, named) => given.or(named),
        };
        let repo = self.access.locate(image)?;
        let source = Source {
            image,
            auth: self.access.auth(&repo.registry)?,
            repo,
        };
        let mut plan = Plan::default();
        let (mut bytes, mut digest) = match pinned {
            Some(digest) => (
                self.manifest(&source, digest, &mut plan)?,
                digest.to_string(),
            ),
            None => self.tagged(&source, &mut plan)?,
        };
        let mut manifest =
            Manifest::parse(&bytes, None).map_err(|e| format!("manifest {digest}: {e}"))?;
        let mut narrowed = None;
        if let (Some(platform), Content::Index(children)) = (platform, &manifest.content) {
            if let Some(pinned) = pinned {
                return Err(format!(
                    "it is pinned to {pinned}, an index of platforms; pulled for --platform \
                     {platform} its entry would name that platform's manifest, not the digest \
                     the bundle references: pin it per platform (crunch images resolve \
                     --platform {platform}) or pull without --platform"
                ));
            }
            let chosen = select(children, platform, image)?.clone();
            bytes = self.manifest(&source, &chosen.digest, &mut plan)?;
            manifest = Manifest::parse(&bytes, Some(&chosen.media_type))
                .map_err(|e| format!("manifest {}: {e}", chosen.digest))?;
            digest = chosen.digest;
            narrowed = Some(platform.clone());
        }
        self.collect(&source, &manifest, &mut plan, 0)?;
        let counts = self.fetch_blobs(&source, &plan)?;
        let mut entry = json!({
            "mediaType": manifest.media_type,
            "digest": digest,
            "size": bytes.len(),
            "annotations": {
                CONTAINERD_NAME_ANNOTATION: image.to_string(),
                REF_NAME_ANNOTATION: image.to_string(),
            },
        });
        if let Some(platform) = &narrowed {
            let mut described = json!({"os": platform.os, "architecture": platform.architecture});
            if let Some(variant) = &platform.variant {
                described["variant"] = Value::from(variant.clone());
            }
            entry["platform"] = described;
        }
        let name = image.to_string();
        {
            // Images finish on several threads; index.json is read and written by one
            // at a time.
            let _index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            let mut entries = self.layout.entries()?;
            entries.retain(|e| ref_name(e) != Some(name.as_str()));
            entries.push(entry);
            self.layout.write_entries(entries)?;
        }
        Ok(PulledImage {
            image: name,
            digest,
            fetched_blobs: counts.fetched_blobs,
            fetched_bytes: counts.fetched_bytes,
            present_blobs: counts.present_blobs,
        })
    }

    /// The manifest the image's tag names, fetched and stored; its bytes and digest.
    fn tagged(&self, source: &Source<'_>, plan: &mut Plan) -> Result<(Vec<u8>, String), String> {
        let tag = source.image.tag().unwrap_or("latest");
        let served = self
            .access
            .client()
            .manifest(&source.repo, tag, &source.auth)
            .map_err(|e| e.to_string())?;
        self.layout.write_blob(&served.digest, &served.bytes)?;
        self.mark(&served.digest);
        plan.manifests.push((served.bytes.len() as u64, true));
        Ok((served.bytes, served.digest))
    }

    /// The manifest `digest`: from the layout when it is there with the right bytes,
    /// else fetched by digest and stored.
    fn manifest(
        &self,
        source: &Source<'_>,
        digest: &str,
        plan: &mut Plan,
    ) -> Result<Vec<u8>, String> {
        if self.marked(digest) || self.layout.blob_state(digest)? == BlobState::Verified {
            let bytes = self.layout.read_blob(digest)?;
            self.mark(digest);
            plan.manifests.push((bytes.len() as u64, false));
            return Ok(bytes);
        }
        let served = self
            .access
            .client()
            .manifest(&source.repo, digest, &source.auth)
            .map_err(|e| e.to_string())?;
        self.layout.write_blob(digest, &served.bytes)?;
        self.mark(digest);
        plan.manifests.push((served.bytes.len() as u64, true));
        Ok(served.bytes)
    }

    /// Adds what `manifest` refers to to the plan: an index's manifests (fetched now)
    /// and theirs, an image's config and layers.
    fn collect(
        &self,
        source: &Source<'_>,
        manifest: &Manifest,
        plan: &mut Plan,
        depth: usize,
    ) -> Result<(), String> {
        match &manifest.content {
            Content::Image { config, layers } => {
                for blob in std::iter::once(config).chain(layers) {
                    if !plan.blobs.iter().any(|b| b.digest == blob.digest) {
                        plan.blobs.push(blob.clone());
                    }
                }
            }
            Content::Index(children) => {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(format!("its indexes nest deeper than {MAX_INDEX_DEPTH}"));
                }
                for (child, _) in children {
                    let bytes = self.manifest(source, &child.digest, plan)?;
                    let parsed = Manifest::parse(&bytes, Some(&child.media_type))
                        .map_err(|e| format!("manifest {}: {e}", child.digest))?;
                    self.collect(source, &parsed, plan, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Downloads the plan's blobs that the layout lacks (or has with other bytes).
    fn fetch_blobs(&self, source: &Source<'_>, plan: &Plan) -> Result<Counts, String> {
        let name = source.image.to_string();
        let manifest_bytes: u64 = plan.manifests.iter().map(|(size, _)| size).sum();
        let total = manifest_bytes + plan.blobs.iter().map(|b| b.size).sum::<u64>();
        let mut transfer = Transfer::start(&name, total, self.progress);
        let mut counts = Counts::default();
        for (size, fetched) in &plan.manifests {
            if *fetched {
                counts.fetched_blobs += 1;
                counts.fetched_bytes += size;
                transfer.moved(*size);
            } else {
                counts.present_blobs += 1;
                transfer.found(*size);
            }
        }
        let result = (|| {
            for blob in &plan.blobs {
                // One download of a blob at a time: an image that needs a blob another
                // is downloading waits for it and then finds it in place.
                let claim = self.claim(&blob.digest);
                let _downloading = claim.lock().unwrap_or_else(|e| e.into_inner());
                if self.marked(&blob.digest)
                    || self.layout.blob_state(&blob.digest)? == BlobState::Verified
                {
                    self.mark(&blob.digest);
                    counts.present_blobs += 1;
                    transfer.found(blob.size);
                    continue;
                }
                // A blob with other bytes (a copy altered on disk) is downloaded again,
                // replacing it.
                let path = self.layout.blob_path(&blob.digest)?;
                let mut got = 0;
                self.access
                    .client()
                    .blob_with_progress(&source.repo, &blob.digest, &path, &source.auth, &mut |n| {
                        got += n;
                        transfer.moved(n);
                    })
                    .map_err(|e| e.to_string())?;
                self.mark(&blob.digest);
                counts.fetched_blobs += 1;
                counts.fetched_bytes += got;
            }
            Ok(())
        })();
        transfer.finish();
        result.map(|()| counts)
    }
}

/// What one image's pull did.
#[derive(Default)]
struct Counts {
    fetched_blobs: usize,
    fetched_bytes: u64,
    present_blobs: usize,
}

/// One image's transfer, as progress events.
pub(crate) struct Transfer<'a> {
    image: &'a str,
    progress: &'a dyn Progress,
    total: u64,
    done: u64,
    moved: u64,
    started: Instant,
}

impl<'a> Transfer<'a> {
    /// Reports the start of a transfer of `total` bytes.
    pub(crate) fn start(image: &'a str, total: u64, progress: &'a dyn Progress) -> Self {
        progress.event(&Event::TransferStarted { image, total });
        Transfer {
            image,
            progress,
            total,
            done: 0,
            moved: 0,
            started: Instant::now(),
        }
    }

    /// `bytes` more crossed the network.
    pub(crate) fn moved(&mut self, bytes: u64) {
        self.moved += bytes;
        self.found(bytes);
    }

    /// `bytes` more were found in place.
    pub(crate) fn found(&mut self, bytes: u64) {
        self.done += bytes;
        self.progress.event(&Event::TransferAdvanced {
            image: self.image,
            done: self.done,
            total: self.total,
        });
    }

    /// Reports the end.
    pub(crate) fn finish(self) {
        self.progress.event(&Event::TransferFinished {
            image: self.image,
            moved: self.moved,
            total: self.total,
            elapsed: self.started.elapsed(),
        });
    }
}
