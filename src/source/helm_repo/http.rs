//! Fetching indexes and chart archives over HTTP(S): reqwest's blocking client with
//! rustls, the system's roots plus a repository's CA (as source-controller extends the
//! system pool), an optional client certificate, and basic auth.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::super::remote::BasicAuth;

/// The largest index source-controller reads (`helm.MaxIndexSize`, 50 MiB); [`HttpSource::get`]
/// refuses longer bodies.
pub const MAX_INDEX_SIZE: u64 = 50 << 20;

/// How long one request may take: Flux's default HelmRepository `spec.timeout`.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a fetch failed. `Display` names the URL (never credentials) and what to check.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The CA or client certificate given to [`HttpSource::new`] is unusable.
    #[error("cannot set up the HTTP client: {reason}")]
    Setup {
        /// What was wrong.
        reason: String,
    },
    /// No connection: refused, unknown host, timeout, or the TLS handshake failed.
    #[error(
        "cannot reach {url}: {reason} (check the URL, the network, and for https the repository's CA)"
    )]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// The transport's explanation, outermost first.
        reason: String,
    },
    /// 401 or 403.
    #[error(
        "{url} refused the request ({status}): check the repository's credentials (secretRef) and whether they may be sent to this host (passCredentials)"
    )]
    Unauthorized {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// 404.
    #[error(
        "{url} was not found (404): check the repository URL and that the index lists this chart"
    )]
    NotFound {
        /// The URL asked for.
        url: String,
    },
    /// Any other status than 200.
    #[error("failed to fetch {url}: HTTP status {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body broke off, or was longer than allowed.
    #[error("failed to read {url}: {reason}")]
    Body {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The archive's SHA-256 is not the digest the index gives for it.
    #[error(
        "the archive at {url} has sha256 {actual} but the repository index says {expected}: the index or the archive changed, or something in between altered it"
    )]
    DigestMismatch {
        /// The URL asked for.
        url: String,
        /// The digest the index lists.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// Writing the download failed.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file (or its temporary sibling).
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// An HTTP(S) client for one repository's TLS settings.
#[derive(Clone, Debug)]
pub struct HttpSource {
    client: reqwest::blocking::Client,
}

impl HttpSource {
    /// A client trusting the system's roots plus `ca_pem` (PEM certificates), and
    /// presenting `client_identity` (certificate chain PEM, private key PEM) when given.
    ///
    /// # Errors
    /// [`HttpError::Setup`] when the PEM does not read or the client cannot be built.
    pub fn new(
        ca_pem: Option<Arc<Vec<u8>>>,
        client_identity: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<HttpSource, HttpError> {
        let setup = |what: &str, e: &dyn std::fmt::Display| HttpError::Setup {
            reason: format!("{what}: {e}"),
        };
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("crunch/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| setup("the CA certificates are not PEM", &e))?;
            if certificates.is_empty() {
                return Err(setup("the CA file holds no certificate", &"empty"));
            }
            builder = builder.tls_certs_merge(certificates);
        }
        if let Some((cert, key)) = client_identity {
            let mut pem = cert;
            pem.push(b'\n');
            pem.extend_from_slice(&key);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| setup("the client certificate and key do not read", &e))?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| setup("cannot build the client", &chain(&e)))?;
        Ok(HttpSource { client })
    }

    /// The body at `url` (an index: at most [`MAX_INDEX_SIZE`] bytes).
    ///
    /// Credentials are sent only when both the username and the password are non-empty,
    /// as Helm's getter sends them; whether they may go to this URL at all is
    /// [`super::credentials_for`]'s decision.
    ///
    /// # Errors
    /// [`HttpError`]: unreachable, 401/403, 404, another status, a broken or too long
    /// body.
    pub fn get(&self, url: &str, auth: Option<&BasicAuth>) -> Result<Vec<u8>, HttpError> {
        let response = self.request(url, auth)?;
        let mut body = Vec::new();
        response
            .take(MAX_INDEX_SIZE + 1)
            .read_to_end(&mut body)
            .map_err(|e| body_error(url, &e))?;
        if body.len() as u64 > MAX_INDEX_SIZE {
            return Err(HttpError::Body {
                url: shown(url),
                reason: format!("longer than the {MAX_INDEX_SIZE} bytes an index may have"),
            });
        }
        Ok(body)
    }

    /// Downloads `url` to `dest` and returns its SHA-256 (hex). The body goes to a
    /// temporary file beside `dest`, is checked against `expected_digest` (the index's
    /// `digest`, hex with an optional `sha256:`; none or empty: not checked), and only
    /// then renamed to `dest`: `dest` is never half-written or unverified, and a failed
    /// download leaves nothing behind.
    ///
    /// # Errors
    /// As [`HttpSource::get`], plus [`HttpError::DigestMismatch`] and
    /// [`HttpError::Write`].
    pub fn download(
        &self,
        url: &str,
        auth: Option<&BasicAuth>,
        dest: &Path,
        expected_digest: Option<&str>,
    ) -> Result<String, HttpError> {
        let mut response = self.request(url, auth)?;
        let temp = temp_path(dest);
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |error| HttpError::Write { path, error }
        };
        let result = (|| {
            let mut file = std::fs::File::create(&temp).map_err(write_error(&temp))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let read = response
                    .read(&mut buffer)
                    .map_err(|e| body_error(url, &e))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
                file.write_all(&buffer[..read])
                    .map_err(write_error(&temp))?;
            }
            file.sync_all().map_err(write_error(&temp))?;
            let actual = crate::gostd::hex::encode(hasher.finalize());
            if let Some(expected) = expected_digest.filter(|d| !d.is_empty()) {
                let bare = expected.strip_prefix("sha256:").unwrap_or(expected);
                if !bare.eq_ignore_ascii_case(&actual) {
                    return Err(HttpError::DigestMismatch {
                        url: shown(url),
                        expected: expected.to_string(),
                        actual,
                    });
                }
            }
            std::fs::rename(&temp, dest).map_err(write_error(dest))?;
            Ok(actual)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    /// Sends the GET and sorts out the status.
    fn request(
        &self,
        url: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<reqwest::blocking::Response, HttpError> {
        let mut request = self.client.get(url);
        if let Some(auth) = auth.filter(|a| !a.username.is_empty() && !a.password.is_empty()) {
            request = request.basic_auth(&auth.username, Some(&auth.password));
        }
        let url_shown = shown(url);
        let response = request.send().map_err(|e| HttpError::Unreachable {
            url: url_shown.clone(),
            reason: chain(&e.without_url()),
        })?;
        let url = url_shown;
        match response.status().as_u16() {
            200 => Ok(response),
            status @ (401 | 403) => Err(HttpError::Unauthorized { url, status }),
            404 => Err(HttpError::NotFound { url }),
            status => Err(HttpError::Status { url, status }),
        }
    }
}

/// `url` without any `user:password@`, for messages.
fn shown(url: &str) -> String {
    super::super::url::split_userinfo(url).0
}

fn body_error(url: &str, error: &std::io::Error) -> HttpError {
    HttpError::Body {
        url: shown(url),
        reason: chain(error),
    }
}

/// An error and its sources, outermost first, without repeats (reqwest's messages
/// often repeat their source's).
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}

/// A name beside `dest` that no other download (thread or process) uses.
fn temp_path(dest: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = dest
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.{}.{unique}.part", std::process::id()))
}
