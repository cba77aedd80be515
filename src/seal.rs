//! Sealed Secret values: how a bundle carries Secrets without their plaintext.
//!
//! A value is sealed with AES-256-SIV under the bundle's *sealing key* K, its place (namespace,
//! name, field, key) as associated data, and written as `crunch-sealed:v1:<base64>`. SIV is
//! deterministic, so the same K, place and value seal to the same text: a bundle stays a
//! function of its inputs. K is derived, never drawn at random (see [`SealingKey`]), and
//! travels age-encrypted to the enclave's recipients in `sealing-key.age`, beside the bundle.

use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::str::FromStr;

use aes_siv::KeyInit;
use aes_siv::siv::Aes256Siv;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::gostd::hex;

/// What every sealed value starts with. A colon is no base64 character, so the API server
/// refuses a sealed value in a Secret's `data`: a sealed bundle applied by another tool
/// fails loudly instead of storing ciphertext as the Secret.
pub const PREFIX: &str = "crunch-sealed:v1:";

/// The file beside the bundle holding the sealing key, age-encrypted and armored. It is
/// outside the digest: age encryption is randomized, the bundle's bytes must not be.
pub const KEY_FILE: &str = "sealing-key.age";

/// Hashed before the key material, so a key derived here is never another protocol's.
const MATERIAL_DOMAIN: &[u8] = b"crunch sealing key v1 from key material\0";
/// Hashed before the Secrets' own values when there is no key material.
const CONVERGENT_DOMAIN: &[u8] = b"crunch sealing key v1 from sealed values\0";

type HmacSha256 = Hmac<Sha256>;

/// Where a value sits: it opens only there, so a sealed value copied into another Secret
/// or under another key fails to open instead of passing unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The Secret's namespace (empty when it has none).
    pub namespace: &'a str,
    /// The Secret's name.
    pub name: &'a str,
    /// The field holding the value (`data`).
    pub field: &'a str,
    /// The key of the value in that field.
    pub key: &'a str,
}

impl Place<'_> {
    /// The parts bound as associated data, each its own SIV header (so no two places
    /// encode alike), after the format's version.
    fn headers(&self) -> [&[u8]; 5] {
        [
            PREFIX.as_bytes(),
            self.namespace.as_bytes(),
            self.name.as_bytes(),
            self.field.as_bytes(),
            self.key.as_bytes(),
        ]
    }
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secret {}/{} {}.{}",
            self.namespace, self.name, self.field, self.key
        )
    }
}

/// The age X25519 recipients a bundle is sealed to, each checked, sorted and once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients(Vec<String>);

impl Recipients {
    /// Checks that every entry is an age X25519 recipient (`age1…`).
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let mut checked = Vec::with_capacity(list.len());
        for text in list {
            age::x25519::Recipient::from_str(text)
                .map_err(|e| format!("{text:?} is not an age X25519 recipient (age1…): {e}"))?;
            checked.push(text.clone());
        }
        checked.sort();
        checked.dedup();
        Ok(Self(checked))
    }

    /// The recipients, sorted.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// The age identities `crunch apply --identity` and `crunch verify --identity` open a
/// bundle's sealing key with: X25519 identity files as `age-keygen` writes them (and
/// `age -i` reads them).
pub struct Identities {
    files: Vec<PathBuf>,
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// Reads every identity of every file; a file that holds none is an error.
    pub fn load(files: &[PathBuf]) -> Result<Self, String> {
        let mut keys = Vec::new();
        for file in files {
            let read = |e: &dyn fmt::Display| format!("identity file {}: {e}", file.display());
            let bytes = std::fs::read(file).map_err(|e| read(&e))?;
            let found = age::IdentityFile::from_buffer(bytes.as_slice())
                .map_err(|e| read(&e))?
                .into_identities()
                .map_err(|e| read(&e))?;
            if found.is_empty() {
                return Err(read(&"holds no age identity (AGE-SECRET-KEY-1…)"));
            }
            keys.extend(found);
        }
        Ok(Self {
            files: files.to_vec(),
            keys,
        })
    }

    /// The files, as given.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The text is not `crunch-sealed:v1:<base64>`.
    Malformed,
    /// It does not authenticate under this key at this place: changed, moved from
    /// another place, or sealed under another key.
    Rejected,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "is not a sealed value (crunch-sealed:v1:<base64>)",
            Self::Rejected => {
                "does not open with the bundle's sealing key: it was changed, or moved from another Secret or key"
            }
        })
    }
}

impl std::error::Error for OpenError {}

