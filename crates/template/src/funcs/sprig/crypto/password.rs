//! `bcrypt`, `htpasswd` and `derivePassword` (the Master Password algorithm).

use hmac::{Hmac, KeyInit, Mac};
use rand_core::Rng;
use sha2::Sha256;

use super::seeded_rng;
use crate::funcs::sprig::conv::{i, s};
use crate::funcs::{Context, FuncMap, Signature, Type};

const S: Type = Type::String;

/// Go's `bcrypt.DefaultCost`.
const COST: u32 = 10;

/// Sprig's `bcrypt`: Go's `$2a$` hash at the default cost, salt from the seeded source.
/// Failures are returned as text, as Sprig does.
fn bcrypt(ctx: &mut Context<'_>, password: &str) -> String {
    // Go refuses what other implementations silently truncate.
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    let mut salt = [0u8; 16];
    seeded_rng(ctx).fill_bytes(&mut salt);
    match ::bcrypt::hash_with_salt(password, COST, salt) {
        Ok(parts) => parts.format_for_version(::bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// The Master Password templates per password type.
fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters a template letter stands for.
fn class(letter: u8) -> &'static [u8] {
    match letter {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

const SCOPE: &[u8] = b"com.lyndir.masterpassword";

/// `scope ‖ len(text) as u32 big-endian ‖ text`.
fn scoped(text: &str) -> Vec<u8> {
    let mut out = SCOPE.to_vec();
    out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Sprig's `derivePassword`: Master Password's site password (scrypt N=32768, r=8,
/// p=2 over the user's name, then HMAC-SHA256 over the site and counter).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut key = [0u8; 64];
    let derived = ::scrypt::Params::new(15, 8, 2)
        .map_err(|e| e.to_string())
        .and_then(|params| {
            ::scrypt::scrypt(password.as_bytes(), &scoped(user), &params, &mut key)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return "failed to derive password: invalid key".into();
    };
    let mut message = scoped(site);
    message.extend_from_slice(&counter.to_be_bytes());
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .zip(seed.iter().skip(1))
        .map(|(letter, &b)| {
            let chars = class(letter);
            char::from(chars[usize::from(b) % chars.len()])
        })
        .collect()
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("bcrypt", Signature::new(&[S]), |ctx, a| {
        Ok(bcrypt(ctx, s(&a[0])).into())
    });
    // Sprig v3.3.0 (Helm v4's) takes no hash algorithm: always bcrypt.
    m.insert("htpasswd", Signature::new(&[S, S]), |ctx, a| {
        let user = s(&a[0]);
        if user.contains(':') {
            return Ok(format!("invalid username: {user}").into());
        }
        Ok(format!("{user}:{}", bcrypt(ctx, s(&a[1]))).into())
    });
    m.insert(
        "derivePassword",
        Signature::new(&[Type::Uint32, S, S, S, S]),
        |_, a| {
            let counter = u32::try_from(i(&a[0])).unwrap_or_default();
            Ok(derive_password(counter, s(&a[1]), s(&a[2]), s(&a[3]), s(&a[4])).into())
        },
    );
}
