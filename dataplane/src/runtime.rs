//! Running a plan: bind each listener, route requests by path to endpoints,
//! expire idle sessions, shut down gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use mcpgw_config::{ListenerPlan, Plan};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::north::{Body, Endpoint, Rejection};
use crate::proxy::Proxy;
use crate::south::http_client;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("listener `{binding}`: cannot bind {addr}: {source}")]
    Bind {
        binding: String,
        addr: String,
        source: std::io::Error,
    },
    #[error("toolkit server URL is not a valid URI: {0}")]
    Uri(#[from] http::uri::InvalidUri),
    #[error(transparent)]
    SessionKey(#[from] crate::north::KeyError),
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    addrs: Vec<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

/// The routes of one listener.
#[derive(Debug)]
struct Router {
    config_name: String,
    routes: Vec<(String, Arc<Endpoint>)>,
    metrics: Arc<Metrics>,
}

impl Gateway {
    /// Bind every listener of `plan` and start serving.
    pub async fn start(plan: &Plan) -> Result<Self, StartError> {
        let http = http_client();
        let metrics = Arc::new(Metrics::default());
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut addrs = Vec::new();
        for listener in &plan.listeners {
            let mut routes = Vec::new();
            for route in &listener.routes {
                let proxy = Proxy::new(&plan.name, &route.endpoint.proxy, &http, metrics.clone())?;
                let endpoint = Arc::new(Endpoint::new(proxy, route.endpoint.server.clone())?);
                tasks.spawn(expire_sessions(endpoint.clone(), shutdown.clone()));
                routes.push((route.path.clone(), endpoint));
            }
            let socket = bind(listener).await?;
            let addr = socket.local_addr().map_err(|source| StartError::Bind {
                binding: listener.binding.clone(),
                addr: format!("{}:{}", listener.host, listener.port),
                source,
            })?;
            tracing::info!(binding = %listener.binding, %addr, "listening");
            addrs.push(addr);
            let router = Arc::new(Router {
                config_name: plan.name.clone(),
                routes,
                metrics: metrics.clone(),
            });
            tasks.spawn(serve(socket, router, shutdown.clone()));
        }
        Ok(Self {
            addrs,
            shutdown,
            tasks,
        })
    }

    /// The bound address of each listener, in plan order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stop accepting, end sessions, and wait (bounded) for connections to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
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
    for (_, endpoint) in &router.routes {
        endpoint.close_all();
    }
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 5 s; closing them");
    }
}

impl Router {
    async fn handle(&self, req: http::Request<Incoming>) -> http::Response<Body> {
        let path = req.uri().path();
        if let Some((_, endpoint)) = self.routes.iter().find(|(p, _)| p == path) {
            return endpoint.handle(req).await;
        }
        match (req.method(), path) {
            (&Method::GET, "/healthz" | "/readyz") => {
                let body = serde_json::json!({"status": "ok", "config": self.config_name});
                let mut resp = http::Response::new(Body::full(body.to_string()));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                *resp.status_mut() = StatusCode::OK;
                resp
            }
            (&Method::GET, "/metrics") => {
                let sessions = self.routes.iter().map(|(_, e)| e.sessions().len()).sum();
                let mut resp = http::Response::new(Body::full(self.metrics.render(sessions)));
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

async fn expire_sessions(endpoint: Arc<Endpoint>, shutdown: CancellationToken) {
    let period =
        (endpoint.idle_timeout() / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => endpoint.expire_idle(),
            () = shutdown.cancelled() => return,
        }
    }
}
