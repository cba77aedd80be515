//! The fixture world with its SOPS-encrypted secrets (`fixtures/world/customer`): prod
//! decrypts with the OpenPGP test key, dev with the age test key, as each environment's
//! bootstrap Kustomization would. Both build to exactly the objects of their plaintext
//! twins; a missing key, a wrong key, a tampered value or a bad MAC each fails, naming the
//! file and the keys it was encrypted for, and leaves nothing behind.

use std::fs;
use std::path::Path;

use crate::support::world::{Run, World, copy_dir, plaintext_customer};

/// Every file of the bundle's `objects/` directory, by path.
fn objects(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![out.join("objects")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(out).unwrap().display().to_string();
                files.push((name, fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// Builds `env` of `world` isolated from the machine's own keys: an empty home, no GnuPG
/// home, and an age key file without keys.
fn build(world: &World, env: &str, args: &[&str]) -> Run {
    let servers = world.serve();
    let home = world.tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let no_keys = home.join("no-keys.txt");
    fs::write(&no_keys, "# no age identities on this machine\n").unwrap();
    let home = home.to_string_lossy().into_owned();
    let gnupg = format!("{home}/gnupg");
    world.build_with(
        env,
        &servers.git_mirror(),
        &[
            ("HOME", &home),
            ("GNUPGHOME", &gnupg),
            ("SOPS_AGE_KEY_FILE", &no_keys.to_string_lossy()),
        ],
        args,
    )
}

#[test]
fn dev_and_prod_decrypt_to_the_objects_of_their_plaintext_twins() {
    let encrypted = World::new();
    let plain = World::new();
    fs::remove_dir_all(&plain.customer).unwrap();
    plaintext_customer(&plain.customer);
    for env in ["dev", "prod"] {
        let from_sops = build(&encrypted, env, &["--plaintext-secrets"]);
        assert!(from_sops.ok(), "{env}: {}", from_sops.stderr);
        assert!(
            !from_sops.stderr.contains("warning"),
            "{}",
            from_sops.stderr
        );
        let from_twins = build(&plain, env, &["--plaintext-secrets"]);
        assert!(from_twins.ok(), "{env}: {}", from_twins.stderr);
        let (sops_objects, twin_objects) = (objects(&from_sops.out), objects(&from_twins.out));
        assert_eq!(sops_objects.len(), twin_objects.len(), "{env}");
        for ((path, sops), (twin_path, twin)) in sops_objects.iter().zip(&twin_objects) {
            assert_eq!(path, twin_path, "{env}");
            assert!(
                sops == twin,
                "{env}: {path} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(sops),
                String::from_utf8_lossy(twin)
            );
        }
        let text: String = sops_objects
            .iter()
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
            .collect();
        assert!(!text.contains("ENC[") && !text.contains("sops:"), "{env}");
    }
}

/// Replaces the first `from` in a file of the customer repo.
fn edit(customer: &Path, file: &str, from: &str, to: &str) {
    let path = customer.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{file} has no `{from}`"));
    fs::write(
        &path,
        format!("{}{to}{}", &text[..at], &text[at + from.len()..]),
    )
    .unwrap();
}

/// The first character after the first `marker` in a file of the customer repo changed.
fn tamper_after(customer: &Path, file: &str, marker: &str) {
    let path = customer.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let at = text.find(marker).unwrap() + marker.len();
    let new = if text.as_bytes()[at] == b'A' {
        'B'
    } else {
        'A'
    };
    fs::write(&path, format!("{}{new}{}", &text[..at], &text[at + 1..])).unwrap();
}

#[test]
fn missing_wrong_and_tampered_keys_and_files_fail_and_write_nothing() {
    type Edit = fn(&Path);
    let cases: [(&str, &str, Edit); 6] = [
        (
            "no key for dev (its secretRef unmapped, no machine key)",
            "dev",
            |c| {
                edit(
                    c,
                    "crunch.yaml",
                    "    sops-age: {age: [../keys/age.key]}\n",
                    "",
                )
            },
        ),
        ("the wrong age key", "dev", |c| {
            edit(c, "crunch.yaml", "../keys/age.key", "../keys/age-other.key")
        }),
        ("the wrong OpenPGP key", "prod", |c| {
            edit(c, "crunch.yaml", "../keys/pgp.asc", "../keys/pgp-other.asc")
        }),
        ("a passphrase-protected OpenPGP key", "prod", |c| {
            edit(
                c,
                "crunch.yaml",
                "../keys/pgp.asc",
                "../keys/pgp-passphrase.asc",
            )
        }),
        ("a tampered value in a Secret patch", "dev", |c| {
            tamper_after(c, "dev/environment-bb.enc.yaml", "ENC[AES256_GCM,data:")
        }),
        ("a tampered MAC in a Secret resource", "dev", |c| {
            tamper_after(
                c,
                "dev/secrets/dev-bb-secret.enc.yaml",
                "mac: ENC[AES256_GCM,data:",
            )
        }),
    ];
    let mut report = String::new();
    for (name, env, change) in cases {
        let world = World::new();
        change(&world.customer);
        let run = build(&world, env, &[]);
        assert!(!run.ok(), "{name}: built");
        assert!(!run.out.exists(), "{name}: left {}", run.out.display());
        report.push_str(&format!(
            "== {name} ({env})\n{}\n",
            world.scrub(&run.stderr)
        ));
    }
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("sops_errors", report);
    });
}

/// As Flux leaves them: here the umbrella's valuesFrom then reads ciphertext and fails, as
/// helm-controller would, after the warnings that say why.
#[test]
fn without_decryption_encrypted_values_stay_encrypted_with_a_warning() {
    let world = World::new();
    edit(
        &world.customer,
        "crunch.yaml",
        "    decryption: {provider: sops, secretRef: {name: sops-age}}\n",
        "    seed: world\n",
    );
    edit(
        &world.customer,
        "crunch.yaml",
        "decryption: {provider: sops, secretRef: {name: sops-gpg}}\n",
        "",
    );
    let run = build(&world, "dev", &[]);
    assert!(!run.ok());
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("sops_not_decrypted_warnings", world.scrub(&run.stderr));
    });
}

#[test]
fn keys_outside_crunch_yaml_come_from_sops_variables() {
    let world = World::new();
    // dev's secretRef no longer mapped: the machine's keys, here SOPS_AGE_KEY_FILE.
    edit(
        &world.customer,
        "crunch.yaml",
        "    sops-age: {age: [../keys/age.key]}\n",
        "",
    );
    let keys = world.tmp.path().join("machine-keys");
    copy_dir(&world.tmp.path().join("keys"), &keys);
    let servers = world.serve();
    let home = world.tmp.path().to_string_lossy().into_owned();
    let key_file = keys.join("age.key").to_string_lossy().into_owned();
    let run = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[("HOME", &home), ("SOPS_AGE_KEY_FILE", &key_file)],
        &["--plaintext-secrets"],
    );
    assert!(run.ok(), "{}", run.stderr);
    let key = fs::read_to_string(keys.join("age.key")).unwrap();
    let run = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[
            ("HOME", &home),
            ("SOPS_AGE_KEY_FILE", "/nonexistent"),
            ("SOPS_AGE_KEY", &key),
        ],
        &["--plaintext-secrets"],
    );
    // SOPS_AGE_KEY_FILE names a missing file: that is an error, as SOPS makes it one.
    assert!(!run.ok());
    assert!(run.stderr.contains("/nonexistent"), "{}", run.stderr);
}
