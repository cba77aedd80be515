//! `crunch::source::oci` and `crunch::source::cosign` against a real registry
//! (`support::registry`): charts pushed with the oracle's `helm push`, Flux artifacts and
//! cosign signatures laid out as `flux push artifact` and `cosign sign` lay them out.

use std::path::PathBuf;

use crunch::source::BasicAuth;
use crunch::source::cosign::{self, CosignError, PublicKeys};
use crunch::source::oci::{
    self, HELM_CHART_MEDIA_TYPE, OciError, RegistryAuth, RegistryClient, helm_chart_layer,
};
use serde_json::json;

use crate::support::cosign::{SignatureLayer, Signer, attach, payload};
use crate::support::registry::{Registry, package_chart};

/// A registry with the chart `charts/demo` pushed at several versions.
struct Charts {
    registry: Registry,
    dir: tempfile::TempDir,
    /// (version, .tgz, manifest digest), in push order.
    pushed: Vec<(&'static str, PathBuf, String)>,
}

fn charts(versions: &[&'static str]) -> Charts {
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let pushed = versions
        .iter()
        .map(|version| {
            let tgz = package_chart(dir.path(), "demo", version);
            let digest = registry.push_chart(&tgz, "charts");
            (*version, tgz, digest)
        })
        .collect();
    Charts {
        registry,
        dir,
        pushed,
    }
}

#[test]
fn helm_charts_are_listed_resolved_and_pulled() {
    let Charts {
        registry,
        dir,
        pushed,
    } = charts(&["1.0.0", "1.2.0", "1.3.0-rc.1", "1.2.1+build.5"]);
    let client = registry.client();
    let auth = registry.auth();
    let demo = registry.reference("charts/demo");

    let mut tags = client.tags(&demo, &auth).unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.2.0", "1.2.1_build.5", "1.3.0-rc.1"]);
    assert_eq!(oci::latest_chart_tag(&tags, "").unwrap(), "1.2.1_build.5");
    assert_eq!(
        oci::latest_chart_tag(&tags, "~1.2.0").unwrap(),
        "1.2.1_build.5"
    );
    assert_eq!(oci::latest_chart_tag(&tags, "1.2.0").unwrap(), "1.2.0");
    assert_eq!(
        oci::latest_chart_tag(&tags, ">=1.3.0-0").unwrap(),
        "1.3.0-rc.1"
    );

    for (version, tgz, digest) in &pushed {
        let tag = oci::chart_version_tag(version).unwrap();
        let by_tag = client.manifest(&demo, &tag, &auth).unwrap();
        assert_eq!(&by_tag.digest, digest, "{version}");
        // helm pushes no mediaType in its manifests.
        assert_eq!(by_tag.media_type, None);
        let by_digest = client.manifest(&demo, digest, &auth).unwrap();
        assert_eq!(by_digest, by_tag);

        let layer = helm_chart_layer(&by_tag.bytes).unwrap();
        assert_eq!(layer.media_type, HELM_CHART_MEDIA_TYPE);
        let dest = dir.path().join(format!("pulled-{version}.tgz"));
        client.blob(&demo, &layer.digest, &dest, &auth).unwrap();
        let expected = std::fs::read(tgz).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), expected, "{version}");
        assert_eq!(layer.size, expected.len() as u64);
        assert_eq!(
            client
                .blob_bytes(&demo, &layer.digest, 1 << 20, &auth)
                .unwrap(),
            expected
        );
    }
    let first = client.manifest(&demo, "1.0.0", &auth).unwrap();
    let layer = helm_chart_layer(&first.bytes).unwrap();
    let error = client
        .blob_bytes(&demo, &layer.digest, 10, &auth)
        .unwrap_err();
    assert!(
        error.to_string().contains("larger than 10 bytes"),
        "{error}"
    );
}

