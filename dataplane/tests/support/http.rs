//! A raw HTTP/MCP client for tests that assert on the wire.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

pub const BOTH: &str = "application/json, text/event-stream";

/// A response read to its end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON-RPC messages of the body, whether JSON or SSE.
    pub fn messages(&self) -> Vec<Value> {
        if self
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
        {
            sse_messages(&self.body)
        } else if self.body.is_empty() {
            vec![]
        } else {
            vec![self.json()]
        }
    }

    /// The last message (the response, when the exchange completed).
    pub fn response(&self) -> Value {
        self.messages()
            .pop()
            .unwrap_or_else(|| panic!("no message in {self:?}"))
    }
}

/// The data of every SSE event with a non-empty `data`, parsed as JSON.
pub fn sse_messages(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            let data = data.join("\n");
            (!data.trim().is_empty())
                .then(|| serde_json::from_str(&data).expect("SSE data is JSON"))
        })
        .collect()
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// Send a request and return the response head with its body unread.
pub async fn open(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> http::Response<Incoming> {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).expect("valid request");
    tokio::time::timeout(Duration::from_secs(30), client().request(req))
        .await
        .expect("response head within 30 s")
        .expect("request sent")
}

/// Send a request and read the whole response (bounded).
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Resp {
    let resp = open(method, url, headers, body).await;
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(60), body.collect())
        .await
        .expect("body within 60 s")
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A minimal MCP client over raw HTTP.
#[derive(Debug, Clone)]
pub struct Mcp {
    pub url: String,
    pub session: Option<String>,
    pub version: String,
    /// Sent as `Authorization: Bearer …` on every request.
    pub token: Option<String>,
}

impl Mcp {
    /// `initialize` + `notifications/initialized` with the given client capabilities.
    pub async fn connect(url: &str, capabilities: Value) -> Self {
        Self::connect_as(url, capabilities, None).await
    }

    /// A client that presents `token` (if any) as a bearer token, not yet initialized.
    pub fn with_token(url: &str, token: Option<&str>) -> Self {
        Self {
            url: url.to_owned(),
            session: None,
            version: "2025-11-25".into(),
            token: token.map(|t| format!("Bearer {t}")),
        }
    }

    /// The initialize request this client sends.
    pub fn initialize_message(capabilities: &Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": capabilities,
            "clientInfo": {"name": "mcpgw-tests", "version": "0"}}})
    }

    /// [`Mcp::connect`] presenting `token` as a bearer token.
    pub async fn connect_as(url: &str, capabilities: Value, token: Option<&str>) -> Self {
        let mut mcp = Self::with_token(url, token);
        let resp = mcp.post(&Self::initialize_message(&capabilities)).await;
        assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
        mcp.session = resp.header("mcp-session-id").map(str::to_owned);
        assert!(mcp.session.is_some(), "initialize carries a session id");
        let init = resp.response();
        assert!(init.get("result").is_some(), "{init}");
        let ack = mcp
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(ack.status, StatusCode::ACCEPTED);
        mcp
    }

    pub fn headers(&self) -> Vec<(&str, &str)> {
        let mut h = vec![
            ("content-type", "application/json"),
            ("accept", BOTH),
            ("mcp-protocol-version", self.version.as_str()),
        ];
        if let Some(s) = &self.session {
            h.push(("mcp-session-id", s.as_str()));
        }
        if let Some(t) = &self.token {
            h.push(("authorization", t.as_str()));
        }
        h
    }

    pub async fn post(&self, message: &Value) -> Resp {
        send(
            Method::POST,
            &self.url,
            &self.headers(),
            message.to_string(),
        )
        .await
    }

    /// POST a body as it is written (member order, spacing).
    pub async fn post_text(&self, body: &str) -> Resp {
        send(Method::POST, &self.url, &self.headers(), body.to_owned()).await
    }

    /// POST and return the response head with the body unread (for streams).
    pub async fn post_open(&self, message: &Value) -> http::Response<Incoming> {
        open(
            Method::POST,
            &self.url,
            &self.headers(),
            message.to_string(),
        )
        .await
    }

    /// A request's final JSON-RPC response.
    pub async fn request(&self, id: i64, method: &str, params: Value) -> Value {
        let resp = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
        resp.response()
    }

    pub async fn call_tool(&self, id: i64, name: &str, arguments: Value) -> Value {
        self.request(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
        .await
    }

    pub async fn delete(&self) -> Resp {
        send(Method::DELETE, &self.url, &self.headers(), Bytes::new()).await
    }
}

/// Read SSE messages from a streaming body until `stop` returns true for one
/// (returned last) or the stream ends.
pub async fn read_until(body: &mut Incoming, stop: impl Fn(&Value) -> bool) -> (Vec<Value>, bool) {
    let mut buf = Vec::new();
    let mut seen = 0;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
        // Only complete events (ending in a blank line) are parsed.
        let complete = buf
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .map_or(0, |p| p + 2);
        let messages = sse_messages(&buf[..complete]);
        for m in messages.into_iter().skip(seen) {
            seen += 1;
            let done = stop(&m);
            out.push(m);
            if done {
                return (out, true);
            }
        }
    }
    (out, false)
}

/// The tool names in a `tools/list` response (`result.tools[].name`).
pub fn tool_names(response: &Value) -> Vec<String> {
    response["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tools/list result: {response}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .map(str::to_owned)
        .collect()
}

impl Mcp {
    /// `GET` the session's standalone stream with this `Accept`, body unread.
    pub async fn open_get(&self, accept: &str) -> http::Response<Incoming> {
        let session = self.session.as_deref().unwrap_or_default();
        let mut headers = vec![("accept", accept), ("mcp-session-id", session)];
        if let Some(token) = &self.token {
            headers.push(("authorization", token.as_str()));
        }
        open(Method::GET, &self.url, &headers, Bytes::new()).await
    }
}
