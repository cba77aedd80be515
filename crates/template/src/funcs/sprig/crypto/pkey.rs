//! Private keys as Sprig reads and writes them: `parsePrivateKeyPEM` (PKCS#1 RSA, SEC1
//! EC, PKCS#8) and `pemBlockForKey` (PKCS#1 for RSA, SEC1 for EC, PKCS#8 otherwise), and
//! the signature each key makes in a certificate.

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::ObjectIdentifier;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use x509_cert::der::asn1::Any;
use x509_cert::der::{Decode as _, Tag};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::pem;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A private key crunch can sign certificates with: the kinds Go's `x509` signs with,
/// less the EC curves other than P-256.
pub(super) enum PrivateKey {
    /// RSA, of any size.
    Rsa(Box<rsa::PrivateKey>),
    /// ECDSA on P-256.
    P256(p256::SecretKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

/// The key kinds `genPrivateKey` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// ECDSA on P-256.
    P256,
    /// Ed25519.
    Ed25519,
}

impl PrivateKey {
    /// A fresh key of `kind` from `rng`.
    pub(super) fn generate(kind: KeyKind, rng: &mut ChaCha20Rng) -> Result<PrivateKey, String> {
        Ok(match kind {
            KeyKind::Rsa(bits) => PrivateKey::Rsa(Box::new(
                rsa::PrivateKey::new(rng, bits).map_err(|e| e.to_string())?,
            )),
            KeyKind::P256 => {
                use p256::elliptic_curve::Generate as _;
                PrivateKey::P256(p256::SecretKey::generate_from_rng(rng))
            }
            KeyKind::Ed25519 => {
                let mut secret = [0u8; 32];
                rand_core::Rng::fill_bytes(rng, &mut secret);
                PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&secret))
            }
        })
    }

    /// Sprig's `parsePrivateKeyPEM`, with its error texts.
    pub(super) fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let block = pem::decode(text.as_bytes()).ok_or("no PEM data in input")?;
        if block.label == "PRIVATE KEY" {
            return from_pkcs8(&block.der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(kind) = block.label.strip_suffix(" PRIVATE KEY") else {
            return Err(format!(
                "no private key data in PEM block of type {}",
                block.label
            ));
        };
        match kind {
            "RSA" => rsa::PrivateKey::from_pkcs1_der(&block.der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
            "EC" => p256::SecretKey::from_sec1_der(&block.der)
                .map(PrivateKey::P256)
                .map_err(|e| {
                    format!("parsing EC private key from PEM: {e} (crunch reads P-256 keys only)")
                }),
            // Go reads DSA keys but cannot sign certificates with them.
            "DSA" => Err("dsa keys are not supported by crunch".into()),
            _ => Err(format!("invalid private key type {}", block.label)),
        }
    }

    /// Sprig's `pemBlockForKey`: the PEM text Go writes for the key.
    pub(super) fn to_pem(&self) -> Result<String, String> {
        let (label, der) = match self {
            PrivateKey::Rsa(k) => (
                "RSA PRIVATE KEY",
                k.to_pkcs1_der()
                    .map_err(|e| e.to_string())?
                    .as_bytes()
                    .to_vec(),
            ),
            PrivateKey::P256(k) => (
                "EC PRIVATE KEY",
                k.to_sec1_der().map_err(|e| e.to_string())?.to_vec(),
            ),
            PrivateKey::Ed25519(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey as _;
                // Go writes PKCS#8 v1: the seed without the public key.
                let bytes = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: k.to_bytes(),
                    public_key: None,
                };
                (
                    "PRIVATE KEY",
                    bytes
                        .to_pkcs8_der()
                        .map_err(|e| e.to_string())?
                        .as_bytes()
                        .to_vec(),
                )
            }
        };
        Ok(pem::encode(label, &der))
    }

    /// The public key as a DER `SubjectPublicKeyInfo` (Go's `MarshalPKIXPublicKey`).
    pub(super) fn public_key_der(&self) -> Result<Vec<u8>, String> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivateKey::P256(k) => k.public_key().to_public_key_der(),
            PrivateKey::Ed25519(k) => k.verifying_key().to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    /// The signature algorithm Go's `x509` picks for the key: SHA-256 with RSA PKCS#1
    /// v1.5 or ECDSA, or pure Ed25519.
    pub(super) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            PrivateKey::Rsa(_) => AlgorithmIdentifierOwned {
                oid: SHA256_WITH_RSA,
                parameters: Any::new(Tag::Null, Vec::new()).ok(),
            },
            PrivateKey::P256(_) => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            PrivateKey::Ed25519(_) => AlgorithmIdentifierOwned {
                oid: ED25519,
                parameters: None,
            },
        }
    }

    /// Signs `message` with [`Self::signature_algorithm`]. Every scheme here is
    /// deterministic (ECDSA per RFC 6979), so a build is reproducible.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                signer
                    .try_sign(message)
                    .map(|s| rsa::signature::SignatureEncoding::to_vec(&s))
                    .map_err(|e| e.to_string())
            }
            PrivateKey::P256(k) => {
                let signer = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature =
                    signer.try_sign(message).map_err(|e| e.to_string())?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::Ed25519(k) => Ok(k.sign(message).to_bytes().to_vec()),
        }
    }
}

/// Go's `ParsePKCS8PrivateKey`, for the algorithms crunch signs with.
fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
    let info = rsa::pkcs8::PrivateKeyInfoRef::from_der(der)
        .map_err(|e| format!("x509: failed to parse private key: {e}"))?;
    let oid = info.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        rsa::PrivateKey::from_pkcs8_der(der)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"))
    } else if oid == EC_PUBLIC_KEY {
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(P256_CURVE) {
            return Err("EC keys on curves other than P-256 are not supported by crunch".into());
        }
        p256::SecretKey::from_pkcs8_der(der)
            .map(PrivateKey::P256)
            .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"))
    } else if oid == ED25519 {
        ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(PrivateKey::Ed25519)
            .map_err(|e| format!("x509: invalid Ed25519 private key: {e}"))
    } else {
        Err(format!(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: {oid}"
        ))
    }
}
