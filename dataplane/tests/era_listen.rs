//! `subscriptions/listen` (2026-07-28) served by the gateway: one stream of
//! the change notifications a client asks for, from every toolkit whatever
//! its era. Behind the gateway: the project's `mrtr` peer (Python SDK mcp
//! 2.3.0, which serves `subscriptions/listen` itself) and server-everything
//! (2025 only: a `GET` stream and `resources/subscribe`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use support::http::read_until;
use support::modern::{modern, modern_open};
use support::{Peer, TestGateway, config, with_limits};

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Read `body` until a message `stop` accepts (bounded), returning all read.
async fn read_to(
    body: &mut hyper::body::Incoming,
    what: &str,
    stop: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let (read, found) = tokio::time::timeout(Duration::from_secs(30), read_until(body, stop))
        .await
        .unwrap_or_else(|_| panic!("not within 30 s: {what}"));
    assert!(found, "stream ended before {what}: {read:?}");
    read
}

fn is(method: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m: &Value| m["method"] == method
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_client_listens_to_toolkits_of_both_eras_through_one_stream() {
    let mrtr = Peer::start_with("mrtr", 0, &[("MRTR_SUBSCRIPTIONS", "1")]);
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(
        &[("mrtr", &mrtr.url()), ("everything", &everything.url())],
        false,
        "",
    ))
    .await;
    // Offered now that it is served: resource subscriptions (server-everything's).
    let discovered = modern(&gw.url(), 1, "server/discover", json!({})).await;
    let capabilities = &discovered.response()["result"]["capabilities"];
    assert_eq!(
        capabilities["resources"]["subscribe"], true,
        "{capabilities}"
    );

    let filter = json!({"notifications": {
        "toolsListChanged": true,
        "resourceSubscriptions": ["mrtr+note://board", "everything+demo://watched", "nobody+x://y"],
    }});
    let resp = modern_open(&gw.url(), 7, "subscriptions/listen", filter).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    // The acknowledgment first: what is honoured (a resource of no toolkit is not).
    let ack = read_to(&mut body, "the acknowledgment", |_| true).await;
    assert_eq!(
        ack[0]["method"], "notifications/subscriptions/acknowledged",
        "{ack:?}"
    );
    assert_eq!(ack[0]["params"]["_meta"][SUBSCRIPTION_ID], 7);
    assert_eq!(
        ack[0]["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["mrtr+note://board", "everything+demo://watched"]})
    );

    // A 2026-07-28 toolkit's own subscription: renamed, stamped with ours.
    let announced = modern(
        &gw.url(),
        2,
        "tools/call",
        json!({"name": "mrtr__announce", "arguments": {"uri": "note://board"}}),
    )
    .await;
    assert_eq!(announced.status, StatusCode::OK, "{announced:?}");
    let mut seen = read_to(
        &mut body,
        "mrtr's resource update",
        is("notifications/resources/updated"),
    )
    .await;
    seen.extend(ack);
    let updated = seen
        .iter()
        .find(|m| m["method"] == "notifications/resources/updated")
        .unwrap();
    assert_eq!(updated["params"]["uri"], "mrtr+note://board", "{seen:?}");
    assert_eq!(updated["params"]["_meta"][SUBSCRIPTION_ID], 7);
    let changed = seen
        .iter()
        .find(|m| m["method"] == "notifications/tools/list_changed");
    assert_eq!(
        changed.expect("mrtr's tools/list_changed")["params"]["_meta"][SUBSCRIPTION_ID],
        7,
        "{seen:?}"
    );

    // A 2025 toolkit: subscribed in the gateway's upstream session for this
    // caller, its GET stream relayed (server-everything sends one update at
    // once when its updates are switched on, then every 5 s).
    let toggled = modern(
        &gw.url(),
        3,
        "tools/call",
        json!({"name": "everything__toggle-subscriber-updates", "arguments": {}}),
    )
    .await;
    assert_eq!(toggled.status, StatusCode::OK, "{toggled:?}");
    let seen = read_to(&mut body, "everything's resource update", |m| {
        m["method"] == "notifications/resources/updated"
            && m["params"]["uri"] == "everything+demo://watched"
    })
    .await;
    let last = seen.last().unwrap();
    assert_eq!(last["params"]["_meta"][SUBSCRIPTION_ID], 7, "{last}");
    // Nothing was passed on that the client did not ask for.
    for m in &seen {
        let method = m["method"].as_str().unwrap_or_default();
        assert!(
            [
                "notifications/resources/updated",
                "notifications/tools/list_changed"
            ]
            .contains(&method),
            "{m}"
        );
    }
}

/// A subscription lasts as long as its client listens, so it takes no place
/// among a toolkit's `max_concurrent_requests`: with a bound of one and a
/// subscription open at the toolkit, calls still go (before, the open
/// subscription held the one place and every call got 503).
#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_takes_no_place_among_a_toolkits_requests_in_flight() {
    let mrtr = Peer::start_with("mrtr", 0, &[("MRTR_SUBSCRIPTIONS", "1")]);
    let yaml = with_limits(
        &[("mrtr", &mrtr.url())],
        "mrtr",
        "max_concurrent_requests: 1",
    );
    let gw = TestGateway::start(&yaml).await;

    let filter = json!({"notifications": {"toolsListChanged": true}});
    let resp = modern_open(&gw.url(), 7, "subscriptions/listen", filter).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    // Sent once the toolkit's own subscription is open.
    read_to(
        &mut body,
        "the acknowledgment",
        is("notifications/subscriptions/acknowledged"),
    )
    .await;

    for id in 2..4 {
        let called = modern(
            &gw.url(),
            id,
            "tools/call",
            json!({"name": "mrtr__announce", "arguments": {"uri": "note://board"}}),
        )
        .await;
        assert_eq!(called.status, StatusCode::OK, "{called:?}");
        assert!(called.response()["result"]["isError"] != true, "{called:?}");
    }
    // And the subscription is the toolkit's, open all along: it hears the change.
    read_to(
        &mut body,
        "mrtr's tools/list_changed",
        is("notifications/tools/list_changed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listen_without_a_filter_is_refused() {
    let mrtr = Peer::start("mrtr");
    let gw = TestGateway::start(&config(&[("mrtr", &mrtr.url())], false, "")).await;
    let refused = modern(&gw.url(), 1, "subscriptions/listen", json!({})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
    assert_eq!(support::modern::error_code(&refused), -32602);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_the_lists_ends_a_subscription_gracefully() {
    let mrtr = Peer::start_with("mrtr", 0, &[("MRTR_SUBSCRIPTIONS", "1")]);
    let gw = TestGateway::start(&config(&[("mrtr", &mrtr.url())], false, "")).await;
    let filter = json!({"notifications": {"toolsListChanged": true}});
    let mut body = modern_open(&gw.url(), 9, "subscriptions/listen", filter)
        .await
        .into_body();
    read_to(
        &mut body,
        "the acknowledgment",
        is("notifications/subscriptions/acknowledged"),
    )
    .await;
    // A toolkit more: the client hears the list changed, then the end of the
    // subscription (its response), and listens again to the new set.
    let added = config(&[("mrtr", &mrtr.url()), ("again", &mrtr.url())], false, "");
    gw.gateway
        .apply(&mcpgw_config::compile_yaml(&added).unwrap())
        .unwrap();
    let seen = read_to(&mut body, "the subscription's end", |m| m["id"] == 9).await;
    assert_eq!(
        seen[0]["method"], "notifications/tools/list_changed",
        "{seen:?}"
    );
    assert_eq!(seen[0]["params"]["_meta"][SUBSCRIPTION_ID], 9);
    let end = seen.last().unwrap();
    assert_eq!(end["result"]["resultType"], "complete", "{end}");
    assert_eq!(end["result"]["_meta"][SUBSCRIPTION_ID], 9, "{end}");
    let (after, _) = tokio::time::timeout(Duration::from_secs(30), read_until(&mut body, |_| true))
        .await
        .expect("the stream ends");
    assert_eq!(after, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_clients_get_stream_hears_a_2026_only_toolkit_through_its_subscription() {
    let mrtr = Peer::start_with(
        "mrtr",
        0,
        &[("MRTR_SUBSCRIPTIONS", "1"), ("MRTR_MODERN_ONLY", "1")],
    );
    let gw = TestGateway::start(&config(&[("mrtr", &mrtr.url())], false, "")).await;
    let mcp = support::http::Mcp::connect(&gw.url(), json!({})).await;
    let stream = mcp.open_get("text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.into_body();
    let announced = mcp
        .call_tool(1, "mrtr__announce", json!({"uri": "note://board"}))
        .await;
    assert_eq!(
        announced["result"]["content"][0]["text"], "announced note://board",
        "{announced}"
    );
    let seen = read_to(
        &mut body,
        "the toolkit's list change",
        is("notifications/tools/list_changed"),
    )
    .await;
    // As a 2025 GET stream carries it: no acknowledgment, no subscription id.
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0]["params"]["_meta"].get(SUBSCRIPTION_ID).is_none(),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_client_listens_through_the_gateway() {
    let mrtr = Peer::start_with("mrtr", 0, &[("MRTR_SUBSCRIPTIONS", "1")]);
    let gw = TestGateway::start(&config(&[("mrtr", &mrtr.url())], false, "")).await;
    let mut cmd = support::py_client(&gw.url(), "mrtr__");
    cmd.args([
        "--mode",
        "2026-07-28",
        "--scenario",
        "listen",
        "--tool",
        "announce",
    ]);
    cmd.args([
        "--arguments",
        r#"{"uri": "note://board"}"#,
        "--uri",
        "mrtr+note://board",
    ]);
    let out = support::run(cmd, Duration::from_secs(90)).await;
    let got: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(got["errors"], json!([]), "{got}");
    assert_eq!(
        got["honored"]["resourceSubscriptions"],
        json!(["mrtr+note://board"]),
        "{got}"
    );
    let events = got["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "ToolsListChanged"),
        "{got}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "ResourceUpdated" && e["uri"] == "mrtr+note://board"),
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_clients_resource_subscription_at_a_2026_only_toolkit_updates_its_get_stream() {
    let mrtr = Peer::start_with(
        "mrtr",
        0,
        &[("MRTR_SUBSCRIPTIONS", "1"), ("MRTR_MODERN_ONLY", "1")],
    );
    let gw = TestGateway::start(&config(&[("mrtr", &mrtr.url())], false, "")).await;
    let mcp = support::http::Mcp::connect(&gw.url(), json!({})).await;
    let mut body = mcp.open_get("text/event-stream").await.into_body();
    // The toolkit has no resources/subscribe: the gateway subscribes for the session.
    let subscribed = mcp
        .request(
            1,
            "resources/subscribe",
            json!({"uri": "mrtr+note://board"}),
        )
        .await;
    assert_eq!(subscribed["result"], json!({}), "{subscribed}");
    mcp.call_tool(2, "mrtr__announce", json!({"uri": "note://board"}))
        .await;
    let seen = read_to(
        &mut body,
        "the resource update",
        is("notifications/resources/updated"),
    )
    .await;
    let updated = seen.last().unwrap();
    assert_eq!(updated["params"]["uri"], "mrtr+note://board", "{seen:?}");
    assert!(
        updated["params"]["_meta"].get(SUBSCRIPTION_ID).is_none(),
        "{updated}"
    );
    let unsubscribed = mcp
        .request(
            3,
            "resources/unsubscribe",
            json!({"uri": "mrtr+note://board"}),
        )
        .await;
    assert_eq!(unsubscribed["result"], json!({}), "{unsubscribed}");
}
