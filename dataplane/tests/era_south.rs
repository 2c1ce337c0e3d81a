//! Toolkits of the 2026-07-28 era behind the gateway: the era found per
//! toolkit (`server/discover` for a 2026-07-28 client, the handshake for a
//! 2025 one, each falling back to the other), requests sent statelessly
//! with the revision's envelope and headers, and the era recorded in the
//! log, `/readyz` and `mcpgw_toolkit_era`. Wire details against scripted
//! upstreams; the contract against the real dual-era mcp-server-time
//! 2026.10.19 (mcp 2.3.0), with raw requests and the Python SDK client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::http::{BOTH, Mcp, send};
use support::mock::{self, Answer, Mock, Seen};
use support::modern::{py_call, two_eras};
use support::{Peer, TestGateway, config};

const MODERN: &str = "2026-07-28";

/// A 2026-07-28-only upstream: `server/discover` and stateless requests;
/// `initialize` refused as a modern server refuses a request without its
/// envelope (400, -32602).
fn modern_only(seen: &Seen) -> Answer {
    let is_modern = seen.header("mcp-protocol-version") == Some(MODERN);
    let answer = |result| Answer::Json(mock::result(seen, result), None);
    match (seen.method.clone(), seen.rpc_method()) {
        (Method::POST, Some("server/discover")) if is_modern => answer(json!({
            "resultType": "complete",
            "supportedVersions": [MODERN],
            "capabilities": {"tools": {}},
            "instructions": "Modern tools.",
            "ttlMs": 0,
            "cacheScope": "public",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "modern-mock", "version": "1"}},
        })),
        (Method::POST, Some("tools/list")) if is_modern => answer(json!({
            "resultType": "complete",
            "tools": [{"name": "now", "inputSchema": {"type": "object"}}],
            "ttlMs": 1000,
            "cacheScope": "public",
        })),
        (Method::POST, Some("tools/call")) if is_modern => {
            let caps = &seen.body.as_ref().unwrap()["params"]["_meta"]
                ["io.modelcontextprotocol/clientCapabilities"];
            answer(json!({
                "resultType": "complete",
                "content": [{"type": "text", "text": format!("now, for a client declaring {caps}")}],
            }))
        }
        (Method::POST, _) => Answer::Status(
            400,
            json!({"jsonrpc": "2.0", "id": seen.id(), "error": {"code": -32602, "message": "params._meta is required"}})
                .to_string(),
        ),
        _ => Answer::Status(405, String::new()),
    }
}

/// The `_meta` envelope of a modern request.
fn envelope(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    })
}

/// A well-formed modern `tools/call` of `name` with `arguments`.
async fn modern_call(url: &str, name: &str, arguments: Value, caps: Value) -> support::http::Resp {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": envelope(caps)}});
    send(
        Method::POST,
        url,
        &[
            ("content-type", "application/json"),
            ("accept", BOTH),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", name),
        ],
        body.to_string(),
    )
    .await
}

/// `/readyz` of the gateway, as JSON.
async fn readyz(gw: &TestGateway) -> Value {
    let url = format!("http://{}/readyz", gw.gateway.local_addrs()[0]);
    let resp = send(Method::GET, &url, &[], "").await;
    assert_eq!(resp.status, StatusCode::OK);
    resp.json()
}

/// `/metrics` of the gateway, as text.
async fn metrics(gw: &TestGateway) -> String {
    let url = format!("http://{}/metrics", gw.gateway.local_addrs()[0]);
    String::from_utf8(send(Method::GET, &url, &[], "").await.body.to_vec()).unwrap()
}

