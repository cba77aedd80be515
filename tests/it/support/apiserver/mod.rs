//! An in-process stand-in for kube-apiserver (v1.28) plus the controllers and kubelet a
//! test cluster would run, for applier tests that have no real cluster.
//!
//! It serves discovery (plain and aggregated), the REST verbs with label/field selectors
//! and watches, server-side apply with managed fields and conflicts, CRDs registered at
//! runtime, admission webhooks that fail without endpoints, and status progression for
//! workloads on a ticker (see [`ApiServer::set_speed`]). Error bodies follow kube-apiserver's
//! `Status` texts. Known simplifications: strategic merge patch merges only the common
//! keyed lists (see `patch.rs`); apply bodies must be JSON; controllers write without
//! managed-field entries; webhooks with ready endpoints admit writes unchanged.
//!
//! Pods whose image registry host is `never-ready.invalid` never become Ready.

mod admission;
mod catalog;
mod controllers;
mod discovery;
mod faults;
mod http;
mod patch;
mod rest;
mod selectors;
mod ssa;
mod status;
mod store;
mod structural;
mod write;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

pub use faults::{Fault, FaultKind};

/// One request the double received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string ("" when none).
    pub query: String,
}

/// Everything behind the lock.
struct State {
    store: store::Store,
    faults: Vec<Fault>,
    requests: Vec<RequestRecord>,
    /// What `/version` reports as `gitVersion`.
    version: String,
}

/// What the server thread and the test thread share.
struct Shared {
    state: Mutex<State>,
    /// Progression step in milliseconds.
    step_ms: AtomicU64,
    url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on another thread must not hide the double's state from the test.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running double; dropping it stops the server and its thread.
pub struct ApiServer {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Bearer token written to the kubeconfig (the double accepts any credentials).
const TOKEN: &str = "double-token";

impl ApiServer {
    /// Start on 127.0.0.1 with a free port, in a thread with its own tokio runtime.
    ///
    /// # Panics
    /// When no loopback port can be bound or the runtime cannot start: the test cannot run.
    pub fn start() -> ApiServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind a loopback port for the API double");
        let port = listener
            .local_addr()
            .expect("local address of the API double")
            .port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener for the API double");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store: store::Store::new(),
                faults: Vec::new(),
                requests: Vec::new(),
                version: discovery::DEFAULT_VERSION.to_string(),
            }),
            step_ms: AtomicU64::new(50),
            url: format!("http://127.0.0.1:{port}"),
        });
        controllers::seed(&mut shared.lock().store);
        let (tx, rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime for the API double");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("tokio listener for the API double");
                tokio::select! {
                    _ = http::serve(listener, thread_shared.clone()) => {}
                    _ = controllers::run(thread_shared) => {}
                    _ = rx => {}
                }
            });
            // Watches and hung requests are still pending; drop them rather than wait.
            runtime.shutdown_background();
        });
        ApiServer {
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// Write a kubeconfig with cluster `double`, a bearer-token user and current context
    /// `double`.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write_kubeconfig(&self, path: &Path) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {}\nusers:\n- name: double\n  user:\n    token: {TOKEN}\ncontexts:\n- name: double\n  context:\n    cluster: double\n    user: double\n    namespace: default\ncurrent-context: double\n",
            self.url()
        );
        std::fs::write(path, text).expect("write the API double's kubeconfig");
    }

    /// Queue a fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// Report `git_version` (`v1.27.16`) at `/version` instead of a 1.28 release.
    pub fn set_version(&self, git_version: &str) {
        self.shared.lock().version = git_version.to_string();
    }

    /// Forget the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Delay between status-progression steps (default 50 ms).
    pub fn set_speed(&self, step: Duration) {
        self.shared
            .step_ms
            .store(step.as_millis().max(1) as u64, Ordering::Relaxed);
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The thread may already be gone; then there is nothing to stop.
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
