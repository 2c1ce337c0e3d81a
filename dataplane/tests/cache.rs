//! The listing cache against real peers: the recording `auth` peer (which
//! tells what reached it, and with whose token) and the paging peer (which
//! changes its tools and says so): what is served from the cache, what is
//! fetched fresh, and that no caller sees what another may not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::http::{Mcp, read_until, send, tool_names};
use support::tokens::Keys;
use support::{GUARDED, Peer, TestGateway, config, jwt_guard, north, rpc_count, rpc_records};

const CACHE: &str = "cache: { store: cache, ttl: PT5M }";

/// `yaml` with a memory store and the proxy's cache on.
fn cached(yaml: String) -> String {
    yaml.replacen(
        "name: test\n",
        "name: test\nstores: { cache: { type: memory } }\n",
        1,
    )
    .replacen(
        "options: { prefix: always }",
        &format!("options: {{ prefix: always, {CACHE} }}"),
        1,
    )
}

async fn list(mcp: &Mcp, id: i64) -> Vec<String> {
    tool_names(&mcp.request(id, "tools/list", json!({})).await)
}

/// The value of one `mcpgw_listing_cache_total` series.
async fn cache_count(gateway: &TestGateway, toolkit: &str, event: &str) -> u64 {
    let url = gateway.url().replace("/mcp", "/metrics");
    let text =
        String::from_utf8(send(http::Method::GET, &url, &[], "").await.body.to_vec()).unwrap();
    let series = format!(
        "mcpgw_listing_cache_total{{toolkit=\"{toolkit}\",list=\"tools/list\",event=\"{event}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&series)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_list_within_the_ttl_reaches_no_upstream_in_any_session() {
    let kit = Peer::start("auth");
    let gateway = TestGateway::start(&cached(config(&[("kit", &kit.url())], false, ""))).await;
    let first = Mcp::connect(&gateway.url(), json!({})).await;
    let tools = list(&first, 1).await;
    assert_eq!(tools, ["kit__whoami", "kit__echo"], "{tools:?}");
    assert_eq!(list(&first, 2).await, tools);
    let second = Mcp::connect(&gateway.url(), json!({})).await;
    assert_eq!(list(&second, 1).await, tools);
    assert_eq!(
        rpc_count(&kit, "tools/list").await,
        1,
        "{:?}",
        rpc_records(&kit).await
    );
    assert_eq!(cache_count(&gateway, "kit", "load").await, 1);
    assert_eq!(cache_count(&gateway, "kit", "hit").await, 2);
    // Calls are never cached.
    for id in 3..5 {
        let echo = first
            .call_tool(id, "kit__echo", json!({"message": "x"}))
            .await;
        assert!(echo.get("result").is_some(), "{echo}");
    }
    assert_eq!(rpc_count(&kit, "tools/call").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_changed_makes_the_next_list_fetch_fresh() {
    let paging = Peer::start("paging");
    let yaml = cached(config(&[("paging", &paging.url())], false, ""));
    let gateway = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let mut stream = mcp.open_get("text/event-stream").await.into_body();
    let before = list(&mcp, 1).await;
    assert!(before.len() > 3, "{before:?}");
    assert_eq!(list(&mcp, 2).await, before, "served from the cache");
    let set = mcp
        .call_tool(3, "paging__set-tool-count", json!({"count": 3}))
        .await;
    assert!(set.get("result").is_some(), "{set}");
    let (_, heard) = tokio::time::timeout(
        Duration::from_secs(5),
        read_until(&mut stream, |m| {
            m["method"] == "notifications/tools/list_changed"
        }),
    )
    .await
    .expect("list_changed relayed to the client");
    assert!(heard);
    let after = list(&mcp, 4).await;
    assert_eq!(
        after.len(),
        3 + 1,
        "three tools and set-tool-count: {after:?}"
    );
    assert_eq!(cache_count(&gateway, "paging", "load").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_one_toolkit_keeps_the_others_pages() {
    let (a, b) = (Peer::start("auth"), Peer::start("auth"));
    let yaml = cached(config(&[("a", &a.url()), ("b", &b.url())], false, ""));
    let gateway = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let tools = list(&mcp, 1).await;
    assert_eq!(tools.len(), 4, "{tools:?}");
    let changed = yaml.replacen(
        &format!("server: \"{}\", timeout: PT10S", a.url()),
        &format!("server: \"{}\", timeout: PT11S", a.url()),
        1,
    );
    assert_ne!(changed, yaml);
    gateway
        .gateway
        .apply(&mcpgw_config::compile_yaml(&changed).unwrap())
        .unwrap();
    assert_eq!(list(&mcp, 2).await, tools);
    assert_eq!(
        rpc_count(&a, "tools/list").await,
        2,
        "the changed toolkit is asked again"
    );
    assert_eq!(
        rpc_count(&b, "tools/list").await,
        1,
        "the other's page is kept"
    );
}

/// A guarded gateway with a cache: `shared` (an auth peer that gets no caller
/// token) lists `echo` to anyone and everything to holders of `kit:all`;
/// `mine` (another auth peer) gets each caller's own token.
fn guarded(keys: &Keys, shared: &str, mine: &str) -> String {
    let guard = jwt_guard(&format!("keys_file: \"{}\"", keys.jwks));
    format!(
        r#"name: test
stores: {{ cache: {{ type: memory }} }}
{guard}{north}      - when: [ {{ toolkit: shared, tools: [ echo ] }} ]
        exit: south_shared
      - when: [ {{ toolkit: shared }} ]
        guarded: {{ authn_jwt: [ "kit:all" ] }}
        exit: south_shared
      - when: [ {{ toolkit: mine }} ]
        guarded: {{ authn_jwt: [] }}
        exit: south_mine
  south_shared: {{ type: mcp, kind: client, options: {{ server: "{shared}" }}, exit: sys:http_client }}
  south_mine:
    type: mcp
    kind: client
    options:
      server: "{mine}"
      authorization: {{ authn_jwt: {{ credentials: "Bearer {{credentials}}" }} }}
    exit: sys:http_client
"#,
        north = north(GUARDED, CACHE),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn callers_with_other_roles_or_tokens_never_see_each_others_listings() {
    let keys = Keys::new("cache-callers");
    let shared = Peer::start("auth");
    // NB: `mine` lists a tool named after each caller, so isolation shows in
    // the items themselves.
    let mine = Peer::start_with("auth", 0, &[("AUTH_SERVER_LIST_PER_CALLER", "1")]);
    let gateway = TestGateway::start(&guarded(&keys, &shared.url(), &mine.url())).await;
    let alice_token = keys.issuer.token("alice", "kit:all");
    let bob_token = keys.issuer.token("bob", "");
    let alice = Mcp::connect_as(&gateway.url(), json!({}), Some(&alice_token)).await;
    let bob = Mcp::connect_as(&gateway.url(), json!({}), Some(&bob_token)).await;
    let anonymous = Mcp::connect(&gateway.url(), json!({})).await;
    // Alice fills the cache first, with everything she may see.
    let alice_tools = list(&alice, 1).await;
    assert_eq!(
        alice_tools,
        [
            "shared__whoami",
            "shared__echo",
            "mine__whoami",
            "mine__echo",
            "mine__for-alice"
        ],
        "{alice_tools:?}"
    );
    let bob_tools = list(&bob, 1).await;
    assert_eq!(
        bob_tools,
        [
            "shared__echo",
            "mine__whoami",
            "mine__echo",
            "mine__for-bob"
        ]
    );
    assert_eq!(list(&anonymous, 1).await, ["shared__echo"]);
    assert_eq!(
        list(&alice, 2).await,
        alice_tools,
        "and Alice still sees hers"
    );
    assert_eq!(list(&bob, 2).await, bob_tools, "and Bob his");

    // The shared toolkit answered once for all three; the one that gets the
    // caller's token answered each caller, with their own token, once.
    assert_eq!(rpc_count(&shared, "tools/list").await, 1);
    let lists: Vec<Option<String>> = rpc_records(&mine)
        .await
        .into_iter()
        .filter(|(m, _)| m == "tools/list")
        .map(|(_, token)| token)
        .collect();
    assert_eq!(
        lists,
        [
            Some(format!("Bearer {alice_token}")),
            Some(format!("Bearer {bob_token}"))
        ]
    );
    let whoami: Value = bob.call_tool(3, "mine__whoami", json!({})).await;
    let text = whoami["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains(&bob_token), "{whoami}");
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_time_and_paging_lists_are_loaded_once_for_two_sessions() {
    let (everything, time, paging) = (
        Peer::start("everything"),
        Peer::start("time"),
        Peer::start("paging"),
    );
    let toolkits = [
        ("everything", everything.url()),
        ("time", time.url()),
        ("paging", paging.url()),
    ];
    let toolkits: Vec<(&str, &str)> = toolkits.iter().map(|(n, u)| (*n, u.as_str())).collect();
    let gateway = TestGateway::start(&cached(config(&toolkits, false, ""))).await;
    let (one, two) = (
        Mcp::connect(&gateway.url(), json!({})).await,
        Mcp::connect(&gateway.url(), json!({})).await,
    );
    let first = list(&one, 1).await;
    assert_eq!(list(&two, 1).await, first, "the same list from the cache");
    for (name, _) in &toolkits {
        assert!(
            first.iter().any(|t| t.starts_with(&format!("{name}__"))),
            "{first:?}"
        );
        assert_eq!(cache_count(&gateway, name, "load").await, 1, "{name}");
        assert_eq!(cache_count(&gateway, name, "hit").await, 1, "{name}");
    }
}

/// Ask `mcp` for `tools/list` until `kit` has received `lists` of them, or
/// panic after `limit` (the gateway goes upstream only when asked).
async fn list_until_upstream_lists(mcp: &Mcp, kit: &Peer, lists: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    for id in 100.. {
        list(mcp, id).await;
        if rpc_count(kit, "tools/list").await >= lists {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{kit:?} got no {lists}th tools/list within {limit:?}: {:?}",
            rpc_records(kit).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_is_fetched_again_once_its_ttl_has_passed() {
    let kit = Peer::start("auth");
    let yaml =
        cached(config(&[("kit", &kit.url())], false, "")).replace("ttl: PT5M", "ttl: PT0.5S");
    let gateway = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let started = Instant::now();
    assert_eq!(list(&mcp, 1).await, ["kit__whoami", "kit__echo"]);
    list_until_upstream_lists(&mcp, &kit, 2, Duration::from_secs(20)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "not before the TTL: {:?}",
        started.elapsed()
    );
    assert_eq!(list(&mcp, 2).await, ["kit__whoami", "kit__echo"]);
    assert_eq!(cache_count(&gateway, "kit", "load").await, 2);
    assert!(cache_count(&gateway, "kit", "eviction").await >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toolkit_that_failed_is_asked_again_once_it_is_back() {
    let (up, kit) = (Peer::start("auth"), Peer::start("auth"));
    let port = kit.port;
    kit.stop();
    let toolkits = [
        ("up", up.url()),
        ("kit", format!("http://127.0.0.1:{port}/mcp")),
    ];
    let toolkits: Vec<(&str, &str)> = toolkits.iter().map(|(n, u)| (*n, u.as_str())).collect();
    let yaml = cached(config(&toolkits, false, "")).replace("PT10S", "PT3S");
    let gateway = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    assert_eq!(
        list(&mcp, 1).await,
        ["up__whoami", "up__echo"],
        "kit is down"
    );
    assert_eq!(cache_count(&gateway, "kit", "load").await, 1);

    let kit = Peer::start_on("auth", port);
    let tools = list(&mcp, 2).await;
    assert_eq!(
        tools,
        ["up__whoami", "up__echo", "kit__whoami", "kit__echo"],
        "the failure was not cached"
    );
    assert_eq!(rpc_count(&kit, "tools/list").await, 1);
    assert_eq!(rpc_count(&up, "tools/list").await, 1, "up's page was kept");
    assert_eq!(list(&mcp, 3).await, tools);
    assert_eq!(
        rpc_count(&kit, "tools/list").await,
        1,
        "and now kit's is too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_sessions_listing_a_cold_cache_at_once_make_one_upstream_list() {
    let kit = Peer::start("auth");
    let gateway = TestGateway::start(&cached(config(&[("kit", &kit.url())], false, ""))).await;
    let url = gateway.url();
    let sessions =
        futures_util::future::join_all((0..100).map(|_| Mcp::connect(&url, json!({})))).await;
    let lists = futures_util::future::join_all(sessions.iter().map(|mcp| list(mcp, 1))).await;
    assert!(
        lists
            .iter()
            .all(|tools| tools == &["kit__whoami", "kit__echo"]),
        "{lists:?}"
    );
    assert_eq!(
        rpc_count(&kit, "tools/list").await,
        1,
        "{:?}",
        rpc_records(&kit).await
    );
    assert_eq!(cache_count(&gateway, "kit", "load").await, 1);
    let lookups =
        cache_count(&gateway, "kit", "hit").await + cache_count(&gateway, "kit", "miss").await;
    assert_eq!(lookups, 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_toolkits_list_change_drops_its_pages_while_no_client_listens() {
    // mrtr with subscriptions: its tool list may be cached (public, 5 min).
    let mrtr = Peer::start_with("mrtr", 0, &[("MRTR_SUBSCRIPTIONS", "1")]);
    let gateway = TestGateway::start(&cached(config(&[("mrtr", &mrtr.url())], false, ""))).await;
    let url = gateway.url();
    let list = async |id| {
        let resp = support::modern::modern(&url, id, "tools/list", json!({})).await;
        tool_names(&resp.response())
    };
    let tools = list(1).await;
    assert!(tools.contains(&"mrtr__announce".to_owned()), "{tools:?}");
    assert_eq!(list(2).await, tools);
    assert_eq!(cache_count(&gateway, "mrtr", "load").await, 1);
    // No client listens: the gateway's own subscription hears the change.
    let announced = support::modern::modern(
        &url,
        3,
        "tools/call",
        json!({"name": "mrtr__announce", "arguments": {"uri": "note://x"}}),
    )
    .await;
    assert_eq!(announced.status, http::StatusCode::OK, "{announced:?}");
    let mut id = 3;
    support::poll(
        "the cached page dropped on the toolkit's list change",
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            id += 1;
            list(id).await;
            (cache_count(&gateway, "mrtr", "load").await == 2).then_some(())
        },
    )
    .await;
}
