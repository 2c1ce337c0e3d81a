//! Where a chain connects, chains without TLS, and chains that several mcp
//! clients share, each compiled from its own mcp client.

use super::tests_egress::{CHAIN, connect, egress};
use crate::plan::{EgressPlan, HttpVersions};
use crate::testing::{
    GITHUB, GITHUB_TLS, github_with, github_with_tls_options, with_binding_body, without_binding,
};

#[test]
fn a_tcp_client_setting_one_part_takes_the_other_from_the_url() {
    let port_only = github_with(&[("      host: api.githubcopilot.com\n", "")]);
    let egress_of = |yaml: &str| egress(yaml, "github").map(|e| e.connect);
    assert_eq!(
        egress_of(&port_only),
        Ok(connect("api.githubcopilot.com", 443))
    );
    let host_only = github_with(&[
        ("      port: 443\n", ""),
        (
            "https://api.githubcopilot.com/mcp/",
            "https://[::1]:8443/mcp/",
        ),
        ("- api.githubcopilot.com", "- ::1"),
    ]);
    assert_eq!(
        egress_of(&host_only),
        Ok(connect("api.githubcopilot.com", 8443))
    );
    let ipv6 = github_with(&[
        ("      host: api.githubcopilot.com\n", ""),
        ("https://api.githubcopilot.com/mcp/", "https://[::1]/mcp/"),
    ]);
    assert_eq!(egress_of(&ipv6), Ok(connect("::1", 443)), "no brackets");
}

#[test]
fn a_chain_without_tls_towards_an_http_server_may_speak_h2c() {
    let yaml = with_binding_body(
        &without_binding(GITHUB, GITHUB_TLS),
        "south_http_client_github",
        "    type: http\n    kind: client\n    options: { versions: [ h2 ] }\n    \
         exit: south_tcp_client_github\n",
    )
    .replacen(
        "https://api.githubcopilot.com/mcp/",
        "http://github:8080/mcp",
        1,
    );
    let yaml = with_binding_body(
        &yaml,
        "south_tcp_client_github",
        "    type: tcp\n    kind: client\n",
    );
    let expected = EgressPlan {
        versions: HttpVersions {
            http1: false,
            h2: true,
        },
        tls: None,
        connect: None,
        bindings: vec![CHAIN[0].to_owned(), CHAIN[2].to_owned()],
    };
    assert!(expected.versions.h2_only(), "h2 with prior knowledge");
    assert_eq!(egress(&yaml, "github"), Ok(expected));
}

#[test]
fn a_shared_chain_is_compiled_for_each_mcp_client_from_its_own_url() {
    let yaml = github_with_tls_options("")
        .replacen("      host: api.githubcopilot.com\n", "", 1)
        .replacen(
            "{ server: http://127.0.0.1:3001/mcp }\n    exit: sys:http_client",
            "{ server: \"https://everything.example:8443/mcp\" }\n    \
             exit: south_http_client_github",
            1,
        );
    let connect_of = |name| egress(&yaml, name).map(|egress| egress.connect);
    let github = connect("api.githubcopilot.com", 443);
    assert_eq!(connect_of("github"), Ok(github));
    let everything = connect("everything.example", 443);
    assert_eq!(
        connect_of("everything"),
        Ok(everything),
        "the tcp client's port"
    );
    let server_name = egress(&yaml, "everything").map(|e| e.tls.and_then(|t| t.server_name));
    assert_eq!(server_name, Ok(None), "SNI from each client's own URL");
}
