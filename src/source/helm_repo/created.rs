//! Index timestamps (`created`, `generated`) as Go's `time.Time` reads them from JSON:
//! strict RFC 3339, compared as instants.

use std::fmt;

use crate::gostd::time::civil::{ZERO_UNIX, civil_from_days, days_from_civil, days_in_month};

/// An instant read from an index, ordered as Go's `Time.Before` orders instants (the
/// offset it was written with plays no part). The default is Go's zero `time.Time`
/// (`0001-01-01T00:00:00Z`), which an entry without `created` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Created {
    unix_seconds: i64,
    nanos: u32,
}

impl Default for Created {
    fn default() -> Created {
        Created {
            unix_seconds: ZERO_UNIX,
            nanos: 0,
        }
    }
}

impl Created {
    /// Reads `text` as Go's `time.Time.UnmarshalJSON` reads a JSON string, which is
    /// `time.Parse(time.RFC3339, text)`: `YYYY-MM-DDTHH:MM:SS`, optional `.` or `,` and
    /// fraction digits (nanoseconds, digits past the ninth ignored), then `Z` or
    /// `±HH:MM`. Go is lenient where its layout is: the hour may have one digit, and an
    /// offset may reach 24 hours or 60 minutes.
    ///
    /// # Errors
    /// Anything else, worded as Go's `time.ParseError`.
    pub fn parse_rfc3339(text: &str) -> Result<Created, String> {
        parse(text)
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// Nanoseconds within the second.
    #[must_use]
    pub fn nanos(&self) -> u32 {
        self.nanos
    }
}

impl fmt::Display for Created {
    /// RFC 3339 in UTC, with the fraction when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.unix_seconds.div_euclid(86_400);
        let of_day = self.unix_seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )?;
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";

/// Go's `time.Parse` with the RFC 3339 layout, element by element.
fn parse(text: &str) -> Result<Created, String> {
    let quote = crate::gostd::time::quote;
    // "cannot parse REST as ELEMENT", Go's message for a value that does not fit.
    let cannot = |rest: &str, element: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(text),
            quote(LAYOUT),
            quote(rest),
            quote(element)
        )
    };
    let out_of_range = |what: &str| format!("parsing time {}: {what} out of range", quote(text));
    let mut rest = text;
    let literal = |rest: &mut &str, expected: char| {
        let Some(after) = rest.strip_prefix(expected) else {
            return Err(cannot(rest, &expected.to_string()));
        };
        *rest = after;
        Ok(())
    };
    let year_digits = rest
        .get(..4)
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()));
    let year: i64 = year_digits
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| cannot(rest, "2006"))?;
    rest = &rest[4..];
    literal(&mut rest, '-')?;
    let month = two_digits(&mut rest, true).ok_or_else(|| cannot(rest, "01"))?;
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    literal(&mut rest, '-')?;
    let day = two_digits(&mut rest, true).ok_or_else(|| cannot(rest, "02"))?;
    literal(&mut rest, 'T')?;
    let hour = two_digits(&mut rest, false).ok_or_else(|| cannot(rest, "15"))?;
    if hour >= 24 {
        return Err(out_of_range("hour"));
    }
    literal(&mut rest, ':')?;
    let minute = two_digits(&mut rest, true).ok_or_else(|| cannot(rest, "04"))?;
    if minute >= 60 {
        return Err(out_of_range("minute"));
    }
    literal(&mut rest, ':')?;
    let second = two_digits(&mut rest, true).ok_or_else(|| cannot(rest, "05"))?;
    if second >= 60 {
        return Err(out_of_range("second"));
    }
    let mut nanos = 0u32;
    let bytes = rest.as_bytes();
    if bytes.len() >= 2 && matches!(bytes[0], b'.' | b',') && bytes[1].is_ascii_digit() {
        let digits = bytes[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        for place in 0..9 {
            let digit = (place < digits).then(|| u32::from(bytes[1 + place] - b'0'));
            nanos = nanos * 10 + digit.unwrap_or(0);
        }
        rest = &rest[1 + digits..];
    }
    let offset = if let Some(after) = rest.strip_prefix('Z') {
        rest = after;
        0
    } else {
        let zone = rest.as_bytes();
        let (sign, hours, minutes) = match zone {
            [sign, h1, h2, b':', m1, m2, ..] => (*sign, [*h1, *h2], [*m1, *m2]),
            _ => return Err(cannot(rest, "Z07:00")),
        };
        let number = |pair: [u8; 2]| {
            pair.iter()
                .all(u8::is_ascii_digit)
                .then(|| i64::from(pair[0] - b'0') * 10 + i64::from(pair[1] - b'0'))
        };
        let (Some(hours), Some(minutes)) = (number(hours), number(minutes)) else {
            return Err(cannot(rest, "Z07:00"));
        };
        // Go accepts 24 hours and 60 minutes ("some people do write" them); when both
        // are too large it names the minutes, whose check comes second.
        if minutes > 60 {
            return Err(out_of_range("time zone offset minute"));
        }
        if hours > 24 {
            return Err(out_of_range("time zone offset hour"));
        }
        let east = (hours * 60 + minutes) * 60;
        let east = match sign {
            b'+' => east,
            b'-' => -east,
            _ => return Err(cannot(rest, "Z07:00")),
        };
        rest = &rest[6..];
        east
    };
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            quote(text),
            quote(rest)
        ));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(out_of_range("day"));
    }
    let days = days_from_civil(year, month, day);
    Ok(Created {
        unix_seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    })
}

