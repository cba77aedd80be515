//! What a container image's manifest refers to: an index (OCI image index, Docker
//! manifest list) lists manifests, each maybe for one platform; an image manifest (OCI,
//! Docker schema 2) a config and layers. The bytes are kept as they are: they are what
//! the digests name.

use serde_json::Value;

use super::Platform;
use crate::source::oci::{Descriptor, config_and_layers, descriptor};

/// An OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A Docker image manifest, schema 2.
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker manifest list.
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A manifest read for the blobs it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// Its media type: declared in it, else as its descriptor says, else what its shape
    /// is (an OCI manifest may leave `mediaType` out).
    pub(crate) media_type: String,
    /// What it refers to.
    pub(crate) content: Content,
}

/// What a manifest refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// An index: manifests, with the platform each is for when it says.
    Index(Vec<(Descriptor, Option<Platform>)>),
    /// An image: its config and layers.
    Image {
        /// The config blob.
        config: Descriptor,
        /// The layer blobs, in order.
        layers: Vec<Descriptor>,
    },
}

impl Manifest {
    /// Reads a manifest; `described_as` is the media type its descriptor gives, if any.
    pub(crate) fn parse(bytes: &[u8], described_as: Option<&str>) -> Result<Manifest, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("the manifest is not a JSON object")?;
        match object.get("schemaVersion").and_then(Value::as_u64) {
            Some(2) => {}
            Some(1) => {
                return Err(
                    "the manifest is Docker's schema 1, which registries and runtimes \
                            have dropped; push the image again with a current client"
                        .into(),
                );
            }
            _ => return Err("the manifest's schemaVersion is not 2".into()),
        }
        let declared = match object.get("mediaType") {
            None | Some(Value::Null) => None,
            Some(Value::String(media_type)) => Some(media_type.as_str()),
            Some(_) => return Err("the manifest's mediaType is not a string".into()),
        };
        let shape = if object.contains_key("manifests") {
            OCI_INDEX
        } else {
            OCI_MANIFEST
        };
        let media_type = declared.or(described_as).unwrap_or(shape).to_string();
        let content = match media_type.as_str() {
            OCI_INDEX | DOCKER_LIST => {
                let entries = match object.get("manifests") {
                    Some(Value::Array(entries)) => entries,
                    _ => return Err("the index has no manifests array".into()),
                };
                let children = entries
                    .iter()
                    .enumerate()
                    .map(|(i, entry)| {
                        descriptor(entry)
                            .map(|d| (d, Platform::of_entry(entry)))
                            .map_err(|e| format!("its manifest {i}: {e}"))
                    })
                    .collect::<Result<_, String>>()?;
                Content::Index(children)
            }
            OCI_MANIFEST | DOCKER_MANIFEST => {
                let (config, layers) = config_and_layers(object)?;
                Content::Image { config, layers }
            }
            other => {
                return Err(format!(
                    "the manifest's media type {other} is none of an image's (OCI image manifest \
                     or index, Docker manifest or manifest list)"
                ));
            }
        };
        Ok(Manifest {
            media_type,
            content,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    #[test]
    fn indexes_and_images_say_what_they_refer_to() {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"mediaType": DOCKER_MANIFEST, "digest": digest(1), "size": 10,
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": OCI_MANIFEST, "digest": digest(2), "size": 11},
            ],
        });
        // No mediaType: the descriptor's, else the shape's.
        let parsed = Manifest::parse(index.to_string().as_bytes(), Some(DOCKER_LIST)).unwrap();
        assert_eq!(parsed.media_type, DOCKER_LIST);
        let parsed = Manifest::parse(index.to_string().as_bytes(), None).unwrap();
        assert_eq!(parsed.media_type, OCI_INDEX);
        let Content::Index(children) = parsed.content else {
            panic!("an index")
        };
        assert_eq!(children[0].0.digest, digest(1));
        assert_eq!(
            children[0].1,
            Some(Platform::parse("linux/arm64/v8").unwrap())
        );
        assert_eq!(children[1].1, None);
        let image = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "c", "digest": digest(3), "size": 1},
            "layers": [{"mediaType": "l", "digest": digest(4), "size": 2}],
        });
        let parsed = Manifest::parse(image.to_string().as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(parsed.media_type, DOCKER_MANIFEST, "what it declares wins");
        assert_eq!(
            parsed.content,
            Content::Image {
                config: Descriptor {
                    digest: digest(3),
                    size: 1,
                    media_type: "c".into()
                },
                layers: vec![Descriptor {
                    digest: digest(4),
                    size: 2,
                    media_type: "l".into()
                }],
            }
        );
    }

    #[test]
    fn what_is_no_image_is_refused() {
        let cases = [
            (
                r#"{"schemaVersion": 1, "fsLayers": []}"#,
                "Docker's schema 1",
            ),
            (r#"{"schemaVersion": 2}"#, "no config"),
            (r#"[]"#, "not a JSON object"),
            (
                r#"{"schemaVersion": 2, "mediaType": "application/vnd.cncf.helm.config.v1+json"}"#,
                "none of an image's",
            ),
            (
                r#"{"schemaVersion": 2, "manifests": [{"digest": "sha256:00", "size": 1, "mediaType": "x"}]}"#,
                "its manifest 0: invalid digest",
            ),
        ];
        for (text, expected) in cases {
            let error = Manifest::parse(text.as_bytes(), None).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
