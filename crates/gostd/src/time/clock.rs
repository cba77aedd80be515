//! The clock a program reads in place of Go's `time.Now` and `time.Local`: fixed, so that
//! what templates print of "now" is an input, not a reading of the machine.

/// The build's clock: an instant and the zone Go's `time.Local` stands for.
///
/// `Clock::default()` is the Unix epoch in UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// Nanoseconds within the second (values of a second or more carry into
    /// `unix_seconds`).
    pub nanos: u32,
    /// Seconds east of UTC of Go's `Local` zone, which `now`, `date`, `toDate`, … use.
    /// At 0 `Local` prints as `UTC`, as Go's does on a machine set to UTC; at any other
    /// offset it has no abbreviation and prints the offset (`+0200`).
    pub utc_offset_seconds: i32,
}

impl Clock {
    /// The instant of an RFC 3339 timestamp (`2026-01-01T00:00:00Z`,
    /// `2026-01-01T09:30:00.5+02:00`); its offset becomes Go's `Local` zone, so `now`
    /// prints the wall time as written.
    ///
    /// # Errors
    ///
    /// Text that is not an RFC 3339 timestamp with an offset (`Z` or `±HH:MM`).
    pub fn parse_rfc3339(text: &str) -> Result<Clock, String> {
        let bad = |why: &dyn std::fmt::Display| {
            format!("{text:?} is not an RFC 3339 timestamp such as 2026-01-01T00:00:00Z: {why}")
        };
        let at: jiff::Timestamp = text.parse().map_err(|e| bad(&e))?;
        let utc_offset_seconds = offset_seconds(text).ok_or_else(|| bad(&"no offset"))?;
        Ok(Clock {
            unix_seconds: at.as_second(),
            nanos: u32::try_from(at.subsec_nanosecond()).map_err(|e| bad(&e))?,
            utc_offset_seconds,
        })
    }
}

/// The trailing `Z` or `±HH:MM` of an RFC 3339 timestamp, in seconds east of UTC.
fn offset_seconds(text: &str) -> Option<i32> {
    if text.ends_with(['Z', 'z']) {
        return Some(0);
    }
    let tail = text.get(text.len().checked_sub(6)?..)?.as_bytes();
    let sign = match tail {
        [b'+', _, _, b':', _, _] => 1,
        [b'-', _, _, b':', _, _] => -1,
        _ => return None,
    };
    let digits = |pair: &[u8]| std::str::from_utf8(pair).ok()?.parse::<i32>().ok();
    Some(sign * (digits(&tail[1..3])? * 3600 + digits(&tail[4..6])? * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_the_local_zone() {
        let utc = Clock::parse_rfc3339("2026-01-01T00:00:00Z");
        assert_eq!(
            utc,
            Ok(Clock {
                unix_seconds: 1_767_225_600,
                nanos: 0,
                utc_offset_seconds: 0
            })
        );
        let east = Clock::parse_rfc3339("2026-01-01T02:00:00.25+02:00");
        assert_eq!(
            east,
            Ok(Clock {
                unix_seconds: 1_767_225_600,
                nanos: 250_000_000,
                utc_offset_seconds: 7200
            })
        );
        let west = Clock::parse_rfc3339("2025-12-31T19:30:00-04:30").map(|c| c.utc_offset_seconds);
        assert_eq!(west, Ok(-16_200));
    }

    #[test]
    fn text_without_an_offset_is_refused() {
        for text in ["2026-01-01", "2026-01-01T00:00:00", "yesterday", ""] {
            let err = Clock::parse_rfc3339(text);
            assert!(
                err.as_ref().is_err_and(|e| e.contains("RFC 3339")),
                "{text}: {err:?}"
            );
        }
    }
}
