//! Charts of Helm repositories (an HTTP `index.yaml`, or an OCI registry) and artifacts
//! of OCIRepositories, as source-controller gets them: versions and tags resolved by its
//! rules, pinned by `crunch.lock`, every download checked against its digest, cosign
//! signatures verified, kept in the blob cache ([`Blobs`]) and so available `--offline`.
//! Mirrors rewrite registry and repository URLs as they rewrite git URLs.

use std::path::PathBuf;
use std::sync::PoisonError;

use super::blobs::{Blobs, sha256_digest};
use super::cosign::{self, PublicKeys};
use super::error::{Error, Location};
use super::helm_repo::{self, HttpSource, IndexFile};
use super::lock::{ChartKey, ChartPin, OciPin};
use super::oci::{self, OciReference, RegistryAuth, RegistryClient};
use super::remote::BasicAuth;
use super::store::Store;

/// How to reach a chart repository or registry: what source-controller reads from the
/// source's `secretRef` and `certSecretRef` and its flags.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Who to authenticate as.
    pub auth: Auth,
    /// PEM CA certificates trusted besides the store's (`ca.crt`).
    pub ca_pem: Option<Vec<u8>>,
    /// A PEM client certificate and key (`tls.crt`, `tls.key`).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Plain HTTP to an OCI registry (`spec.insecure`).
    pub insecure: bool,
    /// Credentials also go to chart URLs on other hosts (`spec.passCredentials`).
    pub pass_credentials: bool,
}

/// Credentials for a source, and where they come from.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// None: anonymous access.
    #[default]
    Anonymous,
    /// Given on this machine (`crunch.yaml` `credentials`): used wherever the source is
    /// fetched from, a mirror included.
    Configured(Credential),
    /// Read from a Secret the deployment renders: meant for the source's own host, so
    /// never sent to a mirror.
    Declared(Credential),
    /// The source names a Secret that cannot be had; fetching needs it, the lock and the
    /// cache do not. The message says what to do.
    Unavailable(String),
}

/// A username and password, or a docker `config.json` to find them in.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Basic authentication.
    Basic(BasicAuth),
    /// A docker `config.json` (a `.dockerconfigjson`), looked up by registry host.
    DockerConfig(Vec<u8>),
}

/// A chart of a Helm repository, as a HelmRelease's `chart.spec` or a HelmChart names it.
#[derive(Clone)]
pub struct ChartRequest<'a> {
    /// The repository URL as the deployment names it (`https://…` or `oci://…`).
    pub repository: &'a str,
    /// The chart's name.
    pub chart: &'a str,
    /// The version or semver range; empty for the latest.
    pub version: &'a str,
    /// How to reach the repository.
    pub access: &'a Access,
    /// The public keys a cosign signature must verify with (OCI only).
    pub verify: Option<&'a PublicKeys>,
}

/// Where a chart archive came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOrigin {
    /// The repository URL as the deployment names it.
    pub url: String,
    /// The chart's name.
    pub chart: String,
    /// The version or range as requested.
    pub requested: String,
    /// The version it resolved to.
    pub version: String,
    /// The archive's digest (HTTP) or the manifest's (OCI), `sha256:<hex>`.
    pub digest: String,
}

/// A chart archive (`.tgz`) in the blob cache. Never write to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartArchive {
    /// The archive.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: ChartOrigin,
}

/// Which manifest of an OCIRepository: its `spec.ref`, in Flux's precedence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciRef {
    /// A manifest digest.
    Digest(String),
    /// The highest version tag in a semver range, among tags matching a filter.
    Semver {
        /// The range.
        range: String,
        /// A regular expression tags must match.
        filter: Option<String>,
    },
    /// A tag.
    Tag(String),
}

impl OciRef {
    /// The key the lock records it under.
    pub fn lock_key(&self) -> String {
        match self {
            OciRef::Digest(digest) => format!("digest={digest}"),
            OciRef::Semver {
                range,
                filter: None,
            } => format!("semver={range}"),
            OciRef::Semver {
                range,
                filter: Some(filter),
            } => format!("semver={range} filter={filter}"),
            OciRef::Tag(tag) => format!("tag={tag}"),
        }
    }
}

