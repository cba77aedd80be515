//! Signatures over a bundle's digest, as `cosign sign-blob` makes them of the bundle's
//! `digest` file: ECDSA P-256 with SHA-256, ASN.1 DER, base64. A signature holds for
//! the directory, the archive and the OCI artifact alike, since all three carry the same
//! `digest` file; `cosign verify-blob --key cosign.pub --signature digest.sig digest`
//! checks it too.
//!
//! Private keys are read as cosign writes them (`cosign generate-key-pair`: an
//! `ENCRYPTED SIGSTORE PRIVATE KEY`, or `ENCRYPTED COSIGN PRIVATE KEY` from older
//! versions: PKCS #8 sealed with NaCl secretbox under a scrypt key, the password from
//! `COSIGN_PASSWORD`), or as plain PKCS #8 PEM (`openssl genpkey`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde::Deserialize;

use crate::bundle::VerifiedBundle;
use crate::source::cosign::PublicKeys;

/// A key that signs bundles.
pub struct SigningKey {
    key: p256::ecdsa::SigningKey,
}

impl SigningKey {
    /// Reads the first PEM block of `pem` (a file named `name`), decrypting a cosign key
    /// with `password`.
    pub fn from_pem(name: &str, pem: &[u8], password: Option<&str>) -> Result<SigningKey, String> {
        let text = std::str::from_utf8(pem).map_err(|_| format!("{name}: not a PEM file"))?;
        let (label, der) = pem_block(text).ok_or_else(|| format!("{name}: no PEM block"))?;
        let pkcs8 = match label.as_str() {
            "PRIVATE KEY" => der,
            "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                let password = password.ok_or_else(|| {
                    format!("{name}: an encrypted cosign key: set COSIGN_PASSWORD")
                })?;
                decrypt(&der, password).map_err(|e| format!("{name}: {e}"))?
            }
            other => {
                return Err(format!(
                    "{name}: a {other} PEM block is not a private key crunch signs with (PKCS #8 PRIVATE KEY, or cosign's ENCRYPTED SIGSTORE PRIVATE KEY)"
                ));
            }
        };
        p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8)
            .map(|key| SigningKey { key })
            .map_err(|e| format!("{name}: not an ECDSA P-256 private key (cosign's key type): {e}"))
    }

    /// The signature of `blob`, base64 as `cosign sign-blob` prints it. ECDSA here is
    /// RFC 6979 deterministic: the same key and digest give the same signature.
    pub fn sign(&self, blob: &[u8]) -> String {
        let signature: p256::ecdsa::Signature = self.key.sign(blob);
        STANDARD.encode(signature.to_der().as_bytes())
    }
}

/// The bytes a bundle's signature covers: its `digest` file.
pub fn signed_blob(digest: &str) -> Vec<u8> {
    format!("{digest}\n").into_bytes()
}

/// Checks the bundle's `digest.sig` with `keys`: the name of the key that verifies it,
/// or why none does.
pub fn verify(bundle: &VerifiedBundle, keys: &PublicKeys) -> Result<String, String> {
    let Some(signature) = &bundle.signature else {
        return Err(format!(
            "bundle {} is not signed (no {})",
            bundle.digest,
            crate::bundle::SIGNATURE_FILE
        ));
    };
    let text = String::from_utf8_lossy(signature);
    let raw = STANDARD.decode(text.trim()).map_err(|e| {
        format!(
            "{} is not a base64 signature: {e}",
            crate::bundle::SIGNATURE_FILE
        )
    })?;
    keys.verify_blob(&signed_blob(&bundle.digest), &raw)
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "the signature of bundle {} does not verify with {}",
                bundle.digest,
                keys.describe().join(", ")
            )
        })
}

