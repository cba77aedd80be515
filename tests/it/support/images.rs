//! Tiny container images assembled by the tests themselves, and `skopeo` (Debian's, as
//! `tools/test` installs it) to put them into a test [`Registry`] and read them back, a
//! client independent of crunch's.
//!
//! An image is a config blob, small gzip'd tar layers and a manifest (OCI, or Docker
//! schema 2); a multi-platform image is an index of such manifests. They reach the
//! registry through `skopeo copy --preserve-digests`: OCI ones from an OCI layout the
//! test writes here, a Docker one from skopeo's `dir:` format (skopeo 1.9 finds only
//! OCI media types in a layout's `index.json`); a Docker manifest list through the
//! distribution API of [`Registry`].

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::registry::{Registry, sha256_digest};

/// OCI media types.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker schema 2 media types.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The skopeo binary of Debian's package.
const SKOPEO: &str = "/usr/bin/skopeo";

/// A blob: its bytes and digest.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `sha256:…` of the bytes.
    pub digest: String,
}

impl Blob {
    /// The blob of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Blob {
        let digest = sha256_digest(&bytes);
        Blob { bytes, digest }
    }

    fn descriptor(&self, media_type: &str) -> Value {
        json!({"mediaType": media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// A gzip'd tar of `files` (path, contents), with fixed times and owners so that the
/// same files give the same layer.
pub fn layer(files: &[(&str, &str)]) -> Blob {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        tar.append_data(&mut header, path, contents.as_bytes())
            .expect("append to the layer");
    }
    let tar = tar.into_inner().expect("finish the layer");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, &tar).expect("gzip the layer");
    Blob::new(gzip.finish().expect("gzip the layer"))
}

/// One platform's image: config, layers and the manifest naming them.
#[derive(Debug, Clone)]
pub struct Image {
    /// The config blob.
    pub config: Blob,
    /// The layers, in order.
    pub layers: Vec<Blob>,
    /// The manifest.
    pub manifest: Blob,
    /// The manifest's media type.
    pub media_type: &'static str,
    /// `os/architecture`.
    pub platform: (&'static str, &'static str),
}

impl Image {
    /// An OCI image for `platform` (os, architecture) of `layers`.
    pub fn oci(platform: (&'static str, &'static str), layers: Vec<Blob>) -> Image {
        Image::build(platform, layers, false)
    }

    /// A Docker schema 2 image of `layers` for `platform`.
    pub fn docker(platform: (&'static str, &'static str), layers: Vec<Blob>) -> Image {
        Image::build(platform, layers, true)
    }

    fn build(platform: (&'static str, &'static str), layers: Vec<Blob>, docker: bool) -> Image {
        let (manifest_type, config_type, layer_type) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
        } else {
            (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
        };
        // The diff IDs are the uncompressed layers' digests.
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| {
                let mut tar = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&l.bytes[..]),
                    &mut tar,
                )
                .expect("gunzip a layer");
                sha256_digest(&tar)
            })
            .collect();
        let config = Blob::new(
            serde_json::to_vec(&json!({
                "architecture": platform.1,
                "os": platform.0,
                "config": {"Cmd": ["/bin/app"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            }))
            .expect("config JSON"),
        );
        let manifest = Blob::new(
            serde_json::to_vec_pretty(&json!({
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": config.descriptor(config_type),
                "layers": layers.iter().map(|l| l.descriptor(layer_type)).collect::<Vec<_>>(),
            }))
            .expect("manifest JSON"),
        );
        Image {
            config,
            layers,
            manifest,
            media_type: manifest_type,
            platform,
        }
    }

    fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.config)
            .chain(&self.layers)
            .chain(std::iter::once(&self.manifest))
            .collect()
    }
}

/// A Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An index of platform images: an OCI index, or a Docker manifest list.
#[derive(Debug, Clone)]
pub struct Index {
    /// The images, in the index's order.
    pub images: Vec<Image>,
    /// The index.
    pub manifest: Blob,
    /// Its media type.
    pub media_type: &'static str,
}

