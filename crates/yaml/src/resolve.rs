//! Plain-scalar resolution as go-yaml v2 and v3 do it: which implicit type a scalar has.
//!
//! Both versions share the shape of the algorithm (first-character hint, exact-word table,
//! then Go's `strconv` number syntax after dropping `_`); they differ in the word table:
//! v2 knows YAML 1.1 booleans (`yes`, `on`, `y`, …), v3 only `true`/`false`.

use super::Dialect;

/// The implicit type of a plain scalar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (go-yaml tries `ParseUint` after `ParseInt`).
    Uint(u64),
    Float(f64),
    /// A `<<` merge key.
    Merge,
    /// A timestamp (`2001-12-14`, …): a string once decoded, but never printed plain.
    Timestamp(Timestamp),
    Str,
}

const V2_TRUE: &[&str] = &["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"];
const V2_FALSE: &[&str] = &["n", "N", "no", "No", "NO", "off", "Off", "OFF"];
const TRUE: &[&str] = &["true", "True", "TRUE"];
const FALSE: &[&str] = &["false", "False", "FALSE"];
const NULL: &[&str] = &["", "~", "null", "Null", "NULL"];

/// Resolves a plain scalar the way go-yaml's `resolve("", s)` does.
pub(crate) fn resolve(s: &str, dialect: Dialect) -> Resolved {
    if s == "<<" {
        return Resolved::Merge;
    }
    // go-yaml only looks further when the first byte is a hint character.
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    let hint = matches!(first, b'+' | b'-' | b'0'..=b'9' | b'.') || b"yYnNtTfFoO~".contains(&first);
    if !hint {
        return Resolved::Str;
    }
    if let Some(word) = resolve_word(s, dialect) {
        return word;
    }
    match first {
        b'.' => parse_go_float(s).map_or(Resolved::Str, Resolved::Float),
        b'+' | b'-' | b'0'..=b'9' => resolve_number(s),
        _ => Resolved::Str,
    }
}

fn resolve_word(s: &str, dialect: Dialect) -> Option<Resolved> {
    let v2 = dialect == Dialect::GoYamlV2;
    if TRUE.contains(&s) || (v2 && V2_TRUE.contains(&s)) {
        return Some(Resolved::Bool(true));
    }
    if FALSE.contains(&s) || (v2 && V2_FALSE.contains(&s)) {
        return Some(Resolved::Bool(false));
    }
    if NULL.contains(&s) {
        return Some(Resolved::Null);
    }
    match s {
        ".nan" | ".NaN" | ".NAN" => Some(Resolved::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            Some(Resolved::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => Some(Resolved::Float(f64::NEG_INFINITY)),
        _ => None,
    }
}

/// Numbers and timestamps, for scalars starting with a sign or a digit.
fn resolve_number(s: &str) -> Resolved {
    if let Some(stamp) = parse_timestamp(s) {
        return Resolved::Timestamp(stamp);
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = parse_go_int(&plain) {
        return i;
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = parse_go_float(&plain)
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: optional sign, base
/// prefix `0x`/`0o`/`0b` or a leading `0` for octal (underscores already removed).
fn parse_go_int(s: &str) -> Option<Resolved> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    // from_str_radix accepts a sign of its own; Go does not accept one after the prefix.
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        // i64::MIN's magnitude is one past i64::MAX.
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Resolved::Int((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    match i64::try_from(magnitude) {
        Ok(i) => Some(Resolved::Int(i)),
        Err(_) => Some(Resolved::Uint(magnitude)),
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms go-yaml can reach: out-of-range
/// values are errors there (so the scalar stays a string), as are Rust-only spellings.
fn parse_go_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    // Rust's parser also takes "inf"/"nan" words, which Go's only reaches via go-yaml's table.
    if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// A timestamp as go-yaml's `parseTimestamp` accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    date: (u32, u32, u32),
    time: Option<(u32, u32, u32, u32)>,
    /// Offset east of UTC in minutes; `None` means UTC.
    offset: Option<i32>,
}

impl Timestamp {
    /// Whether a time of day was given (not just a date).
    pub(crate) fn has_time(&self) -> bool {
        self.time.is_some()
    }

    /// Go's `time.Time` JSON form (RFC 3339 with nanoseconds, trailing zeros trimmed), which
    /// is what kustomize's JSON round trip makes of a YAML timestamp.
    pub(crate) fn rfc3339(&self) -> String {
        let (year, month, day) = self.date;
        let (hour, minute, second, nanos) = self.time.unwrap_or_default();
        let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        match self.offset {
            None | Some(0) => out.push('Z'),
            Some(minutes) => {
                let sign = if minutes < 0 { '-' } else { '+' };
                let abs = minutes.unsigned_abs();
                out.push_str(&format!("{sign}{:02}:{:02}", abs / 60, abs % 60));
            }
        }
        out
    }
}

/// go-yaml's `parseTimestamp`: `YYYY-` then one of the Go layouts `2006-1-2`,
/// `2006-1-2T15:4:5.999999999Z07:00` (also lower-case `t`) and `2006-1-2 15:4:5.999999999`,
/// with Go's range checks (day within the month, hour below 24).
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year = b[..4]
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
    let month = p.number(1, 2, 1, 12)?;
    p.byte(b'-')?;
    let day = p.number(1, 2, 1, days_in_month(year, month))?;
    let mut stamp = Timestamp {
        date: (year, month, day),
        time: None,
        offset: None,
    };
    if p.done() {
        return Some(stamp);
    }
    let zoned = match p.next()? {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = p.number(1, 2, 0, 23)?;
    p.byte(b':')?;
    let minute = p.number(1, 2, 0, 59)?;
    p.byte(b':')?;
    let second = p.number(1, 2, 0, 59)?;
    let mut nanos = 0;
    if matches!(p.peek(), Some(b'.' | b',')) && p.b.get(p.i + 1).is_some_and(u8::is_ascii_digit) {
        p.i += 1;
        let start = p.i;
        while p.peek().is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
        }
        // Go keeps nanosecond precision and drops further digits.
        let digits = format!("{:0<9}", &s[start..p.i.min(start + 9)]);
        nanos = digits.parse().ok()?;
    }
    stamp.time = Some((hour, minute, second, nanos));
    if !zoned {
        return p.done().then_some(stamp);
    }
    match p.next()? {
        b'Z' => {}
        sign @ (b'+' | b'-') => {
            let hours = p.number(2, 2, 0, 99)?;
            p.byte(b':')?;
            let minutes = p.number(2, 2, 0, 99)?;
            let total = i32::try_from(hours * 60 + minutes).ok()?;
            stamp.offset = Some(if sign == b'-' { -total } else { total });
        }
        _ => return None,
    }
    p.done().then_some(stamp)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn byte(&mut self, want: u8) -> Option<()> {
        (self.next() == Some(want)).then_some(())
    }
    /// Between `min_len` and `max_len` digits whose value lies in `lo..=hi`.
    fn number(&mut self, min_len: usize, max_len: usize, lo: u32, hi: u32) -> Option<u32> {
        let start = self.i;
        while self.i - start < max_len && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        if digits.len() < min_len {
            return None;
        }
        let value = digits
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        (lo..=hi).contains(&value).then_some(value)
    }
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`. Such
/// strings are read as strings but quoted on output for YAML 1.1 readers.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i - start < 2 && b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [t, _] => (b'0'..=b'5').contains(t),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}
