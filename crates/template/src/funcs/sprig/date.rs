//! Sprig's date functions over Go's `time` ([`crate::gotime`]). The clock is
//! the build's ([`crate::Options::now`]).

use super::conv::s;
use crate::Value;
use crate::funcs::{Context, FuncMap, Signature, Type};
use crate::gotime::{Time, Zone, format_duration, parse_duration, parse_in_local};

const S: Type = Type::String;
const A: Type = Type::Any;
const T: Type = Type::Named("time.Time");

/// The build's clock as Go's `time.Now()` (in the local zone).
fn now(ctx: &Context<'_>) -> Time {
    let clock = ctx.now();
    Time::from_unix(
        clock.unix_seconds,
        i64::from(clock.nanos),
        Zone::Local(clock.utc_offset_seconds),
    )
}

/// The `time.Time` of a checked `time.Time` parameter.
fn time_arg(v: &Value) -> Time {
    Time::from_value(v).cloned().unwrap_or_else(Time::zero)
}

/// Sprig's `dateInZone`: a time, or int/int64 Unix seconds; anything else is now.
fn date_in_zone(ctx: &Context<'_>, layout: &str, date: &Value, zone: &str) -> String {
    let local = ctx.now().utc_offset_seconds;
    let t = match date {
        Value::Int(secs) | Value::Int64(secs) => Time::from_unix(*secs, 0, Zone::Local(local)),
        other => Time::from_value(other).cloned().unwrap_or_else(|| now(ctx)),
    };
    // An unknown zone falls back to UTC, as Sprig ignores the load error.
    let zone = Zone::load(zone, local).unwrap_or(Zone::Utc);
    t.with_zone(zone).format(layout)
}

/// Go's `Duration.Round(time.Second)`, saturating at the int64 range.
fn round_to_second(d: i64) -> i64 {
    const SEC: i64 = 1_000_000_000;
    let r = (d % SEC).abs();
    let half = r + r < SEC;
    if d < 0 {
        if half {
            d + r
        } else {
            d.checked_sub(SEC - r).unwrap_or(i64::MIN)
        }
    } else if half {
        d - r
    } else {
        d.checked_add(SEC - r).unwrap_or(i64::MAX)
    }
}

/// Sprig's `durationRound`: the largest whole unit (y, mo, d, h, m, s) strictly below.
fn duration_round(d: i64) -> String {
    const SEC: u64 = 1_000_000_000;
    const UNITS: [(u64, &str); 6] = [
        (SEC * 3600 * 24 * 365, "y"),
        (SEC * 3600 * 24 * 30, "mo"),
        (SEC * 3600 * 24, "d"),
        (SEC * 3600, "h"),
        (SEC * 60, "m"),
        (SEC, "s"),
    ];
    let u = d.unsigned_abs();
    UNITS
        .iter()
        .find(|(unit, _)| u > *unit)
        .map_or_else(|| "0s".into(), |(unit, name)| format!("{}{name}", u / unit))
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("now", Signature::new(&[]), |ctx, _| {
        Ok(now(ctx).into_value())
    });
    m.insert("date", Signature::new(&[S, A]), |ctx, a| {
        Ok(date_in_zone(ctx, s(&a[0]), &a[1], "Local").into())
    });
    for name in ["dateInZone", "date_in_zone"] {
        m.insert(name, Signature::new(&[S, A, S]), |ctx, a| {
            Ok(date_in_zone(ctx, s(&a[0]), &a[1], s(&a[2])).into())
        });
    }
    m.insert("htmlDate", Signature::new(&[A]), |ctx, a| {
        Ok(date_in_zone(ctx, "2006-01-02", &a[0], "Local").into())
    });
    m.insert("htmlDateInZone", Signature::new(&[A, S]), |ctx, a| {
        Ok(date_in_zone(ctx, "2006-01-02", &a[0], s(&a[1])).into())
    });
    for name in ["dateModify", "date_modify"] {
        m.insert(name, Signature::new(&[S, T]), |_, a| {
            let t = time_arg(&a[1]);
            Ok(match parse_duration(s(&a[0])) {
                Ok(d) => t.add_nanos(d),
                Err(_) => t,
            }
            .into_value())
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        m.insert(name, Signature::new(&[S, T]), |_, a| {
            let d = parse_duration(s(&a[0]))?;
            Ok(time_arg(&a[1]).add_nanos(d).into_value())
        });
    }
    m.insert("toDate", Signature::new(&[S, S]), |ctx, a| {
        let local = ctx.now().utc_offset_seconds;
        let t = parse_in_local(s(&a[0]), s(&a[1]), local).unwrap_or_else(|_| Time::zero());
        Ok(t.into_value())
    });
    m.insert("mustToDate", Signature::new(&[S, S]), |ctx, a| {
        let local = ctx.now().utc_offset_seconds;
        Ok(parse_in_local(s(&a[0]), s(&a[1]), local)?.into_value())
    });
    m.insert("unixEpoch", Signature::new(&[T]), |_, a| {
        Ok(time_arg(&a[0]).unix().to_string().into())
    });
    // Sprig's `ago` takes times and int/int64 seconds (not int32); anything else is now.
    m.insert("ago", Signature::new(&[A]), |ctx, a| {
        let current = now(ctx);
        let t = match &a[0] {
            Value::Int(secs) | Value::Int64(secs) => Time::from_unix(*secs, 0, Zone::Utc),
            other => Time::from_value(other)
                .cloned()
                .unwrap_or_else(|| current.clone()),
        };
        Ok(format_duration(round_to_second(current.sub(&t))).into())
    });
    // Strings are Go durations (invalid ones are 0), int64s nanoseconds, times the age.
    m.insert("durationRound", Signature::new(&[A]), |ctx, a| {
        let d = match &a[0] {
            Value::String(text) => parse_duration(text).unwrap_or(0),
            Value::Int64(n) => *n,
            other => Time::from_value(other).map_or(0, |t| now(ctx).sub(t)),
        };
        Ok(duration_round(d).into())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_go() {
        assert_eq!(round_to_second(1_499_999_999), 1_000_000_000);
        assert_eq!(round_to_second(1_500_000_000), 2_000_000_000);
        assert_eq!(round_to_second(-1_500_000_000), -2_000_000_000);
        assert_eq!(round_to_second(i64::MAX), i64::MAX);
        assert_eq!(duration_round(3_600_000_000_000), "60m");
        assert_eq!(duration_round(-90_000_000_000), "1m");
        assert_eq!(duration_round(1_000_000_000), "0s");
    }
}
