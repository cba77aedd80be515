//! Semantic versions and version constraints with the semantics of
//! `github.com/Masterminds/semver/v3` v3.4.0, the library behind Sprig's `semver` and
//! `semverCompare`, Helm's `kubeVersion` and dependency ranges, and Flux's
//! `GitRepository` `spec.ref.semver`.
//!
//! - [`Version::parse`] is Masterminds' `NewVersion`: an optional `v`, one to three
//!   numeric parts (`1.2` reads as `1.2.0`, leading zeros are coerced away), then an
//!   optional prerelease and build metadata. [`Version::parse_strict`] is
//!   `StrictNewVersion` (exactly three parts, no `v`, no leading zeros).
//! - [`Constraints::parse`] is `NewConstraint`: comparisons `=`, `!=`, `>`, `<`, `>=`,
//!   `=>`, `<=`, `=<`, tilde `~`/`~>`, caret `^`, wildcards `x`/`X`/`*` (or missing
//!   parts), hyphen ranges `1.2 - 1.4`, AND by whitespace or `,`, OR by `||`.
//! - A prerelease version only satisfies an AND group in which some constraint names a
//!   prerelease itself.
//!
//! Error messages ([`Error`]) are Masterminds' own, which Sprig and Helm print verbatim.
//!
//! ```
//! use crunch_semver::{Constraints, Version};
//!
//! let version = Version::parse("v1.2").unwrap();
//! assert_eq!(version.to_string(), "1.2.0");
//! let range = Constraints::parse(">= 1.1, < 2 || 3.x").unwrap();
//! assert!(range.check(&version));
//! assert!(!crunch_semver::satisfies("~1.3", "1.2.0"));
//! assert_eq!(
//!     Version::parse("1.2.3.4").unwrap_err().to_string(),
//!     "invalid semantic version"
//! );
//! ```

mod constraint;
mod error;
#[cfg(test)]
mod tests;
mod version;

pub use constraint::Constraints;
pub use error::Error;
pub use version::Version;

/// Whether `version` satisfies `constraint`; false when either does not parse (Helm's
/// `chartutil.IsCompatibleRange`).
pub fn satisfies(constraint: &str, version: &str) -> bool {
    match (Constraints::parse(constraint), Version::parse(version)) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    }
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
