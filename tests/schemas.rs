//! The generated tables in `schemas/` are what their generators make of the Kubernetes
//! OpenAPI data in the steering repo's `shared/k8s/`. That folder sits beside the
//! checkout where the tables are made (and in CI); a clone without it has only the
//! committed tables, and these checks say they were skipped.

use std::path::PathBuf;
use std::process::Command;

/// The generator inputs named `names` in `shared/k8s/`, or `None` (with a note) when the
/// folder is not beside this checkout. A folder that is there but lacks one is an error.
fn shared_inputs<const N: usize>(names: [&str; N]) -> Option<[PathBuf; N]> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/k8s");
    if !shared.is_dir() {
        eprintln!("skipped: {} is not beside this checkout", shared.display());
        return None;
    }
    let inputs = names.map(|name| shared.join(name));
    for input in &inputs {
        assert!(input.exists(), "{} is missing", input.display());
    }
    Some(inputs)
}

#[test]
fn openapi_data_is_up_to_date() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some([input]) = shared_inputs(["kustomize-openapi-v1.21.2.json.gz"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("openapi.json");
    let run = Command::new(root.join("tools/gen-openapi-schema"))
        .arg(&input)
        .arg(&output)
        .output()
        .expect("run tools/gen-openapi-schema");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = std::fs::read(&output).unwrap();
    let committed = std::fs::read(root.join("schemas/openapi-v1.21.2.json")).unwrap();
    assert!(
        fresh == committed,
        "schemas/openapi-v1.21.2.json is stale: run tools/gen-openapi-schema"
    );
}

#[test]
fn kinds_table_is_up_to_date() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(inputs) = shared_inputs([
        "kubernetes-openapi-v2-v1.36.2.json.gz",
        "kustomize-openapi-v1.21.2.json.gz",
    ]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("kinds.json");
    let run = Command::new(root.join("tools/gen-kinds"))
        .args(&inputs)
        .arg(&output)
        .output()
        .expect("run tools/gen-kinds");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = std::fs::read(&output).unwrap();
    let committed = std::fs::read(root.join("schemas/kinds.json")).unwrap();
    assert!(
        fresh == committed,
        "schemas/kinds.json is stale: run tools/gen-kinds"
    );
}
