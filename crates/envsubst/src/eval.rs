//! Evaluation: each function's arguments first, then its variable, then its operator.
//! Values are bytes, as Go's strings are: `${var:1:2}` slices bytes, so a result may
//! split a character.

use crate::parse::{Func, Node};
use crate::pattern;
use crate::scan::{decode_rune, runes};
use crate::{Error, MAX_OUTPUT};

/// Appends the value of `nodes` to `out`.
pub(crate) fn eval<'v>(
    nodes: &[Node],
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    for node in nodes {
        match node {
            Node::Text(text) => out.extend_from_slice(text),
            Node::Func(func) => {
                let value = call(func, lookup, strict)?;
                out.extend_from_slice(&value);
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(Error::TooLarge);
        }
    }
    Ok(())
}

fn call<'v>(
    func: &Func,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<Vec<u8>, Error> {
    let mut args = Vec::with_capacity(func.args.len());
    for arg in &func.args {
        let mut value = Vec::new();
        eval(std::slice::from_ref(arg), lookup, strict, &mut value)?;
        args.push(value);
    }
    // A name that is not UTF-8 (cut out of the text by the scanner's quirks) names no
    // variable.
    let found = std::str::from_utf8(&func.param).ok().and_then(lookup);
    if strict && found.is_none() && !is_default_op(&func.op) {
        return Err(Error::VariableNotSet(
            String::from_utf8_lossy(&func.param).into_owned(),
        ));
    }
    let value = found.unwrap_or_default().as_bytes();
    let result = apply(&func.op, value, &args)?;
    if result.len() > MAX_OUTPUT {
        return Err(Error::TooLarge);
    }
    Ok(result)
}

/// The operators that supply their own value for an unset variable, which strict mode
/// lets through.
fn is_default_op(op: &[u8]) -> bool {
    matches!(
        op,
        b"-" | b"+" | b"=" | b"?" | b":-" | b":+" | b":=" | b":?"
    )
}

/// The operator `op` applied to `value`. Every operator Flux does not name (the bare
/// `${var}`, all the default forms, and whatever else the scanner let through) is the
/// default function: the value, or the arguments joined when it is empty. So `${v:+x}`
/// and `${v:?x}` are defaults too, unlike bash.
fn apply(op: &[u8], value: &[u8], args: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let first = args.first().map(Vec::as_slice);
    Ok(match op {
        b"," => map_first(value, simple_lower),
        b",," => map_all(value, simple_lower),
        b"^" => map_first(value, simple_upper),
        b"^^" => map_all(value, simple_upper),
        b"#" if args.is_empty() => value.len().to_string().into_bytes(),
        b"#" => first.map_or(value.to_vec(), |p| trim_shortest(value, p)),
        b"##" => first.map_or(value.to_vec(), |p| trim_longest(value, p)),
        b"%" => first.map_or(value.to_vec(), |p| reversed(trim_shortest, value, p)),
        b"%%" => first.map_or(value.to_vec(), |p| reversed(trim_longest, value, p)),
        b":" => return substring(value, args),
        b"/#" => match args {
            [from, to] if value.starts_with(from) => [to, &value[from.len()..]].concat(),
            _ => value.to_vec(),
        },
        b"/%" => match args {
            [from, to] if value.ends_with(from) => {
                [&value[..value.len() - from.len()], to.as_slice()].concat()
            }
            _ => value.to_vec(),
        },
        b"/" => replace(value, args, Some(1)),
        b"//" => replace(value, args, None),
        _ if value.is_empty() && !args.is_empty() => args.concat(),
        _ => value.to_vec(),
    })
}

/// `${v/from/to}` and `${v//from/to}`: Go's `strings.Replace`, `to` empty when absent.
fn replace(value: &[u8], args: &[Vec<u8>], limit: Option<usize>) -> Vec<u8> {
    match args {
        [] => value.to_vec(),
        [from] => go_replace(value, from, b"", limit),
        [from, to, ..] => go_replace(value, from, to, limit),
    }
}

