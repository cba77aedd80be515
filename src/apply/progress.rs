//! Live progress: one line per step of each component, as it happens.

use std::sync::Arc;

/// Where progress lines go (standard error for the CLI, a buffer in tests).
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Progress of one component (or of the run as a whole).
#[derive(Clone)]
pub struct Progress {
    scope: String,
    sink: Sink,
}

impl Progress {
    /// Progress of the whole run.
    pub fn new(sink: Sink) -> Self {
        Self {
            scope: String::new(),
            sink,
        }
    }

    /// Progress of one component.
    pub fn component(&self, id: &str) -> Self {
        Self {
            scope: id.to_string(),
            sink: self.sink.clone(),
        }
    }

    /// Says what just happened.
    pub fn note(&self, message: &str) {
        if self.scope.is_empty() {
            (self.sink)(message);
        } else {
            (self.sink)(&format!("{}: {message}", self.scope));
        }
    }

    /// Says what is still awaited.
    pub fn waiting(&self, message: &str) {
        self.note(message);
    }
}
