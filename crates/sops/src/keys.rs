//! The decryption keys of one run: age identities, OpenPGP secret keys, GnuPG homes.
//! Each remembers the label its caller gave (a file path, an environment variable) so
//! that messages say which keys were tried.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr;

use crate::error::Error;
use crate::metadata::MasterKey;

/// The keys a run may decrypt with.
#[derive(Default)]
pub struct Keys {
    age: Vec<(String, age::x25519::Identity)>,
    pgp: Vec<(String, pgp::composed::SignedSecretKey)>,
    gnupg: Vec<(String, GnupgHome)>,
}

struct GnupgHome {
    home: PathBuf,
    program: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("age", &self.age.iter().map(|(l, _)| l).collect::<Vec<_>>())
            .field("pgp", &self.pgp.iter().map(|(l, _)| l).collect::<Vec<_>>())
            .field(
                "gnupg",
                &self.gnupg.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why one key did not open one master key.
pub(crate) struct Attempt {
    pub(crate) label: String,
    pub(crate) outcome: String,
}

impl Keys {
    /// No keys.
    #[must_use]
    pub fn new() -> Self {
        Keys::default()
    }

    /// Whether no key was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty() && self.gnupg.is_empty()
    }

    /// Adds the age identities of a key file's text (as `SOPS_AGE_KEY_FILE` or
    /// `SOPS_AGE_KEY` hold them): `AGE-SECRET-KEY-1…` lines; blank lines and `#` comments
    /// are skipped. Returns how many were added.
    ///
    /// # Errors
    /// A line that is not an age X25519 identity (SSH identities and plugin identities
    /// are named as unsupported).
    pub fn add_age_identities(&mut self, label: &str, text: &str) -> Result<usize, Error> {
        let mut added = 0;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let unusable = |reason: String| Error::Key {
                label: format!("{label} line {}", index + 1),
                reason,
            };
            if line.starts_with("-----BEGIN") || line.starts_with("ssh-") {
                return Err(unusable(
                    "SSH identities are not supported: crunch reads age X25519 identities (AGE-SECRET-KEY-1…)".into(),
                ));
            }
            if line.starts_with("AGE-SECRET-KEY-PQ-") {
                return Err(unusable(
                    "age post-quantum (ML-KEM hybrid) identities are not supported: crunch reads age X25519 identities (AGE-SECRET-KEY-1…)".into(),
                ));
            }
            if line.starts_with("AGE-PLUGIN-") {
                return Err(unusable(
                    "age plugin identities are not supported: crunch reads age X25519 identities (AGE-SECRET-KEY-1…)".into(),
                ));
            }
            let identity = age::x25519::Identity::from_str(line)
                .map_err(|e| unusable(format!("not an age identity: {e}")))?;
            self.age.push((label.to_owned(), identity));
            added += 1;
        }
        Ok(added)
    }

    /// Adds the OpenPGP secret keys of a keyring (armored or binary). Public keys in it
    /// are skipped. Returns how many were added.
    ///
    /// # Errors
    /// Unreadable keyrings and passphrase-protected keys (crunch asks for no passphrase).
    pub fn add_pgp_keyring(&mut self, label: &str, keyring: &[u8]) -> Result<usize, Error> {
        let unusable = |reason: String| Error::Key {
            label: label.to_owned(),
            reason,
        };
        let (keys, _) = pgp::composed::PublicOrSecret::from_reader_many(keyring)
            .map_err(|e| unusable(format!("not an OpenPGP keyring: {e}")))?;
        let mut added = 0;
        for key in keys {
            let key = key.map_err(|e| unusable(format!("not an OpenPGP keyring: {e}")))?;
            let Ok(key) = pgp::composed::SignedSecretKey::try_from(key) else {
                continue;
            };
            if key.primary_key.secret_params().is_encrypted()
                || key
                    .secret_subkeys
                    .iter()
                    .any(|sub| sub.key.secret_params().is_encrypted())
            {
                return Err(unusable(format!(
                    "the secret key {} is protected by a passphrase, which crunch does not ask for",
                    fingerprint_of(&key)
                )));
            }
            self.pgp.push((label.to_owned(), key));
            added += 1;
        }
        Ok(added)
    }

