//! [`Store`]: resolves (url, reference) to a commit, fetches it, and hands out checked-out
//! trees from the content-addressed cache, honouring mirrors, the lock and `--offline`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::artifact::{self, Rules};
use super::blobs::{Blobs, Used};
use super::checkout::{CheckoutError, checkout};
use super::compose::{self, ArtifactRecipe, StageError};
use super::error::{Error, Location, chain};
use super::lock::{Lock, Pin};
use super::mirror::Mirrors;
use super::reference::{Reference, is_full_commit_id};
use super::remote::{self, BasicAuth, Endpoint, RemoteError, RemoteRef};
use super::url::split_userinfo;
use crate::semver::{Constraints, Version};

/// How a [`Store`] behaves.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The cache root: bare repositories under `git/`, checked-out trees under `trees/`.
    pub cache_dir: PathBuf,
    /// URL prefix rewrites applied before fetching.
    pub mirrors: Mirrors,
    /// No network: only the lock and the cache are used.
    pub offline: bool,
    /// Resolve every reference again instead of using the lock's pins (`--update`).
    /// Ignored when `offline`: without the network the lock is all there is.
    pub update: bool,
    /// Basic-auth credentials by URL prefix, matched (longest prefix first) against the
    /// URL actually fetched, i.e. after mirroring. Credentials in a URL's userinfo win.
    pub credentials: Vec<(String, BasicAuth)>,
    /// A PEM bundle of extra CA certificates trusted for https.
    pub ca_file: Option<PathBuf>,
    /// The pins loaded from `crunch.lock`.
    pub lock: Lock,
}

