//! SOPS's value cipher (`aes/cipher.go`): `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`,
//! AES-256-GCM with the nonce size the `iv` has (32 bytes as SOPS writes it).

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::tree::{Comment, Value};

/// AES-256-GCM with SOPS's 32-byte nonce.
type Aes256Gcm32 = AesGcm<aes_gcm::aes::Aes256, U32>;

/// The parts of an `ENC[…]` value.
struct Encrypted<'a> {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    kind: &'a str,
}

/// SOPS's `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy, anchored at
/// the start only), then base64.
fn parse(value: &str) -> Result<Encrypted<'_>, String> {
    let malformed = || format!("{value:?} does not match SOPS's data format");
    let rest = value
        .strip_prefix("ENC[AES256_GCM,data:")
        .ok_or_else(malformed)?;
    // Greedy groups: the last `,type:` after the last `,tag:` after the last `,iv:`.
    let close = rest.rfind(']').ok_or_else(malformed)?;
    let body = &rest[..close];
    let type_at = body.rfind(",type:").ok_or_else(malformed)?;
    let kind = &body[type_at + 6..];
    let before = &body[..type_at];
    let tag_at = before.rfind(",tag:").ok_or_else(malformed)?;
    let iv_at = before[..tag_at].rfind(",iv:").ok_or_else(malformed)?;
    let (data, iv, tag) = (
        &before[..iv_at],
        &before[iv_at + 4..tag_at],
        &before[tag_at + 5..],
    );
    if [data, iv, tag, kind].iter().any(|part| part.is_empty()) {
        return Err(malformed());
    }
    let decode = |part: &str, what: &str| {
        STANDARD
            .decode(part)
            .map_err(|e| format!("Error base64-decoding {what}: {e}"))
    };
    Ok(Encrypted {
        data: decode(data, "data")?,
        iv: decode(iv, "iv")?,
        tag: decode(tag, "tag")?,
        kind,
    })
}

/// Decrypts one value with the data key, authenticated with `aad` (the value's path).
/// An empty string stays empty, as SOPS never encrypts one.
pub(crate) fn decrypt(value: &str, key: &[u8], aad: &str) -> Result<Value, String> {
    if value.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let parsed = parse(value)?;
    if key.len() != 32 {
        return Err(format!("the data key has {} bytes, not 32", key.len()));
    }
    let mut sealed = parsed.data;
    sealed.extend_from_slice(&parsed.tag);
    let payload = Payload {
        msg: &sealed,
        aad: aad.as_bytes(),
    };
    let plain = match parsed.iv.len() {
        32 => Aes256Gcm32::new(GenericArray::from_slice(key))
            .decrypt(GenericArray::from_slice(&parsed.iv), payload),
        12 => Aes256Gcm::new(GenericArray::from_slice(key))
            .decrypt(GenericArray::from_slice(&parsed.iv), payload),
        n => return Err(format!("unsupported iv length {n} (SOPS writes 32 bytes)")),
    }
    .map_err(|_| "Could not decrypt with AES_GCM: message authentication failed".to_owned())?;
    typed(plain, parsed.kind)
}

/// The plaintext as the type the value had (`strconv.Atoi`, `ParseFloat`, `ParseBool`).
fn typed(plain: Vec<u8>, kind: &str) -> Result<Value, String> {
    let text = || String::from_utf8(plain.clone()).map_err(|_| "value is not UTF-8".to_owned());
    match kind {
        "str" | "bytes" => Ok(match String::from_utf8(plain) {
            Ok(text) => Value::Str(text),
            Err(e) => Value::Bytes(e.into_bytes()),
        }),
        "int" => text()?
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|e| format!("invalid int: {e}")),
        "float" => {
            let t = text()?;
            t.parse::<f64>()
                .map(Value::Float)
                .map_err(|_| format!("invalid float {t:?}"))
        }
        "bool" => match text()?.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Value::Bool(false)),
            other => Err(format!("invalid bool {other:?}")),
        },
        // Go's `time.Time.MarshalText`: RFC 3339 with nanoseconds.
        "time" => Ok(Value::Time(text()?)),
        "comment" => Ok(Value::Comment(Comment {
            text: text()?,
            inline: false,
        })),
        other => Err(format!("Unknown datatype: {other}")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encrypts as SOPS does (for tests: a fixed iv).
    pub(crate) fn encrypt(plain: impl AsRef<[u8]>, kind: &str, key: &[u8], aad: &str) -> String {
        let iv = [7u8; 32];
        let sealed = Aes256Gcm32::new(GenericArray::from_slice(key))
            .encrypt(
                GenericArray::from_slice(&iv),
                Payload {
                    msg: plain.as_ref(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        let (data, tag) = sealed.split_at(sealed.len() - 16);
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
            STANDARD.encode(data),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        )
    }

    #[test]
    fn round_trips_and_authenticates_the_path() {
        let key = [1u8; 32];
        let enc = encrypt("hunter2", "str", &key, "data:password:");
        assert_eq!(
            decrypt(&enc, &key, "data:password:").unwrap(),
            Value::Str("hunter2".into())
        );
        assert!(decrypt(&enc, &key, "data:other:").is_err());
        let int = encrypt("42", "int", &key, "n:");
        assert_eq!(decrypt(&int, &key, "n:").unwrap(), Value::Int(42));
        let b = encrypt("True", "bool", &key, "b:");
        assert_eq!(decrypt(&b, &key, "b:").unwrap(), Value::Bool(true));
    }

    #[test]
    fn malformed_values_are_errors() {
        let key = [1u8; 32];
        for bad in [
            "ENC[AES256_GCM,data:,iv:,tag:,type:str]",
            "ENC[",
            "plain",
            "ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
        ] {
            assert!(decrypt(bad, &key, "a:").is_err(), "{bad}");
        }
    }
}
