//! Sprig's path, random, UUID and duration functions, and the one crunch refuses:
//! `getHostByName` (it needs the network).

use super::conv::{i, s};
use crate::funcs::{Context, FuncMap, Signature, Type};
use crate::gotime::format_duration;
use crate::{List, Value};

const S: Type = Type::String;
const I: Type = Type::Int;

/// Functions crunch does not provide; calling one is an error that names it.
const UNSUPPORTED: &[&str] = &["getHostByName"];

pub(super) fn install(m: &mut FuncMap) {
    for name in UNSUPPORTED {
        m.insert(name, Signature::variadic(&[], Type::Any), move |_, _| {
            Err(format!("{name} is not supported by crunch"))
        });
    }
    m.insert("hello", Signature::new(&[]), |_, _| Ok("Hello!".into()));
    for name in ["base", "osBase"] {
        m.insert(name, Signature::new(&[S]), |_, a| Ok(base(s(&a[0])).into()));
    }
    for name in ["dir", "osDir"] {
        m.insert(name, Signature::new(&[S]), |_, a| Ok(dir(s(&a[0])).into()));
    }
    for name in ["ext", "osExt"] {
        m.insert(name, Signature::new(&[S]), |_, a| Ok(ext(s(&a[0])).into()));
    }
    for name in ["clean", "osClean"] {
        m.insert(name, Signature::new(&[S]), |_, a| {
            Ok(crunch_gostd::path::clean(s(&a[0])).into())
        });
    }
    for name in ["isAbs", "osIsAbs"] {
        m.insert(name, Signature::new(&[S]), |_, a| {
            Ok(Value::Bool(s(&a[0]).starts_with('/')))
        });
    }
    // Sprig reads only strings (decimal) and int64s; anything else is zero seconds.
    m.insert("duration", Signature::new(&[Type::Any]), |_, a| {
        let secs = match &a[0] {
            Value::String(t) => t.parse().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        // Go's `time.Duration(n) * time.Second` wraps on overflow.
        Ok(format_duration(secs.wrapping_mul(1_000_000_000)).into())
    });
    let alphabets: [(&str, &str); 4] = [
        (
            "randAlphaNum",
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        (
            "randAlpha",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        ("randNumeric", "0123456789"),
        (
            "randAscii",
            " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
        ),
    ];
    for (name, alphabet) in alphabets {
        m.insert(name, Signature::new(&[I]), move |ctx, a| {
            let chars: Vec<char> = alphabet.chars().collect();
            let out: String = (0..i(&a[0]).max(0))
                .map(|_| chars[(ctx.random_u64() % chars.len() as u64) as usize])
                .collect();
            Ok(out.into())
        });
    }
    m.insert("randBytes", Signature::new(&[I]), |ctx, a| {
        let bytes: Vec<u8> = (0..i(&a[0]).max(0))
            .map(|_| ctx.random_u64() as u8)
            .collect();
        Ok(super::encoding::base64(&bytes).into())
    });
    m.insert("uuidv4", Signature::new(&[]), |ctx, _| {
        Ok(uuidv4(ctx).into())
    });
    m.insert("shuffle", Signature::new(&[S]), |ctx, a| {
        let mut chars: Vec<char> = s(&a[0]).chars().collect();
        for k in (1..chars.len()).rev() {
            let j = (ctx.random_u64() % (k as u64 + 1)) as usize;
            chars.swap(k, j);
        }
        Ok(chars.into_iter().collect::<String>().into())
    });
    m.insert("tuple", Signature::variadic(&[], Type::Any), |_, a| {
        Ok(Value::List(List::new(a.to_vec())))
    });
    m.insert("abbrevboth", Signature::new(&[I, I, S]), |_, a| {
        Ok(abbrev_both(s(&a[2]), i(&a[0]), i(&a[1])).into())
    });
}

fn uuidv4(ctx: &mut Context<'_>) -> String {
    let mut b = [0u8; 16];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&ctx.random_u64().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crunch_gostd::hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// goutils' `AbbreviateFull`.
fn abbrev_both(text: &str, offset: i64, width: i64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len() as i64;
    if width < 4 || (offset > 0 && width < 7) || len <= width {
        return text.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        let head: String = chars[..(width - 3) as usize].iter().collect();
        return format!("{head}...");
    }
    if offset + width - 3 < len {
        let inner: String = chars[offset as usize..].iter().collect();
        return format!("...{}", abbrev_both(&inner, 0, width - 3));
    }
    let tail: String = chars[(len - (width - 3)) as usize..].iter().collect();
    format!("...{tail}")
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    crunch_gostd::path::clean(&p[..cut])
}

/// Go's `path.Ext`.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => break,
            '.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}
