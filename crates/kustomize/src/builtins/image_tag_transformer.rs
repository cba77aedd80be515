//! The builtin `ImageTagTransformer`: matching image references get a new name, tag or
//! digest, in containers anywhere in an object and at the configured paths (CRDs
//! excepted). Each `images` entry configures one.

use regex::Regex;
use serde_json::Value;

use super::{Transformer, decode, field_specs};
use crate::error::Error;
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::gojson::Mode;
use crate::gotypes::IMAGE_TAG_TRANSFORMER_T;
use crate::kustomization::{ImageArgs, parse_image};
use crate::resource::Resource;

/// A configured `ImageTagTransformer`.
#[derive(Debug, Clone)]
pub(crate) struct ImageTagTransformer {
    /// Which image and what it becomes.
    pub image: ImageArgs,
    /// Image fields beyond the containers found anywhere.
    pub field_specs: Vec<FieldSpec>,
}

impl ImageTagTransformer {
    /// The plugin's `kind`.
    pub(crate) const KIND: &'static str = "ImageTagTransformer";

    /// Reads a plugin config: `imageTag` and `fieldSpecs`.
    pub(crate) fn read(cfg: &Value) -> Result<ImageTagTransformer, Error> {
        let body = decode(cfg, &IMAGE_TAG_TRANSFORMER_T, Mode::YamlUnmarshal)?;
        let tag = body.get("imageTag").cloned().unwrap_or(Value::Null);
        Ok(ImageTagTransformer {
            image: parse_image(&tag)?,
            field_specs: field_specs(&body)?,
        })
    }
}

impl Transformer for ImageTagTransformer {
    fn transform(&self, rs: &mut Vec<Resource>) -> Result<(), Error> {
        let args = &self.image;
        let pattern = format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            args.name
        );
        let re = Regex::new(&pattern)
            .map_err(|e| Error::new(format!("images: invalid name {:?}: {e}", args.name)))?;
        let update = |node: &mut Value| -> Result<(), Error> {
            let Some(s) = node.as_str() else {
                return if node.is_object() || node.is_array() {
                    Err(Error::new("images: wrong node kind: expected ScalarNode"))
                } else {
                    Ok(())
                };
            };
            if !re.is_match(s) {
                return Ok(());
            }
            *node = Value::String(rewrite_image(s, args));
            Ok(())
        };
        for r in rs.iter_mut() {
            if r.kind() == "CustomResourceDefinition" {
                continue;
            }
            containers_anywhere(&mut r.obj, &update)?;
            for fs in &self.field_specs {
                fs.apply(&mut r.obj, CreateKind::None, &mut |n| update(n))?;
            }
        }
        Ok(())
    }
}

/// kustomize's legacy image walk: every `containers` / `initContainers` list at any depth.
fn containers_anywhere(
    node: &mut Value,
    update: &dyn Fn(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                containers_anywhere(value, update)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = value
                {
                    for item in items.iter_mut() {
                        if let Some(image) = item.get_mut("image") {
                            update(image)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| containers_anywhere(i, update)),
        _ => Ok(()),
    }
}

/// The new image reference for a matching one.
fn rewrite_image(image: &str, args: &ImageArgs) -> String {
    let (mut name, mut tag, mut digest) = split_image(image);
    if !args.new_name.is_empty() {
        name = args.new_name.clone();
    }
    if !args.new_tag.is_empty() && !args.digest.is_empty() {
        tag = args.new_tag.clone();
        digest = args.digest.clone();
    } else if !args.new_tag.is_empty() {
        tag = args.new_tag.clone();
        digest.clear();
    } else if !args.digest.is_empty() {
        tag.clear();
        digest = args.digest.clone();
    } else if !args.tag_suffix.is_empty() {
        tag.push_str(&args.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    name
}

/// Splits `name[:tag][@digest]`, looking for `:` only after the first `/` (registry ports).
fn split_image(image: &str) -> (String, String, String) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (
            image[..a].to_string(),
            String::new(),
            image[a + 1..].to_string(),
        ),
        (Some(c), Some(a)) => (
            image[..c].to_string(),
            image[c + 1..a].to_string(),
            image[a + 1..].to_string(),
        ),
        (Some(c), None) => (
            image[..c].to_string(),
            image[c + 1..].to_string(),
            String::new(),
        ),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split() {
        let s = |i: &str| split_image(i);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/app:v1@sha256:ab"),
            ("reg:5000/app".into(), "v1".into(), "sha256:ab".into())
        );
        assert_eq!(
            s("app@sha256:ab"),
            ("app".into(), "".into(), "sha256:ab".into())
        );
    }

    #[test]
    fn image_rewrite() {
        let args = ImageArgs {
            name: "nginx".into(),
            new_name: "reg.example/nginx".into(),
            new_tag: "2".into(),
            digest: String::new(),
            tag_suffix: String::new(),
        };
        assert_eq!(
            rewrite_image("nginx:1@sha256:x", &args),
            "reg.example/nginx:2"
        );
    }
}