#[tokio::test]
async fn a_2026_client_reaches_a_2026_toolkit_statelessly_with_its_envelope() {
    let mock = Mock::start(modern_only).await;
    let gw = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;

    let resp = modern_call(&gw.url(), "kit__now", json!({}), json!({"elicitation": {}})).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    let text = resp.response()["result"]["content"][0]["text"].clone();
    // Same era on both sides: the client's capabilities cross whole.
    assert_eq!(text, r#"now, for a client declaring {"elicitation":{}}"#);

    let seen = mock.seen();
    let methods: Vec<_> = seen.iter().filter_map(Seen::rpc_method).collect();
    assert_eq!(methods, ["server/discover", "tools/call"], "no handshake");
    let call = &seen[1];
    assert_eq!(call.header("mcp-protocol-version"), Some(MODERN));
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    assert_eq!(call.header("mcp-name"), Some("now"));
    assert!(call.header("mcp-session-id").is_none());
    let meta = &call.body.as_ref().unwrap()["params"]["_meta"];
    assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], MODERN);
    assert_eq!(meta["io.modelcontextprotocol/clientInfo"]["name"], "raw");

    let ready = readyz(&gw).await;
    assert_eq!(
        ready["toolkits"]["kit"]["eras"],
        json!({"2026-07-28": true}),
        "{ready}"
    );
    let text = metrics(&gw).await;
    assert!(
        text.contains(r#"mcpgw_toolkit_era{toolkit="kit",era="2026-07-28"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_2025_client_reaches_a_2026_only_toolkit_after_its_handshake_is_refused() {
    let mock = Mock::start(modern_only).await;
    let gw = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;

    let client = Mcp::connect(&gw.url(), json!({"elicitation": {}, "roots": {}})).await;
    let listed = client.request(2, "tools/list", json!({})).await;
    assert_eq!(listed["result"]["tools"][0]["name"], "kit__now", "{listed}");
    let called = client.call_tool(3, "kit__now", json!({})).await;
    let text = called["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    // Elicitation and roots cross: input requests are bridged to the client's stream.
    assert_eq!(
        text, r#"now, for a client declaring {"elicitation":{},"roots":{}}"#,
        "{called}"
    );

    let methods = mock.methods();
    assert_eq!(methods[0], "initialize", "{methods:?}");
    assert_eq!(methods[1], "server/discover", "{methods:?}");
    assert!(!methods.contains(&"notifications/initialized".to_owned()));
    let ready = readyz(&gw).await;
    assert_eq!(
        ready["toolkits"]["kit"]["eras"],
        json!({"2026-07-28": true}),
        "the handshake was refused, so 2025 is not known to work: {ready}"
    );
}

#[tokio::test]
async fn a_2025_toolkit_is_initialized_for_a_2026_client_and_asked_once() {
    let legacy = Mock::start(mock::server(|s| {
        let args = s.body.as_ref().unwrap()["params"]["arguments"].clone();
        Answer::Json(
            mock::result(
                s,
                json!({"content": [{"type": "text", "text": format!("{args}")}]}),
            ),
            None,
        )
    }))
    .await;
    let gw = TestGateway::start(&config(&[("old", &legacy.url)], false, "")).await;
    let resp = modern_call(&gw.url(), "old__t", json!({"a": 1}), json!({})).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    assert_eq!(resp.response()["result"]["resultType"], "complete");
    let ready = readyz(&gw).await;
    assert_eq!(
        ready["toolkits"]["old"]["eras"],
        json!({"2025": true, "2026-07-28": false}),
        "{ready}"
    );
    // Found once: a second client opens its session without asking again.
    let other = modern_call(&gw.url(), "old__t", json!({}), json!({"x": {}})).await;
    assert_eq!(other.status, StatusCode::OK);
    let discovers = legacy
        .methods()
        .iter()
        .filter(|m| *m == "server/discover")
        .count();
    assert_eq!(discovers, 1, "{:?}", legacy.methods());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dual_era_time_server_serves_each_client_in_its_own_era() {
    let time = Peer::start("time-modern");
    let gw = TestGateway::start(&config(&[("time", &time.url())], false, "")).await;

    // A 2026-07-28 client: stateless, results of the modern era.
    let resp = modern_call(
        &gw.url(),
        "time__get_current_time",
        json!({"timezone": "Europe/Berlin"}),
        json!({}),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    let result = &resp.response()["result"];
    assert_eq!(result["resultType"], "complete", "{result}");
    assert_eq!(
        result["structuredContent"]["timezone"], "Europe/Berlin",
        "{result}"
    );

    // The upstream's own error crosses with the revision's status.
    let unknown = modern_call(&gw.url(), "time__nope", json!({}), json!({})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{unknown:?}");
    assert_eq!(unknown.response()["error"]["code"], -32602);

    // A 2025 client: the handshake, as before.
    let client = Mcp::connect(&gw.url(), json!({})).await;
    let called = client
        .call_tool(
            2,
            "time__get_current_time",
            json!({"timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(
        called["result"]["structuredContent"]["timezone"], "Asia/Tokyo",
        "{called}"
    );

    let ready = readyz(&gw).await;
    assert_eq!(
        ready["toolkits"]["time"]["eras"],
        json!({"2025": true, "2026-07-28": true}),
        "{ready}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_in_2026_mode_calls_the_2026_time_server_through_the_gateway() {
    let eras = two_eras().await;
    let gw = &eras.gw;
    for (tool, arguments, expect) in [
        (
            "time__get_current_time",
            r#"{"timezone":"Europe/Paris"}"#,
            "Europe/Paris",
        ),
        (
            "everything__echo",
            r#"{"message":"both eras"}"#,
            "Echo: both eras",
        ),
    ] {
        let got = py_call(&gw.url(), "", MODERN, tool, Some(arguments)).await;
        assert!(got["result"].to_string().contains(expect), "{got}");
        assert_eq!(got["result"]["resultType"], "complete", "{got}");
    }
    let ready = readyz(gw).await;
    assert_eq!(
        ready["toolkits"]["time"]["eras"]["2026-07-28"], true,
        "{ready}"
    );
    assert_eq!(
        ready["toolkits"]["everything"]["eras"]["2026-07-28"], false,
        "{ready}"
    );
}

/// A 2026-07-28-only upstream whose tool `greet` asks the client's name by a
/// multi round-trip request (and checks its `requestState` comes back).
fn asks_by_mrtr(seen: &Seen) -> Answer {
    let params = seen
        .body
        .as_ref()
        .map(|b| b["params"].clone())
        .unwrap_or_default();
    let modern = seen.header("mcp-protocol-version") == Some(MODERN);
    if !(modern && seen.rpc_method() == Some("tools/call") && params["name"] == "greet") {
        return modern_only(seen);
    }
    let result = match params["inputResponses"]["who"]["content"]["name"].as_str() {
        Some(name) if params["requestState"] == "opaque-1" => json!({
            "resultType": "complete",
            "content": [{"type": "text", "text": format!("Hello, {name}!")}],
        }),
        _ => json!({
            "resultType": "input_required",
            "inputRequests": {"who": {"method": "elicitation/create", "params": {
                "mode": "form",
                "message": "What is your name?",
                "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            }}},
            "requestState": "opaque-1",
        }),
    };
    Answer::Json(mock::result(seen, result), None)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_toolkits_input_request_reaches_a_2025_client_as_elicitation_on_its_stream() {
    let mock = Mock::start(asks_by_mrtr).await;
    let gw = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;
    let got = py_call(&gw.url(), "kit__", "legacy", "greet", None).await;
    assert_eq!(
        got["elicitations"][0]["message"], "What is your name?",
        "{got}"
    );
    assert_eq!(got["result"]["content"][0]["text"], "Hello, Ada!", "{got}");

    let calls: Vec<Value> = mock
        .seen()
        .iter()
        .filter(|s| s.rpc_method() == Some("tools/call"))
        .map(|s| s.body.clone().unwrap())
        .collect();
    assert_eq!(calls.len(), 2, "the call and its retry: {calls:?}");
    let retry = &calls[1];
    assert_ne!(retry["id"], calls[0]["id"], "a retry is a new request");
    assert_eq!(retry["params"]["requestState"], "opaque-1");
    assert_eq!(retry["params"]["inputResponses"]["who"]["action"], "accept");
    assert_eq!(retry["params"]["name"], "greet");
}
