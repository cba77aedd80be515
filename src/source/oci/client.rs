//! A blocking client of the OCI distribution API on `oci-client`: tags, manifests and
//! blobs, each checked against its sha256 digest.
//!
//! crunch builds on rayon threads, so each call runs the async client to completion on a
//! small tokio runtime shared by all clients, on the calling thread (`block_on`); blob
//! bytes are written to disk on that thread too. A call made from inside an async
//! runtime is refused with an error, as blocking there would stall it.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};

use super::super::error::chain;
use super::error::OciError;
use super::reference::{ManifestRef, OciReference, check_digest};
use super::{Manifest, RegistryAuth};

/// The manifest media types crunch accepts, as Helm's and Flux's clients ask for them.
const MANIFEST_TYPES: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// The largest manifest read, as oras (under Helm) limits them: 4 MiB.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// How many pages of tags are read before the listing is taken to be endless.
const MAX_TAG_PAGES: usize = 1000;

/// The user agent registries see.
const USER_AGENT: &str = concat!("crunch/", env!("CARGO_PKG_VERSION"));

/// A registry client: trusted CAs and the transport (https, or plain http), and one
/// `oci-client` client per registry and credentials (each keeps its bearer tokens).
pub struct RegistryClient {
    ca_pem: Option<Arc<Vec<u8>>>,
    plain_http: bool,
    clients: Mutex<HashMap<ClientKey, Client>>,
}

/// A registry and the credentials presented to it.
type ClientKey = (String, Option<(String, String)>);

/// One request, for its error messages.
struct Request<'a> {
    reference: &'a OciReference,
    auth: &'a RegistryAuth,
    /// What is asked for, e.g. `manifest 1.0.0 of oci://host/app`.
    what: String,
}

impl RegistryClient {
    /// A client trusting the system's CAs and, if given, the certificates in `ca_pem`
    /// (a HelmRepository's or OCIRepository's `certSecretRef` `ca.crt`); `plain_http`
    /// talks http instead of https (Flux's `insecure: true`).
    pub fn new(ca_pem: Option<Arc<Vec<u8>>>, plain_http: bool) -> RegistryClient {
        RegistryClient {
            ca_pem,
            plain_http,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Every tag of the repository, following the registry's pages (`last=`) until one
    /// brings no new tag.
    pub fn tags(
        &self,
        reference: &OciReference,
        auth: &RegistryAuth,
    ) -> Result<Vec<String>, OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("repository {reference}"),
        };
        let action = format!("list the tags of {reference}");
        let client = self.client(&request, &action)?;
        let image = Reference::with_tag(
            reference.registry.clone(),
            reference.repository.clone(),
            "latest".into(),
        );
        let auth = oci_auth(auth);
        let mut tags = Vec::new();
        let mut seen = HashSet::new();
        let mut last: Option<String> = None;
        for _ in 0..MAX_TAG_PAGES {
            let page = block_on(
                &action,
                client.list_tags(&image, &auth, None, last.as_deref()),
            )?
            .map_err(|e| classify(e, &request, &action))?;
            let new: Vec<String> = page
                .tags
                .into_iter()
                .filter(|tag| seen.insert(tag.clone()))
                .collect();
            let Some(last_new) = new.last() else {
                return Ok(tags);
            };
            last = Some(last_new.clone());
            tags.extend(new);
        }
        Err(OciError::Other {
            action,
            message: format!("the registry sent more than {MAX_TAG_PAGES} pages of tags"),
        })
    }

