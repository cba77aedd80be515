//! Test git servers and test repositories.
//!
//! [`GitServers::start`] serves a directory of repositories on 127.0.0.1 ephemeral ports:
//! `git://` through `git daemon --inetd` (one process per connection, so no port race)
//! and smart HTTPS through `git http-backend` behind a small rustls server that requires
//! basic auth and presents a certificate from a CA generated for the test. Everything
//! stops when the [`GitServers`] value is dropped.
//!
//! [`TestRepo`] builds repositories with real history through the `git` CLI, with fixed
//! identities and dates so that commit ids are the same on every run.

use std::io::{BufRead, BufReader, Read, Write};

use base64::Engine as _;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Running `git://` and `https://` servers over one directory of repositories.
pub struct GitServers {
    daemon: Listener,
    https: Listener,
    _scratch: tempfile::TempDir,
    /// The PEM file of the CA that signed the HTTPS server's certificate.
    pub ca_pem_path: PathBuf,
    /// The username the HTTPS server accepts.
    pub username: String,
    /// The password the HTTPS server accepts.
    pub password: String,
}

impl GitServers {
    /// Serves every repository under `root` (bare, or with a work tree).
    pub fn start(root: &Path) -> GitServers {
        let scratch = tempfile::tempdir().expect("temp dir for the servers");
        let root = root.to_path_buf();
        let daemon_root = root.clone();
        let daemon =
            Listener::start(move |stream, children| serve_daemon(stream, &daemon_root, children));

        let test_ca = super::tls::TestCa::new();
        let (tls, ca_pem) = (test_ca.server_config(), test_ca.ca_pem.clone());
        let ca_pem_path = scratch.path().join("ca.pem");
        std::fs::write(&ca_pem_path, ca_pem).expect("write the CA file");
        let username = "crunch-user".to_string();
        let password = "s3cret:pass".to_string();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        );
        let home = scratch.path().to_path_buf();
        let https = Listener::start(move |stream, _| {
            let connection = rustls::ServerConnection::new(tls.clone()).expect("TLS session");
            let mut tls = BufReader::new(rustls::StreamOwned::new(connection, stream));
            // A broken connection only ends this connection's thread.
            let _ = serve_https(&mut tls, &root, &home, &expected);
        });
        GitServers {
            daemon,
            https,
            _scratch: scratch,
            ca_pem_path,
            username,
            password,
        }
    }

    /// The `git://` URL of the repository at `path` under the root.
    pub fn git_url(&self, path: &str) -> String {
        format!("git://127.0.0.1:{}/{path}", self.daemon.port)
    }

    /// The `https://` URL (without credentials) of the repository at `path`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.https.port)
    }

    /// How many connections both servers have accepted so far.
    pub fn connections(&self) -> usize {
        self.daemon.accepted.load(Ordering::SeqCst) + self.https.accepted.load(Ordering::SeqCst)
    }
}

/// Processes connections started (`git daemon`), killed when their listener stops.
pub type Children = Arc<Mutex<Vec<Child>>>;

/// A TCP accept loop on 127.0.0.1 that hands each connection to its own thread (the chart
/// repository server runs on it too); it stops when dropped.
pub struct Listener {
    /// The ephemeral port it listens on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    children: Children,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on a free port; `handle` serves each accepted connection on a new thread.
    pub fn start(handle: impl Fn(TcpStream, &Children) + Send + Sync + 'static) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let children: Children = Arc::default();
        let handle = Arc::new(handle);
        let thread = {
            let (stop, accepted, children) = (stop.clone(), accepted.clone(), children.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (handle, children) = (handle.clone(), children.clone());
                    std::thread::spawn(move || handle(stream, &children));
                }
            })
        };
        Listener {
            port,
            stop,
            accepted,
            children,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and closes the socket.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for mut child in self.children.lock().expect("children").drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `git daemon --inetd` with the connection as its stdin and stdout.
fn serve_daemon(stream: TcpStream, root: &Path, children: &Children) {
    let Ok(output) = stream.try_clone() else {
        return;
    };
    let child = git_command()
        .args(["daemon", "--inetd", "--export-all", "--informative-errors"])
        .arg("--log-destination=none")
        .arg(format!("--base-path={}", root.display()))
        .arg(root)
        .stdin(Stdio::from(OwnedFd::from(stream)))
        .stdout(Stdio::from(OwnedFd::from(output)))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn git daemon --inetd");
    let mut children = children.lock().expect("children");
    // Reap the daemons of finished connections so that they do not pile up as zombies.
    children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    children.push(child);
}

/// A `git` command isolated from the host's configuration.
fn git_command() -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    command
}

