//! Talking to a git remote through gix's blocking client: listing references and
//! fetching one commit (depth 1) into a cached bare repository.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use gix::bstr::ByteSlice;
use gix::protocol::handshake::Ref;
use gix::remote::Direction;

use super::error::chain;

/// A username and password for HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The username.
    pub username: String,
    /// The password (never printed: `Debug` elides it).
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}, <password>)", self.username)
    }
}

/// How to reach one remote: its URL without credentials, and what to present.
pub(crate) struct Endpoint {
    /// The URL gix connects to (userinfo removed: credentials go through the callback).
    pub url: String,
    /// Basic-auth credentials offered when the server asks.
    pub auth: Option<BasicAuth>,
    /// Extra trusted CA certificates (PEM) for https.
    pub ca_pem: Option<Arc<Vec<u8>>>,
}

/// Why talking to the remote failed: before or after it was reached.
pub(crate) enum RemoteError {
    /// Connecting or the handshake failed.
    Connect(String),
    /// Something after the handshake failed.
    Other(String),
}

/// A reference advertised by the remote, peeled to the object it finally names.
#[derive(Debug, Clone)]
pub(crate) struct RemoteRef {
    /// The full name, e.g. `refs/tags/v1.0.0`.
    pub name: String,
    /// The peeled object (a commit for every sane tag or branch).
    pub object: gix::ObjectId,
}

/// Opens the bare repository at `git_dir`, creating it (atomically) if absent.
///
/// The repository is opened isolated from the user's and system's git configuration so
/// that `url.insteadOf`, credential helpers or filters on the host cannot change what
/// crunch fetches or how it checks out.
pub(crate) fn open_or_init(git_dir: &Path) -> Result<gix::Repository, String> {
    if !git_dir.exists() {
        let parent = git_dir.parent().unwrap_or(git_dir);
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let temp = tempdir_beside(git_dir);
        create_bare(&temp).map_err(|e| format!("{}: {e}", temp.display()))?;
        // Losing the race to another process is fine: its repository is as good.
        if std::fs::rename(&temp, git_dir).is_err() {
            let _ = std::fs::remove_dir_all(&temp);
        }
    }
    gix::open_opts(git_dir, gix::open::Options::isolated()).map_err(|e| chain(&e))
}