#[test]
fn registry_errors_say_what_failed() {
    let Charts { registry, .. } = charts(&["1.0.0"]);
    let client = registry.client();
    let demo = registry.reference("charts/demo");
    let host = registry.host();

    let wrong = RegistryAuth::Basic(BasicAuth {
        username: registry.username.clone(),
        password: "wrong".into(),
    });
    let error = client.manifest(&demo, "1.0.0", &wrong).unwrap_err();
    assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the OCI registry {host} refused user `crunch` access to charts/demo (401 Unauthorized); \
             check the username and password"
        )
    );
    let error = client.tags(&demo, &RegistryAuth::Anonymous).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "the OCI registry {host} refused anonymous access to charts/demo"
        )),
        "{error}"
    );
    // The same client still uses the right credentials when given them.
    assert!(client.tags(&demo, &registry.auth()).is_ok());

    let error = client
        .manifest(&demo, "9.9.9", &registry.auth())
        .unwrap_err();
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "manifest 9.9.9 of oci://{host}/charts/demo was not found (MANIFEST_UNKNOWN: manifest unknown)"
        )
    );
    let missing = registry.reference("charts/missing");
    let error = client.tags(&missing, &registry.auth()).unwrap_err();
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
    let absent_blob = format!("sha256:{}", "0".repeat(64));
    let dest = registry.ca_file().with_file_name("absent.tgz");
    let error = client
        .blob(&demo, &absent_blob, &dest, &registry.auth())
        .unwrap_err();
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
    assert!(!dest.exists());

    // A client that does not trust the registry's CA cannot reach it.
    let untrusting = RegistryClient::new(None, false);
    let error = untrusting.tags(&demo, &registry.auth()).unwrap_err();
    assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[test]
fn bearer_token_registries_take_the_basic_credentials() {
    // As Harbor, ghcr and registry1 do: a Bearer challenge naming a token service.
    let registry = Registry::start_with_tokens();
    let dir = tempfile::tempdir().unwrap();
    let tgz = package_chart(dir.path(), "demo", "1.0.0");
    let digest = registry.push_chart(&tgz, "charts");
    let issued_to_helm = registry.tokens_issued();
    assert!(issued_to_helm > 0, "helm push got no token");

    let client = registry.client();
    let demo = registry.reference("charts/demo");
    assert_eq!(client.tags(&demo, &registry.auth()).unwrap(), ["1.0.0"]);
    let manifest = client.manifest(&demo, "1.0.0", &registry.auth()).unwrap();
    assert_eq!(manifest.digest, digest);
    let layer = helm_chart_layer(&manifest.bytes).unwrap();
    let dest = dir.path().join("pulled.tgz");
    client
        .blob(&demo, &layer.digest, &dest, &registry.auth())
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&tgz).unwrap());
    assert!(
        registry.tokens_issued() > issued_to_helm,
        "crunch got no token"
    );

    let wrong = RegistryAuth::Basic(BasicAuth {
        username: registry.username.clone(),
        password: "wrong".into(),
    });
    let error = client.tags(&demo, &wrong).unwrap_err();
    assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");
    let error = client.tags(&demo, &RegistryAuth::Anonymous).unwrap_err();
    assert!(
        matches!(error, OciError::Unauthorized { user: None, .. }),
        "{error:?}"
    );
}

#[test]
fn a_stopped_registry_is_unreachable() {
    let mut registry = Registry::start();
    let client = registry.client();
    let demo = registry.reference("charts/demo");
    registry.stop();
    let error = client.tags(&demo, &registry.auth()).unwrap_err();
    assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot reach the OCI registry {}: ",
            registry.host()
        )),
        "{error}"
    );
}

#[test]
fn altered_content_fails_its_digest() {
    let Charts {
        registry,
        dir,
        pushed,
    } = charts(&["1.0.0"]);
    let client = registry.client();
    let auth = registry.auth();
    let demo = registry.reference("charts/demo");
    let (_, _, digest) = &pushed[0];
    let manifest = client.manifest(&demo, digest, &auth).unwrap();
    let layer = helm_chart_layer(&manifest.bytes).unwrap();

    // The stored chart changes behind the registry's back (same length).
    let stored = registry.stored_blob(&layer.digest);
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();
    let dest = dir.path().join("chart.tgz");
    let error = client.blob(&demo, &layer.digest, &dest, &auth).unwrap_err();
    let OciError::Digest {
        expected, actual, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(expected, &layer.digest);
    assert_eq!(actual, &crate::support::registry::sha256_digest(&bytes));
    assert!(
        error.to_string().contains("does not match its digest"),
        "{error}"
    );
    // Nothing unverified is left behind.
    assert!(!dest.exists());
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count(),
        0
    );

    // So does the stored manifest, still valid JSON.
    let stored = registry.stored_blob(digest);
    let text = std::fs::read_to_string(&stored).unwrap();
    std::fs::write(&stored, text.replace("\"demo\"", "\"dema\"")).unwrap();
    for reference in [digest.as_str(), "1.0.0"] {
        let error = client.manifest(&demo, reference, &auth).unwrap_err();
        assert!(
            matches!(error, OciError::Digest { .. }),
            "{reference}: {error:?}"
        );
    }
}