    /// The manifest `manifest_ref` (a tag, or a `sha256:` digest) names, as the registry
    /// stores it: an OCI image manifest or index, or a Docker manifest or list. Its digest
    /// is the sha256 of its bytes; when asked for by digest, that is the digest asked for
    /// ([`OciError::Digest`] otherwise), and when asked for by tag, the registry's
    /// `Docker-Content-Digest` must match it.
    pub fn manifest(
        &self,
        reference: &OciReference,
        manifest_ref: &str,
        auth: &RegistryAuth,
    ) -> Result<Manifest, OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("manifest {manifest_ref} of {reference}"),
        };
        let action = format!("get the {}", request.what);
        let parsed = ManifestRef::parse(manifest_ref).map_err(|message| OciError::Other {
            action: action.clone(),
            message,
        })?;
        let client = self.client(&request, &action)?;
        let image = image_at(reference, &parsed);
        let (bytes, _) = block_on(
            &action,
            client.pull_manifest_raw(&image, &oci_auth(auth), MANIFEST_TYPES),
        )?
        .map_err(|e| classify(e, &request, &action))?;
        let bad = |message: String| OciError::Other {
            action: action.clone(),
            message,
        };
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(bad(format!(
                "the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have",
                bytes.len()
            )));
        }
        let digest = format!("sha256:{}", crate::gostd::sha256::hex(&bytes));
        if let ManifestRef::Digest(expected) = &parsed
            && *expected != digest
        {
            return Err(OciError::Digest {
                what: request.what,
                expected: expected.clone(),
                actual: digest,
            });
        }
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("the manifest is not JSON: {e}")))?;
        let Some(object) = json.as_object() else {
            return Err(bad("the manifest is not a JSON object".into()));
        };
        let media_type = object
            .get("mediaType")
            .and_then(|t| t.as_str())
            .map(str::to_string);
        Ok(Manifest {
            bytes: bytes.to_vec(),
            digest,
            media_type,
        })
    }

    /// Downloads the blob `digest` to `dest`: streamed to a temporary file beside it,
    /// checked against the digest, then renamed, so `dest` is never half-written or
    /// unverified. An existing `dest` is replaced.
    pub fn blob(
        &self,
        reference: &OciReference,
        digest: &str,
        dest: &Path,
        auth: &RegistryAuth,
    ) -> Result<(), OciError> {
        self.blob_with_progress(reference, digest, dest, auth, &mut |_| {})
    }

    /// [`blob`](Self::blob), telling `progress` the size of each piece as it arrives.
    pub fn blob_with_progress(
        &self,
        reference: &OciReference,
        digest: &str,
        dest: &Path,
        auth: &RegistryAuth,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), OciError> {
        let action = format!(
            "download blob {digest} of {reference} to {}",
            dest.display()
        );
        let local = |e: std::io::Error, path: &Path| OciError::Other {
            action: action.clone(),
            message: format!("{}: {e}", path.display()),
        };
        let temp = super::super::remote::tempdir_beside(dest);
        let mut file = std::fs::File::create(&temp).map_err(|e| local(e, &temp))?;
        let written = self
            .stream_blob(reference, digest, auth, &action, |chunk| {
                file.write_all(chunk)
                    .map_err(|e| format!("{}: {e}", temp.display()))?;
                progress(chunk.len() as u64);
                Ok(())
            })
            .and_then(|()| file.sync_all().map_err(|e| local(e, &temp)))
            .and_then(|()| std::fs::rename(&temp, dest).map_err(|e| local(e, dest)));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// The blob `digest` in memory, refused when larger than `max_bytes` (signature
    /// payloads, configs).
    pub fn blob_bytes(
        &self,
        reference: &OciReference,
        digest: &str,
        max_bytes: usize,
        auth: &RegistryAuth,
    ) -> Result<Vec<u8>, OciError> {
        let action = format!("get blob {digest} of {reference}");
        let mut bytes = Vec::new();
        self.stream_blob(reference, digest, auth, &action, |chunk| {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(format!("the blob is larger than {max_bytes} bytes"));
            }
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(bytes)
    }

    /// Whether the repository has the blob `digest` (a `HEAD` request).
    pub fn blob_exists(
        &self,
        reference: &OciReference,
        digest: &str,
        auth: &RegistryAuth,
    ) -> Result<bool, OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("blob {digest} of {reference}"),
        };
        let action = format!("check for the {}", request.what);
        check_digest(digest).map_err(|message| OciError::Other {
            action: action.clone(),
            message,
        })?;
        let client = self.client(&request, &action)?;
        let image = image_at(reference, &ManifestRef::Digest(digest.to_string()));
        let auth = oci_auth(auth);
        let check = async {
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            client.blob_exists(&image, digest).await
        };
        block_on(&action, check)?.map_err(|e| classify(e, &request, &action))
    }

    /// Uploads the file `path` as the blob `digest` of the repository. Its bytes are
    /// checked against the digest as they are read (the registry checks them again):
    /// a small blob is read whole and sent in one piece, a large one streamed in
    /// chunks (`PATCH`), and either upload is committed with the digest. `progress` is
    /// told the size of each piece sent, as they go.
    pub fn push_blob(
        &self,
        reference: &OciReference,
        digest: &str,
        path: &Path,
        auth: &RegistryAuth,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("blob {digest} of {reference}"),
        };
        let action = format!("push the {} from {}", request.what, path.display());
        let other = |message: String| OciError::Other {
            action: action.clone(),
            message,
        };
        check_digest(digest).map_err(other)?;
        let size = std::fs::metadata(path)
            .map_err(|e| other(format!("{}: {e}", path.display())))?
            .len();
        let client = self.client(&request, &action)?;
        let image = image_at(reference, &ManifestRef::Digest(digest.to_string()));
        let auth = oci_auth(auth);
        if size <= MONOLITHIC_PUSH_BYTES as u64 {
            let bytes =
                std::fs::read(path).map_err(|e| other(format!("{}: {e}", path.display())))?;
            let actual = format!("sha256:{}", crate::gostd::sha256::hex(&bytes));
            if actual != digest {
                return Err(local_digest_error(path, digest, actual));
            }
            let upload = async {
                client
                    .store_auth_if_needed(image.resolve_registry(), &auth)
                    .await;
                client.push_blob(&image, bytes, digest).await
            };
            block_on(&action, upload)?.map_err(|e| classify(e, &request, &action))?;
            progress(size);
            return Ok(());
        }
        let file =
            std::fs::File::open(path).map_err(|e| other(format!("{}: {e}", path.display())))?;
        // The stream must be 'static, so it cannot call `progress` itself: it sends the
        // size of each piece it reads here, where the upload is awaited.
        let (sent, mut pieces) = tokio::sync::mpsc::unbounded_channel();
        let mismatch = Arc::new(Mutex::new(None));
        let stream = file_stream(file, digest.to_string(), sent, mismatch.clone());
        let upload = async {
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            let mut push =
                std::pin::pin!(client.push_blob_stream(&image, stream, digest, Some(size)));
            loop {
                tokio::select! {
                    result = &mut push => break result,
                    Some(piece) = pieces.recv() => progress(piece),
                }
            }
        };
        let result = block_on(&action, upload)?;
        while let Ok(piece) = pieces.try_recv() {
            progress(piece);
        }
        if let Some(actual) = mismatch.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(local_digest_error(path, digest, actual));
        }
        result.map_err(|e| classify(e, &request, &action))?;
        Ok(())
    }

    /// Puts `bytes` (a manifest of `media_type`) as `manifest_ref` (a tag, or its
    /// digest) of the repository; the digest the registry stored it under, which is
    /// checked to be the sha256 of `bytes`.
    pub fn push_manifest(
        &self,
        reference: &OciReference,
        manifest_ref: &str,
        media_type: &str,
        bytes: &[u8],
        auth: &RegistryAuth,
    ) -> Result<String, OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("manifest {manifest_ref} of {reference}"),
        };
        let action = format!("push the {}", request.what);
        let other = |message: String| OciError::Other {
            action: action.clone(),
            message,
        };
        let parsed = ManifestRef::parse(manifest_ref).map_err(other)?;
        let digest = format!("sha256:{}", crate::gostd::sha256::hex(bytes));
        if let ManifestRef::Digest(expected) = &parsed
            && *expected != digest
        {
            return Err(OciError::Digest {
                what: request.what,
                expected: expected.clone(),
                actual: digest,
            });
        }
        let content_type = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|_| other(format!("invalid media type {media_type:?}")))?;
        let client = self.client(&request, &action)?;
        let image = image_at(reference, &parsed);
        let auth = oci_auth(auth);
        let body = bytes.to_vec();
        let put = async {
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            client.push_manifest_raw(&image, body, content_type).await
        };
        let location = block_on(&action, put)?.map_err(|e| classify(e, &request, &action))?;
        // The registry names what it stored in the Location it answers with
        // (`/v2/<name>/manifests/sha256:…`); one that names another digest changed it.
        if let Some((_, stored)) = location.rsplit_once("/manifests/")
            && stored.starts_with("sha256:")
            && stored != digest
        {
            return Err(OciError::Digest {
                what: request.what,
                expected: digest,
                actual: stored.to_string(),
            });
        }
        Ok(digest)
    }

    /// Whether the registry lists a Sigstore bundle (cosign v3's signature format) among
    /// the referrers of `digest`: through the referrers API, else the `sha256-<hex>` tag
    /// of the referrers tag schema. Errors count as none, as cosign's bundle discovery
    /// under Flux treats them.
    pub(crate) fn has_sigstore_bundle(
        &self,
        reference: &OciReference,
        digest: &str,
        auth: &RegistryAuth,
    ) -> bool {
        let request = Request {
            reference,
            auth,
            what: format!("referrers of {digest} in {reference}"),
        };
        let action = format!("list the {}", request.what);
        let Ok(client) = self.client(&request, &action) else {
            return false;
        };
        let image = image_at(reference, &ManifestRef::Digest(digest.to_string()));
        let auth = oci_auth(auth);
        let listing = async {
            // Stores the credentials for the registry as the other calls do.
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            client.pull_referrers(&image, None).await
        };
        matches!(block_on(&action, listing), Ok(Ok(index)) if index.manifests.iter().any(|entry| {
            entry
                .artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
        }))
    }

    /// Streams the blob `digest` into `sink`, checking its sha256 at the end.
    fn stream_blob(
        &self,
        reference: &OciReference,
        digest: &str,
        auth: &RegistryAuth,
        action: &str,
        mut sink: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), OciError> {
        let request = Request {
            reference,
            auth,
            what: format!("blob {digest} of {reference}"),
        };
        let other = |message: String| OciError::Other {
            action: action.to_string(),
            message,
        };
        check_digest(digest).map_err(other)?;
        let client = self.client(&request, action)?;
        let image = image_at(reference, &ManifestRef::Digest(digest.to_string()));
        let auth = oci_auth(auth);
        let transfer = async {
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            let mut stream = client
                .pull_blob_stream(&image, digest)
                .await
                .map_err(|e| classify(e, &request, action))?;
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| classify_io(e, &request, action))?;
                hasher.update(&chunk);
                sink(&chunk).map_err(other)?;
            }
            Ok(format!(
                "sha256:{}",
                crate::gostd::hex::encode(hasher.finalize())
            ))
        };
        let actual = block_on(action, transfer)??;
        if actual != digest {
            return Err(OciError::Digest {
                what: request.what,
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(())
    }

    /// The `oci-client` client for the request's registry and credentials. Each keeps
    /// the credentials it first saw, so credentials get a client of their own.
    fn client(&self, request: &Request<'_>, action: &str) -> Result<Client, OciError> {
        request
            .reference
            .validate()
            .map_err(|message| OciError::Other {
                action: action.to_string(),
                message,
            })?;
        let key: ClientKey = (
            request.reference.registry.clone(),
            match request.auth {
                RegistryAuth::Anonymous => None,
                RegistryAuth::Basic(basic) => {
                    Some((basic.username.clone(), basic.password.clone()))
                }
            },
        );
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let config = ClientConfig {
            protocol: if self.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates: self
                .ca_pem
                .iter()
                .map(|pem| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.to_vec(),
                })
                .collect(),
            // crunch picks manifests itself; an index is never resolved to a platform.
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| OciError::Other {
            action: action.to_string(),
            message: format!("the HTTP client cannot be set up: {}", chain(&e)),
        })?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// The largest blob pushed in one piece; larger ones are streamed in chunks.
const MONOLITHIC_PUSH_BYTES: usize = 4 << 20;

/// How much of a file is read at a time when streaming it to a registry.
const PUSH_READ_BYTES: usize = 1 << 20;

/// A local file whose bytes are not those of the digest it is pushed as.
fn local_digest_error(path: &Path, expected: &str, actual: String) -> OciError {
    OciError::Digest {
        what: format!("the file {}", path.display()),
        expected: expected.to_string(),
        actual,
    }
}

/// The bytes of `file` as a stream for a chunked upload, hashed as they are read, each
/// piece's size sent to `sent`; when the file's sha256 is not `digest`, the stream ends
/// with an error (so the upload is never committed) and `mismatch` holds the digest.
fn file_stream(
    file: std::fs::File,
    digest: String,
    sent: tokio::sync::mpsc::UnboundedSender<u64>,
    mismatch: Arc<Mutex<Option<String>>>,
) -> impl futures_util::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static {
    use std::io::Read as _;
    let state = Some((file, Sha256::new()));
    futures_util::stream::unfold(state, move |state| {
        let (digest, sent, mismatch) = (digest.clone(), sent.clone(), mismatch.clone());
        async move {
            let (mut file, mut hasher) = state?;
            let mut buffer = vec![0; PUSH_READ_BYTES];
            let read = match file.read(&mut buffer) {
                Ok(read) => read,
                Err(e) => return Some((Err(OciDistributionError::IoError(e)), None)),
            };
            if read == 0 {
                let actual = format!("sha256:{}", crate::gostd::hex::encode(hasher.finalize()));
                if actual == digest {
                    return None;
                }
                *mismatch.lock().unwrap_or_else(|e| e.into_inner()) = Some(actual);
                let error = std::io::Error::other("the file does not match its digest");
                return Some((Err(OciDistributionError::IoError(error)), None));
            }
            buffer.truncate(read);
            hasher.update(&buffer);
            // The receiver is gone only once the upload is over.
            let _ = sent.send(read as u64);
            Some((Ok(bytes::Bytes::from(buffer)), Some((file, hasher))))
        }
    })
}

/// `oci-client`'s form of the credentials.
/// The oci-client reference to `at` (a tag, or a manifest or blob digest) in `reference`'s
/// repository.
fn image_at(reference: &OciReference, at: &ManifestRef) -> Reference {
    let (registry, repository) = (reference.registry.clone(), reference.repository.clone());
    match at {
        ManifestRef::Tag(tag) => Reference::with_tag(registry, repository, tag.clone()),
        ManifestRef::Digest(digest) => Reference::with_digest(registry, repository, digest.clone()),
    }
}

fn oci_auth(auth: &RegistryAuth) -> oci_client::secrets::RegistryAuth {
    match auth {
        RegistryAuth::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
        RegistryAuth::Basic(basic) => {
            oci_client::secrets::RegistryAuth::Basic(basic.username.clone(), basic.password.clone())
        }
    }
}

/// Runs `future` to completion on the shared runtime, on this thread.
fn block_on<F: std::future::Future>(action: &str, future: F) -> Result<F::Output, OciError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let other = |message: String| OciError::Other {
        action: action.to_string(),
        message,
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(other(
            "the blocking registry client was called from inside an async runtime".into(),
        ));
    }
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("crunch-oci")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the registry client's runtime: {e}"))
    });
    let runtime = runtime.as_ref().map_err(|e| other(e.clone()))?;
    Ok(runtime.block_on(future))
}

