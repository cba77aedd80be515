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
    use pgp::composed::PlainSessionKey;
    use pgp::packet::{Packet, PacketParser};
    use pgp::types::{EskType, Password};

    let malformed = |e: &dyn std::fmt::Display| format!("malformed OpenPGP message: {e}");
    let mut dearmor = pgp::armor::Dearmor::new(enc.as_bytes());
    let mut raw = Vec::new();
    dearmor.read_to_end(&mut raw).map_err(|e| malformed(&e))?;
    let packets = split_packets(&raw).ok_or_else(|| malformed(&"bad packet framing"))?;
    let framed = definite_lengths(&packets).ok_or_else(|| malformed(&"packet too long"))?;
    let mut sessions = Vec::new();
    let mut data = None;
    for packet in PacketParser::new(&framed[..]) {
        match packet.map_err(|e| malformed(&e))? {
            Packet::PublicKeyEncryptedSessionKey(pkesk) => sessions.push(pkesk),
            Packet::SymEncryptedProtectedData(seipd) => data = Some(seipd),
            Packet::SymEncryptedData(_) => {
                return Err("OpenPGP data without integrity protection (no MDC) is refused".into());
            }
            _ => {}
        }
    }
    let data = data.ok_or_else(|| malformed(&"no encrypted data packet"))?;
    for pkesk in &sessions {
        let Ok(values) = pkesk.values() else { continue };
        let session = if pkesk.match_identity(&key.primary_key) {
            key.decrypt_session_key(&Password::empty(), values, EskType::V3_4)
        } else if let Some(sub) = key
            .secret_subkeys
            .iter()
            .find(|sub| pkesk.match_identity(&sub.key))
        {
            sub.decrypt_session_key(&Password::empty(), values, EskType::V3_4)
        } else {
            continue;
        };
        let (session_key, sym_alg) = match &session {
            Ok(Ok(
                PlainSessionKey::V3_4 { key, sym_alg } | PlainSessionKey::Unknown { key, sym_alg },
            )) => (key.clone(), *sym_alg),
            Ok(Ok(_)) => return Err("unsupported OpenPGP session key version".into()),
            Ok(Err(e)) | Err(e) => {
                return Err(format!("cannot decrypt the session key: {e}"));
            }
        };
        let plain = data
            .decrypt(&session_key, Some(sym_alg))
            .map_err(|e| format!("cannot decrypt the OpenPGP data: {e}"))?;
        return literal_content(&plain, 0);
    }
    Err("no match".into())
}

/// The content of the literal data packet in a decrypted packet sequence, through
/// compressed packets (uncompressed, ZIP and ZLIB, as GnuPG writes them).
fn literal_content(decrypted: &[u8], depth: usize) -> Result<Vec<u8>, String> {
    let malformed = || "malformed decrypted OpenPGP packets".to_owned();
    if depth > 8 {
        return Err(malformed());
    }
    for (tag, body) in split_packets(decrypted).ok_or_else(malformed)? {
        match tag {
            // Compressed data: algorithm, then the packets.
            8 => {
                let (&algorithm, compressed) = body.split_first().ok_or_else(malformed)?;
                let mut inner = Vec::new();
                match algorithm {
                    0 => inner.extend_from_slice(compressed),
                    1 => {
                        flate2::read::DeflateDecoder::new(compressed)
                            .read_to_end(&mut inner)
                            .map_err(|e| format!("cannot inflate the OpenPGP message: {e}"))?;
                    }
                    2 => {
                        flate2::read::ZlibDecoder::new(compressed)
                            .read_to_end(&mut inner)
                            .map_err(|e| format!("cannot inflate the OpenPGP message: {e}"))?;
                    }
                    other => {
                        return Err(format!(
                            "OpenPGP compression algorithm {other} (BZip2) is not supported"
                        ));
                    }
                }
                return literal_content(&inner, depth + 1);
            }
            // Literal data: format, file name, date, content.
            11 => {
                let name_len = usize::from(*body.get(1).ok_or_else(malformed)?);
                return body
                    .get(2 + name_len + 4..)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(malformed);
            }
            _ => {}
        }
    }
    Err("no literal data in the decrypted OpenPGP message".into())
}

