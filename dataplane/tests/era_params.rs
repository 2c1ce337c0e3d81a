//! `Mcp-Param-*` headers (2026-07-28, `x-mcp-header`): the project's own
//! `mrtr` peer (Python SDK mcp 2.3.0) has a tool `locate` whose `region`
//! argument must also arrive as `Mcp-Param-Region`, or the SDK refuses the
//! call (400, -32020). The gateway lists the annotation to its clients,
//! checks the headers a 2026-07-28 client sends against the body as that
//! revision's servers must, and, the client of that toolkit, mirrors the
//! argument itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::modern::{error_code, modern, modern_with, py_call_with};
use support::{Peer, TestGateway, config};

/// `tools/call` of `tool` with `region` and the `Mcp-Param-*` headers `sent`.
async fn locate(
    url: &str,
    id: i64,
    tool: &str,
    region: &str,
    sent: &[(&str, &str)],
) -> support::http::Resp {
    let params = json!({"name": tool, "arguments": {"region": region, "query": "q"}});
    modern_with(url, id, "tools/call", params, sent).await
}

/// A call of `tool` whose `Mcp-Param-Region` differs from its `region` is
/// refused as the revision says (400, -32020).
async fn refused_at_the_gateway(url: &str, id: i64, tool: &str) {
    let sent = [("mcp-param-region", "eu-west1")];
    let refused = locate(url, id, tool, "us-west1", &sent).await;
    assert_eq!(
        (refused.status, error_code(&refused)),
        (StatusCode::BAD_REQUEST, -32020),
        "{refused:?}"
    );
}

/// The listed tool `name` of a `tools/list` response.
fn listed(resp: &support::http::Resp, name: &str) -> Value {
    let response = resp.response();
    let tools = response["result"]["tools"].as_array().expect("tools");
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed: {response}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tools_header_argument_is_listed_checked_and_reaches_a_2026_toolkit() {
    let peer = Peer::start("mrtr");
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let list = modern(&gw.url(), 1, "tools/list", json!({})).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    // What the gateway checks is what it lists: the client learns the header here.
    let tool = listed(&list, "mrtr__locate");
    assert_eq!(
        tool["inputSchema"]["properties"]["region"]["x-mcp-header"], "Region",
        "{tool}"
    );
    // Plain ASCII, and a value the revision sends base64-encoded.
    for (id, region, header) in [
        (2, "us-west1", "us-west1"),
        (3, "Zürich", "=?base64?WsO8cmljaA==?="),
    ] {
        let called = locate(
            &gw.url(),
            id,
            "mrtr__locate",
            region,
            &[("mcp-param-region", header)],
        )
        .await;
        assert_eq!(called.status, StatusCode::OK, "{called:?}");
        let response = called.response();
        assert_eq!(
            response["result"]["content"][0]["text"],
            format!("q runs in {region}"),
            "{response}"
        );
    }
    // Missing, not matching, malformed: refused before the toolkit is asked.
    for (id, sent) in [
        (4, vec![]),
        (5, vec![("mcp-param-region", "eu-west1")]),
        (6, vec![("mcp-param-region", "=?base64?not base64!?=")]),
        (
            7,
            vec![
                ("mcp-param-region", "us-west1"),
                ("mcp-param-region", "us-west1"),
            ],
        ),
    ] {
        let refused = locate(&gw.url(), id, "mrtr__locate", "us-west1", &sent).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{sent:?}: {refused:?}"
        );
        assert_eq!(error_code(&refused), -32020, "{sent:?}: {refused:?}");
        assert_eq!(refused.response()["id"], id);
    }
    // A tool without annotations needs no header, and a stray one is ignored:
    // the call reaches the toolkit (which wants an elicitation capability).
    let greet = modern_with(
        &gw.url(),
        8,
        "tools/call",
        json!({"name": "mrtr__greet", "arguments": {}}),
        &[("mcp-param-region", "anything")],
    )
    .await;
    assert_eq!(error_code(&greet), -32021, "{greet:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_toolkits_list_relayed_whole_teaches_the_check_too() {
    let peer = Peer::start("mrtr");
    // One toolkit, names unchanged, no cache: tools/list is relayed as it is.
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], true, "")).await;
    let list = modern(&gw.url(), 1, "tools/list", json!({})).await;
    assert_eq!(
        listed(&list, "locate")["inputSchema"]["properties"]["region"]["x-mcp-header"],
        "Region"
    );
    refused_at_the_gateway(&gw.url(), 2, "locate").await;
    let called = locate(
        &gw.url(),
        3,
        "locate",
        "us-west1",
        &[("mcp-param-region", "us-west1")],
    )
    .await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_client_sends_the_headers_the_gateway_lists_and_checks() {
    let peer = Peer::start("mrtr");
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    // The SDK learns `x-mcp-header` from the gateway's list and mirrors the
    // argument (base64 for this one); the gateway accepts exactly that.
    let got = py_call_with(
        &gw.url(),
        "mrtr__",
        "2026-07-28",
        "locate",
        Some(r#"{"region": "Zürich", "query": "q"}"#),
        &["--list-first"],
    )
    .await;
    assert_eq!(got["http_errors"], json!([]), "{got}");
    assert_eq!(
        got["result"]["content"][0]["text"], "q runs in Zürich",
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_that_never_listed_the_tool_lists_again_and_retries_once() {
    let peer = Peer::start("mrtr");
    // A fresh gateway: mrtr's tools never listed through it, so its first call
    // goes without Mcp-Param-Region and the toolkit refuses it (-32020) before
    // running the tool; the gateway lists the tools and sends it again.
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let called = locate(
        &gw.url(),
        1,
        "mrtr__locate",
        "us-west1",
        &[("mcp-param-region", "us-west1")],
    )
    .await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    assert_eq!(
        called.response()["result"]["content"][0]["text"],
        "q runs in us-west1"
    );
    // Learnt on the way: now checked at the gateway too.
    refused_at_the_gateway(&gw.url(), 2, "mrtr__locate").await;

    // A 2025 client, and a toolkit that speaks 2026-07-28 only.
    let modern_only = Peer::start_with("mrtr", 0, &[("MRTR_MODERN_ONLY", "1")]);
    let gw = TestGateway::start(&config(&[("mrtr", &modern_only.url())], false, "")).await;
    let mcp = support::http::Mcp::connect(&gw.url(), json!({})).await;
    let response = mcp
        .call_tool(3, "mrtr__locate", json!({"region": "Zürich", "query": "q"}))
        .await;
    assert_eq!(
        response["result"]["content"][0]["text"], "q runs in Zürich",
        "{response}"
    );
}
