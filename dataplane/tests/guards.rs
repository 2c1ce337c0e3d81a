//! Guards and credentials against real upstreams: JWTs minted with test keys,
//! the recording `auth` peer (a Python SDK server that records the headers of
//! every request it gets, and can demand a bearer token), and the Python SDK
//! client for authorization by elicitation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::http::{Mcp, Resp, send, tool_names};
use support::tokens::{AUDIENCE, Keys, TestIssuer, TestKey};
use support::{GUARDED, Peer, TestGateway, jwt_guard, north, py_client, run, workspace};

const CHALLENGE: &str = r#"Bearer realm="x", scope="repo", error="invalid_token""#;

/// A guarded gateway config: `routes` and `clients` are YAML lines for the
/// proxy's routes and the client bindings.
fn guarded(jwks_file: &str, routes: &str, clients: &str) -> String {
    let guard = jwt_guard(&format!("keys_file: \"{jwks_file}\""));
    format!(
        "name: guarded\n{guard}{}{routes}\n{clients}",
        north(GUARDED, "")
    )
}

/// A guarded config with one open toolkit `kit` at `url`; `options` are appended
/// to its client's options.
fn one_kit(jwks_file: &str, url: &str, options: &str) -> String {
    guarded(jwks_file, &route("kit", None), &client("kit", url, options))
}

fn route(toolkit: &str, roles: Option<&str>) -> String {
    let guarded = roles.map_or(String::new(), |r| {
        format!("\n        guarded: {{ authn_jwt: [ {r} ] }}")
    });
    format!("      - when: [ {{ toolkit: {toolkit} }} ]{guarded}\n        exit: south_{toolkit}")
}

fn client(toolkit: &str, url: &str, options: &str) -> String {
    format!(
        "  south_{toolkit}: {{ type: mcp, kind: client, options: {{ server: \"{url}\", timeout: PT10S{options} }}, exit: sys:http_client }}"
    )
}

const FORWARD: &str = r#", authorization: { authn_jwt: { credentials: "Bearer {credentials}" } }"#;

