//! How crunch reaches image registries: trusted CAs, plain HTTP, and credentials from a
//! Docker `config.json`, as `docker`, `skopeo` and `crane` find theirs.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::ImageRef;
use crate::source::Mirrors;
use crate::source::oci::{OciReference, RegistryAuth, RegistryClient, docker_config_entry};

/// Where credentials and CAs come from, as the command line gives them.
#[derive(Debug, Clone, Default)]
pub struct AccessOptions {
    /// A Docker `config.json` with `auths` (`--registry-config`); `None` for none.
    pub registry_config: Option<PathBuf>,
    /// A PEM file of CA certificates trusted besides the system's (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Talk plain HTTP instead of HTTPS (`--plain-http`).
    pub plain_http: bool,
}

impl AccessOptions {
    /// These options with what the environment adds, as `docker`, `podman` and `git`
    /// read it: without `--registry-config`, `$REGISTRY_AUTH_FILE`, else
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (the first variable set
    /// names the file; a file that is not there means no credentials); without
    /// `--ca-file`, `$GIT_SSL_CAINFO`, which crunch honours for every registry.
    pub fn with_environment(self, var: impl Fn(&str) -> Option<OsString>) -> AccessOptions {
        let set = |name: &str| var(name).filter(|value| !value.is_empty());
        let registry_config = self.registry_config.or_else(|| {
            let found = set("REGISTRY_AUTH_FILE")
                .map(PathBuf::from)
                .or_else(|| set("DOCKER_CONFIG").map(|dir| PathBuf::from(dir).join("config.json")))
                .or_else(|| {
                    set("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
                });
            found.filter(|path| path.exists())
        });
        AccessOptions {
            registry_config,
            ca_file: self
                .ca_file
                .or_else(|| set("GIT_SSL_CAINFO").map(PathBuf::from)),
            plain_http: self.plain_http,
        }
    }
}

/// A registry client, the credentials to present per registry, and the mirrors images
/// are fetched from.
pub struct RegistryAccess {
    client: RegistryClient,
    /// The docker config's path and bytes.
    config: Option<(PathBuf, Vec<u8>)>,
    mirrors: Mirrors,
}

impl RegistryAccess {
    /// Reads the files `options` name.
    pub fn new(options: &AccessOptions) -> Result<RegistryAccess, String> {
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path)
                .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
        };
        let ca_pem = options
            .ca_file
            .as_ref()
            .map(|path| read(path, "CA file").map(Arc::new))
            .transpose()?;
        let config = options
            .registry_config
            .as_ref()
            .map(|path| read(path, "registry config").map(|bytes| (path.clone(), bytes)))
            .transpose()?;
        Ok(RegistryAccess {
            client: RegistryClient::new(ca_pem, options.plain_http),
            config,
            mirrors: Mirrors::default(),
        })
    }

    /// This access, fetching images from mirrors: a rule (`oci://registry1.dso.mil/` →
    /// `oci://mirror.example:5000/`) rewrites the prefix of `oci://REGISTRY/REPOSITORY`,
    /// as `--mirror` rewrites source URLs. Images keep their names: only where their
    /// manifests and blobs come from changes (pulls and resolves, not pushes).
    pub fn with_mirrors(self, mirrors: Mirrors) -> RegistryAccess {
        RegistryAccess { mirrors, ..self }
    }

    /// The repository `image` is fetched from: its own, or a mirror's.
    pub(crate) fn locate(&self, image: &ImageRef) -> Result<OciReference, String> {
        let own = repository(image);
        let url = own.to_string();
        let mirrored = self.mirrors.rewrite(&url);
        if mirrored == url {
            return Ok(own);
        }
        OciReference::parse(&mirrored)
            .map_err(|e| format!("the mirror of {url} is not a repository: {e}"))
    }

