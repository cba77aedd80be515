//! The one-way data flow (ARCHITECTURE.md), checked: each module of this crate may import
//! only the modules listed for it here. The engines are crates of their own, so Cargo
//! already keeps them from importing anything above them; this covers the rest.

use std::collections::BTreeSet;
use std::path::Path;

/// Each module (a file or directory under `src/`) and the crate modules it may import.
/// Engine crates re-exported at the root (`yaml`, `helm`, …) count as modules here.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error.rs", &[]),
    ("archive.rs", &[]),
    ("progress.rs", &[]),
    ("seal.rs", &["gostd"]),
    ("diff.rs", &["object", "seal", "yaml"]),
    ("jsonnet.rs", &["yaml"]),
    (
        "config.rs",
        &["error", "gostd", "jsonnet", "object", "seal", "yaml"],
    ),
    (
        "source",
        &["archive", "gostd", "progress", "semver", "yaml"],
    ),
    ("images", &["gostd", "images", "progress", "source"]),
    (
        "publish",
        &[
            "bundle", "error", "gostd", "images", "progress", "publish", "source",
        ],
    ),
    (
        "bundle",
        &[
            "archive", "bundle", "diff", "error", "gostd", "images", "object", "seal", "yaml",
        ],
    ),
    ("kustomize_helm.rs", &["gostd", "helm", "kustomize"]),
    (
        "flux",
        &[
            "bundle",
            "config",
            "envsubst",
            "error",
            "flux",
            "gostd",
            "helm",
            "kustomize",
            "object",
            "progress",
            "semver",
            "sops",
            "source",
            "yaml",
        ],
    ),
    ("validate.rs", &["bundle", "error", "object", "progress"]),
    (
        "compile.rs",
        &[
            "bundle", "config", "error", "flux", "images", "progress", "seal", "source", "validate",
        ],
    ),
    (
        "apply",
        &[
            "apply", "bundle", "diff", "error", "gostd", "object", "seal", "validate",
        ],
    ),
    (
        "commands.rs",
        &["compile", "error", "gostd", "helm", "kustomize", "source"],
    ),
    ("schemas.rs", &["bundle", "config", "source"]),
];

/// The crate modules a Rust source names: `crate::NAME` paths and the first segment of
/// each entry of `use crate::{…}`.
fn imports(text: &str) -> BTreeSet<String> {
    let ident = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut entry_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => entry_start = true,
                    c if c.is_whitespace() => {}
                    _ if entry_start => {
                        found.insert(ident(&group[i..]));
                        entry_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|name| !name.is_empty() && name != "self");
    found
}

fn sources(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            sources(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn every_module_imports_only_what_the_data_flow_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (module, allowed) in ALLOWED {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        assert!(!files.is_empty(), "src/{module} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in imports(&text) {
                if !allowed.contains(&name.as_str()) {
                    violations.push(format!("{} imports crate::{name}", file.display()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn imports_are_read_from_paths_and_use_groups() {
    let text = "use crate::{a, b::{c, d}, e::f};\nlet x = crate::g::h();\n";
    let names: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(names, ["a", "b", "e", "g"]);
}
