//! Why a version or constraint did not parse, worded as Masterminds/semver words it.

/// A version or constraint parse failure; `Display` is Masterminds' message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not shaped like a version at all.
    #[error("invalid semantic version")]
    Invalid,
    /// [`super::Version::parse_strict`] of the empty string.
    #[error("version string empty")]
    Empty,
    /// A numeric part holds something other than digits (strict parsing).
    #[error("invalid characters in version")]
    InvalidCharacters,
    /// A numeric part or numeric prerelease identifier has a leading zero.
    #[error("version segment starts with 0")]
    LeadingZero,
    /// Build metadata with an empty identifier or a character outside `[0-9A-Za-z-]`.
    #[error("invalid metadata string")]
    InvalidMetadata,
    /// A prerelease with an empty identifier or a character outside `[0-9A-Za-z-]`.
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    /// A numeric part too large for a `uint64` (lenient parsing, which wraps Go's
    /// `strconv.ParseUint` error).
    #[error("error parsing version segment: strconv.ParseUint: parsing {0:?}: value out of range")]
    SegmentOutOfRange(String),
    /// A numeric part Go's `strconv.ParseUint` rejects in strict parsing, unwrapped.
    #[error("strconv.ParseUint: parsing {segment:?}: {}", if segment.is_empty() { "invalid syntax" } else { "value out of range" })]
    StrictSegment {
        /// The part as written: empty, or digits too large for a `uint64`.
        segment: String,
    },
    /// An `||` alternative or single constraint that does not match the grammar.
    #[error("improper constraint: {0}")]
    ImproperConstraint(String),
    /// A constraint matching the grammar whose version still does not parse (e.g. a part
    /// too large for a `uint64`).
    #[error("constraint parser error")]
    ConstraintVersion,
}
