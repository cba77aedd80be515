//! Errors of the source layer. Each names the requested URL (and the mirror it was
//! fetched from), the reference, and what failed.

use std::fmt;
use std::path::PathBuf;

use super::reference::Reference;

/// A repository as requested, and where it was actually fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The URL as requested (before mirroring, without credentials).
    pub url: String,
    /// The URL after mirror rewriting (without credentials).
    pub fetched_url: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.url == self.fetched_url {
            write!(f, "{}", self.url)
        } else {
            write!(f, "{} (mirrored to {})", self.url, self.fetched_url)
        }
    }
}

/// Everything that can go wrong while getting a tree. (Locations are boxed to keep the
/// error small: it travels through every `Result` of the pipeline.)
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote could not be contacted or refused the handshake.
    #[error("cannot reach {location}: {message}")]
    Unreachable {
        /// The repository.
        location: Box<Location>,
        /// The transport's explanation, outermost first.
        message: String,
    },
    /// The remote has no such tag, branch or reference.
    #[error("no {reference} in {location}")]
    NoSuchRef {
        /// The repository.
        location: Box<Location>,
        /// What was asked for.
        reference: Reference,
    },
    /// No tag of the remote satisfies the semver range.
    #[error("no tag in {location} satisfies semver range `{range}` ({versions} version tags seen)")]
    NoMatchingTag {
        /// The repository.
        location: Box<Location>,
        /// The range as written.
        range: String,
        /// How many tags read as versions.
        versions: usize,
    },
    /// A reference that cannot be acted on (bad semver range, short commit id, ...).
    #[error("invalid {reference} for {url}: {message}")]
    InvalidReference {
        /// The requested URL.
        url: String,
        /// The reference.
        reference: Reference,
        /// Why it is invalid.
        message: String,
    },
    /// A git operation failed after the remote was reached.
    #[error("cannot {action} {location}: {message}")]
    Git {
        /// The repository.
        location: Box<Location>,
        /// What was being done, naming the reference, e.g. "fetch 0123… (tag v1) from".
        action: String,
        /// The underlying explanation.
        message: String,
    },
    /// `--offline` and the lock has no entry for this source.
    #[error(
        "offline: {url} at {reference} is not in crunch.lock; run without --offline to resolve it"
    )]
    OfflineUnlocked {
        /// The requested URL.
        url: String,
        /// The reference.
        reference: Reference,
    },
    /// `--offline`, locked, but neither the tree nor the commit is in the cache.
    #[error(
        "offline: {url} at {reference} is locked to commit {commit}, which is not in the cache {}; run without --offline to fetch it",
        cache.display()
    )]
    OfflineUncached {
        /// The requested URL.
        url: String,
        /// The reference.
        reference: Reference,
        /// The locked commit.
        commit: String,
        /// The cache directory searched.
        cache: PathBuf,
    },
    /// The locked commit's tree is not the tree the lock records.
    #[error(
        "{location}: commit {commit} has tree {actual}, but crunch.lock records tree {expected}"
    )]
    TreeMismatch {
        /// The repository.
        location: Box<Location>,
        /// The commit.
        commit: String,
        /// The tree the lock records.
        expected: String,
        /// The commit's actual tree.
        actual: String,
    },
    /// A symlink in the checkout points outside the source tree.
    #[error(
        "{location} at commit {commit}: symlink `{path}` points to `{target}`, outside the source tree"
    )]
    SymlinkEscape {
        /// The repository.
        location: Box<Location>,
        /// The commit.
        commit: String,
        /// The symlink's path in the tree.
        path: String,
        /// Its target as stored.
        target: String,
    },
    /// A `.sourceignore` or GitRepository `spec.ignore` pattern that cannot be compiled.
    #[error("{url} at commit {commit}: {message}")]
    IgnorePattern {
        /// The requested URL.
        url: String,
        /// The commit.
        commit: String,
        /// Where the pattern is (`<file>:<line>`), the pattern, and what is wrong with it.
        message: String,
    },
    /// Source-controller would fail to make the artifact: a sparse checkout directory
    /// that does not exist, an include that cannot be moved into place.
    #[error("{url} at commit {commit}: {message}")]
    Artifact {
        /// The requested URL.
        url: String,
        /// The commit.
        commit: String,
        /// Source-controller's explanation.
        message: String,
    },
    /// The submodules of a recursive checkout cannot be read or placed.
    #[error("{url} at commit {commit}: submodules: {message}")]
    Submodule {
        /// The superproject's requested URL.
        url: String,
        /// The superproject's commit.
        commit: String,
        /// What is wrong.
        message: String,
    },
    /// The working tree standing in for a GitRepository cannot be read.
    #[error("the working tree {}: {message}", root.display())]
    WorkingTree {
        /// Its top directory.
        root: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A chart repository or registry refused or failed a request, or served something
    /// that is not what it should be.
    #[error("{location}: {message}")]
    Registry {
        /// The repository or registry.
        location: Box<Location>,
        /// What went wrong.
        message: String,
    },
    /// A chart cannot be had from its repository.
    #[error("chart {chart} of {location}: {message}")]
    Chart {
        /// The repository.
        location: Box<Location>,
        /// The chart's name.
        chart: String,
        /// What went wrong.
        message: String,
    },
    /// A signature does not verify.
    #[error("{location}: signature verification failed: {message}")]
    Verification {
        /// The artifact.
        location: Box<Location>,
        /// Why.
        message: String,
    },
    /// `--offline` and the lock has no entry for a chart or OCI artifact.
    #[error("offline: {what} is not in crunch.lock; run without --offline to resolve it")]
    OfflineUnpinned {
        /// The chart or artifact, as requested.
        what: String,
    },
    /// `--offline`, pinned, but a blob it needs is not in the cache.
    #[error(
        "offline: {what} is locked to {digest}, which is not in the cache {}; run without --offline to fetch it",
        cache.display()
    )]
    OfflineMissing {
        /// The chart or artifact, as requested.
        what: String,
        /// The digest missing.
        digest: String,
        /// The cache directory searched.
        cache: PathBuf,
    },
    /// `crunch.lock` is malformed.
    #[error("{}{}: {message}", path.display(), line.map(|n| format!(":{n}")).unwrap_or_default())]
    LockSyntax {
        /// The lock file.
        path: PathBuf,
        /// 1-based line number, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A vendored source archive cannot be written or used.
    #[error("{}: {message}", archive.display())]
    Vendor {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// An error and its causes, outermost first, joined with ": " (transport errors hide
/// the useful part, such as "connection refused", in their sources).
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cause = next.source();
    }
    parts.join(": ")
}
