//! The compile pipeline behind `crunch build`: settings → sources → Flux graph → bundle →
//! lock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use crate::config::{Config, Mirror};
use crate::error::Error;
use crate::progress::{Event, Progress};
use crate::source::{Lock, Mirrors, Store, StoreConfig, WorkingTree, default_cache_dir, vendor};
use crate::{bundle, flux, images, validate};

/// The name of the lock file, beside `crunch.yaml` (or `crunch.jsonnet`).
pub const LOCK_FILE: &str = "crunch.lock";

/// How sources are fetched, as the command line says.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Mirrors given on the command line; they win over the config's.
    pub mirrors: Vec<Mirror>,
    /// Only the lock and the cache; no network.
    pub offline: bool,
    /// Resolve references again instead of using the lock's pins.
    pub update: bool,
    /// The cache directory; the XDG cache dir when absent.
    pub cache_dir: Option<PathBuf>,
    /// A `crunch vendor` archive: its sources are added to the cache and its lock's pins
    /// win over the repository's.
    pub vendor: Option<PathBuf>,
}

impl SourceOptions {
    /// A store with these options, the config's mirrors after the command line's, and
    /// `lock`'s pins. An extra CA bundle for https comes from `GIT_SSL_CAINFO`, git's own
    /// variable for it.
    pub fn open(&self, config_mirrors: &[Mirror], lock: Lock) -> Result<Store, Error> {
        let cache_dir = self
            .cache_dir
            .clone()
            .or_else(default_cache_dir)
            .ok_or_else(|| {
                Error::new("no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME")
            })?;
        let mut config = StoreConfig::new(cache_dir);
        config.mirrors = Mirrors::new(
            self.mirrors
                .iter()
                .chain(config_mirrors)
                .map(|m| (m.from.clone(), m.to.clone())),
        );
        config.offline = self.offline;
        config.update = self.update;
        config.lock = lock;
        if let Some(archive) = &self.vendor {
            let vendored = vendor::import(archive, &config.cache_dir).map_err(Error::new)?;
            config.lock.merge(&vendored);
        }
        config.ca_file = std::env::var_os("GIT_SSL_CAINFO").map(PathBuf::from);
        Store::new(config).map_err(Error::new)
    }
}

/// What `crunch build` was asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// What the cluster gets first: a kustomization directory or a bootstrap manifest
    /// file (see [`flux::Environment::entry`]).
    pub entry: PathBuf,
    /// Where the bundle goes: a directory, an archive, or both.
    pub out: bundle::Destination,
    /// An explicit config file; otherwise `crunch.yaml` (or `crunch.jsonnet`) is searched
    /// upwards.
    pub config: Option<PathBuf>,
    /// How sources are fetched.
    pub sources: SourceOptions,
    /// Write Secret values in plaintext instead of sealing them (`--plaintext-secrets`).
    pub plaintext_secrets: bool,
    /// Also write a `crunch vendor` archive of every source the build used here.
    pub vendor_out: Option<PathBuf>,
    /// Relocate every image into this registry (`--relocate`).
    pub relocate: Option<String>,
    /// Fail, writing nothing, when the cluster profile's Kubernetes version would refuse
    /// a field or kind of the bundle (`--strict`); otherwise each is a warning.
    pub strict: bool,
}

/// What a build produced; `crunch build --output json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    /// The bundle digest, `sha256:<hex>`.
    pub digest: String,
    /// The bundle directory written, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<PathBuf>,
    /// The bundle archive written, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<PathBuf>,
    /// The lock file written (or verified, offline).
    pub lock: PathBuf,
    /// What the vendor archive holds, when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendored: Option<vendor::Vendored>,
    /// Every component, sorted by name.
    pub components: Vec<ComponentSummary>,
    /// Objects in all components.
    pub objects: usize,
    /// Every image the bundle needs, with its users, as the index lists them.
    pub images: Vec<bundle::ImageEntry>,
    /// Every source the build used (git trees, charts, OCI artifacts), sorted.
    pub sources: Vec<SourceSummary>,
    /// What the build noticed but did not refuse (encrypted values left encrypted, fields
    /// or kinds the profile's Kubernetes version would refuse).
    pub warnings: Vec<String>,
    /// How long each phase took.
    pub timings: Timings,
}

/// One component of a built bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentSummary {
    /// Its id, e.g. `HelmRelease/bigbang/logging`.
    pub name: String,
    /// How many objects it holds.
    pub objects: usize,
}

/// One source a build used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// The URL as the deployment names it.
    pub url: String,
    /// The reference as requested (`tag 1.0.0`).
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it resolved to: a commit, or `<version>@<digest>`.
    pub revision: String,
}