/// The packets of a sequence as (tag, body), partial body lengths joined. GnuPG and Go's
/// OpenPGP library stream messages in partial body lengths whose first chunk may be
/// shorter than the 512 bytes RFC 9580 asks for, which rpgp refuses; joined, the content
/// is the same. `None` for framing that does not parse.
fn split_packets(mut input: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let taken = input.get(..n)?;
        *input = &input[n..];
        Some(taken)
    }
    let mut packets = Vec::new();
    while let Some((&header, rest)) = input.split_first() {
        if header & 0x80 == 0 {
            return None;
        }
        input = rest;
        let mut body = Vec::new();
        let tag = if header & 0x40 != 0 {
            loop {
                let first = take(&mut input, 1)?[0];
                let (len, partial) = match first {
                    0..=191 => (usize::from(first), false),
                    192..=223 => {
                        let second = take(&mut input, 1)?[0];
                        (
                            ((usize::from(first) - 192) << 8) + usize::from(second) + 192,
                            false,
                        )
                    }
                    224..=254 => (1usize << (first & 0x1f), true),
                    255 => {
                        let bytes: [u8; 4] = take(&mut input, 4)?.try_into().ok()?;
                        (usize::try_from(u32::from_be_bytes(bytes)).ok()?, false)
                    }
                };
                body.extend_from_slice(take(&mut input, len)?);
                if !partial {
                    break;
                }
            }
            header & 0x3f
        } else {
            let len = match header & 0x03 {
                0 => usize::from(take(&mut input, 1)?[0]),
                1 => usize::from(u16::from_be_bytes(take(&mut input, 2)?.try_into().ok()?)),
                2 => usize::try_from(u32::from_be_bytes(take(&mut input, 4)?.try_into().ok()?))
                    .ok()?,
                _ => input.len(),
            };
            body.extend_from_slice(take(&mut input, len)?);
            (header >> 2) & 0x0f
        };
        packets.push((tag, body));
    }
    Some(packets)
}

/// Packets written back with one definite (five-octet) length each.
fn definite_lengths(packets: &[(u8, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (tag, body) in packets {
        out.push(0xc0 | tag);
        out.push(0xff);
        out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_be_bytes());
        out.extend_from_slice(body);
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_body_lengths_are_joined_whatever_their_size() {
        // New format, tag 18: a 2-byte partial chunk (0xe1 = 2^1), then a 3-byte final
        // chunk; old format, tag 11, one-byte length.
        let input = [
            0xd2, 0xe1, b'a', b'b', 0x03, b'c', b'd', b'e', 0xac, 0x02, b'x', b'y',
        ];
        let packets = split_packets(&input).unwrap();
        assert_eq!(packets, [(18, b"abcde".to_vec()), (11, b"xy".to_vec())]);
        assert_eq!(
            definite_lengths(&packets).unwrap(),
            [
                0xd2, 0xff, 0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0xcb, 0xff, 0, 0, 0, 2, b'x',
                b'y'
            ]
        );
        assert!(split_packets(&[0x12]).is_none());
        assert!(split_packets(&[0xd2, 0x05, b'a']).is_none());
    }

    #[test]
    fn literal_data_is_found_through_compression() {
        use std::io::Write;
        // Literal packet: binary format, name "k", date 0, content "key".
        let literal = [0xcb, 0x09, b'b', 1, b'k', 0, 0, 0, 0];
        let mut literal = literal.to_vec();
        literal.extend_from_slice(b"key");
        literal[1] = u8::try_from(literal.len() - 2).unwrap();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&literal).unwrap();
        let mut compressed = vec![2u8];
        compressed.extend(zlib.finish().unwrap());
        let packet = definite_lengths(&[(8, compressed)]).unwrap();
        assert_eq!(literal_content(&packet, 0).unwrap(), b"key");
        assert!(literal_content(&definite_lengths(&[(8, vec![3, 0])]).unwrap(), 0).is_err());
    }
}
