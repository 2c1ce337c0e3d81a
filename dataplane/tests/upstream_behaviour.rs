//! How the gateway's client side copes with what upstreams do: session
//! expiry, streams closed early, silence, cancellation, being down. The
//! upstream is a scripted mock so each behaviour happens on cue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde_json::json;
use support::exposition::Exposition;
use support::http::{Mcp, read_until, send, tool_names};
use support::mock::{self, Answer, Mock};
use support::{TestGateway, config, poll};

fn text(result: &serde_json::Value) -> &str {
    result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

fn ok_call(seen: &mock::Seen) -> Answer {
    Answer::Json(
        mock::result(
            seen,
            json!({"content": [{"type": "text", "text": format!("ok in {}", seen.header("mcp-session-id").unwrap_or("-"))}]}),
        ),
        None,
    )
}

#[tokio::test]
async fn upstream_404_reinitializes_the_session_and_retries_once() {
    let script = mock::server(|seen| match seen.header("mcp-session-id") {
        Some("s1") => Answer::Status(
            404,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#
                .into(),
        ),
        _ => ok_call(seen),
    });
    let up = Mock::start(script).await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let result = mcp.call_tool(2, "m__hello", json!({})).await;
    assert_eq!(text(&result), "ok in s2");
    let calls: Vec<_> = up
        .seen()
        .into_iter()
        .filter(|s| s.rpc_method() == Some("tools/call"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("mcp-session-id"), Some("s1"));
    assert_eq!(calls[1].header("mcp-session-id"), Some("s2"));
    assert_eq!(
        calls[1].id(),
        Some(&json!(2)),
        "the retry keeps the client's id"
    );
    assert_eq!(
        up.methods().iter().filter(|m| *m == "initialize").count(),
        2
    );
}

#[tokio::test]
async fn upstream_400_about_the_session_is_treated_as_expiry() {
    // server-everything answers 400 "No valid session ID provided" (PEERS.md §3.3).
    let script = mock::server(|seen| {
        match seen.header("mcp-session-id") {
        Some("s1") => Answer::Status(400, r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#.into()),
        _ => ok_call(seen),
    }
    });
    let up = Mock::start(script).await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    assert_eq!(
        text(&mcp.call_tool(2, "m__hello", json!({})).await),
        "ok in s2"
    );
}

#[tokio::test]
async fn a_stream_closed_before_its_response_is_resumed_with_last_event_id() {
    let script = mock::server(|_| {
        Answer::Sse(vec![
            "id: e1\ndata:\n\nretry: 20\n\n".into(),
            mock::event(
                Some("e2"),
                &json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "working"}}),
            ),
        ])
    });
    let up = Mock::start(move |seen: &mock::Seen| {
        if seen.method == Method::GET {
            assert_eq!(seen.header("last-event-id"), Some("e2"));
            let response = json!({"jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": "resumed"}]}});
            return Answer::Sse(vec![mock::event(Some("e3"), &response)]);
        }
        script(seen)
    })
    .await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "m__hello"}}))
        .await;
    let messages = resp.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["method"], "notifications/message");
    assert_eq!(text(&messages[1]), "resumed");
    let get = up
        .seen()
        .into_iter()
        .find(|s| s.method == Method::GET)
        .expect("a resuming GET");
    assert_eq!(get.header("mcp-session-id"), Some("s1"));
}

#[tokio::test]
async fn a_silent_upstream_times_out_as_a_json_rpc_error_and_is_told_to_cancel() {
    let up = Mock::start(mock::server(|_| Answer::Hang)).await;
    let gw =
        TestGateway::start(&config(&[("m", &up.url)], false, "").replace("PT10S", "PT1S")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let started = Instant::now();
    let result = mcp.call_tool(4, "m__hello", json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered within the timeout"
    );
    assert_eq!(result["error"]["code"], -32001, "{result}");
    assert_eq!(result["id"], 4);
}

#[tokio::test]
async fn a_silent_stream_times_out_and_the_upstream_is_told_to_cancel() {
    let up = Mock::start(mock::server(|_| {
        Answer::SseOpen(vec!["id: p\ndata:\n\n".into()])
    }))
    .await;
    let gw =
        TestGateway::start(&config(&[("m", &up.url)], false, "").replace("PT10S", "PT1S")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let result = mcp.call_tool(4, "m__hello", json!({})).await;
    assert_eq!(result["error"]["code"], -32001, "{result}");
    let cancel = up
        .seen()
        .into_iter()
        .find(|s| s.rpc_method() == Some("notifications/cancelled"))
        .expect("the upstream was told to cancel");
    assert_eq!(cancel.body.unwrap()["params"]["requestId"], 4);
}

/// A `tools/call` (with id `id`) of a toolkit that answers one progress
/// notification on an SSE stream and then keeps the stream open, silent: the
/// client has read the notification and its stream waits.
async fn a_call_left_waiting(id: u64) -> (Mock, TestGateway, Mcp, Incoming) {
    let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "t", "progress": 1}});
    let up = Mock::start(mock::server(move |_| {
        Answer::SseOpen(vec![mock::event(None, &progress)])
    }))
    .await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let resp = mcp
        .post_open(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "m__hello", "_meta": {"progressToken": "t"}}}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (first, _) = read_until(&mut body, |_| true).await;
    assert_eq!(first[0]["method"], "notifications/progress");
    (up, gw, mcp, body)
}

