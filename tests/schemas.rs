//! The generated tables in `schemas/` are what their generators make of the Kubernetes
//! OpenAPI data in the steering repo's `shared/k8s/` (beside this checkout, in CI too).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn openapi_data_is_up_to_date() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let input = root.join("../shared/k8s/kustomize-openapi-v1.21.2.json.gz");
    assert!(
        input.exists(),
        "{} is missing: the generator's input lives in the steering repo's shared/",
        input.display()
    );
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
