//! A toolkit's circuit breaker against real peers (installed by
//! `tests/peers/install.sh`): the reference "everything" server killed and
//! restarted on its port while the time server behind mcp-proxy keeps
//! answering in the same session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};
use support::http::{Mcp, tool_names};
use support::{Peer, TestGateway, poll, with_limits};

fn echo(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "everything__echo", "arguments": {"message": "hi"}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_upstream_opens_the_breaker_and_once_back_a_probe_closes_it_in_the_same_session() {
    let everything = Peer::start("everything");
    let time = Peer::start("time");
    let port = everything.port;
    let yaml = with_limits(
        &[("everything", &everything.url()), ("time", &time.url())],
        "everything",
        "circuit_breaker: { failures: 2, cool_down: PT1S }",
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let before = mcp.post(&echo(1)).await;
    assert!(before.response().get("result").is_some(), "{before:?}");

    // Down: two refused connections open the breaker.
    everything.stop();
    for id in [2, 3] {
        let failed = mcp.post(&echo(id)).await;
        assert_eq!(failed.status, StatusCode::OK, "{failed:?}");
        assert_eq!(failed.response()["error"]["code"], -32603, "{failed:?}");
    }
    let refused = mcp.post(&echo(4)).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused:?}"
    );
    assert!(refused.header("retry-after").is_some(), "{refused:?}");

    // The other toolkit answers, and lists leave the open one out at once.
    let started = Instant::now();
    let list = mcp.request(5, "tools/list", json!({})).await;
    let names = tool_names(&list);
    assert!(names.iter().all(|n| n.starts_with("time__")), "{names:?}");
    assert!(!names.is_empty(), "{names:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let now = mcp
        .call_tool(6, "time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert!(now.get("result").is_some(), "{now}");

    // Back on its port: after the cool-down one probe goes, re-opens the
    // upstream session, and closes the breaker; the client keeps its session.
    let _restarted = Peer::start_on("everything", port);
    // NB: waiting out the configured cool-down, not for readiness.
    let after = poll(
        "the breaker never closed",
        Duration::from_secs(20),
        Duration::from_millis(100),
        async || {
            let resp = mcp.post(&echo(7)).await;
            if resp.status == StatusCode::OK {
                return Some(resp.response());
            }
            assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE, "{resp:?}");
            None
        },
    )
    .await;
    assert!(after.get("result").is_some(), "{after}");
    let list = mcp.request(8, "tools/list", json!({})).await;
    assert!(
        tool_names(&list).contains(&"everything__echo".to_owned()),
        "{list}"
    );
}
