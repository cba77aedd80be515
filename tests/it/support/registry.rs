//! A real OCI registry for tests: Debian's build of the CNCF distribution registry
//! (`docker-registry serve CONFIG`, the registry Docker Hub, Harbor and GitLab run),
//! on 127.0.0.1 with a free port, TLS from a [`TestCa`](super::tls::TestCa), htpasswd
//! (bcrypt) authentication, and filesystem storage in a temporary directory. It stops
//! when the [`Registry`] is dropped.
//!
//! [`Registry::start_with_tokens`] authenticates as Harbor, ghcr and registry1 do
//! instead: the registry answers with a bearer challenge naming a token service (a
//! small one here, [`TokenService`]), which takes the username and password and issues
//! JWTs the registry checks against the service's certificate.
//!
//! Content gets in as real clients put it there: charts through the `helm push` of the
//! oracle, and anything else (Flux artifacts, cosign signatures) through the
//! distribution API's blob upload and manifest put ([`Registry::push_blob`],
//! [`Registry::push_manifest`]), with a plain HTTP client independent of crunch's.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crunch::source::BasicAuth;
use crunch::source::oci::{OciReference, RegistryAuth, RegistryClient};
use sha2::{Digest as _, Sha256};

/// The registry binary the `docker-registry` Debian package installs.
const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// A running registry.
pub struct Registry {
    dir: tempfile::TempDir,
    process: Option<Child>,
    tokens: Option<TokenService>,
    port: u16,
    ca_pem: String,
    /// The username the registry accepts.
    pub username: String,
    /// The password the registry accepts.
    pub password: String,
}

impl Registry {
    /// Starts a registry with htpasswd authentication and waits until it accepts
    /// connections.
    pub fn start() -> Registry {
        Registry::start_authenticating(false)
    }

    /// Starts a registry that takes bearer tokens from a [`TokenService`].
    pub fn start_with_tokens() -> Registry {
        Registry::start_authenticating(true)
    }