/// Creates the smallest bare repository git and gix open: `HEAD`, `config`, `objects/`
/// and `refs/`. `git init`'s templates (sample hooks, `description`, `info/exclude`) are
/// a dozen files per cached repository that nothing reads, and creating files is most
/// of a cold build's time.
fn create_bare(dir: &Path) -> std::io::Result<()> {
    for sub in ["objects/pack", "objects/info", "refs/heads", "refs/tags"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n")?;
    std::fs::write(
        dir.join("config"),
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n",
    )
}

/// A fresh, unique sibling path of `path` for write-then-rename.
pub(crate) fn tempdir_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Lists the remote's references whose names match one of `patterns` (`refs/tags/*`,
/// `refs/heads/main`, `HEAD`, ...), peeled to the objects they name. Nothing is fetched.
pub(crate) fn list(
    repo: &gix::Repository,
    endpoint: &Endpoint,
    patterns: &[String],
) -> Result<Vec<RemoteRef>, RemoteError> {
    // gix wants a destination for glob specs; it is never written (nothing is fetched).
    let specs: Vec<String> = patterns
        .iter()
        .map(|p| {
            if p.contains('*') {
                format!("{p}:{p}")
            } else {
                p.clone()
            }
        })
        .collect();
    let remote = repo
        .remote_at(endpoint.url.as_str())
        .map_err(|e| RemoteError::Connect(chain(&e)))?
        .with_refspecs(specs.iter().map(String::as_str), Direction::Fetch)
        .map_err(|e| RemoteError::Other(chain(&e)))?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let mut connection = remote
        .connect(Direction::Fetch)
        .map_err(|e| RemoteError::Connect(chain(&e)))?;
    configure(repo, &mut connection, endpoint)?;
    let (ref_map, _handshake) = connection
        .ref_map(gix::progress::Discard, Default::default())
        .map_err(|e| RemoteError::Connect(chain(&e)))?;
    Ok(ref_map.remote_refs.iter().filter_map(peel).collect())
}

fn peel(r: &Ref) -> Option<RemoteRef> {
    let (name, object) = match r {
        Ref::Peeled {
            full_ref_name,
            object,
            ..
        }
        | Ref::Direct {
            full_ref_name,
            object,
        }
        | Ref::Symbolic {
            full_ref_name,
            object,
            ..
        } => (full_ref_name, *object),
        Ref::Unborn { .. } => return None,
    };
    Some(RemoteRef {
        name: name.to_str_lossy().into_owned(),
        object,
    })
}

/// Fetches `commit` and nothing older (depth 1) into `repo`.
pub(crate) fn fetch_commit(
    repo: &gix::Repository,
    endpoint: &Endpoint,
    commit: gix::ObjectId,
) -> Result<(), RemoteError> {
    let hex = commit.to_hex().to_string();
    let spec = gix::refspec::parse(
        hex.as_bytes().as_bstr(),
        gix::refspec::parse::Operation::Fetch,
    )
    .map_err(|e| RemoteError::Other(chain(&e)))?
    .to_owned();
    let remote = repo
        .remote_at(endpoint.url.as_str())
        .map_err(|e| RemoteError::Connect(chain(&e)))?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let mut connection = remote
        .connect(Direction::Fetch)
        .map_err(|e| RemoteError::Connect(chain(&e)))?;
    configure(repo, &mut connection, endpoint)?;
    let options = gix::remote::ref_map::Options {
        extra_refspecs: vec![spec],
        ..Default::default()
    };
    let prepared = connection
        .prepare_fetch(gix::progress::Discard, options)
        .map_err(|e| RemoteError::Connect(chain(&e)))?;
    let depth = std::num::NonZeroU32::MIN;
    prepared
        .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(depth))
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(|e| RemoteError::Other(chain(&e)))?;
    Ok(())
}

type Connection<'r, 'a, 'repo> = gix::remote::Connection<
    'r,
    'a,
    'repo,
    Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
>;

/// Installs the credentials callback (never prompting, never asking host helpers) and,
/// for https, the extra CA certificates.
fn configure(
    repo: &gix::Repository,
    connection: &mut Connection<'_, '_, '_>,
    endpoint: &Endpoint,
) -> Result<(), RemoteError> {
    let auth = endpoint.auth.clone();
    connection.set_credentials(move |action| {
        use gix::credentials::helper::Action;
        match (action, &auth) {
            (Action::Get(context), Some(auth)) => Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: auth.username.clone(),
                    password: auth.password.clone(),
                    oauth_refresh_token: None,
                },
                next: context.into(),
            })),
            _ => Ok(None),
        }
    });
    if let Some(pem) = &endpoint.ca_pem {
        let options = repo
            .transport_options(endpoint.url.as_str(), None)
            .map_err(|e| RemoteError::Connect(chain(&e)))?;
        if let Some(mut options) = options {
            if let Some(http) = options
                .downcast_mut::<gix::protocol::transport::client::blocking_io::http::Options>()
            {
                http.backend = Some(trust_ca(pem.clone()));
            }
            connection.set_transport_options(options);
        }
    }
    Ok(())
}

/// reqwest options adding the PEM certificates in `pem` to the trusted roots.
fn trust_ca(pem: Arc<Vec<u8>>) -> Arc<Mutex<dyn std::any::Any + Send + Sync + 'static>> {
    use gix::protocol::transport::client::blocking_io::http::reqwest::Options;
    let configure = move |builder: reqwest::blocking::ClientBuilder| {
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            gix::Error::from_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the CA file is not PEM: {e}"),
            ))
        })?;
        Ok(builder.tls_certs_merge(certificates))
    };
    Arc::new(Mutex::new(Options {
        configure_client: Some(Box::new(configure)),
        configure_request: None,
    }))
}
