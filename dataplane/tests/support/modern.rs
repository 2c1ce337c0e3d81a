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
