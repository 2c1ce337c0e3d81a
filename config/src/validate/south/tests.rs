//! Field rules of the http and tcp clients, each error at its field.

use crate::testing::{assert_errors, github_with};

const VERSIONS: &str = "      versions:                 # default both; over TLS, ALPN picks one\n        - http/1.1\n        - h2\n";
const HTTP: &str = "bindings.south_http_client_github.options";
const TCP: &str = "bindings.south_tcp_client_github.options";

fn with_versions(versions: &str) -> String {
    github_with(&[(VERSIONS, &format!("      versions: {versions}\n"))])
}

#[test]
fn versions_are_a_non_empty_list_without_repeats() {
    let cases = [
        ("[]", "versions: at least one version is required"),
        (
            "[ h2, http/1.1, h2 ]",
            "versions[2]: `h2` is already listed",
        ),
        (
            "[ h3 ]",
            "versions[0]: unknown variant `h3`, expected `http/1.1` or `h2`",
        ),
    ];
    for (versions, error) in cases {
        assert_errors(&with_versions(versions), &[&format!("{HTTP}.{error}")]);
    }
}

#[test]
fn tcp_client_host_and_port_are_checked() {
    let cases = [
        ("port: 443", "port: 0", "port: must be between 1 and 65535"),
        (
            "port: 443",
            "port: 70000",
            "port: invalid value: integer `70000`, expected u16",
        ),
        (
            "host: api.githubcopilot.com",
            "host: \"a b\"",
            "host: not an IP address or host name",
        ),
    ];
    for (from, to, error) in cases {
        assert_errors(&github_with(&[(from, to)]), &[&format!("{TCP}.{error}")]);
    }
}

#[test]
fn every_error_of_a_chain_is_reported_at_once() {
    let yaml = github_with(&[
        (
            "        - http/1.1\n        - h2\n",
            "        - h2\n        - h2\n",
        ),
        (
            "- api.githubcopilot.com",
            "- a.example\n        - b.example",
        ),
        ("port: 443", "port: 0"),
        ("name: github", "name: \"\""),
    ]);
    assert_errors(
        &yaml,
        &[
            "name: must not be empty",
            &format!("{HTTP}.versions[1]: `h2` is already listed"),
            "bindings.south_tls_client_github.options.sni: expected exactly one server name, \
             found 2",
            &format!("{TCP}.port: must be between 1 and 65535"),
            "bindings.south_tls_client_github.options.alpn[1]: `http/1.1` is not among the \
             versions `south_http_client_github` may speak (`h2`)",
        ],
    );
}
