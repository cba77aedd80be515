//! `crunch.yaml`: where sources are mirrored, what the target cluster looks like, the seed
//! for random template functions, the instant their clock reads, and per-environment
//! overrides.
//!
//! The file sits at the root of the customer repository; `crunch build ENV_DIR` finds it
//! by walking up from the environment directory, as cargo finds `Cargo.toml`.
//!
//! `crunch.jsonnet` may stand in for it: a file whose name ends in `.jsonnet` is
//! evaluated (see [`crate::jsonnet`]) to the same structure, which is then checked as the
//! YAML would be. Where a directory holds both, `crunch.yaml` wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::Error;
use crate::gostd::time::Clock;
use crate::object::Scope;
use crate::seal::Recipients;
use crate::{jsonnet, yaml};

/// The file name crunch looks for.
pub const FILE_NAME: &str = "crunch.yaml";

/// The file name crunch looks for where there is no [`FILE_NAME`].
pub const JSONNET_FILE_NAME: &str = "crunch.jsonnet";

/// Where the config's JSON Schema is published (`schemas/crunch.yaml.schema.json` here).
pub const SCHEMA_URL: &str = "https://crunch.dev/schemas/crunch.yaml.schema.json";

/// A URL prefix rewrite: sources whose URL starts with `from` are fetched from `to`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// The prefix as the deployment names it, e.g. `https://repo1.dso.mil/`.
    pub from: String,
    /// Where to fetch instead: a URL, or a local path (relative paths are resolved against
    /// the directory of the config file).
    pub to: String,
}

/// What the target cluster answers to `.Capabilities` (`lookup` finds nothing, as in
/// `helm template`), and the scope of kinds installed outside the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterProfile {
    /// The Kubernetes version, e.g. `v1.33.0`.
    #[serde(default = "default_kube_version", deserialize_with = "kube_version")]
    pub kube_version: String,
    /// API versions the cluster serves beyond Helm's defaults (`group/version` or
    /// `group/version/Kind`).
    #[serde(default)]
    pub api_versions: Vec<String>,
    /// The scope of custom kinds whose CustomResourceDefinition is installed by other
    /// means than the bundle, keyed `group/Kind` (e.g. `kyverno.io/ClusterPolicy: Cluster`).
    /// Rendered objects of such a kind need it to be put in a namespace or not.
    #[serde(default)]
    pub kinds: BTreeMap<String, Scope>,
}

fn default_kube_version() -> String {
    "v1.33.0".to_string()
}

/// A Kubernetes version, which must be a string: an unquoted `1.30` is the YAML number
/// 1.3, and the version it meant is lost by the time it reaches crunch.
fn kube_version<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(version) => Ok(version),
        serde_json::Value::Number(number) => Err(serde::de::Error::custom(format!(
            "kubeVersion {number} is a number: quote the version (kubeVersion: \"1.30\"), as YAML reads an unquoted 1.30 as 1.3"
        ))),
        other => Err(serde::de::Error::custom(format!(
            "kubeVersion must be a string such as \"v1.33.0\", not {other}"
        ))),
    }
}

fn optional_kube_version<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    kube_version(deserializer).map(Some)
}

impl Default for ClusterProfile {
    fn default() -> Self {
        Self {
            kube_version: default_kube_version(),
            api_versions: Vec::new(),
            kinds: BTreeMap::new(),
        }
    }
}

/// Where one set of SOPS decryption keys is on this machine. The files stay outside the
/// repository: relative paths resolve against the config file's directory, `~/` against
/// the home directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyFiles {
    /// age identity files (`AGE-SECRET-KEY-1…` lines, as `SOPS_AGE_KEY_FILE` holds them).
    #[serde(default)]
    pub age: Vec<PathBuf>,
    /// OpenPGP secret keys without a passphrase, armored or binary.
    #[serde(default)]
    pub pgp: Vec<PathBuf>,
    /// A GnuPG home whose secret keys decrypt, through `gpg`, as SOPS decrypts with it.
    #[serde(default)]
    pub gnupg_home: Option<PathBuf>,
}

