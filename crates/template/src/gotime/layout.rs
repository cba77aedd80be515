//! Go's reference layouts: splitting a layout into elements, and formatting.

use super::Time;

/// How a numeric zone offset element is written (`-0700`, `Z07:00:00`, `-07`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OffsetStyle {
    /// ISO 8601 `Z…` form: `Z` for UTC.
    pub iso: bool,
    /// A colon between the fields.
    pub colon: bool,
    /// Hours only (`-07`).
    pub short: bool,
    /// Seconds too (`-070000`).
    pub seconds: bool,
}

/// One layout element (Go's `std*` constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    /// `MST`.
    Tz,
    Offset(OffsetStyle),
    /// `.000` (`trim` false) or `.999` (`trim` true) with `digits` digits after the
    /// separator `sep` (`.` or `,`).
    Frac {
        trim: bool,
        digits: usize,
        sep: u8,
    },
}

pub(super) const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(super) const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A layout split at its first element: text before it, the element and its spelling,
/// and the rest.
pub(super) struct Chunk<'a> {
    pub prefix: &'a str,
    pub std: Option<(Std, &'a str)>,
    pub suffix: &'a str,
}

const fn offset(iso: bool, colon: bool, short: bool, seconds: bool) -> Std {
    Std::Offset(OffsetStyle {
        iso,
        colon,
        short,
        seconds,
    })
}

/// The numeric offset spellings after `-` or `Z`, longest first as Go tries them.
const OFFSETS: [(&str, bool, bool, bool); 5] = [
    ("070000", false, false, true),
    ("07:00:00", true, false, true),
    ("0700", false, false, false),
    ("07:00", true, false, false),
    ("07", false, true, false),
];

/// Go's `nextStdChunk`.
pub(super) fn next_chunk(layout: &str) -> Chunk<'_> {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let lower_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if at(i, "Jan") && !lower_at(i + 3) => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") && !lower_at(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::Tz, 3)),
            b'0' if (b'1'..=b'6').contains(b.get(i + 1).unwrap_or(&0)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(b[i + 1] - b'1')];
                Some((std, 2))
            }
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            // `_2006` is a literal underscore before a year.
            b'_' if at(i, "_2006") => {
                return chunk(layout, i + 1, Std::LongYear, 4);
            }
            b'_' if at(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::PM, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm, 2)),
            c @ (b'-' | b'Z') => OFFSETS.iter().find_map(|(s, colon, short, seconds)| {
                at(i + 1, s).then(|| (offset(c == b'Z', *colon, *short, *seconds), s.len() + 1))
            }),
            sep @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let end = (i + 1..b.len()).find(|&j| b[j] != ch).unwrap_or(b.len());
                // Only a run of digits that ends the number is a fractional second.
                (!digit_at(end)).then(|| {
                    let std = Std::Frac {
                        trim: ch == b'9',
                        digits: end - i - 1,
                        sep,
                    };
                    (std, end - i)
                })
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return chunk(layout, i, std, len);
        }
    }
    Chunk {
        prefix: layout,
        std: None,
        suffix: "",
    }
}

fn chunk(layout: &str, at: usize, std: Std, len: usize) -> Chunk<'_> {
    Chunk {
        prefix: &layout[..at],
        std: Some((std, &layout[at..at + len])),
        suffix: &layout[at + len..],
    }
}

/// Go's `appendInt`: `x` zero-padded to `width` digits, sign first.
fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", x.unsigned_abs()));
}

