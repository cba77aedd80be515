//! Go's `encoding/hex`.

use std::fmt::Write as _;

/// `hex.EncodeToString`: two lower-case hex digits per byte.
///
/// ```
/// assert_eq!(crunch_gostd::hex::encode([0x00, 0xab, 0x7f]), "00ab7f");
/// ```
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing into a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_lower_case() {
        assert_eq!(encode([]), "");
        assert_eq!(encode(b"Hello\xff"), "48656c6c6fff");
        assert_eq!(encode(vec![0u8, 1, 0xfe]), "0001fe");
    }
}
