//! What is inside a manifest: a Helm chart as Helm's `pkg/registry` pushes and pulls it,
//! or a Flux artifact's layer as source-controller's OCIRepository selects it.

use serde_json::Value;

use super::reference::check_digest;

/// Helm's chart config (`Chart.yaml` as JSON).
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart layer: the chart's `.tgz`.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's provenance layer (`.prov`).
pub const HELM_PROVENANCE_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The chart layer media type of Helm before v3.7 (Helm still reads it, with a warning).
const LEGACY_HELM_CHART_MEDIA_TYPE: &str = "application/tar+gzip";

/// A content descriptor: what a manifest says about one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `sha256:` and 64 hex digits.
    pub digest: String,
    /// The blob's size in bytes.
    pub size: u64,
    /// The blob's media type.
    pub media_type: String,
}

/// The chart layer of a Helm chart's manifest, as Helm's registry client picks it
/// (`processChartPull`, pulling the chart without provenance): descriptors of media
/// types other than the manifest, Helm's config and chart layers are skipped; a chart
/// needs at least two (the manifest counts), a config of Helm's media type, and a chart
/// layer (the current or the legacy media type; the last one when there are several).
/// Errors are Helm's, followed by what the manifest holds, so that, say, a container
/// image pulled as a chart says so.
pub fn helm_chart_layer(manifest: &[u8]) -> Result<Descriptor, String> {
    let parsed = ImageManifest::parse(manifest)?;
    let wanted = |media_type: &str| {
        [
            HELM_CONFIG_MEDIA_TYPE,
            HELM_CHART_MEDIA_TYPE,
            LEGACY_HELM_CHART_MEDIA_TYPE,
        ]
        .contains(&media_type)
    };
    // The manifest itself is one of the descriptors Helm's copy keeps (when its media
    // type is the OCI manifest's, as Helm pushes it, or not declared).
    let manifest_kept = parsed
        .media_type
        .as_deref()
        .is_none_or(|t| t == "application/vnd.oci.image.manifest.v1+json");
    let kept: Vec<&Descriptor> = std::iter::once(&parsed.config)
        .chain(&parsed.layers)
        .filter(|d| wanted(&d.media_type))
        .collect();
    let found = usize::from(manifest_kept) + kept.len();
    if found < 2 {
        return Err(format!(
            "manifest does not contain minimum number of descriptors (2), descriptors found: {found} ({})",
            parsed.summary()
        ));
    }
    if parsed.config.media_type != HELM_CONFIG_MEDIA_TYPE {
        return Err(format!(
            "could not load config with mediatype {HELM_CONFIG_MEDIA_TYPE} ({})",
            parsed.summary()
        ));
    }
    parsed
        .layers
        .iter()
        .rfind(|d| {
            d.media_type == HELM_CHART_MEDIA_TYPE || d.media_type == LEGACY_HELM_CHART_MEDIA_TYPE
        })
        .cloned()
        .ok_or_else(|| {
            format!(
                "manifest does not contain a layer with mediatype {HELM_CHART_MEDIA_TYPE} ({})",
                parsed.summary()
            )
        })
}

/// The layer of a Flux artifact (`flux push artifact`) that an OCIRepository's
/// `layerSelector.mediaType` selects, as source-controller's `selectLayer` does: the
/// first layer with that media type, or the first layer when none is given.
pub fn select_layer(manifest: &[u8], media_type: Option<&str>) -> Result<Descriptor, String> {
    let parsed = ImageManifest::parse(manifest)?;
    if parsed.layers.is_empty() {
        return Err("no layers found in artifact".into());
    }
    match media_type.filter(|t| !t.is_empty()) {
        None => Ok(parsed.layers[0].clone()),
        Some(wanted) => parsed
            .layers
            .iter()
            .find(|d| d.media_type == wanted)
            .cloned()
            .ok_or_else(|| format!("failed to find layer with media type '{wanted}' in artifact")),
    }
}

/// The parts of an image manifest that pick a layer.
struct ImageManifest {
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

impl ImageManifest {
    fn parse(bytes: &[u8]) -> Result<ImageManifest, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        let Value::Object(object) = value else {
            return Err("the manifest is not a JSON object".into());
        };
        let media_type = match object.get("mediaType") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(t.clone()),
            Some(_) => return Err("the manifest's mediaType is not a string".into()),
        };
        if object.contains_key("manifests") {
            return Err(format!(
                "the manifest is an image index ({}), not an image manifest: a chart or artifact \
                 is one image manifest, not a set of platform images",
                media_type.as_deref().unwrap_or("no mediaType")
            ));
        }
        if let Some(schema) = object.get("schemaVersion")
            && schema != &Value::from(2)
        {
            return Err(format!("the manifest's schemaVersion is {schema}, not 2"));
        }
        let (config, layers) = config_and_layers(&object)?;
        Ok(ImageManifest {
            media_type,
            config,
            layers,
        })
    }

    /// `config <type>, layers <type>, <type>` for error messages.
    fn summary(&self) -> String {
        let layers: Vec<&str> = self.layers.iter().map(|d| d.media_type.as_str()).collect();
        format!(
            "found config {}, layers {}",
            self.config.media_type,
            if layers.is_empty() {
                "none".to_string()
            } else {
                layers.join(", ")
            }
        )
    }
}