/// Go's `Time.Format`.
pub(super) fn format(t: &Time, layout: &str) -> String {
    let (c, offset, abbrev) = t.local();
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let Chunk {
            prefix,
            std,
            suffix,
        } = next_chunk(rest);
        out.push_str(prefix);
        let Some((std, _)) = std else { break };
        rest = suffix;
        match std {
            Std::Year => push_int(&mut out, c.year.abs() % 100, 2),
            Std::LongYear => push_int(&mut out, c.year, 4),
            Std::Month => out.push_str(&LONG_MONTHS[(c.month - 1) as usize][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[(c.month - 1) as usize]),
            Std::NumMonth => push_int(&mut out, c.month, 0),
            Std::ZeroMonth => push_int(&mut out, c.month, 2),
            Std::WeekDay => out.push_str(&LONG_DAYS[c.weekday as usize][..3]),
            Std::LongWeekDay => out.push_str(LONG_DAYS[c.weekday as usize]),
            Std::Day => push_int(&mut out, c.day, 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                push_int(&mut out, c.day, 0);
            }
            Std::ZeroDay => push_int(&mut out, c.day, 2),
            Std::UnderYearDay => {
                let yday = c.year_day();
                let pad = usize::from(yday < 100) + usize::from(yday < 10);
                out.push_str(&" ".repeat(pad));
                push_int(&mut out, yday, 0);
            }
            Std::ZeroYearDay => push_int(&mut out, c.year_day(), 3),
            Std::Hour => push_int(&mut out, c.hour, 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                push_int(&mut out, h, if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => push_int(&mut out, c.minute, 0),
            Std::ZeroMinute => push_int(&mut out, c.minute, 2),
            Std::Second => push_int(&mut out, c.second, 0),
            Std::ZeroSecond => push_int(&mut out, c.second, 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Offset(style) => push_offset(&mut out, offset, style),
            Std::Tz if !abbrev.is_empty() => out.push_str(&abbrev),
            Std::Tz => push_offset(&mut out, offset, offset_style(false, false)),
            Std::Frac { trim, digits, sep } => push_frac(&mut out, c.nanos, trim, digits, sep),
        }
    }
    out
}

const fn offset_style(colon: bool, short: bool) -> OffsetStyle {
    OffsetStyle {
        iso: false,
        colon,
        short,
        seconds: false,
    }
}

fn push_offset(out: &mut String, offset: i32, style: OffsetStyle) {
    if offset == 0 && style.iso {
        out.push('Z');
        return;
    }
    let offset = i64::from(offset);
    out.push(if offset < 0 { '-' } else { '+' });
    let (minutes, secs) = ((offset / 60).abs(), offset.abs() % 60);
    push_int(out, minutes / 60, 2);
    if style.colon {
        out.push(':');
    }
    if !style.short {
        push_int(out, minutes % 60, 2);
    }
    if style.seconds {
        if style.colon {
            out.push(':');
        }
        push_int(out, secs, 2);
    }
}

/// Go's `formatNano`.
fn push_frac(out: &mut String, nanos: u32, trim: bool, digits: usize, sep: u8) {
    let all = format!("{nanos:09}");
    let mut n = digits.min(9);
    if trim {
        while n > 0 && all.as_bytes()[n - 1] == b'0' {
            n -= 1;
        }
        if n == 0 {
            return;
        }
    }
    out.push(char::from(sep));
    out.push_str(&all[..n]);
}

#[cfg(test)]
mod tests {
    use super::super::{Time, Zone};

    fn t(secs: i64, nanos: i64) -> Time {
        Time::from_unix(secs, nanos, Zone::Utc)
    }

    #[test]
    fn formats_every_element() {
        let x = t(1_700_000_000, 123_456_789);
        let cases = [
            ("2006-01-02T15:04:05Z07:00", "2023-11-14T22:13:20Z"),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Tue Nov 14 22:13:20 UTC 2023",
            ),
            (
                "Monday, January 2 06 3:4:5 PM pm",
                "Tuesday, November 14 23 10:13:20 PM pm",
            ),
            (
                "03 002 __2 -0700 -07:00 -07 -070000 -07:00:00",
                "10 318 318 +0000 +00:00 +00 +000000 +00:00:00",
            ),
            (
                ".000|.999|,000000|.999999999|.0",
                ".123|.123|,123456|.123456789|.1",
            ),
            ("05.00012", "20.001114"),
            ("_2006 Janet Monx Jan.", "_2023 Janet Monx Nov."),
        ];
        for (layout, want) in cases {
            assert_eq!(x.format(layout), want, "{layout}");
        }
        let whole = t(1_700_000_000, 0);
        assert_eq!(whole.format("05.999|05.000"), "20|20.000");
        assert_eq!(
            Time::zero().format("2006-01-02 15:04:05.999999999 -0700 MST"),
            "0001-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(t(0, 0).format("_2 __2 3PM"), " 1   1 12AM");
    }

    #[test]
    fn formats_zones() {
        let x = t(1_700_000_000, 0);
        let ny = x.with_zone(Zone::load("America/New_York", 0).expect("zone"));
        assert_eq!(
            ny.format("2006-01-02 15:04 MST Z07:00 -0700"),
            "2023-11-14 17:13 EST -05:00 -0500"
        );
        let fixed = x.with_zone(Zone::Fixed {
            name: "".into(),
            offset: 5 * 3600 + 1800 + 7,
        });
        assert_eq!(
            fixed.format("MST Z070000 -07:00:00 Z07"),
            "+0530 +053007 +05:30:07 +05"
        );
        assert!(Zone::load("america/new_york", 0).is_none());
        assert_eq!(x.with_zone(Zone::Local(0)).format("MST"), "UTC");
    }
}
