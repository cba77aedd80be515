//! Every case of the SOPS fixture corpus (`fixtures/sops/cases`, written by
//! `tools/sops-fixture` and checked against other implementations by
//! `tools/check-sops-fixtures`) decrypts with the test keys to exactly its plaintext twin,
//! and fails with each key alone that cannot open it.

use std::fs;
use std::path::{Path, PathBuf};

use crunch_sops::{Format, Keys, decrypt};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sops")
}

fn keys(files: &[&str]) -> Keys {
    let mut keys = Keys::new();
    for file in files {
        let path = fixtures().join("keys").join(file);
        let bytes = fs::read(&path).unwrap();
        let label = path.display().to_string();
        if file.ends_with(".key") {
            keys.add_age_identities(&label, &String::from_utf8(bytes).unwrap())
                .unwrap();
        } else {
            keys.add_pgp_keyring(&label, &bytes).unwrap();
        }
    }
    keys
}

/// The encrypted files of the corpus with their twins.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let mut cases: Vec<(PathBuf, PathBuf)> = fs::read_dir(fixtures().join("cases"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            let twin = name.replacen(".enc.", ".plain.", 1);
            (twin != name).then(|| (path.clone(), path.with_file_name(twin)))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_case_decrypts_to_its_twin() {
    let all = keys(&["age.key", "pgp.asc", "pgp-other.asc"]);
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    for (encrypted, twin) in cases {
        let name = encrypted
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let format = Format::for_path(&name);
        let input = fs::read(&encrypted).unwrap();
        // A binary file's marker is JSON's (its envelope is JSON): Flux detects it as JSON.
        let detected = if format == Format::Binary {
            Format::Json
        } else {
            format
        };
        assert_eq!(Format::detect(&input), Some(detected), "{name}: markers");
        let decrypted = decrypt(&input, format, &all).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plain = decrypted
            .emit(format)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = fs::read(&twin).unwrap();
        assert!(
            plain == expected,
            "{name}:\n{}\n--- expected ---\n{}",
            String::from_utf8_lossy(&plain),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(decrypted.data_key().len(), 32, "{name}");
    }
}

#[test]
fn the_wrong_keys_open_nothing() {
    let wrong = keys(&["age-other.key", "pgp-other.asc"]);
    for (encrypted, _) in cases() {
        let name = encrypted
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let input = fs::read(&encrypted).unwrap();
        // Encrypted for these keys too: a second age recipient, the ECC OpenPGP key.
        if name.starts_with("two-age") || name.starts_with("pgp-ecc") {
            continue;
        }
        let error = match decrypt(&input, Format::for_path(&name), &wrong) {
            Ok(_) => panic!("{name}: opened with the wrong keys"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("encrypted for"), "{name}: {error}");
    }
}
