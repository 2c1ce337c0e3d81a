//! Shared fixtures for the data plane's integration tests: real peers started
//! from `tests/peers/`, an in-process gateway, and a raw HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod conformance;
pub mod exposition;
pub mod http;
pub mod mock;
pub mod modern;
pub mod process;
pub mod tls;
pub mod tokens;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcpgw_dataplane::Gateway;

/// The workspace root (peers scripts live under `tests/peers/`).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dataplane/ has a parent")
        .to_path_buf()
}

/// Where `tests/peers/install.sh` put the peers.
pub fn peers_home() -> PathBuf {
    std::env::var_os("MCPGW_PEERS_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/mcpgw/peers")
        })
}

fn require_installed(path: &std::path::Path) {
    assert!(
        path.exists(),
        "{} is missing: run tests/peers/install.sh first (the README's test command does)",
        path.display()
    );
}

/// A real MCP server from `tests/peers/run-peer.sh`, on a loopback port the
/// OS chose, stopped (its whole process group) on drop.
#[derive(Debug)]
pub struct Peer {
    pub name: &'static str,
    pub port: u16,
    child: Child,
}

impl Peer {
    pub fn start(name: &'static str) -> Self {
        Self::start_on(name, 0)
    }

    /// Start on a given port (0: any), e.g. to restart a peer where it was.
    pub fn start_on(name: &'static str, port: u16) -> Self {
        Self::start_with(name, port, &[])
    }

    /// Start with extra environment variables (e.g. the auth peer's settings).
    pub fn start_with(name: &'static str, port: u16, env: &[(&str, &str)]) -> Self {
        let script = workspace().join("tests/peers/run-peer.sh");
        let mut child = Command::new("bash")
            .arg(&script)
            .arg(name)
            .envs(env.iter().copied())
            .env("PORT", port.to_string())
            // NB: the peer dies with this process even if it aborts.
            .env("MCPGW_PEER_PARENT", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("run-peer.sh starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        // Drain stderr for the peer's whole life; a full pipe would block it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut log = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("MCPGW_PEER_READY port=") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(port.trim().parse::<u16>().expect("port")));
                    }
                } else if tx.is_some() {
                    log.push(line);
                }
            }
            if let Some(tx) = tx {
                let _ = tx.send(Err(log.join("\n")));
            }
        });
        // The readiness line arrives when the port accepts connections; the
        // bound is only a guard against a peer that hangs while starting.
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(port)) => Self { name, port, child },
            Ok(Err(log)) => {
                let _ = child.wait();
                panic!("peer {name} exited before it was ready:\n{log}");
            }
            Err(_) => {
                kill_group(&mut child);
                panic!("peer {name} was not ready within 120 s");
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// Stop the peer now (e.g. to simulate an upstream crash).
    pub fn stop(mut self) {
        kill_group(&mut self.child);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// SIGKILL the process group led by `child` (the peer and any stdio children)
/// and reap it.
fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
    }
    let _ = child.wait();
}

/// An in-process gateway compiled from YAML.
pub struct TestGateway {
    pub gateway: Gateway,
}

impl TestGateway {
    pub async fn start(yaml: &str) -> Self {
        let plan = mcpgw_config::compile_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let gateway = Gateway::start(&plan).await.expect("gateway starts");
        Self { gateway }
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.gateway.local_addrs()[0])
    }
}

/// The north bindings of a test gateway, from `bindings:` to the proxy's
/// `routes:` (its routes follow): a tcp server on 127.0.0.1:0 and `/mcp`, with
/// the mcp server's and the proxy's options (YAML flow entries).
pub fn north(server_options: &str, proxy_options: &str) -> String {
    format!(
        r#"bindings:
  north_tcp_server: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: 0 }}, exit: north_http_server }}
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ {{ headers: {{ ":path": /mcp }} }} ]
        exit: north_mcp_server
  north_mcp_server: {{ type: mcp, kind: server, options: {{ {server_options} }}, exit: north_mcp_proxy }}
  north_mcp_proxy:
    type: mcp
    kind: proxy
    options: {{ {proxy_options} }}
    routes:
"#
    )
}

/// The mcp server option that checks callers with the guard `authn_jwt`.
pub const GUARDED: &str =
    r#"authorization: { authn_jwt: { credentials: "Bearer {credentials}" } }"#;

