//! Version constraints: parsing (Masterminds' grammar, matched with the same regular
//! language so odd inputs are accepted or refused alike) and checking.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::version::compare_prerelease;
use super::{Error, Version};

/// Go's `\s`: ASCII whitespace without `\v` (the `regex` crate's `\s` is Unicode).
const WS: &str = r"[\t\n\f\r ]";
/// A constraint's version: `x`, `X`, `*` or digits per part (`|` is in the class too, as
/// in Masterminds), then prerelease and metadata. Nine capture groups: 1 major, 2
/// `.minor`, 3 `.patch`, 4 `-prerelease`.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// The operators, empty included; order matters (leftmost-first alternation).
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this file; the tests compile every one of them.
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("semver pattern: {e}"))
}

/// One constraint, whole: operator (1), version (2), version parts (3, 4, 5, 6).
static SINGLE: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")));
/// A hyphen range `a - b`: lower version (1), upper version (11).
static HYPHEN: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")));
/// One constraint inside an AND group.
static FIND: LazyLock<Regex> = LazyLock::new(|| compile(&format!(r"({OPS}){WS}*({CV})")));
/// A whole AND group: constraints separated by whitespace or a comma.
static GROUP: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))
});

/// `||`-separated AND groups; a version satisfies the constraints if it satisfies every
/// constraint of some group.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
struct Group {
    all: Vec<Constraint>,
    /// Some constraint names a prerelease, which lets prerelease versions through.
    admits_prerelease: bool,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    /// The version with wildcard parts zeroed.
    version: Version,
    wild: Wild,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=` or none: equality, or tilde when the version has wildcards.
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// The first wildcard (or missing) part of a constraint's version; the parts after it
/// are wildcards too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    None,
    Patch,
    Minor,
    Major,
}

impl Constraints {
    /// Parses as Masterminds' `NewConstraint`: hyphen ranges are rewritten to `>= a, <=
    /// b`, then each `||` alternative must be a whitespace- or comma-separated list of
    /// constraints.
    pub fn parse(text: &str) -> Result<Constraints, Error> {
        if is_plain_version(text) {
            // The most common constraint, an exact `1.2.3` (every chart dependency), reads
            // the same without the regular expressions, whose compilation costs more than
            // rendering a small chart.
            let version = Version::parse(text).map_err(|_| Error::ConstraintVersion)?;
            return Ok(Constraints {
                groups: vec![Group {
                    all: vec![Constraint {
                        op: Op::Equal,
                        version,
                        wild: Wild::None,
                    }],
                    admits_prerelease: false,
                }],
            });
        }
        let text = rewrite_hyphen_ranges(text);
        let groups = text
            .split("||")
            .map(|group| {
                if !GROUP.is_match(group) {
                    return Err(Error::ImproperConstraint(group.to_string()));
                }
                let all = FIND
                    .find_iter(group)
                    .map(|m| Constraint::parse(m.as_str()))
                    .collect::<Result<Vec<_>, _>>()?;
                let admits_prerelease = all.iter().any(|c| !c.version.prerelease().is_empty());
                Ok(Group {
                    all,
                    admits_prerelease,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Constraints { groups })
    }

    /// Whether `v` satisfies the constraints (Masterminds' `Check`).
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| {
            (v.prerelease().is_empty() || g.admits_prerelease) && g.all.iter().all(|c| c.check(v))
        })
    }
}

/// Whether `text` is three dot-separated runs of ASCII digits and nothing else.
fn is_plain_version(text: &str) -> bool {
    let mut parts = 0;
    for part in text.split('.') {
        parts += 1;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    parts == 3
}

/// Replaces each `a - b` by `>= a, <= b `, occurrence by occurrence.
fn rewrite_hyphen_ranges(text: &str) -> String {
    let mut out = text.to_string();
    for m in HYPHEN.captures_iter(text) {
        let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
        out = out.replacen(group(0), &format!(">= {}, <= {} ", group(1), group(11)), 1);
    }
    out
}

fn is_wild(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

impl Constraint {
    fn parse(text: &str) -> Result<Constraint, Error> {
        let m = SINGLE
            .captures(text)
            .ok_or_else(|| Error::ImproperConstraint(text.to_string()))?;
        let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let op = match group(1) {
            "" | "=" => Op::Equal,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            _ => Op::Caret,
        };
        let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
        let part = |p: &str| p.strip_prefix('.').unwrap_or(p).to_string();
        // Wildcard parts become zeros and the build metadata is dropped.
        let (wild, spelled) = if major.is_empty() || is_wild(major) {
            (Wild::Major, format!("0.0.0{pre}"))
        } else if minor.is_empty() || is_wild(&part(minor)) {
            (Wild::Minor, format!("{major}.0.0{pre}"))
        } else if patch.is_empty() || is_wild(&part(patch)) {
            (Wild::Patch, format!("{major}{minor}.0{pre}"))
        } else {
            (Wild::None, group(2).to_string())
        };
        let version = Version::parse(&spelled).map_err(|_| Error::ConstraintVersion)?;
        Ok(Constraint { op, version, wild })
    }

    /// Whether `v` satisfies this constraint, the prerelease gate already passed.
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        let order = v.cmp(c);
        match self.op {
            Op::Equal if self.wild != Wild::None => self.tilde(v),
            Op::Equal => order == Ordering::Equal,
            Op::NotEqual => self.not_equal(v),
            Op::Greater => match self.wild {
                Wild::None | Wild::Major => order == Ordering::Greater,
                Wild::Minor => v.major() > c.major(),
                Wild::Patch => {
                    v.major() > c.major() || (v.major() == c.major() && v.minor() > c.minor())
                }
            },
            Op::Less => order == Ordering::Less,
            Op::GreaterEqual => order != Ordering::Less,
            Op::LessEqual => match self.wild {
                Wild::None => order != Ordering::Greater,
                // Anything within the named major (and minor) block is at most it.
                Wild::Minor => v.major() <= c.major(),
                Wild::Patch | Wild::Major => {
                    v.major() < c.major() || (v.major() == c.major() && v.minor() <= c.minor())
                }
            },
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    /// `!=` with wildcards excludes the whole block the version names.
    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        match self.wild {
            Wild::None | Wild::Major => v != c,
            Wild::Minor => v.major() != c.major(),
            Wild::Patch => {
                v.major() != c.major()
                    || v.minor() != c.minor()
                    || compare_prerelease(v.prerelease(), c.prerelease()) != Ordering::Equal
            }
        }
    }

    /// `~1.2.3`: at least the version, same major and (unless the minor is a wildcard)
    /// same minor; `~0.0.0` and `~*` admit everything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        let zero = (c.major(), c.minor(), c.patch()) == (0, 0, 0);
        if zero && matches!(self.wild, Wild::None | Wild::Major) {
            return true;
        }
        v.major() == c.major() && (v.minor() == c.minor() || self.wild == Wild::Minor)
    }

    /// `^1.2.3`: at least the version, with the leftmost non-zero part unchanged.
    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        if c.major() > 0 || self.wild == Wild::Minor {
            return v.major() == c.major();
        }
        if v.major() > 0 {
            return false;
        }
        if c.minor() > 0 || self.wild == Wild::Patch {
            return v.minor() == c.minor();
        }
        if v.minor() > 0 {
            return false;
        }
        c.patch() == v.patch()
    }
}