/// The [`OciError`] an `oci-client` error is.
fn classify(error: OciDistributionError, request: &Request<'_>, action: &str) -> OciError {
    let registry = request.reference.registry.clone();
    let unauthorized = |message: String| OciError::Unauthorized {
        registry: registry.clone(),
        repository: request.reference.repository.clone(),
        user: request.auth.username().map(str::to_string),
        message,
    };
    let not_found = |message: String| OciError::NotFound {
        what: request.what.clone(),
        message,
    };
    let other = |message: String| OciError::Other {
        action: action.to_string(),
        message,
    };
    match error {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            OciError::Unreachable {
                registry,
                message: chain(&e),
            }
        }
        // A bare status (a `HEAD` request's answer has no body to explain it).
        OciDistributionError::RequestError(e)
            if e.status()
                .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
        {
            unauthorized(format!("HTTP {}", e.status().map_or(0, |s| s.as_u16())))
        }
        OciDistributionError::UnauthorizedError { .. } => unauthorized("401 Unauthorized".into()),
        OciDistributionError::AuthenticationFailure(reason) => {
            unauthorized(format!("its token service refused: {}", reason.trim()))
        }
        OciDistributionError::ServerError { code, message, .. } => {
            let message = format!("HTTP {code}: {}", registry_errors(&message));
            match code {
                401 | 403 => unauthorized(message),
                404 => not_found(message),
                _ => other(message),
            }
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            let message = envelope
                .errors
                .iter()
                .map(|e| {
                    // The code as the registry wrote it (MANIFEST_UNKNOWN).
                    let code = serde_json::to_value(&e.code).ok();
                    let code = code.as_ref().and_then(|c| c.as_str()).unwrap_or("UNKNOWN");
                    format!("{code}: {}", e.message)
                })
                .collect::<Vec<_>>()
                .join("; ");
            let has =
                |codes: &[OciErrorCode]| envelope.errors.iter().any(|e| codes.contains(&e.code));
            if has(&[OciErrorCode::Unauthorized, OciErrorCode::Denied]) {
                unauthorized(message)
            } else if has(&[
                OciErrorCode::ManifestUnknown,
                OciErrorCode::BlobUnknown,
                OciErrorCode::NameUnknown,
                OciErrorCode::NotFound,
            ]) {
                not_found(message)
            } else {
                other(message)
            }
        }
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => OciError::Digest {
            what: request.what.clone(),
            expected,
            actual,
        },
        OciDistributionError::IoError(e) => classify_io(e, request, action),
        error => other(chain(&error)),
    }
}