/// An OCIRepository's artifact: which layer of which manifest.
#[derive(Clone)]
pub struct OciArtifactRequest<'a> {
    /// The artifact's URL as the deployment names it, `oci://host/path`.
    pub url: &'a str,
    /// Which manifest.
    pub reference: &'a OciRef,
    /// The layer's media type; the first layer when `None`.
    pub media_type: Option<&'a str>,
    /// How to reach the registry.
    pub access: &'a Access,
    /// The public keys a cosign signature must verify with.
    pub verify: Option<&'a PublicKeys>,
}

/// Where an OCI artifact came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciOrigin {
    /// The URL as the deployment names it.
    pub url: String,
    /// The reference as requested ([`OciRef::lock_key`]).
    pub reference: String,
    /// The tag it resolved to; empty for a reference by digest.
    pub tag: String,
    /// The manifest's digest.
    pub digest: String,
}

impl OciOrigin {
    /// source-controller's revision of the artifact: `<tag>@<digest>`, or the digest alone.
    pub fn revision(&self) -> String {
        if self.tag.is_empty() {
            self.digest.clone()
        } else {
            format!("{}@{}", self.tag, self.digest)
        }
    }
}

/// One layer of an OCI artifact, in the blob cache. Never write to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciArtifact {
    /// The layer's blob.
    pub blob: PathBuf,
    /// The layer's digest.
    pub layer_digest: String,
    /// Where it came from.
    pub origin: OciOrigin,
}

impl Store {
    /// The chart `request` names, from an HTTP repository or an OCI registry: the lock's
    /// pin unless `update` (offline, the lock and the cache alone), else resolved as
    /// source-controller resolves `version`; downloaded, checked against its digest and
    /// (when asked) its cosign signature, and pinned.
    pub fn helm_chart(&self, request: &ChartRequest) -> Result<ChartArchive, Error> {
        let key = ChartKey {
            url: request.repository.to_string(),
            chart: request.chart.to_string(),
            version: request.version.to_string(),
        };
        let known = self.resolved_chart(&key).or_else(|| {
            self.use_lock()
                .then(|| self.config.lock.chart(&key).cloned())
                .flatten()
        });
        let (path, pin) = if request.repository.starts_with("oci://") {
            self.oci_chart(request, known)?
        } else {
            if request.verify.is_some() {
                return Err(Error::Chart {
                    location: Box::new(self.location(request.repository)),
                    chart: request.chart.to_string(),
                    message: "spec.verify is only supported for charts of OCI repositories"
                        .to_string(),
                });
            }
            self.http_chart(request, known)?
        };
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record_chart(key, pin.clone());
        Ok(ChartArchive {
            path,
            origin: ChartOrigin {
                url: request.repository.to_string(),
                chart: request.chart.to_string(),
                requested: request.version.to_string(),
                version: pin.version,
                digest: pin.digest,
            },
        })
    }

