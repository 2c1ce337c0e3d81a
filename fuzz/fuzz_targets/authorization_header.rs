//! The `Authorization` header path of a guarded endpoint: header value →
//! credentials template → JWT header → key choice → signature and claims.
//!
//! The guard trusts the committed RSA test key (`fixtures/test-rsa.jwk.json`, the
//! public half of `dataplane/tests/fixtures/jwt/`), so a seed can hold a
//! token that passes and mutations start from a real signature.
//!
//! Oracle: never a panic; a caller is let in only with the seed's exact token
//! (no mutation of a signed token passes).
#![no_main]

use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::metrics::Metrics;
use mcpgw_dataplane::north::Authenticator;
use mcpgw_dataplane::south::HttpClient;

const JWK: &str = include_str!("../fixtures/test-rsa.jwk.json");
/// The seed's token, signed by the test key, valid until 2100.
const SIGNED: &str = include_str!("../fixtures/signed.jwt");

struct Guarded {
    runtime: tokio::runtime::Runtime,
    authenticator: Authenticator,
}

static GUARDED: LazyLock<Guarded> = LazyLock::new(|| {
    let yaml = CONFIG.replace("{jwk}", JWK.trim());
    let plan = mcpgw_config::compile_yaml(&yaml).expect("the fuzz config compiles");
    let endpoint = &plan.listeners[0].routes[0].endpoint;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let authenticator = runtime.block_on(async {
        Authenticator::new(
            endpoint,
            "/mcp",
            None,
            Arc::new(Metrics::default()),
            &HttpClient::new(),
        )
        .expect("the guard builds")
        .expect("the endpoint is guarded")
    });
    Guarded {
        runtime,
        authenticator,
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    let guarded = &*GUARDED;
    let outcome = guarded
        .runtime
        .block_on(guarded.authenticator.authenticate(&headers));
    if outcome.is_ok() {
        // The scheme is matched without regard to case, and the value trimmed.
        let data = data.trim_ascii();
        let (scheme, token) = data.split_at(data.len().min(7));
        assert!(
            scheme.eq_ignore_ascii_case(b"Bearer "),
            "no bearer scheme passed"
        );
        assert_eq!(token, SIGNED.trim().as_bytes(), "a changed token passed");
    }
});

const CONFIG: &str = r#"
name: fuzz
guards:
  authn_jwt:
    type: jwt
    options:
      issuer: https://auth.example.test
      audience: https://mcp.example.test/mcp
      keys: [ {jwk} ]
bindings:
  north_tcp_server: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 0 }, exit: north_http_server }
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ { headers: { ":path": /mcp } } ]
        exit: north_mcp_server
  north_mcp_server:
    type: mcp
    kind: server
    options:
      authorization: { authn_jwt: { credentials: "Bearer {credentials}" } }
    exit: north_mcp_proxy
  north_mcp_proxy:
    type: mcp
    kind: proxy
    routes:
      - when: [ { toolkit: time } ]
        guarded: { authn_jwt: [ "time:read" ] }
        exit: south_mcp_client_time
  south_mcp_client_time:
    type: mcp
    kind: client
    options: { server: http://127.0.0.1:9/mcp }
    exit: sys:http_client
"#;
