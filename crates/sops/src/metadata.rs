//! The `sops` metadata (`stores/stores.go`): key groups, the MAC, the selectors that say
//! which values were encrypted.

use regex::Regex;
use serde_json::Value as Json;

use crate::error::Error;

/// One master key of a key group, as the file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKey {
    /// An age recipient and the data key (part) it wraps, armored.
    Age {
        /// `age1…`.
        recipient: String,
        /// The age file (armored) holding the data key.
        enc: String,
    },
    /// An OpenPGP key by fingerprint and the data key (part) it wraps, armored.
    Pgp {
        /// The key's fingerprint as the file writes it.
        fingerprint: String,
        /// The OpenPGP message holding the data key.
        enc: String,
    },
    /// A key crunch cannot use (AWS KMS, GCP KMS, Azure Key Vault, HashiCorp Vault,
    /// HuaweiCloud KMS): what it is, named for messages.
    Unsupported(String),
}

impl MasterKey {
    /// The key as messages name it.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            MasterKey::Age { recipient, .. } => recipient.clone(),
            MasterKey::Pgp { fingerprint, .. } => format!("PGP 0x{fingerprint}"),
            MasterKey::Unsupported(what) => what.clone(),
        }
    }
}

/// The metadata of one file.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub(crate) key_groups: Vec<Vec<MasterKey>>,
    pub(crate) shamir_threshold: usize,
    /// `lastmodified` as SOPS re-formats it (RFC 3339, seconds): the MAC's AAD.
    pub(crate) last_modified: String,
    pub(crate) mac: String,
    pub(crate) mac_only_encrypted: bool,
    selector: Selector,
}

/// Which one of SOPS's six selectors the file uses (at most one; none means
/// `unencrypted_suffix: _unencrypted`).
#[derive(Debug, Clone)]
enum Selector {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

fn text<'a>(map: &'a serde_json::Map<String, Json>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Metadata(what.into())
}

impl Metadata {
    /// Reads the `sops` value (as JSON: comments gone, numbers and booleans possibly as
    /// strings, as the dotenv and INI stores keep them).
    pub(crate) fn from_json(sops: &Json) -> Result<Metadata, Error> {
        let map = sops
            .as_object()
            .ok_or_else(|| malformed("`sops` is not a mapping"))?;
        let last_modified_raw =
            text(map, "lastmodified").ok_or_else(|| malformed("`sops.lastmodified` is missing"))?;
        let last_modified = reformat_rfc3339(last_modified_raw).ok_or_else(|| {
            malformed(format!(
                "`sops.lastmodified` {last_modified_raw:?} is not an RFC 3339 time"
            ))
        })?;
        let mac = text(map, "mac").unwrap_or_default().to_owned();
        let shamir_threshold = match map.get("shamir_threshold") {
            None | Some(Json::Null) => 0,
            Some(Json::Number(n)) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| malformed("`sops.shamir_threshold` is not a count"))?,
            // mapstructure's weak typing: a string holds the number, an empty one is 0.
            Some(Json::String(s)) if s.is_empty() => 0,
            Some(Json::String(s)) => s
                .parse()
                .map_err(|_| malformed("`sops.shamir_threshold` is not a count"))?,
            Some(_) => return Err(malformed("`sops.shamir_threshold` is not a count")),
        };
        let mac_only_encrypted = match map.get("mac_only_encrypted") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            // mapstructure's weak typing: Go's `strconv.ParseBool`, an empty string false.
            Some(Json::String(s))
                if matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True") =>
            {
                true
            }
            Some(Json::String(s))
                if matches!(
                    s.as_str(),
                    "" | "0" | "f" | "F" | "FALSE" | "false" | "False"
                ) =>
            {
                false
            }
            Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(_) => return Err(malformed("`sops.mac_only_encrypted` is not a boolean")),
        };
        let key_groups = key_groups(map)?;
        let selector = selector(map)?;
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            last_modified,
            mac,
            mac_only_encrypted,
            selector,
        })
    }

    /// `Tree.shouldBeEncrypted`.
    pub(crate) fn should_be_encrypted(
        &self,
        path: &[String],
        comments: &[Vec<String>],
        is_comment: bool,
    ) -> bool {
        match &self.selector {
            Selector::UnencryptedSuffix(suffix) => {
                !path.iter().any(|p| p.ends_with(suffix.as_str()))
            }
            Selector::EncryptedSuffix(suffix) => path.iter().any(|p| p.ends_with(suffix.as_str())),
            Selector::UnencryptedRegex(re) => !path.iter().any(|p| re.is_match(p)),
            Selector::EncryptedRegex(re) => path.iter().any(|p| re.is_match(p)),
            Selector::UnencryptedCommentRegex(re) => {
                !comments.iter().flatten().any(|c| re.is_match(c))
            }
            Selector::EncryptedCommentRegex(re) => {
                // The comment line that matches is not itself encrypted: the last comment
                // of the innermost level is skipped when the leaf is that comment.
                let last_level = comments.len().saturating_sub(1);
                let last_index = comments.last().map_or(0, |c| c.len().saturating_sub(1));
                comments.iter().enumerate().any(|(i, level)| {
                    level.iter().enumerate().any(|(j, c)| {
                        !(is_comment && i == last_level && j == last_index) && re.is_match(c)
                    })
                })
            }
        }
    }
}

