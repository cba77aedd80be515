//! Why talking to a registry failed, told apart so that callers (and users) can act:
//! the registry could not be reached, refused the credentials, does not have what was
//! asked for, or sent content that does not match its digest.

use std::fmt;

/// A failed registry request. `Display` is a complete sentence naming the registry and
/// what was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciError {
    /// Connecting failed: refused, timed out, DNS, or the TLS handshake (an unknown CA).
    Unreachable {
        /// The registry (`host[:port]`).
        registry: String,
        /// The transport's explanation, outermost first.
        message: String,
    },
    /// The registry answered 401 or 403, or its token service refused the credentials.
    Unauthorized {
        /// The registry.
        registry: String,
        /// The repository asked for.
        repository: String,
        /// The username presented; `None` for anonymous requests.
        user: Option<String>,
        /// The registry's explanation.
        message: String,
    },
    /// The registry has no such repository, tag, manifest or blob.
    NotFound {
        /// What was asked for, e.g. `manifest 1.0.0 of oci://host/charts/app`.
        what: String,
        /// The registry's explanation.
        message: String,
    },
    /// Content whose sha256 digest is not the one it was asked for by.
    Digest {
        /// What was fetched, e.g. `blob sha256:… of oci://host/charts/app`.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// Anything else: a server error, an answer that is not what the distribution API
    /// specifies, a local file that cannot be written.
    Other {
        /// What was being done, e.g. `list the tags of oci://host/charts/app`.
        action: String,
        /// Why it failed.
        message: String,
    },
}

impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OciError::Unreachable { registry, message } => write!(
                f,
                "cannot reach the OCI registry {registry}: {message}; check the URL, the network, \
                 and for https the CA certificate"
            ),
            OciError::Unauthorized {
                registry,
                repository,
                user: Some(user),
                message,
            } => write!(
                f,
                "the OCI registry {registry} refused user `{user}` access to {repository} \
                 ({message}); check the username and password"
            ),
            OciError::Unauthorized {
                registry,
                repository,
                user: None,
                message,
            } => write!(
                f,
                "the OCI registry {registry} refused anonymous access to {repository} \
                 ({message}); it needs credentials"
            ),
            OciError::NotFound { what, message } => {
                write!(f, "{what} was not found ({message})")
            }
            OciError::Digest {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what} does not match its digest: expected {expected}, got {actual}; the registry \
                 or something between it and crunch altered it"
            ),
            OciError::Other { action, message } => write!(f, "cannot {action}: {message}"),
        }
    }
}

impl std::error::Error for OciError {}
