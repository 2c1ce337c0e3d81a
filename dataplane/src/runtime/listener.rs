//! One listener: accept connections, serve HTTP/1.1 and h2 on them, and route
//! each request by path to an endpoint of the current snapshot.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use mcpgw_config::ListenerPlan;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Inner, StartError, admin};
use crate::north::Body;
use crate::telemetry;

pub(super) async fn bind(listener: &ListenerPlan) -> Result<TcpListener, StartError> {
    let addr = format!("{}:{}", listener.host, listener.port);
    TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind {
            binding: listener.binding.clone(),
            addr,
            source,
        })
}

/// Accept until shutdown, then end the sessions and wait (bounded) for the
/// open connections.
pub(super) async fn serve(socket: TcpListener, router: Arc<Router>, shutdown: CancellationToken) {
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
    let snapshot = router.inner.snapshot();
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
pub(super) struct Router {
    pub(super) inner: Arc<Inner>,
    /// The listener's position in the plan.
    pub(super) index: usize,
}

impl Router {
    async fn handle(&self, req: http::Request<Incoming>) -> http::Response<Body> {
        // One snapshot for the whole request, even if a reload lands meanwhile.
        let snapshot = self.inner.snapshot();
        if let Some(endpoint) = snapshot.find(self.index, req.uri().path()) {
            // NB: one await whether traced or not: two awaits of different
            // types would each take room in this future, which hyper moves
            // into place for every request.
            let span = if telemetry::enabled() {
                telemetry::server_span(req.headers())
            } else {
                tracing::Span::none()
            };
            let mut resp = endpoint.handle(req).instrument(span).await;
            if let Body::Stream(_, _, open) = resp.body_mut() {
                *open = Some(self.inner.metrics.sse_stream_opened());
            }
            return resp;
        }
        admin::answer(
            &self.inner,
            &snapshot,
            self.index,
            req.method(),
            req.uri().path(),
            req.headers(),
        )
    }
}
