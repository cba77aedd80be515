//! The `format` assertions `values.schema.json` validation applies for drafts 4 to 7
//! (Helm's JSON Schema library asserts formats only there), with the library's
//! messages. Formats not listed here are not checked.

use crunch_gostd::strconv::{quote, quote_rune};
use crunch_gostd::time;

/// Checks `s` against `format`; `Some(reason)` when it does not conform, `None` when it
/// does or the format is not checked.
pub(crate) fn check(format: &str, s: &str) -> Option<String> {
    match format {
        "email" => email(s),
        "hostname" => hostname(s),
        "ipv4" => ipv4(s),
        "uuid" => uuid(s),
        "date" => date(s),
        _ => None,
    }
}

/// Go's `time.Parse("2006-01-02", s)` error text.
fn date(s: &str) -> Option<String> {
    const LAYOUT: &str = "2006-01-02";
    let q = time::quote;
    let cannot = |rest: &str, elem: &str| {
        Some(format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(s),
            q(LAYOUT),
            q(rest),
            q(elem)
        ))
    };
    let out_of_range = |what: &str| Some(format!("parsing time {}: {what} out of range", q(s)));
    let digits = |rest: &str, n: usize| -> Option<u32> {
        let head = rest.get(..n)?;
        head.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| head.parse().ok())
            .flatten()
    };
    let Some(year) = digits(s, 4) else {
        return cannot(s, "2006");
    };
    let rest = &s[4..];
    let Some(rest) = rest.strip_prefix('-') else {
        return cannot(rest, "-");
    };
    let Some(month) = digits(rest, 2) else {
        return cannot(rest, "01");
    };
    if !(1..=12).contains(&month) {
        return out_of_range("month");
    }
    let rest = &rest[2..];
    let Some(rest) = rest.strip_prefix('-') else {
        return cannot(rest, "-");
    };
    let Some(day) = digits(rest, 2) else {
        return cannot(rest, "02");
    };
    let rest = &rest[2..];
    if !rest.is_empty() {
        return Some(format!("parsing time {}: extra text: {}", q(s), q(rest)));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return out_of_range("day");
    }
    None
}

fn uuid(s: &str) -> Option<String> {
    const LENGTHS: [usize; 5] = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != LENGTHS.len() {
        return Some(format!("must have {} elements", LENGTHS.len()));
    }
    for (i, (group, want)) in groups.iter().zip(LENGTHS).enumerate() {
        if group.len() != want {
            return Some(format!("element {} must be {want} characters long", i + 1));
        }
        if let Some(c) = group.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Some(format!("non-hex character {}", quote_rune(c)));
        }
    }
    None
}

fn ipv4(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Some("expected four decimals".into());
    }
    for group in groups {
        if group.len() > 1 && group.starts_with('0') {
            return Some("leading zeros".into());
        }
        match group.parse::<i64>() {
            Err(_) => {
                return Some(format!(
                    "strconv.Atoi: parsing {}: invalid syntax",
                    quote(group)
                ));
            }
            Ok(n) if !(0..=255).contains(&n) => {
                return Some("decimal must be between 0 and 255".into());
            }
            Ok(_) => {}
        }
    }
    None
}

fn hostname(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Some("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Some("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Some("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!("invalid character {}", quote_rune(c)));
        }
    }
    None
}

fn email(s: &str) -> Option<String> {
    if s.len() > 254 {
        return Some("more than 255 characters long".into());
    }
    let Some(at) = s.rfind('@') else {
        return Some("missing @".into());
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Some("local part more than 64 characters long".into());
    }
    if local.len() > 1 && local.starts_with('"') {
        // Byte-wise, as Go slices the string.
        let inner = &local.as_bytes()[1..local.len() - 1];
        if inner.contains(&b'\\') || inner.contains(&b'"') {
            return Some("backslash and quote are not allowed within quoted local part".into());
        }
    } else {
        if local.starts_with('.') {
            return Some("starts with dot".into());
        }
        if local.ends_with('.') {
            return Some("ends with dot".into());
        }
        if local.contains("..") {
            return Some("consecutive dots".into());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(c);
        if let Some(c) = local.chars().find(|c| !allowed(*c)) {
            return Some(format!("invalid character {}", quote_rune(c)));
        }
    }
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        // IPv6 literals are not checked (their messages come from Go's address parser).
        if inner.starts_with("IPv6:") {
            return None;
        }
        return ipv4(inner).map(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map(|e| format!("invalid domain: {e}"))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn formats_like_the_library() {
        assert_eq!(check("email", "nope"), Some("missing @".into()));
        assert_eq!(check("email", "a@b.c"), None);
        assert_eq!(
            check("ipv4", "1.2.3"),
            Some("expected four decimals".into())
        );
        assert_eq!(
            check("ipv4", "1.2.3.256"),
            Some("decimal must be between 0 and 255".into())
        );
        assert_eq!(
            check("hostname", "-a.b"),
            Some("label starts with hyphen".into())
        );
        assert_eq!(check("uuid", "x"), Some("must have 5 elements".into()));
        assert_eq!(check("date", "2024-02-29"), None);
        assert_eq!(check("date-time", "whatever"), None);
    }
}
