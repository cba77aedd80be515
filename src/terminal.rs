//! How `crunch build` shows its progress on standard error: a live display on a terminal
//! (indicatif), one plain line per step with `--verbose`, warnings always but with
//! `--quiet`. The library
//! only sends [`Event`]s; everything about terminals lives here, in the binary.

use std::sync::Mutex;
use std::time::Duration;

use crunch::progress::{Event, Progress, Silent};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// The progress display chosen for one build.
pub enum Display {
    /// `--quiet`.
    Silent(Silent),
    /// Standard error is not a terminal: warnings, and steps with `--verbose`.
    Lines(Lines),
    /// A terminal: live counts, and with `--verbose` the lines above them.
    Live(Live),
}

impl Display {
    /// The display for these flags, on a terminal or not.
    pub fn new(quiet: bool, verbose: bool, terminal: bool) -> Self {
        match (quiet, verbose, terminal) {
            (true, _, _) => Self::Silent(Silent),
            (false, verbose, false) => Self::Lines(Lines { verbose }),
            (false, verbose, true) => Self::Live(Live::new(verbose)),
        }
    }

    /// What the build reports to.
    pub fn observer(&self) -> &dyn Progress {
        match self {
            Self::Silent(silent) => silent,
            Self::Lines(lines) => lines,
            Self::Live(live) => live,
        }
    }

    /// The build is over: the live display makes way for the summary or the error, as
    /// cargo's does (`--verbose` lines stay).
    pub fn done(&self) {
        if let Self::Live(live) = self {
            // Finished bars stop their ticking, which would otherwise redraw them below
            // a failed build's error.
            live.sources.finish_and_clear();
            live.components.finish_and_clear();
        }
    }
}

/// The `--verbose` line for an event, if it gets one: finished steps with their times.
fn line(event: &Event<'_>) -> Option<String> {
    match event {
        Event::FetchFinished {
            url,
            reference,
            elapsed,
        } => Some(format!("fetched {url} {reference} ({})", seconds(*elapsed))),
        Event::ComponentRendered { component, elapsed } => {
            Some(format!("rendered {component} ({})", seconds(*elapsed)))
        }
        Event::BundleWritten { elapsed } => {
            Some(format!("wrote the bundle ({})", seconds(*elapsed)))
        }
        Event::FetchStarted { .. }
        | Event::ComponentsFound { .. }
        | Event::WritingBundle
        | Event::Warning { .. } => None,
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// No terminal: warnings, and with `--verbose` one line per finished step.
pub struct Lines {
    verbose: bool,
}

impl Progress for Lines {
    fn event(&self, event: &Event<'_>) {
        if let Event::Warning { message } = event {
            eprintln!("warning: {message}");
        } else if self.verbose
            && let Some(line) = line(event)
        {
            eprintln!("{line}");
        }
    }
}

/// The live display: how many sources are fetched and components rendered so far, and
/// what is under way.
pub struct Live {
    multi: MultiProgress,
    sources: ProgressBar,
    components: ProgressBar,
    verbose: bool,
    /// Sources being fetched, oldest first; the oldest is shown.
    fetching: Mutex<Vec<String>>,
}

impl Live {
    fn new(verbose: bool) -> Self {
        let multi = MultiProgress::new();
        let bar = |done: &str, things: &str| {
            let template =
                format!("{{spinner:.cyan}} {done} {{pos}}/{{len}} {things} {{wide_msg:.dim}}");
            let style = ProgressStyle::with_template(&template)
                .expect("the template is valid")
                .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✔"]);
            let bar = multi.add(ProgressBar::new(0).with_style(style));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        };
        let sources = bar("fetched", "sources");
        let components = bar("rendered", "components");
        Self {
            multi,
            sources,
            components,
            verbose,
            fetching: Mutex::default(),
        }
    }

    fn fetching(&self, update: impl FnOnce(&mut Vec<String>)) {
        let mut fetching = self
            .fetching
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        update(&mut fetching);
        self.sources
            .set_message(fetching.first().cloned().unwrap_or_default());
    }
}

impl Progress for Live {
    fn event(&self, event: &Event<'_>) {
        if self.verbose
            && let Some(line) = line(event)
        {
            // Best effort: a display that cannot draw must not fail the build.
            let _ = self.multi.println(line);
        }
        match event {
            Event::FetchStarted { url, reference } => {
                self.sources.inc_length(1);
                self.fetching(|fetching| fetching.push(format!("{url} {reference}")));
            }
            Event::FetchFinished { url, reference, .. } => {
                self.sources.inc(1);
                let shown = format!("{url} {reference}");
                self.fetching(|fetching| fetching.retain(|source| *source != shown));
            }
            Event::ComponentsFound { total } => self.components.set_length(*total as u64),
            Event::ComponentRendered { component, .. } => {
                self.components.inc(1);
                self.components.set_message(component.to_string());
            }
            Event::Warning { message } => {
                // Best effort: a display that cannot draw must not fail the build.
                let _ = self.multi.println(format!("warning: {message}"));
            }
            Event::WritingBundle => {
                self.sources.finish_with_message("");
                self.components.set_message("writing the bundle");
            }
            Event::BundleWritten { elapsed } => {
                self.components
                    .finish_with_message(format!("wrote the bundle ({})", seconds(*elapsed)));
            }
        }
    }
}
