//! Parsing, ordering and printing of single versions.

use std::cmp::Ordering;
use std::fmt;

use super::Error;

/// A semantic version. Equality and order are semver precedence: build metadata and
/// the original spelling play no part (`1.2.0+a == v1.2`).
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

impl Version {
    /// Parses leniently as Masterminds' `NewVersion` (v3.4, coercing): `v?` then one to
    /// three dot-separated digit runs (missing ones are zero, leading zeros allowed),
    /// then `-prerelease` and `+metadata` of `[0-9A-Za-z-]` identifiers.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let body = text.strip_prefix('v').unwrap_or(text);
        let mut rest = body;
        let major = take_digits(&mut rest).ok_or(Error::Invalid)?;
        let mut numbers = [major, "", ""];
        for slot in &mut numbers[1..] {
            let Some(after) = rest.strip_prefix('.') else {
                break;
            };
            rest = after;
            *slot = take_digits(&mut rest).ok_or(Error::Invalid)?;
        }
        let pre = take_identifiers(&mut rest, '-')?;
        let metadata = take_identifiers(&mut rest, '+')?;
        if !rest.is_empty() {
            return Err(Error::Invalid);
        }
        let number = |digits: &str| -> Result<u64, Error> {
            if digits.is_empty() {
                return Ok(0);
            }
            digits
                .parse()
                .map_err(|_| Error::SegmentOutOfRange(digits.to_string()))
        };
        let version = Version {
            major: number(numbers[0])?,
            minor: number(numbers[1])?,
            patch: number(numbers[2])?,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: text.to_string(),
        };
        if !version.pre.is_empty() {
            validate_prerelease(&version.pre)?;
        }
        Ok(version)
    }

    /// Parses strictly as Masterminds' `StrictNewVersion`: `MAJOR.MINOR.PATCH` without a
    /// `v` and without leading zeros, then optional `-prerelease` and `+metadata`.
    pub fn parse_strict(text: &str) -> Result<Version, Error> {
        if text.is_empty() {
            return Err(Error::Empty);
        }
        let mut parts = text.splitn(3, '.');
        let (Some(major), Some(minor), Some(last)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Invalid);
        };
        let (last, metadata) = match last.split_once('+') {
            Some((last, metadata)) => (last, validate_metadata(metadata)?),
            None => (last, ""),
        };
        let (patch, pre) = match last.split_once('-') {
            Some((patch, pre)) => (patch, validate_prerelease(pre)?),
            None => (last, ""),
        };
        let parts = [major, minor, patch];
        for part in parts {
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidCharacters);
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(Error::LeadingZero);
            }
        }
        let number = |part: &str| {
            part.parse().map_err(|_| Error::StrictSegment {
                segment: part.to_string(),
            })
        };
        Ok(Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: text.to_string(),
        })
    }

    /// A release version `major.minor.patch` (its original text is its `Display`).
    pub fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: format!("{major}.{minor}.{patch}"),
        }
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number.
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease, without its `-` (empty for a release).
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// The build metadata, without its `+`.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The text the version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Masterminds' `IncPatch`: a prerelease (or metadata-bearing) version becomes its
    /// release, a release its next patch.
    pub fn inc_patch(&self) -> Version {
        let bump = u64::from(self.pre.is_empty());
        self.bumped(self.major, self.minor, self.patch.wrapping_add(bump))
    }

    /// Masterminds' `IncMinor`: next minor, patch 0, no prerelease or metadata.
    pub fn inc_minor(&self) -> Version {
        self.bumped(self.major, self.minor.wrapping_add(1), 0)
    }

    /// Masterminds' `IncMajor`: next major, minor and patch 0, no prerelease or metadata.
    pub fn inc_major(&self) -> Version {
        self.bumped(self.major.wrapping_add(1), 0, 0)
    }

    /// Masterminds' `SetPrerelease` (`pre` without its `-`; empty removes it).
    pub fn with_prerelease(&self, pre: &str) -> Result<Version, Error> {
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        let mut next = self.clone();
        next.pre = pre.to_string();
        next.original = next.respelled();
        Ok(next)
    }

    /// Masterminds' `SetMetadata` (`metadata` without its `+`; empty removes it).
    pub fn with_metadata(&self, metadata: &str) -> Result<Version, Error> {
        if !metadata.is_empty() {
            validate_metadata(metadata)?;
        }
        let mut next = self.clone();
        next.metadata = metadata.to_string();
        next.original = next.respelled();
        Ok(next)
    }

    /// A release with new numbers, keeping the original's `v` prefix in its spelling.
    fn bumped(&self, major: u64, minor: u64, patch: u64) -> Version {
        let mut next = Version::new(major, minor, patch);
        next.original = next.respelled_like(self);
        next
    }

    fn respelled(&self) -> String {
        self.respelled_like(self)
    }

    fn respelled_like(&self, model: &Version) -> String {
        let v = if model.original.starts_with('v') {
            "v"
        } else {
            ""
        };
        format!("{v}{self}")
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Semver precedence: numbers, then a release above its prereleases, then the
    /// prerelease identifiers.
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

impl fmt::Display for Version {
    /// `MAJOR.MINOR.PATCH[-PRE][+METADATA]`, without any `v` (Masterminds' `String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// Orders two prereleases identifier by identifier; a missing identifier sorts first.
pub(super) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    (0..a.len().max(b.len()))
        .map(|i| {
            let x = a.get(i).copied().unwrap_or("");
            let y = b.get(i).copied().unwrap_or("");
            compare_identifier(x, y)
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Numeric identifiers compare as numbers and sort before alphanumeric ones, which
/// compare as bytes.
fn compare_identifier(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() || y.is_empty() {
        return x.len().cmp(&y.len());
    }
    match (x.parse::<u64>(), y.parse::<u64>()) {
        (Ok(p), Ok(q)) => p.cmp(&q),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => x.cmp(y),
    }
}

/// Takes a leading run of ASCII digits; `None` if there is none.
fn take_digits<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, after) = rest.split_at(end);
    *rest = after;
    (!digits.is_empty()).then_some(digits)
}

/// Takes `<mark>ident(.ident)*` if `rest` starts with `mark`; empty if it does not.
fn take_identifiers<'a>(rest: &mut &'a str, mark: char) -> Result<&'a str, Error> {
    let Some(after) = rest.strip_prefix(mark) else {
        return Ok("");
    };
    let end = after
        .bytes()
        .position(|b| !(is_identifier_byte(b) || b == b'.'))
        .unwrap_or(after.len());
    let (taken, left) = after.split_at(end);
    if taken.split('.').any(str::is_empty) {
        return Err(Error::Invalid);
    }
    *rest = left;
    Ok(taken)
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Checks prerelease identifiers: non-empty, of `[0-9A-Za-z-]`, numeric ones without
/// leading zeros. Returns `pre`.
fn validate_prerelease(pre: &str) -> Result<&str, Error> {
    for part in pre.split('.') {
        let numeric = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if numeric && part.len() > 1 && part.starts_with('0') {
            return Err(Error::LeadingZero);
        }
        if !numeric && (part.is_empty() || !part.bytes().all(is_identifier_byte)) {
            return Err(Error::InvalidPrerelease);
        }
    }
    Ok(pre)
}

/// Checks build metadata identifiers: non-empty and of `[0-9A-Za-z-]`. Returns
/// `metadata`.
fn validate_metadata(metadata: &str) -> Result<&str, Error> {
    let valid = metadata
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(is_identifier_byte));
    if valid {
        Ok(metadata)
    } else {
        Err(Error::InvalidMetadata)
    }
}
