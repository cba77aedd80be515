//! The images a bundle's index lists, as `crunch images pull` asks for them.

use super::Index;
use crate::images::{ImageRef, PullRequest};

/// What to pull for the bundle: every image its index lists, pulled from where it came
/// from (its `source` when the bundle was relocated, else the reference the objects
/// name), pinned to the digest the index records, if any. (The one place that reads the
/// index's image list for pulling.)
pub fn image_pulls(index: &Index) -> Result<Vec<PullRequest>, String> {
    index
        .images
        .iter()
        .map(|entry| {
            let text = entry.source.as_deref().unwrap_or(&entry.image);
            let image =
                ImageRef::parse(text).map_err(|e| format!("the bundle's image list: {e}"))?;
            let digest = entry
                .digest
                .clone()
                .or_else(|| image.digest().map(str::to_string));
            Ok(PullRequest { image, digest })
        })
        .collect()
}
