//! The generated tables (in `schemas/`, and kustomize's in its crate) are what their generators make of the upstream
//! OpenAPI documents committed in `schemas/upstream/` (where each comes from is in its
//! README; the API fields table takes older versions from elsewhere, and only its newest is
//! checked): a table edited by hand, or a generator changed without regenerating, fails here.
//! The JSON Schemas of crunch's own files are what `crunch schemas` makes of its types.

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
    check_generated("gen-kinds", &inputs, "crates/object/schemas/kinds.json");
}

#[test]
fn types_table_is_up_to_date() {
    let inputs = upstream(["kubernetes-openapi-v2-v1.36.2.json.gz"]);
    check_generated("gen-types", &inputs, "schemas/types.json");
}

/// `schemas/crunch.yaml.schema.json`, `crunch.lock.schema.json` and `index.schema.json`
/// are what `crunch schemas DIR` makes of the current types: a change to the config,
/// the lock or the bundle index must come with its regenerated schema
/// (`cargo run -- schemas schemas`).
#[test]
fn file_schemas_are_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("schemas")
        .arg(tmp.path())
        .output()
        .expect("crunch runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let names = [
        "crunch.yaml.schema.json",
        "crunch.lock.schema.json",
        "index.schema.json",
    ];
    let mut written: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected = names.map(String::from).to_vec();
    expected.sort();
    assert_eq!(written, expected);
    for name in names {
        let fresh = std::fs::read_to_string(tmp.path().join(name)).unwrap();
        let committed = std::fs::read_to_string(root.join("schemas").join(name))
            .unwrap_or_else(|e| panic!("schemas/{name}: {e}"));
        assert!(
            fresh == committed,
            "schemas/{name} is stale: run `cargo run -- schemas schemas`"
        );
    }
}

/// `crates/object/schemas/api-fields.json.gz` covers Kubernetes 1.23 to 1.36 from documents
/// not kept here (its generator's header says where each comes from); its 1.36 column is
/// what `tools/gen-api-fields` makes of the committed v1.36.2 document alone.
#[test]
fn api_fields_table_agrees_with_the_committed_document() {
    use std::collections::BTreeMap;
    use std::io::Read;

    use serde_json::Value;

    /// Kinds and fields of one version of a table: (`apiVersion/Kind` → definition,
    /// definition → field → type).
    type Column = (
        BTreeMap<String, String>,
        BTreeMap<String, BTreeMap<String, String>>,
    );
    fn column(path: &std::path::Path, version: &str) -> Column {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let table: Value = serde_json::from_str(&text).unwrap();
        let versions = table["versions"].as_array().unwrap();
        let at = versions.iter().position(|v| v == version).unwrap();
        let has = |mask: &Value| mask.as_u64().unwrap() & (1 << at) != 0;
        let kinds = (table["kinds"].as_object().unwrap().iter())
            .filter(|(_, entry)| has(&entry[0]))
            .map(|(kind, entry)| (kind.clone(), entry[1].as_str().unwrap().to_string()))
            .collect();
        let mut types = BTreeMap::new();
        for (name, fields) in table["types"].as_object().unwrap() {
            let fields: BTreeMap<String, String> = (fields.as_object().unwrap().iter())
                .filter_map(|(field, pairs)| {
                    let pairs = pairs.as_array().unwrap();
                    let ty = pairs.chunks(2).find(|pair| has(&pair[0]))?;
                    Some((field.clone(), ty[1].as_str().unwrap().to_string()))
                })
                .collect();
            if !fields.is_empty() {
                types.insert(name.clone(), fields);
            }
        }
        (kinds, types)
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let [document] = upstream(["kubernetes-openapi-v2-v1.36.2.json.gz"]);
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("api-fields.json.gz");
    let run = Command::new(root.join("tools/gen-api-fields"))
        .arg(format!("1.36={}", document.display()))
        .arg("-o")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let committed = root.join("crates/object/schemas/api-fields.json.gz");
    assert!(
        column(&committed, "1.36") == column(&fresh, "1.36"),
        "crates/object/schemas/api-fields.json.gz is stale: run tools/gen-api-fields (see its header)"
    );
}
