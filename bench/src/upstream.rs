//! The bench's upstream: a minimal MCP Streamable HTTP server (HTTP/1.1,
//! keep-alive, JSON replies only). It keeps no per-session state, so that it
//! adds nothing to the memory measured per gateway session, and does as
//! little as possible per request, so that what a path adds dominates.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::net::TcpListener;

const INITIALIZE: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"bench-upstream","version":"0.1.0"}}"#;
const TOOLS: &str = r#"{"tools":[{"name":"echo","description":"Echoes its text.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}},{"name":"add","description":"Adds two numbers.","inputSchema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}},{"name":"now","description":"The current time.","inputSchema":{"type":"object"}}]}"#;
const CALL: &str = r#"{"content":[{"type":"text","text":"ok"}]}"#;

/// Session ids are numbered, not remembered: any id is accepted later.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// Just the parts of a JSON-RPC message the upstream looks at.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    method: Option<&'a str>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
}

/// Serve the bench upstream on an OS-chosen loopback port.
pub async fn start() -> anyhow::Result<SocketAddr> {
    serve(TcpListener::bind("127.0.0.1:0").await?, None, handle).await
}

/// The bench upstream over TLS (HTTP/1.1 or h2, as the config's ALPN lets
/// the client choose), on an OS-chosen loopback port.
pub async fn start_tls(tls: Arc<rustls::ServerConfig>) -> anyhow::Result<SocketAddr> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    serve(
        TcpListener::bind("127.0.0.1:0").await?,
        Some(acceptor),
        handle,
    )
    .await
}

/// Accept connections on `listener`, plain (HTTP/1.1) or over TLS (what ALPN
/// chose), and answer with `handler`; returns the bound address (the loop
/// runs as a task).
pub async fn serve<H, F, B>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: H,
) -> anyhow::Result<SocketAddr>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (handler, tls) = (handler.clone(), tls.clone());
            let service = service_fn(move |req| {
                let answer = handler(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            tokio::spawn(async move {
                match tls {
                    None => {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    Ok(addr)
}

async fn handle(req: Request<Incoming>) -> Response<Full<Bytes>> {
    match *req.method() {
        Method::POST => {}
        Method::DELETE => return status(StatusCode::OK),
        // No standalone stream: the gateway opens none for it.
        _ => return status(StatusCode::METHOD_NOT_ALLOWED),
    }
    let Ok(body) = req.into_body().collect().await.map(|c| c.to_bytes()) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let Ok(probe) = serde_json::from_slice::<Probe<'_>>(&body) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let (Some(method), Some(id)) = (probe.method, probe.id) else {
        // Notifications and responses.
        return status(StatusCode::ACCEPTED);
    };
    let id = id.get();
    let (outcome, session) = match method {
        "initialize" => {
            let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
            (format!(r#""result":{INITIALIZE}"#), Some(n))
        }
        "tools/list" => (format!(r#""result":{TOOLS}"#), None),
        "tools/call" => (format!(r#""result":{CALL}"#), None),
        "ping" => (r#""result":{}"#.to_owned(), None),
        _ => (
            r#""error":{"code":-32601,"message":"Method not found"}"#.to_owned(),
            None,
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},{outcome}}}"#
    ))));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(n) = session
        && let Ok(value) = HeaderValue::from_str(&format!("bench-{n:016x}"))
    {
        headers.insert("mcp-session-id", value);
    }
    resp
}

fn status(status: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}
