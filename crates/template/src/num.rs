//! Go's `strconv` number parsing (`ParseInt` with base 0, `ParseUint`, `ParseFloat`),
//! shared by template constants and Sprig's conversions.

/// Why a number did not parse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumError {
    /// Not a number.
    Syntax,
    /// Out of range; Go still returns the value clamped to the type's limit.
    Range(i64),
}

/// Go's `underscoreOK`: `_` only between digits or right after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1] | 0x20 == b'x';
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Splits a base-0 integer literal into (negative, base, digits without `_`).
fn int_parts(text: &str) -> Option<(bool, u32, String)> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = body.to_ascii_lowercase();
    let (base, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.contains('_') && !underscore_ok(text) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    Some((neg, base, clean))
}

/// `strconv.ParseUint(text, 0, 64)`.
pub(crate) fn parse_uint(text: &str) -> Option<u64> {
    match int_parts(text)? {
        (false, base, digits) if !text.starts_with('+') => u64::from_str_radix(&digits, base).ok(),
        _ => None,
    }
}

/// `strconv.ParseInt(text, 0, 64)`.
pub(crate) fn parse_int(text: &str) -> Result<i64, NumError> {
    let (neg, base, digits) = int_parts(text).ok_or(NumError::Syntax)?;
    let signed = if neg { format!("-{digits}") } else { digits };
    i64::from_str_radix(&signed, base)
        .map_err(|_| NumError::Range(if neg { i64::MIN } else { i64::MAX }))
}

/// `strconv.ParseFloat(text, 64)`: decimal and hexadecimal forms, `inf`, `nan`, `_`
/// separators. Out-of-range values are errors (Go returns ±Inf with an error).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if lower.contains('_') && !underscore_ok(body) {
                return None;
            }
            let clean: String = lower.chars().filter(|c| *c != '_').collect();
            let v = match clean.strip_prefix("0x") {
                Some(hex) => parse_hex_float(hex)?,
                None => {
                    if !clean.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                        return None;
                    }
                    clean.parse::<f64>().ok()?
                }
            };
            if v.is_infinite() {
                return None;
            }
            v
        }
    };
    Some(if neg { -magnitude } else { magnitude })
}

/// The part of a hexadecimal float after `0x`: mantissa digits, optional point, and a
/// mandatory `p` exponent.
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mant, exp) = hex.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp - 4 * frac_part.len() as i32;
    Some(value * 2f64.powi(shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax() {
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("_1"), Err(NumError::Syntax));
        assert_eq!(parse_int("-0b101"), Ok(-5));
        assert_eq!(
            parse_int("99999999999999999999"),
            Err(NumError::Range(i64::MAX))
        );
        assert_eq!(parse_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_float("0x1p4"), Some(16.0));
        assert_eq!(parse_float("0x10"), None);
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("1e400"), None);
    }
}