impl KeyFiles {
    fn resolve(self, base: &Path) -> Self {
        let resolve = |path: PathBuf| resolve_path(&path, base);
        Self {
            age: self.age.into_iter().map(resolve).collect(),
            pgp: self.pgp.into_iter().map(resolve).collect(),
            gnupg_home: self.gnupg_home.map(resolve),
        }
    }

    /// Whether no key file is named.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty() && self.gnupg_home.is_none()
    }
}

/// The SOPS keys a build decrypts with: what kustomize-controller has in its own
/// environment, and what the decryption Secrets that Kustomizations name would hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SopsKeys {
    /// Keys for `decryption` without a `secretRef`, besides `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY` and `GNUPGHOME`.
    #[serde(default)]
    pub keys: KeyFiles,
    /// Stand-ins for the decryption Secrets that `spec.decryption.secretRef` names, keyed by
    /// the Secret's name (`sops-gpg`). A name not listed decrypts with the keys above.
    #[serde(default)]
    pub secrets: BTreeMap<String, KeyFiles>,
}

/// Where the OpenPGP public keys that GitRepository `spec.verify` checks commits with are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyKeys {
    /// Stand-ins for the Secrets that `spec.verify.secretRef` names, keyed by the Secret's
    /// name: files of armored or binary public keys.
    #[serde(default)]
    pub secrets: BTreeMap<String, Vec<PathBuf>>,
}

/// Stand-ins for the Secrets that sources name for authentication (`secretRef`) and TLS
/// (`certSecretRef`): what source-controller would read from the cluster, kept on this
/// machine instead. A Secret the deployment itself renders (SOPS-decrypted, or a
/// dockerconfigjson the umbrella chart makes) needs no stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Credentials {
    /// Keyed by the Secret's name (`registry1-creds`).
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretStandIn>,
}

/// Where the values of one Secret are on this machine. Paths resolve against the config
/// file's directory, `~/` against the home directory; passwords are never written here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretStandIn {
    /// The username (basic auth), as written.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the username.
    #[serde(default)]
    pub username_env: Option<String>,
    /// The environment variable holding the password or token.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The file holding the password or token (one line; a final line break is dropped).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A docker `config.json` whose entry for the registry authenticates (a
    /// `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`).
    #[serde(default)]
    pub docker_config: Option<PathBuf>,
    /// PEM CA certificates trusted for the server (`ca.crt`).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate (`tls.crt`), with `keyFile`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's PEM private key (`tls.key`).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

impl SecretStandIn {
    fn resolve(self, base: &Path) -> Self {
        let resolve = |path: Option<PathBuf>| path.map(|p| resolve_path(&p, base));
        Self {
            password_file: resolve(self.password_file),
            docker_config: resolve(self.docker_config),
            ca_file: resolve(self.ca_file),
            cert_file: resolve(self.cert_file),
            key_file: resolve(self.key_file),
            ..self
        }
    }
}

/// A Flux Kustomization's `spec.decryption`; in `crunch.yaml`, the one the environment's
/// bootstrap Kustomization has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption provider; Flux knows only `sops`.
    pub provider: String,
    /// The Secret in the Kustomization's namespace that holds the keys.
    #[serde(default)]
    pub secret_ref: Option<LocalObjectReference>,
}

/// A reference to an object in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// Its name.
    pub name: String,
}

/// A partial cluster profile, as an environment overrides it: each field given replaces
/// the shared one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClusterOverride {
    /// The Kubernetes version.
    #[serde(default, deserialize_with = "optional_kube_version")]
    kube_version: Option<String>,
    /// API versions beyond Helm's defaults.
    api_versions: Option<Vec<String>>,
    /// The scope of custom kinds installed by other means, keyed `group/Kind`.
    kinds: Option<BTreeMap<String, Scope>>,
}

/// How the bundle's Secret values are sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SecretsSettings {
    /// The age X25519 recipients (`age1…`) of the enclave the bundle is applied in: every
    /// Secret value in the bundle is sealed, and its sealing key encrypted to them.
    #[serde(default)]
    #[schemars(inner(regex(pattern = "^age1[02-9ac-hj-np-z]+$")))]
    recipients: Vec<String>,
}

