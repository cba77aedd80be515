//! Literal constants: Go's number-node rules and `strconv.Unquote`.

use super::ast::Number;

/// Builds a number node the way Go's `newNumber` does.
pub(crate) fn number(pos: usize, text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        let inner = &text[1..text.len() - 1];
        let c = unquote_char_literal(inner)
            .ok_or_else(|| format!("malformed character constant: {text}"))?;
        let v = i64::from(u32::from(c));
        return Ok(Number {
            pos,
            text: text.to_string(),
            int: Some(v),
            is_uint: true,
            float: Some(v as f64),
            is_char: true,
        });
    }
    let int = super::num::parse_int(text).ok();
    let uint = int.is_none() && super::num::parse_uint(text).is_some();
    let mut n = Number {
        pos,
        text: text.to_string(),
        int,
        is_uint: uint || int.is_some_and(|i| i >= 0),
        float: None,
        is_char: false,
    };
    if let Some(i) = int {
        n.float = Some(i as f64);
    } else if uint {
        n.float = super::num::parse_uint(text).map(|u| u as f64);
    } else if let Some(f) = super::num::parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!(
                "integer overflow: {}",
                crunch_gostd::strconv::quote(text)
            ));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.int = Some(f as i64);
        }
        n.is_uint = f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f);
    }
    if n.int.is_none() && !n.is_uint && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crunch_gostd::strconv::quote(text)
        ));
    }
    Ok(n)
}

/// Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals.
pub(crate) fn unquote(quoted: &str) -> Option<String> {
    if quoted.len() < 2 {
        return None;
    }
    let (first, inner) = (quoted.as_bytes()[0], &quoted[1..quoted.len() - 1]);
    if quoted.as_bytes()[quoted.len() - 1] != first {
        return None;
    }
    match first {
        b'`' => (!inner.contains('`')).then(|| inner.replace('\r', "")),
        b'"' => {
            let mut out = String::new();
            let mut rest = inner;
            while !rest.is_empty() {
                let (c, tail) = unquote_char(rest, '"')?;
                out.push_str(&c);
                rest = tail;
            }
            Some(out)
        }
        _ => None,
    }
}

fn unquote_char_literal(inner: &str) -> Option<char> {
    let (s, tail) = unquote_char(inner, '\'')?;
    let mut chars = s.chars();
    let c = chars.next()?;
    (tail.is_empty() && chars.next().is_none()).then_some(c)
}

/// One possibly escaped character; returns its UTF-8 text and the rest of the input.
fn unquote_char(s: &str, quote: char) -> Option<(String, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote || c == '\n' {
        return None;
    }
    if c != '\\' {
        return Some((c.to_string(), chars.as_str()));
    }
    let e = chars.next()?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c.to_string(), rest));
    }
    let hex = |n: usize| -> Option<(u32, &str)> {
        let digits = rest.get(..n)?;
        Some((u32::from_str_radix(digits, 16).ok()?, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, tail) = hex(2)?;
            // A \x byte: valid only as ASCII here (Go would produce a raw byte).
            Some((char::from_u32(v)?.to_string(), tail))
        }
        'u' => {
            let (v, tail) = hex(4)?;
            Some((char::from_u32(v)?.to_string(), tail))
        }
        'U' => {
            let (v, tail) = hex(8)?;
            Some((char::from_u32(v)?.to_string(), tail))
        }
        '0'..='7' => {
            let digits = s.get(1..4)?;
            let v = u32::from_str_radix(digits, 8).ok()?;
            (v <= 255).then(|| (char::from_u32(v).unwrap_or('\u{fffd}').to_string(), &s[4..]))
        }
        _ => None,
    }
}