impl StoreConfig {
    /// A configuration with the given cache directory, no mirrors, no credentials, online,
    /// honouring an empty lock.
    pub fn new(cache_dir: PathBuf) -> StoreConfig {
        StoreConfig {
            cache_dir,
            mirrors: Mirrors::default(),
            offline: false,
            update: false,
            credentials: Vec::new(),
            ca_file: None,
            lock: Lock::default(),
        }
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/crunch`, else `~/.cache/crunch`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|dir| dir.join("crunch"))
}

/// Where a [`Tree`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The URL as requested, before mirroring, without credentials.
    pub url: String,
    /// The URL fetched from (after mirroring), without credentials.
    pub fetched_url: String,
    /// The reference as requested.
    pub reference: Reference,
    /// The commit checked out (40 lowercase hex digits).
    pub commit: String,
    /// The commit's root tree (40 lowercase hex digits); also the cache directory name.
    pub tree_id: String,
}

/// An immutable checked-out source tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The directory holding the files; shared by every source with the same content,
    /// which its name is a digest of. Never write to it.
    pub root: PathBuf,
    /// Where the tree came from.
    pub origin: Origin,
}

/// Fetches git sources into a cache and hands out their trees. `Sync`: call it from
/// many threads at once; fetches of one repository are serialised.
pub struct Store {
    pub(super) config: StoreConfig,
    pub(super) ca_pem: Option<Arc<Vec<u8>>>,
    /// Pins resolved (or used) during this run; they win over `config.lock`.
    pub(super) resolved: Mutex<Lock>,
    /// One mutex per cached repository, so that two threads never write one at once.
    repo_locks: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    /// The cache entries this run used (trees, blobs, signature records).
    used: Used,
}

/// The requested and fetched URLs of one call, and how to reach the latter.
struct Target {
    location: Location,
    endpoint: Endpoint,
    git_dir: PathBuf,
}

impl Target {
    /// The location, as errors carry it.
    fn location(&self) -> Box<Location> {
        Box::new(self.location.clone())
    }
}

impl Store {
    /// Creates a store; reads `ca_file` now so that a bad path fails early.
    pub fn new(config: StoreConfig) -> Result<Store, Error> {
        let ca_pem = match &config.ca_file {
            Some(path) => Some(Arc::new(std::fs::read(path).map_err(|source| {
                Error::Io {
                    path: path.clone(),
                    source,
                }
            })?)),
            None => None,
        };
        Ok(Store {
            config,
            ca_pem,
            resolved: Mutex::new(Lock::default()),
            repo_locks: Mutex::new(HashMap::new()),
            used: Used::default(),
        })
    }

    /// Every cache entry this run used, by its `/`-separated path below the cache
    /// directory (`trees/<id>`, `blobs/sha256/<hex>`, `signatures/<hex>`), sorted: with
    /// the lock, all an offline build of the same inputs needs ([`super::vendor`]).
    pub fn used(&self) -> Vec<String> {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Notes that this run used the cache entry `path` (below the cache directory).
    pub(super) fn note_used(&self, path: String) {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path);
    }

    /// The blob cache, noting what this run reads and stores.
    pub(super) fn blobs(&self) -> Blobs {
        Blobs::noting(&self.config.cache_dir, self.used.clone())
    }

    /// The cache directory: trees, artifacts and repositories live under it, and other
    /// content-addressed caches may keep their entries beside them.
    pub fn cache_dir(&self) -> &Path {
        &self.config.cache_dir
    }

    /// The tree of `url` at `reference`.
    ///
    /// A pin in the lock (unless `update`) or one made earlier in this run is used as is;
    /// otherwise the reference is resolved against the remote and pinned. The tree comes
    /// from the cache when present, else from the cached repository, else it is fetched
    /// (depth 1) from the mirrored URL.
    pub fn git(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let target = self.target(url);
        let reference = validate(&target.location.url, reference)?;
        let repo_lock = self.repo_lock(&target.git_dir);
        let _guard = repo_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _file_guard = self.lock_across_processes(&target.git_dir)?;
        let url = target.location.url.as_str();
        let known = self.resolved_pin(url, &reference).or_else(|| {
            (!self.config.update || self.config.offline)
                .then(|| self.config.lock.get(url, &reference).cloned())
                .flatten()
        });
        let pin = match known {
            Some(pin) => {
                self.materialize_pinned(&target, &reference, &pin)?;
                pin
            }
            None => self.resolve_and_materialize(&target, &reference)?,
        };
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(url, &reference, pin.clone());
        self.note_used(format!("trees/{}", pin.tree));
        Ok(Tree {
            root: self.tree_dir(&pin.tree),
            origin: Origin {
                url: target.location.url,
                fetched_url: target.location.fetched_url,
                reference,
                commit: pin.commit,
                tree_id: pin.tree,
            },
        })
    }

    /// `tree` (a checkout) as Flux's source-controller would archive it for a
    /// GitRepository whose `recipe` is given: staged first when the recipe filters or adds
    /// to the checkout (sparse checkout, includes; see [`ArtifactRecipe`]), then without
    /// the VCS files, the `.sourceignore`d and `spec.ignore`d ones (or, when neither gives
    /// a pattern, the default exclusions), and without symlinks. Cached under
    /// `<cache>/artifacts/`, keyed by the checkout's content (its directory's name) and the
    /// recipe (the `.sourceignore` files are part of the content).
    pub fn flux_artifact(&self, tree: &Tree, recipe: &ArtifactRecipe) -> Result<Tree, Error> {
        // The version changes whenever the rules' implementation does.
        let key = format!(
            "artifact-v2\0{}\0{}",
            compose::content_name(tree),
            recipe.key()
        );
        let parent = self.config.cache_dir.join("artifacts");
        let dest = parent.join(crate::gostd::sha256::hex(&key));
        let artifact = Tree {
            root: dest.clone(),
            origin: tree.origin.clone(),
        };
        if dest.is_dir() {
            return Ok(artifact);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let staged = recipe.stages().then(|| remote::tempdir_beside(&dest));
        let result = (|| {
            let source = match &staged {
                Some(staging) => {
                    compose::stage(&tree.root, recipe, staging).map_err(|e| match e {
                        StageError::Io(path, source) => Error::Io { path, source },
                        StageError::Refused(message) => Error::Artifact {
                            url: tree.origin.url.clone(),
                            commit: tree.origin.commit.clone(),
                            message,
                        },
                    })?;
                    staging.as_path()
                }
                None => tree.root.as_path(),
            };
            self.archive(
                source,
                (&tree.origin.url, &tree.origin.commit),
                recipe.ignore,
                &dest,
            )
        })();
        if let Some(staging) = &staged {
            // Best effort: the staging copy is hard links and directories only.
            let _ = std::fs::remove_dir_all(staging);
        }
        result.map(|()| artifact)
    }

    /// Writes the files of `source` that the ignore rules keep into `dest`, through a
    /// temporary directory renamed into place.
    /// `(url, revision)` name the source in errors.
    pub(super) fn archive(
        &self,
        source: &Path,
        (url, revision): (&str, &str),
        spec_ignore: Option<&str>,
        dest: &Path,
    ) -> Result<(), Error> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let files = artifact::ignore_files(source).map_err(io(source))?;
        let rules = Rules::new(&files, spec_ignore).map_err(|e| Error::IgnorePattern {
            url: url.to_string(),
            commit: revision.to_string(),
            message: e.to_string(),
        })?;
        let temp = remote::tempdir_beside(dest);
        if let Err(source) = artifact::write(source, &rules, &temp) {
            // Best effort: debris must not outlive the failure, whose error matters more.
            let _ = std::fs::remove_dir_all(&temp);
            return Err(Error::Io { path: temp, source });
        }
        if let Err(source) = std::fs::rename(&temp, dest) {
            let _ = std::fs::remove_dir_all(&temp);
            // Another thread or process may have won the race with the same content.
            if !dest.is_dir() {
                return Err(Error::Io {
                    path: dest.to_path_buf(),
                    source,
                });
            }
        }
        Ok(())
    }

    /// The submodules of a fetched `tree` as a recursive clone sees them: each entry of
    /// its `.gitmodules` (in file order) with the commit its gitlink records. An entry
    /// without a gitlink at its path fails, as go-git's update does.
    pub fn submodules(&self, tree: &Tree) -> Result<Vec<Submodule>, Error> {
        let modules_file = tree.root.join(".gitmodules");
        let Ok(bytes) = std::fs::read(&modules_file) else {
            return Ok(Vec::new());
        };
        let target = self.target(&tree.origin.url);
        let failed = |message: String| Error::Submodule {
            url: tree.origin.url.clone(),
            commit: tree.origin.commit.clone(),
            message,
        };
        let modules =
            gix::submodule::File::from_bytes(&bytes, None::<PathBuf>, &Default::default())
                .map_err(|e| failed(format!(".gitmodules: {e}")))?;
        let repo = self.open_repo(&target, &tree.origin.reference)?;
        let tree_id = parse_id(&tree.origin.tree_id, &target, &tree.origin.reference)?;
        let index = repo
            .index_from_tree(&tree_id)
            .map_err(|e| failed(format!("cannot read tree {tree_id}: {}", chain(&e))))?;
        let mut found = Vec::new();
        for name in modules.names() {
            let path = modules
                .path(name)
                .map_err(|e| failed(e.to_string()))?
                .to_string();
            let url = modules
                .config()
                .string_by("submodule", Some(name), "url")
                .filter(|url| !url.is_empty())
                .ok_or_else(|| failed(format!("submodule '{name}' has no url")))?
                .to_string();
            let gitlink = index
                .entries()
                .iter()
                .find(|e| e.mode == gix::index::entry::Mode::COMMIT && e.path(&index) == path)
                .ok_or_else(|| {
                    failed(format!(
                        "submodule '{name}': no gitlink at {path} in the tree"
                    ))
                })?;
            found.push(Submodule {
                name: name.to_string(),
                url: resolve_submodule_url(&tree.origin.url, &url),
                path,
                commit: gitlink.id.to_string(),
            });
        }
        Ok(found)
    }

    /// `tree` with the checkouts of its submodules in place, as a recursive go-git clone
    /// leaves it; cached under `<cache>/recursive/`, keyed by the checkouts' contents.
    /// `modules` holds the submodules at every depth, each after the one containing it.
    /// The origin stays the superproject's.
    pub fn with_submodules(&self, tree: &Tree, modules: &[PlacedSubmodule]) -> Result<Tree, Error> {
        let mut key = format!("recursive-v1\0{}", compose::content_name(tree));
        for module in modules {
            key.push_str(&format!(
                "\0{}\0{}\0{}",
                module.path,
                module.git_dir,
                compose::content_name(&module.checkout)
            ));
        }
        let parent = self.config.cache_dir.join("recursive");
        let dest = parent.join(crate::gostd::sha256::hex(&key));
        let composed = Tree {
            root: dest.clone(),
            origin: tree.origin.clone(),
        };
        if dest.is_dir() {
            return Ok(composed);
        }
        let temp = remote::tempdir_beside(&dest);
        let result = std::fs::create_dir_all(&parent)
            .and_then(|()| compose::link_all(&tree.root, &temp))
            .and_then(|()| {
                modules.iter().try_for_each(|module| {
                    compose::place_submodule(
                        &temp,
                        &module.path,
                        &module.git_dir,
                        &module.checkout.root,
                    )
                })
            })
            .and_then(|()| match std::fs::rename(&temp, &dest) {
                // Another thread or process may have won the race with the same content.
                Err(_) if dest.is_dir() => std::fs::remove_dir_all(&temp),
                other => other,
            });
        if let Err(source) = result {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(Error::Io { path: dest, source });
        }
        Ok(composed)
    }

    /// The raw commit object `commit` of `url`, as the cached repository holds it (for
    /// signature checks): the object a [`Store::git`] of `url` fetched.
    pub fn commit_object(&self, url: &str, commit: &str) -> Result<Vec<u8>, Error> {
        let target = self.target(url);
        let repo_lock = self.repo_lock(&target.git_dir);
        let _guard = repo_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let fail = |message: String| Error::Git {
            location: target.location(),
            action: format!("read commit {commit} of"),
            message,
        };
        let repo = gix::open(&target.git_dir).map_err(|e| fail(chain(&e)))?;
        read_commit(&repo, commit).map_err(fail)
    }

    /// The lock as it should be written after this run: the loaded pins, replaced and
    /// extended by every pin resolved or used in this run. Deterministic whatever the
    /// order in which parallel fetches finished.
    pub fn lock_snapshot(&self) -> Lock {
        let mut lock = self.config.lock.clone();
        lock.merge(&self.resolved.lock().unwrap_or_else(PoisonError::into_inner));
        lock
    }

    fn resolved_pin(&self, url: &str, reference: &Reference) -> Option<Pin> {
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url, reference)
            .cloned()
    }

    fn target(&self, url: &str) -> Target {
        let (requested, url_auth) = split_userinfo(url);
        let mirrored = self.config.mirrors.rewrite(&requested);
        let rewritten = mirrored != requested;
        let (fetched, mirror_auth) = split_userinfo(&mirrored);
        let configured = self
            .config
            .credentials
            .iter()
            .filter(|(prefix, _)| fetched.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, auth)| auth.clone());
        // The requested URL's own credentials are never sent to a different (mirror) host.
        let auth = mirror_auth
            .or(if rewritten { None } else { url_auth })
            .or(configured);
        let git_dir = self
            .config
            .cache_dir
            .join("git")
            .join(crate::gostd::sha256::hex(&requested));
        Target {
            endpoint: Endpoint {
                url: fetched.clone(),
                auth,
                ca_pem: self.ca_pem.clone(),
            },
            location: Location {
                url: requested,
                fetched_url: fetched,
            },
            git_dir,
        }
    }

    fn repo_lock(&self, git_dir: &Path) -> Arc<Mutex<()>> {
        self.repo_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(git_dir.to_path_buf())
            .or_default()
            .clone()
    }

    /// Another crunch process may use the same cache: an advisory file lock beside the
    /// repository serialises them too. Released when the returned file is dropped.
    fn lock_across_processes(&self, git_dir: &Path) -> Result<std::fs::File, Error> {
        let path = git_dir.with_extension("lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    fn tree_dir(&self, tree: &str) -> PathBuf {
        self.config.cache_dir.join("trees").join(tree)
    }

    /// Makes the pinned tree available: from the tree cache, the repository cache, or
    /// (online) by fetching the pinned commit.
    fn materialize_pinned(
        &self,
        target: &Target,
        reference: &Reference,
        pin: &Pin,
    ) -> Result<(), Error> {
        if self.tree_dir(&pin.tree).is_dir() {
            return Ok(());
        }
        let commit = parse_id(&pin.commit, target, reference)?;
        let repo = self.open_repo(target, reference)?;
        let tree = match commit_tree(&repo, commit) {
            Some(tree) => tree,
            None if self.config.offline => {
                return Err(Error::OfflineUncached {
                    url: target.location.url.clone(),
                    reference: reference.clone(),
                    commit: pin.commit.clone(),
                    cache: self.config.cache_dir.clone(),
                });
            }
            None => self.fetch(&repo, target, reference, commit)?.1,
        };
        if tree != pin.tree {
            return Err(Error::TreeMismatch {
                location: target.location(),
                commit: pin.commit.clone(),
                expected: pin.tree.clone(),
                actual: tree.to_string(),
            });
        }
        self.write_tree(&repo, target, &pin.commit, tree)
    }

    fn resolve_and_materialize(
        &self,
        target: &Target,
        reference: &Reference,
    ) -> Result<Pin, Error> {
        let repo = self.open_repo(target, reference)?;
        let wanted = match reference {
            Reference::Commit(commit) => parse_id(commit, target, reference)?,
            _ if self.config.offline => {
                return Err(Error::OfflineUnlocked {
                    url: target.location.url.clone(),
                    reference: reference.clone(),
                });
            }
            _ => self.resolve(&repo, target, reference)?,
        };
        let (commit, tree) = match peel_to_commit(&repo, wanted) {
            Some(found) => found,
            None if self.config.offline => {
                return Err(Error::OfflineUncached {
                    url: target.location.url.clone(),
                    reference: reference.clone(),
                    commit: wanted.to_string(),
                    cache: self.config.cache_dir.clone(),
                });
            }
            None => self.fetch(&repo, target, reference, wanted)?,
        };
        self.write_tree(&repo, target, &commit.to_string(), tree)?;
        Ok(Pin {
            commit: commit.to_string(),
            tree: tree.to_string(),
        })
    }

    /// Asks the remote which object `reference` names.
    fn resolve(
        &self,
        repo: &gix::Repository,
        target: &Target,
        reference: &Reference,
    ) -> Result<gix::ObjectId, Error> {
        let patterns = match reference {
            Reference::Commit(_) => Vec::new(),
            Reference::Name(name) => vec![name.clone()],
            Reference::Semver(_) => vec!["refs/tags/*".to_string()],
            Reference::Tag(tag) => vec![format!("refs/tags/{tag}")],
            Reference::Branch(branch) => vec![format!("refs/heads/{branch}")],
            Reference::Kustomize(name) if name == "HEAD" || name.starts_with("refs/") => {
                vec![name.clone()]
            }
            Reference::Kustomize(name) => {
                vec![format!("refs/tags/{name}"), format!("refs/heads/{name}")]
            }
        };
        let refs = remote::list(repo, &target.endpoint, &patterns).map_err(|e| {
            let action = format!("list the references (looking for {reference}) of");
            self.remote_error(e, target, &action)
        })?;
        let no_such = || Error::NoSuchRef {
            location: target.location(),
            reference: reference.clone(),
        };
        let named = |name: &str| refs.iter().find(|r| r.name == name).map(|r| r.object);
        match reference {
            Reference::Semver(text) => {
                let range = Constraints::parse(text).map_err(|e| Error::InvalidReference {
                    url: target.location.url.clone(),
                    reference: reference.clone(),
                    message: e.to_string(),
                })?;
                highest_matching(&refs, &range, text, target)
            }
            Reference::Kustomize(name) => patterns
                .iter()
                .find_map(|pattern| named(pattern))
                .or_else(|| {
                    is_full_commit_id(name)
                        .then(|| gix::ObjectId::from_hex(name.to_ascii_lowercase().as_bytes()).ok())
                        .flatten()
                })
                .ok_or_else(no_such),
            _ => patterns.first().and_then(|p| named(p)).ok_or_else(no_such),
        }
    }

    /// Fetches `wanted` and returns the commit it peels to and that commit's tree.
    fn fetch(
        &self,
        repo: &gix::Repository,
        target: &Target,
        reference: &Reference,
        wanted: gix::ObjectId,
    ) -> Result<(gix::ObjectId, gix::ObjectId), Error> {
        let action = format!("fetch {wanted} ({reference}) from");
        remote::fetch_commit(repo, &target.endpoint, wanted)
            .map_err(|e| self.remote_error(e, target, &action))?;
        peel_to_commit(repo, wanted).ok_or_else(|| Error::Git {
            location: target.location(),
            action,
            message: "the fetched object is not a commit or a tag of one".into(),
        })
    }

    fn remote_error(&self, error: RemoteError, target: &Target, action: &str) -> Error {
        match error {
            RemoteError::Connect(message) => Error::Unreachable {
                location: target.location(),
                message,
            },
            RemoteError::Other(message) => Error::Git {
                location: target.location(),
                action: action.to_string(),
                message,
            },
        }
    }

    fn open_repo(&self, target: &Target, reference: &Reference) -> Result<gix::Repository, Error> {
        remote::open_or_init(&target.git_dir).map_err(|message| Error::Git {
            location: target.location(),
            action: format!(
                "open the cached repository {} for {reference} of",
                target.git_dir.display()
            ),
            message,
        })
    }

    /// Checks `tree` out into the tree cache unless it is there: into a temporary
    /// directory first, renamed into place, so a tree directory is never half-written.
    fn write_tree(
        &self,
        repo: &gix::Repository,
        target: &Target,
        commit: &str,
        tree: gix::ObjectId,
    ) -> Result<(), Error> {
        let dest = self.tree_dir(&tree.to_string());
        if dest.is_dir() {
            return Ok(());
        }
        let parent = self.config.cache_dir.join("trees");
        std::fs::create_dir_all(&parent).map_err(|source| Error::Io {
            path: parent.clone(),
            source,
        })?;
        let temp = remote::tempdir_beside(&dest);
        let result = checkout(repo, tree, &temp);
        if result.is_err() {
            // Best effort: a failed checkout must not leave debris; its error matters more.
            let _ = std::fs::remove_dir_all(&temp);
        }
        result.map_err(|e| match e {
            CheckoutError::Escape { path, target: link } => Error::SymlinkEscape {
                location: target.location(),
                commit: commit.to_string(),
                path,
                target: link,
            },
            CheckoutError::Other(message) => Error::Git {
                location: target.location(),
                action: format!("check out commit {commit} of"),
                message,
            },
        })?;
        if let Err(source) = std::fs::rename(&temp, &dest) {
            let _ = std::fs::remove_dir_all(&temp);
            // Another thread or process may have won the race with the same content.
            if !dest.is_dir() {
                return Err(Error::Io { path: dest, source });
            }
        }
        Ok(())
    }
}

/// One entry of a superproject's `.gitmodules`, with the commit its gitlink records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submodule {
    /// Its name (the `[submodule "NAME"]` section).
    pub name: String,
    /// Its path in the superproject.
    pub path: String,
    /// Its URL, resolved against the superproject's when relative.
    pub url: String,
    /// The commit the superproject records (40 lowercase hex digits).
    pub commit: String,
}

/// A submodule's checkout and where a recursive clone puts it.
#[derive(Debug, Clone)]
pub struct PlacedSubmodule {
    /// Its path from the top superproject's root.
    pub path: String,
    /// Where go-git keeps its repository, from the top superproject's root
    /// (`.git/modules/NAME`, nested as `.git/modules/NAME/modules/NESTED`).
    pub git_dir: String,
    /// Its checkout (without its own submodules).
    pub checkout: Tree,
}

/// A submodule URL as a clone of the superproject at `base` resolves it: `./x` and
/// `../x` are joined to the superproject's URL path (go-git's `path.Join`, which agrees
/// with git's rule: `..` drops the superproject's last path segment); any other URL is
/// taken as written.
pub(crate) fn resolve_submodule_url(base: &str, url: &str) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    let (prefix, path) = match base.split_once("://") {
        Some((scheme, rest)) => match rest.find('/') {
            Some(slash) => (format!("{scheme}://{}", &rest[..slash]), &rest[slash..]),
            None => (format!("{scheme}://{rest}"), "/"),
        },
        // scp-like `host:path`, or a local path.
        None => match base.split_once(':') {
            Some((host, path)) if !host.contains('/') => (format!("{host}:"), path),
            _ => (String::new(), base),
        },
    };
    let mut parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in url.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let rooted = path.starts_with('/') || prefix.contains("://");
    let joined = parts.join("/");
    if rooted {
        format!("{prefix}/{joined}")
    } else {
        format!("{prefix}{joined}")
    }
}

/// Rejects references that cannot be acted on, and normalises commit ids to lowercase.
fn validate(url: &str, reference: &Reference) -> Result<Reference, Error> {
    let invalid = |message: &str| Error::InvalidReference {
        url: url.to_string(),
        reference: reference.clone(),
        message: message.to_string(),
    };
    match reference {
        Reference::Commit(id) if !is_full_commit_id(id) => Err(invalid(
            "a commit must be given as its full 40-digit hex id",
        )),
        Reference::Commit(id) => Ok(Reference::Commit(id.to_ascii_lowercase())),
        Reference::Semver(range) => match Constraints::parse(range) {
            Ok(_) => Ok(reference.clone()),
            Err(e) => Err(invalid(&e.to_string())),
        },
        Reference::Name(name) if !name.starts_with("refs/") => Err(invalid(
            "a reference name must be a full name starting with `refs/`",
        )),
        Reference::Tag(v) | Reference::Branch(v) | Reference::Kustomize(v) if v.is_empty() => {
            Err(invalid("empty name"))
        }
        _ => Ok(reference.clone()),
    }
}

/// The tag with the highest version in `range` (ties: the greatest tag name).
fn highest_matching(
    refs: &[RemoteRef],
    range: &Constraints,
    text: &str,
    target: &Target,
) -> Result<gix::ObjectId, Error> {
    let no_match = |versions| Error::NoMatchingTag {
        location: target.location(),
        range: text.to_string(),
        versions,
    };
    let versions: Vec<_> = refs
        .iter()
        .filter_map(|r| {
            let tag = r.name.strip_prefix("refs/tags/")?;
            Some((tag_version(tag)?, tag, r.object))
        })
        .collect();
    versions
        .iter()
        .filter(|(version, _, _)| range.check(version))
        .max_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)))
        .map(|(_, _, object)| *object)
        .ok_or_else(|| no_match(versions.len()))
}

/// A tag read as a version as Flux reads it (`fluxcd/pkg/version.ParseVersion`): a
/// strict semantic version, optionally after a `v`; other tags are not versions.
fn tag_version(tag: &str) -> Option<Version> {
    Version::parse_strict(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

fn parse_id(hex: &str, target: &Target, reference: &Reference) -> Result<gix::ObjectId, Error> {
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|e| Error::InvalidReference {
        url: target.location.url.clone(),
        reference: reference.clone(),
        message: chain(&e),
    })
}

/// The commit `id` peels to and its tree, if the object is in the repository.
fn peel_to_commit(
    repo: &gix::Repository,
    id: gix::ObjectId,
) -> Option<(gix::ObjectId, gix::ObjectId)> {
    let commit = repo.find_object(id).ok()?.peel_to_commit().ok()?;
    Some((commit.id, commit.tree_id().ok()?.detach()))
}

/// The tree of commit `id`, if the commit is in the repository.
fn commit_tree(repo: &gix::Repository, id: gix::ObjectId) -> Option<gix::ObjectId> {
    peel_to_commit(repo, id)
        .filter(|(commit, _)| *commit == id)
        .map(|(_, tree)| tree)
}

/// The raw bytes of the commit object `commit` in `repo`.
pub(crate) fn read_commit(repo: &gix::Repository, commit: &str) -> Result<Vec<u8>, String> {
    let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(|e| e.to_string())?;
    let object = repo.find_object(id).map_err(|e| chain(&e))?;
    if object.kind != gix::object::Kind::Commit {
        return Err(format!("{commit} is a {}, not a commit", object.kind));
    }
    Ok(object.data.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Store>();
    }

    #[test]
    fn invalid_references_are_rejected_early() {
        let err = validate("u", &Reference::Commit("abc".into())).unwrap_err();
        assert!(err.to_string().contains("full 40-digit"), "{err}");
        assert!(validate("u", &Reference::Semver(">=a.b".into())).is_err());
        assert!(validate("u", &Reference::Name("main".into())).is_err());
        assert_eq!(
            validate("u", &Reference::Commit("A".repeat(40))).unwrap(),
            Reference::Commit("a".repeat(40))
        );
    }

    #[test]
    fn relative_submodule_urls_resolve_against_the_superproject() {
        let resolve = resolve_submodule_url;
        let base = "https://example.com/org/super.git";
        assert_eq!(
            resolve(base, "../lib.git"),
            "https://example.com/org/lib.git"
        );
        assert_eq!(
            resolve(base, "./lib"),
            "https://example.com/org/super.git/lib"
        );
        assert_eq!(
            resolve(base, "../../other/lib"),
            "https://example.com/other/lib"
        );
        assert_eq!(
            resolve("https://example.com", "../lib"),
            "https://example.com/lib"
        );
        assert_eq!(
            resolve("git@example.com:org/super", "../lib"),
            "git@example.com:org/lib"
        );
        assert_eq!(resolve("/srv/git/super", "../lib"), "/srv/git/lib");
        assert_eq!(resolve(base, "ssh://git@other/lib"), "ssh://git@other/lib");
    }
}
