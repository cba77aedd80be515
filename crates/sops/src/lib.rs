//! SOPS-encrypted files decrypted as SOPS v3 (`sops --decrypt`) does it: bytes in, bytes
//! out. Knows nothing of Flux, kustomize or bundles.
//!
//! ```
//! use crunch_sops::{Error, Format, Keys, decrypt};
//!
//! // A file without `sops` metadata is its own error kind, not a failure to guess at.
//! let plain = decrypt(b"password: hunter2\n", Format::Yaml, &Keys::new());
//! assert!(matches!(plain, Err(Error::NotEncrypted)));
//! assert_eq!(Format::for_path("secrets/app.enc.json"), Format::Json);
//! assert_eq!(Format::for_path(".dockerconfigjson"), Format::Json);
//! ```
//!
//! The data key comes from the file's key groups (the first usable key of each group;
//! with several groups, Shamir's shares of at least `shamir_threshold` groups are
//! combined), opened with age identities, OpenPGP secret keys or a GnuPG home
//! ([`Keys`]); AWS/GCP KMS, Azure Key Vault and Vault keys are named in the error, never
//! contacted. Every value is AES-256-GCM with its path as associated data.
//!
//! Deliberately stricter than Flux's kustomize-controller, which skips the check by
//! default: the MAC is always verified, so a file whose values were changed, removed or
//! reordered after encryption is refused ([`Error::MacMismatch`]).
//!
//! The stores read and write as SOPS 3.11 does with its default store settings: YAML
//! through go-yaml v3 (`crunch_yaml::tree`: comments are tree items, plain timestamps are
//! Go times, `SetIndent(4)`, no line width), JSON with SOPS's encoder and `json.Indent`
//! with a tab, dotenv and INI (`gopkg.in/ini.v1`) with the metadata flattened, binary as
//! the `data` of a JSON envelope. `tools/sops-realworld` holds this against real SOPS files
//! and, given a `sops` binary, against what it prints. Known difference: a comment that
//! go-yaml v3 attaches in a way crunch's position rules do not foresee may land in
//! another collection (sops then leaves it encrypted where crunch decrypts it, or the
//! reverse).

mod cipher;
mod error;
mod keys;
mod metadata;
mod shamir;
mod stores;
#[cfg(test)]
mod tests;
mod tree;

pub use error::Error;
pub use keys::Keys;
pub use metadata::MasterKey;

use metadata::Metadata;
use tree::{Decryptor, Item, Key, Value};

/// A SOPS store format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// YAML (go-yaml v3), several documents allowed.
    Yaml,
    /// JSON with a top-level object.
    Json,
    /// `KEY=value` lines.
    Dotenv,
    /// INI sections.
    Ini,
    /// Any bytes, kept under `data` in a JSON file.
    Binary,
}

impl Format {
    /// SOPS's `FormatForPath` plus Flux's rule that a `.dockerconfigjson` file is JSON:
    /// by extension `.yaml`/`.yml`, `.json`, `.env`, `.ini`; anything else binary.
    #[must_use]
    pub fn for_path(path: &str) -> Format {
        if path.ends_with(".dockerconfigjson") {
            return Format::Json;
        }
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            Format::Yaml
        } else if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".env") {
            Format::Dotenv
        } else if path.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The bytes kustomize-controller looks for to tell that data is SOPS-encrypted in
    /// this format (its `sopsFormatToMarkerBytes`): `mac: ENC[` (YAML), `"mac": "ENC[`
    /// (JSON, and binary, whose envelope is JSON), `sops_mac=ENC[` (dotenv), `[sops]`
    /// (INI).
    #[must_use]
    pub fn marker(self) -> &'static [u8] {
        match self {
            Format::Yaml => b"mac: ENC[",
            Format::Json | Format::Binary => b"\"mac\": \"ENC[",
            Format::Dotenv => b"sops_mac=ENC[",
            Format::Ini => b"[sops]",
        }
    }

    /// Whether `data` holds this format's [`Format::marker`].
    #[must_use]
    pub fn marks(self, data: &[u8]) -> bool {
        let marker = self.marker();
        data.windows(marker.len()).any(|w| w == marker)
    }

    /// The format whose marker the data holds, or `None` for data that is not SOPS
    /// output. kustomize-controller tries the markers in Go's map order, which is random;
    /// crunch tries the most specific first (dotenv, JSON, YAML, INI), so a YAML file
    /// that mentions `[sops]` is still YAML. Binary shares JSON's marker and is never
    /// returned: its envelope reads as JSON.
    #[must_use]
    pub fn detect(data: &[u8]) -> Option<Format> {
        [Format::Dotenv, Format::Json, Format::Yaml, Format::Ini]
            .into_iter()
            .find(|f| f.marks(data))
    }
}

