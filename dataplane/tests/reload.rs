//! Hot reload the way Kubernetes does it: the kubelet writes a ConfigMap
//! update into a new timestamped directory and atomically renames the
//! `..data` symlink over the old one; `config.yaml` is a symlink through
//! `..data`. The gateway must pick that up without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use mcpgw_dataplane::Gateway;
use serde_json::{Value, json};
use support::http::{Mcp, read_until, send, tool_names};
use support::mock::{self, Answer, Mock};
use support::{Peer, config};

/// A directory laid out like a kubelet's ConfigMap volume.
struct ConfigMapDir {
    root: PathBuf,
    generation: u32,
}

impl ConfigMapDir {
    fn new(yaml: &str) -> Self {
        let root = std::env::temp_dir().join(format!(
            "mcpgw-configmap-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&root).unwrap();
        let mut dir = Self {
            root,
            generation: 0,
        };
        dir.update(yaml);
        std::os::unix::fs::symlink("..data/config.yaml", dir.root.join("config.yaml")).unwrap();
        dir
    }

    fn path(&self) -> PathBuf {
        self.root.join("config.yaml")
    }

    /// What the kubelet's atomic writer does: new timestamped dir, then
    /// `..data_tmp` → rename over `..data`, then remove the old dir.
    fn update(&mut self, yaml: &str) {
        self.generation += 1;
        let stamp = format!("..2026_11_26_10_00_00.{:09}", self.generation);
        let dir = self.root.join(&stamp);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), yaml).unwrap();
        let tmp = self.root.join("..data_tmp");
        std::os::unix::fs::symlink(&stamp, &tmp).unwrap();
        let data = self.root.join("..data");
        let old = std::fs::read_link(&data).ok();
        std::fs::rename(&tmp, &data).unwrap();
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(self.root.join(old));
        }
    }
}

impl Drop for ConfigMapDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn url(gateway: &Gateway, path: &str) -> String {
    format!("http://{}{path}", gateway.local_addrs()[0])
}

async fn readyz(gateway: &Gateway) -> Value {
    let resp = send(Method::GET, &url(gateway, "/readyz"), &[], "").await;
    assert_eq!(resp.status, StatusCode::OK);
    resp.json()
}

