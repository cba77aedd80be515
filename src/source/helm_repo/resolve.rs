//! Which chart version a HelmChart's `spec.version` picks: source-controller's
//! `GetChartVersion` (`internal/helm/repository/chart_repository.go`).

use std::cmp::Ordering;

use super::index::{ChartVersion, IndexFile};
use crate::semver::{Constraints, Version};

/// Why no chart version was picked, worded as source-controller words it (its
/// HelmChart condition adds `failed to get chart version for remote reference: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The index has no chart of that name.
    #[error("no chart name found")]
    NoChartName {
        /// The chart asked for.
        chart: String,
    },
    /// The chart is listed without any (valid) version.
    #[error("no chart version found")]
    NoChartVersion {
        /// The chart asked for.
        chart: String,
    },
    /// The version is neither listed verbatim nor a constraint.
    #[error("{}", constraint_message(.error))]
    InvalidConstraint {
        /// The version as asked for.
        version: String,
        /// Masterminds' complaint.
        error: crate::semver::Error,
    },
    /// No version satisfies the constraint.
    #[error("no '{chart}' chart with version matching '{version}' found")]
    NoMatch {
        /// The chart asked for.
        chart: String,
        /// The version as asked for (empty when none was).
        version: String,
    },
}

/// Masterminds' message as v3.5 (source-controller's) prints it, which quotes the
/// constraint where v3.4 (Helm's and Sprig's, and `crate::semver`'s) does not.
fn constraint_message(error: &crate::semver::Error) -> String {
    match error {
        crate::semver::Error::ImproperConstraint(text) => {
            let quoted = crate::gostd::strconv::quote(text);
            format!("improper constraint: {quoted}")
        }
        other => other.to_string(),
    }
}

impl IndexFile {
    /// The version of `chart` that `version` picks, as source-controller picks it:
    ///
    /// 1. a listed version spelled exactly as `version` (so `1.2.3+build.1`, `1.2`, or
    ///    any text at all that an entry carries);
    /// 2. else the constraint `version` (`*` when empty) through Masterminds' rules
    ///    ([`crate::semver::Constraints`]: a pre-release only satisfies a constraint that
    ///    names one), checked against the versions that read as strict semver with an
    ///    optional `v` (Flux's `version.ParseVersion`: `1.2` or `01.2.3` never match a
    ///    constraint);
    /// 3. the highest of those by precedence, and among equal ones (differing only in
    ///    build metadata or a `v`) the latest `created`; entries equal in both end in
    ///    the order Go's `sort.SliceStable` leaves them with source-controller's
    ///    comparison, which calls them less than each other both ways.
    ///
    /// # Errors
    /// [`ResolveError`]: no such chart, no versions, a bad constraint, no match.
    pub fn resolve(&self, chart: &str, version: &str) -> Result<&ChartVersion, ResolveError> {
        let versions = self
            .entries
            .get(chart)
            .ok_or_else(|| ResolveError::NoChartName {
                chart: chart.to_string(),
            })?;
        if versions.is_empty() {
            return Err(ResolveError::NoChartVersion {
                chart: chart.to_string(),
            });
        }
        if !version.is_empty()
            && let Some(exact) = versions.iter().find(|v| v.version == version)
        {
            return Ok(exact);
        }
        let wanted = if version.is_empty() { "*" } else { version };
        let constraint =
            Constraints::parse(wanted).map_err(|error| ResolveError::InvalidConstraint {
                version: version.to_string(),
                error,
            })?;
        let mut matched: Vec<(Version, &ChartVersion)> = versions
            .iter()
            .filter_map(|entry| Some((flux_version(&entry.version)?, entry)))
            .filter(|(parsed, _)| constraint.check(parsed))
            .collect();
        // source-controller reverses its "older than" test to sort newest first, which
        // makes an exact tie "less" both ways; the stable sort's moves then decide.
        go_sort_stable(&mut matched, |left, right| {
            let order = left
                .0
                .cmp(&right.0)
                .then(left.1.created.cmp(&right.1.created));
            order != Ordering::Less
        });
        matched
            .first()
            .map(|(_, entry)| *entry)
            .ok_or_else(|| ResolveError::NoMatch {
                chart: chart.to_string(),
                version: version.to_string(),
            })
    }
}

/// Flux's `version.ParseVersion`: a strict semantic version after an optional `v`.
fn flux_version(text: &str) -> Option<Version> {
    Version::parse_strict(text.strip_prefix('v').unwrap_or(text)).ok()
}

