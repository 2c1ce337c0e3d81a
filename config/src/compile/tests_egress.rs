//! An mcp client's south chain compiles into its toolkit's `EgressPlan`.

use crate::plan::{Alpn, ConnectTo, EgressPlan, HttpVersions, TlsPlan};
use crate::testing::{GITHUB, errors, github_with, github_with_tls_options};

/// The egress plan of the toolkit `name`, or every error.
pub(super) fn egress(yaml: &str, name: &str) -> Result<EgressPlan, Vec<String>> {
    let plan = crate::compile_yaml(yaml).map_err(|_| errors(yaml))?;
    let toolkits = &plan.listeners[0].routes[0].endpoint.proxy.toolkits;
    let toolkit = toolkits.iter().find(|toolkit| toolkit.name == name);
    Ok(toolkit.expect("the toolkit is in the plan").egress.clone())
}

pub(super) const CHAIN: [&str; 3] = [
    "south_http_client_github",
    "south_tls_client_github",
    "south_tcp_client_github",
];

fn tls(server_name: &str) -> TlsPlan {
    TlsPlan {
        server_name: Some(server_name.to_owned()),
        ..TlsPlan::system_default()
    }
}

pub(super) fn connect(host: &str, port: u16) -> Option<ConnectTo> {
    let host = host.to_owned();
    Some(ConnectTo { host, port })
}

#[test]
fn the_github_chain_compiles_to_its_egress_plan() {
    let expected = EgressPlan {
        versions: HttpVersions::BOTH,
        tls: Some(tls("api.githubcopilot.com")),
        connect: connect("api.githubcopilot.com", 443),
        bindings: CHAIN.map(str::to_owned).to_vec(),
    };
    assert_eq!(egress(GITHUB, "github"), Ok(expected));
    let url = url::Url::parse("http://127.0.0.1:3001/mcp").expect("a URL");
    assert_eq!(
        egress(GITHUB, "everything"),
        Ok(EgressPlan::for_server(&url)),
        "sys:http_client keeps its defaults"
    );
}

#[test]
fn the_github_chain_towards_a_loopback_server_compiles() {
    let yaml = github_with(&[
        (
            "https://api.githubcopilot.com/mcp/",
            "https://127.0.0.1:8443/mcp/",
        ),
        ("- api.githubcopilot.com", "- localhost"),
        ("host: api.githubcopilot.com", "host: 127.0.0.1"),
        ("port: 443", "port: 8443"),
    ]);
    let egress = egress(&yaml, "github");
    assert_eq!(egress.clone().map(|e| e.tls), Ok(Some(tls("localhost"))));
    assert_eq!(egress.map(|e| e.connect), Ok(connect("127.0.0.1", 8443)));
}

#[test]
fn left_out_options_take_the_defaults_and_the_url() {
    let yaml = github_with_tls_options("");
    let yaml = yaml.replacen(
        "      host: api.githubcopilot.com\n      port: 443\n",
        "      {}\n",
        1,
    );
    let expected = EgressPlan {
        versions: HttpVersions::BOTH,
        tls: Some(TlsPlan::system_default()),
        connect: None,
        bindings: CHAIN.map(str::to_owned).to_vec(),
    };
    assert_eq!(egress(&yaml, "github"), Ok(expected));
}

#[test]
fn the_default_alpn_keeps_only_the_http_clients_versions() {
    let yaml = github_with_tls_options("").replacen(
        "        - http/1.1\n        - h2\n",
        "        - http/1.1\n",
        1,
    );
    let egress = egress(&yaml, "github");
    assert_eq!(
        egress.map(|e| (e.versions.h2, e.tls.map(|tls| tls.alpn))),
        Ok((false, Some(vec![Alpn::Http11])))
    );
}
