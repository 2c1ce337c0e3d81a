//! Running a plan: bind each listener, route requests by path to endpoints,
//! apply new plans as one atomic swap, expire idle sessions, shut down
//! gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use mcpgw_config::{ListenerPlan, Plan};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::north::{Authenticator, Body, Endpoint, METADATA_PATH, Rejection};
use crate::proxy::Proxy;
use crate::reload::{self, ConfigStatus, ReloadError};
use crate::south::{HttpClient, http_client};

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
    /// The plan being served. Requests take one snapshot and keep it.
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// What the config file said last, for `/readyz`.
    pub(crate) status: Mutex<ConfigStatus>,
    shutdown: CancellationToken,
}

/// The routing tables of one applied plan: per listener, its paths.
#[derive(Debug)]
struct Snapshot {
    plan: Plan,
    listeners: Vec<Vec<(String, Arc<Endpoint>)>>,
}

impl Snapshot {
    fn endpoints(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.listeners.iter().flatten().map(|(_, e)| e)
    }

    /// The guard whose protected-resource metadata is served at
    /// `/.well-known/oauth-protected-resource<suffix>`: the endpoint at
    /// `suffix`, or for the bare path the listener's first guarded endpoint.
    fn metadata_of(&self, listener: usize, suffix: &str) -> Option<&Authenticator> {
        if suffix.is_empty() {
            return self
                .listeners
                .get(listener)?
                .iter()
                .find_map(|(_, e)| e.authenticator());
        }
        self.find(listener, suffix)?.authenticator()
    }

    fn find(&self, listener: usize, path: &str) -> Option<&Arc<Endpoint>> {
        self.listeners
            .get(listener)?
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, e)| e)
    }
}

impl Gateway {
    /// Bind every listener of `plan` and start serving.
    pub async fn start(plan: &Plan) -> Result<Self, StartError> {
        Self::start_serving(plan, None).await
    }

    /// Start with `/readyz` reporting `sha256` as the config's hash from the first request.
    async fn start_serving(plan: &Plan, sha256: Option<String>) -> Result<Self, StartError> {
        let http = http_client();
        let metrics = Arc::new(Metrics::default());
        let snapshot = Arc::new(build(plan, None, &http, &metrics)?);
        let inner = Arc::new(Inner {
            http,
            metrics,
            snapshot: watch::Sender::new(snapshot),
            status: Mutex::new(ConfigStatus::started(plan, sha256)),
            shutdown: CancellationToken::new(),
        });
        let mut tasks = JoinSet::new();
        let mut addrs = Vec::new();
        for (index, listener) in plan.listeners.iter().enumerate() {
            let socket = bind(listener).await?;
            let addr = socket.local_addr().map_err(|source| StartError::Bind {
                binding: listener.binding.clone(),
                addr: format!("{}:{}", listener.host, listener.port),
                source,
            })?;
            tracing::info!(binding = %listener.binding, %addr, "listening");
            addrs.push(addr);
            let router = Arc::new(Router {
                inner: inner.clone(),
                index,
            });
            tasks.spawn(serve(socket, router, inner.shutdown.clone()));
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
        self.inner.apply(plan)
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

    pub(crate) fn status_lock(&self) -> std::sync::MutexGuard<'_, ConfigStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Build the new snapshot beside the old one, publish it, then tell
    /// sessions what changed.
    pub(crate) fn apply(&self, plan: &Plan) -> Result<(), ReloadError> {
        let old = self.snapshot.borrow().clone();
        if !same_listeners(&old.plan, plan) {
            return Err(ReloadError::Listeners);
        }
        let new = Arc::new(build(plan, Some(&old), &self.http, &self.metrics)?);
        self.snapshot.send_replace(new.clone());
        for (index, routes) in old.listeners.iter().enumerate() {
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

/// Reloads serve the same sockets: the set of listeners cannot change.
fn same_listeners(a: &Plan, b: &Plan) -> bool {
    a.listeners.len() == b.listeners.len()
        && a.listeners
            .iter()
            .zip(&b.listeners)
            .all(|(a, b)| (&a.binding, &a.host, a.port) == (&b.binding, &b.host, b.port))
}

/// The routing tables of `plan`; endpoints at a path that existed in
/// `previous` keep its sessions and session key.
fn build(
    plan: &Plan,
    previous: Option<&Snapshot>,
    http: &HttpClient,
    metrics: &Arc<Metrics>,
) -> Result<Snapshot, ReloadError> {
    let mut listeners = Vec::new();
    for (index, listener) in plan.listeners.iter().enumerate() {
        let mut routes = Vec::new();
        for route in &listener.routes {
            let proxy = Proxy::new(&plan.name, &route.endpoint.proxy, http, metrics.clone())?;
            let before = previous.and_then(|p| p.find(index, &route.path));
            let endpoint =
                Endpoint::new(proxy, &route.endpoint, &route.path, before.map(|e| &**e))?;
            routes.push((route.path.clone(), Arc::new(endpoint)));
        }
        listeners.push(routes);
    }
    Ok(Snapshot {
        plan: plan.clone(),
        listeners,
    })
}

async fn bind(listener: &ListenerPlan) -> Result<TcpListener, StartError> {
    let addr = format!("{}:{}", listener.host, listener.port);
    TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind {
            binding: listener.binding.clone(),
            addr,
            source,
        })
}

async fn serve(socket: TcpListener, router: Arc<Router>, shutdown: CancellationToken) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = service_fn(move |req| {
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.handle(req).await) }
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    let snapshot = router.inner.snapshot.borrow().clone();
    for endpoint in snapshot.endpoints() {
        endpoint.close_all();
    }
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 5 s; closing them");
    }
}

/// The requests of one listener.
#[derive(Debug)]
struct Router {
    inner: Arc<Inner>,
    index: usize,
}

impl Router {
    async fn handle(&self, req: http::Request<Incoming>) -> http::Response<Body> {
        // One snapshot for the whole request, even if a reload lands meanwhile.
        let snapshot = self.inner.snapshot.borrow().clone();
        let path = req.uri().path();
        if let Some(endpoint) = snapshot.find(self.index, path) {
            return endpoint.handle(req).await;
        }
        if let Some(suffix) = path.strip_prefix(METADATA_PATH)
            && req.method() == Method::GET
            && let Some(auth) = snapshot.metadata_of(self.index, suffix)
        {
            let mut resp = json(StatusCode::OK, auth.metadata(req.headers()).to_string());
            // NB: browser-based clients read the metadata from another origin.
            resp.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            return resp;
        }
        match (req.method(), path) {
            (&Method::GET, "/healthz") => json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
            (&Method::GET, "/readyz") => {
                let status = self.inner.status_lock().to_json();
                json(StatusCode::OK, status.to_string())
            }
            (&Method::GET, "/metrics") => {
                let sessions = snapshot.endpoints().map(|e| e.sessions().len()).sum();
                let mut resp = http::Response::new(Body::full(self.inner.metrics.render(sessions)));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                resp
            }
            _ => Rejection::NoRoute.into_response(),
        }
    }
}

fn json(status: StatusCode, body: String) -> http::Response<Body> {
    let mut resp = http::Response::new(Body::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// One sweeper for the whole gateway: whatever endpoints the current plan has.
async fn expire_sessions(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => return,
        }
        let snapshot = inner.snapshot.borrow().clone();
        for endpoint in snapshot.endpoints() {
            endpoint.expire_idle();
        }
    }
}
