//! A Helm chart repository on 127.0.0.1, and charts packaged and indexed by the real
//! `helm`.
//!
//! [`ChartRepo::start`] serves a directory of files over plain HTTP;
//! [`ChartRepo::start_https`] serves it over HTTPS with a certificate from a CA made for
//! the test ([`super::tls::TestCa`]) and requires basic auth. Both count the requests
//! they answer and stop when dropped. Files are read from disk per request, so a test may
//! rewrite `index.yaml` between requests.
//!
//! [`Packager`] runs the oracle (`helm package`, `helm repo index`) with its homes in a
//! temporary directory, so the archives and the index are exactly what Helm produces.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use super::gitserver::Listener;

/// A running chart repository.
pub struct ChartRepo {
    listener: Listener,
    scheme: &'static str,
    requests: Arc<Mutex<Vec<String>>>,
    /// The CA that signed the HTTPS server's certificate (PEM), for HTTPS.
    pub ca_pem: Option<String>,
    /// The username and password the HTTPS server requires.
    pub credentials: Option<(String, String)>,
}

impl ChartRepo {
    /// Serves `dir` over HTTP, without authentication.
    pub fn start(dir: &Path) -> ChartRepo {
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (root, log) = (dir.to_path_buf(), requests.clone());
        let listener = Listener::start(move |stream, _| {
            let mut connection = BufReader::new(stream);
            // A broken connection only ends this connection's thread.
            let _ = serve(&mut connection, &root, None, &log);
        });
        ChartRepo {
            listener,
            scheme: "http",
            requests,
            ca_pem: None,
            credentials: None,
        }
    }

    /// Serves `dir` over HTTPS, answering 401 to requests without the right basic auth.
    pub fn start_https(dir: &Path) -> ChartRepo {
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let test_ca = super::tls::TestCa::new();
        let tls = test_ca.server_config();
        let (username, password) = ("chart-reader".to_string(), "p@ss:w0rd".to_string());
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        );
        let (root, log) = (dir.to_path_buf(), requests.clone());
        let listener = Listener::start(move |stream: TcpStream, _| {
            let Ok(session) = rustls::ServerConnection::new(tls.clone()) else {
                return;
            };
            let mut connection = BufReader::new(rustls::StreamOwned::new(session, stream));
            let _ = serve(&mut connection, &root, Some(&expected), &log);
        });
        ChartRepo {
            listener,
            scheme: "https",
            requests,
            ca_pem: Some(test_ca.ca_pem),
            credentials: Some((username, password)),
        }
    }

    /// The repository URL, with a trailing slash.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}/", self.scheme, self.listener.port)
    }

    /// How many requests the server has answered (with any status).
    pub fn requests(&self) -> usize {
        self.requests.lock().expect("request log").len()
    }

    /// The paths requested so far, in order.
    pub fn requested_paths(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }
}

/// Answers GET and HEAD requests on one connection until the client closes it.
fn serve<S: Read + Write>(
    connection: &mut BufReader<S>,
    root: &Path,
    expected_auth: Option<&str>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    loop {
        let mut request_line = String::new();
        if connection.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut authorization = None;
        let mut close = false;
        loop {
            let mut line = String::new();
            if connection.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim().to_string();
                match name.trim().to_ascii_lowercase().as_str() {
                    "authorization" => authorization = Some(value),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let path = target.split('?').next().unwrap_or_default().to_string();
        log.lock().expect("request log").push(path.clone());
        let (status, body) = if expected_auth.is_some_and(|e| authorization.as_deref() != Some(e)) {
            ("401 Unauthorized", Vec::new())
        } else if method != "GET" && method != "HEAD" {
            ("405 Method Not Allowed", Vec::new())
        } else {
            match file_under(root, &path).and_then(|file| std::fs::read(file).ok()) {
                Some(bytes) => ("200 OK", bytes),
                None => ("404 Not Found", b"not found\n".to_vec()),
            }
        };
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n",
            body.len()
        );
        if status.starts_with("401") {
            response.push_str("WWW-Authenticate: Basic realm=\"charts\"\r\n");
        }
        response.push_str("\r\n");
        let stream = connection.get_mut();
        stream.write_all(response.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(&body)?;
        }
        stream.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The file a request path names under `root`: percent-decoded, no `..`, no directories.
fn file_under(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path.strip_prefix('/')?)?;
    let relative = Path::new(&decoded);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    let file = root.join(relative);
    (plain && file.is_file()).then_some(file)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Runs the `helm` oracle with its config, cache and data homes (and `HOME`) in a
/// temporary directory of its own.
pub struct Packager {
    home: tempfile::TempDir,
}

impl Packager {
    /// A packager with fresh, empty homes.
    pub fn new() -> Packager {
        Packager {
            home: tempfile::tempdir().expect("temp dir for helm's homes"),
        }
    }

    /// `helm` with this packager's homes and registry logins, and nothing else of the
    /// environment but `PATH`: never the user's configuration.
    pub fn helm(&self) -> Command {
        let home = self.home.path();
        let mut helm = super::oracle::helm();
        helm.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("HELM_REGISTRY_CONFIG", home.join("registry.json"));
        helm
    }

    /// Packages the chart directory `chart` into `dest` (`helm package`), at `version`
    /// when given, vendoring `file://` dependencies first when `dependencies` is set;
    /// returns the archive's path.
    pub fn package(
        &self,
        chart: &Path,
        dest: &Path,
        version: Option<&str>,
        dependencies: bool,
    ) -> PathBuf {
        let mut helm = self.helm();
        helm.arg("package")
            .arg(chart)
            .arg("--destination")
            .arg(dest);
        if let Some(version) = version {
            helm.args(["--version", version]);
        }
        if dependencies {
            helm.arg("--dependency-update");
        }
        let stdout = run(&mut helm);
        let archive = stdout
            .trim()
            .rsplit(": ")
            .next()
            .map(PathBuf::from)
            .expect("helm package names the archive it saved");
        assert!(archive.is_file(), "helm package said {stdout:?}");
        archive
    }

    /// Writes `dir/index.yaml` for the archives in `dir` (`helm repo index`), their
    /// URLs absolute under `url` when given, else relative.
    pub fn index(&self, dir: &Path, url: Option<&str>) {
        let mut helm = self.helm();
        helm.args(["repo", "index"]).arg(dir);
        if let Some(url) = url {
            helm.args(["--url", url]);
        }
        run(&mut helm);
    }
}

/// Runs `command`, failing the test with its output unless it succeeds; returns stdout.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("run helm");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Copies the directory tree `from` into `to` (created).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the directory to copy") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
