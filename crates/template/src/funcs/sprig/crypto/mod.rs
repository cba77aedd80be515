//! Sprig's password, encryption, key and certificate functions. Randomness (bcrypt salts,
//! AES IVs, keys, certificate serials) comes from the template set's seeded source, so
//! output is reproducible.

mod aes;
mod certs;
mod keys;
mod password;
mod pem;
mod pkey;
mod x509;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::funcs::{Context, FuncMap};

/// A cryptographic generator seeded from the set's random source: the same seed gives
/// the same keys, salts and IVs.
fn seeded_rng(ctx: &mut Context<'_>) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        chunk.copy_from_slice(&ctx.random_u64().to_le_bytes());
    }
    ChaCha20Rng::from_seed(seed)
}

pub(super) fn install(m: &mut FuncMap) {
    password::install(m);
    aes::install(m);
    keys::install(m);
    certs::install(m);
}