/// A decrypted file. Its `Debug` form names the key groups only: secrets stay out of
/// logs.
#[derive(Clone)]
pub struct Decrypted {
    branches: Vec<Vec<Item>>,
    data_key: Vec<u8>,
    plaintexts: Vec<String>,
    recipients: Vec<Vec<MasterKey>>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("recipients", &self.recipients)
            .field("values", &self.plaintexts.len())
            .finish_non_exhaustive()
    }
}

impl Decrypted {
    /// The plaintext exactly as `sops --decrypt --output-type FORMAT` prints it.
    ///
    /// # Errors
    /// Trees the format cannot hold (nested values in dotenv and INI, a binary file
    /// without `data`).
    pub fn emit(&self, format: Format) -> Result<Vec<u8>, Error> {
        emit_branches(&self.branches, format)
    }

    /// The 32-byte data key.
    #[must_use]
    pub fn data_key(&self) -> &[u8] {
        &self.data_key
    }

    /// Every value that was encrypted, as text, in walk order.
    #[must_use]
    pub fn plaintext_values(&self) -> &[String] {
        &self.plaintexts
    }

    /// The master keys of each key group.
    #[must_use]
    pub fn recipients(&self) -> &[Vec<MasterKey>] {
        &self.recipients
    }
}

fn emit_branches(branches: &[Vec<Item>], format: Format) -> Result<Vec<u8>, Error> {
    match format {
        Format::Yaml => Ok(stores::yaml::emit(branches, 4).into_bytes()),
        Format::Json => {
            Ok(stores::json::emit(branches.first().map_or(&[], Vec::as_slice), "\t")?.into_bytes())
        }
        Format::Dotenv => {
            Ok(stores::dotenv::emit(branches.first().map_or(&[], Vec::as_slice))?.into_bytes())
        }
        Format::Binary => {
            let branch = branches.first().map_or(&[][..], Vec::as_slice);
            match branch
                .iter()
                .find(|i| matches!(&i.key, Key::Str(k) if k == "data"))
            {
                Some(Item {
                    value: Value::Str(data),
                    ..
                }) => Ok(data.clone().into_bytes()),
                Some(Item {
                    value: Value::Bytes(data),
                    ..
                }) => Ok(data.clone()),
                _ => Err(Error::Emit {
                    format: "binary",
                    reason: "no `data` key".into(),
                }),
            }
        }
        Format::Ini => {
            Ok(stores::ini::emit(branches.first().map_or(&[], Vec::as_slice))?.into_bytes())
        }
    }
}

/// Reads the branches and the metadata of an encrypted file.
fn load(
    input: &[u8],
    format: Format,
) -> Result<(Vec<Vec<Item>>, Option<serde_json::Value>), Error> {
    match format {
        Format::Yaml => {
            let mut branches = stores::yaml::read(input)?;
            let metadata = stores::take_metadata(&mut branches)?.map(|v| stores::to_json(&v));
            Ok((branches, metadata))
        }
        Format::Json | Format::Binary => {
            let mut branches = vec![stores::json::read(input)?];
            let metadata = stores::take_metadata(&mut branches)?.map(|v| stores::to_json(&v));
            Ok((branches, metadata))
        }
        Format::Dotenv => {
            let mut branch = stores::dotenv::read(input)?;
            let metadata = stores::dotenv::take_metadata(&mut branch)?;
            Ok((vec![branch], metadata))
        }
        Format::Ini => {
            let mut branch = stores::ini::read(input)?;
            let metadata = stores::ini::take_metadata(&mut branch)?;
            Ok((vec![branch], metadata))
        }
    }
}

/// The encrypted file read by its store and written back as SOPS writes that store,
/// metadata included where it stood: real SOPS output reads back to the same bytes
/// (but for the order of INI's `[sops]` keys, which SOPS writes in Go's map order).
/// `indent` is the store's `indent` setting of `.sops.yaml` (`None`: SOPS's default, 4
/// spaces for YAML and a tab for JSON).
///
/// # Errors
/// Unreadable input.
pub fn reformat(input: &[u8], format: Format, indent: Option<usize>) -> Result<Vec<u8>, Error> {
    match format {
        Format::Yaml => {
            Ok(stores::yaml::emit(&stores::yaml::read(input)?, indent.unwrap_or(4)).into_bytes())
        }
        Format::Dotenv => Ok(stores::dotenv::emit(&stores::dotenv::read(input)?)?.into_bytes()),
        Format::Ini => Ok(stores::ini::emit(&stores::ini::read(input)?)?.into_bytes()),
        Format::Json | Format::Binary => {
            let unit = indent.map_or_else(|| "\t".to_owned(), |n| " ".repeat(n));
            Ok(stores::json::emit(&stores::json::read(input)?, &unit)?.into_bytes())
        }
    }
}