/// cosign's encrypted key envelope (secure-systems-lab's `encrypted` package).
#[derive(Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct ScryptParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The PKCS #8 key inside a cosign encrypted key.
fn decrypt(envelope: &[u8], password: &str) -> Result<Vec<u8>, String> {
    use crypto_secretbox::aead::{Aead as _, KeyInit as _};
    let envelope: Envelope =
        serde_json::from_slice(envelope).map_err(|e| format!("not a cosign encrypted key: {e}"))?;
    if envelope.kdf.name != "scrypt" || envelope.cipher.name != "nacl/secretbox" {
        return Err(format!(
            "key encrypted with {} and {}: crunch reads scrypt and nacl/secretbox, as cosign writes",
            envelope.kdf.name, envelope.cipher.name
        ));
    }
    let decode = |field: &str, text: &str| {
        STANDARD
            .decode(text)
            .map_err(|e| format!("{field} is not base64: {e}"))
    };
    let salt = decode("salt", &envelope.kdf.salt)?;
    let nonce = decode("nonce", &envelope.cipher.nonce)?;
    let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
    let ScryptParams { N: n, r, p } = envelope.kdf.params;
    if !n.is_power_of_two() || n < 2 {
        return Err(format!("scrypt N = {n} is not a power of two"));
    }
    let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p)
        .map_err(|e| format!("scrypt parameters N={n} r={r} p={p}: {e}"))?;
    let mut secret = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut secret)
        .map_err(|e| format!("scrypt: {e}"))?;
    let nonce: [u8; 24] = nonce
        .try_into()
        .map_err(|_| "the nonce is not 24 bytes".to_string())?;
    crypto_secretbox::XSalsa20Poly1305::new(&secret.into())
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map_err(|_| "wrong password (COSIGN_PASSWORD), or the key file is damaged".to_string())
}

/// The label and contents of the first PEM block.
fn pem_block(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label = &rest[..rest.find("-----")?];
    let body_start = rest.find("-----")? + 5;
    let end_marker = format!("-----END {label}-----");
    let body = &rest[body_start..body_start + rest[body_start..].find(&end_marker)?];
    let base64: String = body.split_whitespace().collect();
    Some((label.to_string(), STANDARD.decode(base64).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

    fn key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    fn public_keys(key: &p256::ecdsa::SigningKey) -> PublicKeys {
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        PublicKeys::from_pem("cosign.pub", pem.as_bytes()).unwrap()
    }

    /// Seals `pkcs8` as cosign does, for the tests (scrypt at a small N to stay fast).
    fn encrypt(pkcs8: &[u8], password: &str) -> String {
        use crypto_secretbox::aead::{Aead as _, KeyInit as _};
        let salt = [3u8; 32];
        let nonce = [5u8; 24];
        let mut secret = [0u8; 32];
        scrypt::scrypt(
            password.as_bytes(),
            &salt,
            &scrypt::Params::new(10, 8, 1).unwrap(),
            &mut secret,
        )
        .unwrap();
        let sealed = crypto_secretbox::XSalsa20Poly1305::new(&secret.into())
            .encrypt(&nonce.into(), pkcs8)
            .unwrap();
        let envelope = serde_json::json!({
            "kdf": {"name": "scrypt", "params": {"N": 1024, "r": 8, "p": 1}, "salt": STANDARD.encode(salt)},
            "cipher": {"name": "nacl/secretbox", "nonce": STANDARD.encode(nonce)},
            "ciphertext": STANDARD.encode(sealed),
        });
        let body = STANDARD.encode(envelope.to_string());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn signatures_are_cosign_blob_signatures_and_deterministic() {
        let pem = key().to_pkcs8_pem(LineEnding::LF).unwrap();
        let signer = SigningKey::from_pem("cosign.key", pem.as_bytes(), None).unwrap();
        let blob = signed_blob("sha256:abc");
        let one = signer.sign(&blob);
        assert_eq!(one, signer.sign(&blob));
        let raw = STANDARD.decode(&one).unwrap();
        assert_eq!(
            public_keys(&key()).verify_blob(&blob, &raw),
            Some("cosign.pub")
        );
        assert_eq!(public_keys(&key()).verify_blob(b"sha256:abd\n", &raw), None);
    }

    #[test]
    fn cosign_encrypted_keys_open_with_their_password() {
        let pkcs8 = key().to_pkcs8_der().unwrap();
        let pem = encrypt(pkcs8.as_bytes(), "hunter2");
        let signer = SigningKey::from_pem("cosign.key", pem.as_bytes(), Some("hunter2")).unwrap();
        assert_eq!(signer.key, key());
        let wrong = SigningKey::from_pem("cosign.key", pem.as_bytes(), Some("nope"))
            .err()
            .unwrap();
        assert!(wrong.contains("wrong password"), "{wrong}");
        let none = SigningKey::from_pem("cosign.key", pem.as_bytes(), None)
            .err()
            .unwrap();
        assert!(none.contains("COSIGN_PASSWORD"), "{none}");
    }

    #[test]
    fn other_keys_are_refused_by_name() {
        let public = key()
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let error = SigningKey::from_pem("k", public.as_bytes(), None)
            .err()
            .unwrap();
        assert!(
            error.contains("PUBLIC KEY PEM block is not a private key"),
            "{error}"
        );
        assert!(SigningKey::from_pem("k", b"junk", None).is_err());
    }
}
