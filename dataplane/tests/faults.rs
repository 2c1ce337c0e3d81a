//! Upstreams that misbehave below the MCP layer, with a real peer beside them:
//! a raw TCP fault server of the test's own (answers that are not HTTP, JSON
//! that is not JSON, an SSE stream cut inside an event, a stream closed right
//! after its headers, a request that is accepted and never answered) next to
//! the real time server (behind mcp-proxy, from `tests/peers/install.sh`).
//! In each case the client gets a clear JSON-RPC error within the toolkit's
//! timeout, the time toolkit keeps answering in the same session, and the
//! breaker opens after the configured failures and closes once the upstream
//! is healthy again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};
use support::http::{Mcp, tool_names};
use support::{Peer, TestGateway, config, poll};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the fault server does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// A well-behaved MCP server (JSON answers, one request per connection).
    Healthy,
    /// Bytes that are not HTTP, then close.
    NotHttp,
    /// `200 application/json` whose body is not JSON.
    NotJson,
    /// `200 text/event-stream`, half an event, then close.
    TruncatedSse,
    /// `200 text/event-stream` headers, then close.
    CloseAfterHeaders,
    /// Read the request, never answer, keep the connection open.
    Silent,
}

/// A raw TCP upstream on a port the OS chose; its fault can be switched.
struct FaultServer {
    url: String,
    fault: Arc<Mutex<Fault>>,
    /// Requests (JSON-RPC methods) that met a fault.
    faulted: Arc<Mutex<Vec<String>>>,
}

impl FaultServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let fault = Arc::new(Mutex::new(Fault::Healthy));
        let faulted = Arc::new(Mutex::new(Vec::new()));
        let (f, seen) = (fault.clone(), faulted.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fault = *f.lock().unwrap();
                tokio::spawn(serve(stream, fault, seen.clone()));
            }
        });
        Self {
            url,
            fault,
            faulted,
        }
    }

    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    fn faulted(&self) -> usize {
        self.faulted.lock().unwrap().len()
    }
}

async fn serve(mut stream: TcpStream, fault: Fault, faulted: Arc<Mutex<Vec<String>>>) {
    let Some((method, body)) = read_request(&mut stream).await else {
        return;
    };
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rpc = message["method"].as_str().unwrap_or_default().to_owned();
    // Faults meet requests (not the session's initialize, not notifications).
    let is_request = method == "POST" && message.get("id").is_some() && rpc != "initialize";
    if !is_request || fault == Fault::Healthy {
        let _ = stream
            .write_all(healthy(&method, &rpc, &message).as_bytes())
            .await;
        let _ = stream.shutdown().await;
        return;
    }
    faulted.lock().unwrap().push(rpc);
    let head = |media: &str| {
        format!("HTTP/1.1 200 OK\r\ncontent-type: {media}\r\nconnection: close\r\n\r\n")
    };
    let answer = match fault {
        Fault::Healthy => unreachable!(),
        Fault::Silent => {
            // Held open, never answered: the test's end drops it.
            std::future::pending::<()>().await;
            return;
        }
        Fault::NotHttp => "SSH-2.0-OpenSSH_9.6\r\n\u{1} garbage\r\n\r\n".to_owned(),
        Fault::NotJson => "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 14\r\nconnection: close\r\n\r\n<html>oops</ht".to_owned(),
        Fault::TruncatedSse => format!(
            "{}event: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":",
            head("text/event-stream")
        ),
        Fault::CloseAfterHeaders => head("text/event-stream"),
    };
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request line's method and the body (by `content-length`).
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let method = line.split(' ').next()?.to_owned();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, body))
}

fn healthy(method: &str, rpc: &str, message: &Value) -> String {
    let respond = |result: Value, extra: &str| {
        let body = json!({"jsonrpc": "2.0", "id": message["id"], "result": result}).to_string();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let bare = |status: &str| {
        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    };
    match (method, rpc) {
        ("POST", "initialize") => respond(
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                   "serverInfo": {"name": "faulty", "version": "0"}}),
            "mcp-session-id: f1\r\n",
        ),
        ("POST", "tools/list") => respond(
            json!({"tools": [{"name": "hello", "inputSchema": {"type": "object"}}]}),
            "",
        ),
        ("POST", "tools/call") => respond(json!({"content": [{"type": "text", "text": "ok"}]}), ""),
        ("POST", _) if message.get("id").is_some() => respond(json!({}), ""),
        ("POST", _) => bare("202 Accepted"),
        ("DELETE", _) => bare("200 OK"),
        _ => bare("405 Method Not Allowed"),
    }
}

