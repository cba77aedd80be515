//! PEM blocks as Go's `encoding/pem` reads and writes them: Sprig finds the first block
//! anywhere in its input, and writes 64-column base64 with `\n` line ends.

use base64::Engine as _;

/// One decoded PEM block.
pub(super) struct Block {
    /// The label: `CERTIFICATE`, `RSA PRIVATE KEY`, …
    pub(super) label: String,
    /// The DER bytes.
    pub(super) der: Vec<u8>,
}

/// Go's `base64.StdEncoding.DecodeString`, which skips `\r` and `\n`.
pub(super) fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    crunch_gostd::base64::decode_std(text).ok()
}

/// The first well-formed PEM block of `data`, as `pem.Decode` finds it: a `-----BEGIN
/// L-----` line at the start of the input or of a line, base64 lines (headers are
/// skipped), and the matching `-----END L-----`. A malformed block is passed over.
pub(super) fn decode(data: &[u8]) -> Option<Block> {
    let mut rest = data;
    loop {
        let start = if rest.starts_with(b"-----BEGIN ") {
            0
        } else {
            find(rest, b"\n-----BEGIN ")? + 1
        };
        rest = &rest[start + b"-----BEGIN ".len()..];
        if let Some(block) = parse_block(rest) {
            return Some(block);
        }
    }
}

fn parse_block(after_begin: &[u8]) -> Option<Block> {
    let line_end = after_begin
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(after_begin.len());
    let type_line = trim_right(&after_begin[..line_end]);
    let label = type_line.strip_suffix(b"-----")?;
    let label = std::str::from_utf8(label).ok()?.to_string();
    let body = after_begin.get(line_end + 1..).unwrap_or_default();
    let end_marker = [b"-----END ".as_slice(), label.as_bytes(), b"-----"].concat();
    let end = if body.starts_with(&end_marker) {
        0
    } else {
        find(body, &[b"\n".as_slice(), &end_marker].concat())? + 1
    };
    let after_end = &body[end + end_marker.len()..];
    let tail_end = after_end
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(after_end.len());
    if !trim_right(&after_end[..tail_end]).is_empty() {
        return None;
    }
    let text = skip_headers(&body[..end]);
    let b64: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t'))
        .collect();
    let der = decode_base64(&b64)?;
    Some(Block { label, der })
}

/// The block body after any `Key: value` header lines (which end at a blank line).
fn skip_headers(body: &[u8]) -> &[u8] {
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    if !first_line.contains(&b':') {
        return body;
    }
    find(body, b"\n\n")
        .or_else(|| find(body, b"\r\n\r\n"))
        .map_or(body, |i| &body[i..])
}

fn trim_right(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &s[..n]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `pem.EncodeToMemory` of a block without headers.
pub(super) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_block_after_text() {
        let text = b"junk\n-----BEGIN FOO-----\nAAEC\n-----END FOO-----\ntrailer";
        let block = decode(text).expect("block");
        assert_eq!(block.label, "FOO");
        assert_eq!(block.der, vec![0, 1, 2]);
    }

    #[test]
    fn skips_malformed_blocks_and_headers() {
        let text = b"-----BEGIN A-----\n!!\n-----END A-----\n-----BEGIN B-----\nProc-Type: 4\n\nAAEC\n-----END B-----\n";
        let block = decode(text).expect("block");
        assert_eq!(block.label, "B");
        assert!(decode(b"no pem here").is_none());
        assert!(decode(b"-----BEGIN A-----\nAAEC\n-----END B-----\n").is_none());
    }

    #[test]
    fn encodes_64_columns() {
        let pem = encode("X", &[7u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN X-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END X-----"));
        assert_eq!(decode(pem.as_bytes()).map(|b| b.der), Some(vec![7u8; 60]));
    }
}
