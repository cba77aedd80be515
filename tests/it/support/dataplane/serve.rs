//! Every ready pod's servers: HTTPS on its address and ports, answering what the API
//! server asks of the pods behind aggregated APIs and admission webhooks.
//!
//! Certificates are minted per TLS server name by one CA ([`Certificates`]), so a client
//! that trusts the CA (a webhook's `caBundle`) verifies `<service>.<namespace>.svc`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::{Log, print_error};

/// How long a port that could not be listened on waits before the next try.
const BIND_RETRY: Duration = Duration::from_secs(5);

/// The CA and the certificates it minted, by server name.
pub struct Certificates {
    ca: CertifiedIssuer<'static, KeyPair>,
    ca_pem: String,
    provider: Arc<CryptoProvider>,
    minted: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl Certificates {
    /// A fresh CA.
    pub fn new() -> Certificates {
        let mut params = CertificateParams::new(Vec::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "crunch stand-in data plane CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        Certificates {
            ca_pem: ca.pem(),
            ca,
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            minted: Mutex::new(HashMap::new()),
        }
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn mint(&self, name: &str) -> Result<CertifiedKey, String> {
        let mut params =
            CertificateParams::new(vec![name.to_string()]).map_err(|e| e.to_string())?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let certificate = params
            .signed_by(&key, &self.ca)
            .map_err(|e| e.to_string())?;
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        CertifiedKey::from_der(vec![certificate.der().clone()], der, &self.provider)
            .map_err(|e| e.to_string())
    }
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Certificates")
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // Clients that dial an address send no name.
        let name = hello.server_name().unwrap_or("localhost");
        let mut minted = self.minted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = minted.get(name) {
            return Some(key.clone());
        }
        match self.mint(name) {
            Ok(key) => {
                let key = Arc::new(key);
                minted.insert(name.to_string(), key.clone());
                Some(key)
            }
            Err(error) => {
                print_error(&format!(
                    "crunch-stand-in: minting a certificate for {name}: {error}"
                ));
                None
            }
        }
    }
}

/// The listeners, one per address and port.
pub struct Serving {
    acceptor: TlsAcceptor,
    listeners: BTreeMap<SocketAddrV4, JoinHandle<()>>,
    /// Ports that could not be listened on, and when.
    failed: HashMap<SocketAddrV4, Instant>,
}

impl Serving {
    pub fn new(certificates: Arc<Certificates>) -> Serving {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(certificates);
        // The server speaks HTTP/1.1 only; Go's clients fall back to it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Serving {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            listeners: BTreeMap::new(),
            failed: HashMap::new(),
        }
    }

    /// Listens on exactly the `wanted` addresses and ports.
    pub async fn reconcile(&mut self, wanted: &BTreeSet<SocketAddrV4>, log: &mut Log) {
        self.listeners.retain(|address, task| {
            let keep = wanted.contains(address) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        self.failed.retain(|address, _| wanted.contains(address));
        for address in wanted {
            if self.listeners.contains_key(address)
                || self
                    .failed
                    .get(address)
                    .is_some_and(|at| at.elapsed() < BIND_RETRY)
            {
                continue;
            }
            match TcpListener::bind(SocketAddr::V4(*address)).await {
                Ok(listener) => {
                    self.failed.remove(address);
                    let task = tokio::spawn(serve(listener, self.acceptor.clone()));
                    self.listeners.insert(*address, task);
                }
                Err(error) => {
                    log.error(format!("listening on {address}"), error);
                    self.failed.insert(*address, Instant::now());
                }
            }
        }
    }

    /// Stops every listener and its connections.
    pub fn stop_all(&mut self) {
        for task in self.listeners.values() {
            task.abort();
        }
        self.listeners.clear();
    }
}

/// Accepts connections until aborted; the connections end with it.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, acceptor.clone()));
                }
                // Out of file descriptors, say: give the others time to close.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn connection(stream: TcpStream, acceptor: TlsAcceptor) {
    // A client that fails the handshake or hangs up is its own business.
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service_fn(answer))
        .await;
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (content_type, body) = respond(&method, &path, &body);
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    Ok(response)
}

/// The answer to a request, always 200: an empty resource list for an API group
/// version's discovery, empty OpenAPI documents (the aggregator downloads them),
/// `allowed` for an admission review, `ok` for anything else (health checks).
fn respond(method: &Method, path: &str, body: &[u8]) -> (&'static str, Vec<u8>) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let answer = if *method == Method::GET
        && let ["apis", group, version] = segments[..]
    {
        json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": format!("{group}/{version}"), "resources": []})
    } else if *method == Method::GET && segments == ["openapi", "v2"] {
        json!({"swagger": "2.0", "info": {"title": "crunch stand-in", "version": "v1"},
            "paths": {}})
    } else if *method == Method::GET && segments == ["openapi", "v3"] {
        json!({"paths": {}})
    } else if *method == Method::POST
        && let Ok(review) = serde_json::from_slice::<Value>(body)
        && review["kind"] == "AdmissionReview"
    {
        json!({"apiVersion": review["apiVersion"], "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": true}})
    } else {
        return ("text/plain", b"ok".to_vec());
    };
    (
        "application/json",
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}
