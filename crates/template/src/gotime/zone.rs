//! Go's `*time.Location`: UTC, the local zone, fixed offsets and IANA zones.

use std::rc::Rc;
use std::sync::LazyLock;

use jiff::tz::{TimeZone, TimeZoneDatabase};

/// The IANA database compiled into crunch, so that zone rules never depend on the
/// machine that runs a build.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A Go location.
#[derive(Clone, Debug)]
pub(crate) enum Zone {
    /// `time.UTC`.
    Utc,
    /// `time.Local`: a fixed offset east of UTC in seconds, taken from the build's clock
    /// (0, i.e. UTC, by default). Its abbreviation is `UTC` at offset 0 and Go's numeric
    /// form (`+0200`) otherwise.
    Local(i32),
    /// `time.FixedZone(name, offset)`, as Go's parser creates for offsets and names it
    /// does not know.
    Fixed {
        /// The abbreviation (may be empty: Go then prints the offset).
        name: Rc<str>,
        /// Seconds east of UTC.
        offset: i32,
    },
    /// A zone of the IANA database, loaded by name (Go's `LoadLocation`).
    Tz(TimeZone),
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        match (self, other) {
            (Zone::Utc, Zone::Utc) => true,
            (Zone::Local(a), Zone::Local(b)) => a == b,
            (
                Zone::Fixed { name, offset },
                Zone::Fixed {
                    name: n2,
                    offset: o2,
                },
            ) => name == n2 && offset == o2,
            (Zone::Tz(a), Zone::Tz(b)) => a.iana_name() == b.iana_name(),
            _ => false,
        }
    }
}

impl Eq for Zone {}

impl Zone {
    /// Go's `time.LoadLocation`: `""` and `UTC` are UTC, `Local` is the local zone
    /// (whose offset is `local_offset`), anything else an IANA name spelt exactly as in
    /// the database. `None` for an unknown name.
    pub(crate) fn load(name: &str, local_offset: i32) -> Option<Zone> {
        match name {
            "" | "UTC" => Some(Zone::Utc),
            "Local" => Some(Zone::Local(local_offset)),
            _ => {
                let tz = TZDB.get(name).ok()?;
                // The database matches names case-insensitively; Go opens a file, so the
                // spelling must be exact.
                (tz.iana_name() == Some(name)).then_some(Zone::Tz(tz))
            }
        }
    }

    /// The offset east of UTC and the abbreviation in effect at `unix` seconds.
    pub(crate) fn lookup(&self, unix: i64) -> (i32, String) {
        match self {
            Zone::Utc => (0, "UTC".into()),
            Zone::Local(0) => (0, "UTC".into()),
            Zone::Local(offset) => (*offset, String::new()),
            Zone::Fixed { name, offset } => (*offset, name.to_string()),
            Zone::Tz(tz) => {
                let clamped = unix.clamp(
                    jiff::Timestamp::MIN.as_second(),
                    jiff::Timestamp::MAX.as_second(),
                );
                let ts =
                    jiff::Timestamp::from_second(clamped).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let info = tz.to_offset_info(ts);
                (info.offset().seconds(), info.abbreviation().to_string())
            }
        }
    }
}
