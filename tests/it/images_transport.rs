//! Container images moved into an enclave (`crunch::images`, `crunch images pull/push`):
//! tiny images the tests assemble, put into Debian's registry by skopeo, resolved and
//! pulled by crunch into an OCI layout that skopeo reads, and pushed into a second
//! registry (the enclave's, with its own CA and credentials) with the same digests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crunch::images::{
    AccessOptions, ImageRef, Platform, PullRequest, RegistryAccess, pull, push, resolve,
};
use crunch::progress::Silent;
use serde_json::Value;

use crate::support::images::{
    Image, Index, Published, cert_dir, credentials, docker_config, docker_config_with, layer,
    publish, publish_test_image, skopeo, skopeo_digest,
};
use crate::support::registry::Registry;

/// Access to `registry` with its CA and credentials.
fn access(registry: &Registry) -> RegistryAccess {
    RegistryAccess::new(&AccessOptions {
        registry_config: Some(docker_config(registry)),
        ca_file: Some(registry.ca_file()),
        plain_http: false,
    })
    .expect("registry access")
}

fn image(registry: &Registry, path: &str) -> ImageRef {
    ImageRef::parse(&format!("{}/{path}", registry.host())).expect("image reference")
}

fn request(registry: &Registry, path: &str, digest: Option<&str>) -> PullRequest {
    PullRequest {
        image: image(registry, path),
        digest: digest.map(str::to_string),
    }
}

/// The files under the layout's `blobs/sha256`.
fn blob_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .expect("blobs directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").expect("sha256"))
}

fn index_entries(dir: &Path) -> Vec<Value> {
    let text = std::fs::read(dir.join("index.json")).expect("index.json");
    let index: Value = serde_json::from_slice(&text).expect("index.json is JSON");
    index["manifests"].as_array().expect("manifests").clone()
}

/// A layer of `size` bytes gzip cannot shrink (xorshift noise).
fn noise_layer(size: usize) -> crate::support::images::Blob {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: String = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 94) as u8)
        })
        .collect();
    layer(&[("app/noise", &noise)])
}

/// A progress observer that records image transfers.
#[derive(Default)]
struct Transfers {
    events: std::sync::Mutex<Vec<(String, &'static str, u64, u64)>>,
}

impl crunch::progress::Progress for Transfers {
    fn event(&self, event: &crunch::progress::Event<'_>) {
        use crunch::progress::Event;
        let recorded = match event {
            Event::TransferStarted { image, total } => (image.to_string(), "started", 0, *total),
            Event::TransferAdvanced { image, done, total } => {
                (image.to_string(), "advanced", *done, *total)
            }
            Event::TransferFinished {
                image,
                moved,
                total,
                ..
            } => (image.to_string(), "finished", *moved, *total),
            _ => return,
        };
        self.events.lock().unwrap().push(recorded);
    }
}

impl Transfers {
    /// `images` transfers, each started, advanced up to its total, and finished.
    fn check(&self, images: usize) {
        let events = self.events.lock().unwrap();
        let started: Vec<&String> = events
            .iter()
            .filter(|e| e.1 == "started")
            .map(|e| &e.0)
            .collect();
        assert_eq!(started.len(), images, "{events:?}");
        for image in started {
            let of =
                |kind: &'static str| events.iter().filter(move |e| e.0 == *image && e.1 == kind);
            let total = of("started").next().unwrap().3;
            let last = of("advanced").next_back().expect("advanced");
            assert_eq!((last.2, last.3), (total, total), "{image}: {events:?}");
            assert_eq!(of("finished").count(), 1, "{image}");
        }
    }

    fn advances(&self) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.1 == "advanced")
            .count()
    }
}

/// Two images sharing a base layer, a two-platform index, and a Docker schema 2 image.
struct Fixture {
    one: Image,
    two: Image,
    index: Index,
    docker: Image,
    docker_list: Index,
}