/// Serves HTTP/1.1 requests on one TLS connection until the client closes it.
fn serve_https<S: Read + Write>(
    conn: &mut BufReader<S>,
    root: &Path,
    home: &Path,
    expected_auth: &str,
) -> std::io::Result<()> {
    loop {
        let mut request_line = String::new();
        if conn.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            conn.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let header = |name: &str| header(&headers, name);
        let body = read_body(conn, &headers)?;
        if header("authorization") != Some(expected_auth) {
            let response = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\n\r\n";
            conn.get_mut().write_all(response.as_bytes())?;
            conn.get_mut().flush()?;
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut cgi = git_command();
        cgi.arg("http-backend")
            .env("HOME", home)
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("REQUEST_METHOD", &method)
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_USER", "crunch-user")
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (variable, name) in [
            ("CONTENT_TYPE", "content-type"),
            ("HTTP_GIT_PROTOCOL", "git-protocol"),
            ("HTTP_CONTENT_ENCODING", "content-encoding"),
        ] {
            if let Some(value) = header(name) {
                cgi.env(variable, value);
            }
        }
        let mut child = cgi.spawn()?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        // Feed the body from another thread: the CGI may answer before reading it all.
        let writer = std::thread::spawn(move || stdin.write_all(&body));
        let mut output = Vec::new();
        child
            .stdout
            .take()
            .expect("piped stdout")
            .read_to_end(&mut output)?;
        child.wait()?;
        let _ = writer.join();
        write_cgi_response(conn.get_mut(), &output)?;
    }
}

/// The value of the (lowercase) header `name`.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn read_body<R: BufRead>(conn: &mut R, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            conn.read_line(&mut size_line)?;
            let size_text = size_line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                loop {
                    let mut trailer = String::new();
                    conn.read_line(&mut trailer)?;
                    if trailer.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            conn.read_exact(&mut crlf)?;
        }
    }
    if let Some(length) = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        conn.read_exact(&mut body)?;
    }
    Ok(body)
}

/// Turns CGI output (headers, a blank line, the body) into an HTTP/1.1 response.
fn write_cgi_response<W: Write>(out: &mut W, cgi: &[u8]) -> std::io::Result<()> {
    let (head, body) = split_cgi(cgi);
    let mut status = "200 OK".to_string();
    let mut response = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                status = value.trim().to_string()
            }
            Some(_) => response.extend_from_slice(format!("{line}\r\n").as_bytes()),
            None => {}
        }
    }
    let mut all = format!("HTTP/1.1 {status}\r\n").into_bytes();
    all.extend_from_slice(&response);
    all.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    all.extend_from_slice(body);
    out.write_all(&all)?;
    out.flush()
}

fn split_cgi(cgi: &[u8]) -> (&[u8], &[u8]) {
    for (separator, skip) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(at) = cgi.windows(separator.len()).position(|w| w == separator) {
            return (&cgi[..at], &cgi[at + skip..]);
        }
    }
    (cgi, &[])
}

/// A repository with a work tree whose commits are deterministic: fixed author,
/// committer and dates (each commit one hour after the previous one).
pub struct TestRepo {
    dir: PathBuf,
    commits: u32,
}

impl TestRepo {
    /// Creates `root/name` with an empty history on branch `main`.
    pub fn init(root: &Path, name: &str) -> TestRepo {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("create the repository directory");
        let repo = TestRepo { dir, commits: 0 };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    /// Writes a file (creating directories).
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        self.write_bytes(path, contents.as_bytes())
    }

    /// Writes a file of any bytes (creating directories).
    pub fn write_bytes(&self, path: &str, contents: &[u8]) -> &Self {
        let file = self.dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a file has a parent"))
            .expect("create directories");
        std::fs::write(file, contents).expect("write the file");
        self
    }

    /// Creates a symlink at `path` pointing to `target`.
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let link = self.dir.join(path);
        std::fs::create_dir_all(link.parent().expect("a link has a parent"))
            .expect("create directories");
        std::os::unix::fs::symlink(target, link).expect("create the symlink");
        self
    }

    /// Commits everything in the work tree and returns the commit id.
    pub fn commit(&mut self, message: &str) -> String {
        self.commits += 1;
        let date = format!("{} +0000", 1_600_000_000 + 3600 * self.commits);
        self.git(&["add", "--all"]);
        git_command()
            .current_dir(&self.dir)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(identity())
            .args(["commit", "--quiet", "--allow-empty", "-m", message])
            .status()
            .expect("run git commit")
            .success()
            .then_some(())
            .expect("git commit succeeds");
        self.head()
    }

    /// The current commit id.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// An annotated tag at HEAD (with a fixed tagger date).
    pub fn annotated_tag(&self, name: &str) {
        git_command()
            .current_dir(&self.dir)
            .env("GIT_COMMITTER_DATE", "1600000000 +0000")
            .args(identity())
            .args(["tag", "-a", name, "-m", &format!("release {name}")])
            .status()
            .expect("run git tag")
            .success()
            .then_some(())
            .expect("git tag succeeds");
    }

    /// Runs git in the repository and returns its trimmed stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let output = git_command()
            .current_dir(&self.dir)
            .args(identity())
            .args(args)
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

fn identity() -> [&'static str; 8] {
    [
        "-c",
        "user.name=Crunch Test",
        "-c",
        "user.email=test@crunch.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_sized_bodies_are_read() {
        let chunked = [("transfer-encoding".to_string(), "chunked".to_string())];
        let mut input =
            std::io::Cursor::new(b"5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\nNEXT".to_vec());
        assert_eq!(read_body(&mut input, &chunked).unwrap(), b"hello!");
        let sized = [("content-length".to_string(), "3".to_string())];
        let mut input = std::io::Cursor::new(b"abcdef".to_vec());
        assert_eq!(read_body(&mut input, &sized).unwrap(), b"abc");
    }
}
