//! What a build reports while it runs, for whoever watches it (the command line draws it
//! on a terminal or prints it as lines). The library only says what happened; how it is
//! shown is the observer's business.

use std::time::Duration;

/// An observer of a build. Sources are fetched and nodes rendered on rayon's threads, so
/// events arrive from any thread, in no fixed order between nodes of one wave.
pub trait Progress: Send + Sync {
    /// Something happened.
    fn event(&self, event: &Event<'_>);
}

/// One step of a build.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A git source is being fetched (or taken from the cache): `url` as the deployment
    /// names it, `reference` as requested (`tag 1.0.0`). Reported once per source.
    FetchStarted {
        /// The URL before mirroring.
        url: &'a str,
        /// The reference.
        reference: &'a str,
    },
    /// The source of the matching [`Event::FetchStarted`] is there, or failed.
    FetchFinished {
        /// The URL before mirroring.
        url: &'a str,
        /// The reference.
        reference: &'a str,
        /// How long it took.
        elapsed: Duration,
    },
    /// The build now knows of `total` components to render (the environment and every
    /// HelmRelease and Kustomization found so far); it grows as rendered nodes declare
    /// new ones.
    ComponentsFound {
        /// Components known so far, rendered or not.
        total: usize,
    },
    /// A component is rendered.
    ComponentRendered {
        /// The component as error chains name it: `HelmRelease bigbang/istio`, or
        /// `environment dev`.
        component: &'a str,
        /// How long its rendering took (sources it waited for included).
        elapsed: Duration,
    },
    /// Something the user should know that does not stop the build (a value left
    /// encrypted), told as soon as it is found: the build may still fail because of it.
    Warning {
        /// The warning, one line.
        message: &'a str,
    },
    /// Every component is rendered; the bundle is being written.
    WritingBundle,
    /// The bundle and the lock are written.
    BundleWritten {
        /// How long writing took.
        elapsed: Duration,
    },
    /// An image's transfer (from a registry into a layout, or back) starts: `total`
    /// bytes of manifests and blobs to move or to find already in place.
    TransferStarted {
        /// The image, as its full reference.
        image: &'a str,
        /// Bytes in all.
        total: u64,
    },
    /// More of an image's bytes are moved or found in place.
    TransferAdvanced {
        /// The image.
        image: &'a str,
        /// Bytes so far.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// An image's transfer is over (done, or failed).
    TransferFinished {
        /// The image.
        image: &'a str,
        /// Bytes that crossed the network (those found in place not counted).
        moved: u64,
        /// Bytes in all.
        total: u64,
        /// How long it took.
        elapsed: Duration,
    },
}

/// An observer that ignores everything.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}