impl Index {
    /// The OCI index of `images`.
    pub fn new(images: Vec<Image>) -> Index {
        Index::build(images, OCI_INDEX)
    }

    /// The Docker manifest list of `images` (Docker ones).
    pub fn docker(images: Vec<Image>) -> Index {
        Index::build(images, DOCKER_LIST)
    }

    fn build(images: Vec<Image>, media_type: &'static str) -> Index {
        let manifests: Vec<Value> = images
            .iter()
            .map(|image| {
                let mut descriptor = image.manifest.descriptor(image.media_type);
                descriptor["platform"] =
                    json!({"os": image.platform.0, "architecture": image.platform.1});
                descriptor
            })
            .collect();
        let manifest = Blob::new(
            serde_json::to_vec_pretty(&json!({
                "schemaVersion": 2,
                "mediaType": media_type,
                "manifests": manifests,
            }))
            .expect("index JSON"),
        );
        Index {
            images,
            manifest,
            media_type,
        }
    }
}

/// What a test pushes: an image or an index.
pub enum Published<'a> {
    /// One image.
    Image(&'a Image),
    /// A multi-platform index.
    Index(&'a Index),
}

/// Pushes `content` to `repository:tag` of `registry` with `skopeo copy
/// --preserve-digests` (from an OCI layout, or from skopeo's `dir:` format for a Docker
/// manifest); its manifest digest as the registry has it, which is checked to be the
/// content's. A Docker manifest list goes through the distribution API instead (blobs,
/// then its manifests by digest, then the list).
pub fn publish(registry: &Registry, repository_and_tag: &str, content: Published<'_>) -> String {
    let staging = tempfile::tempdir().expect("staging dir");
    let (source, expected) = match content {
        Published::Index(index) if index.media_type == DOCKER_LIST => {
            let (repository, tag) = repository_and_tag.split_once(':').expect("repository:tag");
            for image in &index.images {
                for blob in std::iter::once(&image.config).chain(&image.layers) {
                    registry.push_blob(repository, &blob.bytes);
                }
                registry.push_manifest(
                    repository,
                    &image.manifest.digest,
                    image.media_type,
                    &image.manifest.bytes,
                );
            }
            registry.push_manifest(repository, tag, DOCKER_LIST, &index.manifest.bytes);
            let digest = skopeo_digest(registry, repository_and_tag);
            assert_eq!(digest, index.manifest.digest);
            return digest;
        }
        Published::Image(image) if image.media_type == DOCKER_MANIFEST => {
            let dir = staging.path().join("dir");
            std::fs::create_dir_all(&dir).expect("dir: directory");
            std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n")
                .expect("version");
            std::fs::write(dir.join("manifest.json"), &image.manifest.bytes).expect("manifest");
            for blob in std::iter::once(&image.config).chain(&image.layers) {
                let hex = blob.digest.strip_prefix("sha256:").expect("sha256");
                std::fs::write(dir.join(hex), &blob.bytes).expect("blob");
            }
            (
                format!("dir:{}", dir.display()),
                image.manifest.digest.clone(),
            )
        }
        Published::Image(image) => {
            let dir = staging.path().join("layout");
            write_layout(
                &dir,
                "image",
                image.manifest.descriptor(image.media_type),
                &image.blobs(),
            );
            (
                format!("oci:{}:image", dir.display()),
                image.manifest.digest.clone(),
            )
        }
        Published::Index(index) => {
            let dir = staging.path().join("layout");
            let mut blobs: Vec<&Blob> = index.images.iter().flat_map(Image::blobs).collect();
            blobs.push(&index.manifest);
            write_layout(&dir, "image", index.manifest.descriptor(OCI_INDEX), &blobs);
            (
                format!("oci:{}:image", dir.display()),
                index.manifest.digest.clone(),
            )
        }
    };
    let target = format!("docker://{}/{repository_and_tag}", registry.host());
    skopeo(
        registry,
        &[
            "--insecure-policy",
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-cert-dir",
            &cert_dir(registry),
            "--dest-creds",
            &credentials(registry),
            &source,
            &target,
        ],
    );
    let digest = skopeo_digest(registry, repository_and_tag);
    assert_eq!(
        digest, expected,
        "skopeo stored {repository_and_tag} as another digest"
    );
    digest
}

/// Publishes a one-layer linux/amd64 OCI image, its file derived from the name, as
/// `repository:tag` of `registry` (e.g. `big-bang/webapp:1.0`, which the world's charts
/// refer to); its manifest digest.
pub fn publish_test_image(registry: &Registry, repository_and_tag: &str) -> String {
    let image = Image::oci(
        ("linux", "amd64"),
        vec![layer(&[("app/name", repository_and_tag)])],
    );
    publish(registry, repository_and_tag, Published::Image(&image))
}

/// Writes an OCI layout at `dir` holding `blobs`, whose one entry is `top` named `name`.
fn write_layout(dir: &Path, name: &str, mut top: Value, blobs: &[&Blob]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout directory");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    for blob in blobs {
        let hex = blob.digest.strip_prefix("sha256:").expect("sha256");
        std::fs::write(dir.join("blobs/sha256").join(hex), &blob.bytes).expect("blob");
    }
    top["annotations"] = json!({"org.opencontainers.image.ref.name": name});
    let index = json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
}

