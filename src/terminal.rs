//! How `crunch build` and `crunch images pull`/`push` show their progress on standard
//! error: a live display on a terminal (indicatif), one plain line per step with
//! `--verbose`, warnings always but with `--quiet`. The library
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
    /// A terminal, moving images: bytes per image and overall.
    Transfers(Transfers),
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

    /// The display for image transfers (`crunch images pull`/`push`).
    pub fn for_transfers(quiet: bool, verbose: bool, terminal: bool) -> Self {
        match (quiet, verbose, terminal) {
            (false, verbose, true) => Self::Transfers(Transfers::new(verbose)),
            _ => Self::new(quiet, verbose, false),
        }
    }

    /// What the build reports to.
    pub fn observer(&self) -> &dyn Progress {
        match self {
            Self::Silent(silent) => silent,
            Self::Lines(lines) => lines,
            Self::Live(live) => live,
            Self::Transfers(transfers) => transfers,
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
        if let Self::Transfers(transfers) = self {
            transfers.overall.finish_and_clear();
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
        Event::TransferFinished {
            image,
            moved,
            total,
            elapsed,
        } => Some(format!(
            "{image}: {} moved, {} in place ({})",
            indicatif::HumanBytes(*moved),
            indicatif::HumanBytes(total.saturating_sub(*moved)),
            seconds(*elapsed)
        )),
        Event::FetchStarted { .. }
        | Event::ComponentsFound { .. }
        | Event::WritingBundle
        | Event::TransferStarted { .. }
        | Event::TransferAdvanced { .. }
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
            Event::TransferStarted { .. }
            | Event::TransferAdvanced { .. }
            | Event::TransferFinished { .. } => {}
        }
    }
}

/// The live display of image transfers: a bar of bytes for each image under way, and
/// one for all of them.
pub struct Transfers {
    multi: MultiProgress,
    overall: ProgressBar,
    verbose: bool,
    /// The bar of each image under way, and the bytes it had reported.
    images: Mutex<std::collections::HashMap<String, (ProgressBar, u64)>>,
}

impl Transfers {
    fn new(verbose: bool) -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(
            ProgressBar::new(0)
                .with_style(bytes_style())
                .with_prefix("all images"),
        );
        overall.enable_steady_tick(Duration::from_millis(100));
        Self {
            multi,
            overall,
            verbose,
            images: Mutex::default(),
        }
    }
}

/// A bar of bytes, labelled by its prefix.
fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner:.cyan} {bytes:>10}/{total_bytes:<10} {bar:30.cyan/dim} {prefix} {wide_msg:.dim}",
    )
    .expect("the template is valid")
    .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✔"])
}

impl Progress for Transfers {
    fn event(&self, event: &Event<'_>) {
        if self.verbose
            && let Some(line) = line(event)
        {
            // Best effort: a display that cannot draw must not fail the transfer.
            let _ = self.multi.println(line);
        }
        let mut images = self
            .images
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match event {
            Event::TransferStarted { image, total } => {
                let bar = self.multi.insert_before(
                    &self.overall,
                    ProgressBar::new(*total)
                        .with_style(bytes_style())
                        .with_prefix(image.to_string()),
                );
                self.overall.inc_length(*total);
                images.insert(image.to_string(), (bar, 0));
            }
            Event::TransferAdvanced { image, done, .. } => {
                if let Some((bar, reported)) = images.get_mut(*image) {
                    self.overall.inc(done.saturating_sub(*reported));
                    *reported = *done;
                    bar.set_position(*done);
                }
            }
            Event::TransferFinished { image, .. } => {
                if let Some((bar, _)) = images.remove(*image) {
                    bar.finish_and_clear();
                }
            }
            Event::Warning { message } => {
                let _ = self.multi.println(format!("warning: {message}"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transfer display takes a whole transfer's events (drawn nowhere: indicatif
    /// hides bars when standard error is not a terminal, as under `cargo test`).
    #[test]
    fn transfers_are_drawn_per_image_and_overall() {
        let display = Display::for_transfers(false, true, true);
        let observer = display.observer();
        observer.event(&Event::TransferStarted {
            image: "r.io/a:1",
            total: 10,
        });
        observer.event(&Event::TransferAdvanced {
            image: "r.io/a:1",
            done: 4,
            total: 10,
        });
        observer.event(&Event::TransferAdvanced {
            image: "r.io/a:1",
            done: 10,
            total: 10,
        });
        let Display::Transfers(transfers) = &display else {
            panic!("a live transfer display on a terminal")
        };
        assert_eq!(transfers.overall.position(), 10);
        assert_eq!(transfers.overall.length(), Some(10));
        observer.event(&Event::TransferFinished {
            image: "r.io/a:1",
            moved: 6,
            total: 10,
            elapsed: Duration::from_millis(1500),
        });
        assert!(transfers.images.lock().unwrap().is_empty());
        display.done();
        assert_eq!(
            line(&Event::TransferFinished {
                image: "r.io/a:1",
                moved: 2048,
                total: 3072,
                elapsed: Duration::from_millis(1500),
            })
            .unwrap(),
            "r.io/a:1: 2.00 KiB moved, 1.00 KiB in place (1.50 s)"
        );
    }
}
