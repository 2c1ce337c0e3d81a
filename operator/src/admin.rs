//! The operator's admin HTTP server (port 8080): liveness, readiness and
//! metrics (a `prometheus-client` registry, written as OpenMetrics text).

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The media type of the metrics text.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long shutdown waits for open admin connections (a scrape in flight).
const GRACE: Duration = Duration::from_secs(5);

/// How one reconcile ended, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reconcile succeeded.
    Ok,
    /// The reconcile failed; the reason is a short fixed label such as
    /// `"conflict"` or `"api-5xx"` (never an error message: labels must stay few).
    Error(&'static str),
}

/// What the admin server reports: readiness and reconcile metrics. Shared
/// (in an `Arc`) between the controllers and the server.
#[derive(Debug)]
pub struct AdminState {
    /// Set while this replica runs the controllers: as leader, or with leader
    /// election off.
    ready: AtomicBool,
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    errors: Family<ReasonLabels, Counter>,
    durations: Family<KindLabels, Histogram, fn() -> Histogram>,
    leader: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    kind: Cow<'static, str>,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    kind: Cow<'static, str>,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: Cow<'static, str>,
}

/// Reconcile durations in seconds: from a no-op to a slow API server.
fn reconcile_histogram() -> Histogram {
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

impl Default for AdminState {
    fn default() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mcpgw_operator_reconciles",
            "Reconciles by resource kind and result (ok or error)",
            reconciles.clone(),
        );
        let errors = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "mcpgw_operator_reconcile_errors",
            "Failed reconciles by resource kind and reason",
            errors.clone(),
        );
        let durations: Family<KindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(reconcile_histogram);
        registry.register_with_unit(
            "mcpgw_operator_reconcile_duration",
            "How long reconciles took, by resource kind",
            Unit::Seconds,
            durations.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "mcpgw_operator_leader",
            "1 while this replica runs the controllers (leader, or leader election off)",
            leader.clone(),
        );
        Self {
            ready: AtomicBool::new(false),
            registry,
            reconciles,
            errors,
            durations,
            leader,
        }
    }
}

impl AdminState {
    /// Mark whether this replica runs the controllers (`/readyz`, and the
    /// `mcpgw_operator_leader` gauge).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
        self.leader.set(i64::from(ready));
    }

    /// Whether this replica runs the controllers.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Count one reconcile of a `kind` (e.g. `"McpGateway"`, as
    /// `Resource::kind` gives it).
    pub fn reconciled(&self, kind: impl Into<Cow<'static, str>>, outcome: Outcome) {
        let kind = kind.into();
        let result = match outcome {
            Outcome::Ok => "ok",
            Outcome::Error(reason) => {
                self.errors
                    .get_or_create(&ReasonLabels {
                        kind: kind.clone(),
                        reason,
                    })
                    .inc();
                "error"
            }
        };
        self.reconciles
            .get_or_create(&ResultLabels { kind, result })
            .inc();
    }

    /// Time a reconcile of `kind`: observed when the timer drops, however
    /// the reconcile ends (success, error, or cancelled).
    pub fn time_reconcile(&self, kind: impl Into<Cow<'static, str>>) -> ReconcileTimer {
        let histogram = self
            .durations
            .get_or_create(&KindLabels { kind: kind.into() })
            .clone();
        ReconcileTimer {
            histogram,
            started: Instant::now(),
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        // NB: writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Observes a reconcile's duration when dropped.
#[derive(Debug)]
pub struct ReconcileTimer {
    histogram: Histogram,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// Serve the admin routes on `listener` until `shutdown`, then wait (at most
/// 5 s) for open connections to finish.
///
/// Failing to accept a connection (e.g. out of file descriptors) is logged
/// and retried, not returned: the admin server outlives such blips.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Back off instead of spinning.
                    tracing::warn!(error = %e, "admin: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let state = state.clone();
        let service = service_fn(move |req| {
            let response = route(&state, &req);
            async move { Ok::<_, Infallible>(response) }
        });
        let conn = graceful.watch(
            builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "admin: connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("admin: connections still open after {GRACE:?}; closing them");
    }
    Ok(())
}

fn route(state: &AdminState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok"),
        "/readyz" if state.is_ready() => text(StatusCode::OK, "ready"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        "/metrics" => {
            let mut resp = text(StatusCode::OK, state.render_metrics());
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(METRICS_CONTENT_TYPE),
            );
            resp
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests;
