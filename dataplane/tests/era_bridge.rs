//! Bridging a 2025 toolkit's requests for the client's input (elicitation,
//! sampling, roots) to a 2026-07-28 client as `input_required` rounds, and
//! that client's cancellation: the real Python SDK client against
//! server-everything, raw retries of a bridged exchange, and closed streams
//! against scripted upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::http::BOTH;
use support::mock::{self, Answer, Mock};
use support::modern::{MODERN, envelope, error_code, post, py_call};
use support::{Peer, TestGateway, config};

/// The Python SDK client in 2026-07-28 mode calls `tool` of server-everything
/// (a 2025 server, whose elicitation and sampling reach the client as
/// `input_required` results it answers by retrying), through the gateway.
async fn python_client_bridged(tool: &str, arguments: &str) -> Value {
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &everything.url())], false, "")).await;
    let got = py_call(&gw.url(), "everything__", MODERN, tool, Some(arguments)).await;
    assert_eq!(got["error"], Value::Null, "{got}");
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_toolkits_elicitation_reaches_a_2026_client_as_input_required() {
    let got = python_client_bridged("trigger-elicitation-request", "{}").await;
    let asked = &got["elicitations"][0];
    assert!(
        asked["requestedSchema"]["properties"]["name"].is_object(),
        "the form reached the client: {got}"
    );
    let result = got["result"].to_string();
    assert!(
        result.contains("Name: Ada"),
        "the answer reached the upstream: {got}"
    );
    assert_eq!(got["result"]["resultType"], "complete", "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_toolkits_url_elicitation_reaches_a_2026_client_without_its_id() {
    let got = python_client_bridged(
        "trigger-url-elicitation",
        r#"{"url":"https://example.com/connect","errorPath":false}"#,
    )
    .await;
    let asked = &got["elicitations"][0];
    assert_eq!(asked["mode"], "url", "{got}");
    assert_eq!(asked["url"], "https://example.com/connect", "{got}");
    assert!(asked.get("elicitationId").is_none(), "{got}");
    let result = got["result"].to_string();
    assert!(result.contains("completed the URL elicitation"), "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_toolkits_sampling_reaches_a_2026_client_as_input_required() {
    let got = python_client_bridged(
        "trigger-sampling-request",
        r#"{"prompt":"say hi","maxTokens":20}"#,
    )
    .await;
    let result = got["result"].to_string();
    assert!(
        result.contains("hello from py_client"),
        "the client's sample reached the upstream: {got}"
    );
}

/// A modern `tools/call` of `name` with a client that can be asked for input.
fn bridged_call(id: i64, name: &str, extra: Value) -> Value {
    let mut params = json!({"name": name, "arguments": {}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
    }});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

async fn post_call(url: &str, name: &str, body: &Value) -> support::http::Resp {
    let headers = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", name),
    ];
    post(url, &headers, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bridged_exchange_continues_only_for_its_own_retry_with_the_answer() {
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &everything.url())], false, "")).await;
    let url = gw.url();
    let tool = "everything__trigger-elicitation-request";

    let first = post_call(&url, tool, &bridged_call(1, tool, json!({}))).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let result = first.response()["result"].clone();
    assert_eq!(result["resultType"], "input_required", "{result}");
    let (key, asked) = result["inputRequests"]
        .as_object()
        .and_then(|m| m.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("one input request");
    assert_eq!(asked["method"], "elicitation/create", "{result}");
    let state = result["requestState"]
        .as_str()
        .expect("a requestState")
        .to_owned();
    assert!(
        result.get("ttlMs").is_none(),
        "interim results carry no caching hints"
    );

    // A state this gateway never issued.
    let bogus = json!({"requestState": "mcpgw-bridge.0000", "inputResponses": {}});
    let resp = post_call(&url, tool, &bridged_call(2, tool, bogus)).await;
    assert_eq!(
        (resp.status, error_code(&resp)),
        (StatusCode::BAD_REQUEST, -32602)
    );

    // The right state on another request.
    let echo = "everything__echo";
    let elsewhere = json!({"requestState": state, "inputResponses": {}});
    let resp = post_call(&url, echo, &bridged_call(3, echo, elsewhere)).await;
    assert_eq!(
        (resp.status, error_code(&resp)),
        (StatusCode::BAD_REQUEST, -32602)
    );

    // A retry without the answer is asked again, under a new state.
    let unanswered = json!({"requestState": state, "inputResponses": {}});
    let again = post_call(&url, tool, &bridged_call(4, tool, unanswered)).await;
    let again = again.response()["result"].clone();
    assert_eq!(again["resultType"], "input_required", "{again}");
    assert_eq!(again["inputRequests"][&key], asked);
    let state = again["requestState"].as_str().unwrap().to_owned();

    let answer = json!({"action": "accept", "content": {"name": "Grace", "check": true,
        "email": "grace@example.com", "homepage": "https://example.com", "birthdate": "1906-12-09",
        "integer": 7, "number": 1.5, "untitledSingleSelectEnum": "option1",
        "untitledMultipleSelectEnum": ["option1"], "titledSingleSelectEnum": "value1",
        "titledMultipleSelectEnum": ["value1"], "legacyTitledEnum": "opt1", "firstLine": "x"}});
    let retry = json!({"requestState": state, "inputResponses": {key.clone(): answer}});
    let done = post_call(&url, tool, &bridged_call(5, tool, retry.clone())).await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    let response = done.response();
    assert_eq!(
        response["id"], 5,
        "the exchange answers the retry: {response}"
    );
    assert_eq!(response["result"]["resultType"], "complete", "{response}");
    assert!(
        response["result"].to_string().contains("Name: Grace"),
        "the answer reached the upstream: {response}"
    );

    // Answered once: the state is spent.
    let replay = post_call(&url, tool, &bridged_call(6, tool, retry)).await;
    assert_eq!(
        (replay.status, error_code(&replay)),
        (StatusCode::BAD_REQUEST, -32602)
    );
}

