//! An image reference as a container runtime reads it, and where it lands in another
//! registry.

use std::fmt;

use oci_client::Reference;

/// A container image reference, normalized as Docker and containerd normalize it:
/// `nginx` is `docker.io/library/nginx:latest`, `quay.io/x/y` is `quay.io/x/y:latest`.
/// It may name a tag, a digest, or both (`name:tag@sha256:…`, which runtimes pull by
/// digest).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Reads a reference as written in a pod spec. Fails on what no runtime would pull:
    /// uppercase repository names, an empty name, a malformed digest.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let parsed = Reference::try_from(text)
            .map_err(|e| format!("image reference {text:?} is not valid: {e}"))?;
        Ok(ImageRef {
            registry: parsed.registry().to_string(),
            repository: parsed.repository().to_string(),
            tag: parsed.tag().map(str::to_string),
            digest: parsed.digest().map(str::to_string),
        })
    }

    /// The registry host (and port): `docker.io`, `registry1.dso.mil`, `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry: `library/nginx`, `ironbank/big-bang/x`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, when the reference names one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest (`sha256:…`), when the reference names one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The registry and repository without tag or digest: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same image pinned to `digest`, its tag kept for readers
    /// (`name:tag@sha256:…`).
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The same image in the registry `target` (a host with an optional port and path
    /// prefix: `registry.enclave:5000` or `registry.enclave/mirror`): the repository path is
    /// kept below it, as `crunch images push` stores it, so
    /// `registry1.dso.mil/ironbank/x/y:1.2` becomes `registry.enclave/ironbank/x/y:1.2`.
    /// Tag and digest are kept.
    pub fn relocated(&self, target: &str) -> Result<ImageRef, String> {
        let target = target.trim_end_matches('/');
        let relocated = format!("{target}/{}", self.repository);
        // The target is checked by reading the result back: a registry spelled with a
        // scheme, uppercase letters or an empty path segment makes no pullable name.
        let parsed = Reference::try_from(format!("{relocated}:latest").as_str())
            .map_err(|e| format!("registry {target:?} does not make a valid image name: {e}"))?;
        if parsed.registry() == "docker.io" && !target.starts_with("docker.io") {
            return Err(format!(
                "registry {target:?} is not a registry host (a host has a dot or a port, or is localhost)"
            ));
        }
        Ok(ImageRef {
            registry: parsed.registry().to_string(),
            repository: parsed.repository().to_string(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        })
    }
}

/// The full normalized spelling: `docker.io/library/nginx:1.25`,
/// `quay.io/x/y:1@sha256:…`, `quay.io/x/y@sha256:…`.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalizes_as_docker_does() {
        let cases = [
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.25", "docker.io/library/nginx:1.25"),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
            (
                "registry1.dso.mil/ironbank/a/b:1.2",
                "registry1.dso.mil/ironbank/a/b:1.2",
            ),
            ("localhost/x", "localhost/x:latest"),
            ("127.0.0.1:5000/x/y:2", "127.0.0.1:5000/x/y:2"),
        ];
        for (written, normalized) in cases {
            assert_eq!(ImageRef::parse(written).unwrap().to_string(), normalized);
        }
        let pinned = ImageRef::parse(&format!("quay.io/x/y@{DIGEST}")).unwrap();
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.to_string(), format!("quay.io/x/y@{DIGEST}"));
        let both = ImageRef::parse(&format!("quay.io/x/y:1@{DIGEST}")).unwrap();
        assert_eq!(both.to_string(), format!("quay.io/x/y:1@{DIGEST}"));
    }

    #[test]
    fn refuses_what_no_runtime_pulls() {
        for bad in ["", "Nginx", "x/y:", "x@sha256:12", "a b"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn relocation_keeps_the_repository_path() {
        let image = ImageRef::parse("registry1.dso.mil/ironbank/opensource/istio/pilot:1.2")
            .unwrap()
            .with_digest(DIGEST);
        assert_eq!(
            image.relocated("enclave.example:5000").unwrap().to_string(),
            format!("enclave.example:5000/ironbank/opensource/istio/pilot:1.2@{DIGEST}")
        );
        assert_eq!(
            ImageRef::parse("nginx:1")
                .unwrap()
                .relocated("reg.enclave/mirror/")
                .unwrap()
                .to_string(),
            "reg.enclave/mirror/library/nginx:1"
        );
        for bad in ["https://reg.enclave", "mirror", "reg.enclave//x"] {
            assert!(
                ImageRef::parse("nginx").unwrap().relocated(bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
