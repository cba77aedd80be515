//! The bundle: every rendered object, one reviewable file each, grouped by the component
//! that rendered it, plus an index that names every object by its sha256 and a bundle
//! digest over the index.
//!
//! ```text
//! OUT/
//!   digest                         sha256:<hex of index.json>
//!   index.json                     components, dependencies, objects, images, sources,
//!                                  Secrets, sealing (recipients, key id)
//!   objects/<component>/<namespace|_cluster>/<kind>.<name>.yaml
//!   sealing-key.age                the sealing key, age-encrypted (outside the digest)
//!   digest.sig                     a signature of `digest` (`crunch sign`; outside it)
//! ```
//!
//! The same files make the archive form (`archive`): one deterministic `.tar.gz` or
//! `.tar.zst`, read as the directory is.
//!
//! Every core Secret's values are sealed ([`Secrets::Sealed`], see `sealing`) unless
//! the caller asks for plaintext.
//!
//! The bytes depend only on the [`Bundle`] value: objects are printed with sorted keys,
//! components and objects are sorted. A new bundle is written to a temporary sibling and
//! renamed into place; an earlier bundle is updated in place, rewriting only the files
//! that changed, with its `digest` removed first and written last: either way a failed
//! write never leaves a bundle that looks complete.

mod archive;
mod compare;
mod images;
mod index;
mod pulls;
mod read;
mod sealing;
mod taint;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::gostd::sha256;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Context, Error};
use crate::object::{ObjectKey, ObjectRef};
use crate::yaml;

pub use crate::archive::Compression;
pub use compare::{SEALING_KEY_CHANGED, SIDES, compare, sealing_key_changed};
pub use images::{
    ChartImageList, EXTRA_NOTE, Found, IMAGE_LIST_ANNOTATIONS, ImageSettings, RewriteError, find,
    image_table, rewrite,
};
pub use index::{
    ApplyPolicy, ChartCrds, ComponentEntry, CrdPolicy, DeletionPolicy, DriftDetection,
    DriftIgnoreRule, DriftMode, INDEX_SCHEMA_URL, ImageEntry, ImageUse, Index, ObjectEntry,
    ReleaseAction, ReleaseEntry, RelocationEntry, SealingEntry, SecretEntry, SecretValues,
    Selector, ServiceAccount,
};
pub use pulls::image_pulls;
pub use read::{ReadError, VerifiedBundle, read, read_archive_bytes};

pub use sealing::{SecretCounts, Secrets, first_secret_with_values, holds_sealed_values};
pub use taint::Taint;

/// Version of the index format.
pub const INDEX_API_VERSION: &str = "crunch.dev/v1alpha1";

/// `kind` of the index.
pub const BUNDLE_KIND: &str = "Bundle";

/// The signature file, outside the digest: a cosign blob signature (base64) of the
/// bundle's `digest` file, so `cosign verify-blob --signature digest.sig digest` checks it.
pub const SIGNATURE_FILE: &str = "digest.sig";

/// Where a bundle is written: a directory, an archive, or both (the same files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// The bundle directory (updated in place when it holds an earlier bundle).
    pub directory: Option<PathBuf>,
    /// The archive, compressed as its name says ([`Compression::for_path`]).
    pub archive: Option<PathBuf>,
}

impl Destination {
    /// A bundle directory only.
    pub fn directory(path: impl Into<PathBuf>) -> Destination {
        Destination {
            directory: Some(path.into()),
            archive: None,
        }
    }
}

/// Where a component's source came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The URL as the deployment names it (before mirroring).
    pub url: String,
    /// The revision: the commit the tree was taken from, or a chart's or OCI artifact's
    /// `<version>@sha256:<digest>`.
    pub commit: String,
    /// The path inside the source (a chart or kustomization directory).
    pub path: String,
}

/// One source the build used: a git tree (`commit` and `tree`), a chart of a Helm
/// repository (`chart`, `version` and `digest`) or an OCI artifact (`digest`, and the tag
/// as `version`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    /// The URL as the deployment names it.
    pub url: String,
    /// The reference as requested (`tag 1.0.0`, `branch main`, `version 1.x`, …).
    pub reference: String,
    /// The commit it resolved to (git).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit: String,
    /// The git tree id of that commit (git).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tree: String,
    /// The chart's name (Helm repositories).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chart: String,
    /// The chart version, or the OCI tag, it resolved to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The chart archive's digest (HTTP) or the manifest's (OCI).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

