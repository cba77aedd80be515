//! Proleptic Gregorian calendar arithmetic on Unix seconds.

use crunch_gostd::time::civil::civil_from_days;
pub(super) use crunch_gostd::time::civil::{ZERO_UNIX, days_from_civil, days_in_month, is_leap};

const DAY: i64 = 86_400;

/// A wall clock reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Civil {
    pub year: i64,
    /// 1..=12.
    pub month: i64,
    /// 1..=31.
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub nanos: u32,
    /// 0 = Sunday.
    pub weekday: i64,
}

/// Days before the first of `month` in a non-leap year.
pub(super) fn days_before(month: i64) -> i64 {
    (1..month).map(|m| days_in_month(1, m)).sum()
}

impl Civil {
    /// The wall clock at `secs` seconds (already shifted by the zone offset).
    pub(super) fn from_unix(secs: i64, nanos: u32) -> Civil {
        let days = secs.div_euclid(DAY);
        let rem = secs.rem_euclid(DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            nanos,
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// Day of the year, 1..=366.
    pub(super) fn year_day(&self) -> i64 {
        let leap = i64::from(self.month > 2 && is_leap(self.year));
        days_before(self.month) + leap + self.day
    }
}

/// Unix seconds of a wall clock reading taken at UTC offset `offset`.
pub(super) fn to_unix(date: (i64, i64, i64), clock: (i64, i64, i64), offset: i32) -> i64 {
    let (year, month, day) = date;
    let (hour, minute, second) = clock;
    days_from_civil(year, month, day) * DAY + hour * 3600 + minute * 60 + second - i64::from(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        for days in [-719_162, -1, 0, 1, 19_675, 2_932_896] {
            let c = Civil::from_unix(days * DAY, 0);
            assert_eq!(days_from_civil(c.year, c.month, c.day), days);
        }
        let zero = Civil::from_unix(ZERO_UNIX, 0);
        assert_eq!(
            (zero.year, zero.month, zero.day, zero.weekday),
            (1, 1, 1, 1)
        );
        let c = Civil::from_unix(1_700_000_000, 0);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!((c.weekday, c.year_day()), (2, 318));
    }
}
