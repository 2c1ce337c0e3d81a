//! TLS egress against real MCP servers behind a TLS front of the tests' own
//! (certificates made here with rcgen): which protocol and which client
//! certificate arrive upstream, and what the client is told when TLS fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Version;
use serde_json::json;
use support::http::{Mcp, tool_names};
use support::process::GatewayProcess;
use support::tls::{FrontTls, Pki, StaticServer, TlsFront};
use support::tokens::{AUDIENCE, TestIssuer};
use support::{GUARDED, Peer, config, jwt_guard, north};

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

/// A gateway whose guard reads its keys from `jwks_url`, with one open toolkit.
fn guarded_by_url(jwks_url: &str, toolkit_url: &str) -> String {
    let guard = jwt_guard(&format!("keys: \"{jwks_url}\""));
    format!(
        "name: jwks-over-tls\n{guard}{}      - when: [ {{ toolkit: kit }} ]\n        exit: south_kit\n  south_kit: {{ type: mcp, kind: client, options: {{ server: \"{toolkit_url}\" }}, exit: sys:http_client }}\n",
        north(GUARDED, "")
    )
}

/// A guard's keys served over TLS (by a front whose certificate the test CA
/// signed) and an MCP server behind the guard.
struct JwksOverTls {
    pki: Pki,
    issuer: TestIssuer,
    front: TlsFront,
    paging: Peer,
    // NB: the server behind the front; kept for as long as the test runs.
    _jwks: StaticServer,
}

impl JwksOverTls {
    async fn start() -> Self {
        let pki = Pki::new();
        let issuer = TestIssuer::new(AUDIENCE);
        let jwks = StaticServer::start(issuer.jwks()).await;
        let front = TlsFront::start(
            &jwks.url(),
            FrontTls {
                cert: &pki.server,
                alpn: &["h2", "http/1.1"],
                client_cas: &[],
            },
        )
        .await;
        Self {
            pki,
            issuer,
            front,
            paging: Peer::start("paging"),
            _jwks: jwks,
        }
    }

    /// The gateway's config: the guard fetching its keys from the front.
    fn config(&self) -> String {
        guarded_by_url(&self.front.url("/jwks.json"), &self.paging.url())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guard_fetches_its_jwks_over_https_with_the_same_tls_stack() {
    let setup = JwksOverTls::start().await;
    let JwksOverTls {
        pki, issuer, front, ..
    } = &setup;
    let yaml = setup.config();
    let token = issuer.token("alice", "");

    // Trusted (the test CA is the system's roots): the token is checked and served.
    let ca = pki.ca_file.display().to_string();
    let trusting = GatewayProcess::start(&yaml, &[("SSL_CERT_FILE", &ca)]);
    let mcp = Mcp::connect_as(&trusting.url(), json!({}), Some(&token)).await;
    let list = mcp.request(1, "tools/list", json!({})).await;
    assert!(!tool_names(&list).is_empty(), "{list}");
    assert!(!front.connections().is_empty(), "the keys came over TLS");
    drop(trusting);

    // Not trusted (the system's real roots): the keys are out of reach, which
    // is not the caller's fault: 503 with Retry-After, not 401.
    let distrusting = GatewayProcess::start(&yaml, &[]);
    let init = Mcp::initialize_message(&json!({}));
    let resp = Mcp::with_token(&distrusting.url(), Some(&token))
        .post(&init)
        .await;
    assert_eq!(
        resp.status,
        http::StatusCode::SERVICE_UNAVAILABLE,
        "{resp:?}"
    );
    assert_eq!(resp.header("retry-after"), Some("5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_github_chain_loads_unmodified_and_reaches_a_local_tls_server() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let front = TlsFront::start(
        &paging.url(),
        FrontTls {
            cert: &pki.server,
            alpn: &["h2", "http/1.1"],
            client_cas: &[],
        },
    )
    .await;
    let port = front.addr.port();
    let token = pki.path("github-token");
    std::fs::write(&token, "test-token\n").unwrap();
    // examples/github.yaml as written, with only the host (and port, and the
    // places the files and the other toolkit are) changed for this machine.
    let example =
        std::fs::read_to_string(support::workspace().join("examples/github.yaml")).unwrap();
    let yaml = example
        .replace(
            "api.githubcopilot.com/mcp/",
            &format!("localhost:{port}/mcp/"),
        )
        .replace("api.githubcopilot.com", "localhost")
        .replace("port: 443", &format!("port: {port}"))
        .replace("port: 7114", "port: 0")
        .replace(
            "/etc/mcpgw/credentials/github/token",
            &token.display().to_string(),
        )
        .replace("http://127.0.0.1:3001/mcp", &paging.url());
    assert!(
        yaml.contains("type: tls") && yaml.contains("trustcacerts: true"),
        "{yaml}"
    );
    let ca = pki.ca_file.display().to_string();
    let gateway = GatewayProcess::start(&yaml, &[("SSL_CERT_FILE", &ca)]);
    let tools = list_tools(&gateway.url()).await;
    assert!(tools.iter().any(|t| t == "github__tool-01"), "{tools:?}");
    assert!(
        tools.iter().any(|t| t == "everything__tool-01"),
        "{tools:?}"
    );
    let seen = front.connections();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].alpn.as_deref(),
        Some("h2"),
        "ALPN chose h2 and the client spoke it"
    );
    assert!(front.versions().iter().all(|v| *v == Version::HTTP_2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guard_trusts_the_ca_bundle_it_is_given_for_its_jwks_url() {
    let setup = JwksOverTls::start().await;
    let JwksOverTls {
        pki, issuer, front, ..
    } = &setup;
    let yaml = setup.config().replacen(
        "keys: ",
        &format!("trust: [ \"{}\" ], keys: ", pki.ca_file.display()),
        1,
    );
    // In this process, not the binary: no SSL_CERT_FILE; the bundle alone is trusted.
    let gateway = support::TestGateway::start(&yaml).await;
    let token = issuer.token("alice", "");
    let mcp = Mcp::connect_as(&gateway.url(), json!({}), Some(&token)).await;
    let list = mcp.request(1, "tools/list", json!({})).await;
    assert!(!tool_names(&list).is_empty(), "{list}");
    assert!(!front.connections().is_empty(), "the keys came over TLS");
}