impl Fixture {
    fn new() -> Fixture {
        let base = layer(&[("etc/os-release", "ID=tiny\n")]);
        let one = Image::oci(
            ("linux", "amd64"),
            vec![base.clone(), layer(&[("app/one", "one\n")])],
        );
        let two = Image::oci(
            ("linux", "amd64"),
            vec![base, layer(&[("app/two", "two\n")])],
        );
        let index = Index::new(vec![
            Image::oci(("linux", "amd64"), vec![layer(&[("app/arch", "amd64\n")])]),
            Image::oci(("linux", "arm64"), vec![layer(&[("app/arch", "arm64\n")])]),
        ]);
        let docker = Image::docker(
            ("linux", "amd64"),
            vec![layer(&[("app/legacy", "docker\n")])],
        );
        let docker_list = Index::docker(vec![
            Image::docker(("linux", "amd64"), vec![layer(&[("app/list", "amd64\n")])]),
            Image::docker(("linux", "arm64"), vec![layer(&[("app/list", "arm64\n")])]),
        ]);
        Fixture {
            one,
            two,
            index,
            docker,
            docker_list,
        }
    }

    /// Publishes everything to `registry`.
    fn publish(&self, registry: &Registry) {
        publish(registry, "apps/one:1.0", Published::Image(&self.one));
        publish(registry, "apps/two:2.0", Published::Image(&self.two));
        publish(registry, "multi/app:1.0", Published::Index(&self.index));
        publish(registry, "legacy/app:1.0", Published::Image(&self.docker));
        publish(
            registry,
            "legacy/list:1.0",
            Published::Index(&self.docker_list),
        );
    }
}

#[test]
fn resolve_gives_the_digest_skopeo_reports() {
    let registry = Registry::start();
    let fixture = Fixture::new();
    fixture.publish(&registry);
    let access = access(&registry);
    for path in [
        "apps/one:1.0",
        "multi/app:1.0",
        "legacy/app:1.0",
        "legacy/list:1.0",
    ] {
        assert_eq!(
            resolve(&image(&registry, path), None, &access).unwrap(),
            skopeo_digest(&registry, path),
            "{path}"
        );
    }
    assert_eq!(
        skopeo_digest(&registry, "multi/app:1.0"),
        fixture.index.manifest.digest
    );
    let arm64 = Platform::parse("linux/arm64").unwrap();
    assert_eq!(
        resolve(&image(&registry, "multi/app:1.0"), Some(&arm64), &access).unwrap(),
        fixture.index.images[1].manifest.digest
    );
    // A single-platform image is its own manifest.
    assert_eq!(
        resolve(&image(&registry, "apps/one:1.0"), Some(&arm64), &access).unwrap(),
        fixture.one.manifest.digest
    );
    assert_eq!(
        resolve(&image(&registry, "legacy/list:1.0"), Some(&arm64), &access).unwrap(),
        fixture.docker_list.images[1].manifest.digest
    );
    let s390x = Platform::parse("linux/s390x").unwrap();
    let error = resolve(&image(&registry, "multi/app:1.0"), Some(&s390x), &access).unwrap_err();
    assert!(
        error.contains("no manifest for linux/s390x; its index offers linux/amd64, linux/arm64"),
        "{error}"
    );
    let webapp = publish_test_image(&registry, "big-bang/webapp:1.0");
    assert_eq!(
        resolve(&image(&registry, "big-bang/webapp:1.0"), None, &access).unwrap(),
        webapp
    );
    let error = resolve(&image(&registry, "apps/none:1.0"), None, &access).unwrap_err();
    assert!(error.contains("was not found"), "{error}");
}

