//! Semantic version ranges as Flux's `spec.ref.semver` reads them (Masterminds/semver v3
//! constraint syntax), and tag names read as versions.
//!
//! Supported forms: comparisons (`=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`), tilde
//! (`~1.2`, `~>1.2`), caret (`^1.2`), wildcards (`1.2.x`, `1.*`, `*`), hyphen ranges
//! (`1.2 - 1.4.5`), AND by whitespace or `,`, OR by `||`, and an optional `v` prefix.
//! As in Masterminds, a version with a prerelease only satisfies a comparison whose own
//! version carries a prerelease.

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed semver range: satisfied when any of its alternatives (`||`) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    alternatives: Vec<Vec<Comparison>>,
}

/// One comparison of a range, already reduced to an interval test.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparison {
    interval: Interval,
    /// `!=`: the version must lie outside the interval.
    negated: bool,
    /// Whether the comparison's own version named a prerelease (the Masterminds rule).
    allows_prerelease: bool,
}

/// Versions between two optional bounds (`inclusive` flags per bound).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interval {
    lower: Option<(Version, bool)>,
    upper: Option<(Version, bool)>,
}

/// A version as written in a range, where trailing parts may be missing or wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl Range {
    /// Parses a Masterminds-style constraint such as `>=1.0.0 <2.0.0` or `~1.2 || ^3`.
    pub fn parse(text: &str) -> Result<Range, String> {
        let alternatives = text
            .split("||")
            .map(parse_conjunction)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Range { alternatives })
    }

    /// Whether `version` satisfies the range.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|all| all.iter().all(|c| c.matches(version)))
    }
}

/// Reads a tag name as a version the way Masterminds' lenient `NewVersion` does: an
/// optional `v`, one to three numeric parts (missing ones are zero), then an optional
/// prerelease and build metadata. Build metadata is dropped: it plays no part in order.
pub fn parse_tag_version(tag: &str) -> Option<Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let (text, _build) = text.split_once('+').unwrap_or((text, ""));
    let (numbers, pre) = match text.split_once('-') {
        Some((numbers, pre)) => (numbers, Prerelease::new(pre).ok()?),
        None => (text, Prerelease::EMPTY),
    };
    let parts = numbers
        .split('.')
        .map(parse_number)
        .collect::<Option<Vec<u64>>>()?;
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let part = |i: usize| parts.get(i).copied().unwrap_or(0);
    Some(Version {
        major: part(0),
        minor: part(1),
        patch: part(2),
        pre,
        build: BuildMetadata::EMPTY,
    })
}

fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses whitespace- or comma-separated comparisons that must all hold.
fn parse_conjunction(text: &str) -> Result<Vec<Comparison>, String> {
    let spaced = text.replace(',', " ");
    let tokens = join_operators(spaced.split_whitespace());
    if tokens.is_empty() {
        // An empty alternative means "any version", as Masterminds treats `""`.
        return Ok(vec![comparison("", &wildcard())?]);
    }
    let mut comparisons = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        if tokens.get(index + 1).map(String::as_str) == Some("-") {
            let upper = tokens
                .get(index + 2)
                .ok_or_else(|| format!("hyphen range `{} -` has no upper end", tokens[index]))?;
            comparisons.push(comparison(">=", &parse_partial(&tokens[index])?)?);
            comparisons.push(comparison("<=", &parse_partial(upper)?)?);
            index += 3;
        } else {
            let (op, version) = split_operator(&tokens[index]);
            comparisons.push(comparison(op, &parse_partial(version)?)?);
            index += 1;
        }
    }
    Ok(comparisons)
}

/// Glues an operator written apart from its version (`>= 1.2`) back onto it.
fn join_operators<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for word in words {
        match tokens.last_mut() {
            Some(last) if is_operator(last) => last.push_str(word),
            _ => tokens.push(word.to_string()),
        }
    }
    tokens
}

const OPERATORS: [&str; 11] = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"];

fn is_operator(token: &str) -> bool {
    OPERATORS.contains(&token)
}

fn split_operator(token: &str) -> (&str, &str) {
    OPERATORS
        .iter()
        .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("", token))
}

fn wildcard() -> Partial {
    Partial {
        major: None,
        minor: None,
        patch: None,
        pre: Prerelease::EMPTY,
    }
}