/// An image manifest's `config` and `layers` descriptors (no `layers` reads as none).
pub(crate) fn config_and_layers(
    manifest: &serde_json::Map<String, Value>,
) -> Result<(Descriptor, Vec<Descriptor>), String> {
    let config = match manifest.get("config") {
        Some(config) => descriptor(config).map_err(|e| format!("its config: {e}"))?,
        None => return Err("the manifest has no config".into()),
    };
    let layers = match manifest.get("layers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(layers)) => layers
            .iter()
            .enumerate()
            .map(|(i, layer)| descriptor(layer).map_err(|e| format!("its layer {i}: {e}")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("the manifest's layers are not an array".into()),
    };
    Ok((config, layers))
}

/// A descriptor object: `mediaType`, `digest` (sha256) and `size`.
pub(crate) fn descriptor(value: &Value) -> Result<Descriptor, String> {
    let object = value.as_object().ok_or("not an object")?;
    let text = |name: &str| match object.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(format!("no {name} string")),
    };
    let digest = text("digest")?;
    check_digest(&digest)?;
    let size = object
        .get("size")
        .and_then(Value::as_u64)
        .ok_or("no size (a non-negative integer)")?;
    Ok(Descriptor {
        digest,
        size,
        media_type: text("mediaType")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn manifest(config: &str, layers: &[&str]) -> Vec<u8> {
        let layer = |(i, t): (usize, &&str)| serde_json::json!({"mediaType": t, "digest": digest(i as u8 + 1), "size": 10 + i});
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": config, "digest": digest(0), "size": 5},
            "layers": layers.iter().enumerate().map(layer).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn helm_charts_give_their_chart_layer() {
        let chart = manifest(HELM_CONFIG_MEDIA_TYPE, &[HELM_CHART_MEDIA_TYPE]);
        assert_eq!(
            helm_chart_layer(&chart).unwrap(),
            Descriptor {
                digest: digest(1),
                size: 10,
                media_type: HELM_CHART_MEDIA_TYPE.into()
            }
        );
        // A provenance layer and unknown layers are skipped.
        let signed = manifest(
            HELM_CONFIG_MEDIA_TYPE,
            &[HELM_PROVENANCE_MEDIA_TYPE, "x/other", HELM_CHART_MEDIA_TYPE],
        );
        assert_eq!(helm_chart_layer(&signed).unwrap().digest, digest(3));
        let legacy = manifest(HELM_CONFIG_MEDIA_TYPE, &[LEGACY_HELM_CHART_MEDIA_TYPE]);
        assert_eq!(helm_chart_layer(&legacy).unwrap().digest, digest(1));
    }

    #[test]
    fn other_manifests_say_what_they_hold() {
        let image = manifest(
            "application/vnd.oci.image.config.v1+json",
            &["application/vnd.oci.image.layer.v1.tar+gzip"],
        );
        assert_eq!(
            helm_chart_layer(&image).unwrap_err(),
            "manifest does not contain minimum number of descriptors (2), descriptors found: 1 \
             (found config application/vnd.oci.image.config.v1+json, layers \
             application/vnd.oci.image.layer.v1.tar+gzip)"
        );
        let no_chart = manifest(HELM_CONFIG_MEDIA_TYPE, &[HELM_PROVENANCE_MEDIA_TYPE]);
        assert!(
            helm_chart_layer(&no_chart)
                .unwrap_err()
                .starts_with("manifest does not contain a layer with mediatype application/vnd.cncf.helm.chart.content.v1.tar+gzip")
        );
        let no_config = manifest("x/config", &[HELM_CHART_MEDIA_TYPE]);
        assert!(helm_chart_layer(&no_config).unwrap_err().starts_with(
            "could not load config with mediatype application/vnd.cncf.helm.config.v1+json"
        ));
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(helm_chart_layer(index).unwrap_err().contains("image index"));
    }

    #[test]
    fn malformed_manifests_are_errors() {
        let cases: [(&[u8], &str); 6] = [
            (b"nope", "not JSON"),
            (b"[]", "not a JSON object"),
            (br#"{"schemaVersion":1}"#, "schemaVersion is 1"),
            (br#"{"schemaVersion":2}"#, "no config"),
            (
                br#"{"config":{"mediaType":"a","digest":"sha256:00","size":1}}"#,
                "its config: invalid digest",
            ),
            (
                br#"{"config":{"mediaType":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":-1}}"#,
                "its config: no size",
            ),
        ];
        for (bytes, expected) in cases {
            let error = select_layer(bytes, None).unwrap_err();
            assert!(
                error.contains(expected),
                "{}: {error}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn artifact_layers_are_selected_as_source_controller_does() {
        let artifact = manifest(
            "application/vnd.cncf.flux.config.v1+json",
            &["a/one", "a/two", "a/two"],
        );
        assert_eq!(select_layer(&artifact, None).unwrap().digest, digest(1));
        assert_eq!(select_layer(&artifact, Some("")).unwrap().digest, digest(1));
        assert_eq!(
            select_layer(&artifact, Some("a/two")).unwrap().digest,
            digest(2)
        );
        assert_eq!(
            select_layer(&artifact, Some("a/three")).unwrap_err(),
            "failed to find layer with media type 'a/three' in artifact"
        );
        let empty = manifest("a/config", &[]);
        assert_eq!(
            select_layer(&empty, None).unwrap_err(),
            "no layers found in artifact"
        );
    }
}
