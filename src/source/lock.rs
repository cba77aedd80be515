//! `crunch.lock`: which commit (and tree) every requested git source resolved to, which
//! version and digest every chart of a Helm repository resolved to, and which manifest
//! every OCIRepository reference resolved to.
//!
//! The file is YAML, read through crunch's YAML layer (go-yaml v2, as `crunch.yaml` is)
//! into [`LockFile`], whose JSON Schema is `schemas/crunch.lock.schema.json`. crunch
//! writes it in one fixed layout, so that it stays byte-stable and easy to review:
//!
//! ```text
//! # yaml-language-server: $schema=https://crunch.dev/schemas/crunch.lock.schema.json
//! # crunch.lock: pinned git sources. Written by crunch; review changes like code.
//! version: 1
//! git:
//!   - url: "https://repo1.dso.mil/big-bang/bigbang.git"
//!     ref: "tag=2.3.0"
//!     commit: "<40 hex digits>"
//!     tree: "<40 hex digits>"
//! charts:
//!   - url: "oci://registry1.dso.mil/bigbang"
//!     chart: "bigbang"
//!     version: "3.x"
//!     resolved: "3.2.0"
//!     digest: "sha256:<64 hex digits>"
//! oci:
//!   - url: "oci://ghcr.io/stefanprodan/manifests/podinfo"
//!     ref: "semver=>=6.0.0"
//!     tag: "6.5.0"
//!     digest: "sha256:<64 hex digits>"
//! images:
//!   - image: "registry1.dso.mil/ironbank/opensource/nginx/nginx:1.27"
//!     platform: "linux/amd64"
//!     digest: "sha256:<64 hex digits>"
//! ```
//!
//! An image is named as Docker normalizes it (`docker.io/library/nginx:1.27`), by tag; its
//! digest is the tag's manifest (or multi-platform index), or with `platform` the
//! manifest of that platform the index names (`crunch images resolve --platform`), so
//! that an image pinned by digest and pulled for one platform is the same manifest.
//!
//! A chart's digest is its archive's for an HTTP repository (the index's `digest`) and
//! its manifest's for an OCI one (what cosign signs); `charts` and `oci` are written only
//! when they have entries.
//!
//! Entries are sorted by URL, then by reference key; every string is JSON-quoted (a
//! valid YAML double-quoted scalar) so that any character survives. go-yaml's emitter
//! would quote only where needed and not indent the list, so the writer prints this
//! layout from the [`LockFile`] itself. The first line points editors that run
//! yaml-language-server at the schema.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::Error;
use super::reference::{Reference, is_full_commit_id};
use crate::yaml;

/// The commit and tree a (url, reference) pair resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The commit id (40 lowercase hex digits).
    pub commit: String,
    /// The id of the commit's root tree (40 lowercase hex digits).
    pub tree: String,
}

/// What a chart of a Helm repository resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartPin {
    /// The chart version chosen.
    pub version: String,
    /// `sha256:<hex>`: the archive's digest (HTTP) or the manifest's (OCI).
    pub digest: String,
}

/// Which chart a [`ChartPin`] pins: a chart of a repository at a requested version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChartKey {
    /// The repository URL as the deployment names it (before mirroring).
    pub url: String,
    /// The chart's name.
    pub chart: String,
    /// The version or range as requested (`""` for the latest).
    pub version: String,
}

/// What an OCIRepository reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciPin {
    /// The tag chosen (empty for a reference by digest).
    pub tag: String,
    /// `sha256:<hex>`: the manifest's digest.
    pub digest: String,
}

/// All pins, kept sorted: git ones keyed by (requested URL, [`Reference::lock_key`]),
/// charts by [`ChartKey`], OCI artifacts by (URL, reference key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    git: BTreeMap<(String, String), Pin>,
    charts: BTreeMap<ChartKey, ChartPin>,
    oci: BTreeMap<(String, String), OciPin>,
    images: BTreeMap<String, ImagePin>,
}

