//! Raw requests of the 2026-07-28 era for the `era*` tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use http::Method;
use serde_json::{Value, json};

use super::http::{BOTH, Resp, send};

/// The modern protocol version.
pub const MODERN: &str = "2026-07-28";

/// The `_meta` envelope of a modern request.
pub fn envelope(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    })
}

/// A 2026-07-28 request of `method` with `params` (the envelope added) and
/// the headers that revision asks for (`Mcp-Method`, and `Mcp-Name` from
/// `params.name` or `params.uri`).
pub async fn modern(url: &str, id: i64, method: &str, params: Value) -> Resp {
    modern_with(url, id, method, params, &[]).await
}

/// [`modern`] with `extra` headers too (e.g. `Mcp-Param-*`).
pub async fn modern_with(
    url: &str,
    id: i64,
    method: &str,
    params: Value,
    extra: &[(&str, &str)],
) -> Resp {
    let (body, name) = modern_body(id, method, params);
    let mut headers = modern_headers(method, name.as_deref());
    headers.extend_from_slice(extra);
    post(url, &headers, &body).await
}

/// [`modern`] with the response body left to read (a stream).
pub async fn modern_open(
    url: &str,
    id: i64,
    method: &str,
    params: Value,
) -> http::Response<hyper::body::Incoming> {
    let (body, name) = modern_body(id, method, params);
    let mut headers = vec![("content-type", "application/json"), ("accept", BOTH)];
    headers.extend(modern_headers(method, name.as_deref()));
    super::http::open(Method::POST, url, &headers, body.to_string()).await
}

/// The body of a modern request (the envelope added) and the name its
/// `Mcp-Name` mirrors (`params.name` or `params.uri`).
fn modern_body(id: i64, method: &str, mut params: Value) -> (Value, Option<String>) {
    params["_meta"] = envelope(MODERN);
    let name = params
        .get("name")
        .or(params.get("uri"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    (body, name)
}

/// The headers the revision asks for (`MCP-Protocol-Version`, `Mcp-Method`,
/// `Mcp-Name` when the request names something).
fn modern_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("mcp-protocol-version", MODERN), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    headers
}

/// POST `body` with the given extra headers (content type and accept added).
pub async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut all = vec![("content-type", "application/json"), ("accept", BOTH)];
    all.extend_from_slice(headers);
    send(Method::POST, url, &all, body.to_string()).await
}

/// The JSON-RPC error code of the response.
pub fn error_code(resp: &Resp) -> i64 {
    resp.response()["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("a JSON-RPC error: {resp:?}"))
}

/// One gateway in front of both eras' real servers: server-everything (2025,
/// toolkit `everything`) and the dual-era time server (toolkit `time`).
pub struct TwoEras {
    pub gw: super::TestGateway,
    // NB: held so the peers live as long as the gateway.
    _everything: super::Peer,
    _time: super::Peer,
}

pub async fn two_eras() -> TwoEras {
    let everything = super::Peer::start("everything");
    let time = super::Peer::start("time-modern");
    let gw = super::TestGateway::start(&super::config(
        &[("everything", &everything.url()), ("time", &time.url())],
        false,
        "",
    ))
    .await;
    TwoEras {
        gw,
        _everything: everything,
        _time: time,
    }
}

/// The Python SDK client in `mode` (`legacy`, `auto`, `2026-07-28`) calling
/// `tool` (with `arguments`, JSON text, when given) through `url` (tools named
/// with `prefix`, the scenario's elicitation answers ready): its report,
/// checked to hold no errors.
pub async fn py_call(
    url: &str,
    prefix: &str,
    mode: &str,
    tool: &str,
    arguments: Option<&str>,
) -> Value {
    py_call_with(url, prefix, mode, tool, arguments, &[]).await
}

/// [`py_call`] with `extra` arguments for the client (e.g. `--list-first`).
pub async fn py_call_with(
    url: &str,
    prefix: &str,
    mode: &str,
    tool: &str,
    arguments: Option<&str>,
    extra: &[&str],
) -> Value {
    let mut cmd = super::py_client(url, prefix);
    cmd.args(extra);
    cmd.args([
        "--mode",
        mode,
        "--scenario",
        "auth-elicitation",
        "--tool",
        tool,
    ]);
    if let Some(arguments) = arguments {
        cmd.args(["--arguments", arguments]);
    }
    let out = super::run(cmd, std::time::Duration::from_secs(90)).await;
    let got: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    println!("{mode} {tool}: {got}");
    assert_eq!(got["errors"], json!([]), "{got}");
    got
}