#[test]
fn pull_stores_shared_blobs_once_resumes_and_skopeo_reads_the_layout() {
    let mut registry = Registry::start();
    let fixture = Fixture::new();
    fixture.publish(&registry);
    let access = access(&registry);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    // One by tag, one pinned.
    let requests = [
        request(&registry, "apps/one:1.0", None),
        request(
            &registry,
            "apps/two:2.0",
            Some(&fixture.two.manifest.digest),
        ),
    ];
    let report = pull(&requests, &dir, None, &access, &Silent).unwrap();
    assert_eq!(report.images[0].digest, fixture.one.manifest.digest);
    assert_eq!(report.images[1].digest, fixture.two.manifest.digest);
    // Base layer shared: 2 manifests, 2 configs, 3 layers, each downloaded once (by
    // whichever image got to the base layer first: they are pulled side by side).
    assert_eq!(blob_files(&dir).len(), 7, "{:?}", blob_files(&dir));
    let fetched: usize = report.images.iter().map(|i| i.fetched_blobs).sum();
    let present: usize = report.images.iter().map(|i| i.present_blobs).sum();
    assert_eq!((fetched, present), (7, 1), "{report:?}");
    let entries = index_entries(&dir);
    assert_eq!(entries.len(), 2);
    for (entry, (path, image)) in entries.iter().zip([
        ("apps/one:1.0", &fixture.one),
        ("apps/two:2.0", &fixture.two),
    ]) {
        let name = format!("{}/{path}", registry.host());
        assert_eq!(entry["digest"], image.manifest.digest.as_str());
        assert_eq!(entry["mediaType"], image.media_type);
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            name.as_str()
        );
        assert_eq!(
            entry["annotations"]["io.containerd.image.name"],
            name.as_str()
        );
        // skopeo finds each image by its full reference.
        let reference = format!("oci:{}:{name}", dir.display());
        let inspected = skopeo(&registry, &["inspect", &reference]);
        let inspected: Value = serde_json::from_str(&inspected).unwrap();
        assert_eq!(inspected["Digest"], image.manifest.digest.as_str());
        let copy = out.path().join(format!("copy-{}", image.manifest.digest));
        skopeo(
            &registry,
            &[
                "--insecure-policy",
                "copy",
                &reference,
                &format!("dir:{}", copy.display()),
            ],
        );
        assert_eq!(
            std::fs::read(copy.join("manifest.json")).unwrap(),
            image.manifest.bytes
        );
    }
    // A deleted blob is the only one fetched again (the registry running).
    let pinned = [
        request(
            &registry,
            "apps/one:1.0",
            Some(&fixture.one.manifest.digest),
        ),
        request(
            &registry,
            "apps/two:2.0",
            Some(&fixture.two.manifest.digest),
        ),
    ];
    std::fs::remove_file(blob_path(&dir, &fixture.one.layers[1].digest)).unwrap();
    let again = pull(&pinned, &dir, None, &access, &Silent).unwrap();
    assert_eq!(again.images[0].fetched_blobs, 1);
    assert_eq!(
        again.images[0].fetched_bytes,
        fixture.one.layers[1].bytes.len() as u64
    );
    assert_eq!(again.images[1].fetched_blobs, 0);
    // Everything present: the registry is not needed.
    registry.stop();
    let offline = pull(&pinned, &dir, None, &access, &Silent).unwrap();
    assert!(offline.images.iter().all(|i| i.fetched_blobs == 0));
    assert_eq!(blob_files(&dir).len(), 7, "no temporary files left");
    // An unpinned image needs its registry.
    let error = pull(&requests[..1], &dir, None, &access, &Silent).unwrap_err();
    assert!(error.contains("cannot reach the OCI registry"), "{error}");
}