/// The manifest an image tag resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePin {
    /// The platform whose manifest was taken from a multi-platform index
    /// (`os/arch[/variant]`); `None` for the tag's own manifest or index.
    pub platform: Option<String>,
    /// The manifest's digest.
    pub digest: String,
}

/// `crunch.lock` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "crunch.lock",
    description = "The commit and tree every git source of a crunch build resolved to. Written by crunch."
)]
pub struct LockFile {
    /// The format's version: 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Every pinned git source, sorted by URL, then by reference.
    #[serde(default)]
    pub git: Vec<GitPin>,
    /// Every pinned chart of a Helm repository, sorted by URL, chart, then version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartEntry>,
    /// Every pinned OCIRepository reference, sorted by URL, then by reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oci: Vec<OciEntry>,
    /// Every pinned container image, sorted by image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageEntry>,
}

/// One pinned container image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageEntry {
    /// The image by tag, normalized as Docker normalizes it
    /// (`docker.io/library/nginx:1.27`).
    pub image: String,
    /// The platform (`os/arch[/variant]`) whose manifest was taken from the tag's
    /// multi-platform index; absent for the tag's own manifest or index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The manifest's (or index's) digest.
    #[schemars(regex(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
}

/// One pinned chart of a Helm repository (HTTP or OCI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartEntry {
    /// The repository URL as the deployment names it (before mirroring).
    pub url: String,
    /// The chart's name.
    pub chart: String,
    /// The version or semver range as requested; empty for the latest.
    pub version: String,
    /// The version it resolved to.
    pub resolved: String,
    /// The archive's digest (HTTP repositories) or the manifest's (OCI).
    #[schemars(regex(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
}

/// One pinned OCIRepository reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciEntry {
    /// The artifact's URL as the deployment names it (before mirroring).
    pub url: String,
    /// The reference as requested: `tag=`, `semver=` (a range) or `digest=`, then its
    /// value; `latest` for none.
    #[serde(rename = "ref")]
    #[schemars(regex(pattern = "^(tag=|semver=|digest=|latest$)"))]
    pub reference: String,
    /// The tag it resolved to; empty for a reference by digest.
    pub tag: String,
    /// The manifest's digest.
    #[schemars(regex(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
}

/// One pinned git source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitPin {
    /// The repository URL as the deployment names it (before mirroring).
    pub url: String,
    /// The reference as requested: `branch=`, `tag=`, `semver=` (a range), `commit=`,
    /// `name=` (a git reference name) or `ref=` (kustomize's `?ref=`), then its value.
    #[serde(rename = "ref")]
    #[schemars(regex(pattern = "^(branch|tag|semver|commit|name|ref)="))]
    pub reference: String,
    /// The commit it resolved to.
    #[schemars(regex(pattern = "^[0-9a-f]{40}$"))]
    pub commit: String,
    /// The id of that commit's root tree.
    #[schemars(regex(pattern = "^[0-9a-f]{40}$"))]
    pub tree: String,
}

/// Where the lock's schema is published; the file's first line names it.
pub const SCHEMA_URL: &str = "https://crunch.dev/schemas/crunch.lock.schema.json";
const HEADER: &str = "# crunch.lock: pinned sources. Written by crunch; review changes like code.";
const VERSION: u32 = 1;

