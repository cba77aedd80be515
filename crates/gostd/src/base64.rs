//! `encoding/base64`'s `StdEncoding.DecodeString`, as Go programs decode Secret data,
//! YAML's `!!binary` and PEM bodies: the padded standard alphabet, line breaks (`\r`,
//! `\n`) skipped wherever they are (kustomize and kyaml wrap long values), and the unused
//! bits of the last symbol ignored (the encoding is not `Strict`).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The bytes `text` encodes, or why it encodes none (positions count the symbols left
/// once line breaks are skipped).
///
/// ```
/// use crunch_gostd::base64::decode_std;
///
/// assert_eq!(decode_std(b"aGVs\nbG8=").unwrap(), b"hello");
/// assert!(decode_std(b"aGVsbG8").is_err());
/// ```
///
/// # Errors
/// A symbol outside the alphabet, or missing or misplaced padding.
pub fn decode_std(text: &[u8]) -> Result<Vec<u8>, String> {
    let symbols: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    STD_ENCODING.decode(symbols).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_go_does() {
        assert_eq!(decode_std(b"").unwrap(), b"");
        assert_eq!(decode_std(b"YQ==").unwrap(), b"a");
        // Unused bits of the last symbol are ignored, not refused.
        assert_eq!(decode_std(b"YR==").unwrap(), b"a");
        assert_eq!(decode_std(b"\r\nYW\nJj\r\n").unwrap(), b"abc");
        for bad in [&b"YQ"[..], b"YQ=", b"Y===", b"YQ==YQ==", b"Y Q==", b"YQ-_"] {
            assert!(
                decode_std(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