#[test]
fn a_blob_altered_in_the_registry_fails_naming_it() {
    let registry = Registry::start();
    let fixture = Fixture::new();
    publish(&registry, "apps/one:1.0", Published::Image(&fixture.one));
    let layer = &fixture.one.layers[1];
    let stored = registry.stored_blob(&layer.digest);
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();
    let altered = crate::support::registry::sha256_digest(&bytes);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    let error = pull(
        &[request(&registry, "apps/one:1.0", None)],
        &dir,
        None,
        &access(&registry),
        &Silent,
    )
    .unwrap_err();
    assert!(
        error.starts_with(&format!("cannot pull {}/apps/one:1.0:", registry.host())),
        "{error}"
    );
    assert!(error.contains(&format!("blob {}", layer.digest)), "{error}");
    assert!(
        error.contains(&format!("expected {}, got {altered}", layer.digest)),
        "{error}"
    );
    // Nothing unverified is left behind, and no entry names the image.
    assert!(!blob_path(&dir, &layer.digest).exists());
    assert!(
        blob_files(&dir).iter().all(|name| !name.starts_with('.')),
        "{:?}",
        blob_files(&dir)
    );
    assert!(index_entries(&dir).is_empty());
}

#[test]
fn a_platform_takes_its_manifest_from_an_index() {
    let registry = Registry::start();
    let fixture = Fixture::new();
    fixture.publish(&registry);
    let access = access(&registry);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    let arm64 = Platform::parse("linux/arm64").unwrap();
    let report = pull(
        &[request(&registry, "multi/app:1.0", None)],
        &dir,
        Some(&arm64),
        &access,
        &Silent,
    )
    .unwrap();
    let arm = &fixture.index.images[1];
    assert_eq!(report.images[0].digest, arm.manifest.digest);
    let entries = index_entries(&dir);
    assert_eq!(entries[0]["digest"], arm.manifest.digest.as_str());
    assert_eq!(entries[0]["platform"]["architecture"], "arm64");
    // Only arm64's blobs (and the index, read to choose).
    assert!(blob_path(&dir, &arm.layers[0].digest).exists());
    assert!(!blob_path(&dir, &fixture.index.images[0].layers[0].digest).exists());
    let name = format!("{}/multi/app:1.0", registry.host());
    let inspected = skopeo(
        &registry,
        &["inspect", "--raw", &format!("oci:{}:{name}", dir.display())],
    );
    assert_eq!(inspected.as_bytes(), &arm.manifest.bytes[..]);

    // Pinned to the index, the platform's manifest is not what the bundle names.
    let error = pull(
        &[request(
            &registry,
            "multi/app:1.0",
            Some(&fixture.index.manifest.digest),
        )],
        &dir,
        Some(&arm64),
        &access,
        &Silent,
    )
    .unwrap_err();
    assert!(
        error.contains("pin it per platform (crunch images resolve --platform linux/arm64) or pull without --platform"),
        "{error}"
    );
    let s390x = Platform::parse("linux/s390x").unwrap();
    let error = pull(
        &[request(&registry, "multi/app:1.0", None)],
        &dir,
        Some(&s390x),
        &access,
        &Silent,
    )
    .unwrap_err();
    assert!(
        error.contains("its index offers linux/amd64, linux/arm64"),
        "{error}"
    );

    // Without a platform: the whole index, every platform's blobs.
    let whole = out.path().join("whole");
    pull(
        &[request(
            &registry,
            "multi/app:1.0",
            Some(&fixture.index.manifest.digest),
        )],
        &whole,
        None,
        &access,
        &Silent,
    )
    .unwrap();
    assert_eq!(
        index_entries(&whole)[0]["mediaType"],
        crate::support::images::OCI_INDEX
    );
    for image in &fixture.index.images {
        for blob in [&image.manifest, &image.config, &image.layers[0]] {
            assert!(blob_path(&whole, &blob.digest).exists());
        }
    }
    let raw = skopeo(
        &registry,
        &[
            "inspect",
            "--raw",
            &format!("oci:{}:{name}", whole.display()),
        ],
    );
    assert_eq!(raw.as_bytes(), &fixture.index.manifest.bytes[..]);
}

