//! Proleptic Gregorian calendar arithmetic on Unix seconds.

/// Unix seconds of Go's zero time, 0001-01-01T00:00:00Z.
pub(super) const ZERO_UNIX: i64 = -62_135_596_800;

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

/// Days since 1970-01-01 of a date (Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// True for leap years.
pub(super) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` of `year`.
pub(super) fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days before the first of `month` in a non-leap year.
pub(super) fn days_before(month: i64) -> i64 {
    (1..month).map(|m| days_in(m, 1)).sum()
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