#[tokio::test]
async fn client_cancellation_reaches_the_upstream_and_closes_the_pending_stream() {
    // Like server-everything (PEERS.md §3.5), the upstream keeps its stream open after the cancel.
    let (up, _gw, mcp, mut body) = a_call_left_waiting(7).await;
    let ack = mcp
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "user"}}))
        .await;
    assert_eq!(ack.status, StatusCode::ACCEPTED);
    let (rest, stopped_early) =
        tokio::time::timeout(Duration::from_secs(5), read_until(&mut body, |_| false))
            .await
            .expect("the gateway closed the stream");
    assert!(
        !stopped_early && rest.is_empty(),
        "no response after a cancel: {rest:?}"
    );
    let cancel = up
        .seen()
        .into_iter()
        .find(|s| s.rpc_method() == Some("notifications/cancelled"))
        .expect("relayed");
    assert_eq!(cancel.body.as_ref().unwrap()["params"]["requestId"], 7);
    assert_eq!(cancel.header("mcp-session-id"), Some("s1"));
}

#[tokio::test]
async fn a_get_405_upstream_still_gives_the_client_an_event_stream() {
    let up = Mock::start(mock::server(ok_call)).await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let resp = mcp.open_get("text/event-stream").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    mock::eventually(&up, "the upstream GET", |seen| {
        seen.iter().any(|s| s.method == Method::GET)
    })
    .await;
    // One standalone stream per session.
    let second = mcp.open_get("text/event-stream").await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_dead_toolkit_is_left_out_of_lists_and_its_calls_fail_clearly() {
    let up = Mock::start(mock::server(ok_call)).await;
    // Nothing listens on a port the OS just handed out and took back.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/mcp", l.local_addr().unwrap())
    };
    let gw = TestGateway::start(&config(&[("live", &up.url), ("dead", &dead)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let list = mcp.request(2, "tools/list", json!({})).await;
    assert_eq!(tool_names(&list), ["live__hello"]);
    let call = mcp.call_tool(3, "dead__hello", json!({})).await;
    assert_eq!(call["error"]["code"], -32603, "{call}");
    let message = call["error"]["message"].as_str().unwrap();
    assert!(message.contains("`dead`"), "{message}");
    assert!(
        !message.contains(&dead),
        "the upstream address is not revealed: {message}"
    );
    assert_eq!(
        text(&mcp.call_tool(4, "live__hello", json!({})).await),
        "ok in s1"
    );
    // ... and counted where an operator looks.
    let metrics = send(Method::GET, &gw.url().replace("/mcp", "/metrics"), &[], "").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&metrics.body);
    for line in [
        "mcpgw_toolkit_failures_total{toolkit=\"dead\",operation=\"initialize\"} 1",
        "mcpgw_toolkit_failures_total{toolkit=\"dead\",operation=\"list\"} 1",
        "mcpgw_toolkit_failures_total{toolkit=\"dead\",operation=\"request\"} 1",
        "mcpgw_sessions 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(
        !text.contains("mcpgw_toolkit_failures_total{toolkit=\"live\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_json_reply_answering_another_id_is_an_error_for_the_client_not_a_stray_response() {
    let script = mock::server(|seen| {
        match seen
            .body
            .as_ref()
            .and_then(|b| b["params"]["name"].as_str())
        {
            // A result for another request: relayed, the client would wait forever.
            Some("wrong") => Answer::Json(
                json!({"jsonrpc": "2.0", "id": 999, "result": {"content": [{"type": "resource", "resource": {"uri": "x://y", "text": "t"}}]}}),
                None,
            ),
            // An error whose id the upstream could not read answers this request.
            _ => Answer::Json(
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "unreadable"}}),
                None,
            ),
        }
    });
    let up = Mock::start(script).await;
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let wrong = mcp.call_tool(7, "m__wrong", json!({})).await;
    assert_eq!(wrong["id"], 7, "{wrong}");
    assert_eq!(wrong["error"]["code"], -32603, "{wrong}");
    let message = wrong["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("toolkit `m`") && message.contains("another request's id"),
        "{wrong}"
    );
    assert!(wrong.get("result").is_none(), "{wrong}");
    let null = mcp.call_tool(8, "m__null", json!({})).await;
    assert_eq!(null["id"], 8, "{null}");
    assert_eq!(null["error"]["code"], -32600, "{null}");
}

#[tokio::test]
async fn a_client_gone_mid_stream_is_let_go_at_once_not_at_the_next_message() {
    let (_up, gw, _mcp, body) = a_call_left_waiting(9).await;
    drop(body);
    // The relay ends as soon as the client is gone (the toolkit's timeout is
    // 10 s): the call is counted, as cancelled.
    let cancelled = [
        ("method", "tools/call"),
        ("toolkit", "m"),
        ("name", "hello"),
        ("outcome", "cancelled"),
    ];
    let metrics_url = gw.url().replace("/mcp", "/metrics");
    poll(
        "the relay still waits for the toolkit",
        Duration::from_secs(5),
        Duration::from_millis(20),
        async || {
            let metrics = send(Method::GET, &metrics_url, &[], "").await;
            let metrics = Exposition::parse(&String::from_utf8_lossy(&metrics.body));
            (metrics.count("mcpgw_requests_total", &cancelled) == 1).then_some(())
        },
    )
    .await;
}
