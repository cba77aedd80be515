//! A [`Store`] that remembers every tree it handed out, for the bundle's list of sources.

use std::sync::{Mutex, PoisonError};

use super::{Error, Origin, Reference, Store, Tree};

/// Fetches through a [`Store`] and records the [`Origin`] of every tree it returns.
/// Shared by the threads of one build.
pub struct Recorder<'a> {
    store: &'a Store,
    origins: Mutex<Vec<Origin>>,
}

impl<'a> Recorder<'a> {
    /// A recorder over `store` that has fetched nothing yet.
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            origins: Mutex::default(),
        }
    }

    /// The tree of `url` at `reference`, recorded.
    pub fn git(&self, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let tree = self.store.git(url, reference)?;
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