    /// The client.
    pub(crate) fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The credentials for `registry`: its entry of the docker config, anonymous
    /// without a config or an entry.
    pub(crate) fn auth(&self, registry: &str) -> Result<RegistryAuth, String> {
        let Some((path, json)) = &self.config else {
            return Ok(RegistryAuth::Anonymous);
        };
        docker_config_entry(json, registry)
            .map(Option::unwrap_or_default)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The repository of `image`, as the registry client addresses it.
pub(crate) fn repository(image: &ImageRef) -> OciReference {
    OciReference {
        registry: image.registry().to_string(),
        repository: image.repository().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_fills_what_the_flags_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("docker");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(docker.join("config.json"), "{}").unwrap();
        std::fs::write(home.join(".docker/config.json"), "{}").unwrap();
        let env = |vars: Vec<(&'static str, PathBuf)>| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone().into_os_string())
            }
        };
        let none = AccessOptions::default();
        let found = none.clone().with_environment(env(vec![
            ("DOCKER_CONFIG", docker.clone()),
            ("HOME", home.clone()),
            ("GIT_SSL_CAINFO", "/ca.pem".into()),
        ]));
        assert_eq!(found.registry_config, Some(docker.join("config.json")));
        assert_eq!(found.ca_file, Some(PathBuf::from("/ca.pem")));
        let found = none
            .clone()
            .with_environment(env(vec![("HOME", home.clone())]));
        assert_eq!(
            found.registry_config,
            Some(home.join(".docker/config.json"))
        );
        // The first variable set names the file, and a missing file is no credentials.
        let found = none.clone().with_environment(env(vec![
            ("REGISTRY_AUTH_FILE", dir.path().join("missing.json")),
            ("HOME", home.clone()),
        ]));
        assert_eq!(found.registry_config, None);
        let explicit = AccessOptions {
            registry_config: Some("/given.json".into()),
            ca_file: Some("/given.pem".into()),
            plain_http: true,
        };
        let kept = explicit.clone().with_environment(env(vec![("HOME", home)]));
        assert_eq!(kept.registry_config, explicit.registry_config);
        assert_eq!(kept.ca_file, explicit.ca_file);
    }

    #[test]
    fn mirrors_change_where_images_come_from() {
        let access = RegistryAccess::new(&AccessOptions::default())
            .unwrap()
            .with_mirrors(Mirrors::new([(
                "oci://registry1.dso.mil/".to_string(),
                "oci://127.0.0.1:5000/mirror/".to_string(),
            )]));
        let image = ImageRef::parse("registry1.dso.mil/ironbank/x/y:1").unwrap();
        assert_eq!(
            access.locate(&image).unwrap().to_string(),
            "oci://127.0.0.1:5000/mirror/ironbank/x/y"
        );
        let other = ImageRef::parse("quay.io/a/b:1").unwrap();
        assert_eq!(
            access.locate(&other).unwrap().to_string(),
            "oci://quay.io/a/b"
        );
        let broken = RegistryAccess::new(&AccessOptions::default())
            .unwrap()
            .with_mirrors(Mirrors::new([(
                "oci://quay.io/".to_string(),
                "https://x/".to_string(),
            )]));
        let error = broken.locate(&other).unwrap_err();
        assert!(
            error.starts_with("the mirror of oci://quay.io/a/b is not a repository"),
            "{error}"
        );
    }

    #[test]
    fn credentials_come_from_the_config_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"reg.example": {"username": "u", "password": "p"}}}"#,
        )
        .unwrap();
        let access = RegistryAccess::new(&AccessOptions {
            registry_config: Some(path.clone()),
            ..AccessOptions::default()
        })
        .unwrap();
        assert_eq!(access.auth("reg.example").unwrap().username(), Some("u"));
        assert_eq!(
            access.auth("other.example").unwrap(),
            RegistryAuth::Anonymous
        );
        std::fs::write(&path, r#"{"credsStore": "desktop"}"#).unwrap();
        let access = RegistryAccess::new(&AccessOptions {
            registry_config: Some(path),
            ..AccessOptions::default()
        })
        .unwrap();
        let error = access.auth("reg.example").unwrap_err();
        assert!(error.contains("`desktop` (credsStore)"), "{error}");
        let error = RegistryAccess::new(&AccessOptions {
            ca_file: Some(dir.path().join("missing.pem")),
            ..AccessOptions::default()
        })
        .err()
        .unwrap();
        assert!(error.starts_with("cannot read the CA file"), "{error}");
    }
}