/// What the recording peer received: `(method, authorization)` of each request.
async fn records(peer: &Peer) -> Vec<(String, Option<String>)> {
    let url = format!("http://127.0.0.1:{}/records", peer.port);
    let resp = send(Method::GET, &url, &[], Bytes::new()).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("records: {}", resp.json()))
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default().to_owned(),
                r["authorization"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn clear_records(peer: &Peer) {
    let url = format!("http://127.0.0.1:{}/records", peer.port);
    let resp = send(Method::DELETE, &url, &[], Bytes::new()).await;
    assert!(resp.status.is_success(), "{resp:?}");
}

fn text(response: &Value) -> String {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {response}"))
        .to_owned()
}

/// POST an initialize presenting `authorization` as is.
async fn initialize_with(url: &str, authorization: &str) -> Resp {
    let mcp = Mcp::with_token(url, None);
    let mut headers = mcp.headers();
    headers.push(("authorization", authorization));
    let message = Mcp::initialize_message(&json!({}));
    send(Method::POST, url, &headers, message.to_string()).await
}

/// One open toolkit and one guarded toolkit that gets the caller's token,
/// both recording peers.
struct TwoToolkits {
    keys: Keys,
    open: Peer,
    secure: Peer,
    gw: TestGateway,
}

impl TwoToolkits {
    async fn start(name: &str) -> Self {
        let keys = Keys::new(name);
        let (open, secure) = (Peer::start("auth"), Peer::start("auth"));
        let routes = [route("open", None), route("secure", Some("secure:use"))].join("\n");
        let clients = [
            client("open", &open.url(), ""),
            client("secure", &secure.url(), FORWARD),
        ]
        .join("\n");
        let gw = TestGateway::start(&guarded(&keys.jwks, &routes, &clients)).await;
        Self {
            keys,
            open,
            secure,
            gw,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_opens_the_guarded_toolkit_and_reaches_only_it() {
    let t = TwoToolkits::start("valid").await;
    let token = t.keys.issuer.token("alice", "secure:use other");
    let mcp = Mcp::connect_as(&t.gw.url(), json!({}), Some(&token)).await;

    let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
    assert!(tools.contains(&"open__whoami".to_owned()), "{tools:?}");
    assert!(tools.contains(&"secure__whoami".to_owned()), "{tools:?}");

    let secure = mcp.call_tool(2, "secure__whoami", json!({})).await;
    assert_eq!(text(&secure), format!("Bearer {token}"));
    let open = mcp.call_tool(3, "open__whoami", json!({})).await;
    assert_eq!(text(&open), "none");

    // Upstream side: the guarded toolkit got exactly the caller's bearer on
    // every request, the open one never saw an Authorization header.
    let expected = Some(format!("Bearer {token}"));
    let secure_seen = records(&t.secure).await;
    assert!(!secure_seen.is_empty());
    assert!(
        secure_seen.iter().all(|(_, a)| *a == expected),
        "{secure_seen:?}"
    );
    let open_seen = records(&t.open).await;
    assert!(!open_seen.is_empty());
    assert!(open_seen.iter().all(|(_, a)| a.is_none()), "{open_seen:?}");

    // The same with an ES256 token whose roles are an array claim.
    let mut claims = t.keys.issuer.claims("carol", "");
    claims["scope"] = json!(["other", "secure:use"]);
    let ec = t.keys.issuer.mint(&claims, TestKey::Ec);
    let mcp = Mcp::connect_as(&t.gw.url(), json!({}), Some(&ec)).await;
    let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
    assert!(tools.contains(&"secure__whoami".to_owned()), "{tools:?}");
    let secure = mcp.call_tool(2, "secure__whoami", json!({})).await;
    assert_eq!(text(&secure), format!("Bearer {ec}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_or_the_role_only_open_toolkits_exist() {
    let t = TwoToolkits::start("anonymous").await;
    let outsider = t.keys.issuer.token("bob", "other");
    for token in [None, Some(outsider.as_str())] {
        let mcp = Mcp::connect_as(&t.gw.url(), json!({}), token).await;
        let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
        assert!(tools.contains(&"open__echo".to_owned()), "{tools:?}");
        assert!(
            tools.iter().all(|t| !t.starts_with("secure__")),
            "{tools:?}"
        );
        // Calling it by name is answered exactly like a tool that does not exist.
        let hidden = mcp.call_tool(2, "secure__whoami", json!({})).await;
        let missing = mcp.call_tool(3, "nothing__whoami", json!({})).await;
        assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
        assert_eq!(
            hidden["error"]["message"], "Unknown tool: secure__whoami",
            "{hidden}"
        );
        assert_eq!(missing["error"]["code"], hidden["error"]["code"]);
    }
    assert!(
        records(&t.secure).await.is_empty(),
        "the guarded upstream saw nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invalid_token_gets_401_with_metadata_and_reaches_no_upstream() {
    let t = TwoToolkits::start("invalid").await;
    let url = t.gw.url();
    let metadata = format!(
        "resource_metadata=\"http://{}/.well-known/oauth-protected-resource/mcp\"",
        t.gw.gateway.local_addrs()[0]
    );
    let mut cases: Vec<(String, String)> = t
        .keys
        .issuer
        .bad_tokens("mallory")
        .into_iter()
        .map(|(name, token)| (name.to_owned(), format!("Bearer {token}")))
        .collect();
    cases.push((
        "another scheme".into(),
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l".into(),
    ));
    cases.push(("empty bearer".into(), "Bearer ".into()));
    for (case, authorization) in &cases {
        let resp = initialize_with(&url, authorization).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{case}: {resp:?}");
        let challenge = resp.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer "), "{case}: {challenge}");
        assert!(challenge.contains(&metadata), "{case}: {challenge}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
        assert!(
            !challenge.contains(authorization.trim_start_matches("Bearer "))
                || authorization.len() < 10,
            "{case}: the challenge must not echo the token"
        );
    }
    // Upstream side: none of those initializes reached a toolkit.
    assert!(
        records(&t.open).await.is_empty(),
        "open saw a refused request"
    );
    assert!(
        records(&t.secure).await.is_empty(),
        "secure saw a refused request"
    );

    // A valid session, then a request in it with a bad token: 401 too.
    let good = t.keys.issuer.token("alice", "secure:use");
    let mut mcp = Mcp::connect_as(&url, json!({}), Some(&good)).await;
    clear_records(&t.open).await;
    clear_records(&t.secure).await;
    mcp.token = Some(format!("Bearer {}", t.keys.issuer.expired("alice")));
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "secure__whoami", "arguments": {}}}))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
    assert!(records(&t.open).await.is_empty());
    assert!(records(&t.secure).await.is_empty());

    let metrics = send(
        Method::GET,
        &url.replace("/mcp", "/metrics"),
        &[],
        Bytes::new(),
    )
    .await;
    let refused = format!(
        "mcpgw_auth_refusals_total{{reason=\"invalid_token\"}} {}\n",
        cases.len() + 1
    );
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(text.contains(&refused), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_belongs_to_the_caller_who_opened_it() {
    let t = TwoToolkits::start("owner").await;
    let alice = t.keys.issuer.token("alice", "secure:use");
    let mcp = Mcp::connect_as(&t.gw.url(), json!({}), Some(&alice)).await;
    let refreshed = Mcp {
        token: Some(format!(
            "Bearer {}",
            t.keys.issuer.token("alice", "secure:use")
        )),
        ..mcp.clone()
    };
    let ok = refreshed.request(1, "tools/list", json!({})).await;
    assert!(ok.get("result").is_some(), "{ok}");
    for token in [Some(t.keys.issuer.token("bob", "secure:use")), None] {
        let stranger = Mcp {
            token: token.map(|t| format!("Bearer {t}")),
            ..mcp.clone()
        };
        let resp = stranger
            .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{resp:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn protected_resource_metadata_is_served_at_both_well_known_paths() {
    let t = TwoToolkits::start("metadata").await;
    let addr = t.gw.gateway.local_addrs()[0];
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let resp = send(
            Method::GET,
            &format!("http://{addr}{path}"),
            &[],
            Bytes::new(),
        )
        .await;
        assert_eq!(resp.status, StatusCode::OK, "{path}: {resp:?}");
        let doc = resp.json();
        assert_eq!(doc["resource"], format!("http://{addr}/mcp"), "{doc}");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://auth.example.test"])
        );
        assert_eq!(doc["scopes_supported"], json!(["secure:use"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    let none = send(
        Method::GET,
        &format!("http://{addr}/.well-known/oauth-protected-resource/other"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_of_a_visible_toolkit_that_needs_more_roles_asks_to_step_up() {
    let keys = Keys::new("step-up");
    let kit = Peer::start("auth");
    let routes = "      - when: [ { toolkit: kit, tools: [ whoami ] } ]
        exit: south_kit
      - when: [ { toolkit: kit, tools: [ echo ] } ]
        guarded: { authn_jwt: [ kit:write ] }
        exit: south_kit";
    // Keys written in the config this time, rather than in a file.
    let yaml = guarded(&keys.jwks, routes, &client("kit", &kit.url(), "")).replace(
        &format!("keys_file: {}", keys.jwks),
        &format!("keys: {}", keys.issuer.jwks_array()),
    );
    let gw = TestGateway::start(&yaml).await;

    let reader = keys.issuer.token("alice", "kit:read");
    let mcp = Mcp::connect_as(&gw.url(), json!({}), Some(&reader)).await;
    let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
    assert_eq!(tools, vec!["kit__whoami".to_owned()]);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "kit__echo", "arguments": {"message": "x"}}});
    let resp = mcp.post(&call).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{resp:?}");
    let challenge = resp.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"kit:write\""), "{challenge}");
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");

    let anonymous = Mcp::connect_as(&gw.url(), json!({}), None).await;
    let resp = anonymous.post(&call).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
    assert!(
        resp.header("www-authenticate")
            .unwrap_or_default()
            .contains("scope=\"kit:write\"")
    );

    let writer = Mcp::connect_as(
        &gw.url(),
        json!({}),
        Some(&keys.issuer.token("alice", "kit:write")),
    )
    .await;
    let echoed = writer
        .call_tool(3, "kit__echo", json!({"message": "x"}))
        .await;
    assert!(echoed.get("result").is_some(), "{echoed}");
}

/// A toolkit that wants the bearer `required` and gets the caller's token.
async fn demanding(required: &str) -> Peer {
    Peer::start_with(
        "auth",
        0,
        &[
            ("AUTH_SERVER_REQUIRE", required),
            ("AUTH_SERVER_CHALLENGE", CHALLENGE),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_challenge_reaches_the_client_on_initialize_call_and_stream() {
    let keys = Keys::new("challenge");
    let accepted = keys.issuer.token("alice", "");
    let refused = keys.issuer.token("alice", "repo");
    let kit = demanding(&accepted).await;
    let gw = TestGateway::start(&one_kit(&keys.jwks, &kit.url(), FORWARD)).await;

    // initialize: the only toolkit refuses, so its challenge is the answer.
    let resp = initialize_with(&gw.url(), &format!("Bearer {refused}")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
    assert_eq!(resp.header("www-authenticate"), Some(CHALLENGE));

    // A session opened with the accepted token, then used with the refused one
    // (same caller): the call and the GET stream relay the challenge.
    let mcp = Mcp::connect_as(&gw.url(), json!({}), Some(&accepted)).await;
    let refusing = Mcp {
        token: Some(format!("Bearer {refused}")),
        ..mcp.clone()
    };
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "kit__whoami", "arguments": {}}});
    let resp = refusing.post(&call).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
    assert_eq!(resp.header("www-authenticate"), Some(CHALLENGE));

    let stream = refusing.open_get("text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        stream
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some(CHALLENGE)
    );
    // The accepted token still works in the same session.
    assert_eq!(
        text(&mcp.call_tool(2, "kit__whoami", json!({})).await),
        format!("Bearer {accepted}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_without_credentials_is_sent_to_the_authorization_url() {
    let keys = Keys::new("elicit");
    let kit = demanding("a-token-nobody-has").await;
    let connect = "https://auth.example.test/connect/kit";
    let options = format!("{FORWARD}, authorization_url: \"{connect}\"");
    let gw = TestGateway::start(&one_kit(&keys.jwks, &kit.url(), &options)).await;
    let token = keys.issuer.token("alice", "");

    // A client that declared URL elicitation is asked on the call's stream.
    let mut with_url = py_client(&gw.url(), "");
    with_url.args([
        "--scenario",
        "auth-elicitation",
        "--tool",
        "kit__whoami",
        "--token",
        &token,
    ]);
    let report: Value =
        serde_json::from_str(&run(with_url, Duration::from_secs(90)).await).unwrap();
    let asked = &report["elicitations"][0];
    assert_eq!(asked["mode"], "url", "{report}");
    assert_eq!(asked["url"], connect, "{report}");
    assert!(
        asked["elicitationId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{report}"
    );
    // Accepted, retried, still refused: the client is told to finish first.
    assert_eq!(report["error"]["code"], -32042, "{report}");

    // A client without URL elicitation gets -32042 with the URL at once.
    let mut without = py_client(&gw.url(), "");
    without.args([
        "--scenario",
        "auth-elicitation",
        "--tool",
        "kit__whoami",
        "--token",
        &token,
        "--no-url-elicitation",
    ]);
    let report: Value = serde_json::from_str(&run(without, Duration::from_secs(90)).await).unwrap();
    assert_eq!(report["elicitations"], json!([]), "{report}");
    assert_eq!(report["error"]["code"], -32042, "{report}");
    assert_eq!(
        report["error"]["data"]["elicitations"][0]["url"], connect,
        "{report}"
    );
    assert_eq!(
        report["error"]["data"]["elicitations"][0]["mode"], "url",
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_credential_is_sent_and_followed_when_the_file_changes() {
    let keys = Keys::new("static");
    let key = keys.scratch.write("key", "first-key\n");
    let kit = Peer::start("auth");
    let options = format!(", credentials: {{ file: \"{key}\" }}");
    let gw = TestGateway::start(&one_kit(&keys.jwks, &kit.url(), &options)).await;
    let caller = keys.issuer.token("alice", "");
    let mcp = Mcp::connect_as(&gw.url(), json!({}), Some(&caller)).await;
    assert_eq!(
        text(&mcp.call_tool(1, "kit__whoami", json!({})).await),
        "Bearer first-key"
    );

    std::fs::write(&key, "second-key\n").unwrap();
    // NB: the file is checked at most once a second; poll for the change.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 2;
    loop {
        let seen = text(&mcp.call_tool(id, "kit__whoami", json!({})).await);
        if seen == "Bearer second-key" {
            break;
        }
        assert_eq!(seen, "Bearer first-key");
        assert!(Instant::now() < deadline, "the new key was never sent");
        id += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = records(&kit).await;
    assert!(
        seen.iter()
            .all(|(_, a)| a.as_deref() != Some(&format!("Bearer {caller}"))),
        "the caller's token never reaches a toolkit that does not forward it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_design_example_loads_and_behaves() {
    let keys = Keys::for_audience("example", "http://127.0.0.1:7114/mcp");
    let (everything, time) = (Peer::start("auth"), Peer::start("auth"));
    let yaml = std::fs::read_to_string(workspace().join("examples/guarded.yaml"))
        .unwrap()
        .replace("/etc/mcpgw/jwks/jwks.json", &keys.jwks)
        .replace("https://auth.example.com", "https://auth.example.test")
        .replace("port: 7114", "port: 0")
        .replace("http://127.0.0.1:3001/mcp", &everything.url())
        .replace("http://127.0.0.1:3002/mcp", &time.url());
    let gw = TestGateway::start(&yaml).await;

    let anonymous = Mcp::connect_as(&gw.url(), json!({}), None).await;
    let tools = tool_names(&anonymous.request(1, "tools/list", json!({})).await);
    assert!(
        tools.iter().all(|t| t.starts_with("everything__")),
        "{tools:?}"
    );

    let token = keys.issuer.token("alice", "time:read");
    let member = Mcp::connect_as(&gw.url(), json!({}), Some(&token)).await;
    let whoami = member.call_tool(2, "time__whoami", json!({})).await;
    assert_eq!(text(&whoami), format!("Bearer {token}"));
    let other = member.call_tool(3, "everything__whoami", json!({})).await;
    assert_eq!(text(&other), "none");
    let bad = initialize_with(
        &gw.url(),
        &format!("Bearer {}", keys.issuer.expired("alice")),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_keys_are_a_503_not_the_callers_fault() {
    let issuer = TestIssuer::new(AUDIENCE);
    let kit = Peer::start("auth");
    // A JWKS "server" on a port of its own that hangs up on every connection:
    // every fetch of the keys fails at once.
    let refusing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks.json", refusing.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((connection, _)) = refusing.accept().await {
            drop(connection);
        }
    });
    let yaml = one_kit("unused", &kit.url(), "")
        .replace("keys_file: unused", &format!("keys: {jwks_url}"));
    let gw = TestGateway::start(&yaml).await;
    let resp = initialize_with(&gw.url(), &format!("Bearer {}", issuer.token("alice", ""))).await;
    assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE, "{resp:?}");
    assert_eq!(resp.header("retry-after"), Some("5"));
    // Anonymous callers, who need no keys, are still served.
    let anonymous = Mcp::connect_as(&gw.url(), json!({}), None).await;
    let whoami = anonymous.call_tool(1, "kit__whoami", json!({})).await;
    assert_eq!(text(&whoami), "none");
}

/// Random and mutated Authorization headers: always 401, never a panic or a
/// 5xx, and the gateway keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_authorization_headers_always_get_401() {
    use rand::{Rng, SeedableRng};
    let t = TwoToolkits::start("fuzz").await;
    let url = t.gw.url();
    let good = t.keys.issuer.token("alice", "secure:use");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6a77);
    let alphabet: Vec<char> = "ABCabc012.-_~+/= \t\"',;:!@#$%&*()[]{}<>?"
        .chars()
        .collect();
    for round in 0..300 {
        let header = match round % 3 {
            0 => (0..rng.random_range(0..80))
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect::<String>(),
            1 => {
                let mut token: Vec<char> = good.chars().collect();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..token.len());
                    token[at] = alphabet[rng.random_range(0..alphabet.len())];
                }
                format!("Bearer {}", token.into_iter().collect::<String>())
            }
            _ => format!("Bearer {}", &good[..rng.random_range(0..good.len())]),
        };
        if header.trim() == format!("Bearer {good}") {
            continue;
        }
        let Ok(value) = http::HeaderValue::from_str(&header) else {
            continue;
        };
        let resp = initialize_with(&url, value.to_str().unwrap()).await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "{header:?}: {resp:?}"
        );
    }
    let still = Mcp::connect_as(&url, json!({}), Some(&good)).await;
    assert!(
        still
            .request(1, "tools/list", json!({}))
            .await
            .get("result")
            .is_some()
    );
}