impl SourceRecord {
    /// What it resolved to, as Flux shows revisions: the commit, or `<version>@<digest>`.
    pub fn revision(&self) -> String {
        match (self.commit.is_empty(), self.version.is_empty()) {
            (false, _) => self.commit.clone(),
            (true, true) => self.digest.clone(),
            (true, false) => format!("{}@{}", self.version, self.digest),
        }
    }
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The object as it will be applied.
    pub value: Value,
    /// False for objects crunch consumed instead of a controller (Flux's
    /// GitRepository, HelmRelease, Kustomization): kept for review, not applied.
    pub apply: bool,
    /// Which source file the object came from, where that is known (the index lists it
    /// for Secrets).
    pub source: Option<String>,
}

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ComponentKind {
    /// The environment directory itself, built as Flux's bootstrap Kustomization would.
    Environment,
    /// A Flux HelmRelease.
    HelmRelease,
    /// A Flux Kustomization.
    Kustomization,
}

/// A unit of rendering and of applying: the environment, or one Flux object.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Stable identifier, e.g. `dev` or `HelmRelease/bigbang/logging`.
    pub id: String,
    /// What kind of component this is.
    pub kind: ComponentKind,
    /// The component whose output declared this one.
    pub parent: Option<String>,
    /// Components that must be ready first (Flux `dependsOn`).
    pub depends_on: Vec<String>,
    /// How long the applier waits for readiness (Flux `timeout`), as written.
    pub timeout: Option<String>,
    /// The Helm release, for HelmRelease components.
    pub release: Option<ReleaseEntry>,
    /// Where the rendered source came from.
    pub source: Option<Provenance>,
    /// Objects that must be ready before the component is (Flux `healthChecks`), beyond
    /// its own.
    pub health_checks: Vec<ObjectRef>,
    /// How a Kustomization component's objects are applied.
    pub kustomization: Option<ApplyPolicy>,
    /// The service account its objects are applied as (Flux's `serviceAccountName`).
    pub service_account: Option<ServiceAccount>,
    /// The rendered objects.
    pub objects: Vec<Object>,
    /// The image lists of the rendered charts' annotations (HelmRelease components).
    pub chart_images: Vec<ChartImageList>,
}

impl Component {
    /// A component with its identity and nothing else yet: no dependencies, timeout,
    /// release, source, health checks, policy or objects.
    pub fn new(id: impl Into<String>, kind: ComponentKind, parent: Option<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            parent,
            depends_on: Vec::new(),
            timeout: None,
            release: None,
            source: None,
            health_checks: Vec::new(),
            kustomization: None,
            service_account: None,
            objects: Vec::new(),
            chart_images: Vec::new(),
        }
    }
}

/// A whole build's output, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The environment name (the environment directory's name).
    pub environment: String,
    /// Kubernetes version the bundle was rendered for.
    pub kube_version: String,
    /// Every source used.
    pub sources: Vec<SourceRecord>,
    /// Every component.
    pub components: Vec<Component>,
}

/// A file of the bundle, relative to its root.
struct File {
    path: String,
    bytes: Vec<u8>,
}

/// A bundle as written: its digest and the index it was taken over.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// `sha256:<hex>` of `index.json`.
    pub digest: String,
    /// The index written to `index.json`.
    pub index: Index,
    /// What the bundle holds that a reader should know of (image references that do not
    /// parse, chart image lists that do not read).
    pub warnings: Vec<String>,
}

/// Writes `bundle` to `out`, its Secret values as `secrets` says.
///
/// `out` must not exist, be empty, or hold an earlier bundle, which is updated to be
/// byte for byte what a fresh write would make, but for `sealing-key.age`: an earlier
/// one that holds the same key (by the key id its index recorded) is kept, so that
/// rebuilding a committed bundle does not change it.
pub fn write(bundle: &Bundle, out: &Path, secrets: &Secrets) -> Result<Written, Error> {
    write_reviewed(
        bundle,
        &Destination::directory(out),
        secrets,
        &Taint::default(),
        &ImageSettings::default(),
    )
}