#[test]
fn push_to_the_enclave_keeps_every_digest() {
    let source = Registry::start();
    let enclave = Registry::start();
    let fixture = Fixture::new();
    fixture.publish(&source);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    let paths = [
        "apps/one:1.0",
        "apps/two:2.0",
        "multi/app:1.0",
        "legacy/app:1.0",
        "legacy/list:1.0",
    ];
    let requests: Vec<PullRequest> = paths
        .iter()
        .map(|path| request(&source, path, None))
        .collect();
    let pulled = pull(&requests, &dir, None, &access(&source), &Silent).unwrap();
    let legacy = index_entries(&dir)
        .into_iter()
        .find(|e| e["digest"] == fixture.docker.manifest.digest.as_str())
        .expect("the Docker image's entry");
    assert_eq!(legacy["mediaType"], crate::support::images::DOCKER_MANIFEST);
    let list = index_entries(&dir)
        .into_iter()
        .find(|e| e["digest"] == fixture.docker_list.manifest.digest.as_str())
        .expect("the Docker list's entry");
    assert_eq!(list["mediaType"], crate::support::images::DOCKER_LIST);

    let transfers = Transfers::default();
    let report = push(&dir, &enclave.host(), &access(&enclave), &transfers).unwrap();
    assert_eq!(report.images.len(), 5);
    transfers.check(5);
    for (path, image) in paths.iter().zip(&pulled.images) {
        assert_eq!(skopeo_digest(&enclave, path), image.digest, "{path}");
        let pushed = report
            .images
            .iter()
            .find(|p| p.source == image.image)
            .expect("pushed");
        assert_eq!(pushed.target, format!("{}/{path}", enclave.host()));
        assert_eq!(pushed.digest, image.digest);
    }
    // The enclave serves the images as skopeo pulls them.
    let copy = out.path().join("copy");
    skopeo(
        &enclave,
        &[
            "--insecure-policy",
            "copy",
            "--src-cert-dir",
            &cert_dir(&enclave),
            "--src-creds",
            &credentials(&enclave),
            &format!("docker://{}/legacy/app:1.0", enclave.host()),
            &format!("dir:{}", copy.display()),
        ],
    );
    assert_eq!(
        std::fs::read(copy.join("manifest.json")).unwrap(),
        fixture.docker.manifest.bytes
    );
    // A layer larger than one piece is streamed in chunks, its progress told as it goes.
    let big = Image::oci(("linux", "amd64"), vec![noise_layer(8 << 20)]);
    publish(&source, "apps/big:1.0", Published::Image(&big));
    let big_dir = out.path().join("big");
    let transfers = Transfers::default();
    pull(
        &[request(&source, "apps/big:1.0", None)],
        &big_dir,
        None,
        &access(&source),
        &transfers,
    )
    .unwrap();
    transfers.check(1);
    let transfers = Transfers::default();
    push(&big_dir, &enclave.host(), &access(&enclave), &transfers).unwrap();
    transfers.check(1);
    // The config, the manifest, and the layer in 1 MiB pieces.
    assert!(
        transfers.advances() > 6,
        "the big layer's progress came in pieces"
    );
    assert_eq!(skopeo_digest(&enclave, "apps/big:1.0"), big.manifest.digest);
    // Again: every blob is there already.
    let again = push(&dir, &enclave.host(), &access(&enclave), &Silent).unwrap();
    assert!(
        again.images.iter().all(|i| i.pushed_blobs == 0),
        "{again:?}"
    );
}

