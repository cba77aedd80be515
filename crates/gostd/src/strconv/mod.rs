//! Go's `strconv`: quoting (what `%q`, Sprig's `quote` and Go's error messages print) and
//! `FormatFloat`.
//!
//! Which characters are escaped follows Go's `unicode.IsPrint` with the Unicode tables of
//! Go 1.21 to 1.25 (Unicode 15.0.0), the releases the oracles (helm v4, kubectl's
//! kustomize) are built with: letters, marks, numbers, punctuation, symbols and U+0020 are
//! printed as they are; controls (C0 and C1, so U+0085 too), format characters (U+00AD,
//! U+200B, U+FEFF), separators other than U+0020 (U+00A0, U+2028, U+2029), private-use
//! and unassigned code points are escaped.

mod ftoa;
mod printable;

use std::fmt::Write as _;

pub use ftoa::format_float;

/// `strconv.IsPrint` (the same as `unicode.IsPrint`): whether `%q` prints `c` as it is.
///
/// ```
/// use crunch_gostd::strconv::is_print;
///
/// assert!(is_print('é') && is_print(' ') && is_print('\u{301}'));
/// assert!(!is_print('\u{85}') && !is_print('\u{a0}') && !is_print('\u{2028}'));
/// ```
pub fn is_print(c: char) -> bool {
    printable::BOUNDARIES.partition_point(|&b| b <= u32::from(c)) % 2 == 1
}

/// `strconv.Quote`: a double-quoted Go string literal, with `\a \b \f \n \r \t \v`, `\xNN`
/// for other ASCII controls, `\uNNNN` or `\UNNNNNNNN` for other unprintable characters.
///
/// ```
/// use crunch_gostd::strconv::quote;
///
/// assert_eq!(quote("\"hé\"\x01\u{a0}"), r#""\"hé\"\x01\u00a0""#);
/// ```
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// `strconv.QuoteToASCII` (`%+q`): as [`quote`], with every non-ASCII character escaped.
///
/// ```
/// assert_eq!(crunch_gostd::strconv::quote_to_ascii("é☺\u{1f600}"), r#""\u00e9\u263a\U0001f600""#);
/// ```
pub fn quote_to_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

/// `strconv.QuoteRune` (`%q` of a rune): a single-quoted Go character literal.
///
/// ```
/// use crunch_gostd::strconv::quote_rune;
///
/// assert_eq!(quote_rune('\''), r"'\''");
/// assert_eq!(quote_rune('\n'), r"'\n'");
/// assert_eq!(quote_rune('"'), r#"'"'"#);
/// ```
pub fn quote_rune(c: char) -> String {
    let mut out = String::with_capacity(8);
    out.push('\'');
    push_escaped(&mut out, c, '\'', false);
    out.push('\'');
    out
}

/// `strconv.QuoteRuneToASCII` (`%+q` of a rune): as [`quote_rune`], non-ASCII escaped.
///
/// ```
/// assert_eq!(crunch_gostd::strconv::quote_rune_to_ascii('☺'), r"'\u263a'");
/// ```
pub fn quote_rune_to_ascii(c: char) -> String {
    let mut out = String::with_capacity(12);
    out.push('\'');
    push_escaped(&mut out, c, '\'', true);
    out.push('\'');
    out
}

/// `strconv.CanBackquote` (what `%#q` checks): whether `s` can be a raw string literal
/// unchanged. ASCII controls other than tab, DEL, the backquote and the byte order mark
/// cannot; every other character can, printable or not.
///
/// ```
/// use crunch_gostd::strconv::can_backquote;
///
/// assert!(can_backquote("a\tb\u{85}"));
/// assert!(!can_backquote("a`b") && !can_backquote("\u{feff}") && !can_backquote("\x7f"));
/// ```
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| !matches!(c, '\0'..='\x08' | '\n'..='\x1f' | '`' | '\x7f' | '\u{feff}'))
}

fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_escaped(&mut out, c, quote, ascii_only);
    }
    out.push(quote);
    out
}