/// Observe the reload's effect on the ready endpoint (the reload itself is
/// asynchronous), within `limit`.
async fn wait_for_readyz(
    gateway: &Gateway,
    limit: Duration,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let status = readyz(gateway).await;
        if cond(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not seen within {limit:?}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sha256(text: &str) -> String {
    mcpgw_config::config_sha256(text.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toolkit_added_by_a_configmap_swap_is_served_within_a_second_and_clients_hear_of_it() {
    let (everything, time) = (Peer::start("everything"), Peer::start("time"));
    let before = config(&[("everything", &everything.url())], false, "");
    let after = config(
        &[("everything", &everything.url()), ("time", &time.url())],
        false,
        "",
    );
    let mut dir = ConfigMapDir::new(&before);
    let gateway = Gateway::start_from_file(dir.path()).await.unwrap();
    assert_eq!(readyz(&gateway).await["config"]["sha256"], sha256(&before));

    let mcp = Mcp::connect(&url(&gateway, "/mcp"), json!({})).await;
    let list = mcp.request(1, "tools/list", json!({})).await;
    assert!(
        tool_names(&list)
            .iter()
            .all(|t| t.starts_with("everything__"))
    );
    let stream = mcp.open_get("text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut stream = stream.into_body();

    let swapped = Instant::now();
    dir.update(&after);
    let (got, heard) = tokio::time::timeout(
        Duration::from_secs(5),
        read_until(&mut stream, |m| {
            m["method"] == "notifications/tools/list_changed"
        }),
    )
    .await
    .expect("list_changed on the client's stream");
    assert!(heard, "{got:?}");
    // NB: clients hear of the change once the new config serves: by then
    // `/readyz` reports its hash too (one publish, no window with the old one).
    assert_eq!(readyz(&gateway).await["config"]["sha256"], sha256(&after));
    let list = mcp.request(2, "tools/list", json!({})).await;
    let served = swapped.elapsed();
    println!("toolkit added and served {served:?} after the swap");
    assert!(served < Duration::from_secs(1), "took {served:?}");
    assert!(
        tool_names(&list)
            .iter()
            .any(|t| t == "time__get_current_time"),
        "{list}"
    );

    // The same session uses the new toolkit; the pod reports what it serves.
    let now = mcp
        .call_tool(3, "time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert!(now.get("result").is_some(), "{now}");
    let status = readyz(&gateway).await;
    assert_eq!(status["config"]["sha256"], sha256(&after));
    assert_eq!(status["lastError"], Value::Null);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_is_rejected_and_the_last_good_one_keeps_serving() {
    let everything = Peer::start("everything");
    let good = config(&[("everything", &everything.url())], false, "");
    let mut dir = ConfigMapDir::new(&good);
    let gateway = Gateway::start_from_file(dir.path()).await.unwrap();
    let mcp = Mcp::connect(&url(&gateway, "/mcp"), json!({})).await;

    let broken = good.replace("kind: proxy", "kind: proxy\n    bogus: 1");
    dir.update(&broken);
    let status = wait_for_readyz(&gateway, Duration::from_secs(5), "the rejection", |s| {
        !s["lastError"].is_null()
    })
    .await;
    let error = status["lastError"]["error"].as_str().unwrap();
    assert!(
        error.contains("bindings.north_mcp_proxy.bogus"),
        "the error names the field: {error}"
    );
    assert_eq!(status["lastError"]["sha256"], sha256(&broken));
    assert_eq!(
        status["config"]["sha256"],
        sha256(&good),
        "still serving the last good config"
    );
    let echo = mcp
        .call_tool(2, "everything__echo", json!({"message": "still here"}))
        .await;
    assert_eq!(echo["result"]["content"][0]["text"], "Echo: still here");
    let metrics = send(Method::GET, &url(&gateway, "/metrics"), &[], "").await;
    assert!(
        String::from_utf8_lossy(&metrics.body)
            .contains("mcpgw_config_reloads_total{result=\"rejected\"} 1")
    );

    // Changing the listeners needs a restart: refused the same way.
    let moved = good.replace("port: 0", "port: 1");
    dir.update(&moved);
    let status = wait_for_readyz(
        &gateway,
        Duration::from_secs(5),
        "the listener refusal",
        |s| s["lastError"]["sha256"] == sha256(&moved),
    )
    .await;
    assert!(
        status["lastError"]["error"]
            .as_str()
            .unwrap()
            .contains("restart"),
        "{status}"
    );

    // A fixed config applies again.
    dir.update(&good.replace("timeout: PT10S", "timeout: PT20S"));
    wait_for_readyz(&gateway, Duration::from_secs(5), "the fixed config", |s| {
        s["config"]["sha256"] == sha256(&good.replace("timeout: PT10S", "timeout: PT20S"))
    })
    .await;
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_toolkit_disappears_and_its_upstream_session_ends() {
    let kept = Mock::start(mock::server(|s| {
        Answer::Json(mock::result(s, json!({"content": []})), None)
    }))
    .await;
    let removed = Mock::start(mock::server(|s| {
        Answer::Json(mock::result(s, json!({"content": []})), None)
    }))
    .await;
    let mut dir = ConfigMapDir::new(&config(
        &[("kept", &kept.url), ("removed", &removed.url)],
        false,
        "",
    ));
    let gateway = Gateway::start_from_file(dir.path()).await.unwrap();
    let mcp = Mcp::connect(&url(&gateway, "/mcp"), json!({})).await;
    assert_eq!(
        tool_names(&mcp.request(1, "tools/list", json!({})).await),
        ["kept__hello", "removed__hello"]
    );

    dir.update(&config(&[("kept", &kept.url)], false, ""));
    mock::eventually(
        &removed,
        "the removed toolkit's upstream session ends",
        |seen| {
            seen.iter()
                .any(|s| s.method == Method::DELETE && s.header("mcp-session-id") == Some("s1"))
        },
    )
    .await;
    assert_eq!(
        tool_names(&mcp.request(2, "tools/list", json!({})).await),
        ["kept__hello"]
    );
    let gone = mcp.call_tool(3, "removed__hello", json!({})).await;
    assert_eq!(gone["error"]["code"], -32602);
    assert!(
        kept.seen().iter().all(|s| s.method != Method::DELETE),
        "the kept toolkit's session carries on"
    );
    gateway.shutdown().await;
}

#[test]
fn the_configmap_helper_lays_out_what_the_kubelet_does() {
    let mut dir = ConfigMapDir::new("a: 1");
    dir.update("a: 2");
    let data = std::fs::read_link(dir.root.join("..data")).unwrap();
    assert!(Path::new(&data).to_string_lossy().starts_with("..2026_"));
    assert_eq!(std::fs::read_to_string(dir.path()).unwrap(), "a: 2");
    assert_eq!(
        std::fs::read_dir(&dir.root).unwrap().count(),
        3,
        "config.yaml, ..data, one timestamped dir"
    );
}
