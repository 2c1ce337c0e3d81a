//! One listener: accept connections, serve HTTP/1.1 and h2 on them, and route
//! each request by path to an endpoint of the current snapshot.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use mcpgw_config::{HttpServerPlan, ListenerPlan};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::connection::{self, Activity, Tracked};
use super::{Inner, StartError, admin};
use crate::north::{Body, ClientAddr};
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
    // Rebuilt when a reload changes the connection settings; applies to new connections.
    let mut settings = router.http_settings();
    let mut builder = connection::builder(&settings);
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
        let current = router.http_settings();
        if current != settings {
            settings = current;
            builder = connection::builder(&settings);
        }
        let activity = Activity::new();
        let service = service_fn({
            let (router, activity) = (router.clone(), activity.clone());
            move |req: http::Request<Incoming>| {
                let router = router.clone();
                let in_flight = activity.begin();
                async move {
                    let resp = router.handle(req, ClientAddr(peer)).await;
                    Ok::<_, Infallible>(resp.map(|body| Tracked::new(body, in_flight)))
                }
            }
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                // NB: nothing is in flight: dropping the connection loses no answer.
                () = activity.expired(&settings) => {
                    tracing::debug!(%peer, "connection closed: no request head in time, or idle");
                }
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
    /// The connection settings of this listener's `http server` in the plan served now.
    fn http_settings(&self) -> HttpServerPlan {
        let snapshot = self.inner.snapshot();
        snapshot
            .plan
            .listeners
            .get(self.index)
            .map(|l| l.http)
            .unwrap_or_default()
    }

    // NB: the client's address travels as an argument, not in the request's
    // extensions: inserting there allocates a map per request.
    async fn handle(
        &self,
        req: http::Request<Incoming>,
        client: ClientAddr,
    ) -> http::Response<Body> {
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
            let mut resp = endpoint.handle(req, client).instrument(span).await;
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
