//! South chains round-trip through `to_yaml`, in the form Zilla writes them.

use crate::model::{
    HttpClient, HttpVersion, McpClient, McpProxy, McpProxyRoute, TcpClient, TlsClient,
};
use crate::testing::{GITHUB, rust_config};
use crate::tests::assert_round_trips;
use crate::{compile_yaml, parse_yaml};

#[test]
fn github_example_round_trips_through_to_yaml() {
    let config = parse_yaml(GITHUB).map_err(|e| e.to_string());
    let rendered = config.clone().map(assert_round_trips);
    assert_eq!(
        rendered.as_deref().map(compile_yaml),
        Ok(compile_yaml(GITHUB))
    );
}

#[test]
fn chain_built_in_rust_renders_as_zilla_writes_it() {
    let mut http = HttpClient::new("south_tls");
    http.options.versions = Some(vec![HttpVersion::H2]);
    let mut tls = TlsClient::new("south_tcp");
    tls.options.sni = Some(vec!["localhost".to_owned()]);
    tls.options.alpn = Some(vec![HttpVersion::H2]);
    tls.options.trust = vec!["/etc/mcpgw/tls/ca.crt".to_owned()];
    let mut tcp = TcpClient::default();
    tcp.options.port = Some(8443);
    let config = rust_config()
        .with_binding(
            "proxy",
            McpProxy::new([McpProxyRoute::toolkit("secure", "client")]),
        )
        .with_binding(
            "client",
            McpClient::new("https://127.0.0.1:8443/mcp").with_exit("south_http"),
        )
        .with_binding("south_http", http)
        .with_binding("south_tls", tls)
        .with_binding("south_tcp", tcp);
    let rendered = assert_round_trips(config);
    let expected = "\
  client:
    type: mcp
    kind: client
    options:
      server: https://127.0.0.1:8443/mcp
    exit: south_http
  south_http:
    type: http
    kind: client
    options:
      versions:
      - h2
    exit: south_tls
  south_tls:
    type: tls
    kind: client
    options:
      trust:
      - /etc/mcpgw/tls/ca.crt
      sni:
      - localhost
      alpn:
      - h2
    exit: south_tcp
  south_tcp:
    type: tcp
    kind: client
    options:
      port: 8443
";
    assert!(rendered.ends_with(expected), "rendered:\n{rendered}");
}
