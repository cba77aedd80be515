//! SHA-256 digests as Go programs print them: `hex.EncodeToString(sha256.Sum256(data))`.

use sha2::{Digest, Sha256};

/// The SHA-256 digest of `data` in lower-case hex (64 characters).
///
/// ```
/// assert_eq!(
///     crunch_gostd::sha256::hex(""),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn hex(data: impl AsRef<[u8]>) -> String {
    crate::hex::encode(Sha256::digest(data.as_ref()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn digests_as_sha256sum_prints() {
        assert_eq!(
            super::hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
