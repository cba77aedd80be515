//! The images a bundle's index lists, as `crunch images pull` asks for them.

use super::Index;
use crate::images::{ImageRef, PullRequest};

/// What to pull for the bundle: every image its index lists, pulled from the reference
/// it names and pinned to the digest that reference names, if any. (The one place that
/// reads the index's image list for pulling.)
pub fn image_pulls(index: &Index) -> Result<Vec<PullRequest>, String> {
    index
        .images
        .iter()
        .map(|text| {
            let image =
                ImageRef::parse(text).map_err(|e| format!("the bundle's image list: {e}"))?;
            let digest = image.digest().map(str::to_string);
            Ok(PullRequest { image, digest })
        })
        .collect()
}
