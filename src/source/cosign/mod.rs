//! cosign signatures of OCI artifacts and charts, verified with public keys as Flux's
//! source-controller verifies an OCIRepository's (or an OCI HelmRepository chart's)
//! `spec.verify` with `provider: cosign` and a `secretRef` of `.pub` keys.
//!
//! The signatures are cosign's tag-based ones (cosign's `SIGNATURE_SPEC.md`): the
//! manifest tagged `sha256-<hex>.sig` in the artifact's repository has one layer per
//! signature, of media type `application/vnd.dev.cosign.simplesigning.v1+json`, whose
//! blob is the signed payload and whose annotation `dev.cosignproject.cosign/signature`
//! is the base64 signature over the payload's bytes. Like source-controller (which sets
//! cosign's `IgnoreTlog` and `Offline` for keys), crunch consults no transparency log.
//!
//! Beyond source-controller, which checks only the signature (it sets no claim
//! verifier), the payload must be a cosign signature (`critical.type`) of this very
//! manifest (`critical.image.docker-manifest-digest`), as `cosign verify` checks it: a
//! signature copied from another artifact does not count.
//!
//! Not verified, and refused by name: keyless signatures (Fulcio certificates and the
//! Rekor log, both online services), and cosign v3's Sigstore bundles (OCI referrers),
//! which source-controller prefers to `.sig` signatures when an artifact has both.

mod keys;

use std::fmt;

use serde_json::Value;

pub use keys::PublicKeys;

use super::oci::{self, OciError, OciReference, RegistryAuth, RegistryClient, gojson};

/// The media type of a cosign signature layer (its blob is the signed payload).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` of a cosign payload.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// As many signature layers as cosign reads in one `.sig` manifest.
const MAX_SIGNATURES: usize = 1000;
/// The largest payload read, cosign's default `COSIGN_MAX_ATTACHMENT_SIZE` (128 MiB).
const MAX_PAYLOAD_BYTES: usize = 128 << 20;

/// The tag cosign stores the signatures of the manifest `digest` under:
/// `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The name of the key that verified it.
    pub key: String,
    /// The digest of the `.sig` manifest it is in.
    pub signature_manifest: String,
    /// The digest of the signed payload.
    pub payload: String,
}

/// Why an artifact's signatures did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosignError {
    /// No public keys: cosign would verify keyless, with Fulcio and Rekor.
    Keyless,
    /// The manifest digest to verify is malformed.
    InvalidDigest(String),
    /// The artifact has a Sigstore bundle among its referrers.
    BundleFormat {
        /// `oci://…@sha256:…`.
        image: String,
    },
    /// There is no `sha256-<hex>.sig` manifest.
    NoSignature {
        /// `oci://…@sha256:…`.
        image: String,
        /// The tag looked for.
        tag: String,
    },
    /// The `.sig` manifest cannot be read as one.
    InvalidSignatureManifest {
        /// `oci://…@sha256:…`.
        image: String,
        /// What is wrong with it.
        message: String,
    },
    /// No signature verifies with any key, or none that does signs this manifest.
    NotVerified {
        /// `oci://…@sha256:…`.
        image: String,
        /// The keys tried, with their types.
        keys: Vec<String>,
        /// What each signature layer failed on.
        reasons: Vec<String>,
    },
    /// Reading the signatures from the registry failed.
    Registry(OciError),
}

impl fmt::Display for CosignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CosignError::Keyless => write!(
                f,
                "cosign keyless verification (Fulcio certificates and the Rekor transparency \
                 log) is not supported: crunch verifies cosign signatures with public keys; give \
                 the public keys (.pub) to verify with"
            ),
            CosignError::InvalidDigest(message) => write!(f, "cannot verify: {message}"),
            CosignError::BundleFormat { image } => write!(
                f,
                "{image} has a Sigstore bundle signature (cosign v3's default format, stored as \
                 an OCI referrer), which source-controller verifies first and crunch does not \
                 verify yet; crunch verifies cosign's `.sig` signatures (`cosign sign \
                 --new-bundle-format=false`)"
            ),
            CosignError::NoSignature { image, tag } => write!(
                f,
                "no cosign signature found for {image}: the repository has no manifest tagged {tag}"
            ),
            CosignError::InvalidSignatureManifest { image, message } => write!(
                f,
                "the cosign signature manifest of {image} is invalid: {message}"
            ),
            CosignError::NotVerified {
                image,
                keys,
                reasons,
            } => write!(
                f,
                "no cosign signature of {image} verifies with the keys {}: {}",
                keys.join(", "),
                reasons.join("; ")
            ),
            CosignError::Registry(error) => write!(f, "cannot read the cosign signatures: {error}"),
        }
    }
}

impl std::error::Error for CosignError {}

/// Where the signatures of an artifact are read from: its registry, or a copy of what
/// the registry served (crunch's cache, for `--offline`).
pub trait Signatures {
    /// Whether the manifest `digest` has a Sigstore bundle among its referrers.
    fn has_bundle(&self, digest: &str) -> bool;
    /// The manifest tagged `tag` (`sha256-<hex>.sig`); `None` when there is none.
    fn manifest(&self, tag: &str) -> Result<Option<oci::Manifest>, CosignError>;
    /// The blob with `digest` (a payload), at most `limit` bytes.
    fn blob(&self, digest: &str, limit: usize) -> Result<Vec<u8>, String>;
}

