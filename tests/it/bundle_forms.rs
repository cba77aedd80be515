//! The bundle's other forms and its signature: `crunch build --archive` writes the same
//! bundle as one deterministic `.tar.zst` or `.tar.gz`, and `crunch sign` /
//! `crunch verify --key` / `crunch apply --key` sign and check its digest in every form.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::world::{Run, World};

fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sops/keys")
}

fn crunch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .output()
        .expect("crunch runs")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The world's dev bundle built into a directory and `dev.tar.zst` at once.
fn dev_with_archive(world: &World) -> (Run, PathBuf) {
    let servers = world.serve();
    let zst = world.tmp.path().join("dev.tar.zst");
    let run = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[],
        &["--archive", text(&zst)],
    );
    assert!(run.ok(), "{}", run.stderr);
    (run, zst)
}

#[test]
fn archives_are_the_bundle_byte_for_byte_reproducibly() {
    let world = World::new();
    let servers = world.serve();
    let zst = world.tmp.path().join("dev.tar.zst");
    let gz = world.tmp.path().join("dev.tar.gz");
    let run = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[],
        &["--archive", text(&zst)],
    );
    assert!(run.ok(), "{}", run.stderr);
    let digest = run.digest();
    let first = fs::read(&zst).unwrap();
    // Rebuilt into the same archive: the same bytes, sealing key included.
    let again = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[],
        &["--archive", text(&zst)],
    );
    assert!(again.ok(), "{}", again.stderr);
    assert_eq!(fs::read(&zst).unwrap(), first, "a rebuilt archive changed");
    // An archive alone, gzip: the same digest, and verify reads every form.
    let (mut command, _) = world.command("dev", &servers.git_mirror(), &[], &world.cache);
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let position = args.iter().position(|a| a == "-o").unwrap();
    command = Command::new(env!("CARGO_BIN_EXE_crunch"));
    command.args(&args[..position]).args(&args[position + 2..]);
    let output = command.args(["--archive", text(&gz)]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for form in [&run.out, &zst, &gz] {
        let output = crunch(&["verify", text(form)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("digest {}", digest.trim())),
            "{stdout}"
        );
        assert!(stdout.contains("signature: none"), "{stdout}");
    }
    assert_eq!(&fs::read(&gz).unwrap()[..2], &[0x1f, 0x8b]);
    assert_eq!(&first[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    let bad = world.tmp.path().join("dev.zip");
    let refused = world.build_with(
        "dev",
        &servers.git_mirror(),
        &[],
        &["--archive", text(&bad)],
    );
    assert!(
        !refused.ok() && refused.stderr.contains(".tar.zst"),
        "{}",
        refused.stderr
    );
    assert!(!bad.exists());
}

#[test]
fn signatures_cover_the_digest_in_every_form_and_apply_checks_them_first() {
    let world = World::new();
    let (run, zst) = dev_with_archive(&world);
    let key = keys().join("cosign.key");
    let public = keys().join("cosign.pub");
    let other = keys().join("cosign-other.pub");
    let unsigned = crunch(&["verify", text(&zst), "--key", text(&public)]);
    assert_eq!(unsigned.status.code(), Some(3));
    assert!(
        stderr(&unsigned).contains("is not signed (no digest.sig)"),
        "{}",
        stderr(&unsigned)
    );
    for form in [&run.out, &zst] {
        let signed = crunch(&["sign", text(form), "--key", text(&key)]);
        assert!(signed.status.success(), "{}", stderr(&signed));
        let verified = crunch(&["verify", text(form), "--key", text(&public)]);
        assert!(verified.status.success(), "{}", stderr(&verified));
        assert!(
            String::from_utf8_lossy(&verified.stdout).contains("signature: verified with"),
            "{}",
            String::from_utf8_lossy(&verified.stdout)
        );
        let wrong = crunch(&["verify", text(form), "--key", text(&other)]);
        assert_eq!(wrong.status.code(), Some(3), "{}", stderr(&wrong));
        assert!(
            stderr(&wrong).contains("does not verify with"),
            "{}",
            stderr(&wrong)
        );
    }
    // The directory's and the archive's signatures are the same bytes: one digest.
    let signature = fs::read(run.out.join("digest.sig")).unwrap();
    let archived = crunch::bundle::read(&zst).unwrap().signature.unwrap();
    assert_eq!(signature, archived);
    // A signature made for another digest fails; so does garbage.
    fs::write(run.out.join("digest.sig"), b"not base64!").unwrap();
    let garbage = crunch(&["verify", text(&run.out), "--key", text(&public)]);
    assert_eq!(garbage.status.code(), Some(3));
    assert!(
        stderr(&garbage).contains("not a base64 signature"),
        "{}",
        stderr(&garbage)
    );
    // apply refuses before it reads a kubeconfig or sends a request: the kubeconfig
    // named does not exist, and the error is the signature's.
    let missing = world.tmp.path().join("no-kubeconfig");
    let applied = crunch(&[
        "apply",
        text(&zst),
        "--key",
        text(&other),
        "--kubeconfig",
        text(&missing),
    ]);
    assert_eq!(applied.status.code(), Some(3), "{}", stderr(&applied));
    assert!(
        stderr(&applied).contains("does not verify with"),
        "{}",
        stderr(&applied)
    );
    let unsigned_apply = crunch(&[
        "apply",
        text(&run.out),
        "--key",
        text(&public),
        "--kubeconfig",
        text(&missing),
    ]);
    assert_eq!(unsigned_apply.status.code(), Some(3));
}

/// `crunch push` stores the bundle as an OCI artifact; `verify`, `diff` and `apply`
/// read it back from `oci://`, signature and all, and refuse an altered one.
#[test]
fn bundles_travel_as_signed_oci_artifacts() {
    use crate::support::images::docker_config;
    use crate::support::registry::Registry;
    let world = World::new();
    let (run, zst) = dev_with_archive(&world);
    let signed = crunch(&[
        "sign",
        text(&run.out),
        "--key",
        text(&keys().join("cosign.key")),
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let registry = Registry::start();
    let config = docker_config(&registry);
    let access = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--registry-config".into(),
            text(&config).into(),
            "--ca-file".into(),
            text(&registry.ca_file()).into(),
        ]);
        all
    };
    let run_with = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        crunch(&refs)
    };
    let target = format!("oci://{}/bundles/dev:1.0", registry.host());
    let pushed = run_with(access(&["push", text(&run.out), &target]));
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    let said = String::from_utf8_lossy(&pushed.stdout).into_owned();
    assert!(said.contains(run.digest().trim()), "{said}");
    // The same bundle pushed again (from its archive form, signed alike): the same
    // manifest.
    let signed_archive = crunch(&[
        "sign",
        text(&zst),
        "--key",
        text(&keys().join("cosign.key")),
    ]);
    assert!(signed_archive.status.success());
    let again = run_with(access(&["push", text(&zst), &target]));
    assert!(again.status.success(), "{}", stderr(&again));
    let manifest = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("manifest "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        manifest(&said),
        manifest(&String::from_utf8_lossy(&again.stdout))
    );

    let public = keys().join("cosign.pub");
    let verified = run_with(access(&["verify", &target, "--key", text(&public)]));
    assert!(verified.status.success(), "{}", stderr(&verified));
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(out.contains("signature: verified with"), "{out}");
    assert!(out.contains(run.digest().trim()), "{out}");
    let same = run_with(access(&["diff", &target, text(&run.out)]));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let wrong_key = run_with(access(&[
        "verify",
        &target,
        "--key",
        text(&keys().join("cosign-other.pub")),
    ]));
    assert_eq!(wrong_key.status.code(), Some(3));

    // No credentials: the registry says so, named.
    let anonymous = crunch(&["verify", &target, "--ca-file", text(&registry.ca_file())]);
    assert!(!anonymous.status.success());
    assert!(stderr(&anonymous).contains("401"), "{}", stderr(&anonymous));
    // A missing tag.
    let missing = run_with(access(&[
        "verify",
        &format!("oci://{}/bundles/dev:2.0", registry.host()),
    ]));
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("2.0"), "{}", stderr(&missing));

    // The layer altered in the registry's storage: refused, nothing applied.
    // The pushed layer is the archive form byte for byte.
    let archive_digest = {
        let bytes = fs::read(&zst).unwrap();
        format!("sha256:{}", crunch::gostd::sha256::hex(&bytes))
    };
    let stored = registry.stored_blob(&archive_digest);
    let mut bytes = fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&stored, bytes).unwrap();
    let tampered = run_with(access(&[
        "apply",
        &target,
        "--kubeconfig",
        text(&world.tmp.path().join("no-kubeconfig")),
    ]));
    assert_eq!(tampered.status.code(), Some(3), "{}", stderr(&tampered));
    assert!(
        stderr(&tampered).contains(&archive_digest),
        "{}",
        stderr(&tampered)
    );
}
