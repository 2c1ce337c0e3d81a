//! HTTP/2 towards upstreams: one multiplexed connection per toolkit that
//! many sessions (and their POSTs, GET streams and DELETEs) share, and what
//! happens when the upstream ends it — gracefully (GOAWAY: in-flight calls
//! finish, new ones reconnect) or not (cut, a GOAWAY with an error code, a
//! reset stream: the call ends with a clear error within the toolkit's
//! timeout, the next call goes on).
//! The real "everything" server behind the tests' TLS front, the real gateway
//! binary trusting the test CA as its system roots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use http::Version;
use serde_json::{Value, json};
use support::http::{Mcp, read_until};
use support::process::GatewayProcess;
use support::tls::{ENHANCE_YOUR_CALM, FrontTls, Pki, TlsFront};
use support::{Peer, config};

struct Setup {
    _pki: Pki,
    _everything: Peer,
    front: TlsFront,
    gateway: GatewayProcess,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let everything = Peer::start("everything");
    let front = TlsFront::start(
        &format!("http://127.0.0.1:{}", everything.port),
        FrontTls {
            cert: &pki.server,
            alpn: &["h2"],
            client_cas: &[],
        },
    )
    .await;
    let yaml = config(&[("everything", &front.url("/mcp"))], false, "")
        .replace("timeout: PT10S", "timeout: PT3S");
    let ca = pki.ca_file.display().to_string();
    let gateway = GatewayProcess::start(&yaml, &[("SSL_CERT_FILE", &ca)]);
    Setup {
        _pki: pki,
        _everything: everything,
        front,
        gateway,
    }
}

fn echo_text(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

/// A long call (progress every second for `seconds`), its stream open after
/// the first progress notification.
async fn long_call(mcp: &Mcp, id: i64, seconds: u64) -> hyper::body::Incoming {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "everything__trigger-long-running-operation",
        "arguments": {"duration": seconds, "steps": seconds},
        "_meta": {"progressToken": format!("p{id}")}}});
    let mut body = mcp.post_open(&call).await.into_body();
    let (first, _) = read_until(&mut body, |m| m["method"] == "notifications/progress").await;
    assert!(!first.is_empty(), "the call is under way");
    body
}

/// A long call (7, `seconds` long) that `act` acts on, on the upstream's
/// side, mid-stream: its last message (within 10 s), after which the
/// session's next call works.
async fn a_long_call_under(seconds: u64, act: impl FnOnce(&TlsFront)) -> (Setup, Value) {
    let s = setup().await;
    let mcp = Mcp::connect(&s.gateway.url(), json!({})).await;
    let mut body = long_call(&mcp, 7, seconds).await;
    act(&s.front);
    let (rest, done) = tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut body, |m| m.get("id").is_some()),
    )
    .await
    .expect("the call ends within 10 s");
    assert!(done, "{rest:?}");
    let last = rest.last().expect("the response").clone();
    assert_eq!(last["id"], 7);
    let echo = mcp
        .call_tool(8, "everything__echo", json!({"message": "again"}))
        .await;
    assert_eq!(echo_text(&echo), "Echo: again", "{echo}");
    (s, last)
}

