//! Go's `time.ParseInLocation` with the local zone as location, and its errors.

use std::rc::Rc;

use super::civil::{days_before, days_in_month, is_leap, to_unix};
use super::layout::{Chunk, LONG_DAYS, LONG_MONTHS, OffsetStyle, Std, next_chunk};
use super::{Time, Zone};
use crunch_gostd::time::quote;

/// Go's `*time.ParseError` message.
fn parse_error(layout: &str, value: &str, elem: Option<(&str, &str)>, message: &str) -> String {
    match elem {
        Some((layout_elem, value_elem)) => format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(layout),
            quote(value_elem),
            quote(layout_elem)
        ),
        None => format!("parsing time {}{message}", quote(value)),
    }
}

/// Why one element failed.
enum Fail {
    /// The value does not match the element (`errBad`).
    Bad,
    /// A field is out of range (`hour`, `month`, …).
    Range(&'static str),
}

/// The fields parsed so far.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    am: bool,
    pm: bool,
    utc: bool,
    offset: Option<i32>,
    zone_name: String,
}

fn digit(s: &str, i: usize) -> bool {
    s.as_bytes().get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `getnum`: one or two digits (exactly two if `fixed`).
fn getnum(s: &str, fixed: bool) -> Result<(i64, &str), Fail> {
    if !digit(s, 0) {
        return Err(Fail::Bad);
    }
    let b = s.as_bytes();
    if !digit(s, 1) {
        if fixed {
            return Err(Fail::Bad);
        }
        return Ok((i64::from(b[0] - b'0'), &s[1..]));
    }
    Ok((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &s[2..],
    ))
}

/// Go's `getnum3`: one to three digits (exactly three if `fixed`).
fn getnum3(s: &str, fixed: bool) -> Result<(i64, &str), Fail> {
    let n = (0..3).take_while(|&i| digit(s, i)).count();
    if n == 0 || (fixed && n != 3) {
        return Err(Fail::Bad);
    }
    Ok((s[..n].parse().unwrap_or(0), &s[n..]))
}

/// Go's `atoi` (optional sign, decimal digits, nothing else).
fn atoi(s: &str) -> Result<i64, Fail> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Fail::Bad);
    }
    let n: i64 = digits.parse().map_err(|_| Fail::Bad)?;
    Ok(if neg { -n } else { n })
}

/// Go's `lookup`: a case-insensitive prefix from `names`.
fn lookup<'a>(names: &[&str], value: &'a str, short: bool) -> Result<(i64, &'a str), Fail> {
    for (i, name) in names.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if let Some(head) = value.get(..name.len())
            && head.eq_ignore_ascii_case(name)
        {
            return Ok((i as i64, &value[name.len()..]));
        }
    }
    Err(Fail::Bad)
}

