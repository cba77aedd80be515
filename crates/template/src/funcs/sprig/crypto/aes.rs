//! `encryptAES` / `decryptAES`: AES-256-CBC with PKCS#7 padding and the IV in front,
//! base64-encoded, keyed by the password zero-padded (or cut) to 32 bytes.

use ::aes::Aes256;
use ::aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use base64::Engine as _;
use rand_core::Rng;

use super::seeded_rng;
use crate::funcs::sprig::conv::s;
use crate::funcs::{Context, FuncMap, Signature, Type};

const BLOCK: usize = 16;

fn cipher(password: &str) -> Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    Aes256::new(&Array::from(key))
}

fn encrypt(ctx: &mut Context<'_>, password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let aes = cipher(password);
    let mut data = plaintext.as_bytes().to_vec();
    let pad = BLOCK - data.len() % BLOCK;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut iv = [0u8; BLOCK];
    seeded_rng(ctx).fill_bytes(&mut iv);
    let mut out = iv.to_vec();
    let mut prev = iv;
    for chunk in data.chunks(BLOCK) {
        let mut block = Array::<u8, _>::default();
        for (k, b) in block.iter_mut().enumerate() {
            *b = chunk[k] ^ prev[k];
        }
        aes.encrypt_block(&mut block);
        prev.copy_from_slice(&block);
        out.extend_from_slice(&block);
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// Go's `base64.CorruptInputError` message.
fn base64_error(e: base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _)
        | base64::DecodeError::InvalidLastSymbol { offset: at, .. } => at,
        base64::DecodeError::InvalidLength(len) => len,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

/// Sprig's `decryptAES`, failing where Go's code panics, with Go's panic text.
fn decrypt(password: &str, text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(base64_error)?;
    if data.len() < BLOCK {
        return Err(format!(
            "runtime error: slice bounds out of range [:{BLOCK}] with capacity {}",
            data.len()
        ));
    }
    let (iv, body) = data.split_at(BLOCK);
    if body.len() % BLOCK != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let aes = cipher(password);
    let mut plain = Vec::with_capacity(body.len());
    let mut prev = iv;
    for chunk in body.chunks(BLOCK) {
        let mut block = Array::<u8, _>::default();
        block.copy_from_slice(chunk);
        aes.decrypt_block(&mut block);
        plain.extend(block.iter().zip(prev).map(|(b, p)| b ^ p));
        prev = chunk;
    }
    // Go trusts the last byte as the padding length without checking it.
    let Some(&pad) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = plain.len() as i64 - i64::from(pad);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    plain.truncate(keep as usize);
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

pub(super) fn install(m: &mut FuncMap) {
    let two = Signature::new(&[Type::String, Type::String]);
    m.insert("encryptAES", two.clone(), |ctx, a| {
        Ok(encrypt(ctx, s(&a[0]), s(&a[1])).into())
    });
    m.insert("decryptAES", two, |_, a| {
        Ok(decrypt(s(&a[0]), s(&a[1]))?.into())
    });
}
