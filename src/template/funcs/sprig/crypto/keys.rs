//! `genPrivateKey`: RSA 4096, ECDSA P-256 and Ed25519 keys in the PEM blocks Sprig
//! writes, from the seeded source.

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use p256::elliptic_curve::Generate as _;
use p256::elliptic_curve::SecretKey;
use p256::pkcs8::LineEnding;
use rsa::pkcs1::EncodeRsaPrivateKey as _;

use super::seeded_rng;
use crate::template::funcs::sprig::conv::s;
use crate::template::funcs::{Context, FuncMap, Signature, Type};

/// Sprig's `generatePrivateKey`; failures come back as text, as Sprig returns them.
fn gen_private_key(ctx: &mut Context<'_>, kind: &str) -> String {
    let mut rng = seeded_rng(ctx);
    let pem = match kind {
        "" | "rsa" => rsa::PrivateKey::new(&mut rng, 4096)
            .map_err(|e| e.to_string())
            .and_then(|k| {
                k.to_pkcs1_pem(LineEnding::LF)
                    .map(|p| p.to_string())
                    .map_err(|e| e.to_string())
            }),
        "ecdsa" => SecretKey::<p256::NistP256>::generate_from_rng(&mut rng)
            .to_sec1_pem(LineEnding::LF)
            .map(|p| p.to_string())
            .map_err(|e| e.to_string()),
        "ed25519" => {
            let mut secret = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut rng, &mut secret);
            // Go writes PKCS#8 v1: the seed without the public key.
            ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: secret,
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF)
            .map(|p| p.to_string())
            .map_err(|e| e.to_string())
        }
        // Go's DSA is deprecated and crunch does not implement it.
        "dsa" => return "dsa keys are not supported by crunch".into(),
        other => return format!("Unknown type {other}"),
    };
    pem.unwrap_or_else(|e| format!("failed to generate private key: {e}"))
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert(
        "genPrivateKey",
        Signature::new(&[Type::String]),
        |ctx, a| Ok(gen_private_key(ctx, s(&a[0])).into()),
    );
}
