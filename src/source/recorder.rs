//! A [`Store`] that remembers every tree it handed out, for the bundle's list of sources,
//! and tells a [`Progress`] observer about each source it fetches.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::{
    ArtifactRecipe, ChartArchive, ChartOrigin, ChartRequest, Error, OciArtifact,
    OciArtifactRequest, OciOrigin, Origin, PlacedSubmodule, Reference, Store, Tree, WorkingTree,
};
use crate::progress::{Event, Progress, Silent};

/// go-git's `DefaultSubmoduleRecursionDepth`, the recursion budget of a recursive clone:
/// the superproject's submodules are checked out with this budget, each level below with
/// one less, and a level checked out with none recurses no further (11 levels in all).
const SUBMODULE_RECURSION: usize = 10;

/// Fetches through a [`Store`] and records the [`Origin`] of every tree it returns.
/// Shared by the threads of one build.
pub struct Recorder<'a> {
    store: &'a Store,
    origins: Mutex<Vec<Origin>>,
    charts: Mutex<Vec<ChartOrigin>>,
    artifacts: Mutex<Vec<OciOrigin>>,
    /// Every (url, reference) asked for so far: each is reported to `progress` once,
    /// however many nodes share it.
    requested: Mutex<BTreeSet<(String, String)>>,
    progress: &'a dyn Progress,
}

impl<'a> Recorder<'a> {
    /// A recorder over `store` that has fetched nothing yet.
    pub fn new(store: &'a Store) -> Self {
        Self::with_progress(store, &Silent)
    }

    /// As [`Recorder::new`], reporting each source's fetch to `progress`.
    pub fn with_progress(store: &'a Store, progress: &'a dyn Progress) -> Self {
        Self {
            store,
            origins: Mutex::default(),
            charts: Mutex::default(),
            artifacts: Mutex::default(),
            requested: Mutex::default(),
            progress,
        }
    }

    /// The tree of `url` at `reference`, recorded.
    pub fn git(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        self.reported(url, &reference.to_string(), || self.fetch(url, reference))
    }

    /// Runs `fetch` of `url` at `shown`, telling `progress` when it starts and finishes the
    /// first time it is asked for.
    fn reported<T>(&self, url: &str, shown: &str, fetch: impl FnOnce() -> T) -> T {
        let first = self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((url.to_string(), shown.to_string()));
        if !first {
            return fetch();
        }
        let started = Instant::now();
        self.progress.event(&Event::FetchStarted {
            url,
            reference: shown,
        });
        let fetched = fetch();
        self.progress.event(&Event::FetchFinished {
            url,
            reference: shown,
            elapsed: started.elapsed(),
        });
        fetched
    }

    /// The chart `request` names (see [`Store::helm_chart`]), recorded.
    pub fn helm_chart(&self, request: &ChartRequest) -> Result<ChartArchive, Error> {
        let url = format!("{} chart {}", request.repository, request.chart);
        let shown = if request.version.is_empty() {
            "latest".to_string()
        } else {
            format!("version {}", request.version)
        };
        let archive = self.reported(&url, &shown, || self.store.helm_chart(request))?;
        self.charts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(archive.origin.clone());
        Ok(archive)
    }

    /// The OCI artifact `request` names (see [`Store::oci_artifact`]), recorded.
    pub fn oci_artifact(&self, request: &OciArtifactRequest) -> Result<OciArtifact, Error> {
        let shown = request.reference.lock_key();
        let artifact = self.reported(request.url, &shown, || self.store.oci_artifact(request))?;
        self.artifacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(artifact.origin.clone());
        Ok(artifact)
    }

    /// The files of an OCI artifact (see [`Store::oci_files`]; not recorded again: the
    /// artifact was).
    pub fn oci_files(
        &self,
        artifact: &OciArtifact,
        filter: bool,
        ignore: Option<&str>,
    ) -> Result<std::path::PathBuf, Error> {
        self.store.oci_files(artifact, filter, ignore)
    }

    /// The cache directory of the store recorded through.
    pub fn cache_dir(&self) -> &std::path::Path {
        self.store.cache_dir()
    }

    fn fetch(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let tree = self.store.git(url, reference)?;
        self.origins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tree.origin.clone());
        Ok(tree)
    }

    /// The working tree standing in for the GitRepository of `url` at `reference`,
    /// recorded.
    pub fn working_tree(
        &self,
        working_tree: &WorkingTree,
        url: &str,
        reference: &Reference,
    ) -> Result<Tree, Error> {
        let tree = working_tree.tree(self.store.cache_dir(), url, reference)?;
        self.origins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tree.origin.clone());
        Ok(tree)
    }

    /// The tree of `url` at `reference` with its submodules checked out at the commits
    /// it records, recursively, as source-controller's go-git clones with
    /// `spec.recurseSubmodules`: each submodule fetched through the store (locked,
    /// mirrored, cached) and recorded like any source.
    pub fn git_recursive(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let top = self.git(url, reference)?;
        let mut placed = Vec::new();
        self.submodules(&top, "", ".git", SUBMODULE_RECURSION, &mut placed)?;
        if placed.is_empty() {
            return Ok(top);
        }
        self.store.with_submodules(&top, &placed)
    }

    /// Fetches the submodules of `tree` (placed at `prefix` in the top superproject, its
    /// repository kept by go-git at `git_dir`) and, while `budget` lasts, theirs.
    fn submodules(
        &self,
        tree: &Tree,
        prefix: &str,
        git_dir: &str,
        budget: usize,
        placed: &mut Vec<PlacedSubmodule>,
    ) -> Result<(), Error> {
        for module in self.store.submodules(tree)? {
            let checkout = self.git(&module.url, &Reference::Commit(module.commit.clone()))?;
            let path = format!("{prefix}{}", module.path);
            let module_git_dir = format!("{git_dir}/modules/{}", module.name);
            placed.push(PlacedSubmodule {
                path: path.clone(),
                git_dir: module_git_dir.clone(),
                checkout: checkout.clone(),
            });
            if budget > 0 {
                let nested = format!("{path}/");
                self.submodules(&checkout, &nested, &module_git_dir, budget - 1, placed)?;
            }
        }
        Ok(())
    }

    /// The artifact Flux's source-controller would serve for a GitRepository whose
    /// checkout is `tree` and whose spec makes `recipe` (not recorded again: `tree` and
    /// the included artifacts were).
    pub fn flux_artifact(&self, tree: &Tree, recipe: &ArtifactRecipe) -> Result<Tree, Error> {
        self.store.flux_artifact(tree, recipe)
    }

    /// The raw commit object `commit` of `url`, which a fetch through this recorder
    /// brought (see [`Store::commit_object`]).
    pub fn commit_object(&self, url: &str, commit: &str) -> Result<Vec<u8>, Error> {
        self.store.commit_object(url, commit)
    }

    /// The origin of everything handed out, in the order it was, repeats included.
    pub fn into_origins(self) -> Fetched {
        Fetched {
            git: taken(self.origins),
            charts: taken(self.charts),
            artifacts: taken(self.artifacts),
        }
    }
}

/// Everything a [`Recorder`] handed out.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Git trees.
    pub git: Vec<Origin>,
    /// Charts of Helm repositories.
    pub charts: Vec<ChartOrigin>,
    /// OCIRepository artifacts.
    pub artifacts: Vec<OciOrigin>,
}

/// What a mutex held, poisoned or not.
fn taken<T>(mutex: Mutex<Vec<T>>) -> Vec<T> {
    mutex.into_inner().unwrap_or_else(PoisonError::into_inner)
}
