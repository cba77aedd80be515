//! What the benchmarks share: when to run, running a tool, and taking medians.

#![allow(dead_code)] // Each benchmark uses what it needs.

use std::path::Path;
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

/// `helm template` of the oracle `tools/oracles` installed, with its config, cache and data
/// homes under `scratch` so that nothing of the user's helm setup is read.
pub fn helm_template(scratch: &Path) -> Command {
    let mut helm = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/oracles/helm"));
    helm.arg("template")
        .env("HELM_CONFIG_HOME", scratch.join("config"))
        .env("HELM_CACHE_HOME", scratch.join("cache"))
        .env("HELM_DATA_HOME", scratch.join("data"));
    helm
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

/// Runs each command `runs` times, interleaved so that load on the shared machine hits
/// every side alike, and returns each command's median wall time.
pub fn interleaved_medians<const N: usize>(
    runs: usize,
    commands: [&mut Command; N],
) -> [Duration; N] {
    let mut commands = commands;
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for (command, samples) in commands.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            run(command);
            samples.push(start.elapsed());
        }
    }
    times.map(median)
}

/// Peak resident set size in KiB of one run, from `/usr/bin/time -f %M`.
pub fn peak_kib(cmd: &Command, scratch: &Path) -> u64 {
    let report = scratch.join("time.txt");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    run(&mut timed);
    let text = std::fs::read_to_string(&report).expect("time report");
    text.trim().parse().expect("a KiB count")
}
