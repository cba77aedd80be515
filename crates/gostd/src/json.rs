//! Go's `encoding/json`, the parts whose text crunch must match: how strings and floats
//! are written, and how a syntax error shows the offending byte. Walking values (sorted
//! keys, indentation) stays with each value type's encoder.

use std::fmt;
use std::fmt::Write as _;

use crate::strconv;

/// Appends `s` as a JSON string the way Go (1.22 and later) writes it: `"` and `\`
/// backslashed; `\b \f \n \r \t`; other controls below U+0020 as `\u00XX`; U+2028 and
/// U+2029 as `\u2028` and `\u2029` always; with `escape_html` (`json.Marshal`,
/// `MarshalIndent`; off after `Encoder.SetEscapeHTML(false)`) also `<`, `>` and `&` as
/// `\u003c`, `\u003e`, `\u0026`. DEL and every other character are written as they are.
///
/// ```
/// let mut out = String::new();
/// crunch_gostd::json::write_string(&mut out, "<a>\u{8}\u{2028}", true);
/// assert_eq!(out, r#""\u003ca\u003e\b\u2028""#);
/// ```
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        // Writing into a String cannot fail.
        let _ = match c {
            '"' | '\\' => write!(out, "\\{c}"),
            '\x08' => out.write_str(r"\b"),
            '\x0c' => out.write_str(r"\f"),
            '\n' => out.write_str(r"\n"),
            '\r' => out.write_str(r"\r"),
            '\t' => out.write_str(r"\t"),
            '<' | '>' | '&' if escape_html => write!(out, r"\u{:04x}", u32::from(c)),
            '\0'..='\x1f' | '\u{2028}' | '\u{2029}' => write!(out, r"\u{:04x}", u32::from(c)),
            _ => {
                out.push(c);
                Ok(())
            }
        };
    }
    out.push('"');
}

/// A float64 as `encoding/json` writes it, like JavaScript's number to string: `'f'`
/// format for `1e-6 <= |f| < 1e21` and zero, else `'e'` with a single-digit negative
/// exponent unpadded (`1e-7`, `1e+21`), always the shortest digits that read back.
///
/// # Errors
/// NaN and the infinities, which JSON cannot hold: Go's `json: unsupported value: NaN`.
///
/// ```
/// use crunch_gostd::json::format_float;
///
/// assert_eq!(format_float(1e20).unwrap(), "100000000000000000000");
/// assert_eq!(format_float(1e21).unwrap(), "1e+21");
/// assert_eq!(format_float(1e-7).unwrap(), "1e-7");
/// assert_eq!(format_float(f64::NAN).unwrap_err().to_string(), "json: unsupported value: NaN");
/// ```
pub fn format_float(f: f64) -> Result<String, UnsupportedValue> {
    if !f.is_finite() {
        return Err(UnsupportedValue(strconv::format_float(f, 'g', -1, 64)));
    }
    let magnitude = f.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let mut text = strconv::format_float(f, 'e', -1, 64);
        // `e-07` → `e-7`; three-digit exponents and positive ones stay as they are.
        let n = text.len();
        if text[..n - 1].ends_with("e-0") {
            text.remove(n - 2);
        }
        return Ok(text);
    }
    Ok(strconv::format_float(f, 'f', -1, 64))
}

/// A value `encoding/json` cannot encode (Go's `UnsupportedValueError`), by its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedValue(pub String);

impl fmt::Display for UnsupportedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "json: unsupported value: {}", self.0)
    }
}

impl std::error::Error for UnsupportedValue {}

/// How `encoding/json`'s syntax errors show the offending byte (`invalid character 'x'
/// looking for beginning of value`): single-quoted, escaped as [`strconv::quote`] does,
/// `'` backslashed and `"` not. The byte is read as a Latin-1 character, so the first
/// byte of a multi-byte character shows as what it is alone: `é` (`c3 a9`) as `'Ã'`.
///
/// ```
/// use crunch_gostd::json::quote_char;
///
/// assert_eq!(quote_char(b'\''), r"'\''");
/// assert_eq!(quote_char(b'"'), "'\"'");
/// assert_eq!(quote_char(0x01), r"'\x01'");
/// assert_eq!(quote_char("é".as_bytes()[0]), "'Ã'");
/// ```
pub fn quote_char(b: u8) -> String {
    match b {
        b'\'' => r"'\''".into(),
        b'"' => "'\"'".into(),
        _ => {
            let quoted = strconv::quote(char::from(b).encode_utf8(&mut [0; 2]));
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str, escape_html: bool) -> String {
        let mut out = String::new();
        write_string(&mut out, s, escape_html);
        out
    }

    #[test]
    fn escapes_strings_as_go_does() {
        // (input, Marshal, Encoder with SetEscapeHTML(false)), as Go 1.22+ writes them.
        for (s, html, raw) in [
            ("", r#""""#, r#""""#),
            ("\"\\/", r#""\"\\/""#, r#""\"\\/""#),
            ("<&>", r#""\u003c\u0026\u003e""#, r#""<&>""#),
            (
                "\x00\x01\x1f",
                r#""\u0000\u0001\u001f""#,
                r#""\u0000\u0001\u001f""#,
            ),
            (
                "\x08\x0c\n\r\t\x0b",
                r#""\b\f\n\r\t\u000b""#,
                r#""\b\f\n\r\t\u000b""#,
            ),
            (
                "\x7f\u{85}\u{a0}",
                "\"\x7f\u{85}\u{a0}\"",
                "\"\x7f\u{85}\u{a0}\"",
            ),
            ("\u{2028}\u{2029}", r#""\u2028\u2029""#, r#""\u2028\u2029""#),
            (
                "héllo ✓ \u{1f600}",
                "\"héllo ✓ \u{1f600}\"",
                "\"héllo ✓ \u{1f600}\"",
            ),
        ] {
            assert_eq!(string(s, true), html, "Marshal({s:?})");
            assert_eq!(string(s, false), raw, "no HTML escaping: {s:?}");
        }
    }

    #[test]
    fn formats_floats_as_go_does() {
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0, "3"),
            (1.5, "1.5"),
            (1e6, "1000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (-1e21, "-1e+21"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (1e-100, "1e-100"),
            (1e100, "1e+100"),
            (12345678901234567890.0, "12345678901234567000"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_float(f).as_deref(), Ok(want), "{f:e}");
        }
        assert_eq!(
            format_float(f64::NEG_INFINITY).unwrap_err().to_string(),
            "json: unsupported value: -Inf"
        );
    }

    #[test]
    fn quotes_error_bytes_as_go_does() {
        for (b, want) in [
            (b'a', "'a'"),
            (b'\\', r"'\\'"),
            (b'\n', r"'\n'"),
            (0x7f, r"'\x7f'"),
            (0x85, r"'\u0085'"),
            (0xa0, r"'\u00a0'"),
            (0xe2, "'â'"),
        ] {
            assert_eq!(quote_char(b), want, "{b:#x}");
        }
    }
}