/// An artifact's repository in its registry, as a [`Signatures`] source.
pub struct RegistrySignatures<'a> {
    /// The client to ask.
    pub client: &'a RegistryClient,
    /// The artifact's repository.
    pub repository: &'a OciReference,
    /// The credentials to present.
    pub auth: &'a RegistryAuth,
}

impl Signatures for RegistrySignatures<'_> {
    fn has_bundle(&self, digest: &str) -> bool {
        self.client
            .has_sigstore_bundle(self.repository, digest, self.auth)
    }

    fn manifest(&self, tag: &str) -> Result<Option<oci::Manifest>, CosignError> {
        match self.client.manifest(self.repository, tag, self.auth) {
            Ok(manifest) => Ok(Some(manifest)),
            Err(OciError::NotFound { .. }) => Ok(None),
            Err(error) => Err(CosignError::Registry(error)),
        }
    }

    fn blob(&self, digest: &str, limit: usize) -> Result<Vec<u8>, String> {
        self.client
            .blob_bytes(self.repository, digest, limit, self.auth)
            .map_err(|e| e.to_string())
    }
}

/// Verifies that a cosign signature of the manifest `manifest_digest` in `repository`
/// verifies with one of `keys` and signs that manifest: the first such signature is
/// the answer, with the key that verified it.
pub fn verify(
    client: &RegistryClient,
    repository: &OciReference,
    manifest_digest: &str,
    keys: &PublicKeys,
    auth: &RegistryAuth,
) -> Result<Verified, CosignError> {
    let source = RegistrySignatures {
        client,
        repository,
        auth,
    };
    verify_from(&source, &repository.to_string(), manifest_digest, keys)
}

/// [`verify`], reading the signatures of the artifact `repository` (`oci://…`, for
/// messages) from `source`.
pub fn verify_from(
    source: &dyn Signatures,
    repository: &str,
    manifest_digest: &str,
    keys: &PublicKeys,
) -> Result<Verified, CosignError> {
    if keys.is_empty() {
        return Err(CosignError::Keyless);
    }
    oci::check_digest(manifest_digest).map_err(CosignError::InvalidDigest)?;
    let image = format!("{repository}@{manifest_digest}");
    if source.has_bundle(manifest_digest) {
        return Err(CosignError::BundleFormat { image });
    }
    let tag = signature_tag(manifest_digest);
    let Some(manifest) = source.manifest(&tag)? else {
        return Err(CosignError::NoSignature { image, tag });
    };
    let invalid = |message: String| CosignError::InvalidSignatureManifest {
        image: image.clone(),
        message,
    };
    let layers = signature_layers(&manifest.bytes).map_err(invalid)?;
    let mut reasons = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let reason = |why: String| format!("signature {}: {why}", index + 1);
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
            reasons.push(reason(format!(
                "a layer of media type {}",
                layer.media_type
            )));
            continue;
        }
        let signature = match decode_signature(layer.signature.as_deref()) {
            Ok(signature) => signature,
            Err(why) => {
                reasons.push(reason(why));
                continue;
            }
        };
        let payload = match source.blob(&layer.digest, MAX_PAYLOAD_BYTES) {
            Ok(payload) => payload,
            Err(error) => {
                reasons.push(reason(format!("its payload cannot be read: {error}")));
                continue;
            }
        };
        let Some(key) = keys.verify_blob(&payload, &signature) else {
            reasons.push(reason("it verifies with none of the keys".into()));
            continue;
        };
        match check_payload(&payload, manifest_digest) {
            Ok(()) => {
                return Ok(Verified {
                    key: key.to_string(),
                    signature_manifest: manifest.digest,
                    payload: layer.digest.clone(),
                });
            }
            Err(why) => reasons.push(reason(format!("it verifies with {key}, but {why}"))),
        }
    }
    if reasons.is_empty() {
        reasons.push(format!("the manifest {tag} holds no signatures"));
    }
    Err(CosignError::NotVerified {
        image,
        keys: keys.describe(),
        reasons,
    })
}

/// One layer of a `.sig` manifest.
#[derive(Debug)]
struct SignatureLayer {
    media_type: String,
    digest: String,
    /// The signature annotation, if present.
    signature: Option<String>,
}

fn signature_layers(manifest: &[u8]) -> Result<Vec<SignatureLayer>, String> {
    let value: Value =
        serde_json::from_slice(manifest).map_err(|e| format!("it is not JSON: {e}"))?;
    let layers = match value.get("layers") {
        Some(Value::Array(layers)) => layers,
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => return Err("its layers are not an array".into()),
    };
    if layers.len() > MAX_SIGNATURES {
        return Err(format!(
            "it has {} layers, more than the {MAX_SIGNATURES} cosign reads",
            layers.len()
        ));
    }
    layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let text = |name: &str| layer.get(name).and_then(Value::as_str).map(str::to_string);
            let digest = text("digest").ok_or(format!("layer {} has no digest", i + 1))?;
            oci::check_digest(&digest).map_err(|e| format!("layer {}: {e}", i + 1))?;
            Ok(SignatureLayer {
                media_type: text("mediaType").unwrap_or_default(),
                digest,
                signature: layer
                    .get("annotations")
                    .and_then(|a| a.get(SIGNATURE_ANNOTATION))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        })
        .collect()
}

