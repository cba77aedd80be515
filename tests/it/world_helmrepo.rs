//! The world's `helmrepo` environment, Big Bang's airgap layout: the umbrella chart and
//! every package chart come from one OCI registry (Debian's distribution registry on
//! 127.0.0.1, charts packaged from the world's repositories and pushed by `helm`, each
//! signed with the committed test key as cosign signs), verified with cosign. It builds
//! online, then offline from the lock and the cache with the same digest, and its objects
//! equal those of its git twin `gitrepo` apart from the source objects.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::chartrepo::Packager;
use crate::support::cosign::Signer;
use crate::support::registry::Registry;
use crate::support::world::{Run, World, changed_files};

/// The world's repositories whose charts the registry holds: (repository, tag).
const CHARTS: [(&str, &str); 4] = [
    ("big-bang/bigbang", "3.2.0"),
    ("big-bang/packages/haproxy", "1.1.0-bb.0"),
    ("big-bang/packages/logging", "1.1.0-bb.0"),
    ("big-bang/packages/monitoring", "1.1.0-bb.0"),
];

/// Packages `chart/` of each world repository at its tag with the oracle, pushes it to
/// `oci://HOST/big-bang/<chart>` and signs it with the committed cosign test key.
fn publish_charts(world: &World, registry: &Registry) {
    let signer = Signer::from_pem_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sops/keys/cosign.key"),
    );
    let work = world.tmp.path().join("charts");
    let packager = Packager::new();
    for (repository, tag) in CHARTS {
        let checkout = work.join(repository);
        let cloned = Command::new("git")
            .args(["clone", "--quiet", "--branch", tag])
            .arg(world.repos.join(format!("{repository}.git")))
            .arg(&checkout)
            .output()
            .expect("run git clone");
        assert!(cloned.status.success(), "{cloned:?}");
        let packaged = packager.package(&checkout.join("chart"), &work, None, false);
        let name = packaged
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(&format!("-{tag}.tgz")))
            .expect("helm package names CHART-VERSION.tgz")
            .to_string();
        let digest = registry.push_chart(&packaged, "big-bang");
        signer.sign(registry, &format!("big-bang/{name}"), &digest);
    }
}

/// The registry's credentials on this machine, for the Secrets the customer's
/// HelmRepository and the umbrella's name, appended to the copied `crunch.yaml`.
fn stand_in_credentials(world: &World, registry: &Registry) {
    let password = world.tmp.path().join("registry-password");
    fs::write(&password, &registry.password).expect("write the password");
    let config = world.customer.join("crunch.yaml");
    let mut text = fs::read_to_string(&config).expect("read crunch.yaml");
    let entry = format!(
        "{{username: \"{}\", passwordFile: {}}}",
        registry.username,
        password.display()
    );
    text.push_str(&format!(
        "credentials:\n  secrets:\n    registry-auth: {entry}\n    registry1-secret: {entry}\n"
    ));
    fs::write(&config, text).expect("write crunch.yaml");
}

fn build(world: &World, env: &str, git: &str, registry: &Registry, args: &[&str]) -> Run {
    let oci_mirror = format!("oci://registry1.example.mil/=oci://{}/", registry.host());
    let ca = registry.ca_file();
    let mut all = vec!["--mirror", &oci_mirror];
    all.extend_from_slice(args);
    let ca = ca.to_string_lossy().into_owned();
    world.build_with(env, git, &[("GIT_SSL_CAINFO", &ca)], &all)
}

