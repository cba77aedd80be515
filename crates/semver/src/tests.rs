use super::{Constraints, Error, Version, satisfies};

fn ok(constraint: &str, version: &str) -> bool {
    let c = Constraints::parse(constraint).unwrap_or_else(|e| panic!("{constraint}: {e}"));
    let v = Version::parse(version).unwrap_or_else(|e| panic!("{version}: {e}"));
    c.check(&v)
}

fn parse_err(text: &str) -> String {
    Version::parse(text).map_or_else(|e| e.to_string(), |v| format!("parsed as {v}"))
}

fn strict_err(text: &str) -> String {
    Version::parse_strict(text).map_or_else(|e| e.to_string(), |v| format!("parsed as {v}"))
}

fn constraint_err(text: &str) -> String {
    Constraints::parse(text).map_or_else(|e| e.to_string(), |_| "parsed".into())
}

#[test]
fn lenient_versions_coerce_like_new_version() {
    let v = Version::parse("v1.2").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((v.major(), v.minor(), v.patch()), (1, 2, 0));
    assert_eq!((v.to_string(), v.original()), ("1.2.0".into(), "v1.2"));
    assert_eq!(
        Version::parse("01.002.3").map(|v| v.to_string()),
        Ok("1.2.3".into())
    );
    let v = Version::parse("1.2.3-rc.1+build-5.x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((v.prerelease(), v.metadata()), ("rc.1", "build-5.x"));
    assert_eq!(
        v,
        Version::new(1, 2, 3)
            .with_prerelease("rc.1")
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(parse_err("1.2.3-01"), "version segment starts with 0");
    assert_eq!(parse_err("V1.2.3"), "invalid semantic version");
    assert_eq!(parse_err("1.2.3.4"), "invalid semantic version");
    assert_eq!(parse_err("1.2."), "invalid semantic version");
    assert_eq!(parse_err("1.2.3-"), "invalid semantic version");
    assert_eq!(parse_err("1.2.3-a..b"), "invalid semantic version");
    assert_eq!(parse_err(""), "invalid semantic version");
    assert_eq!(
        parse_err("99999999999999999999"),
        r#"error parsing version segment: strconv.ParseUint: parsing "99999999999999999999": value out of range"#
    );
}

#[test]
fn strict_versions_follow_strict_new_version() {
    assert!(Version::parse_strict("1.2.3-rc.1+meta").is_ok());
    assert_eq!(strict_err(""), "version string empty");
    assert_eq!(strict_err("1.2"), "invalid semantic version");
    assert_eq!(strict_err("v1.2.3"), "invalid characters in version");
    assert_eq!(strict_err("1.02.3"), "version segment starts with 0");
    assert_eq!(strict_err("1.2.3+"), "invalid metadata string");
    assert_eq!(strict_err("1.2.3-"), "invalid prerelease string");
    assert_eq!(strict_err("1.2.3.4"), "invalid characters in version");
    assert_eq!(
        strict_err("1..3"),
        r#"strconv.ParseUint: parsing "": invalid syntax"#
    );
}

#[test]
fn precedence_ignores_metadata_and_spelling() {
    let v = |s: &str| Version::parse(s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v("1.2.0+a"), v("v1.2"));
    let mut sorted = [
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
        "1.0.0-beta",
        "1.0.0-alpha.beta",
        "1.0.0-alpha.1",
        "1.0.0-alpha",
    ]
    .map(v);
    sorted.sort();
    let printed: Vec<String> = sorted.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0"
        ]
    );
}

#[test]
fn increments_and_setters() {
    let v = Version::parse("v1.2.3-rc.1+m").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.inc_patch().original(), "v1.2.3");
    assert_eq!(v.inc_patch().inc_patch().to_string(), "1.2.4");
    assert_eq!(v.inc_minor().to_string(), "1.3.0");
    assert_eq!(v.inc_major().original(), "v2.0.0");
    assert_eq!(
        v.with_metadata("").map(|v| v.to_string()),
        Ok("1.2.3-rc.1".into())
    );
    assert_eq!(
        v.with_prerelease("a..b").map(|_| ()),
        Err(Error::InvalidPrerelease)
    );
    assert_eq!(
        v.with_metadata("+").map(|_| ()),
        Err(Error::InvalidMetadata)
    );
}

#[test]
fn comparisons_and_conjunctions() {
    assert!(ok(">=1.0.0 <2.0.0", "1.5.0"));
    assert!(!ok(">=1.0.0 <2.0.0", "2.0.0"));
    assert!(ok(">=1.0.0, <2.0.0", "v1.0.0"));
    assert!(ok(">= 1.0.0", "1.0.0"));
    assert!(ok("=>1.0, =<1.1", "1.1.9"));
    assert!(ok("1.2.3", "1.2.3"));
    assert!(ok("0.1.0", "0.1.0"));
    assert!(!ok("!=1.2.3", "1.2.3"));
    assert!(ok("!=1.2.x", "1.3.0"));
    assert!(!ok("!=1.2.x", "1.2.9"));
    assert!(!ok("!=1.x", "1.9.0"));
    assert!(ok(">1.2", "1.3.0"));
    assert!(!ok(">1.2", "1.2.9"));
    assert!(!ok(">11", "11.1.0"));
    assert!(ok(">11", "12.0.0"));
    assert!(ok("<=1.2", "1.2.9"));
    assert!(!ok("<=1.2", "1.3.0"));
    assert!(!ok("<1.2", "1.2.0"));
    assert!(ok(">= 1.19", "v1.33"));
    assert!(!ok("<1.20", "v1.33.0"));
}

