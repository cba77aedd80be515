//! Public keys that cosign signatures are verified with, read and used as Flux's
//! source-controller does (`cryptoutils.UnmarshalPEMToPublicKey`, then
//! `signature.LoadVerifier(key, crypto.SHA256)`):
//!
//! - ECDSA (P-256, P-384): the signature is ASN.1 DER, or else IEEE P1363 `r || s`, over
//!   the SHA-256 of the payload, whatever the curve (cosign itself signs with SHA-384
//!   for P-384 keys, which source-controller then fails to verify, and so does crunch);
//! - RSA: PKCS #1 v1.5 with SHA-256;
//! - Ed25519: pure Ed25519 over the payload (cosign signs Ed25519 keys as Ed25519ph by
//!   default, which source-controller does not verify, and neither does crunch).

use std::path::PathBuf;

use p256::pkcs8::DecodePublicKey as _;
use p256::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use sha2::{Digest as _, Sha256};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Named public keys: a signature verifies when one of them verifies it.
#[derive(Default)]
pub struct PublicKeys {
    keys: Vec<(String, PublicKey)>,
}

/// One key, with the verification scheme Flux uses for its type.
enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::pkcs1v15::VerifyingKey<Sha256>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKeys {
    /// The key in the PEM `pem` (its first PEM block: `PUBLIC KEY`, or `RSA PUBLIC KEY`),
    /// named `name` (the file or Secret key it came from, e.g. `cosign.pub`).
    pub fn from_pem(name: &str, pem: &[u8]) -> Result<PublicKeys, String> {
        let mut keys = PublicKeys::default();
        keys.add_pem(name, pem)?;
        Ok(keys)
    }

    /// The keys in `files`, one PEM public key each, named by their paths.
    pub fn from_files(files: &[PathBuf]) -> Result<PublicKeys, String> {
        let mut keys = PublicKeys::default();
        for file in files {
            let pem =
                std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            keys.add_pem(&file.display().to_string(), &pem)?;
        }
        Ok(keys)
    }

    /// Adds the key in `pem`, named `name`, as [`from_pem`](Self::from_pem) reads it.
    pub fn add_pem(&mut self, name: &str, pem: &[u8]) -> Result<(), String> {
        let key = parse_pem(pem).map_err(|e| format!("{name}: {e}"))?;
        self.keys.push((name.to_string(), key));
        Ok(())
    }

    /// Whether there are no keys (cosign would then verify keyless, which crunch does not).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys' names, each with its type, e.g. `cosign.pub (ECDSA P-256)`.
    pub fn describe(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|(name, key)| format!("{name} ({})", key.kind()))
            .collect()
    }

    /// The name of the first key that verifies `signature` over `payload` (a cosign blob
    /// signature: over the SHA-256 of `payload`, for ECDSA and RSA keys).
    pub fn verify_blob(&self, payload: &[u8], signature: &[u8]) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, key)| key.verifies(payload, signature))
            .map(|(name, _)| name.as_str())
    }
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.describe()).finish()
    }
}

impl PublicKey {
    fn kind(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ECDSA P-256",
            PublicKey::P384(_) => "ECDSA P-384",
            PublicKey::Rsa(_) => "RSA",
            PublicKey::Ed25519(_) => "Ed25519",
        }
    }

    fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        match self {
            PublicKey::P256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(signature));
                signature.is_ok_and(|s| key.verify_prehash(&Sha256::digest(payload), &s).is_ok())
            }
            PublicKey::P384(key) => {
                let signature = p384::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p384::ecdsa::Signature::from_slice(signature));
                signature.is_ok_and(|s| key.verify_prehash(&Sha256::digest(payload), &s).is_ok())
            }
            PublicKey::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|s| key.verify(payload, &s).is_ok()),
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| key.verify(payload, &s).is_ok()),
        }
    }
}

/// The key in the first PEM block of `pem`, as `cryptoutils.UnmarshalPEMToPublicKey`
/// reads it.
fn parse_pem(pem: &[u8]) -> Result<PublicKey, String> {
    let (label, der) = first_pem_block(pem).ok_or("PEM decoding failed")?;
    match label.as_str() {
        "PUBLIC KEY" => parse_spki(&der),
        "RSA PUBLIC KEY" => rsa::PublicKey::from_pkcs1_der(&der)
            .map(|key| PublicKey::Rsa(rsa::pkcs1v15::VerifyingKey::new(key)))
            .map_err(|e| format!("invalid RSA public key: {e}")),
        "CERTIFICATE" => Err(
            "a certificate, not a public key: verifying with certificates (cosign keyless, \
             Fulcio) is not supported; give the public key (cosign.pub)"
                .into(),
        ),
        label if label.contains("PRIVATE KEY") => Err(format!(
            "a private key ({label}), not a public key: give the public key (cosign.pub)"
        )),
        label => Err(format!(
            "unknown Public key PEM file type: {label}. Are you passing the correct public key?"
        )),
    }
}