    /// Adds a GnuPG home: PGP data keys are decrypted by running `program --homedir HOME
    /// --batch --quiet --decrypt` as SOPS does (`program` is `gpg`, or what
    /// `SOPS_GPG_EXEC` names: the caller decides).
    pub fn add_gnupg_home(&mut self, label: &str, home: impl Into<PathBuf>, program: &str) {
        self.gnupg.push((
            label.to_owned(),
            GnupgHome {
                home: home.into(),
                program: program.to_owned(),
            },
        ));
    }

    /// Tries every matching key on one master key; the data key (part) of the first
    /// that opens it, or what each key said.
    pub(crate) fn open(&self, key: &MasterKey) -> Result<Vec<u8>, Vec<Attempt>> {
        let mut attempts = Vec::new();
        match key {
            MasterKey::Age { enc, .. } => {
                for (label, identity) in &self.age {
                    match age_decrypt(enc, identity) {
                        Ok(data) => return Ok(data),
                        Err(outcome) => attempts.push(Attempt {
                            label: format!("age identity from {label}"),
                            outcome,
                        }),
                    }
                }
            }
            MasterKey::Pgp { fingerprint, enc } => {
                for (label, secret) in &self.pgp {
                    match pgp_decrypt(enc, secret) {
                        Ok(data) => return Ok(data),
                        Err(outcome) => attempts.push(Attempt {
                            label: format!("PGP key {} from {label}", fingerprint_of(secret)),
                            outcome,
                        }),
                    }
                }
                for (label, home) in &self.gnupg {
                    match gpg_decrypt(enc, home) {
                        Ok(data) => return Ok(data),
                        Err(outcome) => attempts.push(Attempt {
                            label: format!("GnuPG home {label} (for 0x{fingerprint})"),
                            outcome,
                        }),
                    }
                }
            }
            MasterKey::Unsupported(_) => {}
        }
        Err(attempts)
    }
}

fn fingerprint_of(key: &pgp::composed::SignedSecretKey) -> String {
    use pgp::types::KeyDetails;
    format!("0x{}", hex_upper(key.fingerprint().as_bytes()))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn age_decrypt(enc: &str, identity: &age::x25519::Identity) -> Result<Vec<u8>, String> {
    let reader = age::armor::ArmoredReader::new(enc.as_bytes());
    let decryptor = age::Decryptor::new(reader).map_err(|e| format!("malformed age file: {e}"))?;
    let mut out = Vec::new();
    let mut plain = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => "no match".to_owned(),
            other => other.to_string(),
        })?;
    plain
        .read_to_end(&mut out)
        .map_err(|e| format!("truncated age file: {e}"))?;
    Ok(out)
}

fn pgp_decrypt(enc: &str, key: &pgp::composed::SignedSecretKey) -> Result<Vec<u8>, String> {
    let (message, _) = pgp::composed::Message::from_armor(enc.as_bytes())
        .map_err(|e| format!("malformed OpenPGP message: {e}"))?;
    let mut message = message
        .decrypt(&pgp::types::Password::empty(), key)
        .map_err(|_| "no match".to_owned())?;
    // GnuPG compresses what it encrypts unless told not to.
    if message.is_compressed() {
        message = message
            .decompress()
            .map_err(|e| format!("cannot decompress the decrypted message: {e}"))?;
    }
    message
        .as_data_vec()
        .map_err(|e| format!("cannot read the decrypted message: {e}"))
}

fn gpg_decrypt(enc: &str, home: &GnupgHome) -> Result<Vec<u8>, String> {
    let mut child = Command::new(&home.program)
        .arg("--homedir")
        .arg(&home.home)
        .args(["--batch", "--quiet", "--decrypt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", home.program))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(enc.as_bytes())
            .map_err(|e| format!("cannot write to {}: {e}", home.program))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{} failed: {e}", home.program))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "{} failed: {}",
            home.program,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
