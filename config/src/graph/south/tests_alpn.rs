//! A tls client's ALPN offers only what the http client before it may speak.

use crate::testing::{assert_errors, github_with, github_with_tls_options};

#[test]
fn alpn_offers_only_versions_the_http_client_may_speak() {
    let yaml = github_with(&[("        - http/1.1\n        - h2\n", "        - http/1.1\n")]);
    assert_errors(
        &yaml,
        &[
            "bindings.south_tls_client_github.options.alpn[0]: `h2` is not among the versions \
           `south_http_client_github` may speak (`http/1.1`)",
        ],
    );
    let yaml = github_with_tls_options("      alpn: []\n").replacen(
        "        - http/1.1\n        - h2\n",
        "        - h2\n",
        1,
    );
    assert_errors(
        &yaml,
        &[
            "bindings.south_tls_client_github.options.alpn: offering no protocol leaves only \
           HTTP/1.1, but `south_http_client_github` may speak only `h2`",
        ],
    );
    assert_errors(&github_with_tls_options("      alpn: []\n"), &[]);
}