    /// An OCIRepository's artifact: the manifest `reference` names (pinned by the lock as
    /// git references are), its cosign signature verified when asked, and the selected
    /// layer in the blob cache.
    pub fn oci_artifact(&self, request: &OciArtifactRequest) -> Result<OciArtifact, Error> {
        let reference_key = request.reference.lock_key();
        let known = self.resolved_oci(request.url, &reference_key).or_else(|| {
            self.use_lock()
                .then(|| self.config.lock.oci(request.url, &reference_key).cloned())
                .flatten()
        });
        let target = self.registry_target(request.url, request.access)?;
        let what = || format!("{} at {}", request.url, reference_key);
        let pin = match known {
            Some(pin) => pin,
            None if self.config.offline => {
                return Err(Error::OfflineUnpinned { what: what() });
            }
            None => {
                let (tag, digest) = match request.reference {
                    OciRef::Digest(digest) => (String::new(), digest.clone()),
                    OciRef::Tag(tag) => {
                        let manifest = target.manifest(tag)?;
                        (tag.clone(), manifest.digest)
                    }
                    OciRef::Semver { range, filter } => {
                        let filter = match filter {
                            Some(text) => Some(regex::Regex::new(text).map_err(|e| {
                                target.failed(format!("spec.ref.semverFilter {text:?}: {e}"))
                            })?),
                            None => None,
                        };
                        let tags = target.tags()?;
                        let tag = oci::latest_artifact_tag(
                            &tags,
                            range,
                            filter.as_ref(),
                            request.media_type,
                        )
                        .map_err(|e| target.failed(e))?;
                        let manifest = target.manifest(&tag)?;
                        (tag, manifest.digest)
                    }
                };
                OciPin { tag, digest }
            }
        };
        let manifest = target.cached_manifest(&pin.digest, &what)?;
        let layer =
            oci::select_layer(&manifest, request.media_type).map_err(|e| target.failed(e))?;
        let blob = target.cached_blob(&layer.digest, &what)?;
        if let Some(keys) = request.verify {
            target.verify(&pin.digest, keys, &what)?;
        }
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record_oci(request.url, &reference_key, pin.clone());
        Ok(OciArtifact {
            blob,
            layer_digest: layer.digest,
            origin: OciOrigin {
                url: request.url.to_string(),
                reference: reference_key,
                tag: pin.tag,
                digest: pin.digest,
            },
        })
    }

    /// The files of an OCIRepository's `artifact` as kustomize-controller gets them: the
    /// gzipped tarball unpacked (symlinks skipped, as fluxcd/pkg's untar does) and, when
    /// `filter` holds (source-controller's layer operation `extract`), filtered by
    /// `.sourceignore` files and `ignore` as a GitRepository's checkout is; a copied layer
    /// is not. Cached under `<cache>/artifacts/`, keyed by the layer and the filter.
    pub fn oci_files(
        &self,
        artifact: &OciArtifact,
        filter: bool,
        ignore: Option<&str>,
    ) -> Result<PathBuf, Error> {
        let key = format!(
            "oci-artifact-v1\0{}\0{filter}\0{}",
            artifact.layer_digest,
            ignore.unwrap_or("\0none")
        );
        let parent = self.config.cache_dir.join("artifacts");
        let dest = parent.join(crate::gostd::sha256::hex(&key));
        if dest.is_dir() {
            return Ok(dest);
        }
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let unpacked = super::remote::tempdir_beside(&dest.with_extension("unpacked"));
        let revision = artifact.origin.revision();
        let result = untar_gz(&artifact.blob, &unpacked)
            .map_err(|message| Error::Artifact {
                url: artifact.origin.url.clone(),
                commit: revision.clone(),
                message: format!(
                    "failed to extract layer {}: {message}",
                    artifact.layer_digest
                ),
            })
            .and_then(|()| {
                if filter {
                    self.archive(&unpacked, (&artifact.origin.url, &revision), ignore, &dest)
                } else {
                    std::fs::rename(&unpacked, &dest).or_else(|source| {
                        // Another thread or process may have won the race.
                        if dest.is_dir() {
                            Ok(())
                        } else {
                            Err(Error::Io {
                                path: dest.clone(),
                                source,
                            })
                        }
                    })
                }
            });
        // Best effort: the unpacked copy is scratch (gone when it was renamed).
        let _ = std::fs::remove_dir_all(&unpacked);
        result.map(|()| dest)
    }

    /// Whether pins of `crunch.lock` are used: always offline, else unless `--update`.
    fn use_lock(&self) -> bool {
        !self.config.update || self.config.offline
    }

    fn resolved_chart(&self, key: &ChartKey) -> Option<ChartPin> {
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .chart(key)
            .cloned()
    }

    fn resolved_oci(&self, url: &str, reference: &str) -> Option<OciPin> {
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .oci(url, reference)
            .cloned()
    }

    /// The requested URL and the one mirrors rewrite it to.
    fn location(&self, url: &str) -> Location {
        Location {
            url: url.to_string(),
            fetched_url: self.config.mirrors.rewrite(url),
        }
    }

