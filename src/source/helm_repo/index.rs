//! A repository's `index.yaml` read as source-controller reads it (`IndexFromBytes`, the
//! same steps as Helm's `loadIndex`): JSON or YAML, decoded into Helm's types, invalid
//! entries skipped, each chart's versions sorted newest first.

use std::collections::BTreeMap;

use super::created::Created;
use super::decode::{self, RawEntry};
use crate::semver::Version;

/// A chart repository index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// `apiVersion` (never empty: an index without one is refused).
    pub api_version: String,
    /// `generated` (Go's zero time when absent).
    pub generated: Created,
    /// Each chart's valid versions, newest first (Helm's `SortEntries`).
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
}

/// One version of a chart as the index lists it: what resolving and downloading need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartVersion {
    /// The chart's name (sanitised as Helm's validation leaves it).
    pub name: String,
    /// The version as written (`1.2.3`, `v1.2.3`, `1.2`, `1.2.3+build.4`).
    pub version: String,
    /// `appVersion`.
    pub app_version: String,
    /// The chart's `apiVersion` (`v1` when the entry has none, as Helm defaults it).
    pub api_version: String,
    /// Where the archive is; the first is the one downloaded.
    pub urls: Vec<String>,
    /// The archive's SHA-256 in hex, when the index gives one.
    pub digest: String,
    /// When the entry was indexed (Go's zero time when absent).
    pub created: Created,
    /// `removed`.
    pub removed: bool,
    /// `deprecated`.
    pub deprecated: bool,
}

/// Why an index cannot be read, worded as Helm and `sigs.k8s.io/yaml` word it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// No bytes at all.
    #[error("empty index.yaml file")]
    Empty,
    /// Neither JSON nor text YAML can read: not UTF-8.
    #[error("error converting YAML to JSON: yaml: invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// Not YAML (or a key set twice in a mapping).
    #[error("error converting YAML to JSON: {0}")]
    Yaml(crate::yaml::Error),
    /// YAML that does not fit Helm's index types (unknown field, wrong type, bad time).
    #[error("error unmarshaling JSON: while decoding JSON: {0}")]
    YamlDecode(String),
    /// JSON that does not fit Helm's index types.
    #[error("{0}")]
    JsonDecode(String),
    /// No (or an empty) `apiVersion`.
    #[error("no API version specified")]
    NoApiVersion,
}

impl IndexFile {
    /// Reads an index as source-controller's `IndexFromBytes` does: JSON when the bytes
    /// are valid JSON (`json.Unmarshal`), else YAML through `sigs.k8s.io/yaml`'s
    /// `UnmarshalStrict` (go-yaml v2; unknown fields and keys set twice are errors; see
    /// `decode` for how values are typed). Then, per chart: `null` entries and entries
    /// Helm's `Metadata.Validate` refuses are skipped (a dependency named twice is
    /// allowed, as Helm allows it for JFrog's indexes); versions are sorted newest first.
    /// (source-controller keeps `null` entries and then fails sorting them; crunch skips
    /// them as Helm does.)
    ///
    /// Entries whose versions are equal by semver precedence (`1.0.0+a`, `1.0.0+b`,
    /// `v1.0.0`) keep their order in the file. Helm sorts with Go's unstable `sort.Sort`,
    /// which keeps that order for up to 12 versions of a chart and may not beyond; what
    /// resolution picks is unaffected unless such entries also share their `created` time.
    ///
    /// # Errors
    /// [`IndexError`]: empty input, YAML or JSON that does not read into Helm's types, no
    /// `apiVersion`.
    pub fn parse(bytes: &[u8]) -> Result<IndexFile, IndexError> {
        if bytes.is_empty() {
            return Err(IndexError::Empty);
        }
        let raw = match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(tree) => decode::index(&tree, false).map_err(IndexError::JsonDecode)?,
            Err(_) => {
                let text = std::str::from_utf8(bytes).map_err(|e| IndexError::NotUtf8 {
                    offset: e.valid_up_to(),
                })?;
                let tree = crate::yaml::parse_document_strict(text).map_err(IndexError::Yaml)?;
                decode::index(&tree, true).map_err(IndexError::YamlDecode)?
            }
        };
        if raw.api_version.is_empty() {
            return Err(IndexError::NoApiVersion);
        }
        let entries = raw
            .entries
            .into_iter()
            .map(|(name, versions)| {
                let mut kept: Vec<(Version, ChartVersion)> = versions
                    .into_iter()
                    .flatten()
                    .filter_map(validated)
                    .collect();
                // Stable, newest first; every kept version parses (validation checked).
                kept.sort_by(|a, b| b.0.cmp(&a.0));
                (name, kept.into_iter().map(|(_, entry)| entry).collect())
            })
            .collect();
        Ok(IndexFile {
            api_version: raw.api_version,
            generated: raw.generated,
            entries,
        })
    }
}