fn parse_partial(text: &str) -> Result<Partial, String> {
    let bare = text.strip_prefix('v').unwrap_or(text);
    let (bare, _build) = bare.split_once('+').unwrap_or((bare, ""));
    let (numbers, pre) = match bare.split_once('-') {
        Some((numbers, pre)) => (
            numbers,
            Prerelease::new(pre).map_err(|e| format!("invalid prerelease in `{text}`: {e}"))?,
        ),
        None => (bare, Prerelease::EMPTY),
    };
    let mut parts = Vec::new();
    for part in numbers.split('.') {
        match part {
            "x" | "X" | "*" => parts.push(None),
            _ => parts.push(Some(
                parse_number(part).ok_or_else(|| format!("`{text}` is not a version"))?,
            )),
        }
    }
    if parts.len() > 3 {
        return Err(format!("`{text}` has more than three version parts"));
    }
    // Everything after the first wildcard is a wildcard too (`1.x.3` means `1.x`).
    let first_wild = parts
        .iter()
        .position(Option::is_none)
        .unwrap_or(parts.len());
    let part = |i: usize| {
        if i < first_wild {
            parts.get(i).copied().flatten()
        } else {
            None
        }
    };
    Ok(Partial {
        major: part(0),
        minor: part(1),
        patch: part(2),
        pre,
    })
}

fn version(major: u64, minor: u64, patch: u64, pre: Prerelease) -> Version {
    Version {
        major,
        minor,
        patch,
        pre,
        build: BuildMetadata::EMPTY,
    }
}

/// The first version after the block a partial version names (`1.2` → `1.3.0`).
fn next_block(p: &Partial) -> Option<Version> {
    match (p.major, p.minor, p.patch) {
        (None, _, _) => None,
        (Some(major), None, _) => Some(version(major + 1, 0, 0, Prerelease::EMPTY)),
        (Some(major), Some(minor), None) => Some(version(major, minor + 1, 0, Prerelease::EMPTY)),
        (Some(major), Some(minor), Some(patch)) => {
            Some(version(major, minor, patch + 1, Prerelease::EMPTY))
        }
    }
}

/// The lowest version of the block a partial version names (`1.2` → `1.2.0`).
fn floor(p: &Partial) -> Version {
    version(
        p.major.unwrap_or(0),
        p.minor.unwrap_or(0),
        p.patch.unwrap_or(0),
        p.pre.clone(),
    )
}

fn comparison(op: &str, p: &Partial) -> Result<Comparison, String> {
    let exact = p.patch.is_some();
    let at_least = |v: Version| Some((v, true));
    let below = |v: Option<Version>| v.map(|v| (v, false));
    let interval = match op {
        "" | "=" | "!=" if exact => Interval {
            lower: at_least(floor(p)),
            upper: Some((floor(p), true)),
        },
        "" | "=" | "!=" => Interval {
            lower: at_least(floor(p)),
            upper: below(next_block(p)),
        },
        ">" if exact => Interval {
            lower: Some((floor(p), false)),
            upper: None,
        },
        ">" => Interval {
            lower: next_block(p).map(|v| (v, true)),
            upper: None,
        },
        "<" => Interval {
            lower: None,
            upper: Some((floor(p), false)),
        },
        ">=" | "=>" => Interval {
            lower: at_least(floor(p)),
            upper: None,
        },
        "<=" | "=<" if exact => Interval {
            lower: None,
            upper: Some((floor(p), true)),
        },
        "<=" | "=<" => Interval {
            lower: None,
            upper: below(next_block(p)),
        },
        "~" | "~>" => Interval {
            lower: at_least(floor(p)),
            upper: below(tilde_upper(p)),
        },
        "^" => Interval {
            lower: at_least(floor(p)),
            upper: below(caret_upper(p)),
        },
        other => return Err(format!("unknown operator `{other}`")),
    };
    if op == ">" && p.major.is_none() {
        return Err("`>*` can match no version".to_string());
    }
    Ok(Comparison {
        interval,
        negated: op == "!=",
        allows_prerelease: !p.pre.is_empty(),
    })
}

/// `~1.2.3` and `~1.2` stop before `1.3.0`; `~1` stops before `2.0.0`.
fn tilde_upper(p: &Partial) -> Option<Version> {
    match (p.major, p.minor) {
        (None, _) => None,
        (Some(major), None) => Some(version(major + 1, 0, 0, Prerelease::EMPTY)),
        (Some(major), Some(minor)) => Some(version(major, minor + 1, 0, Prerelease::EMPTY)),
    }
}

