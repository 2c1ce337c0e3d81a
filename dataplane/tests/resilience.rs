//! A toolkit's limits (`max_concurrent_requests`, `rate_limit`, `circuit_breaker`): what a
//! client sees when they refuse a request, that other toolkits keep answering
//! in the same session, and that lists leave a refused toolkit out at once.
//! And its `retries`: only of requests that are safe to repeat.
//! Upstreams are scripted mocks so that failures happen on cue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};
use support::http::{Mcp, Resp, tool_names};
use support::mock::{self, Answer, Mock};
use support::{TestGateway, poll, with_limits};

fn ok_call(seen: &mock::Seen) -> Answer {
    Answer::Json(
        mock::result(seen, json!({"content": [{"type": "text", "text": "ok"}]})),
        None,
    )
}

fn call_message(id: i64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {}}})
}

fn calls(mock: &Mock) -> usize {
    mock.methods().iter().filter(|m| *m == "tools/call").count()
}

/// A refusal by the toolkit's limits: 503, `Retry-After` in whole seconds, and
/// a JSON-RPC error response to the request naming the toolkit and why.
fn assert_refused(resp: &Resp, toolkit: &str, why: &str) -> u64 {
    assert_limited(resp, StatusCode::SERVICE_UNAVAILABLE, toolkit, why)
}

/// [`assert_refused`] with another status.
fn assert_limited(resp: &Resp, status: StatusCode, toolkit: &str, why: &str) -> u64 {
    assert_eq!(resp.status, status, "{resp:?}");
    let retry_after: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {resp:?}"));
    assert!(retry_after >= 1, "{resp:?}");
    // The request was read: its error response answers its id.
    assert!(resp.json()["id"].is_i64(), "{resp:?}");
    let error = &resp.json()["error"];
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&format!("`{toolkit}`")), "{message}");
    assert!(message.contains(why), "{message}");
    retry_after
}

#[tokio::test]
async fn a_call_over_the_concurrency_bound_gets_503_and_other_toolkits_keep_answering() {
    let slow = Mock::start(mock::server(|_| Answer::Hang)).await;
    let live = Mock::start(mock::server(ok_call)).await;
    let toolkits = [("slow", slow.url.as_str()), ("live", live.url.as_str())];
    let yaml = with_limits(&toolkits, "slow", "max_concurrent_requests: 1");
    let gw = TestGateway::start(&yaml).await;
    let mcp = Arc::new(Mcp::connect(&gw.url(), json!({})).await);

    // One call in flight fills the bound.
    let first = {
        let mcp = Arc::clone(&mcp);
        tokio::spawn(async move { mcp.post(&call_message(2, "slow__hello")).await })
    };
    mock::eventually(&slow, "the first call reaches the upstream", |seen| {
        seen.iter().any(|s| s.rpc_method() == Some("tools/call"))
    })
    .await;

    let started = Instant::now();
    let refused = mcp.post(&call_message(3, "slow__hello")).await;
    assert_refused(&refused, "slow", "max_concurrent_requests");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    assert_eq!(calls(&slow), 1, "the refused call was not sent");

    // The same session goes on with the other toolkit, and lists leave the full one out.
    let answered = mcp.call_tool(4, "live__hello", json!({})).await;
    assert_eq!(answered["result"]["content"][0]["text"], "ok", "{answered}");
    let list = mcp.request(5, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["live__hello"]);

    first.abort();
}

#[tokio::test]
async fn consecutive_failures_open_the_breaker_and_a_probe_after_the_cool_down_closes_it() {
    let healthy = Arc::new(AtomicBool::new(false));
    let flaky = {
        let healthy = Arc::clone(&healthy);
        Mock::start(mock::server(move |seen| {
            if healthy.load(Ordering::SeqCst) {
                ok_call(seen)
            } else {
                Answer::Status(502, "bad gateway".into())
            }
        }))
        .await
    };
    let live = Mock::start(mock::server(ok_call)).await;
    let toolkits = [("flaky", flaky.url.as_str()), ("live", live.url.as_str())];
    let yaml = with_limits(
        &toolkits,
        "flaky",
        "circuit_breaker: { failures: 2, cool_down: PT1S }",
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;

    // Two failures in a row reach the upstream and open the breaker.
    for id in [2, 3] {
        let failed = mcp.call_tool(id, "flaky__hello", json!({})).await;
        assert_eq!(failed["error"]["code"], -32603, "{failed}");
    }
    assert_eq!(calls(&flaky), 2);

    // Open: refused at once without reaching the upstream, left out of lists.
    let refused = mcp.post(&call_message(4, "flaky__hello")).await;
    assert_refused(&refused, "flaky", "circuit breaker is open");
    let lists_before = flaky.methods().len();
    let list = mcp.request(5, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["live__hello"]);
    assert_eq!(flaky.methods().len(), lists_before, "nothing reached flaky");
    assert_eq!(
        mcp.call_tool(6, "live__hello", json!({}))
            .await
            .pointer("/result/content/0/text"),
        Some(&json!("ok"))
    );

    // Back up: after the cool-down the first call is the probe, and it closes the breaker.
    healthy.store(true, Ordering::SeqCst);
    // NB: waiting out the configured cool-down, not for readiness.
    let answered = poll(
        "the breaker never let a probe through",
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            let resp = mcp.post(&call_message(7, "flaky__hello")).await;
            if resp.status == StatusCode::OK {
                return Some(resp.response());
            }
            assert_refused(&resp, "flaky", "circuit breaker is open");
            None
        },
    )
    .await;
    assert_eq!(answered["result"]["content"][0]["text"], "ok", "{answered}");
    let list = mcp.request(8, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["flaky__hello", "live__hello"]);
}