    fn start_authenticating(with_tokens: bool) -> Registry {
        assert!(
            Path::new(REGISTRY_BINARY).exists(),
            "{REGISTRY_BINARY} is missing: install Debian's docker-registry package (tools/test does)"
        );
        let dir = tempfile::tempdir().expect("temp dir for the registry");
        let ca = super::tls::TestCa::new();
        let write = |name: &str, contents: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).expect("write a registry file");
            path
        };
        write("ca.pem", &ca.ca_pem);
        let cert = write("server.pem", &ca.server_cert_pem);
        let key = write("server-key.pem", &ca.server_key_pem);
        let username = "crunch".to_string();
        let password = format!("pw-{}", std::process::id());
        // Cost 4, bcrypt's least: the registry checks it on every request.
        let hash = bcrypt::hash_with_salt(&password, 4, *b"crunch-test-salt").expect("bcrypt");
        let htpasswd = write("htpasswd", &format!("{username}:{hash}\n"));
        let tokens = with_tokens.then(|| TokenService::start(&username, &password));
        let auth = match &tokens {
            None => serde_json::json!({"htpasswd": {"realm": "crunch-test", "path": htpasswd}}),
            Some(tokens) => serde_json::json!({"token": {
                "realm": format!("http://127.0.0.1:{}/token", tokens.port),
                "service": TOKEN_SERVICE,
                "issuer": TOKEN_ISSUER,
                "rootcertbundle": write("token-signer.pem", &tokens.certificate_pem),
            }}),
        };
        // A port taken between probing and binding makes the registry exit: try again.
        for _ in 0..5 {
            let port = free_port();
            // distribution reads its configuration as YAML, of which JSON is a part.
            let config = serde_json::json!({
                "version": "0.1",
                "log": {"level": "error", "accesslog": {"disabled": true}},
                "storage": {
                    "filesystem": {"rootdirectory": dir.path().join("storage")},
                    "delete": {"enabled": true},
                },
                "http": {
                    "addr": format!("127.0.0.1:{port}"),
                    "secret": "crunch-test-secret",
                    "tls": {"certificate": cert, "key": key},
                },
                "auth": auth,
            });
            let config_path = write("config.json", &config.to_string());
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
            let mut process = Command::new(REGISTRY_BINARY)
                .arg("serve")
                .arg(&config_path)
                // REGISTRY_* variables would override the configuration.
                .env_clear()
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            if wait_until_listening(&mut process, port) {
                return Registry {
                    dir,
                    process: Some(process),
                    tokens,
                    port,
                    ca_pem: ca.ca_pem,
                    username,
                    password,
                };
            }
            let _ = process.kill();
            let _ = process.wait();
        }
        let log = std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
        panic!("docker-registry did not start:\n{log}");
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The repository `path` of this registry.
    pub fn reference(&self, path: &str) -> OciReference {
        OciReference::parse(&format!("oci://{}/{path}", self.host())).expect("a valid path")
    }

    /// The file of the CA certificate the registry's certificate is signed by.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The registry's credentials.
    pub fn auth(&self) -> RegistryAuth {
        RegistryAuth::Basic(BasicAuth {
            username: self.username.clone(),
            password: self.password.clone(),
        })
    }

    /// A crunch client trusting the registry's CA.
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(Some(Arc::new(self.ca_pem.clone().into_bytes())), false)
    }

    /// Stops the registry (requests to it are then refused).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Pushes a packaged chart with the oracle's `helm push` to `oci://HOST/{path}` (the
    /// chart's name is appended, and its version is the tag, `+` written `_`); the
    /// pushed manifest's digest. helm's home, configuration and registry login are in
    /// a temporary directory of their own.
    pub fn push_chart(&self, tgz: &Path, path: &str) -> String {
        let text = run_helm(|helm| {
            helm.arg("push")
                .arg(tgz)
                .arg(format!("oci://{}/{path}", self.host()))
                .arg("--ca-file")
                .arg(self.ca_file())
                .args(["--username", &self.username, "--password", &self.password]);
        });
        text.lines()
            .find_map(|line| line.strip_prefix("Digest: "))
            .unwrap_or_else(|| panic!("helm push printed no digest:\n{text}"))
            .trim()
            .to_string()
    }

    /// Uploads `bytes` as a blob of `repository` (monolithic upload: POST, then PUT with
    /// the digest); its digest.
    pub fn push_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let http = self.http();
        let started = http
            .post(format!(
                "https://{}/v2/{repository}/blobs/uploads/",
                self.host()
            ))
            .header("authorization", self.authorization(repository))
            .send()
            .expect("start a blob upload");
        assert_eq!(
            started.status().as_u16(),
            202,
            "blob upload start: {started:?}"
        );
        let location = started
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("upload location")
            .to_string();
        let location = if location.starts_with('/') {
            format!("https://{}{location}", self.host())
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let finished = http
            .put(format!("{location}{separator}digest={digest}"))
            .header("authorization", self.authorization(repository))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .expect("finish a blob upload");
        assert_eq!(finished.status().as_u16(), 201, "blob upload: {finished:?}");
        digest
    }

    /// Puts `manifest` (of `media_type`) as `reference` (a tag) of `repository`; its
    /// digest.
    pub fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> String {
        let response = self
            .http()
            .put(format!(
                "https://{}/v2/{repository}/manifests/{reference}",
                self.host()
            ))
            .header("authorization", self.authorization(repository))
            .header("content-type", media_type)
            .body(manifest.to_vec())
            .send()
            .expect("put a manifest");
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        assert_eq!(status, 201, "manifest put: {body}");
        sha256_digest(manifest)
    }

    /// Where the registry stores the blob (or manifest) `digest`, for tests that alter
    /// stored content behind its back.
    pub fn stored_blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// How many tokens the token service issued (none without one).
    pub fn tokens_issued(&self) -> usize {
        self.tokens
            .as_ref()
            .map_or(0, |tokens| tokens.issued.load(Ordering::SeqCst))
    }

    /// The `Authorization` header for pushing to `repository`: basic credentials, or a
    /// token the token service signs for them.
    fn authorization(&self, repository: &str) -> String {
        match &self.tokens {
            None => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", self.username, self.password))
            ),
            Some(tokens) => format!(
                "Bearer {}",
                tokens.sign(&[format!("repository:{repository}:pull,push")])
            ),
        }
    }

    /// A blocking HTTP client trusting the registry's CA.
    fn http(&self) -> reqwest::blocking::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA certificate");
        reqwest::blocking::Client::builder()
            .tls_certs_merge([ca])
            .build()
            .expect("HTTP client")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Packages a chart `name` at `version` (a Chart.yaml and one ConfigMap template) with
/// the oracle's `helm package` into `dir`; the `.tgz`'s path.
pub fn package_chart(dir: &Path, name: &str, version: &str) -> PathBuf {
    let chart = dir.join("src").join(name).join(version);
    std::fs::create_dir_all(chart.join("templates")).expect("chart directory");
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    std::fs::write(chart.join("Chart.yaml"), chart_yaml).expect("Chart.yaml");
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n";
    std::fs::write(chart.join("templates/cm.yaml"), template).expect("template");
    run_helm(|helm| {
        helm.arg("package")
            .arg(&chart)
            .arg("--destination")
            .arg(dir);
    });
    dir.join(format!("{name}-{version}.tgz"))
}

