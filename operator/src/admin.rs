//! The operator's admin HTTP server (port 8080): liveness, readiness and
//! Prometheus metrics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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

/// What the admin server reports: readiness and reconcile counters. Shared
/// (in an `Arc`) between the controllers and the server.
#[derive(Debug, Default)]
pub struct AdminState {
    /// Set while this replica runs the controllers: as leader, or with leader
    /// election off.
    ready: AtomicBool,
    counters: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// By (kind, result).
    reconciles: ByKind,
    /// By (kind, reason).
    errors: ByKind,
}

/// Counts by (resource kind, a second label's value).
type ByKind = BTreeMap<(Cow<'static, str>, &'static str), u64>;

impl AdminState {
    /// Mark whether this replica runs the controllers (`/readyz`, and the
    /// `mcpgw_operator_leader` gauge).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether this replica runs the controllers.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Count one reconcile of a `kind` (e.g. `"McpGateway"`, as
    /// `Resource::kind` gives it).
    pub fn reconciled(&self, kind: impl Into<Cow<'static, str>>, outcome: Outcome) {
        let kind = kind.into();
        let mut counters = self.counters();
        let result = match outcome {
            Outcome::Ok => "ok",
            Outcome::Error(reason) => {
                *counters.errors.entry((kind.clone(), reason)).or_default() += 1;
                "error"
            }
        };
        *counters.reconciles.entry((kind, result)).or_default() += 1;
    }

    /// The metrics in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        // Copy out, so the lock is not held while formatting.
        let (reconciles, errors) = {
            let counters = self.counters();
            (counters.reconciles.clone(), counters.errors.clone())
        };
        let mut out = String::new();
        counter_by_kind(
            &mut out,
            "mcpgw_operator_reconciles_total",
            "Reconciles by resource kind and result (ok or error).",
            "result",
            &reconciles,
        );
        counter_by_kind(
            &mut out,
            "mcpgw_operator_reconcile_errors_total",
            "Failed reconciles by resource kind and reason.",
            "reason",
            &errors,
        );
        family(
            &mut out,
            "mcpgw_operator_leader",
            "gauge",
            "1 while this replica runs the controllers (leader, or leader election off).",
        );
        sample(
            &mut out,
            "mcpgw_operator_leader",
            &[],
            u64::from(self.is_ready()),
        );
        out
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        // Counters stay consistent even if a holder panicked: take them as is.
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A counter family whose samples are labelled by kind and by `label`.
fn counter_by_kind(out: &mut String, name: &str, help: &str, label: &str, counts: &ByKind) {
    family(out, name, "counter", help);
    for ((kind, value), n) in counts {
        sample(out, name, &[("kind", kind), (label, value)], *n);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // NB: writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escape(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', r#"\""#)
        .replace('\n', r"\n")
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
                HeaderValue::from_static("text/plain; version=0.0.4"),
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
