//! TLS egress against real MCP servers behind a TLS front of the tests' own
//! (certificates made here with rcgen): which protocol and which client
//! certificate arrive upstream, and what the client is told when TLS fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Version;
use serde_json::json;
use support::http::{Mcp, tool_names};
use support::process::GatewayProcess;
use support::tls::{FrontTls, Pki, TlsFront};
use support::{Peer, config};

/// `tools/list` through the gateway at `url`: the tool names.
async fn list_tools(url: &str) -> Vec<String> {
    let mcp = Mcp::connect(url, json!({})).await;
    let list = mcp.request(1, "tools/list", json!({})).await;
    tool_names(&list)
}

#[tokio::test(flavor = "multi_thread")]
async fn sys_http_client_reaches_an_https_upstream_over_h2_with_the_system_roots() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let front = TlsFront::start(
        &format!("http://127.0.0.1:{}", paging.port),
        FrontTls {
            cert: &pki.server,
            alpn: &["h2", "http/1.1"],
            client_cas: &[],
        },
    )
    .await;
    let yaml = config(&[("paging", &front.url("/mcp"))], false, "");
    // NB: the system's roots are what SSL_CERT_FILE says (rustls-native-certs).
    let ca = pki.ca_file.display().to_string();
    let gateway = GatewayProcess::start(&yaml, &[("SSL_CERT_FILE", &ca)]);
    let tools = list_tools(&gateway.url()).await;
    assert!(tools.iter().any(|t| t == "paging__tool-01"), "{tools:?}");
    let seen = front.connections();
    assert_eq!(seen.len(), 1, "one multiplexed connection: {seen:?}");
    assert_eq!(seen[0].alpn.as_deref(), Some("h2"));
    assert_eq!(seen[0].client_cert, None);
    assert!(
        front.versions().iter().all(|v| *v == Version::HTTP_2),
        "{:?}",
        front.versions()
    );
}
