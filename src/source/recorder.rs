//! A [`Store`] that remembers every tree it handed out, for the bundle's list of sources,
//! and tells a [`Progress`] observer about each source it fetches.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::{Error, Origin, Reference, Store, Tree, WorkingTree};
use crate::progress::{Event, Progress, Silent};

/// Fetches through a [`Store`] and records the [`Origin`] of every tree it returns.
/// Shared by the threads of one build.
pub struct Recorder<'a> {
    store: &'a Store,
    origins: Mutex<Vec<Origin>>,
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
            requested: Mutex::default(),
            progress,
        }
    }

    /// The tree of `url` at `reference`, recorded.
    pub fn git(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let shown = reference.to_string();
        let first = self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    /// The artifact Flux's source-controller would serve for a GitRepository with
    /// `spec.ignore` = `ignore` whose checkout is `tree` (not recorded again: `tree` was).
    pub fn flux_artifact(&self, tree: &Tree, ignore: Option<&str>) -> Result<Tree, Error> {
        self.store.flux_artifact(tree, ignore)
    }

    /// The origin of every tree handed out, in the order they were, repeats included.
    pub fn into_origins(self) -> Vec<Origin> {
        self.origins
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
