//! kustomize's error: a message, the file (and line) it is about, and the chain of
//! kustomizations that led there.

use std::fmt;
use std::path::{Path, PathBuf};

/// A failed build: what went wrong, where, and through which kustomizations.
///
/// Displays as `dev/kustomization.yaml → ../base → base/cm.yaml:3: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    file: Option<PathBuf>,
    line: Option<usize>,
    chain: Vec<String>,
}

impl Error {
    /// An error with a message and nothing else yet.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            file: None,
            line: None,
            chain: Vec::new(),
        }
    }

    /// Names the file the error is about, unless a more precise one is already named.
    #[must_use]
    pub fn in_file(mut self, file: &Path) -> Error {
        if self.file.is_none() {
            self.file = Some(file.to_path_buf());
        }
        self
    }

    /// Sets the 1-based line in the file, unless one is already set.
    #[must_use]
    pub fn at_line(mut self, line: Option<usize>) -> Error {
        if self.line.is_none() {
            self.line = line;
        }
        self
    }

    /// Adds an outer step to the chain (a kustomization or remote base that led here).
    #[must_use]
    pub fn within(mut self, step: impl Into<String>) -> Error {
        self.chain.insert(0, step.into());
        self
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file the error is about, when there is one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The 1-based line in [`Error::file`], when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The kustomizations (and remote bases) that led to the error, outermost first.
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// Builds an error from a YAML reading failure in `file`.
    pub(crate) fn yaml(file: &Path, e: &crunch_yaml::Error) -> Error {
        Error::new(e.message().to_string())
            .in_file(file)
            .at_line(e.line())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.chain {
            write!(f, "{step} → ")?;
        }
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
