//! `genPrivateKey`: RSA 4096, ECDSA P-256 and Ed25519 keys in the PEM blocks Sprig
//! writes, from the seeded source.

use super::pkey::{KeyKind, PrivateKey};
use super::seeded_rng;
use crate::funcs::sprig::conv::s;
use crate::funcs::{Context, FuncMap, Signature, Type};

/// Sprig's `generatePrivateKey`; failures come back as text, as Sprig returns them.
fn gen_private_key(ctx: &mut Context<'_>, kind: &str) -> String {
    let kind = match kind {
        "" | "rsa" => KeyKind::Rsa(4096),
        "ecdsa" => KeyKind::P256,
        "ed25519" => KeyKind::Ed25519,
        // Go's DSA is deprecated and crunch does not implement it.
        "dsa" => return "dsa keys are not supported by crunch".into(),
        other => return format!("Unknown type {other}"),
    };
    PrivateKey::generate(kind, &mut seeded_rng(ctx))
        .and_then(|k| k.to_pem())
        .unwrap_or_else(|e| format!("failed to generate private key: {e}"))
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert(
        "genPrivateKey",
        Signature::new(&[Type::String]),
        |ctx, a| Ok(gen_private_key(ctx, s(&a[0])).into()),
    );
}
