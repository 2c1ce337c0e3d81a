//! The Streamable HTTP transport rules of the gateway's own endpoint, asserted
//! with raw requests (the upstream is a scripted mock: these rules are ours).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::http::{BOTH, Mcp, send};
use support::mock::{self, Mock};
use support::{TestGateway, config};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

async fn setup() -> (Mock, TestGateway) {
    let upstream = Mock::start(mock::server(|s| {
        Answer::Json(mock::result(s, json!({})), None)
    }))
    .await;
    let gateway = TestGateway::start(&config(
        &[("m", &upstream.url)],
        false,
        "max_request_bytes: 4096",
    ))
    .await;
    (upstream, gateway)
}
use support::mock::Answer;

fn error_code(resp: &support::http::Resp) -> i64 {
    resp.json()["error"]["code"]
        .as_i64()
        .expect("a JSON-RPC error")
}

#[tokio::test]
async fn initialize_issues_a_session_id_and_negotiates_the_version() {
    let (_up, gw) = setup().await;
    for (asked, expected) in [
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let body = INIT.replace("2025-11-25", asked);
        let resp = send(
            Method::POST,
            &gw.url(),
            &[("content-type", "application/json"), ("accept", BOTH)],
            body,
        )
        .await;
        assert_eq!(resp.status, StatusCode::OK);
        let id = resp.header("mcp-session-id").expect("session id");
        assert!(id.len() >= 32 && id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(resp.json()["result"]["protocolVersion"], expected);
    }
}

#[tokio::test]
async fn unknown_session_id_gets_404() {
    let (_up, gw) = setup().await;
    let resp = send(
        Method::POST,
        &gw.url(),
        &[
            ("content-type", "application/json"),
            ("accept", BOTH),
            ("mcp-session-id", "nope"),
        ],
        LIST,
    )
    .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert!(resp.json()["error"].is_object());
    let get = send(
        Method::GET,
        &gw.url(),
        &[("accept", "text/event-stream"), ("mcp-session-id", "nope")],
        "",
    )
    .await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn request_without_a_session_gets_400() {
    let (up, gw) = setup().await;
    let resp = send(
        Method::POST,
        &gw.url(),
        &[("content-type", "application/json"), ("accept", BOTH)],
        LIST,
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&resp), -32000);
    let get = send(
        Method::GET,
        &gw.url(),
        &[("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST);
    assert!(
        up.methods().iter().all(|m| m != "tools/list"),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn accept_without_both_types_gets_406() {
    let (_up, gw) = setup().await;
    for accept in ["application/json", "text/event-stream", "text/html"] {
        let resp = send(
            Method::POST,
            &gw.url(),
            &[("content-type", "application/json"), ("accept", accept)],
            INIT,
        )
        .await;
        assert_eq!(resp.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let get = mcp.open_get("application/json").await;
    assert_eq!(get.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn unsupported_protocol_version_header_gets_400() {
    let (_up, gw) = setup().await;
    let mut mcp = Mcp::connect(&gw.url(), json!({})).await;
    mcp.version = "1999-01-01".into();
    let resp = mcp.post(&serde_json::from_str(LIST).unwrap()).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(
        resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1999-01-01")
    );
}

#[tokio::test]
async fn foreign_origin_gets_403_and_loopback_or_listed_origins_pass() {
    let upstream = Mock::start(mock::server(|s| {
        Answer::Json(mock::result(s, json!({})), None)
    }))
    .await;
    let gw = TestGateway::start(&config(
        &[("m", &upstream.url)],
        false,
        "origins: [ \"https://app.example.com\" ]",
    ))
    .await;
    for (origin, status) in [
        ("https://evil.example.com", StatusCode::FORBIDDEN),
        ("http://localhost.evil.com", StatusCode::FORBIDDEN),
        ("null", StatusCode::FORBIDDEN),
        ("http://localhost:6274", StatusCode::OK),
        ("http://127.0.0.1:9", StatusCode::OK),
        ("https://app.example.com", StatusCode::OK),
    ] {
        let resp = send(
            Method::POST,
            &gw.url(),
            &[
                ("content-type", "application/json"),
                ("accept", BOTH),
                ("origin", origin),
            ],
            INIT,
        )
        .await;
        assert_eq!(resp.status, status, "{origin}");
    }
    let init_count = upstream
        .methods()
        .iter()
        .filter(|m| *m == "initialize")
        .count();
    assert_eq!(init_count, 3, "refused requests never reach the upstream");
}

#[tokio::test]
async fn notifications_and_responses_get_202_with_no_body() {
    let (up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert!(resp.body.is_empty());
    // A client answer to a server→client request of toolkit `m` goes there with its own id.
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "id": mcpgw_dataplane::ids::client_bound_id("m", &mcpgw_dataplane::jsonrpc::RequestId::Number(7)).to_value(), "result": {"roots": []}}))
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert!(resp.body.is_empty());
    let answered = up
        .seen()
        .into_iter()
        .find(|s| s.body.as_ref().is_some_and(|b| b.get("result").is_some()));
    assert_eq!(
        answered.expect("the answer reached the upstream").id(),
        Some(&json!(7))
    );
    assert!(
        up.methods()
            .contains(&"notifications/roots/list_changed".to_owned())
    );
    // An answer to nothing this gateway asked is refused.
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 99, "result": {}}))
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_ends_the_session_and_the_upstream_session() {
    let (up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let resp = mcp.delete().await;
    assert_eq!(resp.status, StatusCode::OK);
    let after = mcp.post(&serde_json::from_str(LIST).unwrap()).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(mcp.delete().await.status, StatusCode::NOT_FOUND);
    mock::eventually(&up, "the upstream session is deleted", |seen| {
        seen.iter()
            .any(|s| s.method == Method::DELETE && s.header("mcp-session-id") == Some("s1"))
    })
    .await;
}

#[tokio::test]
async fn malformed_json_gets_a_parse_error() {
    let (_up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    for body in ["{", "not json", "\u{0}", "{\"jsonrpc\":"] {
        let resp = send(Method::POST, &gw.url(), &mcp.headers(), body).await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(error_code(&resp), -32700, "{body:?}");
        assert_eq!(resp.json()["id"], Value::Null);
    }
    for body in [
        "[]",
        "42",
        "{\"jsonrpc\":\"2.0\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":[],\"method\":\"x\"}",
    ] {
        let resp = send(Method::POST, &gw.url(), &mcp.headers(), body).await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(error_code(&resp), -32600, "{body:?}");
    }
}

#[tokio::test]
async fn oversized_body_gets_413() {
    let (_up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let big = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "m__x", "arguments": {"pad": "x".repeat(8192)}}});
    let resp = mcp.post(&big).await;
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4096")
    );
}

#[tokio::test]
async fn ping_is_answered_by_the_gateway_and_other_methods_are_refused() {
    let (up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let pong = mcp.request(5, "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));
    assert!(!up.methods().contains(&"ping".to_owned()));
    let put = send(Method::PUT, &gw.url(), &mcp.headers(), "").await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    let wrong_path = send(
        Method::POST,
        &gw.url().replace("/mcp", "/other"),
        &mcp.headers(),
        LIST,
    )
    .await;
    assert_eq!(wrong_path.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hostile_inputs_never_take_the_gateway_down() {
    let (_up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        (mcp.headers(), "\u{feff}{}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":7}}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"\"}}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":5}}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"%%%\"}}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":{}}}".into()),
        (mcp.headers(), "{\"jsonrpc\":\"2.0\",\"id\":\"m/{{\",\"result\":{}}".into()),
        (mcp.headers(), "[".repeat(5000)),
        (vec![("content-type", "text/plain"), ("accept", BOTH)], "{}".into()),
        (vec![("accept", BOTH), ("mcp-session-id", "a b\t\"c")], "{}".into()),
    ];
    for (headers, body) in cases {
        let resp = send(Method::POST, &gw.url(), &headers, body.clone()).await;
        assert!(
            resp.status.is_client_error() || resp.status.is_success(),
            "{body:?} -> {}",
            resp.status
        );
    }
    let invalid_cursor = mcp.request(9, "tools/list", json!({"cursor": "%%%"})).await;
    assert_eq!(invalid_cursor["error"]["code"], -32602);
    let unknown_tool = mcp.call_tool(10, "nope__x", json!({})).await;
    assert_eq!(unknown_tool["error"]["code"], -32602);
    // Still serving.
    let list = mcp.request(11, "tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"][0]["name"], "m__hello");
}

#[tokio::test]
async fn shutdown_ends_open_streams_promptly() {
    let (_up, gw) = setup().await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let stream = mcp.open_get("text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    gw.gateway.shutdown().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let mut body = stream.into_body();
    let (messages, _) = support::http::read_until(&mut body, |_| false).await;
    assert!(messages.is_empty());
}

#[tokio::test]
async fn oversized_client_capabilities_are_refused_at_initialize() {
    let up = Mock::start(mock::server(|s| {
        Answer::Json(mock::result(s, json!({})), None)
    }))
    .await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"experimental": {"pad": "x".repeat(5000)}},
        "clientInfo": {"name": "t", "version": "0"}}});
    let resp = send(
        Method::POST,
        &gw.url(),
        &[("content-type", "application/json"), ("accept", BOTH)],
        huge.to_string(),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json()["error"]["code"], -32602);
    assert!(resp.header("mcp-session-id").is_none());
    assert!(
        !up.methods().contains(&"initialize".to_owned()),
        "nothing reached the upstream"
    );
}