/// Wall time of each phase of a build, in seconds when serialized.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timings {
    /// Reading the config and the lock, opening the source store.
    #[serde(serialize_with = "seconds")]
    pub load: Duration,
    /// Fetching sources and rendering every component (fetches overlap rendering).
    #[serde(serialize_with = "seconds")]
    pub render: Duration,
    /// Writing the bundle and the lock.
    #[serde(serialize_with = "seconds")]
    pub write: Duration,
    /// The whole build.
    #[serde(serialize_with = "seconds")]
    pub total: Duration,
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// Builds the environment into a bundle and updates the lock, telling `progress` what
/// happens as it happens.
pub fn build(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, Error> {
    let started = Instant::now();
    let entry = &options.entry;
    if !entry.exists() {
        return Err(Error::new(format!("{} does not exist", entry.display())));
    }
    let entry = entry
        .canonicalize()
        .map_err(|e| Error::new(format!("{}: {e}", entry.display())))?;
    let env_dir = if entry.is_dir() {
        entry.clone()
    } else {
        entry.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let env_name = environment_name(&env_dir);
    let config_path = options.config.clone().or_else(|| Config::find(&env_dir));
    let config = match &config_path {
        Some(path) => Config::load(path, &env_name)?,
        None => Config::defaults(),
    };
    let config_dir = config_path
        .as_deref()
        .and_then(Path::parent)
        .and_then(|dir| dir.canonicalize().ok());
    let fallback = config_dir
        .clone()
        .or_else(|| env_dir.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| env_dir.clone());
    let working_tree =
        WorkingTree::discover(&env_dir, &fallback, &config.local).map_err(Error::new)?;
    // The customer repository: where crunch.yaml is, else the top of the git work tree.
    // Paths are shown relative to it, and the lock lives in it.
    let repo_root = config_dir.unwrap_or_else(|| working_tree.root().to_path_buf());
    let lock_path = repo_root.join(LOCK_FILE);
    let lock = Lock::load(&lock_path).map_err(Error::new)?;
    let store = options.sources.open(&config.mirrors, lock)?;
    let environment = flux::Environment {
        entry: &entry,
        name: &env_name,
        root: &repo_root,
        config: &config,
        working_tree: &working_tree,
    };
    let loaded = Instant::now();
    let mut built = flux::build(&environment, &store, progress)?;
    let rendered = Instant::now();
    let secrets = secrets_policy(&built, &config, options.plaintext_secrets)?;
    let version_warnings = validate::at_build(&built.bundle, options.strict, progress)?;
    progress.event(&Event::WritingBundle);
    let decrypted = bundle::Taint::new(built.secrets.plaintexts.iter().map(String::as_str));
    // Every source is fetched by now: this is the lock the build used.
    let lock = store.lock_snapshot();
    let images = image_settings(&mut built.bundle, &config, &lock, options)?;
    let written =
        bundle::write_reviewed(&built.bundle, &options.out, &secrets, &decrypted, &images)?;
    for warning in &written.warnings {
        progress.event(&Event::Warning { message: warning });
    }
    lock.write(&lock_path).map_err(Error::new)?;
    let vendored = match &options.vendor_out {
        Some(path) => Some(vendor::write(&store, &lock, path).map_err(Error::new)?),
        None => None,
    };
    let finished = Instant::now();
    progress.event(&Event::BundleWritten {
        elapsed: finished - rendered,
    });
    let written_warnings = written.warnings.clone();
    let mut report = summarize(written, options.out.clone(), lock_path);
    report.vendored = vendored;
    report.warnings = built.secrets.warnings;
    report.warnings.extend(written_warnings);
    report.warnings.extend(version_warnings);
    report.timings = Timings {
        load: loaded - started,
        render: rendered - loaded,
        write: finished - rendered,
        total: finished - started,
    };
    Ok(report)
}

/// The index's image settings: `images.extra`, `crunch.lock`'s image pins, and, with
/// `--relocate`, the bundle's images relocated.
fn image_settings(
    bundle: &mut bundle::Bundle,
    config: &Config,
    lock: &Lock,
    options: &BuildOptions,
) -> Result<bundle::ImageSettings, Error> {
    let pins = lock
        .images()
        .map(|(image, pin)| (image.to_string(), pin.digest.clone()))
        .collect();
    let mut images = bundle::ImageSettings::new(config.extra_images.clone(), pins);
    if let Some(registry) = &options.relocate {
        images.relocate(bundle, registry)?;
    }
    Ok(images)
}

/// The environment's name, as errors and `crunch.yaml`'s `environments` know it: the
/// directory's name, or for a cluster's `flux-system` the cluster's
/// (`clusters/prod/flux-system` is `prod`).
fn environment_name(dir: &Path) -> String {
    let name = |dir: &Path| dir.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(dir) {
        Some(own) if own == "flux-system" => dir.parent().and_then(name).unwrap_or(own),
        Some(own) => own,
        None => "environment".to_string(),
    }
}

/// How the bundle's Secret values are written: plaintext when asked for, else sealed to
/// the configured recipients. With neither, a bundle that has Secret values is refused
/// before anything is written; one without needs no choice.
fn secrets_policy(
    built: &flux::Built,
    config: &Config,
    plaintext: bool,
) -> Result<bundle::Secrets, Error> {
    if plaintext {
        return Ok(bundle::Secrets::Plaintext);
    }
    if !config.recipients.is_empty() {
        return Ok(bundle::Secrets::Sealed {
            recipients: config.recipients.clone(),
            // Secret, and stable while the SOPS files are not re-keyed: equal values seal
            // to equal text from build to build, so reviews see which ones changed.
            material: built.secrets.data_keys.iter().copied().collect(),
        });
    }
    match bundle::first_secret_with_values(&built.bundle) {
        None => Ok(bundle::Secrets::Plaintext),
        Some((component, secret)) => Err(Error::new(format!(
            "the bundle would hold Secret values in plaintext (the first: {secret} in {component}): set secrets.recipients in {} to seal them for the enclave's age keys, or pass --plaintext-secrets to write them in plaintext",
            config.path.as_deref().map_or_else(
                || crate::config::FILE_NAME.to_string(),
                |p| p.display().to_string()
            )
        ))),
    }
}

/// The report of a written bundle, timings left at zero: its index already holds the
/// components (sorted by id), images and sources (sorted, each once).
fn summarize(written: bundle::Written, out: bundle::Destination, lock: PathBuf) -> BuildReport {
    let index = written.index;
    let components: Vec<ComponentSummary> = index
        .components
        .iter()
        .map(|c| ComponentSummary {
            name: c.id.clone(),
            objects: c.objects.len(),
        })
        .collect();
    BuildReport {
        digest: written.digest,
        bundle: out.directory,
        archive: out.archive,
        lock,
        vendored: None,
        objects: components.iter().map(|c| c.objects).sum(),
        components,
        images: index.images,
        sources: index
            .sources
            .into_iter()
            .map(|s| SourceSummary {
                revision: s.revision(),
                url: s.url,
                reference: s.reference,
            })
            .collect(),
        warnings: Vec::new(),
        timings: Timings::default(),
    }
}

/// What `crunch images resolve` pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePins {
    /// The lock file written.
    pub lock: PathBuf,
    /// Every image the build names by tag, with the digest it is pinned to and whether
    /// this run looked it up (`false`: the lock's pin was kept).
    pub images: Vec<PinnedImage>,
    /// References that name no image a registry could serve, with why.
    pub skipped: Vec<String>,
}

/// One image pinned in the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinnedImage {
    /// The image, normalized, by tag.
    pub image: String,
    /// The manifest (or index) digest.
    pub digest: String,
    /// Whether the registry was asked this run.
    pub resolved: bool,
}