#[test]
fn docker_config_credentials_reach_the_registry() {
    let registry = Registry::start();
    let client = registry.client();
    let config = json!({"auths": {format!("https://{}/v1/", registry.host()): {
        "auth": base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", registry.username, registry.password),
        ),
    }}});
    let auth = oci::docker_config_auth(config.to_string().as_bytes(), &registry.host()).unwrap();
    assert_eq!(auth, registry.auth());
    let error = client
        .tags(&registry.reference("charts/none"), &auth)
        .unwrap_err();
    // Authenticated: the repository is missing rather than the access refused.
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
}

#[test]
fn flux_artifacts_select_their_layer_and_semver_tag() {
    let registry = Registry::start();
    let client = registry.client();
    let auth = registry.auth();
    let repository = "manifests/app";
    let tarball = b"not really a tarball, but bytes of a layer".to_vec();
    let config = b"{}".to_vec();
    let (layer, config_digest) = (
        registry.push_blob(repository, &tarball),
        registry.push_blob(repository, &config),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json", "size": 2, "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip", "size": tarball.len(), "digest": layer}],
        "annotations": {"org.opencontainers.image.revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"},
    })
    .to_string();
    for tag in ["v1.0.0", "v1.1.0", "v2.0.0-rc.1", "latest", "staging-1.5.0"] {
        registry.push_manifest(
            repository,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        );
    }
    let app = registry.reference(repository);
    let tags = client.tags(&app, &auth).unwrap();
    assert_eq!(
        oci::latest_artifact_tag(&tags, ">=1.0.0", None, None).unwrap(),
        "v1.1.0"
    );
    let staging = regex::Regex::new("^staging-").unwrap();
    assert_eq!(
        oci::latest_artifact_tag(&tags, "*", Some(&staging), None).unwrap_err(),
        "no match found for semver: *"
    );
    let fetched = client.manifest(&app, "v1.1.0", &auth).unwrap();
    assert_eq!(
        fetched.media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    let selected = oci::select_layer(&fetched.bytes, None).unwrap();
    assert_eq!(selected.digest, layer);
    let selected = oci::select_layer(
        &fetched.bytes,
        Some("application/vnd.cncf.flux.content.v1.tar+gzip"),
    )
    .unwrap();
    assert_eq!(
        client
            .blob_bytes(&app, &selected.digest, 1 << 20, &auth)
            .unwrap(),
        tarball
    );
    assert_eq!(
        oci::select_layer(&fetched.bytes, Some(HELM_CHART_MEDIA_TYPE)).unwrap_err(),
        format!("failed to find layer with media type '{HELM_CHART_MEDIA_TYPE}' in artifact")
    );
    // A Flux artifact is no Helm chart, and says what it holds.
    let error = helm_chart_layer(&fetched.bytes).unwrap_err();
    assert!(
        error.contains("found config application/vnd.cncf.flux.config.v1+json"),
        "{error}"
    );
}

/// A registry with one chart, and its manifest digest.
fn signed_setup() -> (Charts, String) {
    let charts = charts(&["1.0.0"]);
    let digest = charts.pushed[0].2.clone();
    (charts, digest)
}

fn keys(signer: &Signer, name: &str) -> PublicKeys {
    PublicKeys::from_pem(name, signer.public_key_pem().as_bytes()).unwrap()
}

#[test]
fn cosign_signatures_verify_with_their_key() {
    let (Charts { registry, .. }, digest) = signed_setup();
    let client = registry.client();
    let demo = registry.reference("charts/demo");
    let (signer, other) = (Signer::generate(), Signer::generate());
    let signature_manifest = signer.sign(&registry, "charts/demo", &digest);

    let mut both = keys(&other, "other.pub");
    both.add_pem("cosign.pub", signer.public_key_pem().as_bytes())
        .unwrap();
    let verified = cosign::verify(&client, &demo, &digest, &both, &registry.auth()).unwrap();
    assert_eq!(verified.key, "cosign.pub");
    assert_eq!(verified.signature_manifest, signature_manifest);

    // Several signatures in one manifest: one verifying is enough.
    let payload = payload(&registry, "charts/demo", &digest);
    let layers = [
        SignatureLayer {
            signature: other.sign_bytes(&payload),
            payload: payload.clone(),
        },
        SignatureLayer {
            signature: signer.sign_bytes(&payload),
            payload,
        },
    ];
    attach(&registry, "charts/demo", &digest, &layers);
    let verified = cosign::verify(
        &client,
        &demo,
        &digest,
        &keys(&signer, "cosign.pub"),
        &registry.auth(),
    )
    .unwrap();
    assert_eq!(verified.key, "cosign.pub");
}