/// As [`write()`], the Secrets' reviews masking every part that `decrypted` recognizes as
/// a value decrypted from a SOPS source, the index's images listed as `images` says.
///
/// An archive is written whole through a temporary sibling; an earlier archive at its
/// path lends its `sealing-key.age` as an earlier directory does, so that rebuilding
/// gives the same archive.
pub fn write_reviewed(
    bundle: &Bundle,
    destination: &Destination,
    secrets: &Secrets,
    decrypted: &Taint,
    images: &ImageSettings,
) -> Result<Written, Error> {
    if destination.directory.is_none() && destination.archive.is_none() {
        return Err(Error::new("no bundle directory or archive to write to"));
    }
    let compression = destination
        .archive
        .as_deref()
        .map(Compression::for_path)
        .transpose()
        .map_err(Error::new)?;
    let sealer = sealing::Sealer::new(bundle, secrets)?;
    let (mut files, written) = layout(bundle, sealer.as_ref(), decrypted, images)?;
    let earlier_dir = destination
        .directory
        .as_deref()
        .filter(|out| out.join("index.json").is_file());
    if let Some(sealer) = &sealer {
        let earlier_key = || {
            earlier_dir
                .and_then(|out| sealer.earlier_key_file(out))
                .or_else(|| {
                    let archive = fs::read(destination.archive.as_deref()?).ok()?;
                    sealer.earlier_archived_key_file(&archive)
                })
        };
        let bytes = match earlier_key() {
            Some(bytes) => bytes,
            None => sealer.new_key_file().map_err(Error::new)?,
        };
        files.push(File {
            path: crate::seal::KEY_FILE.to_string(),
            bytes,
        });
    }
    match (&destination.directory, earlier_dir) {
        (Some(_), Some(out)) => update_in_place(out, &files)?,
        (Some(out), None) => replace_dir(out, &files)?,
        (None, _) => {}
    }
    if let (Some(path), Some(compression)) = (&destination.archive, compression) {
        write_file(path, &archive::encode(&files, compression)?)?;
    }
    Ok(written)
}

/// A bundle read once and verified, with its files as one archive.
pub struct ArchivedBundle {
    /// The bundle, verified.
    pub bundle: VerifiedBundle,
    /// Its `index.json`, as stored (its sha256 is the bundle digest).
    pub index: Vec<u8>,
    /// All its files as one archive.
    pub archive: Vec<u8>,
}

/// The bundle at `path` (a directory or an archive), read once: verified, and as one
/// archive of the same files compressed with `compression`.
pub fn read_as_archive(path: &Path, compression: Compression) -> Result<ArchivedBundle, Error> {
    let failed = |e: ReadError| Error::new(format!("{}: {e}", path.display()));
    let files = read::raw_files(path).map_err(failed)?;
    let bundle = read::verify(files.clone()).map_err(failed)?;
    let index = files.get("index.json").cloned().unwrap_or_default();
    let files: Vec<File> = files
        .into_iter()
        .map(|(path, bytes)| File { path, bytes })
        .collect();
    Ok(ArchivedBundle {
        bundle,
        index,
        archive: archive::encode(&files, compression)?,
    })
}

/// Adds (or replaces) the signature file of the bundle at `path`, a directory or an
/// archive, which is rewritten whole with the same compression; `sign` makes the
/// signature of the bundle as read. The bundle is verified first: only a bundle that is
/// what its digest says gets a signature.
pub fn attach_signature(
    path: &Path,
    sign: impl FnOnce(&VerifiedBundle) -> Vec<u8>,
) -> Result<VerifiedBundle, Error> {
    let failed = |e: ReadError| Error::new(format!("{}: {e}", path.display()));
    if path.is_dir() {
        let bundle = read(path).map_err(failed)?;
        write_file(&path.join(SIGNATURE_FILE), &sign(&bundle))?;
        return Ok(bundle);
    }
    let bytes = fs::read(path).map_err(|e| io_error("read", path, e))?;
    let mut files = read::archive_files(&bytes).map_err(failed)?;
    let bundle = read::verify(files.clone()).map_err(failed)?;
    files.insert(SIGNATURE_FILE.to_string(), sign(&bundle));
    let files: Vec<File> = files
        .into_iter()
        .map(|(path, bytes)| File { path, bytes })
        .collect();
    write_file(
        path,
        &archive::encode(&files, Compression::of_bytes(&bytes))?,
    )?;
    Ok(bundle)
}