/// Why `sealing-key.age` did not give the sealing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileError {
    /// None of the identities is one of the file's recipients.
    NoMatchingIdentity,
    /// The file is no age file, or holds no 32-byte key.
    Malformed(String),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMatchingIdentity => f.write_str("none of the identities opens it"),
            Self::Malformed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KeyFileError {}

/// The 32-byte key a bundle's Secret values are sealed under.
///
/// `K = HMAC-SHA256(SHA-256(domain ‖ sorted key material), sorted recipients)`: the same
/// inputs give the same K, so rebuilding gives the same bundle bytes, while another
/// recipient list gives another K. The key material is secret the caller holds (the
/// data keys of the SOPS files a build decrypted). Without any, K is *convergent*: it
/// derives from the sorted places and plaintexts of the values sealed (see
/// [`SealingKey::convergent`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey([u8; 32]);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey(id {})", self.id())
    }
}

impl SealingKey {
    /// K from secret key material (each a 32-byte key), bound to `recipients`.
    pub fn from_material(material: &[[u8; 32]], recipients: &Recipients) -> Self {
        let mut sorted = material.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut seed = Sha256::new();
        seed.update(MATERIAL_DOMAIN);
        for key in &sorted {
            seed.update(key);
        }
        Self::bind(&seed.finalize(), recipients)
    }

    /// K from the values themselves, bound to `recipients`: each (place, plaintext)
    /// pair length-prefixed, in sorted order. Anyone who can guess every value and knows
    /// the recipients can recompute it, which is why key material is preferred.
    pub fn convergent<'a>(
        values: impl IntoIterator<Item = (Place<'a>, &'a [u8])>,
        recipients: &Recipients,
    ) -> Self {
        let mut encoded: Vec<Vec<u8>> = values
            .into_iter()
            .map(|(place, plaintext)| {
                let mut entry = Vec::new();
                for part in place.headers().into_iter().skip(1).chain([plaintext]) {
                    entry.extend_from_slice(&(part.len() as u64).to_be_bytes());
                    entry.extend_from_slice(part);
                }
                entry
            })
            .collect();
        encoded.sort_unstable();
        let mut seed = Sha256::new();
        seed.update(CONVERGENT_DOMAIN);
        for entry in &encoded {
            seed.update(entry);
        }
        Self::bind(&seed.finalize(), recipients)
    }

    fn bind(seed: &[u8], recipients: &Recipients) -> Self {
        let mut mac = mac(seed);
        for recipient in recipients.as_slice() {
            mac.update(recipient.as_bytes());
            mac.update(b"\n");
        }
        Self(mac.finalize().into_bytes().into())
    }

    /// A short public name of K (16 hex digits of an HMAC under K), recorded in the index:
    /// it says whether two bundles share a key, and whether a decrypted key is the one the
    /// bundle was sealed under, without telling anything about K.
    pub fn id(&self) -> String {
        hex::encode(&self.derive(b"crunch sealing key id")[..8])
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = mac(&self.0);
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    /// What a review shows for a value sealed under K, or for a part of one that came
    /// from an encrypted source: `sealed:` and 12 hex digits of an HMAC of it under a key
    /// derived from K. Equal values show alike under one K; the value shows nowhere, and
    /// without K a guess cannot be checked against it.
    pub fn review_mask(&self, plaintext: &[u8]) -> String {
        let mut mac = mac(&self.derive(b"crunch review mask"));
        mac.update(plaintext);
        format!("sealed:{}", &hex::encode(mac.finalize().into_bytes())[..12])
    }

    /// AES-256-SIV takes two 256-bit keys (S2V's and CTR's), both derived from K.
    fn cipher(&self) -> Aes256Siv {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.derive(b"crunch sealing siv s2v"));
        key[32..].copy_from_slice(&self.derive(b"crunch sealing siv ctr"));
        Aes256Siv::new(&key.into())
    }

    /// `plaintext` sealed at `place`.
    pub fn seal(&self, place: Place<'_>, plaintext: &[u8]) -> String {
        let sealed = self
            .cipher()
            .encrypt(place.headers(), plaintext)
            // SIV fails only on more associated-data headers than S2V takes (126).
            .unwrap_or_else(|_| unreachable!("five SIV headers are within S2V's limit"));
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        )
    }

    /// The plaintext of a value sealed at `place`.
    pub fn open(&self, place: Place<'_>, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let ciphertext = ciphertext(sealed).ok_or(OpenError::Malformed)?;
        self.cipher()
            .decrypt(place.headers(), &ciphertext)
            .map_err(|_| OpenError::Rejected)
    }

    /// K encrypted to `recipients` as an armored age file.
    pub fn encrypt_to(&self, recipients: &Recipients) -> Result<String, String> {
        let parsed = recipients
            .as_slice()
            .iter()
            .map(|r| age::x25519::Recipient::from_str(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("age recipient: {e}"))?;
        let encryptor =
            age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| format!("cannot encrypt the sealing key: {e}"))?;
        let io = |e: std::io::Error| format!("cannot encrypt the sealing key: {e}");
        let mut out = Vec::new();
        let armor =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .map_err(io)?;
        let mut writer = encryptor.wrap_output(armor).map_err(io)?;
        writer.write_all(&self.0).map_err(io)?;
        writer
            .finish()
            .and_then(|armor| armor.finish())
            .map_err(io)?;
        String::from_utf8(out).map_err(|e| format!("armored age output: {e}"))
    }

    /// K from `sealing-key.age` (armored or binary), opened with `identities`.
    pub fn decrypt(file: &[u8], identities: &Identities) -> Result<Self, KeyFileError> {
        let malformed = |e: &dyn fmt::Display| KeyFileError::Malformed(e.to_string());
        let decryptor =
            age::Decryptor::new(age::armor::ArmoredReader::new(file)).map_err(|e| malformed(&e))?;
        let mut reader = decryptor
            .decrypt(
                identities
                    .keys
                    .iter()
                    .map(|k| k.as_ref() as &dyn age::Identity),
            )
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => KeyFileError::NoMatchingIdentity,
                other => malformed(&other),
            })?;
        let mut key = Vec::new();
        reader.read_to_end(&mut key).map_err(|e| malformed(&e))?;
        let key: [u8; 32] = key.try_into().map_err(|bytes: Vec<u8>| {
            malformed(&format!("holds {} bytes, not a 32-byte key", bytes.len()))
        })?;
        Ok(Self(key))
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