fn decode_signature(annotation: Option<&str>) -> Result<Vec<u8>, String> {
    let annotation =
        annotation.ok_or_else(|| format!("it has no {SIGNATURE_ANNOTATION} annotation"))?;
    crate::gostd::base64::decode_std(annotation.as_bytes())
        .map_err(|e| format!("its signature is not base64: {e}"))
}

/// Checks that a verified payload is a cosign signature of the manifest `digest`, its
/// fields read as Go reads them into cosign's payload type (keys matched
/// case-insensitively).
fn check_payload(payload: &[u8], digest: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| format!("its payload is not JSON: {e}"))?;
    let field = |value: Option<&Value>, name: &str| match value {
        Some(Value::Object(object)) => gojson::field(object, name).cloned(),
        _ => None,
    };
    let critical = field(Some(&value), "critical");
    let kind = field(critical.as_ref(), "type");
    if kind.as_ref().and_then(Value::as_str) != Some(SIGNATURE_TYPE) {
        return Err(format!(
            "its payload's critical.type is {}, not `{SIGNATURE_TYPE}`",
            kind.map_or("missing".to_string(), |k| k.to_string())
        ));
    }
    let image = field(critical.as_ref(), "image");
    let signed = field(image.as_ref(), "docker-manifest-digest");
    match signed.as_ref().and_then(Value::as_str) {
        Some(signed) if signed == digest => Ok(()),
        Some(signed) => Err(format!(
            "it signs the manifest {signed}, not {digest} (a signature of another artifact)"
        )),
        None => Err("its payload has no critical.image.docker-manifest-digest".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn signature_tags_are_cosigns() {
        assert_eq!(
            signature_tag(DIGEST),
            "sha256-0000000000000000000000000000000000000000000000000000000000000001.sig"
        );
    }

    #[test]
    fn payloads_must_sign_this_manifest() {
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r.io/a"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(check_payload(payload.as_bytes(), DIGEST), Ok(()));
        // The signature spec's own example capitalises the key; Go reads it all the same.
        let capitalised = payload.replace("docker-manifest-digest", "Docker-manifest-digest");
        assert_eq!(check_payload(capitalised.as_bytes(), DIGEST), Ok(()));
        let other = DIGEST.replace("01", "02");
        assert!(
            check_payload(payload.as_bytes(), &other)
                .unwrap_err()
                .contains("it signs the manifest sha256:0000000000000000000000000000000000000000000000000000000000000001, not")
        );
        let atomic = payload.replace(
            "cosign container image signature",
            "atomic container signature",
        );
        assert!(
            check_payload(atomic.as_bytes(), DIGEST)
                .unwrap_err()
                .contains(r#"critical.type is "atomic container signature""#)
        );
        assert!(
            check_payload(b"{}", DIGEST)
                .unwrap_err()
                .contains("critical.type is missing")
        );
        assert!(
            check_payload(b"[", DIGEST)
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn signature_manifests_are_read_leniently_and_bounded() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"layers":[{{"mediaType":"{SIMPLE_SIGNING_MEDIA_TYPE}","digest":"{DIGEST}","size":1,"annotations":{{"{SIGNATURE_ANNOTATION}":"AAAA"}}}},{{"digest":"{DIGEST}"}}]}}"#
        );
        let layers = signature_layers(manifest.as_bytes()).unwrap();
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0].signature.as_deref(), Some("AAAA"));
        assert_eq!(layers[1].signature, None);
        assert!(signature_layers(b"{}").unwrap().is_empty());
        let bad = r#"{"layers":[{"digest":"sha256:1"}]}"#;
        assert!(
            signature_layers(bad.as_bytes())
                .unwrap_err()
                .contains("layer 1: invalid digest")
        );
        let many = format!(
            r#"{{"layers":[{}]}}"#,
            vec!["{}"; MAX_SIGNATURES + 1].join(",")
        );
        assert!(
            signature_layers(many.as_bytes())
                .unwrap_err()
                .contains("more than the 1000")
        );
        assert!(
            decode_signature(None)
                .unwrap_err()
                .contains("no dev.cosignproject.cosign/signature")
        );
        assert!(
            decode_signature(Some("!"))
                .unwrap_err()
                .contains("not base64")
        );
    }

    #[test]
    fn keyless_is_refused_by_name() {
        let client = RegistryClient::new(None, true);
        let repository = OciReference::parse("oci://127.0.0.1:9/app").unwrap();
        let error = verify(
            &client,
            &repository,
            DIGEST,
            &PublicKeys::default(),
            &RegistryAuth::Anonymous,
        )
        .unwrap_err();
        assert_eq!(error, CosignError::Keyless);
        assert!(error.to_string().contains("keyless verification"));
    }
}