/// The bundle's files, digest and index, computed in memory (all but the key file).
fn layout(
    bundle: &Bundle,
    sealer: Option<&sealing::Sealer>,
    decrypted: &Taint,
    image_settings: &ImageSettings,
) -> Result<(Vec<File>, Written), Error> {
    let mask = |plaintext: &[u8]| match sealer {
        Some(sealer) => sealer.mask(plaintext),
        None => sealing::plaintext_mask(plaintext),
    };
    let mut components: Vec<&Component> = bundle.components.iter().collect();
    components.sort_by(|a, b| a.id.cmp(&b.id));
    let mut files = Vec::new();
    let mut entries = Vec::new();
    let mut images = images::Collector::new(image_settings);
    let mut secrets = Vec::new();
    for component in components {
        let dir = component_dir(&component.id);
        let mut objects = Vec::new();
        let mut component_images = BTreeSet::new();
        let mut taken = BTreeSet::new();
        let mut sorted: Vec<(ObjectKey, &Object)> = component
            .objects
            .iter()
            .map(|o| ObjectKey::of(&o.value).map(|k| (k, o)))
            .collect::<Result<_, _>>()
            .within(&component.id)?;
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, object) in sorted {
            let namespace_dir = if key.namespace.is_empty() {
                "_cluster"
            } else {
                &key.namespace
            };
            let path = format!(
                "objects/{dir}/{namespace_dir}/{}.{}.yaml",
                key.kind.to_lowercase(),
                key.name
            );
            if !taken.insert(path.clone()) {
                return Err(Error::new(format!(
                    "two objects of kind {} named {} in one namespace (different API groups are not supported yet)",
                    key.kind, key.name
                ))
                .within(&component.id));
            }
            let sealed;
            let value = if sealing::is_core_secret(&object.value) {
                let values = sealing::has_values(&object.value);
                secrets.push(SecretEntry {
                    component: component.id.clone(),
                    object: ObjectRef {
                        api_version: "v1".to_string(),
                        kind: key.kind.clone(),
                        namespace: key.namespace.clone(),
                        name: key.name.clone(),
                    },
                    values: match (values, sealer) {
                        (false, _) => SecretValues::None,
                        (true, None) => SecretValues::Plaintext,
                        (true, Some(_)) => SecretValues::Sealed,
                    },
                    source: object.source.clone(),
                    review: sealing::review(&object.value, decrypted, &mask)
                        .map_err(Error::new)
                        .within(&component.id)?,
                });
                match sealer {
                    Some(sealer) => {
                        sealed = sealer.seal(&object.value).within(&component.id)?;
                        &sealed
                    }
                    None => &object.value,
                }
            } else {
                &object.value
            };
            let bytes = yaml::to_kyaml(value).into_bytes();
            component_images.extend(images.object(&component.id, &key, object));
            objects.push(ObjectEntry {
                api_version: object.value["apiVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                kind: key.kind,
                namespace: key.namespace,
                name: key.name,
                path: path.clone(),
                sha256: sha256::hex(&bytes),
                apply: object.apply,
                decrypted: if sealing::is_core_secret(&object.value) {
                    BTreeMap::new()
                } else {
                    decrypted.masked_leaves(&object.value, &mask)
                },
            });
            files.push(File { path, bytes });
        }
        images.chart_lists(&component.id, &component.chart_images);
        entries.push(ComponentEntry {
            id: component.id.clone(),
            kind: component.kind,
            parent: component.parent.clone(),
            depends_on: component.depends_on.clone(),
            timeout: component.timeout.clone(),
            release: component.release.clone(),
            source: component.source.clone(),
            health_checks: component.health_checks.clone(),
            kustomization: component.kustomization,
            service_account: component.service_account.clone(),
            objects,
            images: component_images,
        });
    }
    let (images, relocation, warnings) = images.finish();
    let mut sources = bundle.sources.clone();
    sources.sort();
    sources.dedup();
    let index = Index {
        schema: Some(index::INDEX_SCHEMA_URL.to_string()),
        api_version: INDEX_API_VERSION.to_string(),
        kind: BUNDLE_KIND.to_string(),
        environment: bundle.environment.clone(),
        kube_version: bundle.kube_version.clone(),
        sources,
        components: entries,
        images,
        relocation,
        secrets,
        sealing: sealer.map(sealing::Sealer::entry),
    };
    let mut index_bytes = serde_json::to_vec_pretty(&index)
        .map_err(|e| Error::new(format!("cannot encode the bundle index: {e}")))?;
    index_bytes.push(b'\n');
    let digest = format!("sha256:{}", sha256::hex(&index_bytes));
    files.push(File {
        path: "index.json".to_string(),
        bytes: index_bytes,
    });
    files.push(File {
        path: "digest".to_string(),
        bytes: format!("{digest}\n").into_bytes(),
    });
    Ok((
        files,
        Written {
            digest,
            index,
            warnings,
        },
    ))
}