/// Pins the digest of every image that `images` (a build's) names by tag in the lock
/// at `lock_path`: a pin already there is kept unless `update`; otherwise the tag is
/// looked up (`platform`: the manifest of that platform in a multi-platform index), or,
/// `offline`, refused.
pub fn pin_images(
    images: &[bundle::ImageEntry],
    lock_path: &Path,
    platform: Option<&images::Platform>,
    access: &images::RegistryAccess,
    offline: bool,
    update: bool,
) -> Result<ImagePins, Error> {
    let mut lock = Lock::load(lock_path).map_err(Error::new)?;
    let mut pins = ImagePins {
        lock: lock_path.to_path_buf(),
        images: Vec::new(),
        skipped: Vec::new(),
    };
    let wanted_platform = platform.map(ToString::to_string);
    for entry in images {
        let image = match images::ImageRef::parse(&entry.image) {
            Ok(image) if image.digest().is_none() => image,
            Ok(_) => continue,
            Err(e) => {
                pins.skipped.push(e);
                continue;
            }
        };
        let key = image.to_string();
        let kept = lock
            .image(&key)
            .filter(|pin| !update && pin.platform == wanted_platform)
            .cloned();
        let (digest, resolved) = match kept {
            Some(pin) => (pin.digest, false),
            None if offline => {
                return Err(Error::new(format!(
                    "offline: {key} is not pinned in {} for {}; run crunch images resolve without --offline",
                    lock_path.display(),
                    wanted_platform.as_deref().unwrap_or("all platforms")
                )));
            }
            None => {
                let digest = images::resolve(&image, platform, access).map_err(Error::new)?;
                lock.record_image(
                    &key,
                    crate::source::ImagePin {
                        platform: wanted_platform.clone(),
                        digest: digest.clone(),
                    },
                );
                (digest, true)
            }
        };
        pins.images.push(PinnedImage {
            image: key,
            digest,
            resolved,
        });
    }
    lock.write(lock_path).map_err(Error::new)?;
    Ok(pins)
}
