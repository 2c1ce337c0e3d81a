//! The explicit south chain (`http client` → `tls client` → `tcp client`)
//! against a real MCP server (the Python SDK's paging peer) behind the tests'
//! TLS front: the four ALPN/mTLS modes and the fallback to HTTP/1.1, asserted
//! on the upstream side (with the SNI sent), every TLS failure a user can act
//! on, verification turned off, and TLS files rotated without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use http::Version;
use serde_json::{Value, json};
use support::http::{Mcp, send, tool_names};
use support::process::GatewayProcess;
use support::tls::{FrontTls, Issued, Pki, TlsFront};
use support::{Peer, TestGateway, north};

/// How a toolkit is reached: `sys:http_client`, or an explicit chain with
/// these `versions` and `tls client` options.
enum Via<'a> {
    Sys,
    Chain(&'a str, &'a str),
}

/// A gateway with one toolkit per `(name, url, via)`.
fn config(toolkits: &[(&str, &str, Via<'_>)]) -> String {
    let mut yaml = format!("name: tls-chain\n{}", north("initialize_timeout: PT3S", ""));
    for (name, _, _) in toolkits {
        yaml.push_str(&format!(
            "      - when: [ {{ toolkit: {name} }} ]\n        exit: south_mcp_client_{name}\n"
        ));
    }
    for (name, url, via) in toolkits {
        match via {
            Via::Sys => yaml.push_str(&format!(
                "  south_mcp_client_{name}: {{ type: mcp, kind: client, options: {{ server: \"{url}\", timeout: PT5S }}, exit: sys:http_client }}\n"
            )),
            Via::Chain(versions, tls) => {
                let port = url
                    .rsplit_once(':')
                    .and_then(|(_, rest)| rest.split('/').next())
                    .unwrap_or("443");
                yaml.push_str(&format!(
                    r#"  south_mcp_client_{name}: {{ type: mcp, kind: client, options: {{ server: "{url}", timeout: PT5S }}, exit: south_http_client_{name} }}
  south_http_client_{name}: {{ type: http, kind: client, options: {{ versions: {versions} }}, exit: south_tls_client_{name} }}
  south_tls_client_{name}: {{ type: tls, kind: client, options: {{ {tls} }}, exit: south_tcp_client_{name} }}
  south_tcp_client_{name}: {{ type: tcp, kind: client, options: {{ host: 127.0.0.1, port: {port} }} }}
"#
                ));
            }
        }
    }
    yaml
}

/// `secure` over a chain to `url`, and `plain`, the paging peer over http.
fn chain_config(url: &str, versions: &str, tls: &str, plain: &str) -> String {
    config(&[
        ("secure", url, Via::Chain(versions, tls)),
        ("plain", plain, Via::Sys),
    ])
}

fn trust(pki: &Pki) -> String {
    format!("trust: [ \"{}\" ]", pki.ca_file.display())
}

fn client_cert(cert: &Issued) -> String {
    format!(
        "certificate_file: \"{}\", key_file: \"{}\"",
        cert.cert_file.display(),
        cert.key_file.display()
    )
}

/// The paging peer behind a front presenting `cert`, offering `alpn`,
/// requiring client certificates of `client_cas`.
async fn front(paging: &Peer, cert: &Issued, alpn: &[&str], client_cas: &[&Path]) -> TlsFront {
    TlsFront::start(
        &format!("http://127.0.0.1:{}", paging.port),
        FrontTls {
            cert,
            alpn,
            client_cas,
        },
    )
    .await
}

async fn secure_tools(gateway: &TestGateway) -> (Mcp, Vec<String>) {
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let list = mcp.request(1, "tools/list", json!({})).await;
    let tools = tool_names(&list);
    (mcp, tools)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_speaks_what_alpn_chose_and_presents_its_certificate_for_mtls() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let ca = pki.ca_file.as_path();
    // (front ALPN, client CAs the front requires, gateway versions, tls options, expected)
    #[allow(clippy::type_complexity)]
    let cases: [(&[&str], &[&Path], &str, String, Option<&str>, Version); 4] = [
        (
            &["h2"],
            &[],
            "[h2]",
            trust(&pki),
            Some("h2"),
            Version::HTTP_2,
        ),
        (
            &["http/1.1"],
            &[],
            "[http/1.1]",
            trust(&pki),
            Some("http/1.1"),
            Version::HTTP_11,
        ),
        (
            &["h2", "http/1.1"],
            &[],
            "[http/1.1, h2]",
            trust(&pki),
            Some("h2"),
            Version::HTTP_2,
        ),
        (
            &["h2", "http/1.1"],
            &[ca],
            "[http/1.1, h2]",
            format!("{}, {}", trust(&pki), client_cert(&pki.client)),
            Some("h2"),
            Version::HTTP_2,
        ),
    ];
    for (alpn, client_cas, versions, tls, negotiated, version) in cases {
        let front = front(&paging, &pki.server, alpn, client_cas).await;
        let yaml = chain_config(&front.url("/mcp"), versions, &tls, &paging.url());
        let gateway = TestGateway::start(&yaml).await;
        let (_, tools) = secure_tools(&gateway).await;
        assert!(
            tools.iter().any(|t| t == "secure__tool-01"),
            "{alpn:?}: {tools:?}"
        );
        let seen = front.connections();
        if version == Version::HTTP_2 {
            assert_eq!(
                seen.len(),
                1,
                "one multiplexed connection: {alpn:?}: {seen:?}"
            );
        }
        let expected_cert = (!client_cas.is_empty()).then(|| pki.client.cert_der.clone());
        for connection in &seen {
            assert_eq!(connection.alpn.as_deref(), negotiated, "{alpn:?}");
            assert_eq!(connection.client_cert, expected_cert, "{alpn:?}");
        }
        assert!(front.versions().iter().all(|v| *v == version), "{alpn:?}");
        gateway.gateway.shutdown().await;
    }
}

/// `secure`'s failure (reached at `url`) as the client sees it: the toolkit is
/// left out of the list, a call gets an error naming it; the failure metric
/// counts it, and the gateway logs it with the toolkit and the reason, which
/// must contain `words`.
async fn failure(url: &str, paging: &Peer, versions: &str, tls: &str, words: &str) {
    let yaml = chain_config(url, versions, tls, &paging.url());
    let gateway = GatewayProcess::start(&yaml, &[]);
    let started = Instant::now();
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
    assert!(tools.iter().all(|t| t.starts_with("plain__")), "{tools:?}");
    assert!(!tools.is_empty(), "the other toolkit answers");
    let call = mcp.call_tool(2, "secure__tool-01", json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    assert_eq!(call["error"]["code"], -32603, "{call}");
    let message = call["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("toolkit `secure`"), "{message}");
    assert!(message.contains("TLS"), "{words}: {message}");
    assert!(message.contains(words), "{words}: {message}");
    let metrics = send(
        http::Method::GET,
        &gateway.url().replace("/mcp", "/metrics"),
        &[],
        "",
    )
    .await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let failures: u64 = text
        .lines()
        .filter(|l| l.starts_with("mcpgw_toolkit_failures_total{toolkit=\"secure\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(failures >= 2, "counted: {text}");
    let logged = gateway.await_logged(
        &["\"WARN\"", "\"toolkit\":\"secure\"", words],
        Duration::from_secs(5),
    );
    assert!(
        logged.is_some(),
        "a warning naming `secure` and why: {words}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_failures_name_the_toolkit_and_what_to_fix() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let ca: &Path = pki.ca_file.as_path();
    let both = &["h2", "http/1.1"][..];
    // (front certificate, front ALPN, client CAs it requires, gateway versions,
    // tls options, words the error must contain)
    #[allow(clippy::type_complexity)]
    let cases: [(&Issued, &[&str], &[&Path], &str, String, &str); 7] = [
        (
            &pki.untrusted,
            both,
            &[],
            "[http/1.1, h2]",
            trust(&pki),
            "not trusted",
        ),
        (
            &pki.expired,
            both,
            &[],
            "[http/1.1, h2]",
            trust(&pki),
            "expired",
        ),
        (
            &pki.other_name,
            both,
            &[],
            "[http/1.1, h2]",
            trust(&pki),
            "not valid for the requested name",
        ),
        (
            &pki.server,
            both,
            &[ca],
            "[http/1.1, h2]",
            trust(&pki),
            "client certificate",
        ),
        (&pki.server, &["http/1.1"], &[], "[h2]", trust(&pki), "ALPN"),
        // The server does no ALPN at all: the handshake succeeds, but only h2
        // may be spoken (the `H2Required` branch).
        (
            &pki.server,
            &[],
            &[],
            "[h2]",
            trust(&pki),
            "did not choose h2",
        ),
        (
            &pki.server,
            both,
            &[],
            "[http/1.1, h2]",
            format!("trust: [ \"{}\" ]", pki.path("missing.crt").display()),
            "cannot read the trust file",
        ),
    ];
    for (cert, alpn, client_cas, versions, tls, words) in cases {
        let front = front(&paging, cert, alpn, client_cas).await;
        failure(&front.url("/mcp"), &paging, versions, &tls, words).await;
    }
    // No TLS at all on the upstream's port (a plain HTTP server answers the
    // ClientHello with an HTTP error): a failed handshake, said so.
    let plain = format!("https://localhost:{}/mcp", paging.port);
    failure(
        &plain,
        &paging,
        "[http/1.1, h2]",
        &trust(&pki),
        "handshake failed",
    )
    .await;
}

/// Poll `call` until it succeeds: the gateway re-reads TLS files at most once
/// a second, so a rotation shows within about a second (bounded here by 10 s).
async fn eventually_ok(mcp: &Mcp, id: &mut i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        *id += 1;
        let call = mcp.call_tool(*id, "secure__tool-01", json!({})).await;
        if call.get("result").is_some() || Instant::now() > deadline {
            return call;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_ca_bundle_and_client_certificate_are_used_without_a_restart() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let (ca, ca2) = (pki.ca_file.as_path(), pki.ca2_file.as_path());
    let front = front(&paging, &pki.server, &["h2"], &[ca, ca2]).await;
    // The files the config names: at first, a bundle that trusts the wrong CA.
    let bundle = pki.path("bundle.crt");
    std::fs::copy(ca2, &bundle).unwrap();
    let (cert, key) = (pki.path("client.crt"), pki.path("client.key"));
    std::fs::copy(&pki.client.cert_file, &cert).unwrap();
    std::fs::copy(&pki.client.key_file, &key).unwrap();
    let tls = format!(
        "trust: [ \"{}\" ], certificate_file: \"{}\", key_file: \"{}\"",
        bundle.display(),
        cert.display(),
        key.display()
    );
    let gateway = TestGateway::start(&chain_config(
        &front.url("/mcp"),
        "[h2]",
        &tls,
        &paging.url(),
    ))
    .await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let refused = mcp.call_tool(1, "secure__tool-01", json!({})).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not trusted"),
        "{refused}"
    );

    std::fs::copy(ca, &bundle).unwrap();
    let mut id = 1;
    let call = eventually_ok(&mcp, &mut id).await;
    assert!(
        call.get("result").is_some(),
        "the new bundle is trusted: {call}"
    );
    assert_eq!(
        front.connections().last().unwrap().client_cert,
        Some(pki.client.cert_der.clone())
    );

    std::fs::copy(&pki.client2.cert_file, &cert).unwrap();
    std::fs::copy(&pki.client2.key_file, &key).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while front.connections().last().unwrap().client_cert != Some(pki.client2.cert_der.clone()) {
        assert!(
            Instant::now() < deadline,
            "the new client certificate is presented"
        );
        id += 1;
        let call = mcp.call_tool(id, "secure__tool-01", json!({})).await;
        assert!(call.get("result").is_some(), "{call}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    gateway.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_one_toolkits_tls_keeps_the_other_toolkits_session() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let secure = front(&paging, &pki.server, &["h2"], &[]).await;
    let other = Peer::start("paging");
    let plain = front(&other, &pki.server, &["h2"], &[]).await;
    let (secure_url, plain_url) = (secure.url("/mcp"), plain.url("/mcp"));
    let tls = |alpn: &str| format!("{}, alpn: {alpn}", trust(&pki));
    let yaml = |secure_alpn: &str| {
        config(&[
            (
                "secure",
                &secure_url,
                Via::Chain("[http/1.1, h2]", &tls(secure_alpn)),
            ),
            (
                "plain",
                &plain_url,
                Via::Chain("[http/1.1, h2]", &tls("[h2]")),
            ),
        ])
    };
    let (yaml, changed) = (yaml("[h2]"), yaml("[h2, http/1.1]"));
    let gateway = TestGateway::start(&yaml).await;
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let before = plain
        .methods()
        .iter()
        .filter(|m| *m == "initialize")
        .count();
    assert_eq!(before, 1, "{:?}", plain.methods());

    gateway
        .gateway
        .apply(&mcpgw_config::compile_yaml(&changed).unwrap())
        .unwrap();
    let call = mcp.call_tool(2, "plain__tool-01", json!({})).await;
    assert!(call.get("result").is_some(), "{call}");
    let call = mcp.call_tool(3, "secure__tool-01", json!({})).await;
    assert!(call.get("result").is_some(), "{call}");
    let initializes = |front: &TlsFront| {
        front
            .methods()
            .iter()
            .filter(|m| *m == "initialize")
            .count()
    };
    assert_eq!(
        initializes(&plain),
        1,
        "the unchanged toolkit kept its session: {:?}",
        plain.methods()
    );
    assert_eq!(
        initializes(&secure),
        2,
        "the changed one re-opened: {:?}",
        secure.methods()
    );
    gateway.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_upstream_speaks_http1_by_default_and_h2c_when_only_h2_is_allowed() {
    let paging = Peer::start("paging");
    for (h2_only, version) in [(false, Version::HTTP_11), (true, Version::HTTP_2)] {
        let front = TlsFront::plain(&format!("http://127.0.0.1:{}", paging.port)).await;
        let url = front.plain_url("/mcp");
        let mut yaml = config(&[("plain", &url, Via::Sys)]);
        if h2_only {
            // sys:http_client replaced by an http client allowing only h2, no TLS.
            yaml = yaml.replace("exit: sys:http_client", "exit: south_http_client_plain");
            yaml.push_str(
                "  south_http_client_plain: { type: http, kind: client, options: { versions: [h2] }, exit: south_tcp_client_plain }\n  south_tcp_client_plain: { type: tcp, kind: client }\n",
            );
        }
        let gateway = TestGateway::start(&yaml).await;
        let mcp = Mcp::connect(&gateway.url(), json!({})).await;
        let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
        assert!(tools.iter().any(|t| t == "plain__tool-01"), "{tools:?}");
        let versions = front.versions();
        assert!(
            !versions.is_empty() && versions.iter().all(|v| *v == version),
            "h2 only: {h2_only}: {versions:?}"
        );
        gateway.gateway.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn offering_h2_and_http1_speaks_http1_to_a_server_without_h2_or_without_alpn() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let ca = pki.ca_file.display().to_string();
    for alpn in [&["http/1.1"][..], &[][..]] {
        let sys = front(&paging, &pki.server, alpn, &[]).await;
        let chain = front(&paging, &pki.server, alpn, &[]).await;
        let yaml = config(&[
            ("sys", &sys.url("/mcp"), Via::Sys),
            (
                "chain",
                &chain.url("/mcp"),
                Via::Chain("[h2, http/1.1]", &trust(&pki)),
            ),
        ]);
        // NB: sys:http_client trusts the system's roots, which SSL_CERT_FILE
        // names: in a process of its own.
        let gateway = GatewayProcess::start(&yaml, &[("SSL_CERT_FILE", &ca)]);
        let mcp = Mcp::connect(&gateway.url(), json!({})).await;
        let tools = tool_names(&mcp.request(1, "tools/list", json!({})).await);
        for (id, (name, upstream)) in [(2, ("sys", &sys)), (3, ("chain", &chain))] {
            assert!(
                tools.iter().any(|t| *t == format!("{name}__tool-01")),
                "{name} {alpn:?}: {tools:?}"
            );
            let call = mcp
                .call_tool(id, &format!("{name}__tool-02"), json!({}))
                .await;
            assert!(call.get("result").is_some(), "{name} {alpn:?}: {call}");
            let seen = upstream.connections();
            assert!(!seen.is_empty(), "{name} {alpn:?}");
            for connection in &seen {
                assert_eq!(connection.offered_alpn, ["h2", "http/1.1"], "{name}");
                assert_eq!(connection.alpn.as_deref(), alpn.first().copied(), "{name}");
                assert_eq!(connection.sni.as_deref(), Some("localhost"), "{name}");
            }
            let versions = upstream.versions();
            assert!(
                !versions.is_empty() && versions.iter().all(|v| *v == Version::HTTP_11),
                "{name} {alpn:?}: {versions:?}"
            );
        }
    }
}

/// A gateway (its binary) reaching `secure` behind `front` with these
/// `versions` and `tls` options: a call to it works, over one connection.
async fn secure_call_works(
    front: &TlsFront,
    paging: &Peer,
    versions: &str,
    tls: &str,
) -> GatewayProcess {
    let yaml = chain_config(&front.url("/mcp"), versions, tls, &paging.url());
    let gateway = GatewayProcess::start(&yaml, &[]);
    let mcp = Mcp::connect(&gateway.url(), json!({})).await;
    let call = mcp.call_tool(1, "secure__tool-01", json!({})).await;
    assert!(call.get("result").is_some(), "{call}");
    let seen = front.connections();
    assert_eq!(seen.len(), 1, "{seen:?}");
    gateway
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_sni_is_sent_and_verified_while_the_tcp_client_dials_its_own_host() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    // The certificate is for other.example only; the URL says localhost and
    // the tcp client dials 127.0.0.1.
    let front = front(&paging, &pki.other_name, &["h2"], &[]).await;
    let tls = format!("{}, sni: [ other.example ]", trust(&pki));
    secure_call_works(&front, &paging, "[h2]", &tls).await;
    assert_eq!(front.connections()[0].sni.as_deref(), Some("other.example"));
}

#[tokio::test(flavor = "multi_thread")]
async fn skipping_verification_reaches_an_untrusted_server_and_warns_naming_the_toolkit() {
    let pki = Pki::new();
    let paging = Peer::start("paging");
    let front = front(&paging, &pki.untrusted, &["h2"], &[]).await;
    let skip = "dangerously_skip_verification: true";
    let gateway = secure_call_works(&front, &paging, "[h2]", skip).await;
    let warning = gateway.await_logged(
        &["\"WARN\"", "verification is OFF", "toolkit `secure`"],
        Duration::from_secs(5),
    );
    assert!(warning.is_some(), "a loud warning naming the toolkit");
}