/// How crunch runs the Flux controllers' steps where a controller flag would decide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FluxSettings {
    /// kustomize-controller's `--feature-gates=StrictPostBuildSubstitutions`: a
    /// Kustomization's `postBuild` fails on a `${var}` without a default that no variable
    /// sets. On unless set to false, as in kustomize-controller since v1.9.
    strict_substitutions: Option<bool>,
}

/// The images the bundle needs beyond those its objects name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImagesSettings {
    /// Image references added to the bundle's image list (pulled, pushed and relocated
    /// with the others): images a workload starts at run time that no rendered object
    /// names.
    #[serde(default)]
    extra: Vec<String>,
}

/// What one environment changes of the shared settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentOverride {
    /// Mirrors tried before the shared ones.
    #[serde(default)]
    mirrors: Vec<Mirror>,
    /// Cluster profile fields that replace the shared ones.
    cluster: Option<ClusterOverride>,
    /// The seed for random template functions.
    seed: Option<String>,
    /// What template clock functions read, as an RFC 3339 timestamp.
    now: Option<String>,
    /// The environment's own decryption, replacing the shared one.
    decryption: Option<Decryption>,
    /// SOPS keys: `keys` replaces the shared ones when given; `secrets` adds to the
    /// shared ones and wins on equal names.
    sops: Option<SopsKeys>,
    /// How Secret values are sealed; replaces the shared setting.
    secrets: Option<SecretsSettings>,
    /// Flux controller settings; each field given replaces the shared one.
    flux: Option<FluxSettings>,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(
    title = "crunch.yaml",
    description = "crunch's settings for the environments of a customer repository: mirrors, the target cluster, the seed and clock of template functions, per-environment overrides."
)]
pub(crate) struct ConfigFile {
    /// Always `crunch.dev/v1alpha1`.
    #[schemars(extend("const" = API_VERSION))]
    api_version: String,
    /// Always `Config`.
    #[schemars(extend("const" = KIND))]
    kind: String,
    /// URL prefix rewrites: sources whose URL starts with `from` are fetched from `to`.
    #[serde(default)]
    mirrors: Vec<Mirror>,
    /// URLs that name the repository being built, besides its git remotes: a
    /// GitRepository with one of them is read from the working tree, not fetched.
    #[serde(default)]
    local: Vec<String>,
    /// What the target cluster answers to `.Capabilities` (`lookup` finds nothing, as in
    /// `helm template`), and the scope of kinds installed outside the bundle.
    #[serde(default)]
    cluster: ClusterProfile,
    /// The seed for random template functions (same seed, same output).
    #[serde(default)]
    seed: Option<String>,
    /// What template clock functions (`now`, `date`, …) read, as an RFC 3339 timestamp;
    /// the Unix epoch when unset, never the wall clock.
    #[serde(default)]
    now: Option<String>,
    /// How the environment directory is decrypted: its bootstrap Kustomization's
    /// `spec.decryption` (`{provider: sops, secretRef: {name: sops-gpg}}`). Without it,
    /// SOPS-encrypted files in the environment stay encrypted, as Flux leaves them.
    #[serde(default)]
    decryption: Option<Decryption>,
    /// Where this machine keeps the SOPS keys: never in the repository.
    #[serde(default)]
    sops: SopsKeys,
    /// The OpenPGP public keys GitRepository `spec.verify` checks signatures with.
    #[serde(default)]
    verify: VerifyKeys,
    /// Where the Secrets sources authenticate with are on this machine.
    #[serde(default)]
    credentials: Credentials,
    /// How the bundle's Secret values are sealed: without recipients, a build with Secret
    /// values needs `--plaintext-secrets`.
    #[serde(default)]
    secrets: SecretsSettings,
    /// Where the Flux controllers' flags would decide.
    #[serde(default)]
    flux: FluxSettings,
    /// The images the bundle needs beyond those its objects name.
    #[serde(default)]
    images: ImagesSettings,
    /// Per-environment overrides, keyed by the environment directory's name.
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentOverride>,
}

