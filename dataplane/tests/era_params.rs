//! `Mcp-Param-*` headers (2026-07-28, `x-mcp-header`): the project's own
//! `mrtr` peer (Python SDK mcp 2.3.0) has a tool `locate` whose `region`
//! argument must also arrive as `Mcp-Param-Region`, or the SDK refuses the
//! call (400, -32020). The gateway, the client of that toolkit, learns the
//! annotation from its tool list and mirrors the argument itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use serde_json::json;
use support::modern::modern;
use support::{Peer, TestGateway, config};

#[tokio::test(flavor = "multi_thread")]
async fn a_tools_header_argument_reaches_a_2026_toolkit_as_mcp_param() {
    let peer = Peer::start("mrtr");
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let listed = modern(&gw.url(), 1, "tools/list", json!({})).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let tools = listed.response()["result"]["tools"].to_string();
    assert!(tools.contains("mrtr__locate"), "{tools}");
    // Plain ASCII and a value the revision sends base64-encoded.
    for (id, region) in [(2, "us-west1"), (3, "Zürich")] {
        let called = modern(
            &gw.url(),
            id,
            "tools/call",
            json!({"name": "mrtr__locate", "arguments": {"region": region, "query": "q"}}),
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
}
