//! The error of the YAML layer, displayed like go-yaml's.

use std::fmt;

/// A YAML reading error: go-yaml's message plus the position, when there is one.
///
/// [`Error::position`] is the true 1-based position. `Display` imitates go-yaml, including
/// its quirks: scanner errors on the first line and errors found while decoding carry no
/// line, parser errors name the line before the problem (go-yaml counts from 0 there), e.g.
/// `yaml: line 3: mapping values are not allowed in this context`; JSON conversion errors
/// read like Go's (`json: unsupported value: +Inf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    position: Option<Position>,
    message: String,
    shape: Shape,
}

/// A 1-based line and column in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// How go-yaml (or the JSON step after it) words an error of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `yaml: line N: msg` with N the 1-based line, no line on the first line.
    Scanner,
    /// `yaml: line N: msg` with N one less than the 1-based line, none when that is 0.
    Parser,
    /// `yaml: msg`: go-yaml's decoder failures carry no line.
    Decoder,
    /// `yaml: unmarshal errors:\n  line N: msg` (go-yaml v3's collected type errors).
    Unmarshal,
    /// The message verbatim: `encoding/json` and `sigs.k8s.io/yaml` errors.
    Verbatim,
}

impl Error {
    pub(crate) fn new(
        shape: Shape,
        position: Option<Position>,
        message: impl Into<String>,
    ) -> Self {
        Error {
            position,
            message: message.into(),
            shape,
        }
    }

    /// A decoder failure at a node.
    pub(crate) fn at(position: Position, message: impl Into<String>) -> Self {
        Error::new(Shape::Decoder, Some(position), message)
    }

    /// An error with no position, worded verbatim (`json: …`).
    pub(crate) fn verbatim(message: impl Into<String>) -> Self {
        Error::new(Shape::Verbatim, None, message)
    }

    /// Where the error is, when it has a position.
    #[must_use]
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// 1-based line, when the error has a position.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        self.position.map(|p| p.line)
    }

    /// 1-based column, when the error has a position.
    #[must_use]
    pub fn column(&self) -> Option<usize> {
        self.position.map(|p| p.column)
    }

    /// The message without go-yaml's `yaml: line N:` prefix.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.position.map_or(0, |p| p.line);
        let shown = match self.shape {
            Shape::Scanner if line > 1 => line,
            Shape::Parser if line > 1 => line - 1,
            Shape::Unmarshal => {
                return write!(
                    f,
                    "yaml: unmarshal errors:\n  line {line}: {}",
                    self.message
                );
            }
            Shape::Verbatim => return f.write_str(&self.message),
            _ => 0,
        };
        if shown == 0 {
            write!(f, "yaml: {}", self.message)
        } else {
            write!(f, "yaml: line {shown}: {}", self.message)
        }
    }
}

impl std::error::Error for Error {}
