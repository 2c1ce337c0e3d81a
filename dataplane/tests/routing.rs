//! Routing by toolkit and naming, with two scripted toolkits `a` and `b` that
//! record what reaches them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::http::{Mcp, tool_names};
use support::mock::{self, Answer, Mock, Seen};
use support::{TestGateway, config};

/// A toolkit that answers every request by echoing its params, paginates
/// `tools/list` in two pages, and links a resource from `tools/call`.
fn toolkit(name: &'static str) -> impl Fn(&Seen) -> Answer + Send + Sync + 'static {
    let base = mock::server(move |seen| {
        let params = seen.body.as_ref().unwrap()["params"].clone();
        Answer::Json(
            mock::result(
                seen,
                json!({"content": [
                    {"type": "text", "text": format!("{name} got {params}")},
                    {"type": "resource_link", "uri": "demo://doc", "name": "doc"},
                ]}),
            ),
            None,
        )
    });
    move |seen: &Seen| {
        let params = seen
            .body
            .as_ref()
            .and_then(|b| b.get("params"))
            .cloned()
            .unwrap_or(Value::Null);
        match seen.rpc_method() {
            Some("tools/list") => {
                let page = match params.get("cursor").and_then(Value::as_str) {
                    None => {
                        json!({"tools": [{"name": "one", "inputSchema": {"type": "object"}}], "nextCursor": "page2"})
                    }
                    Some("page2") => {
                        json!({"tools": [{"name": "two", "inputSchema": {"type": "object"}}]})
                    }
                    Some(_) => {
                        return Answer::Json(
                            json!({"jsonrpc": "2.0", "id": seen.id(), "error": {"code": -32602, "message": "bad cursor"}}),
                            None,
                        );
                    }
                };
                Answer::Json(mock::result(seen, page), None)
            }
            Some("resources/read") => Answer::Json(
                mock::result(
                    seen,
                    json!({"contents": [{"uri": params["uri"], "text": name}]}),
                ),
                None,
            ),
            Some("completion/complete") => Answer::Json(
                mock::result(
                    seen,
                    json!({"completion": {"values": [params["ref"].to_string()]}}),
                ),
                None,
            ),
            _ => base(seen),
        }
    }
}

async fn setup() -> (Mock, Mock, TestGateway, Mcp) {
    let a = Mock::start(toolkit("a")).await;
    let b = Mock::start(toolkit("b")).await;
    let gw = TestGateway::start(&config(&[("a", &a.url), ("b", &b.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    (a, b, gw, mcp)
}

fn count(mock: &Mock, method: &str) -> usize {
    mock.methods().iter().filter(|m| *m == method).count()
}

#[tokio::test]
async fn calls_strip_the_prefix_and_reach_only_the_owning_toolkit() {
    let (a, b, _gw, mcp) = setup().await;
    let result = mcp.call_tool(2, "b__hello", json!({"x": 1})).await;
    let text = result["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("b got "), "{text}");
    assert!(
        text.contains(r#""name":"hello""#),
        "the upstream sees its own name: {text}"
    );
    assert_eq!(count(&a, "tools/call"), 0);
    assert_eq!(count(&b, "tools/call"), 1);
    // The resource the tool linked to is named so that it can be read through the gateway.
    let link = &result["result"]["content"][1]["uri"];
    assert_eq!(link, "b+demo://doc");
    let read = mcp.request(3, "resources/read", json!({"uri": link})).await;
    assert_eq!(read["result"]["contents"][0]["uri"], "b+demo://doc");
    assert_eq!(read["result"]["contents"][0]["text"], "b");
    let upstream_read = b
        .seen()
        .into_iter()
        .find(|s| s.rpc_method() == Some("resources/read"))
        .unwrap();
    assert_eq!(upstream_read.body.unwrap()["params"]["uri"], "demo://doc");
}

#[tokio::test]
async fn unknown_toolkits_and_unprefixed_names_are_unknown_tools() {
    let (a, b, _gw, mcp) = setup().await;
    for name in ["c__hello", "hello", "__hello", "a_hello"] {
        let result = mcp.call_tool(2, name, json!({})).await;
        assert_eq!(result["error"]["code"], -32602, "{name}: {result}");
        assert!(result["error"]["message"].as_str().unwrap().contains(name));
    }
    assert_eq!(count(&a, "tools/call") + count(&b, "tools/call"), 0);
}

#[tokio::test]
async fn completion_references_are_mapped_to_the_owning_toolkit() {
    let (a, _b, _gw, mcp) = setup().await;
    let prompt = mcp
        .request(2, "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "a__greet"}, "argument": {"name": "x", "value": ""}}))
        .await;
    assert_eq!(
        prompt["result"]["completion"]["values"][0],
        r#"{"name":"greet","type":"ref/prompt"}"#
    );
    let resource = mcp
        .request(3, "completion/complete", json!({"ref": {"type": "ref/resource", "uri": "a+demo://{id}"}, "argument": {"name": "id", "value": ""}}))
        .await;
    assert_eq!(
        resource["result"]["completion"]["values"][0],
        r#"{"type":"ref/resource","uri":"demo://{id}"}"#
    );
    assert_eq!(count(&a, "completion/complete"), 2);
}

#[tokio::test]
async fn lists_merge_in_route_order_and_paginate_per_toolkit() {
    let (a, b, _gw, mcp) = setup().await;
    let first = mcp.request(2, "tools/list", json!({})).await;
    assert_eq!(tool_names(&first), ["a__one", "b__one"]);
    let cursor = first["result"]["nextCursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let second = mcp
        .request(3, "tools/list", json!({"cursor": cursor}))
        .await;
    assert_eq!(tool_names(&second), ["a__two", "b__two"]);
    assert!(
        second["result"].get("nextCursor").is_none(),
        "the walk ends"
    );
    for toolkit in [&a, &b] {
        let cursors: Vec<Value> = toolkit
            .seen()
            .into_iter()
            .filter(|s| s.rpc_method() == Some("tools/list"))
            .map(|s| {
                s.body.unwrap()["params"]
                    .get("cursor")
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect();
        assert_eq!(
            cursors,
            vec![Value::Null, json!("page2")],
            "each toolkit gets its own cursor"
        );
    }
    let invalid = mcp
        .request(4, "tools/list", json!({"cursor": "bm90LWEtY3Vyc29y"}))
        .await;
    assert_eq!(invalid["error"]["code"], -32602);
}

#[tokio::test]
async fn server_to_client_requests_carry_their_toolkit_in_the_id_and_answers_go_back() {
    let ask = json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {"message": "name?", "requestedSchema": {"type": "object", "properties": {}}}});
    let a = Mock::start(mock::server(move |_| {
        Answer::SseOpen(vec![mock::event(None, &ask)])
    }))
    .await;
    let b = Mock::start(toolkit("b")).await;
    let gw = TestGateway::start(&config(&[("a", &a.url), ("b", &b.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({"elicitation": {}})).await;
    let resp = mcp
        .post_open(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "a__ask"}}))
        .await;
    let mut body = resp.into_body();
    let (got, _) = support::http::read_until(&mut body, |_| true).await;
    assert_eq!(got[0]["method"], "elicitation/create");
    let id = got[0]["id"].clone();
    assert_eq!(id, "a/0", "the id names its toolkit");
    let ack = mcp
        .post(&json!({"jsonrpc": "2.0", "id": id, "result": {"action": "accept", "content": {}}}))
        .await;
    assert_eq!(ack.status, http::StatusCode::ACCEPTED);
    let answer = a
        .seen()
        .into_iter()
        .find(|s| s.body.as_ref().is_some_and(|b| b.get("result").is_some()))
        .expect("answered");
    assert_eq!(
        answer.id(),
        Some(&json!(0)),
        "the upstream gets its own id back"
    );
    assert_eq!(answer.header("mcp-session-id"), Some("s1"));
    assert!(
        b.seen()
            .iter()
            .all(|s| s.body.as_ref().is_none_or(|b| b.get("result").is_none()))
    );
}

#[tokio::test]
async fn initialize_declares_the_union_of_what_toolkits_offer() {
    let (a, b, gw, _mcp) = setup().await;
    let resp = Mcp::connect(
        &gw.url(),
        json!({"sampling": {}, "roots": {"listChanged": true}}),
    )
    .await;
    assert!(resp.session.is_some());
    // Every toolkit was initialized with the client's own capabilities.
    for toolkit in [&a, &b] {
        let init = toolkit
            .seen()
            .into_iter()
            .filter(|s| s.rpc_method() == Some("initialize"))
            .last()
            .unwrap();
        assert_eq!(
            init.body.unwrap()["params"]["capabilities"],
            json!({"sampling": {}, "roots": {"listChanged": true}})
        );
    }
    let init = support::http::send(
        http::Method::POST,
        &gw.url(),
        &[("content-type", "application/json"), ("accept", support::http::BOTH)],
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
    )
    .await
    .json();
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["result"]["capabilities"]["tools"]["listChanged"], true);
    assert_eq!(init["result"]["serverInfo"]["name"], "mcpgw");
}

#[tokio::test]
async fn allow_lists_hide_names_from_lists_and_calls() {
    let a = Mock::start(toolkit("a")).await;
    let b = Mock::start(toolkit("b")).await;
    let yaml = config(&[("a", &a.url), ("b", &b.url)], false, "").replace(
        "{ toolkit: a }",
        "{ toolkit: a, tools: [ \"t*o\" ], resources: [ \"demo://public/*\" ] }",
    );
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let first = mcp.request(2, "tools/list", json!({})).await;
    assert_eq!(
        tool_names(&first),
        ["b__one"],
        "a's `one` does not match `t*o`"
    );
    let second = mcp
        .request(
            3,
            "tools/list",
            json!({"cursor": first["result"]["nextCursor"]}),
        )
        .await;
    assert_eq!(tool_names(&second), ["a__two", "b__two"]);
    // A hidden tool is unknown, by any name.
    let hidden = mcp.call_tool(4, "a__one", json!({})).await;
    assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
    let allowed = mcp.call_tool(5, "a__two", json!({})).await;
    assert!(allowed.get("result").is_some(), "{allowed}");
    assert_eq!(a.methods().iter().filter(|m| *m == "tools/call").count(), 1);
    let hidden_read = mcp
        .request(6, "resources/read", json!({"uri": "a+demo://doc"}))
        .await;
    assert_eq!(hidden_read["error"]["code"], -32602);
    let open_read = mcp
        .request(7, "resources/read", json!({"uri": "b+demo://doc"}))
        .await;
    assert!(open_read.get("result").is_some());
}

#[tokio::test]
async fn an_allow_list_turns_the_transparent_single_toolkit_relay_into_a_filter() {
    let a = Mock::start(toolkit("a")).await;
    let yaml = config(&[("a", &a.url)], true, "")
        .replace("{ toolkit: a }", "{ toolkit: a, tools: [ \"two\" ] }");
    let gw = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let mut names = vec![];
    let mut cursor = serde_json::Value::Null;
    for id in 2..5 {
        let page = mcp
            .request(id, "tools/list", json!({"cursor": cursor}))
            .await;
        names.extend(
            page["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].clone()),
        );
        cursor = page["result"]["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(names, vec![json!("two")]);
    assert_eq!(
        mcp.call_tool(6, "one", json!({})).await["error"]["code"],
        -32602
    );
}

/// A toolkit whose `tools/call` answers are written out by hand: `plain`
/// (nothing to rename, in the upstream's own spacing and member order),
/// `linked` (a resource link) and `escaped` (a link spelled with a `\u` escape).
fn handwritten(seen: &Seen) -> Answer {
    if seen.rpc_method() != Some("tools/call") {
        return mock::server(|seen| Answer::Json(mock::result(seen, json!({})), None))(seen);
    }
    let id = seen.id().unwrap().to_string();
    let body = match seen.body.as_ref().unwrap()["params"]["name"]
        .as_str()
        .unwrap()
    {
        "plain" => format!(
            r#"{{ "result" : {{"content":[{{"type":"text","text":"é \"q\""}}]}}, "id" : {id}, "jsonrpc":"2.0" }}"#
        ),
        "linked" => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"resource_link","uri":"demo://doc","name":"doc"}}]}}}}"#
        ),
        "escaped" => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"\u0072esource_link","uri":"demo://doc","name":"doc"}}]}}}}"#
        ),
        other => panic!("no tool {other}"),
    };
    Answer::Status(200, body)
}