#[test]
fn the_helmrepo_environment_builds_from_a_registry_as_its_git_twin_does() {
    let world = World::new();
    let servers = world.serve();
    let mut registry = Registry::start();
    publish_charts(&world, &registry);
    stand_in_credentials(&world, &registry);
    let git = servers.git_mirror();

    let online = build(
        &world,
        "helmrepo",
        &git,
        &registry,
        &["--plaintext-secrets"],
    );
    assert!(online.ok(), "{}", online.stderr);
    let twin = build(&world, "gitrepo", &git, &registry, &["--plaintext-secrets"]);
    assert!(twin.ok(), "{}", twin.stderr);
    let lock = fs::read_to_string(world.customer.join("crunch.lock")).expect("read the lock");
    for (chart, requested, resolved) in [
        ("bigbang", "3.2.x", "3.2.0"),
        ("haproxy", "1.1.0-bb.0", "1.1.0-bb.0"),
        ("logging", "1.1.0-bb.0", "1.1.0-bb.0"),
        ("monitoring", "1.1.0-bb.0", "1.1.0-bb.0"),
    ] {
        let pinned = format!(
            "  - url: \"oci://registry1.example.mil/big-bang\"\n    chart: \"{chart}\"\n    version: \"{requested}\"\n    resolved: \"{resolved}\"\n"
        );
        assert!(lock.contains(&pinned), "{lock}");
    }

    // Everything the build used, vendored while the servers are up.
    let vendored = world.tmp.path().join("sources.tar.zst");
    let oci_mirror = format!("oci://registry1.example.mil/=oci://{}/", registry.host());
    let ca = registry.ca_file().to_string_lossy().into_owned();
    let vendor = std::process::Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("vendor")
        .arg(world.customer.join("helmrepo"))
        .arg("-o")
        .arg(&vendored)
        .args([
            "--mirror",
            &oci_mirror,
            "--mirror",
            &git,
            "--plaintext-secrets",
        ])
        .arg("--cache-dir")
        .arg(&world.cache)
        .env("GIT_SSL_CAINFO", &ca)
        .output()
        .expect("run crunch vendor");
    let said = String::from_utf8_lossy(&vendor.stdout);
    assert!(
        vendor.status.success(),
        "{}",
        String::from_utf8_lossy(&vendor.stderr)
    );
    assert!(said.contains(&online.digest().trim().to_string()), "{said}");

    // Offline, with the registry gone: the same bundle, signatures verified from the cache.
    registry.stop();
    drop(servers);
    let offline = build(
        &world,
        "helmrepo",
        &git,
        &registry,
        &["--plaintext-secrets", "--offline"],
    );
    assert!(offline.ok(), "{}", offline.stderr);
    assert_eq!(offline.digest(), online.digest());

    // In an "enclave": an empty cache, no servers, no mirrors but the vendored sources.
    let rebuild = |vendor: &std::path::Path, cache: &str| {
        world.run(
            "helmrepo",
            &git,
            &[],
            &[
                "--plaintext-secrets",
                "--offline",
                "--vendor",
                vendor.to_str().expect("UTF-8 path"),
            ],
            &world.tmp.path().join(cache),
        )
    };
    let rebuilt = rebuild(&vendored, "enclave-cache");
    assert!(rebuilt.ok(), "{}", rebuilt.stderr);
    assert_eq!(rebuilt.digest(), online.digest());
    let without = world.run(
        "helmrepo",
        &git,
        &[],
        &["--plaintext-secrets", "--offline"],
        &world.tmp.path().join("empty-cache"),
    );
    assert!(!without.ok(), "an empty cache built offline");

    // A vendored blob altered: refused before anything is built.
    let altered = world.tmp.path().join("altered.tar");
    alter_a_blob(&vendored, &altered);
    let refused = rebuild(&altered, "altered-cache");
    assert!(!refused.ok());
    assert!(
        refused.stderr.contains("not the blob it is named for"),
        "{}",
        refused.stderr
    );

    // The objects are the git twin's but for the sources: the environments' own objects
    // and the umbrella's source objects (GitRepositories for its HelmRepository and that
    // repository's Secrets, the HelmReleases' chart specs). A git chart's version carries
    // the commit (reconcileStrategy Revision), so labels and checksums made from it differ
    // there and nowhere else.
    let differing = changed_files(&online.out, &twin.out);
    let is_source = |path: &str| {
        ["index.json", "digest"].contains(&path)
            || path.starts_with("objects/helmrepo/")
            || path.starts_with("objects/gitrepo/")
            || [
                "/bigbang/gitrepository.",
                "/bigbang/helmrepository.",
                "/bigbang/helmrelease.",
                "/bigbang/secret.registry1-",
            ]
            .iter()
            .any(|kind| path.contains(kind))
    };
    let stamped =
        regex::Regex::new(r"(-\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)_[0-9a-f]{12}\b").expect("a regex");
    let unstamped = |out: &Path, path: &str| -> String {
        let text = fs::read_to_string(out.join(path)).expect("read an object");
        text.lines()
            .filter(|line| !line.trim_start().starts_with("checksum/"))
            .map(|line| format!("{}\n", stamped.replace_all(line, "$1")))
            .collect()
    };
    let mut compared = 0;
    for path in differing.iter().filter(|path| !is_source(path)) {
        assert_eq!(
            unstamped(&online.out, path),
            unstamped(&twin.out, path),
            "{path}"
        );
        compared += 1;
    }
    assert!(compared > 10, "{differing:?}");
    let sources: Vec<&str> = differing
        .iter()
        .map(String::as_str)
        .filter(|path| path.starts_with("objects/helmrelease.bigbang.bigbang/"))
        .collect();
    assert_eq!(
        sources,
        [
            "objects/helmrelease.bigbang.bigbang/bigbang/gitrepository.haproxy.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/gitrepository.logging.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/gitrepository.monitoring.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/helmrelease.haproxy.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/helmrelease.logging.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/helmrelease.monitoring.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/helmrepository.registry1.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/secret.registry1-cosign-pub.yaml",
            "objects/helmrelease.bigbang.bigbang/bigbang/secret.registry1-secret.yaml",
        ]
    );
}

/// Rewrites the vendor archive `from` as a plain tar at `to` with one byte of its first
/// blob changed.
fn alter_a_blob(from: &std::path::Path, to: &std::path::Path) {
    let bytes = fs::read(from).expect("read the vendor archive");
    let mut archive = tar::Archive::new(crunch::archive::decompress(&bytes).expect("decompress"));
    let mut builder = tar::Builder::new(Vec::new());
    let mut altered = false;
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let mut header = entry.header().clone();
        let path = entry.path().expect("path").into_owned();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).expect("read entry");
        if !altered && path.starts_with("cache/blobs") {
            content[0] ^= 1;
            altered = true;
        }
        builder
            .append_data(&mut header, &path, content.as_slice())
            .expect("append");
    }
    assert!(altered, "the archive holds no blob");
    fs::write(to, builder.into_inner().expect("finish")).expect("write");
}