#[test]
fn tilde_caret_wildcards_hyphen_or() {
    assert!(ok("~1.2", "1.2.7"));
    assert!(!ok("~1.2", "1.3.0"));
    assert!(ok("~1", "1.9.0"));
    assert!(ok("~1.2.3", "1.2.9"));
    assert!(!ok("~1.2.3", "1.3.0"));
    assert!(ok("~>1.2.3", "1.2.4"));
    assert!(ok("~0.0.0", "4.0.0"));
    assert!(ok("^1.2", "1.9.0"));
    assert!(!ok("^1.2", "2.0.0"));
    assert!(ok("^0.2.3", "0.2.9"));
    assert!(!ok("^0.2.3", "0.3.0"));
    assert!(!ok("^0.0.3", "0.0.4"));
    assert!(ok("^0.0", "0.0.9"));
    assert!(!ok("^0.0", "0.1.0"));
    assert!(ok("1.2.x", "1.2.5"));
    assert!(!ok("1.2.x", "1.3.0"));
    assert!(ok("*", "9.0.0"));
    assert!(ok("1.2 - 1.4.5", "1.4.5"));
    assert!(!ok("1.2 - 1.4.5", "1.4.6"));
    assert!(ok("1.0 - 2.0", "1.5.0"));
    assert!(ok("1.x || >=3", "3.1.0"));
    assert!(!ok("1.x || >=3", "2.1.0"));
    assert!(ok("<1.0 || >=3.0", "3.1.0"));
}

#[test]
fn prereleases_need_a_prerelease_in_the_group() {
    assert!(!ok(">=1.0.0", "1.1.0-rc.1"));
    assert!(!ok("*", "1.1.0-rc.1"));
    assert!(ok(">=1.0.0-0", "1.1.0-rc.1"));
    assert!(ok(">=1.21-0", "v1.30.2-eks-1234"));
    assert!(!ok(">=1.19.0", "1.19.0-alpha.1"));
    assert!(ok("1.1.0-rc.1", "v1.1.0-rc.1"));
    assert!(!ok("<2 || >=1.0.0-0 <1.0.0", "1.5.0-beta"));
    assert!(ok(">=1.0.0-0 <2 || <1", "1.5.0-beta"));
}

#[test]
fn bad_constraints_are_masterminds_errors() {
    assert_eq!(constraint_err(">=a.b"), "improper constraint: >=a.b");
    assert_eq!(constraint_err("1.2 -"), "improper constraint: 1.2 -");
    assert_eq!(constraint_err("1.2.3.4"), "improper constraint: 1.2.3.4");
    assert_eq!(constraint_err(""), "improper constraint: ");
    assert_eq!(constraint_err(">1 || "), "improper constraint:  ");
    assert_eq!(constraint_err(">1|2"), "constraint parser error");
    assert_eq!(
        constraint_err("1.2.3\u{a0}"),
        "improper constraint: 1.2.3\u{a0}"
    );
}

#[test]
fn satisfies_is_false_on_any_parse_error() {
    assert!(satisfies(">=1.20.0-0", "v1.33.0"));
    assert!(!satisfies("", "1.0.0"));
    assert!(!satisfies(">=1", "not a version"));
}

proptest::proptest! {
    /// A plain `x.y.z` (read without the regular expressions) means what `=x.y.z` (read
    /// with them) means: same errors, same answers, leading zeros and overflow included.
    #[test]
    fn plain_versions_read_like_equal_constraints(
        parts in proptest::collection::vec("(0|00|07|[1-9][0-9]{0,3}|99999999999999999999)", 3),
        probe in "(0|7|[1-9][0-9]{0,3})\\.(0|7|[1-9][0-9]{0,3})\\.(0|7|[1-9][0-9]{0,3})(-rc\\.1)?",
    ) {
        let plain = parts.join(".");
        let equal = format!("={plain}");
        let fast = Constraints::parse(&plain);
        let regex = Constraints::parse(&equal);
        proptest::prop_assert_eq!(
            fast.as_ref().err().map(ToString::to_string),
            regex.as_ref().err().map(ToString::to_string)
        );
        if let (Ok(fast), Ok(regex)) = (fast, regex) {
            let v = Version::parse(&probe).expect("probe versions parse");
            proptest::prop_assert_eq!(fast.check(&v), regex.check(&v));
            let same = Version::parse(&plain).expect("the constraint's own version parses");
            proptest::prop_assert!(fast.check(&same));
        }
    }
}
