//! What the benchmarks share: when to run, running a tool, and taking medians.

#![allow(dead_code)] // Each benchmark uses what it needs.

use std::process::Command;
use std::time::{Duration, Instant};

/// Whether the benchmark `name` should run: only under `cargo bench` (which passes
/// `--bench`; `cargo test --all-targets` does not), and not when a filter names another.
pub fn selected(name: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| !a.starts_with('-') && !name.contains(a.as_str()))
}

/// Runs `command` to success and returns its standard output.
pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("spawn");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median wall time of `runs` calls of `f` (its result is dropped).
pub fn median_time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                drop(f());
                start.elapsed()
            })
            .collect(),
    )
}