    /// The credentials to present at `fetched` for a source at `requested`.
    fn credential<'a>(
        &self,
        access: &'a Access,
        location: &Location,
    ) -> Result<Option<&'a Credential>, String> {
        match &access.auth {
            Auth::Anonymous => Ok(None),
            Auth::Configured(credential) => Ok(Some(credential)),
            // A Secret of the deployment holds credentials for the source's own host.
            Auth::Declared(credential) => Ok((location.url == location.fetched_url
                || host_of(&location.url) == host_of(&location.fetched_url))
            .then_some(credential)),
            Auth::Unavailable(message) => Err(message.clone()),
        }
    }

    /// A chart of an HTTP repository: `index.yaml` read, the version resolved (or the
    /// pinned one looked up), the archive downloaded and checked against the index's
    /// digest and the pin's.
    fn http_chart(
        &self,
        request: &ChartRequest,
        known: Option<ChartPin>,
    ) -> Result<(PathBuf, ChartPin), Error> {
        let blobs = self.blobs();
        let location = self.location(request.repository);
        let what = || {
            format!(
                "chart {} {} of {}",
                request.chart,
                shown_version(request.version),
                request.repository
            )
        };
        if let Some(pin) = &known
            && let Some(path) = blobs.existing(&pin.digest)
        {
            return Ok((path, pin.clone()));
        }
        if self.config.offline {
            return Err(match known {
                None => Error::OfflineUnpinned { what: what() },
                Some(pin) => Error::OfflineMissing {
                    what: what(),
                    digest: pin.digest,
                    cache: self.config.cache_dir.clone(),
                },
            });
        }
        let failed = |message: String| Error::Chart {
            location: Box::new(location.clone()),
            chart: request.chart.to_string(),
            message,
        };
        let auth = self.credential(request.access, &location).map_err(failed)?;
        let basic = match auth {
            None => None,
            Some(Credential::Basic(basic)) => Some(basic.clone()),
            Some(Credential::DockerConfig(_)) => {
                return Err(failed(
                    "a docker config authenticates to OCI registries, not to an HTTP chart repository"
                        .to_string(),
                ));
            }
        };
        let http = HttpSource::new(
            self.ca_pem_for(request.access),
            request.access.identity.clone(),
        )
        .map_err(|e| failed(e.to_string()))?;
        let repository_url =
            helm_repo::normalize_url(&location.fetched_url).map_err(|e| failed(e.to_string()))?;
        let index_url = helm_repo::index_url(&repository_url).map_err(|e| failed(e.to_string()))?;
        let index_bytes = http
            .get(&index_url, basic.as_ref())
            .map_err(|e| self.http_error(e, &location))?;
        let index =
            IndexFile::parse(&index_bytes).map_err(|e| failed(format!("{index_url}: {e}")))?;
        let wanted = known
            .as_ref()
            .map_or(request.version, |pin| pin.version.as_str());
        let entry = index
            .resolve(request.chart, wanted)
            .map_err(|e| failed(e.to_string()))?;
        let chart_url =
            helm_repo::chart_url(&repository_url, entry).map_err(|e| failed(e.to_string()))?;
        let chart_auth = basic.as_ref().filter(|_| {
            helm_repo::credentials_for(&repository_url, &chart_url, request.access.pass_credentials)
        });
        let download = blobs.download_path(&format!("{}.tgz", request.chart))?;
        let index_digest = (!entry.digest.is_empty()).then_some(entry.digest.as_str());
        let hex = http
            .download(&chart_url, chart_auth, &download, index_digest)
            .map_err(|e| self.http_error(e, &location))?;
        let digest = format!("sha256:{hex}");
        if let Some(pin) = &known
            && pin.digest != digest
        {
            let _ = std::fs::remove_file(&download);
            return Err(failed(format!(
                "version {} downloads with digest {digest}, but crunch.lock records {}: the repository changed a published chart; run with --update to accept it",
                pin.version, pin.digest
            )));
        }
        let path = blobs.adopt(&download, &digest)?;
        Ok((
            path,
            ChartPin {
                version: entry.version.clone(),
                digest,
            },
        ))
    }

    /// A chart of an OCI registry (`<repository>/<chart>`): the tag resolved as
    /// source-controller resolves `version` (or the pinned manifest taken), its chart layer
    /// pulled, its cosign signature verified when asked.
    fn oci_chart(
        &self,
        request: &ChartRequest,
        known: Option<ChartPin>,
    ) -> Result<(PathBuf, ChartPin), Error> {
        let url = format!(
            "{}/{}",
            request.repository.trim_end_matches('/'),
            request.chart
        );
        let target = self.registry_target(&url, request.access)?;
        let what = || {
            format!(
                "chart {} {} of {}",
                request.chart,
                shown_version(request.version),
                request.repository
            )
        };
        let pin = match known {
            Some(pin) => pin,
            None if self.config.offline => return Err(Error::OfflineUnpinned { what: what() }),
            None => {
                // A version that is one names its tag; source-controller lists no tags then.
                let tag = match oci::chart_version_tag(request.version) {
                    Some(tag) => tag,
                    None => oci::latest_chart_tag(&target.tags()?, request.version)
                        .map_err(|e| target.failed(e))?,
                };
                let manifest = target.manifest(&tag)?;
                ChartPin {
                    // Helm stores `+` of a version as `_` in tags.
                    version: tag.replace('_', "+"),
                    digest: manifest.digest,
                }
            }
        };
        let manifest = target.cached_manifest(&pin.digest, &what)?;
        let layer = oci::helm_chart_layer(&manifest).map_err(|e| target.failed(e))?;
        let path = target.cached_blob(&layer.digest, &what)?;
        if let Some(keys) = request.verify {
            target.verify(&pin.digest, keys, &what)?;
        }
        Ok((path, pin))
    }

    /// The store's CA bundle with the source's own CA certificates added.
    fn ca_pem_for(&self, access: &Access) -> Option<std::sync::Arc<Vec<u8>>> {
        match (&self.ca_pem, &access.ca_pem) {
            (None, None) => None,
            (Some(store), None) => Some(store.clone()),
            (store, Some(own)) => {
                let mut pem = store.as_deref().cloned().unwrap_or_default();
                if !pem.is_empty() && !pem.ends_with(b"\n") {
                    pem.push(b'\n');
                }
                pem.extend_from_slice(own);
                Some(std::sync::Arc::new(pem))
            }
        }
    }

    fn http_error(&self, error: helm_repo::HttpError, location: &Location) -> Error {
        Error::Registry {
            location: Box::new(location.clone()),
            message: error.to_string(),
        }
    }

    /// How to reach the registry of `url` (mirrored) with `access`.
    fn registry_target<'s>(
        &'s self,
        url: &str,
        access: &Access,
    ) -> Result<RegistryTarget<'s>, Error> {
        let location = self.location(url);
        let reference =
            OciReference::parse(&location.fetched_url).map_err(|e| Error::Registry {
                location: Box::new(location.clone()),
                message: e,
            })?;
        let auth = match self.credential(access, &location) {
            Ok(None) => Ok(RegistryAuth::Anonymous),
            Ok(Some(Credential::Basic(basic))) => Ok(RegistryAuth::Basic(basic.clone())),
            Ok(Some(Credential::DockerConfig(json))) => {
                oci::docker_config_auth(json, &reference.registry)
            }
            Err(message) => Err(message),
        };
        Ok(RegistryTarget {
            store: self,
            location,
            reference,
            auth,
            ca_pem: self.ca_pem_for(access),
            insecure: access.insecure,
            client: std::sync::OnceLock::new(),
        })
    }
}