/// A `SubjectPublicKeyInfo` of a supported type.
fn parse_spki(der: &[u8]) -> Result<PublicKey, String> {
    let info =
        SubjectPublicKeyInfoRef::try_from(der).map_err(|e| format!("invalid public key: {e}"))?;
    let invalid = |e: p256::pkcs8::spki::Error| format!("invalid public key: {e}");
    let algorithm = info.algorithm.oid;
    if algorithm == EC_PUBLIC_KEY {
        let curve = info.algorithm.parameters_oid().map_err(invalid)?;
        return if curve == P256 {
            p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::P256)
                .map_err(invalid)
        } else if curve == P384 {
            p384::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::P384)
                .map_err(invalid)
        } else {
            Err(format!(
                "ECDSA keys on the curve {curve} are not supported (P-256 and P-384 are)"
            ))
        };
    }
    if algorithm == RSA_ENCRYPTION {
        return rsa::PublicKey::from_public_key_der(der)
            .map(|key| PublicKey::Rsa(rsa::pkcs1v15::VerifyingKey::new(key)))
            .map_err(|e| {
                format!("invalid or unsupported RSA public key (at most 4096 bits): {e}")
            });
    }
    if algorithm == ED25519 {
        return ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(PublicKey::Ed25519)
            .map_err(invalid);
    }
    Err(format!(
        "public keys of the algorithm {algorithm} are not supported (ECDSA P-256 and P-384, RSA \
         and Ed25519 are)"
    ))
}