impl Lock {
    /// Reads a lock file; a file that does not exist reads as an empty lock.
    pub fn load(path: &Path) -> Result<Lock, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            Err(source) => Err(Error::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the lock atomically: to a temporary file beside `path`, then renamed.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "crunch.lock".into());
        let temp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        std::fs::write(&temp, self.render()).map_err(io)?;
        std::fs::rename(&temp, path).map_err(|e| {
            // Best effort: do not leave the temporary file behind; the rename error is
            // the one worth reporting.
            let _ = std::fs::remove_file(&temp);
            io(e)
        })
    }

    /// The pin recorded for `url` at `reference`, if any.
    pub fn get(&self, url: &str, reference: &Reference) -> Option<&Pin> {
        self.git.get(&(url.to_string(), reference.lock_key()))
    }

    /// Records (or replaces) the pin for `url` at `reference`.
    pub fn record(&mut self, url: &str, reference: &Reference, pin: Pin) {
        self.git
            .insert((url.to_string(), reference.lock_key()), pin);
    }

    /// The pin recorded for a chart, if any.
    pub fn chart(&self, key: &ChartKey) -> Option<&ChartPin> {
        self.charts.get(key)
    }

    /// Records (or replaces) the pin for a chart.
    pub fn record_chart(&mut self, key: ChartKey, pin: ChartPin) {
        self.charts.insert(key, pin);
    }

    /// The pin recorded for the OCI artifact `url` at `reference` (an [`OciEntry`]
    /// reference key), if any.
    pub fn oci(&self, url: &str, reference: &str) -> Option<&OciPin> {
        self.oci.get(&(url.to_string(), reference.to_string()))
    }

    /// Records (or replaces) the pin for the OCI artifact `url` at `reference`.
    pub fn record_oci(&mut self, url: &str, reference: &str, pin: OciPin) {
        self.oci
            .insert((url.to_string(), reference.to_string()), pin);
    }

    /// The pin recorded for an image (by its normalized spelling), if any.
    pub fn image(&self, image: &str) -> Option<&ImagePin> {
        self.images.get(image)
    }

    /// Every image pin, by the image's normalized spelling, sorted.
    pub fn images(&self) -> impl Iterator<Item = (&str, &ImagePin)> {
        self.images.iter().map(|(image, pin)| (image.as_str(), pin))
    }

    /// Records (or replaces) the pin for an image (by its normalized spelling).
    pub fn record_image(&mut self, image: &str, pin: ImagePin) {
        self.images.insert(image.to_string(), pin);
    }

    /// Adds every entry of `other`, whose pins replace this lock's on conflict. The
    /// result does not depend on the order in which entries were recorded.
    pub fn merge(&mut self, other: &Lock) {
        for (key, pin) in &other.git {
            self.git.insert(key.clone(), pin.clone());
        }
        for (key, pin) in &other.charts {
            self.charts.insert(key.clone(), pin.clone());
        }
        for (key, pin) in &other.oci {
            self.oci.insert(key.clone(), pin.clone());
        }
        for (key, pin) in &other.images {
            self.images.insert(key.clone(), pin.clone());
        }
    }

    /// Every entry as (url, reference, pin), sorted by URL then reference key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Reference, &Pin)> {
        self.git.iter().filter_map(|((url, key), pin)| {
            Reference::from_lock_key(key).map(|r| (url.as_str(), r, pin))
        })
    }

    /// The file's content.
    pub fn to_file(&self) -> LockFile {
        LockFile {
            version: VERSION,
            git: self
                .git
                .iter()
                .map(|((url, key), pin)| GitPin {
                    url: url.clone(),
                    reference: key.clone(),
                    commit: pin.commit.clone(),
                    tree: pin.tree.clone(),
                })
                .collect(),
            charts: self
                .charts
                .iter()
                .map(|(key, pin)| ChartEntry {
                    url: key.url.clone(),
                    chart: key.chart.clone(),
                    version: key.version.clone(),
                    resolved: pin.version.clone(),
                    digest: pin.digest.clone(),
                })
                .collect(),
            oci: self
                .oci
                .iter()
                .map(|((url, reference), pin)| OciEntry {
                    url: url.clone(),
                    reference: reference.clone(),
                    tag: pin.tag.clone(),
                    digest: pin.digest.clone(),
                })
                .collect(),
            images: self
                .images
                .iter()
                .map(|(image, pin)| ImageEntry {
                    image: image.clone(),
                    platform: pin.platform.clone(),
                    digest: pin.digest.clone(),
                })
                .collect(),
        }
    }

    /// The file's text: deterministic for equal locks.
    pub fn render(&self) -> String {
        let file = self.to_file();
        let mut out = format!(
            "# yaml-language-server: $schema={SCHEMA_URL}\n{HEADER}\nversion: {}\n",
            file.version
        );
        if file.git.is_empty() {
            out.push_str("git: []\n");
        } else {
            out.push_str("git:\n");
        }
        for pin in &file.git {
            out.push_str(&format!(
                "  - url: {}\n    ref: {}\n    commit: {}\n    tree: {}\n",
                quote(&pin.url),
                quote(&pin.reference),
                quote(&pin.commit),
                quote(&pin.tree)
            ));
        }
        if !file.charts.is_empty() {
            out.push_str("charts:\n");
        }
        for pin in &file.charts {
            out.push_str(&format!(
                "  - url: {}\n    chart: {}\n    version: {}\n    resolved: {}\n    digest: {}\n",
                quote(&pin.url),
                quote(&pin.chart),
                quote(&pin.version),
                quote(&pin.resolved),
                quote(&pin.digest)
            ));
        }
        if !file.oci.is_empty() {
            out.push_str("oci:\n");
        }
        for pin in &file.oci {
            out.push_str(&format!(
                "  - url: {}\n    ref: {}\n    tag: {}\n    digest: {}\n",
                quote(&pin.url),
                quote(&pin.reference),
                quote(&pin.tag),
                quote(&pin.digest)
            ));
        }
        if !file.images.is_empty() {
            out.push_str("images:\n");
        }
        for pin in &file.images {
            out.push_str(&format!("  - image: {}\n", quote(&pin.image)));
            if let Some(platform) = &pin.platform {
                out.push_str(&format!("    platform: {}\n", quote(platform)));
            }
            out.push_str(&format!("    digest: {}\n", quote(&pin.digest)));
        }
        out
    }

    pub(crate) fn parse(text: &str, path: &Path) -> Result<Lock, Error> {
        let syntax = |line: Option<usize>, message: String| Error::LockSyntax {
            path: path.to_path_buf(),
            line,
            message,
        };
        let value = yaml::parse_document(text, yaml::Dialect::GoYamlV2)
            .map_err(|e| syntax(e.line(), e.to_string()))?;
        if value.is_null() {
            return Err(syntax(
                None,
                format!("empty: expected `version: {VERSION}`"),
            ));
        }
        // The entries are decoded one by one, so that an error can name its line.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Entries {
            version: u32,
            #[serde(default)]
            git: Vec<serde_json::Value>,
            #[serde(default)]
            charts: Vec<serde_json::Value>,
            #[serde(default)]
            oci: Vec<serde_json::Value>,
            #[serde(default)]
            images: Vec<serde_json::Value>,
        }
        let file: Entries =
            serde_json::from_value(value).map_err(|e| syntax(None, e.to_string()))?;
        if file.version != VERSION {
            return Err(syntax(
                top_level_line(text, "version"),
                format!(
                    "version {} is not one this crunch reads (expected {VERSION})",
                    file.version
                ),
            ));
        }
        let mut lock = Lock::default();
        for (index, entry) in file.git.into_iter().enumerate() {
            let at = |field: Option<&str>, message: String| {
                syntax(
                    entry_line(text, "git", index, field),
                    format!("git entry {}: {message}", index + 1),
                )
            };
            let pin: GitPin = serde_json::from_value(entry).map_err(|e| at(None, e.to_string()))?;
            let reference = Reference::from_lock_key(&pin.reference).ok_or_else(|| {
                at(
                    Some("ref"),
                    format!("unknown reference `{}`", pin.reference),
                )
            })?;
            for (field, id) in [("commit", &pin.commit), ("tree", &pin.tree)] {
                if !is_full_commit_id(id) || id.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(at(
                        Some(field),
                        format!("{field} `{id}` is not a 40-digit lowercase hex id"),
                    ));
                }
            }
            lock.record(
                &pin.url,
                &reference,
                Pin {
                    commit: pin.commit,
                    tree: pin.tree,
                },
            );
        }
        for (index, entry) in file.charts.into_iter().enumerate() {
            let at = |field: Option<&str>, message: String| {
                syntax(
                    entry_line(text, "charts", index, field),
                    format!("chart entry {}: {message}", index + 1),
                )
            };
            let pin: ChartEntry =
                serde_json::from_value(entry).map_err(|e| at(None, e.to_string()))?;
            if !is_digest(&pin.digest) {
                return Err(at(Some("digest"), not_a_digest(&pin.digest)));
            }
            lock.record_chart(
                ChartKey {
                    url: pin.url,
                    chart: pin.chart,
                    version: pin.version,
                },
                ChartPin {
                    version: pin.resolved,
                    digest: pin.digest,
                },
            );
        }
        for (index, entry) in file.oci.into_iter().enumerate() {
            let at = |field: Option<&str>, message: String| {
                syntax(
                    entry_line(text, "oci", index, field),
                    format!("oci entry {}: {message}", index + 1),
                )
            };
            let pin: OciEntry =
                serde_json::from_value(entry).map_err(|e| at(None, e.to_string()))?;
            if !is_digest(&pin.digest) {
                return Err(at(Some("digest"), not_a_digest(&pin.digest)));
            }
            lock.record_oci(
                &pin.url,
                &pin.reference,
                OciPin {
                    tag: pin.tag,
                    digest: pin.digest,
                },
            );
        }
        for (index, entry) in file.images.into_iter().enumerate() {
            let at = |field: Option<&str>, message: String| {
                syntax(
                    entry_line(text, "images", index, field),
                    format!("image entry {}: {message}", index + 1),
                )
            };
            let pin: ImageEntry =
                serde_json::from_value(entry).map_err(|e| at(None, e.to_string()))?;
            if !is_digest(&pin.digest) {
                return Err(at(Some("digest"), not_a_digest(&pin.digest)));
            }
            lock.record_image(
                &pin.image,
                ImagePin {
                    platform: pin.platform,
                    digest: pin.digest,
                },
            );
        }
        Ok(lock)
    }
}

