//! Locates the differential-test oracles that `tools/oracles` installs.

#![allow(dead_code)] // Each test binary uses the oracles it needs.

use std::path::PathBuf;
use std::process::Command;

fn oracle(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/oracles")
        .join(name);
    assert!(
        path.exists(),
        "oracle `{name}` is not installed at {}: run tools/oracles (tools/test does)",
        path.display()
    );
    path
}

/// `helm` v4, as installed by `tools/oracles`.
pub fn helm() -> Command {
    Command::new(oracle("helm"))
}

/// `kubectl` with its built-in kustomize, as located by `tools/oracles`.
pub fn kubectl() -> Command {
    Command::new(oracle("kubectl"))
}