fn hello(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "faulty__hello", "arguments": {}}})
}

/// The gateway in front of the fault server (`faulty`, timeout 1 s, breaker
/// after 2 failures, cool-down 1 s) and the real time server (`time`).
async fn scenario(fault: Fault) {
    let faulty = FaultServer::start().await;
    let time = Peer::start("time");
    let plain = format!("server: \"{}\", timeout: PT10S", faulty.url);
    let yaml = config(&[("faulty", &faulty.url), ("time", &time.url())], false, "");
    assert!(yaml.contains(&plain));
    let yaml = yaml.replace(
        &plain,
        &format!(
            "server: \"{}\", timeout: PT1S, circuit_breaker: {{ failures: 2, cool_down: PT1S }}",
            faulty.url
        ),
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let ok = mcp.post(&hello(1)).await.response();
    assert_eq!(ok["result"]["content"][0]["text"], "ok", "{ok}");

    // Faulty: each call is a JSON-RPC error for its id, within the timeout.
    faulty.set(fault);
    for id in [2, 3] {
        let started = Instant::now();
        let failed = mcp.post(&hello(id)).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "{fault:?}: took {took:?}");
        assert_eq!(failed.status, StatusCode::OK, "{fault:?}: {failed:?}");
        let error = &failed.response();
        assert_eq!(error["id"], id, "{fault:?}: {error}");
        let code = error["error"]["code"].as_i64();
        assert!(matches!(code, Some(-32603 | -32001)), "{fault:?}: {error}");
        assert!(
            !error["error"]["message"].as_str().unwrap().is_empty(),
            "{fault:?}: {error}"
        );
    }
    assert!(faulty.faulted() >= 2, "{fault:?}: the fault was met");

    // Two failures open the breaker: refused at once, and nothing more is sent.
    let before = faulty.faulted();
    let started = Instant::now();
    let refused = mcp.post(&hello(4)).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{fault:?}: {refused:?}"
    );
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        faulty.faulted(),
        before,
        "{fault:?}: an open breaker sends nothing"
    );

    // The time toolkit answers in the same session, and lists leave faulty out at once.
    let now = mcp
        .call_tool(5, "time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert!(now.get("result").is_some(), "{fault:?}: {now}");
    let started = Instant::now();
    let list = mcp.request(6, "tools/list", json!({})).await;
    let names = tool_names(&list);
    assert!(!names.is_empty(), "{fault:?}: {list}");
    assert!(names.iter().all(|n| n.starts_with("time__")), "{names:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Healthy again: after the cool-down a probe closes the breaker, same session.
    faulty.set(Fault::Healthy);
    let mut id = 7;
    // NB: waiting out the configured cool-down, not for readiness.
    let after = poll(
        &format!("{fault:?}: the breaker never closed"),
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let resp = mcp.post(&hello(id)).await;
            id += 1;
            if resp.status == StatusCode::OK {
                return Some(resp.response());
            }
            assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE, "{resp:?}");
            None
        },
    )
    .await;
    assert_eq!(
        after["result"]["content"][0]["text"], "ok",
        "{fault:?}: {after}"
    );
    let list = mcp.request(id, "tools/list", json!({})).await;
    assert!(
        tool_names(&list).contains(&"faulty__hello".to_owned()),
        "{list}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_answering_bytes_that_are_not_http() {
    scenario(Fault::NotHttp).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_answering_json_that_is_not_json() {
    scenario(Fault::NotJson).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_cutting_its_sse_stream_inside_an_event() {
    scenario(Fault::TruncatedSse).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_closing_its_stream_right_after_the_headers() {
    scenario(Fault::CloseAfterHeaders).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_accepts_and_never_answers() {
    scenario(Fault::Silent).await;
}
