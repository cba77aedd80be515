//! `oci://host[:port]/path/name` URLs, as HelmRepository (`type: oci`) and OCIRepository
//! write them, and the tags and digests that pick one manifest of a repository.

use std::fmt;

/// A repository in an OCI registry: `oci://{registry}/{repository}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciReference {
    /// The registry's host, with its port when the URL names one (`ghcr.io`,
    /// `127.0.0.1:5000`).
    pub registry: String,
    /// The repository path inside the registry (`stefanprodan/charts/podinfo`).
    pub repository: String,
}

impl OciReference {
    /// Reads `oci://host[:port]/path/name`. A trailing `/` is dropped (a HelmRepository
    /// URL often has one before the chart name is joined). A tag (`:1.0`) or digest
    /// (`@sha256:…`) in the URL is an error: they are given apart, as Flux's
    /// `spec.ref` and a chart's version are.
    pub fn parse(url: &str) -> Result<OciReference, String> {
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| format!("invalid OCI URL `{url}`: it must start with oci://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let Some((registry, repository)) = rest.split_once('/') else {
            return Err(format!(
                "invalid OCI URL `{url}`: it names a registry but no repository (oci://host/path)"
            ));
        };
        check_registry(registry).map_err(|why| format!("invalid OCI URL `{url}`: {why}"))?;
        if repository.contains('@') {
            return Err(format!(
                "invalid OCI URL `{url}`: a digest does not belong in the URL (give it as the reference)"
            ));
        }
        check_repository(repository).map_err(|why| format!("invalid OCI URL `{url}`: {why}"))?;
        Ok(OciReference {
            registry: registry.to_string(),
            repository: repository.to_string(),
        })
    }

    /// The repository `name` below this one: a HelmRepository's URL joined with a chart
    /// name, as source-controller joins them (`path.Join`).
    pub fn join(&self, name: &str) -> Result<OciReference, String> {
        let name = name.trim_matches('/');
        check_repository(name).map_err(|why| format!("invalid chart name `{name}`: {why}"))?;
        Ok(OciReference {
            registry: self.registry.clone(),
            repository: format!("{}/{name}", self.repository),
        })
    }

    /// Checks the fields, for references built field by field rather than parsed:
    /// they end up in request URLs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_registry(&self.registry)
            .and_then(|()| check_repository(&self.repository))
            .map_err(|why| format!("invalid OCI reference {self}: {why}"))
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)
    }
}

/// What picks one manifest of a repository: a tag, or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ManifestRef {
    /// A tag (`1.0.0`, `latest`, `sha256-….sig`).
    Tag(String),
    /// A sha256 digest (`sha256:` and 64 lowercase hex digits).
    Digest(String),
}

impl ManifestRef {
    /// Reads a tag or a `sha256:` digest.
    pub(crate) fn parse(reference: &str) -> Result<ManifestRef, String> {
        if reference.contains(':') {
            check_digest(reference)?;
            return Ok(ManifestRef::Digest(reference.to_string()));
        }
        let valid = reference.len() <= 128
            && reference
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            let hint = if reference.contains('+') {
                " (Helm stores a version's `+` as `_` in tags)"
            } else {
                ""
            };
            return Err(format!(
                "invalid tag `{reference}`: a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -{hint}"
            ));
        }
        Ok(ManifestRef::Tag(reference.to_string()))
    }
}

/// Checks that `digest` is `sha256:` and 64 lowercase hex digits, the only digests crunch
/// asks registries for (and every digest Helm, Flux and cosign write).
pub(crate) fn check_digest(digest: &str) -> Result<(), String> {
    let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid digest `{digest}`: expected sha256: and 64 lowercase hex digits"
        ))
    }
}

