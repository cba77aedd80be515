//! Sprig's encodings and checksums: base64, base32, sha1/sha256/sha512, adler32.

use sha2::Digest;

use super::conv::s;
use crate::funcs::{FuncMap, Signature, Type};
use crunch_gostd::{hex, sha256};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) fn install(m: &mut FuncMap) {
    let one = Signature::new(&[Type::String]);
    m.insert("b64enc", one.clone(), |_, a| {
        Ok(encode(s(&a[0]).as_bytes(), B64, 6).into())
    });
    m.insert("b64dec", one.clone(), |_, a| {
        Ok(decode_or_message(s(&a[0]), B64, 6).into())
    });
    m.insert("b32enc", one.clone(), |_, a| {
        Ok(encode(s(&a[0]).as_bytes(), B32, 5).into())
    });
    m.insert("b32dec", one.clone(), |_, a| {
        Ok(decode_or_message(s(&a[0]), B32, 5).into())
    });
    m.insert("sha1sum", one.clone(), |_, a| {
        Ok(hex::encode(sha1(s(&a[0]).as_bytes())).into())
    });
    m.insert("sha256sum", one.clone(), |_, a| {
        Ok(sha256::hex(s(&a[0])).into())
    });
    m.insert("sha512sum", one.clone(), |_, a| {
        Ok(hex::encode(sha2::Sha512::digest(s(&a[0]).as_bytes())).into())
    });
    m.insert("adler32sum", one, |_, a| {
        Ok(adler32(s(&a[0]).as_bytes()).to_string().into())
    });
}

/// Standard padded base64 of `bytes`.
pub(super) fn base64(bytes: &[u8]) -> String {
    encode(bytes, B64, 6)
}

/// Padded encoding with `bits` bits per symbol (6: base64, 5: base32).
fn encode(data: &[u8], alphabet: &[u8], bits: u32) -> String {
    let mut out = String::new();
    let (mut acc, mut n) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        n += 8;
        while n >= bits {
            n -= bits;
            out.push(alphabet[((acc >> n) & ((1 << bits) - 1)) as usize] as char);
        }
    }
    if n > 0 {
        out.push(alphabet[((acc << (bits - n)) & ((1 << bits) - 1)) as usize] as char);
    }
    let block = if bits == 6 { 4 } else { 8 };
    while !out.len().is_multiple_of(block) {
        out.push('=');
    }
    out
}

/// Sprig returns the decoder's error text in place of the decoded string.
fn decode_or_message(text: &str, alphabet: &[u8], bits: u32) -> String {
    match decode(text, alphabet, bits) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(offset) => {
            let kind = if bits == 6 { "base64" } else { "base32" };
            format!("illegal {kind} data at input byte {offset}")
        }
    }
}

/// Strict padded decoding (newlines skipped, as Go does); the error is Go's offset.
fn decode(text: &str, alphabet: &[u8], bits: u32) -> Result<Vec<u8>, usize> {
    let block = if bits == 6 { 4 } else { 8 };
    let symbols: Vec<(usize, u8)> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\n' && *b != b'\r')
        .collect();
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0u32);
    let mut padded_at: Option<usize> = None;
    for (k, &(pos, b)) in symbols.iter().enumerate() {
        if b == b'=' {
            // Padding may only complete the last block.
            if k % block < 2 {
                return Err(pos);
            }
            padded_at.get_or_insert(k);
            continue;
        }
        if padded_at.is_some() {
            return Err(pos);
        }
        let Some(v) = alphabet.iter().position(|c| *c == b) else {
            return Err(pos);
        };
        acc = (acc << bits) | v as u32;
        n += bits;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
    }
    if !symbols.len().is_multiple_of(block) {
        let start = symbols.len() - symbols.len() % block;
        return Err(symbols.get(start).map_or(text.len(), |(p, _)| *p));
    }
    Ok(out)
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// SHA-1 (FIPS 180-4), for `sha1sum`.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(encode(b"hello world", B64, 6), "aGVsbG8gd29ybGQ=");
        assert_eq!(
            decode("aGVsbG8gd29ybGQ=", B64, 6),
            Ok(b"hello world".to_vec())
        );
        assert_eq!(encode(b"hi", B32, 5), "NBUQ====");
        assert_eq!(decode("!!!", B64, 6), Err(0));
        assert_eq!(
            hex::encode(sha1(b"hello")),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(adler32(b"hello"), 103547413);
    }
}
