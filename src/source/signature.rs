//! OpenPGP signatures of git commits, as source-controller checks a GitRepository's
//! `spec.verify` (mode `HEAD`): the commit's `gpgsig` header is a detached signature over
//! the commit object without that header, made by one of the given public keys (a
//! primary key or a subkey).

use std::path::PathBuf;

use pgp::composed::{Deserializable, PublicOrSecret, SignedPublicKey, StandaloneSignature};
use pgp::types::KeyDetails;

/// Public keys to verify with, each with the file it came from.
pub struct Keyring {
    keys: Vec<(String, SignedPublicKey)>,
}

impl Keyring {
    /// Reads every public key (or the public half of every secret key) in `files`,
    /// armored or binary.
    pub fn load(files: &[PathBuf]) -> Result<Keyring, String> {
        let mut keys = Vec::new();
        for file in files {
            let bytes =
                std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (parsed, _) = PublicOrSecret::from_reader_many(&bytes[..])
                .map_err(|e| format!("{}: not OpenPGP keys: {e}", file.display()))?;
            let before = keys.len();
            for key in parsed {
                let key = key.map_err(|e| format!("{}: {e}", file.display()))?;
                let public = match key {
                    PublicOrSecret::Public(key) => key,
                    PublicOrSecret::Secret(key) => key.signed_public_key(),
                };
                keys.push((file.display().to_string(), public));
            }
            if keys.len() == before {
                return Err(format!("{}: holds no OpenPGP key", file.display()));
            }
        }
        Ok(Keyring { keys })
    }

    /// Checks the signature of the raw commit object `object`; the fingerprint of the
    /// key that made it.
    pub fn verify_commit(&self, object: &[u8]) -> Result<String, String> {
        let (payload, signature) = split_signature(object)?;
        if signature.contains("-----BEGIN SSH SIGNATURE-----") {
            return Err(
                "it is signed with an SSH key; crunch verifies OpenPGP signatures only".into(),
            );
        }
        let (signature, _) = StandaloneSignature::from_string(&signature)
            .map_err(|e| format!("its signature cannot be read: {e}"))?;
        for (_, key) in &self.keys {
            let primary = signature.verify(key, &payload).is_ok();
            let subkey = key
                .public_subkeys
                .iter()
                .any(|sub| signature.verify(&sub.key, &payload).is_ok());
            if primary || subkey {
                return Ok(crate::gostd::hex::encode(key.fingerprint().as_bytes()).to_uppercase());
            }
        }
        let tried: Vec<String> = self
            .keys
            .iter()
            .map(|(file, key)| {
                let fingerprint = crate::gostd::hex::encode(key.fingerprint().as_bytes());
                format!("{} ({file})", fingerprint.to_uppercase())
            })
            .collect();
        Err(format!(
            "no key verifies its signature; tried: {}",
            if tried.is_empty() {
                "no keys".to_string()
            } else {
                tried.join(", ")
            }
        ))
    }
}

/// A commit object without its `gpgsig` header, and the signature that header holds (its
/// continuation lines unindented).
fn split_signature(object: &[u8]) -> Result<(Vec<u8>, String), String> {
    let text = String::from_utf8_lossy(object);
    let (headers, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut kept = Vec::new();
    let mut signature: Option<String> = None;
    let mut in_signature = false;
    for line in headers.split('\n') {
        if let Some(first) = line.strip_prefix("gpgsig ") {
            signature = Some(format!("{first}\n"));
            in_signature = true;
        } else if in_signature && let Some(rest) = line.strip_prefix(' ') {
            if let Some(signature) = signature.as_mut() {
                signature.push_str(rest);
                signature.push('\n');
            }
        } else {
            in_signature = false;
            kept.push(line);
        }
    }
    let signature = signature.ok_or("it is not signed")?;
    let payload = format!("{}\n\n{message}", kept.join("\n"));
    Ok((payload.into_bytes(), signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_header_is_cut_out_of_the_payload() {
        let object = b"tree 1\nparent 2\nauthor a\ncommitter c\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nmessage\n";
        let (payload, signature) = split_signature(object).unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            "tree 1\nparent 2\nauthor a\ncommitter c\n\nmessage\n"
        );
        assert_eq!(
            signature,
            "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        );
        let e = split_signature(b"tree 1\n\nmessage\n").unwrap_err();
        assert_eq!(e, "it is not signed");
    }
}
