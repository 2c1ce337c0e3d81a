//! What `/metrics` holds after a scripted session: a real upstream (the
//! recording `auth` peer, a Python SDK server) for calls that succeed or that
//! it answers with an error, and a mock for calls that fail at the upstream or
//! time out; a guard refuses one call. The exposition is parsed, not grepped,
//! and every count is exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use support::exposition::Exposition;
use support::http::{Mcp, read_until, send};
use support::mock::{self, Answer, Mock};
use support::tokens::Keys;
use support::{GUARDED, Peer, TestGateway, jwt_guard, north, poll};

async fn scrape(gw: &TestGateway) -> Exposition {
    let resp = send(
        http::Method::GET,
        &gw.url().replace("/mcp", "/metrics"),
        &[],
        "",
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(
        resp.header("content-type")
            .unwrap_or_default()
            .starts_with("application/openmetrics-text"),
        "{resp:?}"
    );
    Exposition::parse(&String::from_utf8_lossy(&resp.body))
}

/// The mock toolkit `flaky`: `boom` fails with a 500, `slow` never answers,
/// `oops` runs and reports an error (`isError`), `ask` asks the client
/// something and waits.
async fn flaky() -> Mock {
    Mock::start(mock::server(|seen: &mock::Seen| {
        match seen
            .body
            .as_ref()
            .and_then(|b| b["params"]["name"].as_str())
        {
            Some("boom") => Answer::Status(500, "down".into()),
            Some("slow") => Answer::Hang,
            Some("oops") => Answer::Json(
                mock::result(
                    seen,
                    json!({"content": [{"type": "text", "text": "no"}], "isError": true}),
                ),
                None,
            ),
            Some("ask") => Answer::SseOpen(vec![mock::event(
                None,
                &json!({"jsonrpc": "2.0", "id": 7, "method": "roots/list"}),
            )]),
            _ => Answer::Json(
                mock::result(seen, json!({"content": [{"type": "text", "text": "hi"}]})),
                None,
            ),
        }
    }))
    .await
}

fn config(keys: &Keys, kit: &str, flaky: &str) -> String {
    let routes = format!(
        r#"      - when: [ {{ toolkit: kit, tools: [ whoami, echo ] }} ]
        exit: south_kit
      - when: [ {{ toolkit: kit, tools: [ admin ] }} ]
        guarded: {{ authn_jwt: [ kit:write ] }}
        exit: south_kit
      - when: [ {{ toolkit: flaky }} ]
        exit: south_flaky
  south_kit: {{ type: mcp, kind: client, options: {{ server: "{kit}", timeout: PT10S }}, exit: sys:http_client }}
  south_flaky: {{ type: mcp, kind: client, options: {{ server: "{flaky}", timeout: PT1S }}, exit: sys:http_client }}
"#
    );
    format!(
        "name: metrics\n{}{}{routes}",
        jwt_guard(&format!("keys_file: \"{}\"", keys.jwks)),
        north(GUARDED, ""),
    )
}

fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {response}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_session_is_counted_exactly_by_method_toolkit_tool_and_outcome() {
    let keys = Keys::new("metrics");
    let kit = Peer::start("auth");
    let flaky = flaky().await;
    let gw = TestGateway::start(&config(&keys, &kit.url(), &flaky.url)).await;
    let token = keys.issuer.token("alice", "kit:read");
    let mcp = Mcp::connect_as(&gw.url(), json!({"roots": {}}), Some(&token)).await;

    let tools = mcp.request(1, "tools/list", json!({})).await;
    assert!(tools.get("result").is_some(), "{tools}");
    assert!(
        mcp.request(2, "ping", json!({}))
            .await
            .get("result")
            .is_some()
    );
    for id in [3, 4] {
        let ok = mcp.call_tool(id, "kit__whoami", json!({})).await;
        assert!(ok.get("result").is_some(), "{ok}");
    }
    // The real server refuses a call without its argument.
    let bad = mcp.call_tool(5, "kit__echo", json!({})).await;
    assert_eq!(error_code(&bad), -32602, "{bad}");
    // The guard: `admin` needs a role the caller lacks.
    let refused = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "kit__admin", "arguments": {}}}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    let boom = mcp.call_tool(7, "flaky__boom", json!({})).await;
    assert_eq!(error_code(&boom), -32603, "{boom}");
    let slow = mcp.call_tool(8, "flaky__slow", json!({})).await;
    assert_eq!(error_code(&slow), -32001, "{slow}");
    let oops = mcp.call_tool(11, "flaky__oops", json!({})).await;
    assert_eq!(oops["result"]["isError"], true, "{oops}");
    let unknown = mcp.call_tool(9, "nowhere__x", json!({})).await;
    assert_eq!(error_code(&unknown), -32602, "{unknown}");

    // Still open while scraping: the standalone stream and a call whose
    // toolkit waits for the client's answer to its `roots/list`.
    let standalone = mcp.open_get("text/event-stream").await;
    assert_eq!(standalone.status(), StatusCode::OK);
    let mut asking = mcp
        .post_open(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "flaky__ask", "arguments": {}}}))
        .await;
    let (seen, _) = read_until(asking.body_mut(), |m| m["method"] == "roots/list").await;
    assert_eq!(seen.last().unwrap()["method"], "roots/list", "{seen:?}");

    let m = scrape(&gw).await;
    let requests = |method, toolkit, name, outcome| {
        m.count(
            "mcpgw_requests_total",
            &[
                ("method", method),
                ("toolkit", toolkit),
                ("name", name),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(requests("initialize", "", "", "ok"), 1);
    assert_eq!(requests("tools/list", "", "", "ok"), 1);
    assert_eq!(requests("ping", "", "", "ok"), 1);
    assert_eq!(requests("tools/call", "kit", "whoami", "ok"), 2);
    assert_eq!(requests("tools/call", "kit", "echo", "invalid_params"), 1);
    assert_eq!(requests("tools/call", "kit", "admin", "refused"), 1);
    assert_eq!(requests("tools/call", "flaky", "boom", "upstream_error"), 1);
    assert_eq!(requests("tools/call", "flaky", "slow", "timeout"), 1);
    assert_eq!(requests("tools/call", "flaky", "oops", "tool_error"), 1);
    assert_eq!(requests("tools/call", "", "", "invalid_params"), 1);
    // Nothing else was counted (the open call is not over yet).
    assert_eq!(m.sum("mcpgw_requests_total", &[]), 11.0);

    // One latency observation per request, outcome left out of the labels.
    let whoami = [
        ("method", "tools/call"),
        ("toolkit", "kit"),
        ("name", "whoami"),
    ];
    assert_eq!(m.count("mcpgw_request_duration_seconds_count", &whoami), 2);
    let mut inf = whoami.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(m.count("mcpgw_request_duration_seconds_bucket", &inf), 2);
    assert_eq!(m.sum("mcpgw_request_duration_seconds_count", &[]), 11.0);
    let slow_secs = m
        .value(
            "mcpgw_request_duration_seconds_sum",
            &[
                ("method", "tools/call"),
                ("toolkit", "flaky"),
                ("name", "slow"),
            ],
        )
        .unwrap();
    assert!(
        (1.0..5.0).contains(&slow_secs),
        "the 1 s timeout: {slow_secs}"
    );

    // Every POST the mock received was timed, once.
    let posts = flaky
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::POST)
        .count();
    assert_eq!(
        m.count(
            "mcpgw_upstream_duration_seconds_count",
            &[("toolkit", "flaky")]
        ),
        posts as u64
    );
    assert!(
        m.count(
            "mcpgw_upstream_duration_seconds_count",
            &[("toolkit", "kit")]
        ) >= 4
    );

    assert_eq!(
        m.count(
            "mcpgw_toolkit_failures_total",
            &[("toolkit", "flaky"), ("operation", "request")]
        ),
        2
    );
    assert_eq!(m.count("mcpgw_sessions", &[]), 1);
    assert_eq!(m.count("mcpgw_sse_streams", &[]), 2);
    assert_eq!(m.count("mcpgw_client_requests_in_flight", &[]), 1);
    assert_eq!(m.types["mcpgw_requests"], "counter");
    assert_eq!(m.types["mcpgw_request_duration_seconds"], "histogram");

    // The streams closed, the gauges fall back.
    drop(asking);
    drop(standalone);
    poll(
        "streams still counted",
        Duration::from_secs(10),
        Duration::from_millis(20),
        async || (scrape(&gw).await.count("mcpgw_sse_streams", &[]) == 0).then_some(()),
    )
    .await;
}

#[test]
fn the_parser_reads_labels_escapes_and_suffixes() {
    let text = "# TYPE a counter\na_total{x=\"1\",y=\"q\\\"\\\\z\"} 3\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n# EOF\n";
    let e = Exposition::parse(text);
    assert_eq!(
        e.value("a_total", &[("x", "1"), ("y", "q\"\\z")]),
        Some(3.0)
    );
    assert_eq!(e.value("h_bucket", &[("le", "+Inf")]), Some(2.0));
    assert_eq!(e.count("h_count", &[]), 2);
    assert_eq!(e.count("a_total", &[("x", "2")]), 0);
}

/// Here rather than in `traces.rs`, whose process turns tracing on.
#[tokio::test(flavor = "multi_thread")]
async fn without_an_exporter_a_callers_traceparent_goes_no_further() {
    assert!(!mcpgw_dataplane::telemetry::enabled());
    let upstream = flaky().await;
    let gw = TestGateway::start(&support::config(&[("kit", &upstream.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut headers = mcp.headers();
    headers.push(("traceparent", traceparent));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "kit__hello", "arguments": {}}});
    let resp = send(http::Method::POST, &gw.url(), &headers, call.to_string()).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    let seen = upstream.seen();
    assert!(seen.iter().any(|s| s.rpc_method() == Some("tools/call")));
    assert!(
        seen.iter().all(|s| s.header("traceparent").is_none()),
        "{seen:?}"
    );
}