/// The directory name of a component: its id with `/` replaced, so that every component
/// is one directory level (`HelmRelease/bigbang/logging` → `helmrelease.bigbang.logging`).
pub fn component_dir(id: &str) -> String {
    id.replace('/', ".").to_lowercase()
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(format!("cannot {what} {}: {e}", path.display()))
}

/// Turns the earlier bundle in `out` into `files`: the digest goes first (so that the
/// bundle reads as incomplete until the end), changed files are replaced through a
/// temporary sibling, files no longer listed are removed, and the digest comes last.
/// Rewriting only what changed keeps a warm build from recreating hundreds of files.
fn update_in_place(out: &Path, files: &[File]) -> Result<(), Error> {
    let digest_path = out.join("digest");
    if let Err(e) = fs::remove_file(&digest_path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(io_error("remove", &digest_path, e));
    }
    let (digest, contents): (Vec<&File>, Vec<&File>) =
        files.iter().partition(|file| file.path == "digest");
    for file in contents {
        let path = out.join(&file.path);
        let unchanged = fs::metadata(&path).is_ok_and(|m| m.len() == file.bytes.len() as u64)
            && fs::read(&path).is_ok_and(|bytes| bytes == file.bytes);
        if !unchanged {
            write_file(&path, &file.bytes)?;
        }
    }
    let listed: BTreeSet<PathBuf> = files.iter().map(|file| out.join(&file.path)).collect();
    remove_unlisted(out, &listed)?;
    for file in digest {
        write_file(&out.join(&file.path), &file.bytes)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = PathBuf::from(temp);
    fs::write(&temp, bytes).map_err(|e| io_error("write", &temp, e))?;
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("move into place", path, e)
    })
}

/// Removes every file under `dir` that `listed` lacks, and directories left empty.
fn remove_unlisted(dir: &Path, listed: &BTreeSet<PathBuf>) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("read", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error("read", dir, e))?.path();
        let kind = fs::symlink_metadata(&path).map_err(|e| io_error("read", &path, e))?;
        if kind.is_dir() {
            remove_unlisted(&path, listed)?;
            let empty = fs::read_dir(&path)
                .map_err(|e| io_error("read", &path, e))?
                .next()
                .is_none();
            if empty {
                fs::remove_dir(&path).map_err(|e| io_error("remove", &path, e))?;
            }
        } else if !listed.contains(&path) {
            fs::remove_file(&path).map_err(|e| io_error("remove", &path, e))?;
        }
    }
    Ok(())
}

/// Writes `files` into a fresh sibling of `out` (absent or empty), then renames it into
/// place.
fn replace_dir(out: &Path, files: &[File]) -> Result<(), Error> {
    if out.exists() {
        let is_empty = fs::read_dir(out)
            .map_err(|e| io_error("read", out, e))?
            .next()
            .is_none();
        if !is_empty {
            return Err(Error::new(format!(
                "{} exists and is not a crunch bundle: refusing to replace it",
                out.display()
            )));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| io_error("create", &parent, e))?;
    let name = out
        .file_name()
        .ok_or_else(|| Error::new(format!("{} is not a directory name", out.display())))?
        .to_string_lossy()
        .into_owned();
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io_error("remove", &staging, e))?;
    }
    let written = files.iter().try_for_each(|file| {
        let path = staging.join(&file.path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
        }
        fs::write(&path, &file.bytes).map_err(|e| io_error("write", &path, e))
    });
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if out.exists() {
        // Empty, as checked above: rename cannot replace a directory that has entries.
        fs::remove_dir(out).map_err(|e| io_error("remove", out, e))?;
    }
    fs::rename(&staging, out).map_err(|e| io_error("move into place", out, e))?;
    Ok(())
}