/// The entry Helm keeps after `Metadata.Validate` (which also sanitises its strings),
/// with its version parsed as Helm's sort parses it; `None` for an entry Helm skips.
fn validated(mut raw: RawEntry) -> Option<(Version, ChartVersion)> {
    if raw.api_version.is_empty() {
        raw.api_version = "v1".into();
    }
    match validate(&mut raw) {
        Ok(()) | Err(Invalid::DuplicateDependency) => {}
        Err(Invalid::Other) => return None,
    }
    let version = Version::parse(&raw.version).ok()?;
    Some((
        version,
        ChartVersion {
            name: raw.name,
            version: raw.version,
            app_version: raw.app_version,
            api_version: raw.api_version,
            urls: raw.urls,
            digest: raw.digest,
            created: raw.created,
            removed: raw.removed,
            deprecated: raw.deprecated,
        },
    ))
}

/// Which of Helm's validation errors an entry has: the one index loading ignores, or
/// another.
enum Invalid {
    DuplicateDependency,
    Other,
}

/// Helm's `Metadata.Validate`, in its order (the first failure decides whether the
/// entry is skipped).
fn validate(raw: &mut RawEntry) -> Result<(), Invalid> {
    for text in [
        &mut raw.name,
        &mut raw.description,
        &mut raw.home,
        &mut raw.icon,
        &mut raw.condition,
        &mut raw.tags,
        &mut raw.app_version,
        &mut raw.kube_version,
    ]
    .into_iter()
    .chain(raw.sources.iter_mut())
    .chain(raw.keywords.iter_mut())
    {
        sanitize(text);
    }
    let name = raw.name.as_str();
    // `name != filepath.Base(name)`: a slash anywhere, except a name that is just `/`.
    let bad_name =
        name.is_empty() || name == "." || name == ".." || (name.contains('/') && name != "/");
    if bad_name
        || raw.version.is_empty()
        || Version::parse(&raw.version).is_err()
        || !matches!(raw.chart_type.as_str(), "" | "application" | "library")
    {
        return Err(Invalid::Other);
    }
    for maintainer in &mut raw.maintainers {
        let maintainer = maintainer.as_mut().ok_or(Invalid::Other)?;
        for text in [
            &mut maintainer.name,
            &mut maintainer.email,
            &mut maintainer.url,
        ] {
            sanitize(text);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for dependency in &mut raw.dependencies {
        let dependency = dependency.as_mut().ok_or(Invalid::Other)?;
        for text in [
            &mut dependency.name,
            &mut dependency.version,
            &mut dependency.repository,
            &mut dependency.condition,
        ]
        .into_iter()
        .chain(dependency.tags.iter_mut())
        {
            sanitize(text);
        }
        let alias_ok = dependency
            .alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !alias_ok {
            return Err(Invalid::Other);
        }
        let key = if dependency.alias.is_empty() {
            &dependency.name
        } else {
            &dependency.alias
        };
        if !seen.insert(key.clone()) {
            return Err(Invalid::DuplicateDependency);
        }
    }
    Ok(())
}

/// Helm's `sanitizeString`: white space becomes a space, unprintable characters go.
fn sanitize(text: &mut String) {
    let untouched =
        |c: char| c == ' ' || (!c.is_whitespace() && crate::gostd::strconv::is_print(c));
    if text.chars().all(untouched) {
        return;
    }
    *text = text
        .chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else {
                crate::gostd::strconv::is_print(c).then_some(c)
            }
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IndexFile, String> {
        IndexFile::parse(text.as_bytes()).map_err(|e| e.to_string())
    }

    fn versions(index: &IndexFile, chart: &str) -> Vec<String> {
        index.entries[chart]
            .iter()
            .map(|v| v.version.clone())
            .collect()
    }

    const INDEX: &str = r#"apiVersion: v1
entries:
  web:
  - name: web
    version: 1.2.0
    urls: [web-1.2.0.tgz]
    digest: abc
    created: "2024-01-02T03:04:05.123456789+01:00"
  - name: web
    version: 1.10.0
    urls: [web-1.10.0.tgz]
  - name: web
    version: 2.0.0-rc.1
  - name: web
    version: v1.3
  - name: web
    version: not-a-version
  - ~
  - name: web/evil
    version: 1.0.0
  - name: web
    version: 9.9.9
    type: plugin
  - name: web
    version: 9.9.8
    maintainers: [~]
  - name: web
    version: 9.9.7
    dependencies: [{name: a, alias: "b.c"}]
  - name: web
    version: 0.1.0
    dependencies: [{name: a}, {name: a}]
generated: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn reads_valid_entries_newest_first() {
        let index = parse(INDEX).unwrap();
        assert_eq!(index.api_version, "v1");
        assert_eq!(index.generated.to_string(), "2024-01-01T00:00:00Z");
        // Invalid names, versions, types, null maintainers and bad aliases are skipped; a
        // dependency named twice is not.
        assert_eq!(
            versions(&index, "web"),
            ["2.0.0-rc.1", "1.10.0", "v1.3", "1.2.0", "0.1.0"]
        );
        let first = &index.entries["web"][3];
        assert_eq!(first.urls, ["web-1.2.0.tgz"]);
        assert_eq!(first.digest, "abc");
        assert_eq!(first.api_version, "v1");
        assert_eq!(first.created.to_string(), "2024-01-02T02:04:05.123456789Z");
    }

    #[test]
    fn json_is_read_as_json() {
        let json = r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","Unknown":1,"urls":["x"]}]}}"#;
        let index = parse(json).unwrap();
        assert_eq!(versions(&index, "a"), ["1.0.0"]);
        // No coercion in JSON: a number is no string.
        let err = parse(r#"{"apiVersion":"v1","entries":{"a":[{"digest":5}]}}"#).unwrap_err();
        assert_eq!(
            err,
            "json: cannot unmarshal number into Go struct field ChartVersion.entries.digest of type string"
        );
    }

    #[test]
    fn yaml_is_strict_and_coerces_only_where_sigs_yaml_sees_a_string() {
        let err = parse(
            "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    colour: red\n",
        )
        .unwrap_err();
        assert_eq!(
            err,
            r#"error unmarshaling JSON: while decoding JSON: json: unknown field "colour""#
        );
        let err = parse("apiVersion: v1\napiVersion: v2\n").unwrap_err();
        assert!(
            err.contains(r#"key "apiVersion" already set in map"#),
            "{err}"
        );
        // `digest` and `urls` are ChartVersion's own: a number becomes text.
        let index = parse("apiVersion: 1\nentries:\n  a:\n  - {name: a, version: 1.0.0, digest: 12, urls: [3.5, true]}\n").unwrap();
        assert_eq!(index.api_version, "1");
        assert_eq!(index.entries["a"][0].digest, "12");
        assert_eq!(index.entries["a"][0].urls, ["3.5", "true"]);
        // `version` is Metadata's: a number fails the whole index.
        let err =
            parse("apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0}\n").unwrap_err();
        assert_eq!(
            err,
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field ChartVersion.entries.Metadata.version of type string"
        );
        let err =
            parse("apiVersion: v1\nentries:\n  a:\n  - {maintainers: [{name: 7}]}\n").unwrap_err();
        assert!(
            err.ends_with(
                "Go struct field Maintainer.entries.Metadata.maintainers.name of type string"
            ),
            "{err}"
        );
        // Field names fold case, as Go's encoding/json matches them.
        let index =
            parse("APIVERSION: v1\nEntries:\n  a:\n  - {NAME: a, Version: 1.0.0}\n").unwrap();
        assert_eq!(versions(&index, "a"), ["1.0.0"]);
    }

    #[test]
    fn refuses_what_helm_refuses() {
        assert_eq!(parse(""), Err("empty index.yaml file".into()));
        assert_eq!(
            parse("entries: {}\n"),
            Err("no API version specified".into())
        );
        assert_eq!(parse("{}"), Err("no API version specified".into()));
        assert_eq!(parse("null"), Err("no API version specified".into()));
        assert_eq!(
            parse("[]"),
            Err("json: cannot unmarshal array into Go value of type repo.IndexFile".into())
        );
        assert_eq!(
            parse("just text"),
            Err("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type repo.IndexFile".into())
        );
        let err = parse("apiVersion: v1\nentries:\n  a:\n  - {created: 2024-01-01}\n").unwrap_err();
        assert!(err.contains(r#"parsing time "2024-01-01""#), "{err}");
        let err = parse("apiVersion: v1\nentries:\n  a: text\n").unwrap_err();
        assert!(
            err.ends_with("Go struct field IndexFile.entries of type repo.ChartVersions"),
            "{err}"
        );
        let err = parse("apiVersion: v1\na: [\n").unwrap_err();
        assert!(
            err.starts_with("error converting YAML to JSON: yaml: "),
            "{err}"
        );
        assert_eq!(
            IndexFile::parse(b"apiVersion: v1\n\xff").map_err(|e| e.to_string()),
            Err("error converting YAML to JSON: yaml: invalid UTF-8 at byte 15".into())
        );
    }

    #[test]
    fn sanitises_as_helm() {
        let mut text = "a\tb\u{7}c\u{2028}d".to_string();
        sanitize(&mut text);
        assert_eq!(text, "a bc d");
    }
}
