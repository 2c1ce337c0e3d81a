//! The shape of the south bindings: which kinds exist, Zilla's vault fields
//! refused with a pointer to files, closed options.

use crate::testing::{GITHUB, assert_errors, github_with, github_with_tls_options};

const TLS: &str = "bindings.south_tls_client_github";

#[test]
fn tls_server_bindings_are_not_supported_yet() {
    let yaml = format!("{GITHUB}  north_tls_server: {{ type: tls, kind: server }}\n");
    assert_errors(
        &yaml,
        &["bindings.north_tls_server.kind: not supported yet: tls server bindings"],
    );
}

#[test]
fn unknown_kinds_of_tcp_and_tls_list_the_choices() {
    let yaml =
        format!("{GITHUB}  a: {{ type: tls, kind: proxy }}\n  b: {{ type: tcp, kind: cache }}\n");
    assert_errors(
        &yaml,
        &[
            "bindings.a.kind: unsupported kind `proxy` for `type: tls`, expected `client`",
            "bindings.b.kind: unsupported kind `cache` for `type: tcp`, expected one of \
             `server`, `client`",
        ],
    );
}

#[test]
fn vault_keys_are_refused_with_a_pointer_to_files_and_the_rest_is_still_checked() {
    let yaml = github_with_tls_options("      keys: [ client ]\n      sni: []\n").replacen(
        "    exit: south_tcp_client_github\n",
        "    exit: south_tcp_client_github\n    vault: client_vault\n",
        1,
    );
    assert_errors(
        &yaml,
        &[
            &format!(
                "{TLS}.vault: mcpgw has no vaults: name PEM files in `options.trust`, \
                 `options.certificate_file` and `options.key_file` (mounted from Secrets)"
            ),
            &format!(
                "{TLS}.options.keys: mcpgw reads the client certificate from files, not from a \
                 vault: use `certificate_file` and `key_file` (mounted from a Secret)"
            ),
            &format!("{TLS}.options.sni: expected exactly one server name, found 0"),
        ],
    );
}

#[test]
fn south_bindings_have_closed_options_and_only_the_exits_they_need() {
    let yaml = github_with(&[
        ("      trustcacerts: true", "      version: TLSv1.3"),
        (
            "      port: 443\n",
            "      port: 443\n    exit: somewhere\n",
        ),
        ("    exit: south_tls_client_github\n", ""),
    ]);
    assert_errors(
        &yaml,
        &[
            "bindings.south_http_client_github.exit: missing required field",
            &format!(
                "{TLS}.options.version: unknown field `version`, expected one of \
                 `trustcacerts`, `trust`, `sni`, `alpn`, `certificate_file`, `key_file`, \
                 `dangerously_skip_verification`"
            ),
            "bindings.south_tcp_client_github.exit: unknown field `exit`, expected `options`",
        ],
    );
}
