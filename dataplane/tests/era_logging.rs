//! Log levels across the eras, against the project's `mrtr` peer (Python SDK
//! mcp 2.3.0, tool `chatter` logs one debug and one warning line): a server of
//! the 2026-07-28 era sends a request's log messages only at or above the
//! level in its `_meta` (none without one) and has no `logging/setLevel`, so
//! the gateway carries the level a client asked for in each request's `_meta`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::http::Mcp;
use support::modern::{MODERN, envelope, post};
use support::{Peer, TestGateway, config};

/// The `data` of the log messages among `messages`.
fn logged(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .map(|m| m["params"]["data"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_clients_set_level_reaches_a_2026_only_toolkit_in_each_requests_meta() {
    let peer = Peer::start_with("mrtr", 0, &[("MRTR_MODERN_ONLY", "1")]);
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let chatter = |id: i64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "mrtr__chatter", "arguments": {}}})
    };
    let before = mcp.post(&chatter(1)).await;
    assert_eq!(before.status, StatusCode::OK, "{before:?}");
    assert_eq!(
        logged(&before.messages()),
        Vec::<Value>::new(),
        "no level, no logs"
    );
    for (id, level, expected) in [
        (2, "debug", json!(["debug line", "warning line"])),
        (4, "warning", json!(["warning line"])),
    ] {
        // Not refused although the toolkit has no logging/setLevel.
        let set = mcp
            .request(id, "logging/setLevel", json!({"level": level}))
            .await;
        assert_eq!(set["result"], json!({}), "{set}");
        let after = mcp.post(&chatter(id + 1)).await;
        assert_eq!(
            json!(logged(&after.messages())),
            expected,
            "{level}: {after:?}"
        );
        assert_eq!(
            after.response()["result"]["content"][0]["text"],
            "chattered"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_clients_log_level_reaches_a_2026_toolkit() {
    let peer = Peer::start("mrtr");
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let mut meta = envelope(MODERN);
    meta["io.modelcontextprotocol/logLevel"] = json!("warning");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "mrtr__chatter", "arguments": {}, "_meta": meta}});
    let headers = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "mrtr__chatter"),
    ];
    let resp = post(&gw.url(), &headers, &body).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    assert_eq!(
        json!(logged(&resp.messages())),
        json!(["warning line"]),
        "{resp:?}"
    );
}