/// Runs the oracle helm with `args`, its home, configuration and registry logins in a
/// temporary directory of their own (never the user's); its output.
fn run_helm(args: impl FnOnce(&mut Command)) -> String {
    let packager = super::chartrepo::Packager::new();
    let mut helm = packager.helm();
    args(&mut helm);
    let out = helm.output().expect("run helm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{helm:?} failed:\n{text}");
    text
}

/// The `service` (the tokens' audience) the registry names in its challenges.
const TOKEN_SERVICE: &str = "crunch-test-registry";
/// The issuer of the tokens the registry accepts.
const TOKEN_ISSUER: &str = "crunch-test-token-service";

/// A token service as distribution's token authentication specifies it: `GET
/// /token?service=…&scope=repository:NAME:ACTIONS` with basic credentials answers
/// `{"token": JWT}` granting what the scopes ask, signed (ES256) by a key whose
/// certificate is in the JWT's `x5c` header and in the registry's `rootcertbundle`;
/// other credentials get a 401. Plain HTTP on 127.0.0.1; stops when dropped.
pub struct TokenService {
    port: u16,
    certificate_pem: String,
    certificate_der: Vec<u8>,
    key: p256::ecdsa::SigningKey,
    issued: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenService {
    fn start(username: &str, password: &str) -> TokenService {
        use p256::pkcs8::DecodePrivateKey as _;
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let certificate = rcgen::CertificateParams::new(Vec::new())
            .expect("certificate parameters")
            .self_signed(&pair)
            .expect("token signing certificate");
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(&pair.serialize_der()).expect("P-256");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token service");
        let port = listener.local_addr().expect("token service address").port();
        let mut service = TokenService {
            port,
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().to_vec(),
            key,
            issued: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let signer = service.signer();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        );
        let (stop, issued) = (service.stop.clone(), service.issued.clone());
        service.thread = Some(std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                // A broken connection ends only its own request.
                if let Ok(stream) = stream {
                    let _ = answer_token_request(stream, &expected, &signer, &issued);
                }
            }
        }));
        service
    }

    /// A token granting `scopes`.
    fn sign(&self, scopes: &[String]) -> String {
        self.signer().sign(scopes)
    }

    fn signer(&self) -> TokenSigner {
        TokenSigner {
            key: self.key.clone(),
            certificate_der: self.certificate_der.clone(),
        }
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What signs tokens: the key and its certificate.
struct TokenSigner {
    key: p256::ecdsa::SigningKey,
    certificate_der: Vec<u8>,
}

impl TokenSigner {
    /// A JWT for the user `crunch` granting `scopes` (`repository:NAME:ACTIONS`), valid
    /// for five minutes.
    fn sign(&self, scopes: &[String]) -> String {
        use p256::ecdsa::signature::Signer as _;
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.certificate_der)],
        });
        let claims = serde_json::json!({
            "iss": TOKEN_ISSUER,
            "sub": "crunch",
            "aud": TOKEN_SERVICE,
            "exp": now + 300,
            "nbf": now - 60,
            "iat": now,
            "jti": format!("{now}-{}", access.len()),
            "access": access,
        });
        let signed = format!(
            "{}.{}",
            url.encode(header.to_string()),
            url.encode(claims.to_string())
        );
        let signature: p256::ecdsa::Signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", url.encode(signature.to_bytes()))
    }
}

/// Answers one token request: a token for the request's scopes when it carries the
/// expected credentials, else a 401.
fn answer_token_request(
    stream: TcpStream,
    expected: &str,
    signer: &TokenSigner,
    issued: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorized = value.trim() == expected;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or_default();
    let scopes: Vec<String> = target
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("scope="))
        .flat_map(|scope| {
            percent_decode(scope)
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut stream = stream;
    if !authorized {
        return stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
    }
    issued.fetch_add(1, Ordering::SeqCst);
    let body = serde_json::json!({"token": signer.sign(&scopes), "expires_in": 300}).to_string();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `%XX` escapes and `+` (a space in a query) decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `sha256:` and the hex sha256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        crunch::gostd::hex::encode(Sha256::digest(bytes))
    )
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("probe a free port")
        .port()
}

/// Waits (up to 30 s) until `port` accepts connections; false when the process exits.
fn wait_until_listening(process: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Unless another process had the port and this one gave up on it.
            std::thread::sleep(Duration::from_millis(50));
            return process.try_wait().ok().flatten().is_none();
        }
        if process.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