/// Go's `skip`: matches the layout's literal text, any run of spaces matching any run.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Result<&'a str, ()> {
    while let Some(&p) = prefix.as_bytes().first() {
        if p == b' ' {
            if value.as_bytes().first().is_some_and(|&v| v != b' ') {
                return Err(());
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        if value.as_bytes().first() != Some(&p) {
            return Err(());
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

/// Go's `parseNanoseconds` of `value[..n]` (separator included).
fn nanoseconds(value: &str, n: usize) -> Result<i64, Fail> {
    if !matches!(value.as_bytes().first(), Some(b'.' | b',')) {
        return Err(Fail::Bad);
    }
    let n = n.min(10);
    let ns = atoi(value.get(1..n).ok_or(Fail::Bad)?)?;
    if ns < 0 {
        return Err(Fail::Range("fractional second"));
    }
    Ok(ns * 10i64.pow(u32::try_from(10 - n).unwrap_or(0)))
}

/// Go's `parseSignedOffset`: the length of `+h`/`-hh` (hours up to 12), 0 if none.
fn signed_offset_len(value: &str) -> usize {
    if !matches!(value.as_bytes().first(), Some(b'+' | b'-')) {
        return 0;
    }
    let digits = value[1..].bytes().take_while(u8::is_ascii_digit).count();
    match value[1..1 + digits].parse::<u64>() {
        Ok(x) if digits > 0 && x <= 12 => 1 + digits,
        _ => 0,
    }
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `value`.
fn zone_len(value: &str) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.starts_with("ChST") || value.starts_with("MeST") {
        return Some(4);
    }
    if let Some(rest) = value.strip_prefix("GMT") {
        return Some(3 + signed_offset_len(rest));
    }
    if value.starts_with(['+', '-']) {
        return Some(signed_offset_len(value)).filter(|&n| n > 0);
    }
    let b = value.as_bytes();
    let upper = (0..6)
        .take_while(|&i| b.get(i).is_some_and(u8::is_ascii_uppercase))
        .count();
    match upper {
        5 if b[4] == b'T' => Some(5),
        4 if b[3] == b'T' || value.starts_with("WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// Parses a numeric zone offset in `style` (after Go's `Z` check).
fn parse_offset(value: &str, style: OffsetStyle) -> Result<(i32, &str), Fail> {
    let b = value.as_bytes();
    let (len, colons, fields): (usize, &[usize], [Option<usize>; 3]) = match style {
        OffsetStyle {
            colon: true,
            seconds: false,
            ..
        } => (6, &[3], [Some(1), Some(4), None]),
        OffsetStyle { short: true, .. } => (3, &[], [Some(1), None, None]),
        OffsetStyle {
            colon: true,
            seconds: true,
            ..
        } => (9, &[3, 6], [Some(1), Some(4), Some(7)]),
        OffsetStyle { seconds: true, .. } => (7, &[], [Some(1), Some(3), Some(5)]),
        _ => (5, &[], [Some(1), Some(3), None]),
    };
    if b.len() < len || colons.iter().any(|&i| b[i] != b':') {
        return Err(Fail::Bad);
    }
    let mut nums = [0i64; 3];
    for (n, at) in nums.iter_mut().zip(fields) {
        if let Some(at) = at {
            *n = getnum(value.get(at..at + 2).ok_or(Fail::Bad)?, true)?.0;
        }
    }
    let [hr, mm, ss] = nums;
    let mut range = None;
    if hr > 24 {
        range = Some("time zone offset hour");
    }
    if mm > 60 {
        range = Some("time zone offset minute");
    }
    if ss > 60 {
        range = Some("time zone offset second");
    }
    // Go reports a range error before a bad sign.
    if let Some(r) = range {
        return Err(Fail::Range(r));
    }
    let mut offset = i32::try_from((hr * 60 + mm) * 60 + ss).unwrap_or(0);
    match b[0] {
        b'+' => {}
        b'-' => offset = -offset,
        _ => return Err(Fail::Bad),
    }
    Ok((offset, &value[len..]))
}

/// Parses one element; returns the rest of the value.
fn element<'a>(
    f: &mut Fields,
    std: Std,
    value: &'a str,
    layout_rest: &str,
) -> Result<&'a str, Fail> {
    let range = |bad: bool, what| if bad { Err(Fail::Range(what)) } else { Ok(()) };
    let rest = match std {
        Std::Year => {
            let p = value.get(..2).ok_or(Fail::Bad)?;
            let y = atoi(p)?;
            f.year = if y >= 69 { y + 1900 } else { y + 2000 };
            &value[2..]
        }
        Std::LongYear => {
            if !digit(value, 0) {
                return Err(Fail::Bad);
            }
            f.year = atoi(value.get(..4).ok_or(Fail::Bad)?)?;
            &value[4..]
        }
        Std::Month | Std::LongMonth => {
            let (m, rest) = lookup(&LONG_MONTHS, value, std == Std::Month)?;
            f.month = m + 1;
            rest
        }
        Std::NumMonth | Std::ZeroMonth => {
            let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
            f.month = m;
            range(!(1..=12).contains(&m), "month")?;
            rest
        }
        Std::WeekDay | Std::LongWeekDay => lookup(&LONG_DAYS, value, std == Std::WeekDay)?.1,
        Std::Day | Std::UnderDay | Std::ZeroDay => {
            let value = match std {
                Std::UnderDay => value.strip_prefix(' ').unwrap_or(value),
                _ => value,
            };
            let (d, rest) = getnum(value, std == Std::ZeroDay)?;
            f.day = d;
            rest
        }
        Std::UnderYearDay | Std::ZeroYearDay => {
            let mut value = value;
            if std == Std::UnderYearDay {
                for _ in 0..2 {
                    value = value.strip_prefix(' ').unwrap_or(value);
                }
            }
            let (d, rest) = getnum3(value, std == Std::ZeroYearDay)?;
            f.yday = d;
            rest
        }
        Std::Hour => {
            let (h, rest) = getnum(value, false)?;
            f.hour = h;
            range(h >= 24, "hour")?;
            rest
        }
        Std::Hour12 | Std::ZeroHour12 => {
            let (h, rest) = getnum(value, std == Std::ZeroHour12)?;
            f.hour = h;
            range(h > 12, "hour")?;
            rest
        }
        Std::Minute | Std::ZeroMinute => {
            let (m, rest) = getnum(value, std == Std::ZeroMinute)?;
            f.minute = m;
            range(m >= 60, "minute")?;
            rest
        }
        Std::Second | Std::ZeroSecond => {
            let (s, mut rest) = getnum(value, std == Std::ZeroSecond)?;
            f.second = s;
            range(s >= 60, "second")?;
            // A fractional second the layout does not spell out is still read.
            let next_is_frac = matches!(next_chunk(layout_rest).std, Some((Std::Frac { .. }, _)));
            if rest.len() >= 2 && rest.starts_with(['.', ',']) && digit(rest, 1) && !next_is_frac {
                let n = 2 + rest[2..].bytes().take_while(u8::is_ascii_digit).count();
                f.nanos = nanoseconds(rest, n)?;
                rest = &rest[n..];
            }
            rest
        }
        Std::PM | Std::Pm => {
            let p = value.get(..2).ok_or(Fail::Bad)?;
            let (am, pm) = if std == Std::PM {
                ("AM", "PM")
            } else {
                ("am", "pm")
            };
            if p == pm {
                f.pm = true;
            } else if p == am {
                f.am = true;
            } else {
                return Err(Fail::Bad);
            }
            &value[2..]
        }
        Std::Offset(style) => {
            if style.iso && value.starts_with('Z') {
                f.utc = true;
                &value[1..]
            } else {
                let (offset, rest) = parse_offset(value, style)?;
                f.offset = Some(offset);
                rest
            }
        }
        Std::Tz => {
            if let Some(rest) = value.strip_prefix("UTC") {
                f.utc = true;
                rest
            } else {
                let n = zone_len(value).ok_or(Fail::Bad)?;
                f.zone_name = value[..n].to_string();
                &value[n..]
            }
        }
        Std::Frac {
            trim: false,
            digits,
            ..
        } => {
            let n = 1 + digits;
            if value.len() < n {
                return Err(Fail::Bad);
            }
            f.nanos = nanoseconds(value, n)?;
            &value[n..]
        }
        Std::Frac { trim: true, .. } => {
            let b = value.as_bytes();
            if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                return Ok(value);
            }
            let n = 1 + value[1..].bytes().take_while(u8::is_ascii_digit).count();
            f.nanos = nanoseconds(value, n)?;
            &value[n..]
        }
    };
    Ok(rest)
}

/// Go's `time.ParseInLocation(layout, value, time.Local)`, with the local zone at UTC
/// offset `local`. The error is Go's message.
pub(crate) fn parse_in_local(layout: &str, value: &str, local: i32) -> Result<Time, String> {
    let mut f = Fields {
        year: 0,
        month: -1,
        day: -1,
        yday: -1,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        am: false,
        pm: false,
        utc: false,
        offset: None,
        zone_name: String::new(),
    };
    let (full_layout, full_value) = (layout, value);
    let (mut layout, mut value) = (layout, value);
    loop {
        let Chunk {
            prefix,
            std,
            suffix,
        } = next_chunk(layout);
        value = skip(value, prefix)
            .map_err(|()| parse_error(full_layout, full_value, Some((prefix, value)), ""))?;
        let Some((std, std_str)) = std else {
            if !value.is_empty() {
                let msg = format!(": extra text: {}", quote(value));
                return Err(parse_error(full_layout, full_value, None, &msg));
            }
            break;
        };
        layout = suffix;
        let hold = value;
        value = match element(&mut f, std, value, layout) {
            Ok(rest) => rest,
            Err(Fail::Bad) => {
                return Err(parse_error(
                    full_layout,
                    full_value,
                    Some((std_str, hold)),
                    "",
                ));
            }
            Err(Fail::Range(what)) => {
                let msg = format!(": {what} out of range");
                return Err(parse_error(full_layout, full_value, None, &msg));
            }
        };
    }
    if f.pm && f.hour < 12 {
        f.hour += 12;
    } else if f.am && f.hour == 12 {
        f.hour = 0;
    }
    let err = |msg: &str| parse_error(full_layout, full_value, None, msg);
    if f.yday >= 0 {
        let (month, day) =
            year_day(f.year, f.yday).ok_or_else(|| err(": day-of-year out of range"))?;
        if f.month >= 0 && f.month != month {
            return Err(err(": day-of-year does not match month"));
        }
        if f.day >= 0 && f.day != day {
            return Err(err(": day-of-year does not match day"));
        }
        (f.month, f.day) = (month, day);
    } else {
        f.month = f.month.max(1);
        if f.day < 0 {
            f.day = 1;
        }
    }
    if f.day < 1 || f.day > days_in_month(f.year, f.month) {
        return Err(err(": day out of range"));
    }
    let date = (f.year, f.month, f.day);
    let clock = (f.hour, f.minute, f.second);
    let at = |zone: Zone, offset: i32| Time::from_unix(to_unix(date, clock, offset), f.nanos, zone);
    if f.utc {
        return Ok(at(Zone::Utc, 0));
    }
    let local_name = if local == 0 { "UTC" } else { "" };
    if let Some(offset) = f.offset {
        if offset == local && (f.zone_name.is_empty() || f.zone_name == local_name) {
            return Ok(at(Zone::Local(local), offset));
        }
        let name = Rc::from(f.zone_name.as_str());
        return Ok(at(Zone::Fixed { name, offset }, offset));
    }
    if !f.zone_name.is_empty() {
        if f.zone_name == local_name {
            return Ok(at(Zone::Local(local), local));
        }
        // An unknown abbreviation gets offset 0, except Go's `GMT+h`, whose offset Go
        // attaches without shifting the instant (read as UTC).
        let offset = f
            .zone_name
            .strip_prefix("GMT")
            .and_then(|h| atoi(h).ok())
            .map_or(0, |h| i32::try_from(h * 3600).unwrap_or(0));
        let name = Rc::from(f.zone_name.as_str());
        return Ok(at(Zone::Fixed { name, offset }, 0));
    }
    Ok(at(Zone::Local(local), local))
}

/// Month and day of day-of-year `yday` (Go's conversion), `None` when out of range.
fn year_day(year: i64, mut yday: i64) -> Option<(i64, i64)> {
    if is_leap(year) {
        if yday == 31 + 29 {
            return Some((2, 29));
        } else if yday > 31 + 29 {
            yday -= 1;
        }
    }
    if !(1..=365).contains(&yday) {
        return None;
    }
    let month = (1..=12).rev().find(|&m| days_before(m) < yday).unwrap_or(1);
    Some((month, yday - days_before(month)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(layout: &str, value: &str) -> Result<String, String> {
        parse_in_local(layout, value, 0)
            .map(|t| t.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }

    #[test]
    fn parses_layouts() {
        assert_eq!(
            p("2006-01-02", "2024-02-29").as_deref(),
            Ok("2024-02-29 00:00:00 +0000 UTC")
        );
        assert_eq!(
            p("2006-01-02T15:04:05Z07:00", "2023-05-06T07:08:09.5+02:00").as_deref(),
            Ok("2023-05-06 07:08:09.5 +0200 +0200")
        );
        assert_eq!(
            p("Jan _2 3PM MST", "feb  3 4PM PST").as_deref(),
            Ok("0000-02-03 16:00:00 +0000 PST")
        );
        assert_eq!(
            p("2006 002", "2024 060").as_deref(),
            Ok("2024-02-29 00:00:00 +0000 UTC")
        );
    }

    #[test]
    fn reports_errors_as_go() {
        assert_eq!(
            p("2006-01-02", "2024-13-01").unwrap_err(),
            "parsing time \"2024-13-01\": month out of range"
        );
        assert_eq!(
            p("2006-01-02", "24-01-01").unwrap_err(),
            "parsing time \"24-01-01\" as \"2006-01-02\": cannot parse \"24-01-01\" as \"2006\""
        );
        assert_eq!(
            p("2006-01-02", "2023-02-29").unwrap_err(),
            "parsing time \"2023-02-29\": day out of range"
        );
        assert_eq!(
            p("2006", "2023x").unwrap_err(),
            "parsing time \"2023x\": extra text: \"x\""
        );
    }
}