/// Go's `getnum`: two digits, or one when not `fixed` and no second digit follows.
fn two_digits(rest: &mut &str, fixed: bool) -> Option<i64> {
    let bytes = rest.as_bytes();
    let first = bytes.first().filter(|b| b.is_ascii_digit())?;
    match bytes.get(1).filter(|b| b.is_ascii_digit()) {
        Some(second) => {
            *rest = &rest[2..];
            Some(i64::from(first - b'0') * 10 + i64::from(second - b'0'))
        }
        None if fixed => None,
        None => {
            *rest = &rest[1..];
            Some(i64::from(first - b'0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Created {
        Created::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn instants_compare_across_offsets() {
        assert_eq!(at("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(at("2026-01-01T00:00:00Z").unix_seconds(), 1_767_225_600);
        assert_eq!(at("2026-01-01T02:00:00+02:00"), at("2026-01-01T00:00:00Z"));
        assert!(at("2021-06-23T17:44:55.380609-07:00") > at("2021-06-24T00:44:55.38Z"));
        assert!(at("2021-06-23T17:44:55.380609-07:00") < at("2021-06-24T00:44:55.3807Z"));
        let nanos = at("2016-10-06T16:23:20.499814565-06:00");
        assert_eq!(
            (nanos.unix_seconds(), nanos.nanos()),
            (1_475_792_600, 499_814_565)
        );
        // Digits past the ninth are dropped, not rounded.
        assert_eq!(at("2000-01-01T00:00:00.1234567899Z").nanos(), 123_456_789);
        assert_eq!(Created::default(), at("0001-01-01T00:00:00Z"));
        assert!(at("0000-12-31T23:59:59Z") < Created::default());
        assert_eq!(
            at("2024-02-29T12:00:00Z").to_string(),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(nanos.to_string(), "2016-10-06T22:23:20.499814565Z");
        assert_eq!(Created::default().to_string(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn reads_as_go_time_parse_reads() {
        // Go accepts these (its layout allows a one-digit hour, a comma, 24h/60m offsets).
        for (text, unix, nanos) in [
            ("2021-06-23T7:44:55Z", 1_624_434_295, 0),
            ("2021-06-23T17:44:55,5Z", 1_624_470_295, 500_000_000),
            ("2021-06-23T17:44:55+23:60", 1_624_383_895, 0),
            ("2021-06-23T17:44:55+24:00", 1_624_383_895, 0),
            ("2021-06-23T17:44:55-24:00", 1_624_556_695, 0),
            ("2021-06-23T17:44:55.5+01:00", 1_624_466_695, 500_000_000),
        ] {
            let got = at(text);
            assert_eq!((got.unix_seconds(), got.nanos()), (unix, nanos), "{text}");
        }
        // And refuses these, with its messages.
        for (text, message) in [
            (
                "2021-06-23T17:44:55+25:00",
                r#"parsing time "2021-06-23T17:44:55+25:00": time zone offset hour out of range"#,
            ),
            (
                "2021-06-23T17:44:55.123+99:99",
                r#"parsing time "2021-06-23T17:44:55.123+99:99": time zone offset minute out of range"#,
            ),
            (
                "2021-06-23t17:44:55Z",
                r#"parsing time "2021-06-23t17:44:55Z" as "2006-01-02T15:04:05Z07:00": cannot parse "t17:44:55Z" as "T""#,
            ),
            (
                "2021-06-23T17:44:55z",
                r#"parsing time "2021-06-23T17:44:55z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00""#,
            ),
            (
                "2021-06-23 17:44:55Z",
                r#"parsing time "2021-06-23 17:44:55Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 17:44:55Z" as "T""#,
            ),
            (
                "2021-02-29T00:00:00Z",
                r#"parsing time "2021-02-29T00:00:00Z": day out of range"#,
            ),
            (
                "2021-06-23T24:00:00Z",
                r#"parsing time "2021-06-23T24:00:00Z": hour out of range"#,
            ),
            (
                "2021-06-23T17:44:60Z",
                r#"parsing time "2021-06-23T17:44:60Z": second out of range"#,
            ),
            (
                "2021-06-23T17:44:55+0200",
                r#"parsing time "2021-06-23T17:44:55+0200" as "2006-01-02T15:04:05Z07:00": cannot parse "+0200" as "Z07:00""#,
            ),
            (
                "12021-06-23T17:44:55Z",
                r#"parsing time "12021-06-23T17:44:55Z" as "2006-01-02T15:04:05Z07:00": cannot parse "1-06-23T17:44:55Z" as "-""#,
            ),
            (
                "2021-06-23T17:44:55",
                r#"parsing time "2021-06-23T17:44:55" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#,
            ),
            (
                "+2021-06-23T17:44:55Z",
                r#"parsing time "+2021-06-23T17:44:55Z" as "2006-01-02T15:04:05Z07:00": cannot parse "+2021-06-23T17:44:55Z" as "2006""#,
            ),
            (
                "2021-06-23T17:44:55.Z",
                r#"parsing time "2021-06-23T17:44:55.Z" as "2006-01-02T15:04:05Z07:00": cannot parse ".Z" as "Z07:00""#,
            ),
            (
                "2021-06-23T17:44:55Zx",
                r#"parsing time "2021-06-23T17:44:55Zx": extra text: "x""#,
            ),
            (
                "2021-13-01T00:00:00Z",
                r#"parsing time "2021-13-01T00:00:00Z": month out of range"#,
            ),
        ] {
            assert_eq!(
                Created::parse_rfc3339(text),
                Err(message.to_string()),
                "{text}"
            );
        }
    }
}
