//! Running a plan: bind each listener ([`listener`]), route requests by path
//! to the endpoints of the current [`snapshot`], answer health, readiness and
//! metrics ([`admin`]), publish new plans as one swap, expire idle sessions,
//! shut down gracefully.

mod admin;
mod connection;
mod listener;
mod snapshot;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpgw_config::Plan;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::reload::{self, Failure, ReloadError};
use crate::south::HttpClient;
use listener::Router;
pub(crate) use snapshot::{Snapshot, unix_now};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("listener `{binding}`: cannot bind {addr}: {source}")]
    Bind {
        binding: String,
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ReloadError),
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    addrs: Vec<SocketAddr>,
    inner: Arc<Inner>,
    tasks: JoinSet<()>,
}

/// What every listener, the watcher and the sweeper share.
#[derive(Debug)]
pub(crate) struct Inner {
    http: HttpClient,
    pub(crate) metrics: Arc<Metrics>,
    /// The plan being served, with the config it came from. Requests take one
    /// snapshot and keep it.
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// The last config file that was refused, for `/readyz`.
    // NB: a std mutex held only to copy or replace the value.
    last_failure: Mutex<Option<Failure>>,
    shutdown: CancellationToken,
}

impl Gateway {
    /// Bind every listener of `plan` and start serving.
    pub async fn start(plan: &Plan) -> Result<Self, StartError> {
        Self::start_serving(plan, None).await
    }

    /// Start with `/readyz` reporting `sha256` as the config's hash from the first request.
    async fn start_serving(plan: &Plan, sha256: Option<String>) -> Result<Self, StartError> {
        let http = HttpClient::new();
        let metrics = Arc::new(Metrics::default());
        let snapshot = Arc::new(Snapshot::build(plan, sha256, None, &http, &metrics)?);
        let inner = Arc::new(Inner {
            http,
            metrics,
            snapshot: watch::Sender::new(snapshot),
            last_failure: Mutex::new(None),
            shutdown: CancellationToken::new(),
        });
        let mut tasks = JoinSet::new();
        let mut addrs = Vec::new();
        for (index, plan) in plan.listeners.iter().enumerate() {
            let socket = listener::bind(plan).await?;
            let addr = socket.local_addr().map_err(|source| StartError::Bind {
                binding: plan.binding.clone(),
                addr: format!("{}:{}", plan.host, plan.port),
                source,
            })?;
            tracing::info!(binding = %plan.binding, %addr, "listening");
            addrs.push(addr);
            let router = Arc::new(Router {
                inner: inner.clone(),
                index,
            });
            tasks.spawn(listener::serve(socket, router, inner.shutdown.clone()));
        }
        tasks.spawn(expire_sessions(inner.clone()));
        Ok(Self {
            addrs,
            inner,
            tasks,
        })
    }

    /// Start from a config file and keep applying it whenever it changes
    /// (including a kubelet's atomic `..data` swap of a ConfigMap mount).
    pub async fn start_from_file(path: PathBuf) -> Result<Self, StartError> {
        let (plan, sha256) = reload::load(&path)?;
        let mut gateway = Self::start_serving(&plan, Some(sha256)).await?;
        gateway
            .tasks
            .spawn(reload::watch(path, gateway.inner.clone()));
        Ok(gateway)
    }

    /// Apply a new plan as one swap. Sessions carry on; clients are told
    /// when the toolkits changed.
    pub fn apply(&self, plan: &Plan) -> Result<(), ReloadError> {
        self.inner.apply(plan, None)
    }

    /// The bound address of each listener, in plan order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stop accepting, end sessions, and wait (bounded) for connections to finish.
    pub async fn shutdown(mut self) {
        self.inner.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Inner {
    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// The snapshot being served now.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// The last config file that was refused, if the one served since is not newer.
    pub(crate) fn last_failure(&self) -> Option<Failure> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_last_failure(&self, failure: Option<Failure>) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    /// Build the new snapshot (with the hash of the file it came from) beside
    /// the old one, publish it in one swap, then tell sessions what changed.
    pub(crate) fn apply(&self, plan: &Plan, sha256: Option<String>) -> Result<(), ReloadError> {
        let old = self.snapshot();
        if !old.same_listeners(plan) {
            return Err(ReloadError::Listeners);
        }
        if old.plan.telemetry != plan.telemetry {
            // NB: the exporter is installed once, with the process's tracing subscriber.
            tracing::warn!(
                "the config's telemetry changed: it takes effect when the data plane restarts"
            );
        }
        let new = Arc::new(Snapshot::build(
            plan,
            sha256,
            Some(&old),
            &self.http,
            &self.metrics,
        )?);
        self.snapshot.send_replace(new.clone());
        for (index, routes) in old.listeners().enumerate() {
            for (path, before) in routes {
                match new.find(index, path) {
                    Some(after) => after.reconcile(before),
                    // The path is gone: so are its sessions.
                    None => before.close_all(),
                }
            }
        }
        Ok(())
    }
}

/// One sweeper for the whole gateway: whatever endpoints the current plan has.
async fn expire_sessions(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => return,
        }
        for endpoint in inner.snapshot().endpoints() {
            endpoint.expire_idle();
        }
    }
}