/// The settings in force for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file, when there is one.
    pub path: Option<PathBuf>,
    /// URL rewrites, environment ones first (they win on equal prefixes).
    pub mirrors: Vec<Mirror>,
    /// URLs that name the repository being built (`local`), besides its remotes.
    pub local: Vec<String>,
    /// The target cluster.
    pub cluster: ClusterProfile,
    /// Seed for random template functions.
    pub seed: String,
    /// What template clock functions (`now`, `date`, …) read: `now:` as an RFC 3339
    /// timestamp, the Unix epoch when unset, never the wall clock.
    pub now: Clock,
    /// The environment's own decryption, as its bootstrap Kustomization's.
    pub decryption: Option<Decryption>,
    /// Where the SOPS keys are (paths resolved).
    pub sops: SopsKeys,
    /// Where the public keys signatures are verified with are (paths resolved).
    pub verify: VerifyKeys,
    /// Where the Secrets sources authenticate with are (paths resolved).
    pub credentials: Credentials,
    /// Whom the bundle's Secret values are sealed to (`secrets.recipients`); none when
    /// unset.
    pub recipients: Recipients,
    /// Whether a Kustomization's `postBuild` fails on unset variables
    /// (`flux.strictSubstitutions`, kustomize-controller's `StrictPostBuildSubstitutions`).
    pub strict_substitutions: bool,
    /// Images added to the bundle's image list (`images.extra`), as written.
    pub extra_images: Vec<String>,
}

const API_VERSION: &str = "crunch.dev/v1alpha1";
const KIND: &str = "Config";