/// Go's `time.Parse(time.RFC3339, s).Format(time.RFC3339)`: fractional seconds dropped,
/// a zero offset written `Z`.
pub(crate) fn reformat_rfc3339(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        rest = &fraction[end..];
    }
    let zone = match rest {
        "Z" | "z" => "Z".to_owned(),
        _ => {
            let z = rest.as_bytes();
            if z.len() != 6 || !matches!(z[0], b'+' | b'-') || z[3] != b':' {
                return None;
            }
            if !(z[1..3].iter().chain(&z[4..6]).all(u8::is_ascii_digit)) {
                return None;
            }
            if &rest[1..] == "00:00" {
                "Z".to_owned()
            } else {
                rest.to_owned()
            }
        }
    };
    Some(format!("{}{}", &s[..19].replacen('t', "T", 1), zone))
}

/// The key groups: the top-level key lists form one group; otherwise `key_groups`.
fn key_groups(map: &serde_json::Map<String, Json>) -> Result<Vec<Vec<MasterKey>>, Error> {
    let top = group(map)?;
    if !top.is_empty() {
        return Ok(vec![top]);
    }
    let groups = match map.get("key_groups") {
        Some(Json::Array(groups)) => groups
            .iter()
            .map(|g| {
                g.as_object()
                    .ok_or_else(|| malformed("a key group is not a mapping"))
                    .and_then(group)
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    if groups.is_empty() {
        return Err(malformed("No keys found in file"));
    }
    Ok(groups)
}

/// One group, in SOPS's order: KMS, GCP KMS, HuaweiCloud KMS, Azure Key Vault, Vault,
/// PGP, age.
fn group(map: &serde_json::Map<String, Json>) -> Result<Vec<MasterKey>, Error> {
    let entries = |name: &str| -> Vec<&serde_json::Map<String, Json>> {
        match map.get(name) {
            Some(Json::Array(items)) => items.iter().filter_map(Json::as_object).collect(),
            _ => Vec::new(),
        }
    };
    let field = |key: &serde_json::Map<String, Json>, name: &str| {
        key.get(name)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut keys = Vec::new();
    for k in entries("kms") {
        keys.push(MasterKey::Unsupported(format!(
            "AWS KMS {}",
            field(k, "arn")
        )));
    }
    for k in entries("gcp_kms") {
        keys.push(MasterKey::Unsupported(format!(
            "GCP KMS {}",
            field(k, "resource_id")
        )));
    }
    for k in entries("hckms") {
        keys.push(MasterKey::Unsupported(format!(
            "HuaweiCloud KMS {}",
            field(k, "key_id")
        )));
    }
    for k in entries("azure_kv") {
        keys.push(MasterKey::Unsupported(format!(
            "Azure Key Vault {}/keys/{}/{}",
            field(k, "vault_url"),
            field(k, "name"),
            field(k, "version")
        )));
    }
    for k in entries("hc_vault") {
        keys.push(MasterKey::Unsupported(format!(
            "HashiCorp Vault {}/v1/{}/keys/{}",
            field(k, "vault_address"),
            field(k, "engine_path"),
            field(k, "key_name")
        )));
    }
    for k in entries("pgp") {
        keys.push(MasterKey::Pgp {
            fingerprint: field(k, "fp"),
            enc: field(k, "enc"),
        });
    }
    for k in entries("age") {
        keys.push(MasterKey::Age {
            recipient: field(k, "recipient"),
            enc: field(k, "enc"),
        });
    }
    Ok(keys)
}

fn selector(map: &serde_json::Map<String, Json>) -> Result<Selector, Error> {
    let regex = |name: &str, pattern: &str| {
        Regex::new(pattern).map_err(|e| malformed(format!("`sops.{name}` {pattern:?}: {e}")))
    };
    let mut found = Vec::new();
    for name in [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ] {
        if let Some(value) = text(map, name) {
            found.push(match name {
                "unencrypted_suffix" => Selector::UnencryptedSuffix(value.to_owned()),
                "encrypted_suffix" => Selector::EncryptedSuffix(value.to_owned()),
                "unencrypted_regex" => Selector::UnencryptedRegex(regex(name, value)?),
                "encrypted_regex" => Selector::EncryptedRegex(regex(name, value)?),
                "unencrypted_comment_regex" => {
                    Selector::UnencryptedCommentRegex(regex(name, value)?)
                }
                _ => Selector::EncryptedCommentRegex(regex(name, value)?),
            });
        }
    }
    match found.len() {
        0 => Ok(Selector::UnencryptedSuffix("_unencrypted".to_owned())),
        1 => Ok(found.remove(0)),
        _ => Err(malformed(
            "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastmodified_is_reformatted_as_go_does() {
        assert_eq!(
            reformat_rfc3339("2020-10-07T15:49:13Z").unwrap(),
            "2020-10-07T15:49:13Z"
        );
        assert_eq!(
            reformat_rfc3339("2020-10-07T15:49:13.123456Z").unwrap(),
            "2020-10-07T15:49:13Z"
        );
        assert_eq!(
            reformat_rfc3339("2020-10-07T15:49:13+00:00").unwrap(),
            "2020-10-07T15:49:13Z"
        );
        assert_eq!(
            reformat_rfc3339("2020-10-07T15:49:13+02:00").unwrap(),
            "2020-10-07T15:49:13+02:00"
        );
        assert!(reformat_rfc3339("yesterday").is_none());
    }
}
