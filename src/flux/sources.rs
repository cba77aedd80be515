//! What source-controller reads from the cluster to reach a Helm repository or an OCI
//! registry: the Secrets a source names for credentials (`secretRef`), TLS
//! (`certSecretRef`) and cosign public keys (`verify.secretRef`). A Secret `crunch.yaml`
//! stands in for (`credentials.secrets`, `verify.secrets`) is read from this machine;
//! otherwise the Secret the deployment renders is read, as the controller would.

use super::cluster::{Cluster, data_text};
use super::spec::LocalReference;
use crate::config::{Config, SecretStandIn};
use crate::source::{Access, Auth, BasicAuth, Credential, cosign::PublicKeys};

/// The Secret `namespace/name` as the cluster would hold it.
fn secret<'a>(cluster: &'a Cluster, namespace: &str, name: &str) -> Option<&'a serde_json::Value> {
    cluster.get("", "Secret", namespace, name)
}

/// How to reach a source whose spec names these Secrets, in `namespace`.
pub fn access(
    config: &Config,
    cluster: &Cluster,
    namespace: &str,
    secret_ref: Option<&LocalReference>,
    cert_secret_ref: Option<&LocalReference>,
    insecure: bool,
    pass_credentials: bool,
) -> Result<Access, String> {
    let mut access = Access {
        insecure,
        pass_credentials,
        ..Access::default()
    };
    if let Some(reference) = secret_ref {
        let name = &reference.name;
        access.auth = if let Some(stand_in) = config.credentials.secrets.get(name) {
            configured_auth(name, stand_in)?
        } else if let Some(object) = secret(cluster, namespace, name) {
            declared_auth(namespace, name, object)?
        } else {
            Auth::Unavailable(format!(
                "spec.secretRef names Secret {namespace}/{name}, which the deployment does not render: say where its credentials are in crunch.yaml under credentials.secrets.{name}"
            ))
        };
        // source-controller reads TLS from the auth Secret too when there is no
        // certSecretRef (deprecated, still honoured).
        if cert_secret_ref.is_none() {
            tls(config, cluster, namespace, name, &mut access)?;
        }
    }
    if let Some(reference) = cert_secret_ref {
        let name = &reference.name;
        let known = config.credentials.secrets.contains_key(name)
            || secret(cluster, namespace, name).is_some();
        if !known {
            // Like credentials, certificates matter only when the source is fetched.
            if !matches!(access.auth, Auth::Unavailable(_)) {
                access.auth = Auth::Unavailable(format!(
                    "spec.certSecretRef names Secret {namespace}/{name}, which the deployment does not render: say where its certificates are in crunch.yaml under credentials.secrets.{name}"
                ));
            }
            return Ok(access);
        }
        tls(config, cluster, namespace, name, &mut access)?;
    }
    Ok(access)
}

/// Credentials `crunch.yaml` says where to find.
fn configured_auth(name: &str, stand_in: &SecretStandIn) -> Result<Auth, String> {
    let at = |what: &str| format!("crunch.yaml credentials.secrets.{name}: {what}");
    if let Some(path) = &stand_in.docker_config {
        let json = std::fs::read(path).map_err(|e| at(&format!("{}: {e}", path.display())))?;
        return Ok(Auth::Configured(Credential::DockerConfig(json)));
    }
    let username = match (&stand_in.username, &stand_in.username_env) {
        (Some(username), _) => Some(username.clone()),
        (None, Some(variable)) => Some(
            std::env::var(variable)
                .map_err(|_| at(&format!("usernameEnv {variable} is not set")))?,
        ),
        (None, None) => None,
    };
    let password = match (&stand_in.password_env, &stand_in.password_file) {
        (Some(variable), _) => Some(
            std::env::var(variable)
                .map_err(|_| at(&format!("passwordEnv {variable} is not set")))?,
        ),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| at(&format!("{}: {e}", path.display())))?;
            Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
        }
        (None, None) => None,
    };
    match (username, password) {
        (Some(username), Some(password)) => Ok(Auth::Configured(Credential::Basic(BasicAuth {
            username,
            password,
        }))),
        (None, None) => Ok(Auth::Anonymous),
        _ => Err(at("give both a username and a password")),
    }
}