#[tokio::test]
async fn a_toolkit_whose_lists_time_out_is_left_out_of_the_next_list_at_once() {
    // Initialize answers; every list hangs.
    let base = mock::server(ok_call);
    let stuck = Mock::start(move |seen: &mock::Seen| match seen.rpc_method() {
        Some("tools/list") => Answer::Hang,
        _ => base(seen),
    })
    .await;
    let live = Mock::start(mock::server(ok_call)).await;
    let toolkits = [("stuck", stuck.url.as_str()), ("live", live.url.as_str())];
    let yaml = with_limits(
        &toolkits,
        "stuck",
        "circuit_breaker: { failures: 1, cool_down: PT1M }",
    )
    .replace(
        &format!("server: \"{}\", timeout: PT10S", stuck.url),
        &format!("server: \"{}\", timeout: PT1S", stuck.url),
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;

    let list = mcp.request(2, "tools/list", json!({})).await;
    assert_eq!(
        tool_names(&list),
        ["live__hello"],
        "the first list waits out the timeout"
    );
    let started = Instant::now();
    let list = mcp.request(3, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["live__hello"]);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the open toolkit is left out without waiting for its timeout: {:?}",
        started.elapsed()
    );
    let listed = stuck
        .methods()
        .iter()
        .filter(|m| *m == "tools/list")
        .count();
    assert_eq!(listed, 1, "the second list did not reach the stuck toolkit");
}

#[tokio::test]
async fn a_call_over_the_rate_gets_429_with_retry_after_and_other_toolkits_keep_answering() {
    let metered = Mock::start(mock::server(ok_call)).await;
    let live = Mock::start(mock::server(ok_call)).await;
    let toolkits = [
        ("metered", metered.url.as_str()),
        ("live", live.url.as_str()),
    ];
    let yaml = with_limits(
        &toolkits,
        "metered",
        "rate_limit: { requests: 3, per: PT1M }",
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;

    // The upstream session's `initialize` is a request too: at most three go in a minute.
    let mut answered = 0;
    let refused = loop {
        let resp = mcp
            .post(&call_message(10 + answered, "metered__hello"))
            .await;
        if resp.status != StatusCode::OK {
            break resp;
        }
        answered += 1;
        assert!(
            answered <= 3,
            "the rate let more than three requests through"
        );
    };
    let retry_after = assert_limited(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "metered",
        "rate_limit",
    );
    assert!(
        retry_after <= 20,
        "one request comes back every 20 s: {retry_after}"
    );
    assert_eq!(calls(&metered), usize::try_from(answered).unwrap());

    let other = mcp.call_tool(2, "live__hello", json!({})).await;
    assert_eq!(other["result"]["content"][0]["text"], "ok", "{other}");
    let list = mcp.request(3, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["live__hello"]);
}

#[tokio::test]
async fn a_list_the_toolkit_could_not_take_is_retried_and_a_call_never_is() {
    let lists = Arc::new(AtomicUsize::new(0));
    let shaky = {
        let lists = Arc::clone(&lists);
        let base = mock::server(|_| Answer::Status(503, "busy".into()));
        Mock::start(move |seen: &mock::Seen| match seen.rpc_method() {
            // The first list finds the toolkit busy; the retry gets the list.
            Some("tools/list") if lists.fetch_add(1, Ordering::SeqCst) == 0 => {
                Answer::Status(503, "busy".into())
            }
            _ => base(seen),
        })
        .await
    };
    let toolkits = [("shaky", shaky.url.as_str())];
    let yaml = with_limits(
        &toolkits,
        "shaky",
        "retries: { attempts: 2, backoff: PT0.01S }",
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;

    let list = mcp.request(2, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["shaky__hello"]);
    assert_eq!(lists.load(Ordering::SeqCst), 2, "one retry");

    let failed = mcp.call_tool(3, "shaky__hello", json!({})).await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert_eq!(calls(&shaky), 1, "tools/call is never repeated");
}
