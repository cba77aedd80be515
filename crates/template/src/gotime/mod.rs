//! Go's `time` package as Sprig's date functions use it: instants with a location,
//! reference-layout formatting and parsing, and durations.
//!
//! Time zones come from the IANA database compiled into crunch (jiff's bundled tzdb), so
//! output never depends on the build machine. Go's `Local` is the zone of
//! [`crate::Clock`] (UTC unless the embedding program says otherwise).

mod civil;
mod duration;
mod layout;
mod parse;
mod zone;

use std::rc::Rc;

pub(crate) use duration::{format_duration, parse_duration};
pub(crate) use parse::parse_in_local;
pub(crate) use zone::Zone;

use super::{Error, Object, Signature, Type, Value};

/// Nanoseconds in a second.
const NANOS: i64 = 1_000_000_000;

/// Go's `time.Time` without a monotonic reading: an instant and the location it is
/// shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Time {
    /// Seconds since the Unix epoch (floor).
    secs: i64,
    /// Nanoseconds within the second, `0..1e9`.
    nanos: u32,
    zone: Zone,
}

impl Time {
    /// The instant `secs`.`nanos` after the Unix epoch, shown in `zone`. Nanoseconds
    /// beyond a second carry into the seconds, as Go's `time.Unix` normalises them.
    pub(crate) fn from_unix(secs: i64, nanos: i64, zone: Zone) -> Time {
        let secs = secs.saturating_add(nanos.div_euclid(NANOS));
        let nanos = u32::try_from(nanos.rem_euclid(NANOS)).unwrap_or(0);
        Time { secs, nanos, zone }
    }

    /// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
    pub(crate) fn zero() -> Time {
        Time {
            secs: civil::ZERO_UNIX,
            nanos: 0,
            zone: Zone::Utc,
        }
    }

    /// Seconds since the Unix epoch (Go's `Unix`).
    pub(crate) fn unix(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds since the Unix epoch as Go's `UnixNano` computes them (wrapping out
    /// of the int64 range, as Go's result is undefined there).
    pub(crate) fn unix_nano(&self) -> i64 {
        self.secs
            .wrapping_mul(NANOS)
            .wrapping_add(i64::from(self.nanos))
    }

    /// The same instant shown in `zone` (Go's `In`).
    pub(crate) fn with_zone(&self, zone: Zone) -> Time {
        Time {
            zone,
            ..self.clone()
        }
    }

    /// The instant `nanos` nanoseconds later (Go's `Add`).
    pub(crate) fn add_nanos(&self, nanos: i64) -> Time {
        Time::from_unix(
            self.secs.saturating_add(nanos / NANOS),
            i64::from(self.nanos) + nanos % NANOS,
            self.zone.clone(),
        )
    }

    /// `self - earlier` in nanoseconds, saturated to the int64 range like Go's `Sub`.
    pub(crate) fn sub(&self, earlier: &Time) -> i64 {
        let secs = i128::from(self.secs) - i128::from(earlier.secs);
        let nanos = i128::from(self.nanos) - i128::from(earlier.nanos);
        let total = secs * i128::from(NANOS) + nanos;
        i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
    }

    /// Formats with a Go reference layout (`2006-01-02T15:04:05Z07:00`).
    pub(crate) fn format(&self, layout: &str) -> String {
        layout::format(self, layout)
    }

    /// The wall clock in the time's zone: (civil fields, UTC offset, zone abbreviation).
    fn local(&self) -> (civil::Civil, i32, String) {
        let (offset, abbrev) = self.zone.lookup(self.secs);
        let civil = civil::Civil::from_unix(self.secs + i64::from(offset), self.nanos);
        (civil, offset, abbrev)
    }

    /// The time as a template value (`time.Time`).
    pub(crate) fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    /// The time held by a template value, if it is one.
    pub(crate) fn from_value(v: &Value) -> Option<&Time> {
        match v {
            Value::Object(o) => o.as_any()?.downcast_ref::<Time>(),
            _ => None,
        }
    }
}

/// Go's `time.Time.String` layout (without the monotonic clock reading).
const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

/// Go's `time.RFC3339Nano`, which `MarshalJSON` writes.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

impl Object for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        // `time.Time` has only unexported fields.
        None
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Format" => Some(Signature::new(&[Type::String])),
            "String" | "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "Year" | "YearDay"
            | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "UTC" | "IsZero" => {
                Some(Signature::new(&[]))
            }
            _ => None,
        }
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let (civil, _, _) = self.local();
        let int = |i: i64| Ok(Value::Int(i));
        match name {
            "Format" => {
                let layout = args.first().and_then(Value::as_str).unwrap_or_default();
                Ok(self.format(layout).into())
            }
            "String" => Ok(self.format(STRING_LAYOUT).into()),
            "Unix" => Ok(Value::Int64(self.secs)),
            "UnixMilli" => Ok(Value::Int64(
                self.secs
                    .wrapping_mul(1000)
                    .wrapping_add(i64::from(self.nanos / 1_000_000)),
            )),
            "UnixMicro" => Ok(Value::Int64(
                self.secs
                    .wrapping_mul(1_000_000)
                    .wrapping_add(i64::from(self.nanos / 1000)),
            )),
            "UnixNano" => Ok(Value::Int64(self.unix_nano())),
            "Year" => int(civil.year),
            "YearDay" => int(civil.year_day()),
            "Day" => int(civil.day),
            "Hour" => int(civil.hour),
            "Minute" => int(civil.minute),
            "Second" => int(civil.second),
            "Nanosecond" => int(i64::from(civil.nanos)),
            "UTC" => Ok(self.with_zone(Zone::Utc).into_value()),
            "IsZero" => Ok(Value::Bool(
                self.secs == civil::ZERO_UNIX && self.nanos == 0,
            )),
            _ => Err(format!("time.Time has no method {name}")),
        }
    }

    fn display(&self) -> String {
        self.format(STRING_LAYOUT)
    }

    fn to_json(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::Value::String(self.format(RFC3339_NANO)))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
