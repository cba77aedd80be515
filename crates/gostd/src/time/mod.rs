//! Go's `time` package, the part whose text crunch must match outside the template
//! engine's own `time`: how its errors quote values, the [`Clock`] that stands for
//! `time.Now` and `time.Local`, and the calendar arithmetic ([`civil`]) both use.

pub mod civil;
mod clock;

pub use clock::Clock;

use std::fmt::Write as _;

/// `time`'s own `quote`, which `ParseError` (`parsing time "x" as "2006-01-02": …`) and
/// duration errors use. Unlike [`crate::strconv::quote`] it escapes every byte of a
/// non-ASCII character and every control below U+0020 as `\xNN`, and only `"` and `\`
/// besides; DEL stays as it is.
///
/// ```
/// assert_eq!(crunch_gostd::time::quote("é\"\t"), r#""\xc3\xa9\"\x09""#);
/// assert_eq!(crunch_gostd::time::quote("\x7f"), "\"\x7f\"");
/// ```
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                // Writing into a String cannot fail.
                let _ = write!(out, r"\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_as_go_time_does() {
        for (s, want) in [
            ("2006-01-02", r#""2006-01-02""#),
            ("", r#""""#),
            ("a\\b\"c", r#""a\\b\"c""#),
            ("\n\u{85}", r#""\x0a\xc2\x85""#),
            ("1h\u{2028}", r#""1h\xe2\x80\xa8""#),
            ("\u{1f600}", r#""\xf0\x9f\x98\x80""#),
        ] {
            assert_eq!(quote(s), want, "{s:?}");
        }
    }
}
