//! `crunch build`: settings → sources → Flux graph → bundle → lock.

use std::path::{Path, PathBuf};

use crate::config::{Config, Mirror};
use crate::error::Error;
use crate::source::{Lock, Mirrors, Store, StoreConfig, default_cache_dir};
use crate::{bundle, flux};

/// The name of the lock file, beside `crunch.yaml`.
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
        config.ca_file = std::env::var_os("GIT_SSL_CAINFO").map(PathBuf::from);
        Store::new(config).map_err(Error::new)
    }
}

/// What `crunch build` was asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The environment's kustomization directory.
    pub env_dir: PathBuf,
    /// Where the bundle goes.
    pub out: PathBuf,
    /// An explicit config file; otherwise `crunch.yaml` is searched upwards.
    pub config: Option<PathBuf>,
    /// How sources are fetched.
    pub sources: SourceOptions,
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// The bundle digest, `sha256:<hex>`.
    pub digest: String,
    /// How many components and objects the bundle holds.
    pub components: usize,
    /// Objects in all components.
    pub objects: usize,
    /// The lock file written (or verified, offline).
    pub lock: PathBuf,
}

/// Builds the environment into a bundle and updates the lock.
pub fn build(options: &BuildOptions) -> Result<BuildReport, Error> {
    let env_dir = &options.env_dir;
    if !env_dir.is_dir() {
        return Err(Error::new(format!(
            "{} is not a directory",
            env_dir.display()
        )));
    }
    let env_dir = env_dir
        .canonicalize()
        .map_err(|e| Error::new(format!("{}: {e}", env_dir.display())))?;
    let env_name = env_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "environment".to_string());
    let config_path = options.config.clone().or_else(|| Config::find(&env_dir));
    let config = match &config_path {
        Some(path) => Config::load(path, &env_name)?,
        None => Config::defaults(),
    };
    let lock_path = config_path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(&env_dir)
        .join(LOCK_FILE);
    let lock = Lock::load(&lock_path).map_err(Error::new)?;
    let store = options.sources.open(&config.mirrors, lock)?;
    let repo_root = config_path
        .as_deref()
        .and_then(Path::parent)
        .and_then(|dir| dir.canonicalize().ok())
        .or_else(|| env_dir.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| env_dir.clone());
    let environment = flux::Environment {
        dir: &env_dir,
        name: &env_name,
        root: &repo_root,
        config: &config,
    };
    let bundle = flux::build(&environment, &store)?;
    let digest = bundle::write(&bundle, &options.out)?;
    store
        .lock_snapshot()
        .write(&lock_path)
        .map_err(Error::new)?;
    Ok(BuildReport {
        digest,
        components: bundle.components.len(),
        objects: bundle.components.iter().map(|c| c.objects.len()).sum(),
        lock: lock_path,
    })
}