#[test]
fn push_failures_are_clear_and_push_nothing_of_the_image() {
    let source = Registry::start();
    let enclave = Registry::start();
    let fixture = Fixture::new();
    publish(&source, "apps/one:1.0", Published::Image(&fixture.one));
    publish(&source, "apps/two:2.0", Published::Image(&fixture.two));
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    pull(
        &[
            request(&source, "apps/one:1.0", None),
            request(&source, "apps/two:2.0", None),
        ],
        &dir,
        None,
        &access(&source),
        &Silent,
    )
    .unwrap();

    let wrong = RegistryAccess::new(&AccessOptions {
        registry_config: Some(docker_config_with(&enclave, &enclave.username, "wrong")),
        ca_file: Some(enclave.ca_file()),
        plain_http: false,
    })
    .unwrap();
    let error = push(&dir, &enclave.host(), &wrong, &Silent).unwrap_err();
    assert!(
        error.contains(&format!(
            "the OCI registry {} refused user `crunch`",
            enclave.host()
        )),
        "{error}"
    );
    let client = enclave.client();
    let has = |repository: &str, digest: &str| {
        client
            .blob_exists(&enclave.reference(repository), digest, &enclave.auth())
            .unwrap()
    };
    assert!(!has("apps/one", &fixture.one.config.digest));

    // A layer missing from the layout: that image fails before any of it is pushed, the
    // other goes.
    let missing = &fixture.one.layers[1].digest;
    std::fs::remove_file(blob_path(&dir, missing)).unwrap();
    let error = push(&dir, &enclave.host(), &access(&enclave), &Silent).unwrap_err();
    assert!(
        error.starts_with(&format!(
            "cannot push {}/apps/one:1.0: the layout's blob {missing} is missing",
            source.host()
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!("(pushed: {}/apps/two:2.0)", enclave.host())),
        "{error}"
    );
    assert!(!has("apps/one", &fixture.one.config.digest));
    assert!(!has("apps/one", &fixture.one.layers[0].digest));
    assert!(has("apps/two", &fixture.two.config.digest));
    assert_eq!(
        skopeo_digest(&enclave, "apps/two:2.0"),
        fixture.two.manifest.digest
    );

    // A layer altered in the layout fails its image the same way.
    let altered = &fixture.two.layers[1].digest;
    std::fs::write(blob_path(&dir, altered), b"not the layer").unwrap();
    let error = push(&dir, &enclave.host(), &access(&enclave), &Silent).unwrap_err();
    assert!(
        error.contains(&format!(
            "cannot push {}/apps/two:2.0: the layout's blob {altered} (",
            source.host()
        )) && error.contains(") is corrupt: its sha256 is sha256:"),
        "{error}"
    );

    // An entry named as other tools name them (a bare tag) is not taken for Docker Hub's.
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    for entry in index["manifests"].as_array_mut().unwrap() {
        entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "2.0"});
    }
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    let error = push(&dir, &enclave.host(), &access(&enclave), &Silent).unwrap_err();
    assert!(
        error.contains(r#"cannot push 2.0: its name "2.0" is not a full image reference"#),
        "{error}"
    );
}

