//! Locates the differential-test oracles that `tools/oracles` installs, and checks that
//! each is the version `tools/oracles.pins` pins before a test compares anything with it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The version `tools/oracles.pins` pins for the oracle `name`.
fn pinned_version(name: &str) -> String {
    let pins = std::fs::read_to_string(root().join("tools/oracles.pins")).unwrap();
    pins.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&name))
        .and_then(|columns| columns.get(4).map(|version| version.to_string()))
        .unwrap_or_else(|| panic!("tools/oracles.pins pins no version for `{name}`"))
}

/// The installed oracle `name`, once `version_of` (run on it) printed the pinned version.
fn oracle(name: &str, checked: &OnceLock<PathBuf>, version_of: fn(&Path) -> String) -> Command {
    let path = checked.get_or_init(|| {
        let path = root().join(".cache/oracles").join(name);
        assert!(
            path.exists(),
            "oracle `{name}` is not installed at {}: run tools/oracles (tools/test does)",
            path.display()
        );
        let (found, pinned) = (version_of(&path), pinned_version(name));
        assert_eq!(
            found, pinned,
            "oracle `{name}` at {} is {found}, tools/oracles.pins wants {pinned}: run tools/oracles",
            path.display()
        );
        path
    });
    Command::new(path)
}

/// The standard output of `program args…`, trimmed.
fn output_of(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed",
        program.display()
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `helm` v4, as installed by `tools/oracles`.
pub fn helm() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    oracle("helm", &CHECKED, |path| {
        output_of(path, &["version", "--template", "{{.Version}}"])
    })
}

/// `kubectl` with its built-in kustomize, as installed by `tools/oracles`; its version is
/// the kustomize version it reports.
pub fn kubectl() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    oracle("kubectl", &CHECKED, |path| {
        let report = output_of(path, &["version", "--client", "--output", "json"]);
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        report["kustomizeVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    })
}
