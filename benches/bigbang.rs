//! `cargo bench --bench bigbang`: the real Big Bang default install (the customer
//! template's `dev` at umbrella 3.16.0, all 17 package charts), built by crunch from the
//! local Repo1 replica, side by side in the same run with the reference pipeline: every
//! `helm template` the reference render ran (`reference/index.json`), in sequence.
//!
//! Needs the replica and reference that `tools/bigbang` (the steering repo's
//! `shared/bigbang` harness) makes under `$TOOLS/corpus/bigbang`; without them it says so
//! and does nothing. Prints medians, ratios and peak RSS; record them in BENCHMARKS.md
//! with this command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support.rs"]
mod support;

use support::{median, peak_kib, run, selected};

const RUNS: usize = 7;
const COLD_RUNS: usize = 3;

fn main() {
    if !selected("bigbang") {
        return;
    }
    let Some(corpus) = std::env::var_os("TOOLS")
        .map(|tools| PathBuf::from(tools).join("corpus/bigbang"))
        .filter(|corpus| corpus.join("reference/index.json").is_file())
    else {
        eprintln!("bigbang: skipped, no $TOOLS/corpus/bigbang/reference (run tools/bigbang)");
        return;
    };
    let scratch = tempfile::tempdir().expect("scratch dir");
    let customer = scratch.path().join("customer");
    run(Command::new("git")
        .args(["clone", "--quiet"])
        .arg(corpus.join("repos/your-private-repo-domain/your-org/your-repo-name.git"))
        .arg(&customer));
    fs::write(
        customer.join("crunch.yaml"),
        format!(
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nmirrors:\n  - from: https://repo1.dso.mil/\n    to: {}/\ncluster:\n  kubeVersion: v1.34.0\n",
            corpus.join("repos/repo1.dso.mil").display()
        ),
    )
    .expect("write crunch.yaml");
    let build = |cache: &Path, out: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crunch"));
        command
            .current_dir(&customer)
            .args(["build", "dev", "-o"])
            .arg(out)
            .arg("--cache-dir")
            .arg(cache);
        command
    };
    let helm_runs = helm_commands(&corpus, scratch.path());

    // Cold: a fresh cache and a fresh output folder every time.
    let mut cold = Vec::new();
    for i in 0..COLD_RUNS {
        let dir = scratch.path().join(format!("cold-{i}"));
        let start = Instant::now();
        run(&mut build(&dir.join("cache"), &dir.join("out")));
        cold.push(start.elapsed());
    }
    let cold_dir = scratch.path().join("cold-rss");
    let cold_rss = peak_kib(
        &build(&cold_dir.join("cache"), &cold_dir.join("out")),
        scratch.path(),
    );

    // Warm: one cache, one output folder, rebuilt; interleaved with the helm round.
    let cache = scratch.path().join("cache");
    let out = scratch.path().join("out");
    run(&mut build(&cache, &out));
    let (mut helm, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        for mut command in helm_runs.iter().map(|make| make()) {
            run(&mut command);
        }
        helm.push(start.elapsed());
        let start = Instant::now();
        run(&mut build(&cache, &out));
        warm.push(start.elapsed());
    }
    let warm_rss = peak_kib(&build(&cache, &out), scratch.path());
    let (helm, warm, cold) = (median(helm), median(warm), median(cold));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bigbang: {} helm template runs in sequence {:.0} ms | crunch build warm {:.0} ms ({:.1}x), peak {} MiB | cold {:.0} ms ({:.1}x), peak {} MiB",
        helm_runs.len(),
        ms(helm),
        ms(warm),
        ms(helm) / ms(warm),
        warm_rss / 1024,
        ms(cold),
        ms(helm) / ms(cold),
        cold_rss / 1024,
    );
}

/// The reference's `helm template` runs, each as a command factory (run from the corpus
/// folder, as the reference ran them, with helm's homes in `scratch`).
fn helm_commands(corpus: &Path, scratch: &Path) -> Vec<Box<dyn Fn() -> Command>> {
    let index: Value = serde_json::from_slice(
        &fs::read(corpus.join("reference/index.json")).expect("read the reference index"),
    )
    .expect("the reference index is JSON");
    let helm = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/oracles/helm");
    index["units"]
        .as_array()
        .expect("units")
        .iter()
        .filter(|unit| unit["status"] == "rendered")
        .filter_map(|unit| unit["helm_args"].as_array().cloned())
        .map(|args| {
            let (helm, corpus, scratch) =
                (helm.clone(), corpus.to_path_buf(), scratch.to_path_buf());
            Box::new(move || {
                let mut command = Command::new(&helm);
                command
                    .current_dir(&corpus)
                    .args(args.iter().filter_map(Value::as_str))
                    .env("HELM_CONFIG_HOME", scratch.join("config"))
                    .env("HELM_CACHE_HOME", scratch.join("cache"))
                    .env("HELM_DATA_HOME", scratch.join("data"));
                command
            }) as Box<dyn Fn() -> Command>
        })
        .collect()
}