/// One character inside a literal delimited by `quote`.
fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    let verbatim = if ascii_only {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    };
    if verbatim {
        out.push(c);
        return;
    }
    let code = u32::from(c);
    // Writing into a String cannot fail.
    let _ = match c {
        '\x07' => out.write_str(r"\a"),
        '\x08' => out.write_str(r"\b"),
        '\x0c' => out.write_str(r"\f"),
        '\n' => out.write_str(r"\n"),
        '\r' => out.write_str(r"\r"),
        '\t' => out.write_str(r"\t"),
        '\x0b' => out.write_str(r"\v"),
        '\0'..='\x1f' | '\x7f' => write!(out, r"\x{code:02x}"),
        '\u{80}'..='\u{ffff}' => write!(out, r"\u{code:04x}"),
        _ => write!(out, r"\U{code:08x}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_go_does() {
        // (input, Quote, QuoteToASCII), from Go's strconv tests and Go 1.25's output.
        for (s, want, ascii) in [
            (
                "\x07\x08\x0c\r\n\t\x0b",
                r#""\a\b\f\r\n\t\v""#,
                r#""\a\b\f\r\n\t\v""#,
            ),
            ("\\", r#""\\""#, r#""\\""#),
            ("\u{263a}", "\"\u{263a}\"", r#""\u263a""#),
            ("\u{10ffff}", r#""\U0010ffff""#, r#""\U0010ffff""#),
            ("\x04", r#""\x04""#, r#""\x04""#),
            ("\x7f", r#""\x7f""#, r#""\x7f""#),
            (
                "!\u{00a0}!\u{2000}!\u{3000}!",
                r#""!\u00a0!\u2000!\u3000!""#,
                r#""!\u00a0!\u2000!\u3000!""#,
            ),
            (
                "a\u{85}b\u{9f}",
                r#""a\u0085b\u009f""#,
                r#""a\u0085b\u009f""#,
            ),
            ("\u{2028}\u{2029}", r#""\u2028\u2029""#, r#""\u2028\u2029""#),
            (
                "\u{ad}\u{200b}\u{feff}",
                r#""\u00ad\u200b\ufeff""#,
                r#""\u00ad\u200b\ufeff""#,
            ),
            // Unassigned, private use, noncharacters.
            (
                "\u{378}\u{e000}\u{fffe}\u{f0000}",
                r#""\u0378\ue000\ufffe\U000f0000""#,
                r#""\u0378\ue000\ufffe\U000f0000""#,
            ),
            // A combining mark and U+FFFD are printable.
            (
                "e\u{301}\u{fffd}",
                "\"e\u{301}\u{fffd}\"",
                r#""e\u0301\ufffd""#,
            ),
            ("'", "\"'\"", "\"'\""),
            ("", r#""""#, r#""""#),
        ] {
            assert_eq!(quote(s), want, "Quote({s:?})");
            assert_eq!(quote_to_ascii(s), ascii, "QuoteToASCII({s:?})");
        }
    }

    #[test]
    fn quotes_runes_as_go_does() {
        for (c, want, ascii) in [
            ('a', "'a'", "'a'"),
            ('\x07', r"'\a'", r"'\a'"),
            ('\\', r"'\\'", r"'\\'"),
            ('\'', r"'\''", r"'\''"),
            ('"', "'\"'", "'\"'"),
            ('\x11', r"'\x11'", r"'\x11'"),
            ('\u{85}', r"'\u0085'", r"'\u0085'"),
            ('\u{263a}', "'\u{263a}'", r"'\u263a'"),
            ('\u{1f438}', "'\u{1f438}'", r"'\U0001f438'"),
            ('\u{fffd}', "'\u{fffd}'", r"'\ufffd'"),
        ] {
            assert_eq!(quote_rune(c), want, "QuoteRune({c:?})");
            assert_eq!(quote_rune_to_ascii(c), ascii, "QuoteRuneToASCII({c:?})");
        }
    }

    #[test]
    fn backquotes_as_go_does() {
        for (s, want) in [
            ("`", false),
            ("\x00", false),
            ("\x1f", false),
            ("\x7f", false),
            ("\t", true),
            ("' !\"#$%&'()*+,-./:;<=>?@[\\]^_{|}~", true),
            ("\u{263a}", true),
            ("\u{85}\u{2028}", true),
            ("\u{feff}", false),
            ("", true),
        ] {
            assert_eq!(can_backquote(s), want, "CanBackquote({s:?})");
        }
    }

    #[test]
    fn printability_follows_unicode_15() {
        // Latin-1 as strconv's fast path has it.
        for c in '\0'..='\u{ff}' {
            let want = matches!(c, ' '..='~' | '\u{a1}'..='\u{ff}') && c != '\u{ad}';
            assert_eq!(is_print(c), want, "{c:?}");
        }
        // Unicode 15.0 additions are printable, Unicode 16's not yet.
        assert!(is_print('\u{1f6dc}') && is_print('\u{31350}'));
        assert!(!is_print('\u{1fae9}') && !is_print('\u{10d40}'));
        // Variation selectors (marks) are printable, tags (format) are not.
        assert!(is_print('\u{e0100}') && !is_print('\u{e0041}'));
        assert!(!is_print('\u{10ffff}') && !is_print('\u{e0000}'));
    }
}
