//! South chains: exits of the right kind, and the scheme and the chain agree.

use crate::testing::{GITHUB, GITHUB_TLS, assert_errors, github_with, without_binding};

const SERVER: &str = "https://api.githubcopilot.com/mcp/";

#[test]
fn each_chain_exit_names_a_binding_of_the_right_kind() {
    // Each time, the binding the exit should have named is cut off.
    let cases = [
        (
            "exit: south_http_client_github",
            "exit: south_tls_client_github",
            "bindings.south_mcp_client_github.exit: `south_tls_client_github` is a tls client \
             binding, expected `sys:http_client` or an http client binding",
            "south_http_client_github",
        ),
        (
            "exit: south_tls_client_github",
            "exit: north_mcp_server",
            "bindings.south_http_client_github.exit: `north_mcp_server` is an mcp server \
             binding, expected a tls client binding or a tcp client binding",
            "south_tls_client_github",
        ),
        (
            "exit: south_tcp_client_github",
            "exit: south_http_client_github",
            "bindings.south_tls_client_github.exit: `south_http_client_github` is an http \
             client binding, expected a tcp client binding",
            "south_tcp_client_github",
        ),
        (
            "exit: south_tcp_client_github",
            "exit: sys:http_client",
            "bindings.south_tls_client_github.exit: the built-in `sys:http_client` can only be \
             the exit of an mcp client",
            "south_tcp_client_github",
        ),
    ];
    for (from, to, error, cut_off) in cases {
        let unreachable = format!("bindings.{cut_off}: not reachable from any tcp server");
        assert_errors(&github_with(&[(from, to)]), &[error, &unreachable]);
    }
}

#[test]
fn an_https_server_needs_a_tls_client_in_its_chain() {
    let yaml = github_with(&[(
        "exit: south_tls_client_github",
        "exit: south_tcp_client_github",
    )]);
    assert_errors(
        &without_binding(&yaml, GITHUB_TLS),
        &[
            "bindings.south_mcp_client_github.exit: the server is `https`, but its chain \
           `south_http_client_github` → `south_tcp_client_github` has no tls client; let \
           `south_http_client_github` exit to a tls client binding that exits to \
           `south_tcp_client_github`",
        ],
    );
}

#[test]
fn an_http_server_must_not_have_a_tls_client_in_its_chain() {
    assert_errors(
        &github_with(&[(SERVER, "http://github:8080/mcp")]),
        &[
            "bindings.south_mcp_client_github.exit: the server is `http`, but its chain \
           `south_http_client_github` → `south_tls_client_github` → `south_tcp_client_github` \
           has a tls client (`south_tls_client_github`); for `http`, \
           `south_http_client_github` exits straight to a tcp client binding",
        ],
    );
}

#[test]
fn a_server_that_is_no_url_is_not_compared_with_its_chain() {
    assert_errors(
        &github_with(&[(SERVER, "http:/github/mcp")]),
        &[
            "bindings.south_mcp_client_github.options.server: not an http(s) URL: expected \
           `http(s)://host[:port]/path`",
        ],
    );
}

#[test]
fn a_chain_binding_nothing_reaches_is_reported() {
    let yaml = format!("{GITHUB}  orphan: {{ type: tcp, kind: client }}\n");
    assert_errors(
        &yaml,
        &["bindings.orphan: not reachable from any tcp server"],
    );
}