/// The type and bytes of the first well-formed PEM block, as Go's `pem.Decode` finds it:
/// text before it is skipped, as are header lines (`Proc-Type: …`); the body is base64
/// with whitespace ignored.
fn first_pem_block(pem: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(pem);
    let mut rest = text.as_ref();
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start + "-----BEGIN ".len()..];
        rest = block;
        let Some((label, body)) = block.split_once("-----") else {
            continue;
        };
        if label.contains('\n') {
            continue;
        }
        let end = format!("-----END {label}-----");
        let Some(body) = body.split_once(end.as_str()).map(|(body, _)| body) else {
            continue;
        };
        let base64: String = body
            .lines()
            .skip_while(|line| line.trim().is_empty())
            .skip_while(|line| line.contains(':'))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect();
        if let Ok(der) = crate::gostd::base64::decode_std(base64.as_bytes()) {
            return Some((label.to_string(), der));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use p256::pkcs8::EncodePublicKey as _;
    use p256::pkcs8::LineEnding;
    use rsa::pkcs1::EncodeRsaPublicKey as _;

    use super::*;

    const PAYLOAD: &[u8] = br#"{"critical":{"type":"cosign container image signature"}}"#;

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap()
    }

    fn p384_key() -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::from_slice(&[9; 48]).unwrap()
    }

    fn ed25519_key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[3; 32])
    }

    fn rsa_key() -> rsa::PrivateKey {
        use rand_chacha::rand_core::SeedableRng as _;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        rsa::PrivateKey::new(&mut rng, 2048).unwrap()
    }

    #[test]
    fn ecdsa_signatures_are_over_sha256_in_der_or_p1363() {
        use p256::ecdsa::signature::hazmat::PrehashSigner as _;
        let signing = p256_key();
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let keys = PublicKeys::from_pem("cosign.pub", pem.as_bytes()).unwrap();
        let signature: p256::ecdsa::Signature =
            signing.sign_prehash(&Sha256::digest(PAYLOAD)).unwrap();
        assert_eq!(
            keys.verify_blob(PAYLOAD, signature.to_der().as_bytes()),
            Some("cosign.pub")
        );
        assert_eq!(
            keys.verify_blob(PAYLOAD, &signature.to_bytes()),
            Some("cosign.pub")
        );
        assert_eq!(
            keys.verify_blob(b"other", signature.to_der().as_bytes()),
            None
        );
        assert_eq!(keys.verify_blob(PAYLOAD, b"garbage"), None);
        assert_eq!(keys.describe(), ["cosign.pub (ECDSA P-256)"]);
    }

    #[test]
    fn p384_signatures_are_over_sha256_as_flux_verifies_them() {
        use p384::ecdsa::signature::hazmat::PrehashSigner as _;
        let signing = p384_key();
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let keys = PublicKeys::from_pem("p384.pub", pem.as_bytes()).unwrap();
        let over_sha256: p384::ecdsa::Signature =
            signing.sign_prehash(&Sha256::digest(PAYLOAD)).unwrap();
        assert_eq!(
            keys.verify_blob(PAYLOAD, over_sha256.to_der().as_bytes()),
            Some("p384.pub")
        );
        // What `cosign sign --key` makes of a P-384 key (SHA-384): not verified by Flux.
        let over_sha384: p384::ecdsa::Signature = signing
            .sign_prehash(&sha2::Sha384::digest(PAYLOAD))
            .unwrap();
        assert_eq!(
            keys.verify_blob(PAYLOAD, over_sha384.to_der().as_bytes()),
            None
        );
    }

    #[test]
    fn rsa_signatures_are_pkcs1v15_sha256() {
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let private = rsa_key();
        let public = private.to_public_key();
        let spki = public.to_public_key_pem(LineEnding::LF).unwrap();
        let pkcs1 = public.to_pkcs1_pem(LineEnding::LF).unwrap();
        let signing = rsa::pkcs1v15::SigningKey::<Sha256>::new(private);
        let signature = signing.sign(PAYLOAD).to_vec();
        for (name, pem) in [("spki.pub", spki), ("pkcs1.pub", pkcs1)] {
            let keys = PublicKeys::from_pem(name, pem.as_bytes()).unwrap();
            assert_eq!(keys.verify_blob(PAYLOAD, &signature), Some(name));
            assert_eq!(keys.verify_blob(b"other", &signature), None);
        }
    }

    #[test]
    fn ed25519_signatures_are_pure() {
        use ed25519_dalek::Signer as _;
        let signing = ed25519_key();
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let keys = PublicKeys::from_pem("ed.pub", pem.as_bytes()).unwrap();
        let signature = signing.sign(PAYLOAD).to_bytes();
        assert_eq!(keys.verify_blob(PAYLOAD, &signature), Some("ed.pub"));
        assert_eq!(keys.verify_blob(b"other", &signature), None);
    }

    #[test]
    fn the_first_key_that_verifies_is_named() {
        use p256::ecdsa::signature::Signer as _;
        let (one, two) = (
            p256_key(),
            p256::ecdsa::SigningKey::from_slice(&[8; 32]).unwrap(),
        );
        let mut keys = PublicKeys::default();
        for (name, key) in [("one.pub", &one), ("two.pub", &two)] {
            let pem = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap();
            keys.add_pem(name, pem.as_bytes()).unwrap();
        }
        let signature: p256::ecdsa::Signature = two.sign(PAYLOAD);
        assert_eq!(
            keys.verify_blob(PAYLOAD, signature.to_der().as_bytes()),
            Some("two.pub")
        );
    }

    #[test]
    fn pem_blocks_are_found_as_go_finds_them() {
        let pem = p256_key()
            .verifying_key()
            .to_public_key_pem(LineEnding::CRLF)
            .unwrap();
        let wrapped = format!("leading text\n-----BEGIN BROKEN-----\n{pem}trailing");
        assert!(PublicKeys::from_pem("k", wrapped.as_bytes()).is_ok());
    }

    #[test]
    fn other_pem_contents_are_refused_by_name() {
        let cases: [(&str, &str); 6] = [
            ("no pem here", "k: PEM decoding failed"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "k: a certificate, not a public key",
            ),
            (
                "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
                "k: a private key (ENCRYPTED SIGSTORE PRIVATE KEY)",
            ),
            (
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
                "k: unknown Public key PEM file type: PGP PUBLIC KEY BLOCK.",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "k: invalid public key",
            ),
            (
                // secp256k1, a curve Go's x509 does not read either
                "-----BEGIN PUBLIC KEY-----\nMDYwEAYHKoZIzj0CAQYFK4EEAAoDIgACAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n-----END PUBLIC KEY-----\n",
                "k: ECDSA keys on the curve 1.3.132.0.10 are not supported",
            ),
        ];
        for (pem, expected) in cases {
            let error = PublicKeys::from_pem("k", pem.as_bytes()).unwrap_err();
            assert!(error.starts_with(expected), "{pem}: {error}");
        }
    }
}