/// Go's `strings.Replace(s, old, new, n)` (`None` for all): an empty `old` matches
/// before every rune and at the end.
fn go_replace(s: &[u8], old: &[u8], new: &[u8], limit: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut done = 0;
    let mut at = 0;
    while limit.is_none_or(|n| done < n) {
        let found = if old.is_empty() {
            if done > 0 {
                if at >= s.len() {
                    break;
                }
                let (_, width) = decode_rune(&s[at..]);
                out.extend_from_slice(&s[at..at + width]);
                at += width;
            }
            Some(at)
        } else {
            find(&s[at..], old).map(|i| at + i)
        };
        let Some(hit) = found else { break };
        out.extend_from_slice(&s[at..hit]);
        out.extend_from_slice(new);
        at = hit + old.len();
        done += 1;
    }
    out.extend_from_slice(&s[at..]);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `${v:offset}` and `${v:offset:length}` on bytes, as Flux's `toSubstr`: an offset or
/// length that is no integer gives the value unchanged, a negative offset counts from
/// the end, and a negative length that ends before the offset fails as Go's slicing
/// panics.
fn substring(value: &[u8], args: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let len = value.len() as i64;
    let Some(offset) = args.first().and_then(|a| atoi(a)) else {
        return Ok(value.to_vec());
    };
    let offset = if offset < 0 {
        (len + offset).max(0)
    } else {
        offset
    };
    let rest = |from: i64| {
        if from < len {
            value[from as usize..].to_vec()
        } else {
            Vec::new()
        }
    };
    let Some(length) = args.get(1) else {
        return Ok(rest(offset));
    };
    let Some(length) = atoi(length) else {
        return Ok(value.to_vec());
    };
    let end = offset.wrapping_add(length);
    if end >= len {
        return Ok(rest(offset));
    }
    if end < 0 {
        return Err(Error::SliceBounds(format!("[:{end}]")));
    }
    if end < offset {
        return Err(Error::SliceBounds(format!("[{offset}:{end}]")));
    }
    Ok(value[offset as usize..end as usize].to_vec())
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, within 64 bits.
fn atoi(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Flux's `trimShortest`: the shortest non-empty prefix the pattern matches, removed; a
/// malformed pattern leaves the value as it is.
fn trim_shortest(value: &[u8], pattern: &[u8]) -> Vec<u8> {
    let mut shortest = None;
    for end in (1..=value.len()).rev() {
        match pattern::matches(pattern, &value[..end]) {
            Err(()) => return value.to_vec(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    shortest.map_or_else(|| value.to_vec(), |end| value[end..].to_vec())
}

/// Flux's `trimLongest`: the longest non-empty prefix the pattern matches, removed.
fn trim_longest(value: &[u8], pattern: &[u8]) -> Vec<u8> {
    for end in (1..=value.len()).rev() {
        match pattern::matches(pattern, &value[..end]) {
            Err(()) => return value.to_vec(),
            Ok(true) => return value[end..].to_vec(),
            Ok(false) => {}
        }
    }
    value.to_vec()
}

/// A prefix trim run on the reversed value and pattern (rune by rune, as Go's `[]rune`
/// reverses), reversed back: Flux's suffix trims.
fn reversed(trim: fn(&[u8], &[u8]) -> Vec<u8>, value: &[u8], pattern: &[u8]) -> Vec<u8> {
    reverse(&trim(&reverse(value), &reverse(pattern)))
}

fn reverse(bytes: &[u8]) -> Vec<u8> {
    runes(bytes)
        .into_iter()
        .rev()
        .collect::<String>()
        .into_bytes()
}

/// Go's `strings.Map` with a rune mapping: invalid bytes become U+FFFD.
fn map_all(value: &[u8], map: fn(char) -> char) -> Vec<u8> {
    runes(value)
        .into_iter()
        .map(map)
        .collect::<String>()
        .into_bytes()
}

/// The first rune mapped, the rest as it is.
fn map_first(value: &[u8], map: fn(char) -> char) -> Vec<u8> {
    if value.is_empty() {
        return Vec::new();
    }
    let (first, width) = decode_rune(value);
    let mut out = map(first).to_string().into_bytes();
    out.extend_from_slice(&value[width..]);
    out
}

/// Go's `unicode.ToLower`: the simple (one rune) mapping. Rust's full mapping differs
/// only for U+0130, whose simple lower case is `i`.
fn simple_lower(rune: char) -> char {
    let mut lower = rune.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(one), None) => one,
        _ => 'i',
    }
}

/// Go's `unicode.ToUpper`: the simple mapping. Where Rust's full mapping has several
/// runes, the simple one is the rune itself, but for the Greek letters with iota
/// subscript (U+1F80…, U+1FB3, U+1FC3, U+1FF3), whose simple upper case is their title case.
fn simple_upper(rune: char) -> char {
    let mut upper = rune.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(one), None) => one,
        _ => match u32::from(rune) {
            c @ (0x1f80..=0x1f87 | 0x1f90..=0x1f97 | 0x1fa0..=0x1fa7) => {
                char::from_u32(c + 8).unwrap_or(rune)
            }
            0x1fb3 => '\u{1fbc}',
            0x1fc3 => '\u{1fcc}',
            0x1ff3 => '\u{1ffc}',
            _ => rune,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_replace_matches_strings_replace() {
        assert_eq!(go_replace(b"abab", b"a", b"x", None), b"xbxb");
        assert_eq!(go_replace(b"abab", b"a", b"x", Some(1)), b"xbab");
        assert_eq!(go_replace(b"abc", b"", b"-", None), b"-a-b-c-");
        assert_eq!(go_replace(b"abc", b"", b"-", Some(1)), b"-abc");
        assert_eq!(
            go_replace("é".as_bytes(), b"", b"-", None),
            "-é-".as_bytes()
        );
        assert_eq!(go_replace(b"", b"", b"-", None), b"-");
    }

    #[test]
    fn case_mappings_are_go_simple_ones() {
        assert_eq!(simple_upper('ß'), 'ß');
        assert_eq!(simple_upper('ﬀ'), 'ﬀ');
        assert_eq!(simple_upper('\u{1f80}'), '\u{1f88}');
        assert_eq!(simple_upper('é'), 'É');
        assert_eq!(simple_lower('\u{130}'), 'i');
        assert_eq!(simple_lower('Σ'), 'σ');
    }

    #[test]
    fn substring_follows_flux() {
        let s = |args: &[&str]| {
            let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
            substring(b"abcdef", &args).map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(s(&["2"]).unwrap(), "cdef");
        assert_eq!(s(&["-2"]).unwrap(), "ef");
        assert_eq!(s(&["-20"]).unwrap(), "abcdef");
        assert_eq!(s(&["9"]).unwrap(), "");
        assert_eq!(s(&["x"]).unwrap(), "abcdef");
        assert_eq!(s(&["1", "2"]).unwrap(), "bc");
        assert_eq!(s(&["1", "20"]).unwrap(), "bcdef");
        assert_eq!(s(&["1", "y"]).unwrap(), "abcdef");
        assert_eq!(
            s(&["3", "-1"]).unwrap_err().to_string(),
            "runtime error: slice bounds out of range [3:2]"
        );
    }
}