/// Whether `text` is a sealed value.
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(PREFIX)
}

fn ciphertext(sealed: &str) -> Option<Vec<u8>> {
    let encoded = sealed.strip_prefix(PREFIX)?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// What a review shows for a sealed value: `sealed:` and 12 hex digits of the SHA-256 of
/// its ciphertext. Under one key, equal values at one place show alike and a changed value
/// shows changed; the value itself shows nowhere.
pub fn fingerprint(sealed: &str) -> String {
    let digest = match ciphertext(sealed) {
        Some(bytes) => Sha256::digest(&bytes),
        None => Sha256::digest(sealed.as_bytes()),
    };
    format!("sealed:{}", &hex::encode(digest)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture world's enclave key (TEST KEY, public: fixtures/world/README.md).
    const IDENTITY: &str =
        "AGE-SECRET-KEY-1MER5FF7WCGLAEZKUQN52D90A9XGRAYP5UYYYCKLRE2J6FW6QN80SVUMD9T";
    const RECIPIENT: &str = "age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c";

    fn recipients(list: &[&str]) -> Recipients {
        Recipients::parse(&list.iter().map(|r| r.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn place<'a>(name: &'a str, key: &'a str) -> Place<'a> {
        Place {
            namespace: "bigbang",
            name,
            field: "data",
            key,
        }
    }

    fn identities(text: &str) -> Identities {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        std::fs::write(&path, text).unwrap();
        Identities::load(&[path]).unwrap()
    }

    #[test]
    fn a_value_opens_where_it_was_sealed_and_nowhere_else() {
        let key = SealingKey::from_material(&[[7; 32]], &recipients(&[RECIPIENT]));
        let sealed = key.seal(place("registry", "password"), b"hunter2");
        assert!(sealed.starts_with(PREFIX), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            key.open(place("registry", "password"), &sealed).unwrap(),
            b"hunter2"
        );
        // Same key, place and value: the same text (the bundle stays reproducible).
        assert_eq!(key.seal(place("registry", "password"), b"hunter2"), sealed);
        // Moved to another Secret, another key, another namespace or field: refused.
        for moved in [
            place("other", "password"),
            place("registry", "username"),
            Place {
                namespace: "prod",
                ..place("registry", "password")
            },
            Place {
                field: "stringData",
                ..place("registry", "password")
            },
        ] {
            assert_eq!(
                key.open(moved, &sealed),
                Err(OpenError::Rejected),
                "{moved}"
            );
        }
        // One bit changed: refused.
        let mut bytes = ciphertext(&sealed).unwrap();
        bytes[20] ^= 1;
        let tampered = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        );
        assert_eq!(
            key.open(place("registry", "password"), &tampered),
            Err(OpenError::Rejected)
        );
        assert_eq!(
            key.open(place("registry", "password"), "aHVudGVyMg=="),
            Err(OpenError::Malformed)
        );
        // Another key: refused.
        let other = SealingKey::from_material(&[[8; 32]], &recipients(&[RECIPIENT]));
        assert_eq!(
            other.open(place("registry", "password"), &sealed),
            Err(OpenError::Rejected)
        );
    }

    #[test]
    fn the_key_is_a_function_of_material_and_recipients() {
        let one = recipients(&[RECIPIENT]);
        let second = age::x25519::Identity::generate().to_public().to_string();
        let two = recipients(&[&second, RECIPIENT]);
        let material = [[1; 32], [2; 32]];
        let key = SealingKey::from_material(&material, &one);
        // Order of material and recipients does not matter; their content does.
        assert_eq!(SealingKey::from_material(&[[2; 32], [1; 32]], &one), key);
        assert_eq!(
            SealingKey::from_material(&material, &two),
            SealingKey::from_material(&material, &recipients(&[RECIPIENT, &second]))
        );
        assert_ne!(SealingKey::from_material(&material, &two), key);
        assert_ne!(SealingKey::from_material(&[[1; 32]], &one), key);
        assert_eq!(key.id().len(), 16);
        assert_ne!(SealingKey::from_material(&material, &two).id(), key.id());
    }

    #[test]
    fn the_convergent_key_follows_the_values() {
        let to = recipients(&[RECIPIENT]);
        let values = |password: &'static [u8]| {
            vec![
                (place("registry", "username"), b"robot".as_slice()),
                (place("registry", "password"), password),
            ]
        };
        let key = SealingKey::convergent(values(b"one"), &to);
        let mut reversed = values(b"one");
        reversed.reverse();
        assert_eq!(SealingKey::convergent(reversed, &to), key);
        assert_ne!(SealingKey::convergent(values(b"two"), &to), key);
        // The place counts, not just the values.
        let moved = vec![
            (place("registry", "username"), b"robot".as_slice()),
            (place("registry", "token"), b"one".as_slice()),
        ];
        assert_ne!(SealingKey::convergent(moved, &to), key);
        // Length prefixes: shifting bytes between a key and its value is another input.
        let a = vec![(place("r", "ab"), b"c".as_slice())];
        let b = vec![(place("r", "a"), b"bc".as_slice())];
        assert_ne!(
            SealingKey::convergent(a, &to),
            SealingKey::convergent(b, &to)
        );
        assert_ne!(
            SealingKey::convergent(values(b"one"), &Recipients::default()),
            key
        );
    }

    #[test]
    fn the_key_travels_to_its_recipients_only() {
        let key = SealingKey::from_material(&[[3; 32]], &recipients(&[RECIPIENT]));
        let file = key.encrypt_to(&recipients(&[RECIPIENT])).unwrap();
        assert!(
            file.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "{file}"
        );
        let opened = SealingKey::decrypt(file.as_bytes(), &identities(IDENTITY)).unwrap();
        assert_eq!(opened, key);
        let stranger = age::x25519::Identity::generate();
        let wrong = identities(&format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&stranger.to_string())
        ));
        assert_eq!(
            SealingKey::decrypt(file.as_bytes(), &wrong),
            Err(KeyFileError::NoMatchingIdentity)
        );
        assert!(matches!(
            SealingKey::decrypt(b"not age", &identities(IDENTITY)),
            Err(KeyFileError::Malformed(_))
        ));
    }

    #[test]
    fn recipients_and_identities_are_checked() {
        let e = Recipients::parse(&["age1nope".to_string()]).unwrap_err();
        assert!(
            e.starts_with("\"age1nope\" is not an age X25519 recipient"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing here\n").unwrap();
        let e = Identities::load(std::slice::from_ref(&empty)).unwrap_err();
        assert!(
            e.ends_with("holds no age identity (AGE-SECRET-KEY-1…)"),
            "{e}"
        );
        let e = Identities::load(&[dir.path().join("missing.txt")]).unwrap_err();
        assert!(e.contains("missing.txt"), "{e}");
    }

    #[test]
    fn fingerprints_name_the_ciphertext_not_the_value() {
        let key = SealingKey::from_material(&[[4; 32]], &recipients(&[RECIPIENT]));
        let sealed = key.seal(place("registry", "password"), b"hunter2");
        let shown = fingerprint(&sealed);
        assert!(shown.starts_with("sealed:") && shown.len() == 19, "{shown}");
        assert_eq!(fingerprint(&sealed), shown);
        assert_ne!(
            fingerprint(&key.seal(place("registry", "password"), b"hunter3")),
            shown
        );
    }
}
