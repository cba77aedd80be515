//! `cargo bench --bench world`: cold and warm `crunch build` of the miniature Big Bang
//! world, side by side with the oracles doing the same rendering work in the same run
//! (`kubectl kustomize` of the environment with its remote base fetched by git, then one
//! `helm template` per HelmRelease with the values Flux would compute).
//!
//! Prints medians and ratios; record them in BENCHMARKS.md with this command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

#[path = "support.rs"]
mod support;

use support::{median_time, run, selected};

const RUNS: usize = 7;
const REMOTE: &str = "https://repo1.example.mil/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crunch_build(env_dir: &Path, out: &Path, repos: &Path, cache: &Path) {
    run(Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("build")
        .arg(env_dir)
        .arg("-o")
        .arg(out)
        .arg("--mirror")
        .arg(format!("{REMOTE}={}/", repos.display()))
        .arg("--cache-dir")
        .arg(cache));
}

/// Every object of a bundle, read back from its files.
fn bundle_objects(out: &Path) -> Vec<Value> {
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let mut objects = Vec::new();
    for component in index["components"].as_array().unwrap() {
        for object in component["objects"].as_array().unwrap() {
            let text = fs::read_to_string(out.join(object["path"].as_str().unwrap())).unwrap();
            objects.push(
                crunch::yaml::parse_document(&text, crunch::yaml::Dialect::GoYamlV3).unwrap(),
            );
        }
    }
    objects
}

/// The `helm template` invocations that render what the bundle's HelmReleases rendered.
struct HelmJob {
    release: String,
    namespace: String,
    chart: PathBuf,
    values: Vec<PathBuf>,
}

fn helm_jobs(out: &Path, repos: &Path, work: &Path) -> Vec<HelmJob> {
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let objects = bundle_objects(out);
    let find = |kind: &str, namespace: &str, name: &str| {
        objects.iter().find(|o| {
            o["kind"] == kind
                && o["metadata"]["namespace"] == namespace
                && o["metadata"]["name"] == name
        })
    };
    let mut jobs = Vec::new();
    for (n, component) in index["components"].as_array().unwrap().iter().enumerate() {
        if component["kind"] != "HelmRelease" {
            continue;
        }
        let parts: Vec<&str> = component["id"].as_str().unwrap().split('/').collect();
        let hr = find("HelmRelease", parts[1], parts[2]).expect("HelmRelease object");
        let source = &component["source"];
        let url = source["url"].as_str().unwrap();
        let repo = repos.join(url.strip_prefix(REMOTE).unwrap());
        let checkout = work.join(format!("chart-{n}"));
        fs::create_dir_all(&checkout).unwrap();
        let archive = Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args([
                "archive",
                "--format=tar",
                source["commit"].as_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(archive.status.success());
        let mut untar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&checkout)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        untar
            .stdin
            .take()
            .unwrap()
            .write_all(&archive.stdout)
            .unwrap();
        assert!(untar.wait().unwrap().success());
        let mut values = Vec::new();
        for (i, reference) in hr["spec"]["valuesFrom"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = reference["kind"].as_str().unwrap();
            let name = reference["name"].as_str().unwrap();
            let key = reference["valuesKey"].as_str().unwrap_or("values.yaml");
            let Some(object) = find(kind, parts[1], name) else {
                continue;
            };
            let text = if let Some(s) = object["stringData"][key].as_str() {
                s.to_string()
            } else if let Some(d) = object["data"][key].as_str() {
                if kind == "Secret" {
                    // kustomize wraps long data; Go's decoder skips the line breaks.
                    let d: String = d.chars().filter(|c| *c != '\n').collect();
                    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(d).unwrap())
                        .unwrap()
                } else {
                    d.to_string()
                }
            } else {
                continue;
            };
            let file = work.join(format!("values-{n}-{i}.yaml"));
            fs::write(&file, text).unwrap();
            values.push(file);
        }
        jobs.push(HelmJob {
            release: component["release"]["name"].as_str().unwrap().to_string(),
            namespace: component["release"]["namespace"]
                .as_str()
                .unwrap()
                .to_string(),
            chart: checkout.join(source["path"].as_str().unwrap()),
            values,
        });
    }
    jobs
}

fn main() {
    if !selected("world") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    run(Command::new(root().join("tools/world-repos")).arg(&repos));
    // A copy, so that the lock the build writes stays out of the fixtures.
    let customer = tmp.path().join("customer");
    run(Command::new("cp")
        .arg("-r")
        .arg(root().join("fixtures/world/customer"))
        .arg(&customer));
    let env_dir = customer.join("dev");
    let out = tmp.path().join("out");

    let mut cold_n = 0;
    let cold = median_time(RUNS, || {
        cold_n += 1;
        let cache = tmp.path().join(format!("cold-cache-{cold_n}"));
        crunch_build(&env_dir, &out, &repos, &cache);
    });
    let warm_cache = tmp.path().join("warm-cache");
    crunch_build(&env_dir, &out, &repos, &warm_cache);
    let warm = median_time(RUNS, || crunch_build(&env_dir, &out, &repos, &warm_cache));

    let home = tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let gitconfig = home.join(".gitconfig");
    fs::write(
        &gitconfig,
        format!(
            "[url \"file://{}/\"]\n\tinsteadOf = {REMOTE}\n[protocol \"file\"]\n\tallow = always\n",
            repos.display()
        ),
    )
    .unwrap();
    let work = tmp.path().join("oracle");
    let jobs = helm_jobs(&out, &repos, &work);
    let oracle_dir = root().join(".cache/oracles");
    let oracle = median_time(RUNS, || {
        run(Command::new(oracle_dir.join("kubectl"))
            .arg("kustomize")
            .arg(&env_dir)
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", &gitconfig));
        for job in &jobs {
            let mut helm = Command::new(oracle_dir.join("helm"));
            helm.arg("template")
                .arg(&job.release)
                .arg(&job.chart)
                .arg("-n")
                .arg(&job.namespace)
                .arg("--include-crds");
            for values in &job.values {
                helm.arg("-f").arg(values);
            }
            run(&mut helm);
        }
    });
    let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
    println!("world dev build, median of {RUNS} runs");
    println!("| what | time | oracle / crunch |");
    println!("|---|---|---|");
    println!(
        "| crunch build, cold cache | {:.1} ms | {:.2}x |",
        cold.as_secs_f64() * 1e3,
        ratio(cold, oracle)
    );
    println!(
        "| crunch build, warm cache | {:.1} ms | {:.2}x |",
        warm.as_secs_f64() * 1e3,
        ratio(warm, oracle)
    );
    println!(
        "| oracles: kubectl kustomize (git fetch) + {} x helm template | {:.1} ms | 1.00x |",
        jobs.len(),
        oracle.as_secs_f64() * 1e3
    );
}
