//! The proxy serves a message that belongs to no session (the shape of the
//! 2026-07-28 era, whose wire protocol the edge does not speak yet): lists,
//! tool calls, prompts and resources reach a scripted upstream through a
//! [`Call`] built without a session, in process, with no HTTP edge in front.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use mcpgw_config::{AccessRule, EgressPlan, PrefixMode, ProxyPlan, ToolkitPlan};
use mcpgw_dataplane::call::Call;
use mcpgw_dataplane::jsonrpc::{Request, RequestId};
use mcpgw_dataplane::mcp::{Era, LATEST_VERSION};
use mcpgw_dataplane::metrics::Metrics;
use mcpgw_dataplane::principal::Principal;
use mcpgw_dataplane::proxy::{Proxy, Reply};
use mcpgw_dataplane::south::{Hello, HttpClient};
use serde_json::{Value, json};
use support::mock::{self, Answer, Mock, Seen};

/// An upstream with a tool, a prompt and a resource.
fn upstream(seen: &Seen) -> Answer {
    let answer = |result| Answer::Json(mock::result(seen, result), None);
    match (seen.method.clone(), seen.rpc_method()) {
        (Method::POST, Some("initialize")) => Answer::Json(
            mock::result(
                seen,
                json!({
                    "protocolVersion": LATEST_VERSION,
                    "capabilities": {"tools": {}, "prompts": {}, "resources": {}},
                    "serverInfo": {"name": "mock", "version": "1"},
                }),
            ),
            Some("upstream-session".into()),
        ),
        (Method::POST, Some("tools/list")) => {
            answer(json!({"tools": [{"name": "hello", "inputSchema": {"type": "object"}}]}))
        }
        (Method::POST, Some("tools/call")) => {
            let name = seen
                .body
                .as_ref()
                .map_or(Value::Null, |b| b["params"]["name"].clone());
            answer(json!({"content": [{"type": "text", "text": format!("called {name}")}]}))
        }
        (Method::POST, Some("prompts/get")) => answer(
            json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}]}),
        ),
        (Method::POST, Some("resources/read")) => {
            answer(json!({"contents": [{"uri": "file:///a", "text": "A"}]}))
        }
        (Method::POST, _) => Answer::Accepted,
        _ => Answer::Status(405, String::new()),
    }
}

fn proxy(server: &str) -> Proxy {
    let server = url::Url::parse(server).expect("mock URL");
    let plan = ProxyPlan {
        prefix: PrefixMode::Always,
        toolkits: vec![ToolkitPlan {
            name: "files".into(),
            client_binding: "client_files".into(),
            egress: EgressPlan::for_server(&server),
            server,
            timeout: Duration::from_secs(5),
            access: vec![AccessRule::open()],
            forward: None,
            credentials: None,
            authorization_url: None,
            max_concurrent_requests: None,
            rate_limit: None,
            circuit_breaker: None,
            retries: None,
        }],
        cache: None,
    };
    let metrics = Arc::new(Metrics::default());
    Proxy::new("test", &plan, &HttpClient::new(), metrics, None).expect("proxy")
}

/// A call as the stateless era makes one: no session, the client's
/// capabilities carried by the message.
fn sessionless_call() -> Call {
    let hello = Hello {
        // NB: upstreams are still spoken to in the 2025 era.
        protocol_version: LATEST_VERSION.to_owned(),
        capabilities: json!({}),
        client_info: json!({"name": "stateless-client", "version": "1"}),
        log_level: None,
    };
    Call::sessionless(
        &Principal::Anonymous,
        Era::Stateless,
        "2026-07-28",
        Arc::new(hello),
    )
}

/// The response the proxy gave, as JSON.
async fn response(reply: Reply) -> Value {
    let bytes = match reply {
        Reply::Message(message) => message.encode(),
        Reply::Json(bytes, _) => bytes,
        Reply::Stream(mut frames) => {
            let mut all = Vec::new();
            while let Some(frame) = frames.recv().await {
                all.extend_from_slice(&frame);
            }
            let messages = support::http::sse_messages(&all);
            return messages.last().cloned().expect("a response on the stream");
        }
        Reply::Challenge(challenge) => panic!("refused: {challenge:?}"),
    };
    serde_json::from_slice(&bytes).expect("JSON response")
}

/// A proxy in front of the scripted upstream, and a call with no session.
struct Fixture {
    mock: Mock,
    proxy: Proxy,
    call: Call,
}

impl Fixture {
    async fn start() -> Self {
        let mock = Mock::start(upstream).await;
        let proxy = proxy(&mock.url);
        Self {
            mock,
            proxy,
            call: sessionless_call(),
        }
    }

    /// The proxy's response to one request of the call.
    async fn ask(&self, method: &str, params: Value) -> Value {
        let request = Request::new(RequestId::Number(1), method, Some(params));
        response(self.proxy.request(&self.call, request).await).await
    }
}

#[tokio::test]
async fn a_call_without_a_session_lists_and_calls_tools() {
    let gateway = Fixture::start().await;
    assert!(gateway.call.session.is_none());

    let listed = gateway.ask("tools/list", json!({})).await;
    let name = &listed["result"]["tools"][0]["name"];
    assert_eq!(name, "files__hello", "{listed}");

    let called = gateway
        .ask("tools/call", json!({"name": "files__hello"}))
        .await;
    let text = &called["result"]["content"][0]["text"];
    assert_eq!(text, "called \"hello\"", "{called}");
}

#[tokio::test]
async fn a_call_without_a_session_reads_prompts_and_resources() {
    let gateway = Fixture::start().await;

    let prompt = gateway
        .ask("prompts/get", json!({"name": "files__greet"}))
        .await;
    let text = &prompt["result"]["messages"][0]["content"]["text"];
    assert_eq!(text, "hi", "{prompt}");

    let read = gateway
        .ask("resources/read", json!({"uri": "files+file:///a"}))
        .await;
    assert_eq!(read["result"]["contents"][0]["text"], "A", "{read}");
}

#[tokio::test]
async fn sessionless_messages_of_one_caller_share_the_toolkits_upstream_session() {
    let gateway = Fixture::start().await;

    gateway.ask("tools/list", json!({})).await;
    gateway
        .ask("tools/call", json!({"name": "files__hello"}))
        .await;

    // NB: with no downstream session the toolkit keeps the upstream session
    // (per caller and client capabilities), so the second message needs no handshake.
    let methods = gateway.mock.methods();
    let initializes = methods.iter().filter(|m| *m == "initialize").count();
    assert_eq!(initializes, 1, "{methods:?}");
}