/// One registry repository, mirrored, with the credentials to present there.
struct RegistryTarget<'s> {
    store: &'s Store,
    location: Location,
    reference: OciReference,
    /// The credentials, or why they cannot be had (which matters only online).
    auth: Result<RegistryAuth, String>,
    ca_pem: Option<std::sync::Arc<Vec<u8>>>,
    insecure: bool,
    /// Made on the first request, so that its token is reused for the next.
    client: std::sync::OnceLock<RegistryClient>,
}

impl RegistryTarget<'_> {
    fn failed(&self, message: String) -> Error {
        Error::Registry {
            location: Box::new(self.location.clone()),
            message,
        }
    }

    /// A client and the credentials, for a request that goes to the network.
    fn online(&self) -> Result<(&RegistryClient, &RegistryAuth), Error> {
        let auth = self.auth.as_ref().map_err(|e| self.failed(e.clone()))?;
        let client = self
            .client
            .get_or_init(|| RegistryClient::new(self.ca_pem.clone(), self.insecure));
        Ok((client, auth))
    }

    fn tags(&self) -> Result<Vec<String>, Error> {
        let (client, auth) = self.online()?;
        client
            .tags(&self.reference, auth)
            .map_err(|e| self.failed(e.to_string()))
    }

    /// The manifest `reference` names, fetched and kept in the blob cache.
    fn manifest(&self, reference: &str) -> Result<oci::Manifest, Error> {
        let (client, auth) = self.online()?;
        let manifest = client
            .manifest(&self.reference, reference, auth)
            .map_err(|e| self.failed(e.to_string()))?;
        self.store.blobs().put(&manifest.bytes)?;
        Ok(manifest)
    }

    /// The manifest with `digest`: from the cache, else fetched (not offline).
    fn cached_manifest(&self, digest: &str, what: &dyn Fn() -> String) -> Result<Vec<u8>, Error> {
        let blobs = self.store.blobs();
        if let Some(bytes) = blobs.read(digest) {
            return Ok(bytes);
        }
        self.offline_missing(digest, what)?;
        let manifest = self.manifest(digest)?;
        if manifest.digest != digest || sha256_digest(&manifest.bytes) != digest {
            return Err(self.failed(format!(
                "the registry answered {digest} with a manifest of digest {}",
                sha256_digest(&manifest.bytes)
            )));
        }
        Ok(manifest.bytes)
    }

    /// The blob with `digest`: from the cache, else pulled into it (not offline).
    fn cached_blob(&self, digest: &str, what: &dyn Fn() -> String) -> Result<PathBuf, Error> {
        let blobs = self.store.blobs();
        if let Some(path) = blobs.existing(digest) {
            return Ok(path);
        }
        self.offline_missing(digest, what)?;
        let (client, auth) = self.online()?;
        let path = blobs.path(digest).ok_or_else(|| {
            self.failed(format!(
                "the manifest names a layer of digest {digest}, which is not sha256"
            ))
        })?;
        std::fs::create_dir_all(path.parent().expect("blob paths have a parent")).map_err(
            |source| Error::Io {
                path: path.clone(),
                source,
            },
        )?;
        client
            .blob(&self.reference, digest, &path, auth)
            .map_err(|e| self.failed(e.to_string()))?;
        Ok(path)
    }

    fn offline_missing(&self, digest: &str, what: &dyn Fn() -> String) -> Result<(), Error> {
        if self.store.config.offline {
            return Err(Error::OfflineMissing {
                what: what(),
                digest: digest.to_string(),
                cache: self.store.config.cache_dir.clone(),
            });
        }
        Ok(())
    }

    /// The manifest `digest`'s cosign signature verifies with one of `keys`: checked from
    /// the cache when the signature is there (so `--offline` verifies too), else read from
    /// the registry and kept.
    fn verify(
        &self,
        digest: &str,
        keys: &PublicKeys,
        what: &dyn Fn() -> String,
    ) -> Result<(), Error> {
        // Keyed by the URL as the deployment names it, not as fetched, so that a build
        // through other mirrors (an enclave's, or none with vendored sources) finds it.
        let record_name = format!(
            "signatures/{}",
            crate::gostd::sha256::hex(format!("{}\0{digest}", self.location.url))
        );
        let record = self.store.config.cache_dir.join(&record_name);
        self.store.note_used(record_name);
        let blobs = self.store.blobs();
        let failed = |e: cosign::CosignError| Error::Verification {
            location: Box::new(self.location.clone()),
            message: e.to_string(),
        };
        let recorded = std::fs::read_to_string(&record).ok();
        if let Some(signature) = recorded.as_deref().and_then(|d| blobs.read(d.trim())) {
            let cached = CachedSignatures {
                blobs: &blobs,
                manifest: oci::Manifest {
                    digest: sha256_digest(&signature),
                    bytes: signature,
                    media_type: None,
                },
            };
            let shown = self.location.url.clone();
            return cosign::verify_from(&cached, &shown, digest, keys)
                .map(|_| ())
                .map_err(failed);
        }
        self.offline_missing(&format!("the cosign signature of {digest}"), what)?;
        let (client, auth) = self.online()?;
        let registry = cosign::RegistrySignatures {
            client,
            repository: &self.reference,
            auth,
        };
        let keeping = KeptSignatures {
            source: &registry,
            blobs: &blobs,
        };
        let verified =
            cosign::verify_from(&keeping, &self.location.url, digest, keys).map_err(failed)?;
        let io = |source| Error::Io {
            path: record.clone(),
            source,
        };
        std::fs::create_dir_all(record.parent().expect("records have a parent")).map_err(io)?;
        let temp = super::remote::tempdir_beside(&record);
        std::fs::write(&temp, &verified.signature_manifest).map_err(io)?;
        std::fs::rename(&temp, &record).map_err(io)?;
        Ok(())
    }
}

