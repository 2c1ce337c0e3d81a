//! The 2026-07-28 era on the gateway's own endpoint, in front of toolkits of
//! the 2025 era: `server/discover`, requests without a session, the
//! revision's request metadata and HTTP rules (raw requests against a
//! scripted upstream: these rules are ours), and the real Python SDK client
//! in `2026-07-28` and `auto` modes against server-everything (a peer proves
//! the contract).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::http::{BOTH, send};
use support::mock::{self, Answer, Mock, Seen};
use support::modern::{MODERN, envelope, error_code, modern, post, py_call};
use support::{Peer, TestGateway, config};

/// A 2025-era upstream with one tool, one prompt, one resource and instructions.
fn upstream(seen: &Seen) -> Answer {
    let answer = |result| Answer::Json(mock::result(seen, result), None);
    match (seen.method.clone(), seen.rpc_method()) {
        (Method::POST, Some("initialize")) => Answer::Json(
            mock::result(
                seen,
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {"tools": {"listChanged": true}, "prompts": {}, "resources": {"subscribe": true}},
                    "serverInfo": {"name": "mock", "version": "1"},
                    "instructions": "Use the echo tool.",
                }),
            ),
            Some("upstream-session".into()),
        ),
        (Method::POST, Some("tools/list")) => {
            answer(json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}))
        }
        (Method::POST, Some("tools/call")) => {
            let args = seen.body.as_ref().unwrap()["params"]["arguments"].clone();
            answer(json!({"content": [{"type": "text", "text": format!("echo {args}")}]}))
        }
        (Method::POST, Some("resources/read")) => {
            answer(json!({"contents": [{"uri": "file:///a", "text": "A"}]}))
        }
        (Method::POST, _) => Answer::Accepted,
        (Method::DELETE, _) => Answer::Status(200, String::new()),
        _ => Answer::Status(405, String::new()),
    }
}

async fn setup() -> (Mock, TestGateway) {
    let mock = Mock::start(upstream).await;
    let gateway = TestGateway::start(&config(&[("kit", &mock.url)], false, "")).await;
    (mock, gateway)
}

/// A well-formed modern request: body envelope and headers agree.

#[tokio::test]
async fn discover_names_both_eras_and_what_the_toolkits_offer() {
    let (_mock, gw) = setup().await;
    let resp = modern(&gw.url(), 1, "server/discover", json!({})).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    assert!(
        resp.header("mcp-session-id").is_none(),
        "no session is minted"
    );
    let result = &resp.response()["result"];
    assert_eq!(result["resultType"], "complete", "{result}");
    let versions = result["supportedVersions"].as_array().expect("versions");
    for v in ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"] {
        assert!(versions.contains(&json!(v)), "{v} in {versions:?}");
    }
    // Change notifications and subscriptions are offered: the gateway serves
    // subscriptions/listen (era_listen.rs).
    assert_eq!(
        result["capabilities"]["tools"],
        json!({"listChanged": true}),
        "{result}"
    );
    assert_eq!(
        result["capabilities"]["resources"],
        json!({"listChanged": true, "subscribe": true}),
        "{result}"
    );
    assert!(
        result["instructions"]
            .as_str()
            .unwrap()
            .contains("Use the echo tool.")
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcpgw"
    );
    assert_eq!(result["cacheScope"], "private");
    assert_eq!(result["ttlMs"], 0);
}

#[tokio::test]
async fn tools_are_listed_and_called_without_a_session() {
    let (mock, gw) = setup().await;
    let listed = modern(&gw.url(), 1, "tools/list", json!({})).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let result = &listed.response()["result"];
    assert_eq!(result["tools"][0]["name"], "kit__echo", "{result}");
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["cacheScope"], "private");

    let called = modern(
        &gw.url(),
        2,
        "tools/call",
        json!({"name": "kit__echo", "arguments": {"m": "hi"}, "_meta": {}}),
    )
    .await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    let response = called.response();
    assert_eq!(response["id"], 2);
    assert_eq!(
        response["result"]["content"][0]["text"],
        r#"echo {"m":"hi"}"#
    );
    assert_eq!(response["result"]["resultType"], "complete");
    assert!(
        response["result"].get("ttlMs").is_none(),
        "not a cacheable result"
    );

    // The upstream got a 2025 request: the name unprefixed, no modern envelope.
    let seen = mock.seen();
    let call = seen
        .iter()
        .find(|s| s.rpc_method() == Some("tools/call"))
        .expect("the call reached the upstream");
    let params = &call.body.as_ref().unwrap()["params"];
    assert_eq!(params["name"], "echo");
    assert!(
        !params.to_string().contains("io.modelcontextprotocol/"),
        "{params}"
    );
    assert_eq!(call.header("mcp-protocol-version"), Some("2025-11-25"));
    let read = modern(
        &gw.url(),
        3,
        "resources/read",
        json!({"uri": "kit+file:///a"}),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(
        read.response()["result"]["contents"][0]["uri"],
        "kit+file:///a"
    );
    assert_eq!(read.response()["result"]["ttlMs"], 0);
}

