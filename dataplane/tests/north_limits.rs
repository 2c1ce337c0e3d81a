//! North-side bounds per client: the `http server`'s `header_read_timeout` and
//! `idle_timeout` (raw TCP clients that never finish a request head), and the
//! `mcp server`'s `max_sessions_per_caller` and `max_streams_per_caller`. The
//! toolkit is a scripted mock: these are the gateway's own rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::json;
use support::http::{Mcp, Resp};
use support::mock::{self, Answer, Mock};
use support::tokens::{AUDIENCE, TestIssuer};
use support::{GUARDED, TestGateway, config, jwt_guard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn upstream() -> Mock {
    Mock::start(mock::server(|seen| {
        Answer::Json(
            mock::result(seen, json!({"content": [{"type": "text", "text": "ok"}]})),
            None,
        )
    }))
    .await
}

/// The test config with `options` on the `http server` and `server_options` on
/// the `mcp server` (and `extra` before `bindings:`, e.g. guards).
fn limited(url: &str, http_options: &str, server_options: &str, extra: &str) -> String {
    let yaml = config(&[("kit", url)], false, server_options);
    let routes = "    kind: server\n    routes:";
    assert!(yaml.contains(routes));
    let yaml = yaml.replacen(
        routes,
        &format!("    kind: server\n    options: {{ {http_options} }}\n    routes:"),
        1,
    );
    yaml.replacen("bindings:", &format!("{extra}bindings:"), 1)
}

/// Read from a raw connection until the gateway closes it; how long that took.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((start + bound).into(), stream.read(&mut buf)).await {
            Err(_) => panic!("the connection is still open after {bound:?}"),
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            // hyper may answer a late head with an error status before closing.
            Ok(Ok(_)) => {}
        }
    }
}

async fn served(mcp: &Mcp) {
    let list = mcp.request(1, "tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"][0]["name"], "kit__hello", "{list}");
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_within_the_header_read_timeout_while_others_are_served() {
    let kit = upstream().await;
    let yaml = limited(&kit.url, "header_read_timeout: PT1S", "", "");
    let gw = TestGateway::start(&yaml).await;
    let addr = gw.gateway.local_addrs()[0];

    // One client trickles a request head and never ends it; another sends nothing.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        slow
    });
    let mut silent = TcpStream::connect(addr).await.unwrap();

    // Meanwhile a well-behaved client is served.
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    served(&mcp).await;

    let took = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    let mut slow = trickle.await.unwrap();
    closed_within(&mut slow, Duration::from_secs(1)).await;
    // Well within the 20 × 200 ms the trickle would have taken.
    served(&mcp).await;
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_idle_and_one_with_an_open_stream_is_not() {
    let kit = upstream().await;
    let options = "header_read_timeout: PT1S, idle_timeout: PT1S";
    let gw = TestGateway::start(&limited(&kit.url, options, "", "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;

    // A GET stream is a request in flight: its connection outlives both bounds.
    let stream = mcp.open_get("text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.into_body();
    let next = tokio::time::timeout(Duration::from_secs(3), body.frame()).await;
    assert!(
        next.is_err(),
        "the stream is still open and quiet: {next:?}"
    );

    // A raw HTTP/1.1 connection that made one request and then waits is closed.
    let addr = gw.gateway.local_addrs()[0];
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut raw, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    served(&mcp).await;
}

/// A refusal by a per-caller bound: 429, `Retry-After`, a JSON-RPC error.
fn assert_too_many(resp: &Resp, what: &str) {
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{resp:?}");
    let retry_after: u64 = resp.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let error = &resp.json()["error"];
    assert!(error["code"].is_i64(), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(what), "{message}");
}

async fn initialize(url: &str, token: Option<&str>) -> Resp {
    Mcp::with_token(url, token)
        .post(&Mcp::initialize_message(&json!({})))
        .await
}

#[tokio::test]
async fn the_n_plus_first_session_of_a_caller_is_refused_while_another_caller_gets_one() {
    let kit = upstream().await;
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = jwt_guard(&format!("keys: {}", issuer.jwks_array()));
    let options = format!("{GUARDED}, max_sessions_per_caller: 2");
    let gw = TestGateway::start(&limited(&kit.url, "", &options, &guard)).await;
    let (alice, bob) = (issuer.token("alice", ""), issuer.token("bob", ""));

    let first = Mcp::connect_as(&gw.url(), json!({}), Some(&alice)).await;
    let _second = Mcp::connect_as(&gw.url(), json!({}), Some(&alice)).await;
    let initializes = || kit.methods().iter().filter(|m| *m == "initialize").count();
    let before = initializes();
    assert_too_many(&initialize(&gw.url(), Some(&alice)).await, "2 sessions");
    assert_eq!(
        initializes(),
        before,
        "a refused session opens nothing upstream"
    );

    // Another caller, and an anonymous one (counted by address), are not affected.
    let bob = Mcp::connect_as(&gw.url(), json!({}), Some(&bob)).await;
    served(&bob).await;
    let anonymous = Mcp::connect(&gw.url(), json!({})).await;
    served(&anonymous).await;
    served(&first).await;

    // Ending a session frees its place.
    assert_eq!(first.delete().await.status, StatusCode::OK);
    let mut again = initialize(&gw.url(), Some(&alice)).await;
    for _ in 0..100 {
        if again.status != StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        // The session is released once its background close lets go of it.
        tokio::time::sleep(Duration::from_millis(20)).await;
        again = initialize(&gw.url(), Some(&alice)).await;
    }
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
}

#[tokio::test]
async fn a_caller_over_its_stream_bound_gets_429_and_a_closed_stream_frees_its_place() {
    let kit = upstream().await;
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = jwt_guard(&format!("keys: {}", issuer.jwks_array()));
    let options = format!("{GUARDED}, max_streams_per_caller: 1");
    let gw = TestGateway::start(&limited(&kit.url, "", &options, &guard)).await;
    let alice = issuer.token("alice", "");
    let one = Mcp::connect_as(&gw.url(), json!({}), Some(&alice)).await;
    let two = Mcp::connect_as(&gw.url(), json!({}), Some(&alice)).await;

    let open = one.open_get("text/event-stream").await;
    assert_eq!(open.status(), StatusCode::OK);
    let refused = two.open_get("text/event-stream").await;
    let (parts, body) = refused.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let refused = Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    assert_too_many(&refused, "1 standalone SSE streams");
    // Requests other than streams are not bounded by it; nor is another caller.
    served(&two).await;
    let bob = Mcp::connect_as(&gw.url(), json!({}), Some(&issuer.token("bob", ""))).await;
    assert_eq!(
        bob.open_get("text/event-stream").await.status(),
        StatusCode::OK
    );

    // The client closes its stream: the place is free again.
    drop(open);
    let mut status = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..100 {
        let resp = two.open_get("text/event-stream").await;
        status = resp.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::OK);
}