/// Whether call 7 of 30 s ended with an error naming the toolkit (within the
/// toolkit's timeout, PT3S, by [`a_long_call_under`]'s bound) after the
/// gateway tried to resume it (a GET: these tests open no standalone stream).
fn failed_after_resuming(s: &Setup, last: &Value) {
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("toolkit `everything`"), "{last}");
    let methods = s.front.methods();
    assert!(methods.iter().any(|m| m == "GET"), "resumed: {methods:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_sessions_share_one_multiplexed_connection() {
    let s = setup().await;
    let url = s.gateway.url();
    let first = Mcp::connect(&url, json!({})).await;
    let sessions =
        futures_util::future::join_all((0..8).map(|_| Mcp::connect(&url, json!({})))).await;
    let calls = sessions.iter().chain([&first]).enumerate().map(|(i, mcp)| {
        let message = format!("hello {i}");
        async move {
            let echo = mcp
                .call_tool(1, "everything__echo", json!({"message": message}))
                .await;
            assert_eq!(echo_text(&echo), format!("Echo: {message}"), "{echo}");
        }
    });
    futures_util::future::join_all(calls).await;
    let seen = s.front.connections();
    assert_eq!(seen.len(), 1, "nine sessions, one connection: {seen:?}");
    assert_eq!(seen[0].alpn.as_deref(), Some("h2"));
    let versions = s.front.versions();
    assert!(
        versions.len() >= 27,
        "every session's requests: {versions:?}"
    );
    assert!(versions.iter().all(|v| *v == Version::HTTP_2));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_goaway_calls_in_flight_finish_and_new_ones_reconnect() {
    let (s, last) = a_long_call_under(2, TlsFront::goaway).await;
    assert!(
        last.get("result").is_some(),
        "finished despite the GOAWAY: {last}"
    );
    assert_eq!(
        s.front.connections().len(),
        2,
        "a new connection after the GOAWAY"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_connection_ends_the_call_within_the_timeout_and_the_next_call_reconnects() {
    // NB: everything gives its SSE events ids, so the gateway resumes the
    // call's stream (GET with Last-Event-ID) on a new connection; everything
    // answers it but sends nothing more, so the call ends at the toolkit's
    // timeout (PT3S here), with the upstream told to cancel. An upstream
    // without event ids fails the call at once ("the connection closed before
    // the reply was complete").
    let (s, last) = a_long_call_under(30, TlsFront::abort_connections).await;
    failed_after_resuming(&s, &last);
    assert_eq!(s.front.connections().len(), 2, "one new connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_stream_ends_only_its_call_and_the_connection_goes_on() {
    // NB: as after a cut (above), the gateway resumes the stream, which
    // everything's event ids allow; nothing more comes, so the call ends at
    // the toolkit's timeout.
    let (s, last) = a_long_call_under(30, |front| {
        assert!(front.reset("tools/call"), "the call's stream is under way");
    })
    .await;
    failed_after_resuming(&s, &last);
    let seen = s.front.connections();
    assert_eq!(
        seen.len(),
        1,
        "a reset ends a stream, not the connection: {seen:?}"
    );
    assert!(s.front.versions().iter().all(|v| *v == Version::HTTP_2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_reset_before_the_reply_fails_the_call_at_once_naming_the_toolkit() {
    let s = setup().await;
    let mcp = Mcp::connect(&s.gateway.url(), json!({})).await;
    s.front.reset_next("tools/call");
    let started = std::time::Instant::now();
    let call = mcp
        .call_tool(2, "everything__echo", json!({"message": "lost"}))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "not the timeout"
    );
    assert_eq!(call["error"]["code"], -32603, "{call}");
    let message = call["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("toolkit `everything`"), "{call}");
    assert!(
        message.contains("reset the request's HTTP/2 stream"),
        "{call}"
    );
    let echo = mcp
        .call_tool(3, "everything__echo", json!({"message": "again"}))
        .await;
    assert_eq!(echo_text(&echo), "Echo: again", "{echo}");
    assert_eq!(s.front.connections().len(), 1, "the connection went on");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_goaway_with_an_error_calls_above_its_last_stream_fail_and_new_ones_reconnect() {
    // Stream 1 is the session's initialize: the call's stream is above it.
    let (s, last) = a_long_call_under(30, |front| {
        front.goaway_with_error(1, ENHANCE_YOUR_CALM);
    })
    .await;
    failed_after_resuming(&s, &last);
    let seen = s.front.connections();
    assert_eq!(seen.len(), 2, "a new connection after the GOAWAY: {seen:?}");
    assert!(seen.iter().all(|c| c.alpn.as_deref() == Some("h2")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_get_stream_and_delete_share_the_sessions_h2_connection() {
    let s = setup().await;
    let mcp = Mcp::connect(&s.gateway.url(), json!({})).await;
    let get = mcp.open_get("text/event-stream").await;
    assert_eq!(get.status(), http::StatusCode::OK, "{get:?}");
    let within = Duration::from_secs(10);
    tokio::time::timeout(within, s.front.requested("GET"))
        .await
        .expect("the gateway opened the upstream's GET stream");
    let echo = mcp
        .call_tool(2, "everything__echo", json!({"message": "hi"}))
        .await;
    assert_eq!(echo_text(&echo), "Echo: hi", "{echo}");
    let deleted = mcp.delete().await;
    assert!(deleted.status.is_success(), "{deleted:?}");
    // NB: the gateway ends the upstream session in the background.
    tokio::time::timeout(within, s.front.requested("DELETE"))
        .await
        .expect("the gateway ended the upstream session");
    drop(get);
    let methods = s.front.methods();
    for method in ["initialize", "GET", "tools/call", "DELETE"] {
        assert!(methods.iter().any(|m| m == method), "{method}: {methods:?}");
    }
    let seen = s.front.connections();
    assert_eq!(seen.len(), 1, "one multiplexed connection: {seen:?}");
    let versions = s.front.versions();
    assert_eq!(versions.len(), methods.len(), "{versions:?}");
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "{versions:?}"
    );
}