#[tokio::test]
async fn stateless_requests_of_one_client_share_one_upstream_session() {
    let (mock, gw) = setup().await;
    for id in 1..=3 {
        let resp = modern(&gw.url(), id, "tools/call", json!({"name": "kit__echo"})).await;
        assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    }
    let methods = mock.methods();
    let handshakes = methods.iter().filter(|m| *m == "initialize").count();
    assert_eq!(handshakes, 1, "{methods:?}");
    assert_eq!(methods.iter().filter(|m| *m == "tools/call").count(), 3);
}

#[tokio::test]
async fn request_metadata_that_disagrees_with_the_body_is_refused() {
    let (mock, gw) = setup().await;
    let url = gw.url();
    let call = |meta: Value| {
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
               "params": {"name": "kit__echo", "_meta": meta}})
    };
    let right = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "kit__echo"),
    ];

    // No Mcp-Method header.
    let resp = post(&url, &right[..1], &call(envelope(MODERN))).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&resp), -32020);
    assert_eq!(resp.response()["id"], 7);

    // Mcp-Name names another tool than the body.
    let other = [right[0], right[1], ("mcp-name", "kit__other")];
    let resp = post(&url, &other, &call(envelope(MODERN))).await;
    assert_eq!(
        (resp.status, error_code(&resp)),
        (StatusCode::BAD_REQUEST, -32020)
    );

    // The envelope names another version than the header.
    let resp = post(&url, &right, &call(envelope("2026-08-01"))).await;
    assert_eq!(
        (resp.status, error_code(&resp)),
        (StatusCode::BAD_REQUEST, -32020)
    );

    // No envelope at all.
    let bare =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "kit__echo"}});
    let resp = post(&url, &right, &bare).await;
    assert_eq!(
        (resp.status, error_code(&resp)),
        (StatusCode::BAD_REQUEST, -32602)
    );

    // The Mcp-Name may come base64-encoded.
    let encoded = [right[0], right[1], ("mcp-name", "=?base64?a2l0X19lY2hv?=")];
    let resp = post(&url, &encoded, &call(envelope(MODERN))).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");

    let calls = mock.methods().iter().filter(|m| *m == "tools/call").count();
    assert_eq!(
        calls, 1,
        "only the well-formed request reached the upstream"
    );
}

#[tokio::test]
async fn versions_methods_and_verbs_outside_the_era_get_the_spec_statuses() {
    let (_mock, gw) = setup().await;
    let url = gw.url();

    let future = "2099-01-01";
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                      "params": {"_meta": envelope(future)}});
    let resp = post(
        &url,
        &[
            ("mcp-protocol-version", future),
            ("mcp-method", "tools/list"),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let error = &resp.response()["error"];
    assert_eq!(error["code"], -32022);
    assert_eq!(error["data"]["requested"], future);
    assert!(
        error["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN))
    );

    for method in [
        "ping",
        "initialize",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let resp = modern(&url, 2, method, json!({})).await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{method}: {resp:?}");
        assert_eq!(error_code(&resp), -32601, "{method}");
    }

    for verb in [Method::GET, Method::DELETE] {
        let resp = send(
            verb.clone(),
            &url,
            &[("accept", BOTH), ("mcp-protocol-version", MODERN)],
            "",
        )
        .await;
        assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED, "{verb}");
        assert_eq!(resp.header("allow"), Some("POST"));
    }

    let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}});
    let resp = post(&url, &[("mcp-protocol-version", MODERN)], &note).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert!(resp.body.is_empty());

    let answer = json!({"jsonrpc": "2.0", "id": 5, "result": {}});
    let resp = post(&url, &[("mcp-protocol-version", MODERN)], &answer).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);

    let resp = send(
        Method::POST,
        &url,
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("mcp-protocol-version", MODERN),
        ],
        "{}",
    )
    .await;
    assert_eq!(resp.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_2025_client_keeps_its_session_on_the_same_endpoint() {
    let (_mock, gw) = setup().await;
    let client = support::http::Mcp::connect(&gw.url(), json!({})).await;
    assert!(client.session.is_some());
    let listed = client.request(2, "tools/list", json!({})).await;
    assert_eq!(listed["result"]["tools"][0]["name"], "kit__echo");
    assert!(listed["result"].get("resultType").is_none(), "{listed}");
}

/// The Python SDK client (mcp 2.3.0) in `mode` calls `everything__echo`
/// through the gateway.
async fn python_client_echoes(mode: &str) -> Value {
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &everything.url())], false, "")).await;
    let message = Some(r#"{"message":"across eras"}"#);
    let got = py_call(&gw.url(), "everything__", mode, "echo", message).await;
    assert_eq!(got["error"], Value::Null, "{got}");
    assert_eq!(
        got["result"]["content"][0]["text"], "Echo: across eras",
        "{got}"
    );
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_in_2026_mode_calls_everything_echo() {
    let got = python_client_echoes(MODERN).await;
    assert_eq!(got["result"]["resultType"], "complete", "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_in_auto_mode_discovers_the_gateway_as_modern() {
    let got = python_client_echoes("auto").await;
    // NB: had discovery failed, auto would have fallen back to initialize,
    // whose results carry no resultType.
    assert_eq!(got["result"]["resultType"], "complete", "{got}");
}
