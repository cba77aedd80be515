//! The engine's error type; its `Display` is Go's message, byte for byte.

/// Which stage failed: Helm words the two differently (`parse error at (…)` against
/// execution errors), and its `tpl` too (`cannot parse template` against
/// `error during tpl function execution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Lexing or parsing a template text.
    Parse,
    /// Executing a parsed template.
    Exec,
}

/// A parse or execution error, formatted exactly as Go's `text/template` formats it
/// (e.g. `template: t:1:3: executing "t" at <.x>: error calling upper: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    message: String,
    kind: ErrorKind,
}

impl Error {
    /// An execution error with Go's complete message text.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            kind: ErrorKind::Exec,
        }
    }

    /// A parse error with Go's complete message text.
    pub fn parse(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            kind: ErrorKind::Parse,
        }
    }

    /// Go's message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The stage that failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
