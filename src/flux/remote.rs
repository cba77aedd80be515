//! The bridge from kustomize to the source store: remote bases are fetched through the
//! build's [`Recorder`], so they are mirrored, cached, locked and listed as sources like
//! Flux sources are.

use std::path::PathBuf;

use crate::kustomize;
use crate::source::{Recorder, Reference};

impl kustomize::Remote for Recorder<'_> {
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
