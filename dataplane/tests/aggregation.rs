//! Many real toolkits behind one endpoint: the reference "everything" server,
//! the time server behind mcp-proxy and the paginating `paging` peer, driven
//! by real clients (Inspector CLI, Python SDK) and by raw HTTP where the test
//! must control timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::http::{Mcp, read_until, tool_names};
use support::{Peer, TestGateway, config, inspector, peers_home, run, workspace};

const CLI_LIMIT: Duration = Duration::from_secs(90);

/// Every text block of a tool result, joined.
fn all_text(response: &Value) -> String {
    response["result"]["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// `key` of every item of a list result.
fn names_of(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .filter_map(|item| item[key].as_str())
        .map(str::to_owned)
        .collect()
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("{field}: {list}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_real_upstreams_aggregate_for_the_inspector_and_the_python_sdk() {
    let (everything, time, paging) = (
        Peer::start("everything"),
        Peer::start("time"),
        Peer::start("paging"),
    );
    let gw = TestGateway::start(&config(
        &[
            ("everything", &everything.url()),
            ("time", &time.url()),
            ("paging", &paging.url()),
        ],
        false,
        "",
    ))
    .await;

    // The Inspector CLI follows the gateway's cursor to the end of the list.
    let mut list = inspector(&gw.url());
    list.args(["--method", "tools/list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&run(list, CLI_LIMIT).await).unwrap();
    let tools = tool_names(&listed);
    for expected in [
        "everything__echo",
        "time__get_current_time",
        "paging__tool-01",
        "paging__tool-23",
        "paging__set-tool-count",
    ] {
        assert!(
            tools.iter().any(|t| t == expected),
            "{expected} missing from {tools:?}"
        );
    }
    assert_eq!(
        tools.iter().filter(|t| t.starts_with("paging__")).count(),
        24,
        "every page of `paging`"
    );
    let inspect = |method: &'static str| {
        let mut cmd = inspector(&gw.url());
        cmd.args(["--method", method, "--format", "json"]);
        cmd
    };
    let prompts: Value =
        serde_json::from_str(&run(inspect("prompts/list"), CLI_LIMIT).await).unwrap();
    let prompts = names_of(&prompts["result"]["prompts"], "name");
    assert_eq!(
        prompts
            .iter()
            .filter(|p| p.starts_with("paging__prompt-"))
            .count(),
        12,
        "{prompts:?}"
    );
    assert!(
        prompts.iter().any(|p| p.starts_with("everything__")),
        "{prompts:?}"
    );
    let resources: Value =
        serde_json::from_str(&run(inspect("resources/list"), CLI_LIMIT).await).unwrap();
    let resources = names_of(&resources["result"]["resources"], "uri");
    assert_eq!(
        resources
            .iter()
            .filter(|r| r.starts_with("paging+paging://"))
            .count(),
        27,
        "{resources:?}"
    );
    assert!(
        resources
            .iter()
            .any(|r| r.starts_with("everything+demo://")),
        "{resources:?}"
    );
    let mut read = inspect("resources/read");
    read.args(["--uri", "paging+paging://resource/07"]);
    let read: Value = serde_json::from_str(&run(read, CLI_LIMIT).await).unwrap();
    assert_eq!(
        read["result"]["contents"][0]["text"], "resource 07",
        "{read}"
    );
    assert_eq!(
        read["result"]["contents"][0]["uri"],
        "paging+paging://resource/07"
    );

    // The Python SDK walks every list page by page, calls one tool of each
    // toolkit, and reads the resources the results linked to.
    let python = peers_home().join("venv/bin/python");
    let mut walk = tokio::process::Command::new(python);
    walk.arg(workspace().join("tests/peers/py_aggregate.py"))
        .arg(gw.url())
        .args([
            "--call",
            r#"everything__echo={"message":"hi"}"#,
            "--call",
            r#"time__get_current_time={"timezone":"Asia/Tokyo"}"#,
            "--call",
            r#"paging__tool-01={"x":1}"#,
            "--call",
            r#"everything__get-resource-links={"count":1}"#,
        ]);
    let walked: Value = serde_json::from_str(&run(walk, CLI_LIMIT).await).unwrap();
    println!("{}", serde_json::to_string_pretty(&walked).unwrap());
    let tools = names(&walked["tools"], "tools");
    assert_eq!(
        tools
            .iter()
            .filter(|t| t.starts_with("paging__tool-"))
            .count(),
        23
    );
    assert!(
        walked["pages"]["tools"].as_u64().unwrap() >= 5,
        "paginated: {}",
        walked["pages"]
    );
    let prompts = names(&walked["prompts"], "prompts");
    assert_eq!(
        prompts
            .iter()
            .filter(|p| p.starts_with("paging__prompt-"))
            .count(),
        12
    );
    assert!(prompts.iter().any(|p| p.starts_with("everything__")));
    let resources = names(&walked["resources"], "resources");
    assert_eq!(
        resources
            .iter()
            .filter(|r| r.starts_with("paging+paging://resource/"))
            .count(),
        27
    );
    assert!(
        resources
            .iter()
            .any(|r| r.starts_with("everything+demo://"))
    );
    assert!(
        names(&walked["templates"], "templates")
            .contains(&"paging+paging://resource/{id}".to_owned())
    );

    let calls = &walked["calls"];
    assert_eq!(calls["everything__echo"]["text"], "Echo: hi");
    assert!(
        calls["time__get_current_time"]["text"]
            .as_str()
            .unwrap()
            .contains("Asia/Tokyo")
    );
    assert!(
        calls["paging__tool-01"]["text"]
            .as_str()
            .unwrap()
            .starts_with("tool-01 called with")
    );
    assert_eq!(
        calls["paging__tool-01"]["links"],
        json!(["paging+paging://resource/03"])
    );
    assert_eq!(
        walked["reads"]["paging+paging://resource/03"],
        "resource 03"
    );
    let everything_link = calls["everything__get-resource-links"]["links"][0]
        .as_str()
        .unwrap();
    assert!(
        everything_link.starts_with("everything+"),
        "{everything_link}"
    );
    assert!(
        walked["reads"].get(everything_link).is_some(),
        "the linked resource was read through the gateway"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_toolkits_asking_the_client_at_once_each_get_their_own_answer() {
    let (a, b) = (Peer::start("everything"), Peer::start("everything"));
    let gw = TestGateway::start(&config(&[("a", &a.url()), ("b", &b.url())], false, "")).await;
    let mcp = Mcp::connect(
        &gw.url(),
        json!({"sampling": {}, "elicitation": {"form": {}}}),
    )
    .await;
    let sample = json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {
        "name": "a__trigger-sampling-request", "arguments": {"prompt": "for a", "maxTokens": 10}}});
    let elicit = json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {
        "name": "b__trigger-elicitation-request", "arguments": {}}});
    let (sampling, elicitation) = tokio::join!(mcp.post_open(&sample), mcp.post_open(&elicit));
    let (mut sampling, mut elicitation) = (sampling.into_body(), elicitation.into_body());
    let asks = |m: &Value| m.get("method").is_some() && m.get("id").is_some();
    let (got_a, got_b) = tokio::join!(
        read_until(&mut sampling, asks),
        read_until(&mut elicitation, asks)
    );
    let (ask_a, ask_b) = (
        got_a.0.last().unwrap().clone(),
        got_b.0.last().unwrap().clone(),
    );
    assert_eq!(ask_a["method"], "sampling/createMessage");
    assert_eq!(ask_b["method"], "elicitation/create");
    println!("server->client ids: a {} / b {}", ask_a["id"], ask_b["id"]);
    assert!(
        ask_a["id"].as_str().unwrap().starts_with("a/")
            && ask_b["id"].as_str().unwrap().starts_with("b/")
    );
    assert_ne!(
        ask_a["id"], ask_b["id"],
        "ids from two upstream sessions never collide downstream"
    );

    // Answer in the opposite order from the asking.
    let answer_b = json!({"jsonrpc": "2.0", "id": ask_b["id"], "result": {"action": "accept", "content": {"name": "Bea"}}});
    let answer_a = json!({"jsonrpc": "2.0", "id": ask_a["id"], "result": {"role": "assistant",
        "content": {"type": "text", "text": "sampled for a"}, "model": "fake", "stopReason": "endTurn"}});
    assert_eq!(mcp.post(&answer_b).await.status, http::StatusCode::ACCEPTED);
    assert_eq!(mcp.post(&answer_a).await.status, http::StatusCode::ACCEPTED);
    let done = |m: &Value| m.get("id").is_some() && m.get("method").is_none();
    let (end_a, end_b) = tokio::join!(
        read_until(&mut sampling, done),
        read_until(&mut elicitation, done)
    );
    let (result_a, result_b) = (end_a.0.last().unwrap(), end_b.0.last().unwrap());
    assert_eq!(result_a["id"], 10);
    assert!(all_text(result_a).contains("sampled for a"), "{result_a}");
    assert_eq!(result_b["id"], 11);
    assert!(all_text(result_b).contains("Bea"), "{result_b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_upstream_is_left_out_and_serves_again_in_the_same_session_once_back() {
    let everything = Peer::start("everything");
    let time = Peer::start("time");
    let time_port = time.port;
    let gw = TestGateway::start(
        &config(
            &[("everything", &everything.url()), ("time", &time.url())],
            false,
            "",
        )
        .replace("PT10S", "PT3S"),
    )
    .await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let now = json!({"timezone": "UTC"});
    assert!(
        mcp.call_tool(1, "time__get_current_time", now.clone())
            .await
            .get("result")
            .is_some()
    );

    time.stop();
    let started = Instant::now();
    let list = mcp.request(2, "tools/list", json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "within the toolkit timeout"
    );
    let tools = tool_names(&list);
    assert!(tools.iter().any(|t| t == "everything__echo"), "{tools:?}");
    assert!(!tools.iter().any(|t| t.starts_with("time__")), "{tools:?}");
    let down = mcp
        .call_tool(3, "time__get_current_time", now.clone())
        .await;
    assert_eq!(down["error"]["code"], -32603);
    assert!(
        down["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`time`"),
        "{down}"
    );

    let _time = Peer::start_on("time", time_port);
    let back = mcp.call_tool(4, "time__get_current_time", now).await;
    assert!(back.get("result").is_some(), "{back}");
    let list = mcp.request(5, "tools/list", json!({})).await;
    assert!(
        list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "time__get_current_time")
    );
}

/// A `mcpgw-dataplane` process, killed on drop.
struct GatewayProcess {
    child: std::process::Child,
    url: String,
}

impl GatewayProcess {
    fn start(config: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcpgw-dataplane"))
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Keep draining after the address is known: a full pipe would block the gateway.
                if let Some(at) = line.find("mcpgw ready addr=")
                    && let Some(tx) = tx.take()
                {
                    let addr = line[at + "mcpgw ready addr=".len()..]
                        .split_whitespace()
                        .next();
                    let _ = tx.send(addr.unwrap_or_default().to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the gateway logs its address");
        Self {
            child,
            url: format!("http://{addr}/mcp"),
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gateway_processes_sharing_a_key_serve_one_session() {
    let everything = Peer::start("everything");
    let dir = std::env::temp_dir().join(format!("mcpgw-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("session.key");
    std::fs::write(&key, "5f".repeat(32)).unwrap();
    let other_key = dir.join("other.key");
    std::fs::write(&other_key, "a0".repeat(32)).unwrap();
    let write = |name: &str, key: &std::path::Path| {
        let path = dir.join(name);
        let yaml = config(
            &[("a", &everything.url())],
            false,
            &format!("session_key: \"{}\"", key.display()),
        );
        std::fs::write(&path, yaml).unwrap();
        path
    };
    let (shared, foreign) = (
        write("shared.yaml", &key),
        write("foreign.yaml", &other_key),
    );
    let first = GatewayProcess::start(&shared);
    let second = GatewayProcess::start(&shared);
    let stranger = GatewayProcess::start(&foreign);

    let on_first = Mcp::connect(&first.url, json!({"elicitation": {"form": {}}})).await;
    let on_second = Mcp {
        url: second.url.clone(),
        ..on_first.clone()
    };

    let list = on_second.request(2, "tools/list", json!({})).await;
    let tools = tool_names(&list);
    assert!(
        tools.iter().any(|t| t == "a__trigger-elicitation-request"),
        "the client's capabilities travelled: {tools:?}"
    );
    let echo = on_second
        .call_tool(3, "a__echo", json!({"message": "replica"}))
        .await;
    assert_eq!(echo["result"]["content"][0]["text"], "Echo: replica");

    // The elicitation is asked on the first gateway and answered through the second.
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "a__trigger-elicitation-request", "arguments": {}}});
    let mut stream = on_first.post_open(&call).await.into_body();
    let (asked, _) = read_until(&mut stream, |m| m["method"] == "elicitation/create").await;
    let ask = asked.last().unwrap();
    let answer = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {"name": "Replica"}}});
    assert_eq!(
        on_second.post(&answer).await.status,
        http::StatusCode::ACCEPTED
    );
    let (rest, _) = read_until(&mut stream, |m| m["id"] == 4).await;
    let result = rest.last().unwrap();
    assert!(all_text(result).contains("Replica"), "{result}");

    let on_stranger = Mcp {
        url: stranger.url.clone(),
        ..on_first.clone()
    };
    let refused = on_stranger
        .post(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}))
        .await;
    assert_eq!(
        refused.status,
        http::StatusCode::NOT_FOUND,
        "an id sealed with another key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toolkits_list_change_reaches_the_clients_stream_and_the_next_list() {
    let (everything, paging) = (Peer::start("everything"), Peer::start("paging"));
    let gw = TestGateway::start(&config(
        &[("everything", &everything.url()), ("paging", &paging.url())],
        false,
        "",
    ))
    .await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let stream = mcp.open_get("text/event-stream").await;
    assert_eq!(stream.status(), http::StatusCode::OK);
    let mut stream = stream.into_body();
    let changed = mcp
        .call_tool(2, "paging__set-tool-count", json!({"count": 3}))
        .await;
    assert!(all_text(&changed).contains("now 3 tools"), "{changed}");
    let (got, seen) = tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut stream, |m| {
            m["method"] == "notifications/tools/list_changed"
        }),
    )
    .await
    .expect("list_changed within 10 s");
    assert!(seen, "{got:?}");
    let list = mcp.request(3, "tools/list", json!({})).await;
    let mut paging_tools = vec![];
    let mut page = list;
    for id in 4..20 {
        paging_tools.extend(
            page["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["name"].as_str())
                .filter(|n| n.starts_with("paging__"))
                .map(str::to_owned),
        );
        let Some(cursor) = page["result"]["nextCursor"].as_str().map(str::to_owned) else {
            break;
        };
        page = mcp
            .request(id, "tools/list", json!({"cursor": cursor}))
            .await;
    }
    assert_eq!(
        paging_tools,
        [
            "paging__tool-01",
            "paging__tool-02",
            "paging__tool-03",
            "paging__set-tool-count"
        ]
    );
}
