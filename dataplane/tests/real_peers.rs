//! The gateway against third-party MCP software over loopback: the reference
//! "everything" server, the time server behind mcp-proxy, the MCP Inspector
//! CLI, the Python SDK client and the official conformance suite, all
//! installed by `tests/peers/install.sh`. A peer proves the contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::conformance::{Suite, differential};
use support::http::Mcp;
use support::{Peer, TestGateway, config, inspector, py_client, run};

const CLI_LIMIT: Duration = Duration::from_secs(90);

fn result_text(v: &Value) -> String {
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn inspector_lists_and_calls_every_toolkit_through_the_gateway() {
    let everything = Peer::start("everything");
    let time = Peer::start("time");
    let gw = TestGateway::start(&config(
        &[("everything", &everything.url()), ("time", &time.url())],
        false,
        "",
    ))
    .await;

    let mut list = inspector(&gw.url());
    list.args(["--method", "tools/list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&run(list, CLI_LIMIT).await).expect("JSON");
    let tools = listed
        .pointer("/result/tools")
        .or(listed.get("tools"))
        .expect("tools");
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    println!("tools through the gateway: {names:?}");
    for expected in [
        "everything__echo",
        "everything__get-sum",
        "time__get_current_time",
        "time__convert_time",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("everything__") || n.starts_with("time__"))
    );

    let mut echo = inspector(&gw.url());
    echo.args([
        "--method",
        "tools/call",
        "--tool-name",
        "everything__echo",
        "--tool-args-json",
        r#"{"message":"via mcpgw"}"#,
    ]);
    let echoed: Value = serde_json::from_str(&run(echo, CLI_LIMIT).await).unwrap();
    assert_eq!(result_text(&echoed), "Echo: via mcpgw");

    let mut now = inspector(&gw.url());
    now.args([
        "--method",
        "tools/call",
        "--tool-name",
        "time__get_current_time",
        "--tool-arg",
        "timezone=Europe/Berlin",
    ]);
    let now: Value = serde_json::from_str(&run(now, CLI_LIMIT).await).unwrap();
    let payload: Value =
        serde_json::from_str(&result_text(&now)).expect("the time server answers JSON text");
    assert_eq!(payload["timezone"], "Europe/Berlin");
    assert_eq!(now["isError"], false);

    let mut resources = inspector(&gw.url());
    resources.args(["--method", "resources/list", "--format", "json"]);
    let resources: Value = serde_json::from_str(&run(resources, CLI_LIMIT).await).unwrap();
    let resources = resources
        .pointer("/result/resources")
        .or(resources.get("resources"))
        .unwrap();
    assert!(
        resources[0]["uri"]
            .as_str()
            .unwrap()
            .starts_with("everything+"),
        "{resources}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_gets_progress_elicitation_and_sampling_through_the_gateway() {
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &everything.url())], false, "")).await;
    let out = run(
        py_client(&gw.url(), "everything__"),
        Duration::from_secs(150),
    )
    .await;
    let got: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    println!("{}", serde_json::to_string_pretty(&got).unwrap());
    assert_eq!(got["errors"], json!([]), "every step ran");

    let progress = got["progress"]["notifications"]
        .as_array()
        .expect("progress");
    let steps: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(steps, vec![1.0, 2.0, 3.0]);
    assert!(
        got["progress"]["result_text"]
            .as_str()
            .unwrap()
            .contains("Long running operation completed")
    );

    let form = &got["elicitation_form"];
    assert!(
        form["params"]["requestedSchema"]["properties"]["name"].is_object(),
        "{form}"
    );
    assert!(
        form["result_text"].as_str().unwrap().contains("Name: Ada"),
        "the accepted content reached the upstream: {form}"
    );

    let url = &got["elicitation_url"];
    assert_eq!(url["params"]["mode"], "url");
    assert_eq!(url["params"]["url"], "https://example.com/connect");
    assert!(
        url["result_text"]
            .as_str()
            .unwrap()
            .contains("completed the URL elicitation"),
        "{url}"
    );

    let required = &got["elicitation_url_error"];
    assert_eq!(required["code"], -32042);
    let elicitations = required["data"]["elicitations"]
        .as_array()
        .expect("data.elicitations intact");
    assert_eq!(elicitations[0]["mode"], "url");
    assert!(elicitations[0]["elicitationId"].is_string());

    let sampling = &got["sampling"];
    assert!(
        sampling["params"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("say hi")
    );
    assert!(
        sampling["result_text"]
            .as_str()
            .unwrap()
            .contains("hello from py_client"),
        "the reply reached the upstream: {sampling}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_checks_that_pass_directly_also_pass_through_the_gateway() {
    let everything = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &everything.url())], true, "")).await;
    differential(&everything.url(), &gw.url(), Suite::Stable).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_upstream_gives_an_error_in_time_and_a_restarted_one_serves_the_same_session() {
    // everything misreports a lost session as 400, mcp-proxy says 404: both must recover.
    for name in ["everything", "time"] {
        let peer = Peer::start(name);
        let port = peer.port;
        let gw = TestGateway::start(&config(&[(name, &peer.url())], false, "")).await;
        let mcp = Mcp::connect(&gw.url(), json!({})).await;
        let (tool, args) = match name {
            "everything" => ("everything__echo", json!({"message": "before"})),
            _ => ("time__get_current_time", json!({"timezone": "UTC"})),
        };
        let before = mcp.call_tool(1, tool, args.clone()).await;
        assert!(before.get("result").is_some(), "{before}");

        peer.stop();
        let started = Instant::now();
        let down = mcp.call_tool(2, tool, args.clone()).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered within the timeout"
        );
        assert_eq!(down["error"]["code"], -32603, "{down}");
        assert!(down["error"]["message"].as_str().unwrap().contains(name));

        let _restarted = Peer::start_on(name, port);
        let after = mcp.call_tool(3, tool, args).await;
        assert!(
            after.get("result").is_some(),
            "{name}: the gateway re-initialized the upstream: {after}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_upstream_mid_call_ends_the_call_with_an_error() {
    let peer = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &peer.url())], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "everything__trigger-long-running-operation",
        "arguments": {"duration": 30, "steps": 30},
        "_meta": {"progressToken": "p"}}});
    let resp = mcp.post_open(&call).await;
    let mut body = resp.into_body();
    let (first, _) =
        support::http::read_until(&mut body, |m| m["method"] == "notifications/progress").await;
    assert!(!first.is_empty(), "progress flowed before the kill");
    peer.stop();
    let (rest, _) = tokio::time::timeout(
        Duration::from_secs(10),
        support::http::read_until(&mut body, |m| m.get("id").is_some()),
    )
    .await
    .expect("the call ends within the timeout");
    let last = rest.last().expect("an error response");
    assert_eq!(last["id"], 5);
    assert_eq!(last["error"]["code"], -32603, "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_call_closes_the_stream_although_everything_keeps_its_own_open() {
    let peer = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &peer.url())], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let call = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {
        "name": "everything__trigger-long-running-operation",
        "arguments": {"duration": 30, "steps": 30},
        "_meta": {"progressToken": "cancel-me"}}});
    let mut body = mcp.post_open(&call).await.into_body();
    let (first, _) =
        support::http::read_until(&mut body, |m| m["method"] == "notifications/progress").await;
    assert!(!first.is_empty());
    let started = Instant::now();
    let ack = mcp
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 8, "reason": "test"}}))
        .await;
    assert_eq!(ack.status, http::StatusCode::ACCEPTED);
    let (rest, _) = tokio::time::timeout(
        Duration::from_secs(5),
        support::http::read_until(&mut body, |m| m.get("id").is_some()),
    )
    .await
    .expect("the gateway closes its stream instead of waiting 30 s");
    assert!(
        rest.iter().all(|m| m.get("id").is_none()),
        "no response after a cancel: {rest:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The session is still good.
    let echo = mcp
        .call_tool(9, "everything__echo", json!({"message": "still here"}))
        .await;
    assert_eq!(result_text(&echo["result"]), "Echo: still here");
}