/// A registry's signatures, kept in the blob cache as they are read.
struct KeptSignatures<'a> {
    source: &'a dyn cosign::Signatures,
    blobs: &'a Blobs,
}

impl cosign::Signatures for KeptSignatures<'_> {
    fn has_bundle(&self, digest: &str) -> bool {
        self.source.has_bundle(digest)
    }

    fn manifest(&self, tag: &str) -> Result<Option<oci::Manifest>, cosign::CosignError> {
        let manifest = self.source.manifest(tag)?;
        if let Some(manifest) = &manifest {
            // Best effort: a signature not kept is read again next time.
            let _ = self.blobs.put(&manifest.bytes);
        }
        Ok(manifest)
    }

    fn blob(&self, digest: &str, limit: usize) -> Result<Vec<u8>, String> {
        let bytes = self.source.blob(digest, limit)?;
        let _ = self.blobs.put(&bytes);
        Ok(bytes)
    }
}

/// Signatures verified before, read back from the blob cache: the `.sig` manifest
/// recorded for the artifact and its payloads, each checked against its digest.
struct CachedSignatures<'a> {
    blobs: &'a Blobs,
    manifest: oci::Manifest,
}

impl cosign::Signatures for CachedSignatures<'_> {
    fn has_bundle(&self, _digest: &str) -> bool {
        // Checked online when the signature was first verified.
        false
    }

    fn manifest(&self, _tag: &str) -> Result<Option<oci::Manifest>, cosign::CosignError> {
        Ok(Some(self.manifest.clone()))
    }

    fn blob(&self, digest: &str, _limit: usize) -> Result<Vec<u8>, String> {
        self.blobs
            .read(digest)
            .ok_or_else(|| format!("{digest} is not in the cache"))
    }
}

/// Unpacks the gzipped tarball `archive` into the new directory `dest`, as fluxcd/pkg's
/// untar does: regular files and directories only (symlinks and links skipped), no entry
/// outside `dest`.
fn untar_gz(archive: &std::path::Path, dest: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(file));
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for entry in entries.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let mut target = dest.to_path_buf();
        for part in path.components() {
            match part {
                std::path::Component::Normal(name) => target.push(name),
                std::path::Component::CurDir => {}
                _ => return Err(format!("illegal file path {}", path.display())),
            }
        }
        let io = |e: std::io::Error| format!("{}: {e}", target.display());
        match entry.header().entry_type() {
            tar::EntryType::Directory => std::fs::create_dir_all(&target).map_err(io)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let mut out = std::fs::File::create(&target).map_err(io)?;
                std::io::copy(&mut entry, &mut out).map_err(io)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The host (and port) of a URL, for telling whether a mirror moved it elsewhere.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// A requested version as messages show it.
fn shown_version(version: &str) -> String {
    if version.is_empty() {
        "(latest)".to_string()
    } else {
        version.to_string()
    }
}
