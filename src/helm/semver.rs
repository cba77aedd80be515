//! Semantic versions and range constraints as `Masterminds/semver/v3` (v3.4) defines them:
//! chart versions, dependency `version` ranges and `kubeVersion` constraints.

use std::cmp::Ordering;

/// A parsed semantic version (`v` prefix allowed, minor and patch optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl Version {
    /// Parses as Masterminds' `NewVersion`: `v?MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]`, no
    /// leading zeros in numeric parts.
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let body = text.strip_prefix('v').unwrap_or(text);
        let (body, build) = match body.split_once('+') {
            Some((b, m)) => (b, Some(m)),
            None => (body, None),
        };
        if let Some(build) = build
            && !build.split('.').all(is_identifier)
        {
            return None;
        }
        let (core, pre) = match body.split_once('-') {
            Some((c, p)) => (c, p),
            None => (body, ""),
        };
        if !pre.is_empty() || body.contains('-') {
            let valid = pre.split('.').all(|part| {
                is_identifier(part)
                    && !(is_numeric(part) && part.len() > 1 && part.starts_with('0'))
            });
            if !valid {
                return None;
            }
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if !is_numeric(part) || (part.len() > 1 && part.starts_with('0')) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        Some(Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre: pre.to_string(),
        })
    }

    fn compare(&self, other: &Version) -> Ordering {
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

fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(""),
            b.get(i).copied().unwrap_or(""),
        );
        let order = match (x, y) {
            _ if x == y => Ordering::Equal,
            ("", _) => Ordering::Less,
            (_, "") => Ordering::Greater,
            _ => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(p), Ok(q)) => p.cmp(&q),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                (Err(_), Err(_)) => x.cmp(y),
            },
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// A comparison operator of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// Which parts of the constraint's version were wildcards (`x`, `X`, `*` or missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    None,
    Patch,
    Minor,
    Major,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    version: Version,
    wild: Wild,
}

/// A parsed constraint: `||`-separated groups of constraints that must all hold.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    groups: Vec<Vec<Single>>,
}

impl Constraint {
    /// Parses as Masterminds' `NewConstraint` (hyphen ranges, `,` or space as AND).
    pub(crate) fn parse(text: &str) -> Option<Constraint> {
        let groups = text
            .split("||")
            .map(parse_group)
            .collect::<Option<Vec<_>>>()?;
        Some(Constraint { groups })
    }

    /// True if `v` satisfies one of the groups.
    pub(crate) fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|group| {
            let include_pre = group.iter().any(|c| !c.version.pre.is_empty());
            group.iter().all(|c| c.check(v, include_pre))
        })
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub(crate) fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Some(c), Some(v)) => c.check(&v),
        _ => false,
    }
}

fn parse_group(text: &str) -> Option<Vec<Single>> {
    let words: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    // Operators may stand apart from their version (`>= 1.2`): glue them back.
    let mut items: Vec<String> = Vec::new();
    let mut pending = String::new();
    for word in words {
        if word.chars().all(|c| "=!<>~^".contains(c)) && word != "-" {
            pending.push_str(word);
            continue;
        }
        items.push(format!("{pending}{word}"));
        pending.clear();
    }
    if !pending.is_empty() || items.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if items.get(i + 1).is_some_and(|w| w == "-") {
            let hi = items.get(i + 2)?;
            out.push(parse_single(&format!(">={}", items[i]))?);
            out.push(parse_single(&format!("<={hi}"))?);
            i += 3;
        } else {
            out.push(parse_single(&items[i])?);
            i += 1;
        }
    }
    Some(out)
}

fn parse_single(text: &str) -> Option<Single> {
    let split = text
        .find(|c: char| !"=!<>~^".contains(c))
        .unwrap_or(text.len());
    let (op, version) = text.split_at(split);
    let op = match op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return None,
    };
    let body = version.strip_prefix('v').unwrap_or(version);
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => body.split_at(i),
        None => (body, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let is_x = |p: Option<&&str>| p.is_none_or(|p| matches!(*p, "x" | "X" | "*"));
    let (wild, normalized) = if is_x(parts.first()) {
        (Wild::Major, format!("0.0.0{suffix}"))
    } else if is_x(parts.get(1)) {
        (Wild::Minor, format!("{}.0.0{suffix}", parts[0]))
    } else if is_x(parts.get(2)) {
        (Wild::Patch, format!("{}.{}.0{suffix}", parts[0], parts[1]))
    } else {
        (Wild::None, body.to_string())
    };
    if parts.len() > 3 {
        return None;
    }
    let version = Version::parse(&normalized)?;
    Some(Single { op, version, wild })
}

impl Single {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.version;
        let dirty = self.wild != Wild::None;
        let minor_dirty = self.wild == Wild::Minor;
        let patch_dirty = self.wild == Wild::Patch;
        match self.op {
            Op::TildeOrEqual if dirty => self.tilde(v),
            Op::TildeOrEqual => v.compare(c) == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::NotEqual => {
                if dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if patch_dirty {
                        return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                match v.major.cmp(&c.major) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal if minor_dirty => false,
                    Ordering::Equal if patch_dirty => v.minor > c.minor,
                    Ordering::Equal => v.compare(c) == Ordering::Greater,
                }
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !minor_dirty))
            }
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        // A wildcard major (`*`) marks neither minor nor patch as dirty, as in Masterminds.
        let minor_dirty = self.wild == Wild::Minor;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0
            && c.minor == 0
            && c.patch == 0
            && matches!(self.wild, Wild::None | Wild::Major)
        {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || minor_dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::is_compatible_range as ok;

    #[test]
    fn masterminds_ranges() {
        assert!(ok(">=1.20.0-0", "v1.33.0"));
        assert!(ok(">= 1.19", "v1.33"));
        assert!(!ok("<1.20", "v1.33.0"));
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok("^1.2", "1.9.0"));
        assert!(ok("1.2.x", "1.2.7"));
        assert!(ok("*", "3.0.0"));
        assert!(ok("1.0 - 2.0", "1.5.0"));
        assert!(ok("<1.0 || >=2.0", "2.1.0"));
        assert!(!ok(">=1.0", "1.1.0-rc1"));
        assert!(!ok("", "1.0.0"));
        assert!(ok("0.1.0", "0.1.0"));
    }
}
