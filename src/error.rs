//! The error every crunch command ends with: one message and the chain of steps that led
//! to it (`dev → HelmRelease bigbang/bigbang → HelmRelease bigbang/logging → …`).

use std::fmt;

/// A failure with the chain of steps that led to it, outermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    chain: Vec<String>,
    message: String,
}

impl Error {
    /// A failure with no chain yet.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            chain: Vec::new(),
            message: message.to_string(),
        }
    }

    /// A failure that happened inside `step`, e.g. `HelmRelease bigbang/logging`.
    pub fn within(mut self, step: impl fmt::Display) -> Self {
        self.chain.insert(0, step.to_string());
        self
    }

    /// A failure at the end of a whole chain of steps, outermost first.
    pub fn with_chain(mut self, chain: &[String]) -> Self {
        self.chain.splice(0..0, chain.iter().cloned());
        self
    }

    /// The steps that led to the failure, outermost first.
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// What went wrong, without the chain.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.chain {
            write!(f, "{step} → ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Attaches a step to the error of a `Result`.
pub trait Context<T> {
    /// Says that the failure happened inside `step`.
    fn within(self, step: impl fmt::Display) -> Result<T, Error>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn within(self, step: impl fmt::Display) -> Result<T, Error> {
        self.map_err(|e| Error::new(e).within(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reads_outermost_first() {
        let e = Error::new("templates/x.yaml:12: boom")
            .within("HelmRelease bigbang/logging")
            .within("HelmRelease bigbang/bigbang")
            .with_chain(&["dev".to_string()]);
        assert_eq!(
            e.to_string(),
            "dev → HelmRelease bigbang/bigbang → HelmRelease bigbang/logging → templates/x.yaml:12: boom"
        );
        assert_eq!(e.message(), "templates/x.yaml:12: boom");
        assert_eq!(e.chain().len(), 3);
    }
}