/// A `guards:` section with the JWT guard `authn_jwt` of the tests' issuer,
/// its keys as `keys` says (`keys_file: …` or `keys: …`).
pub fn jwt_guard(keys: &str) -> String {
    format!(
        "guards:\n  authn_jwt:\n    type: jwt\n    options: {{ issuer: \"{}\", audience: \"{}\", {keys} }}\n",
        tokens::ISSUER,
        tokens::AUDIENCE
    )
}

/// [`config`] for `toolkits`, with `options` (e.g. `max_concurrent_requests: 1`)
/// added to the client of the toolkit named `limited`.
pub fn with_limits(toolkits: &[(&str, &str)], limited: &str, options: &str) -> String {
    let url = toolkits
        .iter()
        .find(|(name, _)| *name == limited)
        .unwrap()
        .1;
    let plain = format!("server: \"{url}\", timeout: PT10S");
    let yaml = config(toolkits, false, "");
    assert!(yaml.contains(&plain), "{yaml}");
    yaml.replace(&plain, &format!("{plain}, {options}"))
}

/// A gateway config on 127.0.0.1:0 with one toolkit per `(name, url)`.
pub fn config(toolkits: &[(&str, &str)], prefix_never: bool, extra_server_options: &str) -> String {
    let prefix = if prefix_never { "never" } else { "always" };
    let mut yaml = format!(
        "name: test\n{}",
        north(extra_server_options, &format!("prefix: {prefix}"))
    );
    for (name, _) in toolkits {
        yaml.push_str(&format!(
            "      - when: [ {{ toolkit: {name} }} ]\n        exit: south_{name}\n"
        ));
    }
    for (name, url) in toolkits {
        yaml.push_str(&format!(
            "  south_{name}: {{ type: mcp, kind: client, options: {{ server: \"{url}\", timeout: PT10S }}, exit: sys:http_client }}\n"
        ));
    }
    yaml
}

/// Run a command to completion with a bound, returning stdout; panics with
/// stderr on failure.
/// Ask `attempt` every `every` until it gives a value, and fail the test with
/// `what` once `limit` has passed. For state that changes on its own time (a
/// cool-down, a file re-read, a stream closing, a count), never for readiness.
pub async fn poll<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut attempt: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = attempt().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(every).await;
    }
}

pub async fn run(mut cmd: tokio::process::Command, limit: Duration) -> String {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not finish within {limit:?}"))
        .expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The MCP Inspector CLI (a real client) through `tests/peers/inspector.sh`,
/// as a command ready for its `--method …` arguments.
pub fn inspector(url: &str) -> tokio::process::Command {
    require_installed(&peers_home().join("npm/node_modules/.bin/mcp-inspector"));
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(workspace().join("tests/peers/inspector.sh"))
        .args([url, "--transport", "http"]);
    cmd
}

/// The Python SDK client scenario driver.
pub fn py_client(url: &str, prefix: &str) -> tokio::process::Command {
    let python = peers_home().join("venv/bin/python");
    require_installed(&python);
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(workspace().join("tests/peers/py_client.py"))
        .args([url, "--prefix", prefix]);
    cmd
}

/// The official Rust SDK's client (rmcp 3.11, `tests/peers/rmcp-probe`) against
/// `url` in `mode` (`initialize`, `discover` or `auto`): it prints one JSON
/// line per step (connected, tools, call).
pub fn rmcp_probe(url: &str, mode: &str) -> tokio::process::Command {
    let probe = peers_home().join("rmcp-probe/release/rmcp-probe");
    require_installed(&probe);
    let mut cmd = tokio::process::Command::new(probe);
    cmd.args([url, mode]);
    cmd
}

/// What the recording `auth` peer received: `(JSON-RPC method, Authorization)`
/// of each MCP request (requests without a JSON-RPC method, e.g. GET, left out).
pub async fn rpc_records(peer: &Peer) -> Vec<(String, Option<String>)> {
    let url = format!("http://127.0.0.1:{}/records", peer.port);
    let resp = http::send(::http::Method::GET, &url, &[], bytes::Bytes::new()).await;
    assert_eq!(resp.status, ::http::StatusCode::OK, "{resp:?}");
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("records: {}", resp.json()))
        .iter()
        .filter_map(|r| {
            let method = r["rpc_method"].as_str()?.to_owned();
            Some((method, r["authorization"].as_str().map(str::to_owned)))
        })
        .collect()
}

/// How many `method` requests the recording `auth` peer received.
pub async fn rpc_count(peer: &Peer, method: &str) -> usize {
    rpc_records(peer)
        .await
        .iter()
        .filter(|(m, _)| m == method)
        .count()
}