/// Credentials from a Secret the deployment renders: `username` and `password`, or a
/// `.dockerconfigjson`.
fn declared_auth(namespace: &str, name: &str, object: &serde_json::Value) -> Result<Auth, String> {
    let text =
        |key: &str| data_text(object, key).map_err(|e| format!("Secret {namespace}/{name}: {e}"));
    if let Some(json) = text(".dockerconfigjson")? {
        return Ok(Auth::Declared(Credential::DockerConfig(json.into_bytes())));
    }
    match (text("username")?, text("password")?) {
        (Some(username), Some(password)) => Ok(Auth::Declared(Credential::Basic(BasicAuth {
            username,
            password,
        }))),
        (None, None) => Ok(Auth::Anonymous),
        _ => Err(format!(
            "Secret {namespace}/{name} has a username or a password but not both"
        )),
    }
}

/// The CA and client certificate of the Secret `name`, from `crunch.yaml` or the cluster.
fn tls(
    config: &Config,
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    access: &mut Access,
) -> Result<(), String> {
    if let Some(stand_in) = config.credentials.secrets.get(name) {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| {
                format!(
                    "crunch.yaml credentials.secrets.{name}: {}: {e}",
                    path.display()
                )
            })
        };
        if let Some(path) = &stand_in.ca_file {
            access.ca_pem = Some(read(path)?);
        }
        match (&stand_in.cert_file, &stand_in.key_file) {
            (Some(cert), Some(key)) => access.identity = Some((read(cert)?, read(key)?)),
            (None, None) => {}
            _ => {
                return Err(format!(
                    "crunch.yaml credentials.secrets.{name}: give both certFile and keyFile"
                ));
            }
        }
        return Ok(());
    }
    let Some(object) = secret(cluster, namespace, name) else {
        return Ok(());
    };
    let text =
        |key: &str| data_text(object, key).map_err(|e| format!("Secret {namespace}/{name}: {e}"));
    if let Some(ca) = text("ca.crt")?.or(text("caFile")?) {
        access.ca_pem = Some(ca.into_bytes());
    }
    let cert = text("tls.crt")?.or(text("certFile")?);
    let key = text("tls.key")?.or(text("keyFile")?);
    if let (Some(cert), Some(key)) = (cert, key) {
        access.identity = Some((cert.into_bytes(), key.into_bytes()));
    }
    Ok(())
}

/// The cosign public keys of the Secret `name`: the files `crunch.yaml` lists under
/// `verify.secrets.<name>`, else every key of the rendered Secret ending in `.pub`, as
/// source-controller reads them.
pub fn cosign_keys(
    config: &Config,
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<PublicKeys, String> {
    let mut pems = Vec::new();
    if let Some(files) = config.verify.secrets.get(name) {
        for path in files {
            let bytes = std::fs::read(path).map_err(|e| {
                format!("crunch.yaml verify.secrets.{name}: {}: {e}", path.display())
            })?;
            pems.push((path.display().to_string(), bytes));
        }
    } else if let Some(object) = secret(cluster, namespace, name) {
        let keys = object["data"]
            .as_object()
            .map(|d| d.keys().cloned().collect::<Vec<_>>());
        for key in keys.unwrap_or_default() {
            if key.ends_with(".pub")
                && let Some(text) = data_text(object, &key)
                    .map_err(|e| format!("Secret {namespace}/{name}: {e}"))?
            {
                pems.push((
                    format!("Secret {namespace}/{name} key {key}"),
                    text.into_bytes(),
                ));
            }
        }
        if pems.is_empty() {
            return Err(format!(
                "no public keys found in secret '{namespace}/{name}'"
            ));
        }
    } else {
        return Err(format!(
            "spec.verify.secretRef names Secret {namespace}/{name}, which the deployment does not render: list its public key files in crunch.yaml under verify.secrets.{name}"
        ));
    }
    let mut keys = PublicKeys::default();
    for (name, pem) in &pems {
        keys.add_pem(name, pem)?;
    }
    Ok(keys)
}
