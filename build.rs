//! Build script: `CRUNCH_ENGINE_ID`, a hash of everything that decides what crunch
//! renders (its sources and its workspace crates', generated schemas and locked
//! dependencies). Render caches are keyed by it, so a rebuilt crunch never reads what an
//! older one cached.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let inputs = ["src", "crates", "schemas", "Cargo.lock"];
    let mut files = Vec::new();
    for input in inputs {
        println!("cargo:rerun-if-changed={input}");
        collect(&root.join(input), &mut files);
    }
    files.sort();
    // Not a digest anyone verifies: a cache key that changes whenever an input does.
    let mut hasher = DefaultHasher::new();
    for file in &files {
        let bytes = fs::read(file).expect("read a build input");
        hasher.write(
            file.strip_prefix(&root)
                .unwrap_or(file)
                .as_os_str()
                .as_encoded_bytes(),
        );
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
    println!(
        "cargo:rustc-env=CRUNCH_ENGINE_ID={}-{:016x}",
        env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        hasher.finish()
    );
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in fs::read_dir(path).expect("read a build input directory") {
            collect(&entry.expect("a directory entry").path(), files);
        }
    } else if path.is_file() {
        files.push(path.to_path_buf());
    }
}