#[test]
fn unsigned_artifacts_fail() {
    let (Charts { registry, .. }, digest) = signed_setup();
    let error = cosign::verify(
        &registry.client(),
        &registry.reference("charts/demo"),
        &digest,
        &keys(&Signer::generate(), "cosign.pub"),
        &registry.auth(),
    )
    .unwrap_err();
    assert!(
        matches!(error, CosignError::NoSignature { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "no cosign signature found for oci://{}/charts/demo@{digest}: the repository has no \
             manifest tagged {}",
            registry.host(),
            cosign::signature_tag(&digest)
        )
    );
}

#[test]
fn signatures_by_another_key_fail() {
    let (Charts { registry, .. }, digest) = signed_setup();
    Signer::generate().sign(&registry, "charts/demo", &digest);
    let error = cosign::verify(
        &registry.client(),
        &registry.reference("charts/demo"),
        &digest,
        &keys(&Signer::generate(), "cosign.pub"),
        &registry.auth(),
    )
    .unwrap_err();
    assert!(
        matches!(error, CosignError::NotVerified { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "no cosign signature of oci://{}/charts/demo@{digest} verifies with the keys \
             cosign.pub (ECDSA P-256): signature 1: it verifies with none of the keys",
            registry.host()
        )
    );
}

#[test]
fn tampered_payloads_fail() {
    let (Charts { registry, .. }, digest) = signed_setup();
    let signer = Signer::generate();
    let signed = payload(&registry, "charts/demo", &digest);
    let tampered = String::from_utf8(signed.clone())
        .unwrap()
        .replace("\"optional\":null", "\"optional\":{\"x\":1}");
    attach(
        &registry,
        "charts/demo",
        &digest,
        &[SignatureLayer {
            signature: signer.sign_bytes(&signed),
            payload: tampered.into_bytes(),
        }],
    );
    let error = cosign::verify(
        &registry.client(),
        &registry.reference("charts/demo"),
        &digest,
        &keys(&signer, "cosign.pub"),
        &registry.auth(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("signature 1: it verifies with none of the keys"),
        "{error}"
    );
}

#[test]
fn signatures_of_another_manifest_fail() {
    let Charts {
        registry, pushed, ..
    } = charts(&["1.0.0", "2.0.0"]);
    let (one, two) = (&pushed[0].2, &pushed[1].2);
    let signer = Signer::generate();
    // A valid signature of 2.0.0's manifest, copied to 1.0.0's signature tag.
    let other = payload(&registry, "charts/demo", two);
    attach(
        &registry,
        "charts/demo",
        one,
        &[SignatureLayer {
            signature: signer.sign_bytes(&other),
            payload: other,
        }],
    );
    let error = cosign::verify(
        &registry.client(),
        &registry.reference("charts/demo"),
        one,
        &keys(&signer, "cosign.pub"),
        &registry.auth(),
    )
    .unwrap_err();
    assert!(
        error.to_string().ends_with(&format!(
            "signature 1: it verifies with cosign.pub, but it signs the manifest {two}, not {one} \
             (a signature of another artifact)"
        )),
        "{error}"
    );
}

#[test]
fn sigstore_bundles_are_refused_by_name() {
    let (Charts { registry, .. }, digest) = signed_setup();
    // A cosign v3 bundle, found through the referrers tag schema (the registry has no
    // referrers API).
    let repository = "charts/demo";
    let empty = registry.push_blob(repository, b"{}");
    let bundle_json = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
    let bundle = registry.push_blob(repository, bundle_json);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": empty},
        "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "size": bundle_json.len(), "digest": bundle}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": digest},
    })
    .to_string();
    let referrer = registry.push_manifest(
        repository,
        "bundle",
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": manifest.len(),
            "digest": referrer,
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        }],
    })
    .to_string();
    registry.push_manifest(
        repository,
        &digest.replace(':', "-"),
        "application/vnd.oci.image.index.v1+json",
        index.as_bytes(),
    );
    let signer = Signer::generate();
    signer.sign(&registry, repository, &digest);
    let error = cosign::verify(
        &registry.client(),
        &registry.reference(repository),
        &digest,
        &keys(&signer, "cosign.pub"),
        &registry.auth(),
    )
    .unwrap_err();
    assert!(
        matches!(error, CosignError::BundleFormat { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("Sigstore bundle signature"),
        "{error}"
    );
}