impl Config {
    /// Finds `crunch.yaml`, or else `crunch.jsonnet`, in `env_dir` or the nearest of its
    /// parents that holds one.
    pub fn find(env_dir: &Path) -> Option<PathBuf> {
        env_dir.ancestors().find_map(|dir| {
            [FILE_NAME, JSONNET_FILE_NAME]
                .into_iter()
                .map(|name| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    }

    /// The settings with nothing configured.
    pub fn defaults() -> Self {
        Self {
            path: None,
            mirrors: Vec::new(),
            local: Vec::new(),
            cluster: ClusterProfile::default(),
            seed: String::new(),
            now: Clock::default(),
            decryption: None,
            sops: SopsKeys::default(),
            verify: VerifyKeys::default(),
            credentials: Credentials::default(),
            recipients: Recipients::default(),
            strict_substitutions: true,
            extra_images: Vec::new(),
        }
    }

    /// Reads `path` (YAML, or Jsonnet when its name ends in `.jsonnet`) and resolves it
    /// for the environment named `env`.
    pub fn load(path: &Path, env: &str) -> Result<Self, Error> {
        if path.extension().is_some_and(|ext| ext == "jsonnet") {
            let value = jsonnet::evaluate_file(path).map_err(|e| match e.location {
                Some(_) => Error::new(e),
                None => Error::new(format!("{}: {}", path.display(), e.message)),
            })?;
            return Self::resolve(value, path, env);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, path, env)
    }

    /// Parses config text read from `path` for the environment named `env`.
    pub fn parse(text: &str, path: &Path, env: &str) -> Result<Self, Error> {
        let value = yaml::parse_document(text, yaml::Dialect::GoYamlV2)
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        Self::resolve(value, path, env)
    }

    /// The settings `value`, read from `path`, hold for the environment named `env`.
    fn resolve(value: serde_json::Value, path: &Path, env: &str) -> Result<Self, Error> {
        let at = |e: &dyn std::fmt::Display| Error::new(format!("{}: {e}", path.display()));
        let file: ConfigFile = serde_json::from_value(value).map_err(|e| at(&e))?;
        if file.api_version != API_VERSION || file.kind != KIND {
            return Err(at(&format!(
                "expected apiVersion {API_VERSION} and kind {KIND}, found {} {}",
                file.api_version, file.kind
            )));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let overrides = file.environments.get(env).cloned().unwrap_or_default();
        let mut cluster = file.cluster;
        if let Some(c) = overrides.cluster {
            if let Some(v) = c.kube_version {
                cluster.kube_version = v;
            }
            if let Some(v) = c.api_versions {
                cluster.api_versions = v;
            }
            if let Some(v) = c.kinds {
                cluster.kinds = v;
            }
        }
        let mut sops = file.sops;
        if let Some(over) = overrides.sops {
            if !over.keys.is_empty() {
                sops.keys = over.keys;
            }
            sops.secrets.extend(over.secrets);
        }
        let sops = SopsKeys {
            keys: sops.keys.resolve(base),
            secrets: sops
                .secrets
                .into_iter()
                .map(|(name, files)| (name, files.resolve(base)))
                .collect(),
        };
        let mirrors = overrides
            .mirrors
            .into_iter()
            .chain(file.mirrors)
            .map(|m| resolve_mirror(m, base))
            .collect();
        Ok(Self {
            path: Some(path.to_path_buf()),
            mirrors,
            local: file.local,
            cluster,
            recipients: Recipients::parse(&overrides.secrets.unwrap_or(file.secrets).recipients)
                .map_err(|e| at(&format!("secrets.recipients: {e}")))?,
            seed: overrides.seed.or(file.seed).unwrap_or_default(),
            now: match overrides.now.or(file.now) {
                Some(text) => Clock::parse_rfc3339(&text).map_err(|e| at(&format!("now: {e}")))?,
                None => Clock::default(),
            },
            decryption: overrides.decryption.or(file.decryption),
            sops,
            verify: VerifyKeys {
                secrets: file
                    .verify
                    .secrets
                    .into_iter()
                    .map(|(name, files)| {
                        let files = files.iter().map(|f| resolve_path(f, base)).collect();
                        (name, files)
                    })
                    .collect(),
            },
            credentials: Credentials {
                secrets: file
                    .credentials
                    .secrets
                    .into_iter()
                    .map(|(name, stand_in)| (name, stand_in.resolve(base)))
                    .collect(),
            },
            strict_substitutions: overrides
                .flux
                .and_then(|f| f.strict_substitutions)
                .or(file.flux.strict_substitutions)
                .unwrap_or(true),
            extra_images: file.images.extra,
        })
    }
}

/// `path` with `~/` taken as the home directory and a relative path as relative to `base`.
fn resolve_path(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    base.join(path)
}

/// Makes a relative local mirror target absolute against the config's directory; URLs
/// and absolute paths stay as written.
fn resolve_mirror(mirror: Mirror, base: &Path) -> Mirror {
    let is_url = mirror.to.contains("://");
    if is_url || Path::new(&mirror.to).is_absolute() {
        return mirror;
    }
    let mut to = base.join(&mirror.to).to_string_lossy().into_owned();
    if mirror.to.ends_with('/') && !to.ends_with('/') {
        to.push('/');
    }
    Mirror { to, ..mirror }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
apiVersion: crunch.dev/v1alpha1
kind: Config
mirrors:
  - from: https://repo1.example.mil/
    to: ../cache/
  - from: https://other.example/
    to: git://127.0.0.1:9418/
cluster:
  kubeVersion: v1.33.0
  apiVersions: [monitoring.coreos.com/v1]
seed: world
secrets:
  recipients: [age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c]
environments:
  prod:
    cluster: {kubeVersion: v1.34.1}
    seed: prod-seed
    secrets: {recipients: []}
";

    #[test]
    fn environment_overrides_apply() {
        let c = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "prod").unwrap();
        assert_eq!(c.cluster.kube_version, "v1.34.1");
        assert_eq!(c.cluster.api_versions, ["monitoring.coreos.com/v1"]);
        assert_eq!(c.seed, "prod-seed");
        let dev = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "dev").unwrap();
        assert_eq!(dev.cluster.kube_version, "v1.33.0");
        assert_eq!(dev.seed, "world");
    }

    #[test]
    fn recipients_are_checked_and_overridden_per_environment() {
        let dev = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "dev").unwrap();
        assert_eq!(
            dev.recipients.as_slice(),
            ["age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c"]
        );
        let prod = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "prod").unwrap();
        assert!(prod.recipients.is_empty());
        let bad =
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nsecrets: {recipients: [age1nope]}\n";
        let e = Config::parse(bad, Path::new("crunch.yaml"), "dev").unwrap_err();
        assert!(
            e.to_string().starts_with(
                "crunch.yaml: secrets.recipients: \"age1nope\" is not an age X25519 recipient"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_clock_is_the_epoch_unless_configured() {
        let c = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "dev").unwrap();
        assert_eq!(c.now, Clock::default());
        let text = format!("{TEXT}    now: 2026-01-01T00:00:00Z\n");
        let prod = Config::parse(&text, Path::new("/repo/crunch.yaml"), "prod").unwrap();
        assert_eq!(prod.now.unix_seconds, 1_767_225_600);
        let bad = "apiVersion: crunch.dev/v1alpha1\nkind: Config\nnow: tomorrow\n";
        let e = Config::parse(bad, Path::new("crunch.yaml"), "dev").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("crunch.yaml: now: \"tomorrow\" is not an RFC 3339"),
            "{e}"
        );
    }

    #[test]
    fn relative_mirrors_resolve_against_the_file() {
        let c = Config::parse(TEXT, Path::new("/repo/crunch.yaml"), "dev").unwrap();
        assert_eq!(c.mirrors[0].to, "/repo/../cache/");
        assert_eq!(c.mirrors[1].to, "git://127.0.0.1:9418/");
    }

    #[test]
    fn unknown_fields_are_errors() {
        let text = "apiVersion: crunch.dev/v1alpha1\nkind: Config\nmirror: []\n";
        let e = Config::parse(text, Path::new("c/crunch.yaml"), "dev").unwrap_err();
        assert!(e.to_string().contains("unknown field `mirror`"), "{e}");
        assert!(e.to_string().starts_with("c/crunch.yaml: "), "{e}");
    }

    #[test]
    fn an_unquoted_kube_version_is_refused_with_the_fix() {
        for text in [
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\ncluster:\n  kubeVersion: 1.30\n",
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\nenvironments:\n  dev:\n    cluster:\n      kubeVersion: 1.30\n",
        ] {
            let e = Config::parse(text, Path::new("crunch.yaml"), "dev").unwrap_err();
            assert!(
                e.to_string()
                    .contains("kubeVersion 1.3 is a number: quote the version"),
                "{e}"
            );
        }
        let quoted =
            "apiVersion: crunch.dev/v1alpha1\nkind: Config\ncluster:\n  kubeVersion: \"1.30\"\n";
        let c = Config::parse(quoted, Path::new("crunch.yaml"), "dev").unwrap();
        assert_eq!(c.cluster.kube_version, "1.30");
    }

    /// `TEXT` in Jsonnet, the cluster profile through `std.parseYaml`.
    const JSONNET: &str = "\
local mirror(from, to) = { from: from, to: to };
{
  apiVersion: 'crunch.dev/v1alpha1',
  kind: 'Config',
  mirrors: [mirror('https://repo1.example.mil/', '../cache/'), mirror('https://other.example/', 'git://127.0.0.1:9418/')],
  cluster: std.parseYaml(|||
    kubeVersion: v1.33.0
    apiVersions: [monitoring.coreos.com/v1]
  |||),
  seed: 'world',
  secrets: { recipients: ['age1ya2a03jxezdv9vxdcht49kehpchj3x3qw6y4h460vqrme8k5acwqlrny0c'] },
  environments: { prod: { cluster: { kubeVersion: 'v1.34.1' }, seed: 'prod-seed', secrets: { recipients: [] } } },
}
";

    #[test]
    fn jsonnet_reads_as_the_same_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JSONNET_FILE_NAME);
        std::fs::write(&path, JSONNET).unwrap();
        for env in ["dev", "prod"] {
            let from_jsonnet = Config::load(&path, env).unwrap();
            let from_yaml = Config::parse(TEXT, &path, env).unwrap();
            assert_eq!(from_jsonnet, from_yaml, "{env}");
        }
        assert_eq!(Config::find(&dir.path().join("dev")), Some(path.clone()));
        std::fs::write(dir.path().join(FILE_NAME), TEXT).unwrap();
        assert_eq!(
            Config::find(&dir.path().join("dev")),
            Some(dir.path().join(FILE_NAME))
        );
    }

    #[test]
    fn jsonnet_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JSONNET_FILE_NAME);
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(&path, "dev")
                .unwrap_err()
                .to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        };
        assert_eq!(
            load("{\n  apiVersion: 'crunch.dev/v1alpha1',\n  kind: error 'no kind',\n}"),
            "crunch.jsonnet:3:9: no kind"
        );
        let unknown = load("{ apiVersion: 'crunch.dev/v1alpha1', kind: 'Config', mirror: [] }");
        assert!(
            unknown.starts_with("crunch.jsonnet: unknown field `mirror`"),
            "{unknown}"
        );
        assert_eq!(
            load("function(env) {}"),
            "crunch.jsonnet: a function cannot be manifested"
        );
    }

    #[test]
    fn extra_images_are_read_and_their_fields_checked() {
        let text = "apiVersion: crunch.dev/v1alpha1\nkind: Config\nimages:\n  extra: [nginx:1.27, quay.io/x/y:2]\n";
        let at = Path::new("crunch.yaml");
        assert_eq!(
            Config::parse(text, at, "dev").unwrap().extra_images,
            ["nginx:1.27", "quay.io/x/y:2"]
        );
        assert!(Config::defaults().extra_images.is_empty());
        let unknown = "apiVersion: crunch.dev/v1alpha1\nkind: Config\nimages: {more: []}\n";
        let e = Config::parse(unknown, at, "dev").unwrap_err();
        assert!(e.to_string().contains("unknown field `more`"), "{e}");
    }

    #[test]
    fn strict_substitutions_default_on_and_environments_override_them() {
        let text = "apiVersion: crunch.dev/v1alpha1\nkind: Config\nflux: {strictSubstitutions: false}\nenvironments:\n  prod: {flux: {strictSubstitutions: true}}\n  dev: {flux: {}}\n";
        let at = Path::new("crunch.yaml");
        assert!(
            Config::parse(text, at, "prod")
                .unwrap()
                .strict_substitutions
        );
        assert!(!Config::parse(text, at, "dev").unwrap().strict_substitutions);
        assert!(Config::defaults().strict_substitutions);
    }

    #[test]
    fn sops_keys_resolve_and_environments_override_them() {
        let text = "\
apiVersion: crunch.dev/v1alpha1
kind: Config
decryption: {provider: sops, secretRef: {name: sops-gpg}}
sops:
  keys: {age: [keys/age.txt]}
  secrets:
    sops-gpg: {pgp: [/secure/shared.asc]}
    sops-age: {age: [~/age.txt]}
environments:
  prod:
    decryption: {provider: sops}
    sops:
      secrets:
        sops-gpg: {pgp: [prod.asc], gnupgHome: gnupg}
";
        let path = Path::new("/repo/crunch.yaml");
        let dev = Config::parse(text, path, "dev").unwrap();
        let secret_ref = dev.decryption.as_ref().and_then(|d| d.secret_ref.as_ref());
        assert_eq!(secret_ref.map(|r| r.name.as_str()), Some("sops-gpg"));
        assert_eq!(dev.sops.keys.age, [PathBuf::from("/repo/keys/age.txt")]);
        assert_eq!(
            dev.sops.secrets["sops-gpg"].pgp,
            [PathBuf::from("/secure/shared.asc")]
        );
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                dev.sops.secrets["sops-age"].age,
                [PathBuf::from(home).join("age.txt")]
            );
        }
        let prod = Config::parse(text, path, "prod").unwrap();
        assert_eq!(prod.decryption.unwrap().secret_ref, None);
        assert_eq!(prod.sops.keys, dev.sops.keys);
        let gpg = &prod.sops.secrets["sops-gpg"];
        assert_eq!(gpg.pgp, [PathBuf::from("/repo/prod.asc")]);
        assert_eq!(gpg.gnupg_home, Some(PathBuf::from("/repo/gnupg")));
        assert!(prod.sops.secrets.contains_key("sops-age"));
    }

    #[test]
    fn wrong_kind_is_an_error() {
        let text = "apiVersion: v1\nkind: ConfigMap\n";
        let e = Config::parse(text, Path::new("crunch.yaml"), "dev").unwrap_err();
        assert!(e.to_string().contains("expected apiVersion"), "{e}");
    }
}
