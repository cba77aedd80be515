//! Credentials for a registry: none, or a username and password, possibly read from a
//! Docker `config.json` (a `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`)
//! as source-controller reads one.

use serde_json::{Map, Value};

use super::super::BasicAuth;
use super::gojson;

/// What crunch presents to a registry.
///
/// Basic credentials also answer a bearer-token challenge (Harbor, ghcr, registry1): the
/// client sends them to the token endpoint the registry names and uses the token it gets,
/// as Docker's and Helm's clients do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RegistryAuth {
    /// No credentials.
    #[default]
    Anonymous,
    /// A username and password.
    Basic(BasicAuth),
}

impl RegistryAuth {
    /// The username, if there is one (errors name it; never the password).
    pub fn username(&self) -> Option<&str> {
        match self {
            RegistryAuth::Anonymous => None,
            RegistryAuth::Basic(basic) => Some(&basic.username),
        }
    }
}

/// The credentials a Docker `config.json` holds for `registry` (`host[:port]`), as
/// source-controller's `KeychainFromSecret` reads a `dockerconfigjson` Secret with
/// docker/cli's config loader:
///
/// - `auths.<key>.auth` (base64 of `user:password`) or `username`/`password`; every `auth`
///   in the file is decoded, so a malformed one anywhere is an error;
/// - the key is `registry` itself, else the first key that docker's `ConvertToHostname`
///   turns into it (`https://host/v1/`, `http://host`, `host/path`); Docker Hub
///   (`docker.io`, `index.docker.io`) is looked up as `https://index.docker.io/v1/`;
/// - an entry with neither username nor password is anonymous access, one with only one
///   of them is an error, and no entry for the host is an error, as in source-controller;
/// - `credHelpers` for the host, or a `credsStore`, are refused by name: they name
///   programs that docker runs to get the credentials, and crunch runs none.
pub fn docker_config_auth(json: &[u8], registry: &str) -> Result<RegistryAuth, String> {
    docker_config_entry(json, registry)?
        .ok_or_else(|| format!("no auth config for '{registry}' in the docker config"))
}

/// The credentials a Docker `config.json` holds for `registry`, read as
/// [`docker_config_auth`] reads them, or `None` when it has no entry for the host (as
/// `docker pull` reads its own config: no entry is anonymous access).
pub fn docker_config_entry(json: &[u8], registry: &str) -> Result<Option<RegistryAuth>, String> {
    let config = parse_config(json)?;
    let key = if registry == "docker.io" || registry == "index.docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    if let Some(helper) = config.helpers.iter().find(|(host, _)| host == key) {
        return Err(format!(
            "the docker config has the credential helper `{}` (credHelpers) for {registry}: \
             crunch runs no credential helpers; put the credentials in `auths`",
            helper.1
        ));
    }
    if let Some(store) = &config.store {
        return Err(format!(
            "the docker config has the credential store `{store}` (credsStore): crunch runs no \
             credential helpers; put the credentials in `auths`"
        ));
    }
    let entry = config
        .auths
        .iter()
        .find(|entry| entry.key == key)
        .or_else(|| {
            config
                .auths
                .iter()
                .find(|entry| convert_to_hostname(&entry.key) == key)
        });
    // source-controller checks the entry it got is for the host itself; Docker Hub's
    // `https://index.docker.io/v1/` is not `docker.io`.
    let Some(entry) = entry.filter(|entry| convert_to_hostname(&entry.key) == registry) else {
        return Ok(None);
    };
    match (entry.username.is_empty(), entry.password.is_empty()) {
        (true, true) => Ok(Some(RegistryAuth::Anonymous)),
        (false, false) => Ok(Some(RegistryAuth::Basic(BasicAuth {
            username: entry.username.clone(),
            password: entry.password.clone(),
        }))),
        _ => Err(format!(
            "the docker config's entry `{}` has a username or a password but not both",
            entry.key
        )),
    }
}

/// The parts of a docker config file that credentials come from.
struct DockerConfig {
    /// `auths`, in file order, each with its credentials decoded.
    auths: Vec<AuthEntry>,
    /// `credsStore`, if set.
    store: Option<String>,
    /// `credHelpers`: host, helper.
    helpers: Vec<(String, String)>,
}