/// A registry host: DNS labels or an IPv4 address, or a bracketed IPv6 address, with an
/// optional port. The first path segment of a URL that is no host (`oci://charts/app`)
/// would be read by Flux's go-containerregistry as a Docker Hub repository and by Helm
/// as a host; crunch asks for an explicit host instead.
fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (registry, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("`{registry}` has an invalid port"));
    }
    let is_ipv6 = host.starts_with('[')
        && host.ends_with(']')
        && host.len() > 2
        && host[1..host.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    let is_dns = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !is_ipv6 && !is_dns {
        return Err(format!("`{registry}` is not a registry host"));
    }
    if !is_ipv6 && port.is_none() && !host.contains('.') && host != "localhost" {
        return Err(format!(
            "`{registry}` is not a registry host (a host has a `.` or a port, or is localhost)"
        ));
    }
    Ok(())
}

/// A repository path: `/`-separated components of lowercase letters and digits joined by
/// `.`, `_`, `__` or runs of `-` (the distribution spec's grammar).
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("the repository path is empty".into());
    }
    if repository.len() > 255 {
        return Err("the repository path is longer than 255 characters".into());
    }
    for component in repository.split('/') {
        if !valid_component(component) {
            return Err(format!(
                "`{component}` is not a valid repository path component (lowercase letters and digits, \
                 separated by `.`, `_`, `__` or `-`)"
            ));
        }
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    // Separators sit between alphanumeric runs: one `.`, one or two `_`, any `-`s.
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_read_and_print_back() {
        for url in [
            "oci://ghcr.io/stefanprodan/charts/podinfo",
            "oci://127.0.0.1:5000/charts",
            "oci://localhost/a",
            "oci://registry1.dso.mil/ironbank/big-bang/base",
            "oci://[::1]:5000/x/y",
            "oci://r.io/a-b/c__d/e.f/g--h",
        ] {
            let reference = OciReference::parse(url).unwrap();
            assert_eq!(reference.to_string(), url);
        }
        let reference = OciReference::parse("oci://ghcr.io/org/charts/").unwrap();
        assert_eq!(reference.repository, "org/charts");
        assert_eq!(
            reference.join("podinfo").unwrap().to_string(),
            "oci://ghcr.io/org/charts/podinfo"
        );
    }

    #[test]
    fn bad_urls_say_why() {
        let cases = [
            ("https://ghcr.io/a", "must start with oci://"),
            ("oci://ghcr.io", "no repository"),
            ("oci://ghcr.io/", "no repository"),
            ("oci://charts/app", "not a registry host"),
            ("oci://ghcr.io:x/a", "invalid port"),
            (
                "oci://ghcr.io/Org/app",
                "`Org` is not a valid repository path component",
            ),
            ("oci://ghcr.io/a//b", "`` is not a valid"),
            ("oci://ghcr.io/a/app:1.0", "`app:1.0` is not a valid"),
            ("oci://ghcr.io/a/app@sha256:00", "a digest does not belong"),
            ("oci://gh cr.io/a", "not a registry host"),
            ("oci://ghcr.io/a_-b", "`a_-b` is not a valid"),
        ];
        for (url, expected) in cases {
            let error = OciReference::parse(url).unwrap_err();
            assert!(error.contains(expected), "{url}: {error}");
        }
        let base = OciReference::parse("oci://ghcr.io/charts").unwrap();
        assert!(
            base.join("Podinfo")
                .unwrap_err()
                .contains("invalid chart name")
        );
    }

    #[test]
    fn tags_and_digests() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            ManifestRef::parse(&digest).unwrap(),
            ManifestRef::Digest(digest.clone())
        );
        assert_eq!(
            ManifestRef::parse("1.0.0_build.1").unwrap(),
            ManifestRef::Tag("1.0.0_build.1".into())
        );
        assert!(ManifestRef::parse("sha512:00").is_err());
        assert!(ManifestRef::parse(&digest.to_uppercase()).is_err());
        assert!(
            ManifestRef::parse("1.0.0+build")
                .unwrap_err()
                .contains("`_`")
        );
        assert!(ManifestRef::parse(".hidden").is_err());
        assert!(ManifestRef::parse("").is_err());
        assert!(ManifestRef::parse(&"a".repeat(129)).is_err());
    }
}
