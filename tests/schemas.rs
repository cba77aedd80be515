//! The generated tables (in `schemas/`, and kustomize's in its crate) are what their generators make of the upstream
//! OpenAPI documents committed in `schemas/upstream/` (where each comes from is in its
//! README): a table edited by hand, or a generator changed without regenerating, fails here.

use std::path::PathBuf;
use std::process::Command;

/// The upstream documents named `names`, in `schemas/upstream/`.
fn upstream<const N: usize>(names: [&str; N]) -> [PathBuf; N] {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/upstream");
    names.map(|name| dir.join(name))
}

/// Runs `tools/GENERATOR INPUTS… OUT` and checks that it makes exactly the committed
/// `TABLE` (a path from the repository's root).
fn check_generated(generator: &str, inputs: &[PathBuf], table: &str) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("table.json");
    let run = Command::new(root.join("tools").join(generator))
        .args(inputs)
        .arg(&output)
        .output()
        .unwrap_or_else(|e| panic!("run tools/{generator}: {e}"));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = std::fs::read(&output).unwrap();
    let committed = std::fs::read(root.join(table)).unwrap();
    assert!(
        fresh == committed,
        "{table} is stale: run tools/{generator}"
    );
}

#[test]
fn openapi_data_is_up_to_date() {
    let inputs = upstream(["kustomize-openapi-v1.21.2.json.gz"]);
    check_generated(
        "gen-openapi-schema",
        &inputs,
        "crates/kustomize/schemas/openapi-v1.21.2.json",
    );
}

#[test]
fn kinds_table_is_up_to_date() {
    let inputs = upstream([
        "kubernetes-openapi-v2-v1.36.2.json.gz",
        "kustomize-openapi-v1.21.2.json.gz",
    ]);
    check_generated("gen-kinds", &inputs, "schemas/kinds.json");
}

#[test]
fn types_table_is_up_to_date() {
    let inputs = upstream(["kubernetes-openapi-v2-v1.36.2.json.gz"]);
    check_generated("gen-types", &inputs, "schemas/types.json");
}
