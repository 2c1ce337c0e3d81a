//! Sessions any replica can serve: the session id is sealed state, so two
//! gateways that share a key serve one session interchangeably.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;
use support::http::Mcp;
use support::mock::{self, Answer, Mock};
use support::{TestGateway, config};

/// A key file for `session_key`, removed when dropped.
struct KeyFile(std::path::PathBuf);

impl KeyFile {
    fn new(byte: u8) -> Self {
        let path = std::env::temp_dir().join(format!(
            "mcpgw-test-key-{}-{byte}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::write(
            &path,
            [byte; 32]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        )
        .unwrap();
        Self(path)
    }

    fn option(&self) -> String {
        format!("session_key: \"{}\"", self.0.display())
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn on(mcp: &Mcp, gateway: &TestGateway) -> Mcp {
    Mcp {
        url: gateway.url(),
        ..mcp.clone()
    }
}

fn ok_call(seen: &mock::Seen) -> Answer {
    let session = seen.header("mcp-session-id").unwrap_or("-").to_owned();
    Answer::Json(
        mock::result(
            seen,
            json!({"content": [{"type": "text", "text": format!("in {session}")}]}),
        ),
        None,
    )
}

#[tokio::test]
async fn a_session_started_on_one_gateway_is_served_by_another_with_the_same_key() {
    let up = Mock::start(mock::server(ok_call)).await;
    let key = KeyFile::new(1);
    let yaml = config(&[("m", &up.url)], false, &key.option());
    let (first, second) = (
        TestGateway::start(&yaml).await,
        TestGateway::start(&yaml).await,
    );
    let mcp = Mcp::connect(&first.url(), json!({"sampling": {}})).await;
    let there = on(&mcp, &second);
    let list = there.request(2, "tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"][0]["name"], "m__hello");
    let call = there.call_tool(3, "m__hello", json!({})).await;
    assert_eq!(
        call["result"]["content"][0]["text"], "in s1",
        "the second gateway used the first one's upstream session"
    );
    assert_eq!(
        up.methods().iter().filter(|m| *m == "initialize").count(),
        1,
        "no second upstream session was opened"
    );
}

#[tokio::test]
async fn an_id_sealed_with_another_key_or_tampered_with_gets_404() {
    let up = Mock::start(mock::server(ok_call)).await;
    let (key_a, key_b) = (KeyFile::new(1), KeyFile::new(2));
    let first = TestGateway::start(&config(&[("m", &up.url)], false, &key_a.option())).await;
    let foreign = TestGateway::start(&config(&[("m", &up.url)], false, &key_b.option())).await;
    let mcp = Mcp::connect(&first.url(), json!({})).await;
    let resp = on(&mcp, &foreign)
        .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);

    let mut tampered = mcp.clone();
    let id = tampered.session.take().unwrap();
    let mut bytes = id.into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    tampered.session = Some(String::from_utf8(bytes).unwrap());
    let resp = tampered
        .post(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deleted_session_stays_deleted_on_the_gateway_that_ended_it() {
    let up = Mock::start(mock::server(ok_call)).await;
    let key = KeyFile::new(3);
    let gw = TestGateway::start(&config(&[("m", &up.url)], false, &key.option())).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    assert_eq!(mcp.delete().await.status, StatusCode::OK);
    let resp = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert_eq!(
        resp.status,
        StatusCode::NOT_FOUND,
        "the sealed id does not bring it back"
    );
}

#[tokio::test]
async fn an_unreadable_key_file_stops_the_start_without_revealing_it() {
    let plan = mcpgw_config::compile_yaml(&config(
        &[("m", "http://127.0.0.1:9/mcp")],
        false,
        "session_key: /nonexistent/mcpgw.key",
    ))
    .unwrap();
    let err = mcpgw_dataplane::Gateway::start(&plan)
        .await
        .expect_err("no key, no start")
        .to_string();
    assert!(err.contains("/nonexistent/mcpgw.key"), "{err}");
}

#[tokio::test]
async fn initialize_does_not_wait_on_a_hung_toolkit_beyond_its_bound() {
    let live = Mock::start(mock::server(ok_call)).await;
    let hung = Mock::start(|_: &mock::Seen| Answer::Hang).await;
    let yaml = config(
        &[("live", &live.url), ("hung", &hung.url)],
        false,
        "initialize_timeout: PT1S",
    )
    .replace("PT10S", "PT2S");
    let gw = TestGateway::start(&yaml).await;
    let started = Instant::now();
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "initialize took {:?}",
        started.elapsed()
    );
    // The list, too, waits for the hung toolkit no longer than its timeout.
    let started = Instant::now();
    let list = mcp.request(2, "tools/list", json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "tools/list took {:?}",
        started.elapsed()
    );
    assert_eq!(list["result"]["tools"][0]["name"], "live__hello");
}