/// Go's `sort.Stable` (as `sort.SliceStable` runs it): insertion sort over blocks of 20,
/// then the blocks merged pairwise with Kim and Kutzner's SymMerge. For a strict weak
/// order any stable sort gives the same result; source-controller's comparison is not
/// one (ties are less both ways), so the result follows this algorithm's moves.
fn go_sort_stable<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    const BLOCK: usize = 20;
    let n = items.len();
    for start in (0..n).step_by(BLOCK) {
        insertion_sort(&mut items[start..n.min(start + BLOCK)], &less);
    }
    let mut block = BLOCK;
    while block < n {
        let mut start = 0;
        while start + 2 * block <= n {
            sym_merge(items, start, start + block, start + 2 * block, &less);
            start += 2 * block;
        }
        if start + block < n {
            sym_merge(items, start, start + block, n, &less);
        }
        block *= 2;
    }
}

/// Each item moves left past every item it is less than, stopping at the first it is
/// not.
fn insertion_sort<T>(items: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut to = i;
        while to > 0 && less(&items[i], &items[to - 1]) {
            to -= 1;
        }
        items[to..=i].rotate_right(1);
    }
}

/// Merges the sorted runs `items[a..m]` and `items[m..b]` in place (`a < m < b`).
fn sym_merge<T>(items: &mut [T], a: usize, m: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if m - a == 1 {
        // The left item goes before the first right item that is less than it is not
        // "not less than": found by binary search, then moved there.
        let at = partition_point(m, b, |h| less(&items[h], &items[a]));
        items[a..at].rotate_left(1);
        return;
    }
    if b - m == 1 {
        let at = partition_point(a, m, |h| !less(&items[m], &items[h]));
        items[at..=m].rotate_right(1);
        return;
    }
    let mid = a + (b - a) / 2;
    let n = mid + m;
    let (low, high) = if m > mid { (n - b, mid) } else { (a, m) };
    let last = n - 1;
    let start = partition_point(low, high, |c| !less(&items[last - c], &items[c]));
    let end = n - start;
    if start < m && m < end {
        items[start..end].rotate_left(m - start);
    }
    if a < start && start < mid {
        sym_merge(items, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(items, mid, end, b, less);
    }
}

/// The first index in `low..high` for which `before` is false, assuming it is true up to
/// some point and false after (the binary search of Go's `symMerge`, whose midpoints
/// matter when `before` is not monotone).
fn partition_point(mut low: usize, mut high: usize, before: impl Fn(usize) -> bool) -> usize {
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::super::Created;
    use super::*;

    /// An index of one chart `web` with these versions, each `created` a second after
    /// the previous unless given (`1.0.0@7`: created at second 7).
    fn index(versions: &[&str]) -> IndexFile {
        let mut entries = String::new();
        for (i, spec) in versions.iter().enumerate() {
            let (version, second) = spec
                .split_once('@')
                .map_or((*spec, i), |(v, s)| (v, s.parse().unwrap()));
            entries.push_str(&format!(
                "  - {{name: web, version: '{version}', urls: [web-{version}.tgz], created: '2024-01-01T00:00:{second:02}Z'}}\n"
            ));
        }
        IndexFile::parse(format!("apiVersion: v1\nentries:\n  web:\n{entries}").as_bytes()).unwrap()
    }

    fn pick(index: &IndexFile, version: &str) -> Result<String, String> {
        index
            .resolve("web", version)
            .map(|v| v.version.clone())
            .map_err(|e| e.to_string())
    }

    const RELEASES: &[&str] = &[
        "0.9.0",
        "1.0.0",
        "1.2.0",
        "1.2.3",
        "1.2.4+build.7",
        "1.10.0",
        "2.0.0-rc.1",
    ];

    #[test]
    fn empty_and_star_pick_the_latest_stable() {
        let index = index(RELEASES);
        assert_eq!(pick(&index, ""), Ok("1.10.0".into()));
        assert_eq!(pick(&index, "*"), Ok("1.10.0".into()));
    }

    #[test]
    fn constraints_follow_masterminds() {
        let index = index(RELEASES);
        for (constraint, want) in [
            ("1.x", "1.10.0"),
            ("~1.2.0", "1.2.4+build.7"),
            ("^1.2", "1.10.0"),
            ("<2", "1.10.0"),
            ("<1.2.4", "1.2.3"),
            (">1.2.3 <1.10.0", "1.2.4+build.7"),
            ("1.2.4", "1.2.4+build.7"),
            ("0.9.0 || 1.0.0", "1.0.0"),
            ("1.0 - 1.2", "1.2.4+build.7"),
        ] {
            assert_eq!(pick(&index, constraint), Ok(want.into()), "{constraint}");
        }
    }

    #[test]
    fn prereleases_only_when_the_constraint_names_one() {
        let index = index(RELEASES);
        assert_eq!(pick(&index, ">=1.0.0-0"), Ok("2.0.0-rc.1".into()));
        assert_eq!(pick(&index, ">=2.0.0-0"), Ok("2.0.0-rc.1".into()));
        assert_eq!(
            pick(&index, ">=1.11.0"),
            Err("no 'web' chart with version matching '>=1.11.0' found".into())
        );
        assert_eq!(pick(&index, "2.0.0-rc.1"), Ok("2.0.0-rc.1".into()));
    }

    #[test]
    fn exact_spellings_come_first() {
        let index = index(&["1.2.4+build.7", "1.2.4+build.8", "v1.3.0", "1.3", "1.3.0"]);
        assert_eq!(pick(&index, "1.2.4+build.7"), Ok("1.2.4+build.7".into()));
        assert_eq!(pick(&index, "v1.3.0"), Ok("v1.3.0".into()));
        // `1.3` is listed, so asked for verbatim it is picked; as a constraint it
        // never matches (not strict semver), and `=1.3` means 1.3.0 with either spelling.
        assert_eq!(pick(&index, "1.3"), Ok("1.3".into()));
        assert_eq!(pick(&index, "=1.3"), Ok("1.3.0".into()));
    }

    #[test]
    fn leading_zeros_never_match_a_constraint() {
        // Real indexes carry such versions (`4.13.000`). Helm's CLI reads them leniently
        // as 4.13.0; Flux's strict reading skips them unless asked for verbatim.
        let index = index(&["4.7.600", "4.13.000", "4.13.1"]);
        assert_eq!(pick(&index, "~4.13"), Ok("4.13.1".into()));
        assert_eq!(
            pick(&index, "4.13.0"),
            Err("no 'web' chart with version matching '4.13.0' found".into())
        );
        assert_eq!(pick(&index, "4.13.000"), Ok("4.13.000".into()));
        assert_eq!(pick(&index, "<4.13.1"), Ok("4.7.600".into()));
    }

    #[test]
    fn equal_versions_go_by_created() {
        // source-controller's own rule: same precedence, the later `created` wins,
        // whatever the order in the file (Helm's CLI takes the first listed instead).
        let index_latest_last = index(&["1.0.0+a@1", "1.0.0+b@2"]);
        assert_eq!(pick(&index_latest_last, "1.0.0"), Ok("1.0.0+b".into()));
        let index_latest_first = index(&["1.0.0+a@5", "1.0.0+b@2"]);
        assert_eq!(pick(&index_latest_first, "1.0.0"), Ok("1.0.0+a".into()));
        let with_v = index(&["v2.0.0@3", "2.0.0@1"]);
        assert_eq!(pick(&with_v, ">=2"), Ok("v2.0.0".into()));
        // Missing `created` is Go's zero time, older than any written one.
        let index = IndexFile::parse(b"apiVersion: v1\nentries:\n  web:\n  - {name: web, version: 1.0.0+old}\n  - {name: web, version: 1.0.0+new, created: '1970-01-01T00:00:00Z'}\n").unwrap();
        assert_eq!(pick(&index, "*"), Ok("1.0.0+new".into()));
        assert_eq!(index.entries["web"][0].created, Created::default());
    }

    #[test]
    fn errors_are_source_controllers() {
        let index = index(RELEASES);
        assert_eq!(
            index.resolve("nope", "").map_err(|e| e.to_string()),
            Err("no chart name found".into())
        );
        assert_eq!(
            pick(&index, "9.x"),
            Err("no 'web' chart with version matching '9.x' found".into())
        );
        assert_eq!(
            pick(&index, "not a version"),
            Err(r#"improper constraint: "not a version""#.into())
        );
        let empty = IndexFile::parse(b"apiVersion: v1\nentries:\n  web: []\n").unwrap();
        assert_eq!(pick(&empty, ""), Err("no chart version found".into()));
        let only_prerelease = self::index(&["1.0.0-rc.1"]);
        assert_eq!(
            pick(&only_prerelease, ""),
            Err("no 'web' chart with version matching '' found".into())
        );
    }

    #[test]
    fn go_stable_sort_is_a_stable_sort_for_strict_orders() {
        // A pseudo-random permutation with many equal keys, longer than several blocks.
        let items: Vec<(u32, usize)> = (0..500).map(|i| ((i * 7919 % 61) as u32, i)).collect();
        let mut ours = items.clone();
        go_sort_stable(&mut ours, |a, b| a.0 < b.0);
        let mut std = items;
        std.sort_by_key(|item| item.0);
        assert_eq!(ours, std);
    }

    #[test]
    fn go_stable_sort_with_ties_less_both_ways() {
        // With "not older than" as the order, insertion sort puts each tie before the
        // earlier ones, and the merges put the right run's ties first: every run of
        // equal keys ends reversed, at any length.
        for n in [2, 5, 20, 21, 45, 100] {
            let items: Vec<(u32, usize)> = (0..n).map(|i| ((i % 3) as u32, i)).collect();
            let mut ours = items.clone();
            go_sort_stable(&mut ours, |a, b| a.0 >= b.0);
            let mut want = items;
            want.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
            assert_eq!(ours, want, "{n} items");
        }
    }
}