/// The distribution API's error body (`{"errors": [{"code", "message", "detail"}]}`)
/// as one line, `MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:…)`; any other
/// body as it is.
fn registry_errors(body: &str) -> String {
    let parsed: Option<Vec<serde_json::Value>> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errors")?.as_array().cloned());
    let Some(errors) = parsed.filter(|errors| !errors.is_empty()) else {
        return body.trim().to_string();
    };
    errors
        .iter()
        .map(|error| {
            let text = |name: &str| error.get(name).and_then(|v| v.as_str()).unwrap_or("");
            let mut line = format!("{}: {}", text("code"), text("message"));
            match error.get("detail") {
                Some(serde_json::Value::String(detail)) if !detail.is_empty() => {
                    line.push_str(&format!(" ({detail})"));
                }
                None | Some(serde_json::Value::Null | serde_json::Value::String(_)) => {}
                Some(detail) if detail.as_object().is_some_and(|o| o.is_empty()) => {}
                Some(detail) => line.push_str(&format!(" ({detail})")),
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The [`OciError`] an I/O error while reading a response is: the digest check at the
/// end of a blob's stream, or the transfer breaking off.
fn classify_io(error: std::io::Error, request: &Request<'_>, action: &str) -> OciError {
    let digest_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<oci_client::errors::DigestError>());
    if let Some(oci_client::errors::DigestError::VerificationError { expected, actual }) =
        digest_error
    {
        return OciError::Digest {
            what: request.what.clone(),
            expected: expected.clone(),
            actual: actual.clone(),
        };
    }
    OciError::Other {
        action: action.to_string(),
        message: chain(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies_read_as_one_line() {
        let body = r#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:c1"},{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]}"#;
        assert_eq!(
            registry_errors(body),
            "MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:c1); MANIFEST_INVALID: manifest invalid"
        );
        assert_eq!(registry_errors(" not json \n"), "not json");
        assert_eq!(registry_errors(r#"{"errors":[]}"#), r#"{"errors":[]}"#);
    }

    #[test]
    fn the_client_is_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<RegistryClient>();
    }

    #[test]
    fn calls_from_inside_a_runtime_are_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let client = RegistryClient::new(None, false);
        let reference = OciReference::parse("oci://127.0.0.1:9/app").unwrap();
        let error = runtime
            .block_on(async { client.tags(&reference, &RegistryAuth::Anonymous) })
            .unwrap_err();
        assert!(
            error.to_string().contains("inside an async runtime"),
            "{error}"
        );
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = RegistryClient::new(None, true);
        let reference = OciReference::parse(&format!("oci://127.0.0.1:{port}/app")).unwrap();
        let error = client
            .manifest(&reference, "1.0.0", &RegistryAuth::Anonymous)
            .unwrap_err();
        assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot reach the OCI registry 127.0.0.1:{port}")),
            "{error}"
        );
    }

    #[test]
    fn bad_references_are_refused_before_any_request() {
        let client = RegistryClient::new(None, true);
        let reference = OciReference::parse("oci://127.0.0.1:9/app").unwrap();
        let error = client
            .manifest(&reference, "1.0+x", &RegistryAuth::Anonymous)
            .unwrap_err();
        assert!(error.to_string().contains("invalid tag `1.0+x`"), "{error}");
        let error = client
            .blob_bytes(&reference, "sha256:abc", 10, &RegistryAuth::Anonymous)
            .unwrap_err();
        assert!(error.to_string().contains("invalid digest"), "{error}");
        let built = OciReference {
            registry: "127.0.0.1:9".into(),
            repository: "../x".into(),
        };
        let error = client.tags(&built, &RegistryAuth::Anonymous).unwrap_err();
        assert!(
            error.to_string().contains("invalid OCI reference"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_ca_certificate_is_an_error() {
        let client = RegistryClient::new(
            Some(Arc::new(
                b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n".to_vec(),
            )),
            false,
        );
        let reference = OciReference::parse("oci://127.0.0.1:9/app").unwrap();
        let error = client
            .tags(&reference, &RegistryAuth::Anonymous)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the HTTP client cannot be set up"),
            "{error}"
        );
    }
}