#[tokio::test]
async fn a_result_with_nothing_to_rename_is_relayed_as_the_upstream_wrote_it_and_others_are_renamed()
 {
    let kit = Mock::start(handwritten).await;
    let gw = TestGateway::start(&config(&[("kit", &kit.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let call = |id: i64, name: &str| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": format!("kit__{name}"), "arguments": {}}});

    let plain = mcp.post(&call(2, "plain")).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("application/json"));
    let written = r#"{ "result" : {"content":[{"type":"text","text":"é \"q\""}]}, "id" : 2, "jsonrpc":"2.0" }"#;
    assert_eq!(std::str::from_utf8(&plain.body).unwrap(), written);

    for (id, name) in [(3, "linked"), (4, "escaped")] {
        let linked = mcp.post(&call(id, name)).await.json();
        assert_eq!(linked["id"], id);
        assert_eq!(
            linked["result"]["content"][0]["uri"], "kit+demo://doc",
            "{name}: {linked}"
        );
    }
}

#[tokio::test]
async fn a_calls_params_reach_the_toolkit_as_the_client_wrote_them_but_for_the_name() {
    let kit = Mock::start(toolkit("kit")).await;
    let gw = TestGateway::start(&config(&[("kit", &kit.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    // The client's spacing and member order, a number a float would round
    // differently if written out again, and a large argument.
    let text = "x".repeat(20_000);
    let params = |name: &str| {
        format!(
            r#"{{ "arguments" : {{"text":"{text}", "n": 1.10, "list":[ 1,2 ]}}, "name":"{name}" ,"_meta":{{"progressToken":"p"}} }}"#
        )
    };
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}}"#,
        params("kit__echo")
    );
    let resp = mcp.post_text(&body).await;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["id"], 5);
    let call = kit
        .seen()
        .into_iter()
        .find(|s| s.rpc_method() == Some("tools/call"))
        .expect("the toolkit got the call");
    let sent = std::str::from_utf8(&call.raw).unwrap();
    assert!(
        sent.contains(&params("echo")),
        "the params as written, the name the toolkit's own: {}",
        &sent[..200.min(sent.len())]
    );

    // Params whose text could read two ways are rebuilt: a repeated name is
    // routed by, and sent as, the one name a JSON value keeps (the last).
    let body = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"kit__other","name":"kit__echo","arguments":{}}}"#;
    assert_eq!(mcp.post_text(body).await.json()["id"], 6);
    let calls: Vec<_> = kit
        .seen()
        .into_iter()
        .filter(|s| s.rpc_method() == Some("tools/call"))
        .collect();
    let sent = std::str::from_utf8(&calls[1].raw).unwrap();
    assert_eq!(sent.matches("\"name\"").count(), 1, "{sent}");
    assert_eq!(calls[1].body.as_ref().unwrap()["params"]["name"], "echo");
}
