//! `cargo bench --bench helm`: `crunch helm template` against `helm template` (the oracle)
//! on the same charts and flags, in the same run: medians, ratios and peak memory.
//!
//! Charts: `many-subcharts` (the largest fixture chart: an umbrella with 24 component
//! subcharts) and `deps-advanced` (the largest of the hand-written feature fixtures).
//! Both tools must print the same bytes before anything is timed. Peak memory is the
//! maximum resident set size `/usr/bin/time` reports for one run of each.
//!
//! Prints a Markdown table; record it in BENCHMARKS.md with this command.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "support.rs"]
mod support;

use support::{helm_template, interleaved_medians, peak_kib, run, selected};

const RUNS: usize = 15;

/// One benchmarked `helm template NAME CHART FLAGS…`, run from the chart directory.
struct Case {
    chart: &'static str,
    release: &'static str,
    flags: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        chart: "many-subcharts",
        release: "big",
        flags: &["-f", "disable.yaml", "--set", "global.registry=r.local"],
    },
    Case {
        chart: "deps-advanced",
        release: "adv",
        flags: &["-f", "enable.yaml", "--include-crds"],
    },
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The two commands of a case, ready to run; helm gets private config and cache homes.
fn commands(case: &Case, scratch: &Path) -> [(&'static str, Command); 2] {
    let dir = root().join("fixtures/charts").join(case.chart);
    let mut crunch = Command::new(env!("CARGO_BIN_EXE_crunch"));
    crunch.args(["helm", "template"]);
    let helm = helm_template(scratch);
    [("crunch", crunch), ("helm", helm)].map(|(name, mut cmd)| {
        cmd.arg(case.release)
            .arg(".")
            .args(case.flags)
            .current_dir(&dir);
        (name, cmd)
    })
}

fn main() {
    if !selected("helm") {
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    println!(
        "| chart (flags) | crunch median | helm median | helm / crunch | crunch peak RSS | helm peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    for case in CASES {
        let [(_, mut crunch), (_, mut helm)] = commands(case, scratch.path());
        assert!(
            run(&mut crunch) == run(&mut helm),
            "{}: crunch and helm print different output",
            case.chart
        );
        let [crunch_median, helm_median] = interleaved_medians(RUNS, [&mut crunch, &mut helm]);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {} ({}) | {:.1} ms | {:.1} ms | {:.1}x | {:.1} MiB | {:.1} MiB |",
            case.chart,
            case.flags.join(" "),
            ms(crunch_median),
            ms(helm_median),
            helm_median.as_secs_f64() / crunch_median.as_secs_f64(),
            peak_kib(&crunch, scratch.path()) as f64 / 1024.0,
            peak_kib(&helm, scratch.path()) as f64 / 1024.0,
        );
    }
}