/// A bundle of one environment component `dev` holding `objects` (applied), for tests.
#[cfg(test)]
pub(crate) fn environment_bundle(objects: Vec<Value>) -> Bundle {
    Bundle {
        environment: "dev".into(),
        kube_version: "v1.33.0".into(),
        sources: vec![],
        components: vec![Component {
            objects: objects
                .into_iter()
                .map(|value| Object {
                    value,
                    apply: true,
                    source: None,
                })
                .collect(),
            ..Component::new("dev", ComponentKind::Environment, None)
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Bundle {
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "logging"},
            "spec": {"template": {"spec": {"containers": [{"name": "w", "image": "reg/web:1"}]}}}});
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "logging"}});
        Bundle {
            environment: "dev".into(),
            kube_version: "v1.33.0".into(),
            sources: vec![],
            components: vec![Component {
                id: "HelmRelease/bigbang/logging".into(),
                kind: ComponentKind::HelmRelease,
                parent: Some("dev".into()),
                depends_on: vec![],
                timeout: Some("10m".into()),
                release: Some(ReleaseEntry {
                    name: "logging-logging".into(),
                    namespace: "logging".into(),
                    ..ReleaseEntry::default()
                }),
                source: None,
                health_checks: vec![],
                kustomization: None,
                service_account: None,
                objects: vec![
                    Object {
                        value: deploy,
                        apply: true,
                        source: None,
                    },
                    Object {
                        value: ns,
                        apply: true,
                        source: None,
                    },
                ],
                chart_images: vec![],
            }],
        }
    }

    #[test]
    fn layout_is_sorted_and_indexed() {
        let (files, written) = layout(
            &sample(),
            None,
            &Taint::default(),
            &ImageSettings::default(),
        )
        .unwrap();
        let digest = written.digest;
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "objects/helmrelease.bigbang.logging/_cluster/namespace.logging.yaml",
                "objects/helmrelease.bigbang.logging/logging/deployment.web.yaml",
                "index.json",
                "digest"
            ]
        );
        assert!(digest.starts_with("sha256:") && digest.len() == 71);
        let index: Value = serde_json::from_slice(&files[2].bytes).unwrap();
        assert_eq!(index, serde_json::to_value(&written.index).unwrap());
        assert_eq!(
            index["images"],
            json!([{"image": "docker.io/reg/web:1", "usedBy": [{
                "component": "HelmRelease/bigbang/logging", "kind": "Deployment",
                "namespace": "logging", "name": "web",
                "field": "spec.template.spec.containers[0].image"}]}])
        );
        assert_eq!(
            index["components"][0]["images"],
            json!(["docker.io/reg/web:1"])
        );
        assert_eq!(index["components"][0]["objects"][1]["name"], "web");
    }

    #[test]
    fn write_replaces_an_earlier_bundle_but_not_other_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = write(&sample(), &out, &Secrets::Plaintext).unwrap().digest;
        let second = write(&sample(), &out, &Secrets::Plaintext).unwrap().digest;
        assert_eq!(first, second);
        assert_eq!(
            fs::read_to_string(out.join("digest")).unwrap(),
            format!("{first}\n")
        );
        // What the earlier bundle had beyond the new one, or changed, is made right.
        fs::write(out.join("objects/stray.yaml"), "x").unwrap();
        let listed = read(&out).unwrap_err();
        assert!(listed.to_string().contains("stray"), "{listed}");
        let index = fs::read_to_string(out.join("index.json")).unwrap();
        let object = index
            .lines()
            .find_map(|l| l.trim().strip_prefix("\"path\": \""))
            .and_then(|l| l.strip_suffix("\","))
            .unwrap()
            .to_string();
        fs::write(out.join(&object), "tampered").unwrap();
        assert_eq!(
            write(&sample(), &out, &Secrets::Plaintext).unwrap().digest,
            first
        );
        assert_eq!(read(&out).unwrap().digest, first);
        assert!(!out.join("objects/stray.yaml").exists());
        let other = tmp.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::write(other.join("keep.txt"), "x").unwrap();
        let e = write(&sample(), &other, &Secrets::Plaintext).unwrap_err();
        assert!(e.to_string().contains("not a crunch bundle"), "{e}");
        assert!(other.join("keep.txt").exists());
    }
}