/// Whether `text` is `sha256:` and 64 lowercase hex digits.
pub(crate) fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn not_a_digest(digest: &str) -> String {
    format!("digest `{digest}` is not `sha256:` and 64 lowercase hex digits")
}

/// The 1-based line of the top-level key `key`, as crunch writes it (at the start of a
/// line).
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map(|index| index + 1)
}

/// The 1-based line of entry `index` of the list under `list` (its `field`, or its first
/// line), when the list is written in block style as crunch writes it; `None` otherwise.
fn entry_line(text: &str, list: &str, index: usize, field: Option<&str>) -> Option<usize> {
    let start = top_level_line(text, list)?;
    let mut entry_start = None;
    let mut entries = 0;
    for (n, line) in text.lines().enumerate().skip(start) {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '-']) {
            // The next top-level key.
            break;
        }
        let item = content.strip_prefix("- ");
        if item.is_some() {
            if entry_start.is_some() {
                // The next entry.
                break;
            }
            if entries == index {
                entry_start = Some(n + 1);
            }
            entries += 1;
        }
        if entry_start.is_some()
            && let Some(field) = field
            && item
                .unwrap_or(content)
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        {
            return Some(n + 1);
        }
    }
    entry_start
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(c: char, t: char) -> Pin {
        Pin {
            commit: c.to_string().repeat(40),
            tree: t.to_string().repeat(40),
        }
    }

    #[test]
    fn render_parse_round_trip_sorted() {
        let mut lock = Lock::default();
        lock.record(
            "https://b/x.git",
            &Reference::Tag("v1".into()),
            pin('a', 'b'),
        );
        lock.record(
            "https://a/\"q\".git",
            &Reference::Semver(">=1 <2".into()),
            pin('c', 'd'),
        );
        let text = lock.render();
        assert!(text.find("https://a/").unwrap() < text.find("https://b/").unwrap());
        let back = Lock::parse(&text, Path::new("crunch.lock")).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.render(), text);
        let empty = Lock::default().render();
        assert_eq!(
            Lock::parse(&empty, Path::new("l")).unwrap(),
            Lock::default()
        );
    }

    #[test]
    fn charts_and_oci_artifacts_round_trip() {
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let mut lock = Lock::default();
        let key = ChartKey {
            url: "oci://registry.example/charts".into(),
            chart: "app".into(),
            version: "1.x".into(),
        };
        let pin = ChartPin {
            version: "1.2.0".into(),
            digest: digest('a'),
        };
        lock.record_chart(key.clone(), pin.clone());
        lock.record_oci(
            "oci://registry.example/manifests/app",
            "semver=>=1.0.0",
            OciPin {
                tag: "1.2.0".into(),
                digest: digest('b'),
            },
        );
        let text = lock.render();
        assert!(text.contains("charts:\n  - url: \"oci://registry.example/charts\"\n    chart: \"app\"\n    version: \"1.x\"\n    resolved: \"1.2.0\"\n"), "{text}");
        let back = Lock::parse(&text, Path::new("crunch.lock")).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.chart(&key), Some(&pin));
        assert_eq!(
            back.oci("oci://registry.example/manifests/app", "semver=>=1.0.0")
                .map(|p| p.tag.as_str()),
            Some("1.2.0")
        );
        let bad = text.replace(&digest('b'), "sha256:B");
        let error = Lock::parse(&bad, Path::new("crunch.lock"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("crunch.lock:15: oci entry 1: digest `sha256:B`"),
            "{error}"
        );
    }

    #[test]
    fn images_round_trip_with_and_without_platform() {
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let mut lock = Lock::default();
        let index = ImagePin {
            platform: None,
            digest: digest('a'),
        };
        let amd64 = ImagePin {
            platform: Some("linux/amd64".into()),
            digest: digest('b'),
        };
        lock.record_image("docker.io/library/nginx:1.27", index.clone());
        lock.record_image("registry.example/x/y:2", amd64.clone());
        let text = lock.render();
        assert!(
            text.ends_with(&format!(
                "images:\n  - image: \"docker.io/library/nginx:1.27\"\n    digest: \"{}\"\n  - image: \"registry.example/x/y:2\"\n    platform: \"linux/amd64\"\n    digest: \"{}\"\n",
                digest('a'),
                digest('b')
            )),
            "{text}"
        );
        let back = Lock::parse(&text, Path::new("crunch.lock")).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.image("registry.example/x/y:2"), Some(&amd64));
        let error = Lock::parse(&text.replace(&digest('b'), "sha256:x"), Path::new("l"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("l:10: image entry 2: digest"), "{error}");
    }

    #[test]
    fn merge_is_order_independent() {
        let mut one = Lock::default();
        one.record("u1", &Reference::Branch("main".into()), pin('1', '2'));
        let mut two = Lock::default();
        two.record("u2", &Reference::Branch("main".into()), pin('3', '4'));
        let mut a = one.clone();
        a.merge(&two);
        let mut b = two.clone();
        b.merge(&one);
        assert_eq!(a, b);
    }

    #[test]
    fn the_layout_is_fixed() {
        let mut lock = Lock::default();
        lock.record(
            "https://repo1.example.mil/big-bang/bigbang.git",
            &Reference::Kustomize("3.1.0".into()),
            pin('3', '6'),
        );
        let expected = format!(
            "# yaml-language-server: $schema=https://crunch.dev/schemas/crunch.lock.schema.json
# crunch.lock: pinned sources. Written by crunch; review changes like code.
version: 1
git:
  - url: \"https://repo1.example.mil/big-bang/bigbang.git\"
    ref: \"ref=3.1.0\"
    commit: \"{}\"
    tree: \"{}\"
",
            "3".repeat(40),
            "6".repeat(40)
        );
        assert_eq!(lock.render(), expected);
        assert_eq!(
            Lock::default().render().lines().skip(2).collect::<Vec<_>>(),
            ["version: 1", "git: []"]
        );
    }

    #[test]
    fn any_yaml_layout_reads() {
        let commit = "a".repeat(40);
        let text = format!(
            "version: 1\ngit: [{{url: u, ref: tag=v1, commit: '{commit}', tree: {commit}}}]\n"
        );
        let lock = Lock::parse(&text, Path::new("crunch.lock")).unwrap();
        assert_eq!(
            lock.get("u", &Reference::Tag("v1".into())).unwrap().tree,
            commit
        );
        assert_eq!(
            Lock::parse("version: 1\n", Path::new("l")).unwrap(),
            Lock::default()
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let error = |text: &str| {
            Lock::parse(text, Path::new("crunch.lock"))
                .unwrap_err()
                .to_string()
        };
        let id = "b".repeat(40);
        let entry = |url: &str, key: &str| {
            format!(
                "  - url: \"{url}\"\n    ref: \"{key}\"\n    commit: \"{id}\"\n    tree: \"{id}\"\n"
            )
        };
        let two = format!(
            "version: 1\ngit:\n{}{}",
            entry("u1", "tag=x"),
            entry("u2", "bogus=x")
        );
        assert_eq!(
            error(&two),
            "crunch.lock:8: git entry 2: unknown reference `bogus=x`"
        );
        let unknown = format!("version: 1\ngit:\n{}    extra: 1\n", entry("u", "tag=x"));
        assert_eq!(
            error(&unknown),
            "crunch.lock:3: git entry 1: unknown field `extra`, expected one of `url`, `ref`, `commit`, `tree`"
        );
        assert_eq!(
            error("version: 1\ngit:\n  - url: [\n"),
            "crunch.lock:4: yaml: line 3: did not find expected node content"
        );
        assert_eq!(
            error("version: 1\nbranches: []\n"),
            "crunch.lock: unknown field `branches`, expected one of `version`, `git`, `charts`, `oci`, `images`"
        );
        assert_eq!(
            error("# only a comment\n"),
            "crunch.lock: empty: expected `version: 1`"
        );
    }

    proptest::proptest! {
        /// Any text reads as a lock or an error, never a panic; any pins written read back
        /// as themselves.
        #[test]
        fn any_text_reads_and_any_pins_round_trip(
            text in ".{0,200}",
            url in "\\PC{0,30}",
            chart in "[a-z][a-z0-9-]{0,20}",
            version in "\\PC{0,12}",
            hex in "[0-9a-f]{64}",
        ) {
            let _ = Lock::parse(&text, Path::new("crunch.lock"));
            let _ = Lock::parse(&format!("version: 1\ncharts:\n  - {text}\n"), Path::new("l"));
            let mut lock = Lock::default();
            let digest = format!("sha256:{hex}");
            lock.record_chart(
                ChartKey { url: url.clone(), chart, version: version.clone() },
                ChartPin { version: version.clone(), digest: digest.clone() },
            );
            lock.record_oci(&url, &format!("tag={version}"), OciPin { tag: version.clone(), digest: digest.clone() });
            lock.record_image(&url, ImagePin { platform: Some(version).filter(|v| !v.is_empty()), digest });
            let back = Lock::parse(&lock.render(), Path::new("crunch.lock")).unwrap();
            proptest::prop_assert_eq!(back, lock);
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let text = "version: 1\ngit:\n  - url: \"u\"\n    ref: \"tag=x\"\n    commit: \"zz\"\n    tree: \"aa\"\n";
        let err = Lock::parse(text, Path::new("crunch.lock")).unwrap_err();
        assert!(err.to_string().starts_with("crunch.lock:5:"), "{err}");
        let err = Lock::parse("version: 2\n", Path::new("crunch.lock")).unwrap_err();
        assert!(err.to_string().starts_with("crunch.lock:1:"), "{err}");
    }
}
