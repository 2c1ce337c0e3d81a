//! A scripted upstream MCP server for tier-2 tests: it records every request
//! and answers as the test's script says. A mock proves our side of the
//! contract; the real peers prove the contract itself.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One request the mock received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Option<Value>,
    /// The body's bytes as they came.
    pub raw: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn rpc_method(&self) -> Option<&str> {
        self.body.as_ref()?.get("method")?.as_str()
    }

    pub fn id(&self) -> Option<&Value> {
        self.body.as_ref()?.get("id")
    }
}

/// How the mock answers.
pub enum Answer {
    /// 200 application/json, with an optional session id header.
    Json(Value, Option<String>),
    /// 200 text/event-stream with these raw chunks, then the connection closes.
    Sse(Vec<String>),
    /// 200 text/event-stream that stays open after the chunks until the test ends.
    SseOpen(Vec<String>),
    /// A bare status with a body.
    Status(u16, String),
    /// 202 Accepted.
    Accepted,
    /// Never answer.
    Hang,
}

pub type Script = dyn Fn(&Seen) -> Answer + Send + Sync;

pub struct Mock {
    pub url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Mock {
    pub async fn start(script: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        let script: Arc<Script> = Arc::new(script);
        let log = Arc::new(Mutex::new(Vec::new()));
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", socket.local_addr().expect("addr"));
        let task = {
            let log = log.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = socket.accept().await else {
                        return;
                    };
                    let (log, script) = (log.clone(), script.clone());
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (log, script) = (log.clone(), script.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|c| c.to_bytes())
                                .unwrap_or_default();
                            let seen = Seen {
                                method: parts.method,
                                headers: parts.headers,
                                body: serde_json::from_slice(&bytes).ok(),
                                raw: bytes,
                            };
                            log.lock().unwrap().push(seen.clone());
                            Ok::<_, Infallible>(respond(script(&seen)).await)
                        }
                    });
                    tokio::spawn(async move {
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Self { url, log, task }
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// The JSON-RPC methods received so far, in order (`GET`/`DELETE` for those).
    pub fn methods(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| match s.method {
                Method::POST => s.rpc_method().unwrap_or("<response>").to_owned(),
                ref m => m.to_string(),
            })
            .collect()
    }
}

type MockBody = http_body_util::Either<Full<Bytes>, StreamBody<tokio_stream_shim::Receiver>>;

async fn respond(answer: Answer) -> http::Response<MockBody> {
    let (status, content_type, body) = match answer {
        Answer::Json(value, session) => {
            let mut resp =
                http::Response::new(MockBody::Left(Full::new(Bytes::from(value.to_string()))));
            resp.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            if let Some(s) = session {
                resp.headers_mut()
                    .insert("mcp-session-id", s.parse().unwrap());
            }
            return resp;
        }
        Answer::Sse(chunks) => (200, "text/event-stream", stream(chunks, false)),
        Answer::SseOpen(chunks) => (200, "text/event-stream", stream(chunks, true)),
        Answer::Status(code, text) => (
            code,
            "application/json",
            MockBody::Left(Full::new(Bytes::from(text))),
        ),
        Answer::Accepted => (
            202,
            "application/json",
            MockBody::Left(Full::new(Bytes::new())),
        ),
        Answer::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    };
    let mut resp = http::Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    resp.headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    resp
}

fn stream(chunks: Vec<String>, keep_open: bool) -> MockBody {
    let (tx, rx) = mpsc::channel(chunks.len() + 1);
    tokio::spawn(async move {
        for c in chunks {
            if tx.send(Ok(Frame::data(Bytes::from(c)))).await.is_err() {
                return;
            }
        }
        if keep_open {
            // Hold the stream open until the reader goes away.
            tx.closed().await;
        }
    });
    MockBody::Right(StreamBody::new(tokio_stream_shim::Receiver(rx)))
}

/// `futures::Stream` over an mpsc receiver without pulling in tokio-stream.
mod tokio_stream_shim {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use hyper::body::Frame;

    pub struct Receiver(pub tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, Infallible>>);

    impl futures_util::Stream for Receiver {
        type Item = Result<Frame<Bytes>, Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}

/// A JSON-RPC result for the request `seen`.
pub fn result(seen: &Seen, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": seen.id().cloned().unwrap_or(Value::Null), "result": result})
}

/// One SSE event carrying `message`.
pub fn event(id: Option<&str>, message: &Value) -> String {
    match id {
        Some(id) => format!("id: {id}\nevent: message\ndata: {message}\n\n"),
        None => format!("event: message\ndata: {message}\n\n"),
    }
}

/// The initialize result of a small server with tools.
pub fn init_result(seen: &Seen) -> Value {
    result(
        seen,
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "mock", "version": "1"},
        }),
    )
}

/// A script for a plain, well-behaved MCP server: sessions `s1`, `s2`, … from
/// initialize; `tools/call` answered by `call`; everything else `{}`.
pub fn server(
    call: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Answer + Send + Sync + 'static {
    let sessions = std::sync::atomic::AtomicUsize::new(0);
    move |seen: &Seen| match (seen.method.clone(), seen.rpc_method()) {
        (Method::POST, Some("initialize")) => {
            let n = sessions.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Answer::Json(init_result(seen), Some(format!("s{n}")))
        }
        (Method::POST, Some("tools/call")) => call(seen),
        (Method::POST, Some(m)) if m.starts_with("notifications/") => Answer::Accepted,
        (Method::POST, None) => Answer::Accepted,
        (Method::POST, Some("tools/list")) => Answer::Json(
            result(
                seen,
                json!({"tools": [{"name": "hello", "inputSchema": {"type": "object"}}]}),
            ),
            None,
        ),
        (Method::POST, Some(_)) => Answer::Json(result(seen, json!({})), None),
        (Method::GET, _) => Answer::Status(405, String::new()),
        (Method::DELETE, _) => Answer::Status(200, String::new()),
        _ => Answer::Status(405, String::new()),
    }
}

/// Wait (bounded) until `cond` holds on what the mock saw.
pub async fn eventually(mock: &Mock, what: &str, cond: impl Fn(&[Seen]) -> bool) {
    let what = format!("{what} (the mock saw {:?})", mock.methods());
    super::poll(
        &what,
        Duration::from_secs(10),
        Duration::from_millis(10),
        async || cond(&mock.seen()).then_some(()),
    )
    .await;
}