#[tokio::test]
async fn a_2026_client_closing_its_stream_cancels_the_request_at_a_2025_toolkit() {
    let mock = Mock::start(mock::server(|_| Answer::SseOpen(vec![]))).await;
    let gw = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;
    let mut params = json!({"name": "kit__slow", "arguments": {}});
    params["_meta"] = envelope(MODERN);
    let body = json!({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": params});
    let resp = support::http::open(
        Method::POST,
        &gw.url(),
        &[
            ("content-type", "application/json"),
            ("accept", BOTH),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "kit__slow"),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    mock::eventually(&mock, "the call upstream", |seen| {
        seen.iter().any(|s| s.rpc_method() == Some("tools/call"))
    })
    .await;
    drop(resp);
    mock::eventually(&mock, "notifications/cancelled for the call", |seen| {
        seen.iter().any(|s| {
            s.rpc_method() == Some("notifications/cancelled")
                && s.body.as_ref().unwrap()["params"]["requestId"] == 41
        })
    })
    .await;
}

#[tokio::test]
async fn closing_the_stream_of_a_bridged_retry_cancels_the_toolkits_request_under_its_own_id() {
    let ask = json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create",
        "params": {"message": "Name?", "requestedSchema": {"type": "object", "properties": {}}}});
    let event = format!("event: message\ndata: {ask}\n\n");
    let mock = Mock::start(mock::server(move |_| Answer::SseOpen(vec![event.clone()]))).await;
    let gw = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;
    let url = gw.url();
    let tool = "kit__asks";

    let first = post_call(&url, tool, &bridged_call(51, tool, json!({}))).await;
    let result = first.response()["result"].clone();
    assert_eq!(result["resultType"], "input_required", "{result}");
    let key = result["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let state = result["requestState"].as_str().unwrap().to_owned();

    let retry = bridged_call(
        52,
        tool,
        json!({"requestState": state, "inputResponses": {key: {"action": "decline"}}}),
    );
    let resp = support::http::open(
        Method::POST,
        &url,
        &[
            ("content-type", "application/json"),
            ("accept", BOTH),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ],
        retry.to_string(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    mock::eventually(&mock, "the answer upstream", |seen| {
        seen.iter().any(|s| {
            s.body
                .as_ref()
                .is_some_and(|b| b["result"]["action"] == "decline")
        })
    })
    .await;
    drop(resp);
    mock::eventually(&mock, "notifications/cancelled for the first id", |seen| {
        seen.iter().any(|s| {
            s.rpc_method() == Some("notifications/cancelled")
                && s.body.as_ref().unwrap()["params"]["requestId"] == 51
        })
    })
    .await;
}
