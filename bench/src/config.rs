//! The gateway configs the bench runs: toolkits in front of the bench
//! upstream, on 127.0.0.1 with an OS-chosen port.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

use mcpgw_config::Alpn;

/// A binding config with one `mcp client` per toolkit name, all pointing at
/// `upstream`, names always prefixed (`<toolkit>__echo`).
pub fn yaml<'a>(upstream: SocketAddr, toolkits: impl IntoIterator<Item = &'a str>) -> String {
    let toolkits: Vec<&str> = toolkits.into_iter().collect();
    let mut yaml = north();
    for name in &toolkits {
        let _ = writeln!(
            yaml,
            "      - when: [ {{ toolkit: {name} }} ]\n        exit: south_mcp_client_{name}"
        );
    }
    for name in &toolkits {
        let _ = writeln!(
            yaml,
            "  south_mcp_client_{name}: {{ type: mcp, kind: client, options: {{ server: \"http://{upstream}/mcp\" }}, exit: sys:http_client }}"
        );
    }
    yaml
}

/// [`yaml`] with one toolkit `bench` whose lists the proxy caches (a memory
/// store, the TTL longer than any run).
pub fn yaml_cached(upstream: SocketAddr) -> String {
    yaml(upstream, ["bench"])
        .replacen(
            "name: bench\n",
            "name: bench\nstores: { cache: { type: memory } }\n",
            1,
        )
        .replacen(
            "options: { prefix: always }",
            "options: { prefix: always, cache: { store: cache, ttl: PT1H } }",
            1,
        )
}

/// One toolkit `bench` in front of the TLS upstream at `localhost:<port>`,
/// over the explicit south chain: only `alpn` spoken, only `ca_file` trusted.
pub fn yaml_tls(upstream: SocketAddr, ca_file: &Path, alpn: Alpn) -> String {
    let (port, ca, alpn) = (upstream.port(), ca_file.display(), alpn.id());
    let mut yaml = north();
    yaml.push_str(&format!(
        r#"      - when: [ {{ toolkit: bench }} ]
        exit: south_mcp_client_bench
  south_mcp_client_bench: {{ type: mcp, kind: client, options: {{ server: "https://localhost:{port}/mcp" }}, exit: south_http_client_bench }}
  south_http_client_bench: {{ type: http, kind: client, options: {{ versions: [ {alpn} ] }}, exit: south_tls_client_bench }}
  south_tls_client_bench: {{ type: tls, kind: client, options: {{ trust: [ "{ca}" ], alpn: [ {alpn} ] }}, exit: south_tcp_client_bench }}
  south_tcp_client_bench: {{ type: tcp, kind: client }}
"#
    ));
    yaml
}

/// The north chain, up to the proxy's `routes:` (the toolkits' routes follow).
fn north() -> String {
    String::from(
        r#"name: bench
bindings:
  north_tcp_server: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 0 }, exit: north_http_server }
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ { headers: { ":path": /mcp } } ]
        exit: north_mcp_server
  north_mcp_server: { type: mcp, kind: server, exit: north_mcp_proxy }
  north_mcp_proxy:
    type: mcp
    kind: proxy
    options: { prefix: always }
    routes:
"#,
    )
}
