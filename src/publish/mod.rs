//! Getting a bundle to where it is applied: signatures over its digest ([`sign`]), and
//! the bundle as an OCI artifact ([`oci`]).

pub mod oci;
pub mod sign;

use std::path::Path;

use crate::bundle::{self, VerifiedBundle};
use crate::error::Error;

/// Signs the bundle at `path` (a directory or an archive) with `key`: its
/// `digest.sig` is written into it. Returns the verified bundle that was signed.
pub fn sign_bundle(path: &Path, key: &sign::SigningKey) -> Result<VerifiedBundle, Error> {
    bundle::attach_signature(path, |bundle| {
        key.sign(&sign::signed_blob(&bundle.digest)).into_bytes()
    })
}