/// One `auths` entry.
struct AuthEntry {
    key: String,
    username: String,
    password: String,
}

fn parse_config(json: &[u8]) -> Result<DockerConfig, String> {
    let bad = |why: String| format!("invalid docker config: {why}");
    // docker/cli reads an empty file as an empty configuration.
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(DockerConfig {
            auths: Vec::new(),
            store: None,
            helpers: Vec::new(),
        });
    }
    let value: Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    let Value::Object(root) = value else {
        return Err(bad("it is not a JSON object".into()));
    };
    let mut auths = Vec::new();
    for (key, entry) in object_field(&root, "auths").map_err(bad)? {
        let entry = match entry {
            Value::Object(entry) => entry,
            Value::Null => continue,
            _ => return Err(bad(format!("auths.{key} is not an object"))),
        };
        let text =
            |name: &str| string_field(entry, name).map_err(|e| bad(format!("auths.{key}.{e}")));
        let (mut username, mut password) = (text("username")?, text("password")?);
        let auth = text("auth")?;
        if !auth.is_empty() {
            (username, password) =
                decode_auth(&auth).map_err(|e| bad(format!("auths.{key}.auth: {e}")))?;
        }
        auths.push(AuthEntry {
            key: key.clone(),
            username,
            password,
        });
    }
    let store = string_field(&root, "credsStore").map_err(bad)?;
    let helpers = object_field(&root, "credHelpers")
        .map_err(bad)?
        .iter()
        .map(|(host, helper)| match helper {
            Value::String(helper) => Ok((host.clone(), helper.clone())),
            _ => Err(bad(format!("credHelpers.{host} is not a string"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(DockerConfig {
        auths,
        store: (!store.is_empty()).then_some(store),
        helpers,
    })
}

/// An object-valued field (absent or null: empty).
fn object_field<'a>(
    object: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, String> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    match gojson::field(object, name) {
        None | Some(Value::Null) => Ok(&EMPTY),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!("{name} is not an object")),
    }
}

/// A string-valued field (absent or null: empty).
fn string_field(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match gojson::field(object, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

/// docker/cli's `decodeAuth`: base64 (Go's standard encoding) of `user:password`, with a
/// non-empty user; NUL bytes trimmed off the password's ends.
fn decode_auth(auth: &str) -> Result<(String, String), String> {
    let decoded = crate::gostd::base64::decode_std(auth.as_bytes())?;
    let decoded = String::from_utf8(decoded).map_err(|_| "not UTF-8 once decoded".to_string())?;
    match decoded.split_once(':') {
        Some((user, password)) if !user.is_empty() => {
            Ok((user.to_string(), password.trim_matches('\0').to_string()))
        }
        _ => Err("invalid auth configuration file (expected base64 of user:password)".into()),
    }
}

/// docker/cli's `ConvertToHostname`: the `host[:port]` of a key written as a URL
/// (`https://host/v1/`), else everything before the first `/`.
fn convert_to_hostname(key: &str) -> String {
    match key.split_once("://") {
        Some((_, rest)) if !rest.is_empty() => {
            // Go's url.Parse then Hostname()/Port(): the authority, without userinfo, with
            // IPv6 brackets kept by JoinHostPort.
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let authority = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            authority.strip_suffix(':').unwrap_or(authority).to_string()
        }
        _ => key.split('/').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(username: &str, password: &str) -> RegistryAuth {
        RegistryAuth::Basic(BasicAuth {
            username: username.into(),
            password: password.into(),
        })
    }

    #[test]
    fn credentials_come_from_auth_or_fields() {
        // "alice:s3cret:with:colons" in base64
        let json = br#"{"auths": {
            "ghcr.io": {"auth": "YWxpY2U6czNjcmV0OndpdGg6Y29sb25z"},
            "registry1.dso.mil": {"username": "bob", "password": "pw"},
            "public.io": {}
        }}"#;
        assert_eq!(
            docker_config_auth(json, "ghcr.io").unwrap(),
            basic("alice", "s3cret:with:colons")
        );
        assert_eq!(
            docker_config_auth(json, "registry1.dso.mil").unwrap(),
            basic("bob", "pw")
        );
        assert_eq!(
            docker_config_auth(json, "public.io").unwrap(),
            RegistryAuth::Anonymous
        );
        let error = docker_config_auth(json, "quay.io").unwrap_err();
        assert_eq!(error, "no auth config for 'quay.io' in the docker config");
    }

    #[test]
    fn keys_match_as_docker_converts_them() {
        let json = br#"{"Auths": {
            "https://harbor.example.com/v1/": {"username": "u1", "password": "p1"},
            "http://127.0.0.1:5000": {"username": "u2", "password": "p2"},
            "reg.example.com/some/path": {"username": "u3", "password": "p3"},
            "https://index.docker.io/v1/": {"username": "hub", "password": "p4"}
        }}"#;
        assert_eq!(
            docker_config_auth(json, "harbor.example.com").unwrap(),
            basic("u1", "p1")
        );
        assert_eq!(
            docker_config_auth(json, "127.0.0.1:5000").unwrap(),
            basic("u2", "p2")
        );
        assert_eq!(
            docker_config_auth(json, "reg.example.com").unwrap(),
            basic("u3", "p3")
        );
        // As in source-controller: the Docker Hub entry is found for index.docker.io, and
        // its key's host is not `docker.io`.
        assert_eq!(
            docker_config_auth(json, "index.docker.io").unwrap(),
            basic("hub", "p4")
        );
        assert!(docker_config_auth(json, "docker.io").is_err());
        // An exact key wins over a converted one.
        let json = br#"{"auths": {
            "https://r.io/v1/": {"username": "converted", "password": "p"},
            "r.io": {"username": "exact", "password": "p"}
        }}"#;
        assert_eq!(
            docker_config_auth(json, "r.io").unwrap(),
            basic("exact", "p")
        );
    }

    #[test]
    fn helpers_are_refused_by_name() {
        let json = br#"{"auths": {"ghcr.io": {"username": "u", "password": "p"}},
                        "credHelpers": {"123.dkr.ecr.aws": "ecr-login"}}"#;
        let error = docker_config_auth(json, "123.dkr.ecr.aws").unwrap_err();
        assert!(error.contains("`ecr-login` (credHelpers)"), "{error}");
        assert_eq!(
            docker_config_auth(json, "ghcr.io").unwrap(),
            basic("u", "p")
        );
        let json = br#"{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}"#;
        let error = docker_config_auth(json, "ghcr.io").unwrap_err();
        assert!(error.contains("`desktop` (credsStore)"), "{error}");
    }

    #[test]
    fn malformed_configs_are_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"[]", "not a JSON object"),
            (b"{", "invalid docker config"),
            (br#"{"auths": []}"#, "auths is not an object"),
            (
                br#"{"auths": {"a.io": {"auth": 1}}}"#,
                "auths.a.io.auth is not a string",
            ),
            (br#"{"auths": {"a.io": {"auth": "!!"}}}"#, "auths.a.io.auth"),
            // base64 of ":pw": no user
            (br#"{"auths": {"a.io": {"auth": "OnB3"}}}"#, "user:password"),
            (
                br#"{"auths": {"b.io": {"username": "only"}}}"#,
                "a username or a password but not both",
            ),
        ];
        for (json, expected) in cases {
            let error = docker_config_auth(json, "b.io").unwrap_err();
            assert!(
                error.contains(expected),
                "{}: {error}",
                String::from_utf8_lossy(json)
            );
        }
        assert_eq!(
            docker_config_auth(b"", "a.io").unwrap_err(),
            "no auth config for 'a.io' in the docker config"
        );
    }

    #[test]
    fn hostnames_convert_as_docker_does() {
        assert_eq!(
            convert_to_hostname("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(convert_to_hostname("http://u:p@host:5000/x"), "host:5000");
        assert_eq!(convert_to_hostname("https://[::1]:5000"), "[::1]:5000");
        assert_eq!(convert_to_hostname("host/x"), "host");
        assert_eq!(convert_to_hostname("host"), "host");
    }
}