/// `crunch images pull` reads a bundle's images and `crunch images push` moves the
/// layout, with credentials from docker configs, CAs from files, and `-v` lines.
#[test]
fn the_command_line_pulls_a_bundle_and_pushes_it() {
    let source = Registry::start();
    let enclave = Registry::start();
    let fixture = Fixture::new();
    publish(&source, "apps/one:1.0", Published::Image(&fixture.one));
    publish(&source, "multi/app:1.0", Published::Index(&fixture.index));
    // Named after a registry the test cannot reach, served by `source` as its mirror.
    publish(&source, "ironbank/two:2.0", Published::Image(&fixture.two));
    let tmp = tempfile::tempdir().unwrap();
    let env = tmp.path().join("env");
    std::fs::create_dir_all(&env).unwrap();
    let deployment = |name: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: {name}\n        image: {image}\n"
        )
    };
    let pinned = format!(
        "{}/multi/app:1.0@{}",
        source.host(),
        fixture.index.manifest.digest
    );
    std::fs::write(
        env.join("apps.yaml"),
        format!(
            "{}---\n{}---\n{}",
            deployment("one", &format!("{}/apps/one:1.0", source.host())),
            deployment("multi", &pinned),
            deployment("two", "registry1.example.mil/ironbank/two:2.0"),
        ),
    )
    .unwrap();
    std::fs::write(
        env.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [apps.yaml]\n",
    )
    .unwrap();
    let bundle = tmp.path().join("bundle");
    let crunch = |args: &[&str], config: &Path, ca: &Path| {
        Command::new(env!("CARGO_BIN_EXE_crunch"))
            .args(args)
            .env("HOME", tmp.path())
            .env("REGISTRY_AUTH_FILE", config)
            .env("GIT_SSL_CAINFO", ca)
            .env_remove("DOCKER_CONFIG")
            .output()
            .expect("run crunch")
    };
    let built = crunch(
        &[
            "build",
            env.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--cache-dir",
            tmp.path().join("cache").to_str().unwrap(),
            "--plaintext-secrets",
        ],
        &docker_config(&source),
        &source.ca_file(),
    );
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let layout = tmp.path().join("layout");
    // Credentials and CA from the environment ($REGISTRY_AUTH_FILE, $GIT_SSL_CAINFO).
    let pulled = crunch(
        &[
            "images",
            "pull",
            bundle.to_str().unwrap(),
            "--to",
            layout.to_str().unwrap(),
            "--mirror",
            &format!("oci://registry1.example.mil/=oci://{}/", source.host()),
            "-v",
        ],
        &docker_config(&source),
        &source.ca_file(),
    );
    let stderr = String::from_utf8_lossy(&pulled.stderr);
    assert!(pulled.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&pulled.stdout);
    assert!(
        stdout.contains(&format!("{pinned} {}", fixture.index.manifest.digest)),
        "{stdout}"
    );
    assert!(stdout.contains("pulled 3 images into"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "registry1.example.mil/ironbank/two:2.0 {}",
            fixture.two.manifest.digest
        )),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("{}/apps/one:1.0: ", source.host())),
        "{stderr}"
    );
    assert!(stderr.contains(" moved, "), "{stderr}");

    // Flags win over the environment (which points at the wrong registry here).
    let pushed = crunch(
        &[
            "images",
            "push",
            layout.to_str().unwrap(),
            "--to",
            &enclave.host(),
            "--registry-config",
            docker_config(&enclave).to_str().unwrap(),
            "--ca-file",
            enclave.ca_file().to_str().unwrap(),
        ],
        &docker_config(&source),
        &source.ca_file(),
    );
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    assert!(
        stderr.is_empty(),
        "no progress without a terminal or -v: {stderr}"
    );
    assert_eq!(
        skopeo_digest(&enclave, "multi/app:1.0"),
        fixture.index.manifest.digest
    );
    assert_eq!(
        skopeo_digest(&enclave, "apps/one:1.0"),
        fixture.one.manifest.digest
    );
    // The mirrored image lands below its own repository path.
    assert_eq!(
        skopeo_digest(&enclave, "ironbank/two:2.0"),
        fixture.two.manifest.digest
    );

    // A pinned index with --platform is refused, saying what to do.
    let refused = crunch(
        &[
            "images",
            "pull",
            bundle.to_str().unwrap(),
            "--to",
            tmp.path().join("arm").to_str().unwrap(),
            "--platform",
            "linux/arm64",
        ],
        &docker_config(&source),
        &source.ca_file(),
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("pin it per platform"), "{stderr}");
}

/// Registries that answer with a bearer challenge (Harbor, ghcr, registry1): the
/// credentials are traded for pull and push tokens.
#[test]
fn token_registries_pull_and_push() {
    let source = Registry::start_with_tokens();
    let enclave = Registry::start_with_tokens();
    let fixture = Fixture::new();
    publish(&source, "multi/app:1.0", Published::Index(&fixture.index));
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("layout");
    pull(
        &[request(&source, "multi/app:1.0", None)],
        &dir,
        None,
        &access(&source),
        &Silent,
    )
    .unwrap();
    assert!(source.tokens_issued() > 0);
    push(&dir, &enclave.host(), &access(&enclave), &Silent).unwrap();
    assert!(enclave.tokens_issued() > 0);
    assert_eq!(
        skopeo_digest(&enclave, "multi/app:1.0"),
        fixture.index.manifest.digest
    );
}
