//! The bridge from the engines to the source store: git fetches on behalf of Flux sources
//! and kustomize remote bases, each recorded for the bundle's source list.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use crate::bundle::SourceRecord;
use crate::kustomize;
use crate::progress::{Event, Progress, Silent};
use crate::source::{self, Reference, Store, Tree};

/// Fetches through a [`Store`] and remembers every tree it handed out.
pub struct SourceRemote<'a> {
    store: &'a Store,
    fetched: Mutex<BTreeSet<SourceRecord>>,
    /// Every (url, reference) asked for so far: each is reported to `progress` once,
    /// however many nodes share it.
    requested: Mutex<BTreeSet<(String, String)>>,
    progress: &'a dyn Progress,
}

impl<'a> SourceRemote<'a> {
    /// A remote over `store` that has fetched nothing yet.
    pub fn new(store: &'a Store) -> Self {
        Self::with_progress(store, &Silent)
    }

    /// As [`SourceRemote::new`], reporting each source's fetch to `progress`.
    pub fn with_progress(store: &'a Store, progress: &'a dyn Progress) -> Self {
        Self {
            store,
            fetched: Mutex::default(),
            requested: Mutex::default(),
            progress,
        }
    }

    /// The tree of `url` at `reference`, recorded.
    pub fn git(&self, url: &str, reference: &Reference) -> Result<Tree, source::Error> {
        let shown = reference.to_string();
        let first = self
            .requested
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((url.to_string(), shown.clone()));
        if !first {
            return self.fetch(url, reference);
        }
        let started = Instant::now();
        self.progress.event(&Event::FetchStarted {
            url,
            reference: &shown,
        });
        let tree = self.fetch(url, reference);
        self.progress.event(&Event::FetchFinished {
            url,
            reference: &shown,
            elapsed: started.elapsed(),
        });
        tree
    }

    fn fetch(&self, url: &str, reference: &Reference) -> Result<Tree, source::Error> {
        let tree = self.store.git(url, reference)?;
        let record = SourceRecord {
            url: tree.origin.url.clone(),
            reference: tree.origin.reference.to_string(),
            commit: tree.origin.commit.clone(),
            tree: tree.origin.tree_id.clone(),
        };
        self.fetched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(record);
        Ok(tree)
    }

    /// The artifact Flux's source-controller would serve for a GitRepository with
    /// `spec.ignore` = `ignore` whose checkout is `tree`.
    pub fn flux_artifact(&self, tree: &Tree, ignore: Option<&str>) -> Result<Tree, source::Error> {
        self.store.flux_artifact(tree, ignore)
    }

    /// Every source fetched, sorted.
    pub fn into_records(self) -> Vec<SourceRecord> {
        self.fetched
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .into_iter()
            .collect()
    }
}

impl kustomize::Remote for SourceRemote<'_> {
    fn fetch(&self, target: &kustomize::RemoteTarget) -> Result<PathBuf, String> {
        // Without `?ref=`, kustomize clones the default branch.
        let name = target
            .reference
            .clone()
            .unwrap_or_else(|| "HEAD".to_string());
        self.git(&target.repo_url, &Reference::Kustomize(name))
            .map(|tree| tree.root)
            .map_err(|e| e.to_string())
    }
}