/// `^` keeps the leftmost non-zero part fixed (`^0.2.3` stops before `0.3.0`).
fn caret_upper(p: &Partial) -> Option<Version> {
    match (p.major, p.minor, p.patch) {
        (None, _, _) => None,
        (Some(0), None, _) => Some(version(1, 0, 0, Prerelease::EMPTY)),
        (Some(0), Some(0), None) => Some(version(0, 1, 0, Prerelease::EMPTY)),
        (Some(0), Some(0), Some(patch)) => Some(version(0, 0, patch + 1, Prerelease::EMPTY)),
        (Some(0), Some(minor), _) => Some(version(0, minor + 1, 0, Prerelease::EMPTY)),
        (Some(major), _, _) => Some(version(major + 1, 0, 0, Prerelease::EMPTY)),
    }
}

impl Comparison {
    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && !self.allows_prerelease {
            return false;
        }
        self.interval.contains(v) != self.negated
    }
}

impl Interval {
    fn contains(&self, v: &Version) -> bool {
        let above = match &self.lower {
            None => true,
            Some((bound, true)) => v >= bound,
            Some((bound, false)) => v > bound,
        };
        let under = match &self.upper {
            None => true,
            Some((bound, true)) => v <= bound,
            Some((bound, false)) => v < bound,
        };
        above && under
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(range: &str, tag: &str) -> bool {
        let range = Range::parse(range).unwrap_or_else(|e| panic!("{range}: {e}"));
        let version = parse_tag_version(tag).unwrap_or_else(|| panic!("{tag} is no version"));
        range.matches(&version)
    }

    #[test]
    fn comparisons_and_conjunctions() {
        assert!(ok(">=1.0.0 <2.0.0", "1.5.0"));
        assert!(!ok(">=1.0.0 <2.0.0", "2.0.0"));
        assert!(ok(">=1.0.0, <2.0.0", "v1.0.0"));
        assert!(ok(">= 1.0.0", "1.0.0"));
        assert!(ok("1.2.3", "1.2.3"));
        assert!(!ok("!=1.2.3", "1.2.3"));
        assert!(ok("!=1.2.x", "1.3.0"));
        assert!(!ok("!=1.2.x", "1.2.9"));
        assert!(ok(">1.2", "1.3.0"));
        assert!(!ok(">1.2", "1.2.9"));
        assert!(ok("<=1.2", "1.2.9"));
        assert!(!ok("<=1.2", "1.3.0"));
        assert!(!ok("<1.2", "1.2.0"));
    }

    #[test]
    fn tilde_caret_wildcards_hyphen_or() {
        assert!(ok("~1.2", "1.2.7"));
        assert!(!ok("~1.2", "1.3.0"));
        assert!(ok("~1", "1.9.0"));
        assert!(ok("~>1.2.3", "1.2.4"));
        assert!(ok("^1.2", "1.9.0"));
        assert!(!ok("^1.2", "2.0.0"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(!ok("^0.0.3", "0.0.4"));
        assert!(ok("1.2.x", "1.2.5"));
        assert!(!ok("1.2.x", "1.3.0"));
        assert!(ok("*", "9.0.0"));
        assert!(ok("1.2 - 1.4.5", "1.4.5"));
        assert!(!ok("1.2 - 1.4.5", "1.4.6"));
        assert!(ok("1.x || >=3", "3.1.0"));
        assert!(!ok("1.x || >=3", "2.1.0"));
    }

    #[test]
    fn prereleases_need_a_prerelease_in_the_range() {
        assert!(!ok(">=1.0.0", "1.1.0-rc.1"));
        assert!(!ok("*", "1.1.0-rc.1"));
        assert!(ok(">=1.0.0-0", "1.1.0-rc.1"));
        assert!(ok("1.1.0-rc.1", "v1.1.0-rc.1"));
    }

    #[test]
    fn tag_versions_are_lenient_like_masterminds() {
        assert_eq!(parse_tag_version("v1.2"), parse_tag_version("1.2.0"));
        assert_eq!(parse_tag_version("1"), parse_tag_version("1.0.0"));
        assert_eq!(
            parse_tag_version("1.2.3+build.5"),
            parse_tag_version("1.2.3")
        );
        assert_eq!(parse_tag_version("release-1"), None);
        assert_eq!(parse_tag_version("1.2.3.4"), None);
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(Range::parse(">=a.b").is_err());
        assert!(Range::parse("1.2 -").is_err());
        assert!(Range::parse("1.2.3.4").is_err());
    }
}
