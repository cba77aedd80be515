//! The error of chart loading and rendering; its `Display` is the message `helm` prints
//! after `Error: `.

/// What stage of `helm template` failed. The message alone is what Helm prints; the kind
/// lets callers decide how to report it (e.g. Helm adds its `--debug` hint only to
/// [`ErrorKind::Render`] and [`ErrorKind::Manifest`] failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Command-line arguments `helm template` refuses.
    Usage,
    /// Reading the chart: files, archives, `Chart.yaml`, `values.yaml`, `.helmignore`.
    Load,
    /// User values: values files and `--set`-style lines.
    Values,
    /// Subchart resolution (missing dependencies, conditions, aliases).
    Dependencies,
    /// Template parsing or execution, and the `kubeVersion` check that precedes it.
    Render,
    /// Splitting, classifying and selecting (`--show-only`) the rendered manifests.
    Manifest,
    /// A chart feature crunch does not implement yet.
    Unsupported,
}

/// A chart loading or rendering failure, displayed as Helm displays it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with Helm's message text.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The stage that failed.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Helm's message text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn load(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Load, message)
    }

    pub(crate) fn render(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Render, message)
    }

    pub(crate) fn unsupported(feature: &str) -> Self {
        Error::new(
            ErrorKind::Unsupported,
            format!("{feature} is not supported yet by crunch"),
        )
    }
}