#[tokio::test(flavor = "multi_thread")]
async fn task_augmented_calls_work_through_the_prefixed_gateway() {
    let peer = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &peer.url())], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let created = mcp
        .request(
            2,
            "tools/call",
            json!({"name": "everything__simulate-research-query",
            "arguments": {"topic": "gateways"}, "task": {"ttl": 60000}}),
        )
        .await;
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .expect("a task")
        .to_owned();
    assert!(task_id.starts_with("everything+"), "{task_id}");
    let got = mcp
        .request(3, "tasks/get", json!({"taskId": task_id}))
        .await;
    assert_eq!(got["result"]["taskId"], task_id.as_str(), "{got}");
    let listed = mcp.request(4, "tasks/list", json!({})).await;
    let ids: Vec<_> = listed["result"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].clone())
        .collect();
    assert!(ids.contains(&json!(task_id)), "{listed}");
    let done = mcp
        .request(5, "tasks/result", json!({"taskId": task_id}))
        .await;
    assert!(result_text(&done["result"]).contains("gateways"), "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_argument_in_the_clients_own_layout_reaches_the_real_server_intact() {
    // The gateway splices the toolkit's name into the params as the client
    // wrote them (spacing, member order, escapes in the arguments) and copies
    // the rest: the real server must read the request it was sent.
    let peer = Peer::start("everything");
    let gw = TestGateway::start(&config(&[("everything", &peer.url())], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let message = format!("é 😀 \"quoted\"\n{}", "0123456789abcdef".repeat(1024));
    let escaped = serde_json::to_string(&message).unwrap();
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{ "arguments" : {{ "message" : {escaped} }} ,
            "name" : "everything__echo" }} }}"#
    );
    let resp = mcp.post_text(&body).await;
    assert_eq!(resp.status, 200, "{resp:?}");
    let response = resp.response();
    assert_eq!(response["id"], 7, "{response}");
    let text = result_text(&response["result"]);
    // NB: compared without printing 16 KB on failure.
    assert!(
        text == format!("Echo: {message}"),
        "{}",
        &response.to_string()[..300.min(response.to_string().len())]
    );
}