/// `skopeo inspect --format {{.Digest}}` of `repository:tag` in `registry`: the digest
/// of what the tag names.
pub fn skopeo_digest(registry: &Registry, repository_and_tag: &str) -> String {
    skopeo(
        registry,
        &[
            "inspect",
            "--format",
            "{{.Digest}}",
            "--cert-dir",
            &cert_dir(registry),
            "--creds",
            &credentials(registry),
            &format!("docker://{}/{repository_and_tag}", registry.host()),
        ],
    )
    .trim()
    .to_string()
}

/// Runs skopeo with `args`, its home (and so its configuration and auth files) in the
/// registry's temporary directory; its standard output. Fails the test when skopeo does.
pub fn skopeo(registry: &Registry, args: &[&str]) -> String {
    let out = try_skopeo(registry, args);
    match out {
        Ok(text) => text,
        Err(text) => panic!("skopeo {args:?} failed:\n{text}"),
    }
}

/// Runs skopeo with `args`: its standard output, or its standard error if it fails.
pub fn try_skopeo(registry: &Registry, args: &[&str]) -> Result<String, String> {
    assert!(
        Path::new(SKOPEO).exists(),
        "{SKOPEO} is missing: install Debian's skopeo package (tools/test does)"
    );
    let home = registry_dir(registry).join("skopeo-home");
    std::fs::create_dir_all(&home).expect("skopeo home");
    let out = Command::new(SKOPEO)
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", &home)
        .output()
        .expect("run skopeo");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A directory holding the registry's CA as `ca.crt`, as skopeo's `--cert-dir` reads.
pub fn cert_dir(registry: &Registry) -> String {
    let dir = registry_dir(registry).join("skopeo-certs");
    std::fs::create_dir_all(&dir).expect("cert dir");
    std::fs::copy(registry.ca_file(), dir.join("ca.crt")).expect("copy the CA");
    dir.display().to_string()
}

/// `user:password` for skopeo's `--creds`.
pub fn credentials(registry: &Registry) -> String {
    format!("{}:{}", registry.username, registry.password)
}

/// A Docker config.json giving the registry's credentials, written beside it; its path.
pub fn docker_config(registry: &Registry) -> PathBuf {
    docker_config_with(registry, &registry.username, &registry.password)
}

/// A Docker config.json giving `username` and `password` for the registry.
pub fn docker_config_with(registry: &Registry, username: &str, password: &str) -> PathBuf {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    static WRITTEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = registry_dir(registry).join(format!("docker-config-{n}.json"));
    let config = json!({"auths": {registry.host(): {"auth": auth}}});
    std::fs::write(&path, config.to_string()).expect("docker config");
    path
}

/// The registry's temporary directory.
fn registry_dir(registry: &Registry) -> PathBuf {
    registry
        .ca_file()
        .parent()
        .expect("the CA file is in the registry's directory")
        .to_path_buf()
}