/// Decrypts a SOPS file, verifying its MAC.
///
/// # Errors
/// [`Error::NotEncrypted`] without `sops` metadata; otherwise the first failure: syntax,
/// malformed metadata, no usable key, a value that fails authentication (named by path),
/// a MAC mismatch.
pub fn decrypt(input: &[u8], format: Format, keys: &Keys) -> Result<Decrypted, Error> {
    decrypt_checking(input, format, keys, true)
}

/// Decrypts a SOPS document whose unencrypted values may have changed since it was
/// encrypted, as kustomize-controller decrypts objects after kustomize has transformed
/// them (a namespace set, labels added): every encrypted value is still authenticated
/// with its path, but the MAC, which covers the unencrypted values too, is not checked.
///
/// # Errors
/// As [`decrypt`], but for the MAC.
pub fn decrypt_transformed(input: &[u8], format: Format, keys: &Keys) -> Result<Decrypted, Error> {
    decrypt_checking(input, format, keys, false)
}

fn decrypt_checking(
    input: &[u8],
    format: Format,
    keys: &Keys,
    check_mac: bool,
) -> Result<Decrypted, Error> {
    let (mut branches, metadata) = load(input, format)?;
    let metadata = Metadata::from_json(&metadata.ok_or(Error::NotEncrypted)?)?;
    let data_key = data_key(&metadata, keys)?;
    let mut decryptor = Decryptor::new(&data_key, &metadata);
    for branch in &mut branches {
        decryptor.branch(branch, &mut Vec::new(), &mut Vec::new())?;
    }
    let plaintexts = std::mem::take(&mut decryptor.plaintexts);
    if !check_mac {
        return Ok(Decrypted {
            branches,
            data_key,
            plaintexts,
            recipients: metadata.key_groups.clone(),
        });
    }
    let computed = decryptor.mac();
    let expected = match cipher::decrypt(&metadata.mac, &data_key, &metadata.last_modified) {
        Ok(Value::Str(mac)) => mac,
        Ok(_) => return Err(Error::Metadata("`sops.mac` is not a string".into())),
        Err(reason) => {
            return Err(Error::Value {
                path: "sops.mac".into(),
                reason,
            });
        }
    };
    if expected != computed {
        return Err(Error::MacMismatch {
            expected: if expected.is_empty() {
                "no MAC".into()
            } else {
                expected
            },
            computed,
        });
    }
    Ok(Decrypted {
        branches,
        data_key,
        plaintexts,
        recipients: metadata.key_groups.clone(),
    })
}

/// The data key: one part per key group opened with the first key that works; several
/// groups combine with Shamir once `shamir_threshold` of them opened.
fn data_key(metadata: &Metadata, keys: &Keys) -> Result<Vec<u8>, Error> {
    let groups = metadata.key_groups.len();
    let mut parts = Vec::new();
    let mut report = Vec::new();
    for (index, group) in metadata.key_groups.iter().enumerate() {
        let mut tried = Vec::new();
        let mut part = None;
        for key in group {
            match keys.open(key) {
                Ok(data) => {
                    part = Some(data);
                    break;
                }
                Err(attempts) => tried.extend(
                    attempts
                        .into_iter()
                        .map(|a| format!("{} ({})", a.label, a.outcome)),
                ),
            }
        }
        match part {
            Some(data) => parts.push(data),
            None => report.push((index, group, tried)),
        }
    }
    let threshold = if groups > 1 {
        if metadata.shamir_threshold == 0 {
            groups
        } else {
            metadata.shamir_threshold
        }
    } else {
        1
    };
    if parts.len() >= threshold {
        return if groups > 1 {
            shamir::combine(&parts).map_err(|e| {
                Error::Metadata(format!("could not get data key from shamir parts: {e}"))
            })
        } else {
            Ok(parts.remove(0))
        };
    }
    let mut lines = Vec::new();
    for (index, group, tried) in report {
        let names: Vec<String> = group.iter().map(MasterKey::describe).collect();
        let unsupported = group.iter().all(|k| matches!(k, MasterKey::Unsupported(_)));
        let context = if groups > 1 {
            format!(
                " (key group {} of {groups}, threshold {threshold})",
                index + 1
            )
        } else {
            String::new()
        };
        let outcome = if unsupported {
            "crunch decrypts age and PGP only".to_owned()
        } else if tried.is_empty() {
            "tried: no key of these kinds was given".to_owned()
        } else {
            format!("tried: {}", tried.join(", "))
        };
        lines.push(format!(
            "encrypted for {}{context}: {outcome}",
            names.join(", ")
        ));
    }
    Err(Error::NoKey(lines.join("; ")))
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
